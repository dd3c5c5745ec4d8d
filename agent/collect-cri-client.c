/* collect-cri-client.c: unary CRI calls over gRPC C core (see collect-cri-client.h).
 *
 * Each call is one batch on a pluck completion queue: send initial metadata,
 * the packed request and a half-close, receive initial metadata, the reply
 * and the status. The call carries the deadline; the queue is plucked a
 * little past it so a call never blocks longer than the deadline allows.
 * Messages are packed and unpacked by protobuf-c. */
#include "agent/collect-cri-client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>


/* kubelet allows CRI replies up to 16 MiB (a node with many containers). */
#define CRI_MAX_MESSAGE_BYTES (16 * 1024 * 1024)

struct cri_client {
	char *endpoint;    /* as given */
	char *socket_path; /* the unix socket it names */
	char *target;      /* gRPC target, "unix:" + socket_path */
	uint64_t timeout_ns;
	grpc_channel *channel; /* NULL until the next call connects */
	grpc_completion_queue *cq;
};

int cri_client_open(const char *endpoint, uint64_t timeout_ns, struct cri_client **out,
		    struct cadet_error *err)
{
	const char *path;
	if (strncmp(endpoint, "unix://", 7) == 0)
		path = endpoint + 7;
	else if (endpoint[0] == '/')
		path = endpoint;
	else
		return cadet_error_set(err, EINVAL,
				       "container runtime endpoint %s: only unix:// sockets are supported",
				       endpoint);
	if (path[0] != '/')
		return cadet_error_set(err, EINVAL, "container runtime endpoint %s: socket path must be absolute",
				       endpoint);
	if (timeout_ns == 0 || timeout_ns > 3600 * NSEC_PER_SEC)
		return cadet_error_set(err, EINVAL, "container runtime endpoint %s: timeout must be within (0, 1h]",
				       endpoint);

	struct cri_client *c = calloc(1, sizeof(*c));
	if (!c)
		return cadet_error_set(err, ENOMEM, "CRI client for %s", endpoint);
	c->endpoint = strdup(endpoint);
	c->socket_path = strdup(path);
	if (asprintf(&c->target, "unix:%s", path) < 0)
		c->target = NULL;
	if (!c->endpoint || !c->socket_path || !c->target) {
		free(c->endpoint);
		free(c->socket_path);
		free(c->target);
		free(c);
		return cadet_error_set(err, ENOMEM, "CRI client for %s", endpoint);
	}
	c->timeout_ns = timeout_ns;
	grpc_init();
	c->cq = grpc_completion_queue_create_for_pluck(NULL);
	*out = c;
	return 0;
}

static void cri_client_disconnect(struct cri_client *c)
{
	if (c->channel) {
		grpc_channel_destroy(c->channel);
		c->channel = NULL;
	}
}

void cri_client_free(struct cri_client *c)
{
	if (!c)
		return;
	cri_client_disconnect(c);
	grpc_completion_queue_shutdown(c->cq);
	for (;;) {
		grpc_event ev = grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
	}
	grpc_completion_queue_destroy(c->cq);
	grpc_shutdown();
	free(c->endpoint);
	free(c->socket_path);
	free(c->target);
	free(c);
}

const char *cri_client_endpoint(const struct cri_client *c)
{
	return c->endpoint;
}

const char *cri_client_socket_path(const struct cri_client *c)
{
	return c->socket_path;
}

static int cri_client_connect(struct cri_client *c, struct cadet_error *err)
{
	if (c->channel)
		return 0;
	grpc_arg args[] = {
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		  .value.integer = CRI_MAX_MESSAGE_BYTES },
		/* also the connect timeout: a runtime that accepts but never
		 * sends its HTTP/2 SETTINGS (hung) is given the call's time */
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
		  .value.integer = (int)(c->timeout_ns / NSEC_PER_MSEC) },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, .value.integer = 100 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, .value.integer = 1000 },
	};
	grpc_channel_args channel_args = { .num_args = sizeof(args) / sizeof(args[0]), .args = args };
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	if (!creds)
		return cadet_error_set(err, ENOMEM, "runtime %s: credentials", c->endpoint);
	c->channel = grpc_channel_create(c->target, creds, &channel_args);
	grpc_channel_credentials_release(creds);
	if (!c->channel)
		return cadet_error_set(err, ENOMEM, "runtime %s: cannot create channel", c->endpoint);
	return 0;
}

