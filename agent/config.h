/* config.h: cadet-agent's command-line flags, named in kubelet's and
 * metrics-server's style (--cgroup-root, --node-name, --listen) with Go
 * duration values (--interval 1s, --window 15s). */
#ifndef CADET_CONFIG_H
#define CADET_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"

#define AGENT_DEFAULT_PORT 10265
#define AGENT_DEFAULT_LISTEN "127.0.0.1:10265"

struct agent_config {
	const char *cgroup_root;
	char node_name[256];
	const char *listen;
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
	bool show_help;
	bool show_version;
};

/* Fills defaults, then parses argv. On a bad flag, fills err. */
int agent_config_parse(struct agent_config *cfg, int argc, char **argv, struct cadet_error *err);
void agent_config_usage(FILE *out, const char *prog);

#endif
