/*
 * Capability checks (bpf/cap.bpf.c): tp_btf/cap_capable where the kernel has
 * the tracepoint, else fexit, else kprobe+kretprobe on cap_capable. With fexit also
 * fexit/cap_mmap_addr, whose CAP_SYS_RAWIO check inlines cap_capable on ECS kernels; with kprobe
 * the same check from kprobe/cap_mmap_addr's entry.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "agent/kernel/link_detach.h"
#include "agent/kernel/bpf_cap.h"
#include "agent/kernel/kallsyms.h"
#include "agent/common/log.h"
#include "cap.skel.h"

#define CAP_HOOK "capability"

/*
 * The last three: the legacy task-access twins (bpf/task.bpf.h) of the first three, for kernels
 * without the helpers those call (5.10 takes fexit-legacy). Kernels with the tracepoint (6.11+)
 * have every helper: tp_btf-legacy is there so that the legacy flavour runs on them in tests.
 */
enum cap_variant {
    CAP_TP_BTF,
    CAP_FEXIT,
    CAP_KPROBE,
    CAP_TP_BTF_LG,
    CAP_FEXIT_LG,
    CAP_KPROBE_LG,
    CAP_VARIANTS
};
static const char *const cap_variant_names[CAP_VARIANTS] = {
    "tp_btf/cap_capable",
    "fexit/cap_capable",
    "kprobe+kretprobe/cap_capable",
    "tp_btf/cap_capable" EG_BPF_LEGACY_SUFFIX,
    "fexit/cap_capable" EG_BPF_LEGACY_SUFFIX,
    "kprobe+kretprobe/cap_capable" EG_BPF_LEGACY_SUFFIX};
/* --hook capability=NAME, same order. */
static const char *const cap_variant_short[CAP_VARIANTS + 1] = {
    "tp_btf", "fexit", "kprobe", "tp_btf-legacy", "fexit-legacy", "kprobe-legacy", NULL};

/* vm.mmap_min_addr now (cap_mmap_addr's threshold); 0 when unreadable: refusals only. */
static unsigned long long mmap_min_addr(void)
{
    unsigned long long v = 0;
    FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "re");
    if (f) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

static int try_variant(struct eg_bpf *b, const struct eg_bpf_options *opt,
                       const struct eg_ksym_range *ranges, enum cap_variant v, bool mmap_addr,
                       char *why, size_t whylen, struct cap_bpf **out)
{
    struct cap_bpf *s = cap_bpf__open();
    if (!s) {
        eg_bpf_errno_text(errno, why, whylen);
        return -1;
    }
    bool legacy = v >= CAP_TP_BTF_LG;
    bool tp = v == CAP_TP_BTF || v == CAP_TP_BTF_LG;
    bool fexit = v == CAP_FEXIT || v == CAP_FEXIT_LG;
    bool kprobe = v == CAP_KPROBE || v == CAP_KPROBE_LG;
    bpf_program__set_autoload(s->progs.eg_cap_capable_tp, tp);
    bpf_program__set_autoload(s->progs.eg_cap_capable_fexit, fexit);
    bpf_program__set_autoload(s->progs.eg_cap_capable_kprobe, kprobe);
    bpf_program__set_autoload(s->progs.eg_cap_capable_kretprobe, kprobe);
    /* The CAP_SYS_RAWIO check cap_capable's function hook misses where it is inlined. */
    bpf_program__set_autoload(s->progs.eg_cap_mmap_addr_fexit, fexit && mmap_addr);
    bpf_program__set_autoload(s->progs.eg_cap_mmap_addr_kprobe, kprobe && mmap_addr);
    eg_bpf_select_legacy(s->obj, legacy);
    /* Run by the detector on each CPU (eg_bpf_cap_flush), never attached. */
    bpf_program__set_autoattach(s->progs.eg_cap_flush, false);
    EG_BPF_SET_COMMON_RODATA(s, b, opt);
    s->rodata->eg_vm_enough_start = ranges[0].start;
    s->rodata->eg_vm_enough_end = ranges[0].end;
    s->rodata->eg_cap_vm_enough_start = ranges[1].start;
    s->rodata->eg_cap_vm_enough_end = ranges[1].end;
    s->rodata->eg_mmap_min_addr = mmap_min_addr();
    s->data->eg_watched_caps = opt->watched_caps;
    eg_bpf_share_maps(b, s->obj);
    int err = cap_bpf__load(s);
    if (!err)
        err = cap_bpf__attach(s);
    if (err) {
        eg_bpf_errno_text(err, why, whylen);
        cap_bpf__destroy(s);
        return -1;
    }
    *out = s;
    return 0;
}

static int load_cap(struct eg_bpf *b, const struct eg_bpf_options *opt, const struct btf *vmlinux,
                    struct eg_hook_report *r, void **skel)
{
    struct eg_ksym_range ranges[2] = {{.name = "security_vm_enough_memory_mm"},
                                      {.name = "cap_vm_enough_memory"}};
    const char *ksyms = opt->kallsyms_path ? opt->kallsyms_path : "/proc/kallsyms";
    b->overcommit_filter = eg_kallsyms_resolve(ksyms, ranges, 2) > 0;
    if (!b->overcommit_filter)
        eg_log_warn("cannot resolve the memory-overcommit functions in %s: CAP_SYS_ADMIN "
                    "checks from mmap/brk/fork/exec cannot be told apart and are flagged",
                    ksyms);

