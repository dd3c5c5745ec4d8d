/* sd-integration.c: socket activation, readiness and status notification,
 * the progress-gated watchdog and SIGHUP for the daemons (see
 * sd-integration.h). */
#include "common/sd-integration.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "common/duration.h"
#include "common/log.h"
#include "common/timefmt.h"

/* The least time between two "not pinging" warnings, so a flapping daemon
 * does not flood its log. */
#define WITHHELD_LOG_INTERVAL_NS (60 * NSEC_PER_SEC)

struct sd_integration {
	struct event *watchdog;
	struct event *sighup;
	struct sd_integration_options opts;
	uint64_t watchdog_usec;
	uint64_t started_mono_ns;
	bool withholding; /* the last watchdog wake-up sent no ping */
	bool withheld_logged; /* ... and that was logged */
	uint64_t withheld_logged_mono_ns;
};

/* Whether a failed notification was already reported. */
static bool notify_failure_logged;

static void notify(const char *state)
{
	int r = sd_notify(0, state);
	if (r < 0 && !notify_failure_logged) {
		notify_failure_logged = true;
		log_warn("cannot notify systemd through NOTIFY_SOCKET: %s", strerror(-r));
	}
}

/* Sends `prefix` followed by STATUS=<formatted text>, the text kept on one
 * line as the protocol needs. */
__attribute__((format(printf, 2, 0))) static void notify_status(const char *prefix, const char *fmt, va_list ap)
{
	char status[256];
	vsnprintf(status, sizeof(status), fmt, ap);
	for (char *p = status; *p; p++)
		if (*p == '\n')
			*p = ' ';
	char state[300];
	if (snprintf(state, sizeof(state), "%sSTATUS=%s", prefix, status) < 0)
		return;
	notify(state);
}

void sd_integration_ready(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	notify_status("READY=1\n", fmt, ap);
	va_end(ap);
}

void sd_integration_status(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	notify_status("", fmt, ap);
	va_end(ap);
}

void sd_integration_stopping(void)
{
	notify("STOPPING=1\nSTATUS=shutting down");
}

static int format_sockname(int fd, char *name, size_t name_size, struct cadet_error *err)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return cadet_error_set(err, errno, "getsockname on the systemd socket %d", fd);
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		if (!inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)))
			return cadet_error_set(err, errno, "inet_ntop");
		snprintf(name, name_size, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
		if (!inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)))
			return cadet_error_set(err, errno, "inet_ntop");
		snprintf(name, name_size, "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
	}
	return 0;
}

int sd_integration_listen_fd(int *fd, char *name, size_t name_size, struct cadet_error *err)
{
	*fd = -1;
	if (name_size > 0)
		name[0] = '\0';
	/* unset LISTEN_* so nothing this process starts takes them for its own */
	int n = sd_listen_fds(1);
	if (n < 0)
		return cadet_error_set(err, -n, "reading the sockets systemd passed (LISTEN_FDS)");
	if (n == 0)
		return 0;
	if (n > 1)
		return cadet_error_set(err, EINVAL, "systemd passed %d sockets; one listening TCP socket is expected",
				       n);
	int candidate = SD_LISTEN_FDS_START;
	int r = sd_is_socket_inet(candidate, AF_UNSPEC, SOCK_STREAM, 1, 0);
	if (r < 0)
		return cadet_error_set(err, -r, "inspecting the socket systemd passed");
	if (r == 0)
		return cadet_error_set(err, EINVAL,
				       "the socket systemd passed is not a listening TCP socket (ListenStream=ADDR:PORT)");
	int flags = fcntl(candidate, F_GETFL);
	if (flags < 0 || fcntl(candidate, F_SETFL, flags | O_NONBLOCK) != 0)
		return cadet_error_set(err, errno, "making the systemd socket non-blocking");
	if (format_sockname(candidate, name, name_size, err) != 0)
		return -1;
	*fd = candidate;
	return 0;
}

