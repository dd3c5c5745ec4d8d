/* test_cgroup_readers.c: the cgroup v1 and v2 readers through the one
 * collector interface (agent/collect-cgroup.h), on fixture trees this test writes
 * into a temporary directory, plus two checks on this machine's real
 * cgroups where they can be created (skipped otherwise).
 *
 * Covers layout detection (v2 from cgroup.controllers, v1 from a cpuacct or
 * cpu,cpuacct controller, hybrid from v1 plus unified/cgroup.controllers,
 * nothing recognisable, missing root, root not a directory); every field of
 * a full v2 and v1 read (CPU total, throttling, memory usage,
 * working set = usage - inactive_file floored at 0, rss, faults, limits
 * with v2 "max" and v1's 9223372036854771712 meaning none, swap, pids, PSI
 * from the cgroup2 side in hybrid); missing optional files tolerated and a
 * missing required file reported as vanished; a file replaced by garbage
 * and a file larger than 16 KiB give an error naming the file and the
 * cgroup, not a misparse; a cgroup removed after its handle was opened
 * reads as vanished (real cgroups) or cleanly, and cannot be reopened; the
 * usage-only read between full reads (CPU and memory usage fresh, the rest
 * and inactive_file carried over). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/collect-cgroup.h"

#define POD "kubepods/burstable/pod1e4a3c52-9f3b-4c6e-8a2d-5b7f0e9d1c2a"
#define CTR POD "/4f1c5d0b8e2a"

struct fixture {
	char root[PATH_MAX];
	struct cgroup_collector *c;
	struct cgroup_handle *h;
};

/* snprintf into a path buffer; a path that does not fit fails the test. */
#define PATHF(buf, ...) assert_true((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) < sizeof(buf))

static void mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	PATHF(buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", buf, strerror(errno));
}

