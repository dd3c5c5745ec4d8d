/* test_push_encode.c: the agent's push view. Fills a real agent
 * store over two cycles (so rates exist), encodes it with
 * push_encode_report, unpacks the bytes as the aggregator does and checks
 * the NodeReport: node totals and rate, the named pod with its labels and
 * its containers' rates, the pause (sandbox) container left out, a pod the
 * runtime has not named yet left out, and a pod left out while one of its
 * containers has no rate yet (metrics-server would not serve it either);
 * CPU throttling (periods, throttled periods and time) travels per
 * container, as zeros where it was not read. A new pod carries the span
 * of its own first rate as its window, and push_report_members changes
 * exactly when a pod enters or leaves the report. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent/view-push.h"
#include "agent/store.h"
#include "tests/unit/store-builder.h"
#include "common/duration.h"
#include "proto/cadet-push.pb-c.h"

#define T0_MONO (100 * NSEC_PER_SEC)
#define T0_REAL (1700000000ULL * NSEC_PER_SEC)

static struct sample stats(uint64_t cpu_ns, uint64_t ws_bytes)
{
	struct sample st;
	memset(&st, 0, sizeof(st));
	st.have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY;
	st.cpu_usage_ns = cpu_ns;
	st.memory_usage_bytes = ws_bytes;
	st.memory_working_set_bytes = ws_bytes;
	return st;
}

static void must(int r, const struct cadet_error *err)
{
	if (r != 0)
		fail_msg("%s", err->msg);
}

/* One cycle: node, a named pod (app + pause + late container when
 * with_late), an unnamed pod. cpu grows by `step` per cycle. */
static void cycle_with(struct store *s, int n, bool with_late, bool with_new);

static void cycle(struct store *s, int n, bool with_late)
{
	cycle_with(s, n, with_late, false);
}

/* with_new: also a named pod "fresh" with one container ("cccc"). */
static void cycle_with(struct store *s, int n, bool with_late, bool with_new)
{
	struct cadet_error err = { 0 };
	uint64_t step = (uint64_t)n;
	sb_begin_walk(s, T0_MONO + step * NSEC_PER_SEC, T0_REAL + step * NSEC_PER_SEC);
	struct node_info info = { 0 };
	struct sample node = stats(step * 1500000000ULL, 2056949760);
	must(sb_record_node(s, &node, &info, &err), &err);

	struct store_pod *pod = NULL;
	struct sample pst = stats(step * 300000000ULL, 3 << 20);
	must(sb_record_pod(s, "uid-web", POD_QOS_BURSTABLE, T0_REAL, &pst, &pod, &err), &err);
	if (!pod->meta.name) {
		struct label labels[] = { { "app", "web" }, { "tier", "front" } };
		struct pod_metadata m = { .name = "web-1", .namespace = "shop", .labels = labels, .n_labels = 2 };
		must(pod_metadata_set(&pod->meta, &m, &err), &err);
	}
	const struct {
		const char *id, *name;
		bool sandbox;
		uint64_t cpu_per_step;
	} ctrs[] = {
		{ "aaaa", "app", false, 250000000ULL },
		{ "pppp", "POD", true, 1000ULL },
		{ "zzzz", "late", false, 50000000ULL },
	};
	for (size_t i = 0; i < 3; i++) {
		if (i == 2 && !with_late)
			continue;
		struct store_container *c = NULL;
		struct sample cst = stats(step * ctrs[i].cpu_per_step, 1 << 20);
		if (i == 0) { /* the app runs under a CPU limit */
			cst.have |= SAMPLE_HAVE_THROTTLE;
			cst.cpu_periods = step * 100;
			cst.cpu_throttled_periods = step * 7;
			cst.cpu_throttled_ns = step * 35 * NSEC_PER_MSEC;
		}
		must(sb_record_container(s, pod, ctrs[i].id, T0_REAL, &cst, &c, &err), &err);
		if (!c->meta.name) {
			struct container_metadata cm = { .name = (char *)ctrs[i].name, .is_sandbox = ctrs[i].sandbox };
			must(container_metadata_set(&c->meta, &cm, &err), &err);
		}
	}
	struct store_pod *anon = NULL;
	must(sb_record_pod(s, "uid-anon", POD_QOS_BESTEFFORT, T0_REAL, &pst, &anon, &err), &err);
	struct store_container *ac = NULL;
	struct sample ast = stats(step * 1000, 4096);
	must(sb_record_container(s, anon, "bbbb", T0_REAL, &ast, &ac, &err), &err);
	if (with_new) {
		struct store_pod *fresh = NULL;
		must(sb_record_pod(s, "uid-fresh", POD_QOS_BURSTABLE, T0_REAL, &pst, &fresh, &err), &err);
		if (!fresh->meta.name) {
			struct pod_metadata m = { .name = "fresh", .namespace = "shop" };
			must(pod_metadata_set(&fresh->meta, &m, &err), &err);
		}
		struct store_container *fc = NULL;
		struct sample fst = stats(step * 100000000ULL, 1 << 20);
		must(sb_record_container(s, fresh, "cccc", T0_REAL, &fst, &fc, &err), &err);
		if (!fc->meta.name) {
			struct container_metadata cm = { .name = "app" };
			must(container_metadata_set(&fc->meta, &cm, &err), &err);
		}
	}
	sb_end_walk(s);
}

