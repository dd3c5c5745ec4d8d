# common/common.mk: C shared by both daemons, built into one static library.
COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/obj/%.o)
COMMON_LIB := $(BUILD)/libcadet-common.a

$(COMMON_LIB): $(COMMON_OBJS)
	rm -f $@ && $(AR) rcs $@ $^
# kube-api-client.c: kube-apiserver over libcurl, kubeconfigs through libyaml.
PKGS += libcurl yaml-0.1
