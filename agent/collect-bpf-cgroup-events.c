/* collect-bpf-cgroup-events.c: loads bpf/cgroup-events.bpf.c through its skeleton
 * and reads its ring buffer (see collect-bpf-cgroup-events.h).
 *
 * The OOM program has two variants; exactly one is loaded: tp_btf/mark_victim
 * when the tracepoint passes the task (6.x), else fentry/mark_oom_victim when
 * the kernel can trace that function, else none (OOM kills are then not
 * reported, and bpf_cgroup_events_have_oom() says so). */
#include "agent/collect-bpf-cgroup-events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent/collect-bpf-support.h"
#include "cgroup-events.skel.h"

struct bpf_cgroup_events {
	struct cgroup_events_bpf *skel;
	struct ring_buffer *rb;
	bool have_oom;
	/* The consumer in progress. */
	bpf_cgroup_event_fn fn;
	void *ctx;
	struct cadet_error *err;
	bool failed;
};

const char *cgroup_event_type_name(uint32_t type)
{
	switch (type) {
	case CGROUP_EVENT_MKDIR:
		return "mkdir";
	case CGROUP_EVENT_RMDIR:
		return "rmdir";
	case CGROUP_EVENT_OOM:
		return "oom";
	}
	return "unknown";
}

static int handle_sample(void *ctx, void *data, size_t size)
{
	struct bpf_cgroup_events *ev = ctx;
	if (size < sizeof(struct cgroup_event))
		return 0; /* not ours; cannot happen with one producer */
	if (ev->fn(data, ev->ctx, ev->err) < 0) {
		ev->failed = true;
		return -ECANCELED;
	}
	return 0;
}

int bpf_cgroup_events_open(const struct bpf_cgroup_events_options *opts, struct bpf_cgroup_events **out,
			   struct cadet_error *err)
{
	struct bpf_cgroup_events *ev = NULL;
	struct cgroup_events_bpf *skel = NULL;
	int ncpus, ret = -1, rc;

	bpf_support_init();
	bpf_support_reset_message();
	if (bpf_support_check(err) < 0)
		goto cleanup;
	size_t prefix_len = opts && opts->path_prefix ? strlen(opts->path_prefix) : 0;
	if (prefix_len >= CGROUP_EVENT_PREFIX_LEN) {
		cadet_error_set(err, ENAMETOOLONG, "cgroup event path prefix longer than %d bytes",
				CGROUP_EVENT_PREFIX_LEN - 1);
		goto cleanup;
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev) {
		cadet_error_set(err, errno, "allocating cgroup events");
		goto cleanup;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		bpf_support_error(err, ncpus, "counting possible CPUs");
		goto cleanup;
	}
	skel = cgroup_events_bpf__open();
	if (!skel) {
		bpf_support_error(err, -errno, "opening cgroup-events BPF object");
		goto cleanup;
	}
	skel->rodata->nr_cpus = (__u32)ncpus;
	skel->rodata->page_size = (__u64)sysconf(_SC_PAGESIZE);
	skel->rodata->watch_controllers = opts ? opts->controllers : 0;
	skel->rodata->path_prefix_len = (__u32)prefix_len;
	if (prefix_len)
		memcpy((char *)skel->rodata->path_prefix, opts->path_prefix, prefix_len);

	ev->have_oom = true;
	if (bpf_support_tracepoint_arg0_is("mark_victim", "task_struct")) {
		bpf_program__set_autoload(skel->progs.handle_mark_oom_victim, false);
	} else {
		bpf_program__set_autoload(skel->progs.handle_mark_victim, false);
		if (!bpf_support_kernel_has_func("mark_oom_victim")) {
			bpf_program__set_autoload(skel->progs.handle_mark_oom_victim, false);
			ev->have_oom = false;
		}
	}

	rc = cgroup_events_bpf__load(skel);
	if (rc) {
		bpf_support_error(err, rc, "loading cgroup-events BPF programs");
		goto cleanup;
	}
	rc = cgroup_events_bpf__attach(skel);
	if (rc) {
		bpf_support_error(err, rc, "attaching cgroup-events BPF programs");
		goto cleanup;
	}
	ev->rb = ring_buffer__new(bpf_map__fd(skel->maps.events), handle_sample, ev, NULL);
	if (!ev->rb) {
		bpf_support_error(err, -errno, "opening cgroup-events ring buffer");
		goto cleanup;
	}
	ev->skel = skel;
	skel = NULL;
	*out = ev;
	ev = NULL;
	ret = 0;
cleanup:
	bpf_support_trim_heap();
	cgroup_events_bpf__destroy(skel);
	if (ev)
		ring_buffer__free(ev->rb);
	free(ev);
	return ret;
}

int bpf_cgroup_events_fd(const struct bpf_cgroup_events *ev)
{
	return ring_buffer__epoll_fd(ev->rb);
}

int bpf_cgroup_events_consume(struct bpf_cgroup_events *ev, bpf_cgroup_event_fn fn, void *ctx,
			      struct cadet_error *err)
{
	ev->fn = fn;
	ev->ctx = ctx;
	ev->err = err;
	ev->failed = false;
	/* poll, not consume: it also drains the epoll fd's readiness. */
	int rc = ring_buffer__poll(ev->rb, 0);
	ev->fn = NULL;
	ev->ctx = NULL;
	ev->err = NULL;
	if (ev->failed)
		return -1;
	if (rc == -EINTR)
		return 0;
	if (rc < 0)
		return bpf_support_error(err, rc, "reading cgroup-events ring buffer");
	return rc;
}

bool bpf_cgroup_events_have_oom(const struct bpf_cgroup_events *ev)
{
	return ev->have_oom;
}

uint64_t bpf_cgroup_events_dropped(const struct bpf_cgroup_events *ev)
{
	return __atomic_load_n(&ev->skel->bss->dropped_events, __ATOMIC_RELAXED);
}

void bpf_cgroup_events_close(struct bpf_cgroup_events *ev)
{
	if (!ev)
		return;
	ring_buffer__free(ev->rb);
	cgroup_events_bpf__destroy(ev->skel);
	free(ev);
}
