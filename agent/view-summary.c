/* view-summary.c: kubelet's Summary API (stats/v1alpha1) as JSON, built
 * with json-c. Field names, nesting and omission follow kubelet's types.go:
 * optional numbers are left out when unknown, times are RFC 3339 UTC,
 * availableBytes is limit minus working set and absent without a limit. */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "agent/view-prom-format.h"
#include "agent/views.h"
#include "common/cleanup.h"
#include "common/timefmt.h"

/* A JSON tree under construction, released on every early return; the
 * finished tree is handed on with TAKE_PTR. */
static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static int add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return -1;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static int add_u64(struct json_object *obj, const char *key, uint64_t v)
{
	return add(obj, key, json_object_new_uint64(v));
}

static int add_str(struct json_object *obj, const char *key, const char *v)
{
	return add(obj, key, json_object_new_string(v));
}

static int add_time(struct json_object *obj, const char *key, uint64_t realtime_ns)
{
	char t[32];
	time_format_rfc3339(realtime_ns, t, sizeof(t));
	return add_str(obj, key, t);
}

/* A double written in its shortest round-trip form (1.42, not
 * 1.4199999999999999, which json-c's default %.17g would give). */
static struct json_object *new_double(double v)
{
	char text[40];
	prom_format_float(v, text, sizeof(text));
	return json_object_new_double_s(v, text);
}

static struct json_object *psi_json(const struct psi_stats *psi)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	const struct psi_line *lines[2] = { &psi->full, &psi->some };
	const char *names[2] = { "full", "some" };
	for (int i = 0; i < 2; i++) {
		struct json_object *l = json_object_new_object();
		if (add(o, names[i], l) < 0 || add_u64(l, "total", lines[i]->total_us) < 0 ||
		    add(l, "avg10", new_double(lines[i]->avg10)) < 0 ||
		    add(l, "avg60", new_double(lines[i]->avg60)) < 0 ||
		    add(l, "avg300", new_double(lines[i]->avg300)) < 0)
			return NULL;
	}
	return TAKE_PTR(o);
}

static int add_cpu(struct json_object *parent, const struct series *se, bool with_psi)
{
	const struct sample *st = &se->latest;
	if (!(st->have & SAMPLE_HAVE_CPU))
		return 0;
	struct json_object *cpu = json_object_new_object();
	if (add(parent, "cpu", cpu) < 0 || add_time(cpu, "time", se->at.realtime_ns) < 0)
		return -1;
	if (se->has_rate && add_u64(cpu, "usageNanoCores", se->usage_nano_cores) < 0)
		return -1;
	if (add_u64(cpu, "usageCoreNanoSeconds", st->cpu_usage_ns) < 0)
		return -1;
	if (with_psi && (st->have & SAMPLE_HAVE_CPU_PSI) && add(cpu, "psi", psi_json(&st->cpu_psi)) < 0)
		return -1;
	return 0;
}

/* limit_bytes 0 = no limit known */
static int add_memory(struct json_object *parent, const struct series *se, uint64_t limit_bytes, bool with_psi)
{
	const struct sample *st = &se->latest;
	if (!(st->have & SAMPLE_HAVE_MEMORY))
		return 0;
	struct json_object *mem = json_object_new_object();
	if (add(parent, "memory", mem) < 0 || add_time(mem, "time", se->at.realtime_ns) < 0)
		return -1;
	if (!limit_bytes && (st->have & SAMPLE_HAVE_MEMORY_LIMIT))
		limit_bytes = st->memory_limit_bytes;
	if (limit_bytes) {
		uint64_t avail = limit_bytes > st->memory_working_set_bytes ? limit_bytes - st->memory_working_set_bytes
									    : 0;
		if (add_u64(mem, "availableBytes", avail) < 0)
			return -1;
	}
	if (add_u64(mem, "usageBytes", st->memory_usage_bytes) < 0 ||
	    add_u64(mem, "workingSetBytes", st->memory_working_set_bytes) < 0 ||
	    add_u64(mem, "rssBytes", st->memory_rss_bytes) < 0 ||
	    add_u64(mem, "pageFaults", st->memory_page_faults) < 0 ||
	    add_u64(mem, "majorPageFaults", st->memory_major_page_faults) < 0)
		return -1;
	if (with_psi && (st->have & SAMPLE_HAVE_MEMORY_PSI) && add(mem, "psi", psi_json(&st->memory_psi)) < 0)
		return -1;
	return 0;
}

static int add_io(struct json_object *parent, const struct series *se)
{
	const struct sample *st = &se->latest;
	if (!(st->have & SAMPLE_HAVE_IO_PSI))
		return 0;
	struct json_object *io = json_object_new_object();
	if (add(parent, "io", io) < 0 || add_time(io, "time", se->at.realtime_ns) < 0 ||
	    add(io, "psi", psi_json(&st->io_psi)) < 0)
		return -1;
	return 0;
}

