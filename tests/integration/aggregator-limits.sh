#!/bin/sh
# aggregator-limits.sh: hostile pushes against the real cadet-aggregator
# (mutual TLS on both ports, certificates from agg_pki), sent with the real
# gRPC client (push-report) next to a healthy node's, read back with the
# real kubectl. What must hold:
#   - a report whose window is 2^63 ns is refused, and one stamped in 2200
#     too (push-report sees them not accepted); one whose CPU and memory are
#     2^64-1 is taken with both clamped; `kubectl top pod -A --containers`
#     (which parses every window and quantity of the list with Go's parsers)
#     still succeeds and lists the healthy node's pod; the refusals and the
#     clamps are counted in the aggregator's /metrics;
#   - one bad pod does not blank its node: a report (sent twice) with a pod
#     whose name is 70,000 bytes and one without a namespace, next to a good
#     pod, is accepted; the good pod is listed by kubectl, the two bad ones
#     are counted (cadet_aggregator_pods_dropped_total) and the true reason
#     is logged once;
#   - no forged log line: a node name holding a newline, a fake log line
#     stamped 2099 and ESC leaves the aggregator's log file with no line
#     starting with 2099 and no raw ESC, the name's bytes shown as \xNN.
# Everything started is stopped and removed (trap).
set -u
. tests/lib/agent.sh
. tests/lib/aggregator.sh

why=$(agg_missing)
command -v kubectl >/dev/null 2>&1 || why=${why:-kubectl not installed}
if [ -n "$why" ]; then
	echo "skipped: $why"
	exit 77
fi

TMP=$(mktemp -d /tmp/cadet-agg-limits.XXXXXX)
cleanup() {
	[ -n "$AGG_PID" ] && stop_pid "$AGG_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	echo "--- aggregator log:"
	tail -n 20 "$TMP/aggregator.log" 2>/dev/null | cut -c1-400
	exit 1
}

agg_pki "$TMP" || fail "making test certificates with openssl"
MTLS=$(agg_mtls_flags "$TMP")
# shellcheck disable=SC2086
agg_start "$TMP" $MTLS || fail "aggregator start"
agg_kubeconfig "$TMP/kubeconfig" "$TMP"
B=https://127.0.0.1:$AGG_HTTPS_PORT

push() { # push FILE: push-report's exit status (0: every report accepted)
	"$AGG_PUSH" --target "127.0.0.1:$AGG_GRPC_PORT" --ca-file "$TMP/ca.crt" \
		--cert-file "$TMP/client.crt" --key-file "$TMP/client.key" "$1" >"$1.out" 2>&1
}
metric() {
	curl -fs --cacert "$TMP/ca.crt" --cert "$TMP/client.crt" --key "$TMP/client.key" "$B/metrics" |
		awk -v n="$1" '$1 == n { print $2 }'
}
top_pods() {
	kubectl --kubeconfig "$TMP/kubeconfig" top pod -A --containers >"$TMP/top.txt" 2>&1
}
report() { # report NODE WINDOW_NS CPU MEMORY [TIMESTAMP_NS] [EXTRA_PODS]: one report, one pod "web"
	ts=${5:+\"timestamp_unix_ns\":$5,}
	printf '{"node_name":"%s",%s"window_ns":%s,"cpu_usage_nanocores":%s,"memory_working_set_bytes":%s,
 "pods":[%s{"namespace":"shop","name":"web-%s","containers":[{"name":"app",
  "cpu_usage_nanocores":%s,"memory_working_set_bytes":%s}]}]}\n' \
		"$1" "$ts" "$2" "$3" "$4" "${6:-}" "$1" "$3" "$4"
}

report healthy 15000000000 250000000 1073741824 >"$TMP/healthy.json"
push "$TMP/healthy.json" || fail "healthy push: $(cat "$TMP/healthy.json.out")"
agg_wait top_pods || fail "kubectl top pod before the hostile pushes: $(cat "$TMP/top.txt")"

