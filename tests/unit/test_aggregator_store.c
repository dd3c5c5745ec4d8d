/* test_aggregator_store.c: the aggregator's store: latest report per node,
 * pods living exactly as long as they are in their node's latest report,
 * staleness after 3x resolution (hidden at once, freed by the sweep),
 * snapshots that outlive a replacement, validation of reports; and the JSON
 * the renderers make of what is stored (exact NodeMetrics/PodMetrics shape,
 * escaping of hostile label bytes, a new pod's own window). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/render.h"
#include "aggregator/store.h"
#include "common/duration.h"

#define RES_NS (15 * NSEC_PER_SEC)
#define STALE_NS (3 * RES_NS)

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

static Cadet__V1__Label *label(const char *k, const char *v)
{
	Cadet__V1__Label *l = malloc(sizeof(*l));
	assert_non_null(l);
	cadet__v1__label__init(l);
	l->key = xstrdup(k);
	l->value = xstrdup(v);
	return l;
}

/* A report with pods named pod-0..pod-(n_pods-1) in namespace ns, one
 * container each. All memory from malloc, as free_unpacked expects. */
static Cadet__V1__NodeReport *make_report(const char *node, size_t n_pods)
{
	Cadet__V1__NodeReport *r = malloc(sizeof(*r));
	assert_non_null(r);
	cadet__v1__node_report__init(r);
	r->node_name = xstrdup(node);
	r->timestamp_unix_ns = 1668869858ULL * NSEC_PER_SEC; /* 2022-11-19T14:57:38Z */
	r->window_ns = 12210 * NSEC_PER_MSEC;
	r->cpu_usage_nanocores = 476038624;
	r->memory_working_set_bytes = 2056949760;
	r->pods = calloc(n_pods ? n_pods : 1, sizeof(*r->pods));
	assert_non_null(r->pods);
	for (size_t i = 0; i < n_pods; i++) {
		Cadet__V1__PodReport *p = malloc(sizeof(*p));
		assert_non_null(p);
		cadet__v1__pod_report__init(p);
		char name[32];
		snprintf(name, sizeof(name), "pod-%zu", i);
		p->namespace_ = xstrdup("ns");
		p->name = xstrdup(name);
		p->containers = calloc(1, sizeof(*p->containers));
		assert_non_null(p->containers);
		Cadet__V1__ContainerReport *c = malloc(sizeof(*c));
		assert_non_null(c);
		cadet__v1__container_report__init(c);
		c->name = xstrdup("app");
		c->cpu_usage_nanocores = 0;
		c->memory_working_set_bytes = 21782528;
		p->containers[0] = c;
		p->n_containers = 1;
		r->pods[i] = p;
		r->n_pods++;
	}
	return r;
}

static struct agg_store *new_store(void)
{
	struct agg_store *s = NULL;
	struct cadet_error err = { 0 };
	assert_int_equal(agg_store_new(STALE_NS, &s, &err), 0);
	return s;
}

static void put(struct agg_store *s, Cadet__V1__NodeReport *r, uint64_t now)
{
	struct cadet_error err = { 0 };
	if (agg_store_put(s, r, now, &err) != 0)
		fail_msg("agg_store_put: %s", err.msg);
}

static size_t live_nodes(struct agg_store *s, uint64_t now)
{
	struct node_snapshot **snaps = NULL;
	size_t n = 0;
	struct cadet_error err = { 0 };
	assert_int_equal(agg_store_list(s, now, &snaps, &n, &err), 0);
	agg_store_snapshots_free(snaps, n);
	return n;
}