static int errnum_from_status(grpc_status_code status)
{
	switch (status) {
	case GRPC_STATUS_UNIMPLEMENTED:
		return ENOSYS;
	case GRPC_STATUS_DEADLINE_EXCEEDED:
		return ETIMEDOUT;
	case GRPC_STATUS_UNAVAILABLE:
		return ECONNREFUSED;
	case GRPC_STATUS_NOT_FOUND:
		return ENOENT;
	default:
		return EPROTO;
	}
}

/* What one batch hands back; released by cri_call_state_release. */
struct cri_call_state {
	grpc_call *call;
	grpc_byte_buffer *request;
	grpc_byte_buffer *response;
	grpc_metadata_array initial_md, trailing_md;
	grpc_status_code status;
	grpc_slice details;
	const char *error_string;
};

static void cri_call_state_release(struct cri_call_state *st)
{
	if (st->call)
		grpc_call_unref(st->call);
	if (st->request)
		grpc_byte_buffer_destroy(st->request);
	if (st->response)
		grpc_byte_buffer_destroy(st->response);
	grpc_metadata_array_destroy(&st->initial_md);
	grpc_metadata_array_destroy(&st->trailing_md);
	grpc_slice_unref(st->details);
	gpr_free((void *)st->error_string);
}

static int pack_request(const ProtobufCMessage *request, grpc_byte_buffer **out)
{
	size_t size = protobuf_c_message_get_packed_size(request);
	grpc_slice slice = grpc_slice_malloc(size);
	protobuf_c_message_pack(request, GRPC_SLICE_START_PTR(slice));
	*out = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	return *out ? 0 : -1;
}

static int unpack_response(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *type, ProtobufCMessage **out)
{
	grpc_byte_buffer_reader reader;
	if (!grpc_byte_buffer_reader_init(&reader, bb))
		return -1;
	grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	*out = protobuf_c_message_unpack(type, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
	grpc_slice_unref(all);
	return *out ? 0 : -1;
}

int cri_client_call(struct cri_client *c, const char *method, const ProtobufCMessage *request,
		    const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **out,
		    struct cadet_error *err)
{
	*out = NULL;
	/* A missing socket is the common "runtime not running" case: say so
	 * plainly instead of gRPC's connect error. */
	struct stat st_sock;
	if (stat(c->socket_path, &st_sock) < 0) {
		cri_client_disconnect(c);
		return cadet_error_set(err, errno == ENOENT ? ENOENT : errno, "runtime %s: %s: socket %s",
				       c->endpoint, method, c->socket_path);
	}
	if (cri_client_connect(c, err) < 0)
		return -1;

	struct cri_call_state st = { .details = grpc_empty_slice() };
	grpc_metadata_array_init(&st.initial_md);
	grpc_metadata_array_init(&st.trailing_md);
	if (pack_request(request, &st.request) < 0) {
		cri_call_state_release(&st);
		return cadet_error_set(err, ENOMEM, "runtime %s: %s: packing request", c->endpoint, method);
	}

	gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
					     gpr_time_from_nanos((int64_t)c->timeout_ns, GPR_TIMESPAN));
	grpc_slice method_slice = grpc_slice_from_static_string(method);
	st.call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, method_slice, NULL,
					   deadline, NULL);
	if (!st.call) {
		cri_call_state_release(&st);
		return cadet_error_set(err, ENOMEM, "runtime %s: %s: cannot create call", c->endpoint, method);
	}

	grpc_op ops[6];
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = st.request;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &st.initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &st.response;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &st.trailing_md;
	ops[5].data.recv_status_on_client.status = &st.status;
	ops[5].data.recv_status_on_client.status_details = &st.details;
	ops[5].data.recv_status_on_client.error_string = &st.error_string;

	void *tag = &st;
	grpc_call_error call_err = grpc_call_start_batch(st.call, ops, 6, tag, NULL);
	if (call_err != GRPC_CALL_OK) {
		cri_call_state_release(&st);
		return cadet_error_set(err, EPROTO, "runtime %s: %s: start batch failed (%d)", c->endpoint, method,
				       (int)call_err);
	}
	/* The deadline ends the call itself; the extra second only guards
	 * against a batch that never completes. */
	gpr_timespec pluck_deadline = gpr_time_add(deadline, gpr_time_from_seconds(1, GPR_TIMESPAN));
	grpc_event ev = grpc_completion_queue_pluck(c->cq, tag, pluck_deadline, NULL);
	if (ev.type != GRPC_OP_COMPLETE) {
		grpc_call_cancel(st.call, NULL);
		grpc_completion_queue_pluck(c->cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		cri_call_state_release(&st);
		cri_client_disconnect(c);
		return cadet_error_set(err, ETIMEDOUT, "runtime %s: %s: no completion", c->endpoint, method);
	}

	if (st.status != GRPC_STATUS_OK) {
		int errnum = errnum_from_status(st.status);
		char *details = grpc_slice_to_c_string(st.details);
		cadet_error_set(err, errnum, "runtime %s: %s: status %d (%s)", c->endpoint, method,
				(int)st.status, details && details[0] ? details : "no details");
		gpr_free(details);
		cri_call_state_release(&st);
		/* A dead or hung peer: start over with a fresh connection. */
		if (errnum == ECONNREFUSED || errnum == ETIMEDOUT)
			cri_client_disconnect(c);
		return -1;
	}
	if (!st.response) {
		cri_call_state_release(&st);
		return cadet_error_set(err, EPROTO, "runtime %s: %s: OK status without a reply", c->endpoint, method);
	}
	if (unpack_response(st.response, response_type, out) < 0) {
		cri_call_state_release(&st);
		return cadet_error_set(err, EPROTO, "runtime %s: %s: malformed %s reply", c->endpoint, method,
				       response_type->name);
	}
	cri_call_state_release(&st);
	return 0;
}

