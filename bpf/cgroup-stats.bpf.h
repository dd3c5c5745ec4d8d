/* cgroup-stats.bpf.h: reading a cgroup's CPU and memory usage from kernel
 * memory, for the BPF programs (kernel side only; included by
 * cgroup-events.bpf.c and cgroup-iter.bpf.c after vmlinux.h and libbpf's
 * headers). Each program that includes it gets its own copy of the rodata
 * tunables and of the percpu_probe map below.
 *
 * CPU: on a v1 cpuacct hierarchy the sum over CPUs of the per-CPU
 * ca->cpuusage (exactly what cpuacct.usage returns); on cgroup2 the rstat
 * total cgrp->bstat plus each CPU's not yet flushed delta
 * (rstat_base_cpu->bstat - last_bstat), which is what cpu.stat usage_usec
 * shows after a flush (exact for a leaf; a parent misses its children's
 * unflushed time unless the caller flushed first). Memory: the memory
 * controller's page counter, as memory.usage_in_bytes / memory.current.
 *
 * Per-CPU addresses: this kernel's BTF carries no percpu type tags on
 * struct fields, so bpf_per_cpu_ptr() cannot take ca->cpuusage, and without
 * KALLSYMS_ALL no per-CPU variable (this_cpu_off, runqueues) resolves as a
 * ksym. The offset of CPU n is learnt instead from a per-CPU array map of
 * our own: bpf_map_lookup_percpu_elem(n) minus the element's percpu pointer
 * (bpf_array.pptrs[0]); values are then read with bpf_probe_read_kernel.
 * Fields of BTF-typed pointers are read with plain loads (the verifier
 * makes them fault-safe), which costs far less than a helper call; only
 * computed addresses and fields past the css in cpuacct and mem_cgroup go
 * through bpf_probe_read_kernel. */
#ifndef CADET_BPF_CGROUP_STATS_BPF_H
#define CADET_BPF_CGROUP_STATS_BPF_H

#define MAX_CPUS 1024

const volatile __u32 nr_cpus = 1; /* possible CPUs, set by the loader */
const volatile __u64 page_size = 4096;

/* One per-CPU slot whose kernel addresses reveal the per-CPU offsets. Never
 * written. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu_probe SEC(".maps");

/* kernfs_node's parent pointer was renamed to __parent in 6.15. */
struct kernfs_node___new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/* Before 6.15 the per-CPU base stats were in struct cgroup_rstat_cpu. */
struct cgroup_rstat_cpu___old {
	struct cgroup_base_stat bstat;
	struct cgroup_base_stat last_bstat;
} __attribute__((preserve_access_index));

struct cgroup___old {
	struct cgroup_rstat_cpu___old *rstat_cpu;
} __attribute__((preserve_access_index));

enum cgstat_subsys {
	CGSTAT_CPU,
	CGSTAT_CPUACCT,
	CGSTAT_MEMORY,
	CGSTAT_PIDS,
};

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___new, __parent))
		return BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

/* The kernel's id of a controller on this kernel, -1 when it has none. */
static __always_inline int subsys_id(enum cgstat_subsys which)
{
	switch (which) {
	case CGSTAT_CPU:
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpu_cgrp_id))
			return bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
		return -1;
	case CGSTAT_CPUACCT:
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpuacct_cgrp_id))
			return bpf_core_enum_value(enum cgroup_subsys_id, cpuacct_cgrp_id);
		return -1;
	case CGSTAT_MEMORY:
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
			return bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		return -1;
	case CGSTAT_PIDS:
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, pids_cgrp_id))
			return bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id);
		return -1;
	}
	return -1;
}

static __always_inline struct cgroup_subsys_state *cgroup_css(struct cgroup *cgrp, enum cgstat_subsys which)
{
	int ssid = subsys_id(which);
	if (ssid < 0 || ssid >= CGROUP_SUBSYS_COUNT)
		return NULL;
	return cgrp->subsys[ssid];
}

static __always_inline bool cgroup_on_cgroup2(struct cgroup *cgrp)
{
	return cgrp->root->hierarchy_id == 0;
}

/* A pointer's value as a plain number: the verifier forbids arithmetic
 * mixing pointers of different kinds, but a copy through the stack is just
 * bytes. */
static __always_inline __u64 ptr_value(const void *p)
{
	const void *volatile slot = p;
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), (const void *)&slot);
	return v;
}

/* Per-CPU offsets never change: learnt on first use, then read from here. */
__u64 percpu_offsets[MAX_CPUS] = {};
__u32 percpu_offsets_ready = 0;

/* Fills percpu_offsets: for each CPU n, the address
 * bpf_map_lookup_percpu_elem(n) returns for percpu_probe's one element,
 * minus that element's percpu pointer (bpf_array.pptrs[0]). */
