/* test_bpf_collect.c: the collection cycle with BPF usage reads against the
 * same cycle from files, on real kubepods cgroups (root, kernel with BTF,
 * hybrid layout; skipped otherwise).
 *
 * Two collections watch the same tree in turn, one with bpf_usage and
 * one without, both with full reads every 10 s. The first cycle reads every
 * file in both; in the second, usage-only cycle the BPF one must serve the
 * container from its iterator walks (counted) and record exactly the CPU,
 * memory usage and working set the file one records: the container's
 * process sleeps, so nothing moves in between. Both must also lie between
 * the kernel's own files (cpuacct.usage, memory.usage_in_bytes,
 * memory.stat), read here before and after the two collections. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/resource.h>

#include "agent/cycle.h"
#include "agent/store.h"
#include "bpf-test-cgroup.h"
#include "common/timefmt.h"

static const char *const hiers[] = { "cpu", "cpuacct", "memory", "pids", "unified" };
#define N_HIERS (sizeof(hiers) / sizeof(hiers[0]))

static int mk_all(const char *rel)
{
	return tcg_mkdir_all(hiers, N_HIERS, rel);
}

static const struct store_container *find(struct store *s, const char *uid, const char *id)
{
	struct store_pod *pod = store_find_pod(s, uid);
	return pod ? store_find_container(pod, id) : NULL;
}

struct result {
	struct sample stats; /* the container's after the second cycle */
	uint64_t bpf_reads;
};

/* One collection (with or without BPF usage reads), two cycles: the first
 * reads every file, the second only usage. One collection at a time keeps
 * the descriptors this test holds to what one agent would. */
static void two_cycles(bool bpf_usage, const char *uid, const char *id, struct result *out)
{
	struct cadet_error err = { 0 };
	struct collection *coll = NULL;
	struct store st;
	struct collect_options opts = {
		.cgroup_root = TCG_ROOT,
		.proc_root = "/proc",
		.fs_path = "/",
		.rescan_interval_ns = 60 * 1000000000ull,
		.full_read_interval_ns = 10 * 1000000000ull,
		.bpf_usage = bpf_usage,
	};
	assert_int_equal(collection_open(&opts, &coll, &err), 0);
	assert_int_equal(store_init(&st, 30 * 1000000000ull, 1000000000ull, &err), 0);
	for (int i = 0; i < 2; i++)
		if (collection_run_cycle(coll, &st, &err) != 0)
			fail_msg("cycle: %s", err.msg);
	const struct store_container *c = find(&st, uid, id);
	if (!c)
		fail_msg("container %s not collected (bpf_usage %d; see the warnings above)", id, bpf_usage);
	out->stats = c->series.latest;
	out->bpf_reads = collection_counters(coll)->bpf_usage_reads;
	store_free(&st);
	collection_free(coll);
}

static void test_bpf_cycle_equals_file_cycle(void **state)
{
	(void)state;
	char uid[40], id[65], pod_rel[128], rel[300];
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
	struct tcg_work work = { 100, 4u << 20, ready[1] };
	assert_int_equal(tcg_spawn(tcg_work_then_sleep, &work, &child), 0);
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

	struct result with_bpf, files_only;
	struct tcg_kernel_usage before = { 0 }, after = { 0 };
	for (int tries = 0; tries < 5; tries++) {
		assert_int_equal(tcg_kernel_usage_read(rel, &before), 0);
		two_cycles(true, uid, id, &with_bpf);
		two_cycles(false, uid, id, &files_only);
		assert_int_equal(tcg_kernel_usage_read(rel, &after), 0);
		if (memcmp(&with_bpf.stats, &files_only.stats, sizeof(with_bpf.stats)) == 0)
			break;
	}
	const struct sample *a = &with_bpf.stats, *b = &files_only.stats;
	fprintf(stderr, "bpf: cpu %" PRIu64 " ns, memory %" PRIu64 ", working set %" PRIu64 "; %" PRIu64
		" reads from BPF\n", a->cpu_usage_ns, a->memory_usage_bytes, a->memory_working_set_bytes,
		with_bpf.bpf_reads);
	fprintf(stderr, "kernel: cpu %" PRIu64 " ns, memory %" PRIu64 ", working set %" PRIu64 " (after)\n",
		after.cpu_usage_ns, after.memory_usage_bytes, after.memory_working_set_bytes);
	const struct sample *both[] = { a, b };
	for (size_t i = 0; i < 2; i++) {
		assert_true(tcg_between(before.cpu_usage_ns, both[i]->cpu_usage_ns, after.cpu_usage_ns));
		assert_true(tcg_between(before.memory_usage_bytes, both[i]->memory_usage_bytes, after.memory_usage_bytes));
		assert_true(tcg_between(before.memory_working_set_bytes, both[i]->memory_working_set_bytes,
					after.memory_working_set_bytes));
	}
	assert_int_equal(a->have, b->have);
	assert_int_equal(a->cpu_usage_ns, b->cpu_usage_ns);
	assert_int_equal(a->memory_usage_bytes, b->memory_usage_bytes);
	assert_int_equal(a->memory_working_set_bytes, b->memory_working_set_bytes);
	assert_true(a->cpu_usage_ns >= 100000000ull);
	assert_true(with_bpf.bpf_reads > 0);
	assert_int_equal(files_only.bpf_reads, 0);
}

static int teardown(void **state)
{
	(void)state;
	tcg_cleanup();
	return 0;
}

int main(void)
{
	struct rlimit rl; /* as the agent does: other kubepods cgroups may be many */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!tcg_hybrid_bpf_available())
		return 77;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_bpf_cycle_equals_file_cycle, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
