# 20-deploy-apply.sh (a part of tests/integration/cluster.sh): every object
# of deploy/ accepted by the cluster's real kube-apiserver (v1.37.2)
# through server-side apply, so the offline checker (deploy-manifests.sh)
# is the second line, not the only one. It checks what the API server
# checks, not that cadet's pods run from these objects.
#   - `kubectl apply --server-side --validate=strict -k deploy/` succeeds:
#     schema, unknown and duplicate fields, admission (PDB, APIService,
#     RBAC escalation rules) are the server's own;
#   - every rendered object is on the server with every field as written
#     (defaults added, nothing dropped or changed) and owned by the test's
#     field manager (tests/lib/check-applied.py);
#   - a second apply changes nothing (same resourceVersion everywhere);
#   - the strict validation is real: the DaemonSet with a misspelt field is
#     refused by a server-side dry run;
#   - RBAC as written works: the aggregated reader role reaches `view`
#     (the controller manager's aggregation), and the aggregator's service
#     account may create TokenReviews and SubjectAccessReviews and read the
#     extension-apiserver-authentication ConfigMap.
# The objects are deleted at the end, so that later parts register their
# own APIService.
K() { kctl "$@"; }
KUBECTL=$CLUSTER_BIN/kubectl
TMP=$(mktemp -d)
trap 'K delete --wait=true --ignore-not-found -k deploy/ >/dev/null 2>&1; rm -rf "$TMP"' EXIT
MANAGER=cadet-deploy-test

"$KUBECTL" kustomize deploy/ >"$TMP/rendered.yaml"
check "kubectl kustomize deploy/ renders"
K apply --server-side --validate=strict --field-manager=$MANAGER -k deploy/ >"$TMP/apply.out" 2>&1
rc=$?
cat "$TMP/apply.out"
[ $rc -eq 0 ]
check "kubectl apply --server-side --validate=strict -k deploy/ accepted by kube-apiserver"

K get -f "$TMP/rendered.yaml" -o json --show-managed-fields >"$TMP/server.json"
check "every rendered object read back from the server"
python3 tests/lib/check-applied.py "$TMP/rendered.yaml" "$TMP/server.json" $MANAGER
check "the server stores every object of deploy/ as written"

versions() {
	K get -f "$TMP/rendered.yaml" -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}'
}
versions >"$TMP/rv1"
K apply --server-side --validate=strict --field-manager=$MANAGER -k deploy/ >/dev/null 2>&1
check "a second server-side apply is accepted"
versions >"$TMP/rv2"
cmp -s "$TMP/rv1" "$TMP/rv2"
check "a second apply changes no object (resourceVersions unchanged)"

# The negative control: the same DaemonSet with hostNetwork misspelt.
python3 - "$TMP/rendered.yaml" >"$TMP/typo.yaml" <<'EOF'
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc["kind"] == "DaemonSet":
        doc["spec"]["template"]["spec"]["hostNetwrok"] = True
        print(yaml.safe_dump(doc))
EOF
! K apply --server-side --validate=strict --dry-run=server --field-manager=$MANAGER -f "$TMP/typo.yaml" >"$TMP/typo.out" 2>&1
check "a DaemonSet with a misspelt field is refused by the server"
grep -Eq 'hostNetwrok.*field not declared|unknown field.*hostNetwrok' "$TMP/typo.out"
check "the refusal names the unknown field ($(head -c 160 "$TMP/typo.out"))"

# RBAC: the clusterrole-aggregation controller folds the reader role into
# view; the auth-delegator and the auth-reader bindings give the
# aggregator's service account what an extension API server needs.
view_has_metrics() {
	[ "$(K get clusterrole view -o jsonpath='{.rules[?(@.apiGroups[0]=="metrics.k8s.io")].resources}')" = '["pods","nodes"]' ]
}
wait_for 30 view_has_metrics
check "system:aggregated-metrics-reader is aggregated into the view role"
SA=system:serviceaccount:kube-system:cadet-aggregator
for what in "create tokenreviews.authentication.k8s.io" "create subjectaccessreviews.authorization.k8s.io"; do
	# shellcheck disable=SC2086 # verb and resource
	[ "$(K auth can-i $what --as=$SA 2>/dev/null)" = yes ]
	check "the aggregator's service account may $what (auth-delegator)"
done
[ "$(K auth can-i get configmaps/extension-apiserver-authentication -n kube-system --as=$SA 2>/dev/null)" = yes ]
check "the aggregator's service account may read extension-apiserver-authentication"
[ "$(K auth can-i list secrets -n kube-system --as=$SA 2>/dev/null)" = no ]
check "the aggregator's service account may not list secrets (no more than written)"

K delete --wait=true --ignore-not-found -k deploy/ >/dev/null 2>&1
check "deploy/'s objects deleted again"
