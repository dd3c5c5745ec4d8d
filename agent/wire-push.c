/* wire-push.c: the set of push streams, one per aggregator address (see wire-push.h).
 *
 * A resolver thread owns the set: it resolves the target, starts streams
 * for new addresses (seeding each with the newest report, so a new replica
 * need not wait a period), swaps the new set in under the lock and only
 * then stops the streams whose address is gone, so the collection loop
 * holds the lock for no more than a few copies. It resolves again every
 * RESOLVE_INTERVAL_NS, or sooner (but at most once per RESOLVE_MIN_NS) when
 * a stream reports a failed send. When resolution fails the set is kept as
 * it is. Lock order: the set's lock, then a stream's; streams call
 * on_stream_failure without theirs held. */
#include "agent/wire-push.h"

#include "agent/view-push.h"
#include "agent/wire-push-stream.h"
#include "agent/wire-push-targets.h"
#include "agent/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc.h>

#include "common/cleanup.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/push-client.h"
#include "common/timefmt.h"

#define RESOLVE_INTERVAL_NS (30 * NSEC_PER_SEC)
/* A replica that stays down (not-ready pods keep their DNS record) makes
 * every agent fail sends forever: this bounds the DNS load they add. */
#define RESOLVE_MIN_NS (10 * NSEC_PER_SEC)

struct agent_push {
	struct agent_push_options opts;
	struct push_target target;
	uint64_t period_ns;
	uint64_t change_gap_ns; /* opts.interval_ns, or period_ns */
	/* collection thread only */
	uint64_t last_offer_ns;  /* any report */
	uint64_t last_window_ns; /* the last report of the steady schedule */
	bool have_members;
	uint64_t members;        /* push_report_members of the last report */
	pthread_t thread;       /* the resolver */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* under lock */
	bool stopping;
	bool resolve_soon;
	uint8_t *newest; /* the last report offered, for streams yet to start */
	size_t newest_len;
	char **addrs;    /* sorted; written by the resolver only */
	struct push_stream **streams;
	size_t n;
};

