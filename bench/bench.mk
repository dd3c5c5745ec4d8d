# bench/bench.mk: benchmark programs and `make bench`. bench/run-bench.sh
# runs every benchmark script in order and prints their tables.
BENCH_TOOLS := $(BUILD)/bench/collect-bench $(BUILD)/bench/cri-client-bench

$(BUILD)/bench/collect-bench: bench/collect-bench.c $(AGENT_LIB) $(PROTO_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(AGENT_LIB) $(PROTO_LIB) $(COMMON_LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/cri-client-bench: bench/cri-client-bench.c $(AGENT_LIB) $(PROTO_LIB) $(COMMON_LIB) $(GENERATED)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(AGENT_LIB) $(PROTO_LIB) $(COMMON_LIB) $(LDFLAGS) $(LDLIBS) -lpthread

.PHONY: bench bench-tools
bench-tools: bins $(BENCH_TOOLS)

bench: bench-tools
	BUILD=$(BUILD) sh bench/run-bench.sh
