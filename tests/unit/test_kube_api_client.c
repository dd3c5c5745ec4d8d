/* test_kube_api_client.c: the kube-apiserver client's configuration and
 * wire behaviour (common/kube-api-client.c).
 *
 * Covers: a kubeconfig's current context picking its cluster and user,
 * relative paths resolved against the kubeconfig's folder, *-data fields
 * decoded from base64, the errors for a missing current-context, an
 * unknown context, a server without a CA, a certificate without its key,
 * unparsable YAML; the in-cluster configuration from
 * KUBERNETES_SERVICE_HOST/PORT (an IPv6 host in brackets) and its error
 * outside a pod. On the wire, against a loopback socket this test serves
 * by hand (the peer whose view of the request is being checked: the real
 * kube-apiserver is exercised by tests/integration/security-*.sh): the
 * method, path, JSON body and bearer token as sent, the status and body
 * handed back, a response over the size limit refused, a server that
 * never answers cut at the deadline (within 2 s for a 300 ms deadline), a
 * closed port refused at once. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/kube-api-client.h"
#include "common/strbuf.h"

struct tmpdir {
	char path[64];
};

static void tmpdir_make(struct tmpdir *d)
{
	snprintf(d->path, sizeof(d->path), "/tmp/cadet-kubeapi-XXXXXX");
	assert_non_null(mkdtemp(d->path));
}

static void write_file(const struct tmpdir *d, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", d->path, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void tmpdir_remove(const struct tmpdir *d)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	assert_int_equal(system(cmd), 0);
}

static int client_from_kubeconfig(const struct tmpdir *d, const char *text, struct kube_api_client **out,
				  struct cadet_error *err)
{
	write_file(d, "kubeconfig", text);
	char path[256];
	snprintf(path, sizeof(path), "%s/kubeconfig", d->path);
	struct kube_api_client_options opts = {.kubeconfig_path = path};
	return kube_api_client_new(&opts, out, err);
}

#define KUBECONFIG_HEAD                                   \
	"apiVersion: v1\n"                                \
	"kind: Config\n"                                  \
	"clusters:\n"                                     \
	"- name: other\n"                                 \
	"  cluster:\n"                                    \
	"    server: https://192.0.2.1:6443\n"            \
	"    certificate-authority: other-ca.crt\n"      \
	"- name: test\n"                                  \
	"  cluster:\n"                                    \
	"    server: https://127.0.0.1:6443/\n"           \
	"    certificate-authority: ca.crt\n"            \
	"users:\n"                                        \
	"- name: me\n"                                    \
	"  user:\n"                                       \
	"    client-certificate: me.crt\n"               \
	"    client-key: me.key\n"                       \
	"contexts:\n"                                     \
	"- name: first\n"                                 \
	"  context: {cluster: other, user: me}\n"         \
	"- name: mine\n"                                  \
	"  context:\n"                                    \
	"    cluster: test\n"                             \
	"    user: me\n"

static void test_kubeconfig_current_context(void **state)
{
	(void)state;
	struct tmpdir d;
	tmpdir_make(&d);
	struct cadet_error err = {0};
	struct kube_api_client *c = NULL;
	assert_int_equal(client_from_kubeconfig(&d, KUBECONFIG_HEAD "current-context: mine\n", &c, &err), 0);
	assert_string_equal(kube_api_client_server(c), "https://127.0.0.1:6443");
	kube_api_client_free(c);
	assert_int_equal(client_from_kubeconfig(&d, KUBECONFIG_HEAD "current-context: first\n", &c, &err), 0);
	assert_string_equal(kube_api_client_server(c), "https://192.0.2.1:6443");
	kube_api_client_free(c);
	tmpdir_remove(&d);
}

static void expect_kubeconfig_error(const char *text, const char *want_in_msg)
{
	struct tmpdir d;
	tmpdir_make(&d);
	struct cadet_error err = {0};
	struct kube_api_client *c = NULL;
	if (client_from_kubeconfig(&d, text, &c, &err) == 0) {
		kube_api_client_free(c);
		tmpdir_remove(&d);
		fail_msg("accepted a kubeconfig that should fail with \"%s\"", want_in_msg);
	}
	tmpdir_remove(&d);
	if (!strstr(err.msg, want_in_msg))
		fail_msg("error \"%s\" does not say \"%s\"", err.msg, want_in_msg);
}

static void test_kubeconfig_errors(void **state)
{
	(void)state;
	expect_kubeconfig_error(KUBECONFIG_HEAD, "no current-context");
	expect_kubeconfig_error(KUBECONFIG_HEAD "current-context: gone\n", "no context named gone");
	expect_kubeconfig_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: x}\n",
				"no cluster named x");
	expect_kubeconfig_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: x}\n"
				"clusters:\n- name: x\n  cluster: {server: 'https://h:1'}\n",
				"no certificate authority");
	expect_kubeconfig_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: x, user: u}\n"
				"clusters:\n- name: x\n  cluster: {server: 'https://h:1', insecure-skip-tls-verify: true}\n"
				"users:\n- name: u\n  user: {client-certificate: c.crt}\n",
				"without the other");
	expect_kubeconfig_error("current-context: [a\n", "line");
	expect_kubeconfig_error("- a list\n", "not a mapping");
	expect_kubeconfig_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: x}\n"
				"clusters:\n- name: x\n  cluster: {server: 'h:1', insecure-skip-tls-verify: true}\n",
				"not an http(s) URL");
	expect_kubeconfig_error("current-context: a\ncontexts:\n- name: a\n  context: {cluster: x}\n"
				"clusters:\n- name: x\n  cluster: {server: 'https://h:1', certificate-authority-data: 'a=b'}\n",
				"base64");
}

static void test_kubeconfig_data_fields(void **state)
{
	(void)state;
	struct tmpdir d;
	tmpdir_make(&d);
	struct cadet_error err = {0};
	struct kube_api_client *c = NULL;
	/* "hello" and "hi": the decoder must accept padding of two and one. */
	assert_int_equal(client_from_kubeconfig(&d,
						"current-context: a\ncontexts:\n- name: a\n  context: {cluster: x, user: u}\n"
						"clusters:\n- name: x\n  cluster:\n    server: https://h:1\n"
						"    certificate-authority-data: aGVsbG8=\n"
						"users:\n- name: u\n  user:\n    client-certificate-data: aGk=\n"
						"    client-key-data: |\n      aGVs\n      bG8=\n",
						&c, &err),
			 0);
	kube_api_client_free(c);
	tmpdir_remove(&d);
}

