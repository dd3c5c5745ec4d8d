/* store.c: the sample store (see store.h). Rates come from a ring of
 * (monotonic time, cumulative CPU) pairs per series: on every record the
 * entries older than the window are dropped and the rate is the CPU delta
 * between the oldest kept and the newest entry over their time delta.
 * Each sweep counts its rounds; a record stamps its series (and a
 * container's pod) with the current round of its source's sweep, so the
 * end of a round finds the series it did not see by comparing numbers. */
#include "agent/store.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/duration.h"

static int series_init(struct series *s, uint32_t ring_cap, struct cadet_error *err)
{
	memset(s, 0, sizeof(*s));
	s->ring_monotonic_ns = calloc(ring_cap, sizeof(uint64_t));
	s->ring_cpu_ns = calloc(ring_cap, sizeof(uint64_t));
	if (!s->ring_monotonic_ns || !s->ring_cpu_ns) {
		free(s->ring_monotonic_ns);
		free(s->ring_cpu_ns);
		s->ring_monotonic_ns = s->ring_cpu_ns = NULL;
		return cadet_error_set(err, ENOMEM, "sample ring");
	}
	s->ring_cap = ring_cap;
	return 0;
}

static void series_free(struct series *s)
{
	free(s->ring_monotonic_ns);
	free(s->ring_cpu_ns);
	s->ring_monotonic_ns = s->ring_cpu_ns = NULL;
}

static uint32_t ring_index(const struct series *s, uint32_t age)
{
	/* age 0 = newest */
	return (s->ring_head + s->ring_cap - age) % s->ring_cap;
}

/* Adds a sample's CPU time to the ring and recomputes the rate. */
static void ring_add(struct store *st, struct series *s, uint64_t now, const struct sample *v)
{
	if (!(v->have & SAMPLE_HAVE_CPU)) {
		s->ring_count = 0;
		s->has_rate = false;
		return;
	}
	if (s->ring_count > 0) {
		uint32_t newest = ring_index(s, 0);
		/* A counter that goes backwards means the cgroup was recreated;
		 * a clock that does not advance means a duplicate record. */
		if (v->cpu_usage_ns < s->ring_cpu_ns[newest]) {
			s->ring_count = 0;
		} else if (now <= s->ring_monotonic_ns[newest]) {
			s->ring_cpu_ns[newest] = v->cpu_usage_ns;
			return;
		}
	}
	s->ring_head = s->ring_count == 0 ? 0 : (s->ring_head + 1) % s->ring_cap;
	s->ring_monotonic_ns[s->ring_head] = now;
	s->ring_cpu_ns[s->ring_head] = v->cpu_usage_ns;
	if (s->ring_count < s->ring_cap)
		s->ring_count++;
	/* Drop entries older than the window, keeping at least two. */
	while (s->ring_count > 2 && now - s->ring_monotonic_ns[ring_index(s, s->ring_count - 1)] > st->window_ns)
		s->ring_count--;
	if (s->ring_count < 2) {
		s->has_rate = false;
		return;
	}
	uint32_t oldest = ring_index(s, s->ring_count - 1);
	uint64_t dt = now - s->ring_monotonic_ns[oldest];
	uint64_t dcpu = v->cpu_usage_ns - s->ring_cpu_ns[oldest];
	s->usage_nano_cores = (uint64_t)((long double)dcpu * (long double)NSEC_PER_SEC / (long double)dt);
	s->rate_window_ns = dt;
	s->has_rate = true;
}

static enum store_sweep sweep_of(enum sample_source source)
{
	return sample_source_from_runtime(source) ? STORE_SWEEP_RUNTIME : STORE_SWEEP_WALK;
}

static void series_mark_seen(struct store *st, struct series *s, enum sample_source source,
			     const struct sample_time *at)
{
	s->sweep = sweep_of(source);
	s->seen_round = st->round[s->sweep];
	/* seen when its sweep saw it, even if the source's sample is older
	 * (a runtime that caches its stats between our snapshots) */
	uint64_t seen = at->monotonic_ns;
	if (st->sweep_at[s->sweep].monotonic_ns > seen)
		seen = st->sweep_at[s->sweep].monotonic_ns;
	if (seen > s->seen_monotonic_ns)
		s->seen_monotonic_ns = seen;
	s->vanished = false;
}

