/* test_cri_join.c: building a CRI snapshot from runtime replies and joining
 * it onto a real store.
 *
 * The replies are protobuf-c messages packed and unpacked as they would
 * come off the wire. Checks: pods found by uid get name, namespace, labels
 * and start time (the ready, newest sandbox wins over an old attempt);
 * containers found by id get name, start time and rootfs usage; the pause
 * container (id = sandbox id) is flagged and not named; ids the runtime
 * does not know stay unnamed and are counted; a pod the runtime runs but
 * the collection did not read is recorded from CRI stats; an old snapshot
 * fills only entries without names; pod network read from the sandbox
 * process's net/dev (skipping lo) reaches the store pod; a container's log usage is
 * its log directory's allocated blocks; a pod known only from the runtime is
 * in the push report of every cycle, with the runtime's sample time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/collect-container-logs.h"
#include "agent/collect-cri-join.h"
#include "agent/collect-cri-snapshot.h"
#include "agent/collect-pod-network.h"
#include "agent/view-push.h"
#include "agent/store.h"
#include "tests/unit/store-builder.h"
#include "proto/cadet-push.pb-c.h"

#define SEC 1000000000ULL

static const char *const U1 = "11111111-aaaa-4bbb-8ccc-000000000001";
static const char *const U2 = "22222222-aaaa-4bbb-8ccc-000000000002";
static const char *const U3 = "33333333-aaaa-4bbb-8ccc-000000000003";
static const char *const S1 = "5a1";      /* ready sandbox of U1 */
static const char *const S1_OLD = "5a0";  /* an earlier, stopped attempt of U1 */
static const char *const S2 = "5b1";      /* U2: runtime-only (no cgroups read) */
static const char *const C1 = "c01";
static const char *const C2 = "c02";

/* Packs and unpacks, as if the message came from a runtime. */
static void *wire_round_trip(const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	protobuf_c_message_pack(msg, buf);
	void *back = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
	free(buf);
	assert_non_null(back);
	return back;
}

struct fixture {
	Runtime__V1__ListPodSandboxResponse *pods;
	Runtime__V1__ListContainersResponse *containers;
	Runtime__V1__ListContainerStatsResponse *stats;
	Runtime__V1__ImageFsInfoResponse *image_fs;
	struct cri_snapshot *snap;
	struct store store;
	char proc_root[64];
};

static void make_sandbox(Runtime__V1__PodSandbox *p, Runtime__V1__PodSandboxMetadata *m, const char *id,
			 const char *uid, const char *name, bool ready, int64_t created)
{
	runtime__v1__pod_sandbox__init(p);
	runtime__v1__pod_sandbox_metadata__init(m);
	m->uid = (char *)uid;
	m->name = (char *)name;
	m->namespace_ = "prod";
	p->id = (char *)id;
	p->metadata = m;
	p->state = ready ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
	p->created_at = created;
}

