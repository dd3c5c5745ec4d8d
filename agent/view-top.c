/* view-top.c: a plain-text table like `kubectl top pod`, for operators
 * debugging the node with curl: namespace, pod, CPU in millicores (from the
 * windowed rate) and memory working set in MiB, plus a node line. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "agent/views.h"

static void format_cpu(const struct series *se, char *out, size_t size)
{
	if (se->has_rate)
		snprintf(out, size, "%" PRIu64 "m", (uint64_t)(se->usage_nano_cores / 1000000ULL) /* nanocores per millicore */);
	else
		snprintf(out, size, "-");
}

static void format_memory(const struct series *se, char *out, size_t size)
{
	if (se->latest.have & SAMPLE_HAVE_MEMORY)
		snprintf(out, size, "%" PRIu64 "Mi", (uint64_t)(se->latest.memory_working_set_bytes / (1024 * 1024)));
	else
		snprintf(out, size, "-");
}

int view_top_render(const struct store *s, struct strbuf *out, struct cadet_error *err)
{
	char cpu[32], mem[32];
	format_cpu(&s->node, cpu, sizeof(cpu));
	format_memory(&s->node, mem, sizeof(mem));
	strbuf_printf(out, "%-20s %-44s %-12s %-14s\n", "NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)");
	strbuf_printf(out, "%-20s %-44s %-12s %-14s\n", "(node)", "-", cpu, mem);
	for (size_t i = 0; i < s->n_pods; i++) {
		const struct store_pod *p = &s->pods[i];
		if (!p->series.has_sample)
			continue;
		format_cpu(&p->series, cpu, sizeof(cpu));
		format_memory(&p->series, mem, sizeof(mem));
		const char *ns = view_pod_namespace(p);
		strbuf_printf(out, "%-20s %-44s %-12s %-14s\n", *ns ? ns : "-", view_pod_name(p), cpu, mem);
	}
	if (strbuf_failed(out))
		return cadet_error_set(err, ENOMEM, "rendering /top");
	return 0;
}
