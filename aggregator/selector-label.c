/* selector-label.c: the label selector grammar of apimachinery
 * (k8s.io/apimachinery/pkg/labels): a small lexer (identifiers, the
 * operators ! = == != < > ( ) , and the keywords in/notin) and a recursive
 * descent parser with one token of lookahead. Keys and values are checked
 * against the label key/value syntax, so `a=b c` or `a in (b` are errors. */
#include "selector.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

enum token_kind {
	TOK_END,
	TOK_IDENT,
	TOK_COMMA,
	TOK_OPEN,
	TOK_CLOSE,
	TOK_EQ,  /* = */
	TOK_DEQ, /* == */
	TOK_NEQ, /* != */
	TOK_NOT, /* ! */
	TOK_GT,
	TOK_LT,
	TOK_IN,
	TOK_NOTIN,
	TOK_ERROR,
};

struct token {
	enum token_kind kind;
	const char *text; /* points into the input */
	size_t len;
};

struct lexer {
	const char *text;
	const char *pos;
};

static bool is_special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static struct token lex_next(struct lexer *lx)
{
	while (*lx->pos && isspace((unsigned char)*lx->pos))
		lx->pos++;
	struct token t = { .kind = TOK_END, .text = lx->pos, .len = 0 };
	if (!*lx->pos)
		return t;
	if (is_special(*lx->pos)) {
		static const struct {
			const char *sym;
			enum token_kind kind;
		} syms[] = {
			{ "!=", TOK_NEQ }, { "==", TOK_DEQ }, { "!", TOK_NOT }, { "=", TOK_EQ },
			{ "(", TOK_OPEN }, { ")", TOK_CLOSE }, { ",", TOK_COMMA },
			{ ">", TOK_GT }, { "<", TOK_LT },
		};
		for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
			size_t n = strlen(syms[i].sym);
			if (strncmp(lx->pos, syms[i].sym, n) == 0) {
				t.kind = syms[i].kind;
				t.len = n;
				lx->pos += n;
				return t;
			}
		}
		t.kind = TOK_ERROR;
		t.len = 1;
		return t;
	}
	while (*lx->pos && !isspace((unsigned char)*lx->pos) && !is_special(*lx->pos))
		lx->pos++;
	t.len = (size_t)(lx->pos - t.text);
	if (t.len == 2 && strncmp(t.text, "in", 2) == 0)
		t.kind = TOK_IN;
	else if (t.len == 5 && strncmp(t.text, "notin", 5) == 0)
		t.kind = TOK_NOTIN;
	else
		t.kind = TOK_IDENT;
	return t;
}

static struct token lex_peek(struct lexer *lx)
{
	const char *saved = lx->pos;
	struct token t = lex_next(lx);
	lx->pos = saved;
	return t;
}

/* In value position the keywords are plain words ("env in (in)"). */
static bool is_word(const struct token *t)
{
	return t->kind == TOK_IDENT || t->kind == TOK_IN || t->kind == TOK_NOTIN;
}

static int unexpected(struct cadet_error *err, const struct token *t, const char *expected)
{
	if (t->kind == TOK_END)
		return cadet_error_set(err, 0, "unable to parse requirement: found 'end of string', expected: %s",
				       expected);
	return cadet_error_set(err, 0, "unable to parse requirement: found '%.*s', expected: %s",
			       (int)t->len, t->text, expected);
}

/* [A-Za-z0-9] at both ends, [-_.A-Za-z0-9] inside, at most 63 bytes. */
static bool valid_name(const char *s, size_t len)
{
	if (len == 0 || len > 63)
		return false;
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

/* DNS-1123 subdomain: lower-case alphanumerics, '-' and '.', at most 253. */
static bool valid_dns_subdomain(const char *s, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && c != '-' && c != '.')
			return false;
		if ((i == 0 || i == len - 1) && !alnum)
			return false;
	}
	return true;
}

static bool valid_key(const char *s, size_t len)
{
	const char *slash = memchr(s, '/', len);
	if (!slash)
		return valid_name(s, len);
	size_t prefix = (size_t)(slash - s);
	return valid_dns_subdomain(s, prefix) && valid_name(slash + 1, len - prefix - 1);
}

static bool valid_value(const char *s, size_t len)
{
	return len == 0 || valid_name(s, len);
}

struct value_list {
	char **items;
	size_t n;
};

static void value_list_free(struct value_list *vl)
{
	for (size_t i = 0; i < vl->n; i++)
		free(vl->items[i]);
	free(vl->items);
	vl->items = NULL;
	vl->n = 0;
}

static int value_list_add(struct value_list *vl, const char *s, size_t len, struct cadet_error *err)
{
	if (!valid_value(s, len))
		return cadet_error_set(err, 0, "invalid label value: \"%.*s\": must be 63 characters or less, "
				       "beginning and ending with an alphanumeric character, with dashes, "
				       "underscores, dots and alphanumerics between", (int)len, s);
	for (size_t i = 0; i < vl->n; i++)
		if (strlen(vl->items[i]) == len && strncmp(vl->items[i], s, len) == 0)
			return 0; /* a set: duplicates collapse */
	char **items = realloc(vl->items, (vl->n + 1) * sizeof(*items));
	if (!items)
		return cadet_error_set(err, ENOMEM, "selector");
	vl->items = items;
	vl->items[vl->n] = strndup(s, len);
	if (!vl->items[vl->n])
		return cadet_error_set(err, ENOMEM, "selector");
	vl->n++;
	return 0;
}

