/* timefmt.h: clocks and time text. Samples carry both clocks: monotonic for
 * rate math (immune to clock steps), realtime for what users read (RFC 3339
 * seconds, as Kubernetes' metav1.Time marshals, and Prometheus milliseconds). */
#ifndef CADET_TIMEFMT_H
#define CADET_TIMEFMT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

uint64_t clock_monotonic_ns(void);
uint64_t clock_realtime_ns(void);
/* Timed waits run on the monotonic clock, so a step of the wall clock (at
 * boot, by NTP) neither stretches nor cuts them: a condition variable made
 * by cond_init_monotonic() takes deadlines from clock_monotonic_after(). */
int cond_init_monotonic(pthread_cond_t *cond);
/* The monotonic clock ns from now, as pthread_cond_timedwait takes it for
 * a condition variable made by cond_init_monotonic(). */
struct timespec clock_monotonic_after(uint64_t ns);

/* "2006-01-02T15:04:05Z" in UTC; out must hold at least 21 bytes. */
void time_format_rfc3339(uint64_t realtime_ns, char *out, size_t size);

#endif
