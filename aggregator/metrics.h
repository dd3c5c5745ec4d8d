/* metrics.h: the aggregator's own Prometheus metrics (GET /metrics): live
 * nodes and pods, reports accepted and rejected, open push streams, nodes
 * dropped for silence. */
#ifndef CADET_AGG_METRICS_H
#define CADET_AGG_METRICS_H

#include <stdint.h>

#include "common/strbuf.h"
#include "stats.h"
#include "store.h"

int agg_metrics_render(struct strbuf *sb, const struct agg_stats *stats, struct agg_store *store,
		       uint64_t now_mono_ns, struct cadet_error *err);

#endif
