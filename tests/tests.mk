# tests/tests.mk: unit tests. Every tests/unit/test_*.c is one cmocka program
# linked against the project's static libraries; tests/run-tests.sh runs them
# and then every tests/integration/*.sh.
PKGS_TEST := cmocka
UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(UNIT_TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Fragments add their libraries to TEST_LIBS, most dependent first; each
# test pulls from them only the objects it uses. Generated headers are
# order-only, and the dependency file (-MMD) rebuilds a test when a header
# it includes changes.
$(BUILD)/tests/%: tests/unit/%.c $(TEST_LIBS) $(PROTO_LIB) $(COMMON_LIB) | $(GENERATED) $(BUILD)/tests
	@mkdir -p $(BUILD)/obj/tests/unit
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes $(shell $(PKG_CONFIG) --cflags $(PKGS_TEST)) \
		-MMD -MP -MT $@ -MF $(BUILD)/obj/tests/unit/$*.d -o $@ $< $(TEST_LIBS) $(PROTO_LIB) $(COMMON_LIB) $(LDFLAGS) $(LDLIBS) \
		$(shell $(PKG_CONFIG) --libs $(PKGS_TEST))
