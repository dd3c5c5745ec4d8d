# tests/cluster/cluster.mk: `make cluster-up` starts the test cluster
# (tests/cluster/up: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, containerd 2 and a kubelet in the network namespace
# cadet-k8s, state in $(BUILD)/cluster), building its programs first if
# go.mod changed (cluster-tools, tests/go-tools.mk; crictl for `down`);
# `make cluster-down` stops it and removes everything it made. The cluster
# tier of `make test` is tests/integration/cluster.sh.
.PHONY: cluster-up cluster-down
cluster-up: $(CLUSTER_TOOLS) $(CRICTL)
	BUILD=$(BUILD) sh tests/cluster/up
cluster-down:
	BUILD=$(BUILD) sh tests/cluster/down
