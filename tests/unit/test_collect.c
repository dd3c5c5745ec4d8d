/* test_collect.c: the collection cycle against a fixture cgroup tree
 * (tests/fixtures/v2-systemd, read only) and a procfs of the test's own
 * making in a temporary directory.
 *
 * Covers: a /proc/stat larger than any fixed buffer (a node with 900 CPUs,
 * about 80 KiB) is read whole and its aggregate cpu line parsed; a node
 * file that does not parse costs the node sample of that cycle only: every
 * pod and container of the tree is still recorded, the failure is counted,
 * and the node comes back at the next cycle once the file is whole again;
 * a container's CPU throttling reaches the store as cpu.stat has it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cycle.h"
#include "agent/collect-node.h"
#include "agent/store.h"
#include "common/cleanup.h"
#include "common/duration.h"

#define FIXTURE "tests/fixtures/v2-systemd"

struct fixture {
	char proc[64];
};

static void put(const struct fixture *f, const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", f->proc, name);
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	assert_true(fputs(text, out) >= 0);
	assert_int_equal(fclose(out), 0);
}

/* /proc/stat of a node with n_cpus CPUs, each busy 1 tick user + 1 system. */
static char *proc_stat(unsigned n_cpus)
{
	size_t cap = 256 + (size_t)n_cpus * 96;
	char *text = malloc(cap);
	assert_non_null(text);
	size_t len = (size_t)snprintf(text, cap, "cpu  %u 0 %u 100000 0 0 0 0 0 0\n", n_cpus, n_cpus);
	for (unsigned i = 0; i < n_cpus; i++)
		len += (size_t)snprintf(text + len, cap - len, "cpu%u 1 0 1 123456789012345 1234567890123 0 0 0 12345678901 12345678901\n", i);
	snprintf(text + len, cap - len, "intr 0\nctxt 1\nbtime 1700000000\nprocesses 1\n");
	return text;
}

static const char meminfo[] = "MemTotal:       16384000 kB\nMemFree:         8192000 kB\n"
			      "Inactive(file):  1024000 kB\nAnonPages:       2048000 kB\n";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->proc, sizeof(f->proc), "/tmp/cadet-collect.XXXXXX");
	assert_non_null(mkdtemp(f->proc));
	_cleanup_free_ char *stat = proc_stat(4);
	put(f, "stat", stat);
	put(f, "meminfo", meminfo);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];
	snprintf(path, sizeof(path), "%s/stat", f->proc);
	unlink(path);
	snprintf(path, sizeof(path), "%s/meminfo", f->proc);
	unlink(path);
	rmdir(f->proc);
	free(f);
	return 0;
}

static void test_proc_stat_of_900_cpus(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *stat = proc_stat(900);
	assert_true(strlen(stat) > 65536);
	put(f, "stat", stat);
	struct node_reader *r;
	struct cadet_error err;
	assert_int_equal(node_reader_open(f->proc, "/", &r, &err), 0);
	struct node_info info;
	struct node_proc_stats proc;
	for (int i = 0; i < 2; i++) { /* the second read reuses the grown buffer */
		if (node_reader_read(r, &info, &proc, &err) != 0)
			fail_msg("read %d: %s", i, err.msg);
		long hz = sysconf(_SC_CLK_TCK);
		assert_true(proc.cpu_busy_ns == 1800 * (NSEC_PER_SEC / (uint64_t)hz));
		assert_true(info.boot_time_ns == 1700000000ULL * NSEC_PER_SEC);
	}
	node_reader_free(r);
}

static void test_bad_node_file_keeps_pods(void **state)
{
	struct fixture *f = *state;
	struct collect_options opts = {
		.cgroup_root = FIXTURE,
		.proc_root = f->proc,
		.fs_path = "/",
		.rescan_interval_ns = 10 * NSEC_PER_SEC,
	};
	struct collection *c;
	struct store s;
	struct cadet_error err;
	assert_int_equal(store_init(&s, 15 * NSEC_PER_SEC, NSEC_PER_SEC, &err), 0);
	if (collection_open(&opts, &c, &err) != 0)
		fail_msg("%s", err.msg);

	put(f, "stat", "cpu  garbage\nbtime 1700000000\n");
	(void)collection_run_cycle(c, &s, &err);
	assert_int_equal(s.n_pods, 3);
	assert_int_equal(store_count_containers(&s), 4);
	assert_int_equal(collection_counters(c)->node_errors, 1);
	assert_int_equal(s.node.latest.have, 0);

	_cleanup_free_ char *stat = proc_stat(4);
	put(f, "stat", stat);
	assert_int_equal(collection_run_cycle(c, &s, &err), 0);
	assert_true(s.node.latest.have & SAMPLE_HAVE_CPU);
	assert_int_equal(s.n_pods, 3);
	/* throttling travels from cpu.stat into the store untouched */
	const struct store_container *ctr = store_find_container(
		store_find_pod(&s, "5f1c3b2a-8d4e-4f6a-9b7c-2e1d0a9f8b7c"),
		"13e194b2c9b1b8c9098cc4f89e839f7cc470e55ede7f7c1fde2a00321f8baa89");
	assert_non_null(ctr);
	assert_true(ctr->series.latest.have & SAMPLE_HAVE_THROTTLE);
	assert_int_equal(ctr->series.latest.cpu_periods, 4821);
	assert_int_equal(ctr->series.latest.cpu_throttled_periods, 37);
	assert_int_equal(ctr->series.latest.cpu_throttled_ns, 1843210 * NSEC_PER_USEC);
	collection_free(c);
	store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_proc_stat_of_900_cpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_node_file_keeps_pods, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
