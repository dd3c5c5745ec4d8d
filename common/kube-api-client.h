/* kube-api-client.h: a small HTTPS client to kube-apiserver over libcurl,
 * for the few calls the daemons make (TokenReview, SubjectAccessReview, a
 * list+watch of pods).
 *
 * Where the server is and who we are comes from one of two places, as
 * client-go finds them:
 *   - a kubeconfig file (kubeconfig_path set): its current context's
 *     cluster (server, certificate-authority[-data],
 *     insecure-skip-tls-verify, tls-server-name) and user
 *     (client-certificate[-data] + client-key[-data], token, tokenFile);
 *     relative paths are relative to the kubeconfig's folder;
 *   - the pod's service account (no kubeconfig): https://
 *     $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the CA in
 *     SA_DIR/ca.crt, the bearer token in SA_DIR/token.
 * A token file (tokenFile or the service account's) is re-read when it is
 * older than a minute in memory, since kubelet rotates projected tokens.
 *
 * Each call makes its own curl handle, so calls from several threads need
 * no lock; every call has a deadline (timeout_ms), so a slow or dead API
 * server costs the caller at most that long. */
#ifndef CADET_KUBE_API_CLIENT_H
#define CADET_KUBE_API_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "strbuf.h"

#define KUBE_API_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_API_DEFAULT_MAX_RESPONSE_BYTES (4u << 20)

struct kube_api_client;

struct kube_api_client_options {
	const char *kubeconfig_path; /* NULL or "": in-cluster service account */
	const char *sa_dir;          /* NULL: KUBE_API_SA_DIR (tests point elsewhere) */
};

/* Reads the configuration (the kubeconfig, or the environment and the
 * service account's files) and checks that it names a server and a CA or
 * says to skip verification. Makes no request. */
int kube_api_client_new(const struct kube_api_client_options *opts, struct kube_api_client **out,
			struct cadet_error *err);
void kube_api_client_free(struct kube_api_client *client);

/* The server's base URL ("https://127.0.0.1:6443"), for log lines. */
const char *kube_api_client_server(const struct kube_api_client *client);

/* Called with each piece of a streamed response body (a watch); a negative
 * return stops the transfer (kube_api_client_do then fails with ECANCELED). */
typedef int (*kube_api_chunk_fn)(const char *data, size_t len, void *userdata);

struct kube_api_request {
	const char *method;        /* "GET", "POST", ... */
	const char *path;          /* "/apis/authentication.k8s.io/v1/tokenreviews", query included */
	const char *body;          /* JSON, sent as application/json; NULL: none */
	size_t body_len;
	long timeout_ms;           /* whole-request deadline; 0: none (watches: use on_chunk to stop) */
	long connect_timeout_ms;   /* 0: min(timeout_ms, 5 s) */
	size_t max_response_bytes; /* buffered responses; 0: KUBE_API_DEFAULT_MAX_RESPONSE_BYTES */
	kube_api_chunk_fn on_chunk; /* NULL: the body is collected into *response */
	void *userdata;
};

/* Sends one request. On a completed exchange returns 0 with the HTTP status
 * in *http_status (any status: 403 is an answer, not a failure) and, when
 * on_chunk is NULL, the body in *response (reset first). Fails (-1) on no
 * answer: connection or TLS error, deadline passed, a body over the limit,
 * an unreadable token file. */
int kube_api_client_do(struct kube_api_client *client, const struct kube_api_request *req, long *http_status,
		       struct strbuf *response, struct cadet_error *err);

#endif
