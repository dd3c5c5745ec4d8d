/* test_aggregator_selector.c: label and field selector parsing and matching
 * (apimachinery's grammar), including the malformed inputs the API answers
 * with 400. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "aggregator/selector.h"

/* Objects are NULL-terminated key, value, key, value, ... arrays. */
static const char *lookup(const void *object, const char *key)
{
	const char *const *kv = object;
	for (size_t i = 0; kv[i]; i += 2)
		if (strcmp(kv[i], key) == 0)
			return kv[i + 1];
	return NULL;
}

static bool label_match(const char *text, const char *const *labels)
{
	struct selector sel = { 0 };
	struct cadet_error err = { 0 };
	int r = label_selector_parse(text, &sel, &err);
	if (r != 0)
		fail_msg("selector \"%s\" did not parse: %s", text, err.msg);
	bool m = selector_matches(&sel, lookup, labels);
	selector_free(&sel);
	return m;
}

static void expect_label_error(const char *text)
{
	struct selector sel = { 0 };
	struct cadet_error err = { 0 };
	if (label_selector_parse(text, &sel, &err) == 0) {
		selector_free(&sel);
		fail_msg("selector \"%s\" parsed but is malformed", text);
	}
	assert_true(strlen(err.msg) > 0);
	assert_null(sel.reqs);
}

static const char *const web[] = { "app", "web", "tier", "front", "replicas", "3", NULL };
static const char *const db[] = { "app", "db", "example.com/team", "data", NULL };
static const char *const none[] = { NULL };

static void test_label_equality(void **state)
{
	(void)state;
	assert_true(label_match("", web));
	assert_true(label_match("", none));
	assert_true(label_match("app=web", web));
	assert_true(label_match("app==web", web));
	assert_false(label_match("app=web", db));
	assert_false(label_match("app=web", none));
	assert_true(label_match("app!=web", db));
	assert_true(label_match("app!=web", none)); /* != matches objects without the key */
	assert_false(label_match("app!=web", web));
	assert_true(label_match(" app = web , tier = front ", web));
	assert_false(label_match("app=web,tier=back", web));
	assert_true(label_match("example.com/team=data", db));
	assert_true(label_match("tier=", none) == false);
	assert_false(label_match("app=", web));
}

static void test_label_sets_and_existence(void **state)
{
	(void)state;
	assert_true(label_match("app in (web,db)", web));
	assert_true(label_match("app in (web, db)", db));
	assert_false(label_match("app in (x)", web));
	assert_false(label_match("app in (web)", none));
	assert_true(label_match("app notin (db)", web));
	assert_true(label_match("app notin (db)", none));
	assert_false(label_match("app notin (db,web)", web));
	assert_true(label_match("tier", web));
	assert_false(label_match("tier", db));
	assert_true(label_match("!tier", db));
	assert_false(label_match("!tier", web));
	assert_true(label_match("app in (web),tier,!example.com/team", web));
	/* keywords are plain words in value position */
	static const char *const kw[] = { "mode", "in", NULL };
	assert_true(label_match("mode in (in, notin)", kw));
	assert_true(label_match("mode=in", kw));
}

static void test_label_numeric(void **state)
{
	(void)state;
	assert_true(label_match("replicas>2", web));
	assert_false(label_match("replicas>3", web));
	assert_true(label_match("replicas<4", web));
	assert_false(label_match("replicas<4", db)); /* no such key */
	static const char *const nan[] = { "replicas", "many", NULL };
	assert_false(label_match("replicas>2", nan));
}

static void test_label_malformed(void **state)
{
	(void)state;
	expect_label_error(",");
	expect_label_error("app=web,");
	expect_label_error(",app=web");
	expect_label_error("app=web tier=front");
	expect_label_error("app web");
	expect_label_error("=web");
	expect_label_error("app in web");
	expect_label_error("app in (web");
	expect_label_error("app in (web db)");
	expect_label_error("app notin");
	expect_label_error("!app=web");
	expect_label_error("!");
	expect_label_error("app>x");
	expect_label_error("app<");
	expect_label_error("app=web=x");
	expect_label_error("-app=web");          /* key must start alphanumeric */
	expect_label_error("app=-web");          /* so must a value */
	expect_label_error("Example.com/a=b");   /* prefix is lower-case DNS */
	expect_label_error("in=b");              /* keyword as key */
	expect_label_error("a=b)");
	expect_label_error("a=(b)");
	char long_value[100];
	memset(long_value, 'x', sizeof(long_value));
	memcpy(long_value, "a=", 2);
	long_value[sizeof(long_value) - 1] = '\0';
	expect_label_error(long_value); /* value longer than 63 */
}

static void test_field_selector(void **state)
{
	(void)state;
	static const char *const obj[] = { "metadata.name", "web-1", "metadata.namespace", "shop", NULL };
	struct { const char *text; bool match; } cases[] = {
		{ "", true },
		{ "metadata.name=web-1", true },
		{ "metadata.name==web-1", true },
		{ "metadata.name!=web-1", false },
		{ "metadata.namespace=shop,metadata.name=web-1", true },
		{ "metadata.namespace=shop,metadata.name=db", false },
		{ "metadata.namespace!=kube-system", true },
		{ "metadata.name=a\\,b", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct selector sel = { 0 };
		struct cadet_error err = { 0 };
		if (field_selector_parse(cases[i].text, &sel, &err) != 0)
			fail_msg("field selector \"%s\": %s", cases[i].text, err.msg);
		assert_int_equal(selector_matches(&sel, lookup, obj), cases[i].match);
		selector_free(&sel);
	}
	/* escaped comma is part of the value */
	struct selector sel = { 0 };
	struct cadet_error err = { 0 };
	assert_int_equal(field_selector_parse("metadata.name=a\\,b", &sel, &err), 0);
	assert_int_equal(sel.n, 1);
	assert_string_equal(sel.reqs[0].values[0], "a,b");
	selector_free(&sel);

	const char *bad[] = { "metadata.name", "foo", "metadata.name=a\\q", "metadata.name=a=b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct selector s = { 0 };
		if (field_selector_parse(bad[i], &s, &err) == 0) {
			selector_free(&s);
			fail_msg("field selector \"%s\" should be malformed", bad[i]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_equality),
		cmocka_unit_test(test_label_sets_and_existence),
		cmocka_unit_test(test_label_numeric),
		cmocka_unit_test(test_label_malformed),
		cmocka_unit_test(test_field_selector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
