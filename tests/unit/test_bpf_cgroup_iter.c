/* test_bpf_cgroup_iter.c: the BPF cgroup iterator against the file
 * collector (agent/collect-cgroup.h) on real cgroups (root, kernel with BTF;
 * skipped otherwise).
 *
 * A small kubepods-like tree (two pods, three containers) is made at the
 * root of the cpuacct, memory and cgroup2 hierarchies, with one sleeping
 * process per container that first burned some CPU and touched some
 * memory, so the values hold still while both collectors read them. The
 * iterator must see exactly the tree, in pre-order, with each directory's
 * inode as id; its CPU must agree with cgroup_handle_read within 1% on
 * cpuacct and on cgroup2 (rstat, flushed by the walk), and its memory usage
 * must equal the collector's exactly. A walk larger than the initial ring
 * buffer must still come back whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "agent/collect-bpf-cgroup-iter.h"
#include "agent/collect-cgroup.h"
#include "bpf-test-cgroup.h"

static const char *const tree[] = { "pod-a", "pod-a/c1", "pod-a/c2", "pod-b", "pod-b/c3" };
#define N_TREE (sizeof(tree) / sizeof(tree[0]))
static const struct {
	const char *path;
	unsigned burn_ms;
	size_t touch_bytes;
} containers[] = {
	{ "pod-a/c1", 200, 8u << 20 },
	{ "pod-a/c2", 50, 4u << 20 },
	{ "pod-b/c3", 120, 2u << 20 },
};
#define N_CONTAINERS (sizeof(containers) / sizeof(containers[0]))
static const char *const hiers[] = { "cpuacct", "memory", "unified" };

struct fixture {
	char base[3][512]; /* per hierarchy */
	char rel_base[64]; /* "cadet-bpf-test-PID" */
	struct cgroup_collector *files;
};

static int setup(void **state)
{
	static struct fixture f;
	struct cadet_error err = { 0 };

	memset(&f, 0, sizeof(f));
	tcg_fmt(f.rel_base, sizeof(f.rel_base), "cadet-bpf-test-%d", (int)getpid());
	for (size_t h = 0; h < 3; h++) {
		if (tcg_base_at_root(hiers[h], f.base[h], sizeof(f.base[h])) != 0)
			goto fail;
		for (size_t i = 0; i < N_TREE; i++) {
			char path[700];
			tcg_fmt(path, sizeof(path), "%s/%s", f.base[h], tree[i]);
			if (tcg_mkdir(path) != 0)
				goto fail;
		}
	}
	for (size_t i = 0; i < N_CONTAINERS; i++) {
		int ready[2];
		if (pipe(ready) != 0)
			goto fail;
		struct tcg_work w = { containers[i].burn_ms, containers[i].touch_bytes, ready[1] };
		struct tcg_child child = { -1, -1 };
		if (tcg_spawn(tcg_work_then_sleep, &w, &child) != 0)
			goto fail;
		close(ready[1]);
		for (size_t h = 0; h < 3; h++) {
			char path[700];
			tcg_fmt(path, sizeof(path), "%s/%s", f.base[h], containers[i].path);
			if (tcg_join(path, child.pid) != 0)
				goto fail;
		}
		char c;
		if (write(child.go_fd, "x", 1) != 1 || read(ready[0], &c, 1) != 1)
			goto fail;
		close(child.go_fd);
		close(ready[0]);
	}
	if (cgroup_collector_open(TCG_ROOT, &f.files, &err) != 0) {
		fprintf(stderr, "cgroup_collector_open: %s\n", err.msg);
		goto fail;
	}
	*state = &f;
	return 0;
fail:
	fprintf(stderr, "setup: %s\n", strerror(errno));
	tcg_cleanup();
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	cgroup_collector_free(f->files);
	tcg_cleanup();
	return 0;
}

#define MAX_ENTRIES 1024

struct walk {
	int n;
	char relpath[MAX_ENTRIES][128];
	struct bpf_cgroup_iter_entry e[MAX_ENTRIES];
};

