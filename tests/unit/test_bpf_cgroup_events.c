/* test_bpf_cgroup_events.c: the cgroup-events BPF loader against the real
 * kernel and real cgroups (root, kernel with BTF; skipped otherwise).
 *
 * Checks that mkdir/rmdir in a v1 controller and in cgroup2 arrive with the
 * directory's inode as id, the right level and path; that the rmdir event's
 * final CPU usage equals what cpuacct.usage held after the last task exited
 * (to the nanosecond) and, on cgroup2, agrees with it without anyone having
 * read cpu.stat (the unflushed per-CPU part is included) and exactly when
 * someone had; and that an OOM kill in a v1 memory cgroup with a small limit
 * is reported once, for that cgroup and that pid. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <sys/mman.h>

#include "agent/collect-bpf-cgroup-events.h"
#include "bpf-test-cgroup.h"
#include "common/timefmt.h"

#define MAX_SEEN 256

struct seen {
	char marker[64]; /* only events whose path contains this */
	struct cgroup_event events[MAX_SEEN];
	int n;
};

static int keep_event(const struct cgroup_event *e, void *ctx, struct cadet_error *err)
{
	struct seen *s = ctx;
	(void)err;
	if (!strstr(e->path, s->marker) || s->n >= MAX_SEEN)
		return 0;
	s->events[s->n++] = *e;
	return 0;
}

/* Consumes until `want` matching events arrived or a second passed. */
static void drain(struct bpf_cgroup_events *ev, struct seen *s, int want)
{
	struct cadet_error err = { 0 };
	uint64_t deadline = clock_monotonic_ns() + 1000000000ull;
	do {
		struct pollfd pfd = { .fd = bpf_cgroup_events_fd(ev), .events = POLLIN };
		poll(&pfd, 1, 50);
		assert_true(bpf_cgroup_events_consume(ev, keep_event, s, &err) >= 0);
	} while (s->n < want && clock_monotonic_ns() < deadline);
}

static const struct cgroup_event *find(const struct seen *s, uint32_t type, uint32_t ctrl, const char *path)
{
	for (int i = 0; i < s->n; i++) {
		const struct cgroup_event *e = &s->events[i];
		if (e->type == type && (e->controllers & ctrl) && strcmp(e->path, path) == 0)
			return e;
	}
	fprintf(stderr, "no %s event for %s (controllers 0x%x) among %d:\n", cgroup_event_type_name(type), path, ctrl,
		s->n);
	for (int i = 0; i < s->n; i++)
		fprintf(stderr, "  %s hierarchy %u controllers 0x%x %s\n", cgroup_event_type_name(s->events[i].type),
			s->events[i].hierarchy_id, s->events[i].controllers, s->events[i].path);
	return NULL;
}

/* "/sys/fs/cgroup/HIER/a/b" -> "/a/b" */
static const char *rel(const char *abs, const char *hier)
{
	return abs + strlen(TCG_ROOT) + 1 + strlen(hier);
}

static int setup(void **state)
{
	struct cadet_error err = { 0 };
	struct bpf_cgroup_events *ev = NULL;
	if (!tcg_is_root()) {
		fprintf(stderr, "not root: cannot load BPF or create cgroups\n");
		return -1;
	}
	/* Only this test's subtrees: other work on the machine making cgroups
	 * must not fill the ring buffer. */
	struct bpf_cgroup_events_options opts = { .path_prefix = "/cadet-bpf-test-" };
	if (bpf_cgroup_events_open(&opts, &ev, &err) < 0) {
		fprintf(stderr, "bpf_cgroup_events_open: %s\n", err.msg);
		return -1;
	}
	*state = ev;
	return 0;
}

static int teardown(void **state)
{
	tcg_cleanup();
	bpf_cgroup_events_close(*state);
	return 0;
}

