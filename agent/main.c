/* main.c: cadet-agent's entry point. Parses flags, opens the collection,
 * and runs one libevent loop that drives both the collection timer and the
 * HTTP server: each tick collects into the store and renders the views once;
 * requests only copy rendered bytes. SIGTERM/SIGINT end the loop cleanly. */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "agent/collect-bpf.h"
#include "agent/cycle.h"
#include "agent/config.h"
#include "agent/collect-cri.h"
#include "agent/wire-http.h"
#include "agent/wire-push.h"
#include "agent/store.h"
#include "agent/views.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/sd-integration.h"
#include "common/timefmt.h"

struct agent {
	struct agent_config cfg;
	struct event_base *base;
	struct collection *collection;
	struct cri_metadata *cri; /* NULL with --container-runtime-endpoint "" */
	struct store store;
	struct agent_bpf *bpf; /* NULL with --bpf=false or when BPF cannot load */
	struct agent_views views;
	struct agent_http *http;
	struct agent_push *push; /* NULL without --aggregator */
	struct event *tick;
	struct event *sigterm, *sigint;
	struct sd_integration *sd;
	char sd_listen[80]; /* the socket systemd passed, "host:port" */
	uint64_t last_cycle_monotonic_ns;
	bool cycle_error_logged;
};

/* Each tracked cgroup keeps up to ten files open: allow as many as the hard
 * limit does. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open file limit: %s", strerror(errno));
	}
}

static void run_cycle(struct agent *a)
{
	struct cadet_error err;
	bool scrape_error = false;
	if (collection_run_cycle(a->collection, &a->store, &err) < 0) {
		scrape_error = true;
		if (!a->cycle_error_logged) {
			log_error("collection failed: %s", err.msg);
			sd_integration_status("collection failing: %s", err.msg);
		}
		a->cycle_error_logged = true;
	} else {
		if (a->cycle_error_logged) {
			log_info("collection recovered");
			sd_integration_status("collecting; serving on %s", a->cfg.listen);
		}
		a->cycle_error_logged = false;
		a->last_cycle_monotonic_ns = clock_monotonic_ns();
	}
	/* names from the runtime's last answer; never waits for the runtime */
	if (a->cri && cri_metadata_apply(a->cri, &a->store, &err) < 0)
		log_error("joining runtime metadata: %s", err.msg);
	if (agent_views_render(&a->views, &a->store, a->cfg.node_name, scrape_error, &err) < 0)
		log_error("rendering views: %s", err.msg);
	if (a->push && agent_push_cycle(a->push, &a->store, a->cfg.node_name, &err) < 0)
		log_error("push report: %s", err.msg);
}

