/* collect-cri.c: the refresh thread and the published snapshot (see
 * collect-cri.h).
 *
 * The thread owns the CRI client. A refresh asks Version (only until it
 * first answers after a start or an outage), ListPodSandbox and
 * ListContainers (required), then ListContainerStats, ListPodSandboxStats
 * (skipped for good once the runtime says UNIMPLEMENTED) and ImageFsInfo
 * (optional: a failure leaves their fields out), builds a snapshot, looks up
 * the pid of each new sandbox and reads its network namespace's counters,
 * looks up the log path of each new container and measures the log
 * directories, and swaps the snapshot in
 * under the lock. Being the only writer, the thread reads the current
 * snapshot without the lock. This thread logs, as the top level of its
 * own loop: the runtime's version, an outage once, and the recovery. */
#include "agent/collect-cri.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "agent/collect-container-logs.h"
#include "agent/collect-cri-client.h"
#include "agent/collect-cri-join.h"
#include "agent/collect-pod-network.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/timefmt.h"

/* A burst of new cgroups leads to one refresh, not one each. */
#define CRI_MIN_REFRESH_SPACING_NS (200 * NSEC_PER_MSEC)
/* Extra refreshes asked for ids that stay unknown (see cri_metadata_apply). */
#define CRI_UNKNOWN_RETRIES 3
/* However short the rate window, the runtime is not asked more often. */
#define CRI_MIN_REFRESH_INTERVAL_NS (500 * NSEC_PER_MSEC)

enum runtime_state {
	RUNTIME_UNKNOWN, /* no refresh finished yet */
	RUNTIME_UP,
	RUNTIME_DOWN,
};

struct cri_metadata {
	struct cri_client *client;
	uint64_t refresh_interval_ns;
	char *proc_root;
	/* thread side */
	enum runtime_state state;
	bool version_logged;
	bool pod_stats_unimplemented;
	/* shared, under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool thread_started;
	pthread_t thread;
	bool stopping;
	bool refresh_requested;
	struct cri_snapshot *current;
	uint64_t generation;         /* of current */
	uint64_t applied_generation; /* last one joined onto the store */
	uint64_t last_unknown_hash;
	uint64_t asked_generation; /* current when the last refresh was asked for */
	unsigned unknown_retries;  /* asked again for the same unknown ids */
	struct cri_metadata_counters counters;
};

int cri_metadata_create(const struct cri_metadata_options *opts, struct cri_metadata **out, struct cadet_error *err)
{
	struct cri_metadata *m = calloc(1, sizeof(*m));
	if (!m)
		return cadet_error_set(err, ENOMEM, "CRI metadata");
	m->refresh_interval_ns = opts->refresh_interval_ns ? opts->refresh_interval_ns : CRI_DEFAULT_REFRESH_INTERVAL_NS;
	if (opts->rate_window_ns && opts->rate_window_ns / 3 < m->refresh_interval_ns) {
		m->refresh_interval_ns = opts->rate_window_ns / 3;
		if (m->refresh_interval_ns < CRI_MIN_REFRESH_INTERVAL_NS)
			m->refresh_interval_ns = CRI_MIN_REFRESH_INTERVAL_NS;
	}
	m->proc_root = strdup(opts->proc_root ? opts->proc_root : "/proc");
	if (!m->proc_root) {
		free(m);
		return cadet_error_set(err, ENOMEM, "CRI metadata");
	}
	const char *endpoint = opts->endpoint ? opts->endpoint : CRI_DEFAULT_ENDPOINT;
	uint64_t timeout_ns = opts->timeout_ns ? opts->timeout_ns : CRI_DEFAULT_TIMEOUT_NS;
	if (cri_client_open(endpoint, timeout_ns, &m->client, err) < 0) {
		free(m->proc_root);
		free(m);
		return -1;
	}
	int r = cond_init_monotonic(&m->wake);
	if (r < 0) {
		cri_client_free(m->client);
		free(m->proc_root);
		free(m);
		return cadet_error_set(err, -r, "CRI metadata condition variable");
	}
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return 0;
}

