#!/bin/sh
# agent-steady.sh: the real cadet-agent's steady cost on this machine.
#
# Creates PODS pods x 2 containers under kubepods/besteffort in the real
# cgroup hierarchy, runs build/cadet-agent against it at the given interval,
# and after a warm-up reads the agent's CPU time (utime+stime from
# /proc/PID/stat) over DURATION seconds and its VmRSS. With SCRAPE=1 it also
# renders /stats/summary and /metrics/resource once per 15 s, as
# metrics-server would. Prints one line per run; removes what it created.
#   usage: agent-steady.sh PODS INTERVAL DURATION_S
set -u
PODS=${1:-110}
INTERVAL=${2:-1s}
DURATION=${3:-20}
BUILD=${BUILD:-build}
. tests/lib/agent.sh

. bench/pods.sh
AGENT_PID=""
cleanup() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	bench_pods_remove
}
trap cleanup EXIT INT TERM

bench_pods_create "$PODS"
bench_agent_start --interval "$INTERVAL" || exit 1
# warm-up: a few cycles, and the first scrape renders
sleep 3
curl -fsS -o /dev/null "$AGENT_URL/stats/summary"
curl -fsS -o /dev/null "$AGENT_URL/metrics/resource"

ticks() { awk '{print $14 + $15}' "/proc/$AGENT_PID/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
start=$(date +%s.%N)
end=$(( $(date +%s) + DURATION ))
next_scrape=0
while [ "$(date +%s)" -lt "$end" ]; do
	now=$(date +%s)
	if [ "$now" -ge "$next_scrape" ]; then
		curl -fsS -o /dev/null "$AGENT_URL/metrics/resource"
		curl -fsS -o /dev/null "$AGENT_URL/stats/summary"
		next_scrape=$((now + 15))
	fi
	sleep 1
done
t1=$(ticks)
stop=$(date +%s.%N)
rss_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$AGENT_PID/status")
# anonymous: the agent's own heap and stacks; the rest of RSS is pages of
# binaries and shared libraries (counted as private when no other process
# happens to map the same library, so that split is not stable)
priv_kib=$(awk '/^Anonymous:/ {print $2}' "/proc/$AGENT_PID/smaps_rollup")
fds=$(ls "/proc/$AGENT_PID/fd" | wc -l)
python3 - "$PODS" "$INTERVAL" "$t0" "$t1" "$hz" "$start" "$stop" "$rss_kib" "$fds" "$priv_kib" <<'PY'
import sys
pods, interval, t0, t1, hz, start, stop, rss, fds, priv = sys.argv[1:]
cpu_s = (int(t1) - int(t0)) / int(hz)
wall = float(stop) - float(start)
print("agent steady: %4d pods x 2 containers, interval %-4s  CPU %.2f%% of a core over %.0fs  "
      "RSS %.1f MiB (anonymous %.1f MiB)  fds %s"
      % (int(pods), interval, 100 * cpu_s / wall, wall, int(rss) / 1024, int(priv) / 1024, fds))
PY
