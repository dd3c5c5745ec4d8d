/* collect-cgroup.h: the one collector interface over cgroup v1, v2 and hybrid.
 *
 * cgroup_collector_open() detects the layout under a root (normally
 * /sys/fs/cgroup; tests point it at fixture trees) once at start and picks
 * the matching reader (collect-cgroup-v1.c or collect-cgroup-v2.c). Callers then open a
 * handle per cgroup, by its path relative to the hierarchy root, and read
 * it every cycle; they never branch on the cgroup version. A handle keeps
 * its files open and re-reads them with pread, so a cycle costs close to
 * the raw syscall floor. A read gives a struct sample (agent/sample.h),
 * with the derived values computed. */
#ifndef CADET_CGROUP_H
#define CADET_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/sample.h"
#include "common/error.h"

enum cgroup_layout {
	CGROUP_LAYOUT_V1,     /* controllers mounted at ROOT/<controller> */
	CGROUP_LAYOUT_HYBRID, /* v1 controllers plus a cgroup2 at ROOT/unified */
	CGROUP_LAYOUT_V2,     /* one unified hierarchy at ROOT */
};

struct cgroup_collector;
struct cgroup_handle;

/* Detects the layout under root and prepares the reader. */
int cgroup_collector_open(const char *root, struct cgroup_collector **out, struct cadet_error *err);
void cgroup_collector_free(struct cgroup_collector *c);
enum cgroup_layout cgroup_collector_layout(const struct cgroup_collector *c);
const char *cgroup_layout_name(enum cgroup_layout layout);
/* Directory whose tree mirrors every cgroup, walked by discovery: the cpuacct
 * (or cpu,cpuacct) controller for v1 and hybrid, the root for v2. */
const char *cgroup_collector_tree(const struct cgroup_collector *c);
/* The memory controller's hierarchy on v1 and hybrid; NULL on v2, where
 * memory lives in cgroup_collector_tree(). */
const char *cgroup_collector_memory_tree(const struct cgroup_collector *c);

/* Limits the descriptors handles keep open (default: the open-file limit
 * less a reserve); files past it are reopened on every read. */
void cgroup_collector_set_fd_budget(struct cgroup_collector *c, size_t budget);

/* Opens the files of the cgroup at `relpath` ("" for the root). Fails with
 * errnum ENOENT when the cgroup does not exist (any more). */
int cgroup_handle_open(struct cgroup_collector *c, const char *relpath, struct cgroup_handle **out,
		       struct cadet_error *err);
/* Reads every kept file. Fails with errnum ENOENT or ENODEV when the cgroup
 * vanished (callers drop it quietly), other errnums for malformed files. */
int cgroup_handle_read(struct cgroup_collector *c, struct cgroup_handle *h, struct sample *out,
		       struct cadet_error *err);
/* The cheap read for cycles between full reads: only cumulative CPU and
 * memory usage (v1 cpuacct.usage and memory.usage_in_bytes; v2 cpu.stat and
 * memory.current), the rest carried over from `last_full`, derived values
 * recomputed from the new usage and the last inactive_file. memory.stat
 * alone costs about four times the two usage files together, and its
 * slow-moving parts need not be read every second. */
int cgroup_handle_read_usage(struct cgroup_collector *c, struct cgroup_handle *h,
			     const struct sample *last_full, struct sample *out, struct cadet_error *err);
void cgroup_handle_close(struct cgroup_handle *h);
/* True when errnum from open/read means the cgroup is gone, not broken. */
bool cgroup_error_is_vanished(int errnum);

#endif
