/* selector.c: building, matching and freeing parsed selectors (see
 * selector.h); the two grammars live in selector-label.c and
 * selector-field.c. */
#include "selector.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void free_values(char **values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(values[i]);
	free(values);
}

int selector_add(struct selector *sel, char *key, enum selector_op op, char **values,
		 size_t n_values, struct cadet_error *err)
{
	struct selector_requirement *reqs = realloc(sel->reqs, (sel->n + 1) * sizeof(*reqs));
	if (!reqs) {
		free(key);
		free_values(values, n_values);
		return cadet_error_set(err, ENOMEM, "selector");
	}
	sel->reqs = reqs;
	sel->reqs[sel->n++] = (struct selector_requirement){
		.key = key, .op = op, .values = values, .n_values = n_values,
	};
	return 0;
}

void selector_free(struct selector *sel)
{
	for (size_t i = 0; i < sel->n; i++) {
		free(sel->reqs[i].key);
		free_values(sel->reqs[i].values, sel->reqs[i].n_values);
	}
	free(sel->reqs);
	sel->reqs = NULL;
	sel->n = 0;
}

static bool in_values(const struct selector_requirement *req, const char *value)
{
	for (size_t i = 0; i < req->n_values; i++)
		if (strcmp(req->values[i], value) == 0)
			return true;
	return false;
}

static bool parse_i64(const char *text, long long *out)
{
	if (!*text)
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno != 0 || *end)
		return false;
	*out = v;
	return true;
}

static bool requirement_matches(const struct selector_requirement *req, const char *value)
{
	long long have, want;
	switch (req->op) {
	case SELECTOR_EQUALS:
	case SELECTOR_IN:
		return value && in_values(req, value);
	case SELECTOR_NOT_EQUALS:
	case SELECTOR_NOT_IN:
		return !value || !in_values(req, value);
	case SELECTOR_EXISTS:
		return value != NULL;
	case SELECTOR_NOT_EXISTS:
		return value == NULL;
	case SELECTOR_GREATER:
	case SELECTOR_LESS:
		if (!value || req->n_values != 1 || !parse_i64(value, &have) ||
		    !parse_i64(req->values[0], &want))
			return false;
		return req->op == SELECTOR_GREATER ? have > want : have < want;
	}
	return false;
}

bool selector_matches(const struct selector *sel, selector_lookup_fn lookup, const void *object)
{
	for (size_t i = 0; i < sel->n; i++)
		if (!requirement_matches(&sel->reqs[i], lookup(object, sel->reqs[i].key)))
			return false;
	return true;
}
