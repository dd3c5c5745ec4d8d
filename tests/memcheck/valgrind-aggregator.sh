#!/bin/sh
# valgrind-aggregator.sh: cadet-aggregator under valgrind (memcheck) with
# real traffic; exits non-zero on any memory error or definite leak.
#
# The aggregator runs with a test CA's certificates on both sides (HTTPS API
# with client certificates, mutual TLS on gRPC, as in production). While it
# runs: a push stream of a few reports for two nodes (tests/push-report),
# a stream from a client without a certificate (refused), API reads of
# discovery, node and pod lists with label and field selectors, /metrics, single
# objects, a 404, a malformed selector (400), a request without a client
# certificate (401) and /healthz. Then SIGTERM. What must hold: valgrind
# reports no error and no definitely lost block (--error-exitcode,
# --errors-for-leak-kinds=definite), the aggregator exits 0, every request
# got the status it should. The valgrind log is kept in $BUILD/memcheck/.
#   usage: BUILD=build sh tests/memcheck/valgrind-aggregator.sh
set -u
BUILD=${BUILD:-build}
. tests/lib/aggregator.sh

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v valgrind > /dev/null || { echo "skipped: valgrind is not installed"; exit 77; }
why=$(agg_missing)
[ -z "$why" ] || fail "$why"

TMP=$(mktemp -d)
LOGDIR=$BUILD/memcheck
mkdir -p "$LOGDIR"
VGLOG=$LOGDIR/valgrind-aggregator.log
cleanup() {
	[ -n "$AGG_PID" ] && kill -KILL "$AGG_PID" 2>/dev/null && wait "$AGG_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

agg_pki "$TMP" || fail "making the test PKI"
# Like agg_start (tests/lib/aggregator.sh), with valgrind around the daemon
# and up to 60 s to come up.
valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --log-file="$VGLOG" \
	"$AGG_BIN" --listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 \
	--tls-cert-file "$TMP/server.crt" --tls-private-key-file "$TMP/server.key" \
	--client-ca-file "$TMP/ca.crt" --grpc-tls-cert-file "$TMP/server.crt" \
	--grpc-tls-private-key-file "$TMP/server.key" --grpc-client-ca-file "$TMP/ca.crt" \
	--metric-resolution 5s > "$TMP/aggregator.log" 2>&1 &
AGG_PID=$!
i=0
while [ $i -lt 600 ]; do
	AGG_HTTPS_PORT=$(sed -n 's/.* on https port \([0-9]*\) .*/\1/p' "$TMP/aggregator.log")
	AGG_GRPC_PORT=$(sed -n 's/.* on gRPC port \([0-9]*\) .*/\1/p' "$TMP/aggregator.log")
	[ -n "$AGG_HTTPS_PORT" ] && [ -n "$AGG_GRPC_PORT" ] && break
	kill -0 "$AGG_PID" 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$AGG_HTTPS_PORT" ] || [ -z "$AGG_GRPC_PORT" ]; then
	cat "$TMP/aggregator.log" "$VGLOG"
	fail "aggregator did not start under valgrind"
fi

cat > "$TMP/reports.json" <<'JSON'
[{"node_name":"node-a","window_ns":15000000000,"cpu_usage_nanocores":476038624,
  "memory_working_set_bytes":2056949760,
  "pods":[{"namespace":"shop","name":"web-1","uid":"u-web-1","labels":{"app":"web","tier":"front"},
           "containers":[{"name":"app","cpu_usage_nanocores":250000000,"memory_working_set_bytes":1073741824},
                         {"name":"proxy","cpu_usage_nanocores":1000,"memory_working_set_bytes":21782528}]}]},
 {"node_name":"node-b","window_ns":15000000000,"cpu_usage_nanocores":1000000,
  "memory_working_set_bytes":1048576,
  "pods":[{"namespace":"kube-system","name":"coredns-0","uid":"u-dns","labels":{"k8s-app":"kube-dns"},
           "containers":[{"name":"coredns","cpu_usage_nanocores":3000000,"memory_working_set_bytes":20971520}]}]}]
JSON
# The log line comes before gRPC accepts; under valgrind that can take a
# moment, so the first push is retried for up to 30 s.
push() {
	"$AGG_PUSH" --target "127.0.0.1:$AGG_GRPC_PORT" --ca-file "$TMP/ca.crt" --cert-file "$TMP/client.crt" \
		--key-file "$TMP/client.key" "$@" "$TMP/reports.json" > "$TMP/push.out" 2>&1
}
AGG_WAIT_S=30 agg_wait push || { cat "$TMP/push.out" "$TMP/aggregator.log"; fail "pushing reports"; }
push --count 3 --interval 200ms || { cat "$TMP/push.out"; fail "pushing reports on one stream"; }
if "$AGG_PUSH" --target "127.0.0.1:$AGG_GRPC_PORT" --ca-file "$TMP/ca.crt" "$TMP/reports.json" \
	> "$TMP/nocert.out" 2>&1; then
	fail "a push without a client certificate was accepted"
fi

B=https://127.0.0.1:$AGG_HTTPS_PORT
C="curl -s --max-time 20 --cacert $TMP/ca.crt --cert $TMP/client.crt --key $TMP/client.key -o /dev/null -w %{http_code}"
want() { # want CODE PATH [curl args]
	_code=$1 _path=$2
	shift 2
	got=$($C "$@" "$B$_path")
	[ "$got" = "$_code" ] || fail "GET $_path: $got, want $_code"
}
want 200 /healthz
want 200 /metrics
want 200 /readyz
want 200 /apis
want 200 /apis/metrics.k8s.io/v1beta1
want 200 /apis/metrics.k8s.io/v1beta1/nodes
want 200 "/apis/metrics.k8s.io/v1beta1/nodes?fieldSelector=metadata.name%3Dnode-a"
want 200 /apis/metrics.k8s.io/v1beta1/nodes/node-b
want 404 /apis/metrics.k8s.io/v1beta1/nodes/node-z
want 200 /apis/metrics.k8s.io/v1beta1/pods
want 200 "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?labelSelector=app%20in%20(web,db),tier!=back"
want 200 /apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1
want 400 "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%20in%20(web"
want 405 /apis -X POST
got=$(curl -s --max-time 20 --cacert "$TMP/ca.crt" -o /dev/null -w '%{http_code}' "$B/apis/metrics.k8s.io/v1beta1/nodes")
[ "$got" = 401 ] || fail "a client without a certificate got $got, want 401"

AGG_STOP_S=120 agg_stop # valgrind's leak check at exit takes a while
rc=$?
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost" "$VGLOG"
[ $rc -eq 0 ] || { cat "$VGLOG"; tail -n 20 "$TMP/aggregator.log"; fail "cadet-aggregator under valgrind exited $rc"; }
grep -q "ERROR SUMMARY: 0 errors" "$VGLOG" || { cat "$VGLOG"; fail "valgrind reported errors"; }
echo "PASS (valgrind log: $VGLOG)"
