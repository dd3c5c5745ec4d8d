#!/bin/sh
# fault-cgroups.sh: cadet-agent when cgroups misbehave under it.
#
# Part 1, real cgroups (root only): container cgroups are created and
# removed in a tight loop for 6 s under kubepods/besteffort/pod<uid> while an
# agent collects every 100ms, so cgroups vanish between discovery and read
# (each is removed from the other controllers before the cpuacct hierarchy
# that discovery watches, so the agent reads it half gone, every time).
# The tree is a private subtree /sys/fs/cgroup/<controller>/cadet-fault-PID
# of every v1 controller and the cgroup2 mount, given to the agent as its
# --cgroup-root through symlinks, so cgroups that other tests create on this
# machine meanwhile do not count.
# What must hold: vanished cgroups were seen
# (cadet_agent_cgroups_vanished_total > 0); every scrape of /stats/summary, /metrics/resource and
# /healthz during the churn answers 200; a vanished cgroup is not a read
# error (cadet_agent_cgroup_read_errors_total stays where it was); no
# descriptor is leaked (once the churn is over, not one of the agent's open
# fds points into a removed container cgroup); the agent is still running.
#
# Part 2, a cgroup v2 fixture tree (--cgroup-root, a temporary directory):
# one container's cpu.stat (read every cycle) is made garbage, then empty,
# then 1 MiB large, and restored with a new value after each. What must
# hold, each time: the error is counted in cadet_agent_cgroup_read_errors_total;
# it is logged once, naming the cgroup and the file; every endpoint keeps
# answering 200; nothing is lost (the broken container stays in
# /stats/summary with its last values, its sibling keeps being collected
# with fresh values); and after the restore the container reads again (its
# new value appears) and the error counter stops growing.
# Both agents must exit 0 on SIGTERM (with LeakSanitizer in a sanitizer build).
# Everything created is removed afterwards (trap).
set -u
. tests/lib/agent.sh

TMP=$(mktemp -d)
AGENT_PID=""
CHURN_PID=""
PRIV=cadet-fault-$$
REAL_POD=$PRIV/kubepods/besteffort/podfa017000-0000-4000-8000-$(printf '%012x' $$)

