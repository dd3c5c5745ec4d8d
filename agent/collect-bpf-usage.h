/* collect-bpf-usage.h: CPU and memory usage of a whole kubepods subtree in one or
 * two BPF cgroup-iterator walks (agent/collect-bpf-cgroup-iter.h), for the cycles
 * between full file reads.
 *
 * The values are the ones cgroup_handle_read_usage() reads from files: v1
 * and hybrid layouts walk the cpuacct subtree (cpuacct.usage) and the memory
 * subtree (memory.usage_in_bytes); v2 walks the one unified subtree
 * (cpu.stat usage after an rstat flush, memory.current where the memory
 * controller is enabled). refresh() walks once per cycle; apply() then
 * serves a cgroup by its path relative to the hierarchy root, or says it
 * cannot (cgroup not in the walk: new, gone, or outside the subtree), and
 * the caller reads files instead. */
#ifndef CADET_BPF_USAGE_H
#define CADET_BPF_USAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/sample.h"
#include "common/error.h"

struct bpf_usage;

/* cpu_tree: the hierarchy that holds CPU usage, as the collector found it
 * (cgroup_collector_tree: the cpuacct controller on v1 and hybrid, the root
 * on v2); memory_tree: the v1 memory controller's hierarchy
 * (cgroup_collector_memory_tree), NULL where memory lives in cpu_tree (v2);
 * subtree relative to both ("kubepods", or "kubepods.slice" with the
 * systemd driver). The layout stays the collector's knowledge. */
int bpf_usage_open(const char *cpu_tree, const char *memory_tree, const char *subtree, struct bpf_usage **out,
		   struct cadet_error *err);
/* Walks the subtree(s) now; the previous walk's values are dropped. */
int bpf_usage_refresh(struct bpf_usage *u, struct cadet_error *err);
/* Like cgroup_handle_read_usage(): out = last_full with CPU and memory
 * usage from the last walk and the derived values recomputed. False (out
 * untouched) when the walk did not see relpath with every value needed. */
bool bpf_usage_apply(const struct bpf_usage *u, const char *relpath, const struct sample *last_full,
		     struct sample *out);
size_t bpf_usage_count(const struct bpf_usage *u);
void bpf_usage_free(struct bpf_usage *u);

#endif
