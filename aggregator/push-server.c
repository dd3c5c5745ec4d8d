/* push-server.c: gRPC C core server for the push streams (see
 * push-server.h).
 *
 * Each stream is a small state machine driven by completion-queue tags:
 * accepted -> (send initial metadata +) receive a report -> store it ->
 * receive the next ... until the agent half-closes (answer PushAck + OK),
 * sends garbage (INVALID_ARGUMENT) or the call dies. A separate
 * RECV_CLOSE_ON_SERVER op tells when the call is over; the stream's memory is
 * freed once no op is outstanding. Several calls are requested at once so a
 * storm of reconnecting agents is accepted quickly. Only this thread touches
 * calls; the store is the one thing shared with the HTTP thread. With mutual
 * TLS, a client certificate named "system:node:NAME" may only report node
 * NAME, so one compromised node cannot overwrite the others. */
#include "push-server.h"

#include "peer-log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/readfile.h"
#include "common/timefmt.h"
#include "report-limits.h"

#define PUSH_METHOD "/cadet.v1.MetricsPush/Push"
#define OUTSTANDING_ACCEPTS 16
#define MAX_MESSAGE_BYTES (32 * 1024 * 1024)
#define MAX_PEM_BYTES (1024 * 1024)
#define MAX_STREAMS_PER_CONNECTION 4
/* Memory gRPC core may take for its transports and calls, half of the
 * 256 MiB the aggregator gets in deploy/: past it gRPC core refuses new
 * streams and shrinks read buffers instead of growing without end (an
 * HTTP/2 rapid-reset flood grew an unbounded server to 1.2 GB). */
#define GRPC_MEMORY_QUOTA_BYTES (128 * 1024 * 1024)
/* A connection that carries no stream (a flooder's, or an agent's after its
 * stream failed and before it reopens one) is closed after this. */
#define MAX_CONNECTION_IDLE_MS (5 * 60 * 1000)
/* Request headers: a push carries only the method, content type and
 * authority; 16 KiB bounds what HPACK may make a stream hold. */
#define MAX_METADATA_BYTES (16 * 1024)

enum tag_kind {
	TAG_ACCEPT,
	TAG_RECV,
	TAG_CLOSE,
	TAG_FINISH,
	TAG_SHUTDOWN,
};

struct push_call;

#define DROPPED_LOG_INTERVAL_NS (60ULL * 1000000000ULL)
#define PEER_LOG_INTERVAL_NS (60ULL * 1000000000ULL)

struct tag {
	enum tag_kind kind;
	struct push_call *call;
};

struct push_call {
	struct push_server *srv;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array request_md;
	grpc_byte_buffer *recv_buf;
	grpc_byte_buffer *ack_buf;
	int cancelled;
	int pending; /* ops in flight */
	bool finishing;
	bool counted; /* in stats->streams_opened */
	uint64_t reports;
	char *node_name; /* of the first report, for logs */
	char *bound_node; /* from a client certificate CN "system:node:NAME", or NULL */
	uint64_t pods_dropped_unlogged; /* bad pods removed since the last warning */
	uint64_t dropped_logged_mono_ns; /* when that warning was logged, 0: never */
	char dropped_why[160]; /* the last removed pod's reason */
	struct tag accept_tag, recv_tag, close_tag, finish_tag;
};

struct push_server {
	grpc_server *server;
	grpc_completion_queue *cq;
	pthread_t thread;
	bool thread_started;
	atomic_bool shutting_down;
	struct tag shutdown_tag;
	bool shutdown_notified; /* the server's shutdown tag arrived */
	size_t live_calls;      /* struct push_call alive, requested ones included */
	struct agg_store *store;
	struct agg_stats *stats;
	struct agg_stats own_stats; /* when the caller gave none */
	struct peer_log peer_log;   /* per-peer stream events, one line a minute */
	int port;
};

/* The queue may only shut down once nothing can post to it: the server is
 * shut down and every call struct (with its ops) is gone. */
static void maybe_shutdown_queue(struct push_server *srv)
{
	if (srv->shutdown_notified && srv->live_calls == 0)
		grpc_completion_queue_shutdown(srv->cq);
}

