/* test_views.c: the agent's rendered views from a synthetic store.
 *
 * /stats/summary is parsed back with json-c and checked against kubelet's
 * Summary API (stats/v1alpha1) field names and JSON types: node.nodeName,
 * node.startTime (RFC 3339), node.systemContainers "pods", node.cpu
 * usageNanoCores / usageCoreNanoSeconds, node.memory availableBytes =
 * capacity - working set; pods sorted by uid with podRef {name, namespace,
 * uid} (CRI names when known, the uid otherwise), containers[].name,
 * memory.workingSetBytes, availableBytes only with a limit, usageNanoCores
 * absent after a single sample, sandboxes hidden, PSI written in shortest
 * form; ?only_cpu_and_memory leaves out fs, rlimit, io, swap, psi and
 * process_stats. /metrics/resource is compared line by line with what
 * kubelet writes for known values: HELP/TYPE lines with stability levels in
 * name order, millisecond timestamps on every sample except
 * container_start_time_seconds and resource_scrape_error, label escaping,
 * half-read containers left out. prom_format_float is checked against Go's
 * strconv.FormatFloat(v, 'g', -1, 64). Also ?pretty re-indenting, /top, and
 * that published views render lazily, once per sample. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/view-prom-format.h"
#include "agent/store.h"
#include "tests/unit/store-builder.h"
#include "agent/views.h"

#define SEC 1000000000ULL
#define MiB (1024ULL * 1024)
#define BASE_S 1767225600ULL /* 2026-01-01T00:00:00Z */
#define POD_A "1e4a3c52-9f3b-4c6e-8a2d-5b7f0e9d1c2a"
#define POD_B "7c0de5a1-0b1d-4e2f-9a3b-4c5d6e7f8091"

static struct sample sample(uint64_t cpu_ns, uint64_t usage, uint64_t ws)
{
	struct sample st;
	memset(&st, 0, sizeof(st));
	st.have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY;
	st.cpu_usage_ns = cpu_ns;
	st.memory_usage_bytes = usage;
	st.memory_working_set_bytes = ws;
	st.memory_rss_bytes = ws / 2;
	st.memory_page_faults = 1000;
	st.memory_major_page_faults = 3;
	return st;
}

static void set_psi(struct psi_stats *p, double avg10, uint64_t total)
{
	p->some.avg10 = avg10;
	p->some.avg60 = 0.5;
	p->some.avg300 = 0;
	p->some.total_us = total;
	p->full.avg10 = avg10 / 2;
	p->full.total_us = total / 2;
	p->has_full = true;
}

/* Two cycles one second apart. Node at half a core; pod A (named through
 * metadata) with a limited container, an unlimited one without a name and a
 * sandbox; pod B appears in the second cycle only. */
