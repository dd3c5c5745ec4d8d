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
 * more. The program reads the exact final values from kernel memory (see
 * cgroup-stats.bpf.h): cpuacct's per-CPU usage on a v1 cpuacct hierarchy,
 * rstat's flushed total plus the unflushed per-CPU deltas on cgroup2, and
 * the memory page counter where the hierarchy has the memory controller.
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
#include "cgroup-stats.bpf.h"

#define MAX_DEPTH 16

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

/* Filters for mkdir/rmdir, set by the loader so that bursts elsewhere (other
 * hierarchies, other subtrees) cannot fill the ring buffer: only hierarchies
 * carrying one of watch_controllers (0: all) and paths starting with
 * path_prefix (length 0: all). OOM kills are never filtered. */
const volatile __u32 watch_controllers = 0;
const volatile __u32 path_prefix_len = 0;
const volatile char path_prefix[CGROUP_EVENT_PREFIX_LEN] = {};

static __always_inline __u32 controllers_of(struct cgroup *cgrp)
{
	__u32 mask = BPF_CORE_READ(cgrp, root, subsys_mask);
	__u32 out = cgroup_on_cgroup2(cgrp) ? CGROUP_EVENT_CTRL_CGROUP2 : 0;
	int id;

	if ((id = subsys_id(CGSTAT_CPU)) >= 0 && (mask & (1u << id)))
		out |= CGROUP_EVENT_CTRL_CPU;
	if ((id = subsys_id(CGSTAT_CPUACCT)) >= 0 && (mask & (1u << id)))
		out |= CGROUP_EVENT_CTRL_CPUACCT;
	if ((id = subsys_id(CGSTAT_MEMORY)) >= 0 && (mask & (1u << id)))
		out |= CGROUP_EVENT_CTRL_MEMORY;
	if ((id = subsys_id(CGSTAT_PIDS)) >= 0 && (mask & (1u << id)))
		out |= CGROUP_EVENT_CTRL_PIDS;
	return out;
}

static __always_inline void capture_memory(struct cgroup *cgrp, struct cgroup_event *e)
{
	if (cgroup_memory_usage_bytes(cgrp, &e->memory_usage_bytes) == 0)
		e->have |= CGROUP_EVENT_HAVE_MEMORY;
}

static __always_inline void capture_cpu(struct cgroup *cgrp, struct cgroup_event *e)
{
	if (cgroup_cpu_usage_ns(cgrp, &e->cpu_usage_ns) == 0)
		e->have |= CGROUP_EVENT_HAVE_CPU;
}

static __always_inline bool wanted(struct cgroup *cgrp, const char *path)
{
	char head[CGROUP_EVENT_PREFIX_LEN];

	if (watch_controllers && !(controllers_of(cgrp) & watch_controllers))
		return false;
	if (path_prefix_len == 0)
		return true;
	if (bpf_probe_read_kernel_str(head, sizeof(head), path) < 0)
		return false;
	for (__u32 i = 0; i < CGROUP_EVENT_PREFIX_LEN; i++) {
		if (i >= path_prefix_len)
			break;
		if (head[i] != path_prefix[i])
			return false;
	}
	return true;
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
	struct cgroup_event *e;

	if (!wanted(cgrp, path))
		return 0;
	e = event_start(CGROUP_EVENT_MKDIR, cgrp);
	if (!e)
		return 0;
	copy_path(e, path);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(handle_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	struct cgroup_event *e;

	if (!wanted(cgrp, path))
		return 0;
	e = event_start(CGROUP_EVENT_RMDIR, cgrp);
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
	int memory_id = subsys_id(CGSTAT_MEMORY);
	struct cgroup *cgrp;
	struct cgroup_event *e;

	if (memory_id < 0 || memory_id >= CGROUP_SUBSYS_COUNT)
		return 0;
	cgrp = task->cgroups->subsys[memory_id]->cgroup; /* BTF-typed: plain loads */
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
