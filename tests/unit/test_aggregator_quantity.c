/* test_aggregator_quantity.c: Quantity strings against what apimachinery's
 * resource.Quantity.String() gives for the same values, as metrics-server
 * builds them: NewScaledQuantity(nanocores, Nano) for CPU (DecimalSI) and
 * NewQuantity(bytes, BinarySI) for memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "common/quantity.h"

static void expect_cpu(uint64_t nanocores, const char *want)
{
	char out[QUANTITY_MAX];
	size_t len = quantity_format_nanocores(nanocores, out, sizeof(out));
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
}

static void expect_mem(uint64_t bytes, const char *want)
{
	char out[QUANTITY_MAX];
	size_t len = quantity_format_bytes(bytes, out, sizeof(out));
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
}

static void test_cpu(void **state)
{
	(void)state;
	expect_cpu(476038624, "476038624n"); /* metrics-server's own example */
	expect_cpu(0, "0");
	expect_cpu(1, "1n");
	expect_cpu(10, "10n");
	expect_cpu(100, "100n");
	expect_cpu(1000, "1u");
	expect_cpu(1100, "1100n");
	expect_cpu(250000, "250u");
	expect_cpu(100000000, "100m");
	expect_cpu(1000000, "1m");
	expect_cpu(10000000, "10m");
	expect_cpu(1000000000, "1");
	expect_cpu(1500000000, "1500m");
	expect_cpu(2000000000, "2");
	expect_cpu(12345000000, "12345m");
	expect_cpu(2000000000000ULL, "2k");
	expect_cpu(UINT64_MAX, "18446744073709551615n");
}

static void test_memory(void **state)
{
	(void)state;
	expect_mem(2056949760, "2008740Ki"); /* metrics-server's own example */
	expect_mem(21782528, "21272Ki");
	expect_mem(0, "0");
	expect_mem(1024, "1Ki");
	expect_mem(1048576, "1Mi");
	expect_mem(1073741824, "1Gi");
	expect_mem(5ULL << 40, "5Ti");
	expect_mem(3ULL << 50, "3Pi");
	expect_mem(1536, "1536");
	expect_mem(1500, "1500");
	expect_mem(2000, "2000");
	/* below 1024 apimachinery switches to decimal SI */
	expect_mem(1000, "1k");
	expect_mem(1023, "1023");
	expect_mem(512, "512");
	expect_mem(100, "100");
	expect_mem(1, "1");
}

static void test_small_buffer(void **state)
{
	(void)state;
	char out[4];
	size_t len = quantity_format_bytes(2056949760, out, sizeof(out));
	assert_int_equal(len, 3);
	assert_string_equal(out, "200");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