static void make_replies(struct fixture *f)
{
	Runtime__V1__PodSandbox sb[3];
	Runtime__V1__PodSandboxMetadata sm[3];
	make_sandbox(&sb[0], &sm[0], S1_OLD, U1, "web-old", false, 500);
	make_sandbox(&sb[1], &sm[1], S1, U1, "web", true, 1000);
	make_sandbox(&sb[2], &sm[2], S2, U2, "vm-pod", true, 1500);
	Runtime__V1__PodSandbox__LabelsEntry label = RUNTIME__V1__POD_SANDBOX__LABELS_ENTRY__INIT;
	label.key = "app";
	label.value = "web";
	Runtime__V1__PodSandbox__LabelsEntry *labels[] = { &label };
	sb[1].n_labels = 1;
	sb[1].labels = labels;
	Runtime__V1__PodSandbox *items[] = { &sb[0], &sb[1], &sb[2] };
	Runtime__V1__ListPodSandboxResponse lp = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
	lp.n_items = 3;
	lp.items = items;
	f->pods = wire_round_trip(&lp.base);

	Runtime__V1__ContainerMetadata cm1 = RUNTIME__V1__CONTAINER_METADATA__INIT, cm2 = cm1;
	cm1.name = "app";
	cm2.name = "vmapp";
	Runtime__V1__Container k1 = RUNTIME__V1__CONTAINER__INIT, k2 = k1;
	k1.id = (char *)C1;
	k1.pod_sandbox_id = (char *)S1;
	k1.metadata = &cm1;
	k1.created_at = 2000;
	k1.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	k2.id = (char *)C2;
	k2.pod_sandbox_id = (char *)S2;
	k2.metadata = &cm2;
	k2.created_at = 2500;
	Runtime__V1__Container *ks[] = { &k2, &k1 }; /* unsorted on purpose */
	Runtime__V1__ListContainersResponse lc = RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;
	lc.n_containers = 2;
	lc.containers = ks;
	f->containers = wire_round_trip(&lc.base);

	Runtime__V1__UInt64Value cpu1 = RUNTIME__V1__UINT64_VALUE__INIT, cpu2 = cpu1, ws = cpu1, used = cpu1, inodes = cpu1;
	cpu1.value = 5 * SEC;
	cpu2.value = 7 * SEC;
	ws.value = 1 << 20;
	used.value = 4096;
	inodes.value = 3;
	Runtime__V1__CpuUsage cu1 = RUNTIME__V1__CPU_USAGE__INIT, cu2 = cu1;
	cu1.usage_core_nano_seconds = &cpu1;
	cu1.timestamp = 3000;
	cu2.usage_core_nano_seconds = &cpu2;
	cu2.timestamp = 3000;
	Runtime__V1__MemoryUsage mu = RUNTIME__V1__MEMORY_USAGE__INIT;
	mu.working_set_bytes = &ws;
	Runtime__V1__FilesystemUsage wl = RUNTIME__V1__FILESYSTEM_USAGE__INIT;
	wl.used_bytes = &used;
	wl.inodes_used = &inodes;
	Runtime__V1__ContainerAttributes a1 = RUNTIME__V1__CONTAINER_ATTRIBUTES__INIT, a2 = a1;
	a1.id = (char *)C1;
	a2.id = (char *)C2;
	Runtime__V1__ContainerStats st1 = RUNTIME__V1__CONTAINER_STATS__INIT, st2 = st1;
	st1.attributes = &a1;
	st1.cpu = &cu1;
	st1.memory = &mu;
	st1.writable_layer = &wl;
	st2.attributes = &a2;
	st2.cpu = &cu2;
	st2.memory = &mu;
	Runtime__V1__ContainerStats *sts[] = { &st1, &st2 };
	Runtime__V1__ListContainerStatsResponse ls = RUNTIME__V1__LIST_CONTAINER_STATS_RESPONSE__INIT;
	ls.n_stats = 2;
	ls.stats = sts;
	f->stats = wire_round_trip(&ls.base);

	Runtime__V1__FilesystemIdentifier fsid = RUNTIME__V1__FILESYSTEM_IDENTIFIER__INIT;
	fsid.mountpoint = "/";
	Runtime__V1__UInt64Value img_used = RUNTIME__V1__UINT64_VALUE__INIT;
	img_used.value = 2 << 20;
	Runtime__V1__FilesystemUsage img = RUNTIME__V1__FILESYSTEM_USAGE__INIT;
	img.fs_id = &fsid;
	img.used_bytes = &img_used;
	Runtime__V1__FilesystemUsage *imgs[] = { &img };
	Runtime__V1__ImageFsInfoResponse li = RUNTIME__V1__IMAGE_FS_INFO_RESPONSE__INIT;
	li.n_image_filesystems = 1;
	li.image_filesystems = imgs;
	f->image_fs = wire_round_trip(&li.base);
}

