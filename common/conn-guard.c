/* conn-guard.c: connection cap and request deadline around evhttp (see
 * conn-guard.h).
 *
 * evhttp 2.1 tells nobody when it accepts or closes a connection, so the
 * guard watches from the side:
 *  - accept: evhttp's bufferevent callback hands the guard each new
 *    bufferevent (conn_guard_track), which is counted at once;
 *  - close: evhttp makes the connection right after the callback returns,
 *    with itself as the bufferevent's callback argument. On the next loop
 *    turn the guard reads it back (bufferevent_getcb), checks it with
 *    evhttp_connection_get_bufferevent, and registers a close callback,
 *    which evhttp calls once when it frees the connection (and sets
 *    TCP_NODELAY on its socket, which evhttp has set by then). Until then the
 *    guard holds a reference on the bufferevent, so a connection evhttp
 *    dropped meanwhile is seen (its callbacks are cleared) and uncounted;
 *  - requests: callbacks on the bufferevent's input and output buffers. A
 *    deadline runs from the connection's start, and from the first byte of
 *    each later request; any response (which evhttp writes only once a
 *    request is complete or refused) stops it. When it fires the guard
 *    raises a read timeout on the bufferevent, which evhttp handles like its
 *    own idle timeout: the connection is closed and freed. */
#include "conn-guard.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "log.h"

struct watched_conn {
	struct conn_guard *guard;
	struct bufferevent *bev;
	struct event *deadline;
	struct evbuffer_cb_entry *in_cb, *out_cb;
	struct watched_conn *next_new; /* on the newcomers list until attached */
};

struct conn_guard {
	struct event_base *base;
	struct event *attach_ev;
	struct watched_conn *newcomers; /* tracked, close callback not yet set */
	unsigned open, max;
	struct timeval request_timeout;
	struct evconnlistener *listener; /* NULL once detached */
	bool paused;
	bool pause_logged, drop_logged, mismatch_logged, nodelay_logged;
	uint64_t dropped;
	char label[128];
};

static void attach_newcomers(evutil_socket_t fd, short what, void *arg);

struct conn_guard *conn_guard_new(struct event_base *base, struct evconnlistener *listener,
				  unsigned max_connections, int request_timeout_s, const char *label)
{
	struct conn_guard *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->attach_ev = event_new(base, -1, 0, attach_newcomers, g);
	if (!g->attach_ev) {
		free(g);
		return NULL;
	}
	g->base = base;
	g->listener = listener;
	g->max = max_connections ? max_connections : 1;
	g->request_timeout.tv_sec = request_timeout_s > 0 ? request_timeout_s : 1;
	snprintf(g->label, sizeof(g->label), "%s", label ? label : "server");
	return g;
}

static void pause_accepting(struct conn_guard *g)
{
	if (g->paused || !g->listener)
		return;
	if (evconnlistener_disable(g->listener) != 0) {
		log_error("%s: cannot pause accepting at %u open connections", g->label, g->open);
		return;
	}
	g->paused = true;
	if (!g->pause_logged)
		log_warn("%s: %u connections open, the limit; new clients wait until one closes "
			 "(logged once; later pauses at debug level)",
			 g->label, g->open);
	else
		log_debug("%s: %u connections open, pausing accepts", g->label, g->open);
	g->pause_logged = true;
}

static void resume_accepting(struct conn_guard *g)
{
	if (!g->paused || !g->listener)
		return;
	if (evconnlistener_enable(g->listener) != 0) {
		log_error("%s: cannot resume accepting connections", g->label);
		return;
	}
	g->paused = false;
	log_debug("%s: %u connections open, accepting again", g->label, g->open);
}

static void deadline_passed(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct watched_conn *c = arg;
	struct conn_guard *g = c->guard;
	g->dropped++;
	if (!g->drop_logged)
		log_warn("%s: dropped a client that sent no complete request within %ld s "
			 "(logged once; later drops at debug level)",
			 g->label, (long)g->request_timeout.tv_sec);
	else
		log_debug("%s: dropped a client that sent no complete request within %ld s", g->label,
			  (long)g->request_timeout.tv_sec);
	g->drop_logged = true;
	/* evhttp's own handling of a read timeout closes and frees it */
	bufferevent_trigger_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, BEV_TRIG_DEFER_CALLBACKS);
}

