/* metrics.h: the aggregator's own Prometheus metrics (GET /metrics): live
 * nodes and pods, reports accepted and rejected, open push streams, nodes
 * dropped for silence, open API connections and slow clients dropped. */
#ifndef CADET_AGG_METRICS_H
#define CADET_AGG_METRICS_H

#include <stdint.h>

#include "common/https-server.h"
#include "common/strbuf.h"
#include "stats.h"
#include "store.h"

/* server may be NULL (no connection metrics). */
int agg_metrics_render(struct strbuf *sb, const struct agg_stats *stats, struct agg_store *store,
		       const struct https_server *server, uint64_t now_mono_ns, struct cadet_error *err);

#endif
