/* fuzz_push_report.c: libFuzzer target for what the aggregator does with
 * one message from an agent's push stream (aggregator/push-server.c,
 * take_report): protobuf-c unpacks the bytes as a cadet.v1.NodeReport,
 * store_put validates it (agg_store_validate_report: names present and short,
 * pod and container counts bounded) and stores it. The target then reads it
 * back as the API would: lists and gets the node, renders NodeMetrics and
 * every PodMetrics, and matches a label selector against the pods' labels.
 * The rendered JSON must parse (json-c), whatever bytes the names held. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aggregator/render.h"
#include "aggregator/selector.h"
#include "aggregator/store.h"
#include "common/strbuf.h"

static struct agg_store *store;
static struct selector sel;

static const char *pod_label(const void *object, const char *key)
{
	const Cadet__V1__PodReport *pod = object;
	for (size_t i = 0; i < pod->n_labels; i++)
		if (pod->labels[i]->key && strcmp(pod->labels[i]->key, key) == 0)
			return pod->labels[i]->value ? pod->labels[i]->value : "";
	return NULL;
}

static void check_json(const struct strbuf *sb)
{
	if (strbuf_failed(sb))
		return;
	json_object *obj = json_tokener_parse(sb->data);
	if (!obj)
		abort(); /* the renderer wrote invalid JSON */
	json_object_put(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cadet_error err;
	if (!store) {
		if (agg_store_new(UINT64_MAX / 2, &store, &err) != 0 ||
		    label_selector_parse("app in (web,db),tier!=back,!canary", &sel, &err) != 0)
			abort();
	}
	Cadet__V1__NodeReport *report = cadet__v1__node_report__unpack(NULL, size, data);
	if (!report)
		return 0;
	if (agg_store_put(store, report, 1, &err) != 0)
		return 0; /* refused and freed by store_put */

	struct node_snapshot **snaps = NULL;
	size_t n = 0;
	if (agg_store_list(store, 2, &snaps, &n, &err) != 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		const Cadet__V1__NodeReport *node = snaps[i]->report;
		struct node_snapshot *one = agg_store_get(store, node->node_name, 2);
		if (!one)
			abort(); /* a listed node must be found by name */
		node_snapshot_unref(one);

		struct strbuf sb;
		strbuf_init(&sb);
		render_node_metrics(&sb, node, "2026-01-01T00:00:00Z", true);
		check_json(&sb);
		for (size_t p = 0; p < node->n_pods; p++) {
			strbuf_reset(&sb);
			render_pod_metrics(&sb, node, node->pods[p], "2026-01-01T00:00:00Z", true);
			check_json(&sb);
			(void)selector_matches(&sel, pod_label, node->pods[p]);
		}
		strbuf_free(&sb);
	}
	agg_store_snapshots_free(snaps, n);
	/* keep memory flat across inputs: drop every node again */
	agg_store_expire(store, UINT64_MAX);
	if (agg_store_node_count(store) != 0)
		abort();
	return 0;
}
