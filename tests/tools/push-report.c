/* push-report.c: test pusher for cadet-aggregator. Reads node reports
 * written as JSON (field names as in proto/cadet-push.proto, labels as
 * objects), encodes them as cadet.v1.NodeReport and sends them on one real
 * gRPC push stream, then half-closes and checks how many the aggregator
 * accepted. With --count/--interval it re-sends the reports (fresh
 * timestamps) to keep nodes alive.
 *
 *   push-report --target 127.0.0.1:PORT [--ca-file F --cert-file F --key-file F]
 *               [--count N] [--interval DURATION] FILE.json
 *
 * FILE holds one report object or an array of them, e.g.
 *   {"node_name":"n1","window_ns":15000000000,"cpu_usage_nanocores":250000000,
 *    "memory_working_set_bytes":1073741824,
 *    "pods":[{"namespace":"ns","name":"web","labels":{"app":"web"},
 *             "containers":[{"name":"app","cpu_usage_nanocores":1000000,
 *                            "memory_working_set_bytes":2048}]}]}
 * Exit status 0 when every report was accepted, 1 otherwise. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc.h>
#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/duration.h"
#include "common/push-client.h"
#include "common/timefmt.h"
#include "proto/cadet-push.pb-c.h"

#define SEND_TIMEOUT_NS (5 * NSEC_PER_SEC)

static uint64_t get_u64(json_object *obj, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	return json_object_get_uint64(v); /* up to 2^64-1, for hostile reports */
}

static char *get_str(json_object *obj, const char *key)
{
	json_object *v;
	const char *s = json_object_object_get_ex(obj, key, &v) ? json_object_get_string(v) : "";
	return strdup(s ? s : "");
}

/* Labels from a JSON object into a malloc'd array (freed by free_unpacked). */
static int get_labels(json_object *obj, Cadet__V1__Label ***out, size_t *n_out)
{
	json_object *labels;
	*out = NULL;
	*n_out = 0;
	if (!json_object_object_get_ex(obj, "labels", &labels) || !json_object_is_type(labels, json_type_object))
		return 0;
	size_t n = (size_t)json_object_object_length(labels);
	if (n == 0)
		return 0;
	Cadet__V1__Label **arr = calloc(n, sizeof(*arr));
	if (!arr)
		return -1;
	size_t i = 0;
	json_object_object_foreach(labels, key, val)
	{
		Cadet__V1__Label *l = malloc(sizeof(*l));
		if (!l)
			break;
		cadet__v1__label__init(l);
		l->key = strdup(key);
		l->value = strdup(json_object_get_string(val));
		arr[i++] = l;
	}
	*out = arr;
	*n_out = i;
	return 0;
}

static Cadet__V1__NodeReport *report_from_json(json_object *obj)
{
	Cadet__V1__NodeReport *r = malloc(sizeof(*r));
	if (!r)
		return NULL;
	cadet__v1__node_report__init(r);
	r->node_name = get_str(obj, "node_name");
	r->agent_version = strdup("push-report");
	r->timestamp_unix_ns = get_u64(obj, "timestamp_unix_ns");
	r->window_ns = get_u64(obj, "window_ns");
	r->cpu_usage_ns = get_u64(obj, "cpu_usage_ns");
	r->cpu_usage_nanocores = get_u64(obj, "cpu_usage_nanocores");
	r->memory_working_set_bytes = get_u64(obj, "memory_working_set_bytes");
	get_labels(obj, &r->labels, &r->n_labels);
	json_object *pods;
	if (json_object_object_get_ex(obj, "pods", &pods) && json_object_is_type(pods, json_type_array)) {
		size_t np = json_object_array_length(pods);
		r->pods = calloc(np ? np : 1, sizeof(*r->pods));
		for (size_t i = 0; r->pods && i < np; i++) {
			json_object *pj = json_object_array_get_idx(pods, i);
			Cadet__V1__PodReport *p = malloc(sizeof(*p));
			if (!p)
				break;
			cadet__v1__pod_report__init(p);
			p->namespace_ = get_str(pj, "namespace");
			p->name = get_str(pj, "name");
			p->uid = get_str(pj, "uid");
			p->start_time_unix_ns = get_u64(pj, "start_time_unix_ns");
			get_labels(pj, &p->labels, &p->n_labels);
			json_object *cs;
			if (json_object_object_get_ex(pj, "containers", &cs) && json_object_is_type(cs, json_type_array)) {
				size_t nc = json_object_array_length(cs);
				p->containers = calloc(nc ? nc : 1, sizeof(*p->containers));
				for (size_t k = 0; p->containers && k < nc; k++) {
					json_object *cj = json_object_array_get_idx(cs, k);
					Cadet__V1__ContainerReport *c = malloc(sizeof(*c));
					if (!c)
						break;
					cadet__v1__container_report__init(c);
					c->name = get_str(cj, "name");
					c->id = get_str(cj, "id");
					c->start_time_unix_ns = get_u64(cj, "start_time_unix_ns");
					c->cpu_usage_ns = get_u64(cj, "cpu_usage_ns");
					c->cpu_usage_nanocores = get_u64(cj, "cpu_usage_nanocores");
					c->memory_working_set_bytes = get_u64(cj, "memory_working_set_bytes");
					p->containers[p->n_containers++] = c;
				}
			}
			r->pods[r->n_pods++] = p;
		}
	}
	return r;
}

