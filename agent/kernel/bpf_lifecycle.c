/* Process and container lifecycle programs (bpf/lifecycle.bpf.c); they own the shared maps. */
#include <errno.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "agent/kernel/bpf_loader.h"
#include "lifecycle.skel.h"

#define LIFECYCLE_ATTACH "tp_btf/sched_process_*+cgroup_*"

static int load_lifecycle(struct eg_bpf *b, const struct eg_bpf_options *opt,
                          const struct btf *vmlinux, struct eg_hook_report *r, void **skel)
{
    (void)vmlinux;
    char why[160];
    struct lifecycle_bpf *s = lifecycle_bpf__open();
    if (!s) {
        eg_bpf_errno_text(errno, why, sizeof(why));
        eg_bpf_hook_attempt(r, LIFECYCLE_ATTACH, why);
        return -1;
    }
    EG_BPF_SET_COMMON_RODATA(s, b, opt);
    /* The shared ring buffer is created here; every other object reuses it. */
    if (opt->ring_buffer_bytes)
        bpf_map__set_max_entries(s->maps.eg_events, opt->ring_buffer_bytes);
    int err = lifecycle_bpf__load(s);
    if (!err)
        err = lifecycle_bpf__attach(s);
    if (err) {
        eg_bpf_errno_text(err, why, sizeof(why));
        eg_bpf_hook_attempt(r, LIFECYCLE_ATTACH, why);
        lifecycle_bpf__destroy(s);
        return -1;
    }
    eg_bpf_hook_attempt(r, LIFECYCLE_ATTACH, "ok");
    snprintf(r->chosen, sizeof(r->chosen), "%s", LIFECYCLE_ATTACH);
    b->events_fd = bpf_map__fd(s->maps.eg_events);
    b->containers_fd = bpf_map__fd(s->maps.eg_containers);
    b->containers_gen_fd = bpf_map__fd(s->maps.eg_containers_gen);
    b->verdict_cache_fd = bpf_map__fd(s->maps.eg_verdict_cache);
    b->reader_idle_fd = bpf_map__fd(s->maps.eg_reader_idle);
    b->setup_fd = bpf_map__fd(s->maps.eg_setup_procs);
    b->counters_fd = bpf_map__fd(s->maps.eg_counters);
    *skel = s;
    return 0;
}

static void unload_lifecycle(void *skel)
{
    lifecycle_bpf__destroy(skel);
}

/* --hook processLifecycle=NAME. */
static const char *const lifecycle_variants[] = {"tp_btf", NULL};

const struct eg_bpf_concern eg_bpf_lifecycle_concern = {
    .hook = "processLifecycle",
    .essential = true,
    .variants = lifecycle_variants,
    .load = load_lifecycle,
    .unload = unload_lifecycle,
};
