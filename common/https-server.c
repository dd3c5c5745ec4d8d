/* https-server.c: evhttp + OpenSSL glue with limits (see https-server.h).
 *
 * Each accepted connection gets its own SSL object and an OpenSSL
 * bufferevent (a plain socket one in plain mode) through evhttp's
 * bufferevent callback, where common/conn-guard.c starts watching it for the
 * connection cap and the request deadline; evhttp then reads the request,
 * enforces the header and body limits and the idle timeout, and calls one
 * generic callback, which checks the method, decodes the path, reads the
 * verification result of the connection's SSL and hands over to the daemon's
 * handler. */
#include "https-server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cleanup.h"
#include "conn-guard.h"
#include "listen-address.h"
#include "tls-selfsigned.h"

struct https_server {
	struct evhttp *http;
	SSL_CTX *ssl_ctx;
	struct conn_guard *guard;
	struct https_server_config cfg; /* kept for reloads; strings below */
	char *cert_file, *key_file;
	char **client_ca_files;
	uint16_t port;
	bool self_signed;
	https_handler_fn handler;
	void *ctx;
};

/* "what[ arg]: <OpenSSL's reason>" */
static int ossl_error(struct cadet_error *err, const char *what, const char *arg)
{
	char buf[256];
	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	ERR_clear_error();
	return cadet_error_set(err, 0, "%s%s%s: %s", what, arg ? " " : "", arg ? arg : "", buf);
}

static void free_body(const void *data, size_t len, void *extra)
{
	(void)len;
	(void)extra;
	free((void *)data);
}

int https_split_host_port(const char *listen, char *host, size_t host_size, uint16_t *port,
			  struct cadet_error *err)
{
	if (listen_address_parse(listen, host, host_size, port, err) < 0)
		return -1;
	if (*host == '\0') {
		/* ":port": every IPv4 address, as evhttp spells it */
		if (host_size < sizeof("0.0.0.0"))
			return cadet_error_set(err, EINVAL, "listen address %s: host too long", listen);
		strcpy(host, "0.0.0.0");
	}
	return 0;
}

int https_parse_max_connections(const char *value, unsigned *out, struct cadet_error *err)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' || n < 1 || n > 65536)
		return cadet_error_set(err, EINVAL, "--max-connections: want a number from 1 to 65536, got \"%s\"",
				       value);
	*out = (unsigned)n;
	return 0;
}

static struct bufferevent *new_bufferevent(struct event_base *base, void *arg)
{
	struct https_server *srv = arg;
	struct bufferevent *bev;
	if (srv->cfg.plain) {
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	} else {
		SSL *ssl = SSL_new(srv->ssl_ctx);
		if (!ssl)
			return NULL;
		bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (!bev)
			SSL_free(ssl);
	}
	/* On failure evhttp falls back to a plain socket bufferevent, which
	 * then fails a TLS client's handshake: nothing is served in clear. */
	if (bev && srv->guard)
		conn_guard_track(srv->guard, bev);
	return bev;
}

static bool connection_verified(const struct https_server *srv, struct evhttp_request *evreq)
{
	if (srv->cfg.plain)
		return false;
	struct evhttp_connection *evcon = evhttp_request_get_connection(evreq);
	if (!evcon)
		return false;
	SSL *ssl = bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(evcon));
	if (!ssl)
		return false;
	return SSL_get0_peer_certificate(ssl) != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
}

/* Sends buf as the answer. For HEAD, evhttp would write the body too (and
 * leave out Content-Length), so the client would read it as the next
 * response: the headers say how long the GET body is, and the body stays. */
static void send_reply(struct evhttp_request *evreq, int code, const char *reason, struct evbuffer *buf)
{
	if (evhttp_request_get_command(evreq) == EVHTTP_REQ_HEAD) {
		char len[32];
		snprintf(len, sizeof(len), "%zu", buf ? evbuffer_get_length(buf) : (size_t)0);
		struct evkeyvalq *out = evhttp_request_get_output_headers(evreq);
		evhttp_remove_header(out, "Content-Length");
		evhttp_add_header(out, "Content-Length", len);
		evhttp_send_reply(evreq, code, reason, NULL);
		return;
	}
	evhttp_send_reply(evreq, code, reason, buf);
}

