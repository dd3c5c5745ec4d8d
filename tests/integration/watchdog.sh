#!/bin/sh
# watchdog.sh: cadet-agent's systemd watchdog follows collection, not the
# event loop. A Python datagram socket plays systemd's NOTIFY_SOCKET (with
# WATCHDOG_USEC=1 s: a wake-up every 0.5 s) and stamps every notification
# with CLOCK_MONOTONIC; the agent collects every 1 s from a copy of the v2
# fixture tree, so its watchdog bound is 3 s (three intervals) and /healthz's
# is 13 s (three intervals + 10 s).
#
# 1. Healthy: WATCHDOG=1 keeps coming, never more than 1 s apart.
# 2. A node file that cannot be parsed does not stop collection (issue 14:
#    one unreadable node file never stops pod collection): the agent runs in
#    its own mount namespace with a copy of /proc/meminfo bound over it, and
#    the test removes MemTotal/MemFree from the copy. The cycle still
#    completes, so the node's failure is logged once, WATCHDOG=1 keeps
#    coming and /healthz stays 200. Since then no input from outside makes a
#    cycle fail without hanging it; pings withheld while the loop runs are
#    shown by the unit test test_sd_integration, and a stuck cycle by 3.
# 3. A real hang: a FIFO with no writer appears at the fixture root's
#    memory.current, a file the agent tries to open on every cycle while it
#    is absent, so the cycle blocks in open(). No WATCHDOG=1 arrives. Serving
#    stops too: collection runs on the event loop, so the loop is blocked
#    with it (a later design that moves collection off the loop keeps
#    serving; the pings would stop the same way, as test_sd_integration shows). Writing to the
#    FIFO releases the open, the cycle completes, pings resume; the agent
#    then stops cleanly on SIGTERM.
# 4. The aggregator's progress is its store sweep (every --metric-resolution,
#    bound three of them): a healthy aggregator pings at least every 1 s. (A
#    sweep that stops while the loop runs cannot be made from outside; the
#    unit test test_sd_integration shows pings stop with the progress.)
set -u
. tests/lib/agent.sh

for tool in unshare mount mkfifo python3 curl; do
	command -v "$tool" >/dev/null 2>&1 || { echo "skipped: $tool missing"; exit 77; }
done
[ -x "$CADET_AGENT" ] || fail "$CADET_AGENT not built"

