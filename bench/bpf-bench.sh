#!/bin/sh
# bpf-bench.sh: the BPF part's cost (startup time, memory) and the cgroup
# iterator cycle against the file cycle and the pread floor for 100, 1000
# and 5000 container cgroups on this machine's real hierarchy; every ratio
# is to the iterator, measured in the same run (see bench/bpf-bench.c).
set -u
BUILD=${BUILD:-build}
BENCH="$BUILD/bench/bpf-bench"
if [ ! -x "$BENCH" ]; then
	echo "bpf-bench: $BENCH not built (make bench-tools)"
	exit 1
fi
BPF_BENCH_STARTUP=1 "$BENCH" 100 30 || exit 1
"$BENCH" 1000 15 || exit 1
"$BENCH" 5000 7 || exit 1
