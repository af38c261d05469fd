/*
 * Root filesystem writes (bpf/rootfs.bpf.c). Every program is a syscall
 * tracepoint; some syscalls do not exist on every architecture (open,
 * creat, rename... are x86_64 only) or kernel (fchmodat2 is 6.6+), so each
 * program is attached on its own and the missing ones are reported. The
 * open exits (openat at least) are required; the rest are best effort.
 *
 * The programs that read file fields come in two flavours (see rootfs.bpf.c):
 * through bpf_rdonly_cast where the kernel has that kfunc, else through
 * bpf_probe_read_kernel (names ending in "_pr"). Exactly one set is loaded;
 * a cast set the kernel refuses falls back to the probe-read set. Every program
 * also has a legacy task-access twin ("_lg", bpf/task.bpf.h), loaded instead on
 * kernels without the helpers the others call (5.10) or that refuse them.
 */
#include "agent/kernel/link_detach.h"
#include "agent/kernel/bpf_rootfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "rootfs.skel.h"

#define ROOTFS_MAX_LINKS 48

struct rootfs_loaded {
    struct rootfs_bpf *skel;
    int n_links;
    struct bpf_link *links[ROOTFS_MAX_LINKS];
};

enum prog_group { GROUP_OPEN, GROUP_PATHOP, GROUP_MMAP, GROUP_ROOT, GROUPS };
static const char *const group_attach[GROUPS] = {
    "tracepoint/syscalls/sys_exit_open*,creat",
    "tracepoint/syscalls/sys_exit_<path and fd ops>",
    "tracepoint/syscalls/sys_enter_mmap",
    /* the container's root, captured at its entrypoint's exec (rootfs.bpf.c) */
    "tracepoint/syscalls/sys_enter_execve*",
};

static enum prog_group group_of(const char *sec)
{
    if (strstr(sec, "sys_enter_mmap"))
        return GROUP_MMAP;
    if (strstr(sec, "sys_enter_execve"))
        return GROUP_ROOT;
    if (strstr(sec, "sys_exit_open") || strstr(sec, "sys_exit_creat"))
        return GROUP_OPEN;
    return GROUP_PATHOP;
}

static void unload_rootfs(void *p)
{
    struct rootfs_loaded *l = p;
    if (!l)
        return;
    struct bpf_link **slots[ROOTFS_MAX_LINKS];
    for (int i = 0; i < l->n_links; i++)
        slots[i] = &l->links[i];
    eg_links_destroy_parallel(slots, l->n_links);
    if (l->skel)
        eg_skeleton_detach_parallel(l->skel->skeleton);
    rootfs_bpf__destroy(l->skel);
    free(l);
}

static bool is_probe_read_flavour(const struct bpf_program *prog)
{
    const char *name = bpf_program__name(prog);
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, "_pr") == 0;
}

/* The cast flavour of a program is the one whose "<name>_pr" twin exists. */
static bool is_cast_flavour(const struct bpf_object *obj, const struct bpf_program *prog)
{
    char twin[128];
    snprintf(twin, sizeof(twin), "%s_pr", bpf_program__name(prog));
    return bpf_object__find_program_by_name(obj, twin) != NULL;
}

/* Open and load the object with one flavour's programs; NULL and *why on failure. */
static struct rootfs_bpf *open_and_load(struct eg_bpf *b, const struct eg_bpf_options *opt,
                                        bool cast, bool legacy, char *why, size_t whylen)
{
    struct rootfs_bpf *skel = rootfs_bpf__open();
    if (!skel) {
        eg_bpf_errno_text(errno, why, whylen);
        return NULL;
    }
    struct bpf_program *prog;
    bpf_object__for_each_program(prog, skel->obj)
    {
        if (is_probe_read_flavour(prog))
            bpf_program__set_autoload(prog, !cast);
        else if (is_cast_flavour(skel->obj, prog))
            bpf_program__set_autoload(prog, cast);
        /* Path operations read no file fields: one flavour, always loaded. */
    }
    eg_bpf_select_legacy(skel->obj, legacy);
    EG_BPF_SET_COMMON_RODATA(skel, b, opt);
    eg_bpf_share_maps(b, skel->obj);
    int err = rootfs_bpf__load(skel);
    if (err) {
        eg_bpf_errno_text(err, why, whylen);
        rootfs_bpf__destroy(skel);
        return NULL;
    }
    return skel;
}

