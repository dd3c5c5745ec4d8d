#!/bin/sh
# agent-fixtures.sh: cadet-agent end to end on the committed fixture cgroup
# trees, the layouts this machine lacks: tests/fixtures/v2-systemd (pure
# cgroup v2, systemd driver) and tests/fixtures/v1-cgroupfs (v1, cgroupfs
# driver).
#
# For each tree: copies it to a temporary directory (the test mutates it),
# starts the agent on it, and checks with python3's json module that
# /stats/summary has exactly the pods (uids from the paths) and containers
# (ids from the paths) of the tree, with usageCoreNanoSeconds,
# workingSetBytes (usage - inactive_file) and availableBytes (limit - working
# set, only with a limit) computed from the fixture files; that
# ?only_cpu_and_memory=true and ?pretty work; that promtool accepts
# /metrics/resource and /metrics and /metrics/resource carries the same
# values; that unknown paths get a 404 naming the endpoints and POST a 405.
# Then it grows one container's CPU counter at a quarter core and checks
# usageNanoCores, removes a container and checks it is reported for the
# window (--window 3s) and gone after it, and adds a pod that must show up
# within about one interval. Exit 0 pass, 1 fail, 77 skip.
set -u
. tests/lib/agent.sh

command -v python3 >/dev/null 2>&1 || { echo "skipped: python3 is missing"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "skipped: curl is missing"; exit 77; }
PROMTOOL=promtool
command -v promtool >/dev/null 2>&1 ||
	{ PROMTOOL=""; skip_part promtool "promtool is missing (Debian package prometheus): the text format is not checked"; }
[ -x "$CADET_AGENT" ] || fail "$CADET_AGENT is not built"

TMP=$(mktemp -d)
AGENT_PID=""
WRITER_PID=""

stop_agent() {
	if [ -n "$WRITER_PID" ]; then
		stop_pid "$WRITER_PID" 2>/dev/null
		WRITER_PID=""
	fi
	if [ -n "$AGENT_PID" ]; then
		stop_pid "$AGENT_PID" 2>/dev/null
		AGENT_PID=""
	fi
}

