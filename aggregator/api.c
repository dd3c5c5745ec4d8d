/* api.c: routing and the handlers of metrics.k8s.io (see api.h).
 *
 * A request is answered from one consistent set of node snapshots taken at
 * its start; rendering runs without the store lock. Lists apply the label
 * selector to the object's labels and the field selector to metadata.name
 * and metadata.namespace. Errors are v1 Status objects with the reasons
 * kube-apiserver clients test for (NotFound, BadRequest, Unauthorized,
 * NotAcceptable). */
#include "api.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "metrics.h"
#include "render.h"
#include "selector.h"

#define API_PREFIX "/apis/metrics.k8s.io/v1beta1"

struct field_object {
	const char *name;
	const char *namespace_;
};

static const char *lookup_label(Cadet__V1__Label *const *labels, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (labels[i]->key && strcmp(labels[i]->key, key) == 0)
			return labels[i]->value ? labels[i]->value : "";
	return NULL;
}

static const char *pod_label(const void *object, const char *key)
{
	const Cadet__V1__PodReport *pod = object;
	return lookup_label(pod->labels, pod->n_labels, key);
}

static const char *node_label(const void *object, const char *key)
{
	const Cadet__V1__NodeReport *node = object;
	return lookup_label(node->labels, node->n_labels, key);
}

static const char *object_field(const void *object, const char *key)
{
	const struct field_object *fo = object;
	if (strcmp(key, "metadata.name") == 0)
		return fo->name;
	if (strcmp(key, "metadata.namespace") == 0)
		return fo->namespace_ ? fo->namespace_ : "";
	return ""; /* metrics-server matches unknown fields as empty */
}

static void reply_status(struct https_response *resp, int code, const char *reason, const char *message,
			 const char *kind, const char *name)
{
	strbuf_reset(&resp->body);
	resp->code = code;
	resp->content_type = "application/json";
	render_status(&resp->body, code, reason, message, kind, name);
}

static void reply_text(struct https_response *resp, int code, const char *text)
{
	resp->code = code;
	resp->content_type = "text/plain; charset=utf-8";
	strbuf_puts(&resp->body, text);
	strbuf_puts(&resp->body, "\n");
}

bool api_accepts_json(const char *accept)
{
	if (!accept || !*accept)
		return true;
	const char *p = accept;
	while (*p) {
		size_t len = strcspn(p, ",");
		char range[512];
		size_t copy = len < sizeof(range) - 1 ? len : sizeof(range) - 1;
		memcpy(range, p, copy);
		range[copy] = '\0';
		p += len;
		if (*p == ',')
			p++;

		char *save = NULL;
		char *type = strtok_r(range, ";", &save);
		if (!type)
			continue;
		type += strspn(type, " \t");
		type[strcspn(type, " \t")] = '\0';
		bool other_kind = false;
		for (char *param = strtok_r(NULL, ";", &save); param; param = strtok_r(NULL, ";", &save)) {
			param += strspn(param, " \t");
			if (strncasecmp(param, "as=", 3) == 0)
				other_kind = true;
		}
		if (other_kind)
			continue;
		if (strcasecmp(type, "application/json") == 0 || strcmp(type, "*/*") == 0 ||
		    strcasecmp(type, "application/*") == 0)
			return true;
	}
	return false;
}

/* Parses labelSelector and fieldSelector; on failure the reply is a 400. */
static int parse_selectors(const struct https_request *req, struct https_response *resp,
			   struct selector *labels, struct selector *fields)
{
	struct cadet_error err = { 0 };
	_cleanup_free_ char *label_text = NULL;
	_cleanup_free_ char *field_text = NULL;
	if (https_request_query_param(req, "labelSelector", &label_text, &err) < 0 ||
	    https_request_query_param(req, "fieldSelector", &field_text, &err) < 0) {
		reply_status(resp, 400, "BadRequest", err.msg, NULL, NULL);
		return -1;
	}
	if (label_text && label_selector_parse(label_text, labels, &err) < 0) {
		reply_status(resp, 400, "BadRequest", err.msg, NULL, NULL);
		return -1;
	}
	if (field_text && field_selector_parse(field_text, fields, &err) < 0) {
		selector_free(labels);
		reply_status(resp, 400, "BadRequest", err.msg, NULL, NULL);
		return -1;
	}
	return 0;
}

