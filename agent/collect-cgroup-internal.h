/* collect-cgroup-internal.h: what collect-cgroup.c shares with the per-version readers
 * collect-cgroup-v1.c and collect-cgroup-v2.c: the collector and handle structs, the reader
 * operations table, and the kept-file helpers. Not for callers. */
#ifndef CADET_CGROUP_INTERNAL_H
#define CADET_CGROUP_INTERNAL_H

#include <stddef.h>

#include "agent/collect-cgroup.h"

#define CGROUP_MAX_FILES 12
/* Largest file we accept; v2 memory.stat is about 1.5 KiB. */
#define CGROUP_READ_BUF 16384

/* One file a reader keeps open per cgroup. */
struct cgroup_file_spec {
	int dir;          /* index into collector->dirs */
	const char *name; /* file name inside the cgroup directory */
	int required;     /* missing => the cgroup is not there */
};

struct cgroup_reader {
	const char *name;
	const struct cgroup_file_spec *files;
	size_t n_files;
	/* Turns the kept files of h into stats. */
	int (*read)(struct cgroup_collector *c, struct cgroup_handle *h, struct sample *out,
		    struct cadet_error *err);
	/* Updates CPU and memory usage in out (which holds the last full read). */
	int (*read_usage)(struct cgroup_collector *c, struct cgroup_handle *h, struct sample *out,
			  struct cadet_error *err);
};

enum { CGROUP_MAX_DIRS = 6 };

struct cgroup_collector {
	enum cgroup_layout layout;
	size_t kept_fds;  /* descriptors held by all handles */
	size_t fd_budget; /* beyond this, files are reopened on every read */
	bool budget_logged;
	const struct cgroup_reader *reader;
	char *dirs[CGROUP_MAX_DIRS]; /* hierarchy roots the file specs refer to */
	char *tree;                  /* the hierarchy discovery walks */
};

/* fds[] values besides real descriptors */
#define CGROUP_FILE_ABSENT (-1)
#define CGROUP_FILE_UNKEPT (-2) /* over the fd budget: open, read, close */

struct cgroup_handle {
	char *relpath;
	struct cgroup_collector *owner;
	int fds[CGROUP_MAX_FILES];
};

/* True when file i is to be read (kept or reopened each time). */
static inline bool cgroup_file_present(const struct cgroup_handle *h, size_t i)
{
	return h->fds[i] != CGROUP_FILE_ABSENT;
}

extern const struct cgroup_reader cgroup_reader_v1;
extern const struct cgroup_reader cgroup_reader_v2;

/* v1 directory slots */
enum { V1_DIR_CPUACCT, V1_DIR_CPU, V1_DIR_MEMORY, V1_DIR_PIDS, V1_DIR_UNIFIED };
/* v2 directory slot */
enum { V2_DIR_ROOT };

/* Reads the whole file i of h into buf, through its kept descriptor or, for
 * an unkept file, with open/pread/close. Returns -1 with errnum ENOENT when
 * the file is absent, the read errno otherwise (ENODEV: vanished), EFBIG
 * when the file is larger than the buffer. */
int cgroup_kept_read(struct cgroup_handle *h, size_t i, const char *file_name, char *buf, size_t size,
		     size_t *len, struct cadet_error *err);

/* Reads file i if present: 1 read, 0 absent, -1 error. */
int cgroup_read_optional(struct cgroup_handle *h, size_t i, char *buf, size_t *len, struct cadet_error *err);

/* Reads memory.stat (file i) into out, given the version's key names for
 * inactive_file, rss, pgfault and pgmajfault (in that order); the working
 * set is derived from them and the usage when the read ends. */
int cgroup_read_memory_stat(struct cgroup_handle *h, size_t i, const char *const keys[4],
			    struct sample *out, char *buf, struct cadet_error *err);

/* Indexes, in a reader's file table, of the files both versions share. */
struct cgroup_tail_files {
	size_t pids_current, cpu_pressure, memory_pressure, io_pressure;
};

/* pids.current and the three PSI files, each optional; buf holds
 * CGROUP_READ_BUF bytes. */
int cgroup_read_pids_and_psi(struct cgroup_handle *h, const struct cgroup_tail_files *files,
			     struct sample *out, char *buf, struct cadet_error *err);

#endif
