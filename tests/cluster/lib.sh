# tests/cluster/lib.sh: what `up` and `down` share: where the test cluster
# lives, which loopback ports it takes, and how its processes are found.
# Sourced, not run. Every file the cluster makes is under $CLUSTER_DIR
# ($BUILD/cluster); every process it starts runs a program from $BIN_DIR
# ($BUILD/go-bin, built by `make cluster-tools`) with $CLUSTER_DIR in its
# command line, which is how `down` finds them even when a pid file is lost.
# shellcheck shell=sh disable=SC2034 # the variables are for up and down

CLUSTER_REPO=$(cd "$(dirname "$0")/../.." && pwd)
case ${BUILD:-build} in
/*) CLUSTER_BUILD=${BUILD} ;;
*) CLUSTER_BUILD=$CLUSTER_REPO/${BUILD:-build} ;;
esac
CLUSTER_DIR=$CLUSTER_BUILD/cluster
BIN_DIR=$CLUSTER_BUILD/go-bin
# Written first by `up`, so `down` removes only a folder that `up` made.
CLUSTER_MARKER=$CLUSTER_DIR/.cadet-test-cluster
PKI_DIR=$CLUSTER_DIR/pki
RUN_DIR=$CLUSTER_DIR/run
LOG_DIR=$CLUSTER_DIR/log
ADMIN_KUBECONFIG=$CLUSTER_DIR/admin.kubeconfig

# Loopback only. The Service range is in 127.0.0.0/8 too, so a packet sent
# to a Service IP (kubernetes.default is its first address) stays on `lo`.
LOOPBACK_IP=127.0.0.1
ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380
ETCD_METRICS_PORT=2381
APISERVER_PORT=6443
CONTROLLER_MANAGER_PORT=10257
SCHEDULER_PORT=10259
CLUSTER_PORTS="$ETCD_CLIENT_PORT $ETCD_PEER_PORT $ETCD_METRICS_PORT $APISERVER_PORT $CONTROLLER_MANAGER_PORT $SCHEDULER_PORT"
SERVICE_CIDR=127.64.0.0/24
SERVICE_KUBERNETES_IP=127.64.0.1
# The node's name, as the kubelet will register it: the kubelet client
# certificate's CN is system:node:$NODE_NAME.
NODE_NAME=${CLUSTER_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}

# Started in this order, stopped in the reverse one.
CLUSTER_COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler"

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

# Pids of every live process that runs one of $BIN_DIR's programs with
# $CLUSTER_DIR in its arguments: this cluster's processes and no others.
cluster_pids() {
	find /proc -mindepth 2 -maxdepth 2 -name exe -lname "$BIN_DIR/*" 2>/dev/null |
		while read -r exe_link; do
			proc=${exe_link%/exe}
			if tr '\0' '\n' <"$proc/cmdline" 2>/dev/null | grep -qF -- "$CLUSTER_DIR"; then
				printf '%s\n' "${proc#/proc/}"
			fi
		done
}

# The loopback ports of $CLUSTER_PORTS that something listens on now.
cluster_ports_in_use() {
	for port in $CLUSTER_PORTS; do
		if ss -Hltn "sport = :$port" | grep -q .; then
			printf '%s\n' "$port"
		fi
	done
}
