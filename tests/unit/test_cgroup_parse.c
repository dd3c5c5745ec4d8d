/* test_cgroup_parse.c: every parser in agent/collect-parse.h on the text of
 * real kernel files and on broken variants of it.
 *
 * Covers parse_u64 (digits only, UINT64_MAX exactly, one past it and 20+
 * digit numbers rejected), parse_single_u64 (trailing newline, "max" only
 * where allowed, empty and non-numbers), parse_flat_keyed (memory.stat and
 * cpu.stat samples, unknown keys skipped, found bits, malformed and
 * truncated lines, overflow), parse_psi (with and without "full", missing
 * fields, bad numbers, unexpected lines, empty), parse_meminfo (kB scaling,
 * values without unit, overflow) and parse_proc_stat (busy ticks from the
 * aggregate line only, btime, short and missing lines, sums that would wrap).
 * Every error must name the file it came from. Buffers are passed without a
 * NUL terminator where it matters, as the readers pass them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect-parse.h"

/* A copy of s without its terminating NUL, in its own heap block, so that
 * ASan catches a parser that reads one byte past the end. */
static char *unterminated(const char *s, size_t *len)
{
	*len = strlen(s);
	char *p = malloc(*len ? *len : 1);
	assert_non_null(p);
	memcpy(p, s, *len);
	return p;
}

/* ---- parse_u64 ---- */

static int u64(const char *s, uint64_t *out)
{
	size_t len;
	char *p = unterminated(s, &len);
	int r = parse_u64(p, p + len, out);
	free(p);
	return r;
}

