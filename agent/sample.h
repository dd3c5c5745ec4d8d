/* sample.h: the timed sample, the contract between the sources and the store.
 *
 * Every source (cgroup files, BPF, procfs, the container runtime) turns
 * what it reads into a `struct sample`: one set of values whose `have`
 * bits say which groups of fields it carries. It hands the sample to the
 * store together with
 *   - a key: node, kubepods, pod (uid) or container (uid + id);
 *   - the time it was taken (struct sample_time: monotonic for rate math,
 *     realtime for what users read), which is the source's own time, not
 *     the store's: the runtime's stats keep the runtime's timestamp;
 *   - the source that produced it (enum sample_source), from which the
 *     store decides when a series has vanished: a series from the cgroup
 *     walk (files, usage-only reads, BPF iterator, procfs, the BPF rmdir
 *     sample, which is final) vanishes when a walk ends without seeing
 *     it; a series from the runtime when a runtime snapshot ends without
 *     it. Either kind expires a window after its last sample.
 * Values a source cannot read directly but can compute (the working set
 * today) come from sample_derive(), the one place that computes them: a
 * source fills the raw values and calls it before handing the sample over.
 *
 * This header is the bottom of the agent's include graph: it includes no
 * other agent header. The other output types of sources (node facts, pod
 * network, the runtime's image filesystem) live here too, so sources
 * include this file and never the store; the store and the views include
 * it as the one definition of what a sample holds.
 *
 * Adding a field: a member here (with its have-bit if it is optional),
 * one line in the reader that fills it, one line in each view that shows
 * it. The store copies samples whole and needs no edit. */
#ifndef CADET_SAMPLE_H
#define CADET_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* When a sample was taken, on both clocks. */
struct sample_time {
	uint64_t monotonic_ns; /* CLOCK_MONOTONIC: rates, expiry */
	uint64_t realtime_ns;  /* CLOCK_REALTIME: timestamps users see */
};

/* Who produced a sample; decides how the store lets its series vanish. */
enum sample_source {
	SAMPLE_SOURCE_CGROUP_FILES, /* full read of a cgroup's files */
	SAMPLE_SOURCE_CGROUP_USAGE, /* usage-only read of the usage files, the rest from the last full read */
	SAMPLE_SOURCE_BPF_ITER,     /* usage-only values from a BPF cgroup iterator walk */
	SAMPLE_SOURCE_BPF_RMDIR,    /* CPU time the kernel held when the cgroup was removed: final */
	SAMPLE_SOURCE_PROCFS,       /* the node from /proc where the root cgroup has nothing */
	SAMPLE_SOURCE_CRI,          /* the container runtime's stats (CRI) */
};

/* True for the sources whose series the runtime's snapshots, not the
 * cgroup walk, keep alive. */
bool sample_source_from_runtime(enum sample_source source);

enum pod_qos {
	POD_QOS_UNKNOWN,
	POD_QOS_GUARANTEED,
	POD_QOS_BURSTABLE,
	POD_QOS_BESTEFFORT,
};

const char *pod_qos_name(enum pod_qos qos);

enum sample_key_kind {
	SAMPLE_KEY_NODE,
	SAMPLE_KEY_KUBEPODS, /* the "pods" system container */
	SAMPLE_KEY_POD,
	SAMPLE_KEY_CONTAINER,
};

/* What a sample is of. The strings are the caller's; the store copies. */
struct sample_key {
	enum sample_key_kind kind;
	const char *pod_uid;           /* pod and container */
	const char *container_id;      /* container */
	enum pod_qos qos;              /* pod and container; UNKNOWN when the source cannot tell */
	uint64_t started_realtime_ns;  /* when the cgroup (or the runtime's object) appeared; 0 unknown */
};

