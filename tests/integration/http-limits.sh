#!/bin/sh
# http-limits.sh: the connection limits of every HTTP server, against the
# real cadet-agent (plain --debug-listen and HTTPS --listen, reading a cgroup
# fixture tree) and the real cadet-aggregator (HTTPS API, self-signed),
# all started with --max-connections 6, with python clients
# (tests/lib/http-clients.py) and curl on loopback. What must hold:
#   - slowloris: three clients per server that start a request and then send
#     one more header byte every second are each closed by the server 9 to
#     15 s after they connected (the 10 s request deadline), although they
#     never stop sending; while they trickle, /healthz on all three servers
#     answers 200 every second (others are served meanwhile), and a
#     keep-alive client sending a request every 4 s keeps its one
#     connection for 12 s (the deadline is per request, not per
#     connection); the drops show in each daemon's
#     *_http_slow_clients_dropped_total;
#   - the cap: with 6 idle connections held open, a 7th client is not
#     answered (it waits in the backlog) until one of the 6 closes, and is
#     answered right after that (well before the held ones' deadline);
#     checked on the agent's plain listener and on the aggregator's HTTPS;
#   - the head limit, pinned at exactly the limit: evhttp counts the
#     request line and every header line without their CRLFs against one
#     budget (8192 bytes on the agent, 32768 on the aggregator); a request
#     line of exactly the limit, and a request line plus headers of exactly
#     the limit, are answered 200, one byte more is refused (400, or the
#     connection closed before the 400 is read); the server goes on
#     serving;
#   - nothing leaks: afterwards each server counts only the client asking
#     (*_http_connections), the daemons have no more open descriptors than
#     before the test (+2 of slack), and both exit 0 on SIGTERM.
# Everything started is stopped and removed (trap).
set -u
. tests/lib/agent.sh
. tests/lib/aggregator.sh

CLIENTS="python3 tests/lib/http-clients.py"
why=$(agg_missing)
[ -n "$why" ] || [ -x "$CADET_AGENT" ] || why="$CADET_AGENT not built"
if [ -n "$why" ]; then
	echo "skipped: $why"
	exit 77
fi

TMP=$(mktemp -d /tmp/cadet-http-limits.XXXXXX)
AGENT_PID=""
cleanup() {
	for pid in $(jobs -p); do
		kill "$pid" 2>/dev/null
	done
	[ -n "$AGENT_PID" ] && stop_pid "$AGENT_PID" 2>/dev/null
	[ -n "$AGG_PID" ] && stop_pid "$AGG_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	echo "--- agent log:"
	tail -n 20 "$TMP/agent.log" 2>/dev/null
	echo "--- aggregator log:"
	tail -n 20 "$TMP/aggregator.log" 2>/dev/null
	exit 1
}

DEBUG_PORT=$(free_port)
TLS_PORT=$(free_port)
"$CADET_AGENT" --cgroup-root tests/fixtures/v2-systemd --node-name limits --container-runtime-endpoint "" \
	--bpf=false --listen "127.0.0.1:$TLS_PORT" --debug-listen "127.0.0.1:$DEBUG_PORT" --max-connections 6 \
	>"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
agg_start "$TMP" --max-connections 6 || fail "aggregator start"
wait_url "http://127.0.0.1:$DEBUG_PORT/healthz" 20 || fail "agent /healthz"

DEBUG_URL=http://127.0.0.1:$DEBUG_PORT
TLS_URL=https://127.0.0.1:$TLS_PORT
AGG_URL=https://127.0.0.1:$AGG_HTTPS_PORT
agg_wait curl -fsk "$AGG_URL/healthz" || fail "aggregator /healthz"
curl -fsk "$TLS_URL/healthz" >/dev/null || fail "agent HTTPS /healthz"

fds() { ls "/proc/$1/fd" | wc -l; }
AGENT_FDS=$(fds "$AGENT_PID")
AGG_FDS=$(fds "$AGG_PID")