static void test_u64_good(void **state)
{
	(void)state;
	uint64_t v = 1;
	assert_int_equal(u64("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(u64("12345", &v), 0);
	assert_true(v == 12345);
	assert_int_equal(u64("000042", &v), 0);
	assert_true(v == 42);
	assert_int_equal(u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_u64_bad(void **state)
{
	(void)state;
	uint64_t v = 7;
	assert_int_equal(u64("", &v), -1);
	assert_int_equal(u64("18446744073709551616", &v), -1);  /* UINT64_MAX + 1 */
	assert_int_equal(u64("99999999999999999999", &v), -1);  /* 20 digits */
	assert_int_equal(u64("123456789012345678901234", &v), -1);
	assert_int_equal(u64("-1", &v), -1);
	assert_int_equal(u64("+1", &v), -1);
	assert_int_equal(u64("12a", &v), -1);
	assert_int_equal(u64("1 ", &v), -1);
	assert_int_equal(u64(" 1", &v), -1);
	assert_int_equal(u64("1.5", &v), -1);
	assert_int_equal(u64("0x10", &v), -1);
	assert_true(v == 7); /* untouched on failure */
}

/* ---- parse_single_u64 ---- */

static int single(const char *s, int max_allowed, uint64_t *out, struct cadet_error *err)
{
	size_t len;
	char *p = unterminated(s, &len);
	int r = parse_single_u64(p, len, "memory.current", max_allowed, out, err);
	free(p);
	return r;
}

static void test_single_good(void **state)
{
	(void)state;
	struct cadet_error err = { 0 };
	uint64_t v = 0;
	assert_int_equal(single("104857600\n", 0, &v, &err), 0);
	assert_true(v == 104857600);
	assert_int_equal(single("7", 0, &v, &err), 0); /* no newline */
	assert_true(v == 7);
	assert_int_equal(single("0\n", 0, &v, &err), 0);
	assert_true(v == 0);
	assert_int_equal(single("9223372036854771712\n", 0, &v, &err), 0); /* v1 "no limit" */
	assert_true(v == 9223372036854771712ULL);
	assert_int_equal(single("max\n", 1, &v, &err), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(single("max", 1, &v, &err), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(single("4096\n", 1, &v, &err), 0); /* numbers still fine with max allowed */
	assert_true(v == 4096);
}

static void expect_single_error(const char *text, int max_allowed)
{
	struct cadet_error err = { 0 };
	uint64_t v = 0;
	assert_int_equal(single(text, max_allowed, &v, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "memory.current"));
}

static void test_single_bad(void **state)
{
	(void)state;
	expect_single_error("", 0);
	expect_single_error("\n", 0);
	expect_single_error("max\n", 0); /* max where no limit word is allowed */
	expect_single_error("maximum\n", 1);
	expect_single_error("ma", 1);      /* truncated "max" */
	expect_single_error("abc\n", 0);
	expect_single_error("12 34\n", 0);
	expect_single_error("-5\n", 0);
	expect_single_error("18446744073709551616\n", 0);
	expect_single_error("123456789012345678901234567890\n", 1);
	expect_single_error("1\n2\n", 0); /* two lines */

	/* the message quotes at most 40 bytes of what it found */
	char junk[200];
	memset(junk, 'x', sizeof(junk) - 1);
	junk[sizeof(junk) - 1] = '\0';
	struct cadet_error err = { 0 };
	uint64_t v;
	assert_int_equal(single(junk, 0, &v, &err), -1);
	assert_null(strstr(err.msg, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")); /* 41 x */
}

/* ---- parse_flat_keyed ---- */

static const char v2_memory_stat[] = "anon 8904704\n"
				     "file 41037824\n"
				     "kernel_stack 65536\n"
				     "sock 0\n"
				     "shmem 0\n"
				     "file_mapped 19869696\n"
				     "active_anon 8884224\n"
				     "inactive_anon 0\n"
				     "active_file 20819968\n"
				     "inactive_file 20217856\n"
				     "unevictable 0\n"
				     "slab_reclaimable 1213000\n"
				     "pgfault 18315\n"
				     "pgmajfault 272\n"
				     "workingset_refault_anon 0\n"
				     "thp_fault_alloc 0\n";

static const char *const v2_mem_keys[] = { "inactive_file", "anon", "pgfault", "pgmajfault" };

static int keyed(const char *text, const char *name, const char *const *keys, size_t n, uint64_t *values,
		 uint64_t *found, struct cadet_error *err)
{
	size_t len;
	char *p = unterminated(text, &len);
	int r = parse_flat_keyed(p, len, name, keys, n, values, found, err);
	free(p);
	return r;
}

static void test_keyed_memory_stat(void **state)
{
	(void)state;
	struct cadet_error err = { 0 };
	uint64_t v[4] = { 0 }, found = 0;
	assert_int_equal(keyed(v2_memory_stat, "memory.stat", v2_mem_keys, 4, v, &found, &err), 0);
	assert_true(found == 0xf);
	assert_true(v[0] == 20217856);
	assert_true(v[1] == 8904704);
	assert_true(v[2] == 18315);
	assert_true(v[3] == 272);
}

static void test_keyed_v1_total_keys(void **state)
{
	(void)state;
	/* v1 memory.stat has both the local and the hierarchical total_ keys;
	 * a key must match whole, not as a prefix or suffix */
	static const char text[] = "cache 4096\nrss 8192\ninactive_file 1\ntotal_cache 40960\n"
				   "total_rss 81920\ntotal_inactive_file 12288\ntotal_pgfault 99\n"
				   "total_pgmajfault 3\n";
	static const char *const keys[] = { "total_inactive_file", "total_rss", "total_pgfault",
					    "total_pgmajfault", "rss" };
	struct cadet_error err = { 0 };
	uint64_t v[5] = { 0 }, found = 0;
	assert_int_equal(keyed(text, "memory.stat", keys, 5, v, &found, &err), 0);
	assert_true(found == 0x1f);
	assert_true(v[0] == 12288);
	assert_true(v[1] == 81920);
	assert_true(v[2] == 99);
	assert_true(v[3] == 3);
	assert_true(v[4] == 8192);
}

static void test_keyed_cpu_stat_and_missing_keys(void **state)
{
	(void)state;
	static const char text[] = "usage_usec 2480291\nuser_usec 1663427\nsystem_usec 816864\n"
				   "core_sched.force_idle_usec 0\n";
	static const char *const keys[] = { "usage_usec", "user_usec", "system_usec",
					    "nr_periods", "nr_throttled", "throttled_usec" };
	struct cadet_error err = { 0 };
	uint64_t v[6] = { 0 }, found = 0;
	assert_int_equal(keyed(text, "cpu.stat", keys, 6, v, &found, &err), 0);
	assert_true(found == 0x7); /* no throttling keys without a cpu controller */
	assert_true(v[0] == 2480291);
	assert_true(v[1] == 1663427);
	assert_true(v[2] == 816864);
	assert_true(v[3] == 0);

	/* blank lines and a missing final newline are fine */
	assert_int_equal(keyed("\nusage_usec 5\n\nuser_usec 6", "cpu.stat", keys, 6, v, &found, &err), 0);
	assert_true(found == 0x3);
	assert_true(v[0] == 5 && v[1] == 6);
}

static void test_keyed_empty(void **state)
{
	(void)state;
	struct cadet_error err = { 0 };
	uint64_t v[4] = { 0 }, found = 123;
	assert_int_equal(keyed("", "memory.stat", v2_mem_keys, 4, v, &found, &err), 0);
	assert_true(found == 0); /* the caller sees nothing was found */
}

static void expect_keyed_error(const char *text, const char *what)
{
	struct cadet_error err = { 0 };
	uint64_t v[4] = { 0 }, found = 0;
	assert_int_equal(keyed(text, "memory.stat", v2_mem_keys, 4, v, &found, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "memory.stat"));
	if (what)
		assert_non_null(strstr(err.msg, what));
}

static void test_keyed_malformed(void **state)
{
	(void)state;
	expect_keyed_error("anon 1\ngarbage\n", "line 2");       /* no space */
	expect_keyed_error(" anon 1\n", "line 1");               /* empty key */
	expect_keyed_error("anon\n", "line 1");
	expect_keyed_error("anon x\n", "anon");                  /* non-number for a wanted key */
	expect_keyed_error("anon -1\n", "anon");
	expect_keyed_error("anon 1.5\n", "anon");
	expect_keyed_error("anon 12 \n", "anon");                /* trailing junk */
	expect_keyed_error("pgfault 18446744073709551616\n", "pgfault");
	expect_keyed_error("pgfault 123456789012345678901234\n", "pgfault");
	/* truncated mid-file: the last line lost its value or its separator */
	expect_keyed_error("anon 8904704\nfile 41037824\ninactive_file ", "inactive_file");
	expect_keyed_error("anon 8904704\nfile 41037824\ninactive_fi", "line 3");
}

static void test_keyed_unknown_keys_skipped(void **state)
{
	(void)state;
	/* unknown keys are not validated: newer kernels may add anything */
	struct cadet_error err = { 0 };
	uint64_t v[4] = { 0 }, found = 0;
	assert_int_equal(keyed("future_key some text\nanon 5\n", "memory.stat", v2_mem_keys, 4, v, &found, &err),
			 0);
	assert_true(found == 0x2);
	assert_true(v[1] == 5);
}

/* ---- parse_psi ---- */

static int psi(const char *text, struct psi_stats *out, struct cadet_error *err)
{
	size_t len;
	char *p = unterminated(text, &len);
	int r = parse_psi(p, len, "cpu.pressure", out, err);
	free(p);
	return r;
}

static void test_psi_some_and_full(void **state)
{
	(void)state;
	struct cadet_error err = { 0 };
	struct psi_stats s;
	assert_int_equal(psi("some avg10=1.53 avg60=0.87 avg300=0.22 total=9876543\n"
			     "full avg10=0.50 avg60=0.25 avg300=0.05 total=1234567\n",
			     &s, &err),
			 0);
	assert_true(s.has_full);
	assert_float_equal(s.some.avg10, 1.53, 1e-9);
	assert_float_equal(s.some.avg60, 0.87, 1e-9);
	assert_float_equal(s.some.avg300, 0.22, 1e-9);
	assert_true(s.some.total_us == 9876543);
	assert_float_equal(s.full.avg10, 0.50, 1e-9);
	assert_float_equal(s.full.avg60, 0.25, 1e-9);
	assert_float_equal(s.full.avg300, 0.05, 1e-9);
	assert_true(s.full.total_us == 1234567);
}

static void test_psi_some_only(void **state)
{
	(void)state;
	struct cadet_error err = { 0 };
	struct psi_stats s;
	memset(&s, 0xff, sizeof(s));
	/* older kernels' cpu.pressure: no full line, no final newline */
	assert_int_equal(psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=0", &s, &err), 0);
	assert_false(s.has_full);
	assert_true(s.some.total_us == 0);
	assert_float_equal(s.some.avg10, 0, 0);
	assert_true(s.full.total_us == 0); /* cleared, not left over */
	assert_float_equal(s.full.avg300, 0, 0);
	/* fields in another order and large values */
	assert_int_equal(psi("some total=18446744073709551615 avg300=100.00 avg60=99.99 avg10=12\n", &s, &err), 0);
	assert_true(s.some.total_us == UINT64_MAX);
	assert_float_equal(s.some.avg300, 100.0, 1e-9);
	assert_float_equal(s.some.avg10, 12.0, 1e-9);
}

static void expect_psi_error(const char *text)
{
	struct cadet_error err = { 0 };
	struct psi_stats s;
	assert_int_equal(psi(text, &s, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "cpu.pressure"));
}

static void test_psi_malformed(void **state)
{
	(void)state;
	expect_psi_error("");
	expect_psi_error("\n");
	expect_psi_error("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"); /* no some */
	expect_psi_error("some avg10=0.00 avg60=0.00 avg300=0.00\n");         /* no total */
	expect_psi_error("some avg10=0.00 avg60=0.00 total=5\n");             /* no avg300 */
	expect_psi_error("some avg10=0.00 avg60=0.00 avg300=0.00 total=x\n");
	expect_psi_error("some avg10=abc avg60=0.00 avg300=0.00 total=1\n");
	expect_psi_error("some avg10= avg60=0.00 avg300=0.00 total=1\n");
	expect_psi_error("some avg10=1.2.3 avg60=0.00 avg300=0.00 total=1\n");
	expect_psi_error("some avg10=-1 avg60=0.00 avg300=0.00 total=1\n");
	expect_psi_error("some avg10=0.00 avg60=0.00 avg300=0.00 total=184467440737095516160\n");
	expect_psi_error("some avg10 avg60=0.00 avg300=0.00 total=1\n"); /* token without '=' */
	expect_psi_error("some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nhello\n");
	expect_psi_error("some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00\n");
	/* truncated in the middle of the some line */
	expect_psi_error("some avg10=0.00 avg60=0.0");
}

/* ---- parse_meminfo ---- */

static const char meminfo_sample[] = "MemTotal:        8131432 kB\n"
				     "MemFree:          301264 kB\n"
				     "MemAvailable:    6027456 kB\n"
				     "Buffers:          179556 kB\n"
				     "Cached:          5446124 kB\n"
				     "SwapCached:            0 kB\n"
				     "Active:          3268408 kB\n"
				     "Inactive:        3875412 kB\n"
				     "Active(anon):    1486620 kB\n"
				     "Inactive(anon):    14860 kB\n"
				     "Active(file):    1781788 kB\n"
				     "Inactive(file):  3860552 kB\n"
				     "SwapTotal:             0 kB\n"
				     "AnonPages:       1518504 kB\n"
				     "HugePages_Total:       0\n"
				     "HugePages_Free:        0\n"
				     "Hugepagesize:       2048 kB\n";

static const char *const meminfo_keys[] = { "MemTotal", "MemFree", "Inactive(file)", "AnonPages",
					    "HugePages_Total", "SwapFree" };

static int meminfo(const char *text, uint64_t *v, uint64_t *found, struct cadet_error *err)
{
	size_t len;
	char *p = unterminated(text, &len);
	int r = parse_meminfo(p, len, meminfo_keys, 6, v, found, err);
	free(p);
	return r;
}

static void test_meminfo_sample(void **state)
{
	(void)state;
	struct cadet_error err = { 0 };
	uint64_t v[6] = { 0 }, found = 0;
	assert_int_equal(meminfo(meminfo_sample, v, &found, &err), 0);
	assert_true(found == 0x1f); /* SwapFree is not in the sample */
	assert_true(v[0] == 8131432ULL * 1024);
	assert_true(v[1] == 301264ULL * 1024);
	assert_true(v[2] == 3860552ULL * 1024); /* not "Inactive" */
	assert_true(v[3] == 1518504ULL * 1024);
	assert_true(v[4] == 0); /* a count, no unit */

	assert_int_equal(meminfo("", v, &found, &err), 0);
	assert_true(found == 0);
}

static void test_meminfo_bad(void **state)
{
	(void)state;
	struct cadet_error err = { 0 };
	uint64_t v[6] = { 0 }, found = 0;
	assert_int_equal(meminfo("MemTotal:        abc kB\n", v, &found, &err), -1);
	assert_non_null(strstr(err.msg, "/proc/meminfo"));
	assert_non_null(strstr(err.msg, "MemTotal"));
	/* kB values that overflow once scaled to bytes, and 20+ digit values */
	assert_int_equal(meminfo("MemTotal: 18014398509481984 kB\n", v, &found, &err), -1);
	assert_int_equal(meminfo("MemFree: 123456789012345678901 kB\n", v, &found, &err), -1);
	assert_int_equal(meminfo("MemFree: 123456789012345678901\n", v, &found, &err), -1);
	/* truncated after the colon */
	assert_int_equal(meminfo("MemTotal: 8131432 kB\nMemFree:", v, &found, &err), -1);
	assert_non_null(strstr(err.msg, "MemFree"));
	/* the largest kB value that still fits */
	assert_int_equal(meminfo("MemTotal: 18014398509481983 kB\n", v, &found, &err), 0);
	assert_true(v[0] == 18014398509481983ULL * 1024);
}

/* ---- parse_proc_stat ---- */

static const char proc_stat_sample[] = "cpu  10132153 290696 3084719 46828483 16683 0 25195 0 0 0\n"
				       "cpu0 1393280 32966 572056 13343292 6130 0 17875 0 0 0\n"
				       "cpu1 1335252 31891 469263 13395599 2706 0 1239 0 0 0\n"
				       "intr 199292132 29 9 0 0\n"
				       "ctxt 393497416\n"
				       "btime 1763876543\n"
				       "processes 1190386\n"
				       "procs_running 1\n"
				       "procs_blocked 0\n";

static int proc_stat(const char *text, uint64_t *busy, uint64_t *btime, struct cadet_error *err)
{
	size_t len;
	char *p = unterminated(text, &len);
	int r = parse_proc_stat(p, len, busy, btime, err);
	free(p);
	return r;
}

static void test_proc_stat_sample(void **state)
{
	(void)state;
	struct cadet_error err = { 0 };
	uint64_t busy = 0, btime = 0;
	assert_int_equal(proc_stat(proc_stat_sample, &busy, &btime, &err), 0);
	/* user + nice + system + irq + softirq + steal; not idle, iowait, guest */
	assert_true(busy == 10132153ULL + 290696 + 3084719 + 0 + 25195 + 0);
	assert_true(btime == 1763876543ULL);

	/* steal counts; guest (already in user) does not */
	assert_int_equal(proc_stat("cpu  100 0 50 1000 7 3 2 11 99 99\nbtime 5\n", &busy, &btime, &err), 0);
	assert_true(busy == 100 + 50 + 3 + 2 + 11);
	assert_true(btime == 5);

	/* old kernels: only four fields */
	assert_int_equal(proc_stat("cpu 1 2 3 4\nbtime 9", &busy, &btime, &err), 0);
	assert_true(busy == 1 + 2 + 3);
}

static void expect_proc_stat_error(const char *text)
{
	struct cadet_error err = { 0 };
	uint64_t busy = 0, btime = 0;
	assert_int_equal(proc_stat(text, &busy, &btime, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "/proc/stat"));
}

static void test_proc_stat_bad(void **state)
{
	(void)state;
	expect_proc_stat_error("");
	expect_proc_stat_error("btime 1763876543\n");                      /* no cpu line */
	expect_proc_stat_error("cpu  1 2 3 4 5 6 7 8\n");                 /* no btime */
	expect_proc_stat_error("cpu0 1 2 3 4 5 6 7 8\nbtime 1\n");        /* per-CPU only */
	expect_proc_stat_error("cpu  1 2 3\nbtime 1\n");                  /* short */
	expect_proc_stat_error("cpu  1 2 x 4 5 6 7 8\nbtime 1\n");
	expect_proc_stat_error("cpu  1 2 3 4 5 6 7 8\nbtime soon\n");
	expect_proc_stat_error("cpu  123456789012345678901 2 3 4 5 6 7 8\nbtime 1\n");
	expect_proc_stat_error("cpu  1 2 3 4 5 6 7 8\nbtime 123456789012345678901\n");
	/* truncated after the cpu line's first fields */
	expect_proc_stat_error("cpu  10132153 290");
	/* fields that each parse but whose sum does not fit in 64 bits */
	expect_proc_stat_error("cpu  18446744073709551615 18446744073709551615 1 0 0 0 0 0\nbtime 1\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_good),
		cmocka_unit_test(test_u64_bad),
		cmocka_unit_test(test_single_good),
		cmocka_unit_test(test_single_bad),
		cmocka_unit_test(test_keyed_memory_stat),
		cmocka_unit_test(test_keyed_v1_total_keys),
		cmocka_unit_test(test_keyed_cpu_stat_and_missing_keys),
		cmocka_unit_test(test_keyed_empty),
		cmocka_unit_test(test_keyed_malformed),
		cmocka_unit_test(test_keyed_unknown_keys_skipped),
		cmocka_unit_test(test_psi_some_and_full),
		cmocka_unit_test(test_psi_some_only),
		cmocka_unit_test(test_psi_malformed),
		cmocka_unit_test(test_meminfo_sample),
		cmocka_unit_test(test_meminfo_bad),
		cmocka_unit_test(test_proc_stat_sample),
		cmocka_unit_test(test_proc_stat_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