static void build_store(struct store *s)
{
	struct cadet_error err = { 0 };
	assert_int_equal(store_init(s, 15 * SEC, SEC, &err), 0);
	for (uint64_t i = 0; i < 2; i++) {
		sb_begin_walk(s, 1000 * SEC + i * SEC, (BASE_S + i) * SEC);
		struct sample node = sample(1000 * SEC + i * SEC / 2, 3072 * MiB, 2048 * MiB);
		node.have |= SAMPLE_HAVE_CPU_PSI | SAMPLE_HAVE_IO_PSI;
		set_psi(&node.cpu_psi, 1.42, 123456);
		set_psi(&node.io_psi, 0.1, 99);
		struct node_info info = {
			.boot_time_ns = (BASE_S - 86400) * SEC,
			.memory_capacity_bytes = 8192 * MiB,
			.has_fs = true,
			.fs_capacity_bytes = 100000,
			.fs_available_bytes = 60000,
			.fs_used_bytes = 40000,
			.fs_inodes = 1000,
			.fs_inodes_free = 900,
			.has_rlimit = true,
			.rlimit_max_pid = 4194304,
			.rlimit_cur_proc = 321,
		};
		assert_int_equal(sb_record_node(s, &node, &info, &err), 0);
		struct sample kp = sample(500 * SEC + i * SEC / 4, 1024 * MiB, 512 * MiB);
		assert_int_equal(sb_record_kubepods(s, &kp, &err), 0);

		struct store_pod *p = NULL;
		struct store_container *c = NULL;
		struct sample ps = sample(40 * SEC + i * SEC / 5, 300 * MiB, 200 * MiB);
		ps.have |= SAMPLE_HAVE_PIDS | SAMPLE_HAVE_SWAP;
		ps.pids_current = 5;
		ps.swap_usage_bytes = 4096;
		assert_int_equal(sb_record_pod(s, POD_A, POD_QOS_BURSTABLE, (BASE_S - 60) * SEC, &ps, &p, &err), 0);
		struct sample limited = sample(30 * SEC + i * SEC / 10, 150 * MiB, 100 * MiB);
		limited.have |= SAMPLE_HAVE_MEMORY_LIMIT | SAMPLE_HAVE_CPU_PSI;
		limited.memory_limit_bytes = 256 * MiB;
		set_psi(&limited.cpu_psi, 2.5, 777);
		assert_int_equal(sb_record_container(s, p, "aa11", (BASE_S - 50) * SEC, &limited, &c, &err), 0);
		if (i == 0) {
			struct container_metadata cm = { .name = "app", .start_time_ns = (BASE_S - 30) * SEC };
			assert_int_equal(container_metadata_set(&c->meta, &cm, &err), 0);
		}
		struct sample unlimited = sample(10 * SEC + i * SEC / 10, 50 * MiB, 40 * MiB);
		assert_int_equal(sb_record_container(s, p, "bb22", (BASE_S - 40) * SEC, &unlimited, &c, &err), 0);
		assert_int_equal(sb_record_container(s, p, "0pause", (BASE_S - 55) * SEC, &unlimited, &c, &err), 0);
		if (i == 0) {
			struct container_metadata sandbox = { .name = "POD", .is_sandbox = true };
			assert_int_equal(container_metadata_set(&c->meta, &sandbox, &err), 0);
			struct pod_metadata pm = { .name = "web-0", .namespace = "shop", .start_time_ns = (BASE_S - 58) * SEC };
			p = store_find_pod(s, POD_A);
			assert_int_equal(pod_metadata_set(&p->meta, &pm, &err), 0);
		}
		if (i == 1) {
			struct sample once = sample(SEC, 20 * MiB, 10 * MiB);
			assert_int_equal(sb_record_pod(s, POD_B, POD_QOS_BESTEFFORT, (BASE_S - 5) * SEC, &once, &p, &err),
					 0);
			assert_int_equal(sb_record_container(s, p, "cc33", (BASE_S - 4) * SEC, &once, &c, &err), 0);
		}
		sb_end_walk(s);
	}
}

/* Follows a dotted path ("pods.0.podRef.uid"; numbers index arrays). */
static struct json_object *at(struct json_object *o, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array)) {
			char *end;
			long i = strtol(tok, &end, 10);
			if (*end || i < 0 || (size_t)i >= json_object_array_length(o))
				return NULL;
			o = json_object_array_get_idx(o, (size_t)i);
		} else if (!json_object_object_get_ex(o, tok, &o)) {
			return NULL;
		}
	}
	return o;
}

static struct json_object *need(struct json_object *root, const char *path, json_type type)
{
	struct json_object *o = at(root, path);
	if (!o)
		fail_msg("%s missing", path);
	if (!json_object_is_type(o, type))
		fail_msg("%s is %s, want %s", path, json_type_to_name(json_object_get_type(o)), json_type_to_name(type));
	return o;
}

static void need_u64(struct json_object *root, const char *path, uint64_t want)
{
	struct json_object *o = need(root, path, json_type_int);
	uint64_t got = json_object_get_uint64(o);
	if (got != want)
		fail_msg("%s = %llu, want %llu", path, (unsigned long long)got, (unsigned long long)want);
}

