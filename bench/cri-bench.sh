#!/bin/sh
# cri-bench.sh [PODS] [SECONDS]: one agent collection cycle against one
# containerd ListContainerStats call, for the same running containers.
#
# Starts a private containerd (tests/lib/containerd.sh), runs PODS pods
# (default 10) of two sleeping containers each, and cadet-agent on the real
# cgroups with CRI on. Over SECONDS (default 10) it reads the agent's own
# counters (cycles run, total wall time of the cycles) for the mean cycle,
# then times containerd's ListContainerStats from outside the agent with
# crictl (tests/go-tools.mk): `crictl stats` makes that one call per run,
# `crictl version` is the same run (start, config, dial) with a trivial
# call instead, and the difference of their means, runs interleaved, is the
# call. Prints both and the ratio; the runtime call gives less (no node, no
# pod totals, no PSI).
# Cleans up everything it made, also when interrupted.
set -u
BUILD=${BUILD:-build}
CADET_SRC=$(pwd)
PODS=${1:-10}
SECONDS_RUN=${2:-10}
. tests/lib/agent.sh
. tests/lib/containerd.sh

why=$(ctrd_missing)
if [ -n "$why" ]; then
	echo "cri-bench: skipped, containerd cannot run here: $why"
	exit 0
fi
[ -x "$CADET_AGENT" ] || {
	echo "cri-bench: build $CADET_AGENT first (make bins)"
	exit 1
}

AGENT_PID=""
cleanup() {
	if [ -n "$AGENT_PID" ]; then
		kill "$AGENT_PID" 2>/dev/null
		wait "$AGENT_PID" 2>/dev/null
	fi
	ctrd_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ctrd_init "$(mktemp -d /tmp/cadet-cri-bench.XXXXXX)" || exit 1
ctrd_start || exit 1
i=0
while [ $i -lt "$PODS" ]; do
	ctrd_run_pod "bench-$i" cadet-bench "$(cat /proc/sys/kernel/random/uuid)" app=bench || exit 1
	for c in a b; do
		ctrd_run_container "$CTRD_SANDBOX" "c$c" sleep 100000 || exit 1
	done
	i=$((i + 1))
done
N_CONTAINERS=$(ctrd_crictl ps -o json | jq '[.containers[] | select(.state == "CONTAINER_RUNNING")] | length')

PORT=$(free_port)
"$CADET_AGENT" --listen "" --debug-listen "127.0.0.1:$PORT" --interval 250ms --window 5s --bpf=false \
	--container-runtime-endpoint "$CTRD_ENDPOINT" >"$CTRD_DIR/agent.log" 2>&1 &
AGENT_PID=$!
wait_url "http://127.0.0.1:$PORT/healthz" 10 || exit 1
sleep 1 # past the first scans

metric() { # metric NAME: its value from the agent's /metrics
	curl -fsS "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
cycles0=$(metric cadet_agent_collection_cycles_total)
total0=$(metric cadet_agent_collection_duration_seconds_total)
sleep "$SECONDS_RUN"
cycles1=$(metric cadet_agent_collection_cycles_total)
total1=$(metric cadet_agent_collection_duration_seconds_total)
tracked=$(metric cadet_agent_cgroups_tracked)

calls=$((SECONDS_RUN * 10))
cri_mean_ns=$(python3 - "$calls" "$CRICTL" --config "$CTRD_DIR/crictl.yaml" <<'EOF'
import subprocess, sys, time
calls, crictl = int(sys.argv[1]), sys.argv[2:]
def run(args):
    start = time.monotonic_ns()
    subprocess.run(crictl + args, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic_ns() - start
run(["stats", "-o", "json"])  # untimed: page cache, first connection
stats_ns = version_ns = 0
for _ in range(calls):
    version_ns += run(["version"])
    stats_ns += run(["stats", "-o", "json"])
print(max(stats_ns - version_ns, 0) // calls)
EOF
) || exit 1

python3 - "$cycles0" "$total0" "$cycles1" "$total1" "$cri_mean_ns" "$N_CONTAINERS" "$tracked" "$calls" <<'EOF'
import sys
c0, t0, c1, t1 = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
cri_ns, containers, tracked, calls = int(sys.argv[5]), sys.argv[6], sys.argv[7], sys.argv[8]
cycles = c1 - c0
cycle_us = (t1 - t0) / cycles * 1e6 if cycles else float("nan")
cri_us = cri_ns / 1e3
print(f"containers running (containerd): {containers}; cgroups the agent tracks: {tracked}")
print(f"{'what':<44} {'mean':>12}")
print(f"{'agent collection cycle (' + str(cycles) + ' cycles)':<44} {cycle_us:>9.0f} us")
print(f"{'containerd ListContainerStats (' + calls + ' crictl runs)':<44} {cri_us:>9.0f} us")
print(f"ratio ListContainerStats / agent cycle: {cri_us / cycle_us:.1f}x")
EOF
