# agent/collect-cri.mk: what the CRI client (agent/collect-cri*.c) needs to build, and the
# CRI test tool the integration test and benchmark drive containerd with.
# Included by the top Makefile after tests/tests.mk.
PKGS += grpc
# gnu11 predefines the macro `linux`; the CRI messages have fields of that
# name (LinuxPodSandboxConfig linux = 8, ...), so the macro must go.
CPPFLAGS += -Ulinux

CRI_TOOL := $(BUILD)/tests/cri-tool
# Built by `make test` with the unit tests; run-tests.sh only runs test_*.
UNIT_TESTS += $(CRI_TOOL)

$(CRI_TOOL): tests/tools/cri-tool.c $(AGENT_LIB) $(PROTO_LIB) $(COMMON_LIB) | $(GENERATED) $(BUILD)/tests
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(AGENT_LIB) $(PROTO_LIB) $(COMMON_LIB) \
		$(LDFLAGS) $(LDLIBS)
