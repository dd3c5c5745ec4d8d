/* collect-bpf-cgroup-iter.c: loads bpf/cgroup-iter.bpf.c, attaches it as a cgroup
 * iterator on one directory, and turns each walk's ring buffer records into
 * entries with paths (see collect-bpf-cgroup-iter.h). Paths are rebuilt from each
 * record's name and level: in pre-order a cgroup's parent is the last
 * record one level up. */
#include "agent/collect-bpf-cgroup-iter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/collect-bpf-support.h"
#include "bpf/cgroup-iter.h"
#include "cgroup-iter.skel.h"

#define ITER_MAX_DEPTH 64
#define ITER_PATH_MAX 4096
#define ITER_MIN_RING_BYTES (64u * 1024)
#define ITER_MAX_RING_BYTES (256u * 1024 * 1024)

struct bpf_cgroup_iter {
	char *dir;
	struct cgroup_iter_bpf *skel;
	struct bpf_link *link;
	struct ring_buffer *rb;
	size_t ring_bytes;
	/* The walk being delivered. */
	bpf_cgroup_iter_fn fn;
	void *ctx;
	struct cadet_error *err;
	bool failed;
	bool discard;
	uint32_t root_level;
	bool have_root;
	size_t path_len[ITER_MAX_DEPTH]; /* length of the path at each depth */
	char path[ITER_PATH_MAX];
	int delivered;
};

static size_t round_up_pow2(size_t n)
{
	size_t p = ITER_MIN_RING_BYTES;
	while (p < n && p < ITER_MAX_RING_BYTES)
		p <<= 1;
	return p;
}

static void iter_unload(struct bpf_cgroup_iter *it)
{
	ring_buffer__free(it->rb);
	it->rb = NULL;
	bpf_link__destroy(it->link);
	it->link = NULL;
	cgroup_iter_bpf__destroy(it->skel);
	it->skel = NULL;
}

static int handle_record(void *ctx, void *data, size_t size);

/* Opens, loads and attaches the skeleton with a ring of ring_bytes. */
static int iter_load(struct bpf_cgroup_iter *it, size_t ring_bytes, struct cadet_error *err)
{
	struct cgroup_iter_bpf *skel = NULL;
	struct bpf_program *prog;
	struct bpf_link *link = NULL;
	struct ring_buffer *rb = NULL;
	int cgroup_fd = -1, ncpus, rc, ret = -1;

	bpf_support_reset_message();
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		bpf_support_error(err, ncpus, "counting possible CPUs");
		goto cleanup;
	}
	skel = cgroup_iter_bpf__open();
	if (!skel) {
		bpf_support_error(err, -errno, "opening cgroup-iter BPF object");
		goto cleanup;
	}
	skel->rodata->nr_cpus = (__u32)ncpus;
	skel->rodata->page_size = (__u64)sysconf(_SC_PAGESIZE);
	if (bpf_support_kernel_has_func("css_rstat_flush")) {
		prog = skel->progs.walk_css_rstat_flush;
		bpf_program__set_autoload(skel->progs.walk_cgroup_rstat_flush, false);
	} else if (bpf_support_kernel_has_func("cgroup_rstat_flush")) {
		prog = skel->progs.walk_cgroup_rstat_flush;
		bpf_program__set_autoload(skel->progs.walk_css_rstat_flush, false);
	} else {
		cadet_error_set(err, ENOTSUP, "kernel has neither css_rstat_flush nor cgroup_rstat_flush");
		goto cleanup;
	}
	rc = bpf_map__set_max_entries(skel->maps.records, (__u32)ring_bytes);
	if (rc) {
		bpf_support_error(err, rc, "sizing cgroup-iter ring buffer");
		goto cleanup;
	}
	rc = cgroup_iter_bpf__load(skel);
	if (rc) {
		bpf_support_error(err, rc, "loading cgroup-iter BPF program");
		goto cleanup;
	}
	cgroup_fd = open(it->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_fd < 0) {
		cadet_error_set(err, errno, "open %s", it->dir);
		goto cleanup;
	}
	union bpf_iter_link_info linfo;
	memset(&linfo, 0, sizeof(linfo));
	linfo.cgroup.cgroup_fd = (__u32)cgroup_fd;
	linfo.cgroup.order = BPF_CGROUP_ITER_DESCENDANTS_PRE;
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &linfo, .link_info_len = sizeof(linfo));
	link = bpf_program__attach_iter(prog, &opts);
	if (!link) {
		bpf_support_error(err, -errno, "attaching cgroup iterator");
		cadet_error_prefix(err, "%s", it->dir);
		goto cleanup;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.records), handle_record, it, NULL);
	if (!rb) {
		bpf_support_error(err, -errno, "opening cgroup-iter ring buffer");
		goto cleanup;
	}
	it->skel = skel;
	it->link = link;
	it->rb = rb;
	it->ring_bytes = ring_bytes;
	skel = NULL;
	link = NULL;
	rb = NULL;
	ret = 0;
cleanup:
	bpf_support_trim_heap();
	if (cgroup_fd >= 0)
		close(cgroup_fd);
	ring_buffer__free(rb);
	bpf_link__destroy(link);
	cgroup_iter_bpf__destroy(skel);
	return ret;
}