bool cri_error_is_unimplemented(const struct cadet_error *err)
{
	return err && err->errnum == ENOSYS;
}

#define CRI_RUNTIME "/runtime.v1.RuntimeService/"
#define CRI_IMAGE "/runtime.v1.ImageService/"

int cri_version(struct cri_client *c, Runtime__V1__VersionResponse **out, struct cadet_error *err)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	req.version = "v1";
	return cri_client_call(c, CRI_RUNTIME "Version", &req.base, &runtime__v1__version_response__descriptor,
			       (ProtobufCMessage **)out, err);
}

int cri_list_pod_sandbox(struct cri_client *c, Runtime__V1__ListPodSandboxResponse **out,
			 struct cadet_error *err)
{
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	return cri_client_call(c, CRI_RUNTIME "ListPodSandbox", &req.base,
			       &runtime__v1__list_pod_sandbox_response__descriptor, (ProtobufCMessage **)out, err);
}

int cri_list_containers(struct cri_client *c, Runtime__V1__ListContainersResponse **out,
			struct cadet_error *err)
{
	Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	return cri_client_call(c, CRI_RUNTIME "ListContainers", &req.base,
			       &runtime__v1__list_containers_response__descriptor, (ProtobufCMessage **)out, err);
}

int cri_list_container_stats(struct cri_client *c, Runtime__V1__ListContainerStatsResponse **out,
			     struct cadet_error *err)
{
	Runtime__V1__ListContainerStatsRequest req = RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
	return cri_client_call(c, CRI_RUNTIME "ListContainerStats", &req.base,
			       &runtime__v1__list_container_stats_response__descriptor, (ProtobufCMessage **)out,
			       err);
}

int cri_list_pod_sandbox_stats(struct cri_client *c, Runtime__V1__ListPodSandboxStatsResponse **out,
			       struct cadet_error *err)
{
	Runtime__V1__ListPodSandboxStatsRequest req = RUNTIME__V1__LIST_POD_SANDBOX_STATS_REQUEST__INIT;
	return cri_client_call(c, CRI_RUNTIME "ListPodSandboxStats", &req.base,
			       &runtime__v1__list_pod_sandbox_stats_response__descriptor, (ProtobufCMessage **)out,
			       err);
}

int cri_image_fs_info(struct cri_client *c, Runtime__V1__ImageFsInfoResponse **out, struct cadet_error *err)
{
	Runtime__V1__ImageFsInfoRequest req = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
	return cri_client_call(c, CRI_IMAGE "ImageFsInfo", &req.base, &runtime__v1__image_fs_info_response__descriptor,
			       (ProtobufCMessage **)out, err);
}

int cri_pod_sandbox_status(struct cri_client *c, const char *sandbox_id,
			   Runtime__V1__PodSandboxStatusResponse **out, struct cadet_error *err)
{
	Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	req.pod_sandbox_id = (char *)sandbox_id;
	req.verbose = true;
	return cri_client_call(c, CRI_RUNTIME "PodSandboxStatus", &req.base,
			       &runtime__v1__pod_sandbox_status_response__descriptor, (ProtobufCMessage **)out,
			       err);
}

int cri_container_status(struct cri_client *c, const char *container_id,
			 Runtime__V1__ContainerStatusResponse **out, struct cadet_error *err)
{
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = (char *)container_id;
	return cri_client_call(c, CRI_RUNTIME "ContainerStatus", &req.base,
			       &runtime__v1__container_status_response__descriptor, (ProtobufCMessage **)out, err);
}
