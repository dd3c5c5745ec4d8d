// SPDX-License-Identifier: GPL-2.0
/* cgroup-events.bpf.c: cgroup mkdir/rmdir and OOM kills, as they happen.
 *
 * tp_btf/cgroup_mkdir and tp_btf/cgroup_rmdir fire in every hierarchy (each
 * v1 controller mount and the cgroup2 mount); tp_btf/mark_victim fires when
 * the OOM killer picks a task. Each sends one struct cgroup_event through
 * the ring buffer `events`, whose fd the agent's event loop polls.
 *
 * Final sample at rmdir. A cgroup can only be removed once it has no tasks,
 * and its files are gone afterwards, so user space reacting to the event is
 * too late, and sampling when the cgroup empties (cgroup_notify_populated)
 * races with the runtime's rmdir a few microseconds later. The rmdir
 * tracepoint, however, runs after cgroup_destroy_locked() with cgroup_mutex
 * still held, so every css of the cgroup and its per-CPU counters are still
 * there (offline_css() needs the same mutex), and no task can add time any
 * more. The program reads the exact final values from kernel memory:
 *   - v1 cpuacct: sum over CPUs of the per-CPU ca->cpuusage, which is what
 *     cpuacct.usage returns;
 *   - cgroup2: cgrp->bstat (flushed part) plus, per CPU, the unflushed delta
 *     rstat_base_cpu->bstat - last_bstat, which is what cpu.stat usage_usec
 *     would give after a flush (exact for a leaf; a parent still misses its
 *     children's unflushed time);
 *   - memory (v1, or cgroup2 with the controller): the page counter.
 * Per-CPU addresses: this kernel's BTF has no percpu type tags on struct
 * fields, so bpf_per_cpu_ptr() cannot take ca->cpuusage, and without
 * KALLSYMS_ALL no per-CPU variable (this_cpu_off, runqueues) resolves as a
 * ksym. The offset of CPU n is instead learnt from a per-CPU array map of
 * our own: bpf_map_lookup_percpu_elem(n) minus the element's percpu pointer
 * (bpf_array.pptrs[0]); values are then read with bpf_probe_read_kernel.
 * Measured on kernel 6.18 (tests/unit/test_bpf_cgroup_events.c): the value
 * equals cpuacct.usage read after the last task exited, to the nanosecond.
 *
 * OOM: the victim's memory cgroup is task->cgroups->subsys[memory]->cgroup.
 * On 6.x mark_victim's arguments are (struct task_struct *, uid_t); older
 * kernels pass only a pid, so the loader attaches fentry/mark_oom_victim
 * there instead (it picks by the tracepoint's BTF prototype). */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "cgroup-events.h"

#define MAX_CPUS 1024
#define MAX_DEPTH 16

const volatile __u32 nr_cpus = 1;   /* possible CPUs, set by the loader */
const volatile __u64 page_size = 4096;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Scratch space to assemble an OOM victim's path: twice the path length so
 * that bounded copies at a variable offset stay inside it. */
struct path_scratch {
	char buf[2 * CGROUP_EVENT_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} scratch SEC(".maps");

/* Lost events (ring buffer full), read by the loader for its counters. */
__u64 dropped_events = 0;

/* One per-CPU slot whose kernel addresses reveal the per-CPU offsets (see
 * percpu_offsets()). Never written. */
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

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___new, __parent))
		return BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
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

/* The percpu pointer of percpu_probe's one element (bpf_array.pptrs[0]):
 * adding CPU n's per-CPU offset to it gives the address that
 * bpf_map_lookup_percpu_elem(n) returns. */
static __always_inline __u64 percpu_probe_pptr(void)
{
	struct bpf_array *arr = NULL;
	__u64 map_addr = ptr_value(&percpu_probe);
	__u64 pptr = 0;

	if (!map_addr || bpf_probe_read_kernel(&pptr, sizeof(pptr),
					       (void *)(map_addr + bpf_core_field_offset(arr->pptrs))))
		return 0;
	return pptr;
}

/* Address of a per-CPU object on one CPU, 0 when it cannot be known. */
static __always_inline __u64 percpu_addr(__u64 probe_pptr, __u64 percpu_ptr, __u32 cpu)
{
	__u32 zero = 0;
	void *slot = bpf_map_lookup_percpu_elem(&percpu_probe, &zero, cpu);

	if (!slot || !probe_pptr)
		return 0;
	return percpu_ptr + (ptr_value(slot) - probe_pptr);
}