static int load_rootfs(struct eg_bpf *b, const struct eg_bpf_options *opt,
                       const struct btf *vmlinux, struct eg_hook_report *r, void **skel)
{
    char why[160];
    struct rootfs_loaded *l = calloc(1, sizeof(*l));
    if (!l) {
        eg_bpf_hook_attempt(r, group_attach[GROUP_OPEN], "out of memory");
        return -1;
    }
    const char *forced = eg_bpf_forced(opt, EG_ROOTFS_HOOK);
    /* Legacy task access reads file fields by probe-read too (no bpf_rdonly_cast before 6.2). */
    bool legacy = (forced && strcmp(forced, "legacy") == 0) ||
                  !eg_bpf_fast_flavour_usable(b, EG_HELPERS_ALL, forced, "task access", r);
    bool probe_read =
        opt->probe_read_file_fields || legacy || (forced && strcmp(forced, "probe-read") == 0);
    bool has_cast = eg_bpf_btf_has(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC);
    bool cast = !probe_read && has_cast;
    if (legacy)
        eg_bpf_hook_attempt(r, "kfunc/bpf_rdonly_cast",
                            "not used (legacy task access): file fields by probe-read");
    else if (probe_read)
        eg_bpf_hook_attempt(r, "kfunc/bpf_rdonly_cast",
                            "not used (--bpf-file-reads probe-read): file fields by probe-read");
    else if (!cast && forced) {
        eg_bpf_hook_attempt(r, "kfunc/bpf_rdonly_cast", "not in this kernel");
        free(l);
        return -1;
    } else if (!cast)
        eg_bpf_hook_attempt(r, "kfunc/bpf_rdonly_cast",
                            "not in this kernel: file fields by probe-read");
    l->skel = open_and_load(b, opt, cast, legacy, why, sizeof(why));
    if (!l->skel && cast && !forced) {
        /* A kernel can list the kfunc yet refuse it to tracepoint programs. */
        char attempt[200];
        snprintf(attempt, sizeof(attempt), "refused (%s): file fields by probe-read", why);
        eg_bpf_hook_attempt(r, "kfunc/bpf_rdonly_cast", attempt);
        cast = false;
        l->skel = open_and_load(b, opt, cast, legacy, why, sizeof(why));
    }
    if (!l->skel && !legacy && !forced) {
        /* Refused for another helper of the fast programs: the legacy twins. */
        char attempt[200];
        snprintf(attempt, sizeof(attempt), "refused (%s): legacy task access instead", why);
        eg_bpf_hook_attempt(r, "task access", attempt);
        cast = false;
        legacy = true;
        l->skel = open_and_load(b, opt, cast, legacy, why, sizeof(why));
    }
    if (!l->skel) {
        eg_bpf_hook_attempt(r, group_attach[GROUP_OPEN], why);
        free(l);
        return -1;
    }

    int attached[GROUPS] = {0}, total[GROUPS] = {0};
    char missing[GROUPS][120] = {{0}};
    bool openat_ok = false;
    struct bpf_program *prog;
    bpf_object__for_each_program(prog, l->skel->obj)
    {
        if (!bpf_program__autoload(prog))
            continue; /* the other flavour */
        const char *sec = bpf_program__section_name(prog);
        enum prog_group g = group_of(sec);
        total[g]++;
        struct bpf_link *link = l->n_links < ROOTFS_MAX_LINKS ? bpf_program__attach(prog) : NULL;
        if (link) {
            l->links[l->n_links++] = link;
            attached[g]++;
            if (strcmp(sec, "tracepoint/syscalls/sys_exit_openat") == 0)
                openat_ok = true;
            continue;
        }
        /* "tracepoint/syscalls/sys_exit_rename" -> "rename" in the report. */
        const char *name = strrchr(sec, '_');
        size_t used = strlen(missing[g]);
        snprintf(missing[g] + used, sizeof(missing[g]) - used, "%s%s", used ? "," : "",
                 name ? name + 1 : sec);
    }
    for (int g = 0; g < GROUPS; g++) {
        if (attached[g] == total[g])
            snprintf(why, sizeof(why), "ok");
        else
            /* The report line is short: name as many missing syscalls as fit. */
            snprintf(why, sizeof(why), "%s%d of %d attached; missing: %.100s",
                     attached[g] ? "ok: " : "", attached[g], total[g], missing[g]);
        eg_bpf_hook_attempt(r, group_attach[g], why);
    }
    if (!openat_ok) {
        unload_rootfs(l);
        return -1;
    }
    snprintf(r->chosen, sizeof(r->chosen), "tracepoint/syscalls (%d programs%s%s)", l->n_links,
             cast ? ", bpf_rdonly_cast" : ", probe-read", legacy ? ", legacy task access" : "");
    *skel = l;
    return 0;
}

/* --hook rootfsWrites=NAME: how the programs read file fields (legacy: and the task). */
static const char *const rootfs_variants[] = {"cast", "probe-read", "legacy", NULL};

const struct eg_bpf_concern eg_bpf_rootfs_concern = {
    .hook = EG_ROOTFS_HOOK,
    .essential = false,
    .variants = rootfs_variants,
    .load = load_rootfs,
    .unload = unload_rootfs,
};

int eg_bpf_rootfs_repeats_fd(const struct eg_bpf *b)
{
    struct rootfs_loaded *l = b ? eg_bpf_skeleton(b, EG_ROOTFS_HOOK) : NULL;
    return l ? bpf_map__fd(l->skel->maps.eg_rootfs_repeats) : -1;
}

int eg_bpf_rootfs_pathops_seen_fd(const struct eg_bpf *b)
{
    struct rootfs_loaded *l = b ? eg_bpf_skeleton(b, EG_ROOTFS_HOOK) : NULL;
    return l ? bpf_map__fd(l->skel->maps.eg_rootfs_pathops_seen) : -1;
}
