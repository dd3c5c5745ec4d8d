/* cycle.c: the collection cycle (see cycle.h). Tracked cgroups live in
 * an array sorted by path; a discovery scan builds the new set, keeping the
 * open handles (and last full read) of cgroups that are still there,
 * opening new ones and closing the rest. */
#include "agent/cycle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/collect-bpf-usage.h"
#include "agent/collect-cgroup-path.h"
#include "agent/collect-cgroup.h"
#include "agent/collect-discovery.h"
#include "agent/collect-node.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/timefmt.h"

struct tracked {
	char *relpath;
	struct cgroup_identity id;
	uint64_t created_ns;
	struct cgroup_handle *handle;
	bool error_logged;
	bool have_full;             /* last_full holds a full read */
	uint64_t last_full_ns;      /* monotonic time of that read */
	struct sample last_full;
};

struct tracked_set {
	struct tracked *items;
	size_t n, cap;
};

struct collection {
	struct cgroup_collector *cgroups;
	struct node_reader *node;
	struct cgroup_handle *root;
	struct discovery *discovery;
	struct tracked_set tracked;
	struct collect_counters counters;
	bool node_error_logged;
	bool root_error_logged;
	uint64_t full_read_interval_ns;
	uint64_t now_ns; /* start of the running cycle */
	bool want_bpf_usage;
	struct bpf_usage *bpf_usage; /* NULL: usage-only reads from files */
	bool bpf_usage_fresh;        /* walked this cycle */
	bool bpf_usage_logged;
	char *cgroup_root;
};

static void tracked_set_clear(struct tracked_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->items[i].relpath);
		cgroup_handle_close(set->items[i].handle);
	}
	free(set->items);
	memset(set, 0, sizeof(*set));
}

