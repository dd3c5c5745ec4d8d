/* push-load.c: load generator for cadet-aggregator. Simulates N agents:
 * N gRPC channels (each its own TCP connection), one Push stream each,
 * every node sending a full NodeReport (P pods x C containers, realistic
 * names, labels and ids) once per interval, the nodes spread evenly over
 * the interval as real agents drift apart. Everything runs on one
 * completion queue in one thread.
 *
 * With --aggregator-pid it also measures the aggregator from /proc: CPU
 * (utime+stime) over the measured rounds divided by the reports sent in
 * them, and VmRSS at the end. It prints "warm" after the first round (all
 * nodes connected and stored) so a driving script can start its own
 * measurements, and a final "result" line of key=value pairs.
 *
 *   push-load --target HOST:PORT [--nodes 5000] [--pods 30] [--containers 2]
 *             [--interval 15s] [--rounds 3] [--channels N] [--aggregator-pid PID] */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "common/duration.h"
#include "common/timefmt.h"
#include "proto/cadet-push.pb-c.h"

#define PUSH_METHOD "/cadet.v1.MetricsPush/Push"

enum tag_kind { TAG_SEND, TAG_STATUS };

struct node;
struct tag {
	enum tag_kind kind;
	struct node *node;
};

struct node {
	unsigned index;
	grpc_channel *channel; /* borrowed from the channel table */
	grpc_call *call;
	bool in_flight;
	bool status_pending;
	grpc_byte_buffer *buf;
	grpc_metadata_array md_initial, md_trailing;
	grpc_status_code status;
	grpc_slice details;
	struct tag send_tag, status_tag;
};

struct options {
	const char *target;
	unsigned nodes, pods, containers, rounds, channels;
	uint64_t interval_ns;
	int aggregator_pid;
};

/* One report skeleton, renamed and re-timed for every send. */
struct report_template {
	Cadet__V1__NodeReport node;
	Cadet__V1__PodReport *pods;
	Cadet__V1__PodReport **pod_ptrs;
	Cadet__V1__ContainerReport *containers;
	Cadet__V1__ContainerReport **container_ptrs;
	Cadet__V1__Label *labels;
	Cadet__V1__Label **label_ptrs;
	char *strings; /* all names, fixed slots of SLOT bytes */
	size_t n_strings;
};

#define SLOT 128

static char *slot(struct report_template *t, size_t i)
{
	return t->strings + i * SLOT;
}

static int template_init(struct report_template *t, const struct options *o)
{
	size_t np = o->pods, nc = (size_t)o->pods * o->containers;
	t->pods = calloc(np, sizeof(*t->pods));
	t->pod_ptrs = calloc(np, sizeof(*t->pod_ptrs));
	t->containers = calloc(nc, sizeof(*t->containers));
	t->container_ptrs = calloc(nc, sizeof(*t->container_ptrs));
	t->labels = calloc(np * 2, sizeof(*t->labels));
	t->label_ptrs = calloc(np * 2, sizeof(*t->label_ptrs));
	t->n_strings = 1 + np * 3 + nc * 2;
	t->strings = calloc(t->n_strings, SLOT);
	if (!t->pods || !t->pod_ptrs || !t->containers || !t->container_ptrs || !t->labels || !t->label_ptrs ||
	    !t->strings)
		return -1;
	cadet__v1__node_report__init(&t->node);
	t->node.node_name = slot(t, 0);
	t->node.agent_version = "push-load";
	t->node.window_ns = o->interval_ns;
	t->node.pods = t->pod_ptrs;
	t->node.n_pods = np;
	size_t s = 1;
	for (size_t p = 0; p < np; p++) {
		Cadet__V1__PodReport *pod = &t->pods[p];
		cadet__v1__pod_report__init(pod);
		t->pod_ptrs[p] = pod;
		pod->name = slot(t, s++);
		pod->uid = slot(t, s++);
		pod->namespace_ = slot(t, s++);
		snprintf(pod->namespace_, SLOT, "bench-ns-%zu", p % 10);
		for (size_t l = 0; l < 2; l++) {
			Cadet__V1__Label *lab = &t->labels[p * 2 + l];
			cadet__v1__label__init(lab);
			lab->key = l == 0 ? "app" : "pod-template-hash";
			lab->value = l == 0 ? (p % 2 ? "web" : "worker") : "7d4b9c8f6d";
			t->label_ptrs[p * 2 + l] = lab;
		}
		pod->labels = &t->label_ptrs[p * 2];
		pod->n_labels = 2;
		pod->start_time_unix_ns = 1700000000ULL * NSEC_PER_SEC;
		pod->containers = &t->container_ptrs[p * o->containers];
		pod->n_containers = o->containers;
		for (size_t c = 0; c < o->containers; c++) {
			Cadet__V1__ContainerReport *cr = &t->containers[p * o->containers + c];
			cadet__v1__container_report__init(cr);
			t->container_ptrs[p * o->containers + c] = cr;
			cr->name = slot(t, s++);
			snprintf(cr->name, SLOT, "container-%zu", c);
			cr->id = slot(t, s++);
			cr->start_time_unix_ns = pod->start_time_unix_ns;
		}
	}
	return 0;
}