static void call_free(struct push_call *pc)
{
	struct push_server *srv = pc->srv;
	srv->live_calls--;
	if (pc->counted)
		agg_stats_add(&srv->stats->streams_closed, 1);
	if (pc->call)
		grpc_call_unref(pc->call);
	grpc_call_details_destroy(&pc->details);
	grpc_metadata_array_destroy(&pc->request_md);
	if (pc->recv_buf)
		grpc_byte_buffer_destroy(pc->recv_buf);
	if (pc->ack_buf)
		grpc_byte_buffer_destroy(pc->ack_buf);
	free(pc->node_name);
	free(pc->bound_node);
	free(pc);
	maybe_shutdown_queue(srv);
}

static int request_call(struct push_server *srv)
{
	struct push_call *pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -1;
	pc->srv = srv;
	srv->live_calls++;
	pc->accept_tag = (struct tag){ TAG_ACCEPT, pc };
	pc->recv_tag = (struct tag){ TAG_RECV, pc };
	pc->close_tag = (struct tag){ TAG_CLOSE, pc };
	pc->finish_tag = (struct tag){ TAG_FINISH, pc };
	grpc_call_details_init(&pc->details);
	grpc_metadata_array_init(&pc->request_md);
	grpc_call_error e = grpc_server_request_call(srv->server, &pc->call, &pc->details, &pc->request_md,
						     srv->cq, srv->cq, &pc->accept_tag);
	if (e != GRPC_CALL_OK) {
		call_free(pc);
		return -1;
	}
	return 0;
}

static void start_recv(struct push_call *pc, bool with_initial_metadata)
{
	grpc_op ops[2];
	memset(ops, 0, sizeof(ops));
	size_t n = 0;
	if (with_initial_metadata)
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n].data.recv_message.recv_message = &pc->recv_buf;
	n++;
	if (grpc_call_start_batch(pc->call, ops, n, &pc->recv_tag, NULL) == GRPC_CALL_OK)
		pc->pending++;
	else
		grpc_call_cancel(pc->call, NULL);
}