echo "== a window of 2^63 ns, a timestamp in 2200, usage of 2^64-1"
report hostile-window 9223372036854775808 1 1 >"$TMP/window.json"
push "$TMP/window.json" && fail "a report with a window of 2^63 ns was accepted"
report hostile-time 15000000000 1 1 7258118400000000000 >"$TMP/time.json"
push "$TMP/time.json" && fail "a report stamped in 2200 was accepted"
report huge 15000000000 18446744073709551615 18446744073709551615 >"$TMP/huge.json"
push "$TMP/huge.json" || fail "a report with huge usage values was refused, not clamped: $(cat "$TMP/huge.json.out")"
top_pods || fail "kubectl top pod after the hostile pushes: $(cat "$TMP/top.txt")"
cat "$TMP/top.txt"
grep -Eq '^shop +web-healthy +app +250m +1024Mi' "$TMP/top.txt" || fail "the healthy pod is not listed"
grep -q 'web-huge' "$TMP/top.txt" || fail "the clamped node's pod is not listed"
grep -q 'web-hostile' "$TMP/top.txt" && fail "a refused report's pod is listed"
check_metric() { # NAME MIN
	v=$(metric "$1")
	[ "${v:-0}" -ge "$2" ] || fail "metric $1 is '$v', want at least $2"
	echo "$1 $v"
}
check_metric 'cadet_aggregator_reports_refused_total{field="window"}' 1
check_metric 'cadet_aggregator_reports_refused_total{field="timestamp"}' 1
check_metric cadet_aggregator_report_values_clamped_total 4

echo "== one pod named with 70,000 bytes, one without a namespace, one good"
long=$(python3 -c 'print("p" * 70000)')
bad="{\"namespace\":\"shop\",\"name\":\"$long\",\"containers\":[{\"name\":\"app\"}]},"
bad="$bad{\"name\":\"no-namespace\",\"containers\":[{\"name\":\"app\"}]},"
report mixed 15000000000 5000000 4194304 "" "$bad" >"$TMP/mixed.json"
python3 -c 'import json,sys; r = json.load(open(sys.argv[1])); json.dump([r, r], open(sys.argv[1], "w"))' \
	"$TMP/mixed.json" || fail "writing the mixed report"
push "$TMP/mixed.json" || fail "a report with one bad pod was refused whole: $(cat "$TMP/mixed.json.out")"
top_pods || fail "kubectl top pod after the bad pods: $(cat "$TMP/top.txt")"
grep -Eq '^shop +web-mixed +app +5m +4Mi' "$TMP/top.txt" || fail "the good pod of the node with bad pods is not listed: $(cat "$TMP/top.txt")"
grep -q 'no-namespace' "$TMP/top.txt" && fail "the pod without a namespace is listed"
grep -q 'ppppp' "$TMP/top.txt" && fail "the pod with a 70,000-byte name is listed"
check_metric cadet_aggregator_pods_dropped_total 4
n=$(grep -c 'node mixed: dropped .* name of 70000 bytes' "$TMP/aggregator.log")
[ "$n" = 1 ] || fail "want the true reason logged once for node mixed, found $n lines"

echo "== a node name that forges a log line"
report 'forged\n2099-01-01T00:00:00.000Z cadet-aggregator error: FAKE LOG LINE\u001b[31m' \
	15000000000 1 1 >"$TMP/forged.json"
push "$TMP/forged.json" # accepted or not: what matters is the log
agg_wait grep -q 'forged' "$TMP/aggregator.log" || fail "the forged node name was not logged at all"
grep -n '^2099' "$TMP/aggregator.log" && fail "a forged line starting with 2099 is in the aggregator's log"
esc=$(printf '\033')
grep -n "$esc" "$TMP/aggregator.log" && fail "a raw ESC is in the aggregator's log"
grep -F 'forged\x0a2099-01-01' "$TMP/aggregator.log" | cut -c1-200 ||
	fail "the node name's newline is not shown as \\x0a"

agg_stop || fail "the aggregator did not exit 0 on SIGTERM"
echo "PASS"
