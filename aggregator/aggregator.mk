# aggregator/aggregator.mk: build/cadet-aggregator. Everything but main.c goes
# into a static library so unit tests link the code the daemon runs. Also
# builds the test pusher (tests/tools/push-report.c) as $(BUILD)/tests/push-report, which the integration
# tests need before `make test` runs them.
PKGS += libevent_openssl openssl grpc libprotobuf-c
AGG_SRCS := $(filter-out aggregator/main.c,$(wildcard aggregator/*.c))
AGG_OBJS := $(AGG_SRCS:%.c=$(BUILD)/obj/%.o)
AGG_LIB := $(BUILD)/libcadet-aggregator.a
AGG_BIN := $(BUILD)/cadet-aggregator
AGG_TOOLS := $(BUILD)/tests/push-report
BINS += $(AGG_BIN)
TEST_LIBS += $(AGG_LIB)

$(AGG_LIB): $(AGG_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(AGG_BIN): $(BUILD)/obj/aggregator/main.o $(AGG_LIB) $(PROTO_LIB) $(COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lpthread

$(BUILD)/tests/push-report: $(BUILD)/obj/tests/tools/push-report.o $(PROTO_LIB) $(COMMON_LIB) | $(BUILD)/tests
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lpthread

# The integration tests run these; building them is part of `make test`.
test: $(AGG_TOOLS)

# The load generator for `make bench`.
-include bench/aggregator.mk
