/* report-limits.c: range checks on a pushed node report (see
 * report-limits.h). What is refused, and why:
 *  - window above 1 h (0 is what an agent sends before it has a rate, and
 *    renders as "0s"): Go's time.Duration ends at 2^63-1 ns, and one
 *    window kubectl cannot parse fails every list it is in;
 *  - timestamp before 2000-01-01 or more than 10 minutes ahead of this
 *    aggregator's clock: no agent's sample is that old or that far ahead.
 * What is clamped: CPU usage above a million cores and memory above 1 EiB,
 * to those limits (no node has that much; the values still render).
 * What is dropped: one pod whose namespace or name is empty or longer than
 * 253 bytes (Kubernetes' limit), that has more than 1000 containers, or a
 * container without a name or with one longer than 253 bytes; the rest of
 * the report is kept, so one bad pod does not blank its node. */
#include "report-limits.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_NAME_BYTES 253
#define MAX_CONTAINERS_PER_POD 1000

/* Why pod is dropped into why (empty when it is kept). */
static bool pod_bad(const Cadet__V1__PodReport *pod, size_t index, char *why, size_t why_size)
{
	size_t ns_len = pod->namespace_ ? strlen(pod->namespace_) : 0;
	size_t name_len = pod->name ? strlen(pod->name) : 0;
	if (ns_len == 0 || name_len == 0)
		snprintf(why, why_size, "pod %zu has no %s", index, ns_len == 0 ? "namespace" : "name");
	else if (ns_len > MAX_NAME_BYTES || name_len > MAX_NAME_BYTES)
		snprintf(why, why_size, "pod %zu has a %s of %zu bytes (limit %d)", index,
			 ns_len > MAX_NAME_BYTES ? "namespace" : "name",
			 ns_len > MAX_NAME_BYTES ? ns_len : name_len, MAX_NAME_BYTES);
	else if (pod->n_containers > MAX_CONTAINERS_PER_POD)
		snprintf(why, why_size, "pod %zu has %zu containers (limit %d)", index, pod->n_containers,
			 MAX_CONTAINERS_PER_POD);
	else {
		for (size_t c = 0; c < pod->n_containers; c++) {
			size_t len = pod->containers[c]->name ? strlen(pod->containers[c]->name) : 0;
			if (len == 0 || len > MAX_NAME_BYTES) {
				snprintf(why, why_size, "pod %zu: container %zu has a name of %zu bytes (want 1 to %d)",
					 index, c, len, MAX_NAME_BYTES);
				return true;
			}
		}
		return false;
	}
	return true;
}

/* Removes the bad pods from report; returns how many, the first's reason in why. */
static size_t drop_bad_pods(Cadet__V1__NodeReport *report, char *why, size_t why_size)
{
	size_t kept = 0, dropped = 0;
	char this_why[160];
	for (size_t p = 0; p < report->n_pods; p++) {
		Cadet__V1__PodReport *pod = report->pods[p];
		if (pod_bad(pod, p, this_why, sizeof(this_why))) {
			if (dropped++ == 0)
				snprintf(why, why_size, "%s", this_why);
			cadet__v1__pod_report__free_unpacked(pod, NULL);
		} else {
			report->pods[kept++] = pod;
		}
	}
	report->n_pods = kept;
	return dropped;
}

static uint64_t clamp(uint64_t *value, uint64_t max)
{
	if (*value <= max)
		return 0;
	*value = max;
	return 1;
}

int agg_report_limit(Cadet__V1__NodeReport *report, uint64_t now_unix_ns, struct agg_stats *stats,
		     char *dropped_why, size_t why_size, struct cadet_error *err)
{
	if (why_size > 0)
		dropped_why[0] = '\0';
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
	size_t dropped = drop_bad_pods(report, dropped_why, why_size);
	if (dropped)
		agg_stats_add(&stats->pods_dropped, dropped);
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
	return (int)dropped;
}
