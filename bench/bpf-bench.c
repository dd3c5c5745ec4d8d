/* bpf-bench.c: what the BPF part costs and what the cgroup iterator saves.
 *
 * Part 1, startup and memory: wall time to open, load and attach the cgroup
 * event programs and a cgroup iterator, the process RSS they add, and the
 * kernel memory their programs and maps lock (memlock in /proc/self/fdinfo).
 *
 * Part 2, one collection of CPU and memory usage for N container cgroups
 * (N/2 pods x 2 containers, made under the real cpuacct, cpu, memory, pids
 * and cgroup2 hierarchies), in the same run, min and median over rounds:
 *   iter   two iterator walks (cpuacct and memory subtrees): CPU + memory
 *   iter2  one walk of the cgroup2 subtree (rstat flush): CPU only
 *   floor  pread of cpuacct.usage and memory.usage_in_bytes, kept fds
 *   ocr    open+read+close of the same two files
 *   files  cgroup_handle_read() (the agent's file reader, ~10 kept files
 *          per cgroup) when the fd limit allows that many descriptors
 *   ufiles cgroup_handle_read_usage(): the agent's usage-only cycle between
 *          full reads, from files (same fd limit)
 *   ubpf   the same cycle from BPF: bpf_usage_refresh() + bpf_usage_apply()
 *          per cgroup (agent/collect-bpf-usage.h), what cycle.c now does
 * and prints each as a ratio to iter. Removes everything it created, also
 * when interrupted. Usage: [BPF_BENCH_STARTUP=1] bpf-bench N [ROUNDS] */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/collect-bpf-cgroup-events.h"
#include "agent/collect-bpf-cgroup-iter.h"
#include "agent/collect-bpf-usage.h"
#include "agent/collect-cgroup.h"
#include "common/timefmt.h"

static const char *const hiers[] = { "cpuacct", "cpu", "memory", "pids", "unified" };
#define N_HIERS (sizeof(hiers) / sizeof(hiers[0]))

static char base_rel[64];
static int n_pods;
static volatile sig_atomic_t interrupted;

/* snprintf for paths: truncation would measure the wrong files, so it aborts. */
__attribute__((format(printf, 3, 4))) static void fmt_path(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "bpf-bench: path does not fit: %s\n", out);
		abort();
	}
}

static void cg_path(char *out, size_t size, const char *hier, int pod, int ctr)
{
	if (pod < 0)
		fmt_path(out, size, "/sys/fs/cgroup/%s/%s", hier, base_rel);
	else if (ctr < 0)
		fmt_path(out, size, "/sys/fs/cgroup/%s/%s/pod%05d", hier, base_rel, pod);
	else
		fmt_path(out, size, "/sys/fs/cgroup/%s/%s/pod%05d/c%d", hier, base_rel, pod, ctr);
}

