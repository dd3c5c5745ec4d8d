/* collect-container-logs.c: disk usage of a container's log directory (see
 * collect-container-logs.h). One readdir and one fstatat per entry: log
 * directories hold a handful of files. */
#include "agent/collect-container-logs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"

int container_logs_usage(const char *log_path, uint64_t *used_bytes, uint64_t *inodes_used,
			 struct cadet_error *err)
{
	_cleanup_free_ char *dir_path = strdup(log_path);
	if (!dir_path)
		return cadet_error_set(err, ENOMEM, "log directory of %s", log_path);
	char *slash = strrchr(dir_path, '/');
	if (!slash || slash == dir_path)
		return cadet_error_set(err, EINVAL, "log path %s has no directory", log_path);
	*slash = '\0';

	_cleanup_closedir_ DIR *dir = opendir(dir_path);
	if (!dir)
		return cadet_error_set(err, errno, "open log directory %s", dir_path);
	struct stat st;
	if (fstat(dirfd(dir), &st) < 0)
		return cadet_error_set(err, errno, "stat %s", dir_path);
	uint64_t bytes = (uint64_t)st.st_blocks * 512;
	uint64_t inodes = 1;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) /* rotated away meanwhile */
				continue;
			return cadet_error_set(err, errno, "stat %s/%s", dir_path, de->d_name);
		}
		bytes += (uint64_t)st.st_blocks * 512;
		inodes++;
		errno = 0;
	}
	if (errno != 0)
		return cadet_error_set(err, errno, "read log directory %s", dir_path);
	*used_bytes = bytes;
	*inodes_used = inodes;
	return 0;
}
