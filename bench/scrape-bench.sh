#!/bin/sh
# scrape-bench.sh: serving /stats/summary and /metrics/resource for 110 pods
# x 2 containers under wrk (8 connections), against /healthz on the same
# agent in the same run as the baseline of a minimal response. Prints
# requests/s, p99 latency and body size, and the ratio to the baseline. A
# last row asks /healthz with a new connection per request (Connection:
# close): the cost of accepting and tearing down a connection, connection
# limit and request deadline bookkeeping included.
set -u
BUILD=${BUILD:-build}
. tests/lib/agent.sh
. bench/pods.sh
command -v wrk >/dev/null 2>&1 || { echo "wrk not installed (Debian package wrk): skipped"; exit 0; }
AGENT_PID=""
cleanup() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	bench_pods_remove
}
trap cleanup EXIT INT TERM
bench_pods_create 110
bench_agent_start --interval 1s || exit 1
sleep 2
run() { # run PATH [SECONDS [wrk flags]]
	path=$1 secs=${2:-8}
	shift $(($# < 2 ? $# : 2))
	wrk -t2 -c8 -d"$secs"s --latency "$@" "$AGENT_URL$path" > /tmp/cadet-wrk.$$ 2>&1
	rps=$(awk '/^Requests\/sec/ {print $2}' /tmp/cadet-wrk.$$)
	p99=$(awk '$1 == "99%" {print $2}' /tmp/cadet-wrk.$$)
	errs=$(awk '/Non-2xx|Socket errors/ {print}' /tmp/cadet-wrk.$$ | tr '\n' ' ')
	bytes=$(curl -fsS "$AGENT_URL$path" | wc -c)
	rm -f /tmp/cadet-wrk.$$
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
