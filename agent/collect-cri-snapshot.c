/* collect-cri-snapshot.c: builds a snapshot from CRI replies (see collect-cri-snapshot.h).
 *
 * Building copies what the agent needs out of the protobuf-c messages,
 * sorts, and then attaches the optional stats to their pods and containers
 * by id. Any allocation failure frees the half-built snapshot. */
#include "agent/collect-cri-snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

static void free_labels(struct label *labels, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(labels[i].key);
		free(labels[i].value);
	}
	free(labels);
}

void cri_snapshot_free(struct cri_snapshot *snap)
{
	if (!snap)
		return;
	for (size_t i = 0; i < snap->n_pods; i++) {
		struct cri_pod *p = &snap->pods[i];
		free(p->sandbox_id);
		free(p->uid);
		free(p->name);
		free(p->namespace);
		free_labels(p->labels, p->n_labels);
	}
	free(snap->pods);
	for (size_t i = 0; i < snap->n_containers; i++) {
		struct cri_container *c = &snap->containers[i];
		free(c->id);
		free(c->sandbox_id);
		free(c->name);
		free(c->log_path);
	}
	free(snap->containers);
	free(snap->by_sandbox_id);
	free(snap->image_fs_mountpoint);
	free(snap);
}

static char *dup_str(const char *s, bool *failed)
{
	char *d = strdup(s ? s : "");
	if (!d)
		*failed = true;
	return d;
}

/* A name or label from the runtime, repaired to valid UTF-8 without
 * control characters: the one entry point of runtime text into the agent,
 * so no writer ever sees raw bytes. */
static char *dup_name(const char *s, bool *failed)
{
	char *d = utf8_sanitize_dup(s);
	if (!d)
		*failed = true;
	return d;
}

/* protobuf-c map entries of every map<string,string> share this layout. */
struct map_entry {
	ProtobufCMessage base;
	char *key;
	char *value;
};

static struct label *copy_map(void *const *entries, size_t n, size_t *n_out, bool *failed)
{
	*n_out = 0;
	if (n == 0)
		return NULL;
	struct label *labels = calloc(n, sizeof(*labels));
	if (!labels) {
		*failed = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct map_entry *e = entries[i];
		labels[i].key = dup_name(e->key, failed);
		labels[i].value = dup_name(e->value, failed);
	}
	*n_out = n;
	return labels;
}

static int cmp_pods(const void *a, const void *b)
{
	const struct cri_pod *x = a, *y = b;
	int r = strcmp(x->uid, y->uid);
	if (r != 0)
		return r;
	if (x->ready != y->ready)
		return x->ready ? -1 : 1;
	if (x->created_ns != y->created_ns)
		return x->created_ns > y->created_ns ? -1 : 1;
	return strcmp(x->sandbox_id, y->sandbox_id);
}

static int cmp_containers(const void *a, const void *b)
{
	const struct cri_container *x = a, *y = b;
	return strcmp(x->id, y->id);
}

static int cmp_sandbox_ids(const void *a, const void *b)
{
	const struct cri_pod *const *x = a, *const *y = b;
	return strcmp((*x)->sandbox_id, (*y)->sandbox_id);
}

static uint64_t nonneg_ns(int64_t ns)
{
	return ns > 0 ? (uint64_t)ns : 0;
}

void cri_stats_from_cpu_memory(const Runtime__V1__CpuUsage *cpu, const Runtime__V1__MemoryUsage *memory,
			       struct sample *out)
{
	memset(out, 0, sizeof(*out));
	if (cpu && cpu->usage_core_nano_seconds) {
		out->have |= SAMPLE_HAVE_CPU;
		out->cpu_usage_ns = cpu->usage_core_nano_seconds->value;
	}
	if (memory && memory->working_set_bytes) {
		out->have |= SAMPLE_HAVE_MEMORY;
		/* The runtime gives the working set; kept as usage less the
		 * inactive file pages it implies, so sample_derive() gives it back. */
		uint64_t ws = memory->working_set_bytes->value;
		out->memory_usage_bytes = memory->usage_bytes && memory->usage_bytes->value >= ws
						  ? memory->usage_bytes->value
						  : ws;
		out->memory_inactive_file_bytes = out->memory_usage_bytes - ws;
		if (memory->rss_bytes)
			out->memory_rss_bytes = memory->rss_bytes->value;
		if (memory->page_faults)
			out->memory_page_faults = memory->page_faults->value;
		if (memory->major_page_faults)
			out->memory_major_page_faults = memory->major_page_faults->value;
		/* CRI gives limit - working set; the limit is what the store keeps. */
		if (memory->available_bytes) {
			out->have |= SAMPLE_HAVE_MEMORY_LIMIT;
			out->memory_limit_bytes = memory->available_bytes->value + ws;
		}
		sample_derive(out);
	}
}

