/* config.h: cadet-agent's command-line flags, named in kubelet's and
 * metrics-server's style (--cgroup-root, --node-name, --listen) with Go
 * duration values (--interval 1s, --window 15s). */
#ifndef CADET_CONFIG_H
#define CADET_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"

/* 10265 (HTTPS) and 10266 (plain, loopback) are used by no Kubernetes
 * component: kubelet has 10248/10250/10255, kube-proxy 10249/10256. */
#define AGENT_DEFAULT_LISTEN ":10265"
#define AGENT_DEFAULT_DEBUG_LISTEN "127.0.0.1:10266"

struct agent_config {
	const char *cgroup_root;
	char node_name[256];
	const char *listen;       /* HTTPS; "" = off */
	const char *debug_listen; /* plain HTTP; "" = off */
	bool debug_listen_any;
	const char *tls_cert_file;
	const char *tls_private_key_file;
	const char *client_ca_file;
	const char *token_file;
	uint64_t interval_ns;
	uint64_t window_ns;
	int log_level;
	const char *log_format; /* "auto", "text", "journal" */
	const char *container_runtime_endpoint;
	uint64_t runtime_request_timeout_ns;
	const char *aggregator;
	const char *aggregator_ca_file;
	const char *aggregator_cert_file;
	const char *aggregator_key_file;
	bool bpf;
	unsigned max_connections; /* per listener */
	bool show_help;
	bool show_version;
};

/* Fills defaults, then parses argv. On a bad flag, fills err. */
int agent_config_parse(struct agent_config *cfg, int argc, char **argv, struct cadet_error *err);
void agent_config_usage(FILE *out, const char *prog);

#endif
