# bpf/bpf.mk: the agent's BPF programs. Each bpf/NAME.bpf.c is compiled
# with clang for the BPF target (always clang, whatever CC is, and never with
# the user-space CFLAGS or sanitizer flags) against a vmlinux.h dumped from
# the running kernel's BTF, then wrapped by bpftool into a skeleton header
# $(BUILD)/gen/NAME.skel.h that agent/collect-bpf-NAME.c includes. Everything here
# is generated into the build directory; nothing generated enters git.
PKGS += libbpf

BPF_CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_ARCH ?= x86
BPF_CFLAGS ?= -g -O2

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/gen/%.bpf.o)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/gen/%.skel.h)
GENERATED += $(BUILD)/gen/vmlinux.h $(BPF_SKELS)

$(BUILD)/gen/vmlinux.h: | $(BUILD)/gen
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp
	mv $@.tmp $@

# The DWARF is only needed to produce BTF; strip it so the skeleton, which
# embeds the object, stays small.
$(BUILD)/gen/%.bpf.o: bpf/%.bpf.c bpf/%.h $(wildcard bpf/*.bpf.h) $(BUILD)/gen/vmlinux.h
	$(BPF_CLANG) $(BPF_CFLAGS) -Wall -Werror -target bpf -D__TARGET_ARCH_$(BPF_ARCH) \
		-I$(BUILD)/gen -Ibpf -c -o $@ $<
	$(LLVM_STRIP) -g $@

# Skeleton names are C identifiers: cgroup-events -> cgroup_events_bpf.
$(BUILD)/gen/%.skel.h: $(BUILD)/gen/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp
	mv $@.tmp $@

.SECONDARY: $(BPF_OBJS)

# bench/bpf-bench: startup and memory cost of the BPF part, and the
# iterator cycle against the file cycle (bench/bpf-bench.sh runs it). Its
# prerequisites go through `bins` because the agent library's variables are
# only defined after this fragment is read.
BPF_BENCH := $(BUILD)/bench/bpf-bench
$(BPF_BENCH): bench/bpf-bench.c bins
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(AGENT_LIB) $(PROTO_LIB) $(COMMON_LIB) \
		$(LDFLAGS) $(LDLIBS)
bench-tools: $(BPF_BENCH)
