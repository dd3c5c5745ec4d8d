/* cleanup.h: scope-bound release of resources, systemd style.
 *
 * A variable declared `_cleanup_free_ char *p = NULL;` is freed when it goes
 * out of scope, so early returns need no cleanup ladder. cadet uses these
 * helpers everywhere instead of goto-cleanup labels (the BPF loaders, which
 * follow libbpf-tools, are the one exception). To hand a resource to the
 * caller, use TAKE_PTR()/TAKE_FD(). */
#ifndef CADET_CLEANUP_H
#define CADET_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cadet_freep(void *p)
{
	free(*(void **)p);
}

static inline void cadet_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cadet_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void cadet_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_(fn) __attribute__((cleanup(fn)))
#define _cleanup_free_ _cleanup_(cadet_freep)
#define _cleanup_close_ _cleanup_(cadet_closep)
#define _cleanup_fclose_ _cleanup_(cadet_fclosep)
#define _cleanup_closedir_ _cleanup_(cadet_closedirp)

#define TAKE_PTR(p)                          \
	({                                   \
		__typeof__(p) _taken_ = (p); \
		(p) = NULL;                  \
		_taken_;                     \
	})

#define TAKE_FD(fd)                 \
	({                          \
		int _taken_ = (fd); \
		(fd) = -1;          \
		_taken_;            \
	})

#endif
