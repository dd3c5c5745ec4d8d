/* view-resource-metrics.c: kubelet's /metrics/resource in Prometheus text
 * format, the endpoint metrics-server v0.6+ scrapes. Metric families are
 * written in name order, as client_golang does, with kubelet's HELP texts
 * and stability levels; every sample carries the millisecond timestamp of
 * its read, except container_start_time_seconds. Only series with both CPU
 * and memory are written, so metrics-server never sees half a container. */
#include <errno.h>
#include <inttypes.h>

#include "agent/view-prom-format.h"
#include "agent/views.h"
#include "common/duration.h"

static void append_float(struct strbuf *sb, double v)
{
	char buf[40];
	prom_format_float(v, buf, sizeof(buf));
	strbuf_puts(sb, buf);
}

static void append_sample_end(struct strbuf *sb, double v, uint64_t realtime_ns)
{
	strbuf_puts(sb, " ");
	append_float(sb, v);
	if (realtime_ns)
		strbuf_printf(sb, " %" PRIu64 "\n", (uint64_t)(realtime_ns / NSEC_PER_MSEC));
	else
		strbuf_puts(sb, "\n");
}

/* name{container="..",namespace="..",pod=".."}, container left out for
 * pod series (container == NULL); labels in kubelet's (sorted) order. */
static void append_labels(struct strbuf *sb, const char *name, const struct store_pod *p,
			  const struct store_container *c)
{
	strbuf_puts(sb, name);
	strbuf_puts(sb, "{");
	if (c) {
		strbuf_puts(sb, "container=\"");
		prom_append_label_value(sb, view_container_name(c));
		strbuf_puts(sb, "\",");
	}
	strbuf_puts(sb, "namespace=\"");
	prom_append_label_value(sb, view_pod_namespace(p));
	strbuf_puts(sb, "\",pod=\"");
	prom_append_label_value(sb, view_pod_name(p));
	strbuf_puts(sb, "\"}");
}

static bool has_cpu_and_memory(const struct series *se)
{
	uint32_t need = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY;
	return (se->latest.have & need) == need;
}

static bool container_reported(const struct store_container *c)
{
	return view_container_visible(c) && has_cpu_and_memory(&c->series);
}

enum container_metric { C_CPU, C_MEMORY, C_START, C_SWAP, C_OOM };

static void append_containers(struct strbuf *sb, const struct store *s, enum container_metric m)
{
	static const char *const names[] = {
		[C_CPU] = "container_cpu_usage_seconds_total",
		[C_MEMORY] = "container_memory_working_set_bytes",
		[C_START] = "container_start_time_seconds",
		[C_SWAP] = "container_swap_usage_bytes",
		[C_OOM] = "container_oom_events_total",
	};
	for (size_t i = 0; i < s->n_pods; i++) {
		const struct store_pod *p = &s->pods[i];
		for (size_t j = 0; j < p->n_containers; j++) {
			const struct store_container *c = &p->containers[j];
			if (!container_reported(c))
				continue;
			const struct series *se = &c->series;
			if (m == C_SWAP && !(se->latest.have & SAMPLE_HAVE_SWAP))
				continue;
			append_labels(sb, names[m], p, c);
			switch (m) {
			case C_CPU:
				append_sample_end(sb, (double)se->latest.cpu_usage_ns / (double)NSEC_PER_SEC, se->at.realtime_ns);
				break;
			case C_MEMORY:
				append_sample_end(sb, (double)se->latest.memory_working_set_bytes, se->at.realtime_ns);
				break;
			case C_START:
				append_sample_end(sb, (double)view_container_start_ns(c) / (double)NSEC_PER_SEC, 0);
				break;
			case C_SWAP:
				append_sample_end(sb, (double)se->latest.swap_usage_bytes, se->at.realtime_ns);
				break;
			case C_OOM:
				append_sample_end(sb, (double)c->oom_events, se->at.realtime_ns);
				break;
			}
		}
	}
}

