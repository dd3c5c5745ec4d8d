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
#   - once the burn is over, the agent's cumulative CPU of the container is
#     exactly the kernel's cpuacct.usage and containerd's (crictl stats);
#   - a second agent whose cgroup root holds no pods (as with a VM-isolated
#     runtime) reports the pod, named, from CRI stats alone;
#   - a container, and a whole pod, created while the agent runs are named
#     within a few cycles (new cgroup -> refresh), before the periodic one;
#   - with containerd stopped the agent keeps serving fresh cgroup samples
#     under the last known names and logs the outage once;
#   - once containerd is back, a container created then gets its name.
# The runtime's side of every check is read with crictl (built from
# sigs.k8s.io/cri-tools by tests/go-tools.mk) or from the kernel, never
# through the agent's own CRI client. Everything started is stopped,
# mounted unmounted, created removed; the last check is that no cgroup is
# left in any hierarchy.
set -u
BUILD=${BUILD:-build}
CADET_SRC=$(pwd)
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

AGENT_PID=""
AGENT2_PID=""
cleanup() {
	for pid in $AGENT_PID $AGENT2_PID; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	AGENT_PID="" AGENT2_PID=""
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
BURNER_CG=/sys/fs/cgroup/cpuacct/kubepods/burstable/pod$POD_UID/$BURNER
[ -d "$BURNER_CG" ]
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
# wait_pod JQ_FILTER SECONDS [URL]: until the filter on pod_json is true.
wait_pod() {
	_n=$(($2 * 10))
	while [ $_n -gt 0 ]; do
		[ "$(pod_json "${3:-$URL}" | jq -r "$1" 2>/dev/null)" = true ] && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}
# crictl_stat ID JQ_PATH: one field of the container's ListContainerStats
# entry as containerd reports it (crictl prints 64-bit numbers as strings).
crictl_stat() {
	ctrd_crictl stats -o json --id "$1" | jq -r --arg id "$1" ".stats[] | select(.attributes.id == \$id) | $2"
}
# metric NAME: the agent's own counter from /metrics.
metric() {
	curl -fsS "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

wait_pod '.podRef.name == "web-burner"' 10
check "summary names the pod from CRI"
POD=$(pod_json)
[ "$(echo "$POD" | jq -r .podRef.namespace)" = "$POD_NS" ]
check "pod namespace is $POD_NS"
[ "$(echo "$POD" | jq -r '[.containers[].name] | join(",")')" = burner ]
check "one container, named burner (pause container hidden)"
# crictl inspect prints CRI timestamps in RFC 3339 with nanoseconds; the
# summary gives whole seconds.
seconds_of='.status.createdAt | sub("\\.[0-9]+Z$"; "Z")'
EXPECT_START=$(ctrd_crictl inspectp -o json "$SANDBOX" | jq -r "$seconds_of")
[ "$(echo "$POD" | jq -r .startTime)" = "$EXPECT_START" ]
check "pod startTime is the sandbox's creation in crictl inspectp ($EXPECT_START)"
EXPECT_START=$(ctrd_crictl inspect -o json "$BURNER" | jq -r "$seconds_of")
[ "$(echo "$POD" | jq -r '.containers[0].startTime')" = "$EXPECT_START" ]
check "container startTime is its creation in crictl inspect ($EXPECT_START)"
# The writable layer's usage is containerd's (the burner writes nothing to
# it, so the figure holds still): the agent must give exactly crictl's.
ROOTFS=$(crictl_stat "$BURNER" '.writableLayer | "\(.usedBytes.value) \(.inodesUsed.value)"')
[ -n "$ROOTFS" ] && [ "${ROOTFS%% *}" -gt 0 ]
check "crictl stats gives the burner's writable layer ($ROOTFS: bytes, inodes)"
wait_pod ".containers[0].rootfs | \"\\(.usedBytes) \\(.inodesUsed)\" == \"$ROOTFS\"" 8
check "container rootfs is containerd's writable layer, bytes and inodes ($ROOTFS)"
wait_pod '.network.name == "eth0" and (.network.interfaces | length) >= 1' 8
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
# imageFs: usage as containerd reports it (crictl imagefsinfo), capacity
# and inodes those of the filesystem it names (statfs: blocks x fragment
# size, file nodes).
IMAGE_FS_MNT=$(ctrd_crictl imagefsinfo -o json | jq -r '.status.imageFilesystems[0].fsId.mountpoint')
image_fs_expected() {
	_fs=$(ctrd_crictl imagefsinfo -o json | jq -r '.status.imageFilesystems[0] | "\(.usedBytes.value) \(.inodesUsed.value)"')
	# shellcheck disable=SC2046
	set -- $(stat -f -c '%b %S %c' "$IMAGE_FS_MNT")
	echo "$_fs $(($1 * $2)) $3"
}
image_fs_got() {
	curl -fsS "$URL/stats/summary" | jq -r '.node.runtime.imageFs | "\(.usedBytes) \(.inodesUsed) \(.capacityBytes) \(.inodes)"'
}
n=0
while [ $n -lt 80 ]; do # the agent refreshes from CRI every 5 s
	EXPECT_FS=$(image_fs_expected)
	[ "$(image_fs_got)" = "$EXPECT_FS" ] && break
	sleep 0.1
	n=$((n + 1))
done
[ $n -lt 80 ]
check "node runtime imageFs: used bytes, inodes used from crictl imagefsinfo, capacity, inodes from statfs of $IMAGE_FS_MNT ($EXPECT_FS)"
grep -q "container runtime containerd .* (CRI v1) at $CTRD_ENDPOINT" "$CTRD_DIR/agent.log"
check "runtime version logged at start"

METRICS=$(curl -fsS "$URL/metrics/resource")
echo "$METRICS" | grep -q "^container_cpu_usage_seconds_total{container=\"burner\",namespace=\"$POD_NS\",pod=\"$POD_NAME\"} "
check "/metrics/resource container series carries the CRI names"
echo "$METRICS" | grep -q "^pod_memory_working_set_bytes{namespace=\"$POD_NS\",pod=\"$POD_NAME\"} "
check "/metrics/resource pod series carries the CRI names"
! echo "$METRICS" | grep -q "container=\"$SANDBOX\""
check "/metrics/resource has no series for the pause container"

# CPU: the burner's shell execs sleep when the burn is over; once sleep is
# blocked in its syscall the cgroup's usage is frozen, and the agent, the
# kernel and containerd must give the same number of nanoseconds.
BURNER_PID=$(ctrd_crictl inspect -o json "$BURNER" | jq -r .info.pid)
n=0
while [ $n -lt 150 ]; do # the burn takes 4 s from the container's start
	[ "$(cat "/proc/$BURNER_PID/comm" 2>/dev/null)" = sleep ] &&
		[ "$(awk '{ print $3 }' "/proc/$BURNER_PID/stat" 2>/dev/null)" = S ] && break
	sleep 0.1
	n=$((n + 1))
done
[ $n -lt 150 ]
check "burn finished: the container's process (pid $BURNER_PID) sleeps"
KERNEL_CPU=$(cat "$BURNER_CG/cpuacct.usage")
[ "$KERNEL_CPU" -gt 500000000 ]
check "kernel: the burner used $KERNEL_CPU ns of CPU (cpuacct.usage)"
CRI_CPU=$(crictl_stat "$BURNER" .cpu.usageCoreNanoSeconds.value)
[ "$CRI_CPU" = "$KERNEL_CPU" ]
check "containerd (crictl stats) gives the kernel's figure ($CRI_CPU ns)"
wait_pod "[.containers[] | select(.name == \"burner\") | .cpu.usageCoreNanoSeconds] == [$KERNEL_CPU]" 5
check "agent usageCoreNanoSeconds is exactly the kernel's frozen cpuacct.usage"
[ "$(cat "$BURNER_CG/cpuacct.usage")" = "$KERNEL_CPU" ]
check "the burner's CPU was frozen over the comparison"

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
wait_pod ".podRef.name == \"$POD_NAME\" and .containers[0].name == \"burner\"" 10 "$URL2"
check "agent without the pod's cgroups reports it from CRI stats, named"
CPU2=$(pod_json "$URL2" | jq -r '.containers[] | select(.name == "burner") | .cpu.usageCoreNanoSeconds')
[ "$CPU2" = "$CRI_CPU" ]
check "its container CPU is containerd's ($CPU2 ns)"
# Past the 5 s rate window the pod must still be there, with samples the
# agent took from CRI since: wait until a sample is 6 s newer than the first,
# failing as soon as the pod is gone.
FIRST=$(pod_json "$URL2" | jq -r '.containers[0].cpu.time | fromdateiso8601')
n=0
while [ $n -lt 150 ]; do
	LATEST=$(pod_json "$URL2" | jq -r --arg name "$POD_NAME" 'select(.podRef.name == $name) | .containers[0].cpu.time | fromdateiso8601')
	[ -n "$LATEST" ] || break
	[ "$LATEST" -ge $((FIRST + 6)) ] && break
	sleep 0.1
	n=$((n + 1))
done
[ -n "$LATEST" ] && [ "$LATEST" -ge $((FIRST + 6)) ]
check "the CRI-only pod stays past the rate window, sampled from CRI (${FIRST} -> ${LATEST:-gone})"
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
wait_pod '[.containers[].name] | index("early") != null' 3
check "new container named within 3 s (periodic refresh is 5 s)"
n=0
while [ $n -lt 100 ]; do # until the log holds all 20000 lines
	[ "$(grep -c ' cadet-log-line$' "$CTRD_POD_LOGS/early/0.log")" -eq 20000 ] && break
	sleep 0.1
	n=$((n + 1))
done
[ $n -lt 100 ]
check "the runtime wrote the container's 20000 log lines"
LOG_BYTES=$(du -sB1 "$CTRD_POD_LOGS/early" | cut -f1)
wait_pod "[.containers[] | select(.name == \"early\") | .logs.usedBytes] == [$LOG_BYTES]" 8
check "container logs: the disk usage of its log directory ($LOG_BYTES bytes, as du says)"

# Runtime gone: the agent keeps collecting and keeps the names.
ctrd_stop
FAILED0=$(metric cadet_agent_cri_refresh_failures_total)
T1=$(pod_json | jq -r '.containers[0].memory.time + " " + .cpu.time')
# Sample times have a resolution of a second: wait for them to move on.
n=0
while [ $n -lt 50 ]; do
	T2=$(pod_json | jq -r '.containers[0].memory.time + " " + .cpu.time')
	[ "$T2" != "$T1" ] && break
	sleep 0.1
	n=$((n + 1))
done
kill -0 "$AGENT_PID" 2>/dev/null
check "agent alive with containerd stopped"
[ "$T1" != "$T2" ]
check "agent keeps sampling cgroups without the runtime ($T1 -> $T2)"
[ "$(pod_json | jq -r '.podRef.name + "/" + ([.containers[].name] | sort | join(","))')" = "$POD_NAME/burner,early" ]
check "last known names kept while the runtime is down"
# Two failed refreshes (the periodic one is every 5 s): logged only once.
n=0
while [ $n -lt 150 ] && [ "$(metric cadet_agent_cri_refresh_failures_total)" -lt $((FAILED0 + 2)) ]; do
	sleep 0.1
	n=$((n + 1))
done
[ $n -lt 150 ]
check "the agent's refreshes failed twice while the runtime is down"
[ "$(grep -c 'container runtime unavailable' "$CTRD_DIR/agent.log")" -eq 1 ]
check "runtime outage logged once"

# Runtime back: a container created now is named.
ctrd_start
check "containerd restarted"
ctrd_run_container "$SANDBOX" sidecar sleep 100000
check "sidecar container started after the restart"
wait_pod '[.containers[].name] | sort | join(",") == "burner,early,sidecar"' 12
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

# Nothing left: ctrd_cleanup fails, naming them, if any kubepods cgroup
# that appeared since the test began is still there, in any hierarchy
# (runc makes the pods' parents in every v1 hierarchy and cgroup2).
cleanup
check "pods removed, containerd stopped, no cgroup left in any hierarchy"
echo "PASS: cri-containerd"
