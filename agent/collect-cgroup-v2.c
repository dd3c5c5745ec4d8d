/* collect-cgroup-v2.c: the reader for the unified cgroup v2 hierarchy. CPU and
 * throttling come from cpu.stat (microseconds), memory from memory.current
 * and memory.stat (anon, inactive_file, pgfault, pgmajfault), the limit from
 * memory.max ("max" = none), swap from memory.swap.current, plus
 * pids.current and the PSI files. The root cgroup has no memory.current;
 * the node's memory then comes from /proc/meminfo (collect-node.c). */
#include <errno.h>
#include <string.h>

#include "agent/collect-cgroup-internal.h"
#include "agent/collect-parse.h"
#include "common/duration.h"

enum {
	F_CPU_STAT,
	F_MEMORY_CURRENT,
	F_MEMORY_STAT,
	F_MEMORY_MAX,
	F_MEMORY_SWAP_CURRENT,
	F_PIDS_CURRENT,
	F_CPU_PRESSURE,
	F_MEMORY_PRESSURE,
	F_IO_PRESSURE,
	F_COUNT,
};

static const struct cgroup_file_spec v2_files[F_COUNT] = {
	[F_CPU_STAT] = { V2_DIR_ROOT, "cpu.stat", 1 },
	[F_MEMORY_CURRENT] = { V2_DIR_ROOT, "memory.current", 0 },
	[F_MEMORY_STAT] = { V2_DIR_ROOT, "memory.stat", 0 },
	[F_MEMORY_MAX] = { V2_DIR_ROOT, "memory.max", 0 },
	[F_MEMORY_SWAP_CURRENT] = { V2_DIR_ROOT, "memory.swap.current", 0 },
	[F_PIDS_CURRENT] = { V2_DIR_ROOT, "pids.current", 0 },
	[F_CPU_PRESSURE] = { V2_DIR_ROOT, "cpu.pressure", 0 },
	[F_MEMORY_PRESSURE] = { V2_DIR_ROOT, "memory.pressure", 0 },
	[F_IO_PRESSURE] = { V2_DIR_ROOT, "io.pressure", 0 },
};

static int read_cpu(struct cgroup_handle *h, struct sample *out, char *buf, struct cadet_error *err)
{
	size_t len;
	if (cgroup_kept_read(h, F_CPU_STAT, "cpu.stat", buf, CGROUP_READ_BUF, &len, err) < 0)
		return -1;
	static const char *const keys[] = { "usage_usec", "nr_periods", "nr_throttled", "throttled_usec" };
	uint64_t v[4] = { 0 }, found;
	if (parse_flat_keyed(buf, len, "cpu.stat", keys, 4, v, &found, err) < 0)
		return -1;
	if (!(found & 1))
		return cadet_error_set(err, EINVAL, "cpu.stat: no usage_usec");
	if (v[0] > UINT64_MAX / NSEC_PER_USEC || v[3] > UINT64_MAX / NSEC_PER_USEC)
		return cadet_error_set(err, ERANGE, "cpu.stat: value out of range");
	out->cpu_usage_ns = v[0] * NSEC_PER_USEC;
	out->have |= SAMPLE_HAVE_CPU;
	if ((found & 0xe) == 0xe) {
		out->cpu_periods = v[1];
		out->cpu_throttled_periods = v[2];
		out->cpu_throttled_ns = v[3] * NSEC_PER_USEC;
		out->have |= SAMPLE_HAVE_THROTTLE;
	}
	return 0;
}

static int read_memory(struct cgroup_handle *h, struct sample *out, char *buf, struct cadet_error *err)
{
	size_t len;
	int r = cgroup_read_optional(h, F_MEMORY_CURRENT, buf, &len, err);
	if (r <= 0)
		return r;
	if (parse_single_u64(buf, len, "memory.current", 0, &out->memory_usage_bytes, err) < 0)
		return -1;
	static const char *const keys[4] = { "inactive_file", "anon", "pgfault", "pgmajfault" };
	if (cgroup_read_memory_stat(h, F_MEMORY_STAT, keys, out, buf, err) < 0)
		return -1;

	r = cgroup_read_optional(h, F_MEMORY_MAX, buf, &len, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		uint64_t limit;
		if (parse_single_u64(buf, len, "memory.max", 1, &limit, err) < 0)
			return -1;
		if (limit != UINT64_MAX) {
			out->memory_limit_bytes = limit;
			out->have |= SAMPLE_HAVE_MEMORY_LIMIT;
		}
	}
	r = cgroup_read_optional(h, F_MEMORY_SWAP_CURRENT, buf, &len, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (parse_single_u64(buf, len, "memory.swap.current", 0, &out->swap_usage_bytes, err) < 0)
			return -1;
		out->have |= SAMPLE_HAVE_SWAP;
	}
	return 0;
}

static int v2_read(struct cgroup_collector *c, struct cgroup_handle *h, struct sample *out,
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

static int v2_read_usage(struct cgroup_collector *c, struct cgroup_handle *h, struct sample *out,
			 struct cadet_error *err)
{
	(void)c;
	char buf[CGROUP_READ_BUF];
	size_t len;
	/* cpu.stat carries usage and throttling in one small file */
	if (read_cpu(h, out, buf, err) < 0)
		return -1;
	if (!(out->have & SAMPLE_HAVE_MEMORY))
		return 0;
	if (cgroup_kept_read(h, F_MEMORY_CURRENT, "memory.current", buf, CGROUP_READ_BUF, &len, err) < 0 ||
	    parse_single_u64(buf, len, "memory.current", 0, &out->memory_usage_bytes, err) < 0)
		return -1;
	return 0;
}

const struct cgroup_reader cgroup_reader_v2 = {
	.name = "v2",
	.files = v2_files,
	.n_files = F_COUNT,
	.read = v2_read,
	.read_usage = v2_read_usage,
};
