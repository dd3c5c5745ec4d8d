#!/bin/sh
# run-bench.sh: `make bench`. Runs each benchmark in turn and prints its
# table; every ratio is measured against a baseline taken in the same run,
# because these machines are shared and noisy. Results are recorded in
# BENCHMARKS.md. Benchmarks never fail the build for being slow.
set -u
BUILD=${BUILD:-build}
export BUILD
echo "== cadet benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, kernel $(uname -r)"
echo
echo "== 1. collection cycle against the pread floor (real cgroups)"
for n in 100 1000; do
	"$BUILD/bench/collect-bench" "$n" 7 10
done
"$BUILD/bench/collect-bench" 5000 3 3 2>/dev/null
echo
echo "== 2. the agent's steady cost (real cgroups, 110 pods x 2 containers; 500 x 2 for RSS)"
sh bench/agent-steady.sh 110 1s 30
sh bench/agent-steady.sh 110 10s 30
sh bench/agent-steady.sh 500 1s 10
echo
echo "== the CRI client when the runtime is missing, hung or hanging up"
"$BUILD/bench/cri-client-bench" 15 || echo "(cri-client-bench failed; see above)"
for extra in bench/scrape-bench.sh bench/peers-bench.sh bench/cri-bench.sh bench/aggregator-bench.sh bench/push-bench.sh bench/fresh-bench.sh bench/serve-bench.sh \
	bench/bpf-bench.sh; do
	if [ -f "$extra" ]; then
		echo
		echo "== $extra"
		sh "$extra" || echo "($extra failed; see above)"
	fi
done
