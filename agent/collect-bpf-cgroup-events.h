/* collect-bpf-cgroup-events.h: cgroup mkdir/rmdir and OOM kill events from BPF
 * (bpf/cgroup-events.bpf.c), for the agent's event loop.
 *
 * Open once; add bpf_cgroup_events_fd() to the loop (readable when events
 * are waiting); on readiness call bpf_cgroup_events_consume(), which hands
 * each event to a callback. An rmdir event carries the cgroup's final CPU
 * usage and memory usage as the kernel held them at removal. If open fails
 * (no BTF, no privileges, old kernel) the agent runs without BPF: err says
 * why. */
#ifndef CADET_BPF_CGROUP_EVENTS_H_USER
#define CADET_BPF_CGROUP_EVENTS_H_USER

#include <stdbool.h>
#include <stdint.h>

#include <linux/types.h>

#include "bpf/cgroup-events.h"
#include "common/error.h"

struct bpf_cgroup_events;

/* Called once per event; the event is only valid during the call. Returns
 * 0, or -1 with err set to stop consumption (consume() then fails with it). */
typedef int (*bpf_cgroup_event_fn)(const struct cgroup_event *event, void *ctx, struct cadet_error *err);

/* Which mkdir/rmdir events to deliver; OOM kills always come. A zeroed
 * struct (or NULL) means all of them. */
struct bpf_cgroup_events_options {
	uint32_t controllers;    /* CGROUP_EVENT_CTRL_* of the hierarchies to watch, 0: all */
	const char *path_prefix; /* e.g. "/kubepods"; NULL or "": all paths */
};

int bpf_cgroup_events_open(const struct bpf_cgroup_events_options *opts, struct bpf_cgroup_events **out,
			   struct cadet_error *err);
/* Pollable fd (EPOLLIN when events are waiting). */
int bpf_cgroup_events_fd(const struct bpf_cgroup_events *ev);
/* Delivers every waiting event. Returns the number delivered, or -1 with
 * err set (by libbpf's failure or by the callback). */
int bpf_cgroup_events_consume(struct bpf_cgroup_events *ev, bpf_cgroup_event_fn fn, void *ctx,
			      struct cadet_error *err);
/* Whether OOM kills are reported on this kernel (false when neither
 * tp_btf/mark_victim with a task argument nor fentry/mark_oom_victim works). */
bool bpf_cgroup_events_have_oom(const struct bpf_cgroup_events *ev);
/* Events lost because the ring buffer was full. */
uint64_t bpf_cgroup_events_dropped(const struct bpf_cgroup_events *ev);
void bpf_cgroup_events_close(struct bpf_cgroup_events *ev);

const char *cgroup_event_type_name(uint32_t type);

#endif