static void finish(struct push_call *pc, grpc_status_code status, const char *message)
{
	pc->finishing = true;
	grpc_op ops[2];
	memset(ops, 0, sizeof(ops));
	size_t n = 0;
	grpc_slice details = grpc_slice_from_copied_string(message);
	if (status == GRPC_STATUS_OK) {
		Cadet__V1__PushAck ack = CADET__V1__PUSH_ACK__INIT;
		ack.reports_accepted = pc->reports;
		size_t len = cadet__v1__push_ack__get_packed_size(&ack);
		grpc_slice slice = grpc_slice_malloc(len);
		cadet__v1__push_ack__pack(&ack, GRPC_SLICE_START_PTR(slice));
		pc->ack_buf = grpc_raw_byte_buffer_create(&slice, 1);
		grpc_slice_unref(slice);
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = pc->ack_buf;
		n++;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = status;
	ops[n].data.send_status_from_server.status_details = &details;
	ops[n].data.send_status_from_server.trailing_metadata_count = 0;
	n++;
	if (grpc_call_start_batch(pc->call, ops, n, &pc->finish_tag, NULL) == GRPC_CALL_OK)
		pc->pending++;
	else
		grpc_call_cancel(pc->call, NULL);
	grpc_slice_unref(details);
}

/* Decodes and stores one report; on failure err says why. */
static int take_report(struct push_call *pc, grpc_byte_buffer *buf, struct cadet_error *err)
{
	grpc_byte_buffer_reader reader;
	if (!grpc_byte_buffer_reader_init(&reader, buf))
		return cadet_error_set(err, EINVAL, "undecodable message (compression?)");
	grpc_slice slice = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	Cadet__V1__NodeReport *report =
		cadet__v1__node_report__unpack(NULL, GRPC_SLICE_LENGTH(slice), GRPC_SLICE_START_PTR(slice));
	grpc_slice_unref(slice);
	if (!report)
		return cadet_error_set(err, EINVAL, "message is not a cadet.v1.NodeReport");
	if (pc->bound_node && (!report->node_name || strcmp(report->node_name, pc->bound_node) != 0)) {
		cadet_error_set(err, EPERM, "certificate of node %s cannot report for node %s", pc->bound_node,
				report->node_name ? report->node_name : "");
		cadet__v1__node_report__free_unpacked(report, NULL);
		return -1;
	}
	if (!pc->node_name && report->node_name) {
		pc->node_name = strdup(report->node_name);
		char *peer = grpc_call_get_peer(pc->call);
		uint64_t held = 0;
		if (peer_log_allow(&pc->srv->peer_log, peer, report->node_name, clock_monotonic_ns(), &held))
			log_info("node %s streaming from %s (agent %s; %llu more stream events of this peer not "
				 "logged, at most one line a minute per peer)",
				 report->node_name, peer ? peer : "?",
				 report->agent_version && *report->agent_version ? report->agent_version : "unknown",
				 (unsigned long long)held);
		else
			agg_stats_add(&pc->srv->stats->peer_log_suppressed, 1);
		gpr_free(peer);
	}
	char why[sizeof(pc->dropped_why)];
	int dropped = agg_report_limit(report, clock_realtime_ns(), pc->srv->stats, why, sizeof(why), err);
	if (dropped < 0) {
		cadet__v1__node_report__free_unpacked(report, NULL);
		return -1;
	}
	uint64_t now_mono_ns = clock_monotonic_ns();
	if (dropped > 0) {
		pc->pods_dropped_unlogged += (uint64_t)dropped;
		memcpy(pc->dropped_why, why, sizeof(why));
	}
	if (pc->pods_dropped_unlogged > 0 &&
	    (pc->dropped_logged_mono_ns == 0 || now_mono_ns - pc->dropped_logged_mono_ns >= DROPPED_LOG_INTERVAL_NS)) {
		log_warn("node %s: dropped %llu pods from its reports (the rest is kept), the last because %s "
			 "(logged at most once a minute per stream)",
			 report->node_name, (unsigned long long)pc->pods_dropped_unlogged, pc->dropped_why);
		pc->pods_dropped_unlogged = 0;
		pc->dropped_logged_mono_ns = now_mono_ns;
	}
	if (agg_store_put(pc->srv->store, report, now_mono_ns, err) < 0)
		return -1;
	pc->reports++;
	agg_stats_add(&pc->srv->stats->reports_accepted, 1);
	return 0;
}

/* A client certificate with CN "system:node:NAME" (kubelet's naming) binds
 * the stream to node NAME: it may report for that node only. */
static void bind_node_identity(struct push_call *pc)
{
	grpc_auth_context *ctx = grpc_call_auth_context(pc->call);
	if (!ctx)
		return;
	grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ctx, GRPC_X509_CN_PROPERTY_NAME);
	const grpc_auth_property *prop = grpc_auth_property_iterator_next(&it);
	static const char prefix[] = "system:node:";
	if (prop && prop->value_length > sizeof(prefix) - 1 &&
	    strncmp(prop->value, prefix, sizeof(prefix) - 1) == 0)
		pc->bound_node = strndup(prop->value + sizeof(prefix) - 1, prop->value_length - (sizeof(prefix) - 1));
	grpc_auth_context_release(ctx);
}

static void on_accept(struct push_server *srv, struct push_call *pc, bool ok)
{
	if (!ok || atomic_load(&srv->shutting_down)) {
		call_free(pc);
		return;
	}
	if (request_call(srv) < 0)
		log_error("gRPC: could not request the next call; accepting one stream fewer");

	if (grpc_slice_str_cmp(pc->details.method, PUSH_METHOD) != 0) {
		/* Unknown method: answer UNIMPLEMENTED, then wait for the close. */
		grpc_op ops[2];
		memset(ops, 0, sizeof(ops));
		grpc_slice details = grpc_slice_from_static_string("unknown method");
		ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
		ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
		ops[1].data.send_status_from_server.status = GRPC_STATUS_UNIMPLEMENTED;
		ops[1].data.send_status_from_server.status_details = &details;
		pc->finishing = true;
		if (grpc_call_start_batch(pc->call, ops, 2, &pc->finish_tag, NULL) == GRPC_CALL_OK)
			pc->pending++;
	} else {
		bind_node_identity(pc);
		pc->counted = true;
		agg_stats_add(&srv->stats->streams_opened, 1);
		start_recv(pc, true);
	}
	grpc_op close_op;
	memset(&close_op, 0, sizeof(close_op));
	close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	close_op.data.recv_close_on_server.cancelled = &pc->cancelled;
	if (grpc_call_start_batch(pc->call, &close_op, 1, &pc->close_tag, NULL) == GRPC_CALL_OK)
		pc->pending++;
	if (pc->pending == 0)
		call_free(pc);
}

