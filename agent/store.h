/* store.h: the agent's sample store, between collectors and views.
 *
 * Collectors record one sample per cgroup per cycle; the store keeps, per
 * series (node, pod, container), the latest full sample and a small ring
 * of timed CPU samples covering the rate window, from which it derives
 * usageNanoCores. A counter that goes backwards (cgroup recreated) restarts
 * the ring. A series not recorded in a cycle is kept, with its last values,
 * until the window has passed, then expired. Views read the store and
 * never touch the filesystem.
 *
 * Pods are kept sorted by uid and containers sorted by id within a pod, so
 * lookups are binary searches and views iterate in a stable order. */
#ifndef CADET_STORE_H
#define CADET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/cgroup.h"
#include "common/error.h"

enum pod_qos {
	POD_QOS_UNKNOWN,
	POD_QOS_GUARANTEED,
	POD_QOS_BURSTABLE,
	POD_QOS_BESTEFFORT,
};

/* One timed series: latest sample plus the CPU ring. */
struct series {
	struct cgroup_stats latest;
	uint64_t sample_realtime_ns;  /* when latest was read */
	uint64_t sample_monotonic_ns;
	uint64_t *ring_monotonic_ns; /* ring_cap entries */
	uint64_t *ring_cpu_ns;
	uint32_t ring_head; /* index of the newest entry */
	uint32_t ring_count;
	uint32_t ring_cap;
	bool has_rate;
	uint64_t usage_nano_cores; /* valid with has_rate */
	uint64_t rate_window_ns;   /* time span the rate covers */
	bool seen_this_cycle;
	bool vanished; /* not seen in the last cycle; kept until expiry */
};

struct label {
	char *key;
	char *value;
};

/* Names and labels a metadata source (CRI) attaches; NULL until known. */
struct container_metadata {
	char *name;
	bool is_sandbox; /* the pod's pause container: not reported as a container */
	uint64_t start_time_ns; /* runtime's start time, 0 if unknown */
	bool has_rootfs;
	uint64_t rootfs_used_bytes;
	uint64_t rootfs_inodes_used;
	bool has_logs;
	uint64_t logs_used_bytes;
};

struct pod_metadata {
	char *name;
	char *namespace;
	struct label *labels;
	size_t n_labels;
	uint64_t start_time_ns; /* 0 if unknown */
};

struct store_container {
	char *id;
	uint64_t cgroup_start_ns; /* realtime the cgroup appeared (directory ctime) */
	struct container_metadata meta;
	uint64_t oom_events; /* OOM kills seen in this container (BPF) */
	struct series series;
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

/* The runtime's image filesystem (CRI ImageFsInfo plus statvfs). */
struct image_fs_stats {
	uint64_t realtime_ns;
	uint64_t used_bytes, inodes_used; /* by images, from the runtime */
	bool has_capacity;                /* statvfs of the mountpoint worked */
	uint64_t capacity_bytes, available_bytes, inodes, inodes_free;
};

struct store_pod {
	char *uid;
	enum pod_qos qos;
	uint64_t cgroup_start_ns;
	bool has_cgroup_series; /* the pod cgroup itself was read */
	struct pod_metadata meta;
	struct series series;
	struct store_container *containers; /* sorted by id */
	size_t n_containers;
	size_t cap_containers;
	/* Filled by the CRI join (agent/cri-join.c), kept across cycles. */
	bool has_network;
	struct pod_network network;
};

/* Node facts read outside cgroups (procfs, statvfs). */
struct node_info {
	uint64_t boot_time_ns;         /* realtime */
	uint64_t memory_capacity_bytes; /* MemTotal */
	bool has_fs;
	uint64_t fs_capacity_bytes, fs_available_bytes, fs_used_bytes;
	uint64_t fs_inodes, fs_inodes_free;
	bool has_rlimit;
	uint64_t rlimit_max_pid, rlimit_cur_proc;
	bool has_swap;
	uint64_t swap_capacity_bytes, swap_usage_bytes;
};

struct store {
	uint64_t window_ns;
	uint32_t ring_cap;
	uint64_t cycle_monotonic_ns;
	uint64_t cycle_realtime_ns;
	uint64_t cycles;
	struct node_info node_info;
	struct series node;
	bool has_kubepods;
	struct series kubepods; /* the "pods" system container */
	struct store_pod *pods; /* sorted by uid */
	size_t n_pods;
	size_t cap_pods;
	/* Filled by the CRI join (agent/cri-join.c). */
	bool has_image_fs;
	struct image_fs_stats image_fs;
};

/* window_ns: rate window; interval_ns: sampling period (sizes the ring). */
int store_init(struct store *s, uint64_t window_ns, uint64_t interval_ns, struct cadet_error *err);
void store_free(struct store *s);

/* Starts a cycle at the given times; every record until store_end_cycle
 * is stamped with them. */
void store_begin_cycle(struct store *s, uint64_t monotonic_ns, uint64_t realtime_ns);
int store_record_node(struct store *s, const struct cgroup_stats *stats, const struct node_info *info,
		      struct cadet_error *err);
int store_record_kubepods(struct store *s, const struct cgroup_stats *stats, struct cadet_error *err);
/* Finds or adds the pod; stats may be NULL when the pod cgroup could not be read. */
int store_record_pod(struct store *s, const char *uid, enum pod_qos qos, uint64_t cgroup_start_ns,
		     const struct cgroup_stats *stats, struct store_pod **out, struct cadet_error *err);
int store_record_container(struct store *s, struct store_pod *pod, const char *id, uint64_t cgroup_start_ns,
			   const struct cgroup_stats *stats, struct store_container **out, struct cadet_error *err);
/* Marks series not recorded this cycle as vanished and expires those older
 * than the window. */
void store_end_cycle(struct store *s);

struct store_pod *store_find_pod(struct store *s, const char *uid);
struct store_container *store_find_container(struct store_pod *pod, const char *id);
size_t store_count_containers(const struct store *s);

/* Replace metadata (takes copies). */
int pod_metadata_set(struct pod_metadata *dst, const struct pod_metadata *src, struct cadet_error *err);
void pod_metadata_clear(struct pod_metadata *m);
int container_metadata_set(struct container_metadata *dst, const struct container_metadata *src,
			   struct cadet_error *err);
void container_metadata_clear(struct container_metadata *m);

const char *pod_qos_name(enum pod_qos qos);

#endif
