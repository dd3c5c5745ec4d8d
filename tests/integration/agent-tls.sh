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
S11_PID=""
cleanup() {
	[ -n "$S11_PID" ] && stop_pid "$S11_PID" 2>/dev/null
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
# The TLS 1.2 minimum, with a client that really offers TLS 1.1 (this
# machine's curl cannot complete a TLS 1.1 handshake with anyone): it must
# first complete one with a server that accepts TLS 1.1, then fail with
# the agent, which must refuse the version itself (a protocol_version
# alert), not only the TLS 1.1 ciphers (which the default security level
# would refuse even with a lowered minimum).
tls11() {
	python3 -W ignore::DeprecationWarning - "$1" <<'PY'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            print("handshake:", tls.version())
except (ssl.SSLError, OSError) as e:
    print("refused:", e)
    sys.exit(1)
PY
}
P11=$(free_port)
openssl s_server -accept "127.0.0.1:$P11" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' -naccept 1 -www \
	-cert "$TMP/server.crt" -key "$TMP/server.key" < /dev/null > "$TMP/s_server.log" 2>&1 &
S11_PID=$!
wait_for 10 grep -q ACCEPT "$TMP/s_server.log" || fail "openssl s_server did not start: $(cat "$TMP/s_server.log")"
tls11 "$P11" || fail "the TLS 1.1 client must complete a handshake with a server that accepts TLS 1.1"
wait "$S11_PID"
S11_PID=""
if tls11 "$TLS_PORT" > "$TMP/tls11.out"; then
	fail "TLS 1.1 must be refused"
fi
cat "$TMP/tls11.out"
grep -q PROTOCOL_VERSION "$TMP/tls11.out" || fail "TLS 1.1 must be refused with a protocol_version alert"
[ "$(code "http://127.0.0.1:$DBG_PORT/metrics/resource")" = 200 ] || fail "debug listener serves plain HTTP"
[ "$(code -X POST "http://127.0.0.1:$DBG_PORT/stats/summary")" = 405 ] || fail "POST must get 405"
curl -s --cert "$TMP/client.crt" --key "$TMP/client.key" --cacert "$TMP/ca.crt" "$S/metrics/resource" |
	grep -q '^resource_scrape_error 0' || fail "metrics over TLS"

# SIGHUP swaps the certificate for new connections.
cp "$TMP/server2.crt" "$TMP/server.crt"
cp "$TMP/server2.key" "$TMP/server.key"
kill -HUP "$AGENT_PID"
wait_for 10 grep -q "reloaded" "$TMP/agent.log" || fail "reload not logged"
kill -0 "$AGENT_PID" || fail "agent died on SIGHUP"
subject=$(echo | openssl s_client -connect "127.0.0.1:$TLS_PORT" 2>/dev/null | openssl x509 -noout -subject)
case "$subject" in *server2*) ;; *) fail "after SIGHUP the new certificate is served (got: $subject)" ;; esac
grep -q "reloaded" "$TMP/agent.log" || fail "reload not logged"

# Plain HTTP off the loopback needs an explicit flag. An agent that wrongly
# binds would serve on; timeout ends it (exit 124) after 10 s.
timeout 10 "$CADET_AGENT" --listen "" --debug-listen "0.0.0.0:$(free_port)" --container-runtime-endpoint "" \
	--bpf=false > "$TMP/refused.log" 2>&1
case $? in 0 | 124) fail "a non-loopback debug listener must be refused without --debug-listen-any" ;; esac
grep -q "debug-listen-any" "$TMP/refused.log" || fail "the refusal must name --debug-listen-any"

# Without a certificate the agent makes its own and says so.
stop_pid "$AGENT_PID" 2>/dev/null
P2=$(free_port)
"$CADET_AGENT" --listen "127.0.0.1:$P2" --debug-listen "" --container-runtime-endpoint "" --bpf=false \
	> "$TMP/self.log" 2>&1 &
AGENT_PID=$!
wait_for 10 curl -fsk -o /dev/null "https://127.0.0.1:$P2/healthz" || fail "self-signed agent did not start"
[ "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P2/stats/summary")" = 200 ] ||
	fail "self-signed HTTPS without client auth serves"
grep -q "self-signed" "$TMP/self.log" || fail "self-signed certificate not logged"
grep -q "unauthenticated" "$TMP/self.log" || fail "open HTTPS listener not warned about"
echo "ok: TLS, client certificates, token, debug listener rules, SIGHUP reload"