static void template_free(struct report_template *t)
{
	free(t->pods);
	free(t->pod_ptrs);
	free(t->containers);
	free(t->container_ptrs);
	free(t->labels);
	free(t->label_ptrs);
	free(t->strings);
}

/* Fills the template as node `index` at `now` and packs it into a byte buffer. */
static grpc_byte_buffer *build_report(struct report_template *t, const struct options *o, unsigned index,
				      uint64_t round)
{
	uint64_t now = clock_realtime_ns();
	snprintf(t->node.node_name, SLOT, "bench-node-%05u", index);
	t->node.timestamp_unix_ns = now;
	t->node.cpu_usage_nanocores = 200000000 + (index * 7919 + round * 104729) % 800000000;
	t->node.cpu_usage_ns = round * o->interval_ns;
	t->node.memory_working_set_bytes = (4ULL << 30) + (uint64_t)(index % 1024) * 1048576;
	for (size_t p = 0; p < t->node.n_pods; p++) {
		Cadet__V1__PodReport *pod = t->pod_ptrs[p];
		snprintf(pod->name, SLOT, "deploy-%05u-%03zu-5f7c9", index, p);
		snprintf(pod->uid, SLOT, "%08x-%04zx-4000-8000-%012x", index, p, index * 31u + (unsigned)p);
		for (size_t c = 0; c < pod->n_containers; c++) {
			Cadet__V1__ContainerReport *cr = pod->containers[c];
			/* a 64-hex-digit id, as containerd's */
			if (snprintf(cr->id, SLOT, "containerd://%08x%04zx%04zx%048x", index, p, c, 0u) < 0)
				cr->id[0] = '\0';
			cr->cpu_usage_nanocores = (index + p * 13 + c * 7 + round) % 250000000;
			cr->cpu_usage_ns = round * o->interval_ns / 10;
			cr->memory_working_set_bytes = (64ULL << 20) + ((index + p) % 64) * 4096;
		}
	}
	size_t len = cadet__v1__node_report__get_packed_size(&t->node);
	grpc_slice slice = grpc_slice_malloc(len);
	cadet__v1__node_report__pack(&t->node, GRPC_SLICE_START_PTR(slice));
	grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	return buf;
}