static struct sample cpu_stats(uint64_t cpu_ns)
{
	struct sample st = { .have = SAMPLE_HAVE_CPU, .cpu_usage_ns = cpu_ns };
	return st;
}

/* One collection cycle that read U1 (pod, app, pause, an unknown id) and U3. */
static void collect_cycle(struct store *s, uint64_t t)
{
	struct cadet_error err;
	struct store_pod *pod;
	struct store_container *c;
	struct sample st = cpu_stats(t);
	sb_begin_walk(s, t, 1700000000 * SEC + t);
	assert_int_equal(sb_record_pod(s, U1, POD_QOS_BURSTABLE, 10, &st, &pod, &err), 0);
	assert_int_equal(sb_record_container(s, pod, C1, 11, &st, &c, &err), 0);
	assert_int_equal(sb_record_container(s, pod, S1, 12, &st, &c, &err), 0);
	assert_int_equal(sb_record_container(s, pod, "deadbeef", 13, &st, &c, &err), 0);
	assert_int_equal(sb_record_pod(s, U3, POD_QOS_BESTEFFORT, 14, &st, &pod, &err), 0);
	sb_end_walk(s);
}

#define REAL0 (1700000000ULL * SEC)

/* A collection cycle at monotonic t that read only the node. */
static void walk_cycle(struct store *s, uint64_t t)
{
	struct cadet_error err;
	struct node_info info = { 0 };
	struct sample st = { .have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY, .cpu_usage_ns = t };
	sb_begin_walk(s, t, REAL0 + t);
	assert_int_equal(sb_record_node(s, &st, &info, &err), 0);
	sb_end_walk(s);
}

/* The join after the cycle at monotonic t. */
static void join_at(const struct cri_snapshot *snap, struct store *s, bool fresh, uint64_t t)
{
	struct cri_join_options opts = { .new_snapshot = fresh, .now = { .monotonic_ns = t, .realtime_ns = REAL0 + t } };
	struct cri_join_result res;
	struct cadet_error err;
	if (cri_join_apply(snap, s, &opts, &res, &err) != 0)
		fail_msg("%s", err.msg);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	make_replies(f);
	struct cri_replies r = { .pods = f->pods, .containers = f->containers, .container_stats = f->stats,
				 .image_fs = f->image_fs };
	struct cadet_error err;
	assert_int_equal(cri_snapshot_build(&r, 4000, &f->snap, &err), 0);
	assert_int_equal(store_init(&f->store, 10 * SEC, SEC, &err), 0);
	snprintf(f->proc_root, sizeof(f->proc_root), "/tmp/cadet-cri-join.XXXXXX");
	assert_non_null(mkdtemp(f->proc_root));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];
	snprintf(path, sizeof(path), "%s/4242/net/dev", f->proc_root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/4242/net", f->proc_root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/4242", f->proc_root);
	rmdir(path);
	rmdir(f->proc_root);
	store_free(&f->store);
	cri_snapshot_free(f->snap);
	protobuf_c_message_free_unpacked(&f->pods->base, NULL);
	protobuf_c_message_free_unpacked(&f->containers->base, NULL);
	protobuf_c_message_free_unpacked(&f->stats->base, NULL);
	protobuf_c_message_free_unpacked(&f->image_fs->base, NULL);
	free(f);
	return 0;
}