bool sd_integration_stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;
	if (!stream || sscanf(stream, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Logs the first withheld ping (rate-limited) with why it was withheld, and
 * the first ping after a logged withholding. */
static void log_watchdog_change(struct sd_integration *sdi, bool pinging, uint64_t now_ns, uint64_t last_ns,
				uint64_t age_ns)
{
	const char *work = sdi->opts.work_name;
	if (pinging) {
		if (sdi->withheld_logged)
			log_info("watchdog: a %s completed again; pinging systemd", work);
		sdi->withheld_logged = false;
		return;
	}
	if (sdi->withheld_logged_mono_ns != 0 && now_ns - sdi->withheld_logged_mono_ns < WITHHELD_LOG_INTERVAL_NS)
		return;
	char age[32], bound[32], watchdog[32];
	duration_format(age_ns - age_ns % NSEC_PER_MSEC, age, sizeof(age));
	duration_format(sdi->opts.progress_bound_ns, bound, sizeof(bound));
	duration_format(sdi->watchdog_usec * NSEC_PER_USEC, watchdog, sizeof(watchdog));
	if (last_ns)
		log_warn("watchdog: not pinging systemd: the last %s completed %s ago, more than the bound of %s; "
			 "systemd restarts the service after %s without a ping",
			 work, age, bound, watchdog);
	else
		log_warn("watchdog: not pinging systemd: no %s completed in the %s since start, more than the "
			 "bound of %s; systemd restarts the service after %s without a ping",
			 work, age, bound, watchdog);
	sdi->withheld_logged = true;
	sdi->withheld_logged_mono_ns = now_ns;
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct sd_integration *sdi = arg;
	uint64_t now_ns = clock_monotonic_ns();
	uint64_t last_ns = sdi->opts.progress(sdi->opts.progress_ctx);
	uint64_t since_ns = last_ns ? last_ns : sdi->started_mono_ns;
	uint64_t age_ns = now_ns > since_ns ? now_ns - since_ns : 0;
	bool pinging = age_ns <= sdi->opts.progress_bound_ns;
	bool was_pinging = !sdi->withholding;
	if (pinging != was_pinging)
		log_watchdog_change(sdi, pinging, now_ns, last_ns, age_ns);
	sdi->withholding = !pinging;
	if (pinging)
		notify("WATCHDOG=1");
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct sd_integration *sdi = arg;
	if (!sdi->opts.reload) {
		log_info("received SIGHUP: nothing to reload");
		return;
	}
	log_info("received SIGHUP: reloading");
	notify("RELOADING=1\nSTATUS=reloading");
	sdi->opts.reload(sdi->opts.reload_ctx);
	notify("READY=1\nSTATUS=reloaded");
}

int sd_integration_start(struct event_base *base, const struct sd_integration_options *opts,
			 struct sd_integration **out, struct cadet_error *err)
{
	if (!opts->progress || opts->progress_bound_ns == 0 || !opts->work_name)
		return cadet_error_set(err, EINVAL, "systemd integration: the watchdog needs a progress function, "
				       "a bound and a name for the work");
	struct sd_integration *sdi = calloc(1, sizeof(*sdi));
	if (!sdi)
		return cadet_error_set(err, ENOMEM, "systemd integration");
	sdi->opts = *opts;
	sdi->started_mono_ns = clock_monotonic_ns();

	sdi->sighup = evsignal_new(base, SIGHUP, on_sighup, sdi);
	if (!sdi->sighup || evsignal_add(sdi->sighup, NULL) != 0) {
		sd_integration_free(sdi);
		return cadet_error_set(err, ENOMEM, "SIGHUP event");
	}

	uint64_t watchdog_usec = 0;
	int r = sd_watchdog_enabled(0, &watchdog_usec);
	if (r < 0) {
		sd_integration_free(sdi);
		return cadet_error_set(err, -r, "reading the systemd watchdog settings (WATCHDOG_USEC)");
	}
	if (r > 0 && watchdog_usec > 0) {
		sdi->watchdog_usec = watchdog_usec;
		uint64_t half_usec = watchdog_usec / 2;
		struct timeval tv = {
			.tv_sec = (time_t)(half_usec / 1000000),
			.tv_usec = (suseconds_t)(half_usec % 1000000),
		};
		sdi->watchdog = event_new(base, -1, EV_PERSIST, on_watchdog, sdi);
		if (!sdi->watchdog || event_add(sdi->watchdog, &tv) != 0) {
			sd_integration_free(sdi);
			return cadet_error_set(err, ENOMEM, "watchdog timer");
		}
	}
	*out = sdi;
	return 0;
}

void sd_integration_free(struct sd_integration *sdi)
{
	if (!sdi)
		return;
	if (sdi->watchdog)
		event_free(sdi->watchdog);
	if (sdi->sighup)
		event_free(sdi->sighup);
	free(sdi);
}
