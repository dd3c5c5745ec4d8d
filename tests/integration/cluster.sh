#!/bin/sh
# deadline: 600
# cluster.sh: the cluster tier. Starts the test cluster once
# (tests/cluster/up: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, containerd 2 and a kubelet in the network namespace
# cadet-k8s), runs every part in tests/integration/cluster-parts/ in the
# order of their names (NN-name.sh, each sourced in a subshell with
# tests/lib/agent.sh and tests/lib/cluster.sh; a part fails by exiting
# non-zero, e.g. through fail or check), reports each part as
# "part NAME: pass|fail (N s)", and takes the cluster down (tests/cluster/down),
# also on failure. CLUSTER_PARTS=pattern runs only the parts whose file
# name holds the pattern. Fails if any part fails.
set -u
BUILD=${BUILD:-build}
. tests/lib/agent.sh
. tests/lib/cluster.sh

for program in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl containerd ctr crictl; do
	if [ ! -x "$CLUSTER_BIN/$program" ]; then
		echo "skipped: no $CLUSTER_BIN/$program (make cluster-tools needs the Go toolchain at /usr/local/go)"
		exit 77
	fi
done

show_logs() {
	for log in "$CLUSTER_DIR"/log/*.log; do
		[ -f "$log" ] || continue
		echo "--- $(basename "$log")"
		tail -n 15 "$log"
	done
}
cleanup() {
	BUILD=$BUILD sh tests/cluster/down
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

up_started_s=$(date +%s)
BUILD=$BUILD sh tests/cluster/up
check "cluster up, node $CLUSTER_NODE_NAME Ready in $(($(date +%s) - up_started_s)) s"

failed_parts=
for part in tests/integration/cluster-parts/[0-9]*.sh; do
	[ -f "$part" ] || continue
	case $(basename "$part") in *"${CLUSTER_PARTS:-}"*) ;; *) continue ;; esac
	name=$(basename "$part" .sh)
	name=${name#[0-9]*-}
	part_started_s=$(date +%s)
	if (. "$part"); then
		echo "part $name: pass ($(($(date +%s) - part_started_s)) s)"
	else
		echo "part $name: fail ($(($(date +%s) - part_started_s)) s)"
		failed_parts="$failed_parts $name"
	fi
done
[ -z "$failed_parts" ] || fail "parts failed:$failed_parts"
