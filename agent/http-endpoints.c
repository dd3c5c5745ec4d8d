/* http-endpoints.c: routes, limits and self-metrics of the agent's HTTP
 * server (see http-endpoints.h). */
#include "agent/http-endpoints.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/prom-format.h"
#include "common/log.h"
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

static const int tracked_codes[] = { 200, 400, 404, 405, 413, 500, 503 };
#define N_CODES (sizeof(tracked_codes) / sizeof(tracked_codes[0]))

struct agent_http {
	struct evhttp *http;
	struct agent_http_options opts;
	struct agent_http_sources src;
	uint64_t requests[ROUTE_COUNT][N_CODES];
};

#define MAX_HEADERS_BYTES 8192
#define IDLE_TIMEOUT_S 30

int listen_address_parse(const char *listen, char *host, size_t host_size, uint16_t *port,
			 struct cadet_error *err)
{
	const char *colon;
	const char *host_start = listen;
	size_t host_len;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return cadet_error_set(err, EINVAL, "listen address %s: want [host]:port", listen);
		host_start = listen + 1;
		host_len = (size_t)(close - host_start);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return cadet_error_set(err, EINVAL, "listen address %s: want host:port", listen);
		host_len = (size_t)(colon - listen);
	}
	if (host_len >= host_size)
		return cadet_error_set(err, EINVAL, "listen address %s: host too long", listen);
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '\0' || p > 65535)
		return cadet_error_set(err, EINVAL, "listen address %s: bad port", listen);
	*port = (uint16_t)p;
	return 0;
}

static void count(struct agent_http *h, enum route r, int code)
{
	for (size_t i = 0; i < N_CODES; i++)
		if (tracked_codes[i] == code)
			h->requests[r][i]++;
}

static void reply(struct agent_http *h, struct evhttp_request *req, enum route r, int code, const char *reason,
		  const char *content_type, const char *body, size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	evhttp_add_header(out, "Content-Type", content_type);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	struct evbuffer *buf = evbuffer_new();
	if (!buf || evbuffer_add(buf, body, len) != 0) {
		if (buf)
			evbuffer_free(buf);
		count(h, r, 500);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	count(h, r, code);
	evhttp_send_reply(req, code, reason, buf);
	evbuffer_free(buf);
}

static void reply_text(struct agent_http *h, struct evhttp_request *req, enum route r, int code,
		       const char *reason, const char *text)
{
	reply(h, req, r, code, reason, "text/plain; charset=utf-8", text, strlen(text));
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

static void serve_summary(struct agent_http *h, struct evhttp_request *req, const char *q)
{
	struct cadet_error err;
	enum view_kind kind = query_flag(q, "only_cpu_and_memory", false) ? VIEW_SUMMARY_CPU_MEM : VIEW_SUMMARY;
	const struct strbuf *body = agent_views_get(h->src.views, kind, &err);
	if (!body) {
		reply_text(h, req, ROUTE_SUMMARY, 503, "Service Unavailable", "no sample collected yet\n");
		return;
	}
	if (query_flag(q, "pretty", true)) {
		struct strbuf pretty;
		strbuf_init(&pretty);
		if (view_json_pretty(body->data, &pretty, &err) != 0) {
			log_warn("/stats/summary?pretty: %s", err.msg);
			reply_text(h, req, ROUTE_SUMMARY, 500, "Internal Server Error", "rendering failed\n");
		} else {
			reply(h, req, ROUTE_SUMMARY, 200, "OK", "application/json", pretty.data, pretty.len);
		}
		strbuf_free(&pretty);
		return;
	}
	reply(h, req, ROUTE_SUMMARY, 200, "OK", "application/json", body->data, body->len);
}

static void serve_view(struct agent_http *h, struct evhttp_request *req, enum route r, enum view_kind kind,
		       const char *content_type)
{
	struct cadet_error err;
	const struct strbuf *body = agent_views_get(h->src.views, kind, &err);
	if (!body) {
		if (err.errnum != EAGAIN)
			log_warn("rendering %s: %s", route_paths[r], err.msg);
		reply_text(h, req, r, 503, "Service Unavailable", "no sample collected yet\n");
		return;
	}
	reply(h, req, r, 200, "OK", content_type, body->data ? body->data : "", body->len);
}

static bool healthy(const struct agent_http *h, char *why, size_t size)
{
	uint64_t last = *h->src.last_cycle_monotonic_ns;
	if (last == 0) {
		snprintf(why, size, "no collection cycle finished yet\n");
		return false;
	}
	uint64_t age = clock_monotonic_ns() - last;
	uint64_t limit = 3 * h->opts.interval_ns + 10 * 1000000000ULL;
	if (age > limit) {
		snprintf(why, size, "last collection cycle finished %" PRIu64 "s ago\n", (uint64_t)(age / 1000000000ULL));
		return false;
	}
	return true;
}

static uint64_t self_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long long pages_total = 0, pages_rss = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &pages_total, &pages_rss) != 2)
		pages_rss = 0;
	fclose(f);
	return (uint64_t)pages_rss * (uint64_t)sysconf(_SC_PAGESIZE);
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

