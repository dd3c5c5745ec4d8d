/* test_aggregator_peer_log.c: the per-peer log rate limit of the push
 * server (aggregator/peer-log.c): one line per host and node and interval,
 * the held back count on the next line, ports of one host share a slot,
 * another node of the same host has its own, a full table reuses the slot
 * logged longest ago, and all peers together get at most
 * PEER_LOG_MAX_LINES lines an interval. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "aggregator/peer-log.h"

#define SEC 1000000000ULL

static void test_one_line_per_interval(void **state)
{
	(void)state;
	struct peer_log *pl = malloc(sizeof(*pl));
	assert_non_null(pl);
	peer_log_init(pl, 60 * SEC);
	uint64_t held = 99;
	assert_true(peer_log_allow(pl, "ipv4:127.0.0.1:40000", "n1", 1 * SEC, &held));
	assert_int_equal(held, 0);
	/* 100 streams of the same host, other ports, within the minute */
	char peer[64];
	for (int i = 0; i < 100; i++) {
		snprintf(peer, sizeof(peer), "ipv4:127.0.0.1:%d", 40001 + i);
		assert_false(peer_log_allow(pl, peer, "n1", 2 * SEC + (uint64_t)i, &held));
	}
	/* another host is logged at once */
	assert_true(peer_log_allow(pl, "ipv6:[::1]:5000", "n1", 3 * SEC, &held));
	assert_int_equal(held, 0);
	assert_false(peer_log_allow(pl, "ipv6:[::1]:5001", "n1", 4 * SEC, &held));
	/* a minute after its line, the first host's next line carries the count */
	held = 0;
	assert_true(peer_log_allow(pl, "ipv4:127.0.0.1:41000", "n1", 61 * SEC, &held));
	assert_int_equal(held, 100);
	assert_false(peer_log_allow(pl, "ipv4:127.0.0.1:41001", "n1", 62 * SEC, &held));
	/* another node behind the same host is another agent */
	assert_true(peer_log_allow(pl, "ipv4:127.0.0.1:41002", "n2", 63 * SEC, &held));
	free(pl);
}

static void test_cap_over_all_peers(void **state)
{
	(void)state;
	struct peer_log *pl = malloc(sizeof(*pl));
	assert_non_null(pl);
	peer_log_init(pl, 60 * SEC);
	uint64_t held;
	char node[32];
	int logged = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(node, sizeof(node), "node-%d", i);
		logged += peer_log_allow(pl, "ipv4:127.0.0.1:1", node, SEC + (uint64_t)i, &held);
	}
	assert_int_equal(logged, PEER_LOG_MAX_LINES);
	/* the next interval opens again */
	assert_true(peer_log_allow(pl, "ipv4:127.0.0.1:1", "node-new", 62 * SEC, &held));
	free(pl);
}

static void test_full_table_reuses_oldest(void **state)
{
	(void)state;
	struct peer_log *pl = malloc(sizeof(*pl));
	assert_non_null(pl);
	peer_log_init(pl, 60 * SEC);
	uint64_t held;
	char peer[64];
	/* one host a second, so the cap over all peers never bites */
	for (int i = 0; i < PEER_LOG_SLOTS; i++) {
		snprintf(peer, sizeof(peer), "ipv4:10.0.%d.%d:1", i / 256, i % 256);
		assert_true(peer_log_allow(pl, peer, "n1", (uint64_t)(i + 1) * SEC, &held));
	}
	/* a new host takes the slot of the first one, which is then new again */
	uint64_t t = (PEER_LOG_SLOTS + 1) * SEC;
	assert_true(peer_log_allow(pl, "ipv4:192.0.2.1:1", "n1", t, &held));
	assert_true(peer_log_allow(pl, "ipv4:10.0.0.0:2", "n1", t + SEC, &held));
	/* one logged 50 s before is still held */
	assert_false(peer_log_allow(pl, "ipv4:10.0.0.206:2", "n1", t + 2 * SEC, &held));
	/* a peer string without a port is its own key */
	assert_true(peer_log_allow(pl, "unix:/run/x.sock", "n1", t + 3 * SEC, &held));
	assert_false(peer_log_allow(pl, "unix:/run/x.sock", "n1", t + 4 * SEC, &held));
	free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_line_per_interval),
		cmocka_unit_test(test_full_table_reuses_oldest),
		cmocka_unit_test(test_cap_over_all_peers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
