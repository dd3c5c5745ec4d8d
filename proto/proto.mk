# proto/proto.mk: compiles every proto/*.proto with protoc-c at build time
# into $(BUILD)/gen/proto/NAME.pb-c.{c,h} and one static library. Generated
# code never enters git. Include as "proto/NAME.pb-c.h" (with -I$(BUILD)/gen).
PKGS += libprotobuf-c
PROTO_SRCS := $(wildcard proto/*.proto)
PROTO_GEN_C := $(PROTO_SRCS:proto/%.proto=$(BUILD)/gen/proto/%.pb-c.c)
PROTO_GEN_H := $(PROTO_GEN_C:.c=.h)
PROTO_OBJS := $(PROTO_GEN_C:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)
PROTO_LIB := $(BUILD)/libcadet-proto.a
GENERATED += $(PROTO_GEN_H)

$(BUILD)/gen/proto/%.pb-c.c $(BUILD)/gen/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen/proto
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen/proto $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=gnu11 $(CFLAGS) $(SAN_FLAGS) -w $(shell $(PKG_CONFIG) --cflags libprotobuf-c) -c -o $@ $<

$(PROTO_LIB): $(PROTO_OBJS)
	rm -f $@ && $(AR) rcs $@ $^
