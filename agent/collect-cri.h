/* collect-cri.h: the agent's cached view of the container runtime.
 *
 * A thread of its own asks the runtime (CRI) for pods, containers and
 * stats every refresh interval, and at once when the collection reports
 * ids the runtime was not known to have (a new cgroup). Each refresh that
 * works publishes a new snapshot (collect-cri-snapshot.h); the collection loop
 * joins the latest one onto the store after every cycle (collect-cri-join.h), under
 * a lock held only for that join. So the runtime is never on the collection
 * or request path: when it is missing, restarting or hung, refreshes fail
 * (logged once), the last snapshot stays, and the next refresh that works
 * brings everything back. */
#ifndef CADET_CRI_METADATA_H
#define CADET_CRI_METADATA_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/collect-cri-snapshot.h"
#include "agent/store.h"
#include "common/duration.h"
#include "common/error.h"

#define CRI_DEFAULT_REFRESH_INTERVAL_NS (5ULL * NSEC_PER_SEC)

struct cri_metadata_options {
	const char *endpoint;         /* --container-runtime-endpoint */
	uint64_t timeout_ns;          /* per call; 0 means CRI_DEFAULT_TIMEOUT_NS */
	uint64_t refresh_interval_ns; /* 0 means CRI_DEFAULT_REFRESH_INTERVAL_NS */
	/* The store's rate window (0: unknown). Pods known only from CRI stats
	 * get a new sample at each refresh, so refreshes come at least three
	 * times per window: such pods then neither expire nor lose their rate. */
	uint64_t rate_window_ns;
	const char *proc_root;        /* for pod network (<pid>/net/dev); NULL means /proc */
};

struct cri_metadata;

/* Checks the endpoint and starts the refresh thread (whose first refresh
 * logs the runtime's version). Fails only on a malformed endpoint or when
 * the thread cannot start; an absent runtime is not an error. */
int cri_metadata_start(const struct cri_metadata_options *opts, struct cri_metadata **out, struct cadet_error *err);
/* Stops the thread (waits for a call in flight, at most one timeout) and frees all. */
void cri_metadata_stop(struct cri_metadata *m);

/* Joins the latest snapshot onto the store; call after each collection
 * cycle. Asks for a refresh when the store holds ids the snapshot lacks. */
int cri_metadata_apply(struct cri_metadata *m, struct store *s, struct cadet_error *err);

/* Asks the thread to refresh now (e.g. discovery saw a new cgroup). */
void cri_metadata_request_refresh(struct cri_metadata *m);

/* Counters for the agent's own /metrics. */
struct cri_metadata_counters {
	uint64_t refreshes;        /* that published a snapshot */
	uint64_t refresh_failures; /* runtime unreachable or a required call failed */
	uint64_t last_refresh_ns;  /* duration of the last successful refresh */
	bool runtime_up;           /* the last refresh worked */
};
void cri_metadata_counters(struct cri_metadata *m, struct cri_metadata_counters *out);

/* The thread's body, one step: exposed so tests can drive a refresh
 * synchronously. Returns 0 when a snapshot was published. */
int cri_metadata_refresh_once(struct cri_metadata *m, struct cadet_error *err);
/* Creates the cache without a thread (tests), and publishes a prepared
 * snapshot (tests; takes ownership). */
int cri_metadata_create(const struct cri_metadata_options *opts, struct cri_metadata **out, struct cadet_error *err);
void cri_metadata_publish(struct cri_metadata *m, struct cri_snapshot *snap);

#endif
