/* push-client.c: blocking client for the push stream (see push-client.h).
 *
 * Each stream is one grpc_call on a private pluck queue. When it opens, one
 * batch sends the initial metadata and another waits for the whole answer
 * (initial metadata, PushAck, status); that second tag completes only when
 * the call ends, so peeking at it with a zero deadline tells whether the
 * aggregator has closed the stream. Sends are plucked with a deadline; a
 * timed-out op is cancelled and then collected, never abandoned. */
#include "push-client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "cleanup.h"
#include "proto/cadet-push.pb-c.h"
#include "readfile.h"

#define PUSH_METHOD "/cadet.v1.MetricsPush/Push"
#define MAX_PEM_BYTES (1024 * 1024)

struct push_client {
	grpc_channel *channel;
	grpc_completion_queue *cq;
	char *target;
	bool wait_for_ready;
	/* the open stream, if any */
	grpc_call *call;
	bool status_pending; /* the answer batch has not been collected */
	grpc_metadata_array initial_md, trailing_md;
	grpc_byte_buffer *ack_buf;
	grpc_status_code status;
	grpc_slice status_details;
	const char *error_string;
	int tag_start, tag_answer, tag_send, tag_close;
};

static gpr_timespec deadline_after(uint64_t timeout_ns)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
			    gpr_time_from_nanos((int64_t)timeout_ns, GPR_TIMESPAN));
}

/* Waits for `tag`; on timeout cancels the call and waits for it anyway (a
 * cancelled op completes promptly). Returns whether the op succeeded. */
