/* report-limits.h: the ranges a pushed node report's values must fit before
 * the store takes it, so that every value the API renders is one its Go
 * clients (kubectl, the HPA) can parse. See report-limits.c for the rules. */
#ifndef CADET_AGG_REPORT_LIMITS_H
#define CADET_AGG_REPORT_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/push-limits.h"
#include "proto/cadet-push.pb-c.h"
#include "stats.h"

#define REPORT_MAX_WINDOW_NS CADET_PUSH_MAX_WINDOW_NS            /* 1 h */
#define REPORT_MIN_TIMESTAMP_UNIX_NS (946684800ULL * 1000000000ULL) /* 2000-01-01 */
#define REPORT_MAX_FUTURE_NS (600ULL * 1000000000ULL)           /* 10 min ahead */
#define REPORT_MAX_NANOCORES (1000000ULL * 1000000000ULL)      /* a million cores */
#define REPORT_MAX_MEMORY_BYTES (1ULL << 60)                   /* 1 EiB */

/* Checks report against the limits at realtime now_unix_ns: a window or
 * timestamp out of range refuses the report (-1, EINVAL), usage values above
 * their limit are clamped to it, pods with bad names are removed from it.
 * Each is counted in stats. Returns the number of pods removed, the first
 * one's reason in dropped_why. */
int agg_report_limit(Cadet__V1__NodeReport *report, uint64_t now_unix_ns, struct agg_stats *stats,
		     char *dropped_why, size_t why_size, struct cadet_error *err);

#endif
