#!/bin/sh
# peers-bench.sh: cadet's collection against systemd-cgtop reading the same
# cgroups on this machine, in the same run, like with like: both as one-shot
# processes, start-up included. systemd-cgtop runs as
# `systemd-cgtop --batch --iterations=1` (its walk, its reads of CPU, memory
# and task counts, its table); cadet as `collect-bench snapshot` (the
# agent's collection library in a process that walks, opens and reads every
# cgroup's files once, prints one line and exits). The two alternate, 15 runs
# each; CPU time (user + system, from the children's rusage) and wall time
# are compared by their medians. The agent's in-process steady cycle is
# printed beside for context and is not compared with a whole process.
# (containerd's ListContainerStats is compared in bench/cri-bench.sh with a
# real containerd.)
set -u
BUILD=${BUILD:-build}
. tests/lib/agent.sh
. bench/pods.sh
command -v systemd-cgtop >/dev/null 2>&1 || { echo "systemd-cgtop not installed: skipped"; exit 0; }
trap bench_pods_remove EXIT INT TERM
bench_pods_create "${1:-110}"
"$BUILD/bench/collect-bench" snapshot || { echo "peers-bench: cadet snapshot failed"; exit 1; }
python3 - "$BUILD/bench/collect-bench" <<'PY'
import resource, subprocess, sys, time
tools = {
    "cadet snapshot": [sys.argv[1], "snapshot"],
    "systemd-cgtop --batch --iterations=1": ["systemd-cgtop", "--batch", "--iterations=1", "--delay=0.01", "-P"],
}
cpu = {name: [] for name in tools}
wall = {name: [] for name in tools}
for _ in range(15):
    for name, argv in tools.items():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        t1 = time.monotonic()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            sys.exit("peers-bench: %s exited %d" % (name, r.returncode))
        cpu[name].append(((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1e3)
        wall[name].append((t1 - t0) * 1e3)
def mmm(v):
    v = sorted(v)
    return v[0], v[len(v) // 2], v[-1]
for name in tools:
    print("%s (whole process): CPU ms min %.2f median %.2f max %.2f; wall ms min %.2f median %.2f max %.2f"
          % (name, *mmm(cpu[name]), *mmm(wall[name])))
c, g = "cadet snapshot", "systemd-cgtop --batch --iterations=1"
print("ratio cadet / systemd-cgtop, one-shot process, medians: CPU %.2f, wall %.2f"
      % (mmm(cpu[c])[1] / mmm(cpu[g])[1], mmm(wall[c])[1] / mmm(wall[g])[1]))
PY
"$BUILD/bench/collect-bench" existing 7 10 | sed 's/^/(context, in-process) /'