static void series_record(struct store *st, struct series *s, enum sample_source source,
			  const struct sample_time *at, const struct sample *sample)
{
	series_mark_seen(st, s, source, at);
	if (!sample)
		return;
	/* read before a newer sample arrived (a late event): nothing to add */
	if (s->has_sample && at->monotonic_ns < s->at.monotonic_ns)
		return;
	struct sample v = *sample;
	if (source == SAMPLE_SOURCE_BPF_RMDIR && s->has_sample) {
		/* the final CPU time on top of the last full values */
		v = s->latest;
		v.have |= SAMPLE_HAVE_CPU;
		v.cpu_usage_ns = sample->cpu_usage_ns;
	}
	s->latest = v;
	s->at = *at;
	s->source = source;
	s->has_sample = true;
	ring_add(st, s, at->monotonic_ns, &v);
}

static void series_reset(struct series *s)
{
	uint64_t *mono = s->ring_monotonic_ns, *cpu = s->ring_cpu_ns;
	uint32_t cap = s->ring_cap;
	memset(s, 0, sizeof(*s));
	s->ring_monotonic_ns = mono;
	s->ring_cpu_ns = cpu;
	s->ring_cap = cap;
}

int store_init(struct store *s, uint64_t window_ns, uint64_t interval_ns, struct cadet_error *err)
{
	memset(s, 0, sizeof(*s));
	if (interval_ns == 0 || window_ns == 0)
		return cadet_error_set(err, EINVAL, "interval and window must be positive");
	uint64_t cap = window_ns / interval_ns + 2;
	if (window_ns / interval_ns > STORE_MAX_WINDOW_INTERVALS)
		return cadet_error_set(err, EINVAL, "window is more than %d intervals", STORE_MAX_WINDOW_INTERVALS);
	s->window_ns = window_ns;
	s->ring_cap = (uint32_t)cap;
	if (series_init(&s->node, s->ring_cap, err) < 0 || series_init(&s->kubepods, s->ring_cap, err) < 0) {
		store_free(s);
		return -1;
	}
	return 0;
}

static void container_free(struct store_container *c)
{
	free(c->id);
	container_metadata_clear(&c->meta);
	series_free(&c->series);
}

static void pod_free(struct store_pod *p)
{
	for (size_t i = 0; i < p->n_containers; i++)
		container_free(&p->containers[i]);
	free(p->containers);
	free(p->uid);
	pod_metadata_clear(&p->meta);
	series_free(&p->series);
}

void store_free(struct store *s)
{
	for (size_t i = 0; i < s->n_pods; i++)
		pod_free(&s->pods[i]);
	free(s->pods);
	series_free(&s->node);
	series_free(&s->kubepods);
	memset(s, 0, sizeof(*s));
}

void store_begin_sweep(struct store *s, enum store_sweep sweep, const struct sample_time *at)
{
	s->round[sweep]++;
	s->sweep_at[sweep] = *at;
	if (sweep == STORE_SWEEP_WALK)
		s->walks++;
}

void store_set_node_info(struct store *s, const struct node_info *info)
{
	s->node_info = *info;
}

/* Binary search over an array of structs sorted by a `char *` member at
 * key_offset; returns the index where key is or would be. */
