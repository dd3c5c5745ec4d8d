#!/bin/sh
# push-floods.sh: floods on the real cadet-aggregator's push port
# (plaintext, loopback), with the aggregator in a memory cgroup of deploy/'s
# limit (256 MiB). What must hold:
#   - HTTP/2 rapid reset (CVE-2023-44487): 6 connections sending HEADERS
#     then RST_STREAM for 15 s (Debian's python3-h2, tests/lib/h2-rapid-reset.py):
#     the aggregator stays up, its RSS stays below the limit, the cgroup sees
#     no OOM kill, and a well-behaved pusher (push-report, one report a
#     second on one stream) has every report accepted during the flood;
#   - streams opened and closed by 100 clients (push-report, one report
#     each), and 50 streams closed for a refused report: the aggregator logs
#     one "streaming from" line and one "closing it" line for the peer host
#     (at most one a minute per peer), the next line would carry the held
#     back count, and /metrics counts the held back lines
#     (cadet_aggregator_log_lines_suppressed_total).
# Everything started is stopped and removed (trap).
set -u
. tests/lib/agent.sh
. tests/lib/aggregator.sh

PY=/usr/bin/python3
why=$(agg_missing)
$PY -c 'import h2' 2>/dev/null || why=${why:-python3-h2 not installed (Debian package python3-h2)}
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	CG=/sys/fs/cgroup/cadet-push-floods LIMIT_FILE=memory.max
elif [ -d /sys/fs/cgroup/memory ]; then
	CG=/sys/fs/cgroup/memory/cadet-push-floods LIMIT_FILE=memory.limit_in_bytes
else
	why=${why:-no memory cgroup controller}
fi
if [ -n "$why" ]; then
	echo "skipped: $why"
	exit 77
fi
LIMIT=$((256 * 1024 * 1024))

TMP=$(mktemp -d /tmp/cadet-push-floods.XXXXXX)
cleanup() {
	[ -n "$AGG_PID" ] && stop_pid "$AGG_PID" 2>/dev/null
	[ -n "${FLOOD_PID:-}" ] && kill "$FLOOD_PID" 2>/dev/null && wait "$FLOOD_PID" 2>/dev/null
	[ -d "$CG" ] && rmdir "$CG"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	echo "--- aggregator log:"
	tail -n 20 "$TMP/aggregator.log" 2>/dev/null | cut -c1-400
	exit 1
}

mkdir "$CG" || fail "making $CG"
echo "$LIMIT" >"$CG/$LIMIT_FILE" || fail "setting the memory limit"
agg_start "$TMP" || fail "aggregator start"
echo "$AGG_PID" >"$CG/cgroup.procs" || fail "moving the aggregator into $CG"
metric() {
	curl -fsk "https://127.0.0.1:$AGG_HTTPS_PORT/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}
oom_kills() {
	if [ "$LIMIT_FILE" = memory.max ]; then
		awk '$1 == "oom_kill" { print $2 }' "$CG/memory.events"
	else
		awk '$1 == "oom_kill" { print $2 }' "$CG/memory.oom_control"
	fi
}
cat >"$TMP/good.json" <<JSON
{"node_name":"good-node","window_ns":15000000000,"cpu_usage_nanocores":250000000,
 "memory_working_set_bytes":1073741824,
 "pods":[{"namespace":"ns","name":"web","containers":[{"name":"app","cpu_usage_nanocores":1000000,
          "memory_working_set_bytes":2048}]}]}
JSON

# --- part 1: rapid reset, with a well-behaved pusher beside it
$PY tests/lib/h2-rapid-reset.py 127.0.0.1 "$AGG_GRPC_PORT" 15 6 >"$TMP/flood.out" 2>&1 &
FLOOD_PID=$!
"$AGG_PUSH" --target "127.0.0.1:$AGG_GRPC_PORT" --count 14 --interval 1s "$TMP/good.json" \
	>"$TMP/good.out" 2>&1 &
GOOD_PID=$!
max_rss=0
i=0
while [ $i -lt 16 ]; do
	sleep 1
	kill -0 "$AGG_PID" 2>/dev/null || fail "the aggregator died during the flood"
	rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$AGG_PID/status")
	[ "$rss" -gt "$max_rss" ] && max_rss=$rss
	i=$((i + 1))
done
wait "$FLOOD_PID"
FLOOD_PID=""
wait "$GOOD_PID"
good_rc=$?
echo "rapid reset: $(tail -n 1 "$TMP/flood.out"); aggregator RSS at most ${max_rss} kB; $(cat "$TMP/good.out")"
grep -q '^streams [0-9]' "$TMP/flood.out" || fail "the flooder did not run: $(cat "$TMP/flood.out")"
[ "$(sed -n 's/^streams //p' "$TMP/flood.out")" -ge 10000 ] || fail "the flood was too small to tell"
[ "$good_rc" -eq 0 ] || fail "the well-behaved pusher lost reports during the flood: $(cat "$TMP/good.out")"
[ "$max_rss" -lt $((LIMIT / 1024)) ] || fail "RSS ${max_rss} kB reached the limit"
[ "$(oom_kills)" = 0 ] || fail "OOM kills in the aggregator's cgroup: $(oom_kills)"
kill -0 "$AGG_PID" 2>/dev/null || fail "the aggregator died after the flood"

# --- part 2: many streams of one host, logged once a minute, counted
before=$(grep -c 'streaming from' "$TMP/aggregator.log")
# push_batch FILE N: N pushers of FILE at once (a bare `wait` would also
# wait for the aggregator, so their own pids are waited for)
push_batch() {
	pids=""
	j=0
	while [ $j -lt "$2" ]; do
		"$AGG_PUSH" --target "127.0.0.1:$AGG_GRPC_PORT" "$1" >/dev/null 2>&1 &
		pids="$pids $!"
		j=$((j + 1))
	done
	for p in $pids; do
		wait "$p"
	done
}
i=0
while [ $i -lt 100 ]; do
	push_batch "$TMP/good.json" 10
	i=$((i + 10))
done
sed 's/15000000000/9223372036854775808/' "$TMP/good.json" >"$TMP/bad.json"
i=0
while [ $i -lt 50 ]; do
	push_batch "$TMP/bad.json" 10
	i=$((i + 10))
done
opened=$(($(grep -c 'streaming from' "$TMP/aggregator.log") - before))
closing=$(grep -c 'closing it' "$TMP/aggregator.log")
suppressed=$(metric cadet_aggregator_log_lines_suppressed_total)
echo "150 streams: $opened 'streaming from' lines, $closing 'closing it' lines, $suppressed held back"
# the pusher of part 1 logged the host's line less than a minute ago
[ "$opened" -le 1 ] || fail "$opened 'streaming from' lines for one host within a minute"
[ "$closing" -le 1 ] || fail "$closing 'closing it' lines for one host within a minute"
[ "${suppressed:-0}" -ge 149 ] || fail "only ${suppressed:-none} held back lines counted in /metrics"
grep -q 'more stream events of this peer not logged' "$TMP/aggregator.log" ||
	fail "the peer line does not say that more are held back"
[ "$(metric 'cadet_aggregator_reports_total{result="rejected"}')" -ge 50 ] ||
	fail "the 50 refused reports are not counted"
agg_stop || fail "aggregator did not stop cleanly"
echo "ok"
