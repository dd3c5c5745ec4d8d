/* log.h: the daemons' one logging path.
 *
 * Levels are syslog priorities. Plain lines go to stderr, prefixed with the
 * level; the sink can be switched once at start (see log_set_sink) so that
 * the same calls reach journald with structured fields. Messages below the
 * configured level are dropped before formatting. */
#ifndef CADET_LOG_H
#define CADET_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_sink {
	LOG_SINK_STDERR,
	LOG_SINK_JOURNAL,
};

/* Sets the least important priority that is still written (default LOG_INFO). */
void log_set_level(int priority);
/* Parses "debug", "info", "warning", "error"; returns -1 on an unknown name. */
int log_parse_level(const char *name, int *priority);
void log_set_sink(enum log_sink sink);
void log_set_ident(const char *ident);
bool log_enabled(int priority);

/* Writes one line. `fields` is NULL or a list of KEY=value strings ending in
 * NULL; on journald they become structured fields, on stderr they are
 * appended as key=value. */
void log_write(int priority, const char *const *fields, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies in to out (size bytes, NUL included) with every control character
 * (newline and ESC included), DEL and byte that is not part of valid UTF-8
 * written as \xNN, so an outside value cannot start a line or drive a
 * terminal. Cut at a whole character when out is full; returns the length.
 * log_write applies it to every message and field. */
size_t log_escape(const char *in, char *out, size_t size);

#define log_error(...) log_write(LOG_ERR, NULL, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARNING, NULL, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...)                                          \
	do {                                                    \
		if (log_enabled(LOG_DEBUG))                     \
			log_write(LOG_DEBUG, NULL, __VA_ARGS__); \
	} while (0)

#endif