/* Opens the node's stream: a batch that waits for the call's end. */
static int open_stream(struct node *n, grpc_completion_queue *cq)
{
	grpc_slice method = grpc_slice_from_static_string(PUSH_METHOD);
	n->call = grpc_channel_create_call(n->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
					   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	if (!n->call)
		return -1;
	grpc_metadata_array_init(&n->md_initial);
	grpc_metadata_array_init(&n->md_trailing);
	n->details = grpc_empty_slice();
	grpc_op ops[2];
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[0].data.recv_initial_metadata.recv_initial_metadata = &n->md_initial;
	ops[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[1].data.recv_status_on_client.trailing_metadata = &n->md_trailing;
	ops[1].data.recv_status_on_client.status = &n->status;
	ops[1].data.recv_status_on_client.status_details = &n->details;
	if (grpc_call_start_batch(n->call, ops, 2, &n->status_tag, NULL) != GRPC_CALL_OK) {
		grpc_call_unref(n->call);
		n->call = NULL;
		return -1;
	}
	n->status_pending = true;
	return 1; /* new stream: the first send carries the initial metadata */
}

static bool start_send(struct node *n, grpc_completion_queue *cq, grpc_byte_buffer *buf)
{
	bool first = false;
	if (!n->call) {
		if (open_stream(n, cq) < 0)
			return false;
		first = true;
	}
	grpc_op ops[2];
	memset(ops, 0, sizeof(ops));
	size_t k = 0;
	if (first)
		ops[k++].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[k].op = GRPC_OP_SEND_MESSAGE;
	ops[k].data.send_message.send_message = buf;
	k++;
	if (grpc_call_start_batch(n->call, ops, k, &n->send_tag, NULL) != GRPC_CALL_OK)
		return false;
	n->buf = buf;
	n->in_flight = true;
	return true;
}

static void end_stream(struct node *n)
{
	grpc_call_unref(n->call);
	n->call = NULL;
	n->status_pending = false;
	grpc_metadata_array_destroy(&n->md_initial);
	grpc_metadata_array_destroy(&n->md_trailing);
	grpc_slice_unref(n->details);
}

struct counters {
	uint64_t sent, failed, skipped, stream_ends;
};

/* One completion: a send finished or a stream ended. A stream is released
 * once its end is known and no send is in flight on it. */
static void handle_event(const grpc_event *ev, struct counters *k)
{
	struct tag *tag = ev->tag;
	struct node *n = tag->node;
	if (tag->kind == TAG_SEND) {
		n->in_flight = false;
		grpc_byte_buffer_destroy(n->buf);
		n->buf = NULL;
		if (ev->success)
			k->sent++;
		else
			k->failed++;
	} else {
		n->status_pending = false;
		if (k->stream_ends++ < 3) {
			char *details = grpc_slice_to_c_string(n->details);
			fprintf(stderr, "push-load: stream of node %u ended: status %d (%s)\n", n->index,
				(int)n->status, details ? details : "");
			gpr_free(details);
		}
	}
	if (n->call && !n->status_pending && !n->in_flight)
		end_stream(n);
}

static bool read_proc_cpu(int pid, uint64_t *ticks)
{
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	char *p = strrchr(buf, ')'); /* comm may contain spaces */
	if (!p)
		return false;
	unsigned long long utime, stime;
	/* fields after comm: state(3) ... utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
		return false;
	*ticks = utime + stime;
	return true;
}

static uint64_t read_proc_rss_kib(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	unsigned long long kib = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "pods", required_argument, NULL, 'p' },
		{ "containers", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "channels", required_argument, NULL, 'C' },
		{ "aggregator-pid", required_argument, NULL, 'P' },
		{ 0 },
	};
	*o = (struct options){ .nodes = 5000, .pods = 30, .containers = 2, .rounds = 3,
			       .interval_ns = 15 * NSEC_PER_SEC };
	struct cadet_error err = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->target = optarg; break;
		case 'n': o->nodes = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': o->pods = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': o->containers = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': o->rounds = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'C': o->channels = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'P': o->aggregator_pid = atoi(optarg); break;
		case 'i':
			if (duration_parse(optarg, &o->interval_ns, &err) < 0 || o->interval_ns == 0) {
				fprintf(stderr, "push-load: --interval %s: %s\n", optarg, err.msg);
				return -1;
			}
			break;
		default:
			return -1;
		}
	}
	if (!o->target || o->nodes == 0 || o->rounds < 2) {
		fprintf(stderr, "usage: push-load --target HOST:PORT [--nodes N] [--pods P] [--containers C] "
				"[--interval D] [--rounds R>=2] [--channels K] [--aggregator-pid PID]\n");
		return -1;
	}
	if (o->channels == 0 || o->channels > o->nodes)
		o->channels = o->nodes;
	return 0;
}

struct measure {
	uint64_t cpu_ticks, sent, mono_ns;
	bool ok;
};

static struct measure take_measure(const struct options *o, uint64_t sent)
{
	struct measure m = { .sent = sent, .mono_ns = clock_monotonic_ns() };
	m.ok = o->aggregator_pid > 0 && read_proc_cpu(o->aggregator_pid, &m.cpu_ticks);
	return m;
}

static int run(const struct options *o)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
	grpc_channel **channels = calloc(o->channels, sizeof(*channels));
	struct node *nodes = calloc(o->nodes, sizeof(*nodes));
	struct report_template tmpl = { 0 };
	if (!channels || !nodes || template_init(&tmpl, o) < 0) {
		fprintf(stderr, "push-load: out of memory\n");
		return 1;
	}
	grpc_arg args[] = {
		/* one TCP connection per channel, as with real agents */
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, .value.integer = 1 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, .value.integer = 500 },
	};
	grpc_channel_args cargs = { .num_args = 2, .args = args };
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	for (unsigned i = 0; i < o->channels; i++)
		channels[i] = grpc_channel_create(o->target, creds, &cargs);
	grpc_channel_credentials_release(creds);
	for (unsigned i = 0; i < o->nodes; i++) {
		nodes[i].index = i;
		nodes[i].channel = channels[i % o->channels];
		nodes[i].send_tag = (struct tag){ TAG_SEND, &nodes[i] };
		nodes[i].status_tag = (struct tag){ TAG_STATUS, &nodes[i] };
	}

	struct counters k = { 0 };
	uint64_t start = clock_monotonic_ns();
	unsigned round = 0, cursor = 0;
	struct measure warm = { 0 };
	uint64_t slot_ns = o->interval_ns / o->nodes;
	while (round < o->rounds) {
		uint64_t due = start + round * o->interval_ns + cursor * slot_ns;
		uint64_t now = clock_monotonic_ns();
		while (now >= due && round < o->rounds) {
			struct node *n = &nodes[cursor];
			if (n->in_flight) {
				k.skipped++; /* the previous report is still going: skip this one */
			} else {
				grpc_byte_buffer *buf = build_report(&tmpl, o, cursor, round);
				if (!start_send(n, cq, buf)) {
					grpc_byte_buffer_destroy(buf);
					k.failed++;
				}
			}
			if (++cursor == o->nodes) {
				cursor = 0;
				round++;
				fprintf(stderr, "push-load: round %u scheduled (%" PRIu64 " sent so far, %" PRIu64
						" failed, %" PRIu64 " skipped)\n", round, k.sent, k.failed, k.skipped);
			}
			due = start + round * o->interval_ns + cursor * slot_ns;
		}
		/* Every node's first report has been delivered: warm. */
		if (round >= 1 && !warm.mono_ns && k.sent + k.failed >= o->nodes) {
			warm = take_measure(o, k.sent);
			printf("warm\n");
			fflush(stdout);
		}
		int64_t wait_ms = due > now ? (int64_t)((due - now) / NSEC_PER_MSEC) + 1 : 1;
		grpc_event ev = grpc_completion_queue_next(
			cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(wait_ms, GPR_TIMESPAN)), NULL);
		while (ev.type == GRPC_OP_COMPLETE) {
			handle_event(&ev, &k);
			ev = grpc_completion_queue_next(cq, gpr_inf_past(GPR_CLOCK_MONOTONIC), NULL);
		}
	}
	/* wait for the last sends */
	uint64_t drain_until = clock_monotonic_ns() + 10 * NSEC_PER_SEC;
	for (;;) {
		bool busy = false;
		for (unsigned i = 0; i < o->nodes && !busy; i++)
			busy = nodes[i].in_flight;
		if (!busy || clock_monotonic_ns() > drain_until)
			break;
		grpc_event ev = grpc_completion_queue_next(
			cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(100, GPR_TIMESPAN)), NULL);
		if (ev.type == GRPC_OP_COMPLETE)
			handle_event(&ev, &k);
	}
	struct measure end = take_measure(o, k.sent);
	uint64_t rss_kib = o->aggregator_pid > 0 ? read_proc_rss_kib(o->aggregator_pid) : 0;
	double secs = warm.mono_ns ? (double)(end.mono_ns - warm.mono_ns) / 1e9 : 0;
	uint64_t reports = end.sent - warm.sent;
	double cpu_s = warm.ok && end.ok ? (double)(end.cpu_ticks - warm.cpu_ticks) / (double)sysconf(_SC_CLK_TCK) : 0;
	printf("result nodes=%u pods_per_node=%u containers_per_pod=%u interval_s=%.3f measured_s=%.1f "
	       "reports=%" PRIu64 " failed=%" PRIu64 " skipped=%" PRIu64 " stream_ends=%" PRIu64
	       " aggregator_cpu_s=%.2f cpu_us_per_report=%.1f millicores_per_node=%.4f rss_kib=%" PRIu64 "\n",
	       o->nodes, o->pods, o->containers, (double)o->interval_ns / 1e9, secs, reports, k.failed, k.skipped,
	       k.stream_ends, cpu_s, reports ? cpu_s * 1e6 / (double)reports : 0,
	       secs > 0 ? cpu_s / secs * 1000.0 / o->nodes : 0, rss_kib);
	fflush(stdout);

	/* tear down: cancel every stream, collect what is outstanding */
	for (unsigned i = 0; i < o->nodes; i++)
		if (nodes[i].call)
			grpc_call_cancel(nodes[i].call, NULL);
	for (;;) {
		size_t outstanding = 0;
		for (unsigned i = 0; i < o->nodes; i++)
			outstanding += (nodes[i].status_pending ? 1 : 0) + (nodes[i].in_flight ? 1 : 0);
		if (outstanding == 0)
			break;
		grpc_event ev = grpc_completion_queue_next(
			cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(5, GPR_TIMESPAN)), NULL);
		if (ev.type != GRPC_OP_COMPLETE)
			break;
		handle_event(&ev, &k);
	}
	for (unsigned i = 0; i < o->nodes; i++)
		if (nodes[i].call)
			end_stream(&nodes[i]);
	for (unsigned i = 0; i < o->channels; i++)
		grpc_channel_destroy(channels[i]);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	template_free(&tmpl);
	free(nodes);
	free(channels);
	return k.sent == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct options o;
	if (parse_options(argc, argv, &o) < 0)
		return 2;
	raise_fd_limit();
	grpc_init();
	int rc = run(&o);
	grpc_shutdown();
	return rc;
}