static void remove_tree(void)
{
	char p[512];
	for (size_t h = 0; h < N_HIERS; h++) {
		for (int i = 0; i < n_pods; i++) {
			for (int c = 0; c < 2; c++) {
				cg_path(p, sizeof(p), hiers[h], i, c);
				rmdir(p);
			}
			cg_path(p, sizeof(p), hiers[h], i, -1);
			rmdir(p);
		}
		cg_path(p, sizeof(p), hiers[h], -1, -1);
		rmdir(p);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int make_tree(int n_containers)
{
	char p[512];
	n_pods = 0;
	for (size_t h = 0; h < N_HIERS; h++) {
		cg_path(p, sizeof(p), hiers[h], -1, -1);
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			return -1;
	}
	for (int i = 0; i < n_containers / 2 && !interrupted; i++) {
		n_pods = i + 1;
		for (size_t h = 0; h < N_HIERS; h++) {
			cg_path(p, sizeof(p), hiers[h], i, -1);
			if (mkdir(p, 0755) != 0)
				return -1;
			for (int c = 0; c < 2; c++) {
				cg_path(p, sizeof(p), hiers[h], i, c);
				if (mkdir(p, 0755) != 0)
					return -1;
			}
		}
	}
	return interrupted ? -1 : 0;
}

static uint64_t rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t kib = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %" SCNu64, &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Sum of memlock over this process's BPF fds (programs, maps, links). */
static uint64_t bpf_memlock_bytes(void)
{
	DIR *d = opendir("/proc/self/fdinfo");
	struct dirent *de;
	uint64_t sum = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[300], line[256];
		fmt_path(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			uint64_t v;
			if (sscanf(line, "memlock: %" SCNu64, &v) == 1)
				sum += v;
		}
		fclose(f);
	}
	closedir(d);
	return sum;
}

static int count_entry(const struct bpf_cgroup_iter_entry *e, void *ctx, struct cadet_error *err)
{
	(void)err;
	uint64_t *sum = ctx;
	*sum += e->has_cpu ? e->cpu_usage_ns : e->memory_usage_bytes;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

enum { M_ITER, M_ITER2, M_FLOOR, M_OCR, M_FILES, M_UFILES, M_UBPF, M_COUNT };
static const char *const method_names[M_COUNT] = { "iter", "iter2", "floor", "ocr", "files", "ufiles", "ubpf" };

static void startup_costs(void)
{
	struct cadet_error err = { 0 };
	struct bpf_cgroup_events *ev = NULL;
	struct bpf_cgroup_iter *it = NULL;
	char dir[512];
	uint64_t rss0 = rss_kib(), lock0 = bpf_memlock_bytes();
	uint64_t t0 = clock_monotonic_ns();
	if (bpf_cgroup_events_open(NULL, &ev, &err) != 0) {
		printf("events: cannot open: %s\n", err.msg);
		return;
	}
	uint64_t t1 = clock_monotonic_ns();
	uint64_t rss1 = rss_kib(), lock1 = bpf_memlock_bytes();
	fmt_path(dir, sizeof(dir), "/sys/fs/cgroup/cpuacct"); /* opened, not walked */
	if (bpf_cgroup_iter_open(dir, 1000, &it, &err) != 0) {
		printf("iterator: cannot open: %s\n", err.msg);
		bpf_cgroup_events_close(ev);
		return;
	}
	uint64_t t2 = clock_monotonic_ns();
	uint64_t rss2 = rss_kib(), lock2 = bpf_memlock_bytes();
	printf("startup: events open+load+attach %.1f ms, iterator (1000-cgroup ring %zu KiB) %.1f ms\n",
	       (double)(t1 - t0) / 1e6, bpf_cgroup_iter_ring_bytes(it) / 1024, (double)(t2 - t1) / 1e6);
	printf("memory:  events %+" PRId64 " KiB RSS, %" PRIu64 " KiB kernel memlock; iterator %+" PRId64
	       " KiB RSS, %" PRIu64 " KiB kernel memlock\n",
	       (int64_t)rss1 - (int64_t)rss0, (lock1 - lock0) / 1024, (int64_t)rss2 - (int64_t)rss1,
	       (lock2 - lock1) / 1024);
	bpf_cgroup_iter_close(it);
	bpf_cgroup_events_close(ev);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int rounds = argc > 2 ? atoi(argv[2]) : 15;
	struct cadet_error err = { 0 };
	int rc = 1;

	if (n < 2 || rounds < 1) {
		fprintf(stderr, "usage: bpf-bench N [ROUNDS]\n");
		return 2;
	}
	if (geteuid() != 0 || access("/sys/kernel/btf/vmlinux", R_OK) != 0 ||
	    access("/sys/fs/cgroup/cpuacct/cpuacct.usage", R_OK) != 0) {
		printf("bpf-bench: skipped: needs root, kernel BTF and the hybrid cgroup layout\n");
		return 0;
	}
	fmt_path(base_rel, sizeof(base_rel), "cadet-bpf-bench-%d", (int)getpid());
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	if (getenv("BPF_BENCH_STARTUP"))
		startup_costs();

	uint64_t t_mk = clock_monotonic_ns();
	if (make_tree(n) != 0) {
		fprintf(stderr, "bpf-bench: creating cgroups: %s\n", strerror(errno));
		goto out;
	}
	int n_ctr = n_pods * 2;
	uint64_t t_mk_done = clock_monotonic_ns();

	/* iterators */
	struct bpf_cgroup_iter *it_cpu = NULL, *it_mem = NULL, *it_v2 = NULL;
	char dir[512];
	cg_path(dir, sizeof(dir), "cpuacct", -1, -1);
	if (bpf_cgroup_iter_open(dir, (size_t)n_ctr + n_pods + 1, &it_cpu, &err) != 0)
		goto iter_fail;
	cg_path(dir, sizeof(dir), "memory", -1, -1);
	if (bpf_cgroup_iter_open(dir, (size_t)n_ctr + n_pods + 1, &it_mem, &err) != 0)
		goto iter_fail;
	cg_path(dir, sizeof(dir), "unified", -1, -1);
	if (bpf_cgroup_iter_open(dir, (size_t)n_ctr + n_pods + 1, &it_v2, &err) != 0)
		goto iter_fail;

	/* kept fds for the floor: cpuacct.usage and memory.usage_in_bytes */
	int *fds = calloc((size_t)n_ctr * 2, sizeof(int));
	struct cgroup_collector *coll = NULL;
	struct cgroup_handle **handles = NULL;
	struct sample *last_full = calloc((size_t)n_ctr, sizeof(*last_full));
	struct bpf_usage *usage = NULL;
	if (!last_full || bpf_usage_open("/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/memory", base_rel, &usage, &err) != 0) {
		fprintf(stderr, "bpf-bench: usage reader: %s\n", last_full ? err.msg : "no memory");
		goto out_iters;
	}
	bool files_ok = (uint64_t)n_ctr * 12 + (uint64_t)n_ctr * 2 + 200 < (uint64_t)rl.rlim_max;
	if (!fds)
		goto out_iters;
	for (int i = 0; i < n_ctr; i++) {
		char p[600];
		cg_path(dir, sizeof(dir), "cpuacct", i / 2, i % 2);
		fmt_path(p, sizeof(p), "%s/cpuacct.usage", dir);
		fds[2 * i] = open(p, O_RDONLY | O_CLOEXEC);
		cg_path(dir, sizeof(dir), "memory", i / 2, i % 2);
		fmt_path(p, sizeof(p), "%s/memory.usage_in_bytes", dir);
		fds[2 * i + 1] = open(p, O_RDONLY | O_CLOEXEC);
		if (fds[2 * i] < 0 || fds[2 * i + 1] < 0) {
			fprintf(stderr, "bpf-bench: open %s: %s\n", p, strerror(errno));
			goto out_fds;
		}
	}
	/* without handles (fd limit), ubpf still runs against a last full read
	 * that had CPU and memory */
	for (int i = 0; i < n_ctr; i++)
		last_full[i].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY;
	if (files_ok) {
		handles = calloc((size_t)n_ctr, sizeof(*handles));
		if (!handles || cgroup_collector_open("/sys/fs/cgroup", &coll, &err) != 0) {
			fprintf(stderr, "bpf-bench: file collector: %s\n", handles ? err.msg : "no memory");
			goto out_fds;
		}
		for (int i = 0; i < n_ctr; i++) {
			char rel[200];
			fmt_path(rel, sizeof(rel), "%s/pod%05d/c%d", base_rel, i / 2, i % 2);
			if (cgroup_handle_open(coll, rel, &handles[i], &err) != 0 ||
			    cgroup_handle_read(coll, handles[i], &last_full[i], &err) != 0) {
				fprintf(stderr, "bpf-bench: %s\n", err.msg);
				goto out_fds;
			}
		}
	}

	uint64_t *times[M_COUNT];
	for (int m = 0; m < M_COUNT; m++)
		times[m] = calloc((size_t)rounds, sizeof(uint64_t));
	for (int r = 0; r < rounds && !interrupted; r++) {
		uint64_t sink = 0, t;
		char buf[64];
		/* alternate the order so no method always runs on a warm cache */
		t = clock_monotonic_ns();
		if (bpf_cgroup_iter_collect(it_cpu, count_entry, &sink, &err) < 0 ||
		    bpf_cgroup_iter_collect(it_mem, count_entry, &sink, &err) < 0) {
			fprintf(stderr, "bpf-bench: iterator: %s\n", err.msg);
			goto out_times;
		}
		times[M_ITER][r] = clock_monotonic_ns() - t;
		t = clock_monotonic_ns();
		if (bpf_cgroup_iter_collect(it_v2, count_entry, &sink, &err) < 0) {
			fprintf(stderr, "bpf-bench: iterator: %s\n", err.msg);
			goto out_times;
		}
		times[M_ITER2][r] = clock_monotonic_ns() - t;
		t = clock_monotonic_ns();
		for (int i = 0; i < 2 * n_ctr; i++) {
			ssize_t got = pread(fds[i], buf, sizeof(buf) - 1, 0);
			if (got > 0)
				sink += (uint64_t)buf[0];
		}
		times[M_FLOOR][r] = clock_monotonic_ns() - t;
		t = clock_monotonic_ns();
		for (int i = 0; i < n_ctr; i++) {
			for (int k = 0; k < 2; k++) {
				char p[600];
				cg_path(dir, sizeof(dir), k ? "memory" : "cpuacct", i / 2, i % 2);
				fmt_path(p, sizeof(p), "%s/%s", dir, k ? "memory.usage_in_bytes" : "cpuacct.usage");
				int fd = open(p, O_RDONLY | O_CLOEXEC);
				if (fd >= 0) {
					if (read(fd, buf, sizeof(buf) - 1) > 0)
						sink += (uint64_t)buf[0];
					close(fd);
				}
			}
		}
		times[M_OCR][r] = clock_monotonic_ns() - t;
		if (files_ok) {
			t = clock_monotonic_ns();
			for (int i = 0; i < n_ctr; i++) {
				struct sample st;
				if (cgroup_handle_read(coll, handles[i], &st, &err) == 0)
					sink += st.cpu_usage_ns;
			}
			times[M_FILES][r] = clock_monotonic_ns() - t;
			t = clock_monotonic_ns();
			for (int i = 0; i < n_ctr; i++) {
				struct sample st;
				if (cgroup_handle_read_usage(coll, handles[i], &last_full[i], &st, &err) == 0)
					sink += st.cpu_usage_ns;
			}
			times[M_UFILES][r] = clock_monotonic_ns() - t;
		}
		t = clock_monotonic_ns();
		if (bpf_usage_refresh(usage, &err) != 0) {
			fprintf(stderr, "bpf-bench: usage walk: %s\n", err.msg);
			goto out_times;
		}
		for (int i = 0; i < n_ctr; i++) {
			char rel[200];
			struct sample st;
			fmt_path(rel, sizeof(rel), "%s/pod%05d/c%d", base_rel, i / 2, i % 2);
			if (bpf_usage_apply(usage, rel, &last_full[i], &st))
				sink += st.cpu_usage_ns;
		}
		times[M_UBPF][r] = clock_monotonic_ns() - t;
		if (sink == 42)
			putchar(' ');
	}

	printf("\n%d containers (%d pods; %d cgroups per hierarchy with parents), %d rounds; created in %.2f s\n",
	       n_ctr, n_pods, n_ctr + n_pods + 1, rounds, (double)(t_mk_done - t_mk) / 1e9);
	printf("  %-6s %10s %10s %10s %9s %12s\n", "method", "min ms", "median ms", "us/cgroup", "min/iter",
	       "median/iter");
	qsort(times[M_ITER], (size_t)rounds, sizeof(uint64_t), cmp_u64);
	double iter_median = (double)times[M_ITER][rounds / 2], iter_min = (double)times[M_ITER][0];
	for (int m = 0; m < M_COUNT; m++) {
		if ((m == M_FILES || m == M_UFILES) && !files_ok) {
			printf("  %-6s skipped: needs ~%d fds, hard limit %" PRIu64 "\n", method_names[m], n_ctr * 12,
			       (uint64_t)rl.rlim_max);
			continue;
		}
		qsort(times[m], (size_t)rounds, sizeof(uint64_t), cmp_u64);
		double med = (double)times[m][rounds / 2];
		printf("  %-6s %10.3f %10.3f %10.2f %8.1fx %11.1fx\n", method_names[m], (double)times[m][0] / 1e6,
		       med / 1e6, med / 1e3 / n_ctr, (double)times[m][0] / iter_min, med / iter_median);
	}
	printf("  (iter and files give CPU and memory usage; iter2 CPU only; floor and ocr read the same two values\n"
	       "   as iter; files also parses cpuacct.stat, cpu.stat, memory.stat, limits, pids and PSI;\n"
	       "   ufiles and ubpf are the agent's usage-only cycle from files and from BPF)\n");
	rc = 0;
out_times:
	for (int m = 0; m < M_COUNT; m++)
		free(times[m]);
out_fds:
	if (handles) {
		for (int i = 0; i < n_ctr; i++)
			cgroup_handle_close(handles[i]);
		free(handles);
	}
	cgroup_collector_free(coll);
	for (int i = 0; i < 2 * n_ctr; i++)
		if (fds[i] > 0)
			close(fds[i]);
	free(fds);
out_iters:
	bpf_usage_free(usage);
	free(last_full);
	bpf_cgroup_iter_close(it_cpu);
	bpf_cgroup_iter_close(it_mem);
	bpf_cgroup_iter_close(it_v2);
	goto out;
iter_fail:
	fprintf(stderr, "bpf-bench: %s\n", err.msg);
	bpf_cgroup_iter_close(it_cpu);
	bpf_cgroup_iter_close(it_mem);
	bpf_cgroup_iter_close(it_v2);
out:
	remove_tree();
	return rc;
}
