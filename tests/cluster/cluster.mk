# tests/cluster/cluster.mk: `make cluster-up` starts the test cluster
# (tests/cluster/up: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler on loopback, state in $(BUILD)/cluster), building its
# programs first if go.mod changed (cluster-tools, tests/go-tools.mk);
# `make cluster-down` stops it and removes its files. Not part of `make
# test` yet.
.PHONY: cluster-up cluster-down
cluster-up: $(CLUSTER_TOOLS)
	BUILD=$(BUILD) sh tests/cluster/up
cluster-down:
	BUILD=$(BUILD) sh tests/cluster/down
