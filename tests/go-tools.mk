# tests/go-tools.mk: Go programs the tests take as independent oracles.
# Their versions are pinned in one Go module of its own, tests/go (go.mod
# `tool` directives, go.sum committed); this fragment builds each into
# $(BUILD)/go-bin with `go build -o`. Module and build caches are Go's
# default ones, so a rebuild after the first takes seconds. Today: crictl
# (sigs.k8s.io/cri-tools), the CRI client the containerd tests check the
# agent against instead of cadet's own agent/cri-client.c.
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