static void test_latest_report_wins(void **state)
{
	(void)state;
	struct agg_store *s = new_store();
	uint64_t t0 = 1000 * NSEC_PER_SEC;
	assert_false(agg_store_ever_stored(s));
	put(s, make_report("node-b", 3), t0);
	put(s, make_report("node-a", 1), t0);
	assert_true(agg_store_ever_stored(s));

	struct node_snapshot **snaps = NULL;
	size_t n = 0;
	struct cadet_error err = { 0 };
	assert_int_equal(agg_store_list(s, t0, &snaps, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(snaps[0]->report->node_name, "node-a"); /* sorted */
	assert_string_equal(snaps[1]->report->node_name, "node-b");
	assert_int_equal(snaps[1]->report->n_pods, 3);

	/* node-b's next report lacks two pods: they are gone from the store,
	 * while the snapshot taken before still sees the old report. */
	put(s, make_report("node-b", 1), t0 + RES_NS);
	assert_int_equal(snaps[1]->report->n_pods, 3);
	agg_store_snapshots_free(snaps, n);

	struct node_snapshot *b = agg_store_get(s, "node-b", t0 + RES_NS);
	assert_non_null(b);
	assert_int_equal(b->report->n_pods, 1);
	node_snapshot_unref(b);
	assert_null(agg_store_get(s, "node-c", t0));
	assert_int_equal(agg_store_node_count(s), 2);
	agg_store_free(s);
}

static void test_staleness(void **state)
{
	(void)state;
	struct agg_store *s = new_store();
	uint64_t t0 = 5000 * NSEC_PER_SEC;
	put(s, make_report("quiet", 2), t0);
	put(s, make_report("chatty", 2), t0);
	for (uint64_t t = t0 + RES_NS; t <= t0 + 4 * RES_NS; t += RES_NS)
		put(s, make_report("chatty", 2), t);

	/* exactly 3x resolution after its last report the node still counts */
	struct node_snapshot *q = agg_store_get(s, "quiet", t0 + STALE_NS);
	assert_non_null(q);
	node_snapshot_unref(q);
	/* one nanosecond later it is invisible, before any sweep */
	assert_null(agg_store_get(s, "quiet", t0 + STALE_NS + 1));
	assert_int_equal(live_nodes(s, t0 + STALE_NS + 1), 1);
	assert_int_equal(agg_store_node_count(s), 2);

	/* the sweep frees it (ASan checks nothing leaks), keeps the other */
	assert_int_equal(agg_store_expire(s, t0 + STALE_NS + 1), 1);
	assert_int_equal(agg_store_node_count(s), 1);
	struct node_snapshot *c = agg_store_get(s, "chatty", t0 + STALE_NS + 1);
	assert_non_null(c);
	node_snapshot_unref(c);

	/* a report brings a dropped node back */
	put(s, make_report("quiet", 1), t0 + 5 * RES_NS);
	assert_int_equal(live_nodes(s, t0 + 5 * RES_NS), 2);
	/* a snapshot held across the sweep that drops its node stays valid */
	struct node_snapshot *held = agg_store_get(s, "quiet", t0 + 5 * RES_NS);
	assert_int_equal(agg_store_expire(s, t0 + 100 * RES_NS), 2);
	assert_string_equal(held->report->pods[0]->name, "pod-0");
	node_snapshot_unref(held);
	assert_int_equal(agg_store_node_count(s), 0);
	agg_store_free(s);
}

static void test_validation(void **state)
{
	(void)state;
	struct agg_store *s = new_store();
	struct cadet_error err = { 0 };
	Cadet__V1__NodeReport *r = make_report("", 0);
	assert_int_equal(agg_store_put(s, r, 1, &err), -1); /* freed by agg_store_put */
	assert_non_null(strstr(err.msg, "node_name"));

	r = make_report("node", 1);
	free(r->pods[0]->namespace_);
	r->pods[0]->namespace_ = xstrdup("");
	assert_int_equal(agg_store_put(s, r, 1, &err), -1);
	assert_non_null(strstr(err.msg, "namespace"));
	assert_int_equal(agg_store_node_count(s), 0);
	assert_false(agg_store_ever_stored(s));
	agg_store_free(s);
}

static void test_render(void **state)
{
	(void)state;
	Cadet__V1__NodeReport *r = make_report("docker-desktop", 1);
	struct strbuf sb;
	strbuf_init(&sb);
	render_node_metrics(&sb, r, "2022-11-19T14:57:48Z", true);
	assert_string_equal(sb.data,
			    "{\"kind\":\"NodeMetrics\",\"apiVersion\":\"metrics.k8s.io/v1beta1\","
			    "\"metadata\":{\"name\":\"docker-desktop\",\"creationTimestamp\":\"2022-11-19T14:57:48Z\"},"
			    "\"timestamp\":\"2022-11-19T14:57:38Z\",\"window\":\"12.21s\","
			    "\"usage\":{\"cpu\":\"476038624n\",\"memory\":\"2008740Ki\"}}");

	/* labels with a quote, a newline, a control byte and invalid UTF-8 */
	Cadet__V1__PodReport *p = r->pods[0];
	p->labels = calloc(2, sizeof(*p->labels));
	assert_non_null(p->labels);
	p->labels[0] = label("app", "web");
	p->labels[1] = label("odd", "a\"b\\c\nd\x01\xff\xc3\xa9");
	p->n_labels = 2;
	strbuf_reset(&sb);
	render_pod_metrics(&sb, r, p, "2022-11-19T14:57:48Z", false);
	assert_string_equal(sb.data,
			    "{\"metadata\":{\"name\":\"pod-0\",\"namespace\":\"ns\","
			    "\"creationTimestamp\":\"2022-11-19T14:57:48Z\","
			    "\"labels\":{\"app\":\"web\",\"odd\":\"a\\\"b\\\\c\\nd\\u0001\xef\xbf\xbd\xc3\xa9\"}},"
			    "\"timestamp\":\"2022-11-19T14:57:38Z\",\"window\":\"12.21s\","
			    "\"containers\":[{\"name\":\"app\",\"usage\":{\"cpu\":\"0\",\"memory\":\"21272Ki\"}}]}");

	strbuf_reset(&sb);
	render_status(&sb, 404, "NotFound", "podmetrics.metrics.k8s.io \"ns/x\" not found", "pods", "x");
	assert_string_equal(sb.data,
			    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
			    "\"message\":\"podmetrics.metrics.k8s.io \\\"ns/x\\\" not found\",\"reason\":\"NotFound\","
			    "\"details\":{\"name\":\"x\",\"group\":\"metrics.k8s.io\",\"kind\":\"pods\"},\"code\":404}\n");
	strbuf_free(&sb);
	cadet__v1__node_report__free_unpacked(r, NULL);
}

/* A new pod's own, shorter window is served; one longer than its node's
 * (which report-limits.c checked) is not: the node's is. */
static void test_render_pod_window(void **state)
{
	(void)state;
	Cadet__V1__NodeReport *r = make_report("n", 1);
	struct strbuf sb;
	strbuf_init(&sb);
	r->pods[0]->window_ns = 1002 * NSEC_PER_MSEC;
	render_pod_metrics(&sb, r, r->pods[0], "2022-11-19T14:57:48Z", false);
	assert_non_null(strstr(sb.data, "\"timestamp\":\"2022-11-19T14:57:38Z\",\"window\":\"1.002s\","));
	strbuf_reset(&sb);
	r->pods[0]->window_ns = UINT64_MAX;
	render_pod_metrics(&sb, r, r->pods[0], "2022-11-19T14:57:48Z", false);
	assert_non_null(strstr(sb.data, "\"window\":\"12.21s\","));
	strbuf_free(&sb);
	cadet__v1__node_report__free_unpacked(r, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latest_report_wins),
		cmocka_unit_test(test_staleness),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_pod_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
