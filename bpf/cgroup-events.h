/* cgroup-events.h: the record bpf/cgroup-events.bpf.c sends through its ring
 * buffer and agent/collect-bpf-cgroup-events.c reads, one per cgroup mkdir, cgroup
 * rmdir or OOM kill. Shared by both sides; nothing else lives here. The user
 * side includes <linux/types.h> first. */
#ifndef CADET_BPF_CGROUP_EVENTS_H
#define CADET_BPF_CGROUP_EVENTS_H

#define CGROUP_EVENT_PATH_LEN 256 /* path relative to the hierarchy root, NUL-terminated */
#define CGROUP_EVENT_COMM_LEN 16
#define CGROUP_EVENT_PREFIX_LEN 64 /* longest path prefix filter */

enum cgroup_event_type {
	CGROUP_EVENT_MKDIR = 1,
	CGROUP_EVENT_RMDIR = 2,
	CGROUP_EVENT_OOM = 3, /* cgroup fields describe the victim's memory cgroup */
};

/* Bits of cgroup_event.controllers: what the event's hierarchy carries. */
enum {
	CGROUP_EVENT_CTRL_CGROUP2 = 1u << 0, /* the unified (cgroup2) hierarchy */
	CGROUP_EVENT_CTRL_CPU = 1u << 1,
	CGROUP_EVENT_CTRL_CPUACCT = 1u << 2,
	CGROUP_EVENT_CTRL_MEMORY = 1u << 3,
	CGROUP_EVENT_CTRL_PIDS = 1u << 4,
};

/* Bits of cgroup_event.have: which values were captured. */
enum {
	CGROUP_EVENT_HAVE_CPU = 1u << 0,         /* cpu_usage_ns */
	CGROUP_EVENT_HAVE_MEMORY = 1u << 1,      /* memory_usage_bytes */
	CGROUP_EVENT_PATH_TRUNCATED = 1u << 2,   /* path did not fit */
};

struct cgroup_event {
	__u32 type;         /* enum cgroup_event_type */
	__u32 hierarchy_id; /* 0 for cgroup2, as in /proc/PID/cgroup */
	__u64 cgroup_id;    /* kernfs node id = inode number of the cgroup directory */
	__u64 monotonic_ns; /* bpf_ktime_get_ns(), CLOCK_MONOTONIC */
	__u32 level;        /* 0 for a hierarchy root */
	__u32 controllers;  /* CGROUP_EVENT_CTRL_* */
	__u32 have;         /* CGROUP_EVENT_HAVE_* */
	__u32 pid;          /* OOM: the victim's pid (thread group id) */
	/* RMDIR: cumulative CPU time of the cgroup as the kernel holds it at
	 * removal (cpuacct.usage on a v1 cpuacct hierarchy, cpu.stat usage on
	 * cgroup2). OOM: not set. */
	__u64 cpu_usage_ns;
	/* RMDIR and OOM: the memory page counter (memory.usage_in_bytes /
	 * memory.current) when the hierarchy carries the memory controller. */
	__u64 memory_usage_bytes;
	char comm[CGROUP_EVENT_COMM_LEN]; /* OOM: the victim's command */
	char path[CGROUP_EVENT_PATH_LEN]; /* "/kubepods/burstable/pod.../ID", "/" for a root */
};

#endif