static void need_str(struct json_object *root, const char *path, const char *want)
{
	const char *got = json_object_get_string(need(root, path, json_type_string));
	if (strcmp(got, want) != 0)
		fail_msg("%s = \"%s\", want \"%s\"", path, got, want);
}

static void absent(struct json_object *root, const char *path)
{
	if (at(root, path))
		fail_msg("%s present, want it left out", path);
}

static struct json_object *render_summary(const struct store *s, bool only_cpu_and_memory, struct strbuf *text)
{
	struct cadet_error err = { 0 };
	strbuf_init(text);
	if (view_summary_render(s, "fixture-node", only_cpu_and_memory, text, &err) != 0)
		fail_msg("view_summary_render: %s", err.msg);
	struct json_object *root = json_tokener_parse(text->data);
	if (!root)
		fail_msg("not JSON: %s", text->data);
	return root;
}

static void test_summary_node(void **state)
{
	(void)state;
	struct store s;
	build_store(&s);
	struct strbuf text;
	struct json_object *root = render_summary(&s, false, &text);
	need(root, "node", json_type_object);
	need(root, "pods", json_type_array);
	need_str(root, "node.nodeName", "fixture-node");
	need_str(root, "node.startTime", "2025-12-31T00:00:00Z");
	need_str(root, "node.cpu.time", "2026-01-01T00:00:01Z");
	need_u64(root, "node.cpu.usageNanoCores", 500000000);
	need_u64(root, "node.cpu.usageCoreNanoSeconds", 1000 * SEC + SEC / 2);
	need_str(root, "node.memory.time", "2026-01-01T00:00:01Z");
	need_u64(root, "node.memory.availableBytes", (8192 - 2048) * MiB);
	need_u64(root, "node.memory.usageBytes", 3072 * MiB);
	need_u64(root, "node.memory.workingSetBytes", 2048 * MiB);
	need_u64(root, "node.memory.rssBytes", 1024 * MiB);
	need_u64(root, "node.memory.pageFaults", 1000);
	need_u64(root, "node.memory.majorPageFaults", 3);
	/* the kubepods cgroup as the "pods" system container */
	need_str(root, "node.systemContainers.0.name", "pods");
	need(root, "node.systemContainers.0.startTime", json_type_string);
	need_u64(root, "node.systemContainers.0.cpu.usageNanoCores", 250000000);
	need_u64(root, "node.systemContainers.0.memory.workingSetBytes", 512 * MiB);
	absent(root, "node.systemContainers.0.memory.availableBytes");
	/* full summary extras */
	need_u64(root, "node.fs.capacityBytes", 100000);
	need_u64(root, "node.fs.availableBytes", 60000);
	need_u64(root, "node.fs.usedBytes", 40000);
	need_u64(root, "node.fs.inodes", 1000);
	need_u64(root, "node.fs.inodesFree", 900);
	need_u64(root, "node.fs.inodesUsed", 100);
	need_u64(root, "node.rlimit.maxpid", 4194304);
	need_u64(root, "node.rlimit.curproc", 321);
	need(root, "node.rlimit.time", json_type_string);
	need_u64(root, "node.cpu.psi.some.total", 123456);
	need_u64(root, "node.cpu.psi.full.total", 61728);
	need(root, "node.cpu.psi.some.avg10", json_type_double);
	need_u64(root, "node.io.psi.some.total", 99);
	absent(root, "node.swap"); /* no swap on this node */
	/* doubles in their shortest form, not 1.4199999999999999 */
	assert_non_null(strstr(text.data, "\"avg10\":1.42,"));
	assert_non_null(strstr(text.data, "\"avg10\":0.71,"));
	json_object_put(root);
	strbuf_free(&text);
	store_free(&s);
}

