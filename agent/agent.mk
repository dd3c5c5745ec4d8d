# agent/agent.mk: build/cadet-agent. Everything but main.c goes into a static
# library so unit tests link the same code the daemon runs.
AGENT_SRCS := $(filter-out agent/main.c,$(wildcard agent/*.c))
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/obj/%.o)
AGENT_LIB := $(BUILD)/libcadet-agent.a
AGENT_BIN := $(BUILD)/cadet-agent
BINS += $(AGENT_BIN)
TEST_LIBS += $(AGENT_LIB)

$(AGENT_LIB): $(AGENT_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(AGENT_BIN): $(BUILD)/obj/agent/main.o $(AGENT_LIB) $(PROTO_LIB) $(COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