cleanup() {
	stop_agent
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# The checks, in python3 (json, urllib); subcommands below.
cat > "$TMP/check.py" <<'PY'
import json, os, re, shutil, sys, time, urllib.error, urllib.request

NO_LIMIT_ABOVE = 1 << 62
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CGROUPFS = re.compile(r"^kubepods(?:/(burstable|besteffort))?/pod([0-9a-f-]+)(?:/([A-Za-z0-9_.-]+))?$")
SYSTEMD = re.compile(r"^kubepods\.slice(?:/kubepods-(burstable|besteffort)\.slice)?"
                     r"/kubepods(?:-(?:burstable|besteffort))?-pod([0-9a-f_]+)\.slice"
                     r"(?:/(?:cri-containerd|crio|docker)-(?!conmon-)([A-Za-z0-9_.-]+)\.scope)?$")

def die(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)

def fetch(url, method="GET"):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()

def get_json(url):
    status, body = fetch(url)
    if status != 200:
        die("%s: HTTP %d" % (url, status))
    try:
        return json.loads(body), body
    except ValueError as e:
        die("%s: not JSON (%s): %.300s" % (url, e, body))

def read(path):
    with open(path) as f:
        return f.read()

def keyed(path):
    out = {}
    for line in read(path).splitlines():
        k, v = line.split(" ", 1)
        out[k] = int(v)
    return out

class Tree:
    """What the fixture files say, computed the way kubelet/cAdvisor do."""
    def __init__(self, root, layout):
        self.root, self.layout = root, layout
        self.walk_root = os.path.join(root, "cpuacct") if layout == "v1" else root

    def f(self, ctl, rel, name):
        if self.layout == "v1":
            return os.path.join(self.root, ctl, rel, name)
        return os.path.join(self.root, rel, name)

    def cpu_ns(self, rel):
        if self.layout == "v1":
            return int(read(self.f("cpuacct", rel, "cpuacct.usage")))
        return keyed(self.f("", rel, "cpu.stat"))["usage_usec"] * 1000

    def memory(self, rel):
        """(usage, working set, limit or None), or None without memory files."""
        if self.layout == "v1":
            usage_file = self.f("memory", rel, "memory.usage_in_bytes")
            if not os.path.exists(usage_file):
                return None
            usage = int(read(usage_file))
            inactive = keyed(self.f("memory", rel, "memory.stat"))["total_inactive_file"]
            limit = int(read(self.f("memory", rel, "memory.limit_in_bytes")))
            limit = limit if limit < NO_LIMIT_ABOVE else None
        else:
            usage_file = self.f("", rel, "memory.current")
            if not os.path.exists(usage_file):
                return None
            usage = int(read(usage_file))
            inactive = keyed(self.f("", rel, "memory.stat"))["inactive_file"]
            text = read(self.f("", rel, "memory.max")).strip()
            limit = None if text == "max" else int(text)
        return usage, max(usage - inactive, 0), limit

    def pods(self):
        """{uid: {"rel": path, "containers": {id: path}}} from the directory names."""
        pods = {}
        for dirpath, dirnames, _ in os.walk(self.walk_root):
            rel = os.path.relpath(dirpath, self.walk_root)
            m = (CGROUPFS if self.layout == "v1" else SYSTEMD).match(rel)
            if not m:
                continue
            uid = m.group(2).replace("_", "-")
            pod = pods.setdefault(uid, {"rel": None, "containers": {}})
            if m.group(3):
                pod["containers"][m.group(3)] = rel
            else:
                pod["rel"] = rel
        return pods

def need(obj, path, typ):
    cur = obj
    for part in path.split("."):
        if isinstance(cur, list):
            cur = cur[int(part)]
        elif not isinstance(cur, dict) or part not in cur:
            die("%s missing in %.400s" % (path, json.dumps(obj)))
        else:
            cur = cur[part]
    if typ is int and (not isinstance(cur, int) or isinstance(cur, bool)):
        die("%s is %r, want an integer" % (path, cur))
    if typ is not int and not isinstance(cur, typ):
        die("%s is %r, want %s" % (path, cur, typ.__name__))
    return cur

def check_cpu_memory(what, obj, tree, rel, rates_known):
    cpu = tree.cpu_ns(rel)
    got = need(obj, "cpu.usageCoreNanoSeconds", int)
    if got != cpu:
        die("%s: usageCoreNanoSeconds %d, the files say %d" % (what, got, cpu))
    if not RFC3339.match(need(obj, "cpu.time", str)):
        die("%s: cpu.time %r is not RFC 3339" % (what, obj["cpu"]["time"]))
    if rates_known:
        need(obj, "cpu.usageNanoCores", int)
    mem = tree.memory(rel)
    if mem is None:
        return
    usage, ws, limit = mem
    if need(obj, "memory.workingSetBytes", int) != ws:
        die("%s: workingSetBytes %d, want %d (usage - inactive_file)" % (what, obj["memory"]["workingSetBytes"], ws))
    if need(obj, "memory.usageBytes", int) != usage:
        die("%s: usageBytes %d, want %d" % (what, obj["memory"]["usageBytes"], usage))
    for k in ("rssBytes", "pageFaults", "majorPageFaults"):
        need(obj, "memory." + k, int)
    if limit is None:
        if "availableBytes" in obj["memory"]:
            die("%s: availableBytes without a limit" % what)
    elif need(obj, "memory.availableBytes", int) != limit - ws:
        die("%s: availableBytes %d, want %d" % (what, obj["memory"]["availableBytes"], limit - ws))

def meminfo():
    out = {}
    for line in read("/proc/meminfo").splitlines():
        k, v = line.split(":", 1)
        out[k] = int(v.split()[0]) * 1024
    return out

def check_node_memory(base, layout):
    """The node's memory: availableBytes is MemTotal (the node's capacity)
    minus workingSetBytes, exactly. On v2 the tree has no root memory files,
    so the working set is the kernel's MemTotal - MemFree - Inactive(file):
    it must lie within what /proc/meminfo said, read every few ms, over the
    agent cycle that produced it (a cycle that began after the readings
    started and ended before they stopped)."""
    import threading
    readings, stop = [], threading.Event()
    def sample():
        while not stop.is_set():
            m = meminfo()
            used = m["MemTotal"] - m["MemFree"]
            readings.append(max(used - m["Inactive(file)"], 0))
            time.sleep(0.002)
    t = threading.Thread(target=sample)
    t.start()
    pat = re.compile(r"^node_memory_working_set_bytes (\S+) (\d+)$", re.M)
    try:
        time.sleep(0.05)
        started_ms = time.time() * 1000
        for _ in range(50):
            m1 = pat.search(fetch(base + "/metrics/resource")[1])
            s, _ = get_json(base + "/stats/summary")
            m2 = pat.search(fetch(base + "/metrics/resource")[1])
            if not m1 or not m2:
                die("/metrics/resource has no node_memory_working_set_bytes sample")
            if int(m1.group(2)) > started_ms and m1.group(2) == m2.group(2):
                break  # one cycle after the readings began, and the summary is from it
            time.sleep(0.1)
        else:
            die("no agent cycle seen in 5 s")
    finally:
        stop.set()
        t.join()
    node = s["node"]
    ws = need(node, "memory.workingSetBytes", int)
    total = meminfo()["MemTotal"]
    if float(m1.group(1)) != ws:
        die("node working set: /metrics/resource %s, /stats/summary %d in the same cycle" % (m1.group(1), ws))
    if need(node, "memory.availableBytes", int) != total - ws:
        die("node availableBytes %d, want MemTotal %d - workingSetBytes %d" % (node["memory"]["availableBytes"], total, ws))
    if layout == "v2":
        lo, hi = min(readings), max(readings)
        print("node workingSetBytes %d; /proc/meminfo said %d..%d over %d readings" % (ws, lo, hi, len(readings)))
        if not lo <= ws <= hi:
            die("node workingSetBytes %d outside what /proc/meminfo said over its cycle: %d..%d" % (ws, lo, hi))

def check_summary(base, root, layout):
    tree = Tree(root, layout)
    want = tree.pods()
    if len(want) < 2:
        die("fixture %s has fewer than two pods" % root)
    s, _ = get_json(base + "/stats/summary")
    if set(s) != {"node", "pods"}:
        die("top-level keys %s" % sorted(s))
    node = s["node"]
    if need(node, "nodeName", str) != "fixture-node":
        die("nodeName %r" % node["nodeName"])
    if not RFC3339.match(need(node, "startTime", str)):
        die("node.startTime %r" % node["startTime"])
    root_cpu = tree.cpu_ns("")
    if need(node, "cpu.usageCoreNanoSeconds", int) != root_cpu:
        die("node usageCoreNanoSeconds %d, root cgroup says %d" % (node["cpu"]["usageCoreNanoSeconds"], root_cpu))
    if need(node, "cpu.usageNanoCores", int) != 0:
        die("node usageNanoCores %d from a root counter that does not change" % node["cpu"]["usageNanoCores"])
    check_node_memory(base, layout)
    if layout == "v1":  # v2 has no root memory.current: the node comes from /proc/meminfo
        _, ws, _ = tree.memory("")
        if node["memory"]["workingSetBytes"] != ws:
            die("node workingSetBytes %d, root cgroup says %d" % (node["memory"]["workingSetBytes"], ws))
    kubepods = "kubepods" if layout == "v1" else "kubepods.slice"
    sysc = need(node, "systemContainers", list)
    pods_sc = [c for c in sysc if c.get("name") == "pods"]
    if len(pods_sc) != 1:
        die("systemContainers has no single \"pods\": %s" % json.dumps(sysc))
    check_cpu_memory("systemContainers pods", pods_sc[0], tree, kubepods, True)

    got = {need(p, "podRef.uid", str): p for p in need(s, "pods", list)}
    if set(got) != set(want):
        die("pods %s, the tree has %s" % (sorted(got), sorted(want)))
    for uid, w in want.items():
        p = got[uid]
        if need(p, "podRef.name", str) != uid or need(p, "podRef.namespace", str) != "":
            die("pod %s: podRef %s (no CRI: name is the uid, namespace empty)" % (uid, p["podRef"]))
        if not RFC3339.match(need(p, "startTime", str)):
            die("pod %s: startTime %r" % (uid, p["startTime"]))
        check_cpu_memory("pod " + uid, p, tree, w["rel"], True)
        containers = {need(c, "name", str): c for c in need(p, "containers", list)}
        if set(containers) != set(w["containers"]):
            die("pod %s: containers %s, the tree has %s" % (uid, sorted(containers), sorted(w["containers"])))
        for cid, rel in w["containers"].items():
            c = containers[cid]
            if not RFC3339.match(need(c, "startTime", str)):
                die("container %s: startTime %r" % (cid, c["startTime"]))
            check_cpu_memory("container " + cid, c, tree, rel, True)
            if c["cpu"]["usageNanoCores"] != 0:
                die("container %s: %d nanocores from files that do not change" % (cid, c["cpu"]["usageNanoCores"]))

    # kubelet's only_cpu_and_memory: pods limited to cpu and memory
    s2, _ = get_json(base + "/stats/summary?only_cpu_and_memory=true")
    if {need(p, "podRef.uid", str) for p in s2["pods"]} != set(want):
        die("only_cpu_and_memory: pods differ")
    for p in s2["pods"]:
        extra = set(p) - {"podRef", "startTime", "containers", "cpu", "memory"}
        if extra:
            die("only_cpu_and_memory: pod %s has %s" % (p["podRef"]["uid"], sorted(extra)))
        for c in p["containers"]:
            extra = set(c) - {"name", "startTime", "cpu", "memory"}
            if extra:
                die("only_cpu_and_memory: container %s has %s" % (c["name"], sorted(extra)))
    for k in ("fs", "rlimit", "io", "runtime"):
        if k in s2["node"]:
            die("only_cpu_and_memory: node has %s" % k)
    if layout == "v2" and ("io" not in s["node"] or "psi" not in s["node"]["cpu"]):
        die("full summary: the fixture's PSI files are not reported on the node")

    # ?pretty: indented, same document
    pretty, body = get_json(base + "/stats/summary?pretty")
    if "\n  " not in body:
        die("?pretty is not indented")
    if {p["podRef"]["uid"] for p in pretty["pods"]} != set(want):
        die("?pretty: pods differ")
    pretty2, body2 = get_json(base + "/stats/summary?only_cpu_and_memory=true&pretty")
    if "\n  " not in body2 or set(pretty2["pods"][0]) - {"podRef", "startTime", "containers", "cpu", "memory"}:
        die("?only_cpu_and_memory=true&pretty")

    # /metrics/resource: the same numbers, as metrics-server decodes them
    status, text = fetch(base + "/metrics/resource")
    if status != 200:
        die("/metrics/resource: HTTP %d" % status)
    now_ms = time.time() * 1000
    for uid, w in want.items():
        for cid, rel in w["containers"].items():
            labels = '{container="%s",namespace="",pod="%s"}' % (cid, uid)
            for metric, value in (("container_cpu_usage_seconds_total", tree.cpu_ns(rel) / 1e9),
                                  ("container_memory_working_set_bytes", float(tree.memory(rel)[1]))):
                m = re.search("^" + re.escape(metric + labels) + r" (\S+) (\d+)$", text, re.M)
                if not m:
                    die("/metrics/resource has no %s%s" % (metric, labels))
                if abs(float(m.group(1)) - value) > 1e-9 * max(value, 1):
                    die("%s%s = %s, want %r" % (metric, labels, m.group(1), value))
                if abs(int(m.group(2)) - now_ms) > 10000:
                    die("%s%s: timestamp %s ms is not now" % (metric, labels, m.group(2)))
            if not re.search("^container_start_time_seconds" + re.escape(labels) + r" \S+$", text, re.M):
                die("container_start_time_seconds%s missing or with a timestamp" % labels)
    for metric in ("node_cpu_usage_seconds_total", "node_memory_working_set_bytes"):
        if not re.search("^%s \\S+ \\d+$" % metric, text, re.M):
            die("/metrics/resource has no %s sample" % metric)
    if not re.search(r"^resource_scrape_error 0$", text, re.M):
        die("resource_scrape_error is not 0")

    # unknown paths name the endpoints; other methods are refused
    status, body = fetch(base + "/no/such/path")
    if status != 404 or "/stats/summary" not in body or "/metrics/resource" not in body:
        die("unknown path: HTTP %d %.200r" % (status, body))
    status, _ = fetch(base + "/stats/summary", method="POST")
    if status != 405:
        die("POST /stats/summary: HTTP %d, want 405" % status)
    status, _ = fetch(base + "/metrics/resource", method="DELETE")
    if status != 405:
        die("DELETE /metrics/resource: HTTP %d, want 405" % status)

def cycle_after(base, t_ms):
    """Waits (5 s at most) until the agent serves a cycle that began after
    t_ms (wall clock): its node sample is stamped later."""
    deadline = time.time() + 5
    while time.time() < deadline:
        m = re.search(r"^node_cpu_usage_seconds_total \S+ (\d+)$", fetch(base + "/metrics/resource")[1], re.M)
        if m and int(m.group(1)) > t_ms:
            return
        time.sleep(0.05)
    die("no agent cycle after %d ms within 5 s" % t_ms)

def find(base, uid, cid=None):
    s, _ = get_json(base + "/stats/summary")
    for p in s["pods"]:
        if p["podRef"]["uid"] == uid:
            if cid is None:
                return p
            for c in p["containers"]:
                if c["name"] == cid:
                    return c
    return None

def pick(tree):
    """A pod with at least two containers and one of them: (uid, id, rel)."""
    for uid, w in sorted(tree.pods().items()):
        if len(w["containers"]) >= 2:
            cid = sorted(w["containers"])[0]
            return uid, cid, w["containers"][cid]
    for uid, w in sorted(tree.pods().items()):
        if w["containers"]:
            cid = sorted(w["containers"])[0]
            return uid, cid, w["containers"][cid]
    die("no container in the tree")

def cpu_writer(root, layout, nanocores):
    """Grows the first container's CPU counter at `nanocores`, in place."""
    tree = Tree(root, layout)
    uid, cid, rel = pick(tree)
    start_ns, t0 = tree.cpu_ns(rel), time.monotonic()
    path = tree.f("cpuacct", rel, "cpuacct.usage") if layout == "v1" else tree.f("", rel, "cpu.stat")
    template = read(path)
    fd = os.open(path, os.O_WRONLY)
    while True:
        used = start_ns + int((time.monotonic() - t0) * nanocores)
        if layout == "v1":
            text = "%d\n" % used
        else:
            text = re.sub(r"^usage_usec \d+$", "usage_usec %d" % (used // 1000), template, flags=re.M)
        # one write over the old bytes (never shorter: the counter only
        # grows), so a read never sees a truncated file
        os.pwrite(fd, text.encode(), 0)
        time.sleep(0.02)

def check_rate(base, root, layout, nanocores):
    uid, cid, _ = pick(Tree(root, layout))
    deadline = time.time() + 10
    got = None
    seen = []
    while time.time() < deadline:
        c = find(base, uid, cid)
        got = c and c["cpu"].get("usageNanoCores")
        seen.append(got)
        if got is not None and abs(got - nanocores) <= nanocores * 0.1:
            # and it stays there a sample later (a stalled writer on a busy
            # machine may push one sample off; then keep watching)
            cycle_after(base, time.time() * 1000)
            again = find(base, uid, cid)["cpu"]["usageNanoCores"]
            seen.append(again)
            if abs(again - nanocores) <= nanocores * 0.1:
                return
        time.sleep(0.2)
    die("container %s: usageNanoCores %s, want %d within 10%% twice in a row" % (cid, seen[-8:], nanocores))

def check_vanish(base, root, layout, window_s):
    tree = Tree(root, layout)
    uid, cid, rel = pick(tree)
    if find(base, uid, cid) is None:
        die("container %s not reported before removal" % cid)
    dirs = [os.path.join(root, ctl, rel) for ctl in ("cpu", "memory", "pids", "cpuacct")] \
        if layout == "v1" else [os.path.join(root, rel)]
    for d in dirs:
        shutil.rmtree(d)
    removed = time.monotonic()
    cycle_after(base, time.time() * 1000)  # a cycle that no longer sees it
    if find(base, uid, cid) is None:
        die("container %s dropped at once; it should be kept for the %ds window" % (cid, window_s))
    while time.monotonic() - removed < window_s + 5:
        if find(base, uid, cid) is None:
            gone = time.monotonic() - removed
            if gone < window_s - 1.5:
                die("container %s gone %.1fs after removal, before the %ds window" % (cid, gone, window_s))
            if find(base, uid) is None:
                die("pod %s went with one of its containers" % uid)
            print("removed container dropped %.1fs after removal (window %ds)" % (gone, window_s))
            return
        time.sleep(0.2)
    die("container %s still reported %.1fs after removal" % (cid, time.monotonic() - removed))

def check_new_pod(base, root, layout):
    """Copies a pod that has a container to a new uid and container id, in a
    staging directory outside the tree, then moves it in with rename() so
    discovery never sees half a pod."""
    tree = Tree(root, layout)
    uid, w = [(u, p) for u, p in sorted(tree.pods().items()) if p["containers"]][0]
    keep = sorted(w["containers"])[0]
    new_uid = "d00dfeed-0000-4000-8000-00000000c0de"
    new_cid = "f" * 64
    stage = os.path.join(os.path.dirname(root), "stage-" + layout)
    moves = []
    if layout == "v1":
        # every other controller first: discovery walks cpuacct
        for ctl in ("cpu", "memory", "pids", "cpuacct"):
            src = os.path.join(root, ctl, w["rel"])
            dst = os.path.join(stage, ctl)
            shutil.copytree(src, dst)
            for name in os.listdir(dst):
                if not os.path.isdir(os.path.join(dst, name)):
                    continue
                if name == keep:
                    os.rename(os.path.join(dst, name), os.path.join(dst, new_cid))
                else:
                    shutil.rmtree(os.path.join(dst, name))
            moves.append((dst, os.path.join(os.path.dirname(src), "pod" + new_uid)))
    else:
        src = os.path.join(root, w["rel"])
        shutil.copytree(src, stage)
        for name in os.listdir(stage):
            if not os.path.isdir(os.path.join(stage, name)):
                continue
            m = re.match(r"^(cri-containerd|crio|docker)-([0-9a-f]+)\.scope$", name)
            if m and m.group(2) == keep:
                os.rename(os.path.join(stage, name), os.path.join(stage, "%s-%s.scope" % (m.group(1), new_cid)))
            else:
                shutil.rmtree(os.path.join(stage, name))
        base_name = os.path.basename(src)
        new_name = base_name[:base_name.index("-pod") + 4] + new_uid.replace("-", "_") + ".slice"
        moves.append((stage, os.path.join(os.path.dirname(src), new_name)))
    for s, d in moves:
        os.rename(s, d)
    added = time.monotonic()
    while time.monotonic() - added < 2.5:
        c = find(base, new_uid, new_cid)
        if c is not None and "memory" in c:
            print("new pod reported %.1fs after it appeared" % (time.monotonic() - added))
            return
        time.sleep(0.1)
    die("new pod %s with container %s not reported within 2.5s (interval 1s)" % (new_uid, new_cid))

cmd = sys.argv[1]
if cmd == "summary":
    check_summary(sys.argv[2], sys.argv[3], sys.argv[4])
elif cmd == "cpu-writer":
    cpu_writer(sys.argv[2], sys.argv[3], int(sys.argv[4]))
elif cmd == "rate":
    check_rate(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
elif cmd == "vanish":
    check_vanish(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
elif cmd == "new-pod":
    check_new_pod(sys.argv[2], sys.argv[3], sys.argv[4])
else:
    die("unknown check " + cmd)
PY

check() {
	python3 "$TMP/check.py" "$@" || fail "$fixture: $1 check (agent log: $TMP/$fixture.log)"
}

promcheck() {
	curl -fsS "$base$1" > "$TMP/$fixture.prom" || fail "$fixture: GET $1"
	[ -n "$PROMTOOL" ] || return 0
	promtool check metrics < "$TMP/$fixture.prom" > "$TMP/$fixture.promtool" 2>&1 || {
		cat "$TMP/$fixture.promtool"
		fail "$fixture: promtool check metrics rejects $1"
	}
}

for spec in v2-systemd:v2 v1-cgroupfs:v1; do
	fixture=${spec%%:*}
	layout=${spec#*:}
	tree=$TMP/$fixture
	cp -a "tests/fixtures/$fixture" "$tree" || fail "copying the $fixture fixture"
	port=$(free_port)
	base=http://127.0.0.1:$port
	# No CRI (names come from the paths) and no BPF: only the tree counts.
	"$CADET_AGENT" --cgroup-root "$tree" --node-name fixture-node --listen "" --debug-listen "127.0.0.1:$port" \
		--interval 1s --window 3s --container-runtime-endpoint= --bpf=false > "$TMP/$fixture.log" 2>&1 &
	AGENT_PID=$!
	wait_url "$base/healthz" 10 || { cat "$TMP/$fixture.log"; fail "$fixture: agent did not become healthy"; }
	grep -q "layout" "$TMP/$fixture.log" && grep -q "$layout layout" "$TMP/$fixture.log" ||
		{ cat "$TMP/$fixture.log"; fail "$fixture: agent did not detect the $layout layout"; }
	# two samples, so every series has a rate
	wait_for 10 python3 -c '
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/stats/summary", timeout=5))
cpus = [s["node"]["cpu"]] + [o["cpu"] for p in s["pods"] for o in [p] + p["containers"]]
sys.exit(0 if all("usageNanoCores" in c for c in cpus) else 1)' "$base" || fail "$fixture: no rates after 10 s"

	check summary "$base" "$tree" "$layout"
	promcheck /metrics/resource
	promcheck /metrics
	echo "$fixture: summary, only_cpu_and_memory, pretty, /metrics/resource, /metrics, 404, 405 ok"

	python3 "$TMP/check.py" cpu-writer "$tree" "$layout" 250000000 &
	WRITER_PID=$!
	check rate "$base" "$tree" "$layout" 250000000
	stop_pid "$WRITER_PID" 2>/dev/null
	WRITER_PID=""
	echo "$fixture: a quarter core reported as usageNanoCores"

	check vanish "$base" "$tree" "$layout" 3
	echo "$fixture: removed container kept for the window, then dropped"
	check new-pod "$base" "$tree" "$layout"

	kill -0 "$AGENT_PID" 2>/dev/null || { cat "$TMP/$fixture.log"; fail "$fixture: agent died"; }
	if grep -E "error|warn" "$TMP/$fixture.log"; then
		fail "$fixture: agent logged problems on a clean tree"
	fi
	# SIGTERM ends the agent cleanly (exit 0; under ASan, also no leaks)
	stop_pid "$AGENT_PID"
	rc=$?
	AGENT_PID=""
	[ "$rc" -eq 0 ] || { cat "$TMP/$fixture.log"; fail "$fixture: agent exited with $rc after SIGTERM"; }
done
echo "both fixture trees pass"
