/* json.c: JSON string escaping (see json.h). Runs of safe bytes are copied
 * in one append; each UTF-8 sequence is checked for length, continuation
 * bytes, overlong forms, surrogates and the U+10FFFF limit. */
#include "json.h"

#include "common/utf8.h"

#include <stdint.h>
#include <string.h>

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
			/* s ends in NUL, which no continuation byte matches, so
			 * the validator stops there: 4 bounds it without strlen */
			size_t len = utf8_sequence_len(p, 4);
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