static void test_summary_pods(void **state)
{
	(void)state;
	struct store s;
	build_store(&s);
	struct strbuf text;
	struct json_object *root = render_summary(&s, false, &text);
	assert_int_equal(json_object_array_length(at(root, "pods")), 2);

	/* pod A: names from metadata */
	need_str(root, "pods.0.podRef.name", "web-0");
	need_str(root, "pods.0.podRef.namespace", "shop");
	need_str(root, "pods.0.podRef.uid", POD_A);
	need_str(root, "pods.0.startTime", "2025-12-31T23:59:02Z");
	need_u64(root, "pods.0.cpu.usageNanoCores", 200000000);
	need_u64(root, "pods.0.cpu.usageCoreNanoSeconds", 40 * SEC + SEC / 5);
	need_u64(root, "pods.0.memory.workingSetBytes", 200 * MiB);
	absent(root, "pods.0.memory.availableBytes");
	need_u64(root, "pods.0.process_stats.process_count", 5);
	need_u64(root, "pods.0.swap.swapUsageBytes", 4096);
	/* the sandbox is not a container */
	assert_int_equal(json_object_array_length(at(root, "pods.0.containers")), 2);
	need_str(root, "pods.0.containers.0.name", "app");
	need_str(root, "pods.0.containers.0.startTime", "2025-12-31T23:59:30Z");
	need_u64(root, "pods.0.containers.0.cpu.usageNanoCores", 100000000);
	need_u64(root, "pods.0.containers.0.cpu.usageCoreNanoSeconds", 30 * SEC + SEC / 10);
	need_u64(root, "pods.0.containers.0.memory.workingSetBytes", 100 * MiB);
	need_u64(root, "pods.0.containers.0.memory.usageBytes", 150 * MiB);
	need_u64(root, "pods.0.containers.0.memory.availableBytes", 156 * MiB); /* limit - working set */
	need_u64(root, "pods.0.containers.0.cpu.psi.some.total", 777);
	assert_non_null(strstr(text.data, "\"avg10\":2.5,"));
	/* no CRI name: the id; no limit: no availableBytes */
	need_str(root, "pods.0.containers.1.name", "bb22");
	need_str(root, "pods.0.containers.1.startTime", "2025-12-31T23:59:20Z");
	need_u64(root, "pods.0.containers.1.memory.workingSetBytes", 40 * MiB);
	absent(root, "pods.0.containers.1.memory.availableBytes");
	absent(root, "pods.0.containers.1.cpu.psi");

	/* pod B: one sample, so no rate yet; names fall back to the uid */
	need_str(root, "pods.1.podRef.name", POD_B);
	need_str(root, "pods.1.podRef.namespace", "");
	need_str(root, "pods.1.podRef.uid", POD_B);
	need_u64(root, "pods.1.cpu.usageCoreNanoSeconds", SEC);
	absent(root, "pods.1.cpu.usageNanoCores");
	need_str(root, "pods.1.containers.0.name", "cc33");
	need_u64(root, "pods.1.containers.0.cpu.usageCoreNanoSeconds", SEC);
	absent(root, "pods.1.containers.0.cpu.usageNanoCores");
	need_u64(root, "pods.1.containers.0.memory.workingSetBytes", 10 * MiB);
	absent(root, "pods.1.process_stats");
	json_object_put(root);
	strbuf_free(&text);
	store_free(&s);
}

static void test_summary_only_cpu_and_memory(void **state)
{
	(void)state;
	struct store s;
	build_store(&s);
	struct strbuf text;
	struct json_object *root = render_summary(&s, true, &text);
	need_str(root, "node.nodeName", "fixture-node");
	need_u64(root, "node.cpu.usageNanoCores", 500000000);
	need_u64(root, "node.memory.workingSetBytes", 2048 * MiB);
	absent(root, "node.fs");
	absent(root, "node.rlimit");
	absent(root, "node.io");
	absent(root, "node.cpu.psi");
	need_str(root, "pods.0.podRef.name", "web-0");
	need_u64(root, "pods.0.cpu.usageNanoCores", 200000000);
	need_u64(root, "pods.0.memory.workingSetBytes", 200 * MiB);
	absent(root, "pods.0.process_stats");
	absent(root, "pods.0.swap");
	absent(root, "pods.0.network");
	need_u64(root, "pods.0.containers.0.memory.availableBytes", 156 * MiB);
	absent(root, "pods.0.containers.0.cpu.psi");
	need(root, "pods.1.containers.0.memory", json_type_object);
	assert_null(strstr(text.data, "psi"));
	json_object_put(root);
	strbuf_free(&text);
	store_free(&s);
}

