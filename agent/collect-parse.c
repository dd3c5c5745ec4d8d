/* collect-parse.c: strict parsers for cgroup and procfs file text (see
 * collect-parse.h). They walk the buffer line by line without copying; a
 * line must end in '\n' except possibly the last. */
#include "agent/collect-parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int parse_u64(const char *p, const char *end, uint64_t *out)
{
	if (p >= end)
		return -1;
	uint64_t v = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Returns the end of the line starting at p (the '\n' or end). */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

int parse_single_u64(const char *buf, size_t len, const char *name, int max_allowed, uint64_t *out,
		     struct cadet_error *err)
{
	const char *end = buf + len;
	while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	if (end == buf)
		return cadet_error_set(err, EINVAL, "%s: empty file", name);
	if (max_allowed && end - buf == 3 && memcmp(buf, "max", 3) == 0) {
		*out = UINT64_MAX;
		return 0;
	}
	if (parse_u64(buf, end, out) < 0)
		return cadet_error_set(err, EINVAL, "%s: not a number: \"%.*s\"", name,
				       (int)(end - buf > 40 ? 40 : end - buf), buf);
	return 0;
}

int parse_flat_keyed(const char *buf, size_t len, const char *name, const char *const *keys, size_t n,
		     uint64_t *values, uint64_t *found, struct cadet_error *err)
{
	const char *p = buf, *end = buf + len;
	unsigned line_no = 0;
	*found = 0;
	while (p < end) {
		const char *eol = line_end(p, end);
		line_no++;
		if (eol == p) { /* blank line */
			p = eol + 1;
			continue;
		}
		const char *sp = memchr(p, ' ', (size_t)(eol - p));
		if (!sp || sp == p)
			return cadet_error_set(err, EINVAL, "%s: line %u is not \"key value\"", name, line_no);
		size_t key_len = (size_t)(sp - p);
		for (size_t i = 0; i < n; i++) {
			if (strlen(keys[i]) == key_len && memcmp(keys[i], p, key_len) == 0) {
				if (parse_u64(sp + 1, eol, &values[i]) < 0)
					return cadet_error_set(err, EINVAL, "%s: line %u: bad value for %s", name,
							       line_no, keys[i]);
				*found |= 1ULL << i;
				break;
			}
		}
		p = eol + 1;
	}
	return 0;
}

/* Parses "avg10=1.23" style decimals: digits, optional fraction. */
static int parse_decimal(const char *p, const char *end, double *out)
{
	double v = 0, scale = 1;
	int digits = 0, frac = 0;
	for (; p < end; p++) {
		if (*p == '.' && !frac) {
			frac = 1;
			continue;
		}
		if (*p < '0' || *p > '9')
			return -1;
		digits++;
		if (frac) {
			scale /= 10;
			v += (*p - '0') * scale;
		} else {
			v = v * 10 + (*p - '0');
		}
	}
	if (!digits)
		return -1;
	*out = v;
	return 0;
}

static int parse_psi_line(const char *p, const char *eol, struct psi_line *out)
{
	int seen = 0;
	while (p < eol) {
		while (p < eol && *p == ' ')
			p++;
		if (p >= eol)
			break;
		const char *tok_end = memchr(p, ' ', (size_t)(eol - p));
		if (!tok_end)
			tok_end = eol;
		const char *eq = memchr(p, '=', (size_t)(tok_end - p));
		if (!eq)
			return -1;
		size_t klen = (size_t)(eq - p);
		if (klen == 5 && memcmp(p, "avg10", 5) == 0) {
			if (parse_decimal(eq + 1, tok_end, &out->avg10) < 0)
				return -1;
			seen |= 1;
		} else if (klen == 5 && memcmp(p, "avg60", 5) == 0) {
			if (parse_decimal(eq + 1, tok_end, &out->avg60) < 0)
				return -1;
			seen |= 2;
		} else if (klen == 6 && memcmp(p, "avg300", 6) == 0) {
			if (parse_decimal(eq + 1, tok_end, &out->avg300) < 0)
				return -1;
			seen |= 4;
		} else if (klen == 5 && memcmp(p, "total", 5) == 0) {
			if (parse_u64(eq + 1, tok_end, &out->total_us) < 0)
				return -1;
			seen |= 8;
		}
		p = tok_end;
	}
	return seen == 15 ? 0 : -1;
}

int parse_psi(const char *buf, size_t len, const char *name, struct psi_stats *out, struct cadet_error *err)
{
	const char *p = buf, *end = buf + len;
	int have_some = 0;
	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *eol = line_end(p, end);
		if (eol - p > 5 && memcmp(p, "some ", 5) == 0) {
			if (parse_psi_line(p + 5, eol, &out->some) < 0)
				return cadet_error_set(err, EINVAL, "%s: malformed \"some\" line", name);
			have_some = 1;
		} else if (eol - p > 5 && memcmp(p, "full ", 5) == 0) {
			if (parse_psi_line(p + 5, eol, &out->full) < 0)
				return cadet_error_set(err, EINVAL, "%s: malformed \"full\" line", name);
			out->has_full = true;
		} else if (eol != p) {
			return cadet_error_set(err, EINVAL, "%s: unexpected line", name);
		}
		p = eol + 1;
	}
	if (!have_some)
		return cadet_error_set(err, EINVAL, "%s: no \"some\" line", name);
	return 0;
}