static int add_swap(struct json_object *parent, const struct series *se)
{
	const struct sample *st = &se->latest;
	if (!(st->have & SAMPLE_HAVE_SWAP))
		return 0;
	struct json_object *swap = json_object_new_object();
	if (add(parent, "swap", swap) < 0 || add_time(swap, "time", se->at.realtime_ns) < 0 ||
	    add_u64(swap, "swapUsageBytes", st->swap_usage_bytes) < 0)
		return -1;
	return 0;
}

static struct json_object *container_json(const struct store_container *c, bool full)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	if (add_str(o, "name", view_container_name(c)) < 0 ||
	    add_time(o, "startTime", view_container_start_ns(c)) < 0 ||
	    add_cpu(o, &c->series, full) < 0 || add_memory(o, &c->series, 0, full) < 0)
		return NULL;
	if (full) {
		if (c->meta.has_rootfs) {
			struct json_object *fs = json_object_new_object();
			if (add(o, "rootfs", fs) < 0 || add_time(fs, "time", c->series.at.realtime_ns) < 0 ||
			    add_u64(fs, "usedBytes", c->meta.rootfs_used_bytes) < 0 ||
			    add_u64(fs, "inodesUsed", c->meta.rootfs_inodes_used) < 0)
				return NULL;
		}
		if (c->meta.has_logs) {
			struct json_object *fs = json_object_new_object();
			if (add(o, "logs", fs) < 0 || add_time(fs, "time", c->series.at.realtime_ns) < 0 ||
			    add_u64(fs, "usedBytes", c->meta.logs_used_bytes) < 0)
				return NULL;
		}
		if (add_io(o, &c->series) < 0 || add_swap(o, &c->series) < 0)
			return NULL;
	}
	return TAKE_PTR(o);
}

/* kubelet's InterfaceStats fields, into obj (an interface, or the
 * NetworkStats that inlines the default interface). */
static int add_interface(struct json_object *obj, const struct net_interface_stats *ifs)
{
	return add_str(obj, "name", ifs->name) < 0 || add_u64(obj, "rxBytes", ifs->rx_bytes) < 0 ||
			       add_u64(obj, "rxErrors", ifs->rx_errors) < 0 || add_u64(obj, "txBytes", ifs->tx_bytes) < 0 ||
			       add_u64(obj, "txErrors", ifs->tx_errors) < 0
		       ? -1
		       : 0;
}

/* Pod network from the CRI join (the pod's network namespace). */
static int add_pod_network(struct json_object *parent, const struct store_pod *p)
{
	const struct net_interface_stats *def = pod_network_default(&p->network);
	if (!p->has_network || !def)
		return 0;
	struct json_object *net = json_object_new_object();
	struct json_object *list = NULL;
	if (add(parent, "network", net) < 0 || add_time(net, "time", p->network.realtime_ns) < 0 ||
	    add_interface(net, def) < 0)
		return -1;
	list = json_object_new_array();
	if (add(net, "interfaces", list) < 0)
		return -1;
	for (size_t i = 0; i < p->network.n_interfaces; i++) {
		struct json_object *ifo = json_object_new_object();
		if (!ifo || json_object_array_add(list, ifo) < 0) {
			json_object_put(ifo);
			return -1;
		}
		if (add_interface(ifo, &p->network.interfaces[i]) < 0)
			return -1;
	}
	return 0;
}

/* node.runtime.imageFs: usage from the runtime, capacity from statvfs. */
static int add_runtime_image_fs(struct json_object *node, const struct store *s)
{
	if (!s->has_image_fs)
		return 0;
	const struct image_fs_stats *fs = &s->image_fs;
	struct json_object *runtime = json_object_new_object();
	struct json_object *image_fs = json_object_new_object();
	if (add(node, "runtime", runtime) < 0 || add(runtime, "imageFs", image_fs) < 0 ||
	    add_time(image_fs, "time", fs->realtime_ns) < 0)
		return -1;
	if (fs->has_capacity &&
	    (add_u64(image_fs, "availableBytes", fs->available_bytes) < 0 ||
	     add_u64(image_fs, "capacityBytes", fs->capacity_bytes) < 0))
		return -1;
	if (add_u64(image_fs, "usedBytes", fs->used_bytes) < 0)
		return -1;
	if (fs->has_capacity &&
	    (add_u64(image_fs, "inodesFree", fs->inodes_free) < 0 || add_u64(image_fs, "inodes", fs->inodes) < 0))
		return -1;
	return add_u64(image_fs, "inodesUsed", fs->inodes_used);
}