static void test_mkdir_rmdir(void **state)
{
	struct bpf_cgroup_events *ev = *state;
	static struct seen s;
	char v1[512], v2[512], a[600], b[600];

	memset(&s, 0, sizeof(s));
	tcg_fmt(s.marker, sizeof(s.marker), "cadet-bpf-test-%d/", (int)getpid());
	assert_int_equal(tcg_base("cpuacct", v1, sizeof(v1)), 0);
	assert_int_equal(tcg_base("unified", v2, sizeof(v2)), 0);
	tcg_fmt(a, sizeof(a), "%s/lifecycle", v1);
	tcg_fmt(b, sizeof(b), "%s/lifecycle", v2);
	assert_int_equal(tcg_mkdir(a), 0);
	assert_int_equal(tcg_mkdir(b), 0);
	uint64_t ino_a = tcg_ino(a), ino_b = tcg_ino(b);
	assert_int_equal(tcg_rmdir(a), 0);
	assert_int_equal(tcg_rmdir(b), 0);
	drain(ev, &s, 4);

	const struct cgroup_event *e = find(&s, CGROUP_EVENT_MKDIR, CGROUP_EVENT_CTRL_CPUACCT, rel(a, "cpuacct"));
	assert_non_null(e);
	assert_int_equal(e->cgroup_id, ino_a);
	assert_true(e->hierarchy_id > 0);
	int slashes = 0;
	for (const char *p = rel(a, "cpuacct"); *p; p++)
		slashes += *p == '/';
	assert_int_equal(e->level, slashes);

	e = find(&s, CGROUP_EVENT_RMDIR, CGROUP_EVENT_CTRL_CPUACCT, rel(a, "cpuacct"));
	assert_non_null(e);
	assert_int_equal(e->cgroup_id, ino_a);
	assert_true(e->have & CGROUP_EVENT_HAVE_CPU);
	assert_int_equal(e->cpu_usage_ns, 0); /* no task ever ran there */

	e = find(&s, CGROUP_EVENT_MKDIR, CGROUP_EVENT_CTRL_CGROUP2, rel(b, "unified"));
	assert_non_null(e);
	assert_int_equal(e->cgroup_id, ino_b);
	assert_int_equal(e->hierarchy_id, 0);
	e = find(&s, CGROUP_EVENT_RMDIR, CGROUP_EVENT_CTRL_CGROUP2, rel(b, "unified"));
	assert_non_null(e);
	assert_int_equal(e->cgroup_id, ino_b);
	assert_int_equal(bpf_cgroup_events_dropped(ev), 0);
}

static void burn_300ms(void *arg)
{
	(void)arg;
	tcg_burn_cpu_ms(300);
}

