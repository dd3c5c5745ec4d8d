/* wire-http.c: routes, authentication and self-metrics of the agent's
 * HTTP(S) listeners (see wire-http.h). Transport, TLS and limits live
 * in common/https-server.c; this file decides what each request gets. */
#include "agent/wire-http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/collect-bpf.h"
#include "agent/collect-parse.h"
#include "agent/collect-cri.h"
#include "agent/view-prom-format.h"
#include "common/cleanup.h"
#include "common/duration.h"
#include "common/https-server.h"
#include "common/log.h"
#include "common/readfile.h"
#include "common/strbuf.h"
#include "common/timefmt.h"

enum route {
	ROUTE_SUMMARY,
	ROUTE_RESOURCE,
	ROUTE_METRICS,
	ROUTE_HEALTHZ,
	ROUTE_TOP,
	ROUTE_OTHER,
	ROUTE_COUNT,
};

static const char *const route_paths[ROUTE_COUNT] = {
	"/stats/summary", "/metrics/resource", "/metrics", "/healthz", "/top", "other",
};

static const int tracked_codes[] = { 200, 400, 401, 404, 405, 500, 503 };
#define N_CODES (sizeof(tracked_codes) / sizeof(tracked_codes[0]))

/* One listener and what it demands of clients. */
struct agent_listener {
	struct agent_http *owner;
	struct https_server *server;
	bool authenticate; /* client certificate or token required but for /healthz */
};

struct agent_http {
	struct agent_listener tls, debug;
	struct agent_http_options opts;
	struct agent_http_sources src;
	char *token; /* bearer token from --token-file, NULL if none */
	uint64_t requests[ROUTE_COUNT][N_CODES];
};

#define MAX_HEADERS_BYTES 8192
#define IDLE_TIMEOUT_S 30

static void count(struct agent_http *h, enum route r, int code)
{
	for (size_t i = 0; i < N_CODES; i++)
		if (tracked_codes[i] == code)
			h->requests[r][i]++;
}

static void reply(struct agent_http *h, struct https_response *resp, enum route r, int code,
		  const char *content_type, const char *body, size_t len)
{
	resp->code = code;
	resp->content_type = content_type;
	strbuf_append(&resp->body, body, len);
	count(h, r, strbuf_failed(&resp->body) ? 500 : code);
}

static void reply_text(struct agent_http *h, struct https_response *resp, enum route r, int code,
		       const char *text)
{
	reply(h, resp, r, code, "text/plain; charset=utf-8", text, strlen(text));
}

/* Looks up key in a raw query string. A bare key ("?pretty") counts as
 * true when bare_is_true; otherwise the value must be "true" or "1".
 * libevent's own parser rejects bare keys, hence this small scan. */
