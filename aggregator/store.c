/* store.c: latest report per node (see store.h). Nodes sit in an array kept
 * sorted by name: lookups are binary searches, a new node is one memmove,
 * and listing in a stable order is free. One mutex guards the array; it is
 * held only to swap pointers and take references, never while rendering. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

/* Limits that keep one misbehaving agent from exhausting memory. */
#define MAX_NAME_BYTES 253
#define MAX_PODS_PER_NODE 10000
#define MAX_CONTAINERS_PER_POD 1000

struct agg_store {
	pthread_mutex_t lock;
	uint64_t stale_after_ns;
	struct node_snapshot **nodes; /* sorted by report->node_name */
	size_t n, cap;
	bool ever_stored;
};

static struct node_snapshot *snapshot_ref(struct node_snapshot *snap)
{
	__atomic_add_fetch(&snap->refs, 1, __ATOMIC_RELAXED);
	return snap;
}

void node_snapshot_unref(struct node_snapshot *snap)
{
	if (!snap || __atomic_sub_fetch(&snap->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	cadet__v1__node_report__free_unpacked(snap->report, NULL);
	free(snap);
}

int agg_store_new(uint64_t stale_after_ns, struct agg_store **out, struct cadet_error *err)
{
	struct agg_store *store = calloc(1, sizeof(*store));
	if (!store)
		return cadet_error_set(err, ENOMEM, "allocating the store");
	int r = pthread_mutex_init(&store->lock, NULL);
	if (r != 0) {
		free(store);
		return cadet_error_set(err, r, "initialising the store lock");
	}
	store->stale_after_ns = stale_after_ns;
	*out = store;
	return 0;
}

void agg_store_free(struct agg_store *store)
{
	if (!store)
		return;
	for (size_t i = 0; i < store->n; i++)
		node_snapshot_unref(store->nodes[i]);
	free(store->nodes);
	pthread_mutex_destroy(&store->lock);
	free(store);
}

static bool name_ok(const char *s)
{
	size_t len = s ? strlen(s) : 0;
	return len > 0 && len <= MAX_NAME_BYTES;
}

int agg_store_validate_report(const Cadet__V1__NodeReport *report, struct cadet_error *err)
{
	if (!name_ok(report->node_name))
		return cadet_error_set(err, EINVAL, "report without a valid node_name");
	if (report->n_pods > MAX_PODS_PER_NODE)
		return cadet_error_set(err, EINVAL, "node %s reports %zu pods (limit %d)",
				       report->node_name, report->n_pods, MAX_PODS_PER_NODE);
	for (size_t i = 0; i < report->n_pods; i++) {
		const Cadet__V1__PodReport *pod = report->pods[i];
		if (!name_ok(pod->namespace_) || !name_ok(pod->name))
			return cadet_error_set(err, EINVAL, "node %s: pod %zu lacks a namespace or name",
					       report->node_name, i);
		if (pod->n_containers > MAX_CONTAINERS_PER_POD)
			return cadet_error_set(err, EINVAL, "node %s: pod %s/%s has %zu containers",
					       report->node_name, pod->namespace_, pod->name,
					       pod->n_containers);
		for (size_t c = 0; c < pod->n_containers; c++)
			if (!name_ok(pod->containers[c]->name))
				return cadet_error_set(err, EINVAL, "node %s: pod %s/%s: container without a name",
						       report->node_name, pod->namespace_, pod->name);
	}
	return 0;
}

/* Index of the node or of where it would be inserted; *found says which. */
static size_t find_locked(const struct agg_store *store, const char *name, bool *found)
{
	size_t lo = 0, hi = store->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(store->nodes[mid]->report->node_name, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static bool is_live(const struct agg_store *store, const struct node_snapshot *snap, uint64_t now_mono_ns)
{
	return now_mono_ns < snap->received_mono_ns ||
	       now_mono_ns - snap->received_mono_ns <= store->stale_after_ns;
}

int agg_store_put(struct agg_store *store, Cadet__V1__NodeReport *report, uint64_t now_mono_ns,
	      struct cadet_error *err)
{
	if (agg_store_validate_report(report, err) < 0) {
		cadet__v1__node_report__free_unpacked(report, NULL);
		return -1;
	}
	struct node_snapshot *snap = calloc(1, sizeof(*snap));
	if (!snap) {
		cadet__v1__node_report__free_unpacked(report, NULL);
		return cadet_error_set(err, ENOMEM, "storing the report of node %s", report->node_name);
	}
	snap->refs = 1;
	snap->received_mono_ns = now_mono_ns;
	snap->report = report;

	struct node_snapshot *old = NULL;
	pthread_mutex_lock(&store->lock);
	bool found;
	size_t i = find_locked(store, report->node_name, &found);
	if (found) {
		old = store->nodes[i];
		store->nodes[i] = snap;
	} else {
		if (store->n == store->cap) {
			size_t cap = store->cap ? store->cap * 2 : 64;
			struct node_snapshot **nodes = realloc(store->nodes, cap * sizeof(*nodes));
			if (!nodes) {
				pthread_mutex_unlock(&store->lock);
				cadet_error_set(err, ENOMEM, "storing the report of node %s",
						report->node_name);
				node_snapshot_unref(snap);
				return -1;
			}
			store->nodes = nodes;
			store->cap = cap;
		}
		memmove(&store->nodes[i + 1], &store->nodes[i], (store->n - i) * sizeof(*store->nodes));
		store->nodes[i] = snap;
		store->n++;
	}
	store->ever_stored = true;
	pthread_mutex_unlock(&store->lock);
	node_snapshot_unref(old); /* outside the lock: freeing a report takes a while */
	return 0;
}

size_t agg_store_expire(struct agg_store *store, uint64_t now_mono_ns)
{
	_cleanup_free_ struct node_snapshot **dropped = NULL;
	size_t n_dropped = 0;
	pthread_mutex_lock(&store->lock);
	size_t kept = 0;
	for (size_t i = 0; i < store->n; i++) {
		struct node_snapshot *snap = store->nodes[i];
		if (is_live(store, snap, now_mono_ns)) {
			store->nodes[kept++] = snap;
			continue;
		}
		if (!dropped)
			dropped = calloc(store->n, sizeof(*dropped));
		if (!dropped) { /* out of memory: try again next sweep */
			store->nodes[kept++] = snap;
			continue;
		}
		dropped[n_dropped++] = snap;
	}
	store->n = kept;
	/* Give memory back when the cluster shrank a lot. */
	if (store->cap > 64 && store->n < store->cap / 4) {
		struct node_snapshot **nodes = realloc(store->nodes, (store->cap / 2) * sizeof(*nodes));
		if (nodes) {
			store->nodes = nodes;
			store->cap /= 2;
		}
	}
	pthread_mutex_unlock(&store->lock);
	for (size_t i = 0; i < n_dropped; i++)
		node_snapshot_unref(dropped[i]);
	return n_dropped;
}

void agg_store_snapshots_free(struct node_snapshot **snaps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		node_snapshot_unref(snaps[i]);
	free(snaps);
}

int agg_store_list(struct agg_store *store, uint64_t now_mono_ns, struct node_snapshot ***out,
	       size_t *n_out, struct cadet_error *err)
{
	pthread_mutex_lock(&store->lock);
	struct node_snapshot **snaps = malloc((store->n ? store->n : 1) * sizeof(*snaps));
	if (!snaps) {
		pthread_mutex_unlock(&store->lock);
		return cadet_error_set(err, ENOMEM, "listing %zu nodes", store->n);
	}
	size_t n = 0;
	for (size_t i = 0; i < store->n; i++)
		if (is_live(store, store->nodes[i], now_mono_ns))
			snaps[n++] = snapshot_ref(store->nodes[i]);
	pthread_mutex_unlock(&store->lock);
	*out = snaps;
	*n_out = n;
	return 0;
}

struct node_snapshot *agg_store_get(struct agg_store *store, const char *node_name, uint64_t now_mono_ns)
{
	struct node_snapshot *snap = NULL;
	pthread_mutex_lock(&store->lock);
	bool found;
	size_t i = find_locked(store, node_name, &found);
	if (found && is_live(store, store->nodes[i], now_mono_ns))
		snap = snapshot_ref(store->nodes[i]);
	pthread_mutex_unlock(&store->lock);
	return snap;
}

bool agg_store_ever_stored(struct agg_store *store)
{
	pthread_mutex_lock(&store->lock);
	bool stored = store->ever_stored;
	pthread_mutex_unlock(&store->lock);
	return stored;
}

size_t agg_store_node_count(struct agg_store *store)
{
	pthread_mutex_lock(&store->lock);
	size_t n = store->n;
	pthread_mutex_unlock(&store->lock);
	return n;
}
