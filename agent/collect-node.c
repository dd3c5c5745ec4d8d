/* collect-node.c: procfs and filesystem facts about the node (see
 * collect-node.h). /proc/stat grows with the CPU count (one line per CPU,
 * about 80 KiB on a 900-CPU node), so procfs files are read into a buffer
 * that doubles until a whole file fits and is kept for the next read. */
#include "agent/collect-node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "agent/collect-parse.h"
#include "common/cleanup.h"
#include "common/duration.h"

/* The first size of the read buffer, and the most a procfs file may take. */
#define PROC_READ_FIRST_BYTES 4096
#define PROC_READ_MAX_BYTES (64 * 1024 * 1024)

struct node_reader {
	int stat_fd;
	int meminfo_fd;
	int loadavg_fd;
	char *fs_path;
	uint64_t ns_per_tick;
	uint64_t max_pid;
	bool have_max_pid;
	char *buf; /* read buffer, grown as files need */
	size_t buf_size;
};

static int open_proc(const char *proc_root, const char *name, int *fd, struct cadet_error *err)
{
	char path[512];
	int n = snprintf(path, sizeof(path), "%s/%s", proc_root, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return cadet_error_set(err, ENAMETOOLONG, "%s/%s", proc_root, name);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return cadet_error_set(err, errno, "open %s", path);
	return 0;
}

/* Reads the whole file behind fd from offset 0 into r->buf, growing it
 * until a read leaves room (the file may grow between reads: the next
 * attempt with a bigger buffer sees all of it). NUL-terminates. */
static int read_whole(struct node_reader *r, int fd, const char *name, size_t *len, struct cadet_error *err)
{
	for (;;) {
		if (!r->buf) {
			r->buf = malloc(r->buf_size);
			if (!r->buf)
				return cadet_error_set(err, ENOMEM, "reading %s (%zu bytes)", name, r->buf_size);
		}
		ssize_t n;
		do {
			n = pread(fd, r->buf, r->buf_size, 0);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			return cadet_error_set(err, errno, "read %s", name);
		if ((size_t)n < r->buf_size) {
			r->buf[n] = '\0';
			*len = (size_t)n;
			return 0;
		}
		if (r->buf_size >= PROC_READ_MAX_BYTES)
			return cadet_error_set(err, EFBIG, "%s is larger than %zu bytes", name, r->buf_size);
		free(r->buf);
		r->buf = NULL;
		r->buf_size *= 2;
	}
}

/* A one-number file such as /proc/sys/kernel/pid_max; false when absent
 * or not a number. */
static bool read_u64_file(const char *proc_root, const char *name, uint64_t *out)
{
	char path[512];
	int n = snprintf(path, sizeof(path), "%s/%s", proc_root, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return false;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char text[64];
	ssize_t len = read(fd, text, sizeof(text));
	struct cadet_error ignored;
	return len > 0 && (size_t)len < sizeof(text) && parse_single_u64(text, (size_t)len, name, 0, out, &ignored) == 0;
}

int node_reader_open(const char *proc_root, const char *fs_path, struct node_reader **out,
		     struct cadet_error *err)
{
	struct node_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return cadet_error_set(err, ENOMEM, "node reader");
	r->stat_fd = r->meminfo_fd = r->loadavg_fd = -1;
	r->buf_size = PROC_READ_FIRST_BYTES;
	long hz = sysconf(_SC_CLK_TCK);
	r->ns_per_tick = hz > 0 ? NSEC_PER_SEC / (uint64_t)hz : 10 * NSEC_PER_MSEC;
	r->fs_path = strdup(fs_path);
	if (!r->fs_path) {
		node_reader_free(r);
		return cadet_error_set(err, ENOMEM, "node reader");
	}
	if (open_proc(proc_root, "stat", &r->stat_fd, err) < 0 || open_proc(proc_root, "meminfo", &r->meminfo_fd, err) < 0) {
		node_reader_free(r);
		return -1;
	}
	/* optional: process counts and the pid limit */
	struct cadet_error ignored;
	if (open_proc(proc_root, "loadavg", &r->loadavg_fd, &ignored) < 0)
		r->loadavg_fd = -1;
	r->have_max_pid = read_u64_file(proc_root, "sys/kernel/pid_max", &r->max_pid);
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
	free(r->buf);
	free(r->fs_path);
	free(r);
}

int node_reader_read(struct node_reader *r, struct node_info *info, struct node_proc_stats *proc,
		     struct cadet_error *err)
{
	size_t len;
	memset(info, 0, sizeof(*info));
	memset(proc, 0, sizeof(*proc));

	uint64_t busy_ticks, btime_s;
	if (read_whole(r, r->stat_fd, "/proc/stat", &len, err) < 0 ||
	    parse_proc_stat(r->buf, len, &busy_ticks, &btime_s, err) < 0)
		return -1;
	if (busy_ticks > UINT64_MAX / r->ns_per_tick || btime_s > UINT64_MAX / NSEC_PER_SEC)
		return cadet_error_set(err, ERANGE, "/proc/stat: value out of range");
	proc->cpu_busy_ns = busy_ticks * r->ns_per_tick;
	info->boot_time_ns = btime_s * NSEC_PER_SEC;

	static const char *const keys[] = { "MemTotal", "MemFree", "Inactive(file)", "AnonPages",
					    "SwapTotal", "SwapFree" };
	uint64_t v[6] = { 0 }, found;
	if (read_whole(r, r->meminfo_fd, "/proc/meminfo", &len, err) < 0 ||
	    parse_meminfo(r->buf, len, keys, 6, v, &found, err) < 0)
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

	/* /proc/loadavg: optional, so a failure here leaves rlimit out */
	struct cadet_error ignored;
	uint64_t running, total;
	if (r->loadavg_fd >= 0 && r->have_max_pid && read_whole(r, r->loadavg_fd, "/proc/loadavg", &len, &ignored) == 0 &&
	    parse_loadavg_tasks(r->buf, len, &running, &total, &ignored) == 0) {
		info->has_rlimit = true;
		info->rlimit_max_pid = r->max_pid;
		info->rlimit_cur_proc = total;
	}
	return 0;
}

void node_stats_fill_from_proc(struct sample *node, const struct node_proc_stats *proc)
{
	if (!(node->have & SAMPLE_HAVE_CPU)) {
		node->cpu_usage_ns = proc->cpu_busy_ns;
		node->have |= SAMPLE_HAVE_CPU;
	}
	if (!(node->have & SAMPLE_HAVE_MEMORY)) {
		node->memory_usage_bytes = proc->mem_total_bytes - proc->mem_free_bytes;
		node->memory_inactive_file_bytes = proc->mem_inactive_file_bytes;
		node->memory_rss_bytes = proc->mem_anon_bytes;
		node->have |= SAMPLE_HAVE_MEMORY;
		sample_derive(node);
	}
	/* the node's limit is its capacity; views derive availableBytes from it */
	node->have &= ~(uint32_t)SAMPLE_HAVE_MEMORY_LIMIT;
}