static void test_in_cluster(void **state)
{
	(void)state;
	struct tmpdir d;
	tmpdir_make(&d);
	write_file(&d, "token", "sa-token\n");
	write_file(&d, "ca.crt", "not read until a request\n");
	struct cadet_error err = {0};
	struct kube_api_client *c = NULL;
	struct kube_api_client_options opts = {.sa_dir = d.path};

	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	assert_int_equal(kube_api_client_new(&opts, &c, &err), -1);
	assert_int_equal(err.errnum, ENOENT);

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_api_client_new(&opts, &c, &err), 0);
	assert_string_equal(kube_api_client_server(c), "https://10.96.0.1:443");
	kube_api_client_free(c);

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	assert_int_equal(kube_api_client_new(&opts, &c, &err), 0);
	assert_string_equal(kube_api_client_server(c), "https://[fd00::1]:443");
	kube_api_client_free(c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	tmpdir_remove(&d);
}

/* ---- on the wire ---- */

struct peer {
	int listen_fd;
	int port;
	const char *reply; /* NULL: accept, read, never answer */
	char request[8192];
	size_t request_len;
	pthread_t thread;
};

static void *peer_serve(void *arg)
{
	struct peer *p = arg;
	int fd = accept(p->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	/* Read the head, then the body its Content-Length announces. */
	for (;;) {
		ssize_t n = read(fd, p->request + p->request_len, sizeof(p->request) - 1 - p->request_len);
		if (n <= 0)
			break;
		p->request_len += (size_t)n;
		p->request[p->request_len] = '\0';
		const char *end = strstr(p->request, "\r\n\r\n");
		if (!end)
			continue;
		const char *cl = strcasestr(p->request, "Content-Length:");
		size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
		if (p->request_len >= (size_t)(end + 4 - p->request) + body)
			break;
	}
	if (p->reply) {
		size_t len = strlen(p->reply);
		assert_int_equal(write(fd, p->reply, len), (ssize_t)len);
	} else {
		char sink[64];
		while (read(fd, sink, sizeof(sink)) > 0) {
		}
	}
	close(fd);
	return NULL;
}

static void peer_start(struct peer *p, const char *reply)
{
	memset(p, 0, sizeof(*p));
	p->reply = reply;
	p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->listen_fd >= 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(p->listen_fd, 4), 0);
	socklen_t len = sizeof(addr);
	assert_int_equal(getsockname(p->listen_fd, (struct sockaddr *)&addr, &len), 0);
	p->port = ntohs(addr.sin_port);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_serve, p), 0);
}

static void peer_stop(struct peer *p)
{
	shutdown(p->listen_fd, SHUT_RDWR);
	pthread_join(p->thread, NULL);
	close(p->listen_fd);
}