/* "(" [word] {"," [word]} ")": empty entries stand for the empty value. */
static int parse_set(struct lexer *lx, struct value_list *vl, struct cadet_error *err)
{
	struct token t = lex_next(lx);
	if (t.kind != TOK_OPEN)
		return unexpected(err, &t, "'('");
	bool want_value = true;
	for (;;) {
		t = lex_next(lx);
		if (is_word(&t) && want_value) {
			if (value_list_add(vl, t.text, t.len, err) < 0)
				return -1;
			want_value = false;
		} else if (t.kind == TOK_COMMA) {
			if (want_value && value_list_add(vl, "", 0, err) < 0)
				return -1;
			want_value = true;
		} else if (t.kind == TOK_CLOSE) {
			if (want_value && value_list_add(vl, "", 0, err) < 0)
				return -1;
			return 0;
		} else {
			return unexpected(err, &t, want_value ? "',', ')' or identifier" : "',' or ')'");
		}
	}
}

/* A single value; "key=" (nothing before ',' or the end) is the empty value. */
static int parse_exact(struct lexer *lx, struct value_list *vl, struct cadet_error *err)
{
	struct token t = lex_peek(lx);
	if (t.kind == TOK_END || t.kind == TOK_COMMA)
		return value_list_add(vl, "", 0, err);
	t = lex_next(lx);
	if (!is_word(&t))
		return unexpected(err, &t, "identifier");
	return value_list_add(vl, t.text, t.len, err);
}

static int parse_requirement(struct lexer *lx, struct selector *sel, struct cadet_error *err)
{
	struct token t = lex_next(lx);
	bool negated = false;
	if (t.kind == TOK_NOT) {
		negated = true;
		t = lex_next(lx);
	}
	if (t.kind != TOK_IDENT)
		return unexpected(err, &t, "identifier");
	if (!valid_key(t.text, t.len))
		return cadet_error_set(err, 0, "invalid label key \"%.*s\": name part must consist of "
				       "alphanumeric characters, '-', '_' or '.' (at most 63), with an "
				       "optional DNS subdomain prefix and '/'", (int)t.len, t.text);
	_cleanup_free_ char *key = strndup(t.text, t.len);
	if (!key)
		return cadet_error_set(err, ENOMEM, "selector");
	if (negated)
		return selector_add(sel, TAKE_PTR(key), SELECTOR_NOT_EXISTS, NULL, 0, err);

	struct token next = lex_peek(lx);
	if (next.kind == TOK_END || next.kind == TOK_COMMA)
		return selector_add(sel, TAKE_PTR(key), SELECTOR_EXISTS, NULL, 0, err);

	t = lex_next(lx);
	enum selector_op op;
	switch (t.kind) {
	case TOK_EQ:
	case TOK_DEQ: op = SELECTOR_EQUALS; break;
	case TOK_NEQ: op = SELECTOR_NOT_EQUALS; break;
	case TOK_IN: op = SELECTOR_IN; break;
	case TOK_NOTIN: op = SELECTOR_NOT_IN; break;
	case TOK_GT: op = SELECTOR_GREATER; break;
	case TOK_LT: op = SELECTOR_LESS; break;
	default:
		return unexpected(err, &t, "[!=, ==, =, <, >, in, notin]");
	}
	struct value_list vl = { 0 };
	int r = (op == SELECTOR_IN || op == SELECTOR_NOT_IN) ? parse_set(lx, &vl, err)
							     : parse_exact(lx, &vl, err);
	if (r == 0 && (op == SELECTOR_GREATER || op == SELECTOR_LESS)) {
		char *end;
		errno = 0;
		(void)strtoll(vl.items[0], &end, 10);
		if (!*vl.items[0] || *end || errno != 0)
			r = cadet_error_set(err, 0, "for 'Gt', 'Lt' operators, the value must be an integer");
	}
	if (r < 0) {
		value_list_free(&vl);
		return -1;
	}
	return selector_add(sel, TAKE_PTR(key), op, vl.items, vl.n, err);
}

int label_selector_parse(const char *text, struct selector *out, struct cadet_error *err)
{
	struct lexer lx = { .text = text, .pos = text };
	struct selector sel = { 0 };
	struct token t = lex_peek(&lx);
	if (t.kind == TOK_END) {
		*out = sel;
		return 0;
	}
	for (;;) {
		t = lex_peek(&lx);
		if (t.kind != TOK_IDENT && t.kind != TOK_NOT) {
			selector_free(&sel);
			return unexpected(err, &t, "!, identifier, or 'end of string'");
		}
		if (parse_requirement(&lx, &sel, err) < 0) {
			selector_free(&sel);
			return -1;
		}
		t = lex_next(&lx);
		if (t.kind == TOK_END)
			break;
		if (t.kind != TOK_COMMA) {
			selector_free(&sel);
			return unexpected(err, &t, "',' or 'end of string'");
		}
		struct token after = lex_peek(&lx);
		if (after.kind != TOK_IDENT && after.kind != TOK_NOT) {
			selector_free(&sel);
			return unexpected(err, &after, "identifier after ','");
		}
	}
	*out = sel;
	return 0;
}
