/* collect-bpf-support.c: shared BPF loader helpers (see collect-bpf-support.h). libbpf
 * prints warnings to stderr by default; here they are kept, first one
 * first, so a failed load reports why in its struct cadet_error and the
 * agent's top level decides what to log. CADET_LIBBPF_DEBUG=1 in the
 * environment also copies everything libbpf says (verifier logs) to stderr. */
#include "agent/collect-bpf-support.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define VMLINUX_BTF_PATH "/sys/kernel/btf/vmlinux"

static char first_message[256];

void bpf_support_reset_message(void)
{
	first_message[0] = '\0';
}

__attribute__((format(printf, 2, 0)))
static int keep_first_warning(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("CADET_LIBBPF_DEBUG") != NULL;
	if (verbose) {
		va_list copy;
		va_copy(copy, ap);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	if (level != LIBBPF_WARN || first_message[0] != '\0')
		return 0;
	/* libbpf's note that it could not raise RLIMIT_MEMLOCK (harmless since
	 * 5.11, where BPF memory is charged to the cgroup) is never the cause. */
	if (strstr(fmt, "RLIMIT_MEMLOCK"))
		return 0;
	vsnprintf(first_message, sizeof(first_message), fmt, ap);
	size_t len = strcspn(first_message, "\n");
	first_message[len] = '\0';
	return 0;
}

void bpf_support_init(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	libbpf_set_print(keep_first_warning);
}

int bpf_support_check(struct cadet_error *err)
{
	if (access(VMLINUX_BTF_PATH, R_OK) < 0)
		return cadet_error_set(err, errno, "kernel BTF %s not readable (kernel built without "
				       "CONFIG_DEBUG_INFO_BTF?)", VMLINUX_BTF_PATH);
	return 0;
}

int bpf_support_error(struct cadet_error *err, int libbpf_ret, const char *what)
{
	int errnum = libbpf_ret < 0 ? -libbpf_ret : errno;
	const char *hint = "";

	if (errnum == EPERM || errnum == EACCES)
		hint = " (needs root, or CAP_BPF plus CAP_PERFMON)";
	if (first_message[0] != '\0')
		return cadet_error_set(err, errnum, "%s%s [%s]", what, hint, first_message);
	return cadet_error_set(err, errnum, "%s%s", what, hint);
}

void bpf_support_trim_heap(void)
{
	malloc_trim(0);
}

/* Parsed anew for each query and freed at once: the kernel's BTF takes
 * megabytes parsed, and the queries run a few times at startup only. */
static struct btf *vmlinux_btf(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	return libbpf_get_error(btf) ? NULL : btf;
}

bool bpf_support_kernel_has_func(const char *name)
{
	struct btf *btf = vmlinux_btf();
	bool found = btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return found;
}

static bool tracepoint_arg0_is(const struct btf *btf, const char *name, const char *struct_name)
{
	char typedef_name[128];

	snprintf(typedef_name, sizeof(typedef_name), "btf_trace_%s", name);
	int id = btf__find_by_name_kind(btf, typedef_name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return false;
	/* typedef -> pointer -> func_proto(void *, arg0, ...) */
	const struct btf_type *t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_ptr(t))
		return false;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 2)
		return false;
	const struct btf_param *params = btf_params(t);
	t = btf__type_by_id(btf, params[1].type);
	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_ptr(t))
		return false;
	t = btf__type_by_id(btf, t->type);
	while (t && btf_is_mod(t))
		t = btf__type_by_id(btf, t->type);
	return t && btf_is_struct(t) && strcmp(btf__name_by_offset(btf, t->name_off), struct_name) == 0;
}

bool bpf_support_tracepoint_arg0_is(const char *name, const char *struct_name)
{
	struct btf *btf = vmlinux_btf();
	bool is = btf && tracepoint_arg0_is(btf, name, struct_name);
	btf__free(btf);
	return is;
}
