/* duration.h: Go duration strings ("1s", "500ms", "1m30s", "12.21s"), the
 * form kubelet and metrics-server flags and the metrics.k8s.io `window`
 * field use. */
#ifndef CADET_DURATION_H
#define CADET_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL

/* Parses a non-negative Go duration (units ns, us, µs, ms, s, m, h; decimal
 * fractions allowed; "0" alone allowed) into nanoseconds. */
int duration_parse(const char *text, uint64_t *out_ns, struct cadet_error *err);

/* Formats nanoseconds as Go's time.Duration.String() does ("15s", "1m30s",
 * "12.21s", "500ms", "0s"). Returns the length written (always < size). */
size_t duration_format(uint64_t ns, char *out, size_t size);

#endif
