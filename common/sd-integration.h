/* sd-integration.h: how a cadet daemon works with systemd (libsystemd's
 * sd-daemon API), in one place for both daemons.
 *
 * - Socket activation: sd_integration_listen_fd() takes the one listening
 *   TCP socket a .socket unit passed, if any.
 * - Type=notify: READY=1 once the daemon serves, STATUS= lines saying what
 *   it is doing, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 when it
 *   shuts down.
 * - Watchdog: when the unit sets WatchdogSec, a timer on the daemon's event
 *   loop wakes at half the interval and sends WATCHDOG=1 only if the
 *   daemon's work made progress lately: the daemon hands in a function that
 *   returns when its last unit of work completed (the agent's collection
 *   cycle, the aggregator's store sweep) and a bound; an older completion
 *   withholds the ping, and systemd restarts the service once WatchdogSec
 *   passes without one. A live loop alone is not progress, so this stays
 *   right if the work moves off the loop. The first withheld ping is logged
 *   with the reason (at most once a minute), and so is the first ping after.
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
#include <stdint.h>

#include "common/error.h"

struct event_base;
struct sd_integration;

typedef void (*sd_integration_reload_fn)(void *ctx);

/* When the daemon's last unit of work completed, in CLOCK_MONOTONIC ns; 0
 * while none has. Called on the event loop: if the work runs on another
 * thread, the function reads the time in a way that thread's writes allow. */
typedef uint64_t (*sd_integration_progress_fn)(void *ctx);

struct sd_integration_options {
	sd_integration_reload_fn reload; /* NULL: SIGHUP is only logged */
	void *reload_ctx;
	/* The watchdog pings while progress(progress_ctx) is at most
	 * progress_bound_ns old (before the first completion, the start counts
	 * as one). work_name says what completes, for the log ("collection
	 * cycle"). progress and a bound > 0 are required. */
	const char *work_name;
	sd_integration_progress_fn progress;
	void *progress_ctx;
	uint64_t progress_bound_ns;
};

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
 * SIGHUP event to base. */
int sd_integration_start(struct event_base *base, const struct sd_integration_options *opts,
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
