#!/bin/sh
# systemd-notify.sh: cadet-agent and cadet-aggregator as systemd sees them,
# without systemd as PID 1.
#
# A small Python listener plays systemd's notification socket
# (NOTIFY_SOCKET); systemd-socket-activate plays the .socket unit (it binds
# the port and execs the agent with LISTEN_FDS). Checks: the agent serves
# /healthz on the socket it was given, sends READY=1 with a STATUS= line,
# WATCHDOG=1 at half of WATCHDOG_USEC, survives SIGHUP, and sends
# STOPPING=1 and exits 0 on SIGTERM; the aggregator sends READY=1 and
# STOPPING=1 the same way.
set -u
. tests/lib/agent.sh

CADET_AGGREGATOR=${CADET_AGGREGATOR:-$BUILD/cadet-aggregator}
command -v systemd-socket-activate >/dev/null 2>&1 ||
	{ echo "skipped: systemd-socket-activate missing (the systemd package)"; exit 77; }
[ -x "$CADET_AGENT" ] || fail "$CADET_AGENT not built"

TMP=$(mktemp -d)
AGENT_PID=""
AGG_PID=""
LISTENER_PID=""
cleanup() {
	[ -n "$AGENT_PID" ] && stop_pid "$AGENT_PID" 2>/dev/null
	[ -n "$AGG_PID" ] && stop_pid "$AGG_PID" 2>/dev/null
	[ -n "$LISTENER_PID" ] && stop_pid "$LISTENER_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# The notification socket: one datagram per line group, "--" between them.
cat > "$TMP/listen.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(4096).decode() + "\n--\n")
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

# wait_for PATTERN SECONDS: waits until the notification log has PATTERN.
wait_for() {
	_n=$(($2 * 10))
	while ! grep -q "$1" "$TMP/notify.log" 2>/dev/null; do
		_n=$((_n - 1))
		[ $_n -gt 0 ] || { cat "$TMP/notify.log" 2>/dev/null; fail "no $1 within $2 s"; }
		sleep 0.1
	done
}

# --- agent: socket activation, readiness, watchdog, SIGHUP, stop
PORT=$(free_port)
# systemd-socket-activate binds the port, then execs the agent in its own
# process (so $! is the agent) once the first connection arrives.
NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=1000000 \
	systemd-socket-activate -E NOTIFY_SOCKET -E WATCHDOG_USEC -l "127.0.0.1:$PORT" \
	"$CADET_AGENT" --bpf=false --interval 1s --debug-listen "" >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
# the passed socket is the agent's --listen: HTTPS, self-signed here
n=0
until curl -fsSk -o /dev/null "https://127.0.0.1:$PORT/healthz" 2>/dev/null; do
	n=$((n + 1))
	[ $n -lt 100 ] || { cat "$TMP/agent.log"; fail "agent did not answer on the passed socket"; }
	sleep 0.1
done
wait_for '^READY=1' 5
grep -q "^STATUS=.*serving on 127.0.0.1:$PORT" "$TMP/notify.log" || { cat "$TMP/notify.log"; fail "no STATUS line naming the socket"; }
grep -q "HTTPS on 127.0.0.1:$PORT" "$TMP/agent.log" || { cat "$TMP/agent.log"; fail "the log does not name the passed socket"; }
# WATCHDOG_USEC=1 s: a ping every 0.5 s, so three within 2 s.
sleep 2
pings=$(grep -c '^WATCHDOG=1' "$TMP/notify.log")
[ "$pings" -ge 3 ] || { cat "$TMP/notify.log"; fail "$pings watchdog pings in 2 s, want >= 3"; }

kill -HUP "$AGENT_PID"
n=0
until grep -q "SIGHUP" "$TMP/agent.log" || [ $n -ge 50 ]; do
	n=$((n + 1))
	sleep 0.1
done
kill -0 "$AGENT_PID" 2>/dev/null || fail "agent died on SIGHUP"
grep -q "SIGHUP" "$TMP/agent.log" || { cat "$TMP/agent.log"; fail "SIGHUP not logged"; }
curl -fsSk -o /dev/null "https://127.0.0.1:$PORT/healthz" || fail "agent stopped serving after SIGHUP"

stop_pid "$AGENT_PID"
rc=$?
AGENT_PID=""
[ $rc -eq 0 ] || { cat "$TMP/agent.log"; fail "agent exited $rc on SIGTERM"; }
wait_for '^STOPPING=1' 2

# --- aggregator: readiness and stop
if [ -x "$CADET_AGGREGATOR" ]; then
	: > "$TMP/notify.log"
	API_PORT=$(free_port)
	GRPC_PORT=$(free_port)
	NOTIFY_SOCKET=$TMP/notify.sock "$CADET_AGGREGATOR" --listen "127.0.0.1:$API_PORT" \
		--grpc-listen "127.0.0.1:$GRPC_PORT" >"$TMP/agg.log" 2>&1 &
	AGG_PID=$!
	wait_for '^READY=1' 10
	curl -fsSk -o /dev/null "https://127.0.0.1:$API_PORT/healthz" || { cat "$TMP/agg.log"; fail "aggregator READY but /healthz fails"; }
	stop_pid "$AGG_PID"
	rc=$?
	AGG_PID=""
	[ $rc -eq 0 ] || { cat "$TMP/agg.log"; fail "aggregator exited $rc on SIGTERM"; }
	wait_for '^STOPPING=1' 2
else
	fail "$CADET_AGGREGATOR not built"
fi
echo "ok: socket activation, READY/STATUS, watchdog, SIGHUP, STOPPING"
