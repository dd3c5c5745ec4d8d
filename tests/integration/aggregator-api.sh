#!/bin/sh
# aggregator-api.sh: the real cadet-aggregator on loopback with a test CA,
# mutual TLS on both the API and the push streams, synthetic reports pushed
# by the real gRPC client (push-report), read back with the real kubectl and
# curl. Checks: discovery documents; NodeMetrics/PodMetrics values and
# canonical quantities; a namespaced list with a label selector through
# kubectl; `kubectl top pod` with a selector; 400/404/405/406 answers with Status objects; bodies (413) and
# oversized headers (400) refused; /metrics (own counters) behind the
# certificate and valid for promtool; clients without a
# certificate refused on the API (401) and on gRPC; a certificate named
# system:node:X may push only node X's reports; a node silent for 3x
# --metric-resolution (2s here) disappears while a live one stays; a pod missing from
# its node's next report disappears; restarting the aggregator and pushing
# again brings the data back.
set -u
. tests/lib/aggregator.sh

why=$(agg_missing)
command -v kubectl >/dev/null 2>&1 || why=${why:-kubectl not installed}
if [ -n "$why" ]; then
	echo "skip: $why"
	exit 77
fi

TMP=$(mktemp -d /tmp/cadet-agg-api.XXXXXX)
PUSHER_PID=""
cleanup() {
	[ -n "$PUSHER_PID" ] && stop_pid "$PUSHER_PID" 2>/dev/null
	[ -n "$AGG_PID" ] && stop_pid "$AGG_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	echo "--- aggregator log:"
	cat "$TMP/aggregator.log" 2>/dev/null | tail -n 20
	exit 1
}

agg_pki "$TMP" || fail "making test certificates with openssl"
MTLS=$(agg_mtls_flags "$TMP")
# shellcheck disable=SC2086
agg_start "$TMP" $MTLS --metric-resolution 2s || fail "aggregator start"
grep -q "open to any client" "$TMP/aggregator.log" && fail "aggregator says it is open although --client-ca-file was given"

push() { # push FILE [extra push-report flags]
	f=$1
	shift
	"$AGG_PUSH" --target "127.0.0.1:$AGG_GRPC_PORT" --ca-file "$TMP/ca.crt" \
		--cert-file "$TMP/client.crt" --key-file "$TMP/client.key" "$@" "$f"
}

cat >"$TMP/reports.json" <<'JSON'
[{"node_name":"node-a","window_ns":15000000000,"cpu_usage_nanocores":476038624,
  "memory_working_set_bytes":2056949760,
  "pods":[{"namespace":"shop","name":"web-1","uid":"u-web-1","labels":{"app":"web","tier":"front"},
           "containers":[{"name":"app","cpu_usage_nanocores":250000000,"memory_working_set_bytes":1073741824},
                         {"name":"proxy","cpu_usage_nanocores":1000,"memory_working_set_bytes":21782528}]},
          {"namespace":"shop","name":"db-1","uid":"u-db-1","labels":{"app":"db"},
           "containers":[{"name":"pg","cpu_usage_nanocores":1500000000,"memory_working_set_bytes":1500}]},
          {"namespace":"other","name":"web-2","labels":{"app":"web"},
           "containers":[{"name":"app","cpu_usage_nanocores":5,"memory_working_set_bytes":1000}]}]},
 {"node_name":"node-b","window_ns":12210000000,"cpu_usage_nanocores":2000000000,
  "memory_working_set_bytes":1048576,
  "pods":[{"namespace":"shop","name":"web-3","labels":{"app":"web","tier":"back"},
           "containers":[{"name":"app","cpu_usage_nanocores":0,"memory_working_set_bytes":4096}]}]}]
JSON
push "$TMP/reports.json" >"$TMP/push.out" 2>&1 || { cat "$TMP/push.out"; fail "mTLS push of two reports"; }
grep -q "accepted 2" "$TMP/push.out" || fail "aggregator did not accept both reports: $(cat "$TMP/push.out")"

# A pusher without a client certificate is refused by the gRPC server.
if "$AGG_PUSH" --target "127.0.0.1:$AGG_GRPC_PORT" --ca-file "$TMP/ca.crt" "$TMP/reports.json" >"$TMP/nocert.out" 2>&1; then
	fail "push without a client certificate was accepted"
fi