static void on_recv(struct push_server *srv, struct push_call *pc, bool ok)
{
	grpc_byte_buffer *buf = pc->recv_buf;
	pc->recv_buf = NULL;
	if (!ok) { /* the call broke; the close tag follows */
		if (buf)
			grpc_byte_buffer_destroy(buf);
		return;
	}
	if (!buf) { /* half-close: the agent is done */
		finish(pc, GRPC_STATUS_OK, "");
		return;
	}
	struct cadet_error err = { 0 };
	int r = take_report(pc, buf, &err);
	grpc_byte_buffer_destroy(buf);
	if (r < 0) {
		agg_stats_add(&srv->stats->reports_rejected, 1);
		char *peer = grpc_call_get_peer(pc->call);
		uint64_t held = 0;
		if (peer_log_allow(&srv->peer_log, peer, pc->node_name, clock_monotonic_ns(), &held))
			log_warn("gRPC stream of node %s from %s: %s; closing it (%llu more stream events of this "
				 "peer not logged, at most one line a minute per peer)",
				 pc->node_name ? pc->node_name : "?", peer ? peer : "?", err.msg,
				 (unsigned long long)held);
		else
			agg_stats_add(&srv->stats->peer_log_suppressed, 1);
		gpr_free(peer);
		grpc_status_code code = GRPC_STATUS_RESOURCE_EXHAUSTED; /* out of memory */
		if (err.errnum == EPERM)
			code = GRPC_STATUS_PERMISSION_DENIED;
		else if (err.errnum == EINVAL)
			code = GRPC_STATUS_INVALID_ARGUMENT;
		finish(pc, code, err.msg);
		return;
	}
	if (!atomic_load(&srv->shutting_down))
		start_recv(pc, false);
}

static void *cq_thread(void *arg)
{
	struct push_server *srv = arg;
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		struct tag *tag = ev.tag;
		if (tag->kind == TAG_SHUTDOWN) {
			srv->shutdown_notified = true;
			maybe_shutdown_queue(srv);
			continue;
		}
		struct push_call *pc = tag->call;
		if (tag->kind == TAG_ACCEPT) {
			on_accept(srv, pc, ev.success);
			continue;
		}
		pc->pending--;
		if (tag->kind == TAG_RECV)
			on_recv(srv, pc, ev.success);
		else if (tag->kind == TAG_CLOSE)
			log_debug("stream of node %s closed after %llu reports%s",
				  pc->node_name ? pc->node_name : "?", (unsigned long long)pc->reports,
				  pc->cancelled ? " (cancelled)" : "");
		if (pc->pending == 0)
			call_free(pc);
	}
	return NULL;
}

static int server_credentials(const struct push_server_config *cfg, grpc_server_credentials **out,
			      struct cadet_error *err)
{
	if (!cfg->cert_file && !cfg->key_file) {
		if (cfg->client_ca_file)
			return cadet_error_set(err, EINVAL, "--grpc-client-ca-file needs --grpc-tls-cert-file");
		*out = grpc_insecure_server_credentials_create();
		return 0;
	}
	if (!cfg->cert_file || !cfg->key_file)
		return cadet_error_set(err, EINVAL, "--grpc-tls-cert-file and --grpc-tls-private-key-file go together");
	_cleanup_free_ char *cert = NULL;
	_cleanup_free_ char *key = NULL;
	_cleanup_free_ char *ca = NULL;
	if (read_file_string(cfg->cert_file, MAX_PEM_BYTES, &cert, err) < 0 ||
	    read_file_string(cfg->key_file, MAX_PEM_BYTES, &key, err) < 0 ||
	    (cfg->client_ca_file && read_file_string(cfg->client_ca_file, MAX_PEM_BYTES, &ca, err) < 0))
		return -1;
	grpc_ssl_pem_key_cert_pair pair = { .private_key = key, .cert_chain = cert };
	*out = grpc_ssl_server_credentials_create_ex(
		ca, &pair, 1,
		ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
		NULL);
	if (!*out)
		return cadet_error_set(err, EINVAL, "gRPC rejected the TLS certificate or key");
	return 0;
}