static struct kube_api_client *plain_client(const struct tmpdir *d, int port, const char *user_fields)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "current-context: a\ncontexts:\n- name: a\n  context: {cluster: x, user: u}\n"
		 "clusters:\n- name: x\n  cluster: {server: 'http://127.0.0.1:%d'}\n"
		 "users:\n- name: u\n  user: {%s}\n",
		 port, user_fields);
	struct cadet_error err = {0};
	struct kube_api_client *c = NULL;
	if (client_from_kubeconfig(d, text, &c, &err) < 0)
		fail_msg("kubeconfig: %s", err.msg);
	return c;
}

static void test_request_on_the_wire(void **state)
{
	(void)state;
	struct tmpdir d;
	tmpdir_make(&d);
	write_file(&d, "token", "file-token\n");
	struct peer p;
	peer_start(&p, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
		       "Connection: close\r\n\r\n{\"ok\":true}");
	struct kube_api_client *c = plain_client(&d, p.port, "tokenFile: token");
	const char body[] = "{\"kind\":\"TokenReview\"}";
	struct kube_api_request req = {
		.method = "POST",
		.path = "/apis/authentication.k8s.io/v1/tokenreviews",
		.body = body,
		.body_len = sizeof(body) - 1,
		.timeout_ms = 5000,
	};
	struct strbuf response;
	strbuf_init(&response);
	struct cadet_error err = {0};
	long status = 0;
	if (kube_api_client_do(c, &req, &status, &response, &err) < 0)
		fail_msg("request: %s", err.msg);
	peer_stop(&p);
	assert_int_equal(status, 201);
	assert_int_equal(response.len, 11);
	assert_memory_equal(response.data, "{\"ok\":true}", 11);
	assert_non_null(strstr(p.request, "POST /apis/authentication.k8s.io/v1/tokenreviews HTTP/1.1\r\n"));
	assert_non_null(strstr(p.request, "\r\nAuthorization: Bearer file-token\r\n"));
	assert_non_null(strstr(p.request, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(p.request, "\r\n\r\n{\"kind\":\"TokenReview\"}"));
	strbuf_free(&response);
	kube_api_client_free(c);
	tmpdir_remove(&d);
}

static void test_response_limit(void **state)
{
	(void)state;
	struct tmpdir d;
	tmpdir_make(&d);
	struct peer p;
	peer_start(&p, "HTTP/1.1 200 OK\r\nContent-Length: 40\r\nConnection: close\r\n\r\n"
		       "0123456789012345678901234567890123456789");
	struct kube_api_client *c = plain_client(&d, p.port, "token: fixed");
	struct kube_api_request req = {.path = "/api", .timeout_ms = 5000, .max_response_bytes = 16};
	struct strbuf response;
	strbuf_init(&response);
	struct cadet_error err = {0};
	long status = 0;
	assert_int_equal(kube_api_client_do(c, &req, &status, &response, &err), -1);
	peer_stop(&p);
	assert_int_equal(err.errnum, EFBIG);
	assert_non_null(strstr(p.request, "\r\nAuthorization: Bearer fixed\r\n"));
	strbuf_free(&response);
	kube_api_client_free(c);
	tmpdir_remove(&d);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_deadline_and_refusal(void **state)
{
	(void)state;
	struct tmpdir d;
	tmpdir_make(&d);
	struct peer p;
	peer_start(&p, NULL);
	struct kube_api_client *c = plain_client(&d, p.port, "");
	struct kube_api_request req = {.path = "/api", .timeout_ms = 300};
	struct strbuf response;
	strbuf_init(&response);
	struct cadet_error err = {0};
	long status = 0;
	double start = now_s();
	assert_int_equal(kube_api_client_do(c, &req, &status, &response, &err), -1);
	double took = now_s() - start;
	assert_int_equal(err.errnum, ETIMEDOUT);
	if (took > 2.0)
		fail_msg("a 300 ms deadline took %.2f s", took);
	int port = p.port;
	peer_stop(&p);
	kube_api_client_free(c);

	/* The port is closed now: refused at once, not a hang. */
	c = plain_client(&d, port, "");
	assert_int_equal(kube_api_client_do(c, &req, &status, &response, &err), -1);
	assert_int_equal(err.errnum, EIO);
	strbuf_free(&response);
	kube_api_client_free(c);
	tmpdir_remove(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubeconfig_current_context),
		cmocka_unit_test(test_kubeconfig_errors),
		cmocka_unit_test(test_kubeconfig_data_fields),
		cmocka_unit_test(test_in_cluster),
		cmocka_unit_test(test_request_on_the_wire),
		cmocka_unit_test(test_response_limit),
		cmocka_unit_test(test_deadline_and_refusal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