int bpf_cgroup_iter_open(const char *dir, size_t expected_cgroups, struct bpf_cgroup_iter **out,
			 struct cadet_error *err)
{
	bpf_support_init();
	if (bpf_support_check(err) < 0)
		return -1;
	struct bpf_cgroup_iter *it = calloc(1, sizeof(*it));
	if (!it)
		return cadet_error_set(err, errno, "allocating cgroup iterator");
	it->dir = strdup(dir);
	if (!it->dir) {
		free(it);
		return cadet_error_set(err, errno, "allocating cgroup iterator");
	}
	size_t want = (expected_cgroups < 256 ? 256 : expected_cgroups) * (sizeof(struct cgroup_iter_record) + 8);
	if (iter_load(it, round_up_pow2(want + want / 2), err) < 0) {
		free(it->dir);
		free(it);
		return -1;
	}
	*out = it;
	return 0;
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct bpf_cgroup_iter *it = ctx;
	const struct cgroup_iter_record *r = data;

	if (it->discard || it->failed)
		return 0;
	if (size < sizeof(*r))
		return 0;
	if (!it->have_root) {
		it->root_level = r->level;
		it->have_root = true;
	}
	if (r->level < it->root_level || r->level - it->root_level >= ITER_MAX_DEPTH) {
		cadet_error_set(it->err, ERANGE, "%s: cgroup %s at level %u is outside the walk", it->dir,
				r->name, r->level);
		it->failed = true;
		return -ERANGE;
	}
	uint32_t depth = r->level - it->root_level;
	size_t len = 0;
	if (depth > 0) {
		size_t name_len = strnlen(r->name, sizeof(r->name));
		size_t parent_len = depth > 1 ? it->path_len[depth - 1] : 0;
		size_t sep = depth > 1 ? 1 : 0;
		if (parent_len + sep + name_len >= sizeof(it->path)) {
			cadet_error_set(it->err, ENAMETOOLONG, "%s: path of cgroup %s too long", it->dir, r->name);
			it->failed = true;
			return -ENAMETOOLONG;
		}
		if (sep)
			it->path[parent_len] = '/';
		memcpy(it->path + parent_len + sep, r->name, name_len);
		len = parent_len + sep + name_len;
	}
	it->path[len] = '\0';
	it->path_len[depth] = len;

	struct bpf_cgroup_iter_entry e = {
		.relpath = it->path,
		.cgroup_id = r->cgroup_id,
		.level = r->level,
		.has_cpu = (r->have & CGROUP_ITER_HAVE_CPU) != 0,
		.cpu_usage_ns = r->cpu_usage_ns,
		.has_memory = (r->have & CGROUP_ITER_HAVE_MEMORY) != 0,
		.memory_usage_bytes = r->memory_usage_bytes,
	};
	if (it->fn(&e, it->ctx, it->err) < 0) {
		it->failed = true;
		return -ECANCELED;
	}
	it->delivered++;
	return 0;
}

/* Runs one walk into the ring buffer; *dropped tells whether it overflowed. */
static int run_walk(struct bpf_cgroup_iter *it, bool *dropped, struct cadet_error *err)
{
	char buf[64];
	ssize_t n;

	__atomic_store_n(&it->skel->bss->dropped_records, 0, __ATOMIC_RELAXED);
	int fd = bpf_iter_create(bpf_link__fd(it->link));
	if (fd < 0)
		return bpf_support_error(err, fd, "creating cgroup iterator");
	/* The program writes nothing to the seq file: one read runs the walk. */
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	int saved = errno;
	close(fd);
	if (n < 0)
		return cadet_error_set(err, saved, "%s: reading cgroup iterator", it->dir);
	*dropped = __atomic_load_n(&it->skel->bss->dropped_records, __ATOMIC_RELAXED) != 0;
	return 0;
}

int bpf_cgroup_iter_collect(struct bpf_cgroup_iter *it, bpf_cgroup_iter_fn fn, void *ctx, struct cadet_error *err)
{
	bool dropped = false;

	for (;;) {
		if (run_walk(it, &dropped, err) < 0)
			return -1;
		if (!dropped)
			break;
		/* Too small: throw the partial walk away, grow, walk again. */
		if (it->ring_bytes >= ITER_MAX_RING_BYTES)
			return cadet_error_set(err, ENOSPC, "%s: cgroup walk does not fit %zu bytes", it->dir,
					       it->ring_bytes);
		size_t bigger = it->ring_bytes * 4;
		iter_unload(it);
		if (iter_load(it, bigger, err) < 0)
			return -1;
	}
	it->fn = fn;
	it->ctx = ctx;
	it->err = err;
	it->failed = false;
	it->discard = false;
	it->have_root = false;
	it->delivered = 0;
	int rc = ring_buffer__consume(it->rb);
	if (it->failed) {
		/* Drain what is left so the next walk starts empty. */
		it->discard = true;
		ring_buffer__consume(it->rb);
		it->discard = false;
		return -1;
	}
	if (rc < 0)
		return bpf_support_error(err, rc, "reading cgroup-iter ring buffer");
	return it->delivered;
}

size_t bpf_cgroup_iter_ring_bytes(const struct bpf_cgroup_iter *it)
{
	return it->ring_bytes;
}

void bpf_cgroup_iter_close(struct bpf_cgroup_iter *it)
{
	if (!it)
		return;
	iter_unload(it);
	free(it->dir);
	free(it);
}
