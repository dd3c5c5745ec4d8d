/* error.c: filling and prefixing struct cadet_error (see error.h). The
 * strerror text of errnum is appended once, when the error is first set. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cadet_error_set(struct cadet_error *err, int errnum, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		err->msg[0] = '\0';
	size_t len = strlen(err->msg);
	if (errnum != 0 && len < sizeof(err->msg))
		snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	err->errnum = errnum;
	return -1;
}

int cadet_error_prefix(struct cadet_error *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	char old[sizeof(err->msg)];
	memcpy(old, err->msg, sizeof(old));
	/* Truncation is acceptable here; using the result tells gcc so. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) < 0)
		err->msg[0] = '\0';
	return -1;
}

void cadet_error_clear(struct cadet_error *err)
{
	if (!err)
		return;
	err->errnum = 0;
	err->msg[0] = '\0';
}
