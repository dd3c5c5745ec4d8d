/* test_store.c: the sample store (agent/store.h) with synthetic samples and
 * a synthetic clock.
 *
 * Covers the rate math (usageNanoCores = CPU delta over time delta across
 * the window; exactly 0.5 core for samples that grow by half a second per
 * second; no rate from one sample; the window the rate covers), window
 * trimming and ring wrap-around against a brute-force rate, a counter that
 * goes backwards restarting the ring (no negative or huge rate), repeated
 * records at one instant, samples without CPU; vanished series kept with
 * their last values until the window has passed and then expired (pods
 * with their containers, the kubepods series); pods sorted by uid and
 * containers by id whatever the record order, with lookups; metadata
 * set/replace/clear (leaks show under ASan); store_init's argument checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "agent/store.h"
#include "tests/unit/store-builder.h"

#define SEC 1000000000ULL
#define REALTIME_BASE (1767225600ULL * SEC) /* 2026-01-01T00:00:00Z */

static struct sample cpu_mem(uint64_t cpu_ns, uint64_t ws_bytes)
{
	struct sample st;
	memset(&st, 0, sizeof(st));
	st.have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY;
	st.cpu_usage_ns = cpu_ns;
	st.memory_usage_bytes = ws_bytes;
	st.memory_working_set_bytes = ws_bytes;
	return st;
}

static void init(struct store *s, uint64_t window_ns, uint64_t interval_ns)
{
	struct cadet_error err = { 0 };
	if (store_init(s, window_ns, interval_ns, &err) != 0)
		fail_msg("store_init: %s", err.msg);
}

/* One cycle at time t recording the node and the given containers of one
 * pod (NULL-terminated ids, each with the same stats). */
static void cycle(struct store *s, uint64_t t, const char *uid, const char *const *ids,
		  const struct sample *st)
{
	struct cadet_error err = { 0 };
	struct node_info info = { .boot_time_ns = REALTIME_BASE - 3600 * SEC, .memory_capacity_bytes = 1ULL << 33 };
	sb_begin_walk(s, t, REALTIME_BASE + t);
	assert_int_equal(sb_record_node(s, st, &info, &err), 0);
	if (uid) {
		struct store_pod *p = NULL;
		assert_int_equal(sb_record_pod(s, uid, POD_QOS_BURSTABLE, REALTIME_BASE, st, &p, &err), 0);
		for (size_t i = 0; ids && ids[i]; i++) {
			struct store_container *c = NULL;
			assert_int_equal(sb_record_container(s, p, ids[i], REALTIME_BASE, st, &c, &err), 0);
			assert_non_null(c);
		}
	}
	sb_end_walk(s);
}

static void test_half_core(void **state)
{
	(void)state;
	struct store s;
	init(&s, 15 * SEC, SEC);
	struct sample st = cpu_mem(0, 100);
	cycle(&s, 100 * SEC, NULL, NULL, &st);
	assert_false(s.node.has_rate); /* one sample: no rate yet */
	for (uint64_t i = 1; i <= 20; i++) {
		st = cpu_mem(i * SEC / 2, 100);
		cycle(&s, 100 * SEC + i * SEC, NULL, NULL, &st);
		assert_true(s.node.has_rate);
		if (s.node.usage_nano_cores != 500000000ULL)
			fail_msg("cycle %llu: %llu nanocores, want 500000000", (unsigned long long)i,
				 (unsigned long long)s.node.usage_nano_cores);
		/* the rate covers the samples so far, at most the window */
		uint64_t want_window = (i < 15 ? i : 15) * SEC;
		assert_true(s.node.rate_window_ns == want_window);
	}
	assert_true(s.node.latest.cpu_usage_ns == 10 * SEC);
	assert_true(s.node.at.realtime_ns == REALTIME_BASE + 120 * SEC);
	store_free(&s);
}

/* The rate the store should give at sample k: over the samples within the
 * window, computed from scratch. */
