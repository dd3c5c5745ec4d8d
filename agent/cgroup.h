/* cgroup.h: the one collector interface over cgroup v1, v2 and hybrid.
 *
 * cgroup_collector_open() detects the layout under a root (normally
 * /sys/fs/cgroup; tests point it at fixture trees) once at start and picks
 * the matching reader (cgroup-v1.c or cgroup-v2.c). Callers then open a
 * handle per cgroup, by its path relative to the hierarchy root, and read
 * it every cycle; they never branch on the cgroup version. A handle keeps
 * its files open and re-reads them with pread, so a cycle costs close to
 * the raw syscall floor. */
#ifndef CADET_CGROUP_H
#define CADET_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

enum cgroup_layout {
	CGROUP_LAYOUT_V1,     /* controllers mounted at ROOT/<controller> */
	CGROUP_LAYOUT_HYBRID, /* v1 controllers plus a cgroup2 at ROOT/unified */
	CGROUP_LAYOUT_V2,     /* one unified hierarchy at ROOT */
};

/* Bits of cgroup_stats.have: which groups of fields were read. */
enum {
	CGROUP_HAVE_CPU = 1u << 0,        /* cpu_usage_ns (and user/system when known) */
	CGROUP_HAVE_CPU_SPLIT = 1u << 1,  /* cpu_user_ns, cpu_system_ns */
	CGROUP_HAVE_THROTTLE = 1u << 2,   /* cpu_periods, cpu_throttled_periods, cpu_throttled_ns */
	CGROUP_HAVE_MEMORY = 1u << 3,     /* memory_usage_bytes, working set, rss, faults */
	CGROUP_HAVE_MEMORY_LIMIT = 1u << 4,
	CGROUP_HAVE_PIDS = 1u << 5,
	CGROUP_HAVE_CPU_PSI = 1u << 6,
	CGROUP_HAVE_MEMORY_PSI = 1u << 7,
	CGROUP_HAVE_IO_PSI = 1u << 8,
	CGROUP_HAVE_SWAP = 1u << 9,       /* swap_usage_bytes */
};

/* One line of a .pressure file. */
struct psi_line {
	double avg10, avg60, avg300;
	uint64_t total_us;
};

struct psi_stats {
	struct psi_line some, full;
	bool has_full;
};

/* What one read of one cgroup gives; fields are valid per `have`. */
struct cgroup_stats {
	uint32_t have;
	uint64_t cpu_usage_ns;
	uint64_t cpu_user_ns;
	uint64_t cpu_system_ns;
	uint64_t cpu_periods;
	uint64_t cpu_throttled_periods;
	uint64_t cpu_throttled_ns;
	uint64_t memory_usage_bytes;
	uint64_t memory_working_set_bytes; /* usage - inactive_file, floored at 0 */
	uint64_t memory_inactive_file_bytes; /* v2 inactive_file, v1 total_inactive_file */
	uint64_t memory_rss_bytes;         /* v2 anon, v1 total_rss */
	uint64_t memory_page_faults;
	uint64_t memory_major_page_faults;
	uint64_t memory_limit_bytes; /* valid with CGROUP_HAVE_MEMORY_LIMIT: a real limit */
	uint64_t swap_usage_bytes;
	uint64_t pids_current;
	struct psi_stats cpu_psi, memory_psi, io_psi;
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

/* Limits the descriptors handles keep open (default: the open-file limit
 * less a reserve); files past it are reopened on every read. */
void cgroup_collector_set_fd_budget(struct cgroup_collector *c, size_t budget);

/* Opens the files of the cgroup at `relpath` ("" for the root). Fails with
 * errnum ENOENT when the cgroup does not exist (any more). */
int cgroup_handle_open(struct cgroup_collector *c, const char *relpath, struct cgroup_handle **out,
		       struct cadet_error *err);
/* Reads every kept file. Fails with errnum ENOENT or ENODEV when the cgroup
 * vanished (callers drop it quietly), other errnums for malformed files. */
int cgroup_handle_read(struct cgroup_collector *c, struct cgroup_handle *h, struct cgroup_stats *out,
		       struct cadet_error *err);
/* The cheap read for cycles between full reads: only cumulative CPU and
 * memory usage (v1 cpuacct.usage and memory.usage_in_bytes; v2 cpu.stat and
 * memory.current), the rest carried over from `last_full`, with the working
 * set recomputed from the new usage and the last inactive_file. memory.stat
 * alone costs about four times the two usage files together, and its
 * slow-moving parts need not be read every second. */
int cgroup_handle_read_usage(struct cgroup_collector *c, struct cgroup_handle *h,
			     const struct cgroup_stats *last_full, struct cgroup_stats *out, struct cadet_error *err);
void cgroup_handle_close(struct cgroup_handle *h);
/* True when errnum from open/read means the cgroup is gone, not broken. */
bool cgroup_error_is_vanished(int errnum);

#endif
