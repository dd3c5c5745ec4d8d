# tests/tests.mk: unit tests. Every tests/unit/test_*.c is one cmocka program
# linked against the project's static libraries; tests/run-tests.sh runs them
# and then every tests/integration/*.sh.
PKGS_TEST := cmocka
UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(UNIT_TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Fragments add their libraries to TEST_LIBS, most dependent first.
# The agent's and the aggregator's libraries both define `struct store` and
# store_free(), so no test links both: test_aggregator_* get the
# aggregator's library, every other test the agent's.
unit_test_libs = $(if $(filter test_aggregator_%,$1),$(filter-out $(AGENT_LIB),$(TEST_LIBS)),$(filter-out $(AGG_LIB),$(TEST_LIBS)))

$(BUILD)/tests/%: tests/unit/%.c $(TEST_LIBS) $(PROTO_LIB) $(COMMON_LIB) $(GENERATED) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes $(shell $(PKG_CONFIG) --cflags $(PKGS_TEST)) \
		-o $@ $< $(call unit_test_libs,$*) $(PROTO_LIB) $(COMMON_LIB) $(LDFLAGS) $(LDLIBS) $(shell $(PKG_CONFIG) --libs $(PKGS_TEST))
