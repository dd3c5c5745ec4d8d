/* bpf-test-cgroup.h: real cgroups for the BPF unit tests (header-only, one
 * copy per test program). A test creates its cgroups under a per-process
 * directory in each hierarchy it needs, next to where the test itself runs
 * (so a memory limit of the test's own cgroup still applies), records every
 * directory and child it creates, and tcg_cleanup() kills the children and
 * removes the directories deepest first, also after a failed assertion. */
#ifndef CADET_TEST_BPF_TEST_CGROUP_H
#define CADET_TEST_BPF_TEST_CGROUP_H

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TCG_ROOT "/sys/fs/cgroup"
#define TCG_MAX 1024

static char tcg_dirs[TCG_MAX][1024];
static int tcg_ndirs;
static pid_t tcg_pids[TCG_MAX];
static int tcg_npids;

/* snprintf for paths: truncation means a broken test setup, so it aborts. */
__attribute__((format(printf, 3, 4))) static inline void tcg_fmt(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "path does not fit %zu bytes: %s\n", size, out);
		abort();
	}
}

/* Where this process sits in a hierarchy ("unified" for cgroup2), as an
 * absolute directory; "" when unknown. */
static inline void tcg_self_dir(const char *hier, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[1024];
	bool unified = strcmp(hier, "unified") == 0;

	tcg_fmt(out, size, "%s/%s", TCG_ROOT, hier);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1;
		const char *path = c2 + 1;
		bool match = unified ? ctrls[0] == '\0' : strcmp(ctrls, hier) == 0;
		if (match) {
			tcg_fmt(out, size, "%s/%s%s", TCG_ROOT, hier, strcmp(path, "/") == 0 ? "" : path);
			break;
		}
	}
	fclose(f);
}

/* Directory for this test run in hierarchy `hier`, created on first use. */
static inline int tcg_base(const char *hier, char *out, size_t size)
{
	char self[400];
	tcg_self_dir(hier, self, sizeof(self));
	tcg_fmt(out, size, "%s/cadet-bpf-test-%d", self, (int)getpid());
	if (mkdir(out, 0755) == 0) {
		if (tcg_ndirs < TCG_MAX)
			tcg_fmt(tcg_dirs[tcg_ndirs++], sizeof(tcg_dirs[0]), "%s", out);
	} else if (errno != EEXIST) {
		return -1;
	}
	return 0;
}

/* Same, but directly under the hierarchy root, so that one relative path
 * names the test's cgroups in every hierarchy (as kubepods does). */
static inline int tcg_base_at_root(const char *hier, char *out, size_t size)
{
	tcg_fmt(out, size, "%s/%s/cadet-bpf-test-%d", TCG_ROOT, hier, (int)getpid());
	if (mkdir(out, 0755) == 0) {
		if (tcg_ndirs < TCG_MAX)
			tcg_fmt(tcg_dirs[tcg_ndirs++], sizeof(tcg_dirs[0]), "%s", out);
	} else if (errno != EEXIST) {
		return -1;
	}
	return 0;
}

static inline int tcg_mkdir(const char *path)
{
	if (mkdir(path, 0755) != 0)
		return -1;
	if (tcg_ndirs < TCG_MAX)
		tcg_fmt(tcg_dirs[tcg_ndirs++], sizeof(tcg_dirs[0]), "%s", path);
	return 0;
}

/* Makes REL under TCG_ROOT in each of the n hierarchies; a directory that
 * already exists is left alone (and not tracked for cleanup). */
static inline int tcg_mkdir_all(const char *const *hiers, size_t n, const char *rel)
{
	for (size_t h = 0; h < n; h++) {
		char path[1024];
		tcg_fmt(path, sizeof(path), "%s/%s/%s", TCG_ROOT, hiers[h], rel);
		if (access(path, F_OK) == 0)
			continue;
		if (tcg_mkdir(path) != 0)
			return -1;
	}
	return 0;
}

/* Removes a directory made with tcg_mkdir now (and forgets it). */
static inline int tcg_rmdir(const char *path)
{
	for (int i = 0; i < tcg_ndirs; i++) {
		if (strcmp(tcg_dirs[i], path) == 0) {
			memmove(tcg_dirs[i], tcg_dirs[i + 1], (size_t)(tcg_ndirs - i - 1) * sizeof(tcg_dirs[0]));
			tcg_ndirs--;
			break;
		}
	}
	return rmdir(path);
}

static inline void tcg_track_pid(pid_t pid)
{
	if (tcg_npids < TCG_MAX)
		tcg_pids[tcg_npids++] = pid;
}

static inline void tcg_forget_pid(pid_t pid)
{
	for (int i = 0; i < tcg_npids; i++)
		if (tcg_pids[i] == pid)
			tcg_pids[i] = 0;
}

static inline void tcg_cleanup(void)
{
	for (int i = 0; i < tcg_npids; i++) {
		if (tcg_pids[i] > 0) {
			kill(tcg_pids[i], SIGKILL);
			waitpid(tcg_pids[i], NULL, 0);
		}
	}
	tcg_npids = 0;
	for (int i = tcg_ndirs - 1; i >= 0; i--) {
		/* An emptied cgroup can take a moment to become removable. */
		for (int tries = 0; tries < 50 && rmdir(tcg_dirs[i]) != 0 && errno == EBUSY; tries++)
			usleep(10000);
	}
	tcg_ndirs = 0;
}

