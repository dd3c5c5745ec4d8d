/* collect-cgroup.c: layout detection and the version-independent part of the
 * collector (see collect-cgroup.h). The layout is decided once from what the root
 * holds: a cgroup.controllers file means unified v2; a cpuacct controller
 * directory means v1, and v1 plus ROOT/unified/cgroup.controllers means
 * hybrid. Handles open every file the reader lists and keep the fds. */
#include "agent/collect-cgroup-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/collect-parse.h"
#include "common/cleanup.h"
#include "common/log.h"

static int path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static char *join(const char *a, const char *b)
{
	char *out = NULL;
	if (asprintf(&out, "%s/%s", a, b) < 0)
		return NULL;
	return out;
}

static int set_dir(struct cgroup_collector *c, int slot, const char *root, const char *name,
		   struct cadet_error *err)
{
	c->dirs[slot] = join(root, name);
	if (!c->dirs[slot])
		return cadet_error_set(err, ENOMEM, "cgroup root %s", root);
	return 0;
}

static int detect_v1(struct cgroup_collector *c, const char *root, struct cadet_error *err)
{
	static const char *const cpuacct_names[] = { "cpuacct", "cpu,cpuacct", "cpuacct,cpu" };
	const char *cpuacct = NULL;
	for (size_t i = 0; i < sizeof(cpuacct_names) / sizeof(cpuacct_names[0]); i++) {
		_cleanup_free_ char *p = join(root, cpuacct_names[i]);
		if (p && path_exists(p)) {
			cpuacct = cpuacct_names[i];
			break;
		}
	}
	if (!cpuacct)
		return cadet_error_set(err, ENOENT,
				       "cgroup root %s: no cgroup.controllers (v2) and no cpuacct controller (v1)",
				       root);
	_cleanup_free_ char *cpu_path = join(root, "cpu");
	const char *cpu = cpu_path && path_exists(cpu_path) ? "cpu" : cpuacct;
	if (set_dir(c, V1_DIR_CPUACCT, root, cpuacct, err) < 0 || set_dir(c, V1_DIR_CPU, root, cpu, err) < 0 ||
	    set_dir(c, V1_DIR_MEMORY, root, "memory", err) < 0 || set_dir(c, V1_DIR_PIDS, root, "pids", err) < 0 ||
	    set_dir(c, V1_DIR_UNIFIED, root, "unified", err) < 0)
		return -1;
	_cleanup_free_ char *unified_ctl = join(c->dirs[V1_DIR_UNIFIED], "cgroup.controllers");
	if (!unified_ctl)
		return cadet_error_set(err, ENOMEM, "cgroup root %s", root);
	c->layout = path_exists(unified_ctl) ? CGROUP_LAYOUT_HYBRID : CGROUP_LAYOUT_V1;
	c->reader = &cgroup_reader_v1;
	c->tree = strdup(c->dirs[V1_DIR_CPUACCT]);
	if (!c->tree)
		return cadet_error_set(err, ENOMEM, "cgroup root %s", root);
	return 0;
}

/* Descriptors the handles may keep: the open-file limit less what is open
 * now and a reserve for sockets and procfs. Past it, files are reopened on
 * every read: slower, but nothing fails. */
static size_t cgroup_default_fd_budget(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 65536;
	size_t open_now = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		while (readdir(d))
			open_now++;
		closedir(d);
	}
	size_t reserve = 512 + open_now;
	return rl.rlim_cur > reserve ? (size_t)rl.rlim_cur - reserve : 0;
}

void cgroup_collector_set_fd_budget(struct cgroup_collector *c, size_t budget)
{
	c->fd_budget = budget;
}

