#!/bin/sh
# http-head.sh: HEAD on every HTTP server, with Python's http.client on one
# kept-alive connection, against the real cadet-agent (plain --debug-listen
# and HTTPS --listen, reading a cgroup fixture tree) and the real
# cadet-aggregator (HTTPS API, self-signed, one report pushed by the real
# gRPC client). What must hold, per server: HEAD /stats/summary (on the
# aggregator HEAD /apis/metrics.k8s.io/v1beta1/nodes) answers 200 with the
# Content-Type of its GET, a Content-Length and no body, so the GET /healthz
# that follows on the same connection parses and is right; HEAD /healthz has
# the exact Content-Length of GET /healthz's body; no stray byte follows.
# Also printed, as information only: the mean latency of 50 GETs on one
# kept-alive connection per server (Nagle plus delayed ACKs would add about
# 40 ms each).
# Everything started is stopped and removed (trap).
set -u
. tests/lib/agent.sh
. tests/lib/aggregator.sh

CLIENTS="python3 tests/lib/http-clients.py"
why=$(agg_missing)
[ -n "$why" ] || [ -x "$CADET_AGENT" ] || why="$CADET_AGENT not built"
if [ -n "$why" ]; then
	echo "skipped: $why"
	exit 77
fi

TMP=$(mktemp -d /tmp/cadet-http-head.XXXXXX)
AGENT_PID=""
cleanup() {
	[ -n "$AGENT_PID" ] && stop_pid "$AGENT_PID" 2>/dev/null
	[ -n "$AGG_PID" ] && stop_pid "$AGG_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	echo "--- agent log:"
	tail -n 20 "$TMP/agent.log" 2>/dev/null
	echo "--- aggregator log:"
	tail -n 20 "$TMP/aggregator.log" 2>/dev/null
	exit 1
}

DEBUG_PORT=$(free_port)
TLS_PORT=$(free_port)
"$CADET_AGENT" --cgroup-root tests/fixtures/v2-systemd --node-name head --container-runtime-endpoint "" \
	--bpf=false --listen "127.0.0.1:$TLS_PORT" --debug-listen "127.0.0.1:$DEBUG_PORT" \
	>"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
agg_start "$TMP" || fail "aggregator start"
wait_url "http://127.0.0.1:$DEBUG_PORT/healthz" 20 || fail "agent /healthz"
AGG_URL=https://127.0.0.1:$AGG_HTTPS_PORT
agg_wait curl -fsk "$AGG_URL/healthz" || fail "aggregator /healthz"
curl -fsk "https://127.0.0.1:$TLS_PORT/healthz" >/dev/null || fail "agent HTTPS /healthz"

cat >"$TMP/report.json" <<'JSON'
{"node_name":"head-node","window_ns":15000000000,"cpu_usage_nanocores":250000000,
 "memory_working_set_bytes":1073741824,
 "pods":[{"namespace":"ns","name":"web","containers":[{"name":"app",
  "cpu_usage_nanocores":1000000,"memory_working_set_bytes":2048}]}]}
JSON
"$AGG_PUSH" --target "127.0.0.1:$AGG_GRPC_PORT" "$TMP/report.json" >"$TMP/push.out" 2>&1 ||
	fail "push: $(cat "$TMP/push.out")"
NODES=/apis/metrics.k8s.io/v1beta1/nodes
agg_wait sh -c "curl -fsk '$AGG_URL$NODES' | grep -q head-node" || fail "the pushed node is not served"

for srv in "agent-debug $DEBUG_PORT /stats/summary" "agent-https $TLS_PORT /stats/summary --tls" \
	"aggregator $AGG_HTTPS_PORT $NODES --tls"; do
	# shellcheck disable=SC2086
	set -- $srv
	name=$1 port=$2 path=$3 tls=${4:-}
	out=$($CLIENTS head 127.0.0.1 "$port" "$path" /healthz $tls 2>&1)
	echo "$name: HEAD $path then GET /healthz on one connection: $out"
	[ "$out" = ok ] || fail "$name: $out"
done

for srv in "agent-debug $DEBUG_PORT" "agent-https $TLS_PORT --tls" "aggregator $AGG_HTTPS_PORT --tls"; do
	# shellcheck disable=SC2086
	set -- $srv
	out=$($CLIENTS latency 127.0.0.1 "$2" /healthz 50 ${3:-} 2>&1) || fail "$1: latency client: $out"
	echo "$1: GET /healthz x50 kept alive: $out (information)"
done

stop_pid "$AGENT_PID" || fail "the agent did not exit 0 on SIGTERM"
AGENT_PID=""
agg_stop || fail "the aggregator did not exit 0 on SIGTERM"
echo "PASS"
