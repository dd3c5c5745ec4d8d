/* selector.h: Kubernetes label and field selectors, parsed once per request
 * and matched against each object.
 *
 * Label selectors follow apimachinery's grammar: requirements joined by ','
 * (AND), each one of `key`, `!key`, `key=v`, `key==v`, `key!=v`,
 * `key in (a,b)`, `key notin (a,b)`, `key>N`, `key<N`; keys and values are
 * validated as label keys and values. Field selectors are `field=v`,
 * `field==v`, `field!=v` joined by ',' with backslash escapes; a field the
 * object lacks has the value "" (as metrics-server matches them). */
#ifndef CADET_AGG_SELECTOR_H
#define CADET_AGG_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

enum selector_op {
	SELECTOR_EQUALS,     /* = and == */
	SELECTOR_NOT_EQUALS, /* != */
	SELECTOR_IN,
	SELECTOR_NOT_IN,
	SELECTOR_EXISTS,
	SELECTOR_NOT_EXISTS,
	SELECTOR_GREATER, /* > */
	SELECTOR_LESS,    /* < */
};

struct selector_requirement {
	char *key;
	enum selector_op op;
	char **values;
	size_t n_values;
};

/* A parsed selector; the empty selector (n == 0) matches everything. */
struct selector {
	struct selector_requirement *reqs;
	size_t n;
};

/* Returns the value of `key` on the object, or NULL when it has none. */
typedef const char *(*selector_lookup_fn)(const void *object, const char *key);

int label_selector_parse(const char *text, struct selector *out, struct cadet_error *err);
int field_selector_parse(const char *text, struct selector *out, struct cadet_error *err);

bool selector_matches(const struct selector *sel, selector_lookup_fn lookup, const void *object);
void selector_free(struct selector *sel);

static inline void selector_freep(struct selector *sel)
{
	selector_free(sel);
}
#define _cleanup_selector_ __attribute__((cleanup(selector_freep)))

/* Used by both parsers: appends a requirement, taking ownership of key and
 * values (freed on failure too). */
int selector_add(struct selector *sel, char *key, enum selector_op op, char **values,
		 size_t n_values, struct cadet_error *err);

#endif
