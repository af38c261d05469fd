/*
 * 32-bit compat syscalls (bpf/compat.bpf.c): one program on the i386 entry point of every
 * watched syscall (compat_syscalls.c), attached once through kprobe.multi where the kernel has
 * fprobe (CONFIG_FPROBE: Debian's 6.12 has it, its 6.1 and 5.10 do not), else once per
 * function as a kprobe, else the same with legacy task access (5.10). Not essential: a kernel
 * without kprobes, or without IA32 emulation, runs the agent without it and says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "agent/common/log.h"
#include "agent/kernel/bpf_loader.h"
#include "agent/kernel/compat_syscalls.h"
#include "agent/kernel/kprobe_support.h"
#include "agent/kernel/link_detach.h"
#include "compat.skel.h"

#define COMPAT_HOOK "compatSyscalls"
/* Two functions at most per watched syscall (__ia32_sys_ and __ia32_compat_sys_). */
#define COMPAT_MAX_FUNCTIONS 128

enum compat_variant { COMPAT_MULTI, COMPAT_KPROBE, COMPAT_KPROBE_LG, COMPAT_VARIANTS };
/* Each variant's attach point; the legacy one's report lines add EG_BPF_LEGACY_SUFFIX. */
static const char *const compat_variant_base[COMPAT_VARIANTS] = {
    "kprobe.multi/__ia32_* syscall functions", "kprobe/__ia32_* syscall functions",
    "kprobe/__ia32_* syscall functions"};
/* --hook compatSyscalls=NAME, same order. */
static const char *const compat_variant_short[COMPAT_VARIANTS + 1] = {"kprobe.multi", "kprobe",
                                                                      "kprobe-legacy", NULL};

/* Variant `v`'s name on its report lines, into buf. */
static void variant_name(enum compat_variant v, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", compat_variant_base[v],
             v == COMPAT_KPROBE_LG ? EG_BPF_LEGACY_SUFFIX : "");
}

struct compat_loaded {
    struct compat_bpf *skel;
    int n_links;
    struct bpf_link *links[COMPAT_MAX_FUNCTIONS];
};

/* The kernel's i386 entry points of the watched syscalls, as BTF names them. */
struct compat_functions {
    int n;
    char names[COMPAT_MAX_FUNCTIONS][64];
    const char *ptrs[COMPAT_MAX_FUNCTIONS];
};

/*
 * One pass over the kernel's BTF (a lookup by name is a scan of all ~100,000 types; two per row
 * would cost more than the rest of the concern's start): every function named __ia32_sys_<fn> or
 * __ia32_compat_sys_<fn> for a row's <fn>.
 */
static void find_functions(const struct btf *vmlinux, struct compat_functions *f)
{
    static const char *const prefixes[] = {"__ia32_compat_sys_", "__ia32_sys_"};
    f->n = 0;
    __u32 n_types = btf__type_cnt(vmlinux);
    for (__u32 id = 1; id < n_types && f->n < COMPAT_MAX_FUNCTIONS; id++) {
        const struct btf_type *t = btf__type_by_id(vmlinux, id);
        if (!t || !btf_is_func(t))
            continue;
        const char *name = btf__name_by_offset(vmlinux, t->name_off);
        if (!name || strncmp(name, "__ia32_", 7) != 0)
            continue;
        const char *fn = NULL;
        for (size_t p = 0; p < 2 && !fn; p++)
            if (strncmp(name, prefixes[p], strlen(prefixes[p])) == 0)
                fn = name + strlen(prefixes[p]);
        bool watched = false;
        for (size_t i = 0; fn && i < eg_compat_syscall_row_count && !watched; i++)
            watched = strcmp(fn, eg_compat_syscall_rows[i].function) == 0;
        for (int j = 0; watched && j < f->n; j++)
            watched = strcmp(f->names[j], name) != 0; /* BTF may name a function twice */
        if (!watched || strlen(name) >= sizeof(f->names[0]))
            continue;
        snprintf(f->names[f->n], sizeof(f->names[0]), "%s", name);
        f->ptrs[f->n] = f->names[f->n];
        f->n++;
    }
}

static void fill_table(struct compat_bpf *s)
{
    for (size_t i = 0; i < eg_compat_syscall_row_count; i++) {
        long nr = eg_compat_syscall_rows[i].nr;
        if (nr >= 0 && nr < EG_COMPAT_NR_LIMIT)
            s->rodata->eg_compat_syscalls[nr] = eg_compat_syscall_rows[i].layout;
    }
}

static void drop_links(struct compat_loaded *l)
{
    struct bpf_link **slots[COMPAT_MAX_FUNCTIONS];
    for (int i = 0; i < l->n_links; i++)
        slots[i] = &l->links[i];
    eg_links_destroy_parallel(slots, l->n_links);
    l->n_links = 0;
}

/*
 * Open, load and attach variant `v` to the functions in `f`. 0, or -1 with why in `why` (a
 * kprobe that does not attach is left out and counted; none attaching fails the variant).
 */
