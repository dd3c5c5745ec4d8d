#!/bin/sh
# deploy-manifests.sh: the Kubernetes manifests in deploy/ against each other
# and against the binaries they run.
#
# The real kube-apiserver's judgement (server-side apply of every object)
# is the cluster tier's deploy-apply part (cluster-parts/20-deploy-apply.sh); this is the second line, offline:
# `kubectl kustomize deploy/` must render the kustomization, and
# tests/lib/check-manifests.py checks the
# fields that matter: kinds and apiVersions, namespaces, selectors, the
# APIService -> Service -> containerPort -> --listen chain, the headless
# push Service -> --grpc-listen and the agents' --aggregator, RBAC names as
# metrics-server ships them, every flag in args against the binary's --help,
# the DaemonSet mounting what the agent's flags read, probes, security
# contexts, resources, and images against packaging/Containerfile.
set -u
. tests/lib/agent.sh

CADET_AGGREGATOR=${CADET_AGGREGATOR:-$BUILD/cadet-aggregator}
[ -x "$CADET_AGENT" ] || fail "$CADET_AGENT not built"
[ -x "$CADET_AGGREGATOR" ] || fail "$CADET_AGGREGATOR not built"
PY=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || { echo "skipped: no python3 with the yaml module (Debian: python3-yaml)"; exit 77; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

"$CADET_AGENT" --help >"$TMP/agent-help" 2>&1 || fail "cadet-agent --help failed"
"$CADET_AGGREGATOR" --help >"$TMP/aggregator-help" 2>&1 || fail "cadet-aggregator --help failed"

if command -v kubectl >/dev/null 2>&1; then
	kubectl kustomize deploy/ >"$TMP/kustomized.yaml" 2>"$TMP/kustomize.err" ||
		{ cat "$TMP/kustomize.err"; fail "kubectl kustomize deploy/ failed"; }
else
	skip_part kustomize "kubectl is missing: the kustomization is checked by file list only"
	: >"$TMP/kustomized.yaml"
fi

"$PY" tests/lib/check-manifests.py deploy "$TMP/kustomized.yaml" "$TMP/agent-help" "$TMP/aggregator-help" \
	packaging/Containerfile || fail "manifest checks failed"
