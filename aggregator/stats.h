/* stats.h: the aggregator's own counters, for its /metrics endpoint. Written
 * by the gRPC thread and the sweep, read by the HTTP thread: every access is
 * a relaxed atomic, nothing more is needed for monotonic counters. */
#ifndef CADET_AGG_STATS_H
#define CADET_AGG_STATS_H

#include <stdint.h>

struct agg_stats {
	uint64_t reports_accepted;
	uint64_t reports_rejected; /* undecodable, invalid or not the certificate's node */
	uint64_t streams_opened;
	uint64_t streams_closed;
	uint64_t nodes_expired; /* dropped for silence */
	uint64_t refused_window, refused_timestamp; /* reports refused by report-limits.c */
	uint64_t values_clamped; /* usage values clamped by report-limits.c */
	uint64_t pods_dropped; /* pods with bad names removed by report-limits.c */
	uint64_t peer_log_suppressed; /* per-peer stream log lines held back (peer-log.c) */
};

static inline void agg_stats_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static inline uint64_t agg_stats_get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

#endif
