/* collect-container-logs.h: how much disk a container's logs take.
 *
 * kubelet keeps a container's log and its rotations in one directory
 * (/var/log/pods/<ns>_<pod>_<uid>/<container>/0.log, 0.log.<time>.gz, ...)
 * and reports the directory's usage as the container's `logs` in the
 * Summary API. The runtime tells the log file's path (ContainerStatus
 * log_path); this sums the directory it is in. */
#ifndef CADET_CONTAINER_LOGS_H
#define CADET_CONTAINER_LOGS_H

#include <stdint.h>

#include "common/error.h"

/* Bytes allocated (st_blocks) and inodes of the directory holding log_path,
 * the directory included; its subdirectories are not walked. */
int container_logs_usage(const char *log_path, uint64_t *used_bytes, uint64_t *inodes_used,
			 struct cadet_error *err);

#endif