static __always_inline struct cgroup_subsys_state *cgroup_css(struct cgroup *cgrp, int ssid)
{
	if (ssid < 0)
		return NULL;
	return BPF_CORE_READ(cgrp, subsys[ssid]);
}

static __always_inline int subsys_id(int which)
{
	switch (which) {
	case CGROUP_EVENT_CTRL_CPU:
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpu_cgrp_id))
			return bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
		return -1;
	case CGROUP_EVENT_CTRL_CPUACCT:
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpuacct_cgrp_id))
			return bpf_core_enum_value(enum cgroup_subsys_id, cpuacct_cgrp_id);
		return -1;
	case CGROUP_EVENT_CTRL_MEMORY:
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
			return bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		return -1;
	case CGROUP_EVENT_CTRL_PIDS:
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, pids_cgrp_id))
			return bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id);
		return -1;
	}
	return -1;
}

static __always_inline __u32 controllers_of(struct cgroup *cgrp)
{
	int hierarchy_id = BPF_CORE_READ(cgrp, root, hierarchy_id);
	__u32 mask = BPF_CORE_READ(cgrp, root, subsys_mask);
	__u32 out = hierarchy_id == 0 ? CGROUP_EVENT_CTRL_CGROUP2 : 0;
	int bits[] = { CGROUP_EVENT_CTRL_CPU, CGROUP_EVENT_CTRL_CPUACCT, CGROUP_EVENT_CTRL_MEMORY,
		       CGROUP_EVENT_CTRL_PIDS };

	for (int i = 0; i < 4; i++) {
		int id = subsys_id(bits[i]);
		if (id >= 0 && (mask & (1u << id)))
			out |= bits[i];
	}
	return out;
}

/* Sum over CPUs of a per-CPU u64 (cpuacct's cpuusage). */
static __always_inline int percpu_sum_u64(__u64 percpu_ptr, __u64 *out)
{
	__u64 probe_pptr = percpu_probe_pptr();
	__u64 sum = 0;

	for (__u32 cpu = 0; cpu < MAX_CPUS; cpu++) {
		if (cpu >= nr_cpus)
			break;
		__u64 addr = percpu_addr(probe_pptr, percpu_ptr, cpu);
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
	__u64 sum = BPF_CORE_READ(cgrp, bstat.cputime.sum_exec_runtime);
	__u64 probe_pptr = percpu_probe_pptr();
	__u64 base;
	bool old_layout = !bpf_core_field_exists(cgrp->rstat_base_cpu);

	if (old_layout)
		base = (__u64)BPF_CORE_READ((struct cgroup___old *)cgrp, rstat_cpu);
	else
		base = (__u64)BPF_CORE_READ(cgrp, rstat_base_cpu);
	if (!base)
		return -1;
	for (__u32 cpu = 0; cpu < MAX_CPUS; cpu++) {
		if (cpu >= nr_cpus)
			break;
		__u64 addr = percpu_addr(probe_pptr, base, cpu);
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

static __always_inline void capture_memory(struct cgroup *cgrp, struct cgroup_event *e)
{
	struct cgroup_subsys_state *css = cgroup_css(cgrp, subsys_id(CGROUP_EVENT_CTRL_MEMORY));
	if (!css)
		return;
	struct mem_cgroup *memcg = container_of(css, struct mem_cgroup, css);
	e->memory_usage_bytes = BPF_CORE_READ(memcg, memory.usage.counter) * page_size;
	e->have |= CGROUP_EVENT_HAVE_MEMORY;
}

static __always_inline void capture_cpu(struct cgroup *cgrp, struct cgroup_event *e)
{
	struct cgroup_subsys_state *css = cgroup_css(cgrp, subsys_id(CGROUP_EVENT_CTRL_CPUACCT));

	if (css) {
		struct cpuacct *ca = container_of(css, struct cpuacct, css);
		if (percpu_sum_u64((__u64)BPF_CORE_READ(ca, cpuusage), &e->cpu_usage_ns) == 0)
			e->have |= CGROUP_EVENT_HAVE_CPU;
		return;
	}
	if (e->controllers & CGROUP_EVENT_CTRL_CGROUP2) {
		if (rstat_cpu_usage(cgrp, &e->cpu_usage_ns) == 0)
			e->have |= CGROUP_EVENT_HAVE_CPU;
	}
}

static __always_inline struct cgroup_event *event_start(__u32 type, struct cgroup *cgrp)
{
	struct cgroup_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&dropped_events, 1);
		return NULL;
	}
	e->type = type;
	e->hierarchy_id = BPF_CORE_READ(cgrp, root, hierarchy_id);
	e->cgroup_id = BPF_CORE_READ(cgrp, kn, id);
	e->monotonic_ns = bpf_ktime_get_ns();
	e->level = BPF_CORE_READ(cgrp, level);
	e->controllers = controllers_of(cgrp);
	e->have = 0;
	e->pid = 0;
	e->cpu_usage_ns = 0;
	e->memory_usage_bytes = 0;
	e->comm[0] = '\0';
	e->path[0] = '\0';
	return e;
}

static __always_inline void copy_path(struct cgroup_event *e, const char *path)
{
	long n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), path);
	if (n == sizeof(e->path))
		e->have |= CGROUP_EVENT_PATH_TRUNCATED;
}

