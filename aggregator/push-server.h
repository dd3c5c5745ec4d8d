/* push-server.h: the gRPC side of the aggregator. Serves
 * cadet.v1.MetricsPush/Push on one completion queue driven by one thread;
 * every decoded NodeReport goes to the store. Plain, TLS, or mutual TLS. */
#ifndef CADET_AGG_PUSH_SERVER_H
#define CADET_AGG_PUSH_SERVER_H

#include <stdint.h>

#include "common/error.h"
#include "stats.h"
#include "store.h"

struct push_server_config {
	const char *listen;          /* gRPC address, e.g. "0.0.0.0:4445"; port 0 picks one */
	const char *cert_file;       /* NULL: plaintext */
	const char *key_file;
	const char *client_ca_file;  /* NULL: no client certificates; else required and verified */
	struct agg_stats *stats;     /* counters to bump, or NULL */
};

struct push_server;

/* Binds, starts the server and its thread. Call after grpc_init(). */
int push_server_start(const struct push_server_config *cfg, struct agg_store *store,
		      struct push_server **out, struct cadet_error *err);
int push_server_port(const struct push_server *srv);
/* Cancels every stream, stops the thread, frees everything. */
void push_server_stop(struct push_server *srv);

#endif
