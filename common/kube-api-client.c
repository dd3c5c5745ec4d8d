/* kube-api-client.c: kube-apiserver over libcurl (see kube-api-client.h).
 *
 * kube_api_client_new resolves the configuration once into plain fields
 * (server URL, CA as a file or as decoded bytes, client certificate and key
 * likewise, a fixed token or a token file); kube_api_client_do builds a
 * fresh curl easy handle from them for each request. The only state shared
 * between calls is the cached token of a token file, under token_lock. The
 * kubeconfig is read with libyaml's document loader: a mapping at the top,
 * with the `clusters`, `users` and `contexts` lists of named entries. */
#include "kube-api-client.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "cleanup.h"
#include "readfile.h"

#define KUBECONFIG_MAX_BYTES (1u << 20)
#define TOKEN_MAX_BYTES (64u << 10)
#define CA_MAX_BYTES (1u << 20)
#define TOKEN_REREAD_S 60
#define DEFAULT_CONNECT_TIMEOUT_MS 5000L

/* Bytes held in memory (decoded *-data fields), or a file path. */
struct pem_source {
	char *path;
	char *data;
	size_t data_len;
};

struct kube_api_client {
	char *server; /* no trailing '/' */
	struct pem_source ca;
	struct pem_source client_cert;
	struct pem_source client_key;
	bool insecure_skip_verify;
	char *token;      /* fixed token (kubeconfig `token`), or NULL */
	char *token_file; /* re-read token, or NULL */
	pthread_mutex_t token_lock;
	char *token_cached;
	struct timespec token_read_at;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void pem_source_free(struct pem_source *src)
{
	free(src->path);
	free(src->data);
	src->path = NULL;
	src->data = NULL;
}

static bool pem_source_set(const struct pem_source *src)
{
	return src->path || src->data;
}

static void trim_trailing_space(char *s)
{
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
}

/* Decodes base64 text (whitespace allowed between groups) into *out. */
static int base64_decode(const char *text, char **out, size_t *out_len, struct cadet_error *err)
{
	size_t text_len = strlen(text);
	_cleanup_free_ char *packed = malloc(text_len + 1);
	if (!packed)
		return cadet_error_set(err, ENOMEM, "decoding base64");
	size_t n = 0;
	for (size_t i = 0; i < text_len; i++)
		if (text[i] != ' ' && text[i] != '\n' && text[i] != '\r' && text[i] != '\t')
			packed[n++] = text[i];
	packed[n] = '\0';
	if (n == 0 || n % 4 != 0 || n > INT_MAX)
		return cadet_error_set(err, EINVAL, "base64 text of %zu characters is not a whole number of groups", n);
	_cleanup_free_ unsigned char *bytes = malloc(n / 4 * 3 + 1);
	if (!bytes)
		return cadet_error_set(err, ENOMEM, "decoding base64");
	int decoded = EVP_DecodeBlock(bytes, (const unsigned char *)packed, (int)n);
	if (decoded < 0)
		return cadet_error_set(err, EINVAL, "invalid base64");
	size_t padding = (packed[n - 1] == '=') + (packed[n - 2] == '=');
	size_t len = (size_t)decoded - padding;
	bytes[len] = '\0';
	*out = (char *)TAKE_PTR(bytes);
	*out_len = len;
	return 0;
}

/* --- kubeconfig ---------------------------------------------------------- */

static void yaml_document_deletep(yaml_document_t **doc)
{
	if (*doc)
		yaml_document_delete(*doc);
}

static yaml_node_t *yaml_map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(doc, pair->key);
		if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
		    memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
			return yaml_document_get_node(doc, pair->value);
	}
	return NULL;
}

/* The scalar's text (libyaml ends it with a NUL), or NULL when node is not
 * a scalar. */
static const char *yaml_scalar(yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)node->data.scalar.value;
}

/* In the list root[list_key], the entry whose `name` is name; returns its
 * entry_key mapping. */
