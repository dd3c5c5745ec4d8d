#!/bin/sh
# aggregator-replicas.sh: one agent pushes to every aggregator replica its
# --aggregator name resolves to, on loopback.
#
# Two real aggregators listen for pushes on the same port P, one on
# 127.0.0.1 and one on [::1], with mutual TLS and a server certificate that
# names 127.0.0.1 and localhost (not ::1); the agent, on a copy of the v2
# fixture tree, is given --aggregator localhost:P. When this machine's
# localhost does not resolve to both addresses, the agent runs in a private
# mount namespace whose /etc/hosts says it does (root and unshare needed;
# otherwise the test is skipped); with root and unshare it always runs there,
# so that the last check below runs too. Checks, over HTTPS with the client
# certificate:
#   - both aggregators serve the node, so the agent opened one stream per
#     address, and the one dialled on [::1] verified the certificate against
#     "localhost" (the name it resolved);
#   - killing the [::1] aggregator: the other keeps receiving reports (the
#     node's timestamp advances);
#   - restarting it on the same address: it has the node again within two
#     2 s windows (plus a second of slack);
#   - the agent logged that outage once, and its end;
#   - (private hosts file only) when ::1 leaves the hosts file and B stops,
#     the agent closes that stream and A keeps the node;
#   - the agent exits 0 on SIGTERM (under ASan: no leaks).
# Everything started is stopped and the temporary directory removed.
set -u
. tests/lib/agent.sh
. tests/lib/aggregator.sh

why=$(agg_missing)
[ -n "$why" ] || [ -x "$CADET_AGENT" ] || why="$CADET_AGENT not built"
[ -n "$why" ] || python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
	why="no IPv6 loopback (::1) here"
localhost_addrs=$(getent ahosts localhost | awk '$2 == "STREAM" { print $1 }' | sort -u | tr '\n' ' ')
IN_NS=""
# Give the agent alone a hosts file where localhost has both addresses.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	IN_NS=yes
elif [ -z "$why" ] && [ "$localhost_addrs" != "127.0.0.1 ::1 " ]; then
	why="localhost resolves to '$localhost_addrs', not to both 127.0.0.1 and ::1, and no root to fix it in a private mount namespace"
fi
if [ -n "$why" ]; then
	echo "skipped: $why"
	exit 77
fi

