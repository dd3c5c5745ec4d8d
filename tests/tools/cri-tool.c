/* cri-tool.c: a small CRI command-line client for cadet's integration tests
 * and benchmark. It drives a real runtime (containerd) through the same
 * agent/collect-cri-client.c the agent uses: create and remove pods and containers,
 * and print what the runtime reports, one `key=value` record per line so
 * shell scripts can pick fields with grep and sed.
 *
 *   cri-tool -r unix:///path/containerd.sock COMMAND ARGS
 *
 * Commands:
 *   version
 *   runp --name N --namespace NS --uid U [--label k=v]... [--cgroup-parent P] [--host-network]
 *        [--log-directory DIR]
 *        prints the sandbox id
 *   create SANDBOX_ID --name N --image IMG [--label k=v]... --pod-name N --pod-namespace NS
 *          --pod-uid U [--cgroup-parent P] [--host-network] [--log-directory DIR]
 *          [--log-path RELPATH] -- CMD ARGS...
 *        prints the container id
 *   start ID | stop ID | rm ID | stopp ID | rmp ID
 *   pods | ps | stats | podstats | imagefs
 *   cpu ID          usage_core_nano_seconds of one container
 *   time-stats N    times N ListContainerStats calls (after one untimed call
 *                   that connects), prints mean_ns */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect-cri-client.h"
#include "common/error.h"
#include "common/timefmt.h"

#define MAX_LABELS 16

struct pod_args {
	const char *name, *namespace, *uid, *cgroup_parent, *log_directory;
	bool host_network;
	Runtime__V1__PodSandboxConfig__LabelsEntry label_entries[MAX_LABELS];
	Runtime__V1__PodSandboxConfig__LabelsEntry *labels[MAX_LABELS];
	size_t n_labels;
	/* storage for the config built from the above */
	Runtime__V1__PodSandboxMetadata metadata;
	Runtime__V1__NamespaceOption ns_options;
	Runtime__V1__LinuxSandboxSecurityContext security;
	Runtime__V1__LinuxPodSandboxConfig linux_config;
	Runtime__V1__PodSandboxConfig config;
};

static int split_label(char *arg, char **key, char **value)
{
	char *eq = strchr(arg, '=');
	if (!eq)
		return -1;
	*eq = '\0';
	*key = arg;
	*value = eq + 1;
	return 0;
}

static void build_pod_config(struct pod_args *p)
{
	runtime__v1__pod_sandbox_metadata__init(&p->metadata);
	p->metadata.name = (char *)p->name;
	p->metadata.namespace_ = (char *)p->namespace;
	p->metadata.uid = (char *)p->uid;
	runtime__v1__namespace_option__init(&p->ns_options);
	p->ns_options.network = p->host_network ? RUNTIME__V1__NAMESPACE_MODE__NODE : RUNTIME__V1__NAMESPACE_MODE__POD;
	runtime__v1__linux_sandbox_security_context__init(&p->security);
	p->security.namespace_options = &p->ns_options;
	runtime__v1__linux_pod_sandbox_config__init(&p->linux_config);
	p->linux_config.cgroup_parent = (char *)(p->cgroup_parent ? p->cgroup_parent : "");
	p->linux_config.security_context = &p->security;
	runtime__v1__pod_sandbox_config__init(&p->config);
	p->config.metadata = &p->metadata;
	p->config.hostname = p->host_network ? "" : (char *)p->name;
	p->config.log_directory = (char *)(p->log_directory ? p->log_directory : "");
	p->config.n_labels = p->n_labels;
	p->config.labels = p->labels;
	p->config.linux = &p->linux_config;
}

static int add_pod_label(struct pod_args *p, char *arg)
{
	if (p->n_labels == MAX_LABELS)
		return -1;
	Runtime__V1__PodSandboxConfig__LabelsEntry *e = &p->label_entries[p->n_labels];
	runtime__v1__pod_sandbox_config__labels_entry__init(e);
	if (split_label(arg, &e->key, &e->value) < 0)
		return -1;
	p->labels[p->n_labels++] = e;
	return 0;
}

static int fail(const struct cadet_error *err)
{
	fprintf(stderr, "cri-tool: %s\n", err->msg);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: cri-tool -r ENDPOINT COMMAND ARGS (see tests/tools/cri-tool.c)\n");
	return 2;
}

