/* collect-cgroup-path.c: the kubepods path classifier (see collect-cgroup-path.h). It
 * splits the path into components and matches them level by level against
 * both kubelet cgroup drivers' naming. */
#include "agent/collect-cgroup-path.h"

#include <stdbool.h>
#include <string.h>

struct component {
	const char *p;
	size_t len;
};

enum { MAX_COMPONENTS = 8 };

static size_t split(const char *path, struct component *out, size_t max)
{
	size_t n = 0;
	while (*path) {
		while (*path == '/')
			path++;
		if (!*path)
			break;
		const char *end = strchr(path, '/');
		size_t len = end ? (size_t)(end - path) : strlen(path);
		if (n == max)
			return max + 1; /* too deep */
		out[n].p = path;
		out[n].len = len;
		n++;
		path += len;
	}
	return n;
}

static bool eq(struct component c, const char *s)
{
	return c.len == strlen(s) && memcmp(c.p, s, c.len) == 0;
}

static bool has_prefix(struct component c, const char *s)
{
	size_t n = strlen(s);
	return c.len >= n && memcmp(c.p, s, n) == 0;
}

static bool has_suffix(struct component c, const char *s)
{
	size_t n = strlen(s);
	return c.len >= n && memcmp(c.p + c.len - n, s, n) == 0;
}

/* A pod uid: hex digits and dashes (systemd form: underscores). */
static bool copy_uid(const char *p, size_t len, char *out, bool systemd)
{
	if (len == 0 || len > POD_UID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = p[i];
		bool hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
		if (systemd && ch == '_')
			ch = '-';
		else if (!hex && ch != '-')
			return false;
		out[i] = ch;
	}
	out[len] = '\0';
	return true;
}

/* A container id: letters, digits, '-', '_', '.'; not "." or "..". */
static bool copy_id(const char *p, size_t len, char *out)
{
	if (len == 0 || len > CONTAINER_ID_MAX)
		return false;
	if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = p[i];
		bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  ch == '-' || ch == '_' || ch == '.';
		if (!ok)
			return false;
		out[i] = ch;
	}
	out[len] = '\0';
	return true;
}

static void classify_cgroupfs(const struct component *c, size_t n, struct cgroup_identity *out)
{
	/* c[0] is "kubepods" */
	size_t i = 1;
	out->kind = CGROUP_KIND_KUBEPODS;
	if (n == 1)
		return;
	out->qos = POD_QOS_GUARANTEED;
	if (eq(c[1], "burstable") || eq(c[1], "besteffort")) {
		out->qos = eq(c[1], "burstable") ? POD_QOS_BURSTABLE : POD_QOS_BESTEFFORT;
		out->kind = CGROUP_KIND_QOS;
		i = 2;
		if (n == 2)
			return;
	}
	if (!has_prefix(c[i], "pod") || !copy_uid(c[i].p + 3, c[i].len - 3, out->pod_uid, false))
		goto other;
	out->kind = CGROUP_KIND_POD;
	if (n == i + 1)
		return;
	if (n != i + 2 || !copy_id(c[i + 1].p, c[i + 1].len, out->container_id))
		goto other;
	out->kind = CGROUP_KIND_CONTAINER;
	return;
other:
	out->kind = CGROUP_KIND_OTHER;
	out->qos = POD_QOS_UNKNOWN;
	out->pod_uid[0] = '\0';
	out->container_id[0] = '\0';
}

static const char *const scope_runtimes[] = { "cri-containerd", "crio", "docker" };

static void classify_systemd(const struct component *c, size_t n, struct cgroup_identity *out)
{
	/* c[0] is "kubepods.slice" */
	size_t i = 1;
	const char *pod_prefix = "kubepods-pod";
	out->kind = CGROUP_KIND_KUBEPODS;
	if (n == 1)
		return;
	out->qos = POD_QOS_GUARANTEED;
	if (eq(c[1], "kubepods-burstable.slice")) {
		out->qos = POD_QOS_BURSTABLE;
		pod_prefix = "kubepods-burstable-pod";
	} else if (eq(c[1], "kubepods-besteffort.slice")) {
		out->qos = POD_QOS_BESTEFFORT;
		pod_prefix = "kubepods-besteffort-pod";
	}
	if (out->qos != POD_QOS_GUARANTEED) {
		out->kind = CGROUP_KIND_QOS;
		i = 2;
		if (n == 2)
			return;
	}
	size_t plen = strlen(pod_prefix);
	if (!has_prefix(c[i], pod_prefix) || !has_suffix(c[i], ".slice") ||
	    c[i].len <= plen + strlen(".slice") ||
	    !copy_uid(c[i].p + plen, c[i].len - plen - strlen(".slice"), out->pod_uid, true))
		goto other;
	out->kind = CGROUP_KIND_POD;
	if (n == i + 1)
		return;
	if (n != i + 2 || !has_suffix(c[i + 1], ".scope"))
		goto other;
	struct component s = c[i + 1];
	s.len -= strlen(".scope");
	for (size_t r = 0; r < sizeof(scope_runtimes) / sizeof(scope_runtimes[0]); r++) {
		size_t rlen = strlen(scope_runtimes[r]);
		if (s.len > rlen + 1 && memcmp(s.p, scope_runtimes[r], rlen) == 0 && s.p[rlen] == '-') {
			/* CRI-O's conmon scope is a monitor, not a container */
			if (s.len > rlen + 8 && memcmp(s.p + rlen + 1, "conmon-", 7) == 0)
				goto other;
			if (!copy_id(s.p + rlen + 1, s.len - rlen - 1, out->container_id))
				goto other;
			strcpy(out->runtime, scope_runtimes[r]);
			out->kind = CGROUP_KIND_CONTAINER;
			return;
		}
	}
other:
	out->kind = CGROUP_KIND_OTHER;
	out->qos = POD_QOS_UNKNOWN;
	out->pod_uid[0] = '\0';
	out->container_id[0] = '\0';
	out->runtime[0] = '\0';
}

void cgroup_path_classify(const char *relpath, struct cgroup_identity *out)
{
	memset(out, 0, sizeof(*out));
	struct component c[MAX_COMPONENTS];
	size_t n = split(relpath ? relpath : "", c, MAX_COMPONENTS);
	if (n == 0 || n > MAX_COMPONENTS)
		return;
	if (eq(c[0], CGROUP_KUBEPODS_ROOT_CGROUPFS))
		classify_cgroupfs(c, n, out);
	else if (eq(c[0], CGROUP_KUBEPODS_ROOT_SYSTEMD))
		classify_systemd(c, n, out);
}

const char *cgroup_kind_name(enum cgroup_kind kind)
{
	switch (kind) {
	case CGROUP_KIND_OTHER:
		return "other";
	case CGROUP_KIND_KUBEPODS:
		return "kubepods";
	case CGROUP_KIND_QOS:
		return "qos";
	case CGROUP_KIND_POD:
		return "pod";
	case CGROUP_KIND_CONTAINER:
		return "container";
	}
	return "unknown";
}