static void test_final_cpu_at_rmdir(void **state)
{
	struct bpf_cgroup_events *ev = *state;
	static struct seen s;
	char v1[512], v2[512], a[600], b[600], c[600];
	struct tcg_child child = { -1, -1 }, child2 = { -1, -1 };

	memset(&s, 0, sizeof(s));
	tcg_fmt(s.marker, sizeof(s.marker), "cadet-bpf-test-%d/", (int)getpid());
	assert_int_equal(tcg_base("cpuacct", v1, sizeof(v1)), 0);
	assert_int_equal(tcg_base("unified", v2, sizeof(v2)), 0);
	tcg_fmt(a, sizeof(a), "%s/burn", v1);
	tcg_fmt(b, sizeof(b), "%s/burn", v2);
	tcg_fmt(c, sizeof(c), "%s/burn-read", v2);
	assert_int_equal(tcg_mkdir(a), 0);
	assert_int_equal(tcg_mkdir(b), 0);
	assert_int_equal(tcg_mkdir(c), 0);

	/* Child 1 in cpuacct "burn" and cgroup2 "burn"; nobody reads its cpu.stat. */
	assert_int_equal(tcg_spawn(burn_300ms, NULL, &child), 0);
	assert_int_equal(tcg_join(a, child.pid), 0);
	assert_int_equal(tcg_join(b, child.pid), 0);
	int status = tcg_run(&child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* Child 2 in cgroup2 "burn-read", whose cpu.stat is read before rmdir. */
	assert_int_equal(tcg_spawn(burn_300ms, NULL, &child2), 0);
	assert_int_equal(tcg_join(c, child2.pid), 0);
	status = tcg_run(&child2);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	uint64_t cpuacct_ns = 0, read_usec = 0;
	assert_int_equal(tcg_read_u64(a, "cpuacct.usage", "", &cpuacct_ns), 0);
	assert_int_equal(tcg_read_u64(c, "cpu.stat", "usage_usec", &read_usec), 0);
	assert_true(cpuacct_ns >= 300000000ull);
	assert_int_equal(tcg_rmdir(a), 0);
	assert_int_equal(tcg_rmdir(b), 0);
	assert_int_equal(tcg_rmdir(c), 0);
	drain(ev, &s, 6);
	assert_int_equal(bpf_cgroup_events_dropped(ev), 0);

	const struct cgroup_event *e = find(&s, CGROUP_EVENT_RMDIR, CGROUP_EVENT_CTRL_CPUACCT, rel(a, "cpuacct"));
	assert_non_null(e);
	assert_true(e->have & CGROUP_EVENT_HAVE_CPU);
	assert_int_equal(e->cpu_usage_ns, cpuacct_ns);

	e = find(&s, CGROUP_EVENT_RMDIR, CGROUP_EVENT_CTRL_CGROUP2, rel(b, "unified"));
	assert_non_null(e);
	assert_true(e->have & CGROUP_EVENT_HAVE_CPU);
	double ratio = (double)e->cpu_usage_ns / (double)cpuacct_ns;
	fprintf(stderr, "cgroup2 rmdir %" PRIu64 " ns, cpuacct.usage %" PRIu64 " ns, ratio %.5f\n",
		(uint64_t)e->cpu_usage_ns, cpuacct_ns, ratio);
	assert_true(ratio > 0.99 && ratio < 1.01);

	e = find(&s, CGROUP_EVENT_RMDIR, CGROUP_EVENT_CTRL_CGROUP2, rel(c, "unified"));
	assert_non_null(e);
	assert_int_equal(e->cpu_usage_ns / 1000, read_usec);
}

static void allocate_past_limit(void *arg)
{
	size_t bytes = *(size_t *)arg;
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(3);
	for (size_t off = 0; off < bytes; off += 4096)
		p[off] = 1;
	_exit(4); /* survived: the limit did not hold */
}

static void test_oom_kill(void **state)
{
	struct bpf_cgroup_events *ev = *state;
	static struct seen s;
	char mem[512], m[600];
	struct tcg_child child = { -1, -1 };
	size_t bytes = 256u << 20;

	if (!bpf_cgroup_events_have_oom(ev)) {
		/* the reason first: tests/run-tests.sh reports it with the skip */
		print_message("this kernel has neither the mark_victim tracepoint on a task nor mark_oom_victim\n");
		skip();
	}
	memset(&s, 0, sizeof(s));
	tcg_fmt(s.marker, sizeof(s.marker), "cadet-bpf-test-%d/", (int)getpid());
	assert_int_equal(tcg_base("memory", mem, sizeof(mem)), 0);
	tcg_fmt(m, sizeof(m), "%s/oom", mem);
	assert_int_equal(tcg_mkdir(m), 0);
	assert_int_equal(tcg_write(m, "memory.limit_in_bytes", "33554432"), 0);
	assert_int_equal(tcg_spawn(allocate_past_limit, &bytes, &child), 0);
	assert_int_equal(tcg_join(m, child.pid), 0);
	int status = tcg_run(&child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	drain(ev, &s, 1);

	int ooms = 0;
	const struct cgroup_event *e = NULL;
	for (int i = 0; i < s.n; i++) {
		if (s.events[i].type == CGROUP_EVENT_OOM) {
			e = &s.events[i];
			ooms++;
		}
	}
	assert_int_equal(ooms, 1);
	assert_int_equal(e->cgroup_id, tcg_ino(m));
	assert_string_equal(e->path, rel(m, "memory"));
	assert_int_equal(e->pid, child.pid);
	assert_true(e->controllers & CGROUP_EVENT_CTRL_MEMORY);
	uint64_t kills = 0;
	assert_int_equal(tcg_read_u64(m, "memory.oom_control", "oom_kill", &kills), 0);
	assert_int_equal(kills, 1);
}

int main(void)
{
	if (!tcg_is_root() || access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		printf("needs root and kernel BTF\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mkdir_rmdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_final_cpu_at_rmdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oom_kill, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
