// SPDX-License-Identifier: GPL-2.0
/* cgroup-iter.bpf.c: one pass over a cgroup subtree, one record per cgroup.
 *
 * A cgroup iterator (attached with the fd of the subtree's root directory
 * and order BPF_CGROUP_ITER_DESCENDANTS_PRE) calls the program for every
 * cgroup, parents before children, under cgroup_mutex; each call writes one
 * struct cgroup_iter_record to the ring buffer `records`. The seq_file of
 * the iterator itself stays empty: a walk that writes there stops at about
 * 32 KiB and cannot be resumed (the next read gives EOPNOTSUPP), while the
 * ring buffer takes the whole walk in one read(). User space rebuilds the
 * paths from names and levels, which pre-order makes unambiguous.
 *
 * Values (see cgroup-stats.bpf.h): CPU from cpuacct's per-CPU counters on a
 * v1 cpuacct hierarchy, from rstat on cgroup2; memory from the page counter
 * where the hierarchy has the memory controller. On cgroup2 the program
 * first flushes rstat (once, at the walk's root: a flush covers the whole
 * subtree), which needs a sleepable program (iter.s) and a kfunc
 * whose name changed: css_rstat_flush(css) since 6.15, cgroup_rstat_flush
 * (cgroup) before. Both are declared weak; two programs differ only in the
 * call, and the loader loads the one the running kernel has. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "cgroup-iter.h"
#include "cgroup-stats.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024); /* resized by the loader */
} records SEC(".maps");

/* Records lost because the ring buffer was full (the loader then grows it). */
__u64 dropped_records = 0;

extern void css_rstat_flush(struct cgroup_subsys_state *css) __ksym __weak;
extern void cgroup_rstat_flush(struct cgroup *cgrp) __ksym __weak;

static __always_inline int emit(struct cgroup *cgrp)
{
	struct cgroup_iter_record *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);

	if (!r) {
		__sync_fetch_and_add(&dropped_records, 1);
		return 0;
	}
	r->cgroup_id = cgrp->kn->id;
	r->level = cgrp->level;
	r->have = 0;
	r->cpu_usage_ns = 0;
	r->memory_usage_bytes = 0;
	long n = bpf_probe_read_kernel_str(r->name, sizeof(r->name), cgrp->kn->name);
	if (n < 0)
		r->name[0] = '\0';
	else if (n == sizeof(r->name))
		r->have |= CGROUP_ITER_NAME_TRUNCATED;
	if (cgroup_cpu_usage_ns(cgrp, &r->cpu_usage_ns) == 0)
		r->have |= CGROUP_ITER_HAVE_CPU;
	if (cgroup_memory_usage_bytes(cgrp, &r->memory_usage_bytes) == 0)
		r->have |= CGROUP_ITER_HAVE_MEMORY;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

SEC("iter.s/cgroup")
int walk_css_rstat_flush(struct bpf_iter__cgroup *ctx)
{
	struct cgroup *cgrp = ctx->cgroup;

	if (!cgrp)
		return 0; /* end of the walk */
	if (ctx->meta->seq_num == 0 && cgroup_on_cgroup2(cgrp))
		css_rstat_flush(&cgrp->self);
	return emit(cgrp);
}

SEC("iter.s/cgroup")
int walk_cgroup_rstat_flush(struct bpf_iter__cgroup *ctx)
{
	struct cgroup *cgrp = ctx->cgroup;

	if (!cgrp)
		return 0;
	if (ctx->meta->seq_num == 0 && cgroup_on_cgroup2(cgrp))
		cgroup_rstat_flush(cgrp);
	return emit(cgrp);
}

char LICENSE[] SEC("license") = "GPL";
