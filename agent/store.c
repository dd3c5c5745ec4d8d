/* store.c: the sample store (see store.h). Rates come from a ring of
 * (monotonic time, cumulative CPU) pairs per series: on every record the
 * entries older than the window are dropped and the rate is the CPU delta
 * between the oldest kept and the newest entry over their time delta. */
#include "agent/store.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

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

static void series_record(struct store *st, struct series *s, const struct cgroup_stats *stats)
{
	s->latest = *stats;
	s->sample_realtime_ns = st->cycle_realtime_ns;
	s->sample_monotonic_ns = st->cycle_monotonic_ns;
	s->seen_this_cycle = true;
	s->vanished = false;
	if (!(stats->have & CGROUP_HAVE_CPU)) {
		s->ring_count = 0;
		s->has_rate = false;
		return;
	}
	uint64_t now = st->cycle_monotonic_ns;
	if (s->ring_count > 0) {
		uint32_t newest = ring_index(s, 0);
		/* A counter that goes backwards means the cgroup was recreated;
		 * a clock that does not advance means a duplicate record. */
		if (stats->cpu_usage_ns < s->ring_cpu_ns[newest]) {
			s->ring_count = 0;
		} else if (now <= s->ring_monotonic_ns[newest]) {
			s->ring_cpu_ns[newest] = stats->cpu_usage_ns;
			return;
		}
	}
	s->ring_head = s->ring_count == 0 ? 0 : (s->ring_head + 1) % s->ring_cap;
	s->ring_monotonic_ns[s->ring_head] = now;
	s->ring_cpu_ns[s->ring_head] = stats->cpu_usage_ns;
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
	uint64_t dcpu = stats->cpu_usage_ns - s->ring_cpu_ns[oldest];
	s->usage_nano_cores = (uint64_t)((long double)dcpu * 1e9L / (long double)dt);
	s->rate_window_ns = dt;
	s->has_rate = true;
}

int store_init(struct store *s, uint64_t window_ns, uint64_t interval_ns, struct cadet_error *err)
{
	memset(s, 0, sizeof(*s));
	if (interval_ns == 0 || window_ns == 0)
		return cadet_error_set(err, EINVAL, "interval and window must be positive");
	uint64_t cap = window_ns / interval_ns + 2;
	if (cap > 4096)
		return cadet_error_set(err, EINVAL, "window is more than 4094 intervals");
	s->window_ns = window_ns;
	s->ring_cap = (uint32_t)cap;
	if (series_init(&s->node, s->ring_cap, err) != 0 || series_init(&s->kubepods, s->ring_cap, err) != 0) {
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

void store_begin_cycle(struct store *s, uint64_t monotonic_ns, uint64_t realtime_ns)
{
	s->cycle_monotonic_ns = monotonic_ns;
	s->cycle_realtime_ns = realtime_ns;
	s->cycles++;
	s->node.seen_this_cycle = false;
	s->kubepods.seen_this_cycle = false;
	for (size_t i = 0; i < s->n_pods; i++) {
		struct store_pod *p = &s->pods[i];
		p->series.seen_this_cycle = false;
		for (size_t j = 0; j < p->n_containers; j++)
			p->containers[j].series.seen_this_cycle = false;
	}
}

int store_record_node(struct store *s, const struct cgroup_stats *stats, const struct node_info *info,
		      struct cadet_error *err)
{
	(void)err;
	series_record(s, &s->node, stats);
	s->node_info = *info;
	return 0;
}

int store_record_kubepods(struct store *s, const struct cgroup_stats *stats, struct cadet_error *err)
{
	(void)err;
	series_record(s, &s->kubepods, stats);
	s->has_kubepods = true;
	return 0;
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

int store_record_pod(struct store *s, const char *uid, enum pod_qos qos, uint64_t cgroup_start_ns,
		     const struct cgroup_stats *stats, struct store_pod **out, struct cadet_error *err)
{
	bool found;
	size_t i = pod_position(s, uid, &found);
	if (!found) {
		if (grow((void **)&s->pods, &s->cap_pods, s->n_pods, sizeof(*s->pods), err) != 0)
			return -1;
		struct store_pod pod = { 0 };
		pod.uid = strdup(uid);
		if (!pod.uid)
			return cadet_error_set(err, ENOMEM, "pod %s", uid);
		if (series_init(&pod.series, s->ring_cap, err) != 0) {
			free(pod.uid);
			return cadet_error_prefix(err, "pod %s", uid);
		}
		memmove(&s->pods[i + 1], &s->pods[i], (s->n_pods - i) * sizeof(*s->pods));
		s->pods[i] = pod;
		s->n_pods++;
	}
	struct store_pod *p = &s->pods[i];
	p->qos = qos;
	p->cgroup_start_ns = cgroup_start_ns;
	if (stats) {
		series_record(s, &p->series, stats);
		p->has_cgroup_series = true;
	} else {
		p->series.seen_this_cycle = true; /* present, just unreadable */
	}
	*out = p;
	return 0;
}

int store_record_container(struct store *s, struct store_pod *pod, const char *id, uint64_t cgroup_start_ns,
			   const struct cgroup_stats *stats, struct store_container **out, struct cadet_error *err)
{
	bool found;
	size_t i = container_position(pod, id, &found);
	if (!found) {
		if (grow((void **)&pod->containers, &pod->cap_containers, pod->n_containers,
			 sizeof(*pod->containers), err) != 0)
			return -1;
		struct store_container c = { 0 };
		c.id = strdup(id);
		if (!c.id)
			return cadet_error_set(err, ENOMEM, "container %s", id);
		if (series_init(&c.series, s->ring_cap, err) != 0) {
			free(c.id);
			return cadet_error_prefix(err, "container %s", id);
		}
		memmove(&pod->containers[i + 1], &pod->containers[i],
			(pod->n_containers - i) * sizeof(*pod->containers));
		pod->containers[i] = c;
		pod->n_containers++;
	}
	struct store_container *c = &pod->containers[i];
	c->cgroup_start_ns = cgroup_start_ns;
	series_record(s, &c->series, stats);
	pod->series.seen_this_cycle = true;
	*out = c;
	return 0;
}

/* True when a series unseen this cycle has outlived the window. */
static bool series_expired(const struct store *s, struct series *se)
{
	if (se->seen_this_cycle)
		return false;
	se->vanished = true;
	return s->cycle_monotonic_ns - se->sample_monotonic_ns > s->window_ns;
}

void store_end_cycle(struct store *s)
{
	size_t kept_pods = 0;
	for (size_t i = 0; i < s->n_pods; i++) {
		struct store_pod *p = &s->pods[i];
		size_t kept = 0;
		for (size_t j = 0; j < p->n_containers; j++) {
			struct store_container *c = &p->containers[j];
			if (series_expired(s, &c->series)) {
				container_free(c);
				continue;
			}
			p->containers[kept++] = *c;
		}
		p->n_containers = kept;
		if (series_expired(s, &p->series) && p->n_containers == 0) {
			pod_free(p);
			continue;
		}
		s->pods[kept_pods++] = *p;
	}
	s->n_pods = kept_pods;
	if (!s->kubepods.seen_this_cycle)
		s->has_kubepods = !series_expired(s, &s->kubepods) && s->has_kubepods;
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

const char *pod_qos_name(enum pod_qos qos)
{
	switch (qos) {
	case POD_QOS_GUARANTEED:
		return "Guaranteed";
	case POD_QOS_BURSTABLE:
		return "Burstable";
	case POD_QOS_BESTEFFORT:
		return "BestEffort";
	case POD_QOS_UNKNOWN:
		break;
	}
	return "Unknown";
}
