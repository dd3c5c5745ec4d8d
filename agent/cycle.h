/* cycle.h: one collection cycle, from cgroups and procfs into the store.
 *
 * The collection owns the cgroup collector, the node reader, discovery and
 * the set of tracked cgroups (each with its kept files). A cycle rescans
 * when discovery says so, reads the node, the kubepods cgroup, every pod
 * and container, and records them in the store. Each cgroup gets a full
 * read (every file, memory.stat and PSI included) at most every
 * full_read_interval_ns, like cAdvisor's housekeeping, and a usage-only
 * read (cumulative CPU and memory usage) in the cycles between, which costs
 * about a fifth. A cgroup that vanishes is
 * closed quietly; its series stays in the store until the window expires. */
#ifndef CADET_COLLECT_H
#define CADET_COLLECT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/store.h"
#include "common/error.h"

struct collection;

/* Counters for the agent's own /metrics. */
struct collect_counters {
	uint64_t cycles;
	uint64_t read_errors;    /* malformed or unreadable files */
	uint64_t vanished;       /* cgroups that disappeared between scan and read */
	uint64_t scans;
	uint64_t last_cycle_ns;  /* CPU-independent wall time of the last cycle */
	uint64_t total_cycle_ns;
	uint64_t tracked_cgroups;
	uint64_t node_errors;    /* cycles where the node could not be read (pods were still read) */
	uint64_t bpf_usage_reads; /* usage-only reads served by BPF iterator walks */
};

struct collect_options {
	const char *cgroup_root; /* e.g. /sys/fs/cgroup */
	const char *proc_root;   /* /proc */
	const char *fs_path;     /* the node filesystem to report */
	uint64_t rescan_interval_ns;
	uint64_t full_read_interval_ns; /* 0: every cycle reads every file */
	bool bpf_usage; /* usage-only reads from BPF cgroup iterators where they load */
};

int collection_open(const struct collect_options *opts, struct collection **out, struct cadet_error *err);
void collection_free(struct collection *c);
const char *collection_layout_name(const struct collection *c);
/* Whether CPU is read from cgroup2 (the v2 layout) rather than from the v1
 * cpuacct hierarchy (v1 and hybrid): the hierarchy BPF events must watch. */
bool collection_cpu_from_cgroup2(const struct collection *c);

/* Runs one cycle: one walk of the store (store_begin_sweep/end_sweep) that
 * records every cgroup it reads, each with one store_record() call; the
 * reads hold nothing of the store. Fails only when the store cannot take
 * a sample (out of memory); an unreadable node and per-cgroup problems are
 * counted and logged once. */
int collection_run_cycle(struct collection *c, struct store *s, struct cadet_error *err);
/* Asks for a discovery scan on the next cycle (new cgroup seen elsewhere). */
void collection_request_scan(struct collection *c);
const struct collect_counters *collection_counters(const struct collection *c);

#endif
