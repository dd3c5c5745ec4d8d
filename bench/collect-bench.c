/* collect-bench.c: what one collection cycle costs, against the floor.
 *
 * Creates N container cgroups (N/2 pods x 2 containers) under a kubepods
 * hierarchy of the real cgroup tree, then in the same run measures, over
 * repeated rounds: (a) the CPU time of cadet's collection cycle (discovery
 * check, reads, parsing, store), (b) the raw floor: pread of the same files
 * through kept descriptors with no parsing, and (c) rendering every view.
 * Prints min/median/max per round and the cycle/floor ratio. Removes every
 * cgroup it made, also when interrupted. With "existing" as the container
 * count it measures only the cadet cycle over the tree as it is (for
 * comparisons with peers over cgroups another script made); with "snapshot"
 * it is a one-shot process over the tree as it is: open the collection (the
 * walk, every file opened), run one cycle, print one line, exit, to be timed
 * whole against another tool's one-shot process (bench/peers-bench.sh). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/cycle.h"
#include "agent/store.h"
#include "agent/views.h"
#include "common/log.h"

static const char *const dirs[] = { "cpu", "cpuacct", "memory", "pids", "unified" };
#define N_DIRS (sizeof(dirs) / sizeof(dirs[0]))

/* The files the v1/hybrid reader keeps open per cgroup, by directory. */
static const struct {
	const char *dir, *file;
} files[] = {
	{ "cpuacct", "cpuacct.usage" },  { "cpuacct", "cpuacct.stat" },  { "cpu", "cpu.stat" },
	{ "memory", "memory.usage_in_bytes" }, { "memory", "memory.stat" }, { "memory", "memory.limit_in_bytes" },
	{ "pids", "pids.current" },      { "unified", "cpu.pressure" },   { "unified", "memory.pressure" },
	{ "unified", "io.pressure" },
};
#define N_FILES (sizeof(files) / sizeof(files[0]))
/* 400 pods x 3 cgroups x 10 files = 12000 descriptors, under the limit */
#define FLOOR_CHUNK_PODS 400

static char root[256] = "/sys/fs/cgroup";
static char base[128];
static int n_pods;
/* parents (kubepods, kubepods/besteffort) this run created, per directory */
static int made_parent[N_DIRS][2];