/* Writes ROOT/rel in place (same inode if it exists, as a kept fd sees it). */
static void put(const struct fixture *f, const char *rel, const char *content)
{
	char path[PATH_MAX], dir[PATH_MAX];
	PATHF(path, "%s/%s", f->root, rel);
	PATHF(dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdir_p(dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	size_t len = strlen(content);
	assert_true(write(fd, content, len) == (ssize_t)len);
	close(fd);
}

static void mkdir_rel(const struct fixture *f, const char *rel)
{
	char path[PATH_MAX];
	PATHF(path, "%s/%s", f->root, rel);
	mkdir_p(path);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rel(const struct fixture *f, const char *rel)
{
	char path[PATH_MAX];
	PATHF(path, "%s/%s", f->root, rel);
	assert_int_equal(nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	const char *tmp = getenv("TMPDIR");
	if ((size_t)snprintf(f->root, sizeof(f->root), "%s/cadet-readers-XXXXXX", tmp && *tmp ? tmp : "/tmp") >= sizeof(f->root)) {
		free(f);
		return -1;
	}
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	cgroup_handle_close(f->h);
	cgroup_collector_free(f->c);
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void open_collector(struct fixture *f, enum cgroup_layout want)
{
	struct cadet_error err = { 0 };
	if (cgroup_collector_open(f->root, &f->c, &err) != 0)
		fail_msg("cgroup_collector_open: %s", err.msg);
	assert_int_equal(cgroup_collector_layout(f->c), want);
}

static void open_handle(struct fixture *f, const char *rel)
{
	struct cadet_error err = { 0 };
	if (cgroup_handle_open(f->c, rel, &f->h, &err) != 0)
		fail_msg("cgroup_handle_open %s: %s", rel, err.msg);
}

static void read_ok(struct fixture *f, struct sample *st)
{
	struct cadet_error err = { 0 };
	if (cgroup_handle_read(f->c, f->h, st, &err) != 0)
		fail_msg("cgroup_handle_read: %s", err.msg);
}

/* A read that must fail with errnum, its message naming file and cgroup. */
static void read_fails(struct fixture *f, int errnum, const char *file, const char *cgroup)
{
	struct cadet_error err = { 0 };
	struct sample st;
	if (cgroup_handle_read(f->c, f->h, &st, &err) == 0)
		fail_msg("%s in %s: read succeeded, want an error", file, cgroup);
	if (err.errnum != errnum)
		fail_msg("errnum %d (%s), want %d; message: %s", err.errnum, strerror(err.errnum), errnum, err.msg);
	assert_false(cgroup_error_is_vanished(err.errnum));
	if (!strstr(err.msg, file) || !strstr(err.msg, cgroup))
		fail_msg("message does not name %s in %s: %s", file, cgroup, err.msg);
}

static const char psi_some_full[] = "some avg10=1.50 avg60=0.75 avg300=0.25 total=123456\n"
				    "full avg10=0.50 avg60=0.10 avg300=0.01 total=6543\n";

/* ---- v2 fixtures ---- */

static void write_v2_cgroup(struct fixture *f, const char *rel)
{
	char p[PATH_MAX];
#define PUT(name, text)                                  \
	do {                                             \
		PATHF(p, "%s/%s", rel, name); \
		put(f, p, text);                         \
	} while (0)
	PUT("cpu.stat", "usage_usec 2500000\nuser_usec 1500000\nsystem_usec 1000000\n"
			"core_sched.force_idle_usec 0\nnr_periods 100\nnr_throttled 7\nthrottled_usec 350000\n"
			"nr_bursts 0\nburst_usec 0\n");
	PUT("memory.current", "104857600\n");
	PUT("memory.stat", "anon 52428800\nfile 41943040\nkernel 1048576\nactive_file 10485760\n"
			   "inactive_file 31457280\nslab 524288\npgfault 4242\npgmajfault 17\n");
	PUT("memory.max", "268435456\n");
	PUT("memory.swap.current", "4096\n");
	PUT("pids.current", "12\n");
	PUT("cpu.pressure", psi_some_full);
	PUT("memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=10\n"
			       "full avg10=0.00 avg60=0.00 avg300=0.00 total=5\n");
	PUT("io.pressure", "some avg10=2.00 avg60=1.00 avg300=0.50 total=999\n");
#undef PUT
}

static void make_v2(struct fixture *f)
{
	put(f, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	put(f, "cpu.stat", "usage_usec 99000000\nuser_usec 60000000\nsystem_usec 39000000\n");
	put(f, "cpu.pressure", psi_some_full);
	write_v2_cgroup(f, CTR);
}

static void test_layout_v2(void **state)
{
	struct fixture *f = *state;
	make_v2(f);
	open_collector(f, CGROUP_LAYOUT_V2);
	assert_string_equal(cgroup_layout_name(CGROUP_LAYOUT_V2), "v2");
	assert_string_equal(cgroup_collector_tree(f->c), f->root);
}

static void test_v2_read_all_fields(void **state)
{
	struct fixture *f = *state;
	make_v2(f);
	open_collector(f, CGROUP_LAYOUT_V2);
	open_handle(f, CTR);
	struct sample st;
	read_ok(f, &st);
	uint32_t want = SAMPLE_HAVE_CPU | SAMPLE_HAVE_THROTTLE | SAMPLE_HAVE_MEMORY |
			SAMPLE_HAVE_MEMORY_LIMIT | SAMPLE_HAVE_PIDS | SAMPLE_HAVE_CPU_PSI | SAMPLE_HAVE_MEMORY_PSI |
			SAMPLE_HAVE_IO_PSI | SAMPLE_HAVE_SWAP;
	assert_int_equal(st.have, want);
	assert_true(st.cpu_usage_ns == 2500000000ULL);
	assert_true(st.cpu_periods == 100);
	assert_true(st.cpu_throttled_periods == 7);
	assert_true(st.cpu_throttled_ns == 350000000ULL);
	assert_true(st.memory_usage_bytes == 104857600);
	assert_true(st.memory_working_set_bytes == 104857600 - 31457280);
	assert_true(st.memory_rss_bytes == 52428800);
	assert_true(st.memory_page_faults == 4242);
	assert_true(st.memory_major_page_faults == 17);
	assert_true(st.memory_limit_bytes == 268435456);
	assert_true(st.swap_usage_bytes == 4096);
	assert_true(st.pids_current == 12);
	assert_true(st.cpu_psi.has_full);
	assert_true(st.cpu_psi.some.total_us == 123456);
	assert_float_equal(st.cpu_psi.some.avg10, 1.5, 1e-9);
	assert_true(st.cpu_psi.full.total_us == 6543);
	assert_true(st.memory_psi.full.total_us == 5);
	assert_false(st.io_psi.has_full);
	assert_true(st.io_psi.some.total_us == 999);

	/* a second read through the same kept files sees new contents */
	put(f, CTR "/cpu.stat", "usage_usec 3000000\n");
	put(f, CTR "/memory.max", "max\n");
	read_ok(f, &st);
	assert_true(st.cpu_usage_ns == 3000000000ULL);
	assert_false(st.have & SAMPLE_HAVE_THROTTLE);
	assert_false(st.have & SAMPLE_HAVE_MEMORY_LIMIT); /* "max" = no limit */
	assert_true(st.have & SAMPLE_HAVE_MEMORY);
}

static void test_v2_working_set_floor(void **state)
{
	struct fixture *f = *state;
	make_v2(f);
	put(f, CTR "/memory.current", "1000\n");
	put(f, CTR "/memory.stat", "anon 0\ninactive_file 5000\n");
	open_collector(f, CGROUP_LAYOUT_V2);
	open_handle(f, CTR);
	struct sample st;
	read_ok(f, &st);
	assert_true(st.memory_usage_bytes == 1000);
	assert_true(st.memory_working_set_bytes == 0);
	/* exactly equal is 0 too, one byte more is 1 */
	put(f, CTR "/memory.current", "5000\n");
	read_ok(f, &st);
	assert_true(st.memory_working_set_bytes == 0);
	put(f, CTR "/memory.current", "5001\n");
	read_ok(f, &st);
	assert_true(st.memory_working_set_bytes == 1);
}

static void test_v2_root_and_missing_optional(void **state)
{
	struct fixture *f = *state;
	make_v2(f);
	open_collector(f, CGROUP_LAYOUT_V2);
	/* the root has cpu.stat and PSI but no memory.current */
	open_handle(f, "");
	struct sample st;
	read_ok(f, &st);
	assert_int_equal(st.have, SAMPLE_HAVE_CPU | SAMPLE_HAVE_CPU_PSI);
	assert_true(st.cpu_usage_ns == 99000000000ULL);
	cgroup_handle_close(f->h);
	f->h = NULL;

	/* a cgroup with nothing but cpu.stat (no memory or pids controller) */
	put(f, "kubepods/cpu.stat", "usage_usec 7\n");
	open_handle(f, "kubepods");
	read_ok(f, &st);
	assert_int_equal(st.have, SAMPLE_HAVE_CPU);
	assert_true(st.cpu_usage_ns == 7000);
	cgroup_handle_close(f->h);
	f->h = NULL;

	/* memory.current without memory.stat: working set = usage */
	put(f, "kubepods/memory.current", "4096\n");
	open_handle(f, "kubepods");
	read_ok(f, &st);
	assert_true(st.have & SAMPLE_HAVE_MEMORY);
	assert_true(st.memory_working_set_bytes == 4096);
	assert_false(st.have & SAMPLE_HAVE_MEMORY_LIMIT);
}

static void test_v2_missing_required(void **state)
{
	struct fixture *f = *state;
	make_v2(f);
	open_collector(f, CGROUP_LAYOUT_V2);
	struct cadet_error err = { 0 };
	struct cgroup_handle *h = NULL;
	/* no such cgroup, or no cpu.stat in it: both read as gone */
	assert_int_equal(cgroup_handle_open(f->c, POD "/nope", &h, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_true(cgroup_error_is_vanished(err.errnum));
	mkdir_rel(f, POD "/empty");
	assert_int_equal(cgroup_handle_open(f->c, POD "/empty", &h, &err), -1);
	assert_true(cgroup_error_is_vanished(err.errnum));
	assert_non_null(strstr(err.msg, "cpu.stat"));
	assert_null(h);
}

static void test_v2_cpu_stat_without_usage(void **state)
{
	struct fixture *f = *state;
	make_v2(f);
	put(f, CTR "/cpu.stat", "user_usec 1\nsystem_usec 2\n");
	open_collector(f, CGROUP_LAYOUT_V2);
	open_handle(f, CTR);
	read_fails(f, EINVAL, "cpu.stat", CTR);
	/* usage_usec whose nanoseconds would not fit in 64 bits */
	put(f, CTR "/cpu.stat", "usage_usec 18446744073709552\n");
	read_fails(f, ERANGE, "cpu.stat", CTR);
}

/* ---- v1 fixtures ---- */

static void write_v1_cgroup(struct fixture *f, const char *rel, const char *limit)
{
	char p[PATH_MAX];
#define PUT(ctl, name, text)                                        \
	do {                                                        \
		PATHF(p, "%s/%s/%s", ctl, rel, name); \
		put(f, p, text);                                    \
	} while (0)
	PUT("cpuacct", "cpuacct.usage", "7500000000\n");
	PUT("cpuacct", "cpuacct.stat", "user 500\nsystem 250\n");
	PUT("cpu", "cpu.stat", "nr_periods 40\nnr_throttled 3\nthrottled_time 120000000\n");
	PUT("memory", "memory.usage_in_bytes", "209715200\n");
	PUT("memory", "memory.stat", "cache 1\nrss 2\nrss_huge 0\nmapped_file 3\ninactive_file 4\n"
				     "pgfault 5\npgmajfault 6\nhierarchical_memory_limit 9223372036854771712\n"
				     "total_cache 73400320\ntotal_rss 125829120\ntotal_mapped_file 1048576\n"
				     "total_inactive_anon 0\ntotal_active_anon 125829120\n"
				     "total_inactive_file 62914560\ntotal_active_file 10485760\n"
				     "total_pgfault 8080\ntotal_pgmajfault 42\n");
	PUT("memory", "memory.limit_in_bytes", limit);
	PUT("pids", "pids.current", "3\n");
#undef PUT
}

static void make_v1(struct fixture *f, bool hybrid)
{
	mkdir_rel(f, "cpuacct");
	mkdir_rel(f, "cpu");
	mkdir_rel(f, "memory");
	mkdir_rel(f, "pids");
	put(f, "cpuacct/cpuacct.usage", "880000000000\n");
	write_v1_cgroup(f, CTR, "536870912\n");
	if (hybrid) {
		put(f, "unified/cgroup.controllers", "");
		put(f, "unified/" CTR "/cpu.pressure", psi_some_full);
		put(f, "unified/" CTR "/io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=77\n"
						      "full avg10=0.00 avg60=0.00 avg300=0.00 total=66\n");
	}
}

static void test_layout_v1_and_hybrid(void **state)
{
	struct fixture *f = *state;
	make_v1(f, false);
	open_collector(f, CGROUP_LAYOUT_V1);
	char want[PATH_MAX];
	PATHF(want, "%s/cpuacct", f->root);
	assert_string_equal(cgroup_collector_tree(f->c), want);
	cgroup_collector_free(f->c);
	f->c = NULL;

	/* unified without cgroup.controllers is not a cgroup2 mount */
	mkdir_rel(f, "unified");
	open_collector(f, CGROUP_LAYOUT_V1);
	cgroup_collector_free(f->c);
	f->c = NULL;

	put(f, "unified/cgroup.controllers", "");
	open_collector(f, CGROUP_LAYOUT_HYBRID);
	assert_string_equal(cgroup_collector_tree(f->c), want);
	assert_string_equal(cgroup_layout_name(CGROUP_LAYOUT_HYBRID), "hybrid");
	assert_string_equal(cgroup_layout_name(CGROUP_LAYOUT_V1), "v1");
}

static void test_layout_cpu_cpuacct_combined(void **state)
{
	struct fixture *f = *state;
	/* cpu and cpuacct co-mounted, as most distributions do */
	put(f, "cpu,cpuacct/" CTR "/cpuacct.usage", "1000\n");
	put(f, "cpu,cpuacct/" CTR "/cpu.stat", "nr_periods 1\nnr_throttled 1\nthrottled_time 5\n");
	put(f, "memory/" CTR "/memory.usage_in_bytes", "100\n");
	open_collector(f, CGROUP_LAYOUT_V1);
	char want[PATH_MAX];
	PATHF(want, "%s/cpu,cpuacct", f->root);
	assert_string_equal(cgroup_collector_tree(f->c), want);
	open_handle(f, CTR);
	struct sample st;
	read_ok(f, &st);
	assert_true(st.cpu_usage_ns == 1000);
	assert_true(st.have & SAMPLE_HAVE_THROTTLE);
	assert_true(st.cpu_throttled_ns == 5);
	assert_true(st.memory_working_set_bytes == 100);
}

static void test_layout_unrecognised(void **state)
{
	struct fixture *f = *state;
	struct cadet_error err = { 0 };
	struct cgroup_collector *c = NULL;
	/* an empty directory */
	assert_int_equal(cgroup_collector_open(f->root, &c, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, f->root));
	/* a memory controller alone is not enough */
	mkdir_rel(f, "memory");
	assert_int_equal(cgroup_collector_open(f->root, &c, &err), -1);
	/* no such root */
	char path[PATH_MAX];
	PATHF(path, "%s/missing", f->root);
	assert_int_equal(cgroup_collector_open(path, &c, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, path));
	/* a file, not a directory */
	put(f, "file", "x");
	PATHF(path, "%s/file", f->root);
	assert_int_equal(cgroup_collector_open(path, &c, &err), -1);
	assert_int_equal(err.errnum, ENOTDIR);
	assert_null(c);
}

static void test_v1_read_all_fields(void **state)
{
	struct fixture *f = *state;
	make_v1(f, false);
	open_collector(f, CGROUP_LAYOUT_V1);
	open_handle(f, CTR);
	struct sample st;
	read_ok(f, &st);
	assert_int_equal(st.have, SAMPLE_HAVE_CPU | SAMPLE_HAVE_THROTTLE |
					  SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_MEMORY_LIMIT | SAMPLE_HAVE_PIDS);
	assert_true(st.cpu_usage_ns == 7500000000ULL);
	assert_true(st.cpu_periods == 40);
	assert_true(st.cpu_throttled_periods == 3);
	assert_true(st.cpu_throttled_ns == 120000000ULL);
	assert_true(st.memory_usage_bytes == 209715200);
	/* hierarchical total_ keys, not the cgroup-local ones */
	assert_true(st.memory_working_set_bytes == 209715200 - 62914560);
	assert_true(st.memory_rss_bytes == 125829120);
	assert_true(st.memory_page_faults == 8080);
	assert_true(st.memory_major_page_faults == 42);
	assert_true(st.memory_limit_bytes == 536870912);
	assert_true(st.pids_current == 3);
}

static void test_v1_no_limit(void **state)
{
	struct fixture *f = *state;
	make_v1(f, false);
	write_v1_cgroup(f, CTR, "9223372036854771712\n");
	open_collector(f, CGROUP_LAYOUT_V1);
	open_handle(f, CTR);
	struct sample st;
	read_ok(f, &st);
	assert_true(st.have & SAMPLE_HAVE_MEMORY);
	assert_false(st.have & SAMPLE_HAVE_MEMORY_LIMIT);
	/* v1 has no "max" word: it is an error there */
	put(f, "memory/" CTR "/memory.limit_in_bytes", "max\n");
	read_fails(f, EINVAL, "memory.limit_in_bytes", CTR);
}

static void test_v1_working_set_floor(void **state)
{
	struct fixture *f = *state;
	make_v1(f, false);
	put(f, "memory/" CTR "/memory.usage_in_bytes", "4096\n");
	put(f, "memory/" CTR "/memory.stat", "total_inactive_file 8192\ntotal_rss 0\n");
	open_collector(f, CGROUP_LAYOUT_V1);
	open_handle(f, CTR);
	struct sample st;
	read_ok(f, &st);
	assert_true(st.memory_usage_bytes == 4096);
	assert_true(st.memory_working_set_bytes == 0);
}

static void test_v1_missing_optional(void **state)
{
	struct fixture *f = *state;
	make_v1(f, false);
	/* a container only the cpuacct controller knows */
	put(f, "cpuacct/kubepods/besteffort/podabc/ctr/cpuacct.usage", "42\n");
	open_collector(f, CGROUP_LAYOUT_V1);
	open_handle(f, "kubepods/besteffort/podabc/ctr");
	struct sample st;
	read_ok(f, &st);
	assert_int_equal(st.have, SAMPLE_HAVE_CPU);
	assert_true(st.cpu_usage_ns == 42);
	cgroup_handle_close(f->h);
	f->h = NULL;
	/* cpuacct.usage is the one required file */
	struct cadet_error err = { 0 };
	struct cgroup_handle *h = NULL;
	mkdir_rel(f, "cpuacct/kubepods/besteffort/podabc/empty");
	assert_int_equal(cgroup_handle_open(f->c, "kubepods/besteffort/podabc/empty", &h, &err), -1);
	assert_true(cgroup_error_is_vanished(err.errnum));
	assert_non_null(strstr(err.msg, "cpuacct.usage"));
	/* the root of a v1 tree */
	open_handle(f, "");
	read_ok(f, &st);
	assert_int_equal(st.have, SAMPLE_HAVE_CPU);
	assert_true(st.cpu_usage_ns == 880000000000ULL);
}

/* A runtime makes a container's directory in one controller after another:
 * files that appear after the handle was opened are picked up by the next
 * full read. */
static void test_v1_controller_appears_later(void **state)
{
	struct fixture *f = *state;
	make_v1(f, false);
	put(f, "cpuacct/kubepods/besteffort/podabc/late/cpuacct.usage", "42\n");
	open_collector(f, CGROUP_LAYOUT_V1);
	open_handle(f, "kubepods/besteffort/podabc/late");
	struct sample st;
	read_ok(f, &st);
	assert_int_equal(st.have, SAMPLE_HAVE_CPU);
	write_v1_cgroup(f, "kubepods/besteffort/podabc/late", "536870912\n");
	read_ok(f, &st);
	assert_true(st.have & SAMPLE_HAVE_MEMORY);
	assert_true(st.have & SAMPLE_HAVE_PIDS);
	assert_true(st.memory_working_set_bytes == 209715200ULL - 62914560ULL);
	assert_true(st.pids_current == 3);
}

static void test_hybrid_psi(void **state)
{
	struct fixture *f = *state;
	make_v1(f, true);
	open_collector(f, CGROUP_LAYOUT_HYBRID);
	open_handle(f, CTR);
	struct sample st;
	read_ok(f, &st);
	assert_true(st.have & SAMPLE_HAVE_CPU_PSI);
	assert_true(st.have & SAMPLE_HAVE_IO_PSI);
	assert_false(st.have & SAMPLE_HAVE_MEMORY_PSI); /* no memory.pressure in the fixture */
	assert_true(st.cpu_psi.some.total_us == 123456);
	assert_true(st.io_psi.full.total_us == 66);
	assert_true(st.cpu_usage_ns == 7500000000ULL); /* the v1 side still counts */
	/* a broken PSI file is an error naming it */
	put(f, "unified/" CTR "/io.pressure", "some avg10=x\n");
	read_fails(f, EINVAL, "io.pressure", CTR);
}

/* The cheap read between full reads: CPU and memory usage from their
 * files, everything else carried over, working set from the new usage and
 * the last full read's inactive_file. */
static void usage_read(struct fixture *f, const char *usage_rel, const char *usage_text, const char *cpu_rel,
		       const char *cpu_text, const char *stat_rel, const char *stat_text, uint64_t want_cpu_ns)
{
	open_handle(f, CTR);
	struct sample full, quick;
	read_ok(f, &full);
	put(f, usage_rel, usage_text);
	put(f, cpu_rel, cpu_text);
	put(f, stat_rel, stat_text); /* not read by the usage-only read */
	struct cadet_error err = { 0 };
	if (cgroup_handle_read_usage(f->c, f->h, &full, &quick, &err) != 0)
		fail_msg("cgroup_handle_read_usage: %s", err.msg);
	assert_int_equal(quick.have, full.have);
	assert_true(quick.cpu_usage_ns == want_cpu_ns);
	assert_true(quick.memory_usage_bytes == 300000000);
	assert_true(quick.memory_inactive_file_bytes == full.memory_inactive_file_bytes);
	assert_true(quick.memory_working_set_bytes == 300000000 - full.memory_inactive_file_bytes);
	assert_true(quick.memory_rss_bytes == full.memory_rss_bytes);
	assert_true(quick.memory_page_faults == full.memory_page_faults);
	assert_true(quick.memory_limit_bytes == full.memory_limit_bytes);
	assert_true(quick.pids_current == full.pids_current);
	/* usage below the remembered inactive_file: floored at 0 */
	put(f, usage_rel, "1\n");
	assert_int_equal(cgroup_handle_read_usage(f->c, f->h, &full, &quick, &err), 0);
	assert_true(quick.memory_working_set_bytes == 0);
	/* a broken usage file is an error there too */
	put(f, usage_rel, "junk\n");
	assert_int_equal(cgroup_handle_read_usage(f->c, f->h, &full, &quick, &err), -1);
	assert_false(cgroup_error_is_vanished(err.errnum));
	assert_non_null(strstr(err.msg, CTR));
	/* the next full read sees memory.stat again */
	put(f, usage_rel, "300000000\n");
	read_ok(f, &full);
	assert_true(full.memory_working_set_bytes == 300000000 - 1000);
}

static void test_v2_usage_only_read(void **state)
{
	struct fixture *f = *state;
	make_v2(f);
	open_collector(f, CGROUP_LAYOUT_V2);
	usage_read(f, CTR "/memory.current", "300000000\n", CTR "/cpu.stat", "usage_usec 2600000\n",
		   CTR "/memory.stat", "anon 1\ninactive_file 1000\n", 2600000000ULL);
}

static void test_v1_usage_only_read(void **state)
{
	struct fixture *f = *state;
	make_v1(f, false);
	open_collector(f, CGROUP_LAYOUT_V1);
	usage_read(f, "memory/" CTR "/memory.usage_in_bytes", "300000000\n", "cpuacct/" CTR "/cpuacct.usage",
		   "7600000000\n", "memory/" CTR "/memory.stat", "total_rss 1\ntotal_inactive_file 1000\n",
		   7600000000ULL);
}

/* ---- broken files ---- */

static void test_garbage_names_the_file(void **state)
{
	struct fixture *f = *state;
	make_v2(f);
	make_v1(f, false); /* same temp dir, separate v1 subtree used below */
	open_collector(f, CGROUP_LAYOUT_V2);
	open_handle(f, CTR);
	static const struct {
		const char *file, *garbage, *restore;
	} cases[] = {
		{ "memory.stat", "this is not a memory.stat\n", "anon 1\ninactive_file 1\n" },
		{ "memory.current", "\x01\x02\x03\n", "1048576\n" },
		{ "memory.max", "unlimited\n", "max\n" },
		{ "pids.current", "-1\n", "1\n" },
		{ "cpu.stat", "usage_usec twelve\n", "usage_usec 12\n" },
		{ "memory.pressure", "avg10=1\n", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" },
		{ "memory.swap.current", "", "0\n" },
		{ "memory.current", "", "1048576\n" }, /* truncated to nothing */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char rel[PATH_MAX];
		PATHF(rel, "%s/%s", CTR, cases[i].file);
		put(f, rel, cases[i].garbage);
		read_fails(f, EINVAL, cases[i].file, CTR);
		put(f, rel, cases[i].restore);
		struct sample st;
		read_ok(f, &st); /* reads cleanly again once the file is fixed */
	}
}

static void test_v1_garbage_names_the_file(void **state)
{
	struct fixture *f = *state;
	make_v1(f, false);
	open_collector(f, CGROUP_LAYOUT_V1);
	open_handle(f, CTR);
	put(f, "cpuacct/" CTR "/cpuacct.usage", "12345678901234567890123\n");
	read_fails(f, EINVAL, "cpuacct.usage", CTR);
	put(f, "cpuacct/" CTR "/cpuacct.usage", "1\n");
	put(f, "cpu/" CTR "/cpu.stat", "nr_periods\n");
	read_fails(f, EINVAL, "cpu.stat", CTR);
	put(f, "cpu/" CTR "/cpu.stat", "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n");
	put(f, "memory/" CTR "/memory.stat", "total_rss lots\n");
	read_fails(f, EINVAL, "memory.stat", CTR);
}

static void test_huge_file_is_an_error(void **state)
{
	struct fixture *f = *state;
	make_v2(f);
	open_collector(f, CGROUP_LAYOUT_V2);
	open_handle(f, CTR);
	/* a valid memory.stat padded past the 16 KiB read buffer: the keys that
	 * matter come last, so a reader that parsed the first 16 KiB would
	 * report zeros instead of failing */
	size_t size = 20000;
	char *big = malloc(size + 200);
	assert_non_null(big);
	size_t len = 0;
	for (int i = 0; len < size; i++)
		len += (size_t)sprintf(big + len, "padding_key_%d 0\n", i);
	sprintf(big + len, "inactive_file 100\nanon 200\n");
	put(f, CTR "/memory.stat", big);
	free(big);
	struct cadet_error err = { 0 };
	struct sample st;
	assert_int_equal(cgroup_handle_read(f->c, f->h, &st, &err), -1);
	assert_int_equal(err.errnum, EFBIG);
	assert_false(cgroup_error_is_vanished(err.errnum));
	assert_non_null(strstr(err.msg, "memory.stat"));
	assert_non_null(strstr(err.msg, CTR));

	/* a single-number file that grew huge */
	put(f, CTR "/memory.stat", "anon 1\ninactive_file 0\n");
	char *digits = malloc(17000);
	assert_non_null(digits);
	memset(digits, '1', 16999);
	digits[16999] = '\0';
	put(f, CTR "/pids.current", digits);
	free(digits);
	assert_int_equal(cgroup_handle_read(f->c, f->h, &st, &err), -1);
	assert_non_null(strstr(err.msg, "pids.current"));
	assert_false(cgroup_error_is_vanished(err.errnum));
}

static void test_removed_after_open_fixture(void **state)
{
	struct fixture *f = *state;
	make_v2(f);
	open_collector(f, CGROUP_LAYOUT_V2);
	open_handle(f, CTR);
	rm_rel(f, CTR);
	/* On a plain filesystem the kept fds still read the unlinked files; on
	 * cgroupfs the read fails with ENODEV. Either is fine; a misleading
	 * error is not. */
	struct cadet_error err = { 0 };
	struct sample st;
	if (cgroup_handle_read(f->c, f->h, &st, &err) == 0)
		assert_true(st.cpu_usage_ns == 2500000000ULL);
	else
		assert_true(cgroup_error_is_vanished(err.errnum));
	/* reopening it says it is gone */
	struct cgroup_handle *h = NULL;
	assert_int_equal(cgroup_handle_open(f->c, CTR, &h, &err), -1);
	assert_true(cgroup_error_is_vanished(err.errnum));
	assert_null(h);
}

/* On this machine's real cgroups: a cgroup removed while its files are
 * kept open. `root` is the collector root, `ctl` the directory the cgroup
 * is made in (relative to root). */
static void real_removed_after_open(const char *root, const char *ctl, enum cgroup_layout layout)
{
	char parent[PATH_MAX], dir[PATH_MAX], rel[64];
	PATHF(parent, "%s/%s", root, ctl);
	PATHF(rel, "cadet-ut-readers-%d", (int)getpid());
	PATHF(dir, "%s/%s", parent, rel);
	/* A skip prints its reason first: tests/run-tests.sh reports it. */
	if (geteuid() != 0 || access(parent, W_OK) != 0) {
		print_message("no writable cgroup at %s (root and that controller needed)\n", parent);
		skip();
	}
	if (mkdir(dir, 0755) != 0)
		fail_msg("mkdir %s: %s", dir, strerror(errno));
	struct cadet_error err = { 0 };
	struct cgroup_collector *c = NULL;
	struct cgroup_handle *h = NULL;
	if (cgroup_collector_open(root, &c, &err) != 0 || cgroup_collector_layout(c) != layout) {
		rmdir(dir);
		cgroup_collector_free(c);
		print_message("%s is not a %s layout\n", root, cgroup_layout_name(layout));
		skip();
	}
	if (cgroup_handle_open(c, rel, &h, &err) != 0) {
		rmdir(dir);
		cgroup_collector_free(c);
		fail_msg("open %s: %s", dir, err.msg);
	}
	struct sample st;
	int first = cgroup_handle_read(c, h, &st, &err);
	int removed = rmdir(dir);
	int second = cgroup_handle_read(c, h, &st, &err);
	int errnum = err.errnum;
	cgroup_handle_close(h);
	cgroup_collector_free(c);
	assert_int_equal(first, 0);
	assert_int_equal(removed, 0);
	assert_int_equal(second, -1);
	if (!cgroup_error_is_vanished(errnum))
		fail_msg("read after rmdir: errnum %d is not 'vanished': %s", errnum, err.msg);
}

static void test_removed_after_open_real_v1(void **state)
{
	(void)state;
	/* the hybrid layout here: cpuacct holds the one required file */
	struct stat st;
	if (stat("/sys/fs/cgroup/unified/cgroup.controllers", &st) != 0) {
		print_message("no hybrid cgroup layout here (no /sys/fs/cgroup/unified)\n");
		skip();
	}
	real_removed_after_open("/sys/fs/cgroup", "cpuacct", CGROUP_LAYOUT_HYBRID);
}

static void test_removed_after_open_real_v2(void **state)
{
	(void)state;
	/* the cgroup2 mount read as a pure v2 root */
	real_removed_after_open("/sys/fs/cgroup/unified", ".", CGROUP_LAYOUT_V2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_layout_v2),
		T(test_v2_read_all_fields),
		T(test_v2_working_set_floor),
		T(test_v2_root_and_missing_optional),
		T(test_v2_missing_required),
		T(test_v2_cpu_stat_without_usage),
		T(test_layout_v1_and_hybrid),
		T(test_layout_cpu_cpuacct_combined),
		T(test_layout_unrecognised),
		T(test_v1_read_all_fields),
		T(test_v1_no_limit),
		T(test_v1_working_set_floor),
		T(test_v1_missing_optional),
		T(test_v1_controller_appears_later),
		T(test_hybrid_psi),
		T(test_v2_usage_only_read),
		T(test_v1_usage_only_read),
		T(test_garbage_names_the_file),
		T(test_v1_garbage_names_the_file),
		T(test_huge_file_is_an_error),
		T(test_removed_after_open_fixture),
		cmocka_unit_test(test_removed_after_open_real_v1),
		cmocka_unit_test(test_removed_after_open_real_v2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
