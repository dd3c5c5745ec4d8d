#!/bin/sh
# fresh-bench.sh: container start to first served PodMetrics (issue 18,
# item 4), end to end as tests/integration/aggregator-fresh.sh checks it
# (without its 3 s threshold): a private containerd, the aggregator over
# mutual TLS at its default --metric-resolution, one agent at its default
# flags (--interval 1s, --window 15s, BPF, CRI). PODS pods (default 20),
# one after the other: the clock starts before `crictl create` of the
# pod's container and stops when
# /apis/metrics.k8s.io/v1beta1/namespaces/bench/pods/NAME first answers
# with that container (tests/lib/fresh-poll.py, one kept-alive connection,
# every 20 ms). Then each pod is removed through CRI and timed until
# NotFound. Prints min/median/max of both and the window the pods were
# first served with. The same figure for metrics-server is measured in the
# test cluster (tests/cluster), not here.
#
#   sh bench/fresh-bench.sh            PODS=20
set -u
BUILD=${BUILD:-build}
PODS=${PODS:-20}
. tests/lib/agent.sh
. tests/lib/containerd.sh
. tests/lib/aggregator.sh

why=$(ctrd_missing)
[ -n "$why" ] || why=$(agg_missing)
[ -n "$why" ] || [ -x "$CADET_AGENT" ] || why="$CADET_AGENT not built"
if [ -n "$why" ]; then
	echo "fresh-bench: skipped: $why"
	exit 0
fi
AGENT_PID=""
cleanup() {
	[ -n "$AGENT_PID" ] && stop_pid "$AGENT_PID" 2>/dev/null
	agg_stop >/dev/null 2>&1
	ctrd_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
show_logs() {
	for f in aggregator.log agent.log; do
		echo "--- $f"
		tail -n 20 "$CTRD_DIR/$f" 2>/dev/null
	done
}
bail() {
	echo "fresh-bench: FAILED: $1"
	show_logs
	exit 1
}

ctrd_init "$(mktemp -d /tmp/cadet-fresh-bench.XXXXXX)" || bail "containerd setup"
D=$CTRD_DIR
agg_pki "$D" || bail "certificates"
AGG_LISTEN=127.0.0.1:$(free_port)
AGG_GRPC_LISTEN=127.0.0.1:$(free_port)
# shellcheck disable=SC2046
agg_start "$D" $(agg_mtls_flags "$D") || bail "aggregator start"
ctrd_start || bail "containerd start"
"$CADET_AGENT" --listen "" --debug-listen "127.0.0.1:$(free_port)" --node-name bench-node \
	--container-runtime-endpoint "$CTRD_ENDPOINT" \
	--aggregator "$AGG_GRPC_LISTEN" --aggregator-ca-file "$D/ca.crt" \
	--aggregator-cert-file "$D/client.crt" --aggregator-key-file "$D/client.key" >"$D/agent.log" 2>&1 &
AGENT_PID=$!
poll() { python3 tests/lib/fresh-poll.py "$D" "$AGG_HTTPS_PORT" "$@"; }
n=0
until [ "$(poll reports 2>/dev/null || echo 0)" -gt 0 ]; do
	n=$((n + 1))
	[ $n -lt 200 ] || bail "no report from the agent in 20 s"
	sleep 0.1
done

: >"$D/served"
: >"$D/gone"
i=1
while [ "$i" -le "$PODS" ]; do
	ctrd_run_pod "fresh-$i" bench "$(cat /proc/sys/kernel/random/uuid)" || bail "pod fresh-$i"
	t0=$(date +%s%N)
	ctrd_run_container "$CTRD_SANDBOX" app sleep 3600 || bail "container of fresh-$i"
	poll served bench "fresh-$i" app "$t0" 30 >>"$D/served" || bail "fresh-$i never served"
	i=$((i + 1))
done
for sid in $CTRD_SANDBOXES; do
	name=$(ctrd_crictl inspectp -o json "$sid" | jq -r .status.metadata.name)
	ctrd_crictl stopp "$sid" >/dev/null && ctrd_crictl rmp "$sid" >/dev/null || bail "removing $name"
	t0=$(date +%s%N)
	poll gone bench "$name" "$t0" 30 >>"$D/gone" || bail "$name never gone"
done
python3 - "$D/served" "$D/gone" "$PODS" <<'PY'
import statistics, sys
served = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
gone = [float(l) for l in open(sys.argv[2])]
ms = sorted(s[0] for s in served)
win = sorted(s[1] for s in served)
print("%-52s %8s %8s %8s" % ("over %s pods (ms)" % sys.argv[3], "min", "median", "max"))
print("%-52s %8.0f %8.0f %8.0f" % ("container start -> first PodMetrics served", ms[0], statistics.median(ms), ms[-1]))
print("%-52s %8.0f %8.0f %8.0f" % ("pod removed (crictl rmp) -> NotFound", min(gone), statistics.median(gone), max(gone)))
print("%-52s %8.3f %8.3f %8.3f" % ("window first served with (s)", win[0], statistics.median(win), win[-1]))
PY