# A kubelet-style certificate (CN system:node:NAME) may report only its node.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=system:node:node-x" \
	-keyout "$TMP/node-x.key" -out "$TMP/node-x.csr" 2>/dev/null &&
	openssl x509 -req -in "$TMP/node-x.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" -CAcreateserial -days 1 \
		-extfile "$TMP/client.ext" -out "$TMP/node-x.crt" 2>/dev/null || fail "node-x certificate"
push_as_x() {
	"$AGG_PUSH" --target "127.0.0.1:$AGG_GRPC_PORT" --ca-file "$TMP/ca.crt" \
		--cert-file "$TMP/node-x.crt" --key-file "$TMP/node-x.key" "$1"
}
if push_as_x "$TMP/reports.json" >"$TMP/x.out" 2>&1; then
	fail "node-x's certificate pushed reports for node-a and node-b"
fi
grep -q "status 7" "$TMP/x.out" || fail "impersonation not refused with PERMISSION_DENIED: $(cat "$TMP/x.out")"
echo '{"node_name":"node-x","window_ns":1000000000,"cpu_usage_nanocores":1,"memory_working_set_bytes":1}' >"$TMP/x.json"
push_as_x "$TMP/x.json" >"$TMP/x.out" 2>&1 || fail "node-x could not report for itself: $(cat "$TMP/x.out")"

KC=$TMP/kubeconfig
agg_kubeconfig "$KC" "$TMP"
kget() { kubectl --kubeconfig "$KC" get --raw "$1"; }

# Discovery, as kube-apiserver's aggregator and kubectl read it.
kget /apis >"$TMP/apis.json" || fail "kubectl get --raw /apis"
kget /apis/metrics.k8s.io/v1beta1 >"$TMP/resources.json" || fail "kubectl get --raw resource list"
python3 - "$TMP" <<'PY' || fail "discovery documents"
import json, sys
d = sys.argv[1]
apis = json.load(open(d + "/apis.json"))
assert apis["kind"] == "APIGroupList", apis
g = apis["groups"][0]
assert g["name"] == "metrics.k8s.io" and g["preferredVersion"]["groupVersion"] == "metrics.k8s.io/v1beta1", g
rl = json.load(open(d + "/resources.json"))
assert rl["kind"] == "APIResourceList" and rl["groupVersion"] == "metrics.k8s.io/v1beta1", rl
res = {r["name"]: r for r in rl["resources"]}
assert res["nodes"]["kind"] == "NodeMetrics" and res["nodes"]["namespaced"] is False, res
assert res["pods"]["kind"] == "PodMetrics" and res["pods"]["namespaced"] is True, res
assert res["pods"]["verbs"] == ["get", "list"], res
PY

# Nodes through kubectl with the client certificate.
kget /apis/metrics.k8s.io/v1beta1/nodes >"$TMP/nodes.json" || fail "kubectl get --raw nodes"
python3 - "$TMP/nodes.json" <<'PY' || fail "NodeMetricsList content"
import json, sys, re
l = json.load(open(sys.argv[1]))
assert l["kind"] == "NodeMetricsList" and l["apiVersion"] == "metrics.k8s.io/v1beta1", l
assert l["metadata"] == {}, l
items = {i["metadata"]["name"]: i for i in l["items"]}
assert set(items) == {"node-a", "node-b", "node-x"}, items.keys()
a, b = items["node-a"], items["node-b"]
assert a["usage"] == {"cpu": "476038624n", "memory": "2008740Ki"}, a
assert b["usage"] == {"cpu": "2", "memory": "1Mi"}, b
assert a["window"] == "15s" and b["window"] == "12.21s", (a, b)
rfc = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
assert rfc.match(a["timestamp"]) and rfc.match(a["metadata"]["creationTimestamp"]), a
PY

# A namespaced list with a label selector, as the HPA asks for it.
kget '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?labelSelector=app%3Dweb%2Ctier%20in%20(front%2Cmiddle)' \
	>"$TMP/pods.json" || fail "kubectl get --raw namespaced pods with labelSelector"
python3 - "$TMP/pods.json" <<'PY' || fail "PodMetricsList with selector"
import json, sys
l = json.load(open(sys.argv[1]))
assert l["kind"] == "PodMetricsList", l
assert [i["metadata"]["name"] for i in l["items"]] == ["web-1"], l
p = l["items"][0]
assert p["metadata"]["namespace"] == "shop" and p["metadata"]["labels"] == {"app": "web", "tier": "front"}, p
assert p["containers"] == [
    {"name": "app", "usage": {"cpu": "250m", "memory": "1Gi"}},
    {"name": "proxy", "usage": {"cpu": "1u", "memory": "21272Ki"}},
], p["containers"]
PY