static void json_putp(json_object **p)
{
	if (*p)
		json_object_put(*p);
}

static void push_client_freep(struct push_client **p)
{
	push_client_free(*p);
}

/* Everything gRPC happens in here, so main can shut the library down after
 * the client's cleanup has run. */
static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "ca-file", required_argument, NULL, 'a' },
		{ "cert-file", required_argument, NULL, 'c' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "count", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' },
		{ 0 },
	};
	struct push_client_config cfg = { 0 };
	long count = 1;
	uint64_t interval_ns = NSEC_PER_SEC;
	struct cadet_error err = { 0 };
	int o;
	while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (o) {
		case 't': cfg.target = optarg; break;
		case 'a': cfg.ca_file = optarg; break;
		case 'c': cfg.cert_file = optarg; break;
		case 'k': cfg.key_file = optarg; break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 'i':
			if (duration_parse(optarg, &interval_ns, &err) < 0) {
				fprintf(stderr, "push-report: %s\n", err.msg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (!cfg.target || optind + 1 != argc || count < 1) {
		fprintf(stderr, "usage: push-report --target ADDR [--ca-file F --cert-file F --key-file F] "
				"[--count N] [--interval D] FILE.json\n");
		return 2;
	}
	_cleanup_(json_putp) json_object *doc = json_object_from_file(argv[optind]);
	if (!doc) {
		fprintf(stderr, "push-report: cannot parse %s: %s\n", argv[optind], json_util_get_last_err());
		return 2;
	}
	size_t n_reports = json_object_is_type(doc, json_type_array) ? json_object_array_length(doc) : 1;

	_cleanup_(push_client_freep) struct push_client *client = NULL;
	if (push_client_new(&cfg, &client, &err) < 0) {
		fprintf(stderr, "push-report: %s\n", err.msg);
		return 1;
	}
	uint64_t sent = 0;
	for (long round = 0; round < count; round++) {
		if (round > 0) {
			struct timespec ts = { (time_t)(interval_ns / NSEC_PER_SEC), (long)(interval_ns % NSEC_PER_SEC) };
			nanosleep(&ts, NULL);
		}
		for (size_t i = 0; i < n_reports; i++) {
			json_object *obj = json_object_is_type(doc, json_type_array) ? json_object_array_get_idx(doc, i) : doc;
			Cadet__V1__NodeReport *r = report_from_json(obj);
			if (!r) {
				fprintf(stderr, "push-report: out of memory\n");
				return 1;
			}
			if (r->timestamp_unix_ns == 0)
				r->timestamp_unix_ns = clock_realtime_ns();
			size_t len = cadet__v1__node_report__get_packed_size(r);
			_cleanup_free_ uint8_t *buf = malloc(len ? len : 1);
			if (!buf) {
				cadet__v1__node_report__free_unpacked(r, NULL);
				return 1;
			}
			cadet__v1__node_report__pack(r, buf);
			cadet__v1__node_report__free_unpacked(r, NULL);
			if (push_client_send(client, buf, len, SEND_TIMEOUT_NS, &err) < 0) {
				fprintf(stderr, "push-report: %s\n", err.msg);
				return 1;
			}
			sent++;
		}
	}
	uint64_t accepted = 0;
	if (push_client_finish(client, SEND_TIMEOUT_NS, &accepted, &err) < 0) {
		fprintf(stderr, "push-report: %s\n", err.msg);
		return 1;
	}
	printf("sent %llu reports, aggregator accepted %llu\n", (unsigned long long)sent,
	       (unsigned long long)accepted);
	return accepted == sent ? 0 : 1;
}

int main(int argc, char **argv)
{
	grpc_init();
	int rc = run(argc, argv);
	grpc_shutdown();
	return rc;
}
