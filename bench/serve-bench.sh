#!/bin/sh
# serve-bench.sh: serving latency and throughput of both daemons against
# nginx serving the same bytes from a file, side by side in one run (issue
# 18, item 1).
#
# The agent reads 110 pods x 2 containers of real cgroups (bench/pods.sh)
# and serves them on its plain debug listener and on its HTTPS listener
# (self-signed, no client authentication) at once; the aggregator
# (self-signed, no client CA) holds one node of 110 pods x 2 containers
# pushed by bench/push-load. For every endpoint its body is saved to a
# file that Debian's nginx (one worker, sendfile, tcp_nodelay, no access
# log, unlimited keep-alive requests) serves over plain HTTP and over TLS
# with the same kind of key (P-256). Per endpoint:
#   - p50 and p99 latency on one kept-alive connection (wrk -t1 -c1 5 s),
#     cadet and nginx;
#   - requests/s on 8 kept-alive connections (wrk -t2 -c8 5 s), cadet and
#     nginx, and the ratio cadet/nginx.
# The aggregator's API is HTTPS only, so it has TLS rows only.
#
#   sh bench/serve-bench.sh            SECS=5
set -u
BUILD=${BUILD:-build}
SECS=${SECS:-5}
. tests/lib/agent.sh
. tests/lib/aggregator.sh
. bench/pods.sh
LOAD=$BUILD/bench/push-load
NGINX=${NGINX:-/usr/sbin/nginx}
why=$(agg_missing)
[ -n "$why" ] || command -v wrk >/dev/null 2>&1 || why="wrk not installed (Debian package wrk)"
[ -n "$why" ] || [ -x "$NGINX" ] || why="nginx not installed (Debian package nginx)"
[ -n "$why" ] || [ -x "$LOAD" ] || why="$LOAD not built (make bench-tools)"
if [ -n "$why" ]; then
	echo "serve-bench: skipped: $why"
	exit 0
fi

TMP=$(mktemp -d /tmp/cadet-serve-bench.XXXXXX)
AGENT_PID="" NGINX_PID="" LOAD_PID=""
cleanup() {
	for pid in $LOAD_PID $NGINX_PID $AGENT_PID; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	[ -n "$AGG_PID" ] && kill "$AGG_PID" 2>/dev/null && wait "$AGG_PID" 2>/dev/null
	rm -rf "$TMP"
	bench_pods_remove
}
trap cleanup EXIT
trap 'exit 1' INT TERM
bail() {
	echo "serve-bench: FAILED: $1"
	exit 1
}

bench_pods_create 110
PLAIN=$(free_port) TLS=$(free_port)
"$BUILD/cadet-agent" --listen "127.0.0.1:$TLS" --debug-listen "127.0.0.1:$PLAIN" --bpf=false \
	--container-runtime-endpoint "" --interval 1s --log-level warning 2>"$TMP/agent.log" &
AGENT_PID=$!
wait_url "http://127.0.0.1:$PLAIN/healthz" 20 || bail "agent did not start"

agg_start "$TMP" --metric-resolution 15s || bail "aggregator did not start"
"$LOAD" --target "127.0.0.1:$AGG_GRPC_PORT" --nodes 1 --pods 110 --containers 2 --interval 15s --rounds 1000 \
	>"$TMP/load.out" 2>"$TMP/load.err" &
LOAD_PID=$!
n=0
until grep -q warm "$TMP/load.out" 2>/dev/null; do
	n=$((n + 1))
	[ $n -lt 300 ] || bail "push-load did not warm up in 30 s"
	sleep 0.1
done
sleep 2 # the agent's views: two samples

# nginx: one worker, the same bytes from files, plain and TLS
mkdir -p "$TMP/www" "$TMP/nginx"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
	-keyout "$TMP/nginx/key.pem" -out "$TMP/nginx/cert.pem" 2>/dev/null || bail "nginx certificate"
