/* main.c: cadet-aggregator. Parses flags, then runs two things side by side:
 * the gRPC push server on its own thread (agents' streams -> store) and, on
 * this thread, a libevent loop with the HTTPS metrics.k8s.io API (store ->
 * JSON), a timer that drops stale nodes every resolution (its completions
 * are what the systemd watchdog follows), and SIGINT/SIGTERM handling. Only
 * this function logs errors; everything below returns them. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <grpc/grpc.h>

#include "api.h"
#include "common/cleanup.h"
#include "common/duration.h"
#include "common/https-server.h"
#include "common/log.h"
#include "common/sd-integration.h"
#include "common/timefmt.h"
#include "push-server.h"
#include "store.h"

#define STALE_FACTOR 3

struct options {
	const char *listen;
	const char *tls_cert_file;
	const char *tls_key_file;
	const char *client_ca_file;
	const char *requestheader_client_ca_file;
	const char *grpc_listen;
	const char *grpc_cert_file;
	const char *grpc_key_file;
	const char *grpc_client_ca_file;
	uint64_t metric_resolution_ns;
	unsigned max_connections;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: cadet-aggregator [OPTIONS]\n"
		"Receives cadet-agent push streams and serves metrics.k8s.io/v1beta1.\n\n"
		"  --listen ADDR                       HTTPS API address (default 0.0.0.0:4443)\n"
		"  --tls-cert-file FILE                serving certificate (PEM chain); default: self-signed\n"
		"  --tls-private-key-file FILE         its key\n"
		"  --client-ca-file FILE               require client certificates signed by this CA\n"
		"  --requestheader-client-ca-file FILE CA of kube-apiserver's front-proxy client certificate\n"
		"  --max-connections N                 open API connections; at the limit new clients\n"
		"                                      wait (default %u)\n"
		"  --grpc-listen ADDR                  push stream address (default 0.0.0.0:4445)\n"
		"  --grpc-tls-cert-file FILE           gRPC serving certificate; default: plaintext\n"
		"  --grpc-tls-private-key-file FILE    its key\n"
		"  --grpc-client-ca-file FILE          require agent certificates signed by this CA\n"
		"  --metric-resolution DURATION        expected push interval (default 15s; agents push\n"
		"                                      once per their --window: keep the two equal);\n"
		"                                      nodes silent for 3x this are dropped\n"
		"  --log-level LEVEL                   debug, info, warning, error (default info)\n"
		"  --version, --help\n",
		HTTPS_DEFAULT_MAX_CONNECTIONS);
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	enum {
		OPT_LISTEN = 256, OPT_TLS_CERT, OPT_TLS_KEY, OPT_CLIENT_CA, OPT_RH_CA, OPT_GRPC_LISTEN,
		OPT_GRPC_CERT, OPT_GRPC_KEY, OPT_GRPC_CA, OPT_RESOLUTION, OPT_LOG_LEVEL, OPT_MAX_CONNECTIONS, OPT_VERSION,
		OPT_HELP,
	};
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "tls-cert-file", required_argument, NULL, OPT_TLS_CERT },
		{ "tls-private-key-file", required_argument, NULL, OPT_TLS_KEY },
		{ "client-ca-file", required_argument, NULL, OPT_CLIENT_CA },
		{ "requestheader-client-ca-file", required_argument, NULL, OPT_RH_CA },
		{ "grpc-listen", required_argument, NULL, OPT_GRPC_LISTEN },
		{ "grpc-tls-cert-file", required_argument, NULL, OPT_GRPC_CERT },
		{ "grpc-tls-private-key-file", required_argument, NULL, OPT_GRPC_KEY },
		{ "grpc-client-ca-file", required_argument, NULL, OPT_GRPC_CA },
		{ "metric-resolution", required_argument, NULL, OPT_RESOLUTION },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ 0 },
	};
	*opt = (struct options){
		.listen = "0.0.0.0:4443",
		.grpc_listen = "0.0.0.0:4445",
		.metric_resolution_ns = 15 * NSEC_PER_SEC,
		.max_connections = HTTPS_DEFAULT_MAX_CONNECTIONS,
	};
	struct cadet_error err = { 0 };
	int c, level;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN: opt->listen = optarg; break;
		case OPT_TLS_CERT: opt->tls_cert_file = optarg; break;
		case OPT_TLS_KEY: opt->tls_key_file = optarg; break;
		case OPT_CLIENT_CA: opt->client_ca_file = optarg; break;
		case OPT_RH_CA: opt->requestheader_client_ca_file = optarg; break;
		case OPT_GRPC_LISTEN: opt->grpc_listen = optarg; break;
		case OPT_GRPC_CERT: opt->grpc_cert_file = optarg; break;
		case OPT_GRPC_KEY: opt->grpc_key_file = optarg; break;
		case OPT_GRPC_CA: opt->grpc_client_ca_file = optarg; break;
		case OPT_RESOLUTION:
			if (duration_parse(optarg, &opt->metric_resolution_ns, &err) < 0 ||
			    opt->metric_resolution_ns < NSEC_PER_MSEC * 100) {
				log_error("--metric-resolution %s: %s", optarg,
					  err.msg[0] ? err.msg : "must be at least 100ms");
				return -1;
			}
			break;
		case OPT_MAX_CONNECTIONS:
			if (https_parse_max_connections(optarg, &opt->max_connections, &err) < 0) {
				log_error("%s", err.msg);
				return -1;
			}
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &level) < 0) {
				log_error("unknown --log-level %s", optarg);
				return -1;
			}
			log_set_level(level);
			break;
		case OPT_VERSION:
			printf("cadet-aggregator %s\n", CADET_VERSION);
			exit(0);
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument %s", argv[optind]);
		return -1;
	}
	return 0;
}

struct loop_ctx {
	struct event_base *base;
	struct agg_store *store;
	struct agg_stats *stats;
	uint64_t last_sweep_mono_ns; /* when on_sweep last completed */
};

