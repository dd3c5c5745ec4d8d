/* view-prom-format.h: Prometheus text exposition pieces, formatted the way
 * Go's client_golang writes them, so cadet's output reads like kubelet's:
 * floats in Go's shortest 'g' form (12.5, 6.7108864e+07, 1.7e+09), label
 * values escaped (backslash, quote, newline). */
#ifndef CADET_PROM_FORMAT_H
#define CADET_PROM_FORMAT_H

#include <stddef.h>

#include "common/strbuf.h"

/* Go's strconv.FormatFloat(v, 'g', -1, 64); out needs 32 bytes. */
void prom_format_float(double v, char *out, size_t size);
/* Appends v with label-value escaping. */
void prom_append_label_value(struct strbuf *sb, const char *v);
/* Appends "# HELP name help\n# TYPE name type\n". */
void prom_append_header(struct strbuf *sb, const char *name, const char *type, const char *help);

#endif