NPLAIN=$(free_port) NTLS=$(free_port)
cat >"$TMP/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	sendfile on;
	tcp_nopush off;
	tcp_nodelay on;
	keepalive_requests 100000000;
	keepalive_timeout 60s;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$NPLAIN;
		listen 127.0.0.1:$NTLS ssl;
		ssl_certificate $TMP/nginx/cert.pem;
		ssl_certificate_key $TMP/nginx/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		root $TMP/www;
	}
}
CONF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g "user root;" 2>"$TMP/nginx/start.log" &
NGINX_PID=$!
n=0
until curl -fs -o /dev/null "http://127.0.0.1:$NPLAIN/" 2>/dev/null || curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NPLAIN/x" 2>/dev/null | grep -q 404; do
	n=$((n + 1))
	[ $n -lt 100 ] && kill -0 "$NGINX_PID" 2>/dev/null || { cat "$TMP/nginx/start.log"; bail "nginx did not start"; }
	sleep 0.1
done

lat() { # lat URL: "p50 p99" on one kept-alive connection
	wrk -t1 -c1 -d"$SECS"s --latency "$1" >"$TMP/wrk" 2>&1
	awk '$1 == "50%" {p50 = $2} $1 == "99%" {p99 = $2} END {print p50, p99}' "$TMP/wrk"
}
rps() { # rps URL: requests/s on 8 kept-alive connections
	wrk -t2 -c8 -d"$SECS"s "$1" >"$TMP/wrk" 2>&1
	if grep -q 'Non-2xx\|Socket errors' "$TMP/wrk"; then
		grep 'Non-2xx\|Socket errors' "$TMP/wrk" >&2
	fi
	awk '/^Requests\/sec/ {print $2}' "$TMP/wrk"
}

printf '%-34s %6s %9s %17s %17s %10s %10s %6s\n' endpoint scheme bytes "p50/p99 cadet" "p50/p99 nginx" \
	"req/s cadet" "req/s nginx" ratio
AGG=https://127.0.0.1:$AGG_HTTPS_PORT/apis/metrics.k8s.io/v1beta1
NODE=$(curl -fsk "$AGG/nodes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["metadata"]["name"])') ||
	bail "no node in the aggregator"
i=0
for row in "http://127.0.0.1:$PLAIN|/healthz" "http://127.0.0.1:$PLAIN|/metrics/resource" \
	"http://127.0.0.1:$PLAIN|/stats/summary" "https://127.0.0.1:$TLS|/healthz" \
	"https://127.0.0.1:$TLS|/metrics/resource" "https://127.0.0.1:$TLS|/stats/summary" \
	"$AGG|/nodes/$NODE" "$AGG|/pods"; do
	base=${row%%|*} path=${row#*|}
	i=$((i + 1))
	curl -fsk -o "$TMP/www/body$i" "$base$path" || bail "GET $base$path"
	case $base in
	https*) scheme=TLS nbase=https://127.0.0.1:$NTLS ;;
	*) scheme=plain nbase=http://127.0.0.1:$NPLAIN ;;
	esac
	case $base in "$AGG") label="aggregator $path" ;; *) label="agent $path" ;; esac
	[ "$path" = "/nodes/$NODE" ] && label="aggregator NodeMetrics"
	[ "$path" = /pods ] && label="aggregator PodMetricsList (220)"
	nurl=$nbase/body$i
	curl -fsk -o "$TMP/nginx-body" "$nurl" && cmp -s "$TMP/nginx-body" "$TMP/www/body$i" || bail "nginx serves other bytes for $path"
	bytes=$(wc -c <"$TMP/www/body$i")
	cl=$(lat "$base$path") nl=$(lat "$nurl")
	cr=$(rps "$base$path") nr=$(rps "$nurl")
	printf '%-34s %6s %9s %17s %17s %10s %10s %6s\n' "$label" "$scheme" "$bytes" "$(echo "$cl" | tr ' ' /)" \
		"$(echo "$nl" | tr ' ' /)" "$cr" "$nr" "$(awk -v a="$cr" -v b="$nr" 'BEGIN { printf "%.2f", a / b }')"
done
