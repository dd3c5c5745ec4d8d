/* wire-push.h: the agent's push of its reports to cadet-aggregator (--aggregator).
 *
 * The aggregator may run as several replicas behind one DNS name (a headless
 * Service) and each needs every report, so the agent resolves the name
 * itself (wire-push-targets.h), at start, every 30 s and sooner after a failed
 * send, and keeps one push stream per address (wire-push-stream.h): its own thread,
 * one-slot "newest wins" mailbox, backoff and outage log. Addresses that
 * leave DNS lose their stream, new ones get one. The collection loop hands
 * over each encoded report and never waits: neither on the network nor on
 * DNS. Reports are offered once per `period_ns`, so the aggregator sees
 * back-to-back windows whatever the collection interval, and in between
 * when the set of reported pods changed (a new pod has its first rate, a
 * pod's cgroups are gone), at most once per `interval_ns`: a new pod is
 * served about one interval after its cgroup appears, a removed one leaves
 * as fast, and churn costs at most one more report per interval. */
#ifndef CADET_PUSH_H
#define CADET_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* The strings must stay valid until agent_push_stop (they are argv). */
struct agent_push_options {
	const char *target;    /* gRPC target of the aggregator */
	const char *ca_file;   /* NULL: plaintext */
	const char *cert_file; /* mutual TLS */
	const char *key_file;
	uint64_t period_ns;    /* the steady schedule: one report per period */
	uint64_t interval_ns;  /* minimum gap before a report of changed pods; 0: period_ns */
};

struct agent_push;

int agent_push_start(const struct agent_push_options *opts, struct agent_push **out, struct cadet_error *err);

/* Whether the steady schedule's report is due now (period_ns since the
 * last one); lets the caller skip encoding between periods. */
bool agent_push_due(struct agent_push *p, uint64_t now_monotonic_ns);

/* Hands over an encoded NodeReport (takes ownership of data, always).
 * Never blocks on the network. */
void agent_push_offer(struct agent_push *p, uint8_t *data, size_t len, uint64_t now_monotonic_ns);

struct store;

/* Once per period, and when the reported pods changed (at most once per
 * interval), when the node has a CPU rate: encodes the store (view-push.h)
 * and offers it. In between it costs one pass over the store's pods. */
int agent_push_cycle(struct agent_push *p, const struct store *s, const char *node_name, struct cadet_error *err);

/* Stops the threads (waiting at most for one send timeout), closes the
 * streams, frees everything. NULL is fine. */
void agent_push_stop(struct agent_push *p);

#endif
