/* fuzz_aggregator_http.c: libFuzzer target for cadet-aggregator's request
 * handling. Each input is raw bytes sent on one connection to the real
 * server of common/https-server.c, in its plain-HTTP mode on an inherited
 * listening socket (http-rig.h), with the aggregator's router api_handle
 * as its handler, over a store holding two nodes' reports with labelled
 * pods. So evhttp's parser and limits, the server's method check, path
 * decoding and response writing, and every metrics.k8s.io route, selector
 * and renderer see it. TLS itself is left out: a handshake per input would
 * leave nothing of the fuzzer's speed, and the bytes after the handshake
 * reach the same evhttp parser and handler. The API is open
 * (auth_required false), as without --client-ca-file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/api.h"
#include "aggregator/store.h"
#include "common/duration.h"
#include "common/https-server.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "tests/fuzz/http-rig.h"

static struct http_rig rig;
static struct https_server *server;
static struct agg_store *store;
static struct api api;

static Cadet__V1__Label *label(const char *k, const char *v)
{
	Cadet__V1__Label *l = malloc(sizeof(*l));
	cadet__v1__label__init(l);
	l->key = (char *)k;
	l->value = (char *)v;
	return l;
}

/* Packs a report built on the stack and stores the unpacked copy, the way
 * push-server.c stores what arrives on the wire. */
static void put_node(const char *name, const char *ns)
{
	Cadet__V1__ContainerReport ctr[2];
	Cadet__V1__ContainerReport *ctrs[2] = { &ctr[0], &ctr[1] };
	for (int i = 0; i < 2; i++) {
		cadet__v1__container_report__init(&ctr[i]);
		ctr[i].name = (char *)(i ? "sidecar" : "app");
		ctr[i].cpu_usage_nanocores = 1000000u * (unsigned)(i + 1);
		ctr[i].memory_working_set_bytes = 2048u << i;
	}
	Cadet__V1__PodReport pod[2];
	Cadet__V1__PodReport *pods[2] = { &pod[0], &pod[1] };
	Cadet__V1__Label *pod_labels[2] = { label("app", "web"), label("tier", "front") };
	for (int i = 0; i < 2; i++) {
		cadet__v1__pod_report__init(&pod[i]);
		pod[i].namespace_ = (char *)ns;
		pod[i].name = (char *)(i ? "db-0" : "web-1");
		pod[i].uid = (char *)"6b9f3c2a-1d4e-4f5a-8b7c-9d0e1f2a3b4c";
		pod[i].labels = pod_labels;
		pod[i].n_labels = i ? 1 : 2;
		pod[i].containers = ctrs;
		pod[i].n_containers = 2;
	}
	Cadet__V1__Label *node_labels[1] = { label("kubernetes.io/os", "linux") };
	Cadet__V1__NodeReport node;
	cadet__v1__node_report__init(&node);
	node.node_name = (char *)name;
	node.agent_version = (char *)"fuzz";
	node.timestamp_unix_ns = clock_realtime_ns();
	node.window_ns = 15 * NSEC_PER_SEC;
	node.cpu_usage_nanocores = 250000000;
	node.memory_working_set_bytes = 1u << 30;
	node.labels = node_labels;
	node.n_labels = 1;
	node.pods = pods;
	node.n_pods = 2;
	size_t len = cadet__v1__node_report__get_packed_size(&node);
	uint8_t *buf = malloc(len);
	cadet__v1__node_report__pack(&node, buf);
	Cadet__V1__NodeReport *copy = cadet__v1__node_report__unpack(NULL, len, buf);
	free(buf);
	free(pod_labels[0]);
	free(pod_labels[1]);
	free(node_labels[0]);
	struct cadet_error err;
	if (!copy || agg_store_put(store, copy, clock_monotonic_ns(), &err) != 0) {
		fprintf(stderr, "fuzz_aggregator_http: storing a report failed\n");
		abort();
	}
}

static void setup(void)
{
	log_set_level(LOG_CRIT);
	struct cadet_error err;
	if (agg_store_new(3600 * NSEC_PER_SEC, &store, &err) != 0)
		abort();
	put_node("node-a", "default");
	put_node("node-b", "kube-system");
	api = (struct api){
		.store = store,
		.auth_required = false,
		.start_mono_ns = clock_monotonic_ns(),
		.ready_grace_ns = 0,
	};
	rig.base = event_base_new();
	if (!rig.base)
		abort();
	/* as aggregator/main.c configures it, but plain and on the rig's socket */
	struct https_server_config cfg = {
		.plain = true,
		.listen_fd = http_rig_listen(&rig, "aggregator"),
	};
	if (https_server_new(rig.base, &cfg, api_handle, &api, &server, &err) != 0) {
		fprintf(stderr, "fuzz_aggregator_http: %s\n", err.msg);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!rig.base)
		setup();
	http_rig_exchange(&rig, data, size);
	return 0;
}