static int cmd_runp(struct cri_client *c, int argc, char **argv)
{
	struct pod_args p = { 0 };
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },  { "namespace", required_argument, NULL, 's' },
		{ "uid", required_argument, NULL, 'u' },   { "label", required_argument, NULL, 'l' },
		{ "cgroup-parent", required_argument, NULL, 'c' }, { "host-network", no_argument, NULL, 'H' },
		{ "log-directory", required_argument, NULL, 'L' },
		{ 0 },
	};
	optind = 1;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'n': p.name = optarg; break;
		case 's': p.namespace = optarg; break;
		case 'u': p.uid = optarg; break;
		case 'c': p.cgroup_parent = optarg; break;
		case 'H': p.host_network = true; break;
		case 'L': p.log_directory = optarg; break;
		case 'l':
			if (add_pod_label(&p, optarg) < 0)
				return usage();
			break;
		default: return usage();
		}
	}
	if (!p.name || !p.namespace || !p.uid)
		return usage();
	build_pod_config(&p);
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = &p.config;
	Runtime__V1__RunPodSandboxResponse *resp = NULL;
	struct cadet_error err = { 0 };
	if (cri_client_call(c, "/runtime.v1.RuntimeService/RunPodSandbox", &req.base,
			    &runtime__v1__run_pod_sandbox_response__descriptor, (ProtobufCMessage **)&resp, &err) < 0)
		return fail(&err);
	printf("%s\n", resp->pod_sandbox_id);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

static int cmd_create(struct cri_client *c, int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *sandbox_id = argv[1];
	struct pod_args p = { 0 };
	const char *name = NULL, *image = NULL, *log_path = NULL;
	Runtime__V1__ContainerConfig__LabelsEntry label_entries[MAX_LABELS];
	Runtime__V1__ContainerConfig__LabelsEntry *labels[MAX_LABELS];
	size_t n_labels = 0;
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },	   { "image", required_argument, NULL, 'i' },
		{ "label", required_argument, NULL, 'l' },	   { "pod-name", required_argument, NULL, 'N' },
		{ "pod-namespace", required_argument, NULL, 'S' }, { "pod-uid", required_argument, NULL, 'U' },
		{ "cgroup-parent", required_argument, NULL, 'c' }, { "host-network", no_argument, NULL, 'H' },
		{ "log-directory", required_argument, NULL, 'L' }, { "log-path", required_argument, NULL, 'P' },
		{ 0 },
	};
	optind = 2;
	int o;
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (o) {
		case 'n': name = optarg; break;
		case 'i': image = optarg; break;
		case 'N': p.name = optarg; break;
		case 'S': p.namespace = optarg; break;
		case 'U': p.uid = optarg; break;
		case 'c': p.cgroup_parent = optarg; break;
		case 'H': p.host_network = true; break;
		case 'L': p.log_directory = optarg; break;
		case 'P': log_path = optarg; break;
		case 'l':
			if (n_labels == MAX_LABELS)
				return usage();
			runtime__v1__container_config__labels_entry__init(&label_entries[n_labels]);
			if (split_label(optarg, &label_entries[n_labels].key, &label_entries[n_labels].value) < 0)
				return usage();
			labels[n_labels] = &label_entries[n_labels];
			n_labels++;
			break;
		default: return usage();
		}
	}
	if (!name || !image || !p.name || !p.namespace || !p.uid || optind >= argc)
		return usage();
	build_pod_config(&p);

	Runtime__V1__ContainerMetadata meta = RUNTIME__V1__CONTAINER_METADATA__INIT;
	meta.name = (char *)name;
	Runtime__V1__ImageSpec image_spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	image_spec.image = (char *)image;
	Runtime__V1__ContainerConfig config = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	config.metadata = &meta;
	config.image = &image_spec;
	config.n_command = (size_t)(argc - optind);
	config.command = &argv[optind];
	config.n_labels = n_labels;
	config.labels = labels;
	config.log_path = (char *)(log_path ? log_path : "");
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.pod_sandbox_id = (char *)sandbox_id;
	req.config = &config;
	req.sandbox_config = &p.config;
	Runtime__V1__CreateContainerResponse *resp = NULL;
	struct cadet_error err = { 0 };
	if (cri_client_call(c, "/runtime.v1.RuntimeService/CreateContainer", &req.base,
			    &runtime__v1__create_container_response__descriptor, (ProtobufCMessage **)&resp, &err) < 0)
		return fail(&err);
	printf("%s\n", resp->container_id);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

