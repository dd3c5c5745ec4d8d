/* cgroup-iter.h: the record bpf/cgroup-iter.bpf.c sends through its ring
 * buffer for each cgroup of a walk, read by agent/collect-bpf-cgroup-iter.c. Shared
 * by both sides; nothing else lives here. The user side includes
 * <linux/types.h> first. */
#ifndef CADET_BPF_CGROUP_ITER_H
#define CADET_BPF_CGROUP_ITER_H

#define CGROUP_ITER_NAME_LEN 128 /* directory name, NUL-terminated */

/* Bits of cgroup_iter_record.have. */
enum {
	CGROUP_ITER_HAVE_CPU = 1u << 0,       /* cpu_usage_ns */
	CGROUP_ITER_HAVE_MEMORY = 1u << 1,    /* memory_usage_bytes */
	CGROUP_ITER_NAME_TRUNCATED = 1u << 2,
};

struct cgroup_iter_record {
	__u64 cgroup_id;          /* kernfs node id = inode of the directory */
	__u64 cpu_usage_ns;       /* cpuacct.usage (v1) or cpu.stat usage (cgroup2), in ns */
	__u64 memory_usage_bytes; /* memory.usage_in_bytes / memory.current */
	__u32 level;              /* depth below the hierarchy root */
	__u32 have;               /* CGROUP_ITER_* */
	char name[CGROUP_ITER_NAME_LEN];
};

#endif