/* What the agent may keep open: the limit less a reserve (see cgroup.c). */
static size_t cgroup_fd_budget_hint(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	return rl.rlim_cur > 600 ? (size_t)rl.rlim_cur - 600 : 0;
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pod_path(char *out, size_t size, const char *dir, int pod, int ctr)
{
	if (ctr < 0)
		snprintf(out, size, "%s/%s/%s/pod%08d-0000-4000-8000-%012d", root, dir, base, pod, pod);
	else
		snprintf(out, size, "%s/%s/%s/pod%08d-0000-4000-8000-%012d/c%d%063d", root, dir, base, pod, pod, ctr,
			 pod);
}

static void remove_all(void)
{
	char p[512];

	for (int i = 0; i < n_pods; i++)
		for (size_t d = 0; d < N_DIRS; d++) {
			for (int c = 0; c < 2; c++) {
				pod_path(p, sizeof(p), dirs[d], i, c);
				rmdir(p);
			}
			pod_path(p, sizeof(p), dirs[d], i, -1);
			rmdir(p);
		}
	for (size_t d = 0; d < N_DIRS; d++) {
		if (made_parent[d][1]) {
			snprintf(p, sizeof(p), "%s/%s/kubepods/besteffort", root, dirs[d]);
			rmdir(p);
		}
		if (made_parent[d][0]) {
			snprintf(p, sizeof(p), "%s/%s/kubepods", root, dirs[d]);
			rmdir(p);
		}
	}
}

static void on_signal(int sig)
{
	(void)sig;
	remove_all();
	_exit(1);
}

static int create_all(void)
{
	char p[512];
	for (size_t d = 0; d < N_DIRS; d++) {
		snprintf(p, sizeof(p), "%s/%s/kubepods", root, dirs[d]);
		made_parent[d][0] = mkdir(p, 0755) == 0;
		snprintf(p, sizeof(p), "%s/%s/kubepods/besteffort", root, dirs[d]);
		made_parent[d][1] = mkdir(p, 0755) == 0;
	}
	for (int i = 0; i < n_pods; i++)
		for (size_t d = 0; d < N_DIRS; d++) {
			pod_path(p, sizeof(p), dirs[d], i, -1);
			if (mkdir(p, 0755) != 0 && errno != EEXIST) {
				fprintf(stderr, "mkdir %s: %s\n", p, strerror(errno));
				return -1;
			}
			for (int c = 0; c < 2; c++) {
				pod_path(p, sizeof(p), dirs[d], i, c);
				if (mkdir(p, 0755) != 0 && errno != EEXIST) {
					fprintf(stderr, "mkdir %s: %s\n", p, strerror(errno));
					return -1;
				}
			}
		}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void stats(double *v, int n, double *min, double *med, double *max)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	*min = v[0];
	*med = v[n / 2];
	*max = v[n - 1];
}

/* Opens every file of every pod and container cgroup; returns the count. */
/* Opens every file of pods [first, last) and their containers. */
static int open_floor(int *fds, int cap, int first, int last)
{
	char dir[512], p[600];
	int n = 0;
	for (int i = first; i < last; i++)
		for (int c = -1; c < 2; c++)
			for (size_t f = 0; f < N_FILES && n < cap; f++) {
				pod_path(dir, sizeof(dir), files[f].dir, i, c);
				snprintf(p, sizeof(p), "%s/%s", dir, files[f].file);
				int fd = open(p, O_RDONLY | O_CLOEXEC);
				if (fd >= 0)
					fds[n++] = fd;
			}
	return n;
}

/* Cycle CPU over the existing tree: "existing ROUNDS CYCLES". */
static int measure_existing(int rounds, int cycles_per_round)
{
	struct cadet_error err;
	struct store st;
	struct collection *col = NULL;
	struct collect_options opts = { .cgroup_root = root, .proc_root = "/proc", .fs_path = "/",
					.rescan_interval_ns = 3600ULL * 1000000000ULL };
	if (store_init(&st, 15000000000ULL, 1000000000ULL, &err) != 0 || collection_open(&opts, &col, &err) != 0 ||
	    collection_run_cycle(col, &st, &err) != 0) {
		fprintf(stderr, "collection: %s\n", err.msg);
		return 1;
	}
	double cycle[100], mn, md, mx;
	for (int r = 0; r < rounds; r++) {
		double t0 = cpu_seconds();
		for (int k = 0; k < cycles_per_round; k++)
			if (collection_run_cycle(col, &st, &err) != 0)
				fprintf(stderr, "cycle: %s\n", err.msg);
		cycle[r] = (cpu_seconds() - t0) / cycles_per_round * 1e3;
	}
	stats(cycle, rounds, &mn, &md, &mx);
	printf("cadet cycle over %zu containers: CPU ms min %.3f median %.3f max %.3f\n", store_count_containers(&st),
	       mn, md, mx);
	collection_free(col);
	store_free(&st);
	return 0;
}

/* One snapshot over the existing tree, start-up included: "snapshot". */
static int snapshot(void)
{
	struct cadet_error err;
	struct store st;
	struct collection *col = NULL;
	struct collect_options opts = { .cgroup_root = root, .proc_root = "/proc", .fs_path = "/",
					.rescan_interval_ns = 3600ULL * 1000000000ULL };
	if (store_init(&st, 15000000000ULL, 1000000000ULL, &err) != 0) {
		fprintf(stderr, "store: %s\n", err.msg);
		return 1;
	}
	int rc = 1;
	if (collection_open(&opts, &col, &err) == 0 && collection_run_cycle(col, &st, &err) == 0) {
		printf("cadet snapshot: %zu containers\n", store_count_containers(&st));
		rc = 0;
	} else {
		fprintf(stderr, "collection: %s\n", err.msg);
	}
	collection_free(col);
	store_free(&st);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "snapshot") == 0) {
		log_set_level(LOG_WARNING);
		return snapshot();
	}
	if (argc > 1 && strcmp(argv[1], "existing") == 0) {
		log_set_level(LOG_WARNING);
		int rounds = argc > 2 ? atoi(argv[2]) : 7, cycles = argc > 3 ? atoi(argv[3]) : 10;
		if (rounds < 1 || rounds > 100 || cycles < 1)
			return 2;
		return measure_existing(rounds, cycles);
	}
	int n_containers = argc > 1 ? atoi(argv[1]) : 1000;
	int rounds = argc > 2 ? atoi(argv[2]) : 7;
	int cycles_per_round = argc > 3 ? atoi(argv[3]) : 10;
	if (n_containers < 2 || rounds < 1 || cycles_per_round < 1 || rounds > 100) {
		fprintf(stderr, "usage: %s [containers] [rounds] [cycles-per-round]\n", argv[0]);
		return 2;
	}
	n_pods = n_containers / 2;
	snprintf(base, sizeof(base), "kubepods/besteffort");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	log_set_level(LOG_WARNING);
	if (create_all() != 0) {
		remove_all();
		return 1;
	}

	struct cadet_error err;
	struct store st;
	struct agent_views views;
	struct collect_options opts = { .cgroup_root = root, .proc_root = "/proc", .fs_path = "/",
					.rescan_interval_ns = 3600ULL * 1000000000ULL };
	if (store_init(&st, 15000000000ULL, 1000000000ULL, &err) != 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		remove_all();
		return 1;
	}
	agent_views_init(&views);
	int cap = FLOOR_CHUNK_PODS * 3 * (int)N_FILES;
	int *fds = calloc((size_t)cap, sizeof(int));
	if (!fds) {
		remove_all();
		return 1;
	}
	size_t tracked = 0;
	int n_fds = 0;

	/* Each round holds either the agent's kept files or the floor's, never
	 * both: together they would pass the open-file limit. */
	double cycle[100], floor_[100], render[100], steady[100];
	char buf[16384];
	for (int r = 0; r < rounds; r++) {
		/* steady state: usage-only reads, full reads every 10 s */
		struct collect_options steady_opts = opts;
		steady_opts.full_read_interval_ns = 10ULL * 1000000000ULL;
		struct collection *scol = NULL;
		if (collection_open(&steady_opts, &scol, &err) != 0 || collection_run_cycle(scol, &st, &err) != 0) {
			fprintf(stderr, "collection: %s\n", err.msg);
			collection_free(scol);
			remove_all();
			return 1;
		}
		double s0 = cpu_seconds();
		for (int k = 0; k < cycles_per_round; k++)
			if (collection_run_cycle(scol, &st, &err) != 0)
				fprintf(stderr, "cycle: %s\n", err.msg);
		steady[r] = (cpu_seconds() - s0) / cycles_per_round * 1e3;
		collection_free(scol);

		struct collection *col = NULL;
		if (collection_open(&opts, &col, &err) != 0 || collection_run_cycle(col, &st, &err) != 0) {
			fprintf(stderr, "collection: %s\n", err.msg);
			collection_free(col);
			remove_all();
			return 1;
		}
		tracked = store_count_containers(&st);
		double t0 = cpu_seconds();
		for (int k = 0; k < cycles_per_round; k++)
			if (collection_run_cycle(col, &st, &err) != 0)
				fprintf(stderr, "cycle: %s\n", err.msg);
		double t1 = cpu_seconds();
		collection_free(col);

		/* the floor in chunks that fit the open-file limit: only the
		 * preads are timed */
		double floor_s = 0;
		n_fds = 0;
		for (int first = 0; first < n_pods; first += FLOOR_CHUNK_PODS) {
			int last = first + FLOOR_CHUNK_PODS < n_pods ? first + FLOOR_CHUNK_PODS : n_pods;
			int n = open_floor(fds, cap, first, last);
			double c0 = cpu_seconds();
			for (int k = 0; k < cycles_per_round; k++)
				for (int i = 0; i < n; i++)
					if (pread(fds[i], buf, sizeof(buf), 0) < 0)
						perror("pread");
			floor_s += cpu_seconds() - c0;
			for (int i = 0; i < n; i++)
				close(fds[i]);
			n_fds += n;
		}
		double r0 = cpu_seconds();
		for (int k = 0; k < cycles_per_round; k++) {
			agent_views_render(&views, &st, "bench", false, &err);
			if (!agent_views_get(&views, VIEW_SUMMARY, &err) ||
			    !agent_views_get(&views, VIEW_RESOURCE_METRICS, &err))
				fprintf(stderr, "render: %s\n", err.msg);
		}
		double r1 = cpu_seconds();
		cycle[r] = (t1 - t0) / cycles_per_round * 1e3;
		floor_[r] = floor_s / cycles_per_round * 1e3;
		render[r] = (r1 - r0) / cycles_per_round * 1e3;
	}
	double ratios[100];
	for (int r = 0; r < rounds; r++)
		ratios[r] = cycle[r] / floor_[r];
	double mn, md, mx;
	printf("collection, %d container cgroups (%zu in store), %d files on the floor, %d rounds x %d cycles\n",
	       n_pods * 2, tracked, n_fds, rounds, cycles_per_round);
	if ((size_t)n_fds > cgroup_fd_budget_hint())
		printf("  note: %d files exceed the agent's descriptor budget here (%zu); the rest are reopened per read\n",
		       n_fds, cgroup_fd_budget_hint());
	stats(cycle, rounds, &mn, &md, &mx);
	printf("  cadet full cycle CPU ms  min %.3f  median %.3f  max %.3f\n", mn, md, mx);
	stats(floor_, rounds, &mn, &md, &mx);
	printf("  pread floor CPU      ms  min %.3f  median %.3f  max %.3f\n", mn, md, mx);
	stats(ratios, rounds, &mn, &md, &mx);
	printf("  ratio cycle/floor        min %.2f  median %.2f  max %.2f   (target <= 1.5)\n", mn, md, mx);
	stats(steady, rounds, &mn, &md, &mx);
	printf("  steady cycle CPU     ms  min %.3f  median %.3f  max %.3f   (usage-only reads between 10 s full reads)\n",
	       mn, md, mx);
	stats(render, rounds, &mn, &md, &mx);
	printf("  render summary+resource ms  min %.3f  median %.3f  max %.3f   (/stats/summary is %zu bytes)\n", mn, md,
	       mx, views.text[VIEW_SUMMARY].len);

	free(fds);
	agent_views_free(&views);
	store_free(&st);
	remove_all();
	return 0;
}