static int keep_entry(const struct bpf_cgroup_iter_entry *e, void *ctx, struct cadet_error *err)
{
	struct walk *w = ctx;
	if (w->n >= MAX_ENTRIES)
		return cadet_error_set(err, E2BIG, "too many entries");
	tcg_fmt(w->relpath[w->n], sizeof(w->relpath[0]), "%s", e->relpath);
	w->e[w->n] = *e;
	w->e[w->n].relpath = w->relpath[w->n];
	w->n++;
	return 0;
}

static void walk_hierarchy(const char *dir, struct walk *w)
{
	struct cadet_error err = { 0 };
	struct bpf_cgroup_iter *it = NULL;
	if (bpf_cgroup_iter_open(dir, 16, &it, &err) != 0)
		fail_msg("bpf_cgroup_iter_open %s: %s", dir, err.msg);
	memset(w, 0, sizeof(*w));
	int n = bpf_cgroup_iter_collect(it, keep_entry, w, &err);
	bpf_cgroup_iter_close(it);
	if (n < 0)
		fail_msg("collect %s: %s", dir, err.msg);
	assert_int_equal(n, w->n);
}

/* Reads a test cgroup with the file collector. */
static void read_files(struct fixture *f, const char *sub, struct sample *st)
{
	struct cadet_error err = { 0 };
	struct cgroup_handle *h = NULL;
	char rel[300];
	tcg_fmt(rel, sizeof(rel), "%s%s%s", f->rel_base, sub[0] ? "/" : "", sub);
	if (cgroup_handle_open(f->files, rel, &h, &err) != 0)
		fail_msg("cgroup_handle_open %s: %s", rel, err.msg);
	int rc = cgroup_handle_read(f->files, h, st, &err);
	cgroup_handle_close(h);
	if (rc != 0)
		fail_msg("cgroup_handle_read %s: %s", rel, err.msg);
}

static void assert_tree(const struct walk *w, const char *dir)
{
	assert_int_equal(w->n, (int)N_TREE + 1);
	assert_string_equal(w->e[0].relpath, "");
	assert_int_equal(w->e[0].cgroup_id, tcg_ino(dir));
	for (size_t i = 0; i < N_TREE; i++) {
		char path[700];
		assert_string_equal(w->e[i + 1].relpath, tree[i]); /* pre-order, parents first */
		tcg_fmt(path, sizeof(path), "%s/%s", dir, tree[i]);
		assert_int_equal(w->e[i + 1].cgroup_id, tcg_ino(path));
		assert_int_equal(w->e[i + 1].level, w->e[0].level + (strchr(tree[i], '/') ? 2 : 1));
	}
}

static void assert_cpu_close(uint64_t iter_ns, uint64_t files_ns, const char *what)
{
	double ratio = files_ns ? (double)iter_ns / (double)files_ns : (iter_ns ? 2.0 : 1.0);
	fprintf(stderr, "%-28s iterator %12" PRIu64 " ns  files %12" PRIu64 " ns  ratio %.5f\n", what, iter_ns,
		files_ns, ratio);
	assert_true(ratio >= 0.99 && ratio <= 1.01);
}

static void test_cpuacct_agrees_with_files(void **state)
{
	struct fixture *f = *state;
	static struct walk w;
	walk_hierarchy(f->base[0], &w);
	assert_tree(&w, f->base[0]);
	for (int i = 0; i < w.n; i++) {
		struct sample st;
		read_files(f, w.e[i].relpath, &st);
		assert_true(w.e[i].has_cpu && (st.have & SAMPLE_HAVE_CPU));
		assert_false(w.e[i].has_memory);
		assert_cpu_close(w.e[i].cpu_usage_ns, st.cpu_usage_ns, w.e[i].relpath[0] ? w.e[i].relpath : "(base)");
	}
	/* the containers burned what they were told to */
	assert_true(w.e[2].cpu_usage_ns >= 200000000ull);
}