/* Bits of sample.have: which groups of fields a sample carries. */
enum {
	SAMPLE_HAVE_CPU = 1u << 0,          /* cpu_usage_ns */
	SAMPLE_HAVE_THROTTLE = 1u << 1,     /* cpu_periods, cpu_throttled_periods, cpu_throttled_ns */
	SAMPLE_HAVE_MEMORY = 1u << 2,       /* memory usage, working set, rss, faults */
	SAMPLE_HAVE_MEMORY_LIMIT = 1u << 3, /* memory_limit_bytes: a real limit */
	SAMPLE_HAVE_PIDS = 1u << 4,
	SAMPLE_HAVE_CPU_PSI = 1u << 5,
	SAMPLE_HAVE_MEMORY_PSI = 1u << 6,
	SAMPLE_HAVE_IO_PSI = 1u << 7,
	SAMPLE_HAVE_SWAP = 1u << 8,         /* swap_usage_bytes */
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

/* The values of one sample; fields are valid per `have`. */
struct sample {
	uint32_t have;
	uint64_t cpu_usage_ns;
	uint64_t cpu_periods;           /* CFS enforcement periods that elapsed */
	uint64_t cpu_throttled_periods; /* of which the group was throttled */
	uint64_t cpu_throttled_ns;      /* total time throttled */
	uint64_t memory_usage_bytes;
	uint64_t memory_inactive_file_bytes; /* v2 inactive_file, v1 total_inactive_file */
	uint64_t memory_working_set_bytes;   /* derived: usage - inactive_file, floored at 0 */
	uint64_t memory_rss_bytes;           /* v2 anon, v1 total_rss */
	uint64_t memory_page_faults;
	uint64_t memory_major_page_faults;
	uint64_t memory_limit_bytes;
	uint64_t swap_usage_bytes;
	uint64_t pids_current;
	struct psi_stats cpu_psi, memory_psi, io_psi;
};

/* Computes the derived values of s from its raw ones: the working set
 * from memory usage and inactive_file. Call after every change to them. */
void sample_derive(struct sample *s);

/* Both clocks now. */
struct sample_time sample_time_now(void);
/* A realtime instant another clock domain gave (the runtime's timestamps),
 * placed on the monotonic clock by the offset between the clocks at `now`. */
struct sample_time sample_time_from_realtime(uint64_t realtime_ns, const struct sample_time *now);
/* A monotonic instant (a BPF event's) with its realtime at `now`'s offset. */
struct sample_time sample_time_from_monotonic(uint64_t monotonic_ns, const struct sample_time *now);

/* Node facts read outside cgroups (procfs, statvfs). */
struct node_info {
	uint64_t boot_time_ns;          /* realtime */
	uint64_t memory_capacity_bytes; /* MemTotal */
	bool has_fs;
	uint64_t fs_capacity_bytes, fs_available_bytes, fs_used_bytes;
	uint64_t fs_inodes, fs_inodes_free;
	bool has_rlimit;
	uint64_t rlimit_max_pid, rlimit_cur_proc;
	bool has_swap;
	uint64_t swap_capacity_bytes, swap_usage_bytes;
};

struct label {
	char *key;
	char *value;
};

/* Counters of one network interface in a pod's network namespace. */
struct net_interface_stats {
	char name[16]; /* IFNAMSIZ */
	uint64_t rx_bytes, rx_errors;
	uint64_t tx_bytes, tx_errors;
};

#define POD_NETWORK_MAX_INTERFACES 8

/* A pod's network, as kubelet reports it: every interface but lo. */
struct pod_network {
	uint64_t realtime_ns; /* when the counters were read */
	size_t n_interfaces;
	struct net_interface_stats interfaces[POD_NETWORK_MAX_INTERFACES];
};

/* kubelet's default pod interface. */
#define POD_NETWORK_DEFAULT_INTERFACE "eth0"

/* The default interface (eth0, else the first), NULL when there is none. */
const struct net_interface_stats *pod_network_default(const struct pod_network *net);

/* The runtime's image filesystem (CRI ImageFsInfo plus statvfs). */
struct image_fs_stats {
	uint64_t realtime_ns;
	uint64_t used_bytes, inodes_used; /* by images, from the runtime */
	bool has_capacity;                /* statvfs of the mountpoint worked */
	uint64_t capacity_bytes, available_bytes, inodes, inodes_free;
};

#endif
