/* view-prom-format.c: Go-compatible float formatting and label escaping for the
 * Prometheus text views (see view-prom-format.h). The float rule is Go's
 * strconv.AppendFloat(f, 'g', -1, 64), which client_golang uses: the fewest
 * significant digits that round-trip, in exponent form when the decimal
 * exponent is below -4 or at least 6 (1234567 -> 1.234567e+06). */
#include "agent/view-prom-format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_format_float(double v, char *out, size_t size)
{
	if (isnan(v)) {
		snprintf(out, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == 0) {
		snprintf(out, size, "0");
		return;
	}
	char buf[64];
	int digits;
	for (digits = 1; digits <= 17; digits++) {
		snprintf(buf, sizeof(buf), "%.*e", digits - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (digits > 17)
		digits = 17;
	/* decimal exponent of the shortest form; Go's shortest 'g' switches
	 * to exponent form when it is below -4 or at least 6 */
	const char *e = strchr(buf, 'e');
	int exp = e ? atoi(e + 1) : 0;
	if (exp < -4 || exp >= 6) {
		snprintf(out, size, "%.*e", digits - 1, v);
		return;
	}
	int decimals = digits - 1 - exp;
	if (decimals < 0)
		decimals = 0;
	snprintf(out, size, "%.*f", decimals, v);
}

void prom_append_label_value(struct strbuf *sb, const char *v)
{
	for (const char *p = v; *p; p++) {
		switch (*p) {
		case '\\':
			strbuf_append(sb, "\\\\", 2);
			break;
		case '"':
			strbuf_append(sb, "\\\"", 2);
			break;
		case '\n':
			strbuf_append(sb, "\\n", 2);
			break;
		default:
			strbuf_append(sb, p, 1);
		}
	}
}

void prom_append_header(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	strbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}
