/* view-push.h: the push view of the agent's store: one cadet.v1.NodeReport
 * (proto/cadet-push.proto) with the node's and every identified pod's
 * latest usage, packed for the wire. Like every view it reads only the
 * store. */
#ifndef CADET_PUSH_ENCODE_H
#define CADET_PUSH_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/store.h"
#include "common/error.h"

/* Packs the store's latest cycle into a new buffer (*out, *len; free()).
 * Pods are included when the runtime has named them (name and namespace
 * known) and every visible container has a CPU rate and memory, as
 * metrics-server serves a pod only then. */
int push_encode_report(const struct store *s, const char *node_name, const char *agent_version, uint8_t **out,
		       size_t *len, struct cadet_error *err);

/* A fingerprint of which pods and containers push_encode_report would
 * report now (not their values): it changes when a new pod gets its first
 * rate or a pod's cgroups are gone, so the push can send such a change at
 * once instead of at the next window. */
uint64_t push_report_members(const struct store *s);

#endif