static void list_nodes(struct api *api, const struct https_request *req, struct https_response *resp,
		       const char *only_name)
{
	_cleanup_selector_ struct selector labels = { 0 };
	_cleanup_selector_ struct selector fields = { 0 };
	if (!only_name && parse_selectors(req, resp, &labels, &fields) < 0)
		return;
	uint64_t now_mono = clock_monotonic_ns();
	char created[32];
	time_format_rfc3339(clock_realtime_ns(), created, sizeof(created));

	if (only_name) {
		struct node_snapshot *snap = agg_store_get(api->store, only_name, now_mono);
		if (!snap) {
			char msg[512];
			snprintf(msg, sizeof(msg), "nodemetrics.metrics.k8s.io \"%s\" not found", only_name);
			reply_status(resp, 404, "NotFound", msg, "nodes", only_name);
			return;
		}
		render_node_metrics(&resp->body, snap->report, created, true);
		strbuf_puts(&resp->body, "\n");
		node_snapshot_unref(snap);
		resp->code = 200;
		return;
	}

	struct node_snapshot **snaps = NULL;
	size_t n = 0;
	struct cadet_error err = { 0 };
	if (agg_store_list(api->store, now_mono, &snaps, &n, &err) < 0) {
		reply_status(resp, 500, "InternalError", err.msg, NULL, NULL);
		return;
	}
	render_list_begin(&resp->body, "NodeMetricsList");
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		const Cadet__V1__NodeReport *node = snaps[i]->report;
		struct field_object fo = { .name = node->node_name };
		if (!selector_matches(&labels, node_label, node) || !selector_matches(&fields, object_field, &fo))
			continue;
		if (!first)
			strbuf_append(&resp->body, ",", 1);
		first = false;
		render_node_metrics(&resp->body, node, created, false);
	}
	render_list_end(&resp->body);
	agg_store_snapshots_free(snaps, n);
	resp->code = 200;
}

/* Lists pods (namespace NULL: all), or gets one when only_name is set. */
static void list_pods(struct api *api, const struct https_request *req, struct https_response *resp,
		      const char *namespace_, const char *only_name)
{
	_cleanup_selector_ struct selector labels = { 0 };
	_cleanup_selector_ struct selector fields = { 0 };
	if (!only_name && parse_selectors(req, resp, &labels, &fields) < 0)
		return;
	char created[32];
	time_format_rfc3339(clock_realtime_ns(), created, sizeof(created));
	struct node_snapshot **snaps = NULL;
	size_t n = 0;
	struct cadet_error err = { 0 };
	if (agg_store_list(api->store, clock_monotonic_ns(), &snaps, &n, &err) < 0) {
		reply_status(resp, 500, "InternalError", err.msg, NULL, NULL);
		return;
	}
	if (!only_name)
		render_list_begin(&resp->body, "PodMetricsList");
	bool first = true, found = false;
	for (size_t i = 0; i < n && !found; i++) {
		const Cadet__V1__NodeReport *node = snaps[i]->report;
		for (size_t p = 0; p < node->n_pods; p++) {
			const Cadet__V1__PodReport *pod = node->pods[p];
			if (namespace_ && strcmp(pod->namespace_, namespace_) != 0)
				continue;
			if (only_name) {
				if (strcmp(pod->name, only_name) != 0)
					continue;
				render_pod_metrics(&resp->body, node, pod, created, true);
				strbuf_puts(&resp->body, "\n");
				found = true;
				break;
			}
			struct field_object fo = { .name = pod->name, .namespace_ = pod->namespace_ };
			if (!selector_matches(&labels, pod_label, pod) ||
			    !selector_matches(&fields, object_field, &fo))
				continue;
			if (!first)
				strbuf_append(&resp->body, ",", 1);
			first = false;
			render_pod_metrics(&resp->body, node, pod, created, false);
		}
	}
	agg_store_snapshots_free(snaps, n);
	if (only_name && !found) {
		char msg[600];
		snprintf(msg, sizeof(msg), "podmetrics.metrics.k8s.io \"%s/%s\" not found", namespace_, only_name);
		reply_status(resp, 404, "NotFound", msg, "pods", only_name);
		return;
	}
	if (!only_name)
		render_list_end(&resp->body);
	resp->code = 200;
}

