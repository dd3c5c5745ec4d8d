/* collect-bpf.c: applies BPF cgroup events to the collection and the store
 * (see collect-bpf.h). Runs on the agent's loop thread, between cycles.
 *
 * A final sample is recorded at the event's own time with source
 * SAMPLE_SOURCE_BPF_RMDIR: the store keeps the container's last polled
 * values (memory etc.) and replaces only the CPU time; a container never
 * polled gets CPU alone; one the walk read after the event keeps that read.
 * The next walk does not see it, so it vanishes then and expires a window
 * after the event. */
#include "agent/collect-bpf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect-bpf-cgroup-events.h"
#include "agent/collect-cgroup-path.h"
#include "common/duration.h"
#include "common/timefmt.h"

#define RECENT_MKDIRS 256
#define PENDING_OOMS 64
#define PENDING_OOM_TTL_NS (120 * NSEC_PER_SEC)

struct recent_mkdir {
	uint64_t cgroup_id;
	uint64_t realtime_ns;
};

/* An OOM kill for a container the store does not know yet. */
struct pending_oom {
	char pod_uid[POD_UID_MAX + 1];
	char container_id[CONTAINER_ID_MAX + 1];
	uint64_t count;
	uint64_t monotonic_ns;
};

struct agent_bpf {
	struct bpf_cgroup_events *events;
	struct event *readable;
	struct event *retry;
	struct collection *collection;
	struct store *store;
	uint32_t cpu_controller; /* CGROUP_EVENT_CTRL_CPUACCT or _CGROUP2 */
	struct recent_mkdir mkdirs[RECENT_MKDIRS];
	size_t next_mkdir;
	struct pending_oom pending[PENDING_OOMS];
	size_t n_pending;
	struct agent_bpf_counters counters;
};

static void remember_mkdir(struct agent_bpf *b, const struct cgroup_event *e)
{
	struct sample_time now = sample_time_now();
	struct sample_time at = sample_time_from_monotonic(e->monotonic_ns, &now);
	b->mkdirs[b->next_mkdir] = (struct recent_mkdir){ e->cgroup_id, at.realtime_ns };
	b->next_mkdir = (b->next_mkdir + 1) % RECENT_MKDIRS;
}

static uint64_t mkdir_time(const struct agent_bpf *b, uint64_t cgroup_id)
{
	for (size_t i = 0; i < RECENT_MKDIRS; i++)
		if (b->mkdirs[i].cgroup_id == cgroup_id)
			return b->mkdirs[i].realtime_ns;
	return 0;
}

/* The CPU time the kernel held at rmdir, as the container's final sample:
 * the store keeps its other values from the last poll. */
static int record_final_sample(struct agent_bpf *b, const struct cgroup_event *e, const struct cgroup_identity *id,
			       struct cadet_error *err)
{
	struct sample_time now = sample_time_now();
	struct sample_time at = sample_time_from_monotonic(e->monotonic_ns, &now);
	struct sample_key key = {
		.kind = SAMPLE_KEY_CONTAINER,
		.pod_uid = id->pod_uid,
		.container_id = id->container_id,
		.qos = id->qos,
		.started_realtime_ns = mkdir_time(b, e->cgroup_id),
	};
	struct sample final = { .have = SAMPLE_HAVE_CPU, .cpu_usage_ns = e->cpu_usage_ns };
	if (store_record(b->store, &key, SAMPLE_SOURCE_BPF_RMDIR, &at, &final, err) < 0)
		return cadet_error_prefix(err, "final sample of container %s", id->container_id);
	b->counters.final_samples++;
	return 0;
}

/* Counts OOM kills onto containers now in the store; drops old ones. */
static void apply_pending_ooms(struct agent_bpf *b)
{
	uint64_t now = clock_monotonic_ns();
	size_t kept = 0;
	for (size_t i = 0; i < b->n_pending; i++) {
		struct pending_oom *p = &b->pending[i];
		struct store_pod *pod = store_find_pod(b->store, p->pod_uid);
		struct store_container *ctr = pod ? store_find_container(pod, p->container_id) : NULL;
		if (ctr) {
			ctr->oom_events += p->count;
			b->counters.oom_kills += p->count;
			continue;
		}
		if (now - p->monotonic_ns > PENDING_OOM_TTL_NS)
			continue;
		b->pending[kept++] = *p;
	}
	b->n_pending = kept;
}

static void arm_retry(struct agent_bpf *b)
{
	struct timeval one_second = { .tv_sec = 1 };
	if (b->n_pending > 0 && !event_pending(b->retry, EV_TIMEOUT, NULL))
		(void)event_add(b->retry, &one_second); /* fails only without memory; next OOM re-arms */
}