static uint64_t stats_time_ns(const Runtime__V1__CpuUsage *cpu, const Runtime__V1__MemoryUsage *memory,
			      uint64_t fallback)
{
	if (cpu && cpu->timestamp > 0)
		return (uint64_t)cpu->timestamp;
	if (memory && memory->timestamp > 0)
		return (uint64_t)memory->timestamp;
	return fallback;
}

static void copy_network(const Runtime__V1__NetworkUsage *net, uint64_t fallback_ns, struct pod_network *out)
{
	memset(out, 0, sizeof(*out));
	out->realtime_ns = net->timestamp > 0 ? (uint64_t)net->timestamp : fallback_ns;
	const Runtime__V1__NetworkInterfaceUsage *all[1 + POD_NETWORK_MAX_INTERFACES];
	size_t n = 0;
	if (net->default_interface)
		all[n++] = net->default_interface;
	for (size_t i = 0; i < net->n_interfaces && n < sizeof(all) / sizeof(all[0]); i++)
		all[n++] = net->interfaces[i];
	for (size_t i = 0; i < n && out->n_interfaces < POD_NETWORK_MAX_INTERFACES; i++) {
		struct net_interface_stats *ifs = &out->interfaces[out->n_interfaces++];
		snprintf(ifs->name, sizeof(ifs->name), "%s", all[i]->name ? all[i]->name : "");
		ifs->rx_bytes = all[i]->rx_bytes ? all[i]->rx_bytes->value : 0;
		ifs->rx_errors = all[i]->rx_errors ? all[i]->rx_errors->value : 0;
		ifs->tx_bytes = all[i]->tx_bytes ? all[i]->tx_bytes->value : 0;
		ifs->tx_errors = all[i]->tx_errors ? all[i]->tx_errors->value : 0;
	}
}

static void attach_container_stats(struct cri_snapshot *snap, const Runtime__V1__ContainerStats *cs)
{
	if (!cs->attributes || !cs->attributes->id)
		return;
	struct cri_container *c = (struct cri_container *)cri_snapshot_find_container(snap, cs->attributes->id);
	if (!c)
		return; /* created after ListContainers: the next refresh has it */
	cri_stats_from_cpu_memory(cs->cpu, cs->memory, &c->stats);
	c->has_stats = c->stats.have != 0;
	c->stats_realtime_ns = stats_time_ns(cs->cpu, cs->memory, snap->taken_realtime_ns);
	const Runtime__V1__FilesystemUsage *fs = cs->writable_layer;
	if (fs && fs->used_bytes) {
		c->has_rootfs = true;
		c->rootfs_used_bytes = fs->used_bytes->value;
		c->rootfs_inodes_used = fs->inodes_used ? fs->inodes_used->value : 0;
	}
}

static void attach_pod_stats(struct cri_snapshot *snap, const Runtime__V1__PodSandboxStats *ps)
{
	if (!ps->attributes || !ps->attributes->id || !ps->linux)
		return;
	struct cri_pod *p = (struct cri_pod *)cri_snapshot_find_sandbox(snap, ps->attributes->id);
	if (!p)
		return;
	const Runtime__V1__LinuxPodSandboxStats *l = ps->linux;
	cri_stats_from_cpu_memory(l->cpu, l->memory, &p->stats);
	if (l->process && l->process->process_count) {
		p->stats.have |= SAMPLE_HAVE_PIDS;
		p->stats.pids_current = l->process->process_count->value;
	}
	p->has_stats = p->stats.have != 0;
	p->stats_realtime_ns = stats_time_ns(l->cpu, l->memory, snap->taken_realtime_ns);
	if (l->network && (l->network->default_interface || l->network->n_interfaces > 0)) {
		p->has_network = true;
		copy_network(l->network, snap->taken_realtime_ns, &p->network);
	}
	/* Containers listed here carry the same stats as ListContainerStats;
	 * they fill in when that call failed. */
	for (size_t i = 0; i < l->n_containers; i++) {
		const Runtime__V1__ContainerStats *cs = l->containers[i];
		if (!cs->attributes || !cs->attributes->id)
			continue;
		const struct cri_container *c = cri_snapshot_find_container(snap, cs->attributes->id);
		if (c && !c->has_stats)
			attach_container_stats(snap, cs);
	}
}

int cri_snapshot_build(const struct cri_replies *replies, uint64_t taken_realtime_ns, struct cri_snapshot **out,
		       struct cadet_error *err)
{
	const Runtime__V1__ListPodSandboxResponse *lp = replies->pods;
	const Runtime__V1__ListContainersResponse *lc = replies->containers;
	struct cri_snapshot *snap = calloc(1, sizeof(*snap));
	if (!snap)
		return cadet_error_set(err, ENOMEM, "CRI snapshot");
	snap->taken_realtime_ns = taken_realtime_ns;
	bool failed = false;

