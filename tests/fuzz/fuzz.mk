# tests/fuzz/fuzz.mk: libFuzzer targets (tests/fuzz/fuzz_NAME.c), built with
# clang into $(BUILD)/fuzz/, and two ways to run them:
#
#   make fuzz         each target for FUZZ_SECONDS (default 60) from its seeds
#   make fuzz-smoke   each target for 10 s: a bounded pass for CI
#
# The code under test is compiled again here, with clang's coverage
# instrumentation (-fsanitize=fuzzer-no-link) and ASan+UBSan, into
# $(BUILD)/fuzz/obj; the daemons' own objects are left alone. A run starts
# from the committed seeds in tests/fuzz/corpus/NAME/ (read only) and writes
# what it finds to $(BUILD)/fuzz/corpus/NAME/; a crash is saved as
# $(BUILD)/fuzz/artifacts/NAME-crash-... and fails the make. Reproduce one
# with `$(BUILD)/fuzz/fuzz_NAME FILE`.
# Included by the top Makefile after tests/tests.mk.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 $(WARN) -O1 -g $(FUZZ_SAN) $(shell $(PKG_CONFIG) --cflags $(PKGS))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_SRCS := $(AGENT_SRCS) $(AGG_SRCS) $(COMMON_SRCS)
FUZZ_OBJS := $(FUZZ_SRCS:%.c=$(FUZZ_DIR)/obj/%.o) $(PROTO_GEN_C:$(BUILD)/gen/%.c=$(FUZZ_DIR)/obj/gen/%.o)
FUZZ_LIB := $(FUZZ_DIR)/libcadet-fuzz.a
# -timeout: one input taking longer is a hang; -rss_limit_mb: a leak or
# runaway allocation shows as a failure instead of swapping.
FUZZ_RUN_FLAGS := -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/obj/%.o: %.c | $(GENERATED)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -std=gnu11 -O1 -g -w $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
		$(shell $(PKG_CONFIG) --cflags libprotobuf-c) -c -o $@ $<

-include $(FUZZ_OBJS:.o=.d)

$(FUZZ_LIB): $(FUZZ_OBJS)
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/http-rig.h $(FUZZ_LIB) | $(GENERATED)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) \
		$(LDFLAGS) $(LDLIBS) -lpthread

fuzz: $(FUZZ_BINS)
	@set -e; for name in $(FUZZ_NAMES); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$name $(FUZZ_DIR)/artifacts; \
		echo "fuzz_$$name: $(FUZZ_SECONDS) s"; \
		$(FUZZ_DIR)/fuzz_$$name $(FUZZ_RUN_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
			$$(test -f tests/fuzz/$$name.dict && echo -dict=tests/fuzz/$$name.dict) \
			-artifact_prefix=$(FUZZ_DIR)/artifacts/$$name- \
			$(FUZZ_DIR)/corpus/$$name tests/fuzz/corpus/$$name \
			> $(FUZZ_DIR)/fuzz_$$name.log 2>&1 \
			|| { tail -n 60 $(FUZZ_DIR)/fuzz_$$name.log; echo "fuzz_$$name FAILED"; exit 1; }; \
		grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' $(FUZZ_DIR)/fuzz_$$name.log | tail -n 1; \
	done

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=10
