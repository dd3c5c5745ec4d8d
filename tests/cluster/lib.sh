# tests/cluster/lib.sh: what `up` and `down` share: where the test cluster
# lives, its network namespace and addresses, which ports it takes, and how
# its processes, cgroups and mounts are found. Sourced, not run.
#
# Every file the cluster makes is under $CLUSTER_DIR ($BUILD/cluster), but
# for the few the programs put where they always do (containerd's shim
# sockets in /run/containerd/s, the kubelet's links in /var/log/containers,
# libcni's cache in /var/lib/cni), which `down` removes by name. Every
# process runs in the network namespace $CLUSTER_NETNS or is a socat of the
# host-side API forwarder with $CLUSTER_DIR in its arguments; `down` finds
# them so even when a pid file is lost. See README.md here for why the
# cluster has a namespace of its own.
# shellcheck shell=sh disable=SC2034 # the variables are for up and down

CLUSTER_REPO=$(cd "$(dirname "$0")/../.." && pwd)
case ${BUILD:-build} in
/*) CLUSTER_BUILD=${BUILD} ;;
*) CLUSTER_BUILD=$CLUSTER_REPO/${BUILD:-build} ;;
esac
CLUSTER_DIR=$CLUSTER_BUILD/cluster
BIN_DIR=$CLUSTER_BUILD/go-bin
# Written first by `up`, so `down` removes only a folder that `up` made,
# and touches the namespace and the kubepods cgroups only when they are
# this cluster's.
CLUSTER_MARKER=$CLUSTER_DIR/.cadet-test-cluster
PKI_DIR=$CLUSTER_DIR/pki
RUN_DIR=$CLUSTER_DIR/run
LOG_DIR=$CLUSTER_DIR/log
ADMIN_KUBECONFIG=$CLUSTER_DIR/admin.kubeconfig

# The cluster's own network namespace: `lo` and one bridge, node0, which
# carries the node's address and is also the pods' CNI bridge (this kernel
# has no dummy links; a bridge without ports is up all the same).
CLUSTER_NETNS=cadet-k8s
CLUSTER_NETNS_FILE=/run/netns/$CLUSTER_NETNS
NODE_BRIDGE=node0
NODE_IP=10.213.0.1
NODE_PREFIX=24
NODE_SUBNET=10.213.0.0/24
# Pod addresses: the rest of node0's subnet.
POD_RANGE_START=10.213.0.16
POD_RANGE_END=10.213.0.254
# Service addresses are never routed (there is no kube-proxy): with
# aggregator routing kube-apiserver dials an APIService's endpoints, and
# the tests reach Services the same way.
SERVICE_CIDR=10.213.128.0/24
SERVICE_KUBERNETES_IP=10.213.128.1
LOOPBACK_IP=127.0.0.1

# Ports inside the namespace (no other program on the machine sees them).
ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380
ETCD_METRICS_PORT=2381
APISERVER_PORT=6443
CONTROLLER_MANAGER_PORT=10257
SCHEDULER_PORT=10259
KUBELET_PORT=10250
KUBELET_HEALTHZ_PORT=10248
# On the host's loopback: the forwarder to kube-apiserver, so that
# admin.kubeconfig (https://127.0.0.1:6443) works from the host as well.
HOST_APISERVER_PORT=$APISERVER_PORT
APISERVER_FORWARD_SOCK=$RUN_DIR/apiserver-forward.sock

# The node's name, as the kubelet registers it: the kubelet client
# certificate's CN is system:node:$NODE_NAME.
NODE_NAME=${CLUSTER_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}

CONTAINERD_DIR=$CLUSTER_DIR/containerd
CONTAINERD_SOCK=$CONTAINERD_DIR/containerd.sock
KUBELET_DIR=$CLUSTER_DIR/kubelet
POD_LOGS_DIR=$CLUSTER_DIR/pod-logs
CNI_NETWORK=cadet-k8s
# Where containerd's shims put their sockets whatever containerd's state
# folder is (defaults.DefaultStateDir), and libcni its cache.
SHIM_SOCKET_DIR=/run/containerd/s
CNI_CACHE_DIR=/var/lib/cni
# Links the kubelet makes to each container's log (a fixed path upstream).
KUBELET_CONTAINER_LOG_LINKS=/var/log/containers
# Kernel settings the kubelet sets (protectKernelDefaults: false); `up`
# saves them and `down` puts them back.
KUBELET_SYSCTLS="vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes"

# Started in this order, stopped in the reverse one.
CLUSTER_COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet"

cluster_log() {
	printf 'cluster: %s\n' "$*" >&2
}

# cluster_words TEXT: TEXT's lines on one line, for a message.
cluster_words() {
	printf '%s' "$1" | tr '\n' ' '
}

cluster_die() {
	cluster_log "$*"
	exit 1
}

# in_netns CMD ARGS...: runs CMD in the cluster's network namespace (and
# only there: mounts, cgroups and pids stay the host's, which `ip netns
# exec` would not leave alone: it remounts /sys, and with it the cgroups).
in_netns() {
	nsenter --net="$CLUSTER_NETNS_FILE" -- "$@"
}

# The inode of the cluster's namespace, or nothing when there is none.
cluster_netns_inode() {
	[ -e "$CLUSTER_NETNS_FILE" ] && stat -L -c %i "$CLUSTER_NETNS_FILE" 2>/dev/null
	return 0
}

# Pids of the cluster's processes: every process in its network namespace
# (control plane, containerd and its shims, the kubelet, host-network pods,
# whatever a test started there) once the namespace is this cluster's, and
# every process of $BIN_DIR or socat with $CLUSTER_DIR in its arguments
# (the host side of the forwarder, a process started before the namespace
# was joined). Never the caller itself.
cluster_pids() {
	{
		if [ -e "$CLUSTER_MARKER" ]; then
			netns_inode=$(cluster_netns_inode)
			# -L: the inode of the namespace a process's ns/net link names.
			[ -z "$netns_inode" ] || find -L /proc/[0-9]*/ns/net -maxdepth 0 -inum "$netns_inode" 2>/dev/null | cut -d/ -f3
		fi
		find /proc -mindepth 2 -maxdepth 2 -name exe \( -lname "$BIN_DIR/*" -o -lname '*/socat' \) 2>/dev/null |
			while read -r exe_link; do
				proc=${exe_link%/exe}
				if tr '\0' '\n' <"$proc/cmdline" 2>/dev/null | grep -qF -- "$CLUSTER_DIR"; then
					printf '%s\n' "${proc#/proc/}"
				fi
			done
	} | grep -vx -- "$$" | sort -un
}

# Every cgroup directory named kubepods* at the top of a hierarchy (every
# v1 one, and the cgroup2 mount, /sys/fs/cgroup/unified on this hybrid
# machine), with all below it, deepest first.
cluster_kubepods_cgroups() {
	for top in /sys/fs/cgroup/kubepods* /sys/fs/cgroup/*/kubepods*; do
		[ -d "$top" ] && find "$top" -type d
	done | sort -r
	return 0
}

# Mount points under $CLUSTER_DIR, deepest first.
cluster_mounts() {
	awk -v d="$CLUSTER_DIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# Whether something listens on the host's loopback port of the forwarder.
host_port_in_use() {
	ss -Hltn "sport = :$HOST_APISERVER_PORT" | grep -q .
}
