/* views.h: the agent's rendered views. After each collection cycle the
 * main loop publishes the new sample (agent_views_render, which costs
 * nothing); the first request for a view after that renders it from the
 * store, and every later request until the next sample copies the same
 * bytes. So each view is rendered at most once per sample and never when
 * nobody asks. Views read the store and never the filesystem. */
#ifndef CADET_VIEWS_H
#define CADET_VIEWS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/store.h"
#include "common/error.h"
#include "common/strbuf.h"

enum view_kind {
	VIEW_SUMMARY,          /* /stats/summary */
	VIEW_SUMMARY_CPU_MEM,  /* /stats/summary?only_cpu_and_memory=true */
	VIEW_RESOURCE_METRICS, /* /metrics/resource */
	VIEW_TOP,              /* /top */
	VIEW_COUNT,
};

struct agent_views {
	struct strbuf text[VIEW_COUNT];
	uint64_t rendered_generation[VIEW_COUNT];
	uint64_t generation; /* bumped per published sample */
	const struct store *store;
	const char *node_name;
	bool scrape_error;
	uint64_t render_ns[VIEW_COUNT]; /* time the last render of each took */
	uint64_t renders;               /* renders done, for self-metrics */
	bool ready;                     /* a sample has been published */
};

void agent_views_init(struct agent_views *v);
void agent_views_free(struct agent_views *v);
/* Publishes the store's latest sample; views render lazily from it. The
 * store and node_name must outlive the views. */
int agent_views_render(struct agent_views *v, const struct store *s, const char *node_name, bool scrape_error,
		       struct cadet_error *err);
/* The bytes of a view for the latest sample, rendered now if needed. NULL
 * with err set when rendering fails (the old bytes are kept). */
const struct strbuf *agent_views_get(struct agent_views *v, enum view_kind kind, struct cadet_error *err);

/* Display names: CRI metadata when known, else the uid / container id. */
const char *view_pod_name(const struct store_pod *p);
const char *view_pod_namespace(const struct store_pod *p);
const char *view_container_name(const struct store_container *c);
uint64_t view_pod_start_ns(const struct store_pod *p);
uint64_t view_container_start_ns(const struct store_container *c);
/* True when a container is reported (not a pod sandbox). */
bool view_container_visible(const struct store_container *c);

/* The individual renderers, appending to out. */
int view_summary_render(const struct store *s, const char *node_name, bool only_cpu_and_memory,
			struct strbuf *out, struct cadet_error *err);
int view_resource_metrics_render(const struct store *s, bool scrape_error, struct strbuf *out,
				 struct cadet_error *err);
int view_top_render(const struct store *s, struct strbuf *out, struct cadet_error *err);

/* Re-indents compact JSON for ?pretty; fails on invalid JSON. */
int view_json_pretty(const char *json, struct strbuf *out, struct cadet_error *err);

#endif
