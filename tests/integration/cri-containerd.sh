#!/bin/sh
# cri-containerd.sh: cadet-agent against a real containerd through CRI.
#
# Starts a private containerd (tests/lib/containerd.sh: own config, root,
# state and socket in a temporary directory, CRI plugin, cgroupfs driver,
# overlayfs, a CNI bridge that stays on the machine, busybox images built
# here), runs a pod with a known name, namespace, uid and labels under
# /kubepods/burstable/pod<uid>, and in it a container that burns CPU for a
# few seconds and then sleeps. The agent reads the real /sys/fs/cgroup and
# asks containerd for names. Checks:
#   - /stats/summary names the pod (podRef name, namespace, uid) and the
#     container, hides the pause container, gives startTime, the container's
#     rootfs (writable layer), the pod network (eth0 in the pod's netns),
#     the runtime's imageFs and a container's log usage;
#   - /metrics/resource labels the container and pod series with the names;
#   - the agent's cumulative CPU of the container agrees with containerd's
#     ListContainerStats within 5%;
#   - a second agent whose cgroup root holds no pods (as with a VM-isolated
#     runtime) reports the pod, named, from CRI stats alone;
#   - a container, and a whole pod, created while the agent runs are named
#     within a few cycles (new cgroup -> refresh), before the periodic one;
#   - with containerd stopped the agent keeps serving fresh cgroup samples
#     under the last known names and logs the outage once;
#   - once containerd is back, a container created then gets its name.
# Everything started is stopped, mounted unmounted, created removed.
set -u
BUILD=${BUILD:-build}
CADET_SRC=$(pwd)
CRI_TOOL=${CRI_TOOL:-$BUILD/tests/cri-tool}
. tests/lib/agent.sh
. tests/lib/containerd.sh

why=$(ctrd_missing)
if [ -n "$why" ]; then
	echo "skipped: containerd cannot run here: $why"
	exit 77
fi
for tool in curl jq; do
	command -v $tool >/dev/null 2>&1 || { echo "skipped: $tool not installed"; exit 77; }
done
[ -x "$CADET_AGENT" ] || fail "$CADET_AGENT not built"
[ -x "$CRI_TOOL" ] || fail "$CRI_TOOL not built"

