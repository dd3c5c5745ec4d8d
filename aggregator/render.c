/* render.c: JSON for metrics.k8s.io (see render.h). Written straight into a
 * strbuf, field by field in metrics-server's order: listing 150,000 pods
 * must not build a DOM first. */
#include "render.h"

#include <stdio.h>

#include "common/duration.h"
#include "common/quantity.h"
#include "common/timefmt.h"
#include "json.h"

#define GROUP "metrics.k8s.io"
#define GROUP_VERSION "metrics.k8s.io/v1beta1"

static void render_labels(struct strbuf *sb, Cadet__V1__Label *const *labels, size_t n)
{
	if (n == 0)
		return;
	strbuf_puts(sb, ",\"labels\":{");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strbuf_append(sb, ",", 1);
		agg_json_string(sb, labels[i]->key ? labels[i]->key : "");
		strbuf_append(sb, ":", 1);
		agg_json_string(sb, labels[i]->value ? labels[i]->value : "");
	}
	strbuf_append(sb, "}", 1);
}

static void render_usage(struct strbuf *sb, uint64_t nanocores, uint64_t memory_bytes)
{
	char cpu[QUANTITY_MAX], mem[QUANTITY_MAX];
	quantity_format_nanocores(nanocores, cpu, sizeof(cpu));
	quantity_format_bytes(memory_bytes, mem, sizeof(mem));
	strbuf_puts(sb, "\"usage\":{\"cpu\":\"");
	strbuf_puts(sb, cpu);
	strbuf_puts(sb, "\",\"memory\":\"");
	strbuf_puts(sb, mem);
	strbuf_puts(sb, "\"}");
}

/* Pods of a node share the node's timestamp and most share its window (a
 * new pod's is shorter): the text of the last pair is kept (per thread)
 * instead of formatted again. */
static void render_time_window(struct strbuf *sb, uint64_t timestamp_unix_ns, uint64_t window_ns)
{
	static __thread struct {
		uint64_t timestamp_s, window_ns;
		bool valid;
		char text[128];
	} last;
	uint64_t timestamp_s = timestamp_unix_ns / 1000000000ULL;
	if (!last.valid || last.timestamp_s != timestamp_s || last.window_ns != window_ns) {
		char stamp[32], window[64];
		time_format_rfc3339(timestamp_unix_ns, stamp, sizeof(stamp));
		duration_format(window_ns, window, sizeof(window));
		snprintf(last.text, sizeof(last.text), ",\"timestamp\":\"%s\",\"window\":\"%s\"", stamp, window);
		last.timestamp_s = timestamp_s;
		last.window_ns = window_ns;
		last.valid = true;
	}
	strbuf_puts(sb, last.text);
}

void render_node_metrics(struct strbuf *sb, const Cadet__V1__NodeReport *node,
			 const char *creation_rfc3339, bool standalone)
{
	strbuf_append(sb, "{", 1);
	if (standalone)
		strbuf_puts(sb, "\"kind\":\"NodeMetrics\",\"apiVersion\":\"" GROUP_VERSION "\",");
	strbuf_puts(sb, "\"metadata\":{\"name\":");
	agg_json_string(sb, node->node_name);
	strbuf_puts(sb, ",\"creationTimestamp\":\"");
	strbuf_puts(sb, creation_rfc3339);
	strbuf_append(sb, "\"", 1);
	render_labels(sb, node->labels, node->n_labels);
	strbuf_append(sb, "}", 1);
	render_time_window(sb, node->timestamp_unix_ns, node->window_ns);
	strbuf_append(sb, ",", 1);
	render_usage(sb, node->cpu_usage_nanocores, node->memory_working_set_bytes);
	strbuf_append(sb, "}", 1);
}

