/* collect-bpf-usage.c: per-cycle usage of a kubepods subtree from cgroup iterator
 * walks (see collect-bpf-usage.h). Entries live in one array sorted by path, their
 * paths in one arena; both are reused from cycle to cycle, so a steady
 * cycle allocates nothing. */
#include "agent/collect-bpf-usage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect-bpf-cgroup-iter.h"
#include "common/cleanup.h"

struct usage_entry {
	size_t path_off; /* into the arena */
	bool has_cpu, has_memory;
	uint64_t cpu_usage_ns;
	uint64_t memory_usage_bytes;
};

struct bpf_usage {
	char *subtree;
	struct bpf_cgroup_iter *cpu_walk;    /* cpuacct (v1) or unified (v2) */
	struct bpf_cgroup_iter *memory_walk; /* memory (v1); NULL on v2 */
	struct usage_entry *entries;
	size_t n, cap;
	char *arena;
	size_t arena_len, arena_cap;
	bool sorted;
};

/* dir/subtree, or dir alone for an empty subtree. */
static char *subtree_dir(const char *dir, const char *subtree)
{
	char *p = NULL;
	if (asprintf(&p, "%s%s%s", dir, subtree[0] ? "/" : "", subtree) < 0)
		return NULL;
	return p;
}

int bpf_usage_open(const char *cpu_tree, const char *memory_tree, const char *subtree, struct bpf_usage **out,
		   struct cadet_error *err)
{
	struct bpf_usage *u = calloc(1, sizeof(*u));
	if (!u)
		return cadet_error_set(err, errno, "allocating BPF usage reader");
	u->subtree = strdup(subtree);
	bool v2 = memory_tree == NULL;
	_cleanup_free_ char *cpu_dir = subtree_dir(cpu_tree, subtree);
	_cleanup_free_ char *mem_dir = v2 ? NULL : subtree_dir(memory_tree, subtree);
	if (!u->subtree || !cpu_dir || (!v2 && !mem_dir)) {
		bpf_usage_free(u);
		return cadet_error_set(err, ENOMEM, "allocating BPF usage reader");
	}
	if (bpf_cgroup_iter_open(cpu_dir, 1024, &u->cpu_walk, err) < 0 ||
	    (!v2 && bpf_cgroup_iter_open(mem_dir, 1024, &u->memory_walk, err) < 0)) {
		bpf_usage_free(u);
		return -1;
	}
	*out = u;
	return 0;
}

static const char *entry_path(const struct bpf_usage *u, const struct usage_entry *e)
{
	return u->arena + e->path_off;
}

static int add_entry(struct bpf_usage *u, const char *relpath, struct usage_entry **out, struct cadet_error *err)
{
	size_t sub_len = strlen(u->subtree), rel_len = strlen(relpath);
	size_t need = sub_len + 1 + rel_len + 1;
	if (u->arena_len + need > u->arena_cap) {
		size_t cap = u->arena_cap ? u->arena_cap * 2 : 64 * 1024;
		while (cap < u->arena_len + need)
			cap *= 2;
		char *arena = realloc(u->arena, cap);
		if (!arena)
			return cadet_error_set(err, ENOMEM, "BPF usage paths");
		u->arena = arena;
		u->arena_cap = cap;
	}
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 1024;
		struct usage_entry *entries = realloc(u->entries, cap * sizeof(*entries));
		if (!entries)
			return cadet_error_set(err, ENOMEM, "BPF usage entries");
		u->entries = entries;
		u->cap = cap;
	}
	char *p = u->arena + u->arena_len;
	memcpy(p, u->subtree, sub_len);
	if (rel_len) {
		p[sub_len] = '/';
		memcpy(p + sub_len + 1, relpath, rel_len + 1);
	} else {
		p[sub_len] = '\0';
	}
	struct usage_entry *e = &u->entries[u->n++];
	memset(e, 0, sizeof(*e));
	e->path_off = u->arena_len;
	u->arena_len += need;
	*out = e;
	return 0;
}

static int on_cpu_entry(const struct bpf_cgroup_iter_entry *ie, void *ctx, struct cadet_error *err)
{
	struct bpf_usage *u = ctx;
	struct usage_entry *e = NULL;
	if (add_entry(u, ie->relpath, &e, err) < 0)
		return -1;
	e->has_cpu = ie->has_cpu;
	e->cpu_usage_ns = ie->cpu_usage_ns;
	e->has_memory = ie->has_memory; /* v2 with the memory controller */
	e->memory_usage_bytes = ie->memory_usage_bytes;
	return 0;
}

static struct usage_entry *find_entry(const struct bpf_usage *u, const char *relpath)
{
	size_t lo = 0, hi = u->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(entry_path(u, &u->entries[mid]), relpath);
		if (r == 0)
			return &u->entries[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The memory walk's relpath is relative to the subtree, like the CPU walk's. */
static int on_memory_entry(const struct bpf_cgroup_iter_entry *ie, void *ctx, struct cadet_error *err)
{
	struct bpf_usage *u = ctx;
	char path[4096];
	(void)err;
	size_t sub_len = strlen(u->subtree), rel_len = strlen(ie->relpath);
	if (!ie->has_memory || sub_len + 1 + rel_len + 1 > sizeof(path))
		return 0;
	memcpy(path, u->subtree, sub_len);
	if (rel_len) {
		path[sub_len] = '/';
		memcpy(path + sub_len + 1, ie->relpath, rel_len + 1);
	} else {
		path[sub_len] = '\0';
	}
	struct usage_entry *e = find_entry(u, path);
	if (e) {
		e->has_memory = true;
		e->memory_usage_bytes = ie->memory_usage_bytes;
	}
	return 0;
}

static int cmp_entries(const void *a, const void *b, void *ctx)
{
	return strcmp(entry_path(ctx, a), entry_path(ctx, b));
}

int bpf_usage_refresh(struct bpf_usage *u, struct cadet_error *err)
{
	u->n = 0;
	u->arena_len = 0;
	u->sorted = false;
	if (bpf_cgroup_iter_collect(u->cpu_walk, on_cpu_entry, u, err) < 0) {
		u->n = 0;
		return -1;
	}
	/* pre-order is not strcmp order ("a/b" < "a-c" < "a/c" can interleave) */
	qsort_r(u->entries, u->n, sizeof(*u->entries), cmp_entries, u);
	u->sorted = true;
	if (u->memory_walk && bpf_cgroup_iter_collect(u->memory_walk, on_memory_entry, u, err) < 0) {
		u->n = 0;
		return -1;
	}
	return 0;
}

bool bpf_usage_apply(const struct bpf_usage *u, const char *relpath, const struct sample *last_full,
		     struct sample *out)
{
	if (!u->sorted)
		return false;
	const struct usage_entry *e = find_entry(u, relpath);
	bool want_memory = (last_full->have & SAMPLE_HAVE_MEMORY) != 0;
	if (!e || !e->has_cpu || (want_memory && !e->has_memory))
		return false;
	*out = *last_full;
	out->have |= SAMPLE_HAVE_CPU;
	out->cpu_usage_ns = e->cpu_usage_ns;
	if (want_memory) {
		out->memory_usage_bytes = e->memory_usage_bytes;
		sample_derive(out);
	}
	return true;
}

size_t bpf_usage_count(const struct bpf_usage *u)
{
	return u->n;
}

void bpf_usage_free(struct bpf_usage *u)
{
	if (!u)
		return;
	bpf_cgroup_iter_close(u->cpu_walk);
	bpf_cgroup_iter_close(u->memory_walk);
	free(u->entries);
	free(u->arena);
	free(u->subtree);
	free(u);
}
