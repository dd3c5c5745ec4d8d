# tests/lib/cluster.sh: helpers for the cluster tier (tests/integration/
# cluster.sh and its parts in tests/integration/cluster-parts/). The
# cluster (tests/cluster/up) runs in the network namespace cadet-k8s; these
# run kubectl and other clients there. Source it after tests/lib/agent.sh.
#
#   kctl ARGS...             kubectl as the cluster's admin, in the namespace
#   in_cluster_net CMD...    any command in the namespace (curl to 10.213.0.1)
#   kapply                   kubectl apply -f - (manifest on stdin)
#   wait_until SECONDS CMD   CMD every second until it succeeds
#   wait_ready_pods NS SELECTOR N SECONDS   N pods of SELECTOR Running+Ready
# CLUSTER_DIR, CLUSTER_NODE_IP and CLUSTER_NODE_NAME say where it is.

case ${BUILD:-build} in
/*) CLUSTER_BUILD=$BUILD ;;
*) CLUSTER_BUILD=$(pwd)/${BUILD:-build} ;;
esac
CLUSTER_DIR=$CLUSTER_BUILD/cluster
CLUSTER_BIN=$CLUSTER_BUILD/go-bin
CLUSTER_NETNS_FILE=/run/netns/cadet-k8s
CLUSTER_NODE_IP=10.213.0.1
CLUSTER_NODE_NAME=${CLUSTER_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}

in_cluster_net() {
	nsenter --net="$CLUSTER_NETNS_FILE" -- "$@"
}

kctl() {
	in_cluster_net "$CLUSTER_BIN/kubectl" --kubeconfig "$CLUSTER_DIR/admin.kubeconfig" "$@"
}

kapply() {
	kctl apply -f -
}

# wait_until SECONDS CMD [ARG...]: CMD once a second until it succeeds;
# fails, saying what it waited for, after SECONDS.
wait_until() {
	_wu_end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$_wu_end" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 1
	done
}

# pods_ready NS SELECTOR N: at least N pods of SELECTOR are Ready.
pods_ready() {
	_n=$(kctl get pods -n "$1" -l "$2" -o 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
		grep -c '^True$')
	[ "$_n" -ge "$3" ]
}

wait_ready_pods() {
	wait_until "$4" pods_ready "$1" "$2" "$3"
}
