/* wire-push-targets.c: parsing and resolving --aggregator (see wire-push-targets.h).
 *
 * Parsing splits host and port once at start. Resolution asks getaddrinfo
 * for TCP addresses of any family, formats each back as a gRPC target with
 * numeric host and port, then sorts and deduplicates the list so the caller
 * can compare two resolutions element by element. */
#include "agent/wire-push-targets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/collect-parse.h"

#define DNS_SCHEME "dns:///"

void push_target_clear(struct push_target *t)
{
	free(t->host);
	free(t->port);
	free(t->verbatim);
	memset(t, 0, sizeof(*t));
}

static bool is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* gRPC targets we dial as given: the address schemes and any URI other than
 * "dns:///" (xds:///..., a DNS server named in dns://authority/...). */
static bool has_other_scheme(const char *s)
{
	static const char *const schemes[] = { "unix:", "unix-abstract:", "ipv4:", "ipv6:", "vsock:" };
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(s, schemes[i], strlen(schemes[i])) == 0)
			return true;
	return strstr(s, "://") != NULL;
}

int push_target_parse(const char *target, struct push_target *out, struct cadet_error *err)
{
	memset(out, 0, sizeof(*out));
	const char *s = target;
	if (strncmp(s, DNS_SCHEME, strlen(DNS_SCHEME)) == 0)
		s += strlen(DNS_SCHEME);
	else if (has_other_scheme(s)) {
		out->verbatim = strdup(target);
		return out->verbatim ? 0 : cadet_error_set(err, ENOMEM, "push target");
	}

	const char *host, *port;
	size_t host_len;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return cadet_error_set(err, EINVAL, "%s: expected [IPv6]:port", target);
		host = s + 1;
		host_len = (size_t)(close - host);
		port = close + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return cadet_error_set(err, EINVAL, "%s: expected host:port", target);
		host = s;
		host_len = (size_t)(colon - s);
		port = colon + 1;
	}
	uint64_t port_num;
	if (host_len == 0 || parse_u64(port, port + strlen(port), &port_num) < 0 || port_num == 0 || port_num > 65535)
		return cadet_error_set(err, EINVAL, "%s: expected host:port with a port from 1 to 65535", target);
	out->host = strndup(host, host_len);
	out->port = strdup(port);
	if (!out->host || !out->port) {
		push_target_clear(out);
		return cadet_error_set(err, ENOMEM, "push target");
	}
	out->host_is_ip = is_ip_literal(out->host);
	return 0;
}

void push_addrs_free(char **addrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(addrs[i]);
	free(addrs);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int push_target_resolve(const struct push_target *t, char ***addrs_out, size_t *n_out, struct cadet_error *err)
{
	*addrs_out = NULL;
	*n_out = 0;
	if (t->verbatim) {
		char **one = malloc(sizeof(*one));
		if (!one || !(one[0] = strdup(t->verbatim))) {
			free(one);
			return cadet_error_set(err, ENOMEM, "push target");
		}
		*addrs_out = one;
		*n_out = 1;
		return 0;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | (t->host_is_ip ? AI_NUMERICHOST : 0) };
	struct addrinfo *res = NULL;
	int r = getaddrinfo(t->host, t->port, &hints, &res);
	if (r != 0)
		return cadet_error_set(err, r == EAI_SYSTEM ? errno : EHOSTUNREACH, "resolving %s: %s", t->host,
				       r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	size_t cap = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		cap++;
	char **addrs = calloc(cap ? cap : 1, sizeof(*addrs));
	size_t n = 0;
	int rc = 0;
	for (struct addrinfo *ai = res; addrs && ai; ai = ai->ai_next) {
		char ip[INET6_ADDRSTRLEN];
		const void *src;
		if (ai->ai_family == AF_INET)
			src = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			src = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (!inet_ntop(ai->ai_family, src, ip, sizeof(ip)))
			continue;
		if (asprintf(&addrs[n], ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", ip, t->port) < 0) {
			addrs[n] = NULL;
			rc = -1;
			break;
		}
		n++;
	}
	freeaddrinfo(res);
	if (!addrs || rc < 0) {
		push_addrs_free(addrs, n);
		return cadet_error_set(err, ENOMEM, "resolving %s", t->host);
	}
	if (n == 0) {
		free(addrs);
		return cadet_error_set(err, EHOSTUNREACH, "resolving %s: no IPv4 or IPv6 address", t->host);
	}
	qsort(addrs, n, sizeof(*addrs), cmp_str);
	size_t kept = 1;
	for (size_t i = 1; i < n; i++) {
		if (strcmp(addrs[i], addrs[kept - 1]) == 0)
			free(addrs[i]);
		else
			addrs[kept++] = addrs[i];
	}
	*addrs_out = addrs;
	*n_out = kept;
	return 0;
}
