/* error.h: the one error type of cadet.
 *
 * Every fallible function returns int: -1 (any negative value) on failure,
 * 0 (or a non-negative result, such as "1: the file was there") on
 * success, so callers test `< 0`. On failure it fills a struct
 * cadet_error: the errno of the cause (0 when there is none) plus a
 * message that names what failed and where (file, cgroup, peer).
 * Callers add context with cadet_error_prefix() and pass it up; only the top
 * level logs. */
#ifndef CADET_ERROR_H
#define CADET_ERROR_H

#include <stddef.h>

struct cadet_error {
	int errnum;    /* errno of the cause, 0 if none */
	char msg[512]; /* human-readable, with context */
};

/* Sets err (if not NULL) and returns -1, so callers can write
 * `return cadet_error_set(err, errno, "open %s", path);` */
int cadet_error_set(struct cadet_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "context: " to the message already in err; returns -1. */
int cadet_error_prefix(struct cadet_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clears err. */
void cadet_error_clear(struct cadet_error *err);

#endif