static void test_snapshot_lookups(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(f->snap->n_pods, 3);
	assert_int_equal(f->snap->n_containers, 2);
	const struct cri_pod *p = cri_snapshot_find_pod(f->snap, U1);
	assert_non_null(p);
	assert_string_equal(p->sandbox_id, S1); /* ready beats the older, stopped attempt */
	assert_string_equal(p->name, "web");
	assert_non_null(cri_snapshot_find_sandbox(f->snap, S1_OLD));
	assert_null(cri_snapshot_find_pod(f->snap, U3));
	const struct cri_container *c = cri_snapshot_find_container(f->snap, C1);
	assert_non_null(c);
	assert_string_equal(c->name, "app");
	assert_true(c->has_rootfs);
	assert_int_equal(c->rootfs_used_bytes, 4096);
	assert_int_equal(c->rootfs_inodes_used, 3);
	assert_true(c->has_stats);
	assert_int_equal(c->stats.cpu_usage_ns, 5 * SEC);
	assert_null(cri_snapshot_find_container(f->snap, "nope"));
	assert_true(f->snap->has_image_fs);
	assert_int_equal(f->snap->image_fs_used_bytes, 2 << 20);
}

static void test_join_names_and_flags(void **state)
{
	struct fixture *f = *state;
	struct store *s = &f->store;
	collect_cycle(s, SEC);
	struct cri_join_options opts = { .new_snapshot = true };
	struct cri_join_result res;
	struct cadet_error err;
	assert_int_equal(cri_join_apply(f->snap, s, &opts, &res, &err), 0);

	struct store_pod *pod = store_find_pod(s, U1);
	assert_non_null(pod);
	assert_string_equal(pod->meta.name, "web");
	assert_string_equal(pod->meta.namespace, "prod");
	assert_int_equal(pod->meta.start_time_ns, 1000);
	assert_int_equal(pod->meta.n_labels, 1);
	assert_string_equal(pod->meta.labels[0].key, "app");
	assert_false(pod->has_network); /* no pid known, no CRI network */

	struct store_container *app = store_find_container(pod, C1);
	assert_string_equal(app->meta.name, "app");
	assert_false(app->meta.is_sandbox);
	assert_int_equal(app->meta.start_time_ns, 2000);
	assert_true(app->meta.has_rootfs);
	assert_int_equal(app->meta.rootfs_used_bytes, 4096);

	struct store_container *pause = store_find_container(pod, S1);
	assert_true(pause->meta.is_sandbox);
	assert_null(pause->meta.name);

	assert_null(store_find_container(pod, "deadbeef")->meta.name);
	assert_null(store_find_pod(s, U3)->meta.name);
	assert_int_equal(res.unknown, 2);
	assert_int_equal(res.sandboxes_marked, 1);

	/* U2: the runtime runs it, no cgroup was read: recorded from CRI stats. */
	assert_int_equal(res.cri_only_pods, 1);
	struct store_pod *vm = store_find_pod(s, U2);
	assert_non_null(vm);
	assert_string_equal(vm->meta.name, "vm-pod");
	struct store_container *vmapp = store_find_container(vm, C2);
	assert_non_null(vmapp);
	assert_string_equal(vmapp->meta.name, "vmapp");
	assert_int_equal(vmapp->series.latest.cpu_usage_ns, 7 * SEC);

	assert_true(s->has_image_fs);
	assert_int_equal(s->image_fs.used_bytes, 2 << 20);
	assert_true(s->image_fs.has_capacity); /* statvfs("/") */
	assert_true(s->image_fs.capacity_bytes > 0);
}

static void test_old_snapshot_fills_only_gaps(void **state)
{
	struct fixture *f = *state;
	struct store *s = &f->store;
	collect_cycle(s, SEC);
	struct cri_join_options opts = { .new_snapshot = true };
	struct cri_join_result res;
	struct cadet_error err;
	assert_int_equal(cri_join_apply(f->snap, s, &opts, &res, &err), 0);
	uint64_t hash = res.unknown_hash;

	/* Next cycle, same snapshot: nothing is renamed, nothing re-recorded. */
	collect_cycle(s, 2 * SEC);
	struct store_pod *pod = store_find_pod(s, U1);
	struct pod_metadata renamed = { .name = "kept", .namespace = "prod" };
	assert_int_equal(pod_metadata_set(&pod->meta, &renamed, &err), 0);
	opts.new_snapshot = false;
	assert_int_equal(cri_join_apply(f->snap, s, &opts, &res, &err), 0);
	assert_string_equal(store_find_pod(s, U1)->meta.name, "kept");
	assert_int_equal(res.pods_named, 0);
	assert_int_equal(res.cri_only_pods, 0);
	assert_int_equal(res.unknown_hash, hash); /* same unknowns: no refresh asked */

	/* A new snapshot renames again. */
	opts.new_snapshot = true;
	assert_int_equal(cri_join_apply(f->snap, s, &opts, &res, &err), 0);
	assert_string_equal(store_find_pod(s, U1)->meta.name, "web");
}

