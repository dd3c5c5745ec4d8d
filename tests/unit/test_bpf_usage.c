/* test_bpf_usage.c: the BPF usage reader (agent/collect-bpf-usage.c) against the
 * file reader it stands in for, cgroup_handle_read_usage(), on real cgroups
 * (root, kernel with BTF, hybrid layout; skipped otherwise).
 *
 * A tree (two pods, three containers with sleeping processes that burned
 * CPU and touched memory) is made at the root of every hierarchy the v1
 * reader uses. After a full file read of each cgroup, both readers must
 * give identical stats: CPU, memory usage and the recomputed working set;
 * and both must lie between the kernel's own files (cpuacct.usage,
 * memory.usage_in_bytes, memory.stat), read here before and after them.
 * A path the walk did not see (gone, or never there) is refused, so the
 * caller falls back to files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "agent/collect-bpf-usage.h"
#include "agent/collect-cgroup.h"
#include "bpf-test-cgroup.h"

static const char *const hiers[] = { "cpu", "cpuacct", "memory", "pids", "unified" };
#define N_HIERS (sizeof(hiers) / sizeof(hiers[0]))
static const char *const tree[] = { "", "pod-a", "pod-a/c1", "pod-a/c2", "pod-b", "pod-b/c3" };
#define N_TREE (sizeof(tree) / sizeof(tree[0]))

struct fixture {
	char subtree[64];
	struct cgroup_collector *files;
	struct bpf_usage *usage;
};

static int start_container(const struct fixture *f, const char *sub, unsigned burn_ms, size_t bytes)
{
	int ready[2];
	struct tcg_child child = { -1, -1 };
	char c;
	if (pipe(ready) != 0)
		return -1;
	struct tcg_work w = { burn_ms, bytes, ready[1] };
	if (tcg_spawn(tcg_work_then_sleep, &w, &child) != 0)
		return -1;
	close(ready[1]);
	for (size_t h = 0; h < N_HIERS; h++) {
		char path[1024];
		tcg_fmt(path, sizeof(path), "%s/%s/%s/%s", TCG_ROOT, hiers[h], f->subtree, sub);
		if (tcg_join(path, child.pid) != 0)
			return -1;
	}
	int rc = write(child.go_fd, "x", 1) == 1 && read(ready[0], &c, 1) == 1 ? 0 : -1;
	close(child.go_fd);
	close(ready[0]);
	return rc;
}

static int setup(void **state)
{
	static struct fixture f;
	struct cadet_error err = { 0 };

	memset(&f, 0, sizeof(f));
	tcg_fmt(f.subtree, sizeof(f.subtree), "cadet-bpf-test-%d", (int)getpid());
	for (size_t h = 0; h < N_HIERS; h++) {
		for (size_t i = 0; i < N_TREE; i++) {
			char path[1024];
			tcg_fmt(path, sizeof(path), "%s/%s/%s%s%s", TCG_ROOT, hiers[h], f.subtree, tree[i][0] ? "/" : "",
				tree[i]);
			if (tcg_mkdir(path) != 0)
				goto fail;
		}
	}
	if (start_container(&f, "pod-a/c1", 150, 6u << 20) != 0 || start_container(&f, "pod-a/c2", 40, 3u << 20) != 0 ||
	    start_container(&f, "pod-b/c3", 80, 1u << 20) != 0)
		goto fail;
	if (cgroup_collector_open(TCG_ROOT, &f.files, &err) != 0 ||
	    bpf_usage_open(cgroup_collector_tree(f.files), cgroup_collector_memory_tree(f.files), f.subtree, &f.usage,
			   &err) != 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		goto fail;
	}
	*state = &f;
	return 0;
fail:
	fprintf(stderr, "setup failed: %s\n", strerror(errno));
	cgroup_collector_free(f.files);
	tcg_cleanup();
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	bpf_usage_free(f->usage);
	cgroup_collector_free(f->files);
	tcg_cleanup();
	return 0;
}

static void test_same_stats_as_files(void **state)
{
	struct fixture *f = *state;
	struct cadet_error err = { 0 };

	for (size_t i = 0; i < N_TREE; i++) {
		char rel[300];
		struct cgroup_handle *h = NULL;
		struct sample full, from_files, from_bpf;
		struct tcg_kernel_usage before = { 0 }, after = { 0 };
		tcg_fmt(rel, sizeof(rel), "%s%s%s", f->subtree, tree[i][0] ? "/" : "", tree[i]);
		if (cgroup_handle_open(f->files, rel, &h, &err) != 0 || cgroup_handle_read(f->files, h, &full, &err) != 0)
			fail_msg("%s: %s", rel, err.msg);
		/* the processes sleep: read files and walk until both saw the same */
		bool same = false;
		for (int tries = 0; tries < 5 && !same; tries++) {
			assert_int_equal(tcg_kernel_usage_read(rel, &before), 0);
			assert_int_equal(bpf_usage_refresh(f->usage, &err), 0);
			assert_int_equal(cgroup_handle_read_usage(f->files, h, &full, &from_files, &err), 0);
			memset(&from_bpf, 0xa5, sizeof(from_bpf));
			assert_true(bpf_usage_apply(f->usage, rel, &full, &from_bpf));
			assert_int_equal(tcg_kernel_usage_read(rel, &after), 0);
			same = memcmp(&from_files, &from_bpf, sizeof(from_bpf)) == 0;
		}
		cgroup_handle_close(h);
		fprintf(stderr, "%-34s cpu %10" PRIu64 " ns  memory %9" PRIu64 "  working set %9" PRIu64 "\n", rel,
			from_bpf.cpu_usage_ns, from_bpf.memory_usage_bytes, from_bpf.memory_working_set_bytes);
		fprintf(stderr, "%-34s cpu %10" PRIu64 " ns  memory %9" PRIu64 "  working set %9" PRIu64
			" (kernel, after)\n", "", after.cpu_usage_ns, after.memory_usage_bytes,
			after.memory_working_set_bytes);
		assert_int_equal(from_bpf.have, from_files.have);
		assert_int_equal(from_bpf.cpu_usage_ns, from_files.cpu_usage_ns);
		assert_int_equal(from_bpf.memory_usage_bytes, from_files.memory_usage_bytes);
		assert_int_equal(from_bpf.memory_working_set_bytes, from_files.memory_working_set_bytes);
		assert_true(same);
		assert_true(tcg_between(before.cpu_usage_ns, from_bpf.cpu_usage_ns, after.cpu_usage_ns));
		assert_true(tcg_between(before.memory_usage_bytes, from_bpf.memory_usage_bytes, after.memory_usage_bytes));
		assert_true(tcg_between(before.memory_working_set_bytes, from_bpf.memory_working_set_bytes,
					after.memory_working_set_bytes));
	}
	assert_int_equal(bpf_usage_count(f->usage), N_TREE);
}

