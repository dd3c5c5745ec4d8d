#!/bin/sh
# peers-bench.sh: cadet's collection cycle against systemd-cgtop reading the
# same cgroups on this machine, in the same run. Both read CPU, memory and
# task counts of every cgroup; cgtop is measured as the CPU time of one
# `systemd-cgtop --batch --iterations=1` process (its walk plus its start-up,
# which is what a user pays for a snapshot), cadet as the CPU time of one
# steady cycle. (containerd's ListContainerStats is compared in
# bench/cri-bench.sh with a real containerd.)
set -u
BUILD=${BUILD:-build}
. tests/lib/agent.sh
. bench/pods.sh
command -v systemd-cgtop >/dev/null 2>&1 || { echo "systemd-cgtop not installed: skipped"; exit 0; }
trap bench_pods_remove EXIT INT TERM
bench_pods_create "${1:-110}"
cadet=$("$BUILD/bench/collect-bench" existing 7 10)
echo "$cadet"
cadet_ms=$(echo "$cadet" | sed -n 's/.*median \([0-9.]*\).*/\1/p')
python3 - "$cadet_ms" <<'PY'
import os, resource, subprocess, sys
cadet_ms = float(sys.argv[1])
runs = []
for _ in range(15):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["systemd-cgtop", "--batch", "--iterations=1", "--delay=0.01", "-P"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs.append(((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1e3)
runs.sort()
med = runs[len(runs) // 2]
print("systemd-cgtop --batch --iterations=1: CPU ms min %.3f median %.3f max %.3f" % (runs[0], med, runs[-1]))
print("ratio cadet cycle / systemd-cgtop snapshot: %.2f" % (cadet_ms / med if med else float("nan")))
PY
