/* push.c: the push thread (see push.h).
 *
 * Mailbox: one pending buffer under a mutex with a condition variable. The
 * thread sleeps until a report is pending (or it is told to stop), takes it,
 * and sends it on the stream kept by common/push-client.c. A failed send
 * keeps the report for the retry unless a newer one arrived meanwhile; the
 * retry waits base * 2^failures (capped), drawn uniformly from its upper
 * half so a fleet of agents does not reconnect in step after an aggregator
 * restart. The cap is the push period (at most 30 s): once the aggregator is
 * back, data flows again within about one period. */
#include "agent/push.h"

#include "agent/push-encode.h"
#include "agent/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "common/duration.h"
#include "common/log.h"
#include "common/push-client.h"
#include "common/timefmt.h"

#define BACKOFF_BASE_NS (500 * NSEC_PER_MSEC)
#define BACKOFF_MAX_NS (30 * NSEC_PER_SEC)
#define SEND_TIMEOUT_MAX_NS (10 * NSEC_PER_SEC)

struct agent_push {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stopping;      /* under lock */
	uint8_t *pending;   /* under lock: newest report not yet sent */
	size_t pending_len;
	uint64_t last_offer_ns; /* collection thread only */
	uint64_t period_ns;
	struct push_client *client; /* push thread only */
	char *target;
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

static struct timespec realtime_after(uint64_t ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t t = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec + ns;
	ts.tv_sec = (time_t)(t / NSEC_PER_SEC);
	ts.tv_nsec = (long)(t % NSEC_PER_SEC);
	return ts;
}

static void *push_thread(void *arg)
{
	struct agent_push *p = arg;
	unsigned failures = 0;
	bool ever_sent = false;
	uint64_t cap_ns = p->period_ns < BACKOFF_MAX_NS ? p->period_ns : BACKOFF_MAX_NS;
	if (cap_ns < BACKOFF_BASE_NS)
		cap_ns = BACKOFF_BASE_NS;
	uint64_t send_timeout_ns = p->period_ns < SEND_TIMEOUT_MAX_NS ? p->period_ns : SEND_TIMEOUT_MAX_NS;
	if (send_timeout_ns < NSEC_PER_SEC)
		send_timeout_ns = NSEC_PER_SEC;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stopping && !p->pending)
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->stopping)
			break;
		uint8_t *data = p->pending;
		size_t len = p->pending_len;
		p->pending = NULL;
		pthread_mutex_unlock(&p->lock);

		struct cadet_error err = { 0 };
		int r = push_client_send(p->client, data, len, send_timeout_ns, &err);

		pthread_mutex_lock(&p->lock);
		if (r == 0) {
			free(data);
			if (failures > 0)
				log_info("pushing to aggregator %s again after %u failed attempt(s)", p->target, failures);
			else if (!ever_sent)
				log_info("pushing reports to aggregator %s", p->target);
			failures = 0;
			ever_sent = true;
			continue;
		}
		if (failures++ == 0)
			log_warn("cannot push to aggregator %s: %s; retrying with backoff (logged once per outage)",
				 p->target, err.msg);
		/* keep the report for the retry unless a newer one came */
		if (!p->pending) {
			p->pending = data;
			p->pending_len = len;
		} else {
			free(data);
		}
		struct timespec until = realtime_after(backoff_ns(failures, cap_ns, &p->seed));
		while (!p->stopping && pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT)
			;
		if (p->stopping)
			break;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int agent_push_start(const struct agent_push_options *opts, struct agent_push **out, struct cadet_error *err)
{
	struct agent_push *p = calloc(1, sizeof(*p));
	if (!p)
		return cadet_error_set(err, ENOMEM, "push");
	p->target = strdup(opts->target);
	p->period_ns = opts->period_ns ? opts->period_ns : 15 * NSEC_PER_SEC;
	p->seed = (unsigned)clock_monotonic_ns() ^ (unsigned)getpid();
	if (!p->target) {
		free(p);
		return cadet_error_set(err, ENOMEM, "push");
	}
	grpc_init();
	struct push_client_config cfg = {
		.target = opts->target,
		.ca_file = opts->ca_file,
		.cert_file = opts->cert_file,
		.key_file = opts->key_file,
	};
	if (push_client_new(&cfg, &p->client, err) < 0) {
		cadet_error_prefix(err, "--aggregator %s", opts->target);
		grpc_shutdown();
		free(p->target);
		free(p);
		return -1;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	int r = pthread_create(&p->thread, NULL, push_thread, p);
	if (r != 0) {
		push_client_free(p->client);
		grpc_shutdown();
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->wake);
		free(p->target);
		free(p);
		return cadet_error_set(err, r, "starting the push thread");
	}
	*out = p;
	return 0;
}

bool agent_push_due(struct agent_push *p, uint64_t now_monotonic_ns)
{
	/* a little early is on time: cycles jitter around the period */
	return p->last_offer_ns == 0 || now_monotonic_ns - p->last_offer_ns + p->period_ns / 20 >= p->period_ns;
}

void agent_push_offer(struct agent_push *p, uint8_t *data, size_t len, uint64_t now_monotonic_ns)
{
	p->last_offer_ns = now_monotonic_ns;
	pthread_mutex_lock(&p->lock);
	free(p->pending); /* newest wins */
	p->pending = data;
	p->pending_len = len;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

int agent_push_cycle(struct agent_push *p, const struct store *s, const char *node_name, struct cadet_error *err)
{
	uint64_t now = clock_monotonic_ns();
	if (!s->node.has_rate || !agent_push_due(p, now))
		return 0;
	uint8_t *data = NULL;
	size_t len = 0;
	if (push_encode_report(s, node_name, CADET_VERSION, &data, &len, err) < 0)
		return -1;
	agent_push_offer(p, data, len, now);
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
	uint64_t accepted = 0;
	struct cadet_error err = { 0 };
	/* a clean end of stream, so the aggregator logs no error */
	if (push_client_finish(p->client, NSEC_PER_SEC, &accepted, &err) < 0)
		log_debug("closing the push stream: %s", err.msg);
	push_client_free(p->client);
	grpc_shutdown();
	free(p->pending);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	free(p->target);
	free(p);
}
