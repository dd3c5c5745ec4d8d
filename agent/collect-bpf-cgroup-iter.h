/* collect-bpf-cgroup-iter.h: one-pass collection of a cgroup subtree with a BPF
 * cgroup iterator (bpf/cgroup-iter.bpf.c).
 *
 * Open once for a cgroup directory (for example the kubepods directory of
 * the cpuacct, memory or cgroup2 hierarchy); every collect() walks the
 * subtree in the kernel, parents before children, and hands the callback
 * one entry per cgroup with its path relative to that directory. What an
 * entry carries depends on the hierarchy: CPU on cpuacct and cgroup2,
 * memory where the memory controller is. A walk that outgrows the ring
 * buffer is discarded, the buffer grown, and the walk redone, so the
 * callback never sees a partial walk. */
#ifndef CADET_BPF_CGROUP_ITER_H_USER
#define CADET_BPF_CGROUP_ITER_H_USER

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct bpf_cgroup_iter;

struct bpf_cgroup_iter_entry {
	const char *relpath; /* "" for the directory itself, else "a/b"; valid during the call */
	uint64_t cgroup_id;  /* inode number of the cgroup directory */
	uint32_t level;      /* depth below the hierarchy root */
	bool has_cpu;
	uint64_t cpu_usage_ns;
	bool has_memory;
	uint64_t memory_usage_bytes;
};

/* Returns 0, or -1 with err set to stop the walk (collect() then fails). */
typedef int (*bpf_cgroup_iter_fn)(const struct bpf_cgroup_iter_entry *entry, void *ctx, struct cadet_error *err);

/* expected_cgroups sizes the ring buffer (it grows on demand). */
int bpf_cgroup_iter_open(const char *dir, size_t expected_cgroups, struct bpf_cgroup_iter **out,
			 struct cadet_error *err);
/* Walks the subtree once. Returns the number of cgroups delivered or -1. */
int bpf_cgroup_iter_collect(struct bpf_cgroup_iter *it, bpf_cgroup_iter_fn fn, void *ctx, struct cadet_error *err);
/* Bytes of the ring buffer (the BPF part's main memory cost). */
size_t bpf_cgroup_iter_ring_bytes(const struct bpf_cgroup_iter *it);
void bpf_cgroup_iter_close(struct bpf_cgroup_iter *it);

#endif
