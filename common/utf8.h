/* utf8.h: the one UTF-8 validator of both daemons. The aggregator's JSON
 * writer, the log escaper and the agent's entry points for names from the
 * runtime and the cgroup tree all use it, so every daemon agrees on what
 * valid text is: no overlong forms, surrogates or code points above
 * U+10FFFF. */
#ifndef CADET_UTF8_H
#define CADET_UTF8_H

#include <stddef.h>

/* Length (2-4) of the valid multi-byte sequence at s, which holds at least
 * n bytes, or 0 if s[0] starts none (ASCII bytes also give 0). */
size_t utf8_sequence_len(const unsigned char *s, size_t n);

/* A malloc'd copy of s (NULL: "") with every invalid sequence, control
 * character (below 0x20) and DEL replaced by U+FFFD, so the text is valid
 * UTF-8 in JSON, Prometheus label values and the terminal alike. NULL when
 * memory runs out. */
char *utf8_sanitize_dup(const char *s);

#endif