static void send_plain(struct evhttp_request *evreq, int code, const char *reason, const char *text)
{
	struct evbuffer *buf = evbuffer_new();
	if (buf)
		evbuffer_add_printf(buf, "%s\n", text);
	struct evkeyvalq *out = evhttp_request_get_output_headers(evreq);
	evhttp_remove_header(out, "Content-Type");
	evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
	send_reply(evreq, code, reason, buf);
	if (buf)
		evbuffer_free(buf);
}

static const char *reason_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

static void handle_request(struct evhttp_request *evreq, void *arg)
{
	struct https_server *srv = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(evreq);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(evreq), "Allow", "GET, HEAD");
		send_plain(evreq, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(evreq);
	const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!raw_path || !*raw_path)
		raw_path = "/";
	size_t path_len = 0;
	_cleanup_free_ char *path = evhttp_uridecode(raw_path, 0, &path_len);
	if (!path || strlen(path) != path_len) {
		send_plain(evreq, 400, "Bad Request", "malformed path");
		return;
	}
	struct https_request req = {
		.method = cmd == EVHTTP_REQ_GET ? "GET" : "HEAD",
		.path = path,
		.query = uri ? evhttp_uri_get_query(uri) : NULL,
		.client_verified = connection_verified(srv, evreq),
		.evreq = evreq,
	};
	struct https_response resp = { .code = 500 };
	strbuf_init(&resp.body);
	srv->handler(srv->ctx, &req, &resp);

	struct evkeyvalq *out = evhttp_request_get_output_headers(evreq);
	evhttp_add_header(out, "Content-Type", resp.content_type ? resp.content_type : "application/json");
	evhttp_add_header(out, "Cache-Control", "no-cache, private");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	struct evbuffer *buf = evbuffer_new();
	if (strbuf_failed(&resp.body) || !buf) {
		strbuf_free(&resp.body);
		if (buf)
			evbuffer_free(buf);
		send_plain(evreq, 500, "Internal Server Error", "internal server error");
		return;
	}
	/* Hand the rendered body to libevent without a copy. */
	if (resp.body.len > 0) {
		char *data = resp.body.data;
		size_t len = resp.body.len;
		resp.body.data = NULL;
		if (evbuffer_add_reference(buf, data, len, free_body, NULL) != 0)
			free(data);
	}
	strbuf_free(&resp.body);
	send_reply(evreq, resp.code, reason_phrase(resp.code), buf);
	evbuffer_free(buf);
}

/* TLS 1.2 needs an explicit list to stay modern (1.3's suites are fine). */
static const char tls12_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
				    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
				    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

