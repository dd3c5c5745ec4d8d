#!/bin/sh
# cluster-images.sh: the OCI images of cadet-agent and cadet-aggregator that
# the cluster tests import into the cluster's containerd
# (tests/cluster/cadet-image.py, from the build folder's binaries). For
# each: the layout names the reference kubelet asks for when a Pod says
# cadet-NAME:0.1.0 (docker.io/library/cadet-NAME:0.1.0), its entrypoint is
# the daemon, and the daemon runs from the image's layer alone (chroot into
# the unpacked layer: every shared library it needs is in the image).
set -u
. tests/lib/agent.sh

CADET_AGGREGATOR=${CADET_AGGREGATOR:-$BUILD/cadet-aggregator}
[ -x "$CADET_AGENT" ] || fail "$CADET_AGENT not built"
[ -x "$CADET_AGGREGATOR" ] || fail "$CADET_AGGREGATOR not built"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM HUP
show_logs() { :; }

for daemon in agent aggregator; do
	ref=docker.io/library/cadet-$daemon:0.1.0
	binary=$BUILD/cadet-$daemon
	python3 tests/cluster/cadet-image.py "$TMP" "$ref" "$binary" >/dev/null
	check "image of cadet-$daemon built from $binary"
	mkdir "$TMP/layout-$daemon" "$TMP/root-$daemon" && tar -xf "$TMP/cadet-$daemon-0.1.0.tar" -C "$TMP/layout-$daemon"
	check "image layout of cadet-$daemon unpacks"
	# index -> manifest -> config and layer, by digest.
	# shellcheck disable=SC2046 # three words: name, entrypoint, layer digest
	set -- $(python3 - "$TMP/layout-$daemon" <<'PY'
import json, sys
d = sys.argv[1]
blob = lambda digest: json.load(open(f"{d}/blobs/sha256/{digest[7:]}"))
entry = json.load(open(f"{d}/index.json"))["manifests"][0]
manifest = blob(entry["digest"])
config = blob(manifest["config"]["digest"])
print(entry["annotations"]["io.containerd.image.name"], config["config"]["Entrypoint"][0],
      manifest["layers"][0]["digest"][7:])
PY
)
	[ "${1:-}" = "$ref" ]
	check "cadet-$daemon image named $ref"
	[ "${2:-}" = "/usr/bin/cadet-$daemon" ]
	check "cadet-$daemon image entrypoint is /usr/bin/cadet-$daemon"
	tar -xf "$TMP/layout-$daemon/blobs/sha256/$3" -C "$TMP/root-$daemon"
	check "cadet-$daemon layer unpacks"
	[ "$(chroot "$TMP/root-$daemon" "/usr/bin/cadet-$daemon" --version 2>&1)" = "$("$binary" --version 2>&1)" ]
	check "cadet-$daemon runs from its image's layer alone (--version in a chroot)"
done
