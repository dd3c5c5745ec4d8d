/* metrics.c: Prometheus text for the aggregator's own health (see
 * metrics.h). Families in name order with HELP and TYPE lines, as
 * client_golang writes them. */
#include "metrics.h"

#include <inttypes.h>

static void family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	strbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter family with one label of two values. */
static void counter_by(struct strbuf *sb, const char *name, const char *help, const char *label, const char *a,
		       const uint64_t *a_count, const char *b, const uint64_t *b_count)
{
	family(sb, name, "counter", help);
	strbuf_printf(sb, "%s{%s=\"%s\"} %" PRIu64 "\n", name, label, a, agg_stats_get(a_count));
	strbuf_printf(sb, "%s{%s=\"%s\"} %" PRIu64 "\n", name, label, b, agg_stats_get(b_count));
}

int agg_metrics_render(struct strbuf *sb, const struct agg_stats *stats, struct agg_store *store,
		       const struct https_server *server, uint64_t now_mono_ns, struct cadet_error *err)
{
	struct node_snapshot **snaps = NULL;
	size_t n = 0;
	if (agg_store_list(store, now_mono_ns, &snaps, &n, err) < 0)
		return -1;
	uint64_t pods = 0, containers = 0;
	for (size_t i = 0; i < n; i++) {
		pods += snaps[i]->report->n_pods;
		for (size_t p = 0; p < snaps[i]->report->n_pods; p++)
			containers += snaps[i]->report->pods[p]->n_containers;
	}
	agg_store_snapshots_free(snaps, n);

	family(sb, "cadet_aggregator_containers", "gauge", "Containers in the live nodes' latest reports.");
	strbuf_printf(sb, "cadet_aggregator_containers %" PRIu64 "\n", containers);
	if (server) {
		family(sb, "cadet_aggregator_http_connections", "gauge", "Open connections to the HTTPS API.");
		strbuf_printf(sb, "cadet_aggregator_http_connections %u\n", https_server_connections(server));
		family(sb, "cadet_aggregator_http_slow_clients_dropped_total", "counter",
		       "API connections dropped because a request did not arrive whole within the deadline.");
		strbuf_printf(sb, "cadet_aggregator_http_slow_clients_dropped_total %" PRIu64 "\n",
			      https_server_dropped_slow(server));
	}
	family(sb, "cadet_aggregator_log_lines_suppressed_total", "counter",
	       "Per-peer push stream log lines held back (at most one a minute per peer is written).");
	strbuf_printf(sb, "cadet_aggregator_log_lines_suppressed_total %" PRIu64 "\n",
		      agg_stats_get(&stats->peer_log_suppressed));
	family(sb, "cadet_aggregator_nodes", "gauge", "Nodes whose latest report is within 3x the metric resolution.");
	strbuf_printf(sb, "cadet_aggregator_nodes %zu\n", n);
	family(sb, "cadet_aggregator_nodes_expired_total", "counter", "Nodes dropped after 3x the metric resolution without a report.");
	strbuf_printf(sb, "cadet_aggregator_nodes_expired_total %" PRIu64 "\n", agg_stats_get(&stats->nodes_expired));
	family(sb, "cadet_aggregator_pods", "gauge", "Pods in the live nodes' latest reports.");
	strbuf_printf(sb, "cadet_aggregator_pods %" PRIu64 "\n", pods);
	uint64_t opened = agg_stats_get(&stats->streams_opened), closed = agg_stats_get(&stats->streams_closed);
	family(sb, "cadet_aggregator_push_streams", "gauge", "Open push streams from agents.");
	strbuf_printf(sb, "cadet_aggregator_push_streams %" PRIu64 "\n", opened >= closed ? opened - closed : 0);
	counter_by(sb, "cadet_aggregator_reports_total", "Node reports received, by result.", "result",
		   "accepted", &stats->reports_accepted, "rejected", &stats->reports_rejected);
	counter_by(sb, "cadet_aggregator_reports_refused_total",
		   "Node reports refused for a value out of range, by field (also counted as rejected).", "field",
		   "window", &stats->refused_window, "timestamp", &stats->refused_timestamp);
	family(sb, "cadet_aggregator_report_values_clamped_total", "counter",
	       "CPU and memory values above their limit, clamped to it.");
	strbuf_printf(sb, "cadet_aggregator_report_values_clamped_total %" PRIu64 "\n",
		      agg_stats_get(&stats->values_clamped));
	family(sb, "cadet_aggregator_pods_dropped_total", "counter",
	       "Pods removed from a report for a bad namespace, name or container (the rest is kept).");
	strbuf_printf(sb, "cadet_aggregator_pods_dropped_total %" PRIu64 "\n", agg_stats_get(&stats->pods_dropped));
	return 0;
}
