/* test_cri_messages.c: the CRI messages of proto/cri-api.proto.
 *
 * Decodes byte strings written by hand from the upstream wire format (tag
 * = field number << 3 | wire type), so a wrong field number in our proto
 * fails here, not against a runtime; compares, in both directions and byte
 * for byte, cadet's protobuf-c code with protoc's encoding of the same
 * messages (tests/unit/cri-wire/NAME.txtpb, encoded at build time against
 * upstream k8s.io/cri-api's api.proto, see tests/go-tools.mk): protoc's
 * bytes decoded by cadet give the text's values, and the message built by
 * cadet packs to exactly protoc's bytes; and checks how CRI stats become
 * the agent's sample. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/collect-cri-snapshot.h"
#include "proto/cri-api.pb-c.h"

#ifndef CRI_WIRE_DIR
#define CRI_WIRE_DIR "build/tests/cri-wire"
#endif

/* protoc's encoding of tests/unit/cri-wire/NAME.txtpb, made at build time;
 * skips the test, saying why, when it could not be made here. */
static size_t protoc_wire(const char *name, uint8_t *buf, size_t size)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s.bin", CRI_WIRE_DIR, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "skipped: no %s (%s): tests/go-tools.mk makes it with protoc and Go\n", path,
			strerror(errno));
		skip();
	}
	size_t len = fread(buf, 1, size, f);
	int failed = ferror(f) || !feof(f);
	fclose(f);
	if (failed)
		fail_msg("%s: unreadable or larger than %zu bytes", path, size);
	return len;
}

/* Packs msg with cadet's code; the bytes must be protoc's, exactly. */
static void assert_packs_to(const ProtobufCMessage *msg, const uint8_t *want, size_t want_len)
{
	uint8_t got[1024];
	size_t len = protobuf_c_message_get_packed_size(msg);
	assert_true(len <= sizeof(got));
	assert_int_equal(protobuf_c_message_pack(msg, got), len);
	for (size_t i = 0; i < len && i < want_len; i++)
		if (got[i] != want[i])
			fail_msg("byte %zu: cadet packs 0x%02x, protoc 0x%02x", i, got[i], want[i]);
	assert_int_equal(len, want_len);
}

/* PodSandboxMetadata{name=1:"web", uid=2:"u1", namespace=3:"ns", attempt=4:2} */
static void test_pod_sandbox_metadata_field_numbers(void **state)
{
	(void)state;
	static const uint8_t wire[] = { 0x0a, 3, 'w', 'e', 'b', 0x12, 2, 'u', '1', 0x1a, 2, 'n', 's', 0x20, 2 };
	Runtime__V1__PodSandboxMetadata *m = runtime__v1__pod_sandbox_metadata__unpack(NULL, sizeof(wire), wire);
	assert_non_null(m);
	assert_string_equal(m->name, "web");
	assert_string_equal(m->uid, "u1");
	assert_string_equal(m->namespace_, "ns");
	assert_int_equal(m->attempt, 2);
	runtime__v1__pod_sandbox_metadata__free_unpacked(m, NULL);
}

/* PodSandbox{id=1:"s", metadata=2:{uid:"u"}, state=3:NOTREADY, created_at=4:300,
 * labels=5:{"k":"v"}} */