/* start, stop, rm, stopp, rmp: one id, an empty reply. */
static int cmd_simple(struct cri_client *c, const char *verb, const char *id)
{
	ProtobufCMessage *resp = NULL;
	struct cadet_error err = { 0 };
	int rc;
	if (strcmp(verb, "start") == 0) {
		Runtime__V1__StartContainerRequest r = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
		r.container_id = (char *)id;
		rc = cri_client_call(c, "/runtime.v1.RuntimeService/StartContainer", &r.base,
				     &runtime__v1__start_container_response__descriptor, &resp, &err);
	} else if (strcmp(verb, "stop") == 0) {
		Runtime__V1__StopContainerRequest r = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
		r.container_id = (char *)id;
		r.timeout = 0;
		rc = cri_client_call(c, "/runtime.v1.RuntimeService/StopContainer", &r.base,
				     &runtime__v1__stop_container_response__descriptor, &resp, &err);
	} else if (strcmp(verb, "rm") == 0) {
		Runtime__V1__RemoveContainerRequest r = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
		r.container_id = (char *)id;
		rc = cri_client_call(c, "/runtime.v1.RuntimeService/RemoveContainer", &r.base,
				     &runtime__v1__remove_container_response__descriptor, &resp, &err);
	} else if (strcmp(verb, "stopp") == 0) {
		Runtime__V1__StopPodSandboxRequest r = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		r.pod_sandbox_id = (char *)id;
		rc = cri_client_call(c, "/runtime.v1.RuntimeService/StopPodSandbox", &r.base,
				     &runtime__v1__stop_pod_sandbox_response__descriptor, &resp, &err);
	} else if (strcmp(verb, "rmp") == 0) {
		Runtime__V1__RemovePodSandboxRequest r = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
		r.pod_sandbox_id = (char *)id;
		rc = cri_client_call(c, "/runtime.v1.RuntimeService/RemovePodSandbox", &r.base,
				     &runtime__v1__remove_pod_sandbox_response__descriptor, &resp, &err);
	} else {
		return usage();
	}
	if (rc < 0)
		return fail(&err);
	protobuf_c_message_free_unpacked(resp, NULL);
	return 0;
}

static uint64_t u64(const Runtime__V1__UInt64Value *v)
{
	return v ? v->value : 0;
}