static void count_oom(struct agent_bpf *b, const struct cgroup_event *e, const struct cgroup_identity *id)
{
	for (size_t i = 0; i < b->n_pending; i++) {
		struct pending_oom *p = &b->pending[i];
		if (strcmp(p->pod_uid, id->pod_uid) == 0 && strcmp(p->container_id, id->container_id) == 0) {
			p->count++;
			apply_pending_ooms(b);
			arm_retry(b);
			return;
		}
	}
	if (b->n_pending == PENDING_OOMS)
		memmove(&b->pending[0], &b->pending[1], (PENDING_OOMS - 1) * sizeof(b->pending[0]));
	else
		b->n_pending++;
	struct pending_oom *p = &b->pending[b->n_pending - 1];
	memcpy(p->pod_uid, id->pod_uid, sizeof(p->pod_uid));
	memcpy(p->container_id, id->container_id, sizeof(p->container_id));
	p->count = 1;
	p->monotonic_ns = e->monotonic_ns;
	apply_pending_ooms(b);
	arm_retry(b);
}

static int on_event(const struct cgroup_event *e, void *ctx, struct cadet_error *err)
{
	struct agent_bpf *b = ctx;
	struct cgroup_identity id;

	b->counters.events++;
	if (e->have & CGROUP_EVENT_PATH_TRUNCATED)
		return 0;
	cgroup_path_classify(e->path, &id);
	if (id.kind == CGROUP_KIND_OTHER)
		return 0;
	switch (e->type) {
	case CGROUP_EVENT_MKDIR:
		if (!(e->controllers & b->cpu_controller))
			return 0;
		if (id.kind == CGROUP_KIND_CONTAINER)
			remember_mkdir(b, e);
		collection_request_scan(b->collection);
		b->counters.rescans++;
		return 0;
	case CGROUP_EVENT_RMDIR:
		if (!(e->controllers & b->cpu_controller) || id.kind != CGROUP_KIND_CONTAINER ||
		    !(e->have & CGROUP_EVENT_HAVE_CPU))
			return 0;
		return record_final_sample(b, e, &id, err);
	case CGROUP_EVENT_OOM:
		if (id.kind == CGROUP_KIND_CONTAINER)
			count_oom(b, e, &id);
		return 0;
	}
	return 0;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct agent_bpf *b = arg;
	struct cadet_error err;
	(void)fd;
	(void)what;
	/* A failure (out of memory in the store) costs one event; the loop
	 * goes on, so the error is not passed anywhere. */
	(void)bpf_cgroup_events_consume(b->events, on_event, b, &err);
	b->counters.dropped = bpf_cgroup_events_dropped(b->events);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	apply_pending_ooms(arg);
	arm_retry(arg);
}

int agent_bpf_start(struct event_base *base, struct collection *collection, struct store *store,
		    const struct agent_bpf_options *opts, struct agent_bpf **out, struct cadet_error *err)
{
	struct agent_bpf *b = calloc(1, sizeof(*b));
	if (!b)
		return cadet_error_set(err, errno, "allocating BPF state");
	b->collection = collection;
	b->store = store;
	b->cpu_controller = opts->cpu_from_cgroup2 ? CGROUP_EVENT_CTRL_CGROUP2 : CGROUP_EVENT_CTRL_CPUACCT;
	struct bpf_cgroup_events_options eopts = {
		.controllers = b->cpu_controller,
		.path_prefix = "/kubepods", /* cgroupfs and systemd drivers both */
	};
	if (bpf_cgroup_events_open(&eopts, &b->events, err) < 0) {
		free(b);
		return -1;
	}
	b->readable = event_new(base, bpf_cgroup_events_fd(b->events), EV_READ | EV_PERSIST, on_readable, b);
	b->retry = event_new(base, -1, 0, on_retry, b);
	if (!b->readable || !b->retry || event_add(b->readable, NULL) < 0) {
		agent_bpf_free(b);
		return cadet_error_set(err, ENOMEM, "adding BPF events to the event loop");
	}
	*out = b;
	return 0;
}

const struct agent_bpf_counters *agent_bpf_counters(struct agent_bpf *b)
{
	return &b->counters;
}

void agent_bpf_free(struct agent_bpf *b)
{
	if (!b)
		return;
	if (b->readable)
		event_free(b->readable);
	if (b->retry)
		event_free(b->retry);
	bpf_cgroup_events_close(b->events);
	free(b);
}
