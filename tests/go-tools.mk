# tests/go-tools.mk: Go programs the tests take as independent oracles.
# Their versions are pinned in one Go module of its own, tests/go (go.mod
# `tool` directives, go.sum committed); this fragment builds each into
# $(BUILD)/go-bin with `go build -o`. Module and build caches are Go's
# default ones, so a rebuild after the first takes seconds. Today: crictl
# (sigs.k8s.io/cri-tools), the CRI client the containerd tests check the
# agent against instead of cadet's own agent/collect-cri-client.c.
# Without a Go toolchain at $(GO) nothing is built and the tests that need
# these programs skip, saying so.
GO ?= /usr/local/go/bin/go
GO_TOOLS_MOD := tests/go
GO_TOOLS_BIN := $(BUILD)/go-bin
# One line per program: its package, named by a `tool` line of go.mod.
GO_TOOL_PKG_crictl := sigs.k8s.io/cri-tools/cmd/crictl
CRICTL := $(GO_TOOLS_BIN)/crictl
GO_TOOLS := $(CRICTL)

.PHONY: go-tools
go-tools: $(GO_TOOLS)
# The tests run against these, so `make test` builds them first.
test: $(GO_TOOLS)

# Module versions never change under a pin, so go.mod and go.sum are the
# only inputs.
$(GO_TOOLS_BIN)/%: $(GO_TOOLS_MOD)/go.mod $(GO_TOOLS_MOD)/go.sum
ifeq ($(wildcard $(GO)),)
	@echo "go-tools: no Go toolchain at $(GO): $@ not built, tests that need it will skip"
else
	@mkdir -p $(dir $@)
	cd $(GO_TOOLS_MOD) && $(GO) build -trimpath -o $(abspath $@) $(GO_TOOL_PKG_$*)
endif

