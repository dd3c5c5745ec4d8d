#!/bin/sh
# agent-tls.sh: the agent's two listeners and who may use them.
#
# --listen is HTTPS (TLS 1.2 minimum): with --client-ca-file and
# --token-file, every path but /healthz needs a verified client certificate
# or the bearer token (401 otherwise, and a wrong token of the right length
# is refused too); without a certificate file the agent serves a self-signed
# one. --debug-listen is plain HTTP and refuses a non-loopback address
# unless --debug-listen-any is given. SIGHUP reloads the certificate: new
# connections see the new one while the agent keeps serving.
set -u
. tests/lib/agent.sh

TMP=$(mktemp -d)
AGENT_PID=""
cleanup() {
	[ -n "$AGENT_PID" ] && stop_pid "$AGENT_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# A CA, a server certificate for 127.0.0.1 and a client certificate.
cd "$TMP" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=test-ca \
	-keyout ca.key -out ca.crt 2>/dev/null || fail "CA"
for who in server client server2; do
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$who" \
		-keyout $who.key -out $who.csr 2>/dev/null || fail "$who key"
	printf 'subjectAltName=IP:127.0.0.1\n' > $who.ext
	openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
		-extfile $who.ext -out $who.crt 2>/dev/null || fail "$who cert"
done
printf 's3cret-token-value\n' > token
cd - >/dev/null || exit 1

TLS_PORT=$(free_port)
DBG_PORT=$(free_port)
"$CADET_AGENT" --listen "127.0.0.1:$TLS_PORT" --debug-listen "127.0.0.1:$DBG_PORT" \
	--tls-cert-file "$TMP/server.crt" --tls-private-key-file "$TMP/server.key" \
	--client-ca-file "$TMP/ca.crt" --token-file "$TMP/token" \
	--container-runtime-endpoint "" --bpf=false > "$TMP/agent.log" 2>&1 &
AGENT_PID=$!
wait_url "http://127.0.0.1:$DBG_PORT/healthz" 10 || { cat "$TMP/agent.log"; fail "agent did not start"; }
S="https://127.0.0.1:$TLS_PORT"

code() { curl -s -o /dev/null -w '%{http_code}' --cacert "$TMP/ca.crt" "$@"; }
[ "$(code "$S/healthz")" = 200 ] || fail "/healthz must answer an unauthenticated client"
[ "$(code "$S/metrics/resource")" = 401 ] || fail "no credentials must get 401"
[ "$(code -H 'Authorization: Bearer s3cret-token-valuX' "$S/metrics/resource")" = 401 ] ||
	fail "a wrong token must get 401"
[ "$(code -H 'Authorization: Bearer s3cret-token-value' "$S/metrics/resource")" = 200 ] ||
	fail "the bearer token must be accepted"
[ "$(code --cert "$TMP/client.crt" --key "$TMP/client.key" "$S/stats/summary")" = 200 ] ||
	fail "a verified client certificate must be accepted"
[ "$(code --tls-max 1.1 "$S/healthz")" = 000 ] || fail "TLS 1.1 must be refused"
[ "$(code "http://127.0.0.1:$DBG_PORT/metrics/resource")" = 200 ] || fail "debug listener serves plain HTTP"
[ "$(code -X POST "http://127.0.0.1:$DBG_PORT/stats/summary")" = 405 ] || fail "POST must get 405"
curl -s --cert "$TMP/client.crt" --key "$TMP/client.key" --cacert "$TMP/ca.crt" "$S/metrics/resource" |
	grep -q '^resource_scrape_error 0' || fail "metrics over TLS"

# SIGHUP swaps the certificate for new connections.
cp "$TMP/server2.crt" "$TMP/server.crt"
cp "$TMP/server2.key" "$TMP/server.key"
kill -HUP "$AGENT_PID"
sleep 0.5
kill -0 "$AGENT_PID" || fail "agent died on SIGHUP"
subject=$(echo | openssl s_client -connect "127.0.0.1:$TLS_PORT" 2>/dev/null | openssl x509 -noout -subject)
case "$subject" in *server2*) ;; *) fail "after SIGHUP the new certificate is served (got: $subject)" ;; esac
grep -q "reloaded" "$TMP/agent.log" || fail "reload not logged"

# Plain HTTP off the loopback needs an explicit flag.
if "$CADET_AGENT" --listen "" --debug-listen "0.0.0.0:$(free_port)" --container-runtime-endpoint "" \
	--bpf=false > "$TMP/refused.log" 2>&1; then
	fail "a non-loopback debug listener must be refused without --debug-listen-any"
fi
grep -q "debug-listen-any" "$TMP/refused.log" || fail "the refusal must name --debug-listen-any"

# Without a certificate the agent makes its own and says so.
stop_pid "$AGENT_PID" 2>/dev/null
P2=$(free_port)
"$CADET_AGENT" --listen "127.0.0.1:$P2" --debug-listen "" --container-runtime-endpoint "" --bpf=false \
	> "$TMP/self.log" 2>&1 &
AGENT_PID=$!
i=0
until [ "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P2/healthz")" = 200 ] || [ $i -gt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
[ "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P2/stats/summary")" = 200 ] ||
	fail "self-signed HTTPS without client auth serves"
grep -q "self-signed" "$TMP/self.log" || fail "self-signed certificate not logged"
grep -q "unauthenticated" "$TMP/self.log" || fail "open HTTPS listener not warned about"
echo "ok: TLS, client certificates, token, debug listener rules, SIGHUP reload"
