/* push-client.h: the sending end of a cadet.v1.MetricsPush/Push stream, in
 * blocking form for one thread (the agent's push thread, the test pusher).
 *
 * The stream opens on the first send and stays open; when a send fails or
 * the aggregator ends the call, the stream is torn down and the next send
 * opens a new one on the same channel (gRPC reconnects the channel itself).
 * Every operation takes a timeout, so a hung aggregator cannot block the
 * caller for longer. Plaintext, TLS (ca_file) or mutual TLS (plus
 * cert_file and key_file); with TLS, tls_server_name keeps checking the
 * certificate against a service name while dialling one of its addresses. */
#ifndef CADET_PUSH_CLIENT_H
#define CADET_PUSH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct push_client_config {
	const char *target;    /* gRPC target: "host:port", "dns:///name:port", "unix:/path" */
	const char *ca_file;   /* NULL: plaintext */
	const char *cert_file; /* client certificate for mutual TLS, or NULL */
	const char *key_file;
	/* TLS: the name the server certificate must carry when target is an
	 * address resolved from that name; NULL: the target's own host */
	const char *tls_server_name;
	/* Open streams with wait-for-ready: while the channel reconnects, wait
	 * (up to the send timeout) instead of failing at once. Long-lived
	 * pushers that retry want it; one-shot tools want the quick failure. */
	bool wait_for_ready;
};

struct push_client;

/* Call after grpc_init(). */
int push_client_new(const struct push_client_config *cfg, struct push_client **out, struct cadet_error *err);
void push_client_free(struct push_client *client);

/* Sends one encoded NodeReport on the open stream (opening it if needed). */
int push_client_send(struct push_client *client, const uint8_t *data, size_t len, uint64_t timeout_ns,
		     struct cadet_error *err);

/* Half-closes the stream and waits for the aggregator's answer; on success
 * *accepted is the number of reports it stored from this stream. */
int push_client_finish(struct push_client *client, uint64_t timeout_ns, uint64_t *accepted,
		       struct cadet_error *err);

#endif
