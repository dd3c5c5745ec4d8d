/* collect-cri-client.h: unary CRI (runtime.v1) calls to a container runtime.
 *
 * A client holds one gRPC channel to the runtime's unix socket, opened on
 * the first call and dropped after a transport failure so that the next
 * call reconnects (a restarted runtime is picked up at once, without gRPC's
 * reconnect backoff). Every call has a deadline. Not thread-safe: one
 * thread owns a client. gRPC status codes reach the caller as errnum:
 * ENOSYS for UNIMPLEMENTED, ETIMEDOUT for DEADLINE_EXCEEDED, ECONNREFUSED
 * for UNAVAILABLE, ENOENT when the socket file is missing or for NOT_FOUND,
 * EPROTO for anything else. */
#ifndef CADET_CRI_CLIENT_H
#define CADET_CRI_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "common/duration.h"
#include "common/error.h"
#include "proto/cri-api.pb-c.h"

/* kubelet's --container-runtime-endpoint default (containerd). */
#define CRI_DEFAULT_ENDPOINT "unix:///run/containerd/containerd.sock"
#define CRI_DEFAULT_TIMEOUT_NS (2ULL * NSEC_PER_SEC)

struct cri_client;

/* Checks the endpoint ("unix:///path", or a bare absolute path) and prepares
 * a client; nothing is connected yet. */
int cri_client_open(const char *endpoint, uint64_t timeout_ns, struct cri_client **out,
		    struct cadet_error *err);
void cri_client_free(struct cri_client *c);
const char *cri_client_endpoint(const struct cri_client *c);
/* Path of the runtime's socket file. */
const char *cri_client_socket_path(const struct cri_client *c);

/* One unary call: `method` is the full gRPC path ("/runtime.v1.RuntimeService/Version").
 * On success *out holds the unpacked response; free it with
 * protobuf_c_message_free_unpacked(*out, NULL). */
int cri_client_call(struct cri_client *c, const char *method, const ProtobufCMessage *request,
		    const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **out,
		    struct cadet_error *err);

/* For `_cleanup_(cri_message_freep) Runtime__V1__X *reply = NULL;`: frees
 * any protobuf-c message unpacked by a call. */
static inline void cri_message_freep(void *p)
{
	void *msg;
	memcpy(&msg, p, sizeof(msg));
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

/* True when the error says the runtime does not implement the call. */
bool cri_error_is_unimplemented(const struct cadet_error *err);

/* Typed calls cadet makes. Filters are empty: everything is listed. */
int cri_version(struct cri_client *c, Runtime__V1__VersionResponse **out, struct cadet_error *err);
int cri_list_pod_sandbox(struct cri_client *c, Runtime__V1__ListPodSandboxResponse **out,
			 struct cadet_error *err);
int cri_list_containers(struct cri_client *c, Runtime__V1__ListContainersResponse **out,
			struct cadet_error *err);
int cri_list_container_stats(struct cri_client *c, Runtime__V1__ListContainerStatsResponse **out,
			     struct cadet_error *err);
int cri_list_pod_sandbox_stats(struct cri_client *c, Runtime__V1__ListPodSandboxStatsResponse **out,
			       struct cadet_error *err);
int cri_image_fs_info(struct cri_client *c, Runtime__V1__ImageFsInfoResponse **out, struct cadet_error *err);
/* Status of one container (for its log_path). */
int cri_container_status(struct cri_client *c, const char *container_id,
			 Runtime__V1__ContainerStatusResponse **out, struct cadet_error *err);
/* Verbose status of one sandbox (for the "info" JSON that carries its pid). */
int cri_pod_sandbox_status(struct cri_client *c, const char *sandbox_id,
			   Runtime__V1__PodSandboxStatusResponse **out, struct cadet_error *err);

#endif