static int cmd_list(struct cri_client *c, const char *what)
{
	struct cadet_error err = { 0 };
	if (strcmp(what, "version") == 0) {
		Runtime__V1__VersionResponse *r = NULL;
		if (cri_version(c, &r, &err) < 0)
			return fail(&err);
		printf("runtime_name=%s runtime_version=%s runtime_api_version=%s\n", r->runtime_name,
		       r->runtime_version, r->runtime_api_version);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	} else if (strcmp(what, "pods") == 0) {
		Runtime__V1__ListPodSandboxResponse *r = NULL;
		if (cri_list_pod_sandbox(c, &r, &err) < 0)
			return fail(&err);
		for (size_t i = 0; i < r->n_items; i++) {
			Runtime__V1__PodSandbox *p = r->items[i];
			printf("id=%s name=%s namespace=%s uid=%s state=%d created_at=%" PRId64 "\n", p->id,
			       p->metadata ? p->metadata->name : "", p->metadata ? p->metadata->namespace_ : "",
			       p->metadata ? p->metadata->uid : "", (int)p->state, p->created_at);
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
	} else if (strcmp(what, "ps") == 0) {
		Runtime__V1__ListContainersResponse *r = NULL;
		if (cri_list_containers(c, &r, &err) < 0)
			return fail(&err);
		for (size_t i = 0; i < r->n_containers; i++) {
			Runtime__V1__Container *k = r->containers[i];
			printf("id=%s pod=%s name=%s state=%d created_at=%" PRId64 "\n", k->id, k->pod_sandbox_id,
			       k->metadata ? k->metadata->name : "", (int)k->state, k->created_at);
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
	} else if (strcmp(what, "stats") == 0) {
		Runtime__V1__ListContainerStatsResponse *r = NULL;
		if (cri_list_container_stats(c, &r, &err) < 0)
			return fail(&err);
		for (size_t i = 0; i < r->n_stats; i++) {
			Runtime__V1__ContainerStats *s = r->stats[i];
			printf("id=%s name=%s cpu_ns=%" PRIu64 " working_set_bytes=%" PRIu64
			       " writable_used_bytes=%" PRIu64 "\n",
			       s->attributes ? s->attributes->id : "",
			       s->attributes && s->attributes->metadata ? s->attributes->metadata->name : "",
			       s->cpu ? u64(s->cpu->usage_core_nano_seconds) : 0,
			       s->memory ? u64(s->memory->working_set_bytes) : 0,
			       s->writable_layer ? u64(s->writable_layer->used_bytes) : 0);
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
	} else if (strcmp(what, "podstats") == 0) {
		Runtime__V1__ListPodSandboxStatsResponse *r = NULL;
		if (cri_list_pod_sandbox_stats(c, &r, &err) < 0)
			return fail(&err);
		for (size_t i = 0; i < r->n_stats; i++) {
			Runtime__V1__PodSandboxStats *s = r->stats[i];
			Runtime__V1__LinuxPodSandboxStats *l = s->linux;
			Runtime__V1__NetworkInterfaceUsage *net =
				l && l->network ? l->network->default_interface : NULL;
			printf("id=%s cpu_ns=%" PRIu64 " net_if=%s rx_bytes=%" PRIu64 " tx_bytes=%" PRIu64 "\n",
			       s->attributes ? s->attributes->id : "", l && l->cpu ? u64(l->cpu->usage_core_nano_seconds) : 0,
			       net ? net->name : "", net ? u64(net->rx_bytes) : 0, net ? u64(net->tx_bytes) : 0);
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
	} else if (strcmp(what, "imagefs") == 0) {
		Runtime__V1__ImageFsInfoResponse *r = NULL;
		if (cri_image_fs_info(c, &r, &err) < 0)
			return fail(&err);
		for (size_t i = 0; i < r->n_image_filesystems; i++) {
			Runtime__V1__FilesystemUsage *f = r->image_filesystems[i];
			printf("mountpoint=%s used_bytes=%" PRIu64 " inodes_used=%" PRIu64 "\n",
			       f->fs_id ? f->fs_id->mountpoint : "", u64(f->used_bytes), u64(f->inodes_used));
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
	} else {
		return usage();
	}
	return 0;
}

static int cmd_cpu(struct cri_client *c, const char *id)
{
	Runtime__V1__ListContainerStatsResponse *r = NULL;
	struct cadet_error err = { 0 };
	if (cri_list_container_stats(c, &r, &err) < 0)
		return fail(&err);
	int rc = 1;
	for (size_t i = 0; i < r->n_stats; i++) {
		Runtime__V1__ContainerStats *s = r->stats[i];
		if (s->attributes && strcmp(s->attributes->id, id) == 0 && s->cpu) {
			printf("%" PRIu64 "\n", u64(s->cpu->usage_core_nano_seconds));
			rc = 0;
		}
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	if (rc != 0)
		fprintf(stderr, "cri-tool: no CPU stats for container %s\n", id);
	return rc;
}

static int cmd_time_stats(struct cri_client *c, const char *count_text)
{
	char *end;
	errno = 0;
	unsigned long count = strtoul(count_text, &end, 10);
	if (errno || *end || count == 0 || count > 100000)
		return usage();
	struct cadet_error err = { 0 };
	uint64_t total_ns = 0;
	size_t n_containers = 0;
	/* one untimed call first: connecting is not part of the cost */
	Runtime__V1__ListContainerStatsResponse *warm = NULL;
	if (cri_list_container_stats(c, &warm, &err) < 0)
		return fail(&err);
	protobuf_c_message_free_unpacked(&warm->base, NULL);
	for (unsigned long i = 0; i < count; i++) {
		Runtime__V1__ListContainerStatsResponse *r = NULL;
		uint64_t start = clock_monotonic_ns();
		if (cri_list_container_stats(c, &r, &err) < 0)
			return fail(&err);
		total_ns += clock_monotonic_ns() - start;
		n_containers = r->n_stats;
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	printf("calls=%lu containers=%zu mean_ns=%" PRIu64 "\n", count, n_containers, total_ns / count);
	return 0;
}

int main(int argc, char **argv)
{
	const char *endpoint = CRI_DEFAULT_ENDPOINT;
	if (argc >= 3 && strcmp(argv[1], "-r") == 0) {
		endpoint = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		return usage();
	struct cri_client *c = NULL;
	struct cadet_error err = { 0 };
	if (cri_client_open(endpoint, 10ULL * 1000000000ULL, &c, &err) < 0)
		return fail(&err);
	const char *cmd = argv[1];
	int rc;
	if (strcmp(cmd, "runp") == 0)
		rc = cmd_runp(c, argc - 1, argv + 1);
	else if (strcmp(cmd, "create") == 0)
		rc = cmd_create(c, argc - 1, argv + 1);
	else if (argc == 3 && (strcmp(cmd, "start") == 0 || strcmp(cmd, "stop") == 0 || strcmp(cmd, "rm") == 0 ||
			       strcmp(cmd, "stopp") == 0 || strcmp(cmd, "rmp") == 0))
		rc = cmd_simple(c, cmd, argv[2]);
	else if (argc == 3 && strcmp(cmd, "cpu") == 0)
		rc = cmd_cpu(c, argv[2]);
	else if (argc == 3 && strcmp(cmd, "time-stats") == 0)
		rc = cmd_time_stats(c, argv[2]);
	else if (argc == 2)
		rc = cmd_list(c, cmd);
	else
		rc = usage();
	cri_client_free(c);
	return rc;
}
