/* test_cri_client.c: what the CRI client and the metadata cache do when the
 * runtime is not there or not answering.
 *
 * Real sockets, no fake runtime: a missing socket file must fail at once
 * with ENOENT; a socket that accepts connections but never speaks (a hung
 * runtime) must fail at the deadline, not later; a peer that
 * hangs up must fail within the deadline. The cache must keep serving its
 * last snapshot through failed refreshes, report the runtime down, and its
 * thread must start and stop promptly with no runtime at all. The real
 * runtime, its restart and recovery are covered by
 * tests/integration/cri-containerd.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/collect-cri-client.h"
#include "agent/collect-cri.h"
#include "agent/store.h"
#include "tests/unit/store-builder.h"
#include "common/log.h"
#include "common/timefmt.h"

#define MS 1000000ULL

struct sockdir {
	char dir[48];
	char path[80]; /* fits sockaddr_un.sun_path */
	char endpoint[96];
	int listen_fd;
};

static int setup(void **state)
{
	struct sockdir *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	snprintf(d->dir, sizeof(d->dir), "/tmp/cadet-cri-client.XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/runtime.sock", d->dir);
	snprintf(d->endpoint, sizeof(d->endpoint), "unix://%s", d->path);
	d->listen_fd = -1;
	log_set_level(LOG_ERR); /* the cache logs the outage; keep test output short */
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct sockdir *d = *state;
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	unlink(d->path);
	rmdir(d->dir);
	free(d);
	return 0;
}

