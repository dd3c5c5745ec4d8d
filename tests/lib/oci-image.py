#!/usr/bin/env python3
"""oci-image.py: writes OCI image-layout tarballs built from busybox-static,
for tests that run a real container runtime with no registry to pull from.

    oci-image.py OUTDIR NAME:TAG [--entrypoint ARG]... [--cmd ARG]...

The image holds one uncompressed layer: /bin/busybox plus a link per applet
the tests use, and a minimal /etc. Timestamps are fixed, so the same
busybox always gives the same digests. The result, OUTDIR/<name>.tar, is
imported with `ctr images import`; containerd takes the image name from the
io.containerd.image.name annotation of index.json.
"""
import argparse
import hashlib
import io
import json
import os
import tarfile

BUSYBOX_PATH = "/bin/busybox"
APPLETS = ("sh", "sleep", "cat", "echo", "true", "yes", "date", "dd", "ls", "ps", "head", "wc")
EPOCH_SECONDS = 1700000000


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_entry(name, kind, mode, size=0, target=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = target
    info.mtime = EPOCH_SECONDS
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def busybox_layer():
    """The root filesystem as an uncompressed tar, in memory."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as layer:
        for directory, mode in (("bin", 0o755), ("dev", 0o755), ("etc", 0o755), ("proc", 0o555),
                                ("sys", 0o555), ("tmp", 0o1777), ("run", 0o755)):
            layer.addfile(tar_entry(directory, tarfile.DIRTYPE, mode))
        with open(BUSYBOX_PATH, "rb") as f:
            binary = f.read()
        layer.addfile(tar_entry("bin/busybox", tarfile.REGTYPE, 0o755, len(binary)), io.BytesIO(binary))
        for applet in APPLETS:
            layer.addfile(tar_entry("bin/" + applet, tarfile.SYMTYPE, 0o777, target="busybox"))
        passwd = b"root:x:0:0:root:/:/bin/sh\n"
        layer.addfile(tar_entry("etc/passwd", tarfile.REGTYPE, 0o644, len(passwd)), io.BytesIO(passwd))
    return out.getvalue()


def image_layout(name, layer, entrypoint, cmd):
    """Maps each file of the OCI layout to its bytes."""
    runtime_config = {"Env": ["PATH=/bin"], "WorkingDir": "/"}
    if entrypoint:
        runtime_config["Entrypoint"] = entrypoint
    if cmd:
        runtime_config["Cmd"] = cmd
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": runtime_config,
        "rootfs": {"type": "layers", "diff_ids": [digest_of(layer)]},
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest_of(layer), "size": len(layer)}],
    }, sort_keys=True).encode()
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest_of(manifest), "size": len(manifest),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"io.containerd.image.name": name,
                            "org.opencontainers.image.ref.name": name.rpartition(":")[2]},
        }],
    }, sort_keys=True).encode()
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    for blob in (layer, config, manifest):
        files["blobs/sha256/" + digest_of(blob)[len("sha256:"):]] = blob
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("name", help="image reference, e.g. localhost/busybox:1")
    parser.add_argument("--entrypoint", action="append", default=[])
    parser.add_argument("--cmd", action="append", default=[])
    args = parser.parse_args()

    files = image_layout(args.name, busybox_layer(), args.entrypoint, args.cmd)
    os.makedirs(args.outdir, exist_ok=True)
    base = args.name.rpartition("/")[2].replace(":", "-")
    path = os.path.join(args.outdir, base + ".tar")
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as out:
        for directory in ("blobs", "blobs/sha256"):
            out.addfile(tar_entry(directory, tarfile.DIRTYPE, 0o755))
        for file_name, data in sorted(files.items()):
            out.addfile(tar_entry(file_name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    print(path)


if __name__ == "__main__":
    main()
