/* wire-http.h: the agent's HTTP endpoints, served on two listeners
 * through common/https-server.h:
 *
 *   --listen        HTTPS for metrics-server and Prometheus; with
 *                   --client-ca-file and/or --token-file every path but
 *                   /healthz needs a verified client certificate or the
 *                   bearer token
 *   --debug-listen  plain HTTP for curl on the node, loopback only unless
 *                   explicitly allowed
 *
 *   /stats/summary     kubelet Summary API JSON (?only_cpu_and_memory=true, ?pretty)
 *   /metrics/resource  kubelet resource metrics, Prometheus text
 *   /metrics           the agent's own metrics
 *   /healthz           "ok" while collection keeps its interval
 *   /top               a kubectl-top-like table for curl on the node
 *
 * Handlers serve views of the last sample, rendered at most once per
 * sample (views.h); they never read cgroups. Unknown paths get 404 naming
 * the endpoints, methods other than GET and HEAD get 405, request bodies are
 * refused, headers are bounded and idle connections time out. */
#ifndef CADET_HTTP_ENDPOINTS_H
#define CADET_HTTP_ENDPOINTS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/cycle.h"
#include "agent/views.h"
#include "common/error.h"
#include "common/listen-address.h"

struct event_base;
struct agent_http;

struct agent_http_options {
	const char *listen;       /* HTTPS "host:port" / "[v6]:port" / ":port"; "" = off */
	int listen_fd;            /* a bound socket from systemd for the HTTPS listener, or -1 */
	const char *debug_listen; /* plain HTTP; "" = off */
	bool debug_listen_any;    /* allow a non-loopback debug listener */
	const char *tls_cert_file;        /* NULL: self-signed at start */
	const char *tls_private_key_file;
	const char *client_ca_file;       /* NULL: no client certificates */
	const char *token_file;           /* NULL: no bearer token */
	unsigned max_connections; /* per listener */
	uint64_t interval_ns;     /* for /healthz staleness */
	const char *version;
	const char *layout;       /* cgroup layout, for build info */
};

struct cri_metadata;
struct agent_bpf;

/* Self-metrics sources the endpoint reads at request time. */
struct agent_http_sources {
	struct agent_views *views; /* rendered on demand */
	const struct collection *collection;
	const uint64_t *last_cycle_monotonic_ns; /* 0 until the first cycle */
	struct cri_metadata *cri;  /* NULL when CRI is off */
	struct agent_bpf *bpf;     /* NULL when BPF is off */
};

int agent_http_start(struct event_base *base, const struct agent_http_options *opts,
		     const struct agent_http_sources *src, struct agent_http **out, struct cadet_error *err);
/* SIGHUP: re-reads the certificate, key, client CA and token files. */
int agent_http_reload(struct agent_http *h, struct cadet_error *err);
void agent_http_free(struct agent_http *h);

#endif
