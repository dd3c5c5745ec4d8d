/* collect-discovery.c: the kubepods tree walk and its inotify change detection (see
 * collect-discovery.h). The walk descends at most four levels below the hierarchy
 * root (kubepods, QoS class, pod, container) and only into directories the
 * classifier recognises, so unrelated cgroups cost nothing. */
#include "agent/collect-discovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/duration.h"
#include "common/log.h"

struct discovery {
	char *tree;
	int inotify_fd;
	bool scan_requested;
	bool scanned_once;
	uint64_t last_scan_ns;
	uint64_t rescan_interval_ns;
	bool watch_error_logged;
};

static const uint32_t watch_mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR;

int discovery_open(const char *tree, uint64_t rescan_interval_ns, struct discovery **out,
		   struct cadet_error *err)
{
	struct discovery *d = calloc(1, sizeof(*d));
	if (!d)
		return cadet_error_set(err, ENOMEM, "discovery");
	d->tree = strdup(tree);
	if (!d->tree) {
		free(d);
		return cadet_error_set(err, ENOMEM, "discovery");
	}
	d->rescan_interval_ns = rescan_interval_ns;
	d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->inotify_fd < 0)
		log_warn("inotify unavailable (%s): discovery scans the tree every cycle", strerror(errno));
	*out = d;
	return 0;
}

void discovery_free(struct discovery *d)
{
	if (!d)
		return;
	if (d->inotify_fd >= 0)
		close(d->inotify_fd);
	free(d->tree);
	free(d);
}

void discovery_request_scan(struct discovery *d)
{
	d->scan_requested = true;
}

bool discovery_scan_due(struct discovery *d, uint64_t monotonic_ns)
{
	bool due = !d->scanned_once || d->scan_requested ||
		   monotonic_ns - d->last_scan_ns >= d->rescan_interval_ns;
	if (d->inotify_fd >= 0) {
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		for (;;) {
			ssize_t n = read(d->inotify_fd, buf, sizeof(buf));
			if (n <= 0)
				break; /* EAGAIN: drained */
			due = true;
		}
	} else if (d->scanned_once && !d->scan_requested) {
		/* without inotify, scan every cycle so nothing waits long */
		due = true;
	}
	return due;
}

static void watch(struct discovery *d, const char *path)
{
	if (d->inotify_fd < 0)
		return;
	if (inotify_add_watch(d->inotify_fd, path, watch_mask) < 0 && errno != ENOENT &&
	    !d->watch_error_logged) {
		/* e.g. max_user_watches reached: the periodic scan still works */
		log_warn("inotify watch on %s: %s; relying on periodic scans", path, strerror(errno));
		d->watch_error_logged = true;
	}
}

static uint64_t dir_created_ns(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return (uint64_t)st.st_ctim.tv_sec * NSEC_PER_SEC + (uint64_t)st.st_ctim.tv_nsec;
}

/* Walks relpath (a directory under tree) whose identity is already known. */
static int walk(struct discovery *d, const char *relpath, int depth, discovery_visit_fn visit, void *ctx,
		struct cadet_error *err)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", d->tree, relpath);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0; /* too long to be a kubelet cgroup */
	_cleanup_closedir_ DIR *dir = opendir(path);
	if (!dir) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0; /* vanished mid-walk */
		return cadet_error_set(err, errno, "opendir %s", path);
	}
	watch(d, path);
	struct dirent *de;
	while ((errno = 0, de = readdir(dir)) != NULL) {
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (de->d_name[0] == '.')
			continue;
		char child[4096];
		n = snprintf(child, sizeof(child), "%s/%s", relpath, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(child))
			continue;
		struct cgroup_identity id;
		cgroup_path_classify(child, &id);
		if (id.kind == CGROUP_KIND_OTHER)
			continue;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dirfd(dir), de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
				continue;
		}
		uint64_t created = dir_created_ns(dirfd(dir), de->d_name);
		if (id.kind != CGROUP_KIND_QOS && visit(ctx, child, &id, created, err) < 0)
			return -1;
		if (id.kind != CGROUP_KIND_CONTAINER && depth < 4 &&
		    walk(d, child, depth + 1, visit, ctx, err) < 0)
			return -1;
	}
	if (errno != 0 && errno != ENOENT && errno != ENODEV)
		return cadet_error_set(err, errno, "readdir %s", path);
	return 0;
}

int discovery_scan(struct discovery *d, uint64_t monotonic_ns, discovery_visit_fn visit, void *ctx,
		   struct cadet_error *err)
{
	d->scanned_once = true;
	d->scan_requested = false;
	d->last_scan_ns = monotonic_ns;
	/* the root watch tells when kubepods itself appears */
	watch(d, d->tree);
	static const char *const roots[] = CGROUP_KUBEPODS_ROOTS;
	for (size_t i = 0; i < CGROUP_KUBEPODS_N_ROOTS; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", d->tree, roots[i]);
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		struct cgroup_identity id;
		cgroup_path_classify(roots[i], &id);
		uint64_t created = (uint64_t)st.st_ctim.tv_sec * NSEC_PER_SEC + (uint64_t)st.st_ctim.tv_nsec;
		if (visit(ctx, roots[i], &id, created, err) < 0 || walk(d, roots[i], 1, visit, ctx, err) < 0)
			return cadet_error_prefix(err, "discovery under %s", d->tree);
	}
	return 0;
}
