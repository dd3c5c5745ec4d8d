/* collect-cri-snapshot.h: one consistent view of what the container runtime knows.
 *
 * A snapshot is built from the replies of one refresh (ListPodSandbox,
 * ListContainers and, when they worked, ListContainerStats,
 * ListPodSandboxStats and ImageFsInfo) and never changes once published;
 * it owns copies of every string, so the replies can be freed at once.
 * Pods are sorted by uid (a uid can have several sandboxes, e.g. after a
 * restart: the ready and newest one comes first), containers by id, and
 * sandbox ids have their own index, so every lookup is a binary search. */
#ifndef CADET_CRI_SNAPSHOT_H
#define CADET_CRI_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/sample.h"
#include "common/error.h"
#include "proto/cri-api.pb-c.h"

struct cri_pod {
	char *sandbox_id;
	char *uid;
	char *name;
	char *namespace;
	struct label *labels;
	size_t n_labels;
	uint64_t created_ns; /* realtime */
	bool ready;
	int pid; /* the sandbox's process (network namespace owner), 0 if unknown */
	/* From ListPodSandboxStats, when the runtime implements it. */
	bool has_stats;
	struct sample stats;
	uint64_t stats_realtime_ns;
	bool has_network;
	struct pod_network network;
};

struct cri_container {
	char *id;
	char *sandbox_id;
	char *name;
	uint64_t created_ns; /* realtime; kubelet reports it as the container's startTime */
	Runtime__V1__ContainerState state;
	/* From ListContainerStats. */
	bool has_rootfs;
	uint64_t rootfs_used_bytes, rootfs_inodes_used;
	bool has_stats;
	struct sample stats;
	uint64_t stats_realtime_ns;
	/* The container's log file (ContainerStatus log_path), asked once per
	 * container; NULL when unknown or the runtime keeps no log. Its
	 * directory holds the current and rotated logs, as kubelet counts. */
	char *log_path;
	bool has_logs;
	uint64_t logs_used_bytes;
};

struct cri_snapshot {
	uint64_t taken_realtime_ns;
	struct cri_pod *pods; /* sorted by uid, best sandbox first */
	size_t n_pods;
	struct cri_container *containers; /* sorted by id */
	size_t n_containers;
	const struct cri_pod **by_sandbox_id; /* the pods again, sorted by sandbox id */
	bool has_image_fs;
	char *image_fs_mountpoint;
	uint64_t image_fs_used_bytes, image_fs_inodes_used;
	uint64_t image_fs_realtime_ns;
};

/* The replies of one refresh; the optional ones may be NULL. */
struct cri_replies {
	const Runtime__V1__ListPodSandboxResponse *pods;
	const Runtime__V1__ListContainersResponse *containers;
	const Runtime__V1__ListContainerStatsResponse *container_stats; /* optional */
	const Runtime__V1__ListPodSandboxStatsResponse *pod_stats;      /* optional */
	const Runtime__V1__ImageFsInfoResponse *image_fs;               /* optional */
};

int cri_snapshot_build(const struct cri_replies *replies, uint64_t taken_realtime_ns, struct cri_snapshot **out,
		       struct cadet_error *err);
void cri_snapshot_free(struct cri_snapshot *snap);

/* The best sandbox of a pod uid (ready, then newest), or NULL. */
struct cri_pod *cri_snapshot_find_pod(const struct cri_snapshot *snap, const char *uid);
const struct cri_pod *cri_snapshot_find_sandbox(const struct cri_snapshot *snap, const char *sandbox_id);
const struct cri_container *cri_snapshot_find_container(const struct cri_snapshot *snap, const char *id);

/* CRI's stats messages in the agent's own terms (sample.have says
 * which fields the runtime gave). Exposed for tests. */
void cri_stats_from_cpu_memory(const Runtime__V1__CpuUsage *cpu, const Runtime__V1__MemoryUsage *memory,
			       struct sample *out);

#endif
