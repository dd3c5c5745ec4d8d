# aggregator.sh: helpers for tests that run a real cadet-aggregator.
# Source it (POSIX sh), then:
#
#   agg_missing            prints why the tests cannot run here, or nothing
#   agg_pki DIR            a CA and, signed by it, a server certificate for
#                          127.0.0.1/localhost and a client certificate
#                          (CN=cadet-test) made with the openssl CLI in DIR
#   agg_mtls_flags DIR     prints the aggregator flags for mutual TLS on both
#                          ports with agg_pki's certificates in DIR
#   agg_start DIR [FLAGS]  starts the aggregator on 127.0.0.1 with random
#                          ports (or AGG_LISTEN / AGG_GRPC_LISTEN when set,
#                          to restart on the same ones), logging to
#                          DIR/aggregator.log; sets AGG_PID, AGG_HTTPS_PORT,
#                          AGG_GRPC_PORT (ports from its log)
#   agg_stop               SIGTERM, wait (SIGKILL after AGG_STOP_S, default 30
#                          seconds); returns the daemon's exit status
#   agg_kubeconfig FILE DIR [nocert]   a kubeconfig for https://127.0.0.1:PORT
#                          with the test CA (and the client certificate)
#   agg_wait CMD...        retries CMD for up to AGG_WAIT_S seconds (default 10)
#
# Needs BUILD (the build directory) with cadet-aggregator and tests/push-report,
# and tests/lib/agent.sh (stop_pid, skip_part), which it sources if needed.

command -v stop_pid >/dev/null 2>&1 || . tests/lib/agent.sh

AGG_PID=""
AGG_BIN=${BUILD:-build}/cadet-aggregator
AGG_PUSH=${BUILD:-build}/tests/push-report

agg_missing() {
	[ -x "$AGG_BIN" ] || { echo "$AGG_BIN not built"; return; }
	[ -x "$AGG_PUSH" ] || { echo "$AGG_PUSH not built"; return; }
	for b in openssl curl python3; do
		command -v "$b" >/dev/null 2>&1 || { echo "$b not installed"; return; }
	done
}

agg_pki() {
	d=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=cadet-test-ca" -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=cadet-aggregator" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null || return 1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=cadet-test" \
		-keyout "$d/client.key" -out "$d/client.csr" 2>/dev/null || return 1
	printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext"
	openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/client.ext" -out "$d/client.crt" 2>/dev/null || return 1
}

agg_mtls_flags() {
	echo "--tls-cert-file $1/server.crt --tls-private-key-file $1/server.key --client-ca-file $1/ca.crt" \
		"--grpc-tls-cert-file $1/server.crt --grpc-tls-private-key-file $1/server.key --grpc-client-ca-file $1/ca.crt"
}

agg_start() {
	d=$1
	shift
	: >"$d/aggregator.log"
	"$AGG_BIN" --listen "${AGG_LISTEN:-127.0.0.1:0}" --grpc-listen "${AGG_GRPC_LISTEN:-127.0.0.1:0}" "$@" \
		>>"$d/aggregator.log" 2>&1 &
	AGG_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		AGG_HTTPS_PORT=$(sed -n 's/.* on https port \([0-9]*\) .*/\1/p' "$d/aggregator.log")
		AGG_GRPC_PORT=$(sed -n 's/.* on gRPC port \([0-9]*\) .*/\1/p' "$d/aggregator.log")
		[ -n "$AGG_HTTPS_PORT" ] && [ -n "$AGG_GRPC_PORT" ] && return 0
		kill -0 "$AGG_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	echo "aggregator did not start; its log:" >&2
	cat "$d/aggregator.log" >&2
	return 1
}

agg_stop() {
	[ -n "$AGG_PID" ] || return 0
	stop_pid "$AGG_PID" "${AGG_STOP_S:-30}"
	rc=$?
	AGG_PID=""
	return $rc
}

agg_kubeconfig() {
	file=$1 d=$2 mode=${3:-cert}
	{
		echo "apiVersion: v1"
		echo "kind: Config"
		echo "clusters:"
		echo "- name: agg"
		echo "  cluster:"
		echo "    server: https://127.0.0.1:$AGG_HTTPS_PORT"
		echo "    certificate-authority: $d/ca.crt"
		echo "users:"
		echo "- name: tester"
		echo "  user:"
		if [ "$mode" = cert ]; then
			echo "    client-certificate: $d/client.crt"
			echo "    client-key: $d/client.key"
		else
			echo "    token: not-a-client-certificate"
		fi
		echo "contexts:"
		echo "- name: agg"
		echo "  context: {cluster: agg, user: tester}"
		echo "current-context: agg"
	} >"$file"
}

agg_wait() {
	limit=${AGG_WAIT_S:-10}
	start=$(date +%s)
	while ! "$@" >/dev/null 2>&1; do
		[ $(($(date +%s) - start)) -ge "$limit" ] && return 1
		sleep 0.2
	done
	return 0
}
