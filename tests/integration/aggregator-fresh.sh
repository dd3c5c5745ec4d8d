#!/bin/sh
# aggregator-fresh.sh: a new pod is served within seconds, a removed one
# leaves within an interval, and pod churn adds a bounded number of pushes
# (issue 18, item 4).
#
# A private containerd (tests/lib/containerd.sh), the aggregator over
# mutual TLS at its default --metric-resolution (15s) and one agent at its
# default --interval 1s and --window 15s (BPF on, CRI through that
# containerd). tests/lib/fresh-poll.py reads
# /apis/metrics.k8s.io/v1beta1/namespaces/NS/pods/NAME on one kept-alive
# connection every 20 ms. Checks:
#   - steady state: over 16 s with no pod change the aggregator accepts at
#     most 2 reports (one per 15 s window, plus one at the edge);
#   - FRESH_PODS pods (default 3) started one after the other: each is
#     served, with its container, within 3 s of its container being
#     created and started (the clock starts before `crictl create`), and the
#     window it carries is the true span of its first rate: a Go duration
#     between 0.5 s and 3 s, not the node's 15 s;
#   - each pod removed (crictl stopp + rmp) is NotFound within one interval
#     (1 s, plus 0.5 s for a loaded machine) of the removal returning;
#   - over all that churn the aggregator accepted at most one report per
#     interval plus the steady ones: T/1s + T/15s + 2 for T seconds.
#   - kubectl reads the served pod and the list as JSON.
# With FRESH_RESULTS=FILE the per-pod figures ("served MS WINDOW_S" and
# "gone MS") are appended to FILE (bench/fresh-bench.sh).
# deadline: 300
set -u
BUILD=${BUILD:-build}
. tests/lib/agent.sh
. tests/lib/containerd.sh
. tests/lib/aggregator.sh

why=$(ctrd_missing)
[ -n "$why" ] || why=$(agg_missing)
[ -n "$why" ] || [ -x "$CADET_AGENT" ] || why="$CADET_AGENT not built"
[ -n "$why" ] || command -v kubectl >/dev/null 2>&1 || why="kubectl not installed"
if [ -n "$why" ]; then
	echo "skipped: $why"
	exit 77
fi
FRESH_PODS=${FRESH_PODS:-3}
POLL=tests/lib/fresh-poll.py

AGENT_PID=""
cleanup() {
	for pid in $AGENT_PID $AGG_PID; do
		stop_pid "$pid" 2>/dev/null
	done
	AGENT_PID="" AGG_PID=""
	ctrd_cleanup
}
trap cleanup EXIT

show_logs() {
	for f in aggregator.log agent.log; do
		echo "--- $f"
		tail -n 20 "$CTRD_DIR/$f" 2>/dev/null
	done
}
trap 'exit 1' INT TERM HUP

ctrd_init "$(mktemp -d /tmp/cadet-agg-fresh.XXXXXX)"
check "containerd config, CNI config and images prepared"
D=$CTRD_DIR
agg_pki "$D"
check "test CA, server and client certificates"

AGG_LISTEN=127.0.0.1:$(free_port)
AGG_GRPC_LISTEN=127.0.0.1:$(free_port)
# shellcheck disable=SC2046
agg_start "$D" $(agg_mtls_flags "$D")
check "aggregator on $AGG_LISTEN (default --metric-resolution)"
agg_kubeconfig "$D/kubeconfig" "$D"
kget() { kubectl --kubeconfig "$D/kubeconfig" get --raw "$1"; }
poll() { python3 "$POLL" "$D" "$AGG_HTTPS_PORT" "$@"; }

ctrd_start
check "containerd started"

PORT=$(free_port)
"$CADET_AGENT" --listen "" --debug-listen "127.0.0.1:$PORT" --node-name fresh-node \
	--container-runtime-endpoint "$CTRD_ENDPOINT" \
	--aggregator "$AGG_GRPC_LISTEN" --aggregator-ca-file "$D/ca.crt" \
	--aggregator-cert-file "$D/client.crt" --aggregator-key-file "$D/client.key" >"$D/agent.log" 2>&1 &
AGENT_PID=$!
node_served() {
	kget /apis/metrics.k8s.io/v1beta1/nodes/fresh-node | python3 -c '
import json, sys
assert json.load(sys.stdin)["metadata"]["name"] == "fresh-node"'
}
AGG_WAIT_S=20 agg_wait node_served
check "the agent's node in NodeMetrics"

# Steady: no pod comes or goes, so only the window's pushes.
r0=$(poll reports)
check "reports counter read"
sleep 16 # the test: a window and a bit without any change
r1=$(poll reports)
steady=$((r1 - r0))
echo "steady: $steady report(s) in 16 s"
[ "$steady" -ge 1 ] && [ "$steady" -le 2 ]
check "steady pushes once per 15 s window ($steady in 16 s)"

churn_start=$(date +%s%N)
r0=$(poll reports)
i=1
while [ "$i" -le "$FRESH_PODS" ]; do
	uid=$(cat /proc/sys/kernel/random/uuid)
	ctrd_run_pod "fresh-$i" fresh "$uid" app=fresh
	check "pod fresh/fresh-$i running"
	t0=$(date +%s%N)
	ctrd_run_container "$CTRD_SANDBOX" app sleep 3600
	check "container of fresh-$i started"
	got=$(poll served fresh "fresh-$i" app "$t0" 20)
	check "fresh-$i served: $got"
	ms=${got% *} window=${got#* }
	[ -n "${FRESH_RESULTS:-}" ] && echo "served $ms $window" >>"$FRESH_RESULTS"
	[ "$ms" -le 3000 ]
	check "fresh-$i served ${ms} ms after its container started (target 3000)"
	python3 -c 'import sys; w = float(sys.argv[1]); sys.exit(0 if 0.5 <= w <= 3 else 1)' "$window"
	check "fresh-$i carries the span of its first rate: window ${window} s"
	i=$((i + 1))
done
kget /apis/metrics.k8s.io/v1beta1/namespaces/fresh/pods | python3 -c '
import json, sys
names = sorted(i["metadata"]["name"] for i in json.load(sys.stdin)["items"])
want = sorted("fresh-%d" % i for i in range(1, int(sys.argv[1]) + 1))
assert names == want, (names, want)' "$FRESH_PODS"
check "kubectl lists the $FRESH_PODS pods"

for sid in $CTRD_SANDBOXES; do
	name=$(ctrd_crictl inspectp -o json "$sid" | jq -r .status.metadata.name)
	ctrd_crictl stopp "$sid" >/dev/null && ctrd_crictl rmp "$sid" >/dev/null
	check "pod $name removed through CRI"
	t0=$(date +%s%N)
	ms=$(poll gone fresh "$name" "$t0" 10)
	check "$name gone from the aggregator: $ms ms"
	[ -n "${FRESH_RESULTS:-}" ] && echo "gone $ms" >>"$FRESH_RESULTS"
	[ "$ms" -le 1500 ]
	check "$name gone ${ms} ms after its removal (one interval: 1000, +500 for load)"
done
r1=$(poll reports)
churn_ms=$((($(date +%s%N) - churn_start) / 1000000))
churn=$((r1 - r0))
bound=$((churn_ms / 1000 + churn_ms / 15000 + 2))
echo "churn: $churn report(s) in $churn_ms ms (bound $bound)"
[ "$churn" -le "$bound" ]
check "pushes under churn bounded: $churn <= $bound"
