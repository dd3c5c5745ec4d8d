/* store.h: the agent's sample store, between the sources and the views.
 *
 * Sources hand the store timed samples (agent/sample.h) through one entry
 * point, store_record(): a key, the sample's own time, the source, the
 * values. The store keeps, per series (node, kubepods, pod, container),
 * the latest sample and a small ring of timed CPU samples covering the
 * rate window, from which it derives usageNanoCores. A counter that goes
 * backwards (cgroup recreated) restarts the ring; a sample older than the
 * series' latest is dropped; a BPF rmdir sample updates the CPU time only.
 *
 * Series vanish by their source's rule. The cgroup walk and the runtime's
 * snapshots are each a sweep: store_begin_sweep() opens one, the records of
 * its sources mark their series seen, store_end_sweep() marks the series
 * of that sweep it did not see as vanished (kept with their last values)
 * and expires every vanished series whose last sample is more than a
 * window old. So a pod known only from the runtime stays current between
 * snapshots, while the walk alone decides for cgroup series.
 *
 * Pods are kept sorted by uid and containers sorted by id within a pod, so
 * lookups are binary searches and views iterate in a stable order. Views
 * read the store and never touch the filesystem. */
#ifndef CADET_STORE_H
#define CADET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/sample.h"
#include "common/error.h"

/* The longest window, in collection intervals, the CPU ring holds. */
#define STORE_MAX_WINDOW_INTERVALS 4000

/* What keeps series alive: the cgroup walk, or the runtime's snapshots. */
enum store_sweep {
	STORE_SWEEP_WALK,
	STORE_SWEEP_RUNTIME,
	STORE_SWEEP_COUNT,
};

/* One timed series: latest sample plus the CPU ring. */
struct series {
	bool has_sample;          /* latest holds a sample (else the series only exists) */
	struct sample latest;
	struct sample_time at;    /* when latest was taken */
	enum sample_source source; /* who gave latest */
	uint64_t *ring_monotonic_ns; /* ring_cap entries */
	uint64_t *ring_cpu_ns;
	uint32_t ring_head; /* index of the newest entry */
	uint32_t ring_count;
	uint32_t ring_cap;
	bool has_rate;
	uint64_t usage_nano_cores; /* valid with has_rate */
	uint64_t rate_window_ns;   /* time span the rate covers */
	enum store_sweep sweep;    /* the sweep that keeps it alive */
	uint64_t seen_round;       /* that sweep's round that last saw it */
	uint64_t seen_monotonic_ns;
	bool vanished; /* its sweep ended without it; kept until expiry */
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

struct store_pod {
	char *uid;
	enum pod_qos qos;
	uint64_t cgroup_start_ns;
	struct pod_metadata meta;
	struct series series; /* has_sample: the pod itself was read (cgroup or runtime) */
	struct store_container *containers; /* sorted by id */
	size_t n_containers;
	size_t cap_containers;
	/* Filled by the CRI join (agent/collect-cri-join.c), kept across cycles. */
	bool has_network;
	struct pod_network network;
};

struct store {
	uint64_t window_ns;
	uint32_t ring_cap;
	uint64_t round[STORE_SWEEP_COUNT];        /* of the open or last sweep */
	struct sample_time sweep_at[STORE_SWEEP_COUNT]; /* when it began */
	uint64_t walks;                           /* walks begun */
	struct node_info node_info;
	struct series node;
	struct series kubepods; /* the "pods" system container */
	struct store_pod *pods; /* sorted by uid */
	size_t n_pods;
	size_t cap_pods;
	/* Filled by the CRI join (agent/collect-cri-join.c). */
	bool has_image_fs;
	struct image_fs_stats image_fs;
};

/* window_ns: rate window; interval_ns: sampling period (sizes the ring). */
int store_init(struct store *s, uint64_t window_ns, uint64_t interval_ns, struct cadet_error *err);
void store_free(struct store *s);

/* Opens a round of the sweep at the given time. */
void store_begin_sweep(struct store *s, enum store_sweep sweep, const struct sample_time *at);
/* Marks the sweep's series it did not see as vanished and expires vanished
 * series of any sweep more than a window old. */
void store_end_sweep(struct store *s, enum store_sweep sweep);

/* Records a sample of `key` taken at `at` by `source`. The series (and
 * for a container its pod) is created when new. sample NULL: the key is
 * there but could not be read (marks it seen, keeps its last values). */
int store_record(struct store *s, const struct sample_key *key, enum sample_source source,
		 const struct sample_time *at, const struct sample *sample, struct cadet_error *err);
/* Replaces the node facts (procfs, statvfs) that go with the node sample. */
void store_set_node_info(struct store *s, const struct node_info *info);

/* True when the last walk saw the pod or one of its containers. */
bool store_pod_walked(const struct store *s, const struct store_pod *p);

struct store_pod *store_find_pod(struct store *s, const char *uid);
struct store_container *store_find_container(struct store_pod *pod, const char *id);
size_t store_count_containers(const struct store *s);

/* Replace metadata (takes copies). */
int pod_metadata_set(struct pod_metadata *dst, const struct pod_metadata *src, struct cadet_error *err);
void pod_metadata_clear(struct pod_metadata *m);
int container_metadata_set(struct container_metadata *dst, const struct container_metadata *src,
			   struct cadet_error *err);
void container_metadata_clear(struct container_metadata *m);

#endif
