/* http-endpoints.h: the agent's HTTP endpoints on libevent's evhttp.
 *
 *   /stats/summary     kubelet Summary API JSON (?only_cpu_and_memory=true, ?pretty)
 *   /metrics/resource  kubelet resource metrics, Prometheus text
 *   /metrics           the agent's own metrics
 *   /healthz           "ok" while collection keeps its interval
 *   /top               a kubectl-top-like table for curl on the node
 *
 * Handlers serve views of the last sample, rendered at most once per
 * sample (views.h); they never read cgroups. Unknown paths get 404 naming the endpoints, methods other than
 * GET and HEAD get 405, request bodies are refused. */
#ifndef CADET_HTTP_ENDPOINTS_H
#define CADET_HTTP_ENDPOINTS_H

#include <stdint.h>

#include "agent/collect.h"
#include "agent/views.h"
#include "common/error.h"

struct event_base;
struct agent_http;

struct agent_http_options {
	const char *listen;       /* "host:port", "[v6]:port" or ":port" */
	int listen_fd;            /* an already bound socket (systemd), or -1 */
	uint64_t interval_ns;     /* for /healthz staleness */
	const char *version;
	const char *layout;       /* cgroup layout, for build info */
};

/* Self-metrics sources the endpoint reads at request time. */
struct agent_http_sources {
	struct agent_views *views; /* rendered on demand */
	const struct collection *collection;
	const uint64_t *last_cycle_monotonic_ns; /* 0 until the first cycle */
};

int agent_http_start(struct event_base *base, const struct agent_http_options *opts,
		     const struct agent_http_sources *src, struct agent_http **out, struct cadet_error *err);
void agent_http_free(struct agent_http *h);

/* Splits "host:port" / "[v6]:port" / ":port" into host (empty = any) and port. */
int listen_address_parse(const char *listen, char *host, size_t host_size, uint16_t *port,
			 struct cadet_error *err);

#endif
