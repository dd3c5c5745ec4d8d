/* api.h: the aggregator's HTTP routes: metrics.k8s.io/v1beta1 (discovery,
 * nodes, pods, with label and field selectors) and the health endpoints.
 * Reads the store, renders with render.h; knows nothing of TLS or gRPC.
 * /healthz, /livez and /readyz are open to any client; /metrics (the
 * aggregator's own Prometheus metrics) and the API need a verified client
 * certificate when client CAs are configured. */
#ifndef CADET_AGG_API_H
#define CADET_AGG_API_H

#include <stdbool.h>
#include <stdint.h>

#include "common/https-server.h"
#include "stats.h"
#include "store.h"

struct api {
	struct agg_store *store;
	struct agg_stats *stats; /* for /metrics; NULL reads as zeros */
	bool auth_required;      /* refuse the API to clients without a verified certificate */
	uint64_t start_mono_ns;
	uint64_t ready_grace_ns; /* /readyz is ok after this even with no report */
	const struct https_server *server; /* for connection metrics; NULL: none */
};

/* An https_handler_fn; ctx is a struct api. */
void api_handle(void *ctx, const struct https_request *req, struct https_response *resp);

/* Whether an Accept header allows the plain JSON documents this server
 * writes (absent, application/json, application/ANY or ANY/ANY, without an `as=`
 * parameter asking for another kind such as APIGroupDiscoveryList). */
bool api_accepts_json(const char *accept);

#endif
