/* log.c: writes log lines to stderr or journald (see log.h). */
#include "log.h"

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
		snprintf(buf[n], sizeof(buf[n]), "%s", fields[i]);
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
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

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
		int n = snprintf(extra + used, sizeof(extra) - used, " %s", fields[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	fprintf(stderr, "%s.%03ldZ %s %s: %s%s\n", stamp, ts.tv_nsec / 1000000,
		log_ident, level_name(priority), msg, extra);
}