# metric VALUE-OF URL NAME-WITH-LABELS
metric() {
	curl -fsk "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}

echo "== slowloris: 3 trickling clients per server, others served meanwhile"
$CLIENTS trickle 127.0.0.1 "$DEBUG_PORT" 3 20 >"$TMP/trickle-debug" 2>&1 &
TRICKLE_PIDS=$!
$CLIENTS trickle 127.0.0.1 "$TLS_PORT" 3 20 --tls >"$TMP/trickle-tls" 2>&1 &
TRICKLE_PIDS="$TRICKLE_PIDS $!"
$CLIENTS trickle 127.0.0.1 "$AGG_HTTPS_PORT" 3 20 --tls >"$TMP/trickle-agg" 2>&1 &
TRICKLE_PIDS="$TRICKLE_PIDS $!"
$CLIENTS keepalive 127.0.0.1 "$DEBUG_PORT" /healthz 4 4 >"$TMP/keepalive" 2>&1 &
KEEPALIVE_PID=$!
# trickling: each server holds its 3 slow clients (and the debug listener
# the keep-alive one), counted by the daemons themselves
trickling() {
	[ "$(metric "$DEBUG_URL" 'cadet_agent_http_connections{listener="debug"}')" -ge 5 ] &&
		[ "$(metric "$DEBUG_URL" 'cadet_agent_http_connections{listener="https"}')" -ge 3 ] &&
		[ "$(metric "$AGG_URL" cadet_aggregator_http_connections)" -ge 4 ]
}
wait_for 10 trickling || fail "the slow clients did not all connect"
i=0
while [ $i -lt 8 ]; do
	for u in "$DEBUG_URL" "$TLS_URL" "$AGG_URL"; do
		code=$(curl -sk -m 2 -o /dev/null -w '%{http_code}' "$u/healthz")
		[ "$code" = 200 ] || fail "$u/healthz answered '$code' while slow clients trickled (want 200 within 2 s)"
	done
	sleep 1 # the test: served every second while the slow clients trickle
	i=$((i + 1))
done
wait "$KEEPALIVE_PID" || fail "keep-alive client: $(cat "$TMP/keepalive")"
# shellcheck disable=SC2086
wait $TRICKLE_PIDS
for f in debug tls agg; do
	lines=$(cat "$TMP/trickle-$f")
	echo "$f: $(echo "$lines" | tr '\n' ' ')"
	[ "$(echo "$lines" | grep -c '^closed')" -eq 3 ] || fail "$f: slow clients not all closed within 20 s: $lines"
	echo "$lines" | awk '{ if ($2 < 9 || $2 > 15) bad = 1 } END { exit bad }' ||
		fail "$f: slow clients closed outside 9..15 s after connecting: $lines"
done
grep -q "^ok 4" "$TMP/keepalive" || fail "keep-alive client: $(cat "$TMP/keepalive")"
for m in "$DEBUG_URL cadet_agent_http_slow_clients_dropped_total{listener=\"debug\"}" \
	"$DEBUG_URL cadet_agent_http_slow_clients_dropped_total{listener=\"https\"}" \
	"$AGG_URL cadet_aggregator_http_slow_clients_dropped_total"; do
	# shellcheck disable=SC2086
	v=$(metric $m)
	[ "${v:-0}" -ge 3 ] || fail "metric ${m#* } is '$v', want at least 3"
done

# cap URL PORT [--tls]: holds 6 idle connections; a 7th client must wait
# until one is released, then be answered at once.
cap() {
	url=$1 port=$2 tls=${3:-}
	rm -f "$TMP/hold.in"
	mkfifo "$TMP/hold.in"
	# shellcheck disable=SC2086
	$CLIENTS hold 127.0.0.1 "$port" 6 $tls <"$TMP/hold.in" >"$TMP/hold.out" 2>&1 &
	hold_pid=$!
	exec 3>"$TMP/hold.in"
	agg_wait grep -q "^held 6" "$TMP/hold.out" || fail "$url: could not open 6 connections: $(cat "$TMP/hold.out")"
	# the server has accepted all 6: its listen queue is empty
	wait_for 10 sh -c '[ "$(ss -Hltn "sport = :$1" | awk "{ print \$2 }")" = 0 ]' queue "$port" ||
		fail "$url: the 6 held connections were not accepted"
	curl -sk -m 12 -o /dev/null -w '%{http_code} %{time_total}\n' "$url/healthz" >"$TMP/waiter" 2>&1 &
	waiter=$!
	sleep 3 # the test: not answered for 3 s while the 6 are held
	kill -0 "$waiter" 2>/dev/null || fail "$url: a 7th client was answered while 6 connections were open: $(cat "$TMP/waiter")"
	echo >&3 # release one
	wait "$waiter"
	read -r code secs <"$TMP/waiter"
	echo "$url: 7th client answered $code after ${secs}s (one of 6 released after 3 s)"
	[ "$code" = 200 ] || fail "$url: the waiting client got '$code', want 200"
	awk -v s="$secs" 'BEGIN { exit !(s >= 2.5 && s < 6.5) }' ||
		fail "$url: the waiting client took ${secs}s; want 2.5 to 6.5 s (served when the slot freed, not at the 10 s deadline)"
	exec 3>&-
	wait "$hold_pid"
}
echo "== the cap: a 7th client waits until one of 6 connections closes"
cap "$DEBUG_URL" "$DEBUG_PORT"
cap "$AGG_URL" "$AGG_HTTPS_PORT" --tls
grep -q "6 connections open, the limit" "$TMP/agent.log" || fail "agent did not log reaching the limit"
grep -q "6 connections open, the limit" "$TMP/aggregator.log" || fail "aggregator did not log reaching the limit"

echo "== the head limit: exactly the limit accepted, one byte more refused"
for spec in "$DEBUG_URL $DEBUG_PORT 8192" "$TLS_URL $TLS_PORT 8192 --tls" "$AGG_URL $AGG_HTTPS_PORT 32768 --tls"; do
	# shellcheck disable=SC2086
	set -- $spec
	u=$1 port=$2 limit=$3 tls=${4:-}
	for what in line headers; do
		# shellcheck disable=SC2086
		got=$($CLIENTS sized 127.0.0.1 "$port" "$what" "$limit" $tls)
		[ "$got" = 200 ] || fail "$u: a head of $limit bytes ($what) got '$got'; want 200 (the limit is $limit)"
		# shellcheck disable=SC2086
		got=$($CLIENTS sized 127.0.0.1 "$port" "$what" $((limit + 1)) $tls)
		case "$got" in 400 | closed) ;;
		*) fail "$u: a head of $((limit + 1)) bytes ($what) got '$got'; want 400 or closed (the limit is $limit)" ;;
		esac
	done
	code=$(curl -sk -m 5 -o /dev/null -w '%{http_code}' "$u/healthz")
	[ "$code" = 200 ] || fail "$u: /healthz after oversized requests got '$code', want 200"
