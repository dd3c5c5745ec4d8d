/* collect-parse.h: strict parsers for the text of cgroup and procfs files.
 *
 * Each parser takes the bytes of a whole file (not NUL-terminated) and the
 * file's name for error messages. Unknown keys are skipped; malformed lines,
 * numbers that overflow and truncated content are errors that name the
 * file. None of them allocates. */
#ifndef CADET_CGROUP_PARSE_H
#define CADET_CGROUP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/sample.h"
#include "common/error.h"

/* Parses a decimal uint64 from [p, end) fully, with overflow check. */
int parse_u64(const char *p, const char *end, uint64_t *out);

/* A file holding one number ("12345\n"). With max_allowed, the word "max"
 * is accepted and gives UINT64_MAX (memory.max, pids.max). */
int parse_single_u64(const char *buf, size_t len, const char *name, int max_allowed, uint64_t *out,
		     struct cadet_error *err);

/* A "key value" file (memory.stat, cpu.stat, cpuacct.stat). For every line
 * whose key is in keys[0..n), stores the value in values[i] and sets bit i
 * of *found. */
int parse_flat_keyed(const char *buf, size_t len, const char *name, const char *const *keys, size_t n,
		     uint64_t *values, uint64_t *found, struct cadet_error *err);

/* A PSI file: "some avg10=.. avg60=.. avg300=.. total=..", optional "full ...". */
int parse_psi(const char *buf, size_t len, const char *name, struct psi_stats *out, struct cadet_error *err);

/* /proc/meminfo: for every key in keys (without the colon), the value in
 * bytes (the file gives kB); bits of *found as in parse_flat_keyed. */
int parse_meminfo(const char *buf, size_t len, const char *const *keys, size_t n, uint64_t *values_bytes,
		  uint64_t *found, struct cadet_error *err);

/* /proc/stat: the aggregate "cpu" line as busy time in USER_HZ ticks
 * (user+nice+system+irq+softirq+steal) and "btime" in seconds. */
int parse_proc_stat(const char *buf, size_t len, uint64_t *cpu_busy_ticks, uint64_t *boot_time_s,
		    struct cadet_error *err);

/* /proc/loadavg ("0.00 0.01 0.05 1/123 4567"): the running and total task
 * counts of the fourth field. */
int parse_loadavg_tasks(const char *buf, size_t len, uint64_t *running, uint64_t *total, struct cadet_error *err);

#endif