static uint64_t brute_rate(const uint64_t *t, const uint64_t *cpu, size_t k, uint64_t window_ns, size_t cap,
			   uint64_t *window_out)
{
	size_t oldest = k;
	while (oldest > 0 && k - (oldest - 1) < cap && t[k] - t[oldest - 1] <= window_ns)
		oldest--;
	if (oldest == k && k > 0)
		oldest = k - 1; /* at least two points */
	*window_out = t[k] - t[oldest];
	return (uint64_t)((long double)(cpu[k] - cpu[oldest]) * 1e9L / (long double)(t[k] - t[oldest]));
}

static void test_window_trimming_and_wrap(void **state)
{
	(void)state;
	struct store s;
	init(&s, 3 * SEC, SEC);
	assert_int_equal(s.ring_cap, 5);
	/* busy at 1 core for 5 s, idle for 5 s, 0.25 core after; jittered
	 * intervals so the window edge falls between samples */
	enum { N = 40 };
	uint64_t t[N], cpu[N];
	static const uint64_t jitter_ms[] = { 1000, 900, 1100, 1000, 1050, 950 };
	t[0] = 50 * SEC;
	cpu[0] = 7 * SEC;
	for (size_t k = 1; k < N; k++) {
		uint64_t dt = jitter_ms[k % 6] * 1000000ULL;
		t[k] = t[k - 1] + dt;
		uint64_t busy = k <= 5 ? dt : k <= 10 ? 0 : dt / 4;
		cpu[k] = cpu[k - 1] + busy;
	}
	for (size_t k = 0; k < N; k++) {
		struct sample st = cpu_mem(cpu[k], 1);
		cycle(&s, t[k], NULL, NULL, &st);
		if (k == 0)
			continue;
		uint64_t want_window;
		uint64_t want = brute_rate(t, cpu, k, 3 * SEC, s.ring_cap, &want_window);
		assert_true(s.node.has_rate);
		if (s.node.usage_nano_cores != want || s.node.rate_window_ns != want_window)
			fail_msg("sample %zu: %llu nanocores over %llu ns, want %llu over %llu", k,
				 (unsigned long long)s.node.usage_nano_cores, (unsigned long long)s.node.rate_window_ns,
				 (unsigned long long)want, (unsigned long long)want_window);
		assert_true(s.node.rate_window_ns <= 3 * SEC);
	}
	/* well into the idle stretch and the quarter-core stretch */
	assert_true(s.node.usage_nano_cores == 250000000ULL);
	store_free(&s);
}

static void test_idle_after_busy(void **state)
{
	(void)state;
	struct store s;
	init(&s, 3 * SEC, SEC);
	struct sample st;
	for (uint64_t i = 0; i <= 4; i++) {
		st = cpu_mem(i * SEC, 1); /* one core */
		cycle(&s, i * SEC, NULL, NULL, &st);
	}
	assert_true(s.node.usage_nano_cores == SEC);
	st = cpu_mem(4 * SEC, 1);
	cycle(&s, 5 * SEC, NULL, NULL, &st); /* window 2..5: 2 s busy of 3 */
	assert_true(s.node.usage_nano_cores == 666666666ULL);
	cycle(&s, 6 * SEC, NULL, NULL, &st);
	assert_true(s.node.usage_nano_cores == 333333333ULL);
	cycle(&s, 7 * SEC, NULL, NULL, &st);
	assert_true(s.node.usage_nano_cores == 0);
	assert_true(s.node.has_rate);
	store_free(&s);
}

