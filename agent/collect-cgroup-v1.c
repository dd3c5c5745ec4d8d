/* collect-cgroup-v1.c: the reader for cgroup v1 and hybrid layouts. CPU comes from
 * cpuacct.usage (ns) and cpu.stat (throttling, throttled time in ns); memory from the memory controller's usage_in_bytes and the
 * hierarchical total_* keys of memory.stat; pids from the pids controller.
 * In the hybrid layout the cgroup2 mount supplies the PSI files. */
#include <errno.h>
#include <string.h>

#include "agent/collect-cgroup-internal.h"
#include "agent/collect-parse.h"

enum {
	F_CPUACCT_USAGE,
	F_CPU_STAT,
	F_MEMORY_USAGE,
	F_MEMORY_STAT,
	F_MEMORY_LIMIT,
	F_PIDS_CURRENT,
	F_CPU_PRESSURE,
	F_MEMORY_PRESSURE,
	F_IO_PRESSURE,
	F_COUNT,
};

static const struct cgroup_file_spec v1_files[F_COUNT] = {
	[F_CPUACCT_USAGE] = { V1_DIR_CPUACCT, "cpuacct.usage", 1 },
	[F_CPU_STAT] = { V1_DIR_CPU, "cpu.stat", 0 },
	[F_MEMORY_USAGE] = { V1_DIR_MEMORY, "memory.usage_in_bytes", 0 },
	[F_MEMORY_STAT] = { V1_DIR_MEMORY, "memory.stat", 0 },
	[F_MEMORY_LIMIT] = { V1_DIR_MEMORY, "memory.limit_in_bytes", 0 },
	[F_PIDS_CURRENT] = { V1_DIR_PIDS, "pids.current", 0 },
	[F_CPU_PRESSURE] = { V1_DIR_UNIFIED, "cpu.pressure", 0 },
	[F_MEMORY_PRESSURE] = { V1_DIR_UNIFIED, "memory.pressure", 0 },
	[F_IO_PRESSURE] = { V1_DIR_UNIFIED, "io.pressure", 0 },
};

/* A v1 limit this large means "no limit" (the kernel writes PAGE_COUNTER_MAX
 * rounded to pages, about 2^63). */
#define V1_NO_LIMIT_ABOVE (1ULL << 62)

static int read_cpu(struct cgroup_handle *h, struct sample *out,
		    char *buf, struct cadet_error *err)
{
	size_t len;
	if (cgroup_kept_read(h, F_CPUACCT_USAGE, "cpuacct.usage", buf, CGROUP_READ_BUF, &len, err) < 0 ||
	    parse_single_u64(buf, len, "cpuacct.usage", 0, &out->cpu_usage_ns, err) < 0)
		return -1;
	out->have |= SAMPLE_HAVE_CPU;

	int r = cgroup_read_optional(h, F_CPU_STAT, buf, &len, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		static const char *const keys[] = { "nr_periods", "nr_throttled", "throttled_time" };
		uint64_t v[3] = { 0 }, found;
		if (parse_flat_keyed(buf, len, "cpu.stat", keys, 3, v, &found, err) < 0)
			return -1;
		if (found == 7) {
			out->cpu_periods = v[0];
			out->cpu_throttled_periods = v[1];
			out->cpu_throttled_ns = v[2];
			out->have |= SAMPLE_HAVE_THROTTLE;
		}
	}
	return 0;
}

static int read_memory(struct cgroup_handle *h, struct sample *out, char *buf, struct cadet_error *err)
{
	size_t len;
	int r = cgroup_read_optional(h, F_MEMORY_USAGE, buf, &len, err);
	if (r <= 0)
		return r;
	if (parse_single_u64(buf, len, "memory.usage_in_bytes", 0, &out->memory_usage_bytes, err) < 0)
		return -1;
	static const char *const keys[4] = { "total_inactive_file", "total_rss", "total_pgfault",
						    "total_pgmajfault" };
	if (cgroup_read_memory_stat(h, F_MEMORY_STAT, keys, out, buf, err) < 0)
		return -1;

	r = cgroup_read_optional(h, F_MEMORY_LIMIT, buf, &len, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		uint64_t limit;
		if (parse_single_u64(buf, len, "memory.limit_in_bytes", 0, &limit, err) < 0)
			return -1;
		if (limit < V1_NO_LIMIT_ABOVE) {
			out->memory_limit_bytes = limit;
			out->have |= SAMPLE_HAVE_MEMORY_LIMIT;
		}
	}
	return 0;
}

static int v1_read(struct cgroup_collector *c, struct cgroup_handle *h, struct sample *out,
		   struct cadet_error *err)
{
	(void)c;
	char buf[CGROUP_READ_BUF];
	if (read_cpu(h, out, buf, err) < 0 || read_memory(h, out, buf, err) < 0)
		return -1;
	static const struct cgroup_tail_files tail = {
		.pids_current = F_PIDS_CURRENT,
		.cpu_pressure = F_CPU_PRESSURE,
		.memory_pressure = F_MEMORY_PRESSURE,
		.io_pressure = F_IO_PRESSURE,
	};
	return cgroup_read_pids_and_psi(h, &tail, out, buf, err);
}

static int v1_read_usage(struct cgroup_collector *c, struct cgroup_handle *h, struct sample *out,
			 struct cadet_error *err)
{
	(void)c;
	char buf[256];
	size_t len;
	if (cgroup_kept_read(h, F_CPUACCT_USAGE, "cpuacct.usage", buf, sizeof(buf), &len, err) < 0 ||
	    parse_single_u64(buf, len, "cpuacct.usage", 0, &out->cpu_usage_ns, err) < 0)
		return -1;
	out->have |= SAMPLE_HAVE_CPU;
	if (!(out->have & SAMPLE_HAVE_MEMORY))
		return 0;
	if (cgroup_kept_read(h, F_MEMORY_USAGE, "memory.usage_in_bytes", buf, sizeof(buf), &len, err) < 0 ||
	    parse_single_u64(buf, len, "memory.usage_in_bytes", 0, &out->memory_usage_bytes, err) < 0)
		return -1;
	return 0;
}

const struct cgroup_reader cgroup_reader_v1 = {
	.name = "v1",
	.files = v1_files,
	.n_files = F_COUNT,
	.read = v1_read,
	.read_usage = v1_read_usage,
};
