/* collect-node.h: node facts that live outside cgroups, read as kubelet does:
 * /proc/meminfo (capacity, and usage where the root cgroup has none),
 * /proc/stat (boot time, CPU where the root cgroup has none), the kubelet
 * filesystem (statvfs) and process limits. Files are kept open and re-read
 * with pread like cgroup files. */
#ifndef CADET_NODE_STATS_H
#define CADET_NODE_STATS_H

#include <stdint.h>

#include "agent/sample.h"
#include "common/error.h"

struct node_reader;

struct node_proc_stats {
	uint64_t cpu_busy_ns;     /* /proc/stat busy time */
	uint64_t mem_total_bytes;
	uint64_t mem_free_bytes;
	uint64_t mem_inactive_file_bytes;
	uint64_t mem_anon_bytes;
};

/* proc_root is normally "/proc"; fs_path is the filesystem reported as the
 * node's fs (kubelet's root dir if it exists, else "/"). */
int node_reader_open(const char *proc_root, const char *fs_path, struct node_reader **out,
		     struct cadet_error *err);
void node_reader_free(struct node_reader *r);
int node_reader_read(struct node_reader *r, struct node_info *info, struct node_proc_stats *proc,
		     struct cadet_error *err);

/* Fills the CPU and memory of a node sample that the root cgroup could not
 * give (v2 has no root memory.current) from procfs: usage = MemTotal -
 * MemFree, inactive file = Inactive(file), derived values from those. */
void node_stats_fill_from_proc(struct sample *node, const struct node_proc_stats *proc);

#endif