static __always_inline int learn_percpu_offsets(void)
{
	struct bpf_array *arr = NULL;
	__u64 pptr = 0, map_addr = ptr_value(&percpu_probe);
	__u32 zero = 0;

	if (!map_addr || bpf_probe_read_kernel(&pptr, sizeof(pptr),
					       (void *)(map_addr + bpf_core_field_offset(arr->pptrs))) || !pptr)
		return -1;
	for (__u32 cpu = 0; cpu < MAX_CPUS; cpu++) {
		if (cpu >= nr_cpus)
			break;
		void *slot = bpf_map_lookup_percpu_elem(&percpu_probe, &zero, cpu);
		if (!slot)
			return -1;
		percpu_offsets[cpu] = ptr_value(slot) - pptr;
	}
	percpu_offsets_ready = 1;
	return 0;
}

/* Address of a per-CPU object on one CPU, 0 when it cannot be known. */
static __always_inline __u64 percpu_addr(__u64 percpu_ptr, __u32 cpu)
{
	if (!percpu_offsets_ready && learn_percpu_offsets() != 0)
		return 0;
	if (cpu >= MAX_CPUS)
		return 0;
	return percpu_ptr + percpu_offsets[cpu];
}

/* Sum over CPUs of a per-CPU u64 (cpuacct's cpuusage). */
static __always_inline int percpu_sum_u64(__u64 percpu_ptr, __u64 *out)
{
	__u64 sum = 0;

	for (__u32 cpu = 0; cpu < MAX_CPUS; cpu++) {
		if (cpu >= nr_cpus)
			break;
		__u64 addr = percpu_addr(percpu_ptr, cpu);
		__u64 v = 0;
		if (!addr || bpf_probe_read_kernel(&v, sizeof(v), (void *)addr))
			return -1;
		sum += v;
	}
	*out = sum;
	return 0;
}

/* cgroup2 CPU time: the flushed total plus every CPU's unflushed delta. */
static __always_inline int rstat_cpu_usage(struct cgroup *cgrp, __u64 *out)
{
	__u64 sum = cgrp->bstat.cputime.sum_exec_runtime;
	__u64 base;
	bool old_layout = !bpf_core_field_exists(cgrp->rstat_base_cpu);

	if (old_layout)
		base = (__u64)BPF_CORE_READ((struct cgroup___old *)cgrp, rstat_cpu);
	else
		base = (__u64)BPF_CORE_READ(cgrp, rstat_base_cpu); /* a number, not a pointer */
	if (!base)
		return -1;
	for (__u32 cpu = 0; cpu < MAX_CPUS; cpu++) {
		if (cpu >= nr_cpus)
			break;
		__u64 addr = percpu_addr(base, cpu);
		__u64 now, last;
		if (!addr)
			return -1;
		if (old_layout) {
			struct cgroup_rstat_cpu___old *rc = (void *)addr;
			now = BPF_CORE_READ(rc, bstat.cputime.sum_exec_runtime);
			last = BPF_CORE_READ(rc, last_bstat.cputime.sum_exec_runtime);
		} else {
			struct cgroup_rstat_base_cpu *rc = (void *)addr;
			now = BPF_CORE_READ(rc, bstat.cputime.sum_exec_runtime);
			last = BPF_CORE_READ(rc, last_bstat.cputime.sum_exec_runtime);
		}
		sum += now - last;
	}
	*out = sum;
	return 0;
}

/* Cumulative CPU time of the cgroup in its hierarchy: cpuacct on v1, rstat
 * on cgroup2; -1 when the hierarchy has neither. */
static __always_inline int cgroup_cpu_usage_ns(struct cgroup *cgrp, __u64 *out)
{
	struct cgroup_subsys_state *css = cgroup_css(cgrp, CGSTAT_CPUACCT);

	if (css) {
		struct cpuacct *ca = container_of(css, struct cpuacct, css);
		return percpu_sum_u64((__u64)BPF_CORE_READ(ca, cpuusage), out);
	}
	if (cgroup_on_cgroup2(cgrp))
		return rstat_cpu_usage(cgrp, out);
	return -1;
}

/* The memory page counter in bytes; -1 when the hierarchy has no memory
 * controller. */
static __always_inline int cgroup_memory_usage_bytes(struct cgroup *cgrp, __u64 *out)
{
	struct cgroup_subsys_state *css = cgroup_css(cgrp, CGSTAT_MEMORY);

	if (!css)
		return -1;
	struct mem_cgroup *memcg = container_of(css, struct mem_cgroup, css);
	*out = BPF_CORE_READ(memcg, memory.usage.counter) * page_size;
	return 0;
}

#endif
