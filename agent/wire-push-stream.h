/* wire-push-stream.h: one push stream to one aggregator address.
 *
 * A thread of its own owns the gRPC stream (common/push-client.h). Reports
 * arrive through a one-slot mailbox and the caller never waits: a report
 * not yet sent is replaced by the newer one (newest wins). When the
 * aggregator is down or slow the thread retries with jittered, capped
 * exponential backoff and logs the outage once when it starts and once when
 * it ends. agent/wire-push.c keeps one of these per resolved address. */
#ifndef CADET_PUSH_STREAM_H
#define CADET_PUSH_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct push_stream_options {
	const char *address;         /* gRPC target to dial */
	const char *label;           /* for logs: the --aggregator target and address */
	const char *tls_server_name; /* name the certificate must carry, or NULL */
	const char *ca_file;         /* NULL: plaintext */
	const char *cert_file;
	const char *key_file;
	uint64_t period_ns;          /* the report period: caps backoff and send timeout */
	/* called from the stream's thread after a failed send (no lock held) */
	void (*on_failure)(void *arg);
	void *arg;
};

struct push_stream;

/* Call after grpc_init(). Does not touch the network. */
int push_stream_start(const struct push_stream_options *opts, struct push_stream **out, struct cadet_error *err);

/* Hands over an encoded report (takes ownership of data, always). */
void push_stream_offer(struct push_stream *s, uint8_t *data, size_t len);

/* Tells the thread to stop without waiting for it. */
void push_stream_signal_stop(struct push_stream *s);

/* Stops the thread (waiting at most for one send timeout), closes the
 * stream cleanly, frees everything. NULL is fine. */
void push_stream_free(struct push_stream *s);

#endif
