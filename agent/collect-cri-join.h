/* collect-cri-join.h: joins the runtime's view (a CRI snapshot) onto the store.
 *
 * Store pods are keyed by the pod uid from the cgroup path and containers
 * by the container id in it; the runtime knows the same uid (sandbox
 * metadata) and ids. The join gives each store pod and container its
 * names, labels and start time; marks the sandbox (pause) containers, whose
 * id is a sandbox id, so views skip them; attaches container rootfs and
 * log usage, pod network (read by the refresh thread) and the runtime's
 * image filesystem; and records, from CRI
 * stats, the pods the runtime runs but whose cgroups the collection did not
 * read (VM-isolated runtimes, another cgroup root). Pods and containers the
 * runtime does not know keep their ids as names. */
#ifndef CADET_CRI_JOIN_H
#define CADET_CRI_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/collect-cri-snapshot.h"
#include "agent/store.h"
#include "common/error.h"

struct cri_join_options {
	/* A snapshot not joined before: refresh every entry's metadata and
	 * record CRI-only pods from its stats. Otherwise only entries still
	 * without metadata are filled. */
	bool new_snapshot;
	/* Both clocks now: the runtime's sample times (realtime) are placed on
	 * the monotonic clock by their offset at this instant. */
	struct sample_time now;
};

struct cri_join_result {
	size_t pods_named;
	size_t containers_named;
	size_t sandboxes_marked;
	size_t cri_only_pods;   /* recorded from CRI stats */
	size_t unknown;         /* store pods and containers the runtime does not know */
	uint64_t unknown_hash;  /* changes when the set of unknown ids changes */
};

/* Call after a walk ended (store_end_sweep), before views read. */
int cri_join_apply(const struct cri_snapshot *snap, struct store *s, const struct cri_join_options *opts,
		   struct cri_join_result *result, struct cadet_error *err);

#endif