static Cadet__V1__NodeReport *encode(struct store *s)
{
	struct cadet_error err = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0;
	must(push_encode_report(s, "node-1", "test", &buf, &len, &err), &err);
	Cadet__V1__NodeReport *r = cadet__v1__node_report__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(r);
	return r;
}

static void test_encode(void **state)
{
	(void)state;
	struct store s;
	struct cadet_error err = { 0 };
	must(store_init(&s, 15 * NSEC_PER_SEC, NSEC_PER_SEC, &err), &err);
	cycle(&s, 1, false);
	cycle(&s, 2, false);
	/* an OOM kill the BPF part counted onto the app container travels */
	store_find_container(store_find_pod(&s, "uid-web"), "aaaa")->oom_events = 1;

	Cadet__V1__NodeReport *r = encode(&s);
	assert_string_equal(r->node_name, "node-1");
	assert_string_equal(r->agent_version, "test");
	assert_int_equal(r->timestamp_unix_ns, T0_REAL + 2 * NSEC_PER_SEC);
	assert_int_equal(r->window_ns, NSEC_PER_SEC);
	assert_int_equal(r->cpu_usage_nanocores, 1500000000ULL);
	assert_int_equal(r->cpu_usage_ns, 3000000000ULL);
	assert_int_equal(r->memory_working_set_bytes, 2056949760ULL);
	assert_int_equal(r->n_pods, 1); /* the unnamed pod stays home */
	Cadet__V1__PodReport *p = r->pods[0];
	assert_string_equal(p->namespace_, "shop");
	assert_string_equal(p->name, "web-1");
	assert_string_equal(p->uid, "uid-web");
	assert_int_equal(p->n_labels, 2);
	assert_string_equal(p->labels[0]->key, "app");
	assert_string_equal(p->labels[0]->value, "web");
	assert_int_equal(p->n_containers, 1); /* no pause container */
	assert_string_equal(p->containers[0]->name, "app");
	assert_string_equal(p->containers[0]->id, "aaaa");
	assert_int_equal(p->containers[0]->cpu_usage_nanocores, 250000000ULL);
	assert_int_equal(p->containers[0]->memory_working_set_bytes, 1 << 20);
	assert_int_equal(p->containers[0]->oom_events, 1);
	assert_int_equal(p->containers[0]->cpu_periods, 200);
	assert_int_equal(p->containers[0]->cpu_throttled_periods, 14);
	assert_int_equal(p->containers[0]->cpu_throttled_ns, 70 * NSEC_PER_MSEC);
	cadet__v1__node_report__free_unpacked(r, NULL);

	/* a container with a single sample holds the whole pod back */
	cycle(&s, 3, true);
	r = encode(&s);
	assert_int_equal(r->n_pods, 0);
	cadet__v1__node_report__free_unpacked(r, NULL);
	cycle(&s, 4, true);
	r = encode(&s);
	assert_int_equal(r->n_pods, 1);
	assert_int_equal(r->pods[0]->n_containers, 2);
	/* a container without throttling read reports none */
	assert_string_equal(r->pods[0]->containers[1]->name, "late");
	assert_int_equal(r->pods[0]->containers[1]->cpu_periods, 0);
	assert_int_equal(r->pods[0]->containers[1]->cpu_throttled_ns, 0);
	cadet__v1__node_report__free_unpacked(r, NULL);
	store_free(&s);
}

/* A pod's window: 0 (the node's) while its rates span the node's window; the
 * span of its own rate while that is shorter (a new pod, two samples). The
 * members fingerprint moves exactly when a pod enters or leaves the report. */
static void test_fresh_pod(void **state)
{
	(void)state;
	struct store s;
	struct cadet_error err = { 0 };
	must(store_init(&s, 15 * NSEC_PER_SEC, NSEC_PER_SEC, &err), &err);
	for (int n = 1; n <= 4; n++)
		cycle(&s, n, false);
	uint64_t settled = push_report_members(&s);
	Cadet__V1__NodeReport *r = encode(&s);
	assert_int_equal(r->window_ns, 3 * NSEC_PER_SEC);
	assert_int_equal(r->n_pods, 1);
	assert_int_equal(r->pods[0]->window_ns, 0);
	cadet__v1__node_report__free_unpacked(r, NULL);
	cycle(&s, 5, false);
	assert_true(push_report_members(&s) == settled); /* new values, same pods */

	cycle_with(&s, 6, false, true); /* one sample: no rate, not reported yet */
	assert_true(push_report_members(&s) == settled);
	cycle_with(&s, 7, false, true);
	uint64_t with_fresh = push_report_members(&s);
	assert_true(with_fresh != settled);
	r = encode(&s);
	assert_int_equal(r->n_pods, 2);
	for (size_t i = 0; i < r->n_pods; i++) {
		if (strcmp(r->pods[i]->name, "fresh") == 0)
			assert_int_equal(r->pods[i]->window_ns, NSEC_PER_SEC);
		else
			assert_int_equal(r->pods[i]->window_ns, 0);
	}
	cadet__v1__node_report__free_unpacked(r, NULL);
	cycle_with(&s, 8, false, true);
	assert_true(push_report_members(&s) == with_fresh);

	cycle(&s, 9, false); /* the fresh pod's cgroups are gone */
	assert_true(push_report_members(&s) == settled);
	r = encode(&s);
	assert_int_equal(r->n_pods, 1);
	assert_string_equal(r->pods[0]->name, "web-1");
	cadet__v1__node_report__free_unpacked(r, NULL);
	store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_fresh_pod),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
