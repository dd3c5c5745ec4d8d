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