static void test_summary_empty_store(void **state)
{
	(void)state;
	struct store s;
	struct cadet_error err = { 0 };
	assert_int_equal(store_init(&s, 15 * SEC, SEC, &err), 0);
	struct strbuf text;
	struct json_object *root = render_summary(&s, false, &text);
	need_str(root, "node.nodeName", "fixture-node");
	assert_int_equal(json_object_array_length(need(root, "pods", json_type_array)), 0);
	absent(root, "node.cpu"); /* nothing read yet: omitted, not zero */
	absent(root, "node.memory");
	absent(root, "node.systemContainers");
	json_object_put(root);
	strbuf_free(&text);
	store_free(&s);
}

static void test_pretty(void **state)
{
	(void)state;
	struct store s;
	build_store(&s);
	struct strbuf text, pretty;
	struct json_object *root = render_summary(&s, false, &text);
	struct cadet_error err = { 0 };
	strbuf_init(&pretty);
	assert_int_equal(view_json_pretty(text.data, &pretty, &err), 0);
	assert_true(pretty.len > text.len);
	assert_non_null(strstr(pretty.data, "\n  \"node\""));
	struct json_object *again = json_tokener_parse(pretty.data);
	assert_non_null(again);
	assert_true(json_object_equal(root, again));
	json_object_put(again);
	json_object_put(root);
	strbuf_reset(&pretty);
	assert_int_equal(view_json_pretty("{\"a\":", &pretty, &err), -1);
	strbuf_free(&pretty);
	strbuf_free(&text);
	store_free(&s);
}

/* ---- /metrics/resource ---- */

/* One pod "web" in "shop" with container "app": values kubelet would write
 * as 12.5, 6.7108864e+07 and so on, all read at 2026-01-01T00:01:00Z. */
static void build_metrics_store(struct store *s, const char *pod_name, const char *container_name)
{
	struct cadet_error err = { 0 };
	assert_int_equal(store_init(s, 15 * SEC, SEC, &err), 0);
	sb_begin_walk(s, 5 * SEC, (BASE_S + 60) * SEC);
	struct sample node = sample(1234 * SEC + SEC / 2, 0, 2 * 1024 * MiB);
	struct node_info info = { .memory_capacity_bytes = 8192 * MiB };
	assert_int_equal(sb_record_node(s, &node, &info, &err), 0);
	struct store_pod *p = NULL;
	struct store_container *c = NULL;
	struct sample ps = sample(20 * SEC, 0, 100000000);
	assert_int_equal(sb_record_pod(s, POD_A, POD_QOS_BURSTABLE, 0, &ps, &p, &err), 0);
	struct pod_metadata pm = { .name = (char *)pod_name, .namespace = "shop" };
	assert_int_equal(pod_metadata_set(&p->meta, &pm, &err), 0);
	struct sample cs = sample(12 * SEC + SEC / 2, 0, 64 * MiB);
	assert_int_equal(sb_record_container(s, p, "aa11", 0, &cs, &c, &err), 0);
	struct container_metadata cm = { .name = (char *)container_name, .start_time_ns = BASE_S * SEC };
	assert_int_equal(container_metadata_set(&c->meta, &cm, &err), 0);
	/* a sandbox and a container without memory: neither is written */
	assert_int_equal(sb_record_container(s, p, "pause", 0, &cs, &c, &err), 0);
	struct container_metadata sandbox = { .name = "POD", .is_sandbox = true };
	assert_int_equal(container_metadata_set(&c->meta, &sandbox, &err), 0);
	struct sample cpu_only = cs;
	cpu_only.have = SAMPLE_HAVE_CPU;
	assert_int_equal(sb_record_container(s, p, "zz99", 0, &cpu_only, &c, &err), 0);
	sb_end_walk(s);
}