static int try_variant(struct eg_bpf *b, const struct eg_bpf_options *opt,
                       const struct compat_functions *f, enum compat_variant v,
                       struct compat_loaded *l, int *missed, char *why, size_t whylen)
{
    struct compat_bpf *s = compat_bpf__open();
    if (!s) {
        eg_bpf_errno_text(errno, why, whylen);
        return -1;
    }
    bpf_program__set_autoload(s->progs.eg_compat_kprobe_multi, v == COMPAT_MULTI);
    bpf_program__set_autoload(s->progs.eg_compat_kprobe, v == COMPAT_KPROBE);
    bpf_program__set_autoload(s->progs.eg_compat_kprobe_lg, v == COMPAT_KPROBE_LG);
    EG_BPF_SET_COMMON_RODATA(s, b, opt);
    fill_table(s);
    eg_bpf_share_maps(b, s->obj);
    int err = compat_bpf__load(s);
    if (err) {
        eg_bpf_errno_text(err, why, whylen);
        compat_bpf__destroy(s);
        return -1;
    }
    l->skel = s;
    *missed = 0;
    if (v == COMPAT_MULTI) {
        LIBBPF_OPTS(bpf_kprobe_multi_opts, mo, .syms = (const char **)f->ptrs, .cnt = (size_t)f->n);
        struct bpf_link *link =
            bpf_program__attach_kprobe_multi_opts(s->progs.eg_compat_kprobe_multi, NULL, &mo);
        if (!link) {
            eg_bpf_errno_text(errno, why, whylen);
            compat_bpf__destroy(s);
            l->skel = NULL;
            return -1;
        }
        l->links[l->n_links++] = link;
        return 0;
    }
    struct bpf_program *prog =
        v == COMPAT_KPROBE ? s->progs.eg_compat_kprobe : s->progs.eg_compat_kprobe_lg;
    int first_err = 0;
    for (int i = 0; i < f->n; i++) {
        struct bpf_link *link = bpf_program__attach_kprobe(prog, false, f->ptrs[i]);
        if (link) {
            l->links[l->n_links++] = link;
            continue;
        }
        if (!first_err)
            first_err = errno;
        (*missed)++;
        eg_log_warn("compat syscalls: cannot attach a kprobe to %s: %s", f->ptrs[i],
                    strerror(errno));
    }
    if (l->n_links == 0) {
        eg_bpf_errno_text(first_err ? first_err : ENOENT, why, whylen);
        compat_bpf__destroy(s);
        l->skel = NULL;
        return -1;
    }
    return 0;
}

static int load_compat(struct eg_bpf *b, const struct eg_bpf_options *opt,
                       const struct btf *vmlinux, struct eg_hook_report *r, void **skel)
{
    const char *forced = eg_bpf_forced(opt, COMPAT_HOOK);
    if (eg_compat_syscall_row_count == 0) {
        eg_bpf_hook_attempt(r, "kprobe/__ia32_* syscall functions",
                            "no 32-bit compat ABI watched on this architecture");
        return -1;
    }
    struct compat_functions *f = calloc(1, sizeof(*f));
    struct compat_loaded *l = calloc(1, sizeof(*l));
    if (!f || !l) {
        free(f);
        free(l);
        eg_bpf_hook_attempt(r, compat_variant_base[COMPAT_MULTI], "out of memory");
        return -1;
    }
    char why[160];
    if (!eg_kprobes_offered("/sys", why, sizeof(why))) {
        eg_bpf_hook_attempt(r, compat_variant_base[COMPAT_KPROBE], why);
        goto fail;
    }
    find_functions(vmlinux, f);
    if (f->n == 0) {
        /* CONFIG_IA32_EMULATION off: no process can make an i386 syscall to watch. */
        eg_bpf_hook_attempt(r, compat_variant_base[COMPAT_KPROBE],
                            "kernel has no __ia32_* syscall functions (no IA32 emulation)");
        goto fail;
    }
    for (int v = 0; v < COMPAT_VARIANTS; v++) {
        if (forced && strcmp(forced, compat_variant_short[v]) != 0)
            continue;
        char name[96];
        variant_name((enum compat_variant)v, name, sizeof(name));
        if (v != COMPAT_KPROBE_LG &&
            !eg_bpf_fast_flavour_usable(b, EG_HELPER_CURRENT_TASK_BTF, forced, name, r))
            continue;
        int missed = 0;
        if (try_variant(b, opt, f, (enum compat_variant)v, l, &missed, why, sizeof(why)) != 0) {
            eg_bpf_hook_attempt(r, name, why);
            continue;
        }
        /* A function whose kprobe the kernel refused: said on a line of its own, before the
         * chosen variant's, which stays the last (the report's "ok"). */
        if (missed) {
            char result[160];
            snprintf(result, sizeof(result), "%d of %d functions refused a kprobe (see the log)",
                     missed, f->n);
            eg_bpf_hook_attempt(r, name, result);
        }
        eg_bpf_hook_attempt(r, name, "ok");
        /* "kprobe/__ia32_* syscall functions (53 functions, legacy task access)" */
        snprintf(r->chosen, sizeof(r->chosen), "%s (%d functions%s)", compat_variant_base[v],
                 f->n - missed, v == COMPAT_KPROBE_LG ? ", legacy task access" : "");
        free(f);
        *skel = l;
        return 0;
    }
fail:
    free(f);
    free(l);
    return -1;
}

static void detach_compat(void *p)
{
    struct compat_loaded *l = p;
    if (l)
        drop_links(l);
}

static void unload_compat(void *p)
{
    struct compat_loaded *l = p;
    if (!l)
        return;
    drop_links(l);
    compat_bpf__destroy(l->skel);
    free(l);
}

const struct eg_bpf_concern eg_bpf_compat_concern = {
    .hook = COMPAT_HOOK,
    .essential = false,
    .variants = compat_variant_short,
    .load = load_compat,
    .detach = detach_compat,
    .unload = unload_compat,
    .object_bytes = compat_bpf__elf_bytes,
};