TMP=$(mktemp -d)
AGENT_PID=""
AGG_PID=""
LISTENER_PID=""
cleanup() {
	# a cycle blocked on the FIFO cannot take SIGTERM: release it first
	[ -p "$TMP/tree/memory.current" ] && timeout 2 sh -c "echo release > '$TMP/tree/memory.current'" 2>/dev/null
	if [ -n "$AGENT_PID" ]; then
		kill "$AGENT_PID" 2>/dev/null
		_n=0
		while kill -0 "$AGENT_PID" 2>/dev/null && [ $_n -lt 50 ]; do
			sleep 0.1
			_n=$((_n + 1))
		done
		kill -9 "$AGENT_PID" 2>/dev/null
		wait "$AGENT_PID" 2>/dev/null
	fi
	[ -n "$AGG_PID" ] && kill "$AGG_PID" 2>/dev/null && wait "$AGG_PID" 2>/dev/null
	[ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null && wait "$LISTENER_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
show_logs() {
	echo "--- agent log"
	cat "$TMP/agent.log"
	[ -f "$TMP/agg.log" ] && { echo "--- aggregator log"; cat "$TMP/agg.log"; }
	echo "--- notifications"
	cat "$TMP/notify.log"
}

# One line per notification: "<CLOCK_MONOTONIC s> <message, newlines as |>".
cat > "$TMP/listen.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        msg = s.recv(4096).decode()
        out.write("%.3f %s\n" % (time.monotonic(), msg.replace("\n", "|")))
        out.flush()
EOF
python3 "$TMP/listen.py" "$TMP/notify.sock" "$TMP/notify.log" &
LISTENER_PID=$!
n=0
while [ ! -S "$TMP/notify.sock" ]; do
	n=$((n + 1))
	[ $n -lt 50 ] || fail "notification listener did not start"
	sleep 0.1
done

now() { python3 -c 'import time; print("%.3f" % time.monotonic())'; }
# pings_after T: WATCHDOG=1 notifications received after monotonic time T.
pings_after() { awk -v t="$1" '$1 > t && $2 == "WATCHDOG=1"' "$TMP/notify.log" | wc -l; }
# wait_pings_after T N SECONDS: waits until N pings arrived after T.
wait_pings_after() {
	_n=$(($3 * 10))
	while [ "$(pings_after "$1")" -lt "$2" ]; do
		_n=$((_n - 1))
		[ $_n -gt 0 ] || { show_logs; fail "fewer than $2 WATCHDOG=1 within $3 s"; }
		sleep 0.1
	done
}
# regular_pings_after T: every WATCHDOG=1 after T less than 1 s
# (WATCHDOG_USEC) after the one before.
regular_pings_after() {
	awk -v t="$1" '$1 > t && $2 == "WATCHDOG=1" {
		if (last && $1 - last >= 1.0) { print "gap " $1 - last " s before " $1; bad = 1 }
		last = $1
	} END { exit bad }' "$TMP/notify.log"
}
# wait_log PATTERN SECONDS: waits until the agent's log has PATTERN.
wait_log() {
	_n=$(($2 * 10))
	while ! grep -q "$1" "$TMP/agent.log"; do
		_n=$((_n - 1))
		[ $_n -gt 0 ] || { show_logs; fail "agent did not log \"$1\" within $2 s"; }
		sleep 0.1
	done
}
# healthz: prints the status code of GET /healthz (000: no answer in 2 s).
healthz() { curl -s -o "$TMP/healthz.body" -w '%{http_code}' --max-time 2 "$BASE/healthz"; }

cp -a tests/fixtures/v2-systemd "$TMP/tree" || fail "copying the v2-systemd fixture"
cp /proc/meminfo "$TMP/meminfo.good" || fail "copying /proc/meminfo"
grep -v -e '^MemTotal:' -e '^MemFree:' "$TMP/meminfo.good" > "$TMP/meminfo.bad"
cp "$TMP/meminfo.good" "$TMP/meminfo"

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
# unshare -m execs (no fork), and so does the shell: $! is the agent. The
# bind mount lives in that namespace only and goes with the agent.
NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=1000000 unshare -m --propagation private \
	sh -c 'mount --bind "$1" /proc/meminfo && shift && exec "$@"' sh "$TMP/meminfo" \
	"$CADET_AGENT" --cgroup-root "$TMP/tree" --node-name fixture-node --listen "" \
	--debug-listen "127.0.0.1:$PORT" --interval 1s --window 3s --container-runtime-endpoint= --bpf=false \
	>"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
wait_url "$BASE/healthz" 10 || { show_logs; fail "agent did not become healthy"; }

# --- 1. healthy: regular pings
t=$(now)
wait_pings_after "$t" 5 5
regular_pings_after "$t"
check "healthy: WATCHDOG=1 at least every 1 s (WATCHDOG_USEC)"

# --- 2. an unparsable node file: logged once, collection and pings go on
cat "$TMP/meminfo.bad" > "$TMP/meminfo"
wait_log "node unreadable, pods still collected: .*MemTotal" 5
t=$(now)
wait_pings_after "$t" 5 5
regular_pings_after "$t"
check "node file unparsable: cycles still complete, WATCHDOG=1 at least every 1 s"
[ "$(healthz)" = 200 ]
check "node file unparsable: /healthz stays 200"
[ "$(grep -c 'node unreadable' "$TMP/agent.log")" -eq 1 ]
check "node file unparsable: logged once"
! grep -q "watchdog: not pinging" "$TMP/agent.log"
check "node file unparsable: no ping withheld"
cat "$TMP/meminfo.good" > "$TMP/meminfo"

# --- 3. a real hang: a cycle blocked in open() on a FIFO with no writer
mkfifo "$TMP/tree/memory.current" || fail "mkfifo"
n=0
until [ "$(cat "/proc/$AGENT_PID/wchan" 2>/dev/null)" = wait_for_partner ]; do
	n=$((n + 1))
	[ $n -lt 50 ] || { show_logs; fail "the agent did not block on the FIFO within 5 s"; }
	sleep 0.1
done
t_hang=$(now)
# collection runs on the event loop, so serving is blocked with it
code=$(healthz)
[ "$code" = 000 ]
check "hung: no answer from /healthz (the loop is blocked in the cycle)"
# observe past the bound: 3 s + 1 s
sleep 4
[ "$(cat "/proc/$AGENT_PID/wchan" 2>/dev/null)" = wait_for_partner ]
check "hung: still blocked on the FIFO"
late=$(pings_after "$t_hang")
[ "$late" -eq 0 ] || { show_logs; fail "$late WATCHDOG=1 while the cycle hung"; }
echo "ok: hung: no WATCHDOG=1 past the bound"

# release: the open completes, the read of a FIFO fails (ESPIPE) and the
# root cgroup is optional, so the cycle completes
t=$(now)
timeout 5 sh -c "echo release > '$TMP/tree/memory.current'" || fail "could not release the FIFO"
rm -f "$TMP/tree/memory.current"
wait_pings_after "$t" 1 5
wait_url "$BASE/healthz" 5 || { show_logs; fail "/healthz not 200 after the hang was released"; }
echo "ok: released: pings resume, /healthz 200"

kill -TERM "$AGENT_PID"
n=0
while kill -0 "$AGENT_PID" 2>/dev/null; do
	n=$((n + 1))
	[ $n -lt 100 ] || { show_logs; fail "agent did not exit within 10 s of SIGTERM"; }
	sleep 0.1
done
wait "$AGENT_PID"
rc=$?
AGENT_PID=""
[ $rc -eq 0 ] || { show_logs; fail "agent exited $rc on SIGTERM"; }
grep -q " STOPPING=1" "$TMP/notify.log"
check "stopped cleanly: exit 0, STOPPING=1"

# --- 4. the aggregator: pings follow its sweep
CADET_AGGREGATOR=${CADET_AGGREGATOR:-$BUILD/cadet-aggregator}
[ -x "$CADET_AGGREGATOR" ] || fail "$CADET_AGGREGATOR not built"
t=$(now)
NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=1000000 "$CADET_AGGREGATOR" --listen "127.0.0.1:$(free_port)" \
	--grpc-listen "127.0.0.1:$(free_port)" --metric-resolution 1s >"$TMP/agg.log" 2>&1 &
AGG_PID=$!
wait_pings_after "$t" 8 10 # 4 s: past the bound of 3 s, several sweeps in
regular_pings_after "$t" && ! grep -q "not pinging" "$TMP/agg.log"
check "aggregator: WATCHDOG=1 at least every 1 s while its sweep runs"
kill -TERM "$AGG_PID"
wait "$AGG_PID"
rc=$?
AGG_PID=""
[ $rc -eq 0 ] || { show_logs; fail "aggregator exited $rc on SIGTERM"; }
