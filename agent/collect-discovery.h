/* collect-discovery.h: finds the pod and container cgroups under kubepods.
 *
 * A scan walks the kubepods tree (cgroupfs and systemd driver names, see
 * collect-cgroup-path.h) of one hierarchy and reports every kubepods, pod and
 * container cgroup with its identity and creation time. Between scans an
 * inotify watch on each directory of the tree tells whether anything was
 * created or removed, so a steady cycle costs one non-blocking read; a full
 * scan also runs every rescan_interval as a safety net. */
#ifndef CADET_DISCOVERY_H
#define CADET_DISCOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/collect-cgroup-path.h"
#include "common/error.h"

struct discovery;

typedef int (*discovery_visit_fn)(void *ctx, const char *relpath, const struct cgroup_identity *id,
				  uint64_t created_realtime_ns, struct cadet_error *err);

int discovery_open(const char *tree, uint64_t rescan_interval_ns, struct discovery **out,
		   struct cadet_error *err);
void discovery_free(struct discovery *d);

/* True when a scan is due: first call, inotify saw a change, a rescan was
 * requested, or the safety-net interval passed. Drains the inotify queue. */
bool discovery_scan_due(struct discovery *d, uint64_t monotonic_ns);
/* Asks for a scan at the next discovery_scan_due (e.g. on a BPF mkdir event). */
void discovery_request_scan(struct discovery *d);
/* Walks the tree and calls visit for each kubepods, pod and container
 * cgroup, parents before children. Directories that vanish mid-walk are
 * skipped quietly. */
int discovery_scan(struct discovery *d, uint64_t monotonic_ns, discovery_visit_fn visit, void *ctx,
		   struct cadet_error *err);

#endif
