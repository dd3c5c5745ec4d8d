/* test_bpf_agent.c: BPF events applied to a real collection and store
 * (agent/collect-bpf.c) on this machine's cgroups (root, kernel with BTF,
 * hybrid layout; skipped otherwise).
 *
 * A container cgroup under kubepods/burstable/pod<uid> that is created,
 * burns 0.5 s of CPU and is removed between two collection cycles must be
 * in the store afterwards with that CPU time (from the rmdir event), and
 * stay there, vanished, through the next cycle. A container whose process
 * is OOM-killed before any cycle saw it must get oom_events == 1 once a
 * cycle has put it in the store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "agent/collect-bpf.h"
#include "agent/cycle.h"
#include "agent/store.h"
#include "bpf-test-cgroup.h"
#include "common/timefmt.h"

static const char *const hiers[] = { "cpu", "cpuacct", "memory", "pids", "unified" };
#define N_HIERS (sizeof(hiers) / sizeof(hiers[0]))

struct fixture {
	char pod_uid[40];
	char pod_rel[128];
	struct event_base *base;
	struct collection *collection;
	struct store store;
	struct agent_bpf *bpf;
	char want_id[65]; /* the container loop_until waits for */
};

/* Creates REL in every hierarchy; tracked for cleanup unless it existed. */
static int mk_all(const char *rel)
{
	return tcg_mkdir_all(hiers, N_HIERS, rel);
}

static int join_all(const char *rel, pid_t pid)
{
	for (size_t h = 0; h < N_HIERS; h++) {
		char path[1024];
		tcg_fmt(path, sizeof(path), "%s/%s/%s", TCG_ROOT, hiers[h], rel);
		if (tcg_join(path, pid) != 0)
			return -1;
	}
	return 0;
}

static int rm_all(const char *rel)
{
	for (size_t h = 0; h < N_HIERS; h++) {
		char path[1024];
		tcg_fmt(path, sizeof(path), "%s/%s/%s", TCG_ROOT, hiers[h], rel);
		if (tcg_rmdir(path) != 0)
			return -1;
	}
	return 0;
}

static int setup(void **state)
{
	static struct fixture f;
	struct cadet_error err = { 0 };
	unsigned r = (unsigned)getpid() ^ (unsigned)clock_monotonic_ns();

	memset(&f, 0, sizeof(f));
	tcg_fmt(f.pod_uid, sizeof(f.pod_uid), "%08x-0000-4000-8000-%012u", r, (unsigned)getpid());
	tcg_fmt(f.pod_rel, sizeof(f.pod_rel), "kubepods/burstable/pod%s", f.pod_uid);
	if (mk_all("kubepods") != 0 || mk_all("kubepods/burstable") != 0 || mk_all(f.pod_rel) != 0)
		goto fail;
	struct collect_options opts = {
		.cgroup_root = TCG_ROOT,
		.proc_root = "/proc",
		.fs_path = "/",
		.rescan_interval_ns = 60 * 1000000000ull,
	};
	struct agent_bpf_options bopts = { .cpu_from_cgroup2 = false };
	f.base = event_base_new();
	if (!f.base || collection_open(&opts, &f.collection, &err) != 0 ||
	    store_init(&f.store, 30 * 1000000000ull, 10 * 1000000000ull, &err) != 0 ||
	    agent_bpf_start(f.base, f.collection, &f.store, &bopts, &f.bpf, &err) != 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		goto fail;
	}
	*state = &f;
	return 0;
fail:
	tcg_cleanup();
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	agent_bpf_free(f->bpf);
	store_free(&f->store);
	collection_free(f->collection);
	event_base_free(f->base);
	tcg_cleanup(); /* kubepods and burstable only if this test made them and they are empty */
	return 0;
}

static void cycle(struct fixture *f)
{
	struct cadet_error err = { 0 };
	if (collection_run_cycle(f->collection, &f->store, &err) != 0)
		fail_msg("cycle: %s", err.msg);
}

/* Runs the event loop until cond(f) or a timeout. */
static bool loop_until(struct fixture *f, bool (*cond)(struct fixture *), unsigned ms)
{
	uint64_t deadline = clock_monotonic_ns() + (uint64_t)ms * 1000000ull;
	while (!cond(f) && clock_monotonic_ns() < deadline) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	return cond(f);
}

