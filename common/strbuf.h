/* strbuf.h: a growable byte buffer for rendering text views. Appends never
 * fail silently: on allocation failure the buffer is marked failed, further
 * appends are ignored, and strbuf_failed() tells the renderer to give up. */
#ifndef CADET_STRBUF_H
#define CADET_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	bool failed;
};

void strbuf_init(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
/* Empties the buffer but keeps its memory for the next render. */
void strbuf_reset(struct strbuf *sb);
void strbuf_append(struct strbuf *sb, const char *data, size_t len);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool strbuf_failed(const struct strbuf *sb);
/* Swaps contents, so a finished render can replace the published one. */
void strbuf_swap(struct strbuf *a, struct strbuf *b);

#endif