static void test_counter_reset(void **state)
{
	(void)state;
	struct store s;
	init(&s, 10 * SEC, SEC);
	static const char *const ids[] = { "ctr", NULL };
	struct sample st;
	for (uint64_t i = 0; i < 4; i++) {
		st = cpu_mem(1000 * SEC + i * SEC, 1);
		cycle(&s, i * SEC, "pod-a", ids, &st);
	}
	struct store_container *c = store_find_container(store_find_pod(&s, "pod-a"), "ctr");
	assert_non_null(c);
	assert_true(c->series.usage_nano_cores == SEC);

	/* the container was recreated: its counter starts again near zero */
	st = cpu_mem(SEC / 10, 1);
	cycle(&s, 4 * SEC, "pod-a", ids, &st);
	c = store_find_container(store_find_pod(&s, "pod-a"), "ctr");
	assert_false(c->series.has_rate); /* one point since the reset */
	assert_int_equal(c->series.ring_count, 1);
	assert_true(c->series.latest.cpu_usage_ns == SEC / 10);

	st = cpu_mem(SEC / 10 + SEC / 2, 1);
	cycle(&s, 5 * SEC, "pod-a", ids, &st);
	c = store_find_container(store_find_pod(&s, "pod-a"), "ctr");
	assert_true(c->series.has_rate);
	/* only the points after the reset count: half a core, not a negative
	 * delta wrapped into something huge, nor the old core */
	assert_true(c->series.usage_nano_cores == SEC / 2);
	assert_true(c->series.rate_window_ns == SEC);
	store_free(&s);
}

static void test_same_instant_and_no_cpu(void **state)
{
	(void)state;
	struct store s;
	init(&s, 10 * SEC, SEC);
	struct sample st = cpu_mem(0, 1);
	cycle(&s, 10 * SEC, NULL, NULL, &st);
	st = cpu_mem(SEC, 1);
	cycle(&s, 11 * SEC, NULL, NULL, &st);
	assert_true(s.node.usage_nano_cores == SEC);
	/* a second record at the same instant: no division by zero, the
	 * newest point takes the new value */
	st = cpu_mem(SEC + SEC / 2, 1);
	cycle(&s, 11 * SEC, NULL, NULL, &st);
	assert_int_equal(s.node.ring_count, 2);
	st = cpu_mem(2 * SEC, 1);
	cycle(&s, 12 * SEC, NULL, NULL, &st);
	assert_true(s.node.usage_nano_cores == SEC);

	/* a sample without CPU drops the rate and the ring */
	memset(&st, 0, sizeof(st));
	st.have = SAMPLE_HAVE_MEMORY;
	cycle(&s, 13 * SEC, NULL, NULL, &st);
	assert_false(s.node.has_rate);
	assert_int_equal(s.node.ring_count, 0);
	st = cpu_mem(3 * SEC, 1);
	cycle(&s, 14 * SEC, NULL, NULL, &st);
	assert_false(s.node.has_rate);
	st = cpu_mem(3 * SEC + SEC / 4, 1);
	cycle(&s, 15 * SEC, NULL, NULL, &st);
	assert_true(s.node.has_rate);
	assert_true(s.node.usage_nano_cores == SEC / 4);
	store_free(&s);
}