static size_t sorted_position(const void *items, size_t n, size_t item_size, size_t key_offset, const char *key,
			      bool *found)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *mid_key = *(char *const *)((const char *)items + mid * item_size + key_offset);
		int c = strcmp(mid_key, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static size_t pod_position(const struct store *s, const char *uid, bool *found)
{
	return sorted_position(s->pods, s->n_pods, sizeof(*s->pods), offsetof(struct store_pod, uid), uid, found);
}

static size_t container_position(const struct store_pod *p, const char *id, bool *found)
{
	return sorted_position(p->containers, p->n_containers, sizeof(*p->containers),
			       offsetof(struct store_container, id), id, found);
}

struct store_pod *store_find_pod(struct store *s, const char *uid)
{
	bool found;
	size_t i = pod_position(s, uid, &found);
	return found ? &s->pods[i] : NULL;
}

struct store_container *store_find_container(struct store_pod *pod, const char *id)
{
	bool found;
	size_t i = container_position(pod, id, &found);
	return found ? &pod->containers[i] : NULL;
}

static int grow(void **array, size_t *cap, size_t n, size_t elem, struct cadet_error *err)
{
	if (n < *cap)
		return 0;
	size_t new_cap = *cap ? *cap * 2 : 8;
	void *p = realloc(*array, new_cap * elem);
	if (!p)
		return cadet_error_set(err, ENOMEM, "store");
	*array = p;
	*cap = new_cap;
	return 0;
}

/* Finds or adds the pod with this uid. */
static int pod_for(struct store *s, const char *uid, struct store_pod **out, struct cadet_error *err)
{
	bool found;
	size_t i = pod_position(s, uid, &found);
	if (!found) {
		if (grow((void **)&s->pods, &s->cap_pods, s->n_pods, sizeof(*s->pods), err) < 0)
			return -1;
		struct store_pod pod = { 0 };
		pod.uid = strdup(uid);
		if (!pod.uid)
			return cadet_error_set(err, ENOMEM, "pod %s", uid);
		if (series_init(&pod.series, s->ring_cap, err) < 0) {
			free(pod.uid);
			return cadet_error_prefix(err, "pod %s", uid);
		}
		memmove(&s->pods[i + 1], &s->pods[i], (s->n_pods - i) * sizeof(*s->pods));
		s->pods[i] = pod;
		s->n_pods++;
	}
	*out = &s->pods[i];
	return 0;
}

/* Finds or adds the container with this id in pod. */
static int container_for(struct store *s, struct store_pod *pod, const char *id, struct store_container **out,
			 struct cadet_error *err)
{
	bool found;
	size_t i = container_position(pod, id, &found);
	if (!found) {
		if (grow((void **)&pod->containers, &pod->cap_containers, pod->n_containers,
			 sizeof(*pod->containers), err) < 0)
			return -1;
		struct store_container c = { 0 };
		c.id = strdup(id);
		if (!c.id)
			return cadet_error_set(err, ENOMEM, "container %s", id);
		if (series_init(&c.series, s->ring_cap, err) < 0) {
			free(c.id);
			return cadet_error_prefix(err, "container %s", id);
		}
		memmove(&pod->containers[i + 1], &pod->containers[i],
			(pod->n_containers - i) * sizeof(*pod->containers));
		pod->containers[i] = c;
		pod->n_containers++;
	}
	*out = &pod->containers[i];
	return 0;
}

int store_record(struct store *s, const struct sample_key *key, enum sample_source source,
		 const struct sample_time *at, const struct sample *sample, struct cadet_error *err)
{
	switch (key->kind) {
	case SAMPLE_KEY_NODE:
		series_record(s, &s->node, source, at, sample);
		return 0;
	case SAMPLE_KEY_KUBEPODS:
		series_record(s, &s->kubepods, source, at, sample);
		return 0;
	case SAMPLE_KEY_POD:
	case SAMPLE_KEY_CONTAINER:
		break;
	}
	if (!key->pod_uid || (key->kind == SAMPLE_KEY_CONTAINER && !key->container_id))
		return cadet_error_set(err, EINVAL, "sample key without %s", key->pod_uid ? "container id" : "pod uid");
	struct store_pod *p;
	if (pod_for(s, key->pod_uid, &p, err) < 0)
		return -1;
	if (key->qos != POD_QOS_UNKNOWN)
		p->qos = key->qos;
	if (key->kind == SAMPLE_KEY_POD) {
		if (key->started_realtime_ns)
			p->cgroup_start_ns = key->started_realtime_ns;
		series_record(s, &p->series, source, at, sample);
		return 0;
	}
	struct store_container *c;
	if (container_for(s, p, key->container_id, &c, err) < 0)
		return cadet_error_prefix(err, "pod %s", key->pod_uid);
	if (key->started_realtime_ns)
		c->cgroup_start_ns = key->started_realtime_ns;
	series_record(s, &c->series, source, at, sample);
	/* a pod is there while one of its containers is */
	series_mark_seen(s, &p->series, source, at);
	return 0;
}

bool store_pod_walked(const struct store *s, const struct store_pod *p)
{
	return p->series.sweep == STORE_SWEEP_WALK && p->series.seen_round == s->round[STORE_SWEEP_WALK] &&
	       !p->series.vanished;
}

/* Marks a series of the ending sweep that it did not see as vanished, and
 * a runtime series the runtime has not refreshed for a window as stale;
 * true when the series is vanished (or stale) and more than a window old. */
static bool series_expired(const struct store *s, enum store_sweep sweep, struct series *se)
{
	uint64_t now = s->sweep_at[sweep].monotonic_ns;
	uint64_t age = now > se->seen_monotonic_ns ? now - se->seen_monotonic_ns : 0;
	if (se->sweep == sweep && se->seen_round != s->round[sweep])
		se->vanished = true;
	if (se->sweep == STORE_SWEEP_RUNTIME && sweep != STORE_SWEEP_RUNTIME && age > s->window_ns)
		se->vanished = true; /* the runtime stopped answering */
	return se->vanished && age > s->window_ns;
}

void store_end_sweep(struct store *s, enum store_sweep sweep)
{
	size_t kept_pods = 0;
	for (size_t i = 0; i < s->n_pods; i++) {
		struct store_pod *p = &s->pods[i];
		size_t kept = 0;
		for (size_t j = 0; j < p->n_containers; j++) {
			struct store_container *c = &p->containers[j];
			if (series_expired(s, sweep, &c->series)) {
				container_free(c);
				continue;
			}
			p->containers[kept++] = *c;
		}
		p->n_containers = kept;
		if (series_expired(s, sweep, &p->series) && p->n_containers == 0) {
			pod_free(p);
			continue;
		}
		s->pods[kept_pods++] = *p;
	}
	s->n_pods = kept_pods;
	if (series_expired(s, sweep, &s->node))
		series_reset(&s->node);
	if (series_expired(s, sweep, &s->kubepods))
		series_reset(&s->kubepods);
}

size_t store_count_containers(const struct store *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_pods; i++)
		n += s->pods[i].n_containers;
	return n;
}