cleanup() {
	[ -n "$CHURN_PID" ] && stop_pid "$CHURN_PID" 2>/dev/null
	[ -n "$AGENT_PID" ] && stop_pid "$AGENT_PID" 2>/dev/null
	for c in $CGROUP_DIRS; do
		[ -d "/sys/fs/cgroup/$c/$PRIV" ] || continue
		find "/sys/fs/cgroup/$c/$PRIV" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# metric NAME PORT: the value of an unlabelled sample of the agent's /metrics.
metric() {
	curl -fsS "http://127.0.0.1:$2/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# start_agent PORT ARGS...: starts the agent logging to $TMP/agent.log.
start_agent() {
	_port=$1
	shift
	"$CADET_AGENT" --listen "" --debug-listen "127.0.0.1:$_port" --container-runtime-endpoint "" --bpf=false \
		--log-format text --node-name fault-node "$@" > "$TMP/agent.log" 2>&1 &
	AGENT_PID=$!
	wait_url "http://127.0.0.1:$_port/healthz" 10 || { cat "$TMP/agent.log"; fail "agent did not become healthy"; }
}

# stop_agent: SIGTERM; the agent must exit 0 (in a sanitizer build that
# includes LeakSanitizer's check at exit).
stop_agent() {
	stop_pid "$AGENT_PID"
	_rc=$?
	AGENT_PID=""
	[ $_rc -eq 0 ] || { tail -n 40 "$TMP/agent.log"; fail "agent exited $_rc after SIGTERM"; }
}

# scrape_all PORT: every endpoint answers 200 (curl -f fails otherwise).
scrape_all() {
	for _p in /stats/summary /metrics/resource /metrics /healthz; do
		curl -fsS -o /dev/null "http://127.0.0.1:$1$_p" || return 1
	done
}

# cycles_after N PORT: waits (10 s at most) until the agent on PORT has
# completed N more collection cycles than now.
cycles_after() {
	_c0=$(metric cadet_agent_collection_cycles_total "$2")
	wait_for 10 cycles_reached $((${_c0:-0} + $1)) "$2"
}
cycles_reached() {
	[ "$(metric cadet_agent_collection_cycles_total "$2")" -ge "$1" ] 2>/dev/null
}

# churn_fds PID: how many of PID's descriptors point into the churned cgroups.
churn_fds() {
	find "/proc/$1/fd" -type l -lname "*/$REAL_POD/churn*" 2>/dev/null | wc -l
}

# ---- part 1: cgroups vanishing under a running agent (real hierarchy) ----
if [ "$(id -u)" -eq 0 ] && [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
	cgroup_mk "$REAL_POD" || fail "cannot create $REAL_POD"
	mkdir -p "$TMP/root"
	for c in $CGROUP_DIRS; do ln -s "/sys/fs/cgroup/$c/$PRIV" "$TMP/root/$c"; done
	PORT=$(free_port)
	start_agent "$PORT" --cgroup-root "$TMP/root" --interval 100ms
	cycles_after 2 "$PORT" || fail "the agent completed no cycles"
	errors_before=$(metric cadet_agent_cgroup_read_errors_total "$PORT")
	scans_before=$(metric cadet_agent_discovery_scans_total "$PORT")

	# Churn: a new container cgroup every 50ms, each living about 150ms
	# (discovered, tracked, read); then its directories go in every
	# controller but cpuacct, which discovery walks and watches, and 150ms
	# later in cpuacct too. So the agent reads cgroups whose memory, cpu
	# and pids files vanished after discovery, as well as cgroups removed
	# whole between its cycles.
	python3 - "$REAL_POD" "$CGROUP_DIRS" "$TMP/churned" <<'PY' &
import os, sys, time
pod, ctls, out = sys.argv[1], sys.argv[2].split(), sys.argv[3]
path = lambda c, i: "/sys/fs/cgroup/%s/%s/churn%d" % (c, pod, i)
def rm(d):
    for _ in range(1000):
        try:
            os.rmdir(d)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.001)
end = time.time() + 6
i = 0
while time.time() < end:
    i += 1
    for c in ctls:
        os.mkdir(path(c, i))
    if i > 3:
        for c in ctls:
            if c != "cpuacct":
                rm(path(c, i - 3))
    if i > 6:
        rm(path("cpuacct", i - 6))
    time.sleep(0.05)
for j in range(max(1, i - 6), i + 1):
    for c in ctls:
        rm(path(c, j))
open(out, "w").write("%d\n" % i)
PY
	CHURN_PID=$!
	scrapes=0
	while kill -0 "$CHURN_PID" 2>/dev/null; do
		scrape_all "$PORT" || fail "a scrape failed while cgroups were vanishing"
		scrapes=$((scrapes + 1))
		sleep 0.1 # the test: scrapes every 0.1 s during the churn
	done
	wait "$CHURN_PID" || fail "the churner failed"
	CHURN_PID=""
	# a few cycles after the last removal: rescanned, handles closed
	cycles_after 3 "$PORT" || fail "no cycles after the churn"
	kill -0 "$AGENT_PID" 2>/dev/null || { cat "$TMP/agent.log"; fail "agent died during the churn"; }
	scrape_all "$PORT" || fail "endpoints after the churn"
	errors_after=$(metric cadet_agent_cgroup_read_errors_total "$PORT")
	scans_after=$(metric cadet_agent_discovery_scans_total "$PORT")
	vanished=$(metric cadet_agent_cgroups_vanished_total "$PORT")
	fds_after=$(churn_fds "$AGENT_PID")
	echo "part 1: $(cat "$TMP/churned") containers churned, $scrapes scrape rounds, $((scans_after - scans_before)) scans," \
		"$vanished vanished between scan and read, $fds_after fds left into removed cgroups"
	[ "$errors_after" = "$errors_before" ] ||
		{ grep -i warn "$TMP/agent.log" | tail -5; fail "vanishing cgroups counted as read errors ($errors_before -> $errors_after)"; }
	[ $((scans_after - scans_before)) -gt 0 ] || fail "the agent never rescanned during the churn"
	[ "$vanished" -gt 0 ] || fail "no cgroup vanished between discovery and read: the churn did not reach the agent"
	[ "$fds_after" -eq 0 ] || { find "/proc/$AGENT_PID/fd" -lname "*churn*" -exec ls -l {} + | head; fail "$fds_after fds leaked into removed cgroups"; }
	stop_agent
else
	skip_part vanishing-real "needs root and cgroup v1 controllers: part 1 (cgroups vanishing on the real hierarchy) not run"
fi

# ---- part 2: garbage, empty and huge files in a fixture tree ----
T=$TMP/cgroup
POD=kubepods/burstable/pod6b9f3c2a-1d4e-4f5a-8b7c-9d0e1f2a3b4c
BAD=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
GOOD=fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210

# v2_cgroup REL USAGE_USEC: the files a v2 cgroup has, usage as given.
v2_cgroup() {
	mkdir -p "$T/$1"
	printf 'usage_usec %s\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n' "$2" \
		> "$T/$1/cpu.stat"
	echo 1048576 > "$T/$1/memory.current"
	printf 'anon 524288\nfile 524288\ninactive_file 262144\npgfault 10\npgmajfault 1\n' > "$T/$1/memory.stat"
	echo max > "$T/$1/memory.max"
	echo 3 > "$T/$1/pids.current"
}
mkdir -p "$T"
echo "cpu memory pids" > "$T/cgroup.controllers"
v2_cgroup "" 99000000
v2_cgroup kubepods 5000000
v2_cgroup "$POD" 3000000
v2_cgroup "$POD/$BAD" 1000000
v2_cgroup "$POD/$GOOD" 2000000

# usage_ns ID: usageCoreNanoSeconds of container ID in /stats/summary, or "absent".
usage_ns() {
	curl -fsS "http://127.0.0.1:$PORT/stats/summary" | python3 -c '
import json, sys
want = sys.argv[1]
for pod in json.load(sys.stdin).get("pods", []):
    for c in pod.get("containers", []):
        if c["name"] == want:
            print(c["cpu"]["usageCoreNanoSeconds"]); sys.exit(0)
print("absent")' "$1"
}

# wait_usage ID VALUE: waits up to 5 s for container ID to report VALUE.
wait_usage() {
	_i=0
	while [ "$(usage_ns "$1")" != "$2" ]; do
		_i=$((_i + 1))
		[ $_i -lt 50 ] || return 1
		sleep 0.1
	done
}

PORT=$(free_port)
start_agent "$PORT" --cgroup-root "$T" --interval 200ms
wait_usage "$BAD" 1000000000 || fail "container $BAD not collected from the fixture tree"
wait_usage "$GOOD" 2000000000 || fail "container $GOOD not collected from the fixture tree"
[ "$(metric cadet_agent_cgroup_read_errors_total "$PORT")" = 0 ] || fail "read errors on a clean tree"

# fault NAME: writes the bad cpu.stat (by NAME), checks the agent through it,
# restores a good one with a new value. Files are rewritten in place, so the
# agent's kept descriptors see every change.
round=0
fault() {
	round=$((round + 1))
	errors0=$(metric cadet_agent_cgroup_read_errors_total "$PORT")
	case $1 in
	garbage) printf 'usage_usec twelve\n\001\002\377 garbage\n' > "$T/$POD/$BAD/cpu.stat" ;;
	empty) : > "$T/$POD/$BAD/cpu.stat" ;;
	huge) python3 -c 'import sys; sys.stdout.write("usage_usec 1\n" + "nr_bursts 0\n" * 90000)' \
		> "$T/$POD/$BAD/cpu.stat" ;;
	esac
	good_val=$((2000000 + round * 111111))
	printf 'usage_usec %s\nuser_usec 1000\nsystem_usec 500\n' "$good_val" > "$T/$POD/$GOOD/cpu.stat"
	cycles_after 5 "$PORT" || fail "$1 cpu.stat: no cycles"
	errors1=$(metric cadet_agent_cgroup_read_errors_total "$PORT")
	[ "$errors1" -gt "$errors0" ] || fail "$1 cpu.stat: read errors did not grow ($errors0 -> $errors1)"
	scrape_all "$PORT" || fail "$1 cpu.stat: an endpoint failed"
	[ "$(usage_ns "$BAD")" != absent ] || fail "$1 cpu.stat: the broken container was dropped from the summary"
	wait_usage "$GOOD" "${good_val}000" || fail "$1 cpu.stat: the sibling container stopped being collected"

	bad_val=$((1000000 + round * 7777))
	printf 'usage_usec %s\nuser_usec 1000\nsystem_usec 500\n' "$bad_val" > "$T/$POD/$BAD/cpu.stat"
	wait_usage "$BAD" "${bad_val}000" || fail "$1 cpu.stat: no recovery after the file was restored"
	errors2=$(metric cadet_agent_cgroup_read_errors_total "$PORT")
	cycles_after 3 "$PORT" || fail "$1 cpu.stat: no cycles after recovery"
	errors3=$(metric cadet_agent_cgroup_read_errors_total "$PORT")
	[ "$errors3" = "$errors2" ] || fail "$1 cpu.stat: read errors still growing after recovery ($errors2 -> $errors3)"
	echo "part 2: $1 cpu.stat: $((errors1 - errors0)) read errors counted, recovered"
}
fault garbage
fault empty
fault huge

kill -0 "$AGENT_PID" 2>/dev/null || fail "agent died"
# Logged once per broken spell (three), each naming the cgroup and the file.
logged=$(grep -c "$BAD" "$TMP/agent.log")
named=$(grep "$BAD" "$TMP/agent.log" | grep -c "cpu.stat")
[ "$logged" -eq 3 ] || { cat "$TMP/agent.log"; fail "expected 3 log lines for the broken container, got $logged"; }
[ "$named" -eq 3 ] || { cat "$TMP/agent.log"; fail "log lines do not name cpu.stat"; }
grep "$BAD" "$TMP/agent.log" | sed 's/^/log: /'
stop_agent
echo "PASS"
