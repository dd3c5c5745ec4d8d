/* config.c: parses cadet-agent's flags (see config.h). Flags take their
 * value as --flag=value or --flag value; booleans also take a bare --flag. */
#include "agent/config.h"

#include "agent/store.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/https-server.h"
#include "common/log.h"
#include "common/push-limits.h"

enum {
	OPT_CGROUP_ROOT = 256,
	OPT_NODE_NAME,
	OPT_LISTEN,
	OPT_DEBUG_LISTEN,
	OPT_DEBUG_LISTEN_ANY,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_CLIENT_CA,
	OPT_TOKEN_FILE,
	OPT_INTERVAL,
	OPT_WINDOW,
	OPT_LOG_LEVEL,
	OPT_LOG_FORMAT,
	OPT_RUNTIME_ENDPOINT,
	OPT_RUNTIME_TIMEOUT,
	OPT_AGGREGATOR,
	OPT_AGGREGATOR_CA,
	OPT_AGGREGATOR_CERT,
	OPT_AGGREGATOR_KEY,
	OPT_BPF,
	OPT_MAX_CONNECTIONS,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option options[] = {
	{ "cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT },
	{ "node-name", required_argument, NULL, OPT_NODE_NAME },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "debug-listen", required_argument, NULL, OPT_DEBUG_LISTEN },
	{ "debug-listen-any", optional_argument, NULL, OPT_DEBUG_LISTEN_ANY },
	{ "tls-cert-file", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-private-key-file", required_argument, NULL, OPT_TLS_KEY },
	{ "client-ca-file", required_argument, NULL, OPT_CLIENT_CA },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "container-runtime-endpoint", required_argument, NULL, OPT_RUNTIME_ENDPOINT },
	{ "runtime-request-timeout", required_argument, NULL, OPT_RUNTIME_TIMEOUT },
	{ "aggregator", required_argument, NULL, OPT_AGGREGATOR },
	{ "aggregator-ca-file", required_argument, NULL, OPT_AGGREGATOR_CA },
	{ "aggregator-cert-file", required_argument, NULL, OPT_AGGREGATOR_CERT },
	{ "aggregator-key-file", required_argument, NULL, OPT_AGGREGATOR_KEY },
	{ "bpf", optional_argument, NULL, OPT_BPF },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void agent_config_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [flags]\n"
		"\n"
		"cadet-agent reads this node's cgroups and serves kubelet-compatible\n"
		"/stats/summary and /metrics/resource.\n"
		"\n"
		"Flags:\n"
		"  --cgroup-root PATH       cgroup filesystem root (default /sys/fs/cgroup)\n"
		"  --node-name NAME         node name to report (default: the hostname)\n"
		"  --listen ADDR:PORT       HTTPS listen address for metrics-server and Prometheus\n"
		"                           (default %s; \"\" turns it off)\n"
		"  --tls-cert-file PATH, --tls-private-key-file PATH\n"
		"                           serving certificate and key (default: self-signed at start)\n"
		"  --client-ca-file PATH    require client certificates signed by this CA (but for /healthz)\n"
		"  --token-file PATH        accept \"Authorization: Bearer <token>\" with the token in PATH\n"
		"  --debug-listen ADDR:PORT plain-HTTP listener for curl on the node\n"
		"                           (default %s; \"\" turns it off)\n"
		"  --debug-listen-any       allow --debug-listen on a non-loopback address\n"
		"  --max-connections N      open connections per listener; at the limit new\n"
		"                           clients wait (default %u)\n"
		"  --interval DURATION      sampling period (default 1s)\n"
		"  --window DURATION        CPU rate window, at most 1h (default 15s)\n"
		"  --container-runtime-endpoint URL\n"
		"                           CRI socket (default unix:///run/containerd/containerd.sock;\n"
		"                           \"\" turns CRI off)\n"
		"  --runtime-request-timeout DURATION\n"
		"                           deadline of each CRI call (default 2s)\n"
		"  --aggregator TARGET      gRPC target of cadet-aggregator; pushing is off without it\n"
		"  --aggregator-ca-file, --aggregator-cert-file, --aggregator-key-file PATH\n"
		"                           TLS / mutual TLS to the aggregator\n"
		"  --bpf[=true|false]       BPF cgroup and OOM events (default true)\n"
		"  --log-level LEVEL        debug, info, warning, error (default info)\n"
		"  --log-format FORMAT      auto, text, journal (default auto: journal under journald)\n"
		"  --help                   this text\n"
		"  --version                print the version\n",
		prog, AGENT_DEFAULT_LISTEN, AGENT_DEFAULT_DEBUG_LISTEN, HTTPS_DEFAULT_MAX_CONNECTIONS);
}

static int parse_bool(const char *flag, const char *v, bool *out, struct cadet_error *err)
{
	if (!v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
		*out = false;
		return 0;
	}
	return cadet_error_set(err, EINVAL, "--%s: want true or false, got \"%s\"", flag, v);
}

static int parse_duration_flag(const char *flag, const char *v, uint64_t *out, struct cadet_error *err)
{
	if (duration_parse(v, out, err) < 0)
		return cadet_error_prefix(err, "--%s", flag);
	if (*out == 0)
		return cadet_error_set(err, EINVAL, "--%s must be positive", flag);
	return 0;
}

