/* https-server.h: an HTTPS/1.1 server on a libevent loop (evhttp over
 * libevent_openssl bufferevents) with the limits a node or cluster daemon
 * needs: bounded header size, no request bodies, an idle timeout (no byte
 * read or written), a request deadline (the first request must arrive whole
 * within it of the connection opening, later ones of their first byte:
 * slowloris clients are dropped), a cap on open connections
 * (the listener pauses at it), GET and HEAD only (anything else is answered
 * 405 before the handler runs).
 *
 * Client certificates: when client CA files are given, the server asks every
 * client for a certificate and verifies it against them; a client that
 * presents none still connects, and the handler sees client_verified=false
 * (so health probes work while the API refuses it). Without a certificate
 * file the server serves a self-signed certificate made at start.
 *
 * With `plain` the same server speaks plain HTTP (for loopback debug
 * listeners): no TLS, client_verified is always false. https_server_reload
 * re-reads the certificate, key and client CAs (SIGHUP): new connections
 * use them, connections already open keep the context they started with. */
#ifndef CADET_HTTPS_SERVER_H
#define CADET_HTTPS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "error.h"
#include "strbuf.h"

#define HTTPS_DEFAULT_MAX_CONNECTIONS 256u
#define HTTPS_DEFAULT_REQUEST_TIMEOUT_S 10

struct https_server_config {
	const char *listen;                  /* "host:port", "[v6]:port" or ":port"; port 0 picks one */
	const char *cert_file;               /* PEM chain; NULL: self-signed */
	const char *key_file;                /* PEM key; NULL: self-signed */
	const char *const *client_ca_files;  /* NULL-terminated; NULL or empty: no client certs */
	size_t max_header_bytes;             /* 0: 32 KiB */
	int timeout_s;                       /* idle timeout; 0: 30 s */
	int request_timeout_s;               /* request deadline; 0: the default */
	unsigned max_connections;            /* 0: the default */
	bool plain;                          /* plain HTTP, no TLS */
	int listen_fd;                       /* a bound listening socket (systemd) instead of listen; 0 or -1: none */
};

struct https_request {
	const char *method;    /* "GET" or "HEAD" */
	const char *path;      /* percent-decoded */
	const char *query;     /* raw, without '?'; NULL when absent */
	bool client_verified;  /* a client certificate was presented and verified */
	void *evreq;           /* struct evhttp_request * */
};

struct https_response {
	int code;
	const char *content_type; /* default application/json */
	struct strbuf body;
};

typedef void (*https_handler_fn)(void *ctx, const struct https_request *req, struct https_response *resp);

struct https_server;

int https_server_new(struct event_base *base, const struct https_server_config *cfg,
		     https_handler_fn handler, void *ctx, struct https_server **out,
		     struct cadet_error *err);
void https_server_free(struct https_server *srv);

/* Reloads certificate, key and client CAs from their files; on failure the
 * old ones stay in use. A no-op for plain or self-signed servers. */
int https_server_reload(struct https_server *srv, struct cadet_error *err);

/* The port actually bound (useful with port 0). */
uint16_t https_server_port(const struct https_server *srv);
/* Whether the served certificate was generated at start. */
bool https_server_self_signed(const struct https_server *srv);
/* Connections open now. */
unsigned https_server_connections(const struct https_server *srv);
/* Connections dropped because their request did not arrive in time. */
uint64_t https_server_dropped_slow(const struct https_server *srv);

/* A request header, or NULL. */
const char *https_request_header(const struct https_request *req, const char *name);

/* The first value of query parameter `key`, percent- and '+'-decoded, in a
 * new string (*out = NULL when absent). Fails on a malformed encoding. */
int https_request_query_param(const struct https_request *req, const char *key, char **out,
			      struct cadet_error *err);

/* Parses a --max-connections value (1 to 65536). */
int https_parse_max_connections(const char *value, unsigned *out, struct cadet_error *err);

/* Splits "host:port" as the listen flags take it. */
int https_split_host_port(const char *listen, char *host, size_t host_size, uint16_t *port,
			  struct cadet_error *err);

#endif
