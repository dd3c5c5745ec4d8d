# Makefile: builds cadet's daemons, unit tests, benchmarks and packages.
#
# Each part of the tree has its own fragment (common/common.mk,
# agent/agent.mk, ...) that adds its objects, binaries and tests to the lists
# below; this file holds the toolchain settings and the top-level targets.
#
#   make                 build/cadet-agent (and the other daemons)
#   make test            every unit and integration test (tests/run-tests.sh)
#   make test-sanitize   the same, built with ASan+UBSan into build/sanitize
#   make bench           benchmarks (bench/), results as ratios (BENCHMARKS.md)
#   make fuzz            libFuzzer targets (tests/fuzz/), FUZZ_SECONDS each
#   make deb             build/cadet_VERSION_ARCH.deb (packaging/)
#   make install         PREFIX=/usr/local DESTDIR=
#   make deps            install Debian build and test dependencies (root)

VERSION := 0.1.0
BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKG_CONFIG ?= pkg-config
SANITIZE ?=

# Libraries from Debian, found through pkg-config; fragments append to this.
PKGS := libevent json-c libsystemd

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -DCADET_VERSION='"$(VERSION)"' -I. -I$(BUILD)/gen
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SAN_FLAGS) $(shell $(PKG_CONFIG) --cflags $(PKGS))
LDFLAGS += -Wl,--as-needed
LDLIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm

ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# Filled by the fragments.
BINS :=
UNIT_TESTS :=
GENERATED :=

.PHONY: all test test-sanitize bench install clean deps
all: bins

# Every fragment is part of the tree, so a missing one is an error. Order
# matters: fragments that add to TEST_LIBS, PKGS or GENERATED come before
# the agent and the tests, which use those lists in their rules.
include common/common.mk
include proto/proto.mk
include bpf/bpf.mk
include aggregator/aggregator.mk
include agent/agent.mk
include tests/tests.mk
include tests/go-tools.mk
include tests/cluster/cluster.mk
include tests/fuzz/fuzz.mk
include agent/collect-cri.mk
include bench/bench.mk
include packaging/packaging.mk

bins: $(BINS)

# Generated headers are order-only: they must exist before the first
# compile; after that the -MMD dependency files say which objects use them.
$(BUILD)/obj/%.o: %.c | $(GENERATED) $(BUILD)/obj
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj $(BUILD)/gen $(BUILD)/tests:
	mkdir -p $@

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

test: bins $(UNIT_TESTS)
	BUILD=$(BUILD) sh tests/run-tests.sh

test-sanitize:
	$(MAKE) BUILD=build/sanitize SANITIZE=address,undefined CC=clang test

install: bins
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

deps:
	sh packaging/install-deps.sh

clean:
	rm -rf $(BUILD)
