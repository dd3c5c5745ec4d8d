/* store.h: the aggregator's in-memory state: the latest report of every
 * node, nothing else.
 *
 * A report is stored whole and never changed afterwards; readers take
 * reference-counted snapshots, so the gRPC thread can replace a node's report
 * while the HTTP thread is still rendering the old one. A node whose last
 * report arrived more than `stale_after_ns` ago is invisible to readers and
 * freed by agg_store_expire(). A pod lives exactly as long as it is in its
 * node's latest report, so memory follows what is live. */
#ifndef CADET_AGG_STORE_H
#define CADET_AGG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "proto/cadet-push.pb-c.h"

struct node_snapshot {
	int refs; /* atomic */
	uint64_t received_mono_ns;
	Cadet__V1__NodeReport *report;
};

struct agg_store;

int agg_store_new(uint64_t stale_after_ns, struct agg_store **out, struct cadet_error *err);
void agg_store_free(struct agg_store *store);

/* Checks a decoded report (names present, sizes sane) before it is stored. */
int agg_store_validate_report(const Cadet__V1__NodeReport *report, struct cadet_error *err);

/* Makes `report` the node's latest; takes ownership of it even on failure. */
int agg_store_put(struct agg_store *store, Cadet__V1__NodeReport *report, uint64_t now_mono_ns,
	      struct cadet_error *err);

/* Frees nodes gone stale; returns how many. */
size_t agg_store_expire(struct agg_store *store, uint64_t now_mono_ns);

/* Live nodes, ordered by name, each with a reference the caller drops with
 * agg_store_snapshots_free(). */
int agg_store_list(struct agg_store *store, uint64_t now_mono_ns, struct node_snapshot ***out,
	       size_t *n_out, struct cadet_error *err);
void agg_store_snapshots_free(struct node_snapshot **snaps, size_t n);

/* One live node or NULL; the caller drops the reference with node_snapshot_unref(). */
struct node_snapshot *agg_store_get(struct agg_store *store, const char *node_name, uint64_t now_mono_ns);
void node_snapshot_unref(struct node_snapshot *snap);

/* Whether any report was ever stored (for /readyz). */
bool agg_store_ever_stored(struct agg_store *store);
size_t agg_store_node_count(struct agg_store *store);

#endif
