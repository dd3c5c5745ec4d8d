/* views.h: the agent's rendered views. After each collection cycle the
 * main loop renders every view from the store once; HTTP requests only
 * copy the published bytes. Views read the store and never the filesystem. */
#ifndef CADET_VIEWS_H
#define CADET_VIEWS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/store.h"
#include "common/error.h"
#include "common/strbuf.h"

struct agent_views {
	struct strbuf summary;          /* /stats/summary */
	struct strbuf summary_cpu_mem;  /* /stats/summary?only_cpu_and_memory=true */
	struct strbuf resource_metrics; /* /metrics/resource */
	struct strbuf top;              /* /top */
	uint64_t rendered_realtime_ns;
	uint64_t render_ns;             /* time the last render took */
	bool ready;                     /* at least one render done */
};

void agent_views_init(struct agent_views *v);
void agent_views_free(struct agent_views *v);
/* Renders every view; on failure the previously published views stay. */
int agent_views_render(struct agent_views *v, const struct store *s, const char *node_name, bool scrape_error,
		       struct cadet_error *err);

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