static void test_unknown_paths_refused(void **state)
{
	struct fixture *f = *state;
	struct cadet_error err = { 0 };
	struct sample last = { .have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY }, out;
	char rel[300], path[1024];

	tcg_fmt(rel, sizeof(rel), "%s/pod-b/gone", f->subtree);
	for (size_t h = 0; h < N_HIERS; h++) {
		tcg_fmt(path, sizeof(path), "%s/%s/%s", TCG_ROOT, hiers[h], rel);
		assert_int_equal(tcg_mkdir(path), 0);
	}
	assert_int_equal(bpf_usage_refresh(f->usage, &err), 0);
	assert_true(bpf_usage_apply(f->usage, rel, &last, &out));
	for (size_t h = 0; h < N_HIERS; h++) {
		tcg_fmt(path, sizeof(path), "%s/%s/%s", TCG_ROOT, hiers[h], rel);
		assert_int_equal(tcg_rmdir(path), 0);
	}
	assert_int_equal(bpf_usage_refresh(f->usage, &err), 0);
	assert_false(bpf_usage_apply(f->usage, rel, &last, &out));
	assert_false(bpf_usage_apply(f->usage, "kubepods/never/there", &last, &out));
}

int main(void)
{
	if (!tcg_hybrid_bpf_available())
		return 77;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_stats_as_files),
		cmocka_unit_test(test_unknown_paths_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
