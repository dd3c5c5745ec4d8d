/* log.c: writes log lines to stderr or journald (see log.h).
 *
 * Messages carry names from outside (node names, X-Remote-User, runtime
 * names), so every message and field is escaped before it is written (see
 * log_escape): one line per call, whatever the arguments held. */
#include "log.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-journal.h>

static int log_level = LOG_INFO;
static enum log_sink log_sink = LOG_SINK_STDERR;
static const char *log_ident = "cadet";

void log_set_level(int priority)
{
	log_level = priority;
}

int log_parse_level(const char *name, int *priority)
{
	static const struct {
		const char *name;
		int priority;
	} levels[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO },
		{ "warning", LOG_WARNING }, { "warn", LOG_WARNING },
		{ "error", LOG_ERR },
	};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(name, levels[i].name) == 0) {
			*priority = levels[i].priority;
			return 0;
		}
	}
	return -1;
}

void log_set_sink(enum log_sink sink)
{
	log_sink = sink;
}

void log_set_ident(const char *ident)
{
	log_ident = ident;
}

bool log_enabled(int priority)
{
	return priority <= log_level;
}

static const char *level_name(int priority)
{
	switch (priority) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

size_t log_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), o = 0;
	if (size == 0)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t len = s[i] >= 0x80 ? utf8_sequence_len(s + i, n - i) : (s[i] >= 0x20 && s[i] != 0x7f);
		if (len > 0) {
			if (o + len >= size)
				break;
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		} else {
			if (o + 4 >= size)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[s[i] >> 4];
			out[o++] = hex[s[i] & 0xf];
			i++;
		}
	}
	out[o] = '\0';
	return o;
}

static void write_journal(int priority, const char *const *fields, const char *msg)
{
	struct iovec iov[16];
	char buf[16][600];
	size_t n = 0;
	/* A long message is cut to the buffer; using the result tells gcc so. */
	if (snprintf(buf[n], sizeof(buf[n]), "MESSAGE=%s", msg) < 0)
		buf[n][0] = '\0';
	n++;
	snprintf(buf[n], sizeof(buf[n]), "PRIORITY=%d", priority);
	n++;
	snprintf(buf[n], sizeof(buf[n]), "SYSLOG_IDENTIFIER=%s", log_ident);
	n++;
	for (size_t i = 0; fields && fields[i] && n < 16; i++, n++)
		log_escape(fields[i], buf[n], sizeof(buf[n]));
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = strlen(buf[i]);
	}
	if (sd_journal_sendv(iov, (int)n) < 0)
		fprintf(stderr, "%s: %s\n", level_name(priority), msg);
}

void log_write(int priority, const char *const *fields, const char *fmt, ...)
{
	if (!log_enabled(priority))
		return;
	char raw[1024], msg[4 * sizeof(raw)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	log_escape(raw, msg, sizeof(msg));

	if (log_sink == LOG_SINK_JOURNAL) {
		write_journal(priority, fields, msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	char extra[512] = "";
	size_t used = 0;
	for (size_t i = 0; fields && fields[i] && used < sizeof(extra); i++) {
		char field[512];
		log_escape(fields[i], field, sizeof(field));
		int n = snprintf(extra + used, sizeof(extra) - used, " %s", field);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	fprintf(stderr, "%s.%03ldZ %s %s: %s%s\n", stamp, ts.tv_nsec / 1000000,
		log_ident, level_name(priority), msg, extra);
}
