/* view-push.c: store -> packed NodeReport (see view-push.h). The
 * protobuf-c structs point into the store's own strings; only the pointer
 * arrays are allocated, and everything is released right after packing. */
#include "agent/view-push.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "agent/views.h"
#include "common/cleanup.h"
#include "proto/cadet-push.pb-c.h"

static bool has_cpu_rate_and_memory(const struct series *se)
{
	uint32_t need = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY;
	return se->has_rate && (se->latest.have & need) == need && !se->vanished;
}

/* A pod goes out when it is named and all its visible containers are whole. */
static bool pod_reportable(const struct store_pod *p, size_t *n_visible)
{
	*n_visible = 0;
	if (!p->meta.name || !p->meta.namespace || !*p->meta.name || !*p->meta.namespace)
		return false;
	for (size_t j = 0; j < p->n_containers; j++) {
		const struct store_container *c = &p->containers[j];
		if (!view_container_visible(c))
			continue;
		if (c->series.vanished)
			continue;
		if (!has_cpu_rate_and_memory(&c->series))
			return false;
		(*n_visible)++;
	}
	return *n_visible > 0;
}

/* Arrays allocated for one report, freed together. */
struct encode_arena {
	Cadet__V1__PodReport *pods;
	Cadet__V1__PodReport **pod_ptrs;
	Cadet__V1__ContainerReport *containers;
	Cadet__V1__ContainerReport **container_ptrs;
	Cadet__V1__Label *labels;
	Cadet__V1__Label **label_ptrs;
};

static void encode_arena_free(struct encode_arena *a)
{
	free(a->pods);
	free(a->pod_ptrs);
	free(a->containers);
	free(a->container_ptrs);
	free(a->labels);
	free(a->label_ptrs);
}