# kubectl top itself (it needs only discovery and the metrics API).
kubectl --kubeconfig "$KC" top pod -n shop -l app=web --containers >"$TMP/top.txt" 2>&1 || {
	cat "$TMP/top.txt"
	fail "kubectl top pod"
}
grep -Eq '^web-1 +app +250m +1024Mi' "$TMP/top.txt" || fail "kubectl top pod output: $(cat "$TMP/top.txt")"
grep -q 'db-1' "$TMP/top.txt" && fail "kubectl top pod -l app=web listed db-1"

kget '/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%21%3Dweb' >"$TMP/notweb.json" || fail "pods with !="
kget '/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.namespace%3Dother' >"$TMP/other.json" || fail "pods with fieldSelector"
kget '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/db-1' >"$TMP/db.json" || fail "get one pod"
kget '/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=missing' >"$TMP/nolabel.json" || fail "nodes with selector"
python3 - "$TMP" <<'PY' || fail "selectors across namespaces and single gets"
import json, sys
d = sys.argv[1]
names = lambda f: sorted(i["metadata"]["name"] for i in json.load(open(d + f))["items"])
assert names("/notweb.json") == ["db-1"], names("/notweb.json")
assert names("/other.json") == ["web-2"], names("/other.json")
assert names("/nolabel.json") == [], names("/nolabel.json")
db = json.load(open(d + "/db.json"))
assert db["kind"] == "PodMetrics" and db["apiVersion"] == "metrics.k8s.io/v1beta1", db
assert db["containers"] == [{"name": "pg", "usage": {"cpu": "1500m", "memory": "1500"}}], db
PY

