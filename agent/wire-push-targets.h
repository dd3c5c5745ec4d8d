/* wire-push-targets.h: which addresses the agent pushes to.
 *
 * The --aggregator target names a service that may stand for several
 * aggregator replicas (a headless Service: one DNS record per replica). The
 * agent must reach every one of them, so it resolves the host itself and
 * opens one stream per address instead of letting one gRPC channel pick a
 * single backend. "dns:///host:port", "host:port" and "[v6]:port" are
 * resolved; any other gRPC scheme ("unix:/path", "ipv4:...") is dialled as
 * given, as one address. */
#ifndef CADET_PUSH_TARGETS_H
#define CADET_PUSH_TARGETS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct push_target {
	char *host;      /* name or IP literal, without brackets; NULL: dial `verbatim` */
	char *port;
	char *verbatim;  /* the target as given, for schemes we do not resolve */
	bool host_is_ip; /* an IP literal: no name to check the certificate against */
};

int push_target_parse(const char *target, struct push_target *out, struct cadet_error *err);
void push_target_clear(struct push_target *t);

/* The sorted, distinct gRPC targets ("10.0.0.7:4445", "[fd00::7]:4445", or
 * the verbatim target) to dial now. Blocks on DNS: call it off the
 * collection thread. Free with push_addrs_free. */
int push_target_resolve(const struct push_target *t, char ***addrs_out, size_t *n_out, struct cadet_error *err);
void push_addrs_free(char **addrs, size_t n);

#endif
