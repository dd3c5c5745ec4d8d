/* listen-address.h: the one parser of listen flags ("host:port",
 * "[v6]:port", ":port") for every listener of both daemons, and the
 * loopback test the agent's plain-HTTP listener needs. */
#ifndef CADET_LISTEN_ADDRESS_H
#define CADET_LISTEN_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Splits the address into host (empty for ":port", meaning any) and port;
 * brackets are required around an IPv6 host and removed. */
int listen_address_parse(const char *listen, char *host, size_t host_size, uint16_t *port,
			 struct cadet_error *err);
/* True for 127.0.0.0/8, ::1 and localhost. */
bool listen_host_is_loopback(const char *host);

#endif