# Wire bytes for tests/unit/test_cri_messages.c: each
# tests/unit/cri-wire/NAME.txtpb (a text-format message; its first line
# names the type) is encoded by protoc, not by the protobuf-c code under
# test, against the upstream CRI schema: k8s.io/cri-api's api.proto at the
# version go.mod pins. protoc 3.21 does not know the field option
# debug_redact, which does not change the encoding, so a copy without it
# is used. Without Go or protoc nothing is made and those tests skip.
PROTOC ?= protoc
CRI_WIRE_DIR := $(BUILD)/tests/cri-wire
CRI_WIRE := $(patsubst tests/unit/cri-wire/%.txtpb,$(CRI_WIRE_DIR)/%.bin,$(wildcard tests/unit/cri-wire/*.txtpb))
HAVE_PROTOC := $(shell command -v $(PROTOC) 2>/dev/null)

$(BUILD)/tests/test_cri_messages: $(CRI_WIRE)
$(BUILD)/tests/test_cri_messages: private CPPFLAGS += -DCRI_WIRE_DIR='"$(abspath $(CRI_WIRE_DIR))"'

$(CRI_WIRE_DIR)/cri-api.proto: $(GO_TOOLS_MOD)/go.mod $(GO_TOOLS_MOD)/go.sum
ifneq ($(and $(wildcard $(GO)),$(HAVE_PROTOC)),)
	@mkdir -p $(dir $@)
	cd $(GO_TOOLS_MOD) && $(GO) mod download k8s.io/cri-api
	sed 's/ *\[debug_redact *= *true\]//' \
		"$$(cd $(GO_TOOLS_MOD) && $(GO) list -m -f '{{.Dir}}' k8s.io/cri-api)/pkg/apis/runtime/v1/api.proto" >$@.tmp
	mv $@.tmp $@
else
	@echo "go-tools: no Go toolchain at $(GO) or no $(PROTOC): $@ not made, the protoc wire tests will skip"
endif

$(CRI_WIRE_DIR)/%.bin: tests/unit/cri-wire/%.txtpb $(CRI_WIRE_DIR)/cri-api.proto
ifneq ($(and $(wildcard $(GO)),$(HAVE_PROTOC)),)
	$(PROTOC) -I $(CRI_WIRE_DIR) --encode="$$(sed -n 's/^# message: *//p' $<)" $(CRI_WIRE_DIR)/cri-api.proto <$< >$@.tmp
	mv $@.tmp $@
else
	@: # a pattern rule needs a recipe, or it cancels the rule
endif

# The test cluster's programs (issue 15): etcd, the Kubernetes control plane
# and kubelet, kubectl, metrics-server and the node's runtime, containerd 2
# (with its runc shim and ctr, which imports the test images), pinned by the
# same go.mod (one version for every k8s.io module; containerd's needs lift
# a few shared modules by patch releases, see tests/cluster/README.md).
# `make test` builds them first, since the cluster tier runs against them: a
# cold build takes long once per machine (see README.md), then sits in Go's
# build cache. Built the way upstream ships them: static (no cgo), without
# symbol tables, and with the release's version stamped where upstream's
# own build stamps it (kube-apiserver and the kubelet report it and check
# version skew with it, containerd reports it through CRI; etcd's is a
# constant in its source).
GO_TOOL_PKG_etcd := go.etcd.io/etcd/server/v3
GO_TOOL_PKG_kube-apiserver := k8s.io/kubernetes/cmd/kube-apiserver
GO_TOOL_PKG_kube-controller-manager := k8s.io/kubernetes/cmd/kube-controller-manager
GO_TOOL_PKG_kube-scheduler := k8s.io/kubernetes/cmd/kube-scheduler
GO_TOOL_PKG_kubelet := k8s.io/kubernetes/cmd/kubelet
GO_TOOL_PKG_kubectl := k8s.io/kubernetes/cmd/kubectl
GO_TOOL_PKG_metrics-server := sigs.k8s.io/metrics-server/cmd/metrics-server
GO_TOOL_PKG_containerd := github.com/containerd/containerd/v2/cmd/containerd
GO_TOOL_PKG_containerd-shim-runc-v2 := github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
GO_TOOL_PKG_ctr := github.com/containerd/containerd/v2/cmd/ctr
K8S_TOOLS := $(addprefix $(GO_TOOLS_BIN)/,kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
ETCD := $(GO_TOOLS_BIN)/etcd
METRICS_SERVER := $(GO_TOOLS_BIN)/metrics-server
CONTAINERD_TOOLS := $(addprefix $(GO_TOOLS_BIN)/,containerd containerd-shim-runc-v2 ctr)
CLUSTER_TOOLS := $(ETCD) $(K8S_TOOLS) $(METRICS_SERVER) $(CONTAINERD_TOOLS)
# The releases go.mod pins (k8s.io/kubernetes, sigs.k8s.io/metrics-server,
# github.com/containerd/containerd/v2).
K8S_VERSION := v1.37.2
METRICS_SERVER_VERSION := v0.8.0
CONTAINERD_VERSION := v2.4.2
# Upstream stamps both packages that carry a version (hack/lib/version.sh).
K8S_VERSION_MAJOR := $(word 1,$(subst ., ,$(K8S_VERSION:v%=%)))
K8S_VERSION_MINOR := $(word 2,$(subst ., ,$(K8S_VERSION:v%=%)))
K8S_VERSION_LDFLAGS := $(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(p).gitVersion=$(K8S_VERSION) -X $(p).gitMajor=$(K8S_VERSION_MAJOR) \
	-X $(p).gitMinor=$(K8S_VERSION_MINOR) -X $(p).gitTreeState=clean)

.PHONY: cluster-tools
cluster-tools: $(CLUSTER_TOOLS)
# GOFLAGS takes one quoted -ldflags; the pattern rule above runs `go build`.
$(CLUSTER_TOOLS): export CGO_ENABLED := 0
$(K8S_TOOLS): export GOFLAGS += '-ldflags=-s -w $(K8S_VERSION_LDFLAGS)'
$(ETCD): export GOFLAGS += '-ldflags=-s -w'
$(METRICS_SERVER): export GOFLAGS += '-ldflags=-s -w -X k8s.io/client-go/pkg/version.gitVersion=$(METRICS_SERVER_VERSION)'
$(CONTAINERD_TOOLS): export GOFLAGS += '-ldflags=-s -w -X github.com/containerd/containerd/v2/version.Version=$(CONTAINERD_VERSION)'
# One `go build` at a time, also under make -j: each already uses every
# core, and two at once would compile the packages they share twice.
cluster_tools_after = $(eval $(GO_TOOLS_BIN)/$(1): | $(GO_TOOLS_BIN)/$(2))
$(call cluster_tools_after,kube-apiserver,etcd)
$(call cluster_tools_after,kube-controller-manager,kube-apiserver)
$(call cluster_tools_after,kube-scheduler,kube-controller-manager)
$(call cluster_tools_after,kubelet,kube-scheduler)
$(call cluster_tools_after,kubectl,kubelet)
$(call cluster_tools_after,metrics-server,kubectl)
$(call cluster_tools_after,containerd,metrics-server)
$(call cluster_tools_after,containerd-shim-runc-v2,containerd)
$(call cluster_tools_after,ctr,containerd-shim-runc-v2)
test: $(CLUSTER_TOOLS)
