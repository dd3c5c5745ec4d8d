/* duration.c: parse and format Go duration strings (see duration.h). The
 * formatter follows Go's time.Duration.String: hours and minutes as h/m
 * parts, seconds with the shortest fraction, sub-second values in ms/us/ns. */
#include "duration.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
	{ "ns", 1 },
	{ "us", NSEC_PER_USEC },
	{ "\xc2\xb5s", NSEC_PER_USEC }, /* µs, U+00B5 */
	{ "\xce\xbcs", NSEC_PER_USEC }, /* μs, U+03BC */
	{ "ms", NSEC_PER_MSEC },
	{ "s", NSEC_PER_SEC },
	{ "m", 60 * NSEC_PER_SEC },
	{ "h", 3600 * NSEC_PER_SEC },
};

int duration_parse(const char *text, uint64_t *out_ns, struct cadet_error *err)
{
	if (!text || !*text)
		return cadet_error_set(err, EINVAL, "empty duration");
	if (strcmp(text, "0") == 0) {
		*out_ns = 0;
		return 0;
	}
	const char *p = text;
	uint64_t total = 0;
	while (*p) {
		uint64_t whole = 0;
		int digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (whole > (UINT64_MAX - 9) / 10)
				return cadet_error_set(err, ERANGE, "duration %s is too large", text);
			whole = whole * 10 + (uint64_t)(*p - '0');
			p++;
			digits++;
		}
		uint64_t frac = 0, frac_scale = 1;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9') {
				if (frac_scale < 1000000000000000000ULL) {
					frac = frac * 10 + (uint64_t)(*p - '0');
					frac_scale *= 10;
				}
				p++;
				digits++;
			}
		}
		if (digits == 0)
			return cadet_error_set(err, EINVAL, "invalid duration %s", text);
		size_t best = 0;
		uint64_t unit = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t len = strlen(units[i].name);
			if (len > best && strncmp(p, units[i].name, len) == 0) {
				/* "m" must not swallow the "m" of "ms" */
				best = len;
				unit = units[i].ns;
			}
		}
		if (best == 0)
			return cadet_error_set(err, EINVAL, "missing unit in duration %s", text);
		p += best;
		if (whole > UINT64_MAX / unit)
			return cadet_error_set(err, ERANGE, "duration %s is too large", text);
		uint64_t part = whole * unit;
		/* fraction: frac / frac_scale units, computed without overflow */
		part += (uint64_t)((long double)frac * (long double)unit / (long double)frac_scale);
		if (total > UINT64_MAX - part)
			return cadet_error_set(err, ERANGE, "duration %s is too large", text);
		total += part;
	}
	*out_ns = total;
	return 0;
}

/* Writes v / scale with the shortest decimal fraction (Go's fmtFrac). */
static int format_fraction(char *out, size_t size, uint64_t v, uint64_t scale, const char *unit)
{
	uint64_t whole = v / scale, frac = v % scale;
	if (frac == 0)
		return snprintf(out, size, "%llu%s", (unsigned long long)whole, unit);
	int width = 0;
	for (uint64_t s = scale; s > 1; s /= 10)
		width++;
	while (frac % 10 == 0) {
		frac /= 10;
		width--;
	}
	return snprintf(out, size, "%llu.%0*llu%s", (unsigned long long)whole, width,
			(unsigned long long)frac, unit);
}

size_t duration_format(uint64_t ns, char *out, size_t size)
{
	int n;
	if (size == 0)
		return 0;
	if (ns > INT64_MAX)
		ns = INT64_MAX; /* Go's time.Duration ends there; more would not parse */
	if (ns == 0)
		n = snprintf(out, size, "0s");
	else if (ns < NSEC_PER_USEC)
		n = snprintf(out, size, "%lluns", (unsigned long long)ns);
	else if (ns < NSEC_PER_MSEC)
		n = format_fraction(out, size, ns, NSEC_PER_USEC, "\xc2\xb5s");
	else if (ns < NSEC_PER_SEC)
		n = format_fraction(out, size, ns, NSEC_PER_MSEC, "ms");
	else {
		uint64_t secs_ns = ns % (60 * NSEC_PER_SEC);
		uint64_t mins = ns / (60 * NSEC_PER_SEC);
		uint64_t hours = mins / 60;
		mins %= 60;
		char secs[64];
		format_fraction(secs, sizeof(secs), secs_ns, NSEC_PER_SEC, "s");
		if (hours > 0)
			n = snprintf(out, size, "%lluh%llum%s", (unsigned long long)hours,
				     (unsigned long long)mins, secs);
		else if (mins > 0)
			n = snprintf(out, size, "%llum%s", (unsigned long long)mins, secs);
		else
			n = snprintf(out, size, "%s", secs);
	}
	if (n < 0) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n < size ? (size_t)n : size - 1;
}