TMP=$(mktemp -d /tmp/cadet-agg-replicas.XXXXXX)
A_PID="" B_PID="" AGENT_PID=""
cleanup() {
	for pid in $AGENT_PID $A_PID $B_PID; do
		stop_pid "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

show_logs() {
	for f in a/aggregator.log b/aggregator.log agent.log; do
		echo "--- $f"
		tail -n 15 "$TMP/$f" 2>/dev/null
	done
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

mkdir "$TMP/a" "$TMP/b"
agg_pki "$TMP"
check "test CA, server and client certificates"
P=$(free_port)
AGG_FLAGS="$(agg_mtls_flags "$TMP") --metric-resolution 2s"
AGG_GRPC_LISTEN=127.0.0.1:$P
# shellcheck disable=SC2086
agg_start "$TMP/a" $AGG_FLAGS
check "aggregator A: pushes on 127.0.0.1:$P"
A_PID=$AGG_PID A_HTTPS=$AGG_HTTPS_PORT
AGG_GRPC_LISTEN=[::1]:$P
# shellcheck disable=SC2086
agg_start "$TMP/b" $AGG_FLAGS
check "aggregator B: pushes on [::1]:$P"
B_PID=$AGG_PID B_HTTPS=$AGG_HTTPS_PORT
AGG_PID=""

cp -r tests/fixtures/v2-systemd "$TMP/fixture"
set -- "$CADET_AGENT" --listen "" --debug-listen "127.0.0.1:$(free_port)" --interval 500ms --window 2s \
	--node-name replicas-node --bpf=false --cgroup-root "$TMP/fixture" --container-runtime-endpoint "" \
	--aggregator "localhost:$P" --aggregator-ca-file "$TMP/ca.crt" \
	--aggregator-cert-file "$TMP/client.crt" --aggregator-key-file "$TMP/client.key"
if [ -n "$IN_NS" ]; then
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$TMP/hosts"
	# unshare and sh exec in place: $! is the agent
	unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$TMP/hosts" "$@" >"$TMP/agent.log" 2>&1 &
else
	"$@" >"$TMP/agent.log" 2>&1 &
fi
AGENT_PID=$!
started=$(now_ms)

node_ts() { # node_ts HTTPS_PORT: prints the node's timestamp in that aggregator; fails without it
	curl -fsS --cacert "$TMP/ca.crt" --cert "$TMP/client.crt" --key "$TMP/client.key" \
		"https://127.0.0.1:$1/apis/metrics.k8s.io/v1beta1/nodes" | python3 -c '
import json, sys
ts = [i["timestamp"] for i in json.load(sys.stdin)["items"] if i["metadata"]["name"] == "replicas-node"]
print(ts[0]) if ts else sys.exit(1)'
}
AGG_WAIT_S=15 agg_wait node_ts "$A_HTTPS"
check "aggregator A (127.0.0.1) serves the node"
AGG_WAIT_S=5 agg_wait node_ts "$B_HTTPS"
check "aggregator B ([::1], certificate checked against localhost) serves the node"
echo "both served the node $(($(now_ms) - started)) ms after the agent started"
grep -q "pushing to 2 address(es)" "$TMP/agent.log"
check "the agent resolved localhost:$P to two addresses"

stop_pid "$B_PID"
check "aggregator B stopped cleanly"
B_PID=""
t0=$(node_ts "$A_HTTPS")
advanced() { t=$(node_ts "$A_HTTPS") && [ "$t" != "$t0" ]; }
AGG_WAIT_S=6 agg_wait advanced
check "aggregator A keeps receiving reports while B is down (node timestamp moved on from $t0)"
t0=$(node_ts "$A_HTTPS")
AGG_WAIT_S=6 agg_wait advanced
check "and again (from $t0)"

AGG_GRPC_LISTEN=[::1]:$P
restarted=$(now_ms)
# shellcheck disable=SC2086
agg_start "$TMP/b" $AGG_FLAGS
check "aggregator B restarted on [::1]:$P"
B_PID=$AGG_PID B_HTTPS=$AGG_HTTPS_PORT
AGG_PID=""
AGG_WAIT_S=10 agg_wait node_ts "$B_HTTPS"
check "aggregator B has the node again"
back_ms=$(($(now_ms) - restarted))
[ "$back_ms" -le 5000 ]
check "node back in B ${back_ms} ms after its restart (two 2 s windows + 1 s)"
node_ts "$A_HTTPS" >/dev/null
check "aggregator A still serves the node"

[ "$(grep -c "cannot push to aggregator localhost:$P (\[::1\]:$P)" "$TMP/agent.log")" -eq 1 ]
check "the agent logged B's outage once"
grep -q "pushing to aggregator localhost:$P (\[::1\]:$P) again after" "$TMP/agent.log"
check "the agent logged the end of B's outage"
! grep -q "cannot push to aggregator localhost:$P (127.0.0.1:$P)" "$TMP/agent.log"
check "no outage logged for A"

if [ -n "$IN_NS" ]; then
	# ::1 leaves DNS and B goes down: the failed sends make the agent
	# resolve again (at most every 10 s) and close that stream.
	printf '127.0.0.1 localhost\n' >"$TMP/hosts"
	stop_pid "$B_PID"
	B_PID=""
	gone=$(now_ms)
	AGG_WAIT_S=15 agg_wait grep -q "pushing to 1 address(es): 127.0.0.1:$P" "$TMP/agent.log"
	check "the agent closed the stream to [::1]:$P after ::1 left its hosts file"
	echo "stream closed $(($(now_ms) - gone)) ms after ::1 left DNS"
	node_ts "$A_HTTPS" >/dev/null
	check "aggregator A still serves the node"
else
	skip_part dns-change "needs root and unshare for a private hosts file: ::1 leaving DNS not checked"
fi

stop_pid "$AGENT_PID"
check "agent exited 0 on SIGTERM"
AGENT_PID=""
echo "ok"