static int setup_tls(struct https_server *srv, const struct https_server_config *cfg, struct cadet_error *err)
{
	srv->ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (!srv->ssl_ctx)
		return ossl_error(err, "SSL_CTX_new", NULL);
	SSL_CTX_set_min_proto_version(srv->ssl_ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(srv->ssl_ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_cipher_list(srv->ssl_ctx, tls12_ciphers) != 1)
		return ossl_error(err, "setting the TLS 1.2 cipher list", NULL);

	if ((cfg->cert_file == NULL) != (cfg->key_file == NULL))
		return cadet_error_set(err, EINVAL, "a certificate file needs its key file and vice versa");
	if (cfg->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(srv->ssl_ctx, cfg->cert_file) != 1)
			return ossl_error(err, "loading certificate", cfg->cert_file);
		if (SSL_CTX_use_PrivateKey_file(srv->ssl_ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1)
			return ossl_error(err, "loading private key", cfg->key_file);
		if (SSL_CTX_check_private_key(srv->ssl_ctx) != 1)
			return ossl_error(err, "key does not match the certificate:", cfg->key_file);
	} else {
		EVP_PKEY *key = NULL;
		X509 *cert = NULL;
		if (tls_selfsigned_generate(&key, &cert, err) < 0)
			return -1;
		int ok = SSL_CTX_use_certificate(srv->ssl_ctx, cert) == 1 &&
			 SSL_CTX_use_PrivateKey(srv->ssl_ctx, key) == 1;
		X509_free(cert);
		EVP_PKEY_free(key);
		if (!ok)
			return ossl_error(err, "using the self-signed certificate", NULL);
		srv->self_signed = true;
	}

	if (cfg->client_ca_files && cfg->client_ca_files[0]) {
		STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
		if (!names)
			return ossl_error(err, "client CA list", NULL);
		for (size_t i = 0; cfg->client_ca_files[i]; i++) {
			const char *file = cfg->client_ca_files[i];
			if (SSL_CTX_load_verify_locations(srv->ssl_ctx, file, NULL) != 1 ||
			    SSL_add_file_cert_subjects_to_stack(names, file) != 1) {
				sk_X509_NAME_pop_free(names, X509_NAME_free);
				return ossl_error(err, "loading client CA file", file);
			}
		}
		SSL_CTX_set_client_CA_list(srv->ssl_ctx, names);
		/* Ask, verify what is presented, but let certificate-less clients
		 * in: the handler decides per path. */
		SSL_CTX_set_verify(srv->ssl_ctx, SSL_VERIFY_PEER, NULL);
	}
	return 0;
}

static int copy_config(struct https_server *srv, const struct https_server_config *cfg)
{
	srv->cfg = *cfg;
	if ((cfg->cert_file && !(srv->cert_file = strdup(cfg->cert_file))) ||
	    (cfg->key_file && !(srv->key_file = strdup(cfg->key_file))))
		return -1;
	size_t n = 0;
	while (cfg->client_ca_files && cfg->client_ca_files[n])
		n++;
	srv->client_ca_files = calloc(n + 1, sizeof(char *));
	if (!srv->client_ca_files)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!(srv->client_ca_files[i] = strdup(cfg->client_ca_files[i])))
			return -1;
	srv->cfg.cert_file = srv->cert_file;
	srv->cfg.key_file = srv->key_file;
	srv->cfg.client_ca_files = (const char *const *)srv->client_ca_files;
	return 0;
}

static void note_port(struct https_server *srv, evutil_socket_t fd)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET)
			srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			srv->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
}

int https_server_new(struct event_base *base, const struct https_server_config *cfg,
		     https_handler_fn handler, void *ctx, struct https_server **out,
		     struct cadet_error *err)
{
	char host[256];
	uint16_t port = 0;
	bool inherited = cfg->listen_fd > 0;
	if (!inherited && https_split_host_port(cfg->listen, host, sizeof(host), &port, err) < 0)
		return -1;
	struct https_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return cadet_error_set(err, ENOMEM, "allocating the HTTPS server");
	srv->handler = handler;
	srv->ctx = ctx;
	if (copy_config(srv, cfg) < 0) {
		https_server_free(srv);
		return cadet_error_set(err, ENOMEM, "copying the server configuration");
	}
	if (!cfg->plain && setup_tls(srv, cfg, err) < 0) {
		https_server_free(srv);
		return -1;
	}
	srv->http = evhttp_new(base);
	if (!srv->http) {
		https_server_free(srv);
		return cadet_error_set(err, ENOMEM, "evhttp_new");
	}
	evhttp_set_max_headers_size(srv->http, (ev_ssize_t)(cfg->max_header_bytes ? cfg->max_header_bytes : 32768));
	evhttp_set_max_body_size(srv->http, 0);
	evhttp_set_timeout(srv->http, cfg->timeout_s > 0 ? cfg->timeout_s : 30);
	/* Every method reaches handle_request, which answers 405 itself
	 * (evhttp would say 501 for the ones it filters). */
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						      EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
						      EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(srv->http, new_bufferevent, srv);
	evhttp_set_gencb(srv->http, handle_request, srv);

