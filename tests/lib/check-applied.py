#!/usr/bin/env python3
"""check-applied.py: every object of a rendered manifest against the API
server's copy of it, after a server-side apply.

    check-applied.py RENDERED.yaml SERVER.json FIELD_MANAGER

RENDERED.yaml is `kubectl kustomize deploy/`; SERVER.json is a JSON list
(kind "List") of the same objects as the server returns them (`kubectl get
-o json` of each). For each rendered object: the server has it (kind,
namespace, name), every field written in the manifest is there with the
value written (the server may add defaults, never drop or change what was
sent), and FIELD_MANAGER owns it through an Apply entry of managedFields.
Prints one line per object and exits 1 on the first list of failures.
"""
import json
import sys

import yaml


def key_of(obj):
    meta = obj.get("metadata", {})
    return (obj.get("kind"), meta.get("namespace", ""), meta.get("name"))


def missing_fields(sent, stored, path):
    """Paths of SENT whose value STORED lacks or holds differently."""
    if isinstance(sent, dict):
        if not isinstance(stored, dict):
            return [path or "."]
        out = []
        for name, value in sent.items():
            if name not in stored:
                out.append(f"{path}.{name}")
            else:
                out.extend(missing_fields(value, stored[name], f"{path}.{name}"))
        return out
    if isinstance(sent, list):
        if not isinstance(stored, list) or len(stored) != len(sent):
            return [path]
        out = []
        for i, (a, b) in enumerate(zip(sent, stored)):
            out.extend(missing_fields(a, b, f"{path}[{i}]"))
        return out
    # Quantities and ports may come back in another spelling only if the
    # manifest used a non-canonical one; the manifests use canonical ones.
    return [] if sent == stored else [f"{path} (sent {sent!r}, stored {stored!r})"]


def main():
    rendered_path, server_path, manager = sys.argv[1:4]
    with open(rendered_path) as f:
        rendered = [d for d in yaml.safe_load_all(f) if d]
    with open(server_path) as f:
        server = {key_of(o): o for o in json.load(f)["items"]}
    failures = []
    for obj in rendered:
        key = key_of(obj)
        label = "%s %s/%s" % (key[0], key[1] or "-", key[2])
        stored = server.get(key)
        if stored is None:
            failures.append(f"{label}: not on the server")
            continue
        gone = missing_fields(obj, stored, "")
        if gone:
            failures.append(f"{label}: the server's copy lacks or changed {', '.join(gone)}")
            continue
        owners = [m for m in stored["metadata"].get("managedFields", [])
                  if m.get("manager") == manager and m.get("operation") == "Apply"]
        if not owners:
            failures.append(f"{label}: no Apply entry of {manager} in managedFields")
            continue
        print(f"ok: {label} stored as written, owned by {manager} (server-side apply)")
    if len(server) != len(rendered):
        failures.append(f"{len(rendered)} objects rendered, {len(server)} read back")
    for line in failures:
        print("FAIL:", line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