void cri_metadata_publish(struct cri_metadata *m, struct cri_snapshot *snap)
{
	pthread_mutex_lock(&m->lock);
	struct cri_snapshot *old = m->current;
	m->current = snap;
	m->generation++;
	pthread_mutex_unlock(&m->lock);
	cri_snapshot_free(old);
}

/* containerd's verbose sandbox status has {"info": "{\"pid\": N, ...}"}. */
static int pid_from_status(const Runtime__V1__PodSandboxStatusResponse *resp)
{
	for (size_t i = 0; i < resp->n_info; i++) {
		if (strcmp(resp->info[i]->key, "info") != 0)
			continue;
		json_object *root = json_tokener_parse(resp->info[i]->value);
		if (!root)
			return 0;
		json_object *pid;
		int value = 0;
		if (json_object_object_get_ex(root, "pid", &pid) && json_object_is_type(pid, json_type_int))
			value = json_object_get_int(pid);
		json_object_put(root);
		return value > 0 ? value : 0;
	}
	return 0;
}

/* Gives each ready sandbox its pid: kept from the previous snapshot, or
 * asked once. A runtime that does not tell leaves pid 0 (pod network then
 * comes from CRI stats, if at all). */
static void fill_sandbox_pids(struct cri_metadata *m, struct cri_snapshot *snap)
{
	for (size_t i = 0; i < snap->n_pods; i++) {
		struct cri_pod *p = &snap->pods[i];
		if (!p->ready)
			continue;
		const struct cri_pod *prev = m->current ? cri_snapshot_find_sandbox(m->current, p->sandbox_id) : NULL;
		if (prev) {
			p->pid = prev->pid;
			continue;
		}
		_cleanup_(cri_message_freep) Runtime__V1__PodSandboxStatusResponse *resp = NULL;
		struct cadet_error err;
		if (cri_pod_sandbox_status(m->client, p->sandbox_id, &resp, &err) < 0) {
			log_debug("no pid for sandbox %s: %s", p->sandbox_id, err.msg);
			continue;
		}
		p->pid = pid_from_status(resp);
	}
}

/* Reads each pod's network from its sandbox process's namespace, as
 * cAdvisor does for kubelet; this replaces what ListPodSandboxStats said,
 * being read just now. Done here, once per refresh, not per collection
 * cycle: one net/dev read costs tens of microseconds, more than reading a
 * pod's cgroups. */
static void fill_pod_networks(struct cri_metadata *m, struct cri_snapshot *snap)
{
	for (size_t i = 0; i < snap->n_pods; i++) {
		struct cri_pod *p = &snap->pods[i];
		if (!p->ready || p->pid <= 0)
			continue;
		struct pod_network net;
		struct cadet_error err;
		if (pod_network_read(m->proc_root, p->pid, clock_realtime_ns(), &net, &err) == 0) {
			p->network = net;
			p->has_network = true;
		} else {
			log_debug("pod %s network: %s", p->uid, err.msg);
		}
	}
}

/* Gives each running container its log path (kept from the previous
 * snapshot, or asked once; "" when the runtime keeps no log) and the usage
 * of its log directory, measured at every refresh. */
static void fill_container_logs(struct cri_metadata *m, struct cri_snapshot *snap)
{
	for (size_t i = 0; i < snap->n_containers; i++) {
		struct cri_container *c = &snap->containers[i];
		if (c->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING)
			continue;
		const struct cri_container *prev = m->current ? cri_snapshot_find_container(m->current, c->id) : NULL;
		if (prev && prev->log_path) {
			c->log_path = strdup(prev->log_path);
		} else {
			_cleanup_(cri_message_freep) Runtime__V1__ContainerStatusResponse *resp = NULL;
			struct cadet_error err;
			if (cri_container_status(m->client, c->id, &resp, &err) < 0) {
				log_debug("no log path for container %s: %s", c->id, err.msg);
				continue; /* asked again at the next refresh */
			}
			c->log_path = strdup(resp->status && resp->status->log_path ? resp->status->log_path : "");
		}
		if (!c->log_path || !c->log_path[0])
			continue;
		struct cadet_error err;
		uint64_t inodes_used; /* kubelet's logs stats have it; the Summary API does not serve it */
		if (container_logs_usage(c->log_path, &c->logs_used_bytes, &inodes_used, &err) == 0)
			c->has_logs = true;
		else
			log_debug("%s", err.msg);
	}
}