	struct evhttp_bound_socket *bound;
	if (inherited) {
		if (!(bound = evhttp_accept_socket_with_handle(srv->http, cfg->listen_fd))) {
			int e = errno;
			https_server_free(srv);
			return cadet_error_set(err, e, "serving on the inherited socket %d", cfg->listen_fd);
		}
	} else if (!(bound = evhttp_bind_socket_with_handle(srv->http, host, port))) {
		int e = errno;
		https_server_free(srv);
		return cadet_error_set(err, e, "listening on %s", cfg->listen);
	}
	note_port(srv, evhttp_bound_socket_get_fd(bound));
	/* no connection arrives before the loop runs, so the guard can come last */
	char label[64];
	snprintf(label, sizeof(label), "%s port %u", cfg->plain ? "HTTP" : "HTTPS", (unsigned)srv->port);
	srv->guard = conn_guard_new(base, evhttp_bound_socket_get_listener(bound),
				    cfg->max_connections ? cfg->max_connections : HTTPS_DEFAULT_MAX_CONNECTIONS,
				    cfg->request_timeout_s > 0 ? cfg->request_timeout_s : HTTPS_DEFAULT_REQUEST_TIMEOUT_S,
				    label);
	if (!srv->guard) {
		https_server_free(srv);
		return cadet_error_set(err, ENOMEM, "allocating the connection guard");
	}
	*out = srv;
	return 0;
}

int https_server_reload(struct https_server *srv, struct cadet_error *err)
{
	if (srv->cfg.plain || !srv->cert_file)
		return 0;
	struct https_server fresh = { 0 };
	if (setup_tls(&fresh, &srv->cfg, err) < 0) {
		SSL_CTX_free(fresh.ssl_ctx);
		return -1;
	}
	/* open connections hold their own references to the old context */
	SSL_CTX_free(srv->ssl_ctx);
	srv->ssl_ctx = fresh.ssl_ctx;
	return 0;
}

void https_server_free(struct https_server *srv)
{
	if (!srv)
		return;
	/* evhttp_free frees the listener and closes every connection */
	conn_guard_detach(srv->guard);
	if (srv->http)
		evhttp_free(srv->http);
	conn_guard_free(srv->guard);
	SSL_CTX_free(srv->ssl_ctx);
	free(srv->cert_file);
	free(srv->key_file);
	for (size_t i = 0; srv->client_ca_files && srv->client_ca_files[i]; i++)
		free(srv->client_ca_files[i]);
	free(srv->client_ca_files);
	free(srv);
}

uint16_t https_server_port(const struct https_server *srv)
{
	return srv->port;
}

bool https_server_self_signed(const struct https_server *srv)
{
	return srv->self_signed;
}

unsigned https_server_connections(const struct https_server *srv)
{
	return conn_guard_open(srv->guard);
}

uint64_t https_server_dropped_slow(const struct https_server *srv)
{
	return conn_guard_dropped(srv->guard);
}

const char *https_request_header(const struct https_request *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req->evreq), name);
}

static int decode_component(const char *s, size_t len, char **out, struct cadet_error *err)
{
	_cleanup_free_ char *raw = strndup(s, len);
	if (!raw)
		return cadet_error_set(err, ENOMEM, "query");
	size_t decoded_len = 0;
	char *decoded = evhttp_uridecode(raw, 1, &decoded_len);
	if (!decoded)
		return cadet_error_set(err, ENOMEM, "query");
	if (strlen(decoded) != decoded_len) {
		free(decoded);
		return cadet_error_set(err, EINVAL, "query parameter contains a NUL byte");
	}
	*out = decoded;
	return 0;
}

int https_request_query_param(const struct https_request *req, const char *key, char **out,
			      struct cadet_error *err)
{
	*out = NULL;
	const char *p = req->query;
	while (p && *p) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		_cleanup_free_ char *k = NULL;
		if (decode_component(p, klen, &k, err) < 0)
			return -1;
		if (strcmp(k, key) == 0) {
			if (!eq)
				return decode_component("", 0, out, err);
			return decode_component(eq + 1, len - klen - 1, out, err);
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}
