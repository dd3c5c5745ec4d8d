# agent/collect-cri.mk: what the CRI client (agent/collect-cri*.c) needs to build.
# Included by the top Makefile after tests/tests.mk.
PKGS += grpc
# gnu11 predefines the macro `linux`; the CRI messages have fields of that
# name (LinuxPodSandboxConfig linux = 8, ...), so the macro must go.
CPPFLAGS += -Ulinux
