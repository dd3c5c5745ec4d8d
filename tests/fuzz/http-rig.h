/* http-rig.h: drives a real libevent evhttp server in-process for the HTTP
 * fuzz targets. The server accepts on an abstract unix socket (no file to
 * clean up, no TCP ports in TIME_WAIT) that the rig makes and the server
 * takes as an inherited listening socket, or, for a server that only binds
 * addresses itself, on a loopback TCP port (http_rig_use_tcp). Each fuzz
 * input is written by a client socket, the client half-closes, and the one
 * event loop runs until the server has answered and closed the connection
 * (the client reads EOF).
 * So every input goes through evhttp's own request parsing, limits and
 * connection teardown, then the daemon's handler. A server that never closes
 * after the client's EOF hangs the loop, which libFuzzer's -timeout reports.
 *
 * Run a target with CADET_FUZZ_ECHO=1 on one input to see what the server
 * answered. Header-only with static functions: each target includes it once. */
#ifndef CADET_FUZZ_HTTP_RIG_H
#define CADET_FUZZ_HTTP_RIG_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

struct http_rig {
	struct event_base *base;
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
		struct sockaddr_in in;
	} addr;
	socklen_t addr_len;
	int listen_fd;
	int echo; /* CADET_FUZZ_ECHO set: copy the server's answers to stderr */
};

struct rig_client {
	struct http_rig *rig;
	int fd;
	const uint8_t *data;
	size_t len, sent;
	size_t received;
	int done;
	struct event *ev;
};

/* A listening abstract unix socket, named after the pid and tag. */
static inline int http_rig_listen(struct http_rig *rig, const char *tag)
{
	memset(&rig->addr, 0, sizeof(rig->addr));
	rig->addr.un.sun_family = AF_UNIX;
	int n = snprintf(rig->addr.un.sun_path + 1, sizeof(rig->addr.un.sun_path) - 1, "cadet-fuzz-%s-%d", tag,
			 (int)getpid());
	rig->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	rig->echo = getenv("CADET_FUZZ_ECHO") != NULL;
	rig->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rig->listen_fd < 0 || bind(rig->listen_fd, &rig->addr.sa, rig->addr_len) != 0 ||
	    listen(rig->listen_fd, 16) != 0) {
		perror("http rig: listen");
		abort();
	}
	return rig->listen_fd;
}

/* A loopback TCP port that was free a moment ago, for a server that binds
 * its own listener; the rig then connects there. Linux reuses loopback
 * ports in TIME_WAIT for new connections (tcp_tw_reuse), so the fuzzer's
 * thousands of connections per second do not run out of ports. */
static inline uint16_t http_rig_use_tcp(struct http_rig *rig)
{
	memset(&rig->addr, 0, sizeof(rig->addr));
	rig->addr.in.sin_family = AF_INET;
	rig->addr.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rig->addr_len = sizeof(rig->addr.in);
	rig->echo = getenv("CADET_FUZZ_ECHO") != NULL;
	rig->listen_fd = -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, &rig->addr.sa, rig->addr_len) != 0 ||
	    getsockname(fd, &rig->addr.sa, &rig->addr_len) != 0) {
		perror("http rig: free port");
		abort();
	}
	close(fd);
	return ntohs(rig->addr.in.sin_port);
}

static void rig_client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rig_client *c = arg;
	if (what & EV_WRITE) {
		while (c->sent < c->len) {
			ssize_t n = send(fd, c->data + c->sent, c->len - c->sent, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				c->sent = c->len; /* server closed early: fine */
				break;
			}
			c->sent += (size_t)n;
		}
		if (c->sent == c->len) {
			shutdown(fd, SHUT_WR);
			event_del(c->ev);
			event_assign(c->ev, c->rig->base, fd, EV_READ | EV_PERSIST, rig_client_cb, c);
			event_add(c->ev, NULL);
		}
	}
	if (what & EV_READ) {
		char buf[65536];
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n > 0) {
				c->received += (size_t)n;
				if (c->rig->echo)
					fwrite(buf, 1, (size_t)n, stderr);
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			/* EOF or reset: the server is done with this connection */
			c->done = 1;
			event_del(c->ev);
			event_base_loopbreak(c->rig->base);
			return;
		}
	}
}

/* Sends one request (any bytes), returns how many bytes the server answered. */
static size_t http_rig_exchange(struct http_rig *rig, const uint8_t *data, size_t len)
{
	struct rig_client c = { .rig = rig, .data = data, .len = len };
	c.fd = socket(rig->addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c.fd < 0 || (connect(c.fd, &rig->addr.sa, rig->addr_len) != 0 && errno != EAGAIN && errno != EINPROGRESS)) {
		perror("http rig: connect");
		abort();
	}
	c.ev = event_new(rig->base, c.fd, EV_WRITE | EV_PERSIST, rig_client_cb, &c);
	if (!c.ev || event_add(c.ev, NULL) != 0)
		abort();
	while (!c.done)
		if (event_base_loop(rig->base, EVLOOP_ONCE) < 0)
			abort();
	event_free(c.ev);
	close(c.fd);
	/* let the server side finish freeing what it still holds */
	event_base_loop(rig->base, EVLOOP_NONBLOCK);
	return c.received;
}

#endif
