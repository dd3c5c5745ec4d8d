/* fuzz_selector.c: libFuzzer target for the aggregator's label and field
 * selector parsers (aggregator/selector.h). The input, cut at its first NUL,
 * is parsed both as a labelSelector and as a fieldSelector, as a query
 * parameter would be. What parses is matched against two objects (labels
 * looked up through the same callback shape api.c uses) and freed; what fails
 * must say why. Matching must be deterministic and the empty selector must
 * match everything. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/selector.h"

struct object {
	const char *const *kv; /* key, value, ..., NULL */
};

static const char *lookup(const void *object, const char *key)
{
	const struct object *o = object;
	for (size_t i = 0; o->kv[i]; i += 2)
		if (strcmp(o->kv[i], key) == 0)
			return o->kv[i + 1];
	return NULL;
}

static const char *const pod_kv[] = { "app", "web", "tier", "front", "version", "3", "metadata.name", "web-1",
				      "metadata.namespace", "default", NULL };
static const char *const empty_kv[] = { NULL };

static void check(int r, struct selector *sel, const struct cadet_error *err)
{
	if (r != 0) {
		if (r != -1 || err->msg[0] == '\0' || sel->n != 0)
			abort();
		return;
	}
	struct object pod = { pod_kv }, bare = { empty_kv };
	bool a = selector_matches(sel, lookup, &pod);
	bool b = selector_matches(sel, lookup, &bare);
	if (a != selector_matches(sel, lookup, &pod) || b != selector_matches(sel, lookup, &bare))
		abort();
	if (sel->n == 0 && (!a || !b))
		abort();
	for (size_t i = 0; i < sel->n; i++)
		if (!sel->reqs[i].key)
			abort();
	selector_free(sel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct cadet_error err = { 0 };
	struct selector sel = { 0 };
	check(label_selector_parse(text, &sel, &err), &sel, &err);
	struct selector fsel = { 0 };
	err.msg[0] = '\0';
	check(field_selector_parse(text, &fsel, &err), &fsel, &err);
	free(text);
	return 0;
}