done

echo "== nothing leaked"
# the clients are gone once each server counts only the one asking
left() {
	[ "$(metric "$DEBUG_URL" 'cadet_agent_http_connections{listener="debug"}')" = 1 ] &&
		[ "$(metric "$DEBUG_URL" 'cadet_agent_http_connections{listener="https"}')" = 0 ] &&
		[ "$(metric "$AGG_URL" cadet_aggregator_http_connections)" = 1 ]
}
wait_for 10 left
v=$(metric "$DEBUG_URL" 'cadet_agent_http_connections{listener="debug"}')
[ "$v" = 1 ] || fail "agent debug listener counts $v connections after the clients left; want 1 (the asking one)"
v=$(metric "$DEBUG_URL" 'cadet_agent_http_connections{listener="https"}')
[ "$v" = 0 ] || fail "agent HTTPS listener counts $v connections after the clients left; want 0"
v=$(metric "$AGG_URL" cadet_aggregator_http_connections)
[ "$v" = 1 ] || fail "aggregator counts $v connections after the clients left; want 1 (the asking one)"
now=$(fds "$AGENT_PID")
[ "$now" -le $((AGENT_FDS + 2)) ] || fail "agent has $now open descriptors, $AGENT_FDS before the test"
now=$(fds "$AGG_PID")
[ "$now" -le $((AGG_FDS + 2)) ] || fail "aggregator has $now open descriptors, $AGG_FDS before the test"

stop_pid "$AGENT_PID" || fail "agent exit status $? on SIGTERM"
AGENT_PID=""
agg_stop || fail "aggregator exit status $? on SIGTERM"
echo "PASS"