static void on_signal(evutil_socket_t sig, short events, void *arg)
{
	(void)events;
	struct loop_ctx *ctx = arg;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(ctx->base);
}

static void on_sweep(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	struct loop_ctx *ctx = arg;
	size_t dropped = agg_store_expire(ctx->store, clock_monotonic_ns());
	agg_stats_add(&ctx->stats->nodes_expired, dropped);
	if (dropped > 0)
		log_info("dropped %zu stale node(s); %zu live", dropped, agg_store_node_count(ctx->store));
	ctx->last_sweep_mono_ns = clock_monotonic_ns();
}

/* The watchdog's progress: the sweep takes the store's lock, which the push
 * thread and the API share, so a completed sweep shows the loop runs and the
 * store is not wedged. Pushes cannot be the signal: an aggregator with no
 * agents receives none and is healthy. */
static uint64_t last_sweep_completed(void *arg)
{
	return ((const struct loop_ctx *)arg)->last_sweep_mono_ns;
}

static void agg_store_freep(struct agg_store **p)
{
	agg_store_free(*p);
}

static void event_base_freep(struct event_base **p)
{
	if (*p)
		event_base_free(*p);
}

static void event_freep(struct event **p)
{
	if (*p)
		event_free(*p);
}

static void https_server_freep(struct https_server **p)
{
	https_server_free(*p);
}

static void push_server_stopp(struct push_server **p)
{
	push_server_stop(*p);
}

static void grpc_shutdownp(bool *initialised)
{
	if (*initialised)
		grpc_shutdown();
}

