/* readfile.c: whole-file reads (see readfile.h). */
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"

int read_file_string(const char *path, size_t max_bytes, char **out, struct cadet_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cadet_error_set(err, errno, "open %s", path);
	_cleanup_free_ char *buf = malloc(max_bytes + 1);
	if (!buf)
		return cadet_error_set(err, ENOMEM, "reading %s", path);
	size_t len = 0;
	for (;;) {
		if (len == max_bytes + 1 || len > max_bytes)
			return cadet_error_set(err, EFBIG, "%s is larger than %zu bytes", path, max_bytes);
		ssize_t n = read(fd, buf + len, max_bytes + 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cadet_error_set(err, errno, "read %s", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = TAKE_PTR(buf);
	return 0;
}