/* Writes the path of cgrp relative to its hierarchy root into e->path:
 * names are collected walking up to the root, then copied top-down into a
 * zeroed scratch buffer (each copy NUL-terminates what is there so far). */
static __always_inline void build_path(struct cgroup *cgrp, struct cgroup_event *e)
{
	__u32 zero = 0;
	struct path_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	const char *names[MAX_DEPTH];
	struct kernfs_node *kn = BPF_CORE_READ(cgrp, kn);
	int depth = 0;
	__u64 off = 0;

	if (!s)
		return;
	for (int i = 0; i < MAX_DEPTH; i++) {
		struct kernfs_node *parent = kn_parent(kn);
		if (!parent)
			break;
		names[depth++] = BPF_CORE_READ(kn, name);
		kn = parent;
	}
	if (kn_parent(kn))
		e->have |= CGROUP_EVENT_PATH_TRUNCATED;
	for (int i = 0; i < (int)(sizeof(s->buf) / sizeof(__u64)); i++)
		((__u64 *)s->buf)[i] = 0;
	s->buf[0] = '/';
	for (int i = MAX_DEPTH - 1; i >= 0; i--) {
		if (i >= depth)
			continue;
		if (off >= CGROUP_EVENT_PATH_LEN - 1) {
			e->have |= CGROUP_EVENT_PATH_TRUNCATED;
			break;
		}
		s->buf[off & (CGROUP_EVENT_PATH_LEN - 1)] = '/';
		off++;
		long n = bpf_probe_read_kernel_str(&s->buf[off & (CGROUP_EVENT_PATH_LEN - 1)],
						   CGROUP_EVENT_PATH_LEN, names[i]);
		if (n <= 0)
			break;
		off += (__u64)n - 1;
	}
	if (off >= CGROUP_EVENT_PATH_LEN)
		e->have |= CGROUP_EVENT_PATH_TRUNCATED;
	__builtin_memcpy(e->path, s->buf, CGROUP_EVENT_PATH_LEN);
	e->path[CGROUP_EVENT_PATH_LEN - 1] = '\0';
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(handle_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	struct cgroup_event *e = event_start(CGROUP_EVENT_MKDIR, cgrp);

	if (!e)
		return 0;
	copy_path(e, path);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(handle_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	struct cgroup_event *e = event_start(CGROUP_EVENT_RMDIR, cgrp);

	if (!e)
		return 0;
	copy_path(e, path);
	capture_cpu(cgrp, e);
	capture_memory(cgrp, e);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline int oom_event(struct task_struct *task)
{
	int memory_id = subsys_id(CGROUP_EVENT_CTRL_MEMORY);
	struct cgroup *cgrp;
	struct cgroup_event *e;

	if (memory_id < 0)
		return 0;
	cgrp = BPF_CORE_READ(task, cgroups, subsys[memory_id], cgroup);
	if (!cgrp)
		return 0;
	e = event_start(CGROUP_EVENT_OOM, cgrp);
	if (!e)
		return 0;
	e->pid = BPF_CORE_READ(task, tgid);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	build_path(cgrp, e);
	capture_memory(cgrp, e);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* 6.x: mark_victim(struct task_struct *task, uid_t uid). */
SEC("tp_btf/mark_victim")
int BPF_PROG(handle_mark_victim, struct task_struct *task)
{
	return oom_event(task);
}

/* Older kernels (mark_victim(int pid)): the function the tracepoint sits in. */
SEC("fentry/mark_oom_victim")
int BPF_PROG(handle_mark_oom_victim, struct task_struct *task)
{
	return oom_event(task);
}

char LICENSE[] SEC("license") = "GPL";
