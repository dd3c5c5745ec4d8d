#!/bin/sh
# bpf-agent.sh: cadet-agent's BPF events on this machine's real cgroups.
#
# With --bpf (the default) and --interval 10s:
#   - a container cgroup under kubepods/burstable/pod<uid> that is created,
#     burns about 2 s of CPU and is removed between two cycles still shows
#     in /stats/summary after the next cycle, with the CPU time its cgroup
#     held when it was removed (read from cpuacct.usage just before rmdir;
#     within 1%, and at least 1.5 s);
#   - a process in a container cgroup limited to 32 MiB (v1
#     memory.limit_in_bytes) that allocates 256 MiB is OOM-killed and
#     /metrics/resource reports container_oom_events_total 1 for it.
# With --bpf=false the agent says why BPF is off, still serves, and the
# short-lived container is missing after the next cycle (the gap BPF
# closes). Without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (dropped with
# setpriv) the agent logs why BPF is off and keeps serving from polling.
# Everything created is removed afterwards.
set -u
. tests/lib/agent.sh

[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root to create cgroups and load BPF"; exit 77; }
[ -r /sys/kernel/btf/vmlinux ] || { echo "skipped: no kernel BTF at /sys/kernel/btf/vmlinux"; exit 77; }
[ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ] || { echo "skipped: no cgroup v1 cpuacct controller here"; exit 77; }
[ -x "$CADET_AGENT" ] || fail "$CADET_AGENT not built"

UID_POD=$(python3 -c 'import uuid; print(uuid.uuid4())')
POD=kubepods/burstable/pod$UID_POD
SHORT=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
OOM=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
SHORT2=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
TMP=$(mktemp -d)
AGENT_PID=""
CHILD_PID=""

cleanup() {
	[ -n "$AGENT_PID" ] && stop_pid "$AGENT_PID" 2>/dev/null
	[ -n "$CHILD_PID" ] && kill -9 "$CHILD_PID" 2>/dev/null
	cgroup_rm "$POD/$SHORT" "$POD/$OOM" "$POD/$SHORT2" "$POD"
	cgroup_rm_made
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# start_agent EXTRA_FLAGS...: starts the agent, waits for /healthz.
start_agent() {
	PORT=$(free_port)
	${AGENT_WRAP:-} "$CADET_AGENT" --listen "" --debug-listen "127.0.0.1:$PORT" --interval 10s --window 15s --node-name bpf-node \
		--container-runtime-endpoint "" "$@" > "$TMP/agent.log" 2>&1 &
	AGENT_PID=$!
	wait_url "http://127.0.0.1:$PORT/healthz" 10 || { cat "$TMP/agent.log"; fail "agent did not become healthy"; }
}

# stop_agent: SIGTERM; the agent must exit 0 (also: no sanitizer reports).
stop_agent() {
	stop_pid "$AGENT_PID"
	_rc=$?
	AGENT_PID=""
	[ $_rc -eq 0 ] || { cat "$TMP/agent.log"; fail "agent exited with status $_rc"; }
}

# short_lived RELPATH: makes the container, burns 2 s of CPU in it, records
# what cpuacct.usage held after the process exited, removes the container.
short_lived() {
	cgroup_mk "$1" || fail "cannot create $1"
	python3 -c '
import os, sys, time
while not os.path.exists(sys.argv[1]): time.sleep(0.01)
while time.process_time() < 2.0: pass
' "$TMP/go-$2" &
	CHILD_PID=$!
	cgroup_join "$1" "$CHILD_PID" || fail "cannot move the burner into $1"
	touch "$TMP/go-$2"
	wait "$CHILD_PID"
	CHILD_PID=""
	cat "/sys/fs/cgroup/cpuacct/$1/cpuacct.usage" > "$TMP/truth-$2"
	cgroup_rm "$1"
	[ ! -d "/sys/fs/cgroup/cpuacct/$1" ] || fail "could not remove $1"
}

# wait_cycle: waits until the agent serves a cycle that began after now:
# its node sample is stamped (ms) later than now (interval 10 s).
wait_cycle() {
	_now_ms=$(($(date +%s%N) / 1000000))
	wait_for 15 sh -c '[ "$(curl -fsS "$1/metrics/resource" | awk "\$1 == \"node_cpu_usage_seconds_total\" { print \$3 }")" -gt "$2" ] 2>/dev/null' \
		_ "http://127.0.0.1:$PORT" "$_now_ms" || fail "no agent cycle after $_now_ms ms"
}

# --- BPF on -------------------------------------------------------------
cgroup_mk "$POD/$OOM" || fail "cannot create $POD/$OOM"
echo 33554432 > "/sys/fs/cgroup/memory/$POD/$OOM/memory.limit_in_bytes" || fail "cannot set the memory limit"
start_agent
grep -q "BPF on" "$TMP/agent.log" || { cat "$TMP/agent.log"; fail "the agent did not turn BPF on"; }

# Right after the first cycle: both containers live between this cycle and the next.
short_lived "$POD/$SHORT" on
python3 -c '
import os, sys, time
while not os.path.exists(sys.argv[1]): time.sleep(0.01)
block = bytearray(256 << 20)
' "$TMP/go-oom" &
CHILD_PID=$!
cgroup_join "$POD/$OOM" "$CHILD_PID" || fail "cannot move the allocator into its cgroup"
touch "$TMP/go-oom"
wait "$CHILD_PID" 2>/dev/null
rc=$?
CHILD_PID=""
[ $rc -eq 137 ] || fail "the allocator was not OOM-killed (exit $rc)"
grep -q "^oom_kill 1" "/sys/fs/cgroup/memory/$POD/$OOM/memory.oom_control" || fail "the kernel did not count the OOM kill"

wait_cycle
curl -fsS "http://127.0.0.1:$PORT/stats/summary" > "$TMP/summary-on.json" || fail "summary"
curl -fsS "http://127.0.0.1:$PORT/metrics/resource" > "$TMP/metrics-on.txt" || fail "metrics/resource"
stop_agent

python3 - "$TMP" "$UID_POD" "$SHORT" "$OOM" <<'PY' || { cat "$TMP/agent.log"; fail "BPF results wrong (see above)"; }
import json, sys
tmp, uid, short, oom = sys.argv[1:5]
doc = json.load(open(tmp + "/summary-on.json"))
pods = [p for p in doc["pods"] if p["podRef"]["uid"] == uid]
assert len(pods) == 1, "pod %s not in the summary" % uid
ctrs = {c["name"]: c for c in pods[0]["containers"]}
assert short in ctrs, "short-lived container missing: %s" % sorted(ctrs)
got = ctrs[short]["cpu"]["usageCoreNanoSeconds"]
truth = int(open(tmp + "/truth-on").read())
print("short-lived container: agent %.3f core-seconds, cpuacct.usage at removal %.3f" % (got / 1e9, truth / 1e9))
assert truth >= 1.5e9, "the burner got only %.3f s of CPU" % (truth / 1e9)
assert abs(got - truth) <= 0.01 * truth, "agent %d ns vs kernel %d ns" % (got, truth)
lines = [l for l in open(tmp + "/metrics-on.txt") if l.startswith("container_oom_events_total{")]
mine = [l for l in lines if 'container="%s"' % oom in l]
assert len(mine) == 1, "no container_oom_events_total for %s in %s" % (oom, lines)
value = float(mine[0].split("}")[1].split()[0])
print("OOM container: %s" % mine[0].strip())
assert value == 1, "container_oom_events_total %s, want 1" % value
PY

# --- BPF off ------------------------------------------------------------
start_agent --bpf=false
grep -q "BPF off (--bpf=false)" "$TMP/agent.log" || { cat "$TMP/agent.log"; fail "no log line saying BPF is off"; }
short_lived "$POD/$SHORT2" off
wait_cycle
curl -fsS "http://127.0.0.1:$PORT/stats/summary" > "$TMP/summary-off.json" || fail "summary with --bpf=false"
curl -fsS "http://127.0.0.1:$PORT/metrics/resource" > "$TMP/metrics-off.txt" || fail "metrics/resource with --bpf=false"
stop_agent
python3 - "$TMP" "$UID_POD" "$SHORT2" "$OOM" <<'PY' || fail "--bpf=false results wrong (see above)"
import json, sys
tmp, uid, short, oom = sys.argv[1:5]
doc = json.load(open(tmp + "/summary-off.json"))
names = [c["name"] for p in doc["pods"] if p["podRef"]["uid"] == uid for c in p["containers"]]
assert short not in names, "polling alone cannot see a container that lived between two cycles"
assert oom in names, "the long-lived container %s is missing: polling is broken" % oom
print("--bpf=false: polling reports the long-lived container, misses the short-lived one (as expected)")
PY
# --- no BPF privileges ---------------------------------------------------
if command -v setpriv >/dev/null 2>&1; then
	AGENT_WRAP="setpriv --bounding-set -bpf,-perfmon,-sys_admin --"
	start_agent
	AGENT_WRAP=""
	grep -q "BPF off, polling and inotify only: .*CAP_BPF" "$TMP/agent.log" ||
		{ cat "$TMP/agent.log"; fail "no log line saying why BPF is off without privileges"; }
	[ "$(grep -c "BPF off" "$TMP/agent.log")" -eq 1 ] || { cat "$TMP/agent.log"; fail "BPF off logged more than once"; }
	curl -fsS "http://127.0.0.1:$PORT/metrics/resource" > "$TMP/metrics-nocap.txt" || fail "metrics/resource without BPF privileges"
	grep -q "container_cpu_usage_seconds_total{container=\"$OOM\"" "$TMP/metrics-nocap.txt" ||
		fail "without BPF privileges the agent no longer reports the long-lived container"
	stop_agent
	echo "without CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN: $(grep -o "BPF off.*" "$TMP/agent.log" | head -c 200)"
else
	skip_part no-privileges "setpriv is missing (util-linux): the fallback without BPF privileges is not exercised"
fi
echo "PASS"
