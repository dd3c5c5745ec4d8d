/* json.c: JSON string escaping (see json.h). Runs of safe bytes are copied
 * in one append; each UTF-8 sequence is checked for length, continuation
 * bytes, overlong forms, surrogates and the U+10FFFF limit. */
#include "json.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint32_t cp;
	if ((c & 0xE0) == 0xC0) {
		len = 2;
		cp = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3;
		cp = c & 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	static const uint32_t min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

void agg_json_string(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	strbuf_append(sb, "\"", 1);
	while (*p) {
		const unsigned char *run = p;
		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			strbuf_append(sb, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		if (*p == '"' || *p == '\\') {
			char esc[2] = { '\\', (char)*p };
			strbuf_append(sb, esc, 2);
			p++;
		} else if (*p < 0x20) {
			switch (*p) {
			case '\n': strbuf_append(sb, "\\n", 2); break;
			case '\r': strbuf_append(sb, "\\r", 2); break;
			case '\t': strbuf_append(sb, "\\t", 2); break;
			default: {
				char esc[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 0xF] };
				strbuf_append(sb, esc, 6);
			}
			}
			p++;
		} else {
			size_t len = utf8_valid_len(p);
			if (len == 0) {
				strbuf_append(sb, "\xef\xbf\xbd", 3);
				p++;
			} else {
				strbuf_append(sb, (const char *)p, len);
				p += len;
			}
		}
	}
	strbuf_append(sb, "\"", 1);
}
