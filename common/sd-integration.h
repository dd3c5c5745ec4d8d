/* sd-integration.h: how a cadet daemon works with systemd (libsystemd's
 * sd-daemon API), in one place for both daemons.
 *
 * - Socket activation: sd_integration_listen_fd() takes the one listening
 *   TCP socket a .socket unit passed, if any.
 * - Type=notify: READY=1 once the daemon serves, STATUS= lines saying what
 *   it is doing, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 when it
 *   shuts down.
 * - Watchdog: when the unit sets WatchdogSec, a timer on the daemon's event
 *   loop sends WATCHDOG=1 at half the interval. The same loop runs the
 *   daemon's work (the agent's collection tick, the aggregator's API), so a
 *   loop stuck in that work stops the pings and systemd restarts the service.
 * - SIGHUP: runs the daemon's reload hook on the loop.
 *
 * Without systemd (no NOTIFY_SOCKET, LISTEN_FDS or WATCHDOG_USEC) all of this
 * does nothing. A failed notification does not change what a daemon does, so
 * the notify calls do not return errors: the first failure is logged as a
 * warning here and later ones are dropped. */
#ifndef CADET_SD_INTEGRATION_H
#define CADET_SD_INTEGRATION_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct event_base;
struct sd_integration;

typedef void (*sd_integration_reload_fn)(void *ctx);

/* Takes the socket passed by systemd socket activation. *fd is that socket,
 * made non-blocking for libevent's listener, or -1 when the process was not
 * socket-activated; `name` gets its "host:port" (or is emptied). Fails when
 * systemd passed more than one socket or one that is not a listening TCP
 * socket. */
int sd_integration_listen_fd(int *fd, char *name, size_t name_size, struct cadet_error *err);

/* Whether stderr is connected to journald: JOURNAL_STREAM names stderr's
 * device and inode (the test systemd.exec(5) recommends; a child that merely
 * inherited the variable with stderr redirected elsewhere gets false). */
bool sd_integration_stderr_is_journal(void);

/* Adds the watchdog timer (when WatchdogSec is set for this process) and a
 * SIGHUP event to base. reload may be NULL: SIGHUP is then only logged. */
int sd_integration_start(struct event_base *base, sd_integration_reload_fn reload, void *reload_ctx,
			 struct sd_integration **out, struct cadet_error *err);

/* READY=1 with a STATUS= line. */
void sd_integration_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A STATUS= line alone. */
void sd_integration_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* STOPPING=1: call when shutdown begins. */
void sd_integration_stopping(void);

/* Removes the events; NULL is fine. */
void sd_integration_free(struct sd_integration *sdi);

/* For _cleanup_(sd_integration_freep). */
static inline void sd_integration_freep(struct sd_integration **sdi)
{
	sd_integration_free(*sdi);
}

#endif
