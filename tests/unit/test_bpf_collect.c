/* test_bpf_collect.c: the collection cycle with BPF usage reads against the
 * same cycle from files, on real kubepods cgroups (root, kernel with BTF,
 * hybrid layout; skipped otherwise).
 *
 * Two collections watch the same tree, one with bpf_usage and one
 * without, both with full reads every 10 s. The first cycle reads every
 * file in both; in the second, usage-only cycle the BPF one must serve the
 * container from its iterator walks (counted) and record exactly the CPU,
 * memory usage and working set the file one records: the container's
 * process sleeps, so nothing moves in between. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/mman.h>

#include "agent/collect.h"
#include "agent/store.h"
#include "bpf-test-cgroup.h"
#include "common/timefmt.h"

static const char *const hiers[] = { "cpu", "cpuacct", "memory", "pids", "unified" };
#define N_HIERS (sizeof(hiers) / sizeof(hiers[0]))

static int mk_all(const char *rel)
{
	for (size_t h = 0; h < N_HIERS; h++) {
		char path[1024];
		tcg_fmt(path, sizeof(path), "%s/%s/%s", TCG_ROOT, hiers[h], rel);
		if (access(path, F_OK) == 0)
			continue;
		if (tcg_mkdir(path) != 0)
			return -1;
	}
	return 0;
}

static void work_then_sleep(void *arg)
{
	int ready_fd = *(int *)arg;
	tcg_burn_cpu_ms(100);
	size_t bytes = 4u << 20;
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(3);
	for (size_t off = 0; off < bytes; off += 4096)
		p[off] = 1;
	if (write(ready_fd, "r", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

static const struct store_container *find(struct store *s, const char *uid, const char *id)
{
	struct store_pod *pod = store_find_pod(s, uid);
	return pod ? store_find_container(pod, id) : NULL;
}

static void test_bpf_cycle_equals_file_cycle(void **state)
{
	(void)state;
	struct cadet_error err = { 0 };
	char uid[40], id[65], pod_rel[128], rel[300];
	struct collection *with_bpf = NULL, *files_only = NULL;
	struct store s_bpf, s_files;
	int ready[2];
	struct tcg_child child = { -1, -1 };
	char c;

	tcg_fmt(uid, sizeof(uid), "%08x-1111-4000-8000-%012d", (unsigned)clock_monotonic_ns(), (int)getpid());
	tcg_fmt(id, sizeof(id), "%064d", (int)getpid());
	tcg_fmt(pod_rel, sizeof(pod_rel), "kubepods/burstable/pod%s", uid);
	tcg_fmt(rel, sizeof(rel), "%s/%s", pod_rel, id);
	assert_int_equal(mk_all("kubepods"), 0);
	assert_int_equal(mk_all("kubepods/burstable"), 0);
	assert_int_equal(mk_all(pod_rel), 0);
	assert_int_equal(mk_all(rel), 0);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(tcg_spawn(work_then_sleep, &ready[1], &child), 0);
	close(ready[1]);
	for (size_t h = 0; h < N_HIERS; h++) {
		char path[1024];
		tcg_fmt(path, sizeof(path), "%s/%s/%s", TCG_ROOT, hiers[h], rel);
		assert_int_equal(tcg_join(path, child.pid), 0);
	}
	assert_int_equal(write(child.go_fd, "x", 1), 1);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(child.go_fd);
	close(ready[0]);

	struct collect_options opts = {
		.cgroup_root = TCG_ROOT,
		.proc_root = "/proc",
		.fs_path = "/",
		.rescan_interval_ns = 60 * 1000000000ull,
		.full_read_interval_ns = 10 * 1000000000ull,
		.bpf_usage = true,
	};
	assert_int_equal(collection_open(&opts, &with_bpf, &err), 0);
	opts.bpf_usage = false;
	assert_int_equal(collection_open(&opts, &files_only, &err), 0);
	assert_int_equal(store_init(&s_bpf, 30 * 1000000000ull, 1000000000ull, &err), 0);
	assert_int_equal(store_init(&s_files, 30 * 1000000000ull, 1000000000ull, &err), 0);

	bool same = false;
	const struct store_container *a = NULL, *b = NULL;
	for (int round = 0; round < 2; round++) { /* round 0: full reads; round 1: usage only */
		for (int tries = 0; tries < 5; tries++) {
			if (collection_run_cycle(with_bpf, &s_bpf, &err) != 0 ||
			    collection_run_cycle(files_only, &s_files, &err) != 0)
				fail_msg("cycle: %s", err.msg);
			a = find(&s_bpf, uid, id);
			b = find(&s_files, uid, id);
			assert_non_null(a);
			assert_non_null(b);
			same = a->series.latest.cpu_usage_ns == b->series.latest.cpu_usage_ns &&
			       a->series.latest.memory_usage_bytes == b->series.latest.memory_usage_bytes &&
			       a->series.latest.memory_working_set_bytes == b->series.latest.memory_working_set_bytes;
			if (same)
				break;
		}
	}
	fprintf(stderr, "bpf: cpu %" PRIu64 " ns, memory %" PRIu64 ", working set %" PRIu64 "; %" PRIu64
		" reads from BPF\n", a->series.latest.cpu_usage_ns, a->series.latest.memory_usage_bytes,
		a->series.latest.memory_working_set_bytes, collection_counters(with_bpf)->bpf_usage_reads);
	assert_true(same);
	assert_int_equal(a->series.latest.have, b->series.latest.have);
	assert_true(a->series.latest.cpu_usage_ns >= 100000000ull);
	assert_true(collection_counters(with_bpf)->bpf_usage_reads > 0);
	assert_int_equal(collection_counters(files_only)->bpf_usage_reads, 0);

	store_free(&s_bpf);
	store_free(&s_files);
	collection_free(with_bpf);
	collection_free(files_only);
}

static int teardown(void **state)
{
	(void)state;
	tcg_cleanup();
	return 0;
}

int main(void)
{
	if (!tcg_is_root() || access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		printf("needs root and kernel BTF\n");
		return 77;
	}
	if (access(TCG_ROOT "/cpuacct/cpuacct.usage", R_OK) != 0 || access(TCG_ROOT "/unified/cgroup.procs", R_OK) != 0) {
		printf("needs the hybrid cgroup layout\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_bpf_cycle_equals_file_cycle, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
