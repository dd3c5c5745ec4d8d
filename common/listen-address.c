/* listen-address.c: parsing listen flags (see listen-address.h). */
#include "common/listen-address.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int listen_address_parse(const char *listen, char *host, size_t host_size, uint16_t *port,
			 struct cadet_error *err)
{
	const char *colon;
	const char *host_start = listen;
	size_t host_len;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return cadet_error_set(err, EINVAL, "listen address %s: want [host]:port", listen);
		host_start = listen + 1;
		host_len = (size_t)(close - host_start);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return cadet_error_set(err, EINVAL, "listen address %s: want host:port", listen);
		host_len = (size_t)(colon - listen);
	}
	if (host_len >= host_size)
		return cadet_error_set(err, EINVAL, "listen address %s: host too long", listen);
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '\0' || p > 65535)
		return cadet_error_set(err, EINVAL, "listen address %s: bad port", listen);
	*port = (uint16_t)p;
	return 0;
}

bool listen_host_is_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 || strcmp(host, "localhost") == 0;
}
