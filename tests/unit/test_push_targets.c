/* test_push_targets.c: parsing and resolving --aggregator (agent/wire-push-targets.c).
 *
 * Covers host:port, dns:///host:port, [v6]:port and IP literals (which are
 * flagged, so no certificate name override is used for them); schemes we do
 * not resolve (unix:, ipv4:, xds:///) kept verbatim as one address; malformed
 * targets (no port, port 0 or too big, a bare IPv6 address, an unclosed
 * bracket); resolving IP literals to exactly themselves without DNS;
 * resolving "localhost" to sorted, distinct addresses with the port. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "agent/wire-push-targets.h"

static void expect_parse(const char *target, const char *host, const char *port, bool is_ip)
{
	struct push_target t;
	struct cadet_error err = { 0 };
	assert_int_equal(push_target_parse(target, &t, &err), 0);
	assert_non_null(t.host);
	assert_string_equal(t.host, host);
	assert_string_equal(t.port, port);
	assert_int_equal(t.host_is_ip, is_ip);
	assert_null(t.verbatim);
	push_target_clear(&t);
}

static void test_parse(void **state)
{
	(void)state;
	expect_parse("cadet-aggregator-push.kube-system.svc:4445", "cadet-aggregator-push.kube-system.svc", "4445",
		     false);
	expect_parse("dns:///cadet-aggregator.kube-system.svc:8443", "cadet-aggregator.kube-system.svc", "8443",
		     false);
	expect_parse("localhost:1", "localhost", "1", false);
	expect_parse("10.0.0.7:4445", "10.0.0.7", "4445", true);
	expect_parse("[::1]:4445", "::1", "4445", true);
	expect_parse("dns:///[fd00::7]:65535", "fd00::7", "65535", true);
	expect_parse("Aggregator:4445", "Aggregator", "4445", false);
}

static void test_parse_verbatim(void **state)
{
	(void)state;
	const char *targets[] = { "unix:/run/cadet/push.sock", "ipv4:10.0.0.1:4445,10.0.0.2:4445", "xds:///cadet" };
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct push_target t;
		struct cadet_error err = { 0 };
		assert_int_equal(push_target_parse(targets[i], &t, &err), 0);
		assert_null(t.host);
		assert_string_equal(t.verbatim, targets[i]);
		char **addrs = NULL;
		size_t n = 0;
		assert_int_equal(push_target_resolve(&t, &addrs, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_string_equal(addrs[0], targets[i]);
		push_addrs_free(addrs, n);
		push_target_clear(&t);
	}
}

static void test_parse_errors(void **state)
{
	(void)state;
	const char *bad[] = { "aggregator", "aggregator:", "aggregator:0", "aggregator:65536", "aggregator:44x5",
			      ":4445", "::1", "[::1]", "[::1:4445", "dns:///aggregator", "[]:4445" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct push_target t;
		struct cadet_error err = { 0 };
		assert_int_equal(push_target_parse(bad[i], &t, &err), -1);
		assert_non_null(strstr(err.msg, bad[i]));
		push_target_clear(&t);
	}
}

static void expect_resolve(const char *target, const char *want)
{
	struct push_target t;
	struct cadet_error err = { 0 };
	assert_int_equal(push_target_parse(target, &t, &err), 0);
	char **addrs = NULL;
	size_t n = 0;
	assert_int_equal(push_target_resolve(&t, &addrs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(addrs[0], want);
	push_addrs_free(addrs, n);
	push_target_clear(&t);
}

static void test_resolve_literals(void **state)
{
	(void)state;
	expect_resolve("127.0.0.1:4445", "127.0.0.1:4445");
	expect_resolve("dns:///10.1.2.3:80", "10.1.2.3:80");
	expect_resolve("[::1]:4445", "[::1]:4445");
	expect_resolve("[fd00:0::7]:4445", "[fd00::7]:4445");
}

static void test_resolve_localhost(void **state)
{
	(void)state;
	struct push_target t;
	struct cadet_error err = { 0 };
	assert_int_equal(push_target_parse("localhost:4445", &t, &err), 0);
	char **addrs = NULL;
	size_t n = 0;
	assert_int_equal(push_target_resolve(&t, &addrs, &n, &err), 0);
	assert_true(n >= 1 && n <= 2);
	for (size_t i = 0; i < n; i++) {
		assert_true(strcmp(addrs[i], "127.0.0.1:4445") == 0 || strcmp(addrs[i], "[::1]:4445") == 0);
		if (i > 0)
			assert_true(strcmp(addrs[i - 1], addrs[i]) < 0);
	}
	push_addrs_free(addrs, n);
	push_target_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_verbatim),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_resolve_literals),
		cmocka_unit_test(test_resolve_localhost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