static void input_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)buf;
	struct watched_conn *c = arg;
	if (info->n_added > 0 && !evtimer_pending(c->deadline, NULL))
		evtimer_add(c->deadline, &c->guard->request_timeout);
}

static void output_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)buf;
	struct watched_conn *c = arg;
	if (info->n_added > 0)
		evtimer_del(c->deadline);
}

/* Uncounts c; its bufferevent must still be alive. */
static void conn_gone(struct watched_conn *c)
{
	struct conn_guard *g = c->guard;
	if (c->in_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	if (c->out_cb)
		evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	if (c->deadline)
		event_free(c->deadline);
	free(c);
	g->open--;
	if (g->open < g->max)
		resume_accepting(g);
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	conn_gone(arg);
}

/* Answers go out at once: with Nagle on, the second TLS record of an answer
 * waits for the client's delayed ACK, about 40 ms per kept-alive request. */
static void set_nodelay(struct conn_guard *g, struct bufferevent *bev)
{
	evutil_socket_t fd = bufferevent_getfd(bev);
	int on = 1;
	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0 && !g->nodelay_logged) {
		log_warn("%s: cannot set TCP_NODELAY on a connection: %s (logged once)", g->label, strerror(errno));
		g->nodelay_logged = true;
	}
}

static void attach_one(struct conn_guard *g, struct watched_conn *c)
{
	struct bufferevent *bev = c->bev;
	bufferevent_event_cb eventcb = NULL;
	void *cbarg = NULL;
	bufferevent_getcb(bev, NULL, NULL, &eventcb, &cbarg);
	struct evhttp_connection *evcon = cbarg;
	if (!eventcb || !evcon) {
		/* evhttp freed it already (bufferevent_free clears callbacks) */
		conn_gone(c);
	} else if (evhttp_connection_get_bufferevent(evcon) != bev) {
		if (!g->mismatch_logged)
			log_error("%s: cannot watch a connection (unexpected libevent internals); "
				  "the connection limit and request deadline may be off",
				  g->label);
		g->mismatch_logged = true;
		conn_gone(c);
	} else {
		evhttp_connection_set_closecb(evcon, conn_closed, c);
		set_nodelay(g, bev);
	}
	bufferevent_decref(bev);
}

static void attach_newcomers(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct conn_guard *g = arg;
	while (g->newcomers) {
		struct watched_conn *c = g->newcomers;
		g->newcomers = c->next_new;
		attach_one(g, c);
	}
}

int conn_guard_track(struct conn_guard *g, struct bufferevent *bev)
{
	struct watched_conn *c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->guard = g;
	c->bev = bev;
	c->deadline = evtimer_new(g->base, deadline_passed, c);
	if (!c->deadline || !(c->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), input_added, c)) ||
	    !(c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), output_added, c)) ||
	    evtimer_add(c->deadline, &g->request_timeout) != 0) {
		g->open++; /* conn_gone uncounts */
		conn_gone(c);
		goto fail;
	}
	bufferevent_incref(bev);
	c->next_new = g->newcomers;
	g->newcomers = c;
	event_active(g->attach_ev, EV_TIMEOUT, 0);
	if (++g->open >= g->max)
		pause_accepting(g);
	return 0;
fail:
	log_error("%s: out of memory watching a new connection; it goes unwatched", g->label);
	return -1;
}

unsigned conn_guard_open(const struct conn_guard *g)
{
	return g->open;
}

uint64_t conn_guard_dropped(const struct conn_guard *g)
{
	return g->dropped;
}

void conn_guard_detach(struct conn_guard *g)
{
	if (!g)
		return;
	attach_newcomers(-1, 0, g);
	g->listener = NULL;
}

void conn_guard_free(struct conn_guard *g)
{
	if (!g)
		return;
	attach_newcomers(-1, 0, g); /* none left after conn_guard_detach */
	if (g->open > 0)
		log_debug("%s: %u connections still counted at shutdown", g->label, g->open);
	event_free(g->attach_ev);
	free(g);
}