static void test_vanished_then_expired(void **state)
{
	(void)state;
	struct store s;
	init(&s, 3 * SEC, SEC);
	static const char *const both[] = { "c1", "c2", NULL };
	static const char *const only_c1[] = { "c1", NULL };
	struct sample st;
	struct cadet_error err = { 0 };
	for (uint64_t i = 0; i <= 2; i++) {
		st = cpu_mem(i * SEC, 4096);
		cycle(&s, i * SEC, "pod-a", both, &st);
	}
	/* c2 disappears at t=3; last seen at t=2 */
	for (uint64_t i = 3; i <= 5; i++) {
		st = cpu_mem(i * SEC, 4096);
		cycle(&s, i * SEC, "pod-a", only_c1, &st);
		struct store_pod *p = store_find_pod(&s, "pod-a");
		struct store_container *c2 = store_find_container(p, "c2");
		assert_non_null(c2); /* kept for the window, */
		assert_true(c2->series.vanished);
		assert_true(c2->series.latest.cpu_usage_ns == 2 * SEC); /* with its last values */
		assert_true(c2->series.at.realtime_ns == REALTIME_BASE + 2 * SEC);
		assert_false(store_find_container(p, "c1")->series.vanished);
		assert_int_equal(store_count_containers(&s), 2);
	}
	st = cpu_mem(6 * SEC, 4096);
	cycle(&s, 6 * SEC, "pod-a", only_c1, &st); /* 4 s > 3 s window */
	assert_null(store_find_container(store_find_pod(&s, "pod-a"), "c2"));
	assert_int_equal(store_count_containers(&s), 1);

	/* c2 coming back is a new series */
	st = cpu_mem(50, 4096);
	cycle(&s, 7 * SEC, "pod-a", both, &st);
	struct store_container *c2 = store_find_container(store_find_pod(&s, "pod-a"), "c2");
	assert_non_null(c2);
	assert_false(c2->series.has_rate);
	assert_false(c2->series.vanished);

	/* the whole pod goes: kept while within the window, then dropped */
	for (uint64_t i = 8; i <= 10; i++) {
		cycle(&s, i * SEC, NULL, NULL, &st);
		struct store_pod *p = store_find_pod(&s, "pod-a");
		assert_non_null(p);
		assert_true(p->series.vanished);
		assert_int_equal(p->n_containers, 2);
	}
	cycle(&s, 11 * SEC, NULL, NULL, &st);
	assert_null(store_find_pod(&s, "pod-a"));
	assert_int_equal(s.n_pods, 0);
	assert_int_equal(store_count_containers(&s), 0);

	/* kubepods: present while recorded, gone a window after it stops */
	sb_begin_walk(&s, 12 * SEC, REALTIME_BASE + 12 * SEC);
	assert_int_equal(sb_record_kubepods(&s, &st, &err), 0);
	sb_end_walk(&s);
	assert_true(s.kubepods.has_sample);
	for (uint64_t i = 13; i <= 15; i++) {
		sb_begin_walk(&s, i * SEC, REALTIME_BASE + i * SEC);
		sb_end_walk(&s);
		assert_true(s.kubepods.has_sample);
	}
	sb_begin_walk(&s, 16 * SEC, REALTIME_BASE + 16 * SEC);
	sb_end_walk(&s);
	assert_false(s.kubepods.has_sample);
	store_free(&s);
}

static void test_pod_kept_while_a_container_is(void **state)
{
	(void)state;
	struct store s;
	init(&s, 3 * SEC, SEC);
	struct cadet_error err = { 0 };
	struct sample st = cpu_mem(SEC, 1);
	/* the pod cgroup itself unreadable: the pod exists through its container */
	sb_begin_walk(&s, 10 * SEC, REALTIME_BASE + 10 * SEC);
	struct store_pod *p = NULL;
	struct store_container *c = NULL;
	assert_int_equal(sb_record_pod(&s, "pod-x", POD_QOS_BESTEFFORT, 0, NULL, &p, &err), 0);
	assert_int_equal(sb_record_container(&s, p, "ctr", REALTIME_BASE, &st, &c, &err), 0);
	sb_end_walk(&s);
	p = store_find_pod(&s, "pod-x");
	assert_non_null(p);
	assert_false(p->series.has_sample);
	assert_int_equal(p->qos, POD_QOS_BESTEFFORT);
	/* a container recorded keeps its pod present */
	for (uint64_t i = 11; i <= 13; i++) {
		sb_begin_walk(&s, i * SEC, REALTIME_BASE + i * SEC);
		p = store_find_pod(&s, "pod-x");
		assert_int_equal(sb_record_container(&s, p, "ctr", REALTIME_BASE, &st, &c, &err), 0);
		sb_end_walk(&s);
		assert_non_null(store_find_pod(&s, "pod-x"));
	}
	store_free(&s);
}

