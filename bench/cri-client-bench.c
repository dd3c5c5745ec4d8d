/* cri-client-bench.c: what agent/collect-cri-client.c's calls cost when the
 * runtime is missing, hung or hanging up, against the floor of the same
 * situation measured with plain syscalls in the same run (the figures
 * tests/unit/test_cri_client.c used to bound with fixed times).
 *
 * Each row runs ROUNDS calls on one client, as the agent keeps one, and
 * prints min/median/max wall ms of the call and of its floor, and the ratio
 * of the medians:
 *   missing  cri_version on a path with no socket
 *            floor: socket() + connect() to that path (ENOENT)
 *   hung     cri_list_containers against a listener that never accepts,
 *            deadline 300 ms; floor: poll() sleeping 300 ms
 *   hangup   cri_list_pod_sandbox against a listener that accepts and
 *            closes at once; floor: connect() and read() to EOF on it
 *
 *   cri-client-bench [ROUNDS]      (default 15) */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/collect-cri-client.h"
#include "common/log.h"
#include "common/timefmt.h"

#define MS 1000000ULL
#define HUNG_DEADLINE_NS (300 * MS)
#define MAX_ROUNDS 100

static char dir[48], path[80], endpoint[96];
static int listen_fd = -1;

static int listen_on(void)
{
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		return -1;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(listen_fd, 64) != 0)
		return -1;
	return 0;
}

static void stop_listening(void)
{
	if (listen_fd >= 0) {
		shutdown(listen_fd, SHUT_RDWR);
		close(listen_fd);
	}
	listen_fd = -1;
	unlink(path);
}

/* socket() + connect() to path; returns connect's errno (0: connected, the
 * socket in *fd). */
static int raw_connect(int *fd)
{
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return errno;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (connect(*fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int e = errno;
		close(*fd);
		*fd = -1;
		return e;
	}
	return 0;
}

static void *hang_up_on_everyone(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL; /* listening socket shut down */
		close(fd);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void print_row(const char *name, const char *call, const char *floor_name, double *call_ms,
		      double *floor_ms, int n)
{
	double c_med = median_of(call_ms, n), f_med = median_of(floor_ms, n);
	printf("  %-8s %-34s min %9.3f  median %9.3f  max %9.3f ms\n", name, call, call_ms[0], c_med, call_ms[n - 1]);
	printf("  %-8s %-34s min %9.3f  median %9.3f  max %9.3f ms\n", "", floor_name, floor_ms[0], f_med,
	       floor_ms[n - 1]);
	printf("  %-8s ratio call / floor (medians): %.2f\n", "", f_med > 0 ? c_med / f_med : 0.0);
}

/* Times `rounds` failing calls of one kind on one client; 0, or -1 when a
 * call did not fail as the row expects. */
enum row { ROW_MISSING, ROW_HUNG, ROW_HANGUP };

static int run_row(enum row row, int rounds, double *call_ms, double *floor_ms)
{
	struct cadet_error err;
	struct cri_client *c = NULL;
	uint64_t timeout_ns = row == ROW_HUNG ? HUNG_DEADLINE_NS : CRI_DEFAULT_TIMEOUT_NS;
	if (cri_client_open(endpoint, timeout_ns, &c, &err) != 0) {
		fprintf(stderr, "cri_client_open: %s\n", err.msg);
		return -1;
	}
	int rc = 0;
	for (int r = 0; r < rounds && rc == 0; r++) {
		uint64_t t0 = clock_monotonic_ns();
		int call_rc;
		if (row == ROW_MISSING) {
			Runtime__V1__VersionResponse *v = NULL;
			call_rc = cri_version(c, &v, &err);
		} else if (row == ROW_HUNG) {
			Runtime__V1__ListContainersResponse *l = NULL;
			call_rc = cri_list_containers(c, &l, &err);
		} else {
			Runtime__V1__ListPodSandboxResponse *l = NULL;
			call_rc = cri_list_pod_sandbox(c, &l, &err);
		}
		call_ms[r] = (double)(clock_monotonic_ns() - t0) / (double)MS;
		if (call_rc == 0) {
			fprintf(stderr, "round %d: the call succeeded where it must fail\n", r);
			rc = -1;
			break;
		}

		t0 = clock_monotonic_ns();
		int fd = -1, e;
		char byte;
		if (row == ROW_MISSING) {
			e = raw_connect(&fd);
			if (e != ENOENT) {
				fprintf(stderr, "floor: connect gave %s, want ENOENT\n", strerror(e));
				rc = -1;
			}
		} else if (row == ROW_HUNG) {
			poll(NULL, 0, (int)(HUNG_DEADLINE_NS / MS));
		} else {
			e = raw_connect(&fd);
			if (e != 0 || read(fd, &byte, 1) != 0) {
				fprintf(stderr, "floor: no EOF from the hanging-up listener\n");
				rc = -1;
			}
		}
		floor_ms[r] = (double)(clock_monotonic_ns() - t0) / (double)MS;
		if (fd >= 0)
			close(fd);
	}
	cri_client_free(c);
	return rc;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 15;
	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: %s [rounds 1..%d]\n", argv[0], MAX_ROUNDS);
		return 2;
	}
	log_set_level(LOG_ERR);
	snprintf(dir, sizeof(dir), "/tmp/cadet-cri-client-bench.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/runtime.sock", dir);
	snprintf(endpoint, sizeof(endpoint), "unix://%s", path);
	double call_ms[MAX_ROUNDS], floor_ms[MAX_ROUNDS];
	int rc = 0;
	pthread_t hangup_thread;
	bool hangup_started = false;

	printf("CRI client failure paths, %d rounds each (wall)\n", rounds);
	if (run_row(ROW_MISSING, rounds, call_ms, floor_ms) != 0) {
		rc = 1;
		goto out;
	}
	print_row("missing", "cri_version", "socket + connect (ENOENT)", call_ms, floor_ms, rounds);

	if (listen_on() != 0) {
		perror("listen");
		rc = 1;
		goto out;
	}
	if (run_row(ROW_HUNG, rounds, call_ms, floor_ms) != 0) {
		rc = 1;
		goto out;
	}
	print_row("hung", "cri_list_containers (300 ms deadline)", "poll 300 ms", call_ms, floor_ms, rounds);
	stop_listening();

	if (listen_on() != 0 || pthread_create(&hangup_thread, NULL, hang_up_on_everyone, NULL) != 0) {
		perror("listen");
		rc = 1;
		goto out;
	}
	hangup_started = true;
	if (run_row(ROW_HANGUP, rounds, call_ms, floor_ms) != 0) {
		rc = 1;
		goto out;
	}
	print_row("hangup", "cri_list_pod_sandbox", "connect + read to EOF", call_ms, floor_ms, rounds);
out:
	stop_listening();
	if (hangup_started)
		pthread_join(hangup_thread, NULL);
	rmdir(dir);
	return rc;
}