int agent_config_parse(struct agent_config *cfg, int argc, char **argv, struct cadet_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cgroup_root = "/sys/fs/cgroup";
	cfg->listen = AGENT_DEFAULT_LISTEN;
	cfg->debug_listen = AGENT_DEFAULT_DEBUG_LISTEN;
	cfg->interval_ns = NSEC_PER_SEC;
	cfg->window_ns = 15000000000ULL;
	cfg->log_level = LOG_INFO;
	cfg->log_format = "auto";
	cfg->container_runtime_endpoint = "unix:///run/containerd/containerd.sock";
	cfg->runtime_request_timeout_ns = 2000000000ULL;
	cfg->bpf = true;
	cfg->max_connections = HTTPS_DEFAULT_MAX_CONNECTIONS;
	if (gethostname(cfg->node_name, sizeof(cfg->node_name) - 1) < 0)
		strcpy(cfg->node_name, "localhost");

	optind = 1;
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_CGROUP_ROOT:
			cfg->cgroup_root = optarg;
			break;
		case OPT_NODE_NAME:
			if (!*optarg || strlen(optarg) >= sizeof(cfg->node_name))
				return cadet_error_set(err, EINVAL, "--node-name: empty or longer than 255 bytes");
			strcpy(cfg->node_name, optarg);
			break;
		case OPT_LISTEN:
			cfg->listen = optarg;
			break;
		case OPT_DEBUG_LISTEN:
			cfg->debug_listen = optarg;
			break;
		case OPT_DEBUG_LISTEN_ANY:
			if (parse_bool("debug-listen-any", optarg, &cfg->debug_listen_any, err) < 0)
				return -1;
			break;
		case OPT_TLS_CERT:
			cfg->tls_cert_file = optarg;
			break;
		case OPT_TLS_KEY:
			cfg->tls_private_key_file = optarg;
			break;
		case OPT_CLIENT_CA:
			cfg->client_ca_file = optarg;
			break;
		case OPT_TOKEN_FILE:
			cfg->token_file = optarg;
			break;
		case OPT_INTERVAL:
			if (parse_duration_flag("interval", optarg, &cfg->interval_ns, err) < 0)
				return -1;
			break;
		case OPT_WINDOW:
			if (parse_duration_flag("window", optarg, &cfg->window_ns, err) < 0)
				return -1;
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &cfg->log_level) < 0)
				return cadet_error_set(err, EINVAL, "--log-level: unknown level \"%s\"", optarg);
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "auto") && strcmp(optarg, "text") && strcmp(optarg, "journal"))
				return cadet_error_set(err, EINVAL, "--log-format: want auto, text or journal");
			cfg->log_format = optarg;
			break;
		case OPT_RUNTIME_ENDPOINT:
			cfg->container_runtime_endpoint = optarg;
			break;
		case OPT_RUNTIME_TIMEOUT:
			if (parse_duration_flag("runtime-request-timeout", optarg, &cfg->runtime_request_timeout_ns,
						err) < 0)
				return -1;
			break;
		case OPT_AGGREGATOR:
			cfg->aggregator = optarg;
			break;
		case OPT_AGGREGATOR_CA:
			cfg->aggregator_ca_file = optarg;
			break;
		case OPT_AGGREGATOR_CERT:
			cfg->aggregator_cert_file = optarg;
			break;
		case OPT_AGGREGATOR_KEY:
			cfg->aggregator_key_file = optarg;
			break;
		case OPT_BPF:
			if (parse_bool("bpf", optarg, &cfg->bpf, err) < 0)
				return -1;
			break;
		case OPT_MAX_CONNECTIONS:
			if (https_parse_max_connections(optarg, &cfg->max_connections, err) < 0)
				return -1;
			break;
		case OPT_HELP:
			cfg->show_help = true;
			break;
		case OPT_VERSION:
			cfg->show_version = true;
			break;
		default:
			return cadet_error_set(err, EINVAL, "unknown or incomplete flag %s (see --help)",
					       argv[optind - 1]);
		}
	}
	if (!cfg->tls_cert_file != !cfg->tls_private_key_file)
		return cadet_error_set(err, EINVAL, "--tls-cert-file and --tls-private-key-file go together");
	if (optind < argc)
		return cadet_error_set(err, EINVAL, "unexpected argument \"%s\" (see --help)", argv[optind]);
	if (cfg->window_ns < cfg->interval_ns) {
		char window[32], interval[32];
		duration_format(cfg->window_ns, window, sizeof(window));
		duration_format(cfg->interval_ns, interval, sizeof(interval));
		return cadet_error_set(err, EINVAL, "--window %s must not be shorter than --interval %s", window,
				       interval);
	}
	if (cfg->window_ns > CADET_PUSH_MAX_WINDOW_NS)
		return cadet_error_set(err, EINVAL, "--window is longer than 1h, the longest the aggregator accepts");
	if (cfg->window_ns / cfg->interval_ns > STORE_MAX_WINDOW_INTERVALS)
		return cadet_error_set(err, EINVAL, "--window is more than %d intervals", STORE_MAX_WINDOW_INTERVALS);
	return 0;
}