static void test_cgroup_pod_not_double_recorded(void **state)
{
	struct fixture *f = *state;
	struct store *s = &f->store;
	collect_cycle(s, SEC);
	struct cri_join_options opts = { .new_snapshot = true };
	struct cri_join_result res;
	struct cadet_error err;
	assert_int_equal(cri_join_apply(f->snap, s, &opts, &res, &err), 0);
	/* U1 was read from cgroups: its CPU is the cgroup's, not CRI's 5 s. */
	struct store_container *app = store_find_container(store_find_pod(s, U1), C1);
	assert_int_equal(app->series.latest.cpu_usage_ns, SEC);
}

static void test_pod_network_from_sandbox_process(void **state)
{
	struct fixture *f = *state;
	char path[128];
	snprintf(path, sizeof(path), "%s/4242", f->proc_root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/4242/net", f->proc_root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/4242/net/dev", f->proc_root);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("Inter-|   Receive                                                |  Transmit\n"
	      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
	      "    lo:    3367      31    0    0    0     0          0         0     3367      31    0    0    0     0       0          0\n"
	      "  eth0:  100288    1943    2    0    0     0          0         0    86087    1132    5    0    0     0       0          0\n",
	      fp);
	fclose(fp);

	/* what the refresh thread does for a sandbox whose pid it knows */
	struct cri_pod *cp = cri_snapshot_find_pod(f->snap, U1);
	struct cadet_error err;
	assert_int_equal(pod_network_read(f->proc_root, 4242, 77 * SEC, &cp->network, &err), 0);
	cp->has_network = true;
	struct pod_network gone;
	assert_int_equal(pod_network_read(f->proc_root, 4243, 77 * SEC, &gone, &err), -1);
	assert_int_equal(err.errnum, ENOENT);

	collect_cycle(&f->store, SEC);
	struct cri_join_options opts = { .new_snapshot = true };
	struct cri_join_result res;
	assert_int_equal(cri_join_apply(f->snap, &f->store, &opts, &res, &err), 0);
	struct store_pod *pod = store_find_pod(&f->store, U1);
	assert_true(pod->has_network);
	assert_int_equal(pod->network.n_interfaces, 1); /* lo is not the pod's */
	const struct net_interface_stats *eth0 = pod_network_default(&pod->network);
	assert_non_null(eth0);
	assert_string_equal(eth0->name, "eth0");
	assert_int_equal(eth0->rx_bytes, 100288);
	assert_int_equal(eth0->rx_errors, 2);
	assert_int_equal(eth0->tx_bytes, 86087);
	assert_int_equal(eth0->tx_errors, 5);
	assert_int_equal(pod->network.realtime_ns, 77 * SEC);
}

static void test_net_dev_malformed(void **state)
{
	(void)state;
	struct pod_network net;
	struct cadet_error err;
	assert_int_equal(pod_network_parse("h1\nh2\n  eth0: 1 2 3\n", "x", &net, &err), -1);
	assert_int_equal(pod_network_parse("h1\nh2\n  eth0 1 2\n", "x", &net, &err), -1);
	assert_int_equal(pod_network_parse("h1\nh2\n", "x", &net, &err), 0);
	assert_int_equal(net.n_interfaces, 0);
	assert_null(pod_network_default(&net));
}