static yaml_node_t *yaml_named_entry(yaml_document_t *doc, yaml_node_t *root, const char *list_key, const char *name,
				     const char *entry_key)
{
	yaml_node_t *list = yaml_map_get(doc, root, list_key);
	if (!list || list->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *item = list->data.sequence.items.start; item < list->data.sequence.items.top; item++) {
		yaml_node_t *entry = yaml_document_get_node(doc, *item);
		const char *entry_name = yaml_scalar(yaml_map_get(doc, entry, "name"));
		if (entry_name && strcmp(entry_name, name) == 0)
			return yaml_map_get(doc, entry, entry_key);
	}
	return NULL;
}

/* A path from the kubeconfig, made absolute against the kubeconfig's folder. */
static char *kubeconfig_path_join(const char *kubeconfig_path, const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	const char *slash = strrchr(kubeconfig_path, '/');
	if (!slash)
		return strdup(path);
	char *joined = NULL;
	if (asprintf(&joined, "%.*s/%s", (int)(slash - kubeconfig_path), kubeconfig_path, path) < 0)
		return NULL;
	return joined;
}

/* Fills src from the `file_key` (a path) or `data_key` (base64) field of map. */
static int kubeconfig_pem(yaml_document_t *doc, yaml_node_t *map, const char *kubeconfig_path, const char *file_key,
			  const char *data_key, struct pem_source *src, struct cadet_error *err)
{
	const char *data = yaml_scalar(yaml_map_get(doc, map, data_key));
	if (data && data[0]) {
		if (base64_decode(data, &src->data, &src->data_len, err) < 0)
			return cadet_error_prefix(err, "%s", data_key);
		return 0;
	}
	const char *file = yaml_scalar(yaml_map_get(doc, map, file_key));
	if (file && file[0]) {
		src->path = kubeconfig_path_join(kubeconfig_path, file);
		if (!src->path)
			return cadet_error_set(err, ENOMEM, "%s", file_key);
	}
	return 0;
}

