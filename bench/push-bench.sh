#!/bin/sh
# push-bench.sh: how soon a node's figures are served by the aggregator
# after a push path (re)starts, the latency tests/integration/aggregator-e2e.sh
# watches without a speed threshold. A real cadet-agent on a copy of the v2
# fixture tree (interval 500ms, window 2s) pushes to a real aggregator
# (--metric-resolution 2s) over plaintext gRPC on loopback. Measured in the
# same run, ROUNDS times each, as wall time until
# GET /apis/metrics.k8s.io/v1beta1/nodes/NODE answers 200:
#   cold:    the agent starts against a running aggregator (its first
#            samples, the first push of a window, the aggregator's store);
#   restart: the aggregator restarts on the same ports under a running
#            agent (the agent's reconnect and next push).
# Prints min/median/max of each and the restart/cold ratio of the medians.
#
#   sh bench/push-bench.sh            ROUNDS=5
set -u
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-5}
. tests/lib/agent.sh
. tests/lib/aggregator.sh

why=$(agg_missing)
[ -n "$why" ] || [ -x "$CADET_AGENT" ] || why="$CADET_AGENT not built"
if [ -n "$why" ]; then
	echo "push-bench: skipped: $why"
	exit 0
fi

TMP=$(mktemp -d /tmp/cadet-push-bench.XXXXXX)
AGENT_PID=""
cleanup() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	agg_stop >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cp -a tests/fixtures/v2-systemd "$TMP/tree" || exit 1
AGG_LISTEN=127.0.0.1:$(free_port)
AGG_GRPC_LISTEN=127.0.0.1:$(free_port)
export AGG_LISTEN AGG_GRPC_LISTEN
URL=https://$AGG_LISTEN/apis/metrics.k8s.io/v1beta1/nodes/bench-node

now_ms() { python3 -c 'import time; print("%.1f" % (time.monotonic() * 1000))'; }
# served_after T0_MS: waits (20 s at most, polling every 10 ms) until the
# node is served; prints the milliseconds since T0_MS, or fails loudly.
served_after() {
	python3 - "$1" "$URL" "$AGENT_PID" <<'PY' || { tail -n 5 "$TMP/agent.log" "$TMP/aggregator.log" >&2; return 1; }
import os, ssl, sys, time, urllib.request
t0_ms, url, agent_pid = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl._create_unverified_context()  # the aggregator's self-signed certificate
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2, context=ctx) as r:
            if r.status == 200:
                print("%.0f" % (time.monotonic() * 1000 - t0_ms))
                sys.exit(0)
    except OSError:
        pass
    try:
        os.kill(agent_pid, 0)
    except OSError:
        sys.exit("push-bench: FAILED: the agent exited")
    time.sleep(0.01)
sys.exit("push-bench: FAILED: bench-node not served within 20 s")
PY
}
start_agent() {
	"$CADET_AGENT" --cgroup-root "$TMP/tree" --node-name bench-node --listen "" --debug-listen "127.0.0.1:$(free_port)" \
		--interval 500ms --window 2s --container-runtime-endpoint= --bpf=false --aggregator "$AGG_GRPC_LISTEN" \
		--log-level warning >"$TMP/agent.log" 2>&1 &
	AGENT_PID=$!
}
stop_agent() {
	kill "$AGENT_PID" && wait "$AGENT_PID"
	AGENT_PID=""
}

cold="" restart=""
# (not i: agg_start uses it)
round=0
while [ $round -lt "$ROUNDS" ]; do
	# cold: a fresh aggregator (an empty store), then a fresh agent
	agg_start "$TMP" --metric-resolution 2s || exit 1
	t0=$(now_ms)
	start_agent
	ms=$(served_after "$t0") || exit 1
	cold="$cold $ms"
	# restart: the aggregator goes away under the running agent
	agg_stop || { echo "push-bench: aggregator did not stop cleanly"; exit 1; }
	t0=$(now_ms)
	agg_start "$TMP" --metric-resolution 2s || exit 1
	ms=$(served_after "$t0") || exit 1
	restart="$restart $ms"
	stop_agent
	agg_stop || { echo "push-bench: aggregator did not stop cleanly"; exit 1; }
	round=$((round + 1))
done
python3 - "$cold" "$restart" <<'PY'
import sys
def mmm(s):
    v = sorted(float(x) for x in s.split())
    return v[0], v[len(v) // 2], v[-1]
c, r = mmm(sys.argv[1]), mmm(sys.argv[2])
print("push to served, agent window 2s, aggregator resolution 2s, %d rounds (wall ms)" % len(sys.argv[1].split()))
print("  cold start (agent starts)     min %6.0f  median %6.0f  max %6.0f" % c)
print("  aggregator restart            min %6.0f  median %6.0f  max %6.0f" % r)
print("  ratio restart / cold (medians): %.2f" % (r[1] / c[1]))
PY
