#!/bin/sh
# fault-aggregator.sh: cadet-agent when its aggregator is down, frozen or
# killed, with the real cadet-agent and cadet-aggregator on loopback.
#
# The agent reads a copy of tests/fixtures/v2-systemd given a root
# memory.current (and memory.stat), which the agent prefers to procfs for
# the node's memory, so the node's working set is ours to set; it runs with
# --interval 1s --window 2s (a push every 2 s, a 2 s send timeout, retries
# capped at 2 s) and pushes over mutual TLS to the aggregator
# (--metric-resolution 2s), read back with curl and a client certificate.
# The value is checked in NodeMetrics: pods are only pushed once CRI has
# named them, and this test runs no container runtime.
#
# Phase 1, aggregator down at agent start: the agent serves /healthz and
# /metrics/resource (with the fixture's value) and logs "cannot push to
# aggregator" exactly once while it keeps retrying; once the aggregator
# starts on the agent's target port, fault-node is in NodeMetrics with that
# value within 10 s and the agent logs that pushing works again.
# Phase 2, slow reader: the aggregator is stopped (SIGSTOP) for 8 s, four
# push periods and longer than the send timeout. Meanwhile every GET of
# /metrics/resource, /stats/summary and /healthz answers 200 within 2 s
# (curl --max-time 2); cadet_agent_collection_cycles_total advances at least
# once per 1.5 s; the node's memory.current is changed and the agent's own
# /metrics/resource shows the new working set within 3 s. After SIGCONT,
# NodeMetrics shows the new value within 8 s (two periods, a retry and
# slack) with a timestamp no older than SIGCONT minus one window, and still
# does, with a timestamp that did not go back, 4 s later: the newest data,
# not an old report from a backlog. (The node-only reports are small enough
# for the socket buffers, so whether a send timed out is only printed.)
# Phase 3, killed mid-stream: the aggregator gets SIGKILL; for 4 s the agent
# keeps serving every path within 2 s and collecting once per 1.5 s or
# better; the value is changed again and served locally; the aggregator is
# restarted on the same ports and NodeMetrics has the newest value within
# 10 s; the agent logged this outage once and its end.
# Nothing leaked: the agent's open descriptors and threads at the end are
# at most 2 above their count after phase 1 (slack for gRPC's own sockets
# and threads), the agent never exited, and both daemons exit 0 on SIGTERM
# (LeakSanitizer's check included in a sanitizer build).
# Everything started is stopped and the temporary directory removed.
set -u
BUILD=${BUILD:-build}
. tests/lib/agent.sh
. tests/lib/aggregator.sh

why=$(agg_missing)
[ -n "$why" ] || [ -x "$CADET_AGENT" ] || why="$CADET_AGENT not built"
[ -n "$why" ] || [ -d /proc/self/task ] || why="no /proc to count descriptors and threads"
if [ -n "$why" ]; then
	echo "skipped: $why"
	exit 77
fi

TMP=$(mktemp -d /tmp/cadet-fault-agg.XXXXXX)
AGENT_PID=""
STOPPED=""
cleanup() {
	# a stopped aggregator would not act on SIGTERM
	[ -n "$STOPPED" ] && [ -n "$AGG_PID" ] && kill -CONT "$AGG_PID" 2>/dev/null
	for pid in $AGENT_PID $AGG_PID; do
		stop_pid "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

show_logs() {
	for f in agent.log aggregator.log; do
		echo "--- last lines of $f"
		tail -n 25 "$TMP/$f" 2>/dev/null
	done
}
# check (tests/lib/agent.sh) runs show_logs on failure; each checked
# command prints what it compared when it fails.
now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }
# since START_NS CMD...: runs CMD, sets SINCE_MS to the ms from START_NS to
# its end and returns CMD's status.
since() {
	_start=$1
	shift
	"$@"
	_rc=$?
	SINCE_MS=$(ms_since "$_start")
	return $_rc
}

agg_pki "$TMP"
check "test CA, server and client certificates"
cp -r tests/fixtures/v2-systemd "$TMP/fixture" &&
	cp "$TMP/fixture/kubepods.slice/memory.stat" "$TMP/fixture/memory.stat"
