/* quantity.h: Kubernetes resource.Quantity strings in apimachinery's
 * canonical form, as metrics-server serves them: CPU is a DecimalSI quantity
 * built from nanocores ("476038624n", "100m", "2", "0"), memory a BinarySI
 * quantity built from bytes ("2008740Ki", "1Gi", "1500", and "1k" for 1000,
 * because values below 1024 are written in decimal SI). */
#ifndef CADET_QUANTITY_H
#define CADET_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

/* Longest output of either formatter, NUL included. */
#define QUANTITY_MAX 32

/* Formats nanocores (value x 10^-9) as a DecimalSI quantity. Returns the
 * length written; out must hold QUANTITY_MAX bytes. */
size_t quantity_format_nanocores(uint64_t nanocores, char *out, size_t size);

/* Formats bytes as a BinarySI quantity. Returns the length written. */
size_t quantity_format_bytes(uint64_t bytes, char *out, size_t size);

#endif
