/* test_sd_integration.c: common/sd-integration.c against the environment
 * systemd gives a service, set up by hand: LISTEN_FDS/LISTEN_PID with a
 * socket on fd 3 (socket activation), NOTIFY_SOCKET bound to a datagram
 * socket of the test (notifications), WATCHDOG_USEC (watchdog pings from the
 * event loop, sent only while the daemon's work completes within its bound)
 * and JOURNAL_STREAM (journald detection). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "common/sd-integration.h"
#include "common/timefmt.h"

/* Puts a TCP socket on 127.0.0.1 (listening or not) at fd 3 and sets
 * LISTEN_FDS=n for this process. */
static void pass_socket(bool listening, int n)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (listening)
		assert_int_equal(listen(s, 8), 0);
	if (s != SD_LISTEN_FDS_START) {
		assert_int_equal(dup2(s, SD_LISTEN_FDS_START), SD_LISTEN_FDS_START);
		close(s);
	}
	char pid[32], nfds[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(nfds, sizeof(nfds), "%d", n);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", nfds, 1);
}

static void test_listen_fd_none(void **state)
{
	(void)state;
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	int fd = 42;
	char name[64] = "x";
	struct cadet_error err;
	assert_int_equal(sd_integration_listen_fd(&fd, name, sizeof(name), &err), 0);
	assert_int_equal(fd, -1);
	assert_string_equal(name, "");
}

