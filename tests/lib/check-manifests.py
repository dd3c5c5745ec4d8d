#!/usr/bin/env python3
"""check-manifests.py: checks deploy/'s Kubernetes manifests offline.

Usage: check-manifests.py DEPLOY_DIR KUSTOMIZED_YAML AGENT_HELP AGGREGATOR_HELP CONTAINERFILE

Reads every DEPLOY_DIR/*.yaml, and the output of `kubectl kustomize` (may be
empty when kubectl is missing), and checks that the objects agree with each
other, with the daemons' --help texts and with the Containerfile. Prints one
line per failed check and exits 1 if any failed.
"""
import glob
import os
import re
import sys

import yaml

KNOWN_KINDS = {
    "DaemonSet": "apps/v1",
    "Deployment": "apps/v1",
    "Service": "v1",
    "ServiceAccount": "v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1",
    "PodDisruptionBudget": "policy/v1",
    "APIService": "apiregistration.k8s.io/v1",
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "APIService"}
NAMESPACE = "kube-system"
# Capabilities the agent may add: cgroup and /proc reads, BPF.
AGENT_CAPS = {"DAC_READ_SEARCH", "SYS_PTRACE", "BPF", "PERFMON"}

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def flags_of_help(path):
    with open(path) as f:
        return set(re.findall(r"--([a-z][a-z0-9-]*)", f.read()))


def arg_map(args):
    """--flag=value / --flag value -> {flag: value}."""
    out, i = {}, 0
    while i < len(args):
        a = args[i]
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            if not eq and i + 1 < len(args) and not args[i + 1].startswith("--"):
                value = args[i + 1]
                i += 1
            out[name] = value
        i += 1
    return out


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def one(objs, kind, name=None):
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    check(len(found) == 1, f"want exactly one {kind} {name or ''}, found {len(found)}")
    return found[0] if found else None


def container_port(container, ref):
    for p in container.get("ports", []):
        if ref in (p.get("name"), p.get("containerPort")):
            return p["containerPort"]
    failures.append(f"{container['name']}: no container port {ref}")
    return None


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_args_against_help(container, help_flags, env_names):
    args = container.get("args", [])
    for a in args:
        if a.startswith("--"):
            flag = a[2:].split("=", 1)[0]
            check(flag in help_flags, f"{container['name']}: --{flag} is not in the binary's --help")
        for var in re.findall(r"\$\(([A-Z_][A-Z0-9_]*)\)", a):
            check(var in env_names, f"{container['name']}: $({var}) in args but not in env")
    check("command" not in container, f"{container['name']}: command overrides the image's ENTRYPOINT")


def check_pod_basics(pod_spec, container, what):
    sc = container.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True, f"{what}: readOnlyRootFilesystem is not true")
    check(sc.get("allowPrivilegeEscalation") is False, f"{what}: allowPrivilegeEscalation is not false")
    check(sc.get("privileged") in (None, False), f"{what}: privileged")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{what}: capabilities do not drop ALL")
    res = container.get("resources", {})
    check("cpu" in res.get("requests", {}) and "memory" in res.get("requests", {}), f"{what}: no cpu/memory requests")
    check("memory" in res.get("limits", {}), f"{what}: no memory limit")
    for probe in ("livenessProbe", "readinessProbe"):
        check(probe in container, f"{what}: no {probe}")