static char *dup_or_null(const char *s, bool *failed)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

int pod_metadata_set(struct pod_metadata *dst, const struct pod_metadata *src, struct cadet_error *err)
{
	struct pod_metadata m = { 0 };
	bool failed = false;
	m.name = dup_or_null(src->name, &failed);
	m.namespace = dup_or_null(src->namespace, &failed);
	m.start_time_ns = src->start_time_ns;
	if (src->n_labels > 0) {
		m.labels = calloc(src->n_labels, sizeof(*m.labels));
		if (!m.labels)
			failed = true;
		for (size_t i = 0; m.labels && i < src->n_labels; i++) {
			m.labels[i].key = dup_or_null(src->labels[i].key, &failed);
			m.labels[i].value = dup_or_null(src->labels[i].value, &failed);
			m.n_labels++;
		}
	}
	if (failed) {
		pod_metadata_clear(&m);
		return cadet_error_set(err, ENOMEM, "pod metadata");
	}
	pod_metadata_clear(dst);
	*dst = m;
	return 0;
}

void pod_metadata_clear(struct pod_metadata *m)
{
	free(m->name);
	free(m->namespace);
	for (size_t i = 0; i < m->n_labels; i++) {
		free(m->labels[i].key);
		free(m->labels[i].value);
	}
	free(m->labels);
	memset(m, 0, sizeof(*m));
}

int container_metadata_set(struct container_metadata *dst, const struct container_metadata *src,
			   struct cadet_error *err)
{
	struct container_metadata m = *src;
	bool failed = false;
	m.name = dup_or_null(src->name, &failed);
	if (failed)
		return cadet_error_set(err, ENOMEM, "container metadata");
	container_metadata_clear(dst);
	*dst = m;
	return 0;
}

void container_metadata_clear(struct container_metadata *m)
{
	free(m->name);
	memset(m, 0, sizeof(*m));
}
