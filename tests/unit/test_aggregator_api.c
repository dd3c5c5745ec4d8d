/* test_aggregator_api.c: content negotiation of the aggregator's API (which
 * Accept headers get the legacy JSON documents, which get 406 so that
 * kube-apiserver falls back from aggregated discovery) and the parsing of
 * the --listen addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "aggregator/api.h"
#include "common/https-server.h"

static void test_accept(void **state)
{
	(void)state;
	assert_true(api_accepts_json(NULL));
	assert_true(api_accepts_json(""));
	assert_true(api_accepts_json("application/json"));
	assert_true(api_accepts_json("application/json, */*"));
	assert_true(api_accepts_json("*/*"));
	assert_true(api_accepts_json("application/*;q=0.8"));
	assert_true(api_accepts_json("Application/JSON; charset=utf-8"));
	/* kubectl and kube-apiserver ask for aggregated discovery first, with
	 * plain JSON as the fallback */
	assert_true(api_accepts_json("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
				     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
				     "application/json"));
	assert_false(api_accepts_json("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"));
	assert_false(api_accepts_json("application/json;as=Table;v=v1;g=meta.k8s.io"));
	assert_false(api_accepts_json("application/vnd.kubernetes.protobuf"));
	assert_true(api_accepts_json("application/vnd.kubernetes.protobuf, application/json"));
	assert_false(api_accepts_json("text/html"));
}

static void test_listen_address(void **state)
{
	(void)state;
	char host[64];
	uint16_t port = 0;
	struct cadet_error err = { 0 };
	assert_int_equal(https_split_host_port("127.0.0.1:4443", host, sizeof(host), &port, &err), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 4443);
	assert_int_equal(https_split_host_port("[::1]:0", host, sizeof(host), &port, &err), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(https_split_host_port(":10250", host, sizeof(host), &port, &err), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, 10250);
	assert_int_equal(https_split_host_port("localhost", host, sizeof(host), &port, &err), -1);
	assert_int_equal(https_split_host_port("localhost:", host, sizeof(host), &port, &err), -1);
	assert_int_equal(https_split_host_port("localhost:65536", host, sizeof(host), &port, &err), -1);
	assert_int_equal(https_split_host_port("localhost:80x", host, sizeof(host), &port, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_listen_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
