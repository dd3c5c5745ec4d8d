#!/usr/bin/env python3
"""cadet-image.py: an OCI image-layout tarball of one cadet daemon, built
from the build folder's binary, for the test cluster's containerd (no
registry, no image builder here).

    cadet-image.py OUTDIR NAME:TAG BINARY

The image holds one uncompressed layer: BINARY at /usr/bin/<its name>, the
entrypoint, and every shared library it loads with its dynamic loader, at
the paths this machine has them (ldd; Debian 12, the base of
packaging/Containerfile's runtime image), plus /etc/passwd and /tmp. The
result, OUTDIR/<name>-<tag>.tar, is imported with `ctr images import`;
containerd takes the reference from the io.containerd.image.name
annotation, so NAME should be fully qualified
(docker.io/library/cadet-agent:0.1.0 is what kubelet asks for when a Pod
says cadet-agent:0.1.0).
"""
import argparse
import io
import os
import re
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
oci_image = __import__("oci-image")


def shared_libraries(binary):
    """Absolute paths of the libraries and the loader BINARY needs (ldd)."""
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    paths = []
    for line in out.splitlines():
        found = re.search(r"(/\S+) \(0x", line)
        if found:
            paths.append(found.group(1))
        elif "not found" in line:
            raise SystemExit(f"{binary}: {line.strip()}")
    return paths


def add_file(layer, src, dest, mode):
    with open(src, "rb") as f:
        data = f.read()
    layer.addfile(oci_image.tar_entry(dest, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))


def daemon_layer(binary, libraries):
    out = io.BytesIO()
    made = set()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as layer:
        def parents(path):
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d and d not in made:
                    made.add(d)
                    layer.addfile(oci_image.tar_entry(d, tarfile.DIRTYPE, 0o755))
        for d, mode in (("tmp", 0o1777), ("etc", 0o755), ("proc", 0o555), ("sys", 0o555), ("dev", 0o755)):
            made.add(d)
            layer.addfile(oci_image.tar_entry(d, tarfile.DIRTYPE, mode))
        dest = "usr/bin/" + os.path.basename(binary)
        parents(dest)
        add_file(layer, binary, dest, 0o755)
        for lib in libraries:
            # The real file under the path the loader looks for.
            dest = lib.lstrip("/")
            parents(dest)
            add_file(layer, os.path.realpath(lib), dest, 0o755)
        passwd = b"root:x:0:0:root:/:/usr/sbin/nologin\nnonroot:x:65532:65532::/:/usr/sbin/nologin\n"
        layer.addfile(oci_image.tar_entry("etc/passwd", tarfile.REGTYPE, 0o644, len(passwd)), io.BytesIO(passwd))
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("name", help="image reference, e.g. docker.io/library/cadet-agent:0.1.0")
    parser.add_argument("binary")
    args = parser.parse_args()
    entrypoint = ["/usr/bin/" + os.path.basename(args.binary)]
    layer = daemon_layer(args.binary, shared_libraries(args.binary))
    files = oci_image.image_layout(args.name, layer, entrypoint, [])
    os.makedirs(args.outdir, exist_ok=True)
    path = os.path.join(args.outdir, args.name.rpartition("/")[2].replace(":", "-") + ".tar")
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as out:
        for directory in ("blobs", "blobs/sha256"):
            out.addfile(oci_image.tar_entry(directory, tarfile.DIRTYPE, 0o755))
        for file_name, data in sorted(files.items()):
            out.addfile(oci_image.tar_entry(file_name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    print(path)


if __name__ == "__main__":
    main()