static void test_ordering_and_lookup(void **state)
{
	(void)state;
	struct store s;
	init(&s, 15 * SEC, SEC);
	struct cadet_error err = { 0 };
	struct sample st = cpu_mem(1, 1);
	static const char *const uids[] = { "m", "c", "x", "a", "q", "b", "z", "k", "d", "y", "e" };
	static const char *const ids[] = { "ff", "01", "aa", "0f", "10" };
	sb_begin_walk(&s, SEC, REALTIME_BASE);
	for (size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++) {
		struct store_pod *p = NULL;
		assert_int_equal(sb_record_pod(&s, uids[i], POD_QOS_GUARANTEED, 0, &st, &p, &err), 0);
		assert_string_equal(p->uid, uids[i]);
		for (size_t j = 0; j < sizeof(ids) / sizeof(ids[0]); j++) {
			struct store_container *c = NULL;
			assert_int_equal(sb_record_container(&s, p, ids[j], 0, &st, &c, &err), 0);
			assert_string_equal(c->id, ids[j]);
		}
		/* recording again finds, not duplicates */
		struct store_pod *again = NULL;
		assert_int_equal(sb_record_pod(&s, uids[i], POD_QOS_GUARANTEED, 0, &st, &again, &err), 0);
		assert_ptr_equal(again, store_find_pod(&s, uids[i]));
	}
	sb_end_walk(&s);
	assert_int_equal(s.n_pods, 11);
	assert_int_equal(store_count_containers(&s), 55);
	for (size_t i = 1; i < s.n_pods; i++)
		assert_true(strcmp(s.pods[i - 1].uid, s.pods[i].uid) < 0);
	for (size_t i = 0; i < s.n_pods; i++) {
		struct store_pod *p = &s.pods[i];
		assert_int_equal(p->n_containers, 5);
		for (size_t j = 1; j < p->n_containers; j++)
			assert_true(strcmp(p->containers[j - 1].id, p->containers[j].id) < 0);
		assert_ptr_equal(store_find_pod(&s, p->uid), p);
		assert_ptr_equal(store_find_container(p, "aa"), &p->containers[3]);
		assert_null(store_find_container(p, "ab"));
	}
	assert_null(store_find_pod(&s, "n"));
	assert_null(store_find_pod(&s, ""));
	assert_null(store_find_pod(&s, "zz"));
	store_free(&s);
	/* store_free leaves an empty store behind */
	assert_int_equal(s.n_pods, 0);
	assert_null(s.pods);
}

