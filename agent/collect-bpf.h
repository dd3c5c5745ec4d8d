/* collect-bpf.h: the agent's BPF part, wired into its event loop.
 *
 * agent_bpf_start() loads the cgroup event programs and watches their ring
 * buffer from the libevent loop. Each event is applied at once:
 *   - mkdir of a kubepods cgroup: discovery rescans on the next cycle;
 *   - rmdir of a container cgroup: a final sample (the CPU time the kernel
 *     held at removal) is recorded for the container, so a container that
 *     lived between two cycles is still reported, and a known one reports
 *     its last seconds; the store keeps it for one more window;
 *   - OOM kill in a container's memory cgroup: the container's oom_events
 *     counter goes up (held back until the container is in the store).
 * When start fails (no BTF, no privileges, old kernel) err says why and
 * the agent carries on with polling and inotify. */
#ifndef CADET_BPF_AGENT_H
#define CADET_BPF_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "agent/cycle.h"
#include "agent/store.h"
#include "common/error.h"

struct agent_bpf;

struct agent_bpf_options {
	/* Whether the collector reads CPU from cgroup2 (v2 layout) rather than
	 * from the v1 cpuacct hierarchy (v1 and hybrid layouts); events of that
	 * hierarchy drive rescans and final samples. */
	bool cpu_from_cgroup2;
};

struct agent_bpf_counters {
	uint64_t events;        /* every event read */
	uint64_t final_samples; /* containers given a final sample at rmdir */
	uint64_t oom_kills;     /* OOM kills counted onto a container */
	uint64_t rescans;       /* rescans asked for on mkdir */
	uint64_t dropped;       /* events the kernel could not queue */
};

int agent_bpf_start(struct event_base *base, struct collection *collection, struct store *store,
		    const struct agent_bpf_options *opts, struct agent_bpf **out, struct cadet_error *err);
const struct agent_bpf_counters *agent_bpf_counters(struct agent_bpf *b);
void agent_bpf_free(struct agent_bpf *b);

#endif