static const char expected_metrics[] =
	"# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in "
	"core-seconds\n"
	"# TYPE container_cpu_usage_seconds_total counter\n"
	"container_cpu_usage_seconds_total{container=\"app\",namespace=\"shop\",pod=\"web\"} 12.5 1767225660000\n"
	"# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes\n"
	"# TYPE container_memory_working_set_bytes gauge\n"
	"container_memory_working_set_bytes{container=\"app\",namespace=\"shop\",pod=\"web\"} 6.7108864e+07 "
	"1767225660000\n"
	"# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds\n"
	"# TYPE container_start_time_seconds gauge\n"
	"container_start_time_seconds{container=\"app\",namespace=\"shop\",pod=\"web\"} 1.7672256e+09\n"
	"# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds\n"
	"# TYPE node_cpu_usage_seconds_total counter\n"
	"node_cpu_usage_seconds_total 1234.5 1767225660000\n"
	"# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes\n"
	"# TYPE node_memory_working_set_bytes gauge\n"
	"node_memory_working_set_bytes 2.147483648e+09 1767225660000\n"
	"# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds\n"
	"# TYPE pod_cpu_usage_seconds_total counter\n"
	"pod_cpu_usage_seconds_total{namespace=\"shop\",pod=\"web\"} 20 1767225660000\n"
	"# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes\n"
	"# TYPE pod_memory_working_set_bytes gauge\n"
	"pod_memory_working_set_bytes{namespace=\"shop\",pod=\"web\"} 1e+08 1767225660000\n"
	"# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 "
	"otherwise\n"
	"# TYPE resource_scrape_error gauge\n"
	"resource_scrape_error 0\n";

static void test_resource_metrics_lines(void **state)
{
	(void)state;
	struct store s;
	build_metrics_store(&s, "web", "app");
	struct strbuf out;
	struct cadet_error err = { 0 };
	strbuf_init(&out);
	assert_int_equal(view_resource_metrics_render(&s, false, &out, &err), 0);

	/* every kubelet line is there, exactly, in this order; cadet may add
	 * families of its own (with their HELP and TYPE) in between */
	const char *pos = out.data;
	char line[512];
	for (const char *e = expected_metrics; *e;) {
		const char *nl = strchr(e, '\n');
		snprintf(line, sizeof(line), "%.*s\n", (int)(nl - e), e);
		const char *found = strstr(pos, line);
		if (!found || (found != out.data && found[-1] != '\n'))
			fail_msg("missing or out of order: %s--- in ---\n%s", line, out.data);
		pos = found + strlen(line);
		e = nl + 1;
	}
	/* nothing about the sandbox or the half-read container */
	assert_null(strstr(out.data, "POD"));
	assert_null(strstr(out.data, "zz99"));

	/* line by line: families sorted by name, each HELP right before its
	 * TYPE, samples after their TYPE; timestamps everywhere but on start
	 * times and the scrape error */
	char *copy = strdup(out.data);
	assert_non_null(copy);
	char family[128] = "", prev_family[128] = "";
	char *save = NULL;
	bool expect_type = false;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "# HELP ", 7) == 0) {
			assert_false(expect_type);
			sscanf(l + 7, "%127s", family);
			assert_true(strcmp(prev_family, family) < 0);
			snprintf(prev_family, sizeof(prev_family), "%s", family);
			assert_true(strstr(l, " [STABLE] ") || strstr(l, " [ALPHA] "));
			expect_type = true;
			continue;
		}
		if (strncmp(l, "# TYPE ", 7) == 0) {
			assert_true(expect_type);
			expect_type = false;
			assert_int_equal(strncmp(l + 7, family, strlen(family)), 0);
			const char *type = l + 7 + strlen(family) + 1;
			assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0);
			continue;
		}
		assert_false(expect_type);
		assert_int_equal(strncmp(l, family, strlen(family)), 0);
		int fields = 0;
		for (char *q = strrchr(l, '}') ? strrchr(l, '}') : l; *q; q++)
			fields += *q == ' ';
		bool no_timestamp = strcmp(family, "container_start_time_seconds") == 0 ||
				    strcmp(family, "resource_scrape_error") == 0;
		if (fields != (no_timestamp ? 1 : 2))
			fail_msg("sample line with %d space-separated fields after the labels: %s", fields, l);
		if (!no_timestamp)
			assert_string_equal(strrchr(l, ' ') + 1, "1767225660000");
	}
	free(copy);

	strbuf_reset(&out);
	assert_int_equal(view_resource_metrics_render(&s, true, &out, &err), 0);
	assert_non_null(strstr(out.data, "\nresource_scrape_error 1\n"));
	strbuf_free(&out);
	store_free(&s);
}

