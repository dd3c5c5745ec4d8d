#!/bin/sh
# agent-real-cgroups.sh: cadet-agent on this machine's real cgroups.
#
# Builds a kubepods-like hierarchy under the real v1 controllers (and the
# cgroup2 mount), runs a CPU burner limited by CFS quota to half a core in a
# container cgroup and a process that touches 64 MiB of anonymous memory in
# another. The truth is the kernel's own counters (cpuacct.usage, memory
# usage - total_inactive_file of the container, pod and root cgroups), read
# every few ms over the whole run, so the machine's other load cancels out:
# every counter the agent reports lies within the kernel's over the moments
# it may have read it (within 500 ms after its stamp); usageNanoCores is
# the delta of the agent's own samples over its 5 s window and the
# kernel's rate over the same ms (container, pod, node), as is the
# /metrics/resource rate, within 1% plus what the measured delays between
# stamps and reads at the two ends account for; the
# burner stays under its CFS quota of half a core; the memory child's
# working set grew by 64 MiB (within 10%) and equals the kernel's;
# availableBytes of the node is MemTotal minus its working set, exactly.
# Everything created is removed afterwards.
set -u
. tests/lib/agent.sh

[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root to create cgroups"; exit 77; }
[ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] || { echo "skipped: no cgroup v1 cpu controller here"; exit 77; }

UID_POD=$(python3 -c 'import uuid; print(uuid.uuid4())')
POD=kubepods/burstable/pod$UID_POD
CPU_CTR=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
MEM_CTR=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
TMP=$(mktemp -d)
AGENT_PID=""
BURN_PID=""
MEM_PID=""
KERNEL_PID=""

cleanup() {
	[ -n "$AGENT_PID" ] && stop_pid "$AGENT_PID" 2>/dev/null
	[ -n "$BURN_PID" ] && kill -9 "$BURN_PID" 2>/dev/null
	[ -n "$MEM_PID" ] && kill -9 "$MEM_PID" 2>/dev/null
	[ -n "$KERNEL_PID" ] && kill "$KERNEL_PID" 2>/dev/null
	cgroup_rm "$POD/$CPU_CTR" "$POD/$MEM_CTR" "$POD"
	cgroup_rm_made
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

cgroup_mk "$POD/$CPU_CTR" || fail "cannot create $POD/$CPU_CTR"
cgroup_mk "$POD/$MEM_CTR" || fail "cannot create $POD/$MEM_CTR"
echo 100000 > "/sys/fs/cgroup/cpu/$POD/$CPU_CTR/cpu.cfs_period_us"
echo 50000 > "/sys/fs/cgroup/cpu/$POD/$CPU_CTR/cpu.cfs_quota_us" || fail "cannot set CFS quota"

# The burner joins its cgroup before it starts spinning.
sh -c 'while [ ! -e "$1" ]; do sleep 0.05; done; while :; do :; done' burn "$TMP/go" &
BURN_PID=$!
cgroup_join "$POD/$CPU_CTR" "$BURN_PID" || fail "cannot move the burner into its cgroup"
touch "$TMP/go"

# The memory child joins first, then allocates on a signal from the test,
# so the 64 MiB are charged to its container cgroup.
python3 -c '
import os, sys, time
while not os.path.exists(sys.argv[1]): time.sleep(0.05)
block = b"\x01" * (64 << 20)
open(sys.argv[2], "w").close()
time.sleep(600)
' "$TMP/alloc" "$TMP/allocated" &
MEM_PID=$!
cgroup_join "$POD/$MEM_CTR" "$MEM_PID" || fail "cannot move the memory child into its cgroup"

# The kernel's own counters, read every 5 ms from before the agent starts
# to the end (every 20 ms for memory), each reading stamped with the wall
# clock in ms before and after it: the truth the agent is checked against.
python3 - "$POD" "$CPU_CTR" "$MEM_CTR" > "$TMP/kernel.txt" <<'PY' &
import signal, sys, time
pod, cpu_ctr, mem_ctr = sys.argv[1:4]
signal.signal(signal.SIGTERM, lambda *_: (sys.stdout.flush(), sys.exit(0)))
def num(path):
    with open(path) as f:
        return int(f.read())
def ws(d):
    with open(d + "/memory.stat") as f:
        inactive = next(int(l.split()[1]) for l in f if l.startswith("total_inactive_file "))
    return max(num(d + "/memory.usage_in_bytes") - inactive, 0)
acct, mem = "/sys/fs/cgroup/cpuacct/", "/sys/fs/cgroup/memory/"
ms = lambda: time.time_ns() // 1000000
i = 0
while True:
    t0 = ms()
    line = "c %d %d %d" % (num(acct + pod + "/" + cpu_ctr + "/cpuacct.usage"), num(acct + pod + "/cpuacct.usage"),
                           num(acct + "cpuacct.usage"))
    print("%s %d %d" % (line, t0, ms()))
    if i % 4 == 0:
        t0 = ms()
        m = "m %d %d" % (ws(mem + pod + "/" + mem_ctr), ws(mem))
        print("%s %d %d" % (m, t0, ms()))
    i += 1
    time.sleep(0.005)
PY
KERNEL_PID=$!

PORT=$(free_port)
"$CADET_AGENT" --listen "" --debug-listen "127.0.0.1:$PORT" --interval 1s --window 5s --node-name real-node \
	> "$TMP/agent.log" 2>&1 &
AGENT_PID=$!
wait_url "http://127.0.0.1:$PORT/healthz" 10 || { cat "$TMP/agent.log"; fail "agent did not become healthy"; }

# Baseline working set of the memory child before it allocates.
wait_for 10 sh -c 'curl -fsS "$1/stats/summary" | grep -q "$2"' _ "http://127.0.0.1:$PORT" "$MEM_CTR" ||
	fail "the memory child's container not in the summary"
curl -fsS "http://127.0.0.1:$PORT/stats/summary" > "$TMP/before.json" || fail "summary before allocation"
touch "$TMP/alloc"
wait_for 10 test -e "$TMP/allocated" || fail "memory child did not allocate"

# 7 s of the burner at its quota (what is measured), the agent's samples
# collected from /metrics/resource every 0.2 s meanwhile; then one summary
# from the same cycle as the /metrics/resource read before and after it.
python3 - "http://127.0.0.1:$PORT" "$TMP" <<'PY' || fail "reading the agent"
import sys, time, urllib.request
base, tmp = sys.argv[1:3]
get = lambda path: urllib.request.urlopen(base + path, timeout=5).read()
stamp = lambda text: [l for l in text.decode().splitlines() if l.startswith("node_cpu_usage_seconds_total ")][0].split()[2]
with open(tmp + "/polled.txt", "wb") as out:
    end = time.monotonic() + 7
    while time.monotonic() < end:
        out.write(get("/metrics/resource") + b"# ---\n")
        time.sleep(0.2)
for _ in range(20):
    m1, summary, m2 = get("/metrics/resource"), get("/stats/summary"), get("/metrics/resource")
    if stamp(m1) == stamp(m2):
        open(tmp + "/after.json", "wb").write(summary)
        open(tmp + "/m.txt", "wb").write(m1)
        time.sleep(0.7)  # the kernel's readings go on past the agent's last reads (LAG_MS below)
        sys.exit(0)
sys.exit("no summary read within one agent cycle")
PY
kill "$KERNEL_PID"
wait "$KERNEL_PID"
KERNEL_PID=""

python3 - "$TMP" "$UID_POD" "$CPU_CTR" "$MEM_CTR" <<'PY' || fail "values differ from the kernel's (see above)"
import bisect, json, re, sys
tmp, uid, cpu_ctr, mem_ctr = sys.argv[1:5]

def find(path):
    doc = json.load(open(path))
    assert doc["node"]["nodeName"] == "real-node", doc["node"]["nodeName"]
    pods = [p for p in doc["pods"] if p["podRef"]["uid"] == uid]
    assert len(pods) == 1, "pod %s not in summary" % uid
    return doc, pods[0], {c["name"]: c for c in pods[0]["containers"]}

_, _, before = find(tmp + "/before.json")
doc, pod, after = find(tmp + "/after.json")
assert cpu_ctr in after and mem_ctr in after, sorted(after)

# kernel readings: (before_ms, after_ms, value) per counter
kcpu = {"burner": [], "pod": [], "node": []}
kmem = {"memctr": [], "node": []}
for line in open(tmp + "/kernel.txt"):
    f = line.split()
    if f[0] == "c" and len(f) == 6:
        for k, v in zip(("burner", "pod", "node"), f[1:4]):
            kcpu[k].append((int(f[4]), int(f[5]), int(v)))
    elif f[0] == "m" and len(f) == 5:
        for k, v in zip(("memctr", "node"), f[1:3]):
            kmem[k].append((int(f[3]), int(f[4]), int(v)))
print("%d kernel CPU readings, %d memory readings" % (len(kcpu["node"]), len(kmem["node"])))

# The agent's samples: {series: {timestamp_ms: value}} from every /metrics/resource read.
series_pat = {
    "burner": r'^container_cpu_usage_seconds_total\{container="%s",namespace="",pod="%s"\} (\S+) (\d+)$' % (cpu_ctr, uid),
    "pod": r'^pod_cpu_usage_seconds_total\{namespace="",pod="%s"\} (\S+) (\d+)$' % uid,
    "node": r'^node_cpu_usage_seconds_total (\S+) (\d+)$',
    "memctr": r'^container_memory_working_set_bytes\{container="%s",namespace="",pod="%s"\} (\S+) (\d+)$' % (mem_ctr, uid),
    "nodemem": r'^node_memory_working_set_bytes (\S+) (\d+)$',
}
agent = {k: {} for k in series_pat}
for text in open(tmp + "/polled.txt").read().split("# ---\n") + [open(tmp + "/m.txt").read()]:
    for k, pat in series_pat.items():
        m = re.search(pat, text, re.M)
        if m:
            agent[k][int(m.group(2))] = float(m.group(1))

# The agent stamps a cycle when it begins and reads each file a little
# later. Where in the kernel's readings each of its values falls says when
# it was read: [read_lo, read_hi] (ms), from the last reading below that
# value to the first above it. It must be within [T - 10, T + LAG_MS] of its stamp T
# (10 ms: a counter read on one CPU lags the others' running tasks by up
# to a scheduler tick or two).
LAG_MS = 500

def read_instant(k, t_ms, value_ns):
    r = kcpu[k]
    lo = [b for b, a, v in r if v < value_ns]  # read before the agent's
    hi = [a for b, a, v in r if v > value_ns]  # read after it
    assert lo and hi, "%s at %d: agent %d ns outside the kernel's readings %d..%d" % (
        k, t_ms, value_ns, r[0][2], r[-1][2])
    read_lo, read_hi = max(lo), min(hi)
    assert read_hi >= t_ms - 10 and read_lo <= t_ms + 1 + LAG_MS, (
        "%s at %d: agent %d ns, which the kernel's counter held between %d and %d ms after the stamp" % (
            k, t_ms, value_ns, read_lo - t_ms, read_hi - t_ms))
    return read_lo - t_ms, read_hi - t_ms

def kernel_at(k, t_ms):
    """The kernel counter at t_ms, interpolated between two readings."""
    r = kcpu[k]
    mids = [(b + a) / 2.0 for b, a, _ in r]
    i = bisect.bisect_left(mids, t_ms)
    assert 0 < i < len(r), "%s: %d outside the kernel readings" % (k, t_ms)
    (m0, v0), (m1, v1) = (mids[i - 1], r[i - 1][2]), (mids[i], r[i][2])
    return v0 + (v1 - v0) * (t_ms - m0) / (m1 - m0) if m1 > m0 else v1

lag = {}
for k in ("burner", "pod", "node"):
    lag[k] = {t: read_instant(k, t, round(v * 1e9)) for t, v in agent[k].items()}
    print("%s: %d agent CPU samples, read %s ms after their stamps" % (
        k, len(agent[k]), ", ".join("%d..%d" % lag[k][t] for t in sorted(lag[k]))))

def versus_kernel(k, s, t, got, what):
    """got, the agent's rate over its stamps s..t, against the kernel's over
    the same ms: they differ only by how much later than its stamp each end
    was read (measured above), plus 1%."""
    kernel = (kernel_at(k, t) - kernel_at(k, s)) / ((t - s) / 1000.0)
    (s_lo, s_hi), (t_lo, t_hi) = lag[k][s], lag[k][t]
    skew_ms = max(abs(t_hi - s_lo), abs(t_lo - s_hi))
    tolerance = 0.01 + skew_ms / float(t - s)
    print("%s: %.4f cores over %d ms; the kernel's counter: %.4f cores over the same ms"
          " (ends read %d..%d and %d..%d ms after their stamps: %.1f%% allowed)" % (
              what, got / 1e9, t - s, kernel / 1e9, s_lo, s_hi, t_lo, t_hi, 100 * tolerance))
    assert abs(got - kernel) <= tolerance * kernel, "%s: agent %.4f vs kernel %.4f cores" % (
        what, got / 1e9, kernel / 1e9)
    return kernel

def check_rate(k, obj, what):
    """usageNanoCores is the agent's own counter delta over one of its
    windows (5 s, so 4 or 5 intervals back), and that is the kernel's
    rate over the same seconds."""
    got = obj["cpu"]["usageNanoCores"]
    times = sorted(agent[k])
    t = times[-1]
    assert abs(agent[k][t] * 1e9 - obj["cpu"]["usageCoreNanoSeconds"]) < 1000, (what, agent[k][t], obj["cpu"])
    match = None
    for s in times:
        if 3500 <= t - s <= 5500:
            mine = (agent[k][t] - agent[k][s]) * 1e9 / ((t - s) / 1000.0)
            if abs(mine - got) <= 0.002 * got + 1000:
                match = s
    assert match is not None, "%s: usageNanoCores %d is no delta of its own samples %s" % (
        what, got, [(s, agent[k][s]) for s in times[-7:]])
    return versus_kernel(k, match, t, got, what + " usageNanoCores")

truth = check_rate("burner", after[cpu_ctr], "burner")
check_rate("pod", pod, "pod")
# The CFS quota caps the burner at half a core (one period of slack over
# the window); below it, the machine's other load decides, so no lower bound.
assert truth <= 0.5e9 * 1.03, "the burner exceeded its CFS quota: %.3f cores" % (truth / 1e9)

# /metrics/resource: the rate between its first and last sample is the kernel's over those ms.
times = sorted(agent["burner"])
t1, t2 = times[0], times[-1]
rate = (agent["burner"][t2] - agent["burner"][t1]) * 1e9 / ((t2 - t1) / 1000.0)
versus_kernel("burner", t1, t2, rate, "/metrics/resource burner rate")

def mem_bracket(k, t_ms, value, what):
    """Within the kernel's working set over [T - 10, T + 1 + LAG_MS]; equal
    to it when the kernel's value did not change then."""
    vals = [v for b, a, v in kmem[k] if a >= t_ms - 10 and b <= t_ms + 1 + LAG_MS]
    assert vals, "%s: no kernel memory readings around %d" % (what, t_ms)
    assert min(vals) <= value <= max(vals), "%s at %d: agent %d, kernel %d..%d" % (what, t_ms, value, min(vals), max(vals))
    return min(vals) == max(vals)

delta = after[mem_ctr]["memory"]["workingSetBytes"] - before[mem_ctr]["memory"]["workingSetBytes"]
print("memory child working set grew by %.1f MiB" % (delta / 2**20))
assert abs(delta - 64 * 2**20) <= 6.4 * 2**20, "want 64 MiB within 10%%, got %.1f MiB" % (delta / 2**20)
frozen = 0
for t, v in agent["memctr"].items():  # all read after the allocation
    frozen += mem_bracket("memctr", t, v, "memory child working set")
print("memory child working set: %d samples equal to the kernel's, %d within its range" % (frozen, len(agent["memctr"])))
t = max(agent["memctr"])
assert agent["memctr"][t] == after[mem_ctr]["memory"]["workingSetBytes"], "summary and /metrics/resource differ"

node = doc["node"]
total = next(int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal:"))
t = max(agent["nodemem"])
assert agent["nodemem"][t] == node["memory"]["workingSetBytes"], "node: summary and /metrics/resource differ"
mem_bracket("node", t, node["memory"]["workingSetBytes"], "node working set")
assert node["memory"]["availableBytes"] == total - node["memory"]["workingSetBytes"], (
    "node availableBytes %d, want MemTotal %d - workingSetBytes %d" % (node["memory"]["availableBytes"], total,
                                                                        node["memory"]["workingSetBytes"]))
check_rate("node", node, "node")
PY
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics < "$TMP/m.txt" || fail "promtool rejects /metrics/resource"
else
	skip_part promtool "promtool is missing (Debian package prometheus): /metrics/resource format not checked"
fi
echo "ok: CPU and memory of real cgroups reported as the kernel counts them"
