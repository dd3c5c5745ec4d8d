#!/bin/sh
# valgrind-agent.sh: cadet-agent under valgrind (memcheck) for a few
# collection cycles; exits non-zero on any memory error or definite leak.
#
# The agent reads a cgroup v2 fixture tree written to a temporary directory
# (--cgroup-root), without the CRI client and BPF (--container-runtime-endpoint
# "", --bpf=false), at --interval 200ms, with both listeners: plain HTTP on
# --debug-listen and HTTPS on --listen with a test CA's certificate, client
# certificates and a bearer token. While it runs, every endpoint is scraped
# on the debug listener (with and without its query flags, HEAD, a 404, a
# 405 and a request with a body) and over HTTPS (client certificate, token,
# neither: 401, wrong token: 401, /healthz without either: 200), the
# certificates are reloaded with SIGHUP and HTTPS is scraped again, a
# container's cpu.stat is broken and restored (the error path of a read), and
# a container cgroup is removed (the vanish path), a slowloris client on each
# listener is dropped at the request deadline, and two idle connections are
# still open when the agent gets SIGTERM. What must hold: valgrind reports no error and no
# definitely lost block (--error-exitcode, --errors-for-leak-kinds=definite),
# the agent exits 0, and every scrape answered. The valgrind log is kept in
# $BUILD/memcheck/ for reading.
#   usage: BUILD=build sh tests/memcheck/valgrind-agent.sh
set -u
. tests/lib/agent.sh
. tests/lib/aggregator.sh # agg_pki: a test CA with server and client certificates

command -v valgrind > /dev/null || { echo "skipped: valgrind is not installed"; exit 77; }
[ -x "$CADET_AGENT" ] || { echo "$CADET_AGENT not built"; exit 1; }