def main():
    deploy_dir, kustomized, agent_help, agg_help, containerfile = sys.argv[1:6]

    files = sorted(glob.glob(os.path.join(deploy_dir, "*.yaml")))
    objs = []
    for path in files:
        with open(path) as f:
            check(f.readline().startswith("# "), f"{path}: no role comment on the first line")
        for d in load(path):
            d["_file"] = path
            objs.append(d)

    # kinds, apiVersions, names, namespaces
    for o in objs:
        kind = o.get("kind")
        if not check(kind in KNOWN_KINDS, f"{o['_file']}: unexpected kind {kind}"):
            continue
        check(o.get("apiVersion") == KNOWN_KINDS[kind], f"{kind}: apiVersion {o.get('apiVersion')}")
        if kind == "Kustomization":
            continue
        meta = o.get("metadata", {})
        check(bool(meta.get("name")), f"{kind} without a name")
        if kind in CLUSTER_SCOPED:
            check("namespace" not in meta, f"{kind} {meta.get('name')}: cluster-scoped but has a namespace")
        else:
            check(meta.get("namespace") == NAMESPACE, f"{kind} {meta.get('name')}: namespace is not {NAMESPACE}")
    kinds = [o for o in objs if o["kind"] != "Kustomization"]

    # the kustomization lists every manifest and renders the same objects
    kust = one(objs, "Kustomization")
    if kust:
        listed = sorted(os.path.join(deploy_dir, r) for r in kust.get("resources", []))
        want = sorted(p for p in files if os.path.basename(p) != "kustomization.yaml")
        check(listed == want, f"kustomization resources {listed} != manifests {want}")
    rendered = load(kustomized) if os.path.getsize(kustomized) > 0 else None
    if rendered is not None:
        got = sorted((r["kind"], r["metadata"]["name"]) for r in rendered)
        exp = sorted((o["kind"], o["metadata"]["name"]) for o in kinds)
        check(got == exp, f"kubectl kustomize renders {got}, the files hold {exp}")

    agent_flags = flags_of_help(agent_help)
    agg_flags = flags_of_help(agg_help)

    # ---- aggregator
    dep = one(kinds, "Deployment", "cadet-aggregator")
    svc = one(kinds, "Service", "cadet-aggregator")
    push = one(kinds, "Service", "cadet-aggregator-push")
    api = one(kinds, "APIService", "v1beta1.metrics.k8s.io")
    sa = one(kinds, "ServiceAccount", "cadet-aggregator")
    pdb = one(kinds, "PodDisruptionBudget")
    agg_args = {}
    if dep:
        spec = dep["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"]["labels"]
        check(spec.get("replicas") == 2, "aggregator: replicas is not 2")
        check(spec["selector"]["matchLabels"].items() <= labels.items(), "aggregator: selector misses its pods")
        check(pod.get("priorityClassName") == "system-cluster-critical", "aggregator: priorityClassName")
        check(sa is None or pod.get("serviceAccountName") == sa["metadata"]["name"], "aggregator: serviceAccountName")
        check(pod.get("securityContext", {}).get("runAsNonRoot") is True, "aggregator: runAsNonRoot is not true")
        c = pod["containers"][0]
        check_args_against_help(c, agg_flags, {e["name"] for e in c.get("env", [])})
        check_pod_basics(pod, c, "aggregator")
        check(not c["securityContext"]["capabilities"].get("add"), "aggregator: adds capabilities")
        agg_args = arg_map(c.get("args", []))
        listen = port_of(agg_args.get("listen", "0.0.0.0:4443"))
        grpc = port_of(agg_args.get("grpc-listen", "0.0.0.0:4445"))
        for probe in ("livenessProbe", "readinessProbe"):
            get = c.get(probe, {}).get("httpGet", {})
            check(get.get("scheme") == "HTTPS", f"aggregator {probe}: not HTTPS")
            check(container_port(c, get.get("port")) == listen, f"aggregator {probe}: not on --listen's port")
            check(get.get("path") in ("/livez", "/readyz", "/healthz"), f"aggregator {probe}: path {get.get('path')}")
        # every file the args name is mounted
        mounts = [m["mountPath"] for m in c.get("volumeMounts", [])]
        for flag, value in agg_args.items():
            if flag.endswith("-file"):
                check(any(value.startswith(m + "/") for m in mounts), f"aggregator: --{flag} {value} is not mounted")
        if svc and api:
            check(selects(svc["spec"]["selector"], labels), "Service cadet-aggregator does not select the pods")
            api_port = api["spec"]["service"].get("port", 443)
            sport = [p for p in svc["spec"]["ports"] if p["port"] == api_port]
            if check(len(sport) == 1, f"Service cadet-aggregator has no port {api_port}"):
                check(container_port(c, sport[0]["targetPort"]) == listen,
                      "APIService -> Service port -> targetPort is not the aggregator's --listen port")
        if push:
            check(push["spec"].get("clusterIP") == "None", "push Service is not headless")
            check(push["spec"].get("publishNotReadyAddresses") is True, "push Service hides not-ready replicas")
            check(selects(push["spec"]["selector"], labels), "push Service does not select the pods")
            check(container_port(c, push["spec"]["ports"][0]["targetPort"]) == grpc,
                  "push Service targetPort is not the aggregator's --grpc-listen port")
        if pdb:
            check(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), "PDB does not select the pods")
            check(pdb["spec"].get("minAvailable") == 1 or "maxUnavailable" in pdb["spec"], "PDB budget")
    if api:
        s = api["spec"]
        check(s.get("group") == "metrics.k8s.io" and s.get("version") == "v1beta1", "APIService group/version")
        check(s.get("groupPriorityMinimum") == 100 and s.get("versionPriority") == 100, "APIService priorities")
        check(s["service"]["name"] == "cadet-aggregator" and s["service"]["namespace"] == NAMESPACE,
              "APIService points at another Service")
        check(s.get("insecureSkipTLSVerify") is True or bool(s.get("caBundle")), "APIService: no caBundle")

    # ---- RBAC as metrics-server ships it
    reader = one(kinds, "ClusterRole", "system:aggregated-metrics-reader")
    if reader:
        lab = reader["metadata"].get("labels", {})
        for r in ("view", "edit", "admin"):
            check(lab.get(f"rbac.authorization.k8s.io/aggregate-to-{r}") == "true", f"reader not aggregated to {r}")
        rule = reader["rules"][0]
        check(rule["apiGroups"] == ["metrics.k8s.io"] and set(rule["resources"]) == {"pods", "nodes"}
              and set(rule["verbs"]) == {"get", "list", "watch"}, "aggregated-metrics-reader rules")
    sa_subject = {"kind": "ServiceAccount", "name": "cadet-aggregator", "namespace": NAMESPACE}
    crbs = [o for o in kinds if o["kind"] == "ClusterRoleBinding" and o["roleRef"]["name"] == "system:auth-delegator"]
    check(len(crbs) == 1 and crbs[0]["roleRef"]["kind"] == "ClusterRole" and sa_subject in crbs[0]["subjects"],
          "no ClusterRoleBinding of system:auth-delegator to the aggregator's ServiceAccount")
    rbs = [o for o in kinds if o["kind"] == "RoleBinding"
           and o["roleRef"]["name"] == "extension-apiserver-authentication-reader"]
    check(len(rbs) == 1 and rbs[0]["roleRef"]["kind"] == "Role" and rbs[0]["metadata"]["namespace"] == NAMESPACE
          and sa_subject in rbs[0]["subjects"],
          "no RoleBinding of extension-apiserver-authentication-reader in kube-system")

    # ---- agent
    ds = one(kinds, "DaemonSet", "cadet-agent")
    if ds:
        pod = ds["spec"]["template"]["spec"]
        c = pod["containers"][0]
        env = {e["name"]: e for e in c.get("env", [])}
        check_args_against_help(c, agent_flags, set(env))
        check_pod_basics(pod, c, "agent")
        args = arg_map(c.get("args", []))
        check(args.get("node-name") == "$(NODE_NAME)", "agent: --node-name is not $(NODE_NAME)")
        check(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
              "agent: NODE_NAME is not the downward API's spec.nodeName")
        check(any(t.get("operator") == "Exists" and "key" not in t for t in pod.get("tolerations", [])),
              "agent: no toleration for every taint")
        check(pod.get("hostPID") is True, "agent: hostPID is needed for /proc/<pid> of pods")
        caps = set(c["securityContext"]["capabilities"].get("add", []))
        check(caps <= AGENT_CAPS, f"agent: adds capabilities beyond {sorted(AGENT_CAPS)}: {sorted(caps - AGENT_CAPS)}")
        listen = port_of(args.get("listen", ":10265"))
        for probe in ("livenessProbe", "readinessProbe"):
            get = c.get(probe, {}).get("httpGet", {})
            check(get.get("path") == "/healthz", f"agent {probe}: path is not /healthz")
            check(container_port(c, get.get("port")) == listen, f"agent {probe}: not on --listen's port")
            check(get.get("scheme") == "HTTPS", f"agent {probe}: --listen serves HTTPS, the probe is not")
        if not pod.get("hostNetwork"):
            check(args.get("listen", "127.0.0.1").split(":")[0] != "127.0.0.1",
                  "agent: listens on loopback inside its pod, probes cannot reach it")
        # mounts for what the flags read: host path == mount path, read-only
        vols = {v["name"]: v for v in pod.get("volumes", [])}
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}

        def host_mounted(path, what):
            m = mounts.get(path)
            if check(m is not None, f"agent: {what} {path} is not mounted"):
                check(m.get("readOnly") is True, f"agent: {path} is mounted read-write")
                hp = vols.get(m["name"], {}).get("hostPath", {})
                check(hp.get("path") == path, f"agent: {path} is not the host's {path}")

        host_mounted(args.get("cgroup-root", "/sys/fs/cgroup"), "--cgroup-root")
        endpoint = args.get("container-runtime-endpoint", "unix:///run/containerd/containerd.sock")
        if endpoint:
            host_mounted(re.sub(r"^unix://", "", endpoint), "--container-runtime-endpoint")
        if "aggregator" in args and push:
            host, port = args["aggregator"].rsplit(":", 1)
            host = host.replace("dns:///", "")
            check(host.split(".")[:2] == [push["metadata"]["name"], NAMESPACE],
                  f"agent: --aggregator {args['aggregator']} is not the headless push Service")
            check(int(port) == push["spec"]["ports"][0]["port"], "agent: --aggregator port is not the push Service's")
            check(pod.get("dnsPolicy") == "ClusterFirstWithHostNet" or not pod.get("hostNetwork"),
                  "agent: on the host network without ClusterFirstWithHostNet, Service names do not resolve")

    # ---- images agree with the Containerfile's targets and entrypoints
    with open(containerfile) as f:
        cf = f.read()
    stages = dict(re.findall(r"^FROM \S+ AS (\S+)\n(?:(?!FROM ).*\n)*?ENTRYPOINT \[\"([^\"]+)\"\]", cf, re.M))
    for workload, binary, target in ((ds, "cadet-agent", "agent"), (dep, "cadet-aggregator", "aggregator")):
        if workload is None:
            continue
        image = workload["spec"]["template"]["spec"]["containers"][0]["image"]
        check(image.split("/")[-1].split(":")[0] == binary, f"{binary}: image {image} is not named {binary}")
        check(stages.get(target) == f"/usr/bin/{binary}",
              f"Containerfile target {target} does not have ENTRYPOINT /usr/bin/{binary} ({stages})")

    for f in failures:
        print("FAIL:", f)
    if not failures:
        print(f"ok: {len(kinds)} objects in {len(files)} files")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