static void test_metadata(void **state)
{
	(void)state;
	struct store s;
	init(&s, 15 * SEC, SEC);
	struct cadet_error err = { 0 };
	struct sample st = cpu_mem(1, 1);
	sb_begin_walk(&s, SEC, REALTIME_BASE);
	struct store_pod *p = NULL;
	struct store_container *c = NULL;
	assert_int_equal(sb_record_pod(&s, "uid-1", POD_QOS_BURSTABLE, 0, &st, &p, &err), 0);
	assert_int_equal(sb_record_container(&s, p, "id-1", 0, &st, &c, &err), 0);

	char name[16] = "web-0", ns[16] = "shop";
	char k0[8] = "app", v0[8] = "web", k1[8] = "tier", v1[8] = "front";
	struct label labels[] = { { k0, v0 }, { k1, v1 } };
	struct pod_metadata pm = { .name = name, .namespace = ns, .labels = labels, .n_labels = 2,
				   .start_time_ns = 42 };
	assert_int_equal(pod_metadata_set(&p->meta, &pm, &err), 0);
	/* copies, not the caller's strings */
	strcpy(name, "changed");
	strcpy(v1, "back");
	assert_string_equal(p->meta.name, "web-0");
	assert_string_equal(p->meta.namespace, "shop");
	assert_int_equal(p->meta.n_labels, 2);
	assert_string_equal(p->meta.labels[1].key, "tier");
	assert_string_equal(p->meta.labels[1].value, "front");
	assert_true(p->meta.start_time_ns == 42);
	assert_ptr_not_equal(p->meta.labels, labels);

	/* replacing frees the old copy (ASan would report a leak) */
	struct pod_metadata pm2 = { .name = "web-1", .namespace = NULL };
	assert_int_equal(pod_metadata_set(&p->meta, &pm2, &err), 0);
	assert_string_equal(p->meta.name, "web-1");
	assert_null(p->meta.namespace);
	assert_int_equal(p->meta.n_labels, 0);
	assert_null(p->meta.labels);
	assert_int_equal(pod_metadata_set(&p->meta, &pm, &err), 0); /* labels again, freed by store_free */

	struct container_metadata cm = { .name = "nginx", .start_time_ns = 7, .has_rootfs = true,
					 .rootfs_used_bytes = 4096 };
	assert_int_equal(container_metadata_set(&c->meta, &cm, &err), 0);
	assert_ptr_not_equal(c->meta.name, cm.name);
	assert_string_equal(c->meta.name, "nginx");
	assert_true(c->meta.has_rootfs && c->meta.rootfs_used_bytes == 4096);
	struct container_metadata sandbox = { .name = "POD", .is_sandbox = true };
	assert_int_equal(container_metadata_set(&c->meta, &sandbox, &err), 0);
	assert_string_equal(c->meta.name, "POD");
	assert_true(c->meta.is_sandbox);
	assert_false(c->meta.has_rootfs);

	container_metadata_clear(&c->meta);
	assert_null(c->meta.name);
	assert_false(c->meta.is_sandbox);
	container_metadata_clear(&c->meta); /* twice is fine */
	assert_int_equal(container_metadata_set(&c->meta, &cm, &err), 0);
	sb_end_walk(&s);

	/* expiry frees metadata too */
	for (uint64_t i = 2; i <= 18; i++) {
		sb_begin_walk(&s, i * SEC, REALTIME_BASE + i * SEC);
		sb_end_walk(&s);
	}
	assert_null(store_find_pod(&s, "uid-1"));

	/* and store_free frees what is still there */
	sb_begin_walk(&s, 20 * SEC, REALTIME_BASE + 20 * SEC);
	assert_int_equal(sb_record_pod(&s, "uid-2", POD_QOS_BURSTABLE, 0, &st, &p, &err), 0);
	assert_int_equal(pod_metadata_set(&p->meta, &pm, &err), 0);
	assert_int_equal(sb_record_container(&s, p, "id-2", 0, &st, &c, &err), 0);
	assert_int_equal(container_metadata_set(&c->meta, &cm, &err), 0);
	sb_end_walk(&s);
	store_free(&s);
}

static void test_init_checks_and_names(void **state)
{
	(void)state;
	struct store s;
	struct cadet_error err = { 0 };
	assert_int_equal(store_init(&s, 15 * SEC, 0, &err), -1);
	assert_int_equal(store_init(&s, 0, SEC, &err), -1);
	assert_int_equal(store_init(&s, 5000 * SEC, SEC, &err), -1);
	assert_int_equal(store_init(&s, 4001 * SEC, SEC, &err), -1); /* the limit --window has */
	assert_int_equal(store_init(&s, STORE_MAX_WINDOW_INTERVALS * SEC, SEC, &err), 0);
	assert_int_equal(s.ring_cap, STORE_MAX_WINDOW_INTERVALS + 2);
	store_free(&s);
	assert_int_equal(store_init(&s, 15 * SEC, SEC, &err), 0);
	assert_int_equal(s.ring_cap, 17);
	assert_true(s.window_ns == 15 * SEC);
	store_free(&s);
	assert_string_equal(pod_qos_name(POD_QOS_GUARANTEED), "Guaranteed");
	assert_string_equal(pod_qos_name(POD_QOS_BURSTABLE), "Burstable");
	assert_string_equal(pod_qos_name(POD_QOS_BESTEFFORT), "BestEffort");
	assert_string_equal(pod_qos_name(POD_QOS_UNKNOWN), "Unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_half_core),
		cmocka_unit_test(test_window_trimming_and_wrap),
		cmocka_unit_test(test_idle_after_busy),
		cmocka_unit_test(test_counter_reset),
		cmocka_unit_test(test_same_instant_and_no_cpu),
		cmocka_unit_test(test_vanished_then_expired),
		cmocka_unit_test(test_pod_kept_while_a_container_is),
		cmocka_unit_test(test_ordering_and_lookup),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_init_checks_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
