/* wire-push-stream.c: the thread behind one push stream (see wire-push-stream.h).
 *
 * Mailbox: one pending buffer under a mutex with a condition variable. The
 * thread sleeps until a report is pending (or it is told to stop), takes it,
 * and sends it on the stream kept by common/push-client.c. A failed send
 * keeps the report for the retry unless a newer one arrived meanwhile; the
 * retry waits base * 2^failures (capped), drawn uniformly from its upper
 * half so a fleet of agents does not reconnect in step after an aggregator
 * restart. The cap is the push period (at most 30 s): once the aggregator is
 * back, data flows again within about one period. */
#include "agent/wire-push-stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/push-client.h"
#include "common/timefmt.h"

#define BACKOFF_BASE_NS (500 * NSEC_PER_MSEC)
#define BACKOFF_MAX_NS (30 * NSEC_PER_SEC)
#define SEND_TIMEOUT_MAX_NS (10 * NSEC_PER_SEC)

struct push_stream {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stopping;    /* under lock */
	uint8_t *pending; /* under lock: newest report not yet sent */
	size_t pending_len;
	uint64_t period_ns;
	struct push_client *client; /* the thread only */
	char *label;
	void (*on_failure)(void *arg);
	void *arg;
	unsigned seed;
};

static uint64_t backoff_ns(unsigned failures, uint64_t cap_ns, unsigned *seed)
{
	uint64_t b = BACKOFF_BASE_NS;
	for (unsigned i = 1; i < failures && b < cap_ns; i++)
		b *= 2;
	if (b > cap_ns)
		b = cap_ns;
	/* uniform in [b/2, b] */
	return b / 2 + (uint64_t)((double)rand_r(seed) / RAND_MAX * (double)(b / 2));
}

static void *stream_thread(void *arg)
{
	struct push_stream *s = arg;
	unsigned failures = 0;
	bool ever_sent = false;
	uint64_t cap_ns = s->period_ns < BACKOFF_MAX_NS ? s->period_ns : BACKOFF_MAX_NS;
	if (cap_ns < BACKOFF_BASE_NS)
		cap_ns = BACKOFF_BASE_NS;
	uint64_t send_timeout_ns = s->period_ns < SEND_TIMEOUT_MAX_NS ? s->period_ns : SEND_TIMEOUT_MAX_NS;
	if (send_timeout_ns < NSEC_PER_SEC)
		send_timeout_ns = NSEC_PER_SEC;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stopping && !s->pending)
			pthread_cond_wait(&s->wake, &s->lock);
		if (s->stopping)
			break;
		uint8_t *data = s->pending;
		size_t len = s->pending_len;
		s->pending = NULL;
		pthread_mutex_unlock(&s->lock);

		struct cadet_error err = { 0 };
		int r = push_client_send(s->client, data, len, send_timeout_ns, &err);
		if (r < 0 && s->on_failure)
			s->on_failure(s->arg);

		pthread_mutex_lock(&s->lock);
		if (r == 0) {
			free(data);
			if (failures > 0)
				log_info("pushing to aggregator %s again after %u failed attempt(s)", s->label, failures);
			else if (!ever_sent)
				log_info("pushing reports to aggregator %s", s->label);
			failures = 0;
			ever_sent = true;
			continue;
		}
		if (failures++ == 0)
			log_warn("cannot push to aggregator %s: %s; retrying with backoff (logged once per outage)",
				 s->label, err.msg);
		/* keep the report for the retry unless a newer one came */
		if (!s->pending) {
			s->pending = data;
			s->pending_len = len;
		} else {
			free(data);
		}
		struct timespec until = clock_monotonic_after(backoff_ns(failures, cap_ns, &s->seed));
		while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
			;
		if (s->stopping)
			break;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* A stream whose thread never started: released on an early return. */
static void stream_discardp(struct push_stream **sp)
{
	struct push_stream *s = *sp;
	if (!s)
		return;
	push_client_free(s->client);
	free(s->label);
	free(s);
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

int push_stream_start(const struct push_stream_options *opts, struct push_stream **out, struct cadet_error *err)
{
	_cleanup_(stream_discardp) struct push_stream *s = calloc(1, sizeof(*s));
	if (!s || !(s->label = strdup(opts->label)))
		return cadet_error_set(err, ENOMEM, "push stream");
	s->period_ns = opts->period_ns;
	s->on_failure = opts->on_failure;
	s->arg = opts->arg;
	s->seed = (unsigned)clock_monotonic_ns() ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)s;
	struct push_client_config cfg = {
		.target = opts->address,
		.ca_file = opts->ca_file,
		.cert_file = opts->cert_file,
		.key_file = opts->key_file,
		.tls_server_name = opts->tls_server_name,
		.wait_for_ready = true, /* see push-client.c, stream_open() */
	};
	if (push_client_new(&cfg, &s->client, err) < 0)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	_cleanup_(pthread_mutex_destroyp) pthread_mutex_t *lock = &s->lock;
	/* monotonic: a wall-clock step must not stretch or cut the waits */
	int r = cond_init_monotonic(&s->wake);
	if (r < 0)
		return cadet_error_set(err, -r, "push stream condition variable");
	_cleanup_(pthread_cond_destroyp) pthread_cond_t *wake = &s->wake;
	r = pthread_create(&s->thread, NULL, stream_thread, s);
	if (r != 0)
		return cadet_error_set(err, r, "starting the push thread");
	TAKE_PTR(lock);
	TAKE_PTR(wake);
	*out = TAKE_PTR(s);
	return 0;
}

void push_stream_offer(struct push_stream *s, uint8_t *data, size_t len)
{
	pthread_mutex_lock(&s->lock);
	free(s->pending); /* newest wins */
	s->pending = data;
	s->pending_len = len;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

void push_stream_signal_stop(struct push_stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

void push_stream_free(struct push_stream *s)
{
	if (!s)
		return;
	push_stream_signal_stop(s);
	pthread_join(s->thread, NULL);
	uint64_t accepted = 0;
	struct cadet_error err = { 0 };
	/* a clean end of stream, so the aggregator logs no error */
	if (push_client_finish(s->client, NSEC_PER_SEC, &accepted, &err) < 0)
		log_debug("closing the push stream to %s: %s", s->label, err.msg);
	push_client_free(s->client);
	free(s->pending);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s->label);
	free(s);
}