static void append_pods(struct strbuf *sb, const struct store *s, bool cpu)
{
	const char *name = cpu ? "pod_cpu_usage_seconds_total" : "pod_memory_working_set_bytes";
	for (size_t i = 0; i < s->n_pods; i++) {
		const struct store_pod *p = &s->pods[i];
		if (!p->series.has_sample || !has_cpu_and_memory(&p->series))
			continue;
		append_labels(sb, name, p, NULL);
		const struct series *se = &p->series;
		if (cpu)
			append_sample_end(sb, (double)se->latest.cpu_usage_ns / (double)NSEC_PER_SEC, se->at.realtime_ns);
		else
			append_sample_end(sb, (double)se->latest.memory_working_set_bytes, se->at.realtime_ns);
	}
}

static bool any_container_swap(const struct store *s)
{
	for (size_t i = 0; i < s->n_pods; i++)
		for (size_t j = 0; j < s->pods[i].n_containers; j++)
			if (container_reported(&s->pods[i].containers[j]) &&
			    (s->pods[i].containers[j].series.latest.have & SAMPLE_HAVE_SWAP))
				return true;
	return false;
}

int view_resource_metrics_render(const struct store *s, bool scrape_error, struct strbuf *out,
				 struct cadet_error *err)
{
	prom_append_header(out, "container_cpu_usage_seconds_total", "counter",
			   "[STABLE] Cumulative cpu time consumed by the container in core-seconds");
	append_containers(out, s, C_CPU);
	prom_append_header(out, "container_memory_working_set_bytes", "gauge",
			   "[STABLE] Current working set of the container in bytes");
	append_containers(out, s, C_MEMORY);
	prom_append_header(out, "container_oom_events_total", "counter",
			   "[ALPHA] OOM kills of processes in the container seen by cadet");
	append_containers(out, s, C_OOM);
	prom_append_header(out, "container_start_time_seconds", "gauge",
			   "[STABLE] Start time of the container since unix epoch in seconds");
	append_containers(out, s, C_START);
	if (any_container_swap(s)) {
		prom_append_header(out, "container_swap_usage_bytes", "gauge",
				   "[ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems");
		append_containers(out, s, C_SWAP);
	}
	const struct series *node = &s->node;
	if (has_cpu_and_memory(node)) {
		prom_append_header(out, "node_cpu_usage_seconds_total", "counter",
				   "[STABLE] Cumulative cpu time consumed by the node in core-seconds");
		strbuf_puts(out, "node_cpu_usage_seconds_total");
		append_sample_end(out, (double)node->latest.cpu_usage_ns / (double)NSEC_PER_SEC, node->at.realtime_ns);
		prom_append_header(out, "node_memory_working_set_bytes", "gauge",
				   "[STABLE] Current working set of the node in bytes");
		strbuf_puts(out, "node_memory_working_set_bytes");
		append_sample_end(out, (double)node->latest.memory_working_set_bytes, node->at.realtime_ns);
		if (s->node_info.has_swap) {
			prom_append_header(out, "node_swap_usage_bytes", "gauge",
					   "[ALPHA] Current swap usage of the node in bytes. Reported only on non-windows systems");
			strbuf_puts(out, "node_swap_usage_bytes");
			append_sample_end(out, (double)s->node_info.swap_usage_bytes, node->at.realtime_ns);
		}
	}
	prom_append_header(out, "pod_cpu_usage_seconds_total", "counter",
			   "[STABLE] Cumulative cpu time consumed by the pod in core-seconds");
	append_pods(out, s, true);
	prom_append_header(out, "pod_memory_working_set_bytes", "gauge",
			   "[STABLE] Current working set of the pod in bytes");
	append_pods(out, s, false);
	prom_append_header(out, "resource_scrape_error", "gauge",
			   "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise");
	strbuf_printf(out, "resource_scrape_error %d\n", scrape_error ? 1 : 0);
	if (strbuf_failed(out))
		return cadet_error_set(err, ENOMEM, "rendering /metrics/resource");
	return 0;
}
