/* report-limits.c: range checks on a pushed node report (see
 * report-limits.h). What is refused, and why:
 *  - window above 1 h (0 is what an agent sends before it has a rate, and
 *    renders as "0s"): Go's time.Duration ends at 2^63-1 ns, and one
 *    window kubectl cannot parse fails every list it is in;
 *  - timestamp before 2000-01-01 or more than 10 minutes ahead of this
 *    aggregator's clock: no agent's sample is that old or that far ahead.
 * What is clamped: CPU usage above a million cores and memory above 1 EiB,
 * to those limits (no node has that much; the values still render). */
#include "report-limits.h"

#include <errno.h>

static uint64_t clamp(uint64_t *value, uint64_t max)
{
	if (*value <= max)
		return 0;
	*value = max;
	return 1;
}

int agg_report_limit(Cadet__V1__NodeReport *report, uint64_t now_unix_ns, struct agg_stats *stats,
		     struct cadet_error *err)
{
	if (report->window_ns > REPORT_MAX_WINDOW_NS) {
		agg_stats_add(&stats->refused_window, 1);
		return cadet_error_set(err, EINVAL, "window of %llu ns is above the limit of 1 h",
				       (unsigned long long)report->window_ns);
	}
	if (report->timestamp_unix_ns < REPORT_MIN_TIMESTAMP_UNIX_NS ||
	    report->timestamp_unix_ns > now_unix_ns + REPORT_MAX_FUTURE_NS) {
		agg_stats_add(&stats->refused_timestamp, 1);
		return cadet_error_set(err, EINVAL,
				       "timestamp %llu ns since 1970 is before 2000 or more than 10 min ahead",
				       (unsigned long long)report->timestamp_unix_ns);
	}
	uint64_t clamped = clamp(&report->cpu_usage_nanocores, REPORT_MAX_NANOCORES) +
			   clamp(&report->memory_working_set_bytes, REPORT_MAX_MEMORY_BYTES);
	for (size_t p = 0; p < report->n_pods; p++) {
		Cadet__V1__PodReport *pod = report->pods[p];
		for (size_t c = 0; c < pod->n_containers; c++) {
			Cadet__V1__ContainerReport *ct = pod->containers[c];
			clamped += clamp(&ct->cpu_usage_nanocores, REPORT_MAX_NANOCORES) +
				   clamp(&ct->memory_working_set_bytes, REPORT_MAX_MEMORY_BYTES);
		}
	}
	if (clamped)
		agg_stats_add(&stats->values_clamped, clamped);
	return 0;
}