static inline int tcg_write(const char *dir, const char *file, const char *text)
{
	char path[600];
	tcg_fmt(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static inline int tcg_join(const char *dir, pid_t pid)
{
	char text[32];
	tcg_fmt(text, sizeof(text), "%d", (int)pid);
	return tcg_write(dir, "cgroup.procs", text);
}

/* First number after `key` in a file ("" for a file holding one number). */
static inline int tcg_read_u64(const char *dir, const char *file, const char *key, uint64_t *out)
{
	char path[600], line[256];
	tcg_fmt(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int rc = -1;
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f)) {
		if (klen == 0 || (strncmp(line, key, klen) == 0 && line[klen] == ' ')) {
			*out = strtoull(line + klen, NULL, 10);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* The kernel's own figures for the v1 cgroup at REL (under TCG_ROOT's
 * cpuacct and memory hierarchies), read here as the oracle the readers are
 * checked against: cpuacct.usage, memory.usage_in_bytes, and the working
 * set as kubelet derives it (usage less total_inactive_file, floored at 0). */
struct tcg_kernel_usage {
	uint64_t cpu_usage_ns, memory_usage_bytes, memory_working_set_bytes;
};

static inline int tcg_kernel_usage_read(const char *rel, struct tcg_kernel_usage *out)
{
	char cpuacct[600], memory[600];
	uint64_t inactive_file_bytes;
	tcg_fmt(cpuacct, sizeof(cpuacct), "%s/cpuacct/%s", TCG_ROOT, rel);
	tcg_fmt(memory, sizeof(memory), "%s/memory/%s", TCG_ROOT, rel);
	if (tcg_read_u64(cpuacct, "cpuacct.usage", "", &out->cpu_usage_ns) != 0 ||
	    tcg_read_u64(memory, "memory.usage_in_bytes", "", &out->memory_usage_bytes) != 0 ||
	    tcg_read_u64(memory, "memory.stat", "total_inactive_file", &inactive_file_bytes) != 0)
		return -1;
	out->memory_working_set_bytes =
		out->memory_usage_bytes > inactive_file_bytes ? out->memory_usage_bytes - inactive_file_bytes : 0;
	return 0;
}

/* True when v lies between the kernel's figures read before and after it
 * (either order: memory can go down as well as up). */
static inline bool tcg_between(uint64_t before, uint64_t v, uint64_t after)
{
	return before <= after ? before <= v && v <= after : after <= v && v <= before;
}

static inline uint64_t tcg_ino(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* Busy-loops until this thread used `ms` of CPU. */
static inline void tcg_burn_cpu_ms(unsigned ms)
{
	struct timespec ts;
	for (;;) {
		for (int i = 0; i < 100000; i++)
			__asm__ volatile("" ::: "memory");
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		if ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 >= ms)
			break;
	}
}

/* A child that waits until released, runs fn(arg) and exits 0. Gives time
 * to move it into cgroups before it does its work. */
struct tcg_child {
	pid_t pid;
	int go_fd; /* write one byte to release the child */
};

static inline int tcg_spawn(void (*fn)(void *), void *arg, struct tcg_child *out)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		char c;
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(2);
		fn(arg);
		_exit(0);
	}
	close(fds[0]);
	tcg_track_pid(pid);
	out->pid = pid;
	out->go_fd = fds[1];
	return 0;
}

/* Releases the child and waits for it; returns its wait status or -1. */
static inline int tcg_run(struct tcg_child *child)
{
	int status;
	ssize_t n = write(child->go_fd, "x", 1);
	close(child->go_fd);
	if (n != 1)
		return -1;
	if (waitpid(child->pid, &status, 0) != child->pid)
		return -1;
	tcg_forget_pid(child->pid);
	return status;
}

/* What a test container does (a tcg_spawn function): burn CPU, touch
 * memory, say so on ready_fd, then sleep until killed, so that its values
 * hold still while collectors read them. */
struct tcg_work {
	unsigned burn_ms;
	size_t touch_bytes;
	int ready_fd;
};

static inline void tcg_work_then_sleep(void *arg)
{
	const struct tcg_work *w = arg;
	tcg_burn_cpu_ms(w->burn_ms);
	char *p = mmap(NULL, w->touch_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(3);
	for (size_t off = 0; off < w->touch_bytes; off += 4096)
		p[off] = 1;
	if (write(w->ready_fd, "r", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

static inline bool tcg_is_root(void)
{
	return geteuid() == 0;
}

/* What the tests on this machine's hybrid hierarchy need: root, kernel BTF,
 * v1 cpuacct and a cgroup2 at unified/. Prints why not and returns false. */
static inline bool tcg_hybrid_bpf_available(void)
{
	if (!tcg_is_root() || access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		printf("needs root and kernel BTF\n");
		return false;
	}
	if (access(TCG_ROOT "/cpuacct/cpuacct.usage", R_OK) != 0 || access(TCG_ROOT "/unified/cgroup.procs", R_OK) != 0) {
		printf("needs the hybrid cgroup layout (v1 cpuacct and memory, cgroup2 at %s/unified)\n", TCG_ROOT);
		return false;
	}
	return true;
}

#endif
