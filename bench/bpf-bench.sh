#!/bin/sh
# bpf-bench.sh: the BPF part's cost (startup time, memory) and the cgroup
# iterator cycle against the file cycle and the pread floor for 100, 1000
# and 5000 container cgroups on this machine's real hierarchy; every ratio
# is to the iterator, measured in the same run (see bench/bpf-bench.c).
# Also the whole agent started with --bpf=true and --bpf=false: time until
# /healthz answers and RSS after a few cycles.
set -u
BUILD=${BUILD:-build}
BENCH="$BUILD/bench/bpf-bench"
AGENT="$BUILD/cadet-agent"
if [ ! -x "$BENCH" ]; then
	echo "bpf-bench: $BENCH not built (make bench-tools)"
	exit 1
fi

if [ -x "$AGENT" ] && command -v curl >/dev/null 2>&1; then
	TMP=$(mktemp -d /tmp/cadet-bpf-bench.XXXXXX)
	pid=""
	trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$TMP"' EXIT
	trap 'exit 1' INT TERM
	for bpf in true false; do
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
		start=$(date +%s%N)
		"$AGENT" --bpf=$bpf --listen "" --debug-listen "127.0.0.1:$port" --container-runtime-endpoint "" --interval 1s \
			>"$TMP/agent.log" 2>&1 &
		pid=$!
		# readiness: /healthz answering 200 within 5 s, or the row fails
		n=0
		until curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; do
			n=$((n + 1))
			if [ $n -ge 500 ] || ! kill -0 "$pid" 2>/dev/null; then
				echo "agent --bpf=$bpf: FAILED: /healthz did not answer 200 within 5 s; agent log:"
				tail -n 20 "$TMP/agent.log"
				exit 1
			fi
			sleep 0.01
		done
		ready=$(date +%s%N)
		sleep 3
		rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
		kill "$pid"
		wait "$pid"
		pid=""
		echo "agent --bpf=$bpf: serving after $(( (ready - start) / 1000000 )) ms, RSS ${rss} KiB after 3 cycles"
	done
fi
BPF_BENCH_STARTUP=1 "$BENCH" 100 30 || exit 1
"$BENCH" 1000 15 || exit 1
"$BENCH" 5000 7 || exit 1
