/* push-limits.h: limits of a push report that both ends apply, so an agent
 * can never be configured to send what the aggregator refuses. */
#ifndef CADET_PUSH_LIMITS_H
#define CADET_PUSH_LIMITS_H

/* Longest rate window a report may carry: the aggregator refuses a larger
 * one (aggregator/report-limits.c), the agent refuses a --window above it. */
#define CADET_PUSH_MAX_WINDOW_NS (3600ULL * 1000000000ULL) /* 1 h */

#endif