static void runtime_failed(struct cri_metadata *m, const struct cadet_error *err)
{
	if (m->state != RUNTIME_DOWN)
		log_warn("container runtime unavailable, keeping the last known pod and container names: %s",
			 err->msg);
	else
		log_debug("container runtime still unavailable: %s", err->msg);
	m->state = RUNTIME_DOWN;
	m->version_logged = false; /* a restart may bring another version */
	pthread_mutex_lock(&m->lock);
	m->counters.refresh_failures++;
	m->counters.runtime_up = false;
	pthread_mutex_unlock(&m->lock);
}

/* The calls of one refresh; fails when a required call fails. */
static int refresh_snapshot(struct cri_metadata *m, struct cadet_error *err)
{
	_cleanup_(cri_message_freep) Runtime__V1__ListPodSandboxResponse *pods = NULL;
	_cleanup_(cri_message_freep) Runtime__V1__ListContainersResponse *containers = NULL;
	_cleanup_(cri_message_freep) Runtime__V1__ListContainerStatsResponse *container_stats = NULL;
	_cleanup_(cri_message_freep) Runtime__V1__ListPodSandboxStatsResponse *pod_stats = NULL;
	_cleanup_(cri_message_freep) Runtime__V1__ImageFsInfoResponse *image_fs = NULL;

	if (!m->version_logged) {
		_cleanup_(cri_message_freep) Runtime__V1__VersionResponse *version = NULL;
		if (cri_version(m->client, &version, err) < 0)
			return -1;
		log_info("container runtime %s %s (CRI %s) at %s", version->runtime_name, version->runtime_version,
			 version->runtime_api_version, cri_client_endpoint(m->client));
		m->version_logged = true;
	}
	if (cri_list_pod_sandbox(m->client, &pods, err) < 0 || cri_list_containers(m->client, &containers, err) < 0)
		return -1;

	struct cadet_error opt_err;
	if (cri_list_container_stats(m->client, &container_stats, &opt_err) < 0)
		log_debug("%s", opt_err.msg);
	if (!m->pod_stats_unimplemented && cri_list_pod_sandbox_stats(m->client, &pod_stats, &opt_err) < 0) {
		/* Older runtimes lack it; containerd 1.6 fails it whole when any
		 * pod has no cgroup parent. Either way: per-container stats. */
		if (cri_error_is_unimplemented(&opt_err))
			m->pod_stats_unimplemented = true;
		log_debug("%s", opt_err.msg);
	}
	if (cri_image_fs_info(m->client, &image_fs, &opt_err) < 0)
		log_debug("%s", opt_err.msg);

	struct cri_replies replies = {
		.pods = pods,
		.containers = containers,
		.container_stats = container_stats,
		.pod_stats = pod_stats,
		.image_fs = image_fs,
	};
	struct cri_snapshot *snap;
	if (cri_snapshot_build(&replies, clock_realtime_ns(), &snap, err) < 0)
		return -1;
	fill_sandbox_pids(m, snap);
	fill_pod_networks(m, snap);
	fill_container_logs(m, snap);
	cri_metadata_publish(m, snap);
	return 0;
}