static bool pluck(struct push_client *c, void *tag, uint64_t timeout_ns, bool *timed_out)
{
	grpc_event ev = grpc_completion_queue_pluck(c->cq, tag, deadline_after(timeout_ns), NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		if (timed_out)
			*timed_out = true;
		grpc_call_cancel(c->call, NULL);
		ev = grpc_completion_queue_pluck(c->cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	}
	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static void reset_answer(struct push_client *c)
{
	grpc_metadata_array_destroy(&c->initial_md);
	grpc_metadata_array_destroy(&c->trailing_md);
	if (c->ack_buf)
		grpc_byte_buffer_destroy(c->ack_buf);
	c->ack_buf = NULL;
	grpc_slice_unref(c->status_details);
	c->status_details = grpc_empty_slice();
	gpr_free((void *)c->error_string);
	c->error_string = NULL;
}

/* Cancels and releases the open stream, collecting its answer tag. */
static void stream_drop(struct push_client *c)
{
	if (!c->call)
		return;
	if (c->status_pending) {
		grpc_call_cancel(c->call, NULL);
		grpc_completion_queue_pluck(c->cq, &c->tag_answer, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		c->status_pending = false;
	}
	grpc_call_unref(c->call);
	c->call = NULL;
	reset_answer(c);
}

static int stream_open(struct push_client *c, uint64_t timeout_ns, struct cadet_error *err)
{
	grpc_slice method = grpc_slice_from_static_string(PUSH_METHOD);
	c->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, method, NULL,
					   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	if (!c->call)
		return cadet_error_set(err, ENOMEM, "%s: creating the push call", c->target);
	grpc_metadata_array_init(&c->initial_md);
	grpc_metadata_array_init(&c->trailing_md);

	grpc_op answer[3];
	memset(answer, 0, sizeof(answer));
	answer[0].op = GRPC_OP_RECV_INITIAL_METADATA;
	answer[0].data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
	answer[1].op = GRPC_OP_RECV_MESSAGE;
	answer[1].data.recv_message.recv_message = &c->ack_buf;
	answer[2].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	answer[2].data.recv_status_on_client.trailing_metadata = &c->trailing_md;
	answer[2].data.recv_status_on_client.status = &c->status;
	answer[2].data.recv_status_on_client.status_details = &c->status_details;
	answer[2].data.recv_status_on_client.error_string = &c->error_string;
	if (grpc_call_start_batch(c->call, answer, 3, &c->tag_answer, NULL) != GRPC_CALL_OK) {
		grpc_call_unref(c->call);
		c->call = NULL;
		reset_answer(c);
		return cadet_error_set(err, EIO, "%s: starting the push call", c->target);
	}
	c->status_pending = true;

	grpc_op start;
	memset(&start, 0, sizeof(start));
	start.op = GRPC_OP_SEND_INITIAL_METADATA;
	/* With wait_for_ready, wait for the channel instead of failing at once
	 * while it is in TRANSIENT_FAILURE. Nothing else polls this pluck
	 * queue: a call that fails fast leaves the reconnect (TCP connect, TLS
	 * handshake) to gRPC's 5 s backup poller, so after an aggregator
	 * outage the agent's handshake took three of its ticks (15 s) to
	 * finish. Plucking here drives it; the wait is bounded by timeout_ns
	 * like any send. */
	if (c->wait_for_ready)
		start.flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY;
	if (grpc_call_start_batch(c->call, &start, 1, &c->tag_start, NULL) != GRPC_CALL_OK ||
	    !pluck(c, &c->tag_start, timeout_ns, NULL)) {
		stream_drop(c);
		return cadet_error_set(err, ECONNREFUSED, "%s: could not open the push stream", c->target);
	}
	return 0;
}

/* Describes how the stream ended (its answer is collected) and drops it. */
static int describe_end(struct push_client *c, struct cadet_error *err)
{
	char details[256];
	size_t len = GRPC_SLICE_LENGTH(c->status_details);
	if (len >= sizeof(details))
		len = sizeof(details) - 1;
	memcpy(details, GRPC_SLICE_START_PTR(c->status_details), len);
	details[len] = '\0';
	cadet_error_set(err, c->status == GRPC_STATUS_UNAVAILABLE ? ECONNREFUSED : EIO,
			"%s: push stream ended with status %d (%s)", c->target, (int)c->status,
			details[0] ? details : (c->error_string ? c->error_string : "no details"));
	stream_drop(c);
	return -1;
}

/* A send failed because the call ended: collect the answer, describe it. */
static int stream_ended(struct push_client *c, struct cadet_error *err)
{
	grpc_completion_queue_pluck(c->cq, &c->tag_answer, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	c->status_pending = false;
	return describe_end(c, err);
}

int push_client_send(struct push_client *c, const uint8_t *data, size_t len, uint64_t timeout_ns,
		     struct cadet_error *err)
{
	if (!c->call && stream_open(c, timeout_ns, err) < 0)
		return -1;
	/* Did the aggregator end the stream since the last send? */
	grpc_event ev = grpc_completion_queue_pluck(c->cq, &c->tag_answer, gpr_inf_past(GPR_CLOCK_MONOTONIC), NULL);
	if (ev.type == GRPC_OP_COMPLETE) {
		c->status_pending = false;
		return describe_end(c, err);
	}

	grpc_slice slice = grpc_slice_from_copied_buffer((const char *)data, len);
	grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = buf;
	bool timed_out = false;
	bool ok = grpc_call_start_batch(c->call, &op, 1, &c->tag_send, NULL) == GRPC_CALL_OK &&
		  pluck(c, &c->tag_send, timeout_ns, &timed_out);
	grpc_byte_buffer_destroy(buf);
	if (ok)
		return 0;
	if (timed_out) {
		stream_drop(c);
		return cadet_error_set(err, ETIMEDOUT, "%s: sending a report timed out", c->target);
	}
	return stream_ended(c, err);
}

int push_client_finish(struct push_client *c, uint64_t timeout_ns, uint64_t *accepted,
		       struct cadet_error *err)
{
	*accepted = 0;
	if (!c->call)
		return 0;
	grpc_op op;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	if (grpc_call_start_batch(c->call, &op, 1, &c->tag_close, NULL) == GRPC_CALL_OK)
		pluck(c, &c->tag_close, timeout_ns, NULL);
	bool timed_out = false;
	pluck(c, &c->tag_answer, timeout_ns, &timed_out);
	c->status_pending = false;
	if (timed_out) {
		stream_drop(c);
		return cadet_error_set(err, ETIMEDOUT, "%s: no answer to the closed push stream", c->target);
	}
	if (c->status != GRPC_STATUS_OK)
		return describe_end(c, err);
	if (c->ack_buf) {
		grpc_byte_buffer_reader reader;
		if (grpc_byte_buffer_reader_init(&reader, c->ack_buf)) {
			grpc_slice s = grpc_byte_buffer_reader_readall(&reader);
			grpc_byte_buffer_reader_destroy(&reader);
			Cadet__V1__PushAck *ack =
				cadet__v1__push_ack__unpack(NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
			grpc_slice_unref(s);
			if (ack) {
				*accepted = ack->reports_accepted;
				cadet__v1__push_ack__free_unpacked(ack, NULL);
			}
		}
	}
	stream_drop(c);
	return 0;
}

static int channel_credentials(const struct push_client_config *cfg, grpc_channel_credentials **out,
			       struct cadet_error *err)
{
	if (!cfg->ca_file) {
		if (cfg->cert_file || cfg->key_file)
			return cadet_error_set(err, EINVAL, "a client certificate needs the aggregator's CA file too");
		*out = grpc_insecure_credentials_create();
		return 0;
	}
	if ((cfg->cert_file == NULL) != (cfg->key_file == NULL))
		return cadet_error_set(err, EINVAL, "client certificate and key go together");
	_cleanup_free_ char *ca = NULL;
	_cleanup_free_ char *cert = NULL;
	_cleanup_free_ char *key = NULL;
	if (read_file_string(cfg->ca_file, MAX_PEM_BYTES, &ca, err) < 0 ||
	    (cfg->cert_file && read_file_string(cfg->cert_file, MAX_PEM_BYTES, &cert, err) < 0) ||
	    (cfg->key_file && read_file_string(cfg->key_file, MAX_PEM_BYTES, &key, err) < 0))
		return -1;
	grpc_ssl_pem_key_cert_pair pair = { .private_key = key, .cert_chain = cert };
	*out = grpc_ssl_credentials_create(ca, cert ? &pair : NULL, NULL, NULL);
	if (!*out)
		return cadet_error_set(err, EINVAL, "gRPC rejected the TLS files");
	return 0;
}

int push_client_new(const struct push_client_config *cfg, struct push_client **out, struct cadet_error *err)
{
	grpc_channel_credentials *creds = NULL;
	if (channel_credentials(cfg, &creds, err) < 0)
		return -1;
	struct push_client *c = calloc(1, sizeof(*c));
	if (!c || !(c->target = strdup(cfg->target))) {
		free(c);
		grpc_channel_credentials_release(creds);
		return cadet_error_set(err, ENOMEM, "push client");
	}
	grpc_arg args[] = {
		/* Reconnect quickly after an aggregator restart; the caller
		 * paces its own retries. */
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, .value.integer = 200 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, .value.integer = 5000 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIME_MS, .value.integer = 30000 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIMEOUT_MS, .value.integer = 10000 },
		{ 0 }, /* room for the TLS name override */
	};
	grpc_channel_args channel_args = { .num_args = sizeof(args) / sizeof(args[0]) - 1, .args = args };
	if (cfg->ca_file && cfg->tls_server_name) {
		args[channel_args.num_args] = (grpc_arg){ .type = GRPC_ARG_STRING,
							  .key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
							  .value.string = (char *)cfg->tls_server_name };
		channel_args.num_args++;
	}
	c->channel = grpc_channel_create(cfg->target, creds, &channel_args);
	grpc_channel_credentials_release(creds);
	c->wait_for_ready = cfg->wait_for_ready;
	c->cq = grpc_completion_queue_create_for_pluck(NULL);
	c->status_details = grpc_empty_slice();
	if (!c->channel || !c->cq) {
		push_client_free(c);
		return cadet_error_set(err, EINVAL, "cannot create a gRPC channel to %s", cfg->target);
	}
	*out = c;
	return 0;
}

void push_client_free(struct push_client *c)
{
	if (!c)
		return;
	stream_drop(c);
	if (c->channel)
		grpc_channel_destroy(c->channel);
	if (c->cq) {
		grpc_completion_queue_shutdown(c->cq);
		while (grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
		       GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(c->cq);
	}
	grpc_slice_unref(c->status_details);
	free(c->target);
	free(c);
}
