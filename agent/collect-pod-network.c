/* collect-pod-network.c: parses /proc/<pid>/net/dev (see collect-pod-network.h).
 *
 * The file has two header lines, then one line per interface:
 * "name: rx_bytes rx_packets rx_errs rx_drop rx_fifo rx_frame rx_compressed
 * rx_multicast tx_bytes tx_packets tx_errs ...". Only bytes and errors are
 * kept, as kubelet's NetworkStats has no more. */
#include "agent/collect-pod-network.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/collect-parse.h"
#include "common/cleanup.h"

/* Enough for the header and a few hundred interfaces. */
#define NET_DEV_MAX_BYTES 65536

/* The next blank-separated decimal field at *p, strictly (overflow checked). */
static int next_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	const char *end = s;
	while (*end >= '0' && *end <= '9')
		end++;
	if (parse_u64(s, end, out) < 0 || (*end && *end != ' ' && *end != '\t' && *end != '\n'))
		return -1;
	*p = end;
	return 0;
}

int pod_network_parse(const char *text, const char *source, struct pod_network *out, struct cadet_error *err)
{
	out->n_interfaces = 0;
	const char *line = text;
	int line_no = 0;
	while (line && *line) {
		const char *next = strchr(line, '\n');
		line_no++;
		if (line_no <= 2) { /* headers */
			line = next ? next + 1 : NULL;
			continue;
		}
		const char *colon = strchr(line, ':');
		if (!colon || (next && colon > next))
			return cadet_error_set(err, EPROTO, "%s: line %d: no interface name", source, line_no);
		const char *name = line;
		while (*name == ' ')
			name++;
		size_t name_len = (size_t)(colon - name);
		if (name_len == 0 || name_len >= sizeof(out->interfaces[0].name))
			return cadet_error_set(err, EPROTO, "%s: line %d: bad interface name", source, line_no);
		uint64_t v[16];
		const char *p = colon + 1;
		for (int i = 0; i < 16; i++) {
			if (next_u64(&p, &v[i]) < 0)
				return cadet_error_set(err, EPROTO, "%s: line %d: field %d is not a number", source,
						       line_no, i + 1);
		}
		bool loopback = name_len == 2 && strncmp(name, "lo", 2) == 0;
		if (!loopback && out->n_interfaces < POD_NETWORK_MAX_INTERFACES) {
			struct net_interface_stats *ifs = &out->interfaces[out->n_interfaces++];
			memcpy(ifs->name, name, name_len);
			ifs->name[name_len] = '\0';
			ifs->rx_bytes = v[0];
			ifs->rx_errors = v[2];
			ifs->tx_bytes = v[8];
			ifs->tx_errors = v[10];
		}
		line = next ? next + 1 : NULL;
	}
	return 0;
}

int pod_network_read(const char *proc_root, pid_t pid, uint64_t realtime_ns, struct pod_network *out,
		     struct cadet_error *err)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%d/net/dev", proc_root, (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cadet_error_set(err, errno, "open %s", path);
	_cleanup_free_ char *buf = malloc(NET_DEV_MAX_BYTES);
	if (!buf)
		return cadet_error_set(err, ENOMEM, "%s", path);
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, NET_DEV_MAX_BYTES - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cadet_error_set(err, errno, "read %s", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == NET_DEV_MAX_BYTES - 1)
			break;
	}
	buf[len] = '\0';
	if (len == NET_DEV_MAX_BYTES - 1) { /* interfaces past the limit are dropped */
		char *last = strrchr(buf, '\n');
		if (last)
			last[1] = '\0';
	}
	if (pod_network_parse(buf, path, out, err) < 0)
		return -1;
	out->realtime_ns = realtime_ns;
	return 0;
}
