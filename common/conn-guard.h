/* conn-guard.h: the per-connection limits evhttp (libevent 2.1) lacks:
 *
 *  - a cap on open connections: at the cap the listener stops accepting
 *    (new clients wait in the kernel's backlog, as behind Go's
 *    netutil.LimitListener) and resumes when a connection closes;
 *  - a request deadline: the first request must arrive whole within the
 *    deadline of the connection opening (TLS handshake included), and each
 *    later one within the deadline of its first byte, or the connection is
 *    dropped. evhttp's own timeouts restart on every byte, so without this
 *    a client trickling one header byte at a time (slowloris) would hold
 *    its connection for ever.
 *
 * The server hands each new connection's bufferevent to conn_guard_track
 * from evhttp's bufferevent callback. At shutdown the server calls
 * conn_guard_detach before evhttp_free (which closes every connection and
 * frees the listener) and conn_guard_free after it. */
#ifndef CADET_CONN_GUARD_H
#define CADET_CONN_GUARD_H

#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

struct conn_guard;

/* listener: the one to pause at the cap. label names the server in log
 * lines ("HTTPS port 10265"). */
struct conn_guard *conn_guard_new(struct event_base *base, struct evconnlistener *listener,
				  unsigned max_connections, int request_timeout_s, const char *label);

/* Counts a connection whose bufferevent evhttp is about to take (from
 * evhttp's bufferevent callback) and watches its requests. Returns -1 when
 * out of memory: the connection then goes unwatched. */
int conn_guard_track(struct conn_guard *g, struct bufferevent *bev);

unsigned conn_guard_open(const struct conn_guard *g);
/* Connections dropped because a request did not arrive within the deadline. */
uint64_t conn_guard_dropped(const struct conn_guard *g);

/* Call before evhttp_free: finishes watching connections evhttp has just
 * taken and detaches the listener (evhttp_free frees it). */
void conn_guard_detach(struct conn_guard *g);
/* Call after evhttp_free, which closed every connection. */
void conn_guard_free(struct conn_guard *g);

#endif
