/* readfile.h: reading a small file (PEM certificates, keys) whole into a
 * NUL-terminated string, with a size limit. */
#ifndef CADET_READFILE_H
#define CADET_READFILE_H

#include <stddef.h>

#include "error.h"

int read_file_string(const char *path, size_t max_bytes, char **out, struct cadet_error *err);

#endif