static void on_stream_failure(void *arg)
{
	struct agent_push *p = arg;
	pthread_mutex_lock(&p->lock);
	p->resolve_soon = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

/* Under lock: a private copy of the newest report for a new stream. */
static void seed(struct agent_push *p, struct push_stream *s)
{
	uint8_t *copy = p->newest ? malloc(p->newest_len) : NULL;
	if (!copy)
		return;
	memcpy(copy, p->newest, p->newest_len);
	push_stream_offer(s, copy, p->newest_len);
}

static struct push_stream *stream_for(struct agent_push *p, const char *addr)
{
	char label[512];
	const char *target = p->opts.target;
	if (strcmp(addr, target) == 0)
		snprintf(label, sizeof(label), "%s", target);
	else
		snprintf(label, sizeof(label), "%s (%s)", target, addr);
	/* Dial the address itself (ipv4:/ipv6: schemes), not a name gRPC would
	 * resolve again with its own cooldown between resolutions. */
	char dial[512];
	if (p->target.verbatim)
		snprintf(dial, sizeof(dial), "%s", addr);
	else
		snprintf(dial, sizeof(dial), "%s%s", addr[0] == '[' ? "ipv6:" : "ipv4:", addr);
	struct push_stream_options sopts = {
		.address = dial,
		.label = label,
		.tls_server_name = p->target.host && !p->target.host_is_ip ? p->target.host : NULL,
		.ca_file = p->opts.ca_file,
		.cert_file = p->opts.cert_file,
		.key_file = p->opts.key_file,
		.period_ns = p->period_ns,
		.on_failure = on_stream_failure,
		.arg = p,
	};
	struct push_stream *s = NULL;
	struct cadet_error err = { 0 };
	if (push_stream_start(&sopts, &s, &err) < 0) {
		log_error("cannot push to aggregator %s: %s", label, err.msg);
		return NULL;
	}
	return s;
}

static void log_addrs(const struct agent_push *p, char **addrs, size_t n)
{
	char list[512] = "";
	size_t used = 0;
	for (size_t i = 0; i < n && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", addrs[i]);
	log_info("aggregator %s: pushing to %zu address(es): %s", p->opts.target, n, list);
}

/* The resolver thread only: makes the set match `addrs` (takes them). */
static void apply(struct agent_push *p, char **addrs, size_t n)
{
	bool same = n == p->n;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(addrs[i], p->addrs[i]) == 0 && p->streams[i];
	if (same) {
		push_addrs_free(addrs, n);
		return;
	}
	_cleanup_free_ struct push_stream **streams = calloc(n ? n : 1, sizeof(*streams));
	_cleanup_free_ bool *kept = calloc(p->n ? p->n : 1, sizeof(*kept));
	if (!streams || !kept) {
		log_error("aggregator %s: out of memory for the new addresses", p->opts.target);
		push_addrs_free(addrs, n);
		return;
	}
	for (size_t i = 0, j = 0; i < n; i++) { /* both lists sorted */
		while (j < p->n && strcmp(p->addrs[j], addrs[i]) < 0)
			j++;
		if (j < p->n && strcmp(p->addrs[j], addrs[i]) == 0 && p->streams[j]) {
			streams[i] = p->streams[j];
			kept[j] = true;
		} else {
			streams[i] = stream_for(p, addrs[i]); /* NULL on failure: tried again next time */
		}
	}
	log_addrs(p, addrs, n);

	char **old_addrs = p->addrs;
	struct push_stream **old_streams = p->streams;
	size_t old_n = p->n;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < n; i++) {
		bool is_new = streams[i] != NULL;
		for (size_t j = 0; is_new && j < old_n; j++)
			is_new = streams[i] != old_streams[j];
		if (is_new)
			seed(p, streams[i]);
	}
	p->addrs = addrs;
	p->streams = TAKE_PTR(streams);
	p->n = n;
	pthread_mutex_unlock(&p->lock);

	for (size_t j = 0; j < old_n; j++)
		if (!kept[j] && old_streams[j])
			push_stream_signal_stop(old_streams[j]);
	for (size_t j = 0; j < old_n; j++)
		if (!kept[j])
			push_stream_free(old_streams[j]);
	push_addrs_free(old_addrs, old_n);
	free(old_streams);
}

static void *resolver_thread(void *arg)
{
	struct agent_push *p = arg;
	uint64_t last_ns = 0;
	bool failing = false;
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		uint64_t now = clock_monotonic_ns();
		uint64_t next = last_ns + (p->resolve_soon ? RESOLVE_MIN_NS : RESOLVE_INTERVAL_NS);
		if (last_ns != 0 && now < next) {
			struct timespec until = clock_monotonic_after(next - now);
			pthread_cond_timedwait(&p->wake, &p->lock, &until);
			continue;
		}
		p->resolve_soon = false;
		pthread_mutex_unlock(&p->lock);

		last_ns = now;
		char **addrs = NULL;
		size_t n = 0;
		struct cadet_error err = { 0 };
		if (push_target_resolve(&p->target, &addrs, &n, &err) < 0) {
			if (!failing)
				log_warn("aggregator %s: %s; keeping %zu stream(s), retrying (logged once per outage)",
					 p->opts.target, err.msg, p->n);
			failing = true;
		} else {
			if (failing)
				log_info("aggregator %s resolves again", p->opts.target);
			failing = false;
			apply(p, addrs, n);
		}
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Scope guards for agent_push_start: each undoes one step of the start
 * unless the step's pointer was taken (TAKE_PTR) once all went well. */
static void push_target_clearp(struct push_target **t)
{
	if (*t)
		push_target_clear(*t);
}

static void grpc_shutdownp(int *inited)
{
	if (*inited)
		grpc_shutdown();
}

static void pthread_mutex_destroyp(pthread_mutex_t **m)
{
	if (*m)
		pthread_mutex_destroy(*m);
}

static void pthread_cond_destroyp(pthread_cond_t **c)
{
	if (*c)
		pthread_cond_destroy(*c);
}

static void push_client_freep(struct push_client **c)
{
	push_client_free(*c);
}

int agent_push_start(const struct agent_push_options *opts, struct agent_push **out, struct cadet_error *err)
{
	_cleanup_free_ struct agent_push *p = calloc(1, sizeof(*p));
	if (!p)
		return cadet_error_set(err, ENOMEM, "push");
	p->opts = *opts;
	p->period_ns = opts->period_ns ? opts->period_ns : 15 * NSEC_PER_SEC;
	p->change_gap_ns = opts->interval_ns && opts->interval_ns < p->period_ns ? opts->interval_ns : p->period_ns;
	if (push_target_parse(opts->target, &p->target, err) < 0)
		return cadet_error_prefix(err, "--aggregator");
	_cleanup_(push_target_clearp) struct push_target *target = &p->target;
	grpc_init();
	_cleanup_(grpc_shutdownp) int grpc_inited = 1;
	/* Streams start later, on the resolver thread: check the TLS files now,
	 * so a wrong path stops the agent at start as it always did. */
	struct push_client_config cfg = {
		.target = opts->target,
		.ca_file = opts->ca_file,
		.cert_file = opts->cert_file,
		.key_file = opts->key_file,
	};
	_cleanup_(push_client_freep) struct push_client *probe = NULL;
	if (push_client_new(&cfg, &probe, err) < 0)
		return cadet_error_prefix(err, "--aggregator %s", opts->target);
	pthread_mutex_init(&p->lock, NULL);
	_cleanup_(pthread_mutex_destroyp) pthread_mutex_t *lock = &p->lock;
	/* monotonic: a wall-clock step must not stretch or cut the waits */
	int r = cond_init_monotonic(&p->wake);
	if (r < 0)
		return cadet_error_set(err, -r, "push resolver condition variable");
	_cleanup_(pthread_cond_destroyp) pthread_cond_t *wake = &p->wake;
	r = pthread_create(&p->thread, NULL, resolver_thread, p);
	if (r != 0)
		return cadet_error_set(err, r, "starting the push resolver thread");
	TAKE_PTR(target);
	grpc_inited = 0; /* agent_push_stop shuts it down */
	TAKE_PTR(lock);
	TAKE_PTR(wake);
	*out = TAKE_PTR(p);
	return 0;
}

/* A little early is on time: cycles jitter around the period. */
static bool elapsed(uint64_t since_ns, uint64_t now_ns, uint64_t gap_ns)
{
	return since_ns == 0 || now_ns - since_ns + gap_ns / 20 >= gap_ns;
}

bool agent_push_due(struct agent_push *p, uint64_t now_monotonic_ns)
{
	return elapsed(p->last_window_ns, now_monotonic_ns, p->period_ns);
}

void agent_push_offer(struct agent_push *p, uint8_t *data, size_t len, uint64_t now_monotonic_ns)
{
	if (agent_push_due(p, now_monotonic_ns))
		p->last_window_ns = now_monotonic_ns;
	p->last_offer_ns = now_monotonic_ns;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n; i++) {
		if (!p->streams[i])
			continue;
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy)
			continue; /* this stream skips a report */
		memcpy(copy, data, len);
		push_stream_offer(p->streams[i], copy, len);
	}
	free(p->newest);
	p->newest = data;
	p->newest_len = len;
	pthread_mutex_unlock(&p->lock);
}