static void test_pod_sandbox_field_numbers(void **state)
{
	(void)state;
	static const uint8_t wire[] = {
		0x0a, 1, 's',				/* id */
		0x12, 3, 0x12, 1, 'u',			/* metadata.uid */
		0x18, 1,				/* state = SANDBOX_NOTREADY */
		0x20, 0xac, 0x02,			/* created_at = 300 */
		0x2a, 6, 0x0a, 1, 'k', 0x12, 1, 'v',	/* labels entry */
	};
	Runtime__V1__PodSandbox *p = runtime__v1__pod_sandbox__unpack(NULL, sizeof(wire), wire);
	assert_non_null(p);
	assert_string_equal(p->id, "s");
	assert_string_equal(p->metadata->uid, "u");
	assert_int_equal(p->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	assert_int_equal(p->created_at, 300);
	assert_int_equal(p->n_labels, 1);
	assert_string_equal(p->labels[0]->key, "k");
	assert_string_equal(p->labels[0]->value, "v");
	runtime__v1__pod_sandbox__free_unpacked(p, NULL);
}

/* Container{id=1, pod_sandbox_id=2, metadata=3:{name=1}, state=6, created_at=7} */
static void test_container_field_numbers(void **state)
{
	(void)state;
	static const uint8_t wire[] = {
		0x0a, 1, 'c', 0x12, 1, 's', 0x1a, 5, 0x0a, 3, 'a', 'p', 'p', 0x30, 1, 0x38, 7,
	};
	Runtime__V1__Container *c = runtime__v1__container__unpack(NULL, sizeof(wire), wire);
	assert_non_null(c);
	assert_string_equal(c->id, "c");
	assert_string_equal(c->pod_sandbox_id, "s");
	assert_string_equal(c->metadata->name, "app");
	assert_int_equal(c->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	assert_int_equal(c->created_at, 7);
	runtime__v1__container__free_unpacked(c, NULL);
}

/* ContainerStats{attributes=1:{id=1}, cpu=2:{timestamp=1, usage_core_nano_seconds=2:{value=1}},
 * memory=3:{working_set_bytes=2, usage_bytes=4}, writable_layer=4:{used_bytes=3, inodes_used=4}} */
static void test_container_stats_field_numbers(void **state)
{
	(void)state;
	static const uint8_t wire[] = {
		0x0a, 3, 0x0a, 1, 'c',
		0x12, 6, 0x08, 5, 0x12, 2, 0x08, 100,
		0x1a, 8, 0x12, 2, 0x08, 40, 0x22, 2, 0x08, 50,
		0x22, 8, 0x1a, 2, 0x08, 9, 0x22, 2, 0x08, 3,
	};
	Runtime__V1__ContainerStats *s = runtime__v1__container_stats__unpack(NULL, sizeof(wire), wire);
	assert_non_null(s);
	assert_string_equal(s->attributes->id, "c");
	assert_int_equal(s->cpu->timestamp, 5);
	assert_int_equal(s->cpu->usage_core_nano_seconds->value, 100);
	assert_int_equal(s->memory->working_set_bytes->value, 40);
	assert_int_equal(s->memory->usage_bytes->value, 50);
	assert_int_equal(s->writable_layer->used_bytes->value, 9);
	assert_int_equal(s->writable_layer->inodes_used->value, 3);
	runtime__v1__container_stats__free_unpacked(s, NULL);
}

/* LinuxPodSandboxStats{network=3:{default_interface=2:{name=1, rx_bytes=2, tx_bytes=4}},
 * process=4:{process_count=2}} inside PodSandboxStats{linux=2} */
static void test_pod_sandbox_stats_field_numbers(void **state)
{
	(void)state;
	static const uint8_t wire[] = {
		0x12, 24,
		0x1a, 16, 0x12, 14, 0x0a, 4, 'e', 't', 'h', '0', 0x12, 2, 0x08, 7, 0x22, 2, 0x08, 8,
		0x22, 4, 0x12, 2, 0x08, 3,
	};
	Runtime__V1__PodSandboxStats *s = runtime__v1__pod_sandbox_stats__unpack(NULL, sizeof(wire), wire);
	assert_non_null(s);
	assert_non_null(s->linux);
	Runtime__V1__NetworkInterfaceUsage *eth0 = s->linux->network->default_interface;
	assert_string_equal(eth0->name, "eth0");
	assert_int_equal(eth0->rx_bytes->value, 7);
	assert_int_equal(eth0->tx_bytes->value, 8);
	assert_int_equal(s->linux->process->process_count->value, 3);
	runtime__v1__pod_sandbox_stats__free_unpacked(s, NULL);
}

/* VersionResponse{version=1, runtime_name=2, runtime_version=3, runtime_api_version=4} */
static void test_version_field_numbers(void **state)
{
	(void)state;
	static const uint8_t wire[] = { 0x0a, 1, '1', 0x12, 1, 'c', 0x1a, 1, '6', 0x22, 2, 'v', '1' };
	Runtime__V1__VersionResponse *v = runtime__v1__version_response__unpack(NULL, sizeof(wire), wire);
	assert_non_null(v);
	assert_string_equal(v->runtime_name, "c");
	assert_string_equal(v->runtime_version, "6");
	assert_string_equal(v->runtime_api_version, "v1");
	runtime__v1__version_response__free_unpacked(v, NULL);
}

/* A fields the proto leaves out (ContainerStatus.mounts=14) are skipped. */
static void test_unknown_fields_skipped(void **state)
{
	(void)state;
	static const uint8_t wire[] = { 0x0a, 1, 'c', 0x72, 2, 0x0a, 0, 0x7a, 1, 'l' };
	Runtime__V1__ContainerStatus *s = runtime__v1__container_status__unpack(NULL, sizeof(wire), wire);
	assert_non_null(s);
	assert_string_equal(s->id, "c");
	assert_string_equal(s->log_path, "l");
	runtime__v1__container_status__free_unpacked(s, NULL);
}

/* tests/unit/cri-wire/list-container-stats-response.txtpb: two equal
 * entries with CPU, memory and writable-layer usage. */
static void test_list_container_stats_wire(void **state)
{
	(void)state;
	uint8_t wire[1024];
	size_t wire_len = protoc_wire("list-container-stats-response", wire, sizeof(wire));

	/* protoc's bytes, decoded by cadet */
	Runtime__V1__ListContainerStatsResponse *back =
		runtime__v1__list_container_stats_response__unpack(NULL, wire_len, wire);
	assert_non_null(back);
	assert_int_equal(back->n_stats, 2);
	Runtime__V1__ContainerStats *b = back->stats[1];
	assert_string_equal(b->attributes->id, "abc");
	assert_string_equal(b->attributes->metadata->name, "burner");
	assert_int_equal(b->cpu->timestamp, 1700000000000000000LL);
	assert_int_equal(b->cpu->usage_core_nano_seconds->value, 123456789012ULL);
	assert_null(b->cpu->usage_nano_cores); /* absent stays absent, not 0 */
	assert_int_equal(b->memory->working_set_bytes->value, 1 << 20);
	assert_int_equal(b->memory->available_bytes->value, 3 << 20);
	assert_null(b->memory->usage_bytes);
	assert_int_equal(b->writable_layer->used_bytes->value, 8192);
	assert_null(b->writable_layer->inodes_used);

	struct sample cs;
	cri_stats_from_cpu_memory(b->cpu, b->memory, &cs);
	assert_true(cs.have & SAMPLE_HAVE_CPU);
	assert_true(cs.have & SAMPLE_HAVE_MEMORY);
	assert_true(cs.have & SAMPLE_HAVE_MEMORY_LIMIT);
	assert_int_equal(cs.cpu_usage_ns, 123456789012ULL);
	assert_int_equal(cs.memory_working_set_bytes, 1 << 20);
	assert_int_equal(cs.memory_usage_bytes, 1 << 20); /* no usage_bytes: working set */
	assert_int_equal(cs.memory_limit_bytes, 4 << 20); /* available + working set */
	runtime__v1__list_container_stats_response__free_unpacked(back, NULL);

	/* the same message built by cadet packs to protoc's bytes */
	Runtime__V1__UInt64Value cpu_ns = RUNTIME__V1__UINT64_VALUE__INIT, ws = RUNTIME__V1__UINT64_VALUE__INIT,
				 avail = RUNTIME__V1__UINT64_VALUE__INIT, used = RUNTIME__V1__UINT64_VALUE__INIT;
	cpu_ns.value = 123456789012ULL;
	ws.value = 1 << 20;
	avail.value = 3 << 20;
	used.value = 8192;
	Runtime__V1__CpuUsage cpu = RUNTIME__V1__CPU_USAGE__INIT;
	cpu.timestamp = 1700000000000000000LL;
	cpu.usage_core_nano_seconds = &cpu_ns;
	Runtime__V1__MemoryUsage mem = RUNTIME__V1__MEMORY_USAGE__INIT;
	mem.working_set_bytes = &ws;
	mem.available_bytes = &avail;
	Runtime__V1__FilesystemUsage fs = RUNTIME__V1__FILESYSTEM_USAGE__INIT;
	fs.used_bytes = &used;
	Runtime__V1__ContainerMetadata meta = RUNTIME__V1__CONTAINER_METADATA__INIT;
	meta.name = "burner";
	Runtime__V1__ContainerAttributes attrs = RUNTIME__V1__CONTAINER_ATTRIBUTES__INIT;
	attrs.id = "abc";
	attrs.metadata = &meta;
	Runtime__V1__ContainerStats st = RUNTIME__V1__CONTAINER_STATS__INIT;
	st.attributes = &attrs;
	st.cpu = &cpu;
	st.memory = &mem;
	st.writable_layer = &fs;
	Runtime__V1__ContainerStats *list[] = { &st, &st };
	Runtime__V1__ListContainerStatsResponse resp = RUNTIME__V1__LIST_CONTAINER_STATS_RESPONSE__INIT;
	resp.n_stats = 2;
	resp.stats = list;
	assert_packs_to(&resp.base, wire, wire_len);
}

static void test_stats_without_values(void **state)
{
	(void)state;
	Runtime__V1__CpuUsage cpu = RUNTIME__V1__CPU_USAGE__INIT; /* no usage: runtime had none */
	struct sample cs;
	cri_stats_from_cpu_memory(&cpu, NULL, &cs);
	assert_int_equal(cs.have, 0);
	cri_stats_from_cpu_memory(NULL, NULL, &cs);
	assert_int_equal(cs.have, 0);
}

/* tests/unit/cri-wire/run-pod-sandbox-request.txtpb: config (field 1 of
 * the request) with metadata, one label and linux (field 8 of the config). */
static void test_run_pod_sandbox_request_wire(void **state)
{
	(void)state;
	uint8_t wire[512];
	size_t wire_len = protoc_wire("run-pod-sandbox-request", wire, sizeof(wire));

	Runtime__V1__RunPodSandboxRequest *back = runtime__v1__run_pod_sandbox_request__unpack(NULL, wire_len, wire);
	assert_non_null(back);
	assert_string_equal(back->config->metadata->name, "web");
	assert_string_equal(back->config->metadata->namespace_, "prod");
	assert_string_equal(back->config->metadata->uid, "0f9c");
	assert_string_equal(back->config->linux->cgroup_parent, "/kubepods/burstable/pod0f9c");
	assert_int_equal(back->config->n_labels, 1);
	assert_string_equal(back->config->labels[0]->key, "app");
	assert_string_equal(back->config->labels[0]->value, "web");
	runtime__v1__run_pod_sandbox_request__free_unpacked(back, NULL);

	Runtime__V1__PodSandboxMetadata meta = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	meta.name = "web";
	meta.namespace_ = "prod";
	meta.uid = "0f9c";
	Runtime__V1__LinuxPodSandboxConfig linux_config = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	linux_config.cgroup_parent = "/kubepods/burstable/pod0f9c";
	Runtime__V1__PodSandboxConfig__LabelsEntry label = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
	label.key = "app";
	label.value = "web";
	Runtime__V1__PodSandboxConfig__LabelsEntry *labels[] = { &label };
	Runtime__V1__PodSandboxConfig config = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	config.metadata = &meta;
	config.linux = &linux_config;
	config.n_labels = 1;
	config.labels = labels;
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = &config;
	assert_packs_to(&req.base, wire, wire_len);
}

static void test_garbage_is_rejected(void **state)
{
	(void)state;
	static const uint8_t wire[] = { 0x0a, 200, 'x' }; /* length past the end */
	assert_null(runtime__v1__list_pod_sandbox_response__unpack(NULL, sizeof(wire), wire));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_sandbox_metadata_field_numbers),
		cmocka_unit_test(test_pod_sandbox_field_numbers),
		cmocka_unit_test(test_container_field_numbers),
		cmocka_unit_test(test_container_stats_field_numbers),
		cmocka_unit_test(test_pod_sandbox_stats_field_numbers),
		cmocka_unit_test(test_version_field_numbers),
		cmocka_unit_test(test_unknown_fields_skipped),
		cmocka_unit_test(test_list_container_stats_wire),
		cmocka_unit_test(test_stats_without_values),
		cmocka_unit_test(test_run_pod_sandbox_request_wire),
		cmocka_unit_test(test_garbage_is_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
