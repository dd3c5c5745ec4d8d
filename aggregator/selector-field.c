/* selector-field.c: the field selector grammar of apimachinery
 * (k8s.io/apimachinery/pkg/fields): terms split on unescaped ',', each
 * `field!=value`, `field==value` or `field=value` (the first operator found
 * from the left), values unescaped from \\ \, \= and \!. */
#include "selector.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

/* Copies s[0..len) without its backslash escapes. */
static int unescape(const char *s, size_t len, char **out, struct cadet_error *err)
{
	_cleanup_free_ char *buf = malloc(len + 1);
	if (!buf)
		return cadet_error_set(err, ENOMEM, "selector");
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\') {
			if (i + 1 >= len || !strchr("\\,=!", s[i + 1]))
				return cadet_error_set(err, 0, "invalid field selector: invalid escape sequence in \"%.*s\"",
						       (int)len, s);
			i++;
		} else if (s[i] == ',' || s[i] == '=' || s[i] == '!') {
			return cadet_error_set(err, 0, "invalid field selector: unescaped '%c' in value \"%.*s\"",
					       s[i], (int)len, s);
		}
		buf[n++] = s[i];
	}
	buf[n] = '\0';
	*out = TAKE_PTR(buf);
	return 0;
}

static int parse_term(const char *term, size_t len, struct selector *sel, struct cadet_error *err)
{
	static const struct {
		const char *sym;
		enum selector_op op;
	} ops[] = {
		{ "!=", SELECTOR_NOT_EQUALS }, { "==", SELECTOR_EQUALS }, { "=", SELECTOR_EQUALS },
	};
	for (size_t i = 0; i < len; i++) {
		if (term[i] == '\\') {
			i++;
			continue;
		}
		for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
			size_t oplen = strlen(ops[k].sym);
			if (i + oplen > len || strncmp(term + i, ops[k].sym, oplen) != 0)
				continue;
			_cleanup_free_ char *key = NULL;
			char *value = NULL;
			if (unescape(term, i, &key, err) < 0 ||
			    unescape(term + i + oplen, len - i - oplen, &value, err) < 0)
				return -1;
			char **values = malloc(sizeof(*values));
			if (!values) {
				free(value);
				return cadet_error_set(err, ENOMEM, "selector");
			}
			values[0] = value;
			return selector_add(sel, TAKE_PTR(key), ops[k].op, values, 1, err);
		}
	}
	return cadet_error_set(err, 0, "invalid selector: '%.*s'; can't understand '%.*s'", (int)len, term,
			       (int)len, term);
}

int field_selector_parse(const char *text, struct selector *out, struct cadet_error *err)
{
	struct selector sel = { 0 };
	const char *start = text;
	for (const char *p = text;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p != ',' && *p != '\0')
			continue;
		size_t len = (size_t)(p - start);
		if (len > 0 && parse_term(start, len, &sel, err) < 0) {
			selector_free(&sel);
			return -1;
		}
		if (*p == '\0')
			break;
		start = p + 1;
	}
	*out = sel;
	return 0;
}