static int kubeconfig_load(struct kube_api_client *c, const char *path, struct cadet_error *err)
{
	_cleanup_free_ char *text = NULL;
	if (read_file_string(path, KUBECONFIG_MAX_BYTES, &text, err) < 0)
		return -1;
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return cadet_error_set(err, ENOMEM, "kubeconfig %s: yaml parser", path);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	yaml_document_t document;
	int loaded = yaml_parser_load(&parser, &document);
	if (!loaded) {
		cadet_error_set(err, EINVAL, "kubeconfig %s: line %zu: %s", path, parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_parser_delete(&parser);
	_cleanup_(yaml_document_deletep) yaml_document_t *doc = &document;
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (!root || root->type != YAML_MAPPING_NODE)
		return cadet_error_set(err, EINVAL, "kubeconfig %s: not a mapping", path);

	const char *context_name = yaml_scalar(yaml_map_get(doc, root, "current-context"));
	if (!context_name || !context_name[0])
		return cadet_error_set(err, EINVAL, "kubeconfig %s: no current-context", path);
	yaml_node_t *context = yaml_named_entry(doc, root, "contexts", context_name, "context");
	if (!context)
		return cadet_error_set(err, EINVAL, "kubeconfig %s: no context named %s", path, context_name);
	const char *cluster_name = yaml_scalar(yaml_map_get(doc, context, "cluster"));
	const char *user_name = yaml_scalar(yaml_map_get(doc, context, "user"));
	if (!cluster_name)
		return cadet_error_set(err, EINVAL, "kubeconfig %s: context %s names no cluster", path, context_name);
	yaml_node_t *cluster = yaml_named_entry(doc, root, "clusters", cluster_name, "cluster");
	if (!cluster)
		return cadet_error_set(err, EINVAL, "kubeconfig %s: no cluster named %s", path, cluster_name);

	const char *server = yaml_scalar(yaml_map_get(doc, cluster, "server"));
	if (!server || !server[0])
		return cadet_error_set(err, EINVAL, "kubeconfig %s: cluster %s has no server", path, cluster_name);
	c->server = strdup(server);
	if (!c->server)
		return cadet_error_set(err, ENOMEM, "kubeconfig %s", path);
	const char *skip = yaml_scalar(yaml_map_get(doc, cluster, "insecure-skip-tls-verify"));
	c->insecure_skip_verify = skip && strcmp(skip, "true") == 0;
	if (kubeconfig_pem(doc, cluster, path, "certificate-authority", "certificate-authority-data", &c->ca, err) < 0)
		return cadet_error_prefix(err, "kubeconfig %s: cluster %s", path, cluster_name);

	if (!user_name)
		return 0; /* no user: anonymous */
	yaml_node_t *user = yaml_named_entry(doc, root, "users", user_name, "user");
	if (!user)
		return cadet_error_set(err, EINVAL, "kubeconfig %s: no user named %s", path, user_name);
	if (kubeconfig_pem(doc, user, path, "client-certificate", "client-certificate-data", &c->client_cert, err) < 0 ||
	    kubeconfig_pem(doc, user, path, "client-key", "client-key-data", &c->client_key, err) < 0)
		return cadet_error_prefix(err, "kubeconfig %s: user %s", path, user_name);
	if (pem_source_set(&c->client_cert) != pem_source_set(&c->client_key))
		return cadet_error_set(err, EINVAL, "kubeconfig %s: user %s has a client certificate or key without the other",
				       path, user_name);
	const char *token = yaml_scalar(yaml_map_get(doc, user, "token"));
	const char *token_file = yaml_scalar(yaml_map_get(doc, user, "tokenFile"));
	if (token && token[0]) {
		c->token = strdup(token);
		if (!c->token)
			return cadet_error_set(err, ENOMEM, "kubeconfig %s", path);
	} else if (token_file && token_file[0]) {
		c->token_file = kubeconfig_path_join(path, token_file);
		if (!c->token_file)
			return cadet_error_set(err, ENOMEM, "kubeconfig %s", path);
	}
	return 0;
}

/* --- in-cluster ---------------------------------------------------------- */

static int in_cluster_load(struct kube_api_client *c, const char *sa_dir, struct cadet_error *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!host || !host[0] || !port || !port[0])
		return cadet_error_set(err, ENOENT,
				       "not in a pod (KUBERNETES_SERVICE_HOST/PORT unset) and no kubeconfig given");
	bool v6 = strchr(host, ':') != NULL;
	if (asprintf(&c->server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port) < 0) {
		c->server = NULL;
		return cadet_error_set(err, ENOMEM, "in-cluster config");
	}
	if (asprintf(&c->ca.path, "%s/ca.crt", sa_dir) < 0) {
		c->ca.path = NULL;
		return cadet_error_set(err, ENOMEM, "in-cluster config");
	}
	if (asprintf(&c->token_file, "%s/token", sa_dir) < 0) {
		c->token_file = NULL;
		return cadet_error_set(err, ENOMEM, "in-cluster config");
	}
	return 0;
}

/* --- the client ---------------------------------------------------------- */

int kube_api_client_new(const struct kube_api_client_options *opts, struct kube_api_client **out,
			struct cadet_error *err)
{
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return cadet_error_set(err, EIO, "libcurl: %s", curl_easy_strerror(curl_init_result));
	struct kube_api_client *c = calloc(1, sizeof(*c));
	if (!c)
		return cadet_error_set(err, ENOMEM, "kube-apiserver client");
	pthread_mutex_init(&c->token_lock, NULL);
	int rc;
	if (opts && opts->kubeconfig_path && opts->kubeconfig_path[0])
		rc = kubeconfig_load(c, opts->kubeconfig_path, err);
	else
		rc = in_cluster_load(c, opts && opts->sa_dir ? opts->sa_dir : KUBE_API_SA_DIR, err);
	if (rc == 0) {
		size_t len = strlen(c->server);
		while (len > 0 && c->server[len - 1] == '/')
			c->server[--len] = '\0';
		if (strncmp(c->server, "https://", 8) != 0 && strncmp(c->server, "http://", 7) != 0)
			rc = cadet_error_set(err, EINVAL, "server %s is not an http(s) URL", c->server);
		else if (strncmp(c->server, "https://", 8) == 0 && !pem_source_set(&c->ca) && !c->insecure_skip_verify)
			rc = cadet_error_set(err, EINVAL, "server %s: no certificate authority to verify it with",
					     c->server);
	}
	if (rc < 0) {
		kube_api_client_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void kube_api_client_free(struct kube_api_client *client)
{
	if (!client)
		return;
	free(client->server);
	pem_source_free(&client->ca);
	pem_source_free(&client->client_cert);
	pem_source_free(&client->client_key);
	free(client->token);
	free(client->token_file);
	free(client->token_cached);
	pthread_mutex_destroy(&client->token_lock);
	free(client);
}

const char *kube_api_client_server(const struct kube_api_client *client)
{
	return client->server;
}

/* "Authorization: Bearer TOKEN" into *header (NULL when there is no
 * token), re-reading a token file older than TOKEN_REREAD_S. */
static int bearer_header(struct kube_api_client *c, char **header, struct cadet_error *err)
{
	*header = NULL;
	if (c->token)
		return asprintf(header, "Authorization: Bearer %s", c->token) < 0
			       ? (*header = NULL, cadet_error_set(err, ENOMEM, "token header"))
			       : 0;
	if (!c->token_file)
		return 0;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&c->token_lock);
	if (!c->token_cached || now.tv_sec - c->token_read_at.tv_sec >= TOKEN_REREAD_S) {
		char *fresh = NULL;
		if (read_file_string(c->token_file, TOKEN_MAX_BYTES, &fresh, err) < 0) {
			pthread_mutex_unlock(&c->token_lock);
			return cadet_error_prefix(err, "service-account token");
		}
		trim_trailing_space(fresh);
		free(c->token_cached);
		c->token_cached = fresh;
		c->token_read_at = now;
	}
	int rc = asprintf(header, "Authorization: Bearer %s", c->token_cached);
	pthread_mutex_unlock(&c->token_lock);
	if (rc < 0) {
		*header = NULL;
		return cadet_error_set(err, ENOMEM, "token header");
	}
	return 0;
}

struct body_sink {
	struct strbuf *buffer;
	size_t max_bytes;
	bool over_limit;
	kube_api_chunk_fn on_chunk;
	void *userdata;
	bool stopped;
};

static size_t body_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct body_sink *sink = userdata;
	size_t len = size * nmemb;
	if (sink->on_chunk) {
		if (sink->on_chunk(data, len, sink->userdata) < 0) {
			sink->stopped = true;
			return 0;
		}
		return len;
	}
	if (sink->buffer->len + len > sink->max_bytes) {
		sink->over_limit = true;
		return 0;
	}
	strbuf_append(sink->buffer, data, len);
	return strbuf_failed(sink->buffer) ? 0 : len;
}

static void curl_easy_cleanupp(CURL **h)
{
	if (*h)
		curl_easy_cleanup(*h);
}

static void curl_slist_free_allp(struct curl_slist **l)
{
	if (*l)
		curl_slist_free_all(*l);
}

/* Applies one PEM source to a handle: the _BLOB option for bytes in memory,
 * the path option for a file. */
static CURLcode set_pem(CURL *h, const struct pem_source *src, CURLoption path_opt, CURLoption blob_opt)
{
	if (src->data) {
		struct curl_blob blob = {.data = src->data, .len = src->data_len, .flags = CURL_BLOB_COPY};
		return curl_easy_setopt(h, blob_opt, &blob);
	}
	if (src->path)
		return curl_easy_setopt(h, path_opt, src->path);
	return CURLE_OK;
}

int kube_api_client_do(struct kube_api_client *client, const struct kube_api_request *req, long *http_status,
		       struct strbuf *response, struct cadet_error *err)
{
	const char *method = req->method ? req->method : "GET";
	if (!req->path || req->path[0] != '/')
		return cadet_error_set(err, EINVAL, "request path must start with '/'");
	if (!req->on_chunk && !response)
		return cadet_error_set(err, EINVAL, "%s %s: no response buffer", method, req->path);
	_cleanup_free_ char *url = NULL;
	if (asprintf(&url, "%s%s", client->server, req->path) < 0) {
		url = NULL;
		return cadet_error_set(err, ENOMEM, "%s %s", method, req->path);
	}
	_cleanup_free_ char *auth = NULL;
	if (bearer_header(client, &auth, err) < 0)
		return cadet_error_prefix(err, "%s %s", method, url);

	_cleanup_(curl_easy_cleanupp) CURL *h = curl_easy_init();
	if (!h)
		return cadet_error_set(err, ENOMEM, "%s %s: curl handle", method, url);
	_cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
	const char *fixed_headers[] = {"Accept: application/json", req->body ? "Content-Type: application/json" : NULL,
				       auth};
	for (size_t i = 0; i < sizeof(fixed_headers) / sizeof(fixed_headers[0]); i++) {
		if (!fixed_headers[i])
			continue;
		struct curl_slist *grown = curl_slist_append(headers, fixed_headers[i]);
		if (!grown)
			return cadet_error_set(err, ENOMEM, "%s %s: headers", method, url);
		headers = grown;
	}

	if (response)
		strbuf_reset(response);
	struct body_sink sink = {
		.buffer = response,
		.max_bytes = req->max_response_bytes ? req->max_response_bytes : KUBE_API_DEFAULT_MAX_RESPONSE_BYTES,
		.on_chunk = req->on_chunk,
		.userdata = req->userdata,
	};
	long connect_ms = req->connect_timeout_ms;
	if (connect_ms <= 0)
		connect_ms = req->timeout_ms > 0 && req->timeout_ms < DEFAULT_CONNECT_TIMEOUT_MS ? req->timeout_ms
												 : DEFAULT_CONNECT_TIMEOUT_MS;
	char curl_msg[CURL_ERROR_SIZE] = "";
	CURLcode rc = CURLE_OK;
#define SETOPT(opt, value)                                        \
	do {                                                      \
		if (rc == CURLE_OK)                               \
			rc = curl_easy_setopt(h, opt, value);     \
	} while (0)
	SETOPT(CURLOPT_URL, url);
	SETOPT(CURLOPT_ERRORBUFFER, curl_msg);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_PROTOCOLS_STR, "https,http");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_HTTPHEADER, headers);
	SETOPT(CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		SETOPT(CURLOPT_NOBODY, 1L);
	if (req->body) {
		SETOPT(CURLOPT_POSTFIELDS, req->body);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	SETOPT(CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 0L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	SETOPT(CURLOPT_WRITEFUNCTION, body_write);
	SETOPT(CURLOPT_WRITEDATA, &sink);
	SETOPT(CURLOPT_SSL_VERIFYPEER, client->insecure_skip_verify ? 0L : 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, client->insecure_skip_verify ? 0L : 2L);
#undef SETOPT
	if (rc == CURLE_OK)
		rc = set_pem(h, &client->ca, CURLOPT_CAINFO, CURLOPT_CAINFO_BLOB);
	if (rc == CURLE_OK && pem_source_set(&client->client_cert)) {
		rc = set_pem(h, &client->client_cert, CURLOPT_SSLCERT, CURLOPT_SSLCERT_BLOB);
		if (rc == CURLE_OK)
			rc = set_pem(h, &client->client_key, CURLOPT_SSLKEY, CURLOPT_SSLKEY_BLOB);
	}
	if (rc != CURLE_OK)
		return cadet_error_set(err, EINVAL, "%s %s: curl option: %s", method, url, curl_easy_strerror(rc));

	rc = curl_easy_perform(h);
	if (sink.stopped)
		return cadet_error_set(err, ECANCELED, "%s %s: stopped by the caller", method, url);
	if (sink.over_limit)
		return cadet_error_set(err, EFBIG, "%s %s: response larger than %zu bytes", method, url, sink.max_bytes);
	if (rc != CURLE_OK)
		return cadet_error_set(err, rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO, "%s %s: %s", method, url,
				       curl_msg[0] ? curl_msg : curl_easy_strerror(rc));
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	*http_status = status;
	return 0;
}
