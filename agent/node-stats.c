/* node-stats.c: procfs and filesystem facts about the node (see
 * node-stats.h). */
#include "agent/node-stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "agent/cgroup-parse.h"
#include "common/cleanup.h"

struct node_reader {
	int stat_fd;
	int meminfo_fd;
	int loadavg_fd;
	char *fs_path;
	uint64_t ns_per_tick;
	uint64_t max_pid;
	int have_max_pid;
};

static int open_proc(const char *proc_root, const char *name, int *fd, struct cadet_error *err)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", proc_root, name);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return cadet_error_set(err, errno, "open %s", path);
	return 0;
}

int node_reader_open(const char *proc_root, const char *fs_path, struct node_reader **out,
		     struct cadet_error *err)
{
	struct node_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return cadet_error_set(err, ENOMEM, "node reader");
	r->stat_fd = r->meminfo_fd = r->loadavg_fd = -1;
	long hz = sysconf(_SC_CLK_TCK);
	r->ns_per_tick = hz > 0 ? 1000000000ULL / (uint64_t)hz : 10000000ULL;
	r->fs_path = strdup(fs_path);
	if (!r->fs_path || open_proc(proc_root, "stat", &r->stat_fd, err) != 0 ||
	    open_proc(proc_root, "meminfo", &r->meminfo_fd, err) != 0) {
		if (!r->fs_path)
			cadet_error_set(err, ENOMEM, "node reader");
		node_reader_free(r);
		return -1;
	}
	/* optional: process counts and the pid limit */
	struct cadet_error ignored;
	if (open_proc(proc_root, "loadavg", &r->loadavg_fd, &ignored) != 0)
		r->loadavg_fd = -1;
	char path[512];
	snprintf(path, sizeof(path), "%s/sys/kernel/pid_max", proc_root);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	unsigned long long max_pid;
	if (f && fscanf(f, "%llu", &max_pid) == 1) {
		r->max_pid = max_pid;
		r->have_max_pid = 1;
	}
	*out = r;
	return 0;
}

void node_reader_free(struct node_reader *r)
{
	if (!r)
		return;
	if (r->stat_fd >= 0)
		close(r->stat_fd);
	if (r->meminfo_fd >= 0)
		close(r->meminfo_fd);
	if (r->loadavg_fd >= 0)
		close(r->loadavg_fd);
	free(r->fs_path);
	free(r);
}

static int pread_all(int fd, const char *name, char *buf, size_t size, size_t *len, struct cadet_error *err)
{
	ssize_t n;
	do {
		n = pread(fd, buf, size, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return cadet_error_set(err, errno, "read %s", name);
	if ((size_t)n == size)
		return cadet_error_set(err, EFBIG, "%s is larger than %zu bytes", name, size);
	*len = (size_t)n;
	return 0;
}

int node_reader_read(struct node_reader *r, struct node_info *info, struct node_proc_stats *proc,
		     struct cadet_error *err)
{
	char buf[65536];
	size_t len;
	memset(info, 0, sizeof(*info));
	memset(proc, 0, sizeof(*proc));

	uint64_t busy_ticks, btime_s;
	if (pread_all(r->stat_fd, "/proc/stat", buf, sizeof(buf), &len, err) != 0 ||
	    parse_proc_stat(buf, len, &busy_ticks, &btime_s, err) != 0)
		return -1;
	proc->cpu_busy_ns = busy_ticks * r->ns_per_tick;
	info->boot_time_ns = btime_s * 1000000000ULL;

	static const char *const keys[] = { "MemTotal", "MemFree", "Inactive(file)", "AnonPages",
					    "SwapTotal", "SwapFree" };
	uint64_t v[6] = { 0 }, found;
	if (pread_all(r->meminfo_fd, "/proc/meminfo", buf, sizeof(buf), &len, err) != 0 ||
	    parse_meminfo(buf, len, keys, 6, v, &found, err) != 0)
		return -1;
	if ((found & 3) != 3)
		return cadet_error_set(err, EINVAL, "/proc/meminfo: no MemTotal or MemFree");
	proc->mem_total_bytes = v[0];
	proc->mem_free_bytes = v[1];
	proc->mem_inactive_file_bytes = v[2];
	proc->mem_anon_bytes = v[3];
	info->memory_capacity_bytes = v[0];
	if ((found & 0x30) == 0x30 && v[4] > 0) {
		info->has_swap = true;
		info->swap_capacity_bytes = v[4];
		info->swap_usage_bytes = v[4] > v[5] ? v[4] - v[5] : 0;
	}

	struct statvfs vfs;
	if (statvfs(r->fs_path, &vfs) == 0) {
		info->has_fs = true;
		info->fs_capacity_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		info->fs_available_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		info->fs_used_bytes = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
		info->fs_inodes = vfs.f_files;
		info->fs_inodes_free = vfs.f_ffree;
	}

	/* /proc/loadavg: "0.00 0.01 0.05 1/123 4567": running/total tasks */
	if (r->loadavg_fd >= 0 && r->have_max_pid &&
	    pread_all(r->loadavg_fd, "/proc/loadavg", buf, sizeof(buf), &len, err) == 0) {
		buf[len] = '\0';
		unsigned long long running, total;
		if (sscanf(buf, "%*s %*s %*s %llu/%llu", &running, &total) == 2) {
			info->has_rlimit = true;
			info->rlimit_max_pid = r->max_pid;
			info->rlimit_cur_proc = total;
		}
	}
	return 0;
}

void node_stats_fill_from_proc(struct cgroup_stats *node, const struct node_proc_stats *proc)
{
	if (!(node->have & CGROUP_HAVE_CPU)) {
		node->cpu_usage_ns = proc->cpu_busy_ns;
		node->have |= CGROUP_HAVE_CPU;
	}
	if (!(node->have & CGROUP_HAVE_MEMORY)) {
		uint64_t usage = proc->mem_total_bytes - proc->mem_free_bytes;
		node->memory_usage_bytes = usage;
		node->memory_working_set_bytes =
			usage > proc->mem_inactive_file_bytes ? usage - proc->mem_inactive_file_bytes : 0;
		node->memory_rss_bytes = proc->mem_anon_bytes;
		node->have |= CGROUP_HAVE_MEMORY;
	}
	/* the node's limit is its capacity; views derive availableBytes from it */
	node->have &= ~(uint32_t)CGROUP_HAVE_MEMORY_LIMIT;
}