AGENT_PID=""
AGENT2_PID=""
cleanup() {
	for pid in $AGENT_PID $AGENT2_PID; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	ctrd_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

show_logs() {
	echo "--- agent log"
	tail -n 30 "$CTRD_DIR/agent.log" 2>/dev/null
	echo "--- containerd log"
	grep -v 'level=info' "$CTRD_DIR/containerd.log" 2>/dev/null | tail -n 10
}

ctrd_init "$(mktemp -d /tmp/cadet-cri.XXXXXX)"
check "containerd config, CNI config and images prepared"
ctrd_start
check "containerd started on $CTRD_SOCK"

POD_UID=$(cat /proc/sys/kernel/random/uuid)
POD_NAME=web-burner
POD_NS=cadet-cri-test
ctrd_run_pod "$POD_NAME" "$POD_NS" "$POD_UID" app=burner tier=test
check "pod sandbox running"
SANDBOX=$CTRD_SANDBOX
# Burns CPU for 4 s (the shell and its date children), then sleeps: the
# cumulative CPU then holds still, so the agent and the runtime can be
# compared exactly, whatever the agent's sampling phase.
ctrd_run_container "$SANDBOX" burner sh -c \
	'end=$(($(date +%s) + 4)); while [ $(date +%s) -lt $end ]; do :; done; exec sleep 100000'
check "burner container running"
BURNER=$CTRD_CONTAINER
[ -d "/sys/fs/cgroup/cpuacct/kubepods/burstable/pod$POD_UID/$BURNER" ]
check "container cgroup at kubepods/burstable/pod$POD_UID/<id>"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
# The default 15 s window keeps the agent's periodic CRI refresh at 5 s.
"$CADET_AGENT" --listen "" --debug-listen "127.0.0.1:$PORT" --interval 500ms --window 15s --node-name cri-node --bpf=false \
	--container-runtime-endpoint "$CTRD_ENDPOINT" --runtime-request-timeout 1s >"$CTRD_DIR/agent.log" 2>&1 &
AGENT_PID=$!
wait_url "$URL/healthz" 10 || wait_url "$URL/stats/summary" 5
check "agent serving on $URL"

# pod_json [URL]: the summary entry of our pod.
pod_json() {
	curl -fsS "${1:-$URL}/stats/summary" | jq -c --arg uid "$POD_UID" '.pods[] | select(.podRef.uid == $uid)'
}
# wait_for JQ_FILTER SECONDS [URL]: until the filter on pod_json is true.
wait_for() {
	_n=$(($2 * 10))
	while [ $_n -gt 0 ]; do
		[ "$(pod_json "${3:-$URL}" | jq -r "$1" 2>/dev/null)" = true ] && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

wait_for '.podRef.name == "web-burner"' 10
check "summary names the pod from CRI"
POD=$(pod_json)
[ "$(echo "$POD" | jq -r .podRef.namespace)" = "$POD_NS" ]
check "pod namespace is $POD_NS"
[ "$(echo "$POD" | jq -r '[.containers[].name] | join(",")')" = burner ]
check "one container, named burner (pause container hidden)"
CREATED=$("$CRI_TOOL" -r "$CTRD_ENDPOINT" pods | grep "id=$SANDBOX" | sed 's/.*created_at=\([0-9]*\).*/\1/')
EXPECT_START=$(date -u -d "@$((CREATED / 1000000000))" +%Y-%m-%dT%H:%M:%SZ)
[ "$(echo "$POD" | jq -r .startTime)" = "$EXPECT_START" ]
check "pod startTime is the sandbox's creation ($EXPECT_START)"
echo "$POD" | jq -e '.containers[0].startTime | test("^[0-9-]+T[0-9:]+Z$")' >/dev/null
check "container startTime present"
wait_for '.containers[0].rootfs.usedBytes > 0' 8
check "container rootfs (writable layer) from CRI"
wait_for '.network.name == "eth0" and (.network.interfaces | length) >= 1 and .network.rxBytes >= 0' 8
check "pod network reported, default interface eth0"
# The same counters, read here from the pause process's namespace.
PAUSE_PID=$(head -n 1 "/sys/fs/cgroup/cpuacct/kubepods/burstable/pod$POD_UID/$SANDBOX/cgroup.procs")
netdev_eth0() { awk -F'[: ]+' '$2 == "eth0" { print $3 " " $11 }' "/proc/$PAUSE_PID/net/dev"; }
n=0
while [ $n -lt 40 ]; do
	[ "$(pod_json | jq -r '"\(.network.rxBytes) \(.network.txBytes)"')" = "$(netdev_eth0)" ] && break
	sleep 0.25
	n=$((n + 1))
done
[ $n -lt 40 ]
check "pod eth0 rx/tx bytes are the pod namespace's ($(netdev_eth0))"
curl -fsS "$URL/stats/summary" | jq -e '.node.runtime.imageFs.usedBytes > 0 and .node.runtime.imageFs.capacityBytes > 0' >/dev/null
check "node runtime imageFs from CRI ImageFsInfo"
grep -q "container runtime containerd .* (CRI v1) at $CTRD_ENDPOINT" "$CTRD_DIR/agent.log"
check "runtime version logged at start"

METRICS=$(curl -fsS "$URL/metrics/resource")
echo "$METRICS" | grep -q "^container_cpu_usage_seconds_total{container=\"burner\",namespace=\"$POD_NS\",pod=\"$POD_NAME\"} "
check "/metrics/resource container series carries the CRI names"
echo "$METRICS" | grep -q "^pod_memory_working_set_bytes{namespace=\"$POD_NS\",pod=\"$POD_NAME\"} "
check "/metrics/resource pod series carries the CRI names"
! echo "$METRICS" | grep -q "container=\"$SANDBOX\""
check "/metrics/resource has no series for the pause container"

# CPU: once the burn is over, the agent's cumulative usage and containerd's
# must agree within 5%.
n=0
while [ $n -lt 80 ]; do
	a=$("$CRI_TOOL" -r "$CTRD_ENDPOINT" cpu "$BURNER")
	sleep 0.3
	b=$("$CRI_TOOL" -r "$CTRD_ENDPOINT" cpu "$BURNER")
	[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" -gt 500000000 ] && break
	n=$((n + 1))
done
[ "$a" = "$b" ] && [ "$a" -gt 500000000 ]
check "burn finished: containerd reports ${a} ns of CPU"
sleep 1.2 # two agent cycles after the burn
AGENT_CPU=$(pod_json | jq -r '.containers[] | select(.name == "burner") | .cpu.usageCoreNanoSeconds')
CRI_CPU=$("$CRI_TOOL" -r "$CTRD_ENDPOINT" cpu "$BURNER")
echo "agent usageCoreNanoSeconds=$AGENT_CPU containerd usage_core_nano_seconds=$CRI_CPU"
python3 -c "import sys; a, c = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if abs(a - c) <= 0.05 * c else 1)" \
	"$AGENT_CPU" "$CRI_CPU"
check "agent CPU within 5% of containerd's ListContainerStats"

# Pods whose cgroups the agent cannot read (here: a cgroup root with no
# kubepods at all) come from CRI stats, with their names.
EMPTY_ROOT=$CTRD_DIR/empty-cgroup-root
mkdir -p "$EMPTY_ROOT" && touch "$EMPTY_ROOT/cgroup.controllers" &&
	printf 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n' >"$EMPTY_ROOT/cpu.stat"
check "empty cgroup v2 root prepared"
PORT2=$(free_port)
URL2=http://127.0.0.1:$PORT2
"$CADET_AGENT" --cgroup-root "$EMPTY_ROOT" --listen "" --debug-listen "127.0.0.1:$PORT2" --interval 500ms --window 5s \
	--node-name cri-node-2 --bpf=false --container-runtime-endpoint "$CTRD_ENDPOINT" >"$CTRD_DIR/agent2.log" 2>&1 &
AGENT2_PID=$!
wait_url "$URL2/healthz" 10
check "second agent serving on $URL2"
wait_for ".podRef.name == \"$POD_NAME\" and .containers[0].name == \"burner\"" 10 "$URL2"
check "agent without the pod's cgroups reports it from CRI stats, named"
CPU2=$(pod_json "$URL2" | jq -r '.containers[] | select(.name == "burner") | .cpu.usageCoreNanoSeconds')
[ "$CPU2" = "$CRI_CPU" ]
check "its container CPU is containerd's ($CPU2 ns)"
sleep 6 # past the rate window: still there, refreshed from CRI
[ "$(pod_json "$URL2" | jq -r .podRef.name)" = "$POD_NAME" ]
check "the CRI-only pod stays past the rate window"
kill "$AGENT2_PID"
wait "$AGENT2_PID"
rc=$?
AGENT2_PID=""
[ $rc -eq 0 ]
check "second agent exits 0"

# A new container is named within a few cycles: its cgroup is unknown to
# the last snapshot, which asks for a refresh at once.
# It also writes 20000 log lines (about 1 MB with the runtime's prefixes).
ctrd_run_container "$SANDBOX" early sh -c 'yes cadet-log-line | head -n 20000; exec sleep 100000'
check "container 'early' started"
wait_for '[.containers[].name] | index("early") != null' 3
check "new container named within 3 s (periodic refresh is 5 s)"
n=0
while [ $n -lt 20 ]; do # until the log is complete (its size holds still)
	LOG_BYTES=$(du -sB1 "$CTRD_POD_LOGS/early" | cut -f1)
	[ "$LOG_BYTES" -gt 500000 ] && [ "$LOG_BYTES" = "$(sleep 0.2; du -sB1 "$CTRD_POD_LOGS/early" | cut -f1)" ] && break
	n=$((n + 1))
done
wait_for "[.containers[] | select(.name == \"early\") | .logs.usedBytes] == [$LOG_BYTES]" 8
check "container logs: the disk usage of its log directory ($LOG_BYTES bytes, as du says)"

# Runtime gone: the agent keeps collecting and keeps the names.
ctrd_stop
T1=$(pod_json | jq -r '.containers[0].memory.time + " " + .cpu.time')
sleep 2.2
POD=$(pod_json)
T2=$(echo "$POD" | jq -r '.containers[0].memory.time + " " + .cpu.time')
kill -0 "$AGENT_PID" 2>/dev/null
check "agent alive with containerd stopped"
[ "$T1" != "$T2" ]
check "agent keeps sampling cgroups without the runtime ($T1 -> $T2)"
[ "$(echo "$POD" | jq -r '.podRef.name + "/" + ([.containers[].name] | sort | join(","))')" = "$POD_NAME/burner,early" ]
check "last known names kept while the runtime is down"
sleep 2.5 # past the agent's refresh interval: at least one failed refresh
[ "$(grep -c 'container runtime unavailable' "$CTRD_DIR/agent.log")" -eq 1 ]
check "runtime outage logged once"

# Runtime back: a container created now is named.
ctrd_start
check "containerd restarted"
ctrd_run_container "$SANDBOX" sidecar sleep 100000
check "sidecar container started after the restart"
wait_for '[.containers[].name] | sort | join(",") == "burner,early,sidecar"' 12
check "agent names the new container after the runtime came back"
grep -q "container runtime at $CTRD_ENDPOINT is back" "$CTRD_DIR/agent.log"
check "recovery logged"
kill -0 "$AGENT_PID" 2>/dev/null
check "agent still running"

# A whole new pod: its cgroups appear before the runtime lists the sandbox;
# the agent asks again until it does, so the pod is named within seconds.
POD_UID2=$(cat /proc/sys/kernel/random/uuid)
ctrd_run_pod late-pod "$POD_NS" "$POD_UID2" app=late
check "second pod running"
ctrd_run_container "$CTRD_SANDBOX" late sleep 100000
check "its container running"
n=0
while [ $n -lt 40 ]; do
	[ "$(curl -fsS "$URL/stats/summary" | jq -r --arg uid "$POD_UID2" \
		'.pods[] | select(.podRef.uid == $uid) | .podRef.name + "/" + ([.containers[].name] | join(","))')" = late-pod/late ] && break
	sleep 0.1
	n=$((n + 1))
done
[ $n -lt 40 ]
check "new pod and its container named within 4 s (periodic refresh is 5 s)"

# A clean exit on SIGTERM (under ASan this also means no leaks).
kill "$AGENT_PID"
wait "$AGENT_PID"
rc=$?
AGENT_PID=""
[ $rc -eq 0 ]
check "agent exits 0 on SIGTERM"
echo "PASS: cri-containerd"