static void serve_self_metrics(struct agent_http *h, struct evhttp_request *req)
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
	      (double)c->last_cycle_ns / 1e9);
	prom_append_header(&sb, "cadet_agent_collection_duration_seconds_total", "counter",
			   "Wall time of all collection cycles");
	char total[40];
	prom_format_float((double)c->total_cycle_ns / 1e9, total, sizeof(total));
	strbuf_printf(&sb, "cadet_agent_collection_duration_seconds_total %s\n", total);
	counter(&sb, "cadet_agent_discovery_scans_total", "Full discovery scans of the kubepods tree", c->scans);
	prom_append_header(&sb, "cadet_agent_http_requests_total", "counter", "HTTP requests served by path and code");
	for (int r = 0; r < ROUTE_COUNT; r++)
		for (size_t i = 0; i < N_CODES; i++)
			if (h->requests[r][i])
				strbuf_printf(&sb, "cadet_agent_http_requests_total{code=\"%d\",path=\"%s\"} %" PRIu64 "\n",
					      tracked_codes[i], route_paths[r], h->requests[r][i]);
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
		prom_format_float((double)h->src.views->render_ns[v] / 1e9, secs, sizeof(secs));
		strbuf_printf(&sb, "cadet_agent_view_render_last_duration_seconds{view=\"%s\"} %s\n", view_names[v],
			      secs);
	}
	counter(&sb, "cadet_agent_view_renders_total", "Views rendered (at most once per view and sample)",
		h->src.views->renders);
	gauge(&sb, "process_resident_memory_bytes", "Resident memory size in bytes", (double)self_rss_bytes());
	if (strbuf_failed(&sb))
		reply_text(h, req, ROUTE_METRICS, 500, "Internal Server Error", "out of memory\n");
	else
		reply(h, req, ROUTE_METRICS, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", sb.data, sb.len);
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

static void handle(struct evhttp_request *req, void *arg)
{
	struct agent_http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum route r = ROUTE_OTHER;
	for (int i = 0; path && i < ROUTE_OTHER; i++)
		if (strcmp(path, route_paths[i]) == 0)
			r = (enum route)i;

	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		reply_text(h, req, r, 405, "Method Not Allowed", "405 method not allowed: use GET\n");
		return;
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > 0) {
		reply_text(h, req, r, 400, "Bad Request", "400 request bodies are not accepted\n");
		return;
	}
	const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
	char why[128];
	switch (r) {
	case ROUTE_SUMMARY:
		serve_summary(h, req, qs);
		break;
	case ROUTE_RESOURCE:
		serve_view(h, req, r, VIEW_RESOURCE_METRICS, "text/plain; version=0.0.4; charset=utf-8");
		break;
	case ROUTE_TOP:
		serve_view(h, req, r, VIEW_TOP, "text/plain; charset=utf-8");
		break;
	case ROUTE_METRICS:
		serve_self_metrics(h, req);
		break;
	case ROUTE_HEALTHZ:
		if (healthy(h, why, sizeof(why)))
			reply_text(h, req, r, 200, "OK", "ok");
		else
			reply_text(h, req, r, 503, "Service Unavailable", why);
		break;
	case ROUTE_OTHER:
	case ROUTE_COUNT:
		reply_text(h, req, r, 404, "Not Found", not_found_body);
		break;
	}
}

int agent_http_start(struct event_base *base, const struct agent_http_options *opts,
		     const struct agent_http_sources *src, struct agent_http **out, struct cadet_error *err)
{
	struct agent_http *h = calloc(1, sizeof(*h));
	if (!h)
		return cadet_error_set(err, ENOMEM, "http server");
	h->opts = *opts;
	h->src = *src;
	h->http = evhttp_new(base);
	if (!h->http) {
		free(h);
		return cadet_error_set(err, ENOMEM, "evhttp_new");
	}
	evhttp_set_max_headers_size(h->http, MAX_HEADERS_BYTES);
	evhttp_set_max_body_size(h->http, 0);
	evhttp_set_timeout(h->http, IDLE_TIMEOUT_S);
	/* every method reaches the handler, which answers 405 itself */
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
						    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
						    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
	evhttp_set_gencb(h->http, handle, h);
	if (opts->listen_fd >= 0) {
		if (!evhttp_accept_socket_with_handle(h->http, opts->listen_fd)) {
			agent_http_free(h);
			return cadet_error_set(err, errno, "serving on the inherited socket %d", opts->listen_fd);
		}
	} else {
		char host[256];
		uint16_t port;
		if (listen_address_parse(opts->listen, host, sizeof(host), &port, err) != 0) {
			agent_http_free(h);
			return -1;
		}
		if (!evhttp_bind_socket_with_handle(h->http, *host ? host : "0.0.0.0", port)) {
			int e = errno;
			agent_http_free(h);
			return cadet_error_set(err, e, "listen on %s", opts->listen);
		}
	}
	*out = h;
	return 0;
}

void agent_http_free(struct agent_http *h)
{
	if (!h)
		return;
	if (h->http)
		evhttp_free(h->http);
	free(h);
}
