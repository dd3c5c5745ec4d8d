/* wire-push.h: the agent's push of its reports to cadet-aggregator (--aggregator).
 *
 * The aggregator may run as several replicas behind one DNS name (a headless
 * Service) and each needs every report, so the agent resolves the name
 * itself (wire-push-targets.h), at start, every 30 s and sooner after a failed
 * send, and keeps one push stream per address (wire-push-stream.h): its own thread,
 * one-slot "newest wins" mailbox, backoff and outage log. Addresses that
 * leave DNS lose their stream, new ones get one. The collection loop hands
 * over each encoded report and never waits: neither on the network nor on
 * DNS. Reports are offered at most once per `period_ns`, so the aggregator
 * sees back-to-back windows whatever the collection interval. */
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
	uint64_t period_ns;    /* minimum time between two reports */
};

struct agent_push;

int agent_push_start(const struct agent_push_options *opts, struct agent_push **out, struct cadet_error *err);

/* Whether a report is due now (period_ns since the last one handed over);
 * lets the caller skip encoding between periods. */
bool agent_push_due(struct agent_push *p, uint64_t now_monotonic_ns);

/* Hands over an encoded NodeReport (takes ownership of data, always).
 * Never blocks on the network. */
void agent_push_offer(struct agent_push *p, uint8_t *data, size_t len, uint64_t now_monotonic_ns);

struct store;

/* Once per period, when the node has a CPU rate: encodes the store
 * (view-push.h) and offers it. Cheap in between. */
int agent_push_cycle(struct agent_push *p, const struct store *s, const char *node_name, struct cadet_error *err);

/* Stops the threads (waiting at most for one send timeout), closes the
 * streams, frees everything. NULL is fine. */
void agent_push_stop(struct agent_push *p);

#endif