	size_t n_items = lp ? lp->n_items : 0;
	if (n_items > 0) {
		snap->pods = calloc(n_items, sizeof(*snap->pods));
		snap->by_sandbox_id = calloc(n_items, sizeof(*snap->by_sandbox_id));
		if (!snap->pods || !snap->by_sandbox_id)
			failed = true;
	}
	for (size_t i = 0; !failed && i < n_items; i++) {
		const Runtime__V1__PodSandbox *ps = lp->items[i];
		if (!ps->id || !ps->id[0] || !ps->metadata || !ps->metadata->uid || !ps->metadata->uid[0])
			continue; /* nothing to join on */
		struct cri_pod *p = &snap->pods[snap->n_pods++];
		p->sandbox_id = dup_str(ps->id, &failed);
		p->uid = dup_str(ps->metadata->uid, &failed);
		p->name = dup_name(ps->metadata->name, &failed);
		p->namespace = dup_name(ps->metadata->namespace_, &failed);
		p->labels = copy_map((void *const *)ps->labels, ps->n_labels, &p->n_labels, &failed);
		p->created_ns = nonneg_ns(ps->created_at);
		p->ready = ps->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
	}

	size_t n_ctrs = lc ? lc->n_containers : 0;
	if (!failed && n_ctrs > 0) {
		snap->containers = calloc(n_ctrs, sizeof(*snap->containers));
		if (!snap->containers)
			failed = true;
	}
	for (size_t i = 0; !failed && i < n_ctrs; i++) {
		const Runtime__V1__Container *k = lc->containers[i];
		if (!k->id || !k->id[0])
			continue;
		struct cri_container *c = &snap->containers[snap->n_containers++];
		c->id = dup_str(k->id, &failed);
		c->sandbox_id = dup_str(k->pod_sandbox_id, &failed);
		c->name = dup_name(k->metadata ? k->metadata->name : "", &failed);
		c->created_ns = nonneg_ns(k->created_at);
		c->state = k->state;
	}
	if (failed) {
		cri_snapshot_free(snap);
		return cadet_error_set(err, ENOMEM, "CRI snapshot");
	}

	if (snap->n_pods > 1)
		qsort(snap->pods, snap->n_pods, sizeof(*snap->pods), cmp_pods);
	if (snap->n_containers > 1)
		qsort(snap->containers, snap->n_containers, sizeof(*snap->containers), cmp_containers);
	for (size_t i = 0; i < snap->n_pods; i++)
		snap->by_sandbox_id[i] = &snap->pods[i];
	if (snap->n_pods > 1)
		qsort(snap->by_sandbox_id, snap->n_pods, sizeof(*snap->by_sandbox_id), cmp_sandbox_ids);

	if (replies->container_stats) {
		for (size_t i = 0; i < replies->container_stats->n_stats; i++)
			attach_container_stats(snap, replies->container_stats->stats[i]);
	}
	if (replies->pod_stats) {
		for (size_t i = 0; i < replies->pod_stats->n_stats; i++)
			attach_pod_stats(snap, replies->pod_stats->stats[i]);
	}
	const Runtime__V1__ImageFsInfoResponse *ifs = replies->image_fs;
	if (ifs && ifs->n_image_filesystems > 0 && ifs->image_filesystems[0]->used_bytes) {
		/* kubelet reports the first image filesystem as imageFs */
		const Runtime__V1__FilesystemUsage *fs = ifs->image_filesystems[0];
		snap->image_fs_mountpoint = dup_str(fs->fs_id ? fs->fs_id->mountpoint : "", &failed);
		if (failed) {
			cri_snapshot_free(snap);
			return cadet_error_set(err, ENOMEM, "CRI snapshot");
		}
		snap->has_image_fs = true;
		snap->image_fs_used_bytes = fs->used_bytes->value;
		snap->image_fs_inodes_used = fs->inodes_used ? fs->inodes_used->value : 0;
		snap->image_fs_realtime_ns = fs->timestamp > 0 ? (uint64_t)fs->timestamp : taken_realtime_ns;
	}
	*out = snap;
	return 0;
}

struct cri_pod *cri_snapshot_find_pod(const struct cri_snapshot *snap, const char *uid)
{
	/* lower bound: the first sandbox of this uid is the best one */
	size_t lo = 0, hi = snap->n_pods;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(snap->pods[mid].uid, uid) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < snap->n_pods && strcmp(snap->pods[lo].uid, uid) == 0)
		return &snap->pods[lo];
	return NULL;
}

const struct cri_pod *cri_snapshot_find_sandbox(const struct cri_snapshot *snap, const char *sandbox_id)
{
	size_t lo = 0, hi = snap->n_pods;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(snap->by_sandbox_id[mid]->sandbox_id, sandbox_id);
		if (r == 0)
			return snap->by_sandbox_id[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct cri_container *cri_snapshot_find_container(const struct cri_snapshot *snap, const char *id)
{
	size_t lo = 0, hi = snap->n_containers;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(snap->containers[mid].id, id);
		if (r == 0)
			return &snap->containers[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