static int run(const struct options *opt)
{
	struct cadet_error err = { 0 };
	uint64_t res = opt->metric_resolution_ns;
	/* Released in reverse order: events, gRPC server, HTTPS server, gRPC
	 * library, event base, store. */
	_cleanup_(agg_store_freep) struct agg_store *store = NULL;
	_cleanup_(event_base_freep) struct event_base *base = NULL;
	_cleanup_(grpc_shutdownp) bool grpc_initialised = false;
	_cleanup_(https_server_freep) struct https_server *https = NULL;
	_cleanup_(push_server_stopp) struct push_server *push = NULL;
	_cleanup_(event_freep) struct event *sig_int = NULL;
	_cleanup_(event_freep) struct event *sig_term = NULL;
	_cleanup_(event_freep) struct event *sweep = NULL;
	_cleanup_(sd_integration_freep) struct sd_integration *sd = NULL;

	if (agg_store_new(STALE_FACTOR * res, &store, &err) < 0) {
		log_error("%s", err.msg);
		return 1;
	}
	base = event_base_new();
	if (!base) {
		log_error("event_base_new failed");
		return 1;
	}
	const char *client_cas[3] = { NULL, NULL, NULL };
	size_t n_cas = 0;
	if (opt->client_ca_file)
		client_cas[n_cas++] = opt->client_ca_file;
	if (opt->requestheader_client_ca_file)
		client_cas[n_cas++] = opt->requestheader_client_ca_file;
	static struct agg_stats stats; /* outlives the gRPC thread */
	struct api api = {
		.store = store,
		.stats = &stats,
		.auth_required = n_cas > 0,
		.start_mono_ns = clock_monotonic_ns(),
		.ready_grace_ns = 2 * res,
	};
	struct https_server_config hcfg = {
		.listen = opt->listen,
		.cert_file = opt->tls_cert_file,
		.key_file = opt->tls_key_file,
		.client_ca_files = client_cas,
		.max_connections = opt->max_connections,
	};
	struct loop_ctx ctx = { .base = base, .store = store, .stats = &stats };

	grpc_init();
	grpc_initialised = true;
	if (https_server_new(base, &hcfg, api_handle, &api, &https, &err) < 0) {
		log_error("HTTPS API: %s", err.msg);
		return 1;
	}
	api.server = https;
	if (https_server_self_signed(https))
		log_info("no --tls-cert-file: serving a self-signed certificate generated at start");
	if (n_cas == 0)
		log_warn("no --client-ca-file or --requestheader-client-ca-file: the API is open to any client");
	else
		log_info("API clients must present a certificate signed by %s%s%s",
			 opt->client_ca_file ? opt->client_ca_file : "",
			 n_cas == 2 ? " or " : "",
			 opt->requestheader_client_ca_file ? opt->requestheader_client_ca_file : "");

	struct push_server_config pcfg = {
		.listen = opt->grpc_listen,
		.cert_file = opt->grpc_cert_file,
		.key_file = opt->grpc_key_file,
		.client_ca_file = opt->grpc_client_ca_file,
		.stats = &stats,
	};
	if (push_server_start(&pcfg, store, &push, &err) < 0) {
		log_error("gRPC push server: %s", err.msg);
		return 1;
	}
	if (!opt->grpc_cert_file)
		log_warn("no --grpc-tls-cert-file: push streams are plaintext");

	sig_int = evsignal_new(base, SIGINT, on_signal, &ctx);
	sig_term = evsignal_new(base, SIGTERM, on_signal, &ctx);
	sweep = event_new(base, -1, EV_PERSIST, on_sweep, &ctx);
	struct timeval tv = {
		.tv_sec = (time_t)(res / NSEC_PER_SEC),
		.tv_usec = (suseconds_t)(res % NSEC_PER_SEC / 1000),
	};
	if (!sig_int || !sig_term || !sweep || evsignal_add(sig_int, NULL) < 0 ||
	    evsignal_add(sig_term, NULL) < 0 || event_add(sweep, &tv) < 0) {
		log_error("setting up signal and timer events failed");
		return 1;
	}
	/* a sweep runs every resolution: three missed withhold the pings */
	struct sd_integration_options sd_opts = {
		.work_name = "store sweep",
		.progress = last_sweep_completed,
		.progress_ctx = &ctx,
		.progress_bound_ns = 3 * res,
	};
	if (sd_integration_start(base, &sd_opts, &sd, &err) < 0) {
		log_error("systemd integration: %s", err.msg);
		return 1;
	}
	char window[64];
	duration_format(res, window, sizeof(window));
	log_info("cadet-aggregator %s: metrics.k8s.io on https port %u (%s), pushes on gRPC port %d (%s), "
		 "resolution %s", CADET_VERSION, (unsigned)https_server_port(https), opt->listen,
		 push_server_port(push), opt->grpc_listen, window);
	sd_integration_ready("serving metrics.k8s.io on port %u, pushes on port %d",
			     (unsigned)https_server_port(https), push_server_port(push));
	if (event_base_dispatch(base) < 0) {
		log_error("event loop failed");
		return 1;
	}
	sd_integration_stopping();
	return 0;
}

int main(int argc, char **argv)
{
	log_set_ident("cadet-aggregator");
	if (sd_integration_stderr_is_journal())
		log_set_sink(LOG_SINK_JOURNAL);
	signal(SIGPIPE, SIG_IGN);
	struct options opt;
	if (parse_options(argc, argv, &opt) < 0)
		return 2;
	return run(&opt);
}
