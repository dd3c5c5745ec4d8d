/* push.h: the agent's push of its reports to cadet-aggregator (--aggregator).
 *
 * A thread of its own owns the gRPC stream. The collection loop hands it
 * each encoded report through a one-slot mailbox and never waits: a report
 * not yet sent is replaced by the newer one (newest wins). When the
 * aggregator is down or slow the thread retries with jittered, capped
 * exponential backoff and logs the outage once when it starts and once when
 * it ends. Reports are offered at most once per `period_ns`, so the
 * aggregator sees back-to-back windows whatever the collection interval. */
#ifndef CADET_PUSH_H
#define CADET_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

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
 * (push-encode.h) and offers it. Cheap in between. */
int agent_push_cycle(struct agent_push *p, const struct store *s, const char *node_name, struct cadet_error *err);

/* Stops the thread (waiting at most for one send timeout), closes the
 * stream, frees everything. NULL is fine. */
void agent_push_stop(struct agent_push *p);

#endif