# Errors are Status objects with the right codes.
C="curl -s --cacert $TMP/ca.crt --cert $TMP/client.crt --key $TMP/client.key"
B=https://127.0.0.1:$AGG_HTTPS_PORT
code=$($C -o "$TMP/404.json" -w '%{http_code}' "$B/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/nope")
[ "$code" = 404 ] || fail "missing pod: HTTP $code"
code=$($C -o "$TMP/404n.json" -w '%{http_code}' "$B/apis/metrics.k8s.io/v1beta1/nodes/nope")
[ "$code" = 404 ] || fail "missing node: HTTP $code"
code=$($C -o "$TMP/400.json" -w '%{http_code}' "$B/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%20in%20(web")
[ "$code" = 400 ] || fail "malformed selector: HTTP $code"
code=$($C -o "$TMP/406.json" -w '%{http_code}' -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList' "$B/apis")
[ "$code" = 406 ] || fail "aggregated discovery only: HTTP $code"
code=$($C -o /dev/null -w '%{http_code}' -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' "$B/apis")
[ "$code" = 200 ] || fail "aggregated discovery with JSON fallback: HTTP $code"
# POST without a body: 405, as kube-apiserver answers for a resource that
# has only get and list. With a body, evhttp refuses the body (413) before
# the method is looked at; kube-apiserver would still say 405.
code=$($C -o /dev/null -w '%{http_code}' -X POST "$B/apis/metrics.k8s.io/v1beta1/nodes")
[ "$code" = 405 ] || fail "POST: HTTP $code, expected 405"
code=$($C -o /dev/null -w '%{http_code}' -X POST -d '{}' "$B/apis/metrics.k8s.io/v1beta1/nodes")
[ "$code" = 413 ] || fail "POST with a body: HTTP $code, expected 413"
code=$($C -o /dev/null -w '%{http_code}' -X DELETE "$B/apis/metrics.k8s.io/v1beta1/nodes/node-a")
[ "$code" = 405 ] || fail "DELETE: HTTP $code"
code=$($C -o /dev/null -w '%{http_code}' -X GET -H 'Content-Type: application/json' -d '{"a":1}' "$B/apis")
[ "$code" = 413 ] || fail "GET with a body: HTTP $code, expected 413"
# One byte over the 32 KiB head limit (evhttp's count: request line and
# header lines without CRLFs; http-limits.sh pins both sides): evhttp's 400
# (Go's net/http, in kube-apiserver, says 431, at its 1 MiB default). The
# whole head is sent before the server refuses it, so the 400 is read
# rather than lost to a reset.
code=$(python3 tests/lib/http-clients.py sized 127.0.0.1 "$AGG_HTTPS_PORT" headers 32769 --tls)
[ "$code" = 400 ] || fail "a head one byte over the limit: $code, expected 400"
code=$($C -o /dev/null -w '%{http_code}' -I "$B/apis/metrics.k8s.io/v1beta1/nodes")
[ "$code" = 200 ] || fail "HEAD: HTTP $code"
python3 - "$TMP" <<'PY' || fail "Status objects"
import json, sys
d = sys.argv[1]
for f, code, reason in (("/404.json", 404, "NotFound"), ("/404n.json", 404, "NotFound"),
                        ("/400.json", 400, "BadRequest"), ("/406.json", 406, "NotAcceptable")):
    s = json.load(open(d + f))
    assert s["kind"] == "Status" and s["apiVersion"] == "v1" and s["status"] == "Failure", s
    assert s["code"] == code and s["reason"] == reason, s
s = json.load(open(d + "/404.json"))
assert s["message"] == 'podmetrics.metrics.k8s.io "shop/nope" not found', s
assert s["details"]["kind"] == "pods" and s["details"]["name"] == "nope", s
PY

# Who may call: no client certificate, no API (health endpoints stay open).
agg_kubeconfig "$TMP/kubeconfig-nocert" "$TMP" nocert
if kubectl --kubeconfig "$TMP/kubeconfig-nocert" get --raw /apis/metrics.k8s.io/v1beta1/nodes >"$TMP/nocert.json" 2>&1; then
	fail "kubectl without a client certificate was served"
fi
grep -qi "unauthorized" "$TMP/nocert.json" || fail "kubectl without certificate: unexpected error $(cat "$TMP/nocert.json")"
code=$(curl -s --cacert "$TMP/ca.crt" -o /dev/null -w '%{http_code}' "$B/apis/metrics.k8s.io/v1beta1/pods")
[ "$code" = 401 ] || fail "curl without a client certificate: HTTP $code"
code=$(curl -s --cacert "$TMP/ca.crt" -o /dev/null -w '%{http_code}' "$B/healthz")
[ "$code" = 200 ] || fail "/healthz without a client certificate: HTTP $code"
code=$(curl -s --cacert "$TMP/ca.crt" -o /dev/null -w '%{http_code}' "$B/readyz")
[ "$code" = 200 ] || fail "/readyz after a report: HTTP $code"
# A certificate from another CA fails the handshake.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=intruder" \
	-keyout "$TMP/rogue.key" -out "$TMP/rogue.crt" 2>/dev/null
if curl -s --cacert "$TMP/ca.crt" --cert "$TMP/rogue.crt" --key "$TMP/rogue.key" -o /dev/null "$B/apis" 2>/dev/null; then
	fail "a certificate from an unknown CA was accepted"
fi
# The aggregator's own metrics: behind the client certificate, valid text.
code=$(curl -s --cacert "$TMP/ca.crt" -o /dev/null -w '%{http_code}' "$B/metrics")
[ "$code" = 401 ] || fail "/metrics without a client certificate: HTTP $code"
$C "$B/metrics" >"$TMP/metrics.txt" || fail "/metrics"
grep -q '^cadet_aggregator_reports_total{result="accepted"} [1-9]' "$TMP/metrics.txt" || fail "/metrics lacks accepted reports"
grep -q '^cadet_aggregator_reports_total{result="rejected"} [1-9]' "$TMP/metrics.txt" || fail "/metrics lacks the rejected impersonation"
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1 || fail "promtool: $(cat "$TMP/promtool.out")"
else
	skip_part promtool "promtool is missing (Debian package prometheus): /metrics format not checked"
fi
# X-Remote-User is logged.
$C -s -o /dev/null -H 'X-Remote-User: system:kube-controller-manager' "$B/apis/metrics.k8s.io/v1beta1/pods"
grep -q "X-Remote-User system:kube-controller-manager" "$TMP/aggregator.log" || fail "X-Remote-User not logged"
# An X-Remote-User carrying an ESC sequence reaches the log escaped,
# never as raw control bytes (issue 17, defect 6).
$C -s -o /dev/null -H "$(printf 'X-Remote-User: evil\033[31mred')" "$B/apis/metrics.k8s.io/v1beta1/pods"
grep -q 'X-Remote-User evil\\x1b\[31mred' "$TMP/aggregator.log" || fail "X-Remote-User with ESC not logged escaped"
if grep -q "$(printf '\033')" "$TMP/aggregator.log"; then fail "raw ESC in the aggregator log"; fi

# Staleness: node-a keeps reporting (now without db-1), node-b falls silent.
python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/reports.json"))[0]
r["pods"] = [p for p in r["pods"] if p["name"] != "db-1"]
json.dump(r, open(d + "/node-a.json", "w"))
PY
# node-b's last report arrives between these two monotonic instants.
mono() { python3 -c 'import time; print(time.monotonic())'; }
b_sent=$(mono)
push "$TMP/reports.json" >/dev/null 2>&1 || fail "second push of both reports"
b_acked=$(mono)
push "$TMP/node-a.json" --count 16 --interval 500ms >"$TMP/pusher.out" 2>&1 &
PUSHER_PID=$!
shop_dropped() {
	kget /apis/metrics.k8s.io/v1beta1/namespaces/shop/pods | python3 -c '
import json, sys
names = sorted(i["metadata"]["name"] for i in json.load(sys.stdin)["items"])
sys.exit(0 if names == ["web-1", "web-3"] else 1)'
}
AGG_WAIT_S=5 agg_wait shop_dropped || fail "pod missing from its node's latest report was not dropped"
# node-b goes stale exactly 3 x 2 s after its last report arrived: every
# read that sees it must have started by b_acked + 6 s, and the first read
# that misses it must have ended after b_sent + 6 s (reads every 0.1 s).
python3 - "$TMP" "$AGG_HTTPS_PORT" "$b_sent" "$b_acked" <<'PY' || fail "node-b's staleness"
import http.client, json, ssl, sys, time
tmp, port, sent, acked = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ctx = ssl.create_default_context(cafile=tmp + "/ca.crt")
ctx.load_cert_chain(tmp + "/client.crt", tmp + "/client.key")
last_seen_start = None
while True:
    start = time.monotonic()
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
    conn.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes")
    names = sorted(i["metadata"]["name"] for i in json.load(conn.getresponse())["items"])
    conn.close()
    end = time.monotonic()
    assert "node-a" in names, names
    if "node-b" in names:
        last_seen_start = start
    else:
        break
    assert end < acked + 12, "node-b still listed %.2f s after its last report" % (end - acked)
    time.sleep(0.1)
print("node-b last seen by a read started %.2f s after its last push began, gone at a read ended %.2f s after;"
      " its last report arrived within %.2f s of that start" % (last_seen_start - sent, end - sent, acked - sent))
assert last_seen_start is not None, "node-b was gone at the first read, before its 6 s"
assert last_seen_start <= acked + 6, "node-b listed by a read started %.3f s after its report (want <= 6 s)" % (last_seen_start - acked)
assert end >= sent + 6, "node-b gone by a read ended %.3f s after its report (want >= 6 s)" % (end - sent)
PY
code=$($C -o /dev/null -w '%{http_code}' "$B/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-3")
[ "$code" = 404 ] || fail "pod of a stale node still served: HTTP $code"
wait "$PUSHER_PID" || { cat "$TMP/pusher.out"; fail "background pusher failed"; }
PUSHER_PID=""

# Restart: a fresh aggregator is empty, pushing again brings the data back.
agg_stop || fail "aggregator did not exit cleanly on SIGTERM"
# shellcheck disable=SC2086
agg_start "$TMP" $MTLS --metric-resolution 1s || fail "aggregator restart"
agg_kubeconfig "$KC" "$TMP"
kget /apis/metrics.k8s.io/v1beta1/nodes >"$TMP/empty.json" || fail "nodes after restart"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["items"] == []' "$TMP/empty.json" || fail "restarted aggregator not empty"
code=$(curl -s --cacert "$TMP/ca.crt" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$AGG_HTTPS_PORT/readyz")
[ "$code" = 503 ] || fail "/readyz before any report: HTTP $code"
push "$TMP/reports.json" >/dev/null 2>&1 || fail "push after restart"
kget /apis/metrics.k8s.io/v1beta1/nodes >"$TMP/back.json" || fail "nodes after restart and push"
python3 -c '
import json, sys
names = sorted(i["metadata"]["name"] for i in json.load(open(sys.argv[1]))["items"])
assert names == ["node-a", "node-b"], names' "$TMP/back.json" || fail "data not back after restart"
agg_stop || fail "aggregator did not exit cleanly on SIGTERM (second run)"
echo "ok"