TMP=$(mktemp -d)
LOGDIR=$BUILD/memcheck
mkdir -p "$LOGDIR"
VGLOG=$LOGDIR/valgrind-agent.log
AGENT_PID=""
cleanup() {
	[ -n "$AGENT_PID" ] && kill -KILL "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

T=$TMP/cgroup
POD=kubepods/burstable/pod6b9f3c2a-1d4e-4f5a-8b7c-9d0e1f2a3b4c
C1=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
C2=fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
v2_cgroup() {
	mkdir -p "$T/$1"
	printf 'usage_usec %s\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20\n' "$2" \
		> "$T/$1/cpu.stat"
	echo 1048576 > "$T/$1/memory.current"
	printf 'anon 524288\nfile 524288\ninactive_file 262144\npgfault 10\npgmajfault 1\n' > "$T/$1/memory.stat"
	echo 67108864 > "$T/$1/memory.max"
	echo 3 > "$T/$1/pids.current"
	printf 'some avg10=0.10 avg60=0.05 avg300=0.01 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=12\n' \
		> "$T/$1/cpu.pressure"
}
mkdir -p "$T"
echo "cpu memory pids io" > "$T/cgroup.controllers"
v2_cgroup "" 99000000
v2_cgroup kubepods 5000000
v2_cgroup "$POD" 3000000
v2_cgroup "$POD/$C1" 1000000
v2_cgroup "$POD/$C2" 2000000

agg_pki "$TMP" || fail "making the test PKI"
echo "s3cr3t-token-for-memcheck" > "$TMP/token"
PORT=$(free_port)
TLS_PORT=$(free_port)
valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-origins=yes --log-file="$VGLOG" \
	"$CADET_AGENT" --listen "127.0.0.1:$TLS_PORT" --tls-cert-file "$TMP/server.crt" \
	--tls-private-key-file "$TMP/server.key" --client-ca-file "$TMP/ca.crt" --token-file "$TMP/token" \
	--debug-listen "127.0.0.1:$PORT" --cgroup-root "$T" --interval 200ms \
	--container-runtime-endpoint "" --bpf=false --log-format text --node-name memcheck-node \
	> "$TMP/agent.log" 2>&1 &
AGENT_PID=$!
wait_url "http://127.0.0.1:$PORT/healthz" 60 || { cat "$TMP/agent.log" "$VGLOG"; fail "agent did not become healthy under valgrind"; }

# slowloris on both listeners (tests/lib/http-clients.py): dropped at 10 s
python3 tests/lib/http-clients.py trickle 127.0.0.1 "$PORT" 1 30 > "$TMP/trickle-plain" 2>&1 &
TRICKLE_PIDS=$!
python3 tests/lib/http-clients.py trickle 127.0.0.1 "$TLS_PORT" 1 30 --tls > "$TMP/trickle-tls" 2>&1 &
TRICKLE_PIDS="$TRICKLE_PIDS $!"

B=http://127.0.0.1:$PORT
get() { curl -fsS -o /dev/null "$B$1" || fail "GET $1"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
scrape() {
	for p in /stats/summary "/stats/summary?only_cpu_and_memory=true" "/stats/summary?pretty" \
		/metrics/resource /metrics /healthz /top; do
		get "$p"
	done
	[ "$(code -I "$B/metrics/resource")" = 200 ] || fail "HEAD /metrics/resource"
	[ "$(code "$B/nope")" = 404 ] || fail "GET /nope is not 404"
	[ "$(code -X POST "$B/stats/summary")" = 405 ] || fail "POST is not 405"
	c=$(code -X GET --data-binary 'x=1' "$B/metrics")
	[ "$c" -ge 400 ] || fail "a request body was accepted ($c)"
}
S=https://127.0.0.1:$TLS_PORT
tls_scrape() {
	[ "$(code --cacert "$TMP/ca.crt" --cert "$TMP/client.crt" --key "$TMP/client.key" "$S/stats/summary")" = 200 ] ||
		fail "HTTPS with a client certificate"
	[ "$(code --cacert "$TMP/ca.crt" -H "Authorization: Bearer s3cr3t-token-for-memcheck" "$S/metrics/resource")" = 200 ] ||
		fail "HTTPS with the bearer token"
	[ "$(code --cacert "$TMP/ca.crt" "$S/metrics/resource")" = 401 ] || fail "HTTPS without credentials is not 401"
	[ "$(code --cacert "$TMP/ca.crt" -H "Authorization: Bearer wrong" "$S/stats/summary")" = 401 ] ||
		fail "HTTPS with a wrong token is not 401"
	[ "$(code --cacert "$TMP/ca.crt" "$S/healthz")" = 200 ] || fail "HTTPS /healthz without credentials"
}
sleep 1
scrape
tls_scrape
kill -HUP "$AGENT_PID"
sleep 1
tls_scrape
# error path: garbage in a kept file, then good again
printf 'usage_usec nope\n' > "$T/$POD/$C1/cpu.stat"
sleep 1
scrape
printf 'usage_usec 1500000\nuser_usec 1000\nsystem_usec 500\n' > "$T/$POD/$C1/cpu.stat"
sleep 1
# vanish path: a container's cgroup goes away
rm -rf "${T:?}/$POD/$C2"
sleep 1
scrape

# shellcheck disable=SC2086
wait $TRICKLE_PIDS
[ "$(cat "$TMP/trickle-plain" "$TMP/trickle-tls" | grep -c '^closed')" -eq 2 ] ||
	fail "slowloris clients not dropped: $(cat "$TMP/trickle-plain" "$TMP/trickle-tls")"
# connections open at shutdown
# (the client holds them until its stdin, a FIFO this script keeps open on
# fd 9, closes; a `sleep | client` pipeline left the sleep behind)
mkfifo "$TMP/hold-in" || fail "mkfifo $TMP/hold-in"
python3 tests/lib/http-clients.py hold 127.0.0.1 "$PORT" 2 < "$TMP/hold-in" > "$TMP/hold" 2>&1 &
HOLD_PID=$!
exec 9>"$TMP/hold-in"
i=0
while ! grep -q "^held" "$TMP/hold" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "^held 2" "$TMP/hold" || fail "could not hold two connections: $(cat "$TMP/hold")"

stop_pid "$AGENT_PID" 120 # valgrind's leak check at exit takes a while
rc=$?
AGENT_PID=""
exec 9>&-
stop_pid "$HOLD_PID" 2>/dev/null
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost" "$VGLOG"
[ $rc -eq 0 ] || { cat "$VGLOG"; tail -n 20 "$TMP/agent.log"; fail "cadet-agent under valgrind exited $rc"; }
grep -q "ERROR SUMMARY: 0 errors" "$VGLOG" || { cat "$VGLOG"; fail "valgrind reported errors"; }
echo "PASS (valgrind log: $VGLOG)"