static struct json_object *pod_json(const struct store_pod *p, bool full)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	struct json_object *ref = json_object_new_object();
	struct json_object *containers = NULL;
	if (add(o, "podRef", ref) < 0 || add_str(ref, "name", view_pod_name(p)) < 0 ||
	    add_str(ref, "namespace", view_pod_namespace(p)) < 0 || add_str(ref, "uid", p->uid) < 0 ||
	    add_time(o, "startTime", view_pod_start_ns(p)) < 0)
		return NULL;
	containers = json_object_new_array();
	if (add(o, "containers", containers) < 0)
		return NULL;
	for (size_t i = 0; i < p->n_containers; i++) {
		if (!view_container_visible(&p->containers[i]))
			continue;
		struct json_object *c = container_json(&p->containers[i], full);
		if (!c || json_object_array_add(containers, c) < 0) {
			json_object_put(c);
			return NULL;
		}
	}
	if (p->series.has_sample) {
		if (add_cpu(o, &p->series, full) < 0 || add_memory(o, &p->series, 0, full) < 0)
			return NULL;
		if (full) {
			if (add_io(o, &p->series) < 0 || add_swap(o, &p->series) < 0)
				return NULL;
			if (p->series.latest.have & SAMPLE_HAVE_PIDS) {
				struct json_object *ps = json_object_new_object();
				if (add(o, "process_stats", ps) < 0 ||
				    add_u64(ps, "process_count", p->series.latest.pids_current) < 0)
					return NULL;
			}
		}
	}
	if (full && add_pod_network(o, p) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static int add_node(struct json_object *root, const struct store *s, const char *node_name, bool full)
{
	const struct node_info *ni = &s->node_info;
	struct json_object *node = json_object_new_object();
	if (add(root, "node", node) < 0 || add_str(node, "nodeName", node_name) < 0)
		return -1;
	if (s->kubepods.has_sample) {
		struct json_object *sys = json_object_new_array();
		struct json_object *pods = json_object_new_object();
		if (add(node, "systemContainers", sys) < 0 || !pods) {
			json_object_put(pods);
			return -1;
		}
		if (json_object_array_add(sys, pods) < 0) {
			json_object_put(pods);
			return -1;
		}
		if (add_str(pods, "name", "pods") < 0 || add_time(pods, "startTime", ni->boot_time_ns) < 0 ||
		    add_cpu(pods, &s->kubepods, full) < 0 || add_memory(pods, &s->kubepods, 0, full) < 0)
			return -1;
	}
	if (add_time(node, "startTime", ni->boot_time_ns) < 0 || add_cpu(node, &s->node, full) < 0 ||
	    add_memory(node, &s->node, ni->memory_capacity_bytes, full) < 0)
		return -1;
	if (!full)
		return 0;
	if (ni->has_fs) {
		struct json_object *fs = json_object_new_object();
		if (add(node, "fs", fs) < 0 || add_time(fs, "time", s->node.at.realtime_ns) < 0 ||
		    add_u64(fs, "availableBytes", ni->fs_available_bytes) < 0 ||
		    add_u64(fs, "capacityBytes", ni->fs_capacity_bytes) < 0 ||
		    add_u64(fs, "usedBytes", ni->fs_used_bytes) < 0 ||
		    add_u64(fs, "inodesFree", ni->fs_inodes_free) < 0 || add_u64(fs, "inodes", ni->fs_inodes) < 0 ||
		    add_u64(fs, "inodesUsed", ni->fs_inodes - ni->fs_inodes_free) < 0)
			return -1;
	}
	if (ni->has_rlimit) {
		struct json_object *rl = json_object_new_object();
		if (add(node, "rlimit", rl) < 0 || add_time(rl, "time", s->node.at.realtime_ns) < 0 ||
		    add_u64(rl, "maxpid", ni->rlimit_max_pid) < 0 || add_u64(rl, "curproc", ni->rlimit_cur_proc) < 0)
			return -1;
	}
	if (ni->has_swap) {
		struct json_object *sw = json_object_new_object();
		if (add(node, "swap", sw) < 0 || add_time(sw, "time", s->node.at.realtime_ns) < 0 ||
		    add_u64(sw, "swapAvailableBytes", ni->swap_capacity_bytes - ni->swap_usage_bytes) < 0 ||
		    add_u64(sw, "swapUsageBytes", ni->swap_usage_bytes) < 0)
			return -1;
	}
	if (add_runtime_image_fs(node, s) < 0)
		return -1;
	return add_io(node, &s->node);
}

int view_summary_render(const struct store *s, const char *node_name, bool only_cpu_and_memory,
			struct strbuf *out, struct cadet_error *err)
{
	bool full = !only_cpu_and_memory;
	_cleanup_json_ struct json_object *root = json_object_new_object();
	if (!root || add_node(root, s, node_name, full) < 0)
		return cadet_error_set(err, ENOMEM, "rendering /stats/summary");
	struct json_object *pods = json_object_new_array();
	if (add(root, "pods", pods) < 0)
		return cadet_error_set(err, ENOMEM, "rendering /stats/summary");
	for (size_t i = 0; i < s->n_pods; i++) {
		struct json_object *p = pod_json(&s->pods[i], full);
		if (!p || json_object_array_add(pods, p) < 0) {
			json_object_put(p);
			return cadet_error_set(err, ENOMEM, "rendering /stats/summary");
		}
	}
	strbuf_puts(out, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (strbuf_failed(out))
		return cadet_error_set(err, ENOMEM, "rendering /stats/summary");
	return 0;
}