int cgroup_collector_open(const char *root, struct cgroup_collector **out, struct cadet_error *err)
{
	struct stat st;
	if (stat(root, &st) < 0)
		return cadet_error_set(err, errno, "cgroup root %s", root);
	if (!S_ISDIR(st.st_mode))
		return cadet_error_set(err, ENOTDIR, "cgroup root %s", root);

	struct cgroup_collector *c = calloc(1, sizeof(*c));
	if (!c)
		return cadet_error_set(err, ENOMEM, "cgroup collector");
	c->fd_budget = cgroup_default_fd_budget();

	_cleanup_free_ char *controllers = join(root, "cgroup.controllers");
	int r;
	if (!controllers) {
		r = cadet_error_set(err, ENOMEM, "cgroup root %s", root);
	} else if (path_exists(controllers)) {
		c->layout = CGROUP_LAYOUT_V2;
		c->reader = &cgroup_reader_v2;
		r = set_dir(c, V2_DIR_ROOT, root, ".", err);
		if (r == 0) {
			c->tree = strdup(root);
			if (!c->tree)
				r = cadet_error_set(err, ENOMEM, "cgroup root %s", root);
		}
	} else {
		r = detect_v1(c, root, err);
	}
	if (r < 0) {
		cgroup_collector_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void cgroup_collector_free(struct cgroup_collector *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CGROUP_MAX_DIRS; i++)
		free(c->dirs[i]);
	free(c->tree);
	free(c);
}

enum cgroup_layout cgroup_collector_layout(const struct cgroup_collector *c)
{
	return c->layout;
}

const char *cgroup_layout_name(enum cgroup_layout layout)
{
	switch (layout) {
	case CGROUP_LAYOUT_V1:
		return "v1";
	case CGROUP_LAYOUT_HYBRID:
		return "hybrid";
	case CGROUP_LAYOUT_V2:
		return "v2";
	}
	return "unknown";
}

const char *cgroup_collector_tree(const struct cgroup_collector *c)
{
	return c->tree;
}

const char *cgroup_collector_memory_tree(const struct cgroup_collector *c)
{
	return c->layout == CGROUP_LAYOUT_V2 ? NULL : c->dirs[V1_DIR_MEMORY];
}

bool cgroup_error_is_vanished(int errnum)
{
	return errnum == ENOENT || errnum == ENODEV || errnum == ESTALE;
}

/* Builds the path of file i of the cgroup at relpath. */
static int file_path(const struct cgroup_collector *c, const char *relpath, size_t i, char *out, size_t size)
{
	const struct cgroup_file_spec *f = &c->reader->files[i];
	int n = snprintf(out, size, "%s/%s%s%s", c->dirs[f->dir], relpath, *relpath ? "/" : "", f->name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Opens file i of h: kept when the descriptor budget allows, marked unkept
 * past it, left absent when an optional file does not exist (yet). */
static int open_file(struct cgroup_collector *c, struct cgroup_handle *h, size_t i, struct cadet_error *err)
{
	const struct cgroup_reader *rd = c->reader;
	char path[4096];
	if (file_path(c, h->relpath, i, path, sizeof(path)) < 0)
		return cadet_error_set(err, ENAMETOOLONG, "cgroup %s", h->relpath);
	int fd = c->kept_fds < c->fd_budget ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	int e = fd < 0 ? errno : 0;
	if (fd < 0 && (c->kept_fds >= c->fd_budget || e == EMFILE || e == ENFILE)) {
		/* out of descriptors: read this file the slow way */
		if (!c->budget_logged)
			log_warn("keeping %zu cgroup files open, the most the open-file limit allows; "
				 "further files are reopened on every read",
				 c->kept_fds);
		c->budget_logged = true;
		if (rd->files[i].required && access(path, R_OK) < 0)
			return cadet_error_set(err, errno, "open %s", path);
		h->fds[i] = CGROUP_FILE_UNKEPT;
		return 0;
	}
	if (fd < 0) {
		if (e == ENOENT && !rd->files[i].required)
			return 0;
		return cadet_error_set(err, e, "open %s", path);
	}
	h->fds[i] = fd;
	c->kept_fds++;
	return 0;
}

int cgroup_handle_open(struct cgroup_collector *c, const char *relpath, struct cgroup_handle **out,
		       struct cadet_error *err)
{
	struct cgroup_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return cadet_error_set(err, ENOMEM, "cgroup %s", relpath);
	for (size_t i = 0; i < CGROUP_MAX_FILES; i++)
		h->fds[i] = CGROUP_FILE_ABSENT;
	h->owner = c;
	h->relpath = strdup(relpath);
	if (!h->relpath) {
		free(h);
		return cadet_error_set(err, ENOMEM, "cgroup %s", relpath);
	}
	for (size_t i = 0; i < c->reader->n_files; i++) {
		if (open_file(c, h, i, err) < 0) {
			cgroup_handle_close(h);
			return -1;
		}
	}
	*out = h;
	return 0;
}

int cgroup_handle_read(struct cgroup_collector *c, struct cgroup_handle *h, struct sample *out,
		       struct cadet_error *err)
{
	memset(out, 0, sizeof(*out));
	/* A runtime creates a container's directory in one controller after
	 * another; an optional file missing at open may exist by now. */
	for (size_t i = 0; i < c->reader->n_files; i++) {
		struct cadet_error ignored;
		if (h->fds[i] == CGROUP_FILE_ABSENT)
			(void)open_file(c, h, i, &ignored);
	}
	if (c->reader->read(c, h, out, err) < 0)
		return cadet_error_prefix(err, "cgroup %s", *h->relpath ? h->relpath : "/");
	sample_derive(out);
	return 0;
}

int cgroup_handle_read_usage(struct cgroup_collector *c, struct cgroup_handle *h,
			     const struct sample *last_full, struct sample *out, struct cadet_error *err)
{
	*out = *last_full;
	if (c->reader->read_usage(c, h, out, err) < 0)
		return cadet_error_prefix(err, "cgroup %s", *h->relpath ? h->relpath : "/");
	sample_derive(out);
	return 0;
}

void cgroup_handle_close(struct cgroup_handle *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < CGROUP_MAX_FILES; i++) {
		if (h->fds[i] >= 0) {
			close(h->fds[i]);
			h->owner->kept_fds--;
		}
	}
	free(h->relpath);
	free(h);
}

int cgroup_kept_read(struct cgroup_handle *h, size_t i, const char *file_name, char *buf, size_t size,
		     size_t *len, struct cadet_error *err)
{
	if (h->fds[i] == CGROUP_FILE_ABSENT)
		return cadet_error_set(err, ENOENT, "%s absent", file_name);
	_cleanup_close_ int unkept = -1;
	int fd = h->fds[i];
	if (fd == CGROUP_FILE_UNKEPT) {
		char path[4096];
		if (file_path(h->owner, h->relpath, i, path, sizeof(path)) < 0)
			return cadet_error_set(err, ENAMETOOLONG, "%s", file_name);
		fd = unkept = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return cadet_error_set(err, errno, "open %s", file_name);
	}
	ssize_t n;
	do {
		n = pread(fd, buf, size, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return cadet_error_set(err, errno, "read %s", file_name);
	if ((size_t)n == size)
		return cadet_error_set(err, EFBIG, "%s is larger than %zu bytes", file_name, size);
	*len = (size_t)n;
	return 0;
}

int cgroup_read_optional(struct cgroup_handle *h, size_t i, char *buf, size_t *len, struct cadet_error *err)
{
	const struct cgroup_file_spec *f = &h->owner->reader->files[i];
	if (!cgroup_file_present(h, i))
		return 0;
	if (cgroup_kept_read(h, i, f->name, buf, CGROUP_READ_BUF, len, err) < 0) {
		/* an unkept optional file may simply not exist */
		if (h->fds[i] == CGROUP_FILE_UNKEPT && err->errnum == ENOENT && !f->required)
			return 0;
		return -1;
	}
	return 1;
}

static int read_psi(struct cgroup_handle *h, size_t i, uint32_t bit, struct psi_stats *psi,
		    struct sample *out, char *buf, struct cadet_error *err)
{
	size_t len;
	int r = cgroup_read_optional(h, i, buf, &len, err);
	if (r <= 0)
		return r;
	if (parse_psi(buf, len, h->owner->reader->files[i].name, psi, err) < 0)
		return -1;
	out->have |= bit;
	return 0;
}

int cgroup_read_pids_and_psi(struct cgroup_handle *h, const struct cgroup_tail_files *files,
			     struct sample *out, char *buf, struct cadet_error *err)
{
	size_t len;
	int r = cgroup_read_optional(h, files->pids_current, buf, &len, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (parse_single_u64(buf, len, "pids.current", 0, &out->pids_current, err) < 0)
			return -1;
		out->have |= SAMPLE_HAVE_PIDS;
	}
	if (read_psi(h, files->cpu_pressure, SAMPLE_HAVE_CPU_PSI, &out->cpu_psi, out, buf, err) < 0 ||
	    read_psi(h, files->memory_pressure, SAMPLE_HAVE_MEMORY_PSI, &out->memory_psi, out, buf, err) < 0 ||
	    read_psi(h, files->io_pressure, SAMPLE_HAVE_IO_PSI, &out->io_psi, out, buf, err) < 0)
		return -1;
	return 0;
}

int cgroup_read_memory_stat(struct cgroup_handle *h, size_t i, const char *const keys[4],
			    struct sample *out, char *buf, struct cadet_error *err)
{
	size_t len;
	int r = cgroup_read_optional(h, i, buf, &len, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		uint64_t v[4] = { 0 }, found;
		if (parse_flat_keyed(buf, len, "memory.stat", keys, 4, v, &found, err) < 0)
			return -1;
		/* without it the working set would silently be the whole usage */
		if (!(found & 1))
			return cadet_error_set(err, EINVAL, "memory.stat: no %s", keys[0]);
		out->memory_inactive_file_bytes = v[0];
		out->memory_rss_bytes = v[1];
		out->memory_page_faults = v[2];
		out->memory_major_page_faults = v[3];
	}
	out->have |= SAMPLE_HAVE_MEMORY;
	return 0;
}
