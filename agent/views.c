/* views.c: renders and publishes all views after a cycle (see views.h),
 * and the naming rules every view shares. */
#include "agent/views.h"

#include <errno.h>
#include <json-c/json.h>

#include "common/timefmt.h"

void agent_views_init(struct agent_views *v)
{
	strbuf_init(&v->summary);
	strbuf_init(&v->summary_cpu_mem);
	strbuf_init(&v->resource_metrics);
	strbuf_init(&v->top);
	v->rendered_realtime_ns = 0;
	v->render_ns = 0;
	v->ready = false;
}

void agent_views_free(struct agent_views *v)
{
	strbuf_free(&v->summary);
	strbuf_free(&v->summary_cpu_mem);
	strbuf_free(&v->resource_metrics);
	strbuf_free(&v->top);
}

int agent_views_render(struct agent_views *v, const struct store *s, const char *node_name, bool scrape_error,
		       struct cadet_error *err)
{
	uint64_t start = clock_monotonic_ns();
	struct strbuf summary, cpu_mem, metrics, top;
	strbuf_init(&summary);
	strbuf_init(&cpu_mem);
	strbuf_init(&metrics);
	strbuf_init(&top);
	int r = -1;
	if (view_summary_render(s, node_name, false, &summary, err) != 0 ||
	    view_summary_render(s, node_name, true, &cpu_mem, err) != 0 ||
	    view_resource_metrics_render(s, scrape_error, &metrics, err) != 0 ||
	    view_top_render(s, &top, err) != 0)
		goto out;
	strbuf_swap(&v->summary, &summary);
	strbuf_swap(&v->summary_cpu_mem, &cpu_mem);
	strbuf_swap(&v->resource_metrics, &metrics);
	strbuf_swap(&v->top, &top);
	v->rendered_realtime_ns = s->cycle_realtime_ns;
	v->render_ns = clock_monotonic_ns() - start;
	v->ready = true;
	r = 0;
out:
	strbuf_free(&summary);
	strbuf_free(&cpu_mem);
	strbuf_free(&metrics);
	strbuf_free(&top);
	return r;
}

const char *view_pod_name(const struct store_pod *p)
{
	return p->meta.name ? p->meta.name : p->uid;
}

const char *view_pod_namespace(const struct store_pod *p)
{
	return p->meta.namespace ? p->meta.namespace : "";
}

const char *view_container_name(const struct store_container *c)
{
	return c->meta.name ? c->meta.name : c->id;
}

uint64_t view_pod_start_ns(const struct store_pod *p)
{
	return p->meta.start_time_ns ? p->meta.start_time_ns : p->cgroup_start_ns;
}

uint64_t view_container_start_ns(const struct store_container *c)
{
	return c->meta.start_time_ns ? c->meta.start_time_ns : c->cgroup_start_ns;
}

bool view_container_visible(const struct store_container *c)
{
	return !c->meta.is_sandbox;
}

int view_json_pretty(const char *json, struct strbuf *out, struct cadet_error *err)
{
	struct json_object *obj = json_tokener_parse(json);
	if (!obj)
		return cadet_error_set(err, EINVAL, "view is not valid JSON");
	const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_SPACED |
								       JSON_C_TO_STRING_NOSLASHESCAPE);
	strbuf_puts(out, text);
	strbuf_puts(out, "\n");
	json_object_put(obj);
	if (strbuf_failed(out))
		return cadet_error_set(err, ENOMEM, "pretty JSON");
	return 0;
}