int cri_metadata_refresh_once(struct cri_metadata *m, struct cadet_error *err)
{
	uint64_t start_ns = clock_monotonic_ns();
	if (refresh_snapshot(m, err) < 0) {
		runtime_failed(m, err);
		return -1;
	}
	if (m->state == RUNTIME_DOWN)
		log_info("container runtime at %s is back", cri_client_endpoint(m->client));
	m->state = RUNTIME_UP;
	pthread_mutex_lock(&m->lock);
	m->counters.refreshes++;
	m->counters.runtime_up = true;
	m->counters.last_refresh_ns = clock_monotonic_ns() - start_ns;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static void *refresh_thread(void *arg)
{
	struct cri_metadata *m = arg;
	for (;;) {
		struct cadet_error err;
		cri_metadata_refresh_once(m, &err); /* failures are logged inside */

		pthread_mutex_lock(&m->lock);
		/* a short pause even when asked again, so bursts coalesce */
		struct timespec spacing = clock_monotonic_after(CRI_MIN_REFRESH_SPACING_NS);
		while (!m->stopping && pthread_cond_timedwait(&m->wake, &m->lock, &spacing) != ETIMEDOUT)
			;
		struct timespec next = clock_monotonic_after(m->refresh_interval_ns);
		while (!m->stopping && !m->refresh_requested) {
			if (pthread_cond_timedwait(&m->wake, &m->lock, &next) == ETIMEDOUT)
				break;
		}
		m->refresh_requested = false;
		bool stop = m->stopping;
		pthread_mutex_unlock(&m->lock);
		if (stop)
			break;
	}
	return NULL;
}

int cri_metadata_start(const struct cri_metadata_options *opts, struct cri_metadata **out, struct cadet_error *err)
{
	struct cri_metadata *m;
	if (cri_metadata_create(opts, &m, err) < 0)
		return -1;
	int rc = pthread_create(&m->thread, NULL, refresh_thread, m);
	if (rc != 0) {
		cri_metadata_stop(m);
		return cadet_error_set(err, rc, "CRI metadata thread");
	}
	m->thread_started = true;
	*out = m;
	return 0;
}

void cri_metadata_stop(struct cri_metadata *m)
{
	if (!m)
		return;
	if (m->thread_started) {
		pthread_mutex_lock(&m->lock);
		m->stopping = true;
		pthread_cond_signal(&m->wake);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
	}
	cri_client_free(m->client);
	cri_snapshot_free(m->current);
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->lock);
	free(m->proc_root);
	free(m);
}

void cri_metadata_request_refresh(struct cri_metadata *m)
{
	pthread_mutex_lock(&m->lock);
	m->refresh_requested = true;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
}

int cri_metadata_apply(struct cri_metadata *m, struct store *s, struct cadet_error *err)
{
	pthread_mutex_lock(&m->lock);
	if (!m->current) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	struct cri_join_options opts = {
		.new_snapshot = m->generation != m->applied_generation,
		.now = sample_time_now(),
	};
	struct cri_join_result result;
	int rc = cri_join_apply(m->current, s, &opts, &result, err);
	if (rc == 0)
		m->applied_generation = m->generation;
	/* Ids the runtime did not know at the last refresh: likely new
	 * containers. Ask when that set changes, and again (a few times, each
	 * after the previous answer arrived) while it stays: a sandbox's cgroup
	 * shows up before RunPodSandbox returns and the runtime lists it. Not
	 * every cycle: cgroups of other runtimes never become known. */
	bool ask = false;
	if (result.unknown > 0 && result.unknown_hash != m->last_unknown_hash) {
		ask = true;
		m->unknown_retries = 0;
	} else if (result.unknown > 0 && m->unknown_retries < CRI_UNKNOWN_RETRIES &&
		   m->generation > m->asked_generation) {
		ask = true;
		m->unknown_retries++;
	}
	m->last_unknown_hash = result.unknown_hash;
	if (ask) {
		m->asked_generation = m->generation;
		m->refresh_requested = true;
		pthread_cond_signal(&m->wake);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void cri_metadata_counters(struct cri_metadata *m, struct cri_metadata_counters *out)
{
	pthread_mutex_lock(&m->lock);
	*out = m->counters;
	pthread_mutex_unlock(&m->lock);
}