int agent_push_cycle(struct agent_push *p, const struct store *s, const char *node_name, struct cadet_error *err)
{
	uint64_t now = clock_monotonic_ns();
	if (!s->node.has_rate)
		return 0;
	/* Off the steady schedule only for a change of pods (a new one with its
	 * first rate, one whose cgroups are gone), and at most once per
	 * interval, so churn adds at most one report per interval. */
	uint64_t members = push_report_members(s);
	bool changed = !p->have_members || members != p->members;
	if (!agent_push_due(p, now) && !(changed && elapsed(p->last_offer_ns, now, p->change_gap_ns)))
		return 0;
	uint8_t *data = NULL;
	size_t len = 0;
	if (push_encode_report(s, node_name, CADET_VERSION, &data, &len, err) < 0)
		return -1;
	agent_push_offer(p, data, len, now);
	p->members = members;
	p->have_members = true;
	return 0;
}

void agent_push_stop(struct agent_push *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	/* all at once, so the waits for sends in flight overlap */
	for (size_t i = 0; i < p->n; i++)
		if (p->streams[i])
			push_stream_signal_stop(p->streams[i]);
	for (size_t i = 0; i < p->n; i++)
		push_stream_free(p->streams[i]);
	push_addrs_free(p->addrs, p->n);
	free(p->streams);
	free(p->newest);
	grpc_shutdown();
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	push_target_clear(&p->target);
	free(p);
}
