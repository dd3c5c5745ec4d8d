/* views.c: publishes samples and renders views on first request (see views.h),
 * and the naming rules every view shares. */
#include "agent/views.h"

#include <errno.h>
#include <json-c/json.h>
#include <malloc.h>
#include <string.h>

#include "common/timefmt.h"

void agent_views_init(struct agent_views *v)
{
	memset(v, 0, sizeof(*v));
	for (int i = 0; i < VIEW_COUNT; i++)
		strbuf_init(&v->text[i]);
}

void agent_views_free(struct agent_views *v)
{
	for (int i = 0; i < VIEW_COUNT; i++)
		strbuf_free(&v->text[i]);
}

int agent_views_render(struct agent_views *v, const struct store *s, const char *node_name, bool scrape_error,
		       struct cadet_error *err)
{
	(void)err;
	v->store = s;
	v->node_name = node_name;
	v->scrape_error = scrape_error;
	v->generation++;
	v->ready = true;
	return 0;
}

static int render_one(const struct agent_views *v, enum view_kind kind, struct strbuf *out, struct cadet_error *err)
{
	switch (kind) {
	case VIEW_SUMMARY:
		return view_summary_render(v->store, v->node_name, false, out, err);
	case VIEW_SUMMARY_CPU_MEM:
		return view_summary_render(v->store, v->node_name, true, out, err);
	case VIEW_RESOURCE_METRICS:
		return view_resource_metrics_render(v->store, v->scrape_error, out, err);
	case VIEW_TOP:
		return view_top_render(v->store, out, err);
	case VIEW_COUNT:
		break;
	}
	return cadet_error_set(err, EINVAL, "unknown view %d", (int)kind);
}

const struct strbuf *agent_views_get(struct agent_views *v, enum view_kind kind, struct cadet_error *err)
{
	if (kind >= VIEW_COUNT || !v->ready) {
		cadet_error_set(err, EAGAIN, "no sample published yet");
		return NULL;
	}
	if (v->rendered_generation[kind] == v->generation)
		return &v->text[kind];
	uint64_t start = clock_monotonic_ns();
	struct strbuf fresh;
	strbuf_init(&fresh);
	if (render_one(v, kind, &fresh, err) < 0) {
		strbuf_free(&fresh);
		return NULL;
	}
	strbuf_swap(&v->text[kind], &fresh);
	strbuf_free(&fresh);
	v->rendered_generation[kind] = v->generation;
	/* json-c builds the summary from many small objects; hand the freed
	 * heap back instead of holding it until the next render */
	malloc_trim(0);
	v->render_ns[kind] = clock_monotonic_ns() - start;
	v->renders++;
	return &v->text[kind];
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