/* The watchdog's progress: the last collection cycle that succeeded. */
static uint64_t last_cycle_completed(void *arg)
{
	return ((const struct agent *)arg)->last_cycle_monotonic_ns;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run_cycle(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct agent *a = arg;
	log_info("received %s, shutting down", strsignal((int)sig));
	event_base_loopexit(a->base, NULL);
}

/* SIGHUP: certificates, keys and the token are read again; live
 * connections keep what they started with. */
static void on_reload(void *arg)
{
	struct agent *a = arg;
	struct cadet_error err;
	if (agent_http_reload(a->http, &err) < 0)
		log_error("reload failed, keeping the old certificates: %s", err.msg);
	else
		log_info("reloaded certificates and token");
}

static const char *node_fs_path(void)
{
	struct stat st;
	return stat("/var/lib/kubelet", &st) == 0 ? "/var/lib/kubelet" : "/";
}

static void setup_logging(const struct agent_config *cfg)
{
	log_set_ident("cadet-agent");
	log_set_level(cfg->log_level);
	bool journal = strcmp(cfg->log_format, "journal") == 0 ||
		       (strcmp(cfg->log_format, "auto") == 0 && sd_integration_stderr_is_journal());
	log_set_sink(journal ? LOG_SINK_JOURNAL : LOG_SINK_STDERR);
}

static int agent_start(struct agent *a, struct cadet_error *err)
{
	a->base = event_base_new();
	if (!a->base)
		return cadet_error_set(err, ENOMEM, "event_base_new");
	struct collect_options copts = {
		.cgroup_root = a->cfg.cgroup_root,
		.proc_root = "/proc",
		.fs_path = node_fs_path(),
		.rescan_interval_ns = 10 * NSEC_PER_SEC,
		.full_read_interval_ns = 10 * NSEC_PER_SEC,
		.bpf_usage = a->cfg.bpf,
	};
	if (collection_open(&copts, &a->collection, err) < 0)
		return -1;
	if (store_init(&a->store, a->cfg.window_ns, a->cfg.interval_ns, err) < 0)
		return -1;
	if (a->cfg.bpf) {
		struct agent_bpf_options bopts = {
			.cpu_from_cgroup2 = collection_cpu_from_cgroup2(a->collection),
		};
		struct cadet_error bpf_err;
		if (agent_bpf_start(a->base, a->collection, &a->store, &bopts, &a->bpf, &bpf_err) < 0)
			log_warn("BPF off, polling and inotify only: %s", bpf_err.msg);
		else
			log_info("BPF on: cgroup mkdir/rmdir and OOM kill events");
	} else {
		log_info("BPF off (--bpf=false): polling and inotify only");
	}
	if (a->cfg.container_runtime_endpoint[0]) {
		struct cri_metadata_options cri_opts = {
			.endpoint = a->cfg.container_runtime_endpoint,
			.timeout_ns = a->cfg.runtime_request_timeout_ns,
			.rate_window_ns = a->cfg.window_ns,
			.proc_root = "/proc",
		};
		if (cri_metadata_start(&cri_opts, &a->cri, err) < 0)
			return -1;
	}
	agent_views_init(&a->views);
	if (a->cfg.aggregator) {
		/* one report per rate window (back-to-back windows, as metrics-server
		 * sees them), and one as soon as a pod comes or goes */
		struct agent_push_options popts = {
			.target = a->cfg.aggregator,
			.ca_file = a->cfg.aggregator_ca_file,
			.cert_file = a->cfg.aggregator_cert_file,
			.key_file = a->cfg.aggregator_key_file,
			.period_ns = a->cfg.window_ns,
			.interval_ns = a->cfg.interval_ns,
		};
		if (agent_push_start(&popts, &a->push, err) < 0)
			return -1;
	}

	struct agent_http_options hopts = {
		.listen = a->cfg.listen,
		.listen_fd = -1,
		.debug_listen = a->cfg.debug_listen,
		.debug_listen_any = a->cfg.debug_listen_any,
		.tls_cert_file = a->cfg.tls_cert_file,
		.tls_private_key_file = a->cfg.tls_private_key_file,
		.client_ca_file = a->cfg.client_ca_file,
		.token_file = a->cfg.token_file,
		.max_connections = a->cfg.max_connections,
		.interval_ns = a->cfg.interval_ns,
		.version = CADET_VERSION,
		.layout = collection_layout_name(a->collection),
	};
	struct agent_http_sources src = {
		.views = &a->views,
		.collection = a->collection,
		.last_cycle_monotonic_ns = &a->last_cycle_monotonic_ns,
		.cri = a->cri,
		.bpf = a->bpf,
	};
	if (sd_integration_listen_fd(&hopts.listen_fd, a->sd_listen, sizeof(a->sd_listen), err) < 0)
		return -1;
	if (hopts.listen_fd >= 0)
		a->cfg.listen = a->sd_listen;
	if (agent_http_start(a->base, &hopts, &src, &a->http, err) < 0)
		return -1;

	/* first sample now, so the endpoints answer at once */
	run_cycle(a);

	struct timeval tv = {
		.tv_sec = (time_t)(a->cfg.interval_ns / NSEC_PER_SEC),
		.tv_usec = (suseconds_t)((a->cfg.interval_ns % NSEC_PER_SEC) / NSEC_PER_USEC),
	};
	a->tick = event_new(a->base, -1, EV_PERSIST, on_tick, a);
	a->sigterm = evsignal_new(a->base, SIGTERM, on_signal, a);
	a->sigint = evsignal_new(a->base, SIGINT, on_signal, a);
	if (!a->tick || !a->sigterm || !a->sigint || event_add(a->tick, &tv) < 0 ||
	    event_add(a->sigterm, NULL) < 0 || event_add(a->sigint, NULL) < 0)
		return cadet_error_set(err, ENOMEM, "event setup");
	/* three missed cycles withhold the pings (/healthz's bound, less the
	 * start-up slack: WatchdogSec is systemd's) */
	struct sd_integration_options sd_opts = {
		.reload = on_reload,
		.reload_ctx = a,
		.work_name = "collection cycle",
		.progress = last_cycle_completed,
		.progress_ctx = a,
		.progress_bound_ns = 3 * a->cfg.interval_ns,
	};
	return sd_integration_start(a->base, &sd_opts, &a->sd, err);
}

static void agent_stop(struct agent *a)
{
	agent_push_stop(a->push);
	sd_integration_free(a->sd);
	if (a->tick)
		event_free(a->tick);
	if (a->sigterm)
		event_free(a->sigterm);
	if (a->sigint)
		event_free(a->sigint);
	agent_http_free(a->http);
	agent_views_free(&a->views);
	cri_metadata_stop(a->cri);
	agent_bpf_free(a->bpf);
	store_free(&a->store);
	collection_free(a->collection);
	if (a->base)
		event_base_free(a->base);
	libevent_global_shutdown();
}

int main(int argc, char **argv)
{
	static struct agent a;
	struct cadet_error err;
	signal(SIGPIPE, SIG_IGN);
	if (agent_config_parse(&a.cfg, argc, argv, &err) < 0) {
		fprintf(stderr, "cadet-agent: %s\n", err.msg);
		return 2;
	}
	if (a.cfg.show_help) {
		agent_config_usage(stdout, "cadet-agent");
		return 0;
	}
	if (a.cfg.show_version) {
		printf("cadet-agent %s\n", CADET_VERSION);
		return 0;
	}
	setup_logging(&a.cfg);
	raise_fd_limit();

	int rc = 0;
	if (agent_start(&a, &err) < 0) {
		log_error("%s", err.msg);
		rc = 1;
	} else {
		char interval[32], window[32];
		duration_format(a.cfg.interval_ns, interval, sizeof(interval));
		duration_format(a.cfg.window_ns, window, sizeof(window));
		log_info("cadet-agent %s on node %s: cgroup %s layout at %s, interval %s, window %s, "
			 "HTTPS on %s, plain HTTP on %s",
			 CADET_VERSION, a.cfg.node_name, collection_layout_name(a.collection), a.cfg.cgroup_root,
			 interval, window, *a.cfg.listen ? a.cfg.listen : "(off)",
			 *a.cfg.debug_listen ? a.cfg.debug_listen : "(off)");
		sd_integration_ready("collecting every %s; serving on %s", interval, a.cfg.listen);
		if (event_base_dispatch(a.base) < 0) {
			log_error("event loop failed");
			rc = 1;
		}
		sd_integration_stopping();
	}
	agent_stop(&a);
	return rc;
}
