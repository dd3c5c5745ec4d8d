/* collect-pod-network.h: a pod's network counters, read from its network namespace.
 *
 * Every process of a pod shares the pod's network namespace, so
 * /proc/<pid>/net/dev of any of them (the sandbox's pause process is the
 * natural choice) lists the pod's interfaces. This is what cAdvisor does for
 * kubelet; cadet does it when the runtime does not report pod network. */
#ifndef CADET_POD_NETWORK_H
#define CADET_POD_NETWORK_H

#include <sys/types.h>

#include "agent/sample.h"
#include "common/error.h"

/* Reads PROC_ROOT/<pid>/net/dev into out, skipping lo. Fails with ENOENT
 * when the process is gone, EPROTO on a malformed file. */
int pod_network_read(const char *proc_root, pid_t pid, uint64_t realtime_ns, struct pod_network *out,
		     struct cadet_error *err);

/* Parses the text of a net/dev file (exposed for tests). */
int pod_network_parse(const char *text, const char *source, struct pod_network *out, struct cadet_error *err);

#endif
