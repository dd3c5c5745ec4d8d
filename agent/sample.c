/* sample.c: the derive function and the clocks of the sample contract
 * (see sample.h). */
#include "agent/sample.h"

#include <string.h>

#include "common/timefmt.h"

void sample_derive(struct sample *s)
{
	if (!(s->have & SAMPLE_HAVE_MEMORY))
		return;
	s->memory_working_set_bytes = s->memory_usage_bytes > s->memory_inactive_file_bytes
					      ? s->memory_usage_bytes - s->memory_inactive_file_bytes
					      : 0;
}

struct sample_time sample_time_now(void)
{
	return (struct sample_time){ .monotonic_ns = clock_monotonic_ns(), .realtime_ns = clock_realtime_ns() };
}

struct sample_time sample_time_from_realtime(uint64_t realtime_ns, const struct sample_time *now)
{
	struct sample_time t = { .realtime_ns = realtime_ns };
	if (realtime_ns <= now->realtime_ns) {
		uint64_t age = now->realtime_ns - realtime_ns;
		t.monotonic_ns = now->monotonic_ns > age ? now->monotonic_ns - age : 0;
	} else { /* the other clock runs ahead: take it as now */
		t.monotonic_ns = now->monotonic_ns;
	}
	return t;
}

struct sample_time sample_time_from_monotonic(uint64_t monotonic_ns, const struct sample_time *now)
{
	struct sample_time t = { .monotonic_ns = monotonic_ns };
	uint64_t age = now->monotonic_ns > monotonic_ns ? now->monotonic_ns - monotonic_ns : 0;
	t.realtime_ns = now->realtime_ns > age ? now->realtime_ns - age : 0;
	return t;
}

bool sample_source_from_runtime(enum sample_source source)
{
	return source == SAMPLE_SOURCE_CRI;
}

const char *pod_qos_name(enum pod_qos qos)
{
	switch (qos) {
	case POD_QOS_GUARANTEED:
		return "Guaranteed";
	case POD_QOS_BURSTABLE:
		return "Burstable";
	case POD_QOS_BESTEFFORT:
		return "BestEffort";
	case POD_QOS_UNKNOWN:
		break;
	}
	return "Unknown";
}

const struct net_interface_stats *pod_network_default(const struct pod_network *net)
{
	for (size_t i = 0; i < net->n_interfaces; i++) {
		if (strcmp(net->interfaces[i].name, POD_NETWORK_DEFAULT_INTERFACE) == 0)
			return &net->interfaces[i];
	}
	return net->n_interfaces > 0 ? &net->interfaces[0] : NULL;
}