int push_encode_report(const struct store *s, const char *node_name, const char *agent_version, uint8_t **out,
		       size_t *len, struct cadet_error *err)
{
	size_t n_pods = 0, n_containers = 0, n_labels = 0;
	for (size_t i = 0; i < s->n_pods; i++) {
		size_t visible;
		if (!pod_reportable(&s->pods[i], &visible))
			continue;
		n_pods++;
		n_containers += visible;
		n_labels += s->pods[i].meta.n_labels;
	}
	__attribute__((cleanup(encode_arena_free))) struct encode_arena a = {
		.pods = calloc(n_pods + 1, sizeof(*a.pods)),
		.pod_ptrs = calloc(n_pods + 1, sizeof(*a.pod_ptrs)),
		.containers = calloc(n_containers + 1, sizeof(*a.containers)),
		.container_ptrs = calloc(n_containers + 1, sizeof(*a.container_ptrs)),
		.labels = calloc(n_labels + 1, sizeof(*a.labels)),
		.label_ptrs = calloc(n_labels + 1, sizeof(*a.label_ptrs)),
	};
	if (!a.pods || !a.pod_ptrs || !a.containers || !a.container_ptrs || !a.labels || !a.label_ptrs)
		return cadet_error_set(err, ENOMEM, "encoding the push report");

	Cadet__V1__NodeReport node = CADET__V1__NODE_REPORT__INIT;
	node.node_name = (char *)node_name;
	node.agent_version = (char *)agent_version;
	node.timestamp_unix_ns = s->node.has_sample ? s->node.at.realtime_ns : s->sweep_at[STORE_SWEEP_WALK].realtime_ns;
	node.window_ns = s->node.has_rate ? s->node.rate_window_ns : 0;
	node.cpu_usage_ns = s->node.latest.cpu_usage_ns;
	node.cpu_usage_nanocores = s->node.has_rate ? s->node.usage_nano_cores : 0;
	node.memory_working_set_bytes = s->node.latest.memory_working_set_bytes;
	node.pods = a.pod_ptrs;

	size_t ci = 0, li = 0;
	for (size_t i = 0; i < s->n_pods; i++) {
		const struct store_pod *p = &s->pods[i];
		size_t visible;
		if (!pod_reportable(p, &visible))
			continue;
		Cadet__V1__PodReport *pod = &a.pods[node.n_pods];
		cadet__v1__pod_report__init(pod);
		a.pod_ptrs[node.n_pods++] = pod;
		pod->namespace_ = p->meta.namespace;
		pod->name = p->meta.name;
		pod->uid = p->uid;
		pod->start_time_unix_ns = view_pod_start_ns(p);
		pod->labels = &a.label_ptrs[li];
		for (size_t k = 0; k < p->meta.n_labels; k++) {
			Cadet__V1__Label *l = &a.labels[li];
			cadet__v1__label__init(l);
			l->key = p->meta.labels[k].key;
			l->value = p->meta.labels[k].value;
			a.label_ptrs[li++] = l;
			pod->n_labels++;
		}
		pod->containers = &a.container_ptrs[ci];
		uint64_t pod_window_ns = 0;
		for (size_t j = 0; j < p->n_containers; j++) {
			const struct store_container *c = &p->containers[j];
			if (!view_container_visible(c) || c->series.vanished)
				continue;
			Cadet__V1__ContainerReport *cr = &a.containers[ci];
			cadet__v1__container_report__init(cr);
			cr->name = (char *)view_container_name(c);
			cr->id = c->id;
			cr->start_time_unix_ns = view_container_start_ns(c);
			cr->cpu_usage_ns = c->series.latest.cpu_usage_ns;
			cr->cpu_usage_nanocores = c->series.usage_nano_cores;
			cr->memory_working_set_bytes = c->series.latest.memory_working_set_bytes;
			cr->oom_events = c->oom_events;
			if (c->series.latest.have & SAMPLE_HAVE_THROTTLE) {
				cr->cpu_periods = c->series.latest.cpu_periods;
				cr->cpu_throttled_periods = c->series.latest.cpu_throttled_periods;
				cr->cpu_throttled_ns = c->series.latest.cpu_throttled_ns;
			}
			a.container_ptrs[ci++] = cr;
			pod->n_containers++;
			if (c->series.rate_window_ns > pod_window_ns)
				pod_window_ns = c->series.rate_window_ns;
		}
		/* the span the pod's sum covers; said only when the node's is longer */
		if (node.window_ns && pod_window_ns < node.window_ns)
			pod->window_ns = pod_window_ns;
	}

	size_t packed = cadet__v1__node_report__get_packed_size(&node);
	uint8_t *buf = malloc(packed ? packed : 1);
	if (!buf)
		return cadet_error_set(err, ENOMEM, "encoding the push report (%zu bytes)", packed);
	cadet__v1__node_report__pack(&node, buf);
	*out = buf;
	*len = packed;
	return 0;
}

/* FNV-1a over a string and its terminator, continuing from h. */
static uint64_t fnv1a(uint64_t h, const char *str)
{
	for (const unsigned char *c = (const unsigned char *)(str ? str : ""); ; c++) {
		h = (h ^ *c) * 0x100000001b3ULL;
		if (!*c)
			return h;
	}
}

uint64_t push_report_members(const struct store *s)
{
	uint64_t members = 0;
	for (size_t i = 0; i < s->n_pods; i++) {
		const struct store_pod *p = &s->pods[i];
		size_t visible;
		if (!pod_reportable(p, &visible))
			continue;
		uint64_t h = fnv1a(0xcbf29ce484222325ULL, p->uid);
		h = fnv1a(h, p->meta.namespace);
		h = fnv1a(h, p->meta.name);
		for (size_t j = 0; j < p->n_containers; j++) {
			const struct store_container *c = &p->containers[j];
			if (view_container_visible(c) && !c->series.vanished)
				h = fnv1a(h, c->id);
		}
		members += h; /* a sum: the pods' order does not matter */
	}
	return members;
}
