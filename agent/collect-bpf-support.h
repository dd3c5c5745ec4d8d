/* collect-bpf-support.h: what the BPF loaders (agent/collect-bpf*.c) share: a check that
 * BPF can work on this machine at all, kernel BTF queries that pick between
 * program variants, and libbpf's own diagnostics turned into error context
 * instead of lines on stderr. */
#ifndef CADET_BPF_SUPPORT_H
#define CADET_BPF_SUPPORT_H

#include <stdbool.h>

#include "common/error.h"

/* Routes libbpf's messages into a buffer (once per process). */
void bpf_support_init(void);

/* Fails with a reason when BPF cannot be used: no kernel BTF at
 * /sys/kernel/btf/vmlinux (CO-RE and tp_btf need it). Privileges are only
 * known when loading; bpf_support_error() words EPERM for the operator. */
int bpf_support_check(struct cadet_error *err);

/* Fills err from a libbpf return value (negative errno) or errno, naming
 * what failed and appending the first warning libbpf printed since the last
 * bpf_support_reset_message(). Returns -1. */
int bpf_support_error(struct cadet_error *err, int libbpf_ret, const char *what);
void bpf_support_reset_message(void);

/* Gives the heap back after a load: libbpf parses the kernel's BTF (about
 * 12 MiB here) and frees it, but the freed memory stays in the process
 * (RSS) until trimmed. */
void bpf_support_trim_heap(void);

/* True when the kernel BTF has a function (kfunc or traceable) by this name. */
bool bpf_support_kernel_has_func(const char *name);
/* True when the BTF tracepoint `name` (btf_trace_NAME) exists and its first
 * argument is a pointer to struct `struct_name`. */
bool bpf_support_tracepoint_arg0_is(const char *name, const char *struct_name);

#endif