check "copy of the v2-systemd fixture tree with a root memory.stat"
INACTIVE_FILE=$(awk '$1 == "inactive_file" { print $2 }' "$TMP/fixture/memory.stat")
# set_working_set BYTES: the node's working set becomes BYTES
# (memory.current - inactive_file), written in place as the kernel does:
# the agent keeps the file open. Multiples of 4 KiB, so no quantity rounding
# in NodeMetrics hides a change.
set_working_set() {
	echo $(($1 + INACTIVE_FILE)) >"$TMP/fixture/memory.current"
}
WS_START=1002438656 # 244736 pages
WS_NEW=1113407488   # 271828 pages
WS_NEWER=1286795264 # 314159 pages
set_working_set "$WS_START"

AGG_LISTEN=127.0.0.1:$(free_port)
AGG_GRPC_LISTEN=127.0.0.1:$(free_port)
AGG_FLAGS="$(agg_mtls_flags "$TMP") --metric-resolution 2s"
PORT=$(free_port)
A=http://127.0.0.1:$PORT

# ---- the agent's side, through its plain-HTTP debug listener ----
metric() { # metric NAME: an unlabelled sample of the agent's /metrics
	curl -fsS --max-time 2 "$A/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}
local_ws() { # local_ws: the node's working set in /metrics/resource
	curl -fsS --max-time 2 "$A/metrics/resource" | awk '$1 == "node_memory_working_set_bytes" { printf "%.0f\n", $2 }'
}
scrape_local() { # scrape_local: every path answers 200 within 2 s
	for _p in /metrics/resource /stats/summary /healthz; do
		_t0=$(now_ns)
		curl -fsS --max-time 2 -o /dev/null "$A$_p" || {
			echo "GET $_p failed or took over 2 s (gave up after $(ms_since "$_t0") ms)"
			return 1
		}
	done
}
# cycles_kept START_CYCLES START_NS: at least one collection cycle per 1.5 s
cycles_kept() {
	_ms=$(ms_since "$2")
	_now=$(metric cadet_agent_collection_cycles_total)
	CYCLES_MSG="$((${_now:-0} - $1)) cycles in $_ms ms"
	[ -n "$_now" ] && [ $(((_now - $1) * 1500)) -ge "$_ms" ] && return 0
	echo "cadet_agent_collection_cycles_total went from $1 to '$_now' in $_ms ms; wanted one per 1.5 s or more"
	return 1
}
agent_alive() {
	kill -0 "$AGENT_PID" 2>/dev/null && return 0
	wait "$AGENT_PID"
	echo "the agent exited with status $?"
	return 1
}
fds() { find "/proc/$AGENT_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
threads() { find "/proc/$AGENT_PID/task" -mindepth 1 -maxdepth 1 | wc -l; }
push_failures_logged() { grep -c 'cannot push to aggregator' "$TMP/agent.log"; }

# ---- the aggregator's side, with the client certificate ----
# agg_state: "TIMESTAMP WORKING_SET" of fault-node in NodeMetrics, the
# timestamp in unix seconds; fails while the node is missing.
agg_state() {
	curl -fsS --max-time 3 --cacert "$TMP/ca.crt" --cert "$TMP/client.crt" --key "$TMP/client.key" \
		"https://127.0.0.1:$AGG_HTTPS_PORT/apis/metrics.k8s.io/v1beta1/nodes/fault-node" | python3 -c '
import calendar, json, sys, time
node = json.load(sys.stdin)
q = node["usage"]["memory"]
scale = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "k": 10**3, "M": 10**6, "G": 10**9}
unit = q.lstrip("0123456789")
print(calendar.timegm(time.strptime(node["timestamp"], "%Y-%m-%dT%H:%M:%SZ")),
      int(q[:len(q) - len(unit)]) * scale[unit])'
}
agg_ws_is() { # agg_ws_is BYTES: NodeMetrics has BYTES for fault-node
	_s=$(agg_state) || return 1
	[ "${_s#* }" = "$1" ]
}
agg_accepted() { # agg_accepted: reports the aggregator has accepted so far
	curl -fsS --max-time 3 --cacert "$TMP/ca.crt" --cert "$TMP/client.crt" --key "$TMP/client.key" \
		"https://127.0.0.1:$AGG_HTTPS_PORT/metrics" | awk '$1 == "cadet_aggregator_reports_total{result=\"accepted\"}" { print $2 }'
}
pushed_since() { # pushed_since N: the aggregator has accepted more than N reports
	_n=$(agg_accepted) && [ "${_n:-0}" -gt "$1" ]
}
wait_agg_ws() { # wait_agg_ws BYTES SECONDS: waits for agg_ws_is, says what it saw
	AGG_WAIT_S=$2 agg_wait agg_ws_is "$1" && return 0
	echo "NodeMetrics fault-node (timestamp working_set): $(agg_state || echo missing); wanted working set $1"
	return 1
}

# ---- phase 1: the aggregator is down when the agent starts ----
"$CADET_AGENT" --listen "" --debug-listen "127.0.0.1:$PORT" --interval 1s --window 2s --node-name fault-node \
	--bpf=false --container-runtime-endpoint "" --cgroup-root "$TMP/fixture" --log-format text \
	--aggregator "$AGG_GRPC_LISTEN" --aggregator-ca-file "$TMP/ca.crt" \
	--aggregator-cert-file "$TMP/client.crt" --aggregator-key-file "$TMP/client.key" >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
wait_url "$A/healthz" 10
check "agent healthy with its aggregator $AGG_GRPC_LISTEN down"
ws=$(local_ws)
[ "$ws" = "$WS_START" ] || { echo "node working set in /metrics/resource: '$ws', wanted $WS_START"; false; }
check "agent serves /metrics/resource with the fixture's node working set"
AGG_WAIT_S=10 agg_wait grep -q 'cannot push to aggregator' "$TMP/agent.log"
check "agent logged that it cannot push"
sleep 4 # the test: 4 s of more attempts (each waits up to the 2 s send timeout, then backs off up to 2 s)
n=$(push_failures_logged)
[ "$n" -eq 1 ] || { echo "'cannot push to aggregator' logged $n times"; false; }
check "the push failure is logged once while retries go on"
scrape_local
check "agent serves every path while it retries"

started=$(now_ns)
# shellcheck disable=SC2086
agg_start "$TMP" $AGG_FLAGS
check "aggregator started on $AGG_LISTEN, pushes on $AGG_GRPC_LISTEN"
since "$started" wait_agg_ws "$WS_START" 10
check "fault-node in NodeMetrics $SINCE_MS ms after the aggregator started (limit 10 s)"
grep -q 'pushing to aggregator .* again after' "$TMP/agent.log"
check "agent logged that pushing works again"
accepted=$(agg_accepted)
AGG_WAIT_S=10 agg_wait pushed_since "${accepted:-0}"
check "one more push on the open stream before counting"
FDS_BASE=$(fds)
THREADS_BASE=$(threads)
echo "after phase 1: the agent has $FDS_BASE open descriptors, $THREADS_BASE threads"

# ---- phase 2: the aggregator stops reading (SIGSTOP) for 8 s ----
logged_before=$(push_failures_logged)
cycles0=$(metric cadet_agent_collection_cycles_total)
kill -STOP "$AGG_PID"
STOPPED=1
stopped_at=$(now_ns)
changed_at=""
seen_ms=""
scrapes=0
while [ "$(ms_since "$stopped_at")" -lt 8000 ]; do
	scrape_local || { show_logs; fail "local GET $scrapes with the aggregator stopped"; }
	scrapes=$((scrapes + 1))
	if [ -z "$changed_at" ] && [ "$(ms_since "$stopped_at")" -ge 2000 ]; then
		set_working_set "$WS_NEW"
		changed_at=$(now_ns)
	fi
	if [ -n "$changed_at" ] && [ -z "$seen_ms" ] && [ "$(local_ws)" = "$WS_NEW" ]; then
		seen_ms=$(ms_since "$changed_at")
	fi
	sleep 0.5 # the test: GETs every 0.5 s for 8 s
done
echo "ok: $scrapes rounds of GETs of /metrics/resource, /stats/summary and /healthz answered within 2 s with the aggregator stopped"
[ -n "$seen_ms" ] && [ "$seen_ms" -le 3000 ] || {
	echo "new working set $WS_NEW seen locally after '$seen_ms' ms (limit 3000); now /metrics/resource has $(local_ws)"
	false
}
check "agent's /metrics/resource had the new working set $seen_ms ms after the change, the aggregator stopped"
cycles_kept "$cycles0" "$stopped_at"
check "collection kept its interval with the aggregator stopped ($CYCLES_MSG)"
agent_alive
check "agent running"

kill -CONT "$AGG_PID"
STOPPED=""
cont_at=$(now_ns)
since "$cont_at" wait_agg_ws "$WS_NEW" 8
check "NodeMetrics has the new working set $SINCE_MS ms after SIGCONT (limit 8 s)"
state=$(agg_state)
check "NodeMetrics read after SIGCONT: $state"
ts=${state%% *}
oldest=$((cont_at / 1000000000 - 2))
[ "$ts" -ge "$oldest" ] || { echo "timestamp $ts; SIGCONT at $((cont_at / 1000000000)) minus the 2 s window is $oldest"; false; }
check "NodeMetrics timestamp $ts is not older than SIGCONT minus one window ($oldest)"
newer_push() { # a report newer than $ts, with the newest working set
	state2=$(agg_state) && [ "${state2#* }" = "$WS_NEW" ] && [ "${state2%% *}" -gt "$ts" ]
}
AGG_WAIT_S=8 agg_wait newer_push || {
	echo "8 s later NodeMetrics has '${state2:-nothing}' (timestamp working_set); before: '$state'"
	false
}
check "pushes go on after SIGCONT: a newer report with the newest data ($state2)"
echo "info: 'cannot push to aggregator' logged $(($(push_failures_logged) - logged_before)) time(s) while stopped"

# ---- phase 3: the aggregator is killed mid-stream, then restarted ----
logged_before=$(push_failures_logged)
cycles0=$(metric cadet_agent_collection_cycles_total)
kill -KILL "$AGG_PID"
wait "$AGG_PID" 2>/dev/null
AGG_PID=""
killed_at=$(now_ns)
set_working_set "$WS_NEWER"
scrapes=0
while [ "$(ms_since "$killed_at")" -lt 4000 ]; do
	scrape_local || { show_logs; fail "local GET $scrapes with the aggregator killed"; }
	scrapes=$((scrapes + 1))
	sleep 0.5 # the test: GETs every 0.5 s for 4 s
done
echo "ok: $scrapes rounds of GETs answered within 2 s with the aggregator killed"
cycles_kept "$cycles0" "$killed_at"
check "collection kept its interval with the aggregator killed ($CYCLES_MSG)"
ws=$(local_ws)
[ "$ws" = "$WS_NEWER" ] || { echo "node working set in /metrics/resource: '$ws', wanted $WS_NEWER"; false; }
check "agent serves the newest working set with the aggregator killed"
restarted=$(now_ns)
# shellcheck disable=SC2086
agg_start "$TMP" $AGG_FLAGS
check "aggregator restarted on the same ports"
since "$restarted" wait_agg_ws "$WS_NEWER" 10
check "fault-node back with the newest working set $SINCE_MS ms after the restart (limit 10 s)"
n=$(($(push_failures_logged) - logged_before))
[ "$n" -eq 1 ] || { echo "'cannot push to aggregator' logged $n times for this outage"; false; }
check "the outage was logged once"
[ "$(grep -c 'pushing to aggregator .* again after' "$TMP/agent.log")" -ge 2 ]
check "agent logged the end of the outage"

# ---- nothing leaked ----
accepted=$(agg_accepted)
AGG_WAIT_S=10 agg_wait pushed_since "${accepted:-0}"
check "a push on the new stream"
fds_end=$(fds)
threads_end=$(threads)
[ "$fds_end" -le $((FDS_BASE + 2)) ] || {
	echo "descriptors: $fds_end now, $FDS_BASE after phase 1 (slack 2):"
	ls -l "/proc/$AGENT_PID/fd"
	false
}
check "agent's descriptors: $fds_end now, $FDS_BASE after phase 1 (slack 2)"
[ "$threads_end" -le $((THREADS_BASE + 2)) ] || { echo "threads: $threads_end now, $THREADS_BASE after phase 1 (slack 2)"; false; }
check "agent's threads: $threads_end now, $THREADS_BASE after phase 1 (slack 2)"
agent_alive
check "agent never exited"
stop_pid "$AGENT_PID"
rc=$?
AGENT_PID=""
[ $rc -eq 0 ] || { echo "agent exit status $rc"; false; }
check "agent exits 0 on SIGTERM"
agg_stop
rc=$?
[ $rc -eq 0 ] || { echo "aggregator exit status $rc"; false; }
check "aggregator exits 0 on SIGTERM"
echo "ok"