int collection_open(const struct collect_options *opts, struct collection **out, struct cadet_error *err)
{
	struct collection *c = calloc(1, sizeof(*c));
	if (!c)
		return cadet_error_set(err, ENOMEM, "collection");
	c->full_read_interval_ns = opts->full_read_interval_ns;
	c->want_bpf_usage = opts->bpf_usage;
	c->cgroup_root = strdup(opts->cgroup_root);
	if (!c->cgroup_root) {
		free(c);
		return cadet_error_set(err, ENOMEM, "collection");
	}
	if (cgroup_collector_open(opts->cgroup_root, &c->cgroups, err) < 0 ||
	    node_reader_open(opts->proc_root, opts->fs_path, &c->node, err) < 0 ||
	    cgroup_handle_open(c->cgroups, "", &c->root, err) < 0 ||
	    discovery_open(cgroup_collector_tree(c->cgroups), opts->rescan_interval_ns, &c->discovery, err) < 0) {
		collection_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void collection_free(struct collection *c)
{
	if (!c)
		return;
	tracked_set_clear(&c->tracked);
	bpf_usage_free(c->bpf_usage);
	free(c->cgroup_root);
	discovery_free(c->discovery);
	cgroup_handle_close(c->root);
	node_reader_free(c->node);
	cgroup_collector_free(c->cgroups);
	free(c);
}

const char *collection_layout_name(const struct collection *c)
{
	return cgroup_layout_name(cgroup_collector_layout(c->cgroups));
}

bool collection_cpu_from_cgroup2(const struct collection *c)
{
	return cgroup_collector_layout(c->cgroups) == CGROUP_LAYOUT_V2;
}

void collection_request_scan(struct collection *c)
{
	discovery_request_scan(c->discovery);
}

const struct collect_counters *collection_counters(const struct collection *c)
{
	return &c->counters;
}

struct scan_ctx {
	struct collection *c;
	struct tracked_set next;
};

static struct tracked *find_tracked(struct tracked_set *set, const char *relpath)
{
	size_t lo = 0, hi = set->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(set->items[mid].relpath, relpath);
		if (r == 0)
			return &set->items[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int scan_visit(void *vctx, const char *relpath, const struct cgroup_identity *id, uint64_t created_ns,
		      struct cadet_error *err)
{
	struct scan_ctx *ctx = vctx;
	struct tracked_set *next = &ctx->next;
	if (next->n == next->cap) {
		size_t cap = next->cap ? next->cap * 2 : 64;
		struct tracked *items = realloc(next->items, cap * sizeof(*items));
		if (!items)
			return cadet_error_set(err, ENOMEM, "tracked cgroups");
		next->items = items;
		next->cap = cap;
	}
	struct tracked t = { .id = *id, .created_ns = created_ns };
	t.relpath = strdup(relpath);
	if (!t.relpath)
		return cadet_error_set(err, ENOMEM, "tracked cgroups");
	next->items[next->n++] = t;
	return 0;
}

static int cmp_tracked(const void *a, const void *b)
{
	const struct tracked *x = a, *y = b;
	return strcmp(x->relpath, y->relpath);
}

/* Gives each cgroup of the new set its kept files: moved from the old set
 * when it was tracked before, opened otherwise. */
static void adopt_handles(struct collection *c, struct tracked_set *next)
{
	size_t kept = 0;
	for (size_t i = 0; i < next->n; i++) {
		struct tracked *t = &next->items[i];
		struct tracked *old = find_tracked(&c->tracked, t->relpath);
		if (old && old->handle) {
			t->handle = TAKE_PTR(old->handle);
			t->error_logged = old->error_logged;
			t->have_full = old->have_full;
			t->last_full_ns = old->last_full_ns;
			t->last_full = old->last_full;
		} else {
			struct cadet_error open_err;
			if (cgroup_handle_open(c->cgroups, t->relpath, &t->handle, &open_err) < 0) {
				if (!cgroup_error_is_vanished(open_err.errnum)) {
					log_warn("cannot track cgroup %s: %s", t->relpath, open_err.msg);
					c->counters.read_errors++;
				}
				free(t->relpath);
				continue;
			}
		}
		next->items[kept++] = *t;
	}
	next->n = kept;
}

static int rescan(struct collection *c, uint64_t now_ns, struct cadet_error *err)
{
	struct scan_ctx ctx = { .c = c };
	if (discovery_scan(c->discovery, now_ns, scan_visit, &ctx, err) < 0) {
		/* keep tracking what we had; the next cycle scans again */
		tracked_set_clear(&ctx.next);
		collection_request_scan(c);
		return -1;
	}
	/* the walk visits parents before children, but not in strcmp order */
	if (ctx.next.n > 1)
		qsort(ctx.next.items, ctx.next.n, sizeof(*ctx.next.items), cmp_tracked);
	adopt_handles(c, &ctx.next);
	tracked_set_clear(&c->tracked); /* closes handles not moved to next */
	c->tracked = ctx.next;
	c->counters.scans++;
	c->counters.tracked_cgroups = c->tracked.n;
	return 0;
}

/* Reads the node (procfs, and the root cgroup where it has the values)
 * and records it. A node that cannot be read is counted and logged once
 * per outage; it costs the node sample of this cycle, never the pods. */
static void record_node(struct collection *c, struct store *s, const struct sample_time *at)
{
	struct node_info info;
	struct node_proc_stats proc;
	struct cadet_error err;
	if (node_reader_read(c->node, &info, &proc, &err) < 0) {
		c->counters.node_errors++;
		if (!c->node_error_logged)
			log_warn("node unreadable, pods still collected: %s", err.msg);
		c->node_error_logged = true;
		return;
	}
	if (c->node_error_logged)
		log_info("node readable again");
	c->node_error_logged = false;
	struct sample stats;
	enum sample_source source = SAMPLE_SOURCE_CGROUP_FILES;
	if (cgroup_handle_read(c->cgroups, c->root, &stats, &err) < 0) {
		/* the root cgroup is optional for the node: procfs has it all */
		if (!c->root_error_logged)
			log_warn("root cgroup unreadable, node stats from procfs only: %s", err.msg);
		c->root_error_logged = true;
		memset(&stats, 0, sizeof(stats));
		source = SAMPLE_SOURCE_PROCFS;
	}
	node_stats_fill_from_proc(&stats, &proc);
	store_set_node_info(s, &info);
	struct sample_key key = { .kind = SAMPLE_KEY_NODE };
	(void)store_record(s, &key, source, at, &stats, &err); /* the node's series exists: cannot fail */
}

/* Reads one tracked cgroup; *ok is false when it vanished (closed quietly,
 * rescan requested) or is malformed (counted, logged once). */
static void read_tracked(struct collection *c, struct tracked *t, struct sample *stats,
			 enum sample_source *source, bool *ok)
{
	struct cadet_error err;
	*ok = false;
	if (!t->handle)
		return;
	bool full = !t->have_full || c->now_ns - t->last_full_ns >= c->full_read_interval_ns;
	int r;
	if (full) {
		*source = SAMPLE_SOURCE_CGROUP_FILES;
		r = cgroup_handle_read(c->cgroups, t->handle, stats, &err);
	} else if (c->bpf_usage_fresh && bpf_usage_apply(c->bpf_usage, t->relpath, &t->last_full, stats)) {
		*source = SAMPLE_SOURCE_BPF_ITER;
		r = 0;
		c->counters.bpf_usage_reads++;
	} else {
		*source = SAMPLE_SOURCE_CGROUP_USAGE;
		r = cgroup_handle_read_usage(c->cgroups, t->handle, &t->last_full, stats, &err);
	}
	if (r == 0) {
		*ok = true;
		t->error_logged = false;
		if (full) {
			t->have_full = true;
			t->last_full_ns = c->now_ns;
			t->last_full = *stats;
		}
		return;
	}
	if (cgroup_error_is_vanished(err.errnum)) {
		c->counters.vanished++;
		cgroup_handle_close(t->handle);
		t->handle = NULL;
		collection_request_scan(c);
		return;
	}
	c->counters.read_errors++;
	if (!t->error_logged) {
		log_warn("skipping cgroup until it reads cleanly: %s", err.msg);
		t->error_logged = true;
	}
}

/* Walks the kubepods subtree with BPF for this cycle's usage-only reads;
 * opens the walkers once the subtree exists. Files serve whatever the walk
 * cannot, so failures here are logged once and otherwise ignored. */
static void refresh_bpf_usage(struct collection *c)
{
	struct cadet_error err;
	c->bpf_usage_fresh = false;
	if (!c->want_bpf_usage)
		return;
	if (!c->bpf_usage) {
		static const char *const subtrees[] = CGROUP_KUBEPODS_ROOTS;
		for (size_t i = 0; i < CGROUP_KUBEPODS_N_ROOTS && !c->bpf_usage; i++) {
			_cleanup_free_ char *dir = NULL;
			if (asprintf(&dir, "%s/%s", cgroup_collector_tree(c->cgroups), subtrees[i]) < 0)
				return;
			if (access(dir, F_OK) < 0)
				continue;
			if (bpf_usage_open(cgroup_collector_tree(c->cgroups), cgroup_collector_memory_tree(c->cgroups),
					   subtrees[i], &c->bpf_usage, &err) < 0) {
				log_info("usage between full reads from files: BPF cgroup iterator unavailable: %s", err.msg);
				c->want_bpf_usage = false;
				return;
			}
			log_info("usage between full reads from BPF cgroup iterator walks of %s", subtrees[i]);
		}
		if (!c->bpf_usage)
			return;
	}
	if (bpf_usage_refresh(c->bpf_usage, &err) < 0) {
		if (!c->bpf_usage_logged)
			log_warn("BPF cgroup walk failed, reading files this cycle: %s", err.msg);
		c->bpf_usage_logged = true;
		return;
	}
	c->bpf_usage_logged = false;
	c->bpf_usage_fresh = true;
}

/* The store key of a tracked cgroup. */
static bool key_of(const struct tracked *t, struct sample_key *key)
{
	*key = (struct sample_key){
		.pod_uid = t->id.pod_uid,
		.container_id = t->id.container_id,
		.qos = t->id.qos,
		.started_realtime_ns = t->created_ns,
	};
	switch (t->id.kind) {
	case CGROUP_KIND_KUBEPODS:
		key->kind = SAMPLE_KEY_KUBEPODS;
		return true;
	case CGROUP_KIND_POD:
		key->kind = SAMPLE_KEY_POD;
		return true;
	case CGROUP_KIND_CONTAINER:
		key->kind = SAMPLE_KEY_CONTAINER;
		return true;
	case CGROUP_KIND_QOS:
	case CGROUP_KIND_OTHER:
		break;
	}
	return false;
}

int collection_run_cycle(struct collection *c, struct store *s, struct cadet_error *err)
{
	struct sample_time at = sample_time_now();
	c->now_ns = at.monotonic_ns;
	store_begin_sweep(s, STORE_SWEEP_WALK, &at);
	if (discovery_scan_due(c->discovery, at.monotonic_ns)) {
		struct cadet_error scan_err;
		if (rescan(c, at.monotonic_ns, &scan_err) < 0) {
			log_warn("%s", scan_err.msg);
			c->counters.read_errors++;
		}
	}
	refresh_bpf_usage(c);
	record_node(c, s, &at);
	int rc = 0;
	for (size_t i = 0; i < c->tracked.n && rc == 0; i++) {
		struct tracked *t = &c->tracked.items[i];
		struct sample_key key;
		if (!key_of(t, &key))
			continue;
		struct sample stats;
		enum sample_source source;
		bool ok;
		read_tracked(c, t, &stats, &source, &ok);
		if (ok)
			rc = store_record(s, &key, source, &at, &stats, err);
	}
	store_end_sweep(s, STORE_SWEEP_WALK);
	uint64_t took = clock_monotonic_ns() - at.monotonic_ns;
	c->counters.cycles++;
	c->counters.last_cycle_ns = took;
	c->counters.total_cycle_ns += took;
	return rc;
}
