/* fuzz_cgroup_parse.c: libFuzzer target for the strict cgroup and procfs
 * file parsers (agent/collect-parse.h). Every input is given, as a whole
 * file's bytes, to each parser in turn: parse_single_u64 (with and without
 * "max"), parse_flat_keyed with the keys the v1 and v2 readers ask for,
 * parse_psi, parse_meminfo and parse_proc_stat. libFuzzer's buffer has
 * exactly the input's size, so any read past the end is an ASan report.
 * Beyond not crashing, the target checks what the parsers promise: found
 * bits only for keys asked for, PSI averages finite and non-negative, error
 * messages naming the file. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect-parse.h"

static const char *const stat_keys[] = {
	"usage_usec", "user_usec", "system_usec", "nr_periods", "nr_throttled", "throttled_usec",
	"throttled_time", "user", "system", "anon", "file", "inactive_file", "pgfault", "pgmajfault",
	"total_inactive_file", "total_rss", "total_pgfault", "total_pgmajfault",
};
#define N_STAT_KEYS (sizeof(stat_keys) / sizeof(stat_keys[0]))

static const char *const meminfo_keys[] = { "MemTotal", "MemAvailable", "MemFree", "SwapTotal", "SwapFree" };
#define N_MEMINFO_KEYS (sizeof(meminfo_keys) / sizeof(meminfo_keys[0]))

static void check_error(int r, const struct cadet_error *err, const char *name)
{
	if (r == 0)
		return;
	if (r != -1 || !memchr(err->msg, '\0', sizeof(err->msg)) || (name && !strstr(err->msg, name)))
		abort();
}

static void check_psi_line(const struct psi_line *l)
{
	if (!isfinite(l->avg10) || !isfinite(l->avg60) || !isfinite(l->avg300) || l->avg10 < 0 || l->avg60 < 0 ||
	    l->avg300 < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct cadet_error err;
	uint64_t v;
	int r;

	r = parse_single_u64(buf, size, "memory.current", 0, &v, &err);
	check_error(r, &err, "memory.current");
	if (r == 0 && v == UINT64_MAX && size < 20)
		abort(); /* UINT64_MAX needs 20 digits without "max" */
	r = parse_single_u64(buf, size, "memory.max", 1, &v, &err);
	check_error(r, &err, "memory.max");

	uint64_t values[N_STAT_KEYS], found = 0;
	r = parse_flat_keyed(buf, size, "memory.stat", stat_keys, N_STAT_KEYS, values, &found, &err);
	check_error(r, &err, "memory.stat");
	if (r == 0 && (found >> N_STAT_KEYS) != 0)
		abort();

	struct psi_stats psi;
	r = parse_psi(buf, size, "cpu.pressure", &psi, &err);
	check_error(r, &err, "cpu.pressure");
	if (r == 0) {
		check_psi_line(&psi.some);
		if (psi.has_full)
			check_psi_line(&psi.full);
	}

	uint64_t mem[N_MEMINFO_KEYS];
	r = parse_meminfo(buf, size, meminfo_keys, N_MEMINFO_KEYS, mem, &found, &err);
	check_error(r, &err, "/proc/meminfo");
	if (r == 0 && (found >> N_MEMINFO_KEYS) != 0)
		abort();

	uint64_t busy, btime;
	r = parse_proc_stat(buf, size, &busy, &btime, &err);
	check_error(r, &err, "/proc/stat");
	return 0;
}