static bool query_flag(const char *qs, const char *key, bool bare_is_true)
{
	size_t key_len = strlen(key);
	for (const char *p = qs; p && *p;) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len >= key_len && strncmp(p, key, key_len) == 0) {
			if (len == key_len)
				return bare_is_true;
			if (p[key_len] == '=') {
				const char *v = p + key_len + 1;
				size_t vlen = len - key_len - 1;
				return (vlen == 4 && strncmp(v, "true", 4) == 0) || (vlen == 1 && *v == '1');
			}
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

static void serve_summary(struct agent_http *h, struct https_response *req, const char *q)
{
	struct cadet_error err;
	enum view_kind kind = query_flag(q, "only_cpu_and_memory", false) ? VIEW_SUMMARY_CPU_MEM : VIEW_SUMMARY;
	const struct strbuf *body = agent_views_get(h->src.views, kind, &err);
	if (!body) {
		reply_text(h, req, ROUTE_SUMMARY, 503, "no sample collected yet\n");
		return;
	}
	if (query_flag(q, "pretty", true)) {
		struct strbuf pretty;
		strbuf_init(&pretty);
		if (view_json_pretty(body->data, &pretty, &err) < 0) {
			log_warn("/stats/summary?pretty: %s", err.msg);
			reply_text(h, req, ROUTE_SUMMARY, 500, "rendering failed\n");
		} else {
			reply(h, req, ROUTE_SUMMARY, 200, "application/json", pretty.data, pretty.len);
		}
		strbuf_free(&pretty);
		return;
	}
	reply(h, req, ROUTE_SUMMARY, 200, "application/json", body->data, body->len);
}

static void serve_view(struct agent_http *h, struct https_response *req, enum route r, enum view_kind kind,
		       const char *content_type)
{
	struct cadet_error err;
	const struct strbuf *body = agent_views_get(h->src.views, kind, &err);
	if (!body) {
		if (err.errnum != EAGAIN)
			log_warn("rendering %s: %s", route_paths[r], err.msg);
		reply_text(h, req, r, 503, "no sample collected yet\n");
		return;
	}
	reply(h, req, r, 200, content_type, body->data ? body->data : "", body->len);
}

static bool healthy(const struct agent_http *h, char *why, size_t size)
{
	uint64_t last = *h->src.last_cycle_monotonic_ns;
	if (last == 0) {
		snprintf(why, size, "no collection cycle finished yet\n");
		return false;
	}
	uint64_t age = clock_monotonic_ns() - last;
	uint64_t limit = 3 * h->opts.interval_ns + 10 * NSEC_PER_SEC;
	if (age > limit) {
		snprintf(why, size, "last collection cycle finished %" PRIu64 "s ago\n", (uint64_t)(age / NSEC_PER_SEC));
		return false;
	}
	return true;
}

/* /proc/self/statm: "size resident shared ..." in pages; 0 when unreadable. */
static uint64_t self_rss_bytes(void)
{
	_cleanup_close_ int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char text[256];
	ssize_t len = read(fd, text, sizeof(text) - 1);
	if (len <= 0)
		return 0;
	const char *end = text + len;
	const char *rss = memchr(text, ' ', (size_t)len);
	if (!rss)
		return 0;
	rss++;
	const char *rss_end = memchr(rss, ' ', (size_t)(end - rss));
	uint64_t pages;
	if (!rss_end || parse_u64(rss, rss_end, &pages) < 0)
		return 0;
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void counter(struct strbuf *sb, const char *name, const char *help, uint64_t v)
{
	prom_append_header(sb, name, "counter", help);
	strbuf_printf(sb, "%s %" PRIu64 "\n", name, v);
}

static void gauge(struct strbuf *sb, const char *name, const char *help, double v)
{
	char num[40];
	prom_append_header(sb, name, "gauge", help);
	prom_format_float(v, num, sizeof(num));
	strbuf_printf(sb, "%s %s\n", name, num);
}

static void serve_self_metrics(struct agent_http *h, struct https_response *req)
{
	const struct collect_counters *c = collection_counters(h->src.collection);
	struct strbuf sb;
	strbuf_init(&sb);
	prom_append_header(&sb, "cadet_agent_build_info", "gauge", "Version and cgroup layout of this agent; always 1");
	strbuf_printf(&sb, "cadet_agent_build_info{layout=\"%s\",version=\"%s\"} 1\n", h->opts.layout,
		      h->opts.version);
	counter(&sb, "cadet_agent_cgroup_read_errors_total", "Cgroup files that could not be read or parsed",
		c->read_errors);
	counter(&sb, "cadet_agent_cgroups_vanished_total", "Cgroups that disappeared between discovery and read",
		c->vanished);
	gauge(&sb, "cadet_agent_cgroups_tracked", "Cgroups tracked with kept file descriptors",
	      (double)c->tracked_cgroups);
	counter(&sb, "cadet_agent_collection_cycles_total", "Collection cycles run", c->cycles);
	gauge(&sb, "cadet_agent_collection_last_duration_seconds", "Wall time of the last collection cycle",
	      (double)c->last_cycle_ns / (double)NSEC_PER_SEC);
	prom_append_header(&sb, "cadet_agent_collection_duration_seconds_total", "counter",
			   "Wall time of all collection cycles");
	char total[40];
	prom_format_float((double)c->total_cycle_ns / (double)NSEC_PER_SEC, total, sizeof(total));
	strbuf_printf(&sb, "cadet_agent_collection_duration_seconds_total %s\n", total);
	counter(&sb, "cadet_agent_discovery_scans_total", "Full discovery scans of the kubepods tree", c->scans);
	const struct agent_listener *listeners[] = { &h->tls, &h->debug };
	static const char *const listener_names[] = { "https", "debug" };
	prom_append_header(&sb, "cadet_agent_http_connections", "gauge", "Open connections by listener");
	for (size_t i = 0; i < 2; i++)
		if (listeners[i]->server)
			strbuf_printf(&sb, "cadet_agent_http_connections{listener=\"%s\"} %u\n", listener_names[i],
				      https_server_connections(listeners[i]->server));
	prom_append_header(&sb, "cadet_agent_http_requests_total", "counter", "HTTP requests served by path and code");
	for (int r = 0; r < ROUTE_COUNT; r++)
		for (size_t i = 0; i < N_CODES; i++)
			if (h->requests[r][i])
				strbuf_printf(&sb, "cadet_agent_http_requests_total{code=\"%d\",path=\"%s\"} %" PRIu64 "\n",
					      tracked_codes[i], route_paths[r], h->requests[r][i]);
	prom_append_header(&sb, "cadet_agent_http_slow_clients_dropped_total", "counter",
			   "Connections dropped because a request did not arrive whole within the deadline");
	for (size_t i = 0; i < 2; i++)
		if (listeners[i]->server)
			strbuf_printf(&sb, "cadet_agent_http_slow_clients_dropped_total{listener=\"%s\"} %" PRIu64 "\n",
				      listener_names[i], https_server_dropped_slow(listeners[i]->server));
	counter(&sb, "cadet_agent_node_read_errors_total", "Cycles in which the node's own stats could not be read",
		c->node_errors);
	/* one family with a view label: promtool's lint refuses "_summary_"
	 * inside a metric name (it reads as the metric type) */
	static const char *const view_names[VIEW_COUNT] = {
		[VIEW_SUMMARY] = "/stats/summary",
		[VIEW_SUMMARY_CPU_MEM] = "/stats/summary?only_cpu_and_memory=true",
		[VIEW_RESOURCE_METRICS] = "/metrics/resource",
		[VIEW_TOP] = "/top",
	};
	prom_append_header(&sb, "cadet_agent_view_render_last_duration_seconds", "gauge",
			   "Wall time of the last render of each view");
	for (int v = 0; v < VIEW_COUNT; v++) {
		char secs[40];
		prom_format_float((double)h->src.views->render_ns[v] / (double)NSEC_PER_SEC, secs, sizeof(secs));
		strbuf_printf(&sb, "cadet_agent_view_render_last_duration_seconds{view=\"%s\"} %s\n", view_names[v],
			      secs);
	}
	counter(&sb, "cadet_agent_view_renders_total", "Views rendered (at most once per view and sample)",
		h->src.views->renders);
	if (h->src.cri) {
		struct cri_metadata_counters cc;
		cri_metadata_counters(h->src.cri, &cc);
		counter(&sb, "cadet_agent_cri_refreshes_total", "Metadata refreshes from the container runtime",
			cc.refreshes);
		counter(&sb, "cadet_agent_cri_refresh_failures_total",
			"Refreshes that failed (runtime unreachable or a call failed)", cc.refresh_failures);
		gauge(&sb, "cadet_agent_cri_runtime_up", "1 if the last refresh from the runtime worked",
		      cc.runtime_up ? 1 : 0);
	}
	if (h->src.bpf) {
		const struct agent_bpf_counters *bc = agent_bpf_counters(h->src.bpf);
		counter(&sb, "cadet_agent_bpf_events_total", "Cgroup and OOM events read from BPF", bc->events);
		counter(&sb, "cadet_agent_bpf_events_dropped_total", "Events the kernel could not queue", bc->dropped);
		counter(&sb, "cadet_agent_bpf_final_samples_total",
			"Containers given a final sample when their cgroup was removed", bc->final_samples);
		counter(&sb, "cadet_agent_bpf_oom_kills_total", "OOM kills counted onto a container", bc->oom_kills);
	}
	gauge(&sb, "process_resident_memory_bytes", "Resident memory size in bytes", (double)self_rss_bytes());
	if (strbuf_failed(&sb))
		reply_text(h, req, ROUTE_METRICS, 500, "out of memory\n");
	else
		reply(h, req, ROUTE_METRICS, 200, "text/plain; version=0.0.4; charset=utf-8", sb.data, sb.len);
	strbuf_free(&sb);
}

static const char not_found_body[] =
	"404 page not found\n"
	"endpoints:\n"
	"  /stats/summary      kubelet Summary API (?only_cpu_and_memory=true, ?pretty)\n"
	"  /metrics/resource   kubelet resource metrics (Prometheus text)\n"
	"  /metrics            cadet-agent's own metrics\n"
	"  /healthz            health\n"
	"  /top                pods on this node, like kubectl top pod\n";

/* Bearer token or verified client certificate, when the listener asks. */
static bool authorized(const struct agent_listener *l, const struct https_request *req)
{
	const struct agent_http *h = l->owner;
	if (!l->authenticate || req->client_verified)
		return true;
	if (!h->token)
		return false;
	const char *auth = https_request_header(req, "Authorization");
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	const char *given = auth + 7;
	size_t given_len = strlen(given), want_len = strlen(h->token);
	/* constant time in the token's bytes; only the length can differ fast */
	return given_len == want_len && CRYPTO_memcmp(given, h->token, want_len) == 0;
}

static void handle(void *arg, const struct https_request *req, struct https_response *resp)
{
	struct agent_listener *l = arg;
	struct agent_http *h = l->owner;
	enum route r = ROUTE_OTHER;
	for (int i = 0; i < ROUTE_OTHER; i++)
		if (strcmp(req->path, route_paths[i]) == 0)
			r = (enum route)i;
	if (r != ROUTE_HEALTHZ && !authorized(l, req)) {
		reply_text(h, resp, r, 401, "401 unauthorized: present a client certificate or a bearer token\n");
		return;
	}
	const char *qs = req->query;
	char why[128];
	switch (r) {
	case ROUTE_SUMMARY:
		serve_summary(h, resp, qs);
		break;
	case ROUTE_RESOURCE:
		serve_view(h, resp, r, VIEW_RESOURCE_METRICS, "text/plain; version=0.0.4; charset=utf-8");
		break;
	case ROUTE_TOP:
		serve_view(h, resp, r, VIEW_TOP, "text/plain; charset=utf-8");
		break;
	case ROUTE_METRICS:
		serve_self_metrics(h, resp);
		break;
	case ROUTE_HEALTHZ:
		if (healthy(h, why, sizeof(why)))
			reply_text(h, resp, r, 200, "ok");
		else
			reply_text(h, resp, r, 503, why);
		break;
	case ROUTE_OTHER:
	case ROUTE_COUNT:
		reply_text(h, resp, r, 404, not_found_body);
		break;
	}
}

/* Reads the bearer token: the file's first line, without surrounding space. */
static int load_token(struct agent_http *h, struct cadet_error *err)
{
	if (!h->opts.token_file)
		return 0;
	_cleanup_free_ char *text = NULL;
	if (read_file_string(h->opts.token_file, 4096, &text, err) < 0)
		return cadet_error_prefix(err, "--token-file");
	char *start = text;
	while (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r')
		start++;
	size_t n = strcspn(start, "\r\n");
	while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
		n--;
	if (n == 0)
		return cadet_error_set(err, EINVAL, "--token-file %s is empty", h->opts.token_file);
	char *token = strndup(start, n);
	if (!token)
		return cadet_error_set(err, ENOMEM, "--token-file");
	free(h->token);
	h->token = token;
	return 0;
}

static int start_debug_listener(struct event_base *base, struct agent_http *h, struct cadet_error *err)
{
	const struct agent_http_options *o = &h->opts;
	char host[256];
	uint16_t port;
	if (listen_address_parse(o->debug_listen, host, sizeof(host), &port, err) < 0)
		return cadet_error_prefix(err, "--debug-listen");
	if (!listen_host_is_loopback(host)) {
		if (!o->debug_listen_any)
			return cadet_error_set(err, EINVAL,
					       "--debug-listen %s is not a loopback address: plain HTTP off the node "
					       "needs --debug-listen-any",
					       o->debug_listen);
		log_warn("plain-HTTP debug listener on non-loopback %s: anyone who reaches it reads this node's "
			 "metrics without authentication",
			 o->debug_listen);
	}
	struct https_server_config cfg = {
		.listen = o->debug_listen,
		.plain = true,
		.max_header_bytes = MAX_HEADERS_BYTES,
		.timeout_s = IDLE_TIMEOUT_S,
		.max_connections = o->max_connections,
	};
	h->debug.owner = h;
	return https_server_new(base, &cfg, handle, &h->debug, &h->debug.server, err);
}

static int start_tls_listener(struct event_base *base, struct agent_http *h, struct cadet_error *err)
{
	const struct agent_http_options *o = &h->opts;
	const char *cas[2] = { o->client_ca_file, NULL };
	struct https_server_config cfg = {
		.listen = o->listen,
		.listen_fd = o->listen_fd,
		.cert_file = o->tls_cert_file,
		.key_file = o->tls_private_key_file,
		.client_ca_files = o->client_ca_file ? cas : NULL,
		.max_header_bytes = MAX_HEADERS_BYTES,
		.timeout_s = IDLE_TIMEOUT_S,
		.max_connections = o->max_connections,
	};
	h->tls.owner = h;
	h->tls.authenticate = o->client_ca_file || o->token_file;
	if (https_server_new(base, &cfg, handle, &h->tls, &h->tls.server, err) < 0)
		return cadet_error_prefix(err, "--listen");
	if (https_server_self_signed(h->tls.server))
		log_info("HTTPS on %s with a self-signed certificate made at start (no --tls-cert-file)",
			 o->listen_fd >= 0 ? "the socket from systemd" : o->listen);
	if (!h->tls.authenticate)
		log_warn("HTTPS on %s accepts unauthenticated clients: set --client-ca-file and/or --token-file",
			 o->listen_fd >= 0 ? "the socket from systemd" : o->listen);
	return 0;
}

int agent_http_start(struct event_base *base, const struct agent_http_options *opts,
		     const struct agent_http_sources *src, struct agent_http **out, struct cadet_error *err)
{
	struct agent_http *h = calloc(1, sizeof(*h));
	if (!h)
		return cadet_error_set(err, ENOMEM, "http server");
	h->opts = *opts;
	h->src = *src;
	bool want_tls = (opts->listen && *opts->listen) || opts->listen_fd >= 0;
	bool want_debug = opts->debug_listen && *opts->debug_listen;
	if (!want_tls && !want_debug) {
		free(h);
		return cadet_error_set(err, EINVAL, "both --listen and --debug-listen are off: nothing would serve");
	}
	if (load_token(h, err) < 0 || (want_tls && start_tls_listener(base, h, err) < 0) ||
	    (want_debug && start_debug_listener(base, h, err) < 0)) {
		agent_http_free(h);
		return -1;
	}
	*out = h;
	return 0;
}

int agent_http_reload(struct agent_http *h, struct cadet_error *err)
{
	if (load_token(h, err) < 0)
		return -1;
	if (h->tls.server && https_server_reload(h->tls.server, err) < 0)
		return cadet_error_prefix(err, "reloading the TLS certificate");
	return 0;
}

void agent_http_free(struct agent_http *h)
{
	if (!h)
		return;
	https_server_free(h->tls.server);
	https_server_free(h->debug.server);
	free(h->token);
	free(h);
}
