/* fuzz_cgroup_path.c: libFuzzer target for the kubepods cgroup path
 * classifier (agent/collect-cgroup-path.h). The input, cut at its first NUL, is a
 * path relative to a hierarchy root. The classifier must never fail or write
 * past its fixed buffers, and what it returns must be consistent: a pod uid
 * exactly for pods and containers, a container id exactly for containers,
 * only the characters each may hold, a known kind name, and the same answer
 * with a leading slash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect-cgroup-path.h"

static int only(const char *s, const char *allowed)
{
	return s[strspn(s, allowed)] == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = malloc(size + 2);
	if (!path)
		return 0;
	path[0] = '/';
	memcpy(path + 1, data, size);
	path[size + 1] = '\0';

	struct cgroup_identity id, slashed;
	cgroup_path_classify(path + 1, &id);
	cgroup_path_classify(path, &slashed);
	if (id.kind != slashed.kind || strcmp(id.pod_uid, slashed.pod_uid) != 0 ||
	    strcmp(id.container_id, slashed.container_id) != 0 || id.qos != slashed.qos)
		abort();
	if (strcmp(cgroup_kind_name(id.kind), "unknown") == 0)
		abort();
	if (strnlen(id.pod_uid, sizeof(id.pod_uid)) == sizeof(id.pod_uid) ||
	    strnlen(id.container_id, sizeof(id.container_id)) == sizeof(id.container_id) ||
	    strnlen(id.runtime, sizeof(id.runtime)) == sizeof(id.runtime))
		abort();
	int has_pod = id.kind == CGROUP_KIND_POD || id.kind == CGROUP_KIND_CONTAINER;
	if (has_pod != (id.pod_uid[0] != '\0'))
		abort();
	if ((id.kind == CGROUP_KIND_CONTAINER) != (id.container_id[0] != '\0'))
		abort();
	if (!only(id.pod_uid, "0123456789abcdefABCDEF-"))
		abort();
	if (!only(id.container_id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_."))
		abort();
	if (id.kind == CGROUP_KIND_OTHER && id.qos != POD_QOS_UNKNOWN)
		abort();
	free(path);
	return 0;
}