    const char *forced = eg_bpf_forced(opt, CAP_HOOK);
    for (int v = 0; v < CAP_VARIANTS; v++) {
        char why[160];
        if (forced && strcmp(forced, cap_variant_short[v]) != 0)
            continue;
        if ((v == CAP_TP_BTF || v == CAP_TP_BTF_LG) &&
            !eg_bpf_btf_has(vmlinux, "btf_trace_cap_capable", BTF_KIND_TYPEDEF)) {
            eg_bpf_hook_attempt(r, cap_variant_names[v], "kernel has no cap_capable tracepoint");
            continue;
        }
        if ((v == CAP_FEXIT || v == CAP_FEXIT_LG) &&
            !eg_bpf_btf_has(vmlinux, "cap_capable", BTF_KIND_FUNC)) {
            eg_bpf_hook_attempt(r, cap_variant_names[v], "cap_capable not in kernel BTF");
            continue;
        }
        if (v < CAP_TP_BTF_LG &&
            !eg_bpf_fast_flavour_usable(b, EG_HELPER_CURRENT_TASK_BTF | EG_HELPER_TASK_PT_REGS,
                                        forced, cap_variant_names[v], r))
            continue;
        bool fexit = v == CAP_FEXIT || v == CAP_FEXIT_LG;
        bool kprobe = v == CAP_KPROBE || v == CAP_KPROBE_LG;
        bool mmap_addr =
            (fexit || kprobe) && eg_bpf_btf_has(vmlinux, "cap_mmap_addr", BTF_KIND_FUNC);
        struct cap_bpf *s = NULL;
        if (try_variant(b, opt, ranges, v, mmap_addr, why, sizeof(why), &s) == 0) {
            /* Before the chosen variant's line, which stays the last (the report's "ok"). */
            if (fexit || kprobe)
                eg_bpf_hook_attempt(r,
                                    fexit
                                        ? "fexit/cap_mmap_addr (CAP_SYS_RAWIO below mmap_min_addr)"
                                        : "kprobe/cap_mmap_addr (CAP_SYS_RAWIO below "
                                          "mmap_min_addr)",
                                    mmap_addr ? "ok" : "cap_mmap_addr not in kernel BTF");
            eg_bpf_hook_attempt(r, cap_variant_names[v], "ok");
            snprintf(r->chosen, sizeof(r->chosen), "%s", cap_variant_names[v]);
            *skel = s;
            return 0;
        }
        eg_bpf_hook_attempt(r, cap_variant_names[v], why);
    }
    return -1;
}

static void detach_cap(void *skel)
{
    struct cap_bpf *s = skel;
    if (s)
        eg_skeleton_detach_parallel(s->skeleton);
}

static void unload_cap(void *skel)
{
    detach_cap(skel);
    cap_bpf__destroy(skel);
}

const struct eg_bpf_concern eg_bpf_cap_concern = {
    .hook = CAP_HOOK,
    .essential = true,
    .variants = cap_variant_short,
    .load = load_cap,
    .detach = detach_cap,
    .unload = unload_cap,
    .object_bytes = cap_bpf__elf_bytes,
};

int eg_bpf_cap_dedup_fd(const struct eg_bpf *b)
{
    struct cap_bpf *s = eg_bpf_skeleton(b, eg_bpf_cap_concern.hook);
    return s ? bpf_map__fd(s->maps.eg_cap_dedup) : -1;
}

int eg_bpf_cap_flush(const struct eg_bpf *b, uint32_t *failed_cpus)
{
    *failed_cpus = 0;
    struct cap_bpf *s = eg_bpf_skeleton(b, eg_bpf_cap_concern.hook);
    if (!s)
        return -1;
    int fd = bpf_program__fd(s->progs.eg_cap_flush);
    int ncpus = libbpf_num_possible_cpus();
    if (fd < 0 || ncpus <= 0)
        return -1;
    for (int cpu = 0; cpu < ncpus; cpu++) {
        LIBBPF_OPTS(bpf_test_run_opts, run, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = (__u32)cpu);
        /* A possible but offline CPU runs no programs: nothing is counted in its slot. */
        if (bpf_prog_test_run_opts(fd, &run) != 0 && errno != ENXIO)
            (*failed_cpus)++;
    }
    return 0;
}

void eg_bpf_set_watched_caps(struct eg_bpf *b, uint64_t mask)
{
    /* .data is memory-mapped: the running programs see the new mask on their next check. */
    struct cap_bpf *s = eg_bpf_skeleton(b, eg_bpf_cap_concern.hook);
    if (s)
        __atomic_store_n(&s->data->eg_watched_caps, mask, __ATOMIC_RELEASE);
}