/* Splits the path after API_PREFIX into at most 4 segments. */
static size_t split_segments(char *rest, char *seg[4])
{
	size_t n = 0;
	char *save = NULL;
	for (char *s = strtok_r(rest, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (n == 4)
			return 5; /* too many: no such route */
		seg[n++] = s;
	}
	return n;
}

static void route_api(struct api *api, const struct https_request *req, struct https_response *resp,
		      const char *path)
{
	char rest[1024];
	if (strlen(path) >= sizeof(rest)) {
		reply_status(resp, 404, "NotFound", "the server could not find the requested resource", NULL, NULL);
		return;
	}
	snprintf(rest, sizeof(rest), "%s", path);
	char *seg[4] = { 0 };
	size_t n = split_segments(rest, seg);
	if (n == 0) {
		render_api_resource_list(&resp->body);
		resp->code = 200;
	} else if (n <= 2 && strcmp(seg[0], "nodes") == 0) {
		list_nodes(api, req, resp, n == 2 ? seg[1] : NULL);
	} else if (n == 1 && strcmp(seg[0], "pods") == 0) {
		list_pods(api, req, resp, NULL, NULL);
	} else if ((n == 3 || n == 4) && strcmp(seg[0], "namespaces") == 0 && strcmp(seg[2], "pods") == 0) {
		list_pods(api, req, resp, seg[1], n == 4 ? seg[3] : NULL);
	} else {
		reply_status(resp, 404, "NotFound", "the server could not find the requested resource", NULL, NULL);
	}
}

void api_handle(void *ctx, const struct https_request *req, struct https_response *resp)
{
	struct api *api = ctx;
	char path[2048];
	size_t len = strlen(req->path);
	if (len >= sizeof(path)) {
		reply_status(resp, 404, "NotFound", "the server could not find the requested resource", NULL, NULL);
		return;
	}
	memcpy(path, req->path, len + 1);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';

	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/livez") == 0) {
		reply_text(resp, 200, "ok");
		return;
	}
	if (strcmp(path, "/readyz") == 0) {
		bool ready = agg_store_ever_stored(api->store) ||
			     clock_monotonic_ns() - api->start_mono_ns >= api->ready_grace_ns;
		reply_text(resp, ready ? 200 : 503, ready ? "ok" : "not ready: no node report received yet");
		return;
	}

	const char *user = https_request_header(req, "X-Remote-User");
	if (api->auth_required && !req->client_verified) {
		log_debug("refused %s %s: no verified client certificate", req->method, req->path);
		reply_status(resp, 401, "Unauthorized", "Unauthorized", NULL, NULL);
		return;
	}
	if (user) {
		/* The header is the client's own word unless a front-proxy CA
		 * verified the client: the journal gets it as a field of its
		 * own (escaped as the message is), never as part of the text. */
		char user_field[300], path_field[300];
		snprintf(user_field, sizeof(user_field), "REMOTE_USER=%s", user);
		snprintf(path_field, sizeof(path_field), "REQUEST_PATH=%s", req->path);
		const char *fields[] = { user_field, path_field, NULL };
		log_write(LOG_INFO, fields, "%s %s for X-Remote-User %s", req->method, req->path, user);
	}
	if (strcmp(path, "/metrics") == 0) {
		struct cadet_error err = { 0 };
		static const struct agg_stats no_stats;
		const struct agg_stats *stats = api->stats ? api->stats : &no_stats;
		if (agg_metrics_render(&resp->body, stats, api->store, api->server, clock_monotonic_ns(), &err) < 0) {
			reply_status(resp, 500, "InternalError", err.msg, NULL, NULL);
			return;
		}
		resp->code = 200;
		resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		return;
	}
	if (!api_accepts_json(https_request_header(req, "Accept"))) {
		reply_status(resp, 406, "NotAcceptable",
			     "only application/json is served (no aggregated discovery, no protobuf)", NULL, NULL);
		return;
	}

	if (strcmp(path, "/apis") == 0) {
		render_api_group_list(&resp->body);
		resp->code = 200;
	} else if (strcmp(path, "/apis/metrics.k8s.io") == 0) {
		render_api_group(&resp->body);
		resp->code = 200;
	} else if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) == 0 &&
		   (path[strlen(API_PREFIX)] == '/' || path[strlen(API_PREFIX)] == '\0')) {
		route_api(api, req, resp, path + strlen(API_PREFIX));
	} else {
		reply_status(resp, 404, "NotFound", "the server could not find the requested resource", NULL, NULL);
	}
}
