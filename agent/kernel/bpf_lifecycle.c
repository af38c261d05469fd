/*
 * Process and container lifecycle programs (bpf/lifecycle.bpf.c); they own the shared maps.
 * Two flavours: the fast one, and the legacy task-access twins (bpf/task.bpf.h) where the
 * kernel lacks the helpers the fast one calls or refuses it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "agent/kernel/link_detach.h"
#include "agent/kernel/bpf_loader.h"
#include "lifecycle.skel.h"

#define LIFECYCLE_ATTACH "tp_btf/sched_process_*+cgroup_*"

/* --hook processLifecycle=NAME, in order of preference. */
static const char *const lifecycle_variants[] = {"tp_btf", "legacy", NULL};

static struct lifecycle_bpf *try_flavour(struct eg_bpf *b, const struct eg_bpf_options *opt,
                                         const struct btf *vmlinux, bool legacy, char *why,
                                         size_t whylen)
{
    struct lifecycle_bpf *s = lifecycle_bpf__open();
    if (!s) {
        eg_bpf_errno_text(errno, why, whylen);
        return NULL;
    }
    eg_bpf_select_legacy(s->obj, legacy);
    /*
     * A kernel built without module support has no module_load tracepoint (the development
     * VM's): its programs are left out there instead of failing the object.
     */
    if (!eg_bpf_btf_has(vmlinux, "btf_trace_module_load", BTF_KIND_TYPEDEF)) {
        bpf_program__set_autoload(s->progs.eg_module_load, false);
        bpf_program__set_autoload(s->progs.eg_module_load_lg, false);
    }
    if (!eg_bpf_btf_has(vmlinux, "btf_trace_module_request", BTF_KIND_TYPEDEF)) {
        bpf_program__set_autoload(s->progs.eg_module_request, false);
        bpf_program__set_autoload(s->progs.eg_module_request_lg, false);
    }
    EG_BPF_SET_COMMON_RODATA(s, b, opt);
    /* The shared ring buffer is created here; every other object reuses it. */
    if (opt->ring_buffer_bytes)
        bpf_map__set_max_entries(s->maps.eg_events, opt->ring_buffer_bytes);
    int err = lifecycle_bpf__load(s);
    if (!err)
        err = lifecycle_bpf__attach(s);
    if (err) {
        eg_bpf_errno_text(err, why, whylen);
        lifecycle_bpf__destroy(s);
        return NULL;
    }
    return s;
}

static int load_lifecycle(struct eg_bpf *b, const struct eg_bpf_options *opt,
                          const struct btf *vmlinux, struct eg_hook_report *r, void **skel)
{
    const char *forced = eg_bpf_forced(opt, "processLifecycle");
    for (int v = 0; lifecycle_variants[v]; v++) {
        bool legacy = v == 1;
        const char *attach = legacy ? LIFECYCLE_ATTACH EG_BPF_LEGACY_SUFFIX : LIFECYCLE_ATTACH;
        if (forced && strcmp(forced, lifecycle_variants[v]) != 0)
            continue;
        if (!legacy && !eg_bpf_fast_flavour_usable(b, EG_HELPER_CURRENT_TASK_BTF | EG_HELPER_LOOP,
                                                   forced, attach, r))
            continue;
        char why[160];
        struct lifecycle_bpf *s = try_flavour(b, opt, vmlinux, legacy, why, sizeof(why));
        if (!s) {
            eg_bpf_hook_attempt(r, attach, why);
            continue;
        }
        eg_bpf_hook_attempt(r, attach, "ok");
        snprintf(r->chosen, sizeof(r->chosen), "%s", attach);
        b->events_fd = bpf_map__fd(s->maps.eg_events);
        b->containers_fd = bpf_map__fd(s->maps.eg_containers);
        b->containers_gen_fd = bpf_map__fd(s->maps.eg_containers_gen);
        b->verdict_cache_fd = bpf_map__fd(s->maps.eg_verdict_cache);
        b->reader_idle_fd = bpf_map__fd(s->maps.eg_reader_idle);
        b->setup_fd = bpf_map__fd(s->maps.eg_setup_procs);
        b->homes_fd = bpf_map__fd(s->maps.eg_homes);
        b->rootfs_roots_fd = bpf_map__fd(s->maps.eg_rootfs_roots);
        b->ring_shares_fd = bpf_map__fd(s->maps.eg_ring_shares);
        b->exec_starts_fd = bpf_map__fd(s->maps.eg_exec_starts);
        b->own_tmpfs_fd = bpf_map__fd(s->maps.eg_own_tmpfs);
        b->counters_fd = bpf_map__fd(s->maps.eg_counters);
        *skel = s;
        return 0;
    }
    return -1;
}

static void detach_lifecycle(void *skel)
{
    struct lifecycle_bpf *s = skel;
    if (s)
        eg_skeleton_detach_parallel(s->skeleton);
}

static void unload_lifecycle(void *skel)
{
    detach_lifecycle(skel);
    lifecycle_bpf__destroy(skel);
}

const struct eg_bpf_concern eg_bpf_lifecycle_concern = {
    .hook = "processLifecycle",
    .essential = true,
    .variants = lifecycle_variants,
    .load = load_lifecycle,
    .detach = detach_lifecycle,
    .unload = unload_lifecycle,
    .object_bytes = lifecycle_bpf__elf_bytes,
};
