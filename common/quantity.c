/* quantity.c: canonical Quantity formatting (see quantity.h).
 *
 * DecimalSI: strip every factor of ten from the mantissa, moving it into the
 * exponent, then lower the exponent to a multiple of three (multiplying the
 * mantissa back) and name it with an SI suffix. BinarySI: for whole values of
 * 1024 or more, strip factors of 1024 and name them Ki, Mi, ...; smaller
 * values fall back to DecimalSI. Zero is always "0". The mantissa is kept in
 * 128 bits so no input overflows. */
#include "quantity.h"

#include <stdio.h>

static size_t format_u128(unsigned __int128 v, const char *suffix, char *out, size_t size)
{
	char digits[48];
	size_t n = 0;
	do {
		digits[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v > 0 && n < sizeof(digits));
	size_t used = 0;
	while (n > 0 && used + 1 < size)
		out[used++] = digits[--n];
	for (const char *s = suffix; *s && used + 1 < size; s++)
		out[used++] = *s;
	if (size > 0)
		out[used] = '\0';
	return used;
}

static const char *decimal_suffix(int exponent)
{
	switch (exponent) {
	case -9: return "n";
	case -6: return "u";
	case -3: return "m";
	case 0: return "";
	case 3: return "k";
	case 6: return "M";
	case 9: return "G";
	case 12: return "T";
	case 15: return "P";
	case 18: return "E";
	default: return NULL;
	}
}

/* value x 10^exponent in DecimalSI canonical form; value > 0. */
static size_t format_decimal(uint64_t value, int exponent, char *out, size_t size)
{
	unsigned __int128 mantissa = value;
	while (mantissa % 10 == 0) {
		mantissa /= 10;
		exponent++;
	}
	/* C's % keeps the sign of the dividend, as Go's does. */
	switch (exponent % 3) {
	case 1:
	case -2:
		mantissa *= 10;
		exponent -= 1;
		break;
	case 2:
	case -1:
		mantissa *= 100;
		exponent -= 2;
		break;
	default:
		break;
	}
	const char *suffix = decimal_suffix(exponent);
	if (suffix)
		return format_u128(mantissa, suffix, out, size);
	char exp_suffix[16];
	snprintf(exp_suffix, sizeof(exp_suffix), "e%d", exponent);
	return format_u128(mantissa, exp_suffix, out, size);
}

size_t quantity_format_nanocores(uint64_t nanocores, char *out, size_t size)
{
	if (nanocores == 0)
		return format_u128(0, "", out, size);
	return format_decimal(nanocores, -9, out, size);
}

size_t quantity_format_bytes(uint64_t bytes, char *out, size_t size)
{
	static const char *const binary_suffix[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	if (bytes == 0)
		return format_u128(0, "", out, size);
	if (bytes < 1024)
		return format_decimal(bytes, 0, out, size);
	uint64_t mantissa = bytes;
	int exponent = 0;
	while (mantissa % 1024 == 0 && exponent < 6) {
		mantissa /= 1024;
		exponent++;
	}
	return format_u128(mantissa, binary_suffix[exponent], out, size);
}