static void listen_on(struct sockdir *d)
{
	d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(d->listen_fd >= 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", d->path);
	assert_int_equal(bind(d->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(d->listen_fd, 16), 0);
}

static void test_endpoint_forms(void **state)
{
	struct sockdir *d = *state;
	struct cri_client *c;
	struct cadet_error err;
	assert_int_equal(cri_client_open("tcp://127.0.0.1:1234", CRI_DEFAULT_TIMEOUT_NS, &c, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(cri_client_open("unix://relative.sock", CRI_DEFAULT_TIMEOUT_NS, &c, &err), -1);
	assert_int_equal(cri_client_open(d->endpoint, 0, &c, &err), -1);
	assert_int_equal(cri_client_open(d->path, CRI_DEFAULT_TIMEOUT_NS, &c, &err), 0); /* bare path */
	assert_string_equal(cri_client_socket_path(c), d->path);
	cri_client_free(c);
	assert_int_equal(cri_client_open(CRI_DEFAULT_ENDPOINT, CRI_DEFAULT_TIMEOUT_NS, &c, &err), 0);
	assert_string_equal(cri_client_socket_path(c), "/run/containerd/containerd.sock");
	cri_client_free(c);
}

static void test_missing_socket_fails_at_once(void **state)
{
	struct sockdir *d = *state;
	struct cri_client *c;
	struct cadet_error err;
	assert_int_equal(cri_client_open(d->endpoint, 2000 * MS, &c, &err), 0);
	Runtime__V1__VersionResponse *v = NULL;
	uint64_t start = clock_monotonic_ns();
	assert_int_equal(cri_version(c, &v, &err), -1);
	assert_true(clock_monotonic_ns() - start < 2000 * MS); /* not the 2 s deadline */
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, d->path));
	assert_null(v);
	cri_client_free(c);
}

static void test_hung_runtime_hits_deadline(void **state)
{
	struct sockdir *d = *state;
	listen_on(d); /* connections queue in the backlog; nobody answers */
	struct cri_client *c;
	struct cadet_error err;
	assert_int_equal(cri_client_open(d->endpoint, 300 * MS, &c, &err), 0);
	for (int attempt = 0; attempt < 2; attempt++) { /* and again after the reconnect */
		Runtime__V1__ListContainersResponse *r = NULL;
		uint64_t start = clock_monotonic_ns();
		assert_int_equal(cri_list_containers(c, &r, &err), -1);
		uint64_t took = clock_monotonic_ns() - start;
		/* the deadline, or the connect timeout (set to the same time) */
		assert_true(err.errnum == ETIMEDOUT || err.errnum == ECONNREFUSED);
		assert_true(took >= 250 * MS);
		assert_true(took < 1500 * MS);
		assert_non_null(strstr(err.msg, "ListContainers"));
	}
	cri_client_free(c);
}

static void *hang_up_on_everyone(void *arg)
{
	struct sockdir *d = arg;
	for (;;) {
		int fd = accept(d->listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL; /* listening socket shut down */
		close(fd);
	}
}

static void test_peer_hanging_up_fails_within_deadline(void **state)
{
	struct sockdir *d = *state;
	listen_on(d);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, hang_up_on_everyone, d), 0);
	struct cri_client *c;
	struct cadet_error err;
	assert_int_equal(cri_client_open(d->endpoint, 500 * MS, &c, &err), 0);
	Runtime__V1__ListPodSandboxResponse *r = NULL;
	uint64_t start = clock_monotonic_ns();
	assert_int_equal(cri_list_pod_sandbox(c, &r, &err), -1);
	assert_true(clock_monotonic_ns() - start < 1500 * MS);
	assert_true(err.errnum == ECONNREFUSED || err.errnum == ETIMEDOUT);
	cri_client_free(c);
	shutdown(d->listen_fd, SHUT_RDWR);
	pthread_join(t, NULL);
}

/* A snapshot with one pod, as a refresh that worked would leave it. */
static struct cri_snapshot *one_pod_snapshot(void)
{
	Runtime__V1__PodSandboxMetadata meta = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	meta.uid = "0000-1";
	meta.name = "web";
	meta.namespace_ = "prod";
	Runtime__V1__PodSandbox sb = RUNTIME__V1__POD_SANDBOX__INIT;
	sb.id = "sb1";
	sb.metadata = &meta;
	Runtime__V1__PodSandbox *items[] = { &sb };
	Runtime__V1__ListPodSandboxResponse lp = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
	lp.n_items = 1;
	lp.items = items;
	Runtime__V1__ListContainersResponse lc = RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;
	struct cri_replies r = { .pods = &lp, .containers = &lc };
	struct cri_snapshot *snap;
	struct cadet_error err;
	assert_int_equal(cri_snapshot_build(&r, 1, &snap, &err), 0);
	return snap;
}

static void test_cache_keeps_last_snapshot_when_runtime_is_gone(void **state)
{
	struct sockdir *d = *state;
	struct cri_metadata_options opts = { .endpoint = d->endpoint, .timeout_ns = 200 * MS };
	struct cri_metadata *m;
	struct cadet_error err;
	assert_int_equal(cri_metadata_create(&opts, &m, &err), 0);
	cri_metadata_publish(m, one_pod_snapshot());

	struct store s;
	assert_int_equal(store_init(&s, 10000 * MS, 1000 * MS, &err), 0);
	struct sample st = { .have = SAMPLE_HAVE_CPU, .cpu_usage_ns = 1 };
	struct store_pod *pod;
	sb_begin_walk(&s, 1, 1);
	assert_int_equal(sb_record_pod(&s, "0000-1", POD_QOS_BURSTABLE, 0, &st, &pod, &err), 0);
	sb_end_walk(&s);

	/* The runtime is gone: refreshes fail, the names stay. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(cri_metadata_refresh_once(m, &err), -1);
	struct cri_metadata_counters k;
	cri_metadata_counters(m, &k);
	assert_false(k.runtime_up);
	assert_int_equal(k.refresh_failures, 3);
	assert_int_equal(k.refreshes, 0);
	assert_int_equal(cri_metadata_apply(m, &s, &err), 0);
	assert_string_equal(store_find_pod(&s, "0000-1")->meta.name, "web");
	assert_string_equal(store_find_pod(&s, "0000-1")->meta.namespace, "prod");

	/* A hung runtime: same, within the deadline. */
	listen_on(d);
	uint64_t start = clock_monotonic_ns();
	assert_int_equal(cri_metadata_refresh_once(m, &err), -1);
	assert_true(clock_monotonic_ns() - start < 1500 * MS);
	assert_int_equal(cri_metadata_apply(m, &s, &err), 0);
	assert_string_equal(store_find_pod(&s, "0000-1")->meta.name, "web");

	store_free(&s);
	cri_metadata_stop(m);
}

static void test_thread_without_runtime_starts_and_stops(void **state)
{
	struct sockdir *d = *state;
	struct cri_metadata_options opts = { .endpoint = d->endpoint, .refresh_interval_ns = 50 * MS };
	struct cri_metadata *m;
	struct cadet_error err;
	assert_int_equal(cri_metadata_start(&opts, &m, &err), 0);
	struct store s;
	assert_int_equal(store_init(&s, 10000 * MS, 1000 * MS, &err), 0);
	assert_int_equal(cri_metadata_apply(m, &s, &err), 0); /* nothing known yet: a no-op */
	cri_metadata_request_refresh(m);
	usleep(300 * 1000);
	struct cri_metadata_counters k;
	cri_metadata_counters(m, &k);
	assert_true(k.refresh_failures >= 2); /* it keeps trying */
	assert_false(k.runtime_up);
	uint64_t start = clock_monotonic_ns();
	cri_metadata_stop(m);
	assert_true(clock_monotonic_ns() - start < 500 * MS);
	store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_endpoint_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_socket_fails_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_runtime_hits_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_hanging_up_fails_within_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_keeps_last_snapshot_when_runtime_is_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_without_runtime_starts_and_stops, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