/* Other tests on the machine may be making and removing kubepods cgroups
 * too, so wait for this container, not for any final sample. */
static bool has_final_sample(struct fixture *f)
{
	struct store_pod *pod = store_find_pod(&f->store, f->pod_uid);
	return pod && store_find_container(pod, f->want_id);
}

static void burn_500ms(void *arg)
{
	(void)arg;
	tcg_burn_cpu_ms(500);
}

static void test_short_lived_container_reported(void **state)
{
	struct fixture *f = *state;
	char id[65], rel[300];
	struct tcg_child child = { -1, -1 };

	tcg_fmt(id, sizeof(id), "%064x", (unsigned)getpid());
	tcg_fmt(rel, sizeof(rel), "%s/%s", f->pod_rel, id);
	memcpy(f->want_id, id, sizeof(id));
	cycle(f); /* the container does not exist yet */

	assert_int_equal(mk_all(rel), 0);
	assert_int_equal(tcg_spawn(burn_500ms, NULL, &child), 0);
	assert_int_equal(join_all(rel, child.pid), 0);
	int status = tcg_run(&child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(rm_all(rel), 0);

	assert_true(loop_until(f, has_final_sample, 2000));
	struct store_pod *pod = store_find_pod(&f->store, f->pod_uid);
	assert_non_null(pod);
	struct store_container *c = store_find_container(pod, id);
	assert_non_null(c);
	assert_true(c->series.latest.have & SAMPLE_HAVE_CPU);
	fprintf(stderr, "final sample: %" PRIu64 " ns of CPU\n", c->series.latest.cpu_usage_ns);
	assert_true(c->series.latest.cpu_usage_ns >= 500000000ull);
	assert_true(c->series.latest.cpu_usage_ns < 650000000ull);
	assert_true(c->cgroup_start_ns > 0); /* from the mkdir event */

	cycle(f); /* gone from the filesystem: kept, vanished */
	pod = store_find_pod(&f->store, f->pod_uid);
	assert_non_null(pod);
	c = store_find_container(pod, id);
	assert_non_null(c);
	assert_true(c->series.vanished);
	assert_true(c->series.latest.cpu_usage_ns >= 500000000ull);
}

static void allocate_past_limit(void *arg)
{
	size_t bytes = *(size_t *)arg;
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(3);
	for (size_t off = 0; off < bytes; off += 4096)
		p[off] = 1;
	_exit(4);
}

static bool oom_counted(struct fixture *f)
{
	struct store_pod *pod = store_find_pod(&f->store, f->pod_uid);
	struct store_container *c = pod ? store_find_container(pod, f->want_id) : NULL;
	return c && c->oom_events > 0;
}

static void test_oom_counted_on_container(void **state)
{
	struct fixture *f = *state;
	char id[65], rel[300], mem[1024];
	struct tcg_child child = { -1, -1 };
	size_t bytes = 256u << 20;

	tcg_fmt(id, sizeof(id), "%063x1", (unsigned)getpid());
	tcg_fmt(rel, sizeof(rel), "%s/%s", f->pod_rel, id);
	memcpy(f->want_id, id, sizeof(id));
	assert_int_equal(mk_all(rel), 0);
	tcg_fmt(mem, sizeof(mem), "%s/memory/%s", TCG_ROOT, rel);
	assert_int_equal(tcg_write(mem, "memory.limit_in_bytes", "33554432"), 0);
	assert_int_equal(tcg_spawn(allocate_past_limit, &bytes, &child), 0);
	assert_int_equal(join_all(rel, child.pid), 0);
	int status = tcg_run(&child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* No cycle has seen the container: the kill waits. */
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_false(oom_counted(f));
	cycle(f); /* discovers it (the mkdir event asked for a rescan) */
	assert_true(loop_until(f, oom_counted, 2500));
	struct store_pod *pod = store_find_pod(&f->store, f->pod_uid);
	assert_non_null(pod);
	struct store_container *c = store_find_container(pod, id);
	assert_non_null(c);
	assert_int_equal(c->oom_events, 1);
	assert_int_equal(rm_all(rel), 0);
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
		cmocka_unit_test_setup_teardown(test_short_lived_container_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oom_counted_on_container, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