static void test_resource_metrics_escaping(void **state)
{
	(void)state;
	struct store s;
	build_metrics_store(&s, "we\"b\\0\nx", "a\"pp");
	struct strbuf out;
	struct cadet_error err = { 0 };
	strbuf_init(&out);
	assert_int_equal(view_resource_metrics_render(&s, false, &out, &err), 0);
	assert_non_null(strstr(out.data, "container_cpu_usage_seconds_total{container=\"a\\\"pp\",namespace=\"shop\","
					 "pod=\"we\\\"b\\\\0\\nx\"} 12.5 1767225660000\n"));
	assert_non_null(strstr(out.data, "pod_memory_working_set_bytes{namespace=\"shop\",pod=\"we\\\"b\\\\0\\nx\"} "));
	strbuf_free(&out);

	strbuf_init(&out);
	prom_append_label_value(&out, "plain-name_1.2");
	prom_append_label_value(&out, "|\\|\"|\n|");
	prom_append_label_value(&out, "");
	assert_string_equal(out.data, "plain-name_1.2|\\\\|\\\"|\\n|");
	strbuf_reset(&out);
	prom_append_header(&out, "x_total", "counter", "[ALPHA] Things");
	assert_string_equal(out.data, "# HELP x_total [ALPHA] Things\n# TYPE x_total counter\n");
	strbuf_free(&out);
	store_free(&s);
}

static void test_prom_format_float(void **state)
{
	(void)state;
	/* what Go's strconv.FormatFloat(v, 'g', -1, 64) writes */
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0, "0" },
		{ 12.5, "12.5" },
		{ 1000, "1000" },
		{ 123456, "123456" },
		{ 999999, "999999" },
		{ 1e6, "1e+06" },
		{ 1234567, "1.234567e+06" },
		{ 67108864, "6.7108864e+07" },
		{ 0.0001, "0.0001" },
		{ 0.00001, "1e-05" },
		{ 0.000123, "0.000123" },
		{ 2.5e-05, "2.5e-05" },
		{ 1.6243962483020916e+09, "1.6243962483020916e+09" },
		{ 1767225600, "1.7672256e+09" },
		{ 6197.005020909, "6197.005020909" },
		{ 0.1, "0.1" },
		{ 0.3, "0.3" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 100, "100" },
		{ -1.5, "-1.5" },
		{ -1234567, "-1.234567e+06" },
		{ 1e21, "1e+21" },
		{ 1e100, "1e+100" },
		{ 5e-324, "5e-324" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 18446744073709551615.0, "1.8446744073709552e+19" },
		{ 9007199254740993.0, "9.007199254740992e+15" },
	};
	char buf[32];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		prom_format_float(cases[i].v, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("prom_format_float(%.17g) = \"%s\", want \"%s\"", cases[i].v, buf, cases[i].want);
	}
	prom_format_float(NAN, buf, sizeof(buf));
	assert_string_equal(buf, "NaN");
	prom_format_float(INFINITY, buf, sizeof(buf));
	assert_string_equal(buf, "+Inf");
	prom_format_float(-INFINITY, buf, sizeof(buf));
	assert_string_equal(buf, "-Inf");
	prom_format_float(-0.0, buf, sizeof(buf));
	assert_true(strcmp(buf, "0") == 0 || strcmp(buf, "-0") == 0); /* Go writes -0 */
}

