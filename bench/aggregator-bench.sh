#!/bin/sh
# aggregator-bench.sh: cadet-aggregator under a simulated cluster. Starts the
# real aggregator on loopback and bench/push-load with NODES simulated agents
# (one gRPC connection and stream each) pushing PODS x CONTAINERS reports
# every INTERVAL; after a warm-up round it measures, over the following
# rounds, the aggregator's CPU per report and per node (from /proc/PID/stat)
# and its RSS per node above an empty aggregator (VmRSS); then, while every
# node is still live, with curl the latency of listing all pods and of an
# HPA-style namespaced list with a label selector. metrics-server is not run
# here (yet), so its documented 1 millicore and 2 MB per node are printed
# beside cadet's measured figures as a quoted reference: never divided into
# them, since every ratio in `make bench` is to a baseline measured in the
# same run (bench/run-bench.sh).
#
#   sh bench/aggregator-bench.sh            5000 nodes x 30 pods x 2 containers, 15s
#   NODES=500 INTERVAL=5s ROUNDS=3 sh bench/aggregator-bench.sh
set -u
BUILD=${BUILD:-build}
NODES=${NODES:-5000}
PODS=${PODS:-30}
CONTAINERS=${CONTAINERS:-2}
INTERVAL=${INTERVAL:-15s}
ROUNDS=${ROUNDS:-3}
LOAD=$BUILD/bench/push-load
. tests/lib/aggregator.sh

why=$(agg_missing)
[ -x "$LOAD" ] || why=${why:-$LOAD not built (make bench-tools)}
if [ -n "$why" ]; then
	echo "aggregator-bench: skipped: $why"
	exit 0
fi

TMP=$(mktemp -d /tmp/cadet-agg-bench.XXXXXX)
LOAD_PID=""
cleanup() {
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
	[ -n "$AGG_PID" ] && kill "$AGG_PID" 2>/dev/null && wait "$AGG_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Each simulated node holds a connection on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null

rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

agg_start "$TMP" --metric-resolution "$INTERVAL" || exit 1
sleep 1
base_kib=$(rss_kib "$AGG_PID")

"$LOAD" --target "127.0.0.1:$AGG_GRPC_PORT" --nodes "$NODES" --pods "$PODS" --containers "$CONTAINERS" \
	--interval "$INTERVAL" --rounds "$ROUNDS" --aggregator-pid "$AGG_PID" >"$TMP/load.out" 2>"$TMP/load.err" &
LOAD_PID=$!
wait "$LOAD_PID"
LOAD_PID=""
result=$(grep '^result' "$TMP/load.out")
if [ -z "$result" ]; then
	echo "aggregator-bench: no result from the load generator"
	tail -n 5 "$TMP/load.err"
	exit 1
fi
val() { echo "$result" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
rss=$(val rss_kib)

# The API is read after the load stops, so its CPU stays out of the
# per-report figure; every node is still live for 3x the interval.
B=https://127.0.0.1:$AGG_HTTPS_PORT/apis/metrics.k8s.io/v1beta1
# median of 5 timed GETs, in ms
time_get() {
	for _ in 1 2 3 4 5; do
		curl -sk -o "$TMP/body.json" -w '%{time_total}\n' "$1"
	done | sort -n | sed -n 3p | awk '{printf "%.1f", $1 * 1000}'
}
count_items() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$TMP/body.json"; }
all_ms=$(time_get "$B/pods")
all_items=$(count_items)
all_mib=$(awk -v b="$(wc -c <"$TMP/body.json")" 'BEGIN { printf "%.1f", b / 1048576 }')
hpa_ms=$(time_get "$B/namespaces/bench-ns-3/pods?labelSelector=app%3Dweb")
hpa_items=$(count_items)
nodes_ms=$(time_get "$B/nodes")
nodes_items=$(count_items)
agg_stop

python3 - "$NODES" "$PODS" "$CONTAINERS" "$INTERVAL" "$base_kib" "$rss" "$(val millicores_per_node)" \
	"$(val cpu_us_per_report)" "$(val reports)" "$(val measured_s)" "$(val failed)" "$(val skipped)" \
	"$all_ms" "$all_items" "$all_mib" "$hpa_ms" "$hpa_items" "$nodes_ms" "$nodes_items" <<'PY'
import sys
(nodes, pods, containers, interval, base_kib, rss_kib, mc_node, us_report, reports, secs, failed, skipped,
 all_ms, all_items, all_mib, hpa_ms, hpa_items, nodes_ms, nodes_items) = sys.argv[1:]
nodes = int(nodes)
per_node_kib = (int(rss_kib) - int(base_kib)) / nodes
mc = float(mc_node)
print(f"aggregator: {nodes} nodes x {pods} pods x {containers} containers, pushed every {interval}; "
      f"{reports} reports measured over {secs}s ({failed} failed, {skipped} skipped)")
print(f"  {'measure':34} {'cadet (measured)':>16}   metrics-server (quoted from its README, not measured here)")
print(f"  {'RSS per node (above empty)':34} {per_node_kib:>12.1f} KiB   2 MB per node")
print(f"  {'CPU per node':34} {mc:>14.4f} m   1 millicore per node")
print(f"  {'CPU per report':34} {float(us_report):>11.1f} us")
print(f"  {'RSS total / empty':34} {int(rss_kib) / 1024:>10.1f} MiB / {int(base_kib) / 1024:.1f} MiB")
print(f"  {'list all pods (median of 5)':34} {float(all_ms):>11.1f} ms  ({all_items} pods, {all_mib} MiB JSON)")
print(f"  {'HPA list (ns + labelSelector)':34} {float(hpa_ms):>11.1f} ms  ({hpa_items} pods)")
print(f"  {'list all nodes':34} {float(nodes_ms):>11.1f} ms  ({nodes_items} nodes)")
PY