void render_pod_metrics(struct strbuf *sb, const Cadet__V1__NodeReport *node,
			const Cadet__V1__PodReport *pod, const char *creation_rfc3339, bool standalone)
{
	strbuf_append(sb, "{", 1);
	if (standalone)
		strbuf_puts(sb, "\"kind\":\"PodMetrics\",\"apiVersion\":\"" GROUP_VERSION "\",");
	strbuf_puts(sb, "\"metadata\":{\"name\":");
	agg_json_string(sb, pod->name);
	strbuf_puts(sb, ",\"namespace\":");
	agg_json_string(sb, pod->namespace_);
	strbuf_puts(sb, ",\"creationTimestamp\":\"");
	strbuf_puts(sb, creation_rfc3339);
	strbuf_append(sb, "\"", 1);
	render_labels(sb, pod->labels, pod->n_labels);
	strbuf_append(sb, "}", 1);
	/* never longer than the node's, which report-limits.c has checked */
	uint64_t window_ns = pod->window_ns && pod->window_ns < node->window_ns ? pod->window_ns : node->window_ns;
	render_time_window(sb, node->timestamp_unix_ns, window_ns);
	strbuf_puts(sb, ",\"containers\":[");
	for (size_t i = 0; i < pod->n_containers; i++) {
		const Cadet__V1__ContainerReport *c = pod->containers[i];
		strbuf_puts(sb, i > 0 ? ",{\"name\":" : "{\"name\":");
		agg_json_string(sb, c->name);
		strbuf_append(sb, ",", 1);
		render_usage(sb, c->cpu_usage_nanocores, c->memory_working_set_bytes);
		strbuf_append(sb, "}", 1);
	}
	strbuf_puts(sb, "]}");
}

void render_list_begin(struct strbuf *sb, const char *kind)
{
	strbuf_printf(sb, "{\"kind\":\"%s\",\"apiVersion\":\"" GROUP_VERSION "\",\"metadata\":{},\"items\":[",
		      kind);
}

void render_list_end(struct strbuf *sb)
{
	strbuf_puts(sb, "]}\n");
}

void render_status(struct strbuf *sb, int code, const char *reason, const char *message,
		   const char *details_kind, const char *details_name)
{
	strbuf_puts(sb, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":");
	agg_json_string(sb, message);
	strbuf_puts(sb, ",\"reason\":");
	agg_json_string(sb, reason);
	if (details_kind || details_name) {
		strbuf_puts(sb, ",\"details\":{");
		if (details_name) {
			strbuf_puts(sb, "\"name\":");
			agg_json_string(sb, details_name);
			strbuf_append(sb, ",", 1);
		}
		strbuf_puts(sb, "\"group\":\"" GROUP "\"");
		if (details_kind) {
			strbuf_puts(sb, ",\"kind\":");
			agg_json_string(sb, details_kind);
		}
		strbuf_append(sb, "}", 1);
	}
	strbuf_printf(sb, ",\"code\":%d}\n", code);
}

#define GROUP_VERSION_FOR_DISCOVERY \
	"{\"groupVersion\":\"" GROUP_VERSION "\",\"version\":\"v1beta1\"}"
#define GROUP_BODY                                                         \
	"\"name\":\"" GROUP "\",\"versions\":[" GROUP_VERSION_FOR_DISCOVERY \
	"],\"preferredVersion\":" GROUP_VERSION_FOR_DISCOVERY

void render_api_group_list(struct strbuf *sb)
{
	strbuf_puts(sb, "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[{" GROUP_BODY "}]}\n");
}

void render_api_group(struct strbuf *sb)
{
	strbuf_puts(sb, "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\"," GROUP_BODY "}\n");
}

void render_api_resource_list(struct strbuf *sb)
{
	strbuf_puts(sb, "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"" GROUP_VERSION
			"\",\"resources\":["
			"{\"name\":\"nodes\",\"singularName\":\"\",\"namespaced\":false,\"kind\":\"NodeMetrics\","
			"\"verbs\":[\"get\",\"list\"]},"
			"{\"name\":\"pods\",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"PodMetrics\","
			"\"verbs\":[\"get\",\"list\"]}]}\n");
}
