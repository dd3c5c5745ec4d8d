#!/bin/sh
# scrape-bench.sh: serving /stats/summary and /metrics/resource for 110 pods
# x 2 containers under wrk (8 connections), against /healthz on the same
# agent in the same run as the baseline of a minimal response. Prints
# requests/s, p99 latency and body size, and the ratio to the baseline. A
# last row asks /healthz with a new connection per request (Connection:
# close): the cost of accepting and tearing down a connection, connection
# limit and request deadline bookkeeping included. Then, as metrics-server
# scrapes (and as tests/integration/fault-load.sh loads it, without a speed
# threshold there), /metrics/resource over HTTPS with a bearer token under
# wrk -c48 against /healthz on the same HTTPS listener with the same token
# and connections, in the same run.
set -u
BUILD=${BUILD:-build}
. tests/lib/agent.sh
. bench/pods.sh
command -v wrk >/dev/null 2>&1 || { echo "wrk not installed (Debian package wrk): skipped"; exit 0; }
AGENT_PID=""
TLS_PID=""
TMP=$(mktemp -d /tmp/cadet-scrape-bench.XXXXXX)
cleanup() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	[ -n "$TLS_PID" ] && kill "$TLS_PID" 2>/dev/null && wait "$TLS_PID" 2>/dev/null
	rm -rf "$TMP"
	bench_pods_remove
}
trap cleanup EXIT INT TERM
bench_pods_create 110
bench_agent_start --interval 1s || exit 1
sleep 2
run() { # run PATH [SECONDS [wrk flags]]
	path=$1 secs=${2:-8}
	shift $(($# < 2 ? $# : 2))
	wrk -t2 -c"${CONNS:-8}" -d"$secs"s --latency "$@" "${URL:-$AGENT_URL}$path" > "$TMP/wrk" 2>&1
	rps=$(awk '/^Requests\/sec/ {print $2}' "$TMP/wrk")
	p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk")
	errs=$(awk '/Non-2xx|Socket errors/ {print}' "$TMP/wrk" | tr '\n' ' ')
	bytes=$(curl -fsSk -H "Authorization: Bearer bench-token" "${URL:-$AGENT_URL}$path" | wc -c)
	echo "$path $rps $p99 $bytes $errs"
}
base=$(run /healthz)
base_rps=$(echo "$base" | awk '{print $2}')
printf '%-36s %12s %10s %10s %s\n' "endpoint (wrk -c8)" "req/s" "p99" "bytes" "req/s vs /healthz"
for path in /healthz /metrics/resource /stats/summary '/stats/summary?only_cpu_and_memory=true'; do
	line=$(if [ "$path" = /healthz ]; then echo "$base"; else run "$path"; fi)
	echo "$line" | awk -v b="$base_rps" '{printf "%-36s %12s %10s %10s %.3f %s\n", $1, $2, $3, $4, $2 / b, $5 $6 $7}'
done
run /healthz 8 -H "Connection: close" |
	awk -v b="$base_rps" '{printf "%-36s %12s %10s %10s %.3f %s\n", "/healthz (Connection: close)", $2, $3, $4, $2 / b, $5 $6 $7}'

# HTTPS with a bearer token, 48 connections, on a second agent (self-signed)
echo bench-token > "$TMP/token"
port=$(free_port)
"$BUILD/cadet-agent" --listen "127.0.0.1:$port" --token-file "$TMP/token" --debug-listen "" --bpf=false \
	--container-runtime-endpoint "" --interval 1s --log-level warning 2>"$TMP/tls-agent.log" &
TLS_PID=$!
n=0
until curl -fsSk -o /dev/null -H "Authorization: Bearer bench-token" "https://127.0.0.1:$port/healthz" 2>/dev/null; do
	n=$((n + 1))
	if [ $n -ge 200 ] || ! kill -0 "$TLS_PID" 2>/dev/null; then
		echo "scrape-bench: FAILED: the HTTPS agent did not answer /healthz within 20 s"
		tail -n 20 "$TMP/tls-agent.log"
		exit 1
	fi
	sleep 0.1
done
sleep 2
export URL="https://127.0.0.1:$port" CONNS=48
tls_base=$(run /healthz 8 -H "Authorization: Bearer bench-token")
tls_base_rps=$(echo "$tls_base" | awk '{print $2}')
echo "$tls_base" | awk -v b="$tls_base_rps" '{printf "%-36s %12s %10s %10s %.3f %s\n", "/healthz (HTTPS, token, -c48)", $2, $3, $4, $2 / b, $5 $6 $7}'
run /metrics/resource 8 -H "Authorization: Bearer bench-token" |
	awk -v b="$tls_base_rps" '{printf "%-36s %12s %10s %10s %.3f %s\n", "/metrics/resource (HTTPS, token, -c48)", $2, $3, $4, $2 / b, $5 $6 $7}'