static void test_container_logs_usage(void **state)
{
	(void)state;
	char dir[] = "/tmp/cadet-cri-logs.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[96], rotated[96];
	snprintf(path, sizeof(path), "%s/0.log", dir);
	snprintf(rotated, sizeof(rotated), "%s/0.log.20261123-070000", dir);
	uint64_t expect = 0;
	const char *files[] = { path, rotated };
	for (int i = 0; i < 2; i++) {
		FILE *fp = fopen(files[i], "w");
		assert_non_null(fp);
		for (int j = 0; j < 1000; j++)
			fputs("2026-11-23T07:00:00.000000000Z stdout F a log line\n", fp);
		fclose(fp);
		struct stat st;
		assert_int_equal(stat(files[i], &st), 0);
		expect += (uint64_t)st.st_blocks * 512;
	}
	struct stat dst;
	assert_int_equal(stat(dir, &dst), 0);
	expect += (uint64_t)dst.st_blocks * 512;

	uint64_t used, inodes;
	struct cadet_error err;
	assert_int_equal(container_logs_usage(path, &used, &inodes, &err), 0);
	assert_int_equal(used, expect);
	assert_true(used >= 2 * 1000 * 50);
	assert_int_equal(inodes, 3); /* the directory and two files */

	unlink(path);
	unlink(rotated);
	rmdir(dir);
	assert_int_equal(container_logs_usage(path, &used, &inodes, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(container_logs_usage("0.log", &used, &inodes, &err), -1);
}

/* A runtime-only (VM-isolated) pod: one sandbox and one container, with
 * stats the runtime sampled at runtime_real_ns. */
static struct cri_snapshot *vm_snapshot(uint64_t runtime_real_ns, uint64_t cpu_ns, uint64_t taken_real_ns)
{
	Runtime__V1__PodSandbox sb;
	Runtime__V1__PodSandboxMetadata sm;
	make_sandbox(&sb, &sm, S2, U2, "vm-pod", true, 1500);
	Runtime__V1__PodSandbox *items[] = { &sb };
	Runtime__V1__ListPodSandboxResponse lp = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
	lp.n_items = 1;
	lp.items = items;
	Runtime__V1__ContainerMetadata cm = RUNTIME__V1__CONTAINER_METADATA__INIT;
	cm.name = "vmapp";
	Runtime__V1__Container k = RUNTIME__V1__CONTAINER__INIT;
	k.id = (char *)C2;
	k.pod_sandbox_id = (char *)S2;
	k.metadata = &cm;
	k.created_at = 2500;
	k.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	Runtime__V1__Container *ks[] = { &k };
	Runtime__V1__ListContainersResponse lc = RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;
	lc.n_containers = 1;
	lc.containers = ks;
	Runtime__V1__UInt64Value cpu = RUNTIME__V1__UINT64_VALUE__INIT, ws = cpu;
	cpu.value = cpu_ns;
	ws.value = 1 << 20;
	Runtime__V1__CpuUsage cu = RUNTIME__V1__CPU_USAGE__INIT;
	cu.usage_core_nano_seconds = &cpu;
	cu.timestamp = (int64_t)runtime_real_ns;
	Runtime__V1__MemoryUsage mu = RUNTIME__V1__MEMORY_USAGE__INIT;
	mu.working_set_bytes = &ws;
	mu.timestamp = (int64_t)runtime_real_ns;
	Runtime__V1__ContainerAttributes a = RUNTIME__V1__CONTAINER_ATTRIBUTES__INIT;
	a.id = (char *)C2;
	Runtime__V1__ContainerStats st = RUNTIME__V1__CONTAINER_STATS__INIT;
	st.attributes = &a;
	st.cpu = &cu;
	st.memory = &mu;
	Runtime__V1__ContainerStats *sts[] = { &st };
	Runtime__V1__ListContainerStatsResponse ls = RUNTIME__V1__LIST_CONTAINER_STATS_RESPONSE__INIT;
	ls.n_stats = 1;
	ls.stats = sts;
	struct cri_replies r = { .pods = &lp, .containers = &lc, .container_stats = &ls };
	struct cri_snapshot *snap;
	struct cadet_error err;
	if (cri_snapshot_build(&r, taken_real_ns, &snap, &err) != 0)
		fail_msg("%s", err.msg);
	return snap;
}

/* A runtime-only pod is in the push report of every cycle once it has a
 * rate, stamped with the runtime's own sample time: the collection runs
 * every second, the runtime is asked every 5 s (a third of the 15 s
 * window), and each snapshot's stats are 300 ms older than the snapshot. */
static void test_runtime_only_pod_in_every_report(void **state)
{
	(void)state;
	struct store s;
	struct cadet_error err;
	assert_int_equal(store_init(&s, 15 * SEC, SEC, &err), 0);
	struct cri_snapshot *snap = NULL;
	int reported = 0, reports = 0;
	for (uint64_t t = 1; t <= 22; t++) {
		walk_cycle(&s, t * SEC);
		bool fresh = t % 5 == 1;
		uint64_t runtime_real_ns = 0;
		if (fresh) {
			cri_snapshot_free(snap);
			runtime_real_ns = REAL0 + t * SEC - 300 * 1000000ULL;
			snap = vm_snapshot(runtime_real_ns, t * SEC / 2, REAL0 + t * SEC);
		}
		join_at(snap, &s, fresh, t * SEC);
		struct store_container *c = store_find_container(store_find_pod(&s, U2), C2);
		assert_non_null(c);
		if (fresh && c->series.at.realtime_ns != runtime_real_ns)
			fail_msg("cycle %llu: sample time %llu, the runtime's is %llu", (unsigned long long)t,
				 (unsigned long long)c->series.at.realtime_ns, (unsigned long long)runtime_real_ns);
		if (t < 7)
			continue; /* a rate needs the second snapshot */
		uint8_t *buf;
		size_t len;
		assert_int_equal(push_encode_report(&s, "node-1", "test", &buf, &len, &err), 0);
		Cadet__V1__NodeReport *report = cadet__v1__node_report__unpack(NULL, len, buf);
		assert_non_null(report);
		reports++;
		for (size_t i = 0; i < report->n_pods; i++)
			if (strcmp(report->pods[i]->uid, U2) == 0 && report->pods[i]->n_containers == 1)
				reported++;
		cadet__v1__node_report__free_unpacked(report, NULL);
		free(buf);
	}
	if (reported != reports)
		fail_msg("the runtime-only pod is in %d of %d reports", reported, reports);
	cri_snapshot_free(snap);
	store_free(&s);
}

/* A runtime that caches its stats gives the same sample in every snapshot:
 * the pod stays current as long as the snapshots list it, however old the
 * sample, and vanishes with the first snapshot without it. */
static void test_runtime_only_pod_with_cached_stats(void **state)
{
	(void)state;
	struct store s;
	struct cadet_error err;
	assert_int_equal(store_init(&s, 15 * SEC, SEC, &err), 0);
	struct cri_snapshot *snap = vm_snapshot(REAL0, SEC, REAL0 + SEC);
	for (uint64_t t = 1; t <= 40; t++) {
		walk_cycle(&s, t * SEC);
		join_at(snap, &s, t % 5 == 1, t * SEC);
		struct store_pod *p = store_find_pod(&s, U2);
		assert_non_null(p);
		assert_false(p->series.vanished);
		struct store_container *c = store_find_container(p, C2);
		assert_non_null(c);
		assert_false(c->series.vanished);
	}
	cri_snapshot_free(snap);
	/* the next snapshot runs no pod */
	struct cri_replies none = { 0 };
	assert_int_equal(cri_snapshot_build(&none, REAL0 + 41 * SEC, &snap, &err), 0);
	walk_cycle(&s, 41 * SEC);
	join_at(snap, &s, true, 41 * SEC);
	struct store_pod *p = store_find_pod(&s, U2);
	assert_non_null(p);
	struct store_container *c = store_find_container(p, C2);
	assert_non_null(c);
	assert_true(c->series.vanished);
	cri_snapshot_free(snap);
	store_free(&s);
}

/* A runtime that returns hostile names: invalid UTF-8, a surrogate, ESC and
 * a newline. The snapshot, the one way runtime text enters the agent,
 * holds them repaired (U+FFFD), so no writer sees the raw bytes. */
static void test_hostile_names_repaired(void **state)
{
	(void)state;
	Runtime__V1__PodSandbox sb;
	Runtime__V1__PodSandboxMetadata sm;
	make_sandbox(&sb, &sm, S1, U1, "web\xff\n\033[2J", true, 1000);
	sm.namespace_ = "c\xed\xa0\x80";
	Runtime__V1__PodSandbox__LabelsEntry label = RUNTIME__V1__POD_SANDBOX__LABELS_ENTRY__INIT;
	label.key = "app\x7f";
	label.value = "\xc0\xafx";
	Runtime__V1__PodSandbox__LabelsEntry *labels[] = { &label };
	sb.n_labels = 1;
	sb.labels = labels;
	Runtime__V1__PodSandbox *items[] = { &sb };
	Runtime__V1__ListPodSandboxResponse lp = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
	lp.n_items = 1;
	lp.items = items;
	Runtime__V1__ContainerMetadata cm = RUNTIME__V1__CONTAINER_METADATA__INIT;
	cm.name = "app\r\xe2\x82";
	Runtime__V1__Container k = RUNTIME__V1__CONTAINER__INIT;
	k.id = (char *)C1;
	k.pod_sandbox_id = (char *)S1;
	k.metadata = &cm;
	k.state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	Runtime__V1__Container *ks[] = { &k };
	Runtime__V1__ListContainersResponse lc = RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;
	lc.n_containers = 1;
	lc.containers = ks;
	Runtime__V1__ListPodSandboxResponse *pods = wire_round_trip(&lp.base);
	Runtime__V1__ListContainersResponse *containers = wire_round_trip(&lc.base);
	struct cri_replies r = { .pods = pods, .containers = containers };
	struct cri_snapshot *snap = NULL;
	struct cadet_error err;
	assert_int_equal(cri_snapshot_build(&r, 4000, &snap, &err), 0);
	const struct cri_pod *p = cri_snapshot_find_pod(snap, U1);
	assert_non_null(p);
	assert_string_equal(p->name, "web\uFFFD\uFFFD\uFFFD[2J");
	assert_string_equal(p->namespace, "c\uFFFD\uFFFD\uFFFD");
	assert_int_equal(p->n_labels, 1);
	assert_string_equal(p->labels[0].key, "app\uFFFD");
	assert_string_equal(p->labels[0].value, "\uFFFD\uFFFDx");
	const struct cri_container *c = cri_snapshot_find_container(snap, C1);
	assert_non_null(c);
	assert_string_equal(c->name, "app\uFFFD\uFFFD\uFFFD");
	cri_snapshot_free(snap);
	protobuf_c_message_free_unpacked(&pods->base, NULL);
	protobuf_c_message_free_unpacked(&containers->base, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snapshot_lookups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_names_and_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_snapshot_fills_only_gaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_pod_not_double_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pod_network_from_sandbox_process, setup, teardown),
		cmocka_unit_test(test_net_dev_malformed),
		cmocka_unit_test(test_container_logs_usage),
		cmocka_unit_test(test_runtime_only_pod_in_every_report),
		cmocka_unit_test(test_runtime_only_pod_with_cached_stats),
		cmocka_unit_test(test_hostile_names_repaired),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
