/* collect-cgroup-path.h: what a cgroup path says about Kubernetes.
 *
 * kubelet names pod and container cgroups after the pod uid and the
 * container id, in one of two styles set by its cgroup driver:
 *   cgroupfs: kubepods[/burstable|/besteffort]/pod<uid>/<container-id>
 *   systemd:  kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid
 *             with '-' as '_'>.slice/<runtime>-<container-id>.scope
 * with runtime prefixes cri-containerd, crio and docker. The classifier
 * turns a path relative to the hierarchy root into kind, QoS class, pod uid
 * and container id. It allocates nothing and touches no file. */
#ifndef CADET_CGROUP_PATH_H
#define CADET_CGROUP_PATH_H

#include "agent/sample.h"

enum cgroup_kind {
	CGROUP_KIND_OTHER,    /* not part of the kubepods tree */
	CGROUP_KIND_KUBEPODS, /* the kubepods root itself */
	CGROUP_KIND_QOS,      /* kubepods/burstable, kubepods/besteffort */
	CGROUP_KIND_POD,
	CGROUP_KIND_CONTAINER,
};

/* The roots of the kubepods tree under a hierarchy root, one per kubelet
 * cgroup driver (cgroupfs, systemd); the classifier, discovery and the BPF
 * walks all start from these. */
#define CGROUP_KUBEPODS_ROOT_CGROUPFS "kubepods"
#define CGROUP_KUBEPODS_ROOT_SYSTEMD "kubepods.slice"
#define CGROUP_KUBEPODS_ROOTS { CGROUP_KUBEPODS_ROOT_CGROUPFS, CGROUP_KUBEPODS_ROOT_SYSTEMD }
#define CGROUP_KUBEPODS_N_ROOTS 2

#define POD_UID_MAX 64
#define CONTAINER_ID_MAX 128

struct cgroup_identity {
	enum cgroup_kind kind;
	enum pod_qos qos;
	char pod_uid[POD_UID_MAX + 1];           /* with '-' restored */
	char container_id[CONTAINER_ID_MAX + 1];
	char runtime[24];                        /* "cri-containerd", "crio", "docker", or "" */
};

/* Classifies a path like "kubepods/burstable/pod<uid>/<id>" (no leading
 * slash needed; one is ignored). Never fails: unknown shapes are OTHER. */
void cgroup_path_classify(const char *relpath, struct cgroup_identity *out);

const char *cgroup_kind_name(enum cgroup_kind kind);

#endif