static void test_top(void **state)
{
	(void)state;
	struct store s;
	build_store(&s);
	struct strbuf out;
	struct cadet_error err = { 0 };
	strbuf_init(&out);
	assert_int_equal(view_top_render(&s, &out, &err), 0);
	assert_int_equal(strncmp(out.data, "NAMESPACE", 9), 0);
	assert_non_null(strstr(out.data, "CPU(cores)"));
	/* node at 500m and 2048Mi; pod A 200m and 200Mi; pod B has no rate yet */
	assert_non_null(strstr(out.data, "(node)"));
	assert_non_null(strstr(out.data, "500m"));
	assert_non_null(strstr(out.data, "2048Mi"));
	const char *web = strstr(out.data, "shop");
	assert_non_null(web);
	assert_non_null(strstr(web, "web-0"));
	assert_non_null(strstr(web, "200m"));
	assert_non_null(strstr(web, "200Mi"));
	const char *b = strstr(out.data, POD_B);
	assert_non_null(b);
	assert_non_null(strstr(b, " -"));
	assert_non_null(strstr(b, "10Mi"));
	strbuf_free(&out);
	store_free(&s);
}

/* Views render lazily, at most once per published sample. */
static void test_render_once_per_sample(void **state)
{
	(void)state;
	struct store s;
	build_store(&s);
	struct agent_views v;
	struct cadet_error err = { 0 };
	agent_views_init(&v);
	assert_null(agent_views_get(&v, VIEW_SUMMARY, &err)); /* nothing published yet */
	assert_int_equal(err.errnum, EAGAIN);

	assert_int_equal(agent_views_render(&v, &s, "fixture-node", false, &err), 0);
	assert_int_equal(v.renders, 0); /* publishing renders nothing */
	const struct strbuf *a = agent_views_get(&v, VIEW_SUMMARY, &err);
	assert_non_null(a);
	assert_int_equal(v.renders, 1);
	const struct strbuf *b = agent_views_get(&v, VIEW_SUMMARY, &err);
	assert_ptr_equal(a, b);
	assert_int_equal(v.renders, 1); /* the second request copies the same bytes */
	struct strbuf direct;
	strbuf_init(&direct);
	assert_int_equal(view_summary_render(&s, "fixture-node", false, &direct, &err), 0);
	assert_string_equal(a->data, direct.data);
	strbuf_free(&direct);

	const struct strbuf *m = agent_views_get(&v, VIEW_RESOURCE_METRICS, &err);
	assert_non_null(m);
	assert_non_null(strstr(m->data, "resource_scrape_error 0\n"));
	assert_non_null(agent_views_get(&v, VIEW_SUMMARY_CPU_MEM, &err));
	assert_non_null(agent_views_get(&v, VIEW_TOP, &err));
	assert_int_equal(v.renders, 4);

	/* the next sample renders each view again, once */
	assert_int_equal(agent_views_render(&v, &s, "fixture-node", true, &err), 0);
	m = agent_views_get(&v, VIEW_RESOURCE_METRICS, &err);
	assert_non_null(strstr(m->data, "resource_scrape_error 1\n"));
	agent_views_get(&v, VIEW_RESOURCE_METRICS, &err);
	assert_int_equal(v.renders, 5);
	assert_null(agent_views_get(&v, VIEW_COUNT, &err));
	agent_views_free(&v);
	store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_node),
		cmocka_unit_test(test_summary_pods),
		cmocka_unit_test(test_summary_only_cpu_and_memory),
		cmocka_unit_test(test_summary_empty_store),
		cmocka_unit_test(test_pretty),
		cmocka_unit_test(test_resource_metrics_lines),
		cmocka_unit_test(test_resource_metrics_escaping),
		cmocka_unit_test(test_prom_format_float),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_render_once_per_sample),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
