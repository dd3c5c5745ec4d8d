/* store-builder.h: fills an agent store with synthetic samples for tests,
 * one walk at a time, through the store's one entry point (store_record).
 *
 *   sb_begin_walk(s, monotonic_ns, realtime_ns);   every record until
 *   sb_record_pod(s, uid, qos, start_ns, &sample, &pod, &err);   the end
 *   sb_record_container(s, pod, id, start_ns, &sample, &ctr, &err); is
 *   sb_end_walk(s);                                 stamped with that time
 *
 * as the collection cycle does with cgroup file reads; the out-pointers
 * are the store's entries, valid until the next record. */
#ifndef CADET_TEST_STORE_BUILDER_H
#define CADET_TEST_STORE_BUILDER_H

#include "agent/store.h"

static inline void sb_begin_walk(struct store *s, uint64_t monotonic_ns, uint64_t realtime_ns)
{
	struct sample_time at = { .monotonic_ns = monotonic_ns, .realtime_ns = realtime_ns };
	store_begin_sweep(s, STORE_SWEEP_WALK, &at);
}

static inline void sb_end_walk(struct store *s)
{
	store_end_sweep(s, STORE_SWEEP_WALK);
}

static inline int sb_record_node(struct store *s, const struct sample *st, const struct node_info *info,
				 struct cadet_error *err)
{
	struct sample_key key = { .kind = SAMPLE_KEY_NODE };
	store_set_node_info(s, info);
	return store_record(s, &key, SAMPLE_SOURCE_CGROUP_FILES, &s->sweep_at[STORE_SWEEP_WALK], st, err);
}

static inline int sb_record_kubepods(struct store *s, const struct sample *st, struct cadet_error *err)
{
	struct sample_key key = { .kind = SAMPLE_KEY_KUBEPODS };
	return store_record(s, &key, SAMPLE_SOURCE_CGROUP_FILES, &s->sweep_at[STORE_SWEEP_WALK], st, err);
}

/* st NULL: the pod's cgroup is there but could not be read. */
static inline int sb_record_pod(struct store *s, const char *uid, enum pod_qos qos, uint64_t start_ns,
				const struct sample *st, struct store_pod **out, struct cadet_error *err)
{
	struct sample_key key = { .kind = SAMPLE_KEY_POD, .pod_uid = uid, .qos = qos, .started_realtime_ns = start_ns };
	*out = NULL;
	if (store_record(s, &key, SAMPLE_SOURCE_CGROUP_FILES, &s->sweep_at[STORE_SWEEP_WALK], st, err) < 0)
		return -1;
	*out = store_find_pod(s, uid);
	return 0;
}

static inline int sb_record_container(struct store *s, struct store_pod *pod, const char *id, uint64_t start_ns,
				      const struct sample *st, struct store_container **out, struct cadet_error *err)
{
	struct sample_key key = {
		.kind = SAMPLE_KEY_CONTAINER,
		.pod_uid = pod->uid,
		.container_id = id,
		.qos = pod->qos,
		.started_realtime_ns = start_ns,
	};
	*out = NULL;
	if (store_record(s, &key, SAMPLE_SOURCE_CGROUP_FILES, &s->sweep_at[STORE_SWEEP_WALK], st, err) < 0)
		return -1;
	*out = store_find_container(pod, id);
	return 0;
}

#endif
