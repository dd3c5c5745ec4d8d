# bench/aggregator.mk: the aggregator's load generator (bench/push-load.c),
# built by `make bench-tools`; bench/aggregator-bench.sh drives it.
# Included from aggregator/aggregator.mk.
AGG_BENCH_TOOL := $(BUILD)/bench/push-load

$(AGG_BENCH_TOOL): $(BUILD)/obj/bench/push-load.o $(PROTO_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lpthread

.PHONY: bench-tools
bench-tools: $(AGG_BENCH_TOOL) $(AGG_BIN)
