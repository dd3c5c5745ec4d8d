/* collect-cri-join.c: the join of a CRI snapshot onto the store (see collect-cri-join.h).
 *
 * One pass over the store's pods (sorted by uid) looks each pod and each
 * of its containers up in the snapshot. A second pass over the snapshot's
 * pods, once per snapshot, finds those the last walk did not see and
 * records them from CRI stats at the runtime's sample times, as one
 * runtime sweep of the store: such pods stay current until a snapshot
 * without them ends its sweep, whatever the walks in between see. */
#include "agent/collect-cri-join.h"

#include <string.h>
#include <sys/statvfs.h>

/* FNV-1a, folded over the unknown ids so a new unknown changes the sum. */
static uint64_t hash_id(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int name_pod(struct store_pod *pod, const struct cri_pod *cp, struct cadet_error *err)
{
	struct pod_metadata m = {
		.name = cp->name,
		.namespace = cp->namespace,
		.labels = cp->labels,
		.n_labels = cp->n_labels,
		.start_time_ns = cp->created_ns,
	};
	return pod_metadata_set(&pod->meta, &m, err);
}

static int name_container(struct store_container *c, const struct cri_container *cc, struct cadet_error *err)
{
	struct container_metadata m = {
		.name = cc->name,
		.start_time_ns = cc->created_ns,
		.has_rootfs = cc->has_rootfs,
		.rootfs_used_bytes = cc->rootfs_used_bytes,
		.rootfs_inodes_used = cc->rootfs_inodes_used,
		.has_logs = cc->has_logs,
		.logs_used_bytes = cc->logs_used_bytes,
	};
	return container_metadata_set(&c->meta, &m, err);
}

static void join_network(struct store_pod *pod, const struct cri_pod *cp)
{
	if (cp->has_network) {
		pod->network = cp->network;
		pod->has_network = true;
	}
}

/* Records a pod the runtime runs but the collection did not read, with
 * the runtime's own sample times. */
static int record_cri_only_pod(const struct cri_snapshot *snap, const struct cri_pod *cp, struct store *s,
			       const struct sample_time *now, struct cri_join_result *result, struct cadet_error *err)
{
	struct sample_key key = {
		.kind = SAMPLE_KEY_POD,
		.pod_uid = cp->uid,
		.qos = POD_QOS_UNKNOWN,
		.started_realtime_ns = cp->created_ns,
	};
	struct sample_time at = cp->has_stats ? sample_time_from_realtime(cp->stats_realtime_ns, now) : *now;
	if (store_record(s, &key, SAMPLE_SOURCE_CRI, &at, cp->has_stats ? &cp->stats : NULL, err) < 0)
		return -1;
	struct store_pod *pod = store_find_pod(s, cp->uid);
	if (name_pod(pod, cp, err) < 0)
		return -1;
	/* containers of this sandbox: the array is sorted by container id, so
	 * this is a scan; CRI-only pods are rare. */
	for (size_t i = 0; i < snap->n_containers; i++) {
		const struct cri_container *cc = &snap->containers[i];
		if (!cc->has_stats || strcmp(cc->sandbox_id, cp->sandbox_id) != 0)
			continue;
		key.kind = SAMPLE_KEY_CONTAINER;
		key.container_id = cc->id;
		key.started_realtime_ns = cc->created_ns;
		at = sample_time_from_realtime(cc->stats_realtime_ns, now);
		if (store_record(s, &key, SAMPLE_SOURCE_CRI, &at, &cc->stats, err) < 0)
			return -1;
		if (name_container(store_find_container(pod, cc->id), cc, err) < 0)
			return -1;
		result->containers_named++;
	}
	result->cri_only_pods++;
	return 0;
}

static void join_image_fs(const struct cri_snapshot *snap, struct store *s)
{
	if (!snap->has_image_fs)
		return;
	struct image_fs_stats *fs = &s->image_fs;
	memset(fs, 0, sizeof(*fs));
	fs->realtime_ns = snap->image_fs_realtime_ns;
	fs->used_bytes = snap->image_fs_used_bytes;
	fs->inodes_used = snap->image_fs_inodes_used;
	struct statvfs st;
	if (snap->image_fs_mountpoint && snap->image_fs_mountpoint[0] &&
	    statvfs(snap->image_fs_mountpoint, &st) == 0) {
		fs->has_capacity = true;
		fs->capacity_bytes = (uint64_t)st.f_blocks * st.f_frsize;
		fs->available_bytes = (uint64_t)st.f_bavail * st.f_frsize;
		fs->inodes = st.f_files;
		fs->inodes_free = st.f_ffree;
	}
	s->has_image_fs = true;
}

int cri_join_apply(const struct cri_snapshot *snap, struct store *s, const struct cri_join_options *opts,
		   struct cri_join_result *result, struct cadet_error *err)
{
	memset(result, 0, sizeof(*result));
	for (size_t i = 0; i < s->n_pods; i++) {
		struct store_pod *pod = &s->pods[i];
		const struct cri_pod *cp = cri_snapshot_find_pod(snap, pod->uid);
		if (cp) {
			if (opts->new_snapshot || !pod->meta.name) {
				if (name_pod(pod, cp, err) < 0)
					return cadet_error_prefix(err, "pod %s", pod->uid);
				result->pods_named++;
			}
			join_network(pod, cp);
		} else {
			result->unknown++;
			result->unknown_hash += hash_id(pod->uid);
		}
		for (size_t j = 0; j < pod->n_containers; j++) {
			struct store_container *c = &pod->containers[j];
			const struct cri_container *cc = cri_snapshot_find_container(snap, c->id);
			if (cc) {
				if (opts->new_snapshot || !c->meta.name) {
					if (name_container(c, cc, err) < 0)
						return cadet_error_prefix(err, "container %s", c->id);
					result->containers_named++;
				}
			} else if (cri_snapshot_find_sandbox(snap, c->id)) {
				if (!c->meta.is_sandbox) {
					struct container_metadata m = { .is_sandbox = true };
					if (container_metadata_set(&c->meta, &m, err) < 0)
						return cadet_error_prefix(err, "sandbox %s", c->id);
					result->sandboxes_marked++;
				}
			} else {
				result->unknown++;
				result->unknown_hash += hash_id(c->id);
			}
		}
	}

	/* Only a store that has walked can say what the walk did not see. */
	if (opts->new_snapshot && s->walks > 0) {
		join_image_fs(snap, s);
		store_begin_sweep(s, STORE_SWEEP_RUNTIME, &opts->now);
		for (size_t i = 0; i < snap->n_pods; i++) {
			const struct cri_pod *cp = &snap->pods[i];
			if (!cp->ready || (i > 0 && strcmp(snap->pods[i - 1].uid, cp->uid) == 0))
				continue; /* stopped, or not the best sandbox of its uid */
			struct store_pod *pod = store_find_pod(s, cp->uid);
			if (pod && store_pod_walked(s, pod))
				continue;
			if (record_cri_only_pod(snap, cp, s, &opts->now, result, err) < 0) {
				store_end_sweep(s, STORE_SWEEP_RUNTIME);
				return cadet_error_prefix(err, "pod %s from CRI stats", cp->uid);
			}
		}
		/* pods the runtime no longer runs vanish now */
		store_end_sweep(s, STORE_SWEEP_RUNTIME);
	} else if (opts->new_snapshot) {
		join_image_fs(snap, s);
	}
	return 0;
}