int parse_meminfo(const char *buf, size_t len, const char *const *keys, size_t n, uint64_t *values_bytes,
		  uint64_t *found, struct cadet_error *err)
{
	const char *p = buf, *end = buf + len;
	*found = 0;
	while (p < end) {
		const char *eol = line_end(p, end);
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (colon) {
			size_t key_len = (size_t)(colon - p);
			for (size_t i = 0; i < n; i++) {
				if (strlen(keys[i]) != key_len || memcmp(keys[i], p, key_len) != 0)
					continue;
				const char *v = colon + 1, *v_end = eol;
				while (v < v_end && *v == ' ')
					v++;
				int kb = 0;
				if (v_end - v > 3 && memcmp(v_end - 3, " kB", 3) == 0) {
					v_end -= 3;
					kb = 1;
				}
				uint64_t value;
				if (parse_u64(v, v_end, &value) < 0 || (kb && value > UINT64_MAX / 1024))
					return cadet_error_set(err, EINVAL, "/proc/meminfo: bad value for %s", keys[i]);
				values_bytes[i] = kb ? value * 1024 : value;
				*found |= 1ULL << i;
				break;
			}
		}
		p = eol + 1;
	}
	return 0;
}

int parse_proc_stat(const char *buf, size_t len, uint64_t *cpu_busy_ticks, uint64_t *boot_time_s,
		    struct cadet_error *err)
{
	const char *p = buf, *end = buf + len;
	int have_cpu = 0, have_btime = 0;
	while (p < end) {
		const char *eol = line_end(p, end);
		if (eol - p > 4 && memcmp(p, "cpu ", 4) == 0) {
			/* user nice system idle iowait irq softirq steal ... */
			uint64_t f[8] = { 0 };
			const char *q = p + 4;
			int i = 0;
			while (q < eol && i < 8) {
				while (q < eol && *q == ' ')
					q++;
				const char *tok = q;
				while (q < eol && *q != ' ')
					q++;
				if (tok == q)
					break;
				if (parse_u64(tok, q, &f[i]) < 0)
					return cadet_error_set(err, EINVAL, "/proc/stat: bad cpu field %d", i + 1);
				i++;
			}
			if (i < 4)
				return cadet_error_set(err, EINVAL, "/proc/stat: short cpu line");
			uint64_t busy = 0;
			static const int busy_fields[] = { 0, 1, 2, 5, 6, 7 };
			for (size_t k = 0; k < sizeof(busy_fields) / sizeof(busy_fields[0]); k++)
				if (__builtin_add_overflow(busy, f[busy_fields[k]], &busy))
					return cadet_error_set(err, EINVAL, "/proc/stat: cpu time out of range");
			*cpu_busy_ticks = busy;
			have_cpu = 1;
		} else if (eol - p > 6 && memcmp(p, "btime ", 6) == 0) {
			if (parse_u64(p + 6, eol, boot_time_s) < 0)
				return cadet_error_set(err, EINVAL, "/proc/stat: bad btime");
			have_btime = 1;
		}
		p = eol + 1;
	}
	if (!have_cpu || !have_btime)
		return cadet_error_set(err, EINVAL, "/proc/stat: missing %s", have_cpu ? "btime" : "cpu line");
	return 0;
}

int parse_loadavg_tasks(const char *buf, size_t len, uint64_t *running, uint64_t *total, struct cadet_error *err)
{
	const char *p = buf, *end = line_end(buf, buf + len);
	for (int field = 0; field < 3; field++) { /* the three load averages */
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		if (!sp)
			return cadet_error_set(err, EINVAL, "/proc/loadavg: fewer than four fields");
		p = sp + 1;
	}
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	const char *field_end = sp ? sp : end;
	const char *slash = memchr(p, '/', (size_t)(field_end - p));
	if (!slash || parse_u64(p, slash, running) < 0 || parse_u64(slash + 1, field_end, total) < 0)
		return cadet_error_set(err, EINVAL, "/proc/loadavg: fourth field is not running/total");
	return 0;
}
