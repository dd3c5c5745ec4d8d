/* render.h: metrics.k8s.io/v1beta1 objects as JSON, shaped as metrics-server
 * serves them: NodeMetrics and PodMetrics (alone with kind/apiVersion, or as
 * items of a NodeMetricsList/PodMetricsList), Status errors and the three
 * discovery documents. Renderers only write; they never look anything up. */
#ifndef CADET_AGG_RENDER_H
#define CADET_AGG_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "proto/cadet-push.pb-c.h"

/* creation_rfc3339 is metadata.creationTimestamp: the time of the request,
 * as metrics-server fills it. `standalone` adds kind and apiVersion. */
void render_node_metrics(struct strbuf *sb, const Cadet__V1__NodeReport *node,
			 const char *creation_rfc3339, bool standalone);
void render_pod_metrics(struct strbuf *sb, const Cadet__V1__NodeReport *node,
			const Cadet__V1__PodReport *pod, const char *creation_rfc3339, bool standalone);

/* The opening of a list up to the '[' of its items, and its closing. */
void render_list_begin(struct strbuf *sb, const char *kind);
void render_list_end(struct strbuf *sb);

/* A v1 Status failure. details_kind/details_name may be NULL. */
void render_status(struct strbuf *sb, int code, const char *reason, const char *message,
		   const char *details_kind, const char *details_name);

void render_api_group_list(struct strbuf *sb);
void render_api_group(struct strbuf *sb);
void render_api_resource_list(struct strbuf *sb);

#endif
