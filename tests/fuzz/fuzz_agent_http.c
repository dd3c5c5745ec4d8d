/* fuzz_agent_http.c: libFuzzer target for cadet-agent's HTTP request
 * handling. Each input is raw bytes sent on one connection to the agent's
 * real plain-HTTP listener (agent_http_start with --debug-listen on a
 * loopback port, see http-rig.h), so evhttp's parser and limits, the common
 * server's method and path checks and the agent's routing, query flags and
 * views all see it. (The HTTPS listener runs the same handler behind TLS and
 * its client authentication.) The views are real: at start the target
 * writes a small cgroup v2 tree (kubepods, one burstable pod with two
 * containers) under a temporary directory, runs two collection cycles into
 * the store and publishes them, exactly as the daemon's main loop does. The
 * tree is removed right after: requests never read cgroup files, and no
 * exit path (a crash, a signal, libFuzzer's own) can leave it behind. */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/cycle.h"
#include "agent/wire-http.h"
#include "agent/store.h"
#include "agent/views.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "tests/fuzz/http-rig.h"

static struct http_rig rig;
static char tree[] = "/tmp/cadet-fuzz-agent-XXXXXX";
static struct collection *collection;
static struct store store;
static struct agent_views views;
static struct agent_http *http;
static uint64_t last_cycle_ns;

#define POD "kubepods/burstable/pod6b9f3c2a-1d4e-4f5a-8b7c-9d0e1f2a3b4c"

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	/* create parents */
	for (char *p = path + strlen(tree) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	FILE *f = fopen(path, "we");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

static void cgroup(const char *rel, const char *usage_usec, const char *mem)
{
	char p[256], stat[128];
	snprintf(stat, sizeof(stat), "usage_usec %s\nuser_usec 1000\nsystem_usec 500\n", usage_usec);
	snprintf(p, sizeof(p), "%s/cpu.stat", rel);
	put(p, stat);
	snprintf(p, sizeof(p), "%s/memory.current", rel);
	put(p, mem);
	snprintf(p, sizeof(p), "%s/memory.stat", rel);
	put(p, "anon 4096\nfile 8192\ninactive_file 4096\npgfault 10\npgmajfault 1\n");
	snprintf(p, sizeof(p), "%s/memory.max", rel);
	put(p, "max\n");
	snprintf(p, sizeof(p), "%s/cpu.pressure", rel);
	put(p, "some avg10=0.10 avg60=0.05 avg300=0.01 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=12\n");
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	log_set_level(LOG_CRIT); /* rendering warnings would flood the fuzzer's output */
	if (!mkdtemp(tree)) {
		perror("mkdtemp");
		abort();
	}
	put("cgroup.controllers", "cpu memory pids\n");
	cgroup("", "99000000", "0\n");
	cgroup("kubepods", "5000000", "1048576\n");
	cgroup(POD, "3000000", "524288\n");
	cgroup(POD "/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "2000000", "262144\n");
	cgroup(POD "/fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", "1000000", "131072\n");

	struct cadet_error err;
	struct collect_options copts = {
		.cgroup_root = tree,
		.proc_root = "/proc",
		.fs_path = "/",
		.rescan_interval_ns = 10 * NSEC_PER_SEC,
	};
	if (collection_open(&copts, &collection, &err) != 0 ||
	    store_init(&store, 15 * NSEC_PER_SEC, NSEC_PER_SEC, &err) != 0) {
		fprintf(stderr, "fuzz_agent_http setup: %s\n", err.msg);
		abort();
	}
	agent_views_init(&views);
	for (int i = 0; i < 2; i++) {
		if (collection_run_cycle(collection, &store, &err) != 0 ||
		    agent_views_render(&views, &store, "fuzz-node", false, &err) != 0) {
			fprintf(stderr, "fuzz_agent_http cycle: %s\n", err.msg);
			abort();
		}
		usleep(2000);
	}
	last_cycle_ns = clock_monotonic_ns();
	cleanup();

	rig.base = event_base_new();
	if (!rig.base)
		abort();
	char debug_listen[32];
	snprintf(debug_listen, sizeof(debug_listen), "127.0.0.1:%u", (unsigned)http_rig_use_tcp(&rig));
	struct agent_http_options hopts = {
		.listen = "",
		.listen_fd = -1,
		.debug_listen = debug_listen,
		.interval_ns = NSEC_PER_SEC,
		.version = "fuzz",
		.layout = collection_layout_name(collection),
	};
	struct agent_http_sources src = {
		.views = &views,
		.collection = collection,
		.last_cycle_monotonic_ns = &last_cycle_ns,
	};
	if (agent_http_start(rig.base, &hopts, &src, &http, &err) != 0) {
		fprintf(stderr, "fuzz_agent_http start: %s\n", err.msg);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!rig.base)
		setup();
	http_rig_exchange(&rig, data, size);
	return 0;
}