static void test_cgroup2_agrees_with_files(void **state)
{
	struct fixture *f = *state;
	static struct walk w;
	walk_hierarchy(f->base[2], &w);
	assert_tree(&w, f->base[2]);
	for (int i = 0; i < w.n; i++) {
		struct sample st;
		uint64_t usage_usec = 0;
		char dir[700];
		read_files(f, w.e[i].relpath, &st);
		tcg_fmt(dir, sizeof(dir), "%s%s%s", f->base[2], w.e[i].relpath[0] ? "/" : "", w.e[i].relpath);
		assert_int_equal(tcg_read_u64(dir, "cpu.stat", "usage_usec", &usage_usec), 0);
		assert_true(w.e[i].has_cpu);
		/* the walk flushed rstat: same number as cpu.stat, in ns */
		assert_true(w.e[i].cpu_usage_ns / 1000 == usage_usec || w.e[i].cpu_usage_ns / 1000 + 1 == usage_usec);
		/* and the same CPU time as cpuacct, which the file collector reads */
		assert_cpu_close(w.e[i].cpu_usage_ns, st.cpu_usage_ns, w.e[i].relpath[0] ? w.e[i].relpath : "(base)");
	}
}

static void test_memory_equals_files(void **state)
{
	struct fixture *f = *state;
	static struct walk w;
	walk_hierarchy(f->base[1], &w);
	assert_tree(&w, f->base[1]);
	for (int i = 0; i < w.n; i++) {
		struct sample before, after;
		read_files(f, w.e[i].relpath, &before);
		assert_true(w.e[i].has_memory && (before.have & SAMPLE_HAVE_MEMORY));
		assert_false(w.e[i].has_cpu);
		/* sleeping tasks: the counter holds still; if it moved, walk again */
		if (w.e[i].memory_usage_bytes != before.memory_usage_bytes) {
			walk_hierarchy(f->base[1], &w);
			read_files(f, w.e[i].relpath, &after);
			assert_int_equal(w.e[i].memory_usage_bytes, after.memory_usage_bytes);
		}
		fprintf(stderr, "%-28s memory %" PRIu64 " bytes\n", w.e[i].relpath[0] ? w.e[i].relpath : "(base)",
			(uint64_t)w.e[i].memory_usage_bytes);
	}
	assert_true(w.e[2].memory_usage_bytes >= (8u << 20));
}

static void test_ring_grows(void **state)
{
	struct fixture *f = *state;
	static struct walk w;
	struct cadet_error err = { 0 };
	struct bpf_cgroup_iter *it = NULL;
	char dir[700], sub[800];
	int extra = 600;

	tcg_fmt(dir, sizeof(dir), "%s/many", f->base[2]);
	assert_int_equal(tcg_mkdir(dir), 0);
	for (int i = 0; i < extra; i++) {
		tcg_fmt(sub, sizeof(sub), "%s/cg%03d", dir, i);
		assert_int_equal(tcg_mkdir(sub), 0);
	}
	assert_int_equal(bpf_cgroup_iter_open(dir, 1, &it, &err), 0);
	size_t initial = bpf_cgroup_iter_ring_bytes(it);
	memset(&w, 0, sizeof(w));
	int n = bpf_cgroup_iter_collect(it, keep_entry, &w, &err);
	size_t grown = bpf_cgroup_iter_ring_bytes(it);
	bpf_cgroup_iter_close(it);
	if (n < 0)
		fail_msg("collect: %s", err.msg);
	fprintf(stderr, "ring %zu -> %zu bytes for %d cgroups\n", initial, grown, n);
	assert_int_equal(n, extra + 1);
	assert_true(grown > initial);
	assert_string_equal(w.e[1].relpath, "cg000");
	assert_string_equal(w.e[extra].relpath, "cg599");
}

int main(void)
{
	if (!tcg_hybrid_bpf_available())
		return 77;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuacct_agrees_with_files),
		cmocka_unit_test(test_cgroup2_agrees_with_files),
		cmocka_unit_test(test_memory_equals_files),
		cmocka_unit_test(test_ring_grows),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