int push_server_start(const struct push_server_config *cfg, struct agg_store *store,
		      struct push_server **out, struct cadet_error *err)
{
	grpc_server_credentials *creds = NULL;
	if (server_credentials(cfg, &creds, err) < 0)
		return -1;
	struct push_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		grpc_server_credentials_release(creds);
		return cadet_error_set(err, ENOMEM, "allocating the gRPC server");
	}
	srv->store = store;
	srv->stats = cfg->stats ? cfg->stats : &srv->own_stats;
	srv->shutdown_tag = (struct tag){ TAG_SHUTDOWN, NULL };
	atomic_init(&srv->shutting_down, false);
	peer_log_init(&srv->peer_log, PEER_LOG_INTERVAL_NS);

	grpc_resource_quota *quota = grpc_resource_quota_create("cadet-push");
	grpc_resource_quota_resize(quota, GRPC_MEMORY_QUOTA_BYTES);
	grpc_arg args[] = {
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = MAX_MESSAGE_BYTES },
		/* an agent needs one stream; a few more ride out a reconnect */
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_CONCURRENT_STREAMS, .value.integer = MAX_STREAMS_PER_CONNECTION },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIME_MS, .value.integer = 60000 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_TIMEOUT_MS, .value.integer = 20000 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, .value.integer = 10000 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, .value.integer = 1 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_CONNECTION_IDLE_MS, .value.integer = MAX_CONNECTION_IDLE_MS },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_METADATA_SIZE, .value.integer = MAX_METADATA_BYTES },
		{ .type = GRPC_ARG_POINTER,
		  .key = GRPC_ARG_RESOURCE_QUOTA,
		  .value.pointer = { .p = quota, .vtable = grpc_resource_quota_arg_vtable() } },
	};
	grpc_channel_args channel_args = { .num_args = sizeof(args) / sizeof(args[0]), .args = args };
	srv->server = grpc_server_create(&channel_args, NULL);
	grpc_resource_quota_unref(quota); /* the server holds its own reference */
	srv->cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
	srv->port = grpc_server_add_http2_port(srv->server, cfg->listen, creds);
	grpc_server_credentials_release(creds);
	if (srv->port == 0) {
		grpc_server_destroy(srv->server);
		grpc_completion_queue_shutdown(srv->cq);
		while (grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
		       GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(srv->cq);
		free(srv);
		return cadet_error_set(err, EADDRNOTAVAIL, "gRPC could not listen on %s", cfg->listen);
	}
	grpc_server_start(srv->server);
	for (int i = 0; i < OUTSTANDING_ACCEPTS; i++) {
		if (request_call(srv) < 0) {
			push_server_stop(srv);
			return cadet_error_set(err, ENOMEM, "gRPC: requesting calls");
		}
	}
	int r = pthread_create(&srv->thread, NULL, cq_thread, srv);
	if (r != 0) {
		push_server_stop(srv);
		return cadet_error_set(err, r, "starting the gRPC thread");
	}
	srv->thread_started = true;
	*out = srv;
	return 0;
}

int push_server_port(const struct push_server *srv)
{
	return srv->port;
}

void push_server_stop(struct push_server *srv)
{
	if (!srv)
		return;
	atomic_store(&srv->shutting_down, true);
	grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);
	grpc_server_cancel_all_calls(srv->server);
	if (srv->thread_started) {
		pthread_join(srv->thread, NULL);
	} else {
		/* No thread yet: drain here. */
		for (;;) {
			grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
			if (ev.type == GRPC_QUEUE_SHUTDOWN)
				break;
			struct tag *tag = ev.tag;
			if (tag->kind == TAG_SHUTDOWN) {
				srv->shutdown_notified = true;
				maybe_shutdown_queue(srv);
			} else if (tag->kind == TAG_ACCEPT) {
				call_free(tag->call);
			}
		}
	}
	grpc_server_destroy(srv->server);
	grpc_completion_queue_destroy(srv->cq);
	free(srv);
}