static void test_listen_fd_passed(void **state)
{
	(void)state;
	pass_socket(true, 1);
	int fd = -1;
	char name[64];
	struct cadet_error err;
	int r = sd_integration_listen_fd(&fd, name, sizeof(name), &err);
	if (r != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(fd, SD_LISTEN_FDS_START);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(strncmp(name, "127.0.0.1:", 10) == 0);
	assert_true(atoi(name + 10) > 0);
	/* the variables are consumed */
	assert_null(getenv("LISTEN_FDS"));
	close(fd);
}

static void test_listen_fd_not_listening(void **state)
{
	(void)state;
	pass_socket(false, 1);
	int fd = -1;
	char name[64];
	struct cadet_error err;
	assert_int_equal(sd_integration_listen_fd(&fd, name, sizeof(name), &err), -1);
	assert_non_null(strstr(err.msg, "not a listening TCP socket"));
	assert_int_equal(fd, -1);
	close(SD_LISTEN_FDS_START);
}

static void test_listen_fd_two(void **state)
{
	(void)state;
	pass_socket(true, 2);
	assert_int_equal(dup2(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + 1), SD_LISTEN_FDS_START + 1);
	int fd = -1;
	char name[64];
	struct cadet_error err;
	assert_int_equal(sd_integration_listen_fd(&fd, name, sizeof(name), &err), -1);
	assert_non_null(strstr(err.msg, "2 sockets"));
	close(SD_LISTEN_FDS_START);
	close(SD_LISTEN_FDS_START + 1);
}

static void test_stderr_is_journal(void **state)
{
	(void)state;
	struct stat st;
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	char v[64];
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	assert_true(sd_integration_stderr_is_journal());
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", v, 1);
	assert_false(sd_integration_stderr_is_journal());
	setenv("JOURNAL_STREAM", "garbage", 1);
	assert_false(sd_integration_stderr_is_journal());
	unsetenv("JOURNAL_STREAM");
	assert_false(sd_integration_stderr_is_journal());
}

/* A datagram socket standing in for systemd's; NOTIFY_SOCKET names it. */
static int notify_socket(char *path, size_t path_size)
{
	snprintf(path, path_size, "/tmp/cadet-test-notify-%d.sock", (int)getpid());
	unlink(path);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(s >= 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	return s;
}

/* The next notification, or "" when none is waiting. */
static void next_message(int s, char *buf, size_t size)
{
	ssize_t n = recv(s, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
}

static void test_notify(void **state)
{
	(void)state;
	char path[108], msg[512];
	int s = notify_socket(path, sizeof(path));
	sd_integration_ready("serving on %s\nsecond line", "127.0.0.1:10265");
	next_message(s, msg, sizeof(msg));
	assert_string_equal(msg, "READY=1\nSTATUS=serving on 127.0.0.1:10265 second line");
	sd_integration_status("collection failing: %s", "EIO");
	next_message(s, msg, sizeof(msg));
	assert_string_equal(msg, "STATUS=collection failing: EIO");
	sd_integration_stopping();
	next_message(s, msg, sizeof(msg));
	assert_string_equal(msg, "STOPPING=1\nSTATUS=shutting down");
	unsetenv("NOTIFY_SOCKET");
	close(s);
	unlink(path);
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

/* Runs base for `ms` milliseconds. */
static void run_for(struct event_base *base, int ms)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = ms * 1000 };
	struct event *stop = evtimer_new(base, stop_loop, base);
	assert_non_null(stop);
	assert_int_equal(evtimer_add(stop, &tv), 0);
	assert_int_equal(event_base_dispatch(base), 0);
	event_free(stop);
}

/* The work's last completion as the daemon would report it; the test sets
 * it, as a collection cycle or a sweep would. */
static uint64_t last_done_mono_ns;

static uint64_t last_done(void *ctx)
{
	(void)ctx;
	return last_done_mono_ns;
}

static const struct sd_integration_options watched = {
	.work_name = "test cycle",
	.progress = last_done,
	.progress_bound_ns = 300 * 1000000ULL,
};

/* Drains the notification socket: how many WATCHDOG=1 were waiting (and
 * nothing else was). */
static int count_pings(int s)
{
	char msg[512];
	int pings = 0;
	for (;;) {
		next_message(s, msg, sizeof(msg));
		if (!*msg)
			return pings;
		assert_string_equal(msg, "WATCHDOG=1");
		pings++;
	}
}

static void set_watchdog_env(const char *usec)
{
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	setenv("WATCHDOG_USEC", usec, 1);
}

static void unset_env(void)
{
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog(void **state)
{
	(void)state;
	char path[108], msg[512];
	int s = notify_socket(path, sizeof(path));
	set_watchdog_env("200000"); /* a wake-up every 100 ms */
	struct event_base *base = event_base_new();
	assert_non_null(base);
	struct sd_integration *sdi = NULL;
	struct cadet_error err;
	last_done_mono_ns = clock_monotonic_ns();
	assert_int_equal(sd_integration_start(base, &watched, &sdi, &err), 0);
	run_for(base, 250); /* the work completed 250 ms ago at most: within 300 ms */
	assert_in_range(count_pings(s), 1, 3); /* 2, give or take a late timer */
	sd_integration_free(sdi);

	/* no watchdog for another process's WATCHDOG_PID */
	setenv("WATCHDOG_PID", "1", 1);
	assert_int_equal(sd_integration_start(base, &watched, &sdi, &err), 0);
	run_for(base, 150);
	next_message(s, msg, sizeof(msg));
	assert_string_equal(msg, "");
	sd_integration_free(sdi);

	event_base_free(base);
	unset_env();
	close(s);
	unlink(path);
}

/* Advances the work's completion time every 50 ms, as a healthy daemon. */
static void complete_work(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	last_done_mono_ns = clock_monotonic_ns();
}

/* The pings follow the work, not the loop: the loop runs throughout, the
 * pings stop once the last completion is older than the bound and come
 * back with the next completion. */
static void test_watchdog_follows_work(void **state)
{
	(void)state;
	char path[108];
	int s = notify_socket(path, sizeof(path));
	set_watchdog_env("200000");
	struct event_base *base = event_base_new();
	assert_non_null(base);
	struct sd_integration *sdi = NULL;
	struct cadet_error err;

	/* before the first completion the start counts: pings within the bound
	 * after it, none past it */
	last_done_mono_ns = 0;
	assert_int_equal(sd_integration_start(base, &watched, &sdi, &err), 0);
	run_for(base, 250);
	assert_in_range(count_pings(s), 1, 3);
	run_for(base, 400); /* 650 ms since start, no completion */
	int late = count_pings(s); /* the wake-up at 300 ms may still ping */
	assert_in_range(late, 0, 1);
	run_for(base, 300);
	assert_int_equal(count_pings(s), 0);

	/* completions resume: so do the pings */
	struct event *work = event_new(base, -1, EV_PERSIST, complete_work, NULL);
	assert_non_null(work);
	struct timeval every_50ms = { .tv_sec = 0, .tv_usec = 50000 };
	complete_work(-1, 0, NULL);
	assert_int_equal(event_add(work, &every_50ms), 0);
	run_for(base, 450);
	assert_in_range(count_pings(s), 3, 5); /* 4 */

	/* the work stops completing, the loop goes on: pings stop */
	event_del(work);
	run_for(base, 400);
	assert_in_range(count_pings(s), 2, 4); /* those within 300 ms of the last completion */
	run_for(base, 500);
	assert_int_equal(count_pings(s), 0);

	/* a completion long ago is no progress either */
	last_done_mono_ns = clock_monotonic_ns() - 10 * 1000000000ULL;
	run_for(base, 300);
	assert_int_equal(count_pings(s), 0);

	event_free(work);
	sd_integration_free(sdi);
	event_base_free(base);
	unset_env();
	close(s);
	unlink(path);
}

static void test_watchdog_needs_progress(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	assert_non_null(base);
	struct sd_integration *sdi = NULL;
	struct cadet_error err;
	struct sd_integration_options opts = watched;
	opts.progress = NULL;
	assert_int_equal(sd_integration_start(base, &opts, &sdi, &err), -1);
	assert_non_null(strstr(err.msg, "progress function"));
	opts = watched;
	opts.progress_bound_ns = 0;
	assert_int_equal(sd_integration_start(base, &opts, &sdi, &err), -1);
	assert_null(sdi);
	event_base_free(base);
}

static int reloads;

static void on_reload(void *ctx)
{
	(void)ctx;
	reloads++;
}

static void send_sighup(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	raise(SIGHUP);
}

static void test_sighup_reload(void **state)
{
	(void)state;
	char path[108], msg[512];
	int s = notify_socket(path, sizeof(path));
	struct event_base *base = event_base_new();
	assert_non_null(base);
	struct sd_integration *sdi = NULL;
	struct cadet_error err;
	struct sd_integration_options opts = watched;
	opts.reload = on_reload;
	assert_int_equal(sd_integration_start(base, &opts, &sdi, &err), 0);
	struct event *hup = evtimer_new(base, send_sighup, NULL);
	struct timeval soon = { .tv_sec = 0, .tv_usec = 10000 };
	assert_int_equal(evtimer_add(hup, &soon), 0);
	run_for(base, 100);
	assert_int_equal(reloads, 1);
	next_message(s, msg, sizeof(msg));
	assert_string_equal(msg, "RELOADING=1\nSTATUS=reloading");
	next_message(s, msg, sizeof(msg));
	assert_string_equal(msg, "READY=1\nSTATUS=reloaded");
	event_free(hup);
	sd_integration_free(sdi);
	event_base_free(base);
	unsetenv("NOTIFY_SOCKET");
	close(s);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_fd_none),
		cmocka_unit_test(test_listen_fd_passed),
		cmocka_unit_test(test_listen_fd_not_listening),
		cmocka_unit_test(test_listen_fd_two),
		cmocka_unit_test(test_stderr_is_journal),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_watchdog_follows_work),
		cmocka_unit_test(test_watchdog_needs_progress),
		cmocka_unit_test(test_sighup_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
