/*
 * Root filesystem writes (bpf/rootfs.bpf.c). Every program watches one
 * syscall, attached either to the syscall's own function (fexit, fentry for
 * mmap: preferred, it leaves the host's other syscalls alone) or to its
 * tracepoint (kernels that refuse fentry; any attached syscall tracepoint
 * puts every syscall of every task through the tracing slow path), but one:
 * at the tracepoints the path-only and fd syscalls share one program,
 * attached to each of their exits, which finds each syscall's arguments in a
 * table filled here (rootfs_pathops.h; verified once instead of 33 times). Some
 * syscalls do not exist on every architecture (open, creat, rename... are
 * x86_64 only) or kernel (fchmodat2 is 6.6+), so each program is attached on
 * its own and the missing ones are reported. The open exits (openat at
 * least) are required; the rest are best effort.
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
#include <sys/utsname.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "agent/kernel/kprobe_support.h"
#include "agent/kernel/rootfs_pathops.h"
#include "rootfs.skel.h"

#define ROOTFS_MAX_LINKS 64

struct rootfs_loaded {
    struct rootfs_bpf *skel;
    bool open_tails; /* the tracepoint open exits tail-call eg_open_tails (bpf/rootfs.bpf.c) */
    int n_links;
    int n_programs; /* with at least one link: the tracepoints' path-op program has many */
    struct bpf_link *links[ROOTFS_MAX_LINKS];
};

/*
 * GROUP_VERDICT: the LSM hooks where the kernel decides whether a path-only operation's name is
 * on the root filesystem (bpf/rootfs.bpf.c); fentry, or kprobes with the tracepoints (a kernel
 * that cannot attach fentry may still run kprobes: arm64 before 6.4).
 * GROUP_ESCAPE: escape techniques this object attaches for (a connect to a host socket;
 * /proc/<pid>/exe opened, fentry only). GROUP_MOUNT: where a file system is set up for a mount
 * and where the new mount API attaches one (block mounts, the tmpfs a container made),
 * functions only: fentry, or kprobes with the tracepoints. GROUP_EXEC_START:
 * the file an exec starts from, for a #! script written in the container (fentry or kprobe).
 */
enum prog_group {
    GROUP_OPEN,
    GROUP_PATHOP,
    GROUP_MMAP,
    GROUP_VERDICT,
    GROUP_ESCAPE,
    GROUP_EXEC_START,
    GROUP_MOUNT,
    GROUPS
};
static const char *const group_attach[2][GROUPS] = {
    {
        "tracepoint/syscalls/sys_exit_open*,creat",
        "tracepoint/syscalls/sys_exit_<path and fd ops>",
        "tracepoint/syscalls/sys_enter_mmap,mprotect",
        "kprobe/security_inode_<path ops> (where a name lands)",
        "tracepoint/syscalls/sys_exit_connect (host sockets)",
        "kprobe/security_bprm_creds_for_exec (#! scripts)",
        "kprobe/vfs_create_mount,path_mount,security_move_mount (file systems mounted)",
    },
    {
        "fexit/<arch>_sys_open*,creat",
        "fexit/<arch>_sys_<path and fd ops>",
        "fentry/security_mmap_file,security_file_mprotect",
        "fentry/security_inode_<path ops> (where a name lands)",
        "fentry/security_unix_stream_connect,fexit/get_task_exe_file,proc_fd_link,"
        "map_files_get_link (host sockets, runtime executables)",
        "fentry/security_bprm_creds_for_exec (#! scripts)",
        "fexit/vfs_get_tree,fentry/path_mount,security_move_mount (file systems mounted)",
    },
};

/* A program on a syscall's function rather than on its tracepoint. */
static bool is_fentry_section(const char *sec)
{
    return strncmp(sec, "fentry/", 7) == 0 || strncmp(sec, "fexit/", 6) == 0;
}

/*
 * The kprobe twins of the function hooks, loaded with the tracepoints. No fallback without
 * them at load: a kernel that loads the tracepoint programs loads these (both program types
 * come with CONFIG_BPF_EVENTS and are offered the same helpers); what a kernel can refuse is
 * their attachment (kprobes off: this project's 6.18 host, ENOENT), reported per group and
 * leaving the tracepoints in place.
 */
static bool is_kprobe_section(const char *sec)
{
    return strncmp(sec, "kprobe/", 7) == 0;
}

/*
 * The syscall a program watches: "tracepoint/syscalls/sys_exit_rename" or
 * "fexit/__x64_sys_rename" -> "rename".
 */
static const char *syscall_of(const char *sec)
{
    /* mprotect's fentry is on the LSM hook it calls per VMA, mmap's on the one every file
     * mapping goes through (bpf/rootfs.bpf.c). */
    if (strstr(sec, "_file_mprotect"))
        return "mprotect";
    if (strstr(sec, "security_mmap_file"))
        return "mmap";
    /* The host-socket check: connect(2)'s exit, or the LSM hook the connect calls. */
    if (strstr(sec, "security_unix_stream_connect"))
        return "connect";
    /* The block-device mount check: where mount(2) and fsconfig set a file system up. */
    if (strstr(sec, "vfs_get_tree") || strstr(sec, "vfs_create_mount") ||
        strstr(sec, "path_mount") || strstr(sec, "security_move_mount"))
        return "mount";
    /* /proc/<pid>/exe opened (another process's executable). */
    if (strstr(sec, "get_task_exe_file"))
        return "exe-link";
    /* /proc/<pid>/fd/N and /proc/<pid>/map_files/<range> followed to an executable. */
    if (strstr(sec, "proc_fd_link"))
        return "fd-link";
    if (strstr(sec, "map_files_get_link"))
        return "map-files-link";
    /* Where an exec starts, for #! scripts. */
    if (strstr(sec, "security_bprm_creds_for_exec"))
        return "execve";
    const char *hook = strstr(sec, "security_inode_");
    if (hook)
        return hook + 15;
    const char *p = strstr(sec, "sys_exit_");
    if (p)
        return p + 9;
    if ((p = strstr(sec, "sys_enter_")))
        return p + 10;
    p = strstr(sec, "_sys_");
    return p ? p + 5 : sec;
}

static enum prog_group group_of(const char *sec)
{
    if (strstr(sec, "security_inode_"))
        return GROUP_VERDICT;
    const char *sys = syscall_of(sec);
    if (strcmp(sys, "mount") == 0)
        return GROUP_MOUNT;
    if (strcmp(sys, "connect") == 0 || strstr(sys, "-link"))
        return GROUP_ESCAPE;
    if (strcmp(sys, "execve") == 0)
        return GROUP_EXEC_START;
    if (strcmp(sys, "mmap") == 0 || strcmp(sys, "mprotect") == 0)
        return GROUP_MMAP;
    if (strncmp(sys, "open", 4) == 0 || strcmp(sys, "creat") == 0)
        return GROUP_OPEN;
    return GROUP_PATHOP;
}

/* What one load left out: the syscalls whose function this kernel's BTF lacks (fentry). */
struct rootfs_absent {
    int n[GROUPS];
    char names[GROUPS][120];
    /* Why the kprobe twins were not loaded (the kernel offers no kprobes); empty: loaded. */
    char no_kprobes[160];
};

static void note_absent(struct rootfs_absent *a, enum prog_group g, const char *sys)
{
    size_t used = strlen(a->names[g]);
    a->n[g]++;
    snprintf(a->names[g] + used, sizeof(a->names[g]) - used, "%s%s", used ? "," : "", sys);
}

static void detach_rootfs(void *p)
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
}

static void unload_rootfs(void *p)
{
    struct rootfs_loaded *l = p;
    if (!l)
        return;
    detach_rootfs(l);
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

/*
 * The bits FMODE_BACKING can be on the running kernel (a file a stacking filesystem opened for
 * its user: what an overlayfs mapping holds since 6.6): bit 25 in 6.6-6.13 upstream, bit 24
 * since 6.14 and in stable kernels that took that change (Debian's 6.12.118), none before. The
 * mprotect program reads the user's path through it and checks what it finds
 * (bpf/rootfs.bpf.c).
 */
static uint32_t fmode_backing_bits(void)
{
    struct utsname u;
    unsigned major = 0, minor = 0;
    if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
        return 0;
    unsigned v = major * 1000 + minor;
    return v < 6006 ? 0 : (1u << 24) | (1u << 25);
}

/*
 * A verdict hook built for one argument layout ("..._a0", "..._a1": the dentry's position,
 * after an id-mapping argument on newer kernels): true when the kernel's function has a
 * `struct dentry *` there. Programs of other names are not layout variants: true.
 */
static bool layout_matches(const struct btf *btf, const char *fn, const char *prog_name)
{
    if (strncmp(prog_name, "eg_rootfs_verdict_", 18) != 0)
        return true;
    const char *a = strstr(prog_name + 18, "_a");
    while (a && !((a[2] == '0' || a[2] == '1') && (a[3] == '\0' || strcmp(a + 3, "_lg") == 0)))
        a = strstr(a + 2, "_a");
    if (!a)
        return true;
    const struct btf_type *to =
        eg_bpf_btf_param_pointee(btf, eg_bpf_btf_fn_proto(btf, fn), a[2] - '0');
    const char *name = to ? btf__name_by_offset(btf, to->name_off) : NULL;
    return to && btf_is_struct(to) && name && strcmp(name, "dentry") == 0;
}

/*
 * The /proc link programs are built for (dentry, path, task): their return value is read after
 * the third argument, so on a kernel whose function has another prototype they are absent
 * rather than failing the whole object. Other programs: true.
 */
static bool link_prototype_matches(const struct btf *btf, const char *fn, const char *prog_name)
{
    if (strncmp(prog_name, "eg_rootfs_fd_link", 17) != 0 &&
        strncmp(prog_name, "eg_rootfs_map_files_link", 24) != 0)
        return true;
    const struct btf_type *proto = eg_bpf_btf_fn_proto(btf, fn);
    const struct btf_type *to = proto ? eg_bpf_btf_param_pointee(btf, proto, 2) : NULL;
    const char *name = to ? btf__name_by_offset(btf, to->name_off) : NULL;
    return proto && btf_vlen(proto) == 3 && to && btf_is_struct(to) && name &&
           strcmp(name, "task_struct") == 0;
}

/* The error of the last failed open_and_load (a negative errno). */
static int last_load_error;

/*
 * Open and load the object with one attachment's and one flavour's programs; NULL and *why on
 * failure (the error in last_load_error). A fentry program whose function the kernel's BTF lacks is
 * not loaded (it would fail the whole object): it is noted in *absent. So is one whose
 * registers argument BTF only declares, except the legacy fexit twins, which do not read it
 * (EG_FEXIT_SYSCALL_REGS, bpf/task.bpf.h).
 */
static struct rootfs_bpf *open_and_load(struct eg_bpf *b, const struct eg_bpf_options *opt,
                                        const struct btf *vmlinux, bool fentry, bool cast,
                                        bool legacy, struct rootfs_absent *absent, char *why,
                                        size_t whylen)
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
    memset(absent, 0, sizeof(*absent));
    /*
     * The kprobe twins only where the kernel offers kprobes: one that cannot attach them
     * (this project's 6.18 host) verified all of them at every start for nothing.
     */
    if (!fentry)
        eg_kprobes_offered("/sys", absent->no_kprobes, sizeof(absent->no_kprobes));
    bpf_object__for_each_program(prog, skel->obj)
    {
        const char *sec = bpf_program__section_name(prog);
        if (is_fentry_section(sec) != fentry || (absent->no_kprobes[0] && is_kprobe_section(sec))) {
            bpf_program__set_autoload(prog, false);
            continue;
        }
        if (!(fentry || is_kprobe_section(sec)) || !bpf_program__autoload(prog))
            continue;
        const char *fn = strchr(sec, '/') + 1;
        if (!layout_matches(vmlinux, fn, bpf_program__name(prog))) {
            /* The other layout's program is the one for this kernel. */
            bpf_program__set_autoload(prog, false);
            continue;
        }
        if ((legacy && strncmp(sec, "fexit/", 6) == 0 ? eg_bpf_btf_has(vmlinux, fn, BTF_KIND_FUNC)
                                                      : eg_bpf_btf_fn_args_defined(vmlinux, fn)) &&
            link_prototype_matches(vmlinux, fn, bpf_program__name(prog)))
            continue;
        bpf_program__set_autoload(prog, false);
        /* One note per syscall: the twins ("_lg") follow their fast program. */
        const char *name = bpf_program__name(prog);
        size_t n = strlen(name);
        if (n <= 3 || strcmp(name + n - 3, "_lg") != 0)
            note_absent(absent, group_of(sec), syscall_of(sec));
    }
    eg_bpf_select_legacy(skel->obj, legacy);
    EG_BPF_SET_COMMON_RODATA(skel, b, opt);
    /* The tracepoints' path-op program finds each syscall's arguments here. */
    for (size_t i = 0; i < eg_rootfs_pathop_syscall_count; i++) {
        const struct eg_rootfs_pathop_syscall *ps = &eg_rootfs_pathop_syscalls[i];
        if (ps->nr >= 0 && ps->nr < EG_PATHOP_NR_LIMIT)
            skel->rodata->eg_pathop_syscalls[ps->nr] = ps->layout;
    }
    skel->rodata->eg_fmode_backing = fmode_backing_bits();
    skel->rodata->eg_open_tail_calls = !fentry && b->subprog_tail_calls;
    eg_bpf_share_maps(b, skel->obj);
    int err = rootfs_bpf__load(skel);
    if (err) {
        last_load_error = err;
        eg_bpf_errno_text(err, why, whylen);
        rootfs_bpf__destroy(skel);
        return NULL;
    }
    return skel;
}

/*
 * Load one attachment (fentry or the tracepoints) in the flavour chosen for this kernel, with
 * the flavour fallbacks: a cast set the kernel refuses -> probe-read; fast programs refused for
 * another helper -> legacy twins (tracepoints only: fentry refused that way goes to the
 * tracepoints). NULL with the last reason in `why`.
 */
static struct rootfs_bpf *load_attachment(struct eg_bpf *b, const struct eg_bpf_options *opt,
                                          const struct btf *vmlinux, bool fentry,
                                          const char *forced, bool *cast, bool *legacy,
                                          struct rootfs_absent *absent, struct eg_hook_report *r,
                                          char *why, size_t whylen)
{
    const char *attach = group_attach[fentry][GROUP_OPEN];
    struct rootfs_bpf *skel =
        open_and_load(b, opt, vmlinux, fentry, *cast, *legacy, absent, why, whylen);
    /* EPERM on fentry: the kernel refuses the attachment itself, whatever the flavour. */
    bool attach_refused = fentry && (last_load_error == -EPERM || last_load_error == EPERM);
    if (!skel && *cast && !forced && !attach_refused) {
        /* A kernel can list the kfunc yet refuse it to tracing programs. */
        char attempt[200];
        snprintf(attempt, sizeof(attempt), "%s: bpf_rdonly_cast refused (%s): probe-read", attach,
                 why);
        eg_bpf_hook_attempt(r, "kfunc/bpf_rdonly_cast", attempt);
        *cast = false;
        skel = open_and_load(b, opt, vmlinux, fentry, *cast, *legacy, absent, why, whylen);
    }
    if (!skel && !fentry && !*legacy && !forced) {
        /* Refused for another helper of the fast programs: the legacy twins. */
        char attempt[200];
        snprintf(attempt, sizeof(attempt), "refused (%s): legacy task access instead", why);
        eg_bpf_hook_attempt(r, "task access", attempt);
        *cast = false;
        *legacy = true;
        skel = open_and_load(b, opt, vmlinux, fentry, *cast, *legacy, absent, why, whylen);
    }
    return skel;
}

/* The tracepoints' one path-op program (either flavour), attached to every such exit. */
static bool is_pathops_program(const struct bpf_program *prog)
{
    return strncmp(bpf_program__name(prog), "eg_rootfs_exit_pathops", 22) == 0;
}

/*
 * Attach the path-op program to each path-only and fd syscall's exit, counting each syscall
 * as the per-syscall programs of the function attachment are counted; the names of the
 * missing ones (no such tracepoint: fchmodat2 before 6.6) are added to `missing`.
 */
static void attach_pathops(struct rootfs_loaded *l, struct bpf_program *prog, int *attached,
                           int *total, int *error, char *missing, size_t missing_len)
{
    for (size_t i = 0; i < eg_rootfs_pathop_syscall_count; i++) {
        const struct eg_rootfs_pathop_syscall *ps = &eg_rootfs_pathop_syscalls[i];
        char tp[64];
        snprintf(tp, sizeof(tp), "sys_exit_%s", ps->name);
        (*total)++;
        struct bpf_link *link = NULL;
        if (ps->nr < 0 || ps->nr >= EG_PATHOP_NR_LIMIT)
            errno = ERANGE; /* no layout for it in the program's table */
        else if (l->n_links < ROOTFS_MAX_LINKS)
            link = bpf_program__attach_tracepoint(prog, "syscalls", tp);
        else
            errno = ENOSPC;
        if (link) {
            l->links[l->n_links++] = link;
            (*attached)++;
            continue;
        }
        *error = errno;
        size_t used = strlen(missing);
        snprintf(missing + used, missing_len - used, "%s%s", used ? "," : "", ps->name);
    }
}

/*
 * Attach every loaded program of l->skel and report each group. False when openat's program did
 * not attach (the concern is no use without it); the links made stay in l for the caller.
 */
static bool attach_programs(struct rootfs_loaded *l, bool fentry,
                            const struct rootfs_absent *absent, struct eg_hook_report *r,
                            int *verdicts_attached)
{
    char why[160];
    int attached[GROUPS] = {0}, total[GROUPS] = {0}, error[GROUPS] = {0};
    char missing[GROUPS][120] = {{0}};
    for (int g = 0; g < GROUPS; g++) {
        total[g] = absent->n[g];
        snprintf(missing[g], sizeof(missing[g]), "%s", absent->names[g]);
    }
    bool openat_ok = false;
    struct bpf_program *prog;
    bpf_object__for_each_program(prog, l->skel->obj)
    {
        if (!bpf_program__autoload(prog))
            continue; /* the other flavour or attachment */
        if (is_pathops_program(prog)) {
            int before = l->n_links;
            attach_pathops(l, prog, &attached[GROUP_PATHOP], &total[GROUP_PATHOP],
                           &error[GROUP_PATHOP], missing[GROUP_PATHOP],
                           sizeof(missing[GROUP_PATHOP]));
            l->n_programs += l->n_links > before;
            continue;
        }
        const char *sec = bpf_program__section_name(prog);
        enum prog_group g = group_of(sec);
        total[g]++;
        struct bpf_link *link = l->n_links < ROOTFS_MAX_LINKS ? bpf_program__attach(prog) : NULL;
        if (link) {
            l->links[l->n_links++] = link;
            l->n_programs++;
            attached[g]++;
            if (strcmp(syscall_of(sec), "openat") == 0)
                openat_ok = true;
            continue;
        }
        error[g] = errno;
        size_t used = strlen(missing[g]);
        snprintf(missing[g] + used, sizeof(missing[g]) - used, "%s%s", used ? "," : "",
                 syscall_of(sec));
    }
    /*
     * The report's last line says how the concern ended (bpf_loader.h): with the tracepoints,
     * the kprobe twins, best effort and refused outright by some kernels, are reported first.
     */
    static const enum prog_group order[2][GROUPS] = {
        {GROUP_VERDICT, GROUP_EXEC_START, GROUP_MOUNT, GROUP_OPEN, GROUP_PATHOP, GROUP_MMAP,
         GROUP_ESCAPE},
        {GROUP_OPEN, GROUP_PATHOP, GROUP_MMAP, GROUP_VERDICT, GROUP_MOUNT, GROUP_ESCAPE,
         GROUP_EXEC_START},
    };
    for (int i = 0; i < GROUPS; i++) {
        enum prog_group g = order[fentry][i];
        if (!fentry && absent->no_kprobes[0] && strncmp(group_attach[fentry][g], "kprobe/", 7) == 0)
            snprintf(why, sizeof(why), "not loaded: %.140s", absent->no_kprobes);
        else if (attached[g] == total[g])
            snprintf(why, sizeof(why), "ok");
        else if (!attached[g] && error[g]) {
            /* None: the kernel refuses the attachment (kprobes on this project's 6.18 host). */
            char err[64];
            eg_bpf_errno_text(-error[g], err, sizeof(err));
            snprintf(why, sizeof(why), "0 of %d attached (%s)", total[g], err);
        } else
            /* The report line is short: name as many missing syscalls as fit. */
            snprintf(why, sizeof(why), "%s%d of %d attached; missing: %.100s",
                     attached[g] ? "ok: " : "", attached[g], total[g], missing[g]);
        eg_bpf_hook_attempt(r, group_attach[fentry][g], why);
    }
    *verdicts_attached = attached[GROUP_VERDICT];
    return openat_ok;
}

/* Drops the links and programs of an attachment that did not work, keeping l for another. */
static void drop_attachment(struct rootfs_loaded *l)
{
    detach_rootfs(l);
    rootfs_bpf__destroy(l->skel);
    l->skel = NULL;
    l->n_links = 0;
    l->n_programs = 0;
}

/* Before the tracepoint attachment loads: whether its open exits can tail-call. */
static void note_open_tails(const struct eg_bpf *b, struct eg_hook_report *r)
{
    eg_bpf_hook_attempt(r, "tail call from the open exits",
                        b->subprog_tail_calls ? "ok: the host-namespace open check runs from them"
                                              : b->subprog_tail_calls_why);
}

static int load_rootfs(struct eg_bpf *b, const struct eg_bpf_options *opt,
                       const struct btf *vmlinux, struct eg_hook_report *r, void **skel)
{
    char why[160];
    struct rootfs_loaded *l = calloc(1, sizeof(*l));
    if (!l) {
        eg_bpf_hook_attempt(r, group_attach[0][GROUP_OPEN], "out of memory");
        return -1;
    }
    const char *forced = eg_bpf_forced(opt, EG_ROOTFS_HOOK);
    /* --hook rootfsWrites=fentry|syscalls forces the attachment, the others the flavour. */
    bool attach_forced =
        forced && (strcmp(forced, "fentry") == 0 || strcmp(forced, "syscalls") == 0);
    const char *flavour_forced = attach_forced ? NULL : forced;
    /* Legacy task access reads file fields by probe-read too (no bpf_rdonly_cast before 6.2). */
    bool legacy = (flavour_forced && strcmp(flavour_forced, "legacy") == 0) ||
                  !eg_bpf_fast_flavour_usable(b, EG_HELPERS_ALL, flavour_forced, "task access", r);
    bool probe_read = opt->probe_read_file_fields || legacy ||
                      (flavour_forced && strcmp(flavour_forced, "probe-read") == 0);
    bool has_cast = eg_bpf_btf_has(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC);
    bool cast = !probe_read && has_cast;
    if (legacy)
        eg_bpf_hook_attempt(r, "kfunc/bpf_rdonly_cast",
                            "not used (legacy task access): file fields by probe-read");
    else if (probe_read)
        eg_bpf_hook_attempt(r, "kfunc/bpf_rdonly_cast",
                            "not used (--bpf-file-reads probe-read): file fields by probe-read");
    else if (!cast && flavour_forced) {
        eg_bpf_hook_attempt(r, "kfunc/bpf_rdonly_cast", "not in this kernel");
        free(l);
        return -1;
    } else if (!cast)
        eg_bpf_hook_attempt(r, "kfunc/bpf_rdonly_cast",
                            "not in this kernel: file fields by probe-read");

    struct rootfs_absent absent;
    bool fentry = !(forced && strcmp(forced, "syscalls") == 0);
    bool cast0 = cast, legacy0 = legacy;
    if (!fentry)
        note_open_tails(b, r);
    l->skel = load_attachment(b, opt, vmlinux, fentry, flavour_forced, &cast, &legacy, &absent, r,
                              why, sizeof(why));
    int verdicts = 0;
    bool attached = l->skel && attach_programs(l, fentry, &absent, r, &verdicts);
    if (!attached && fentry && !attach_forced) {
        /* Refused at load, or loaded and then not attached: arm64 kernels before 6.4 have BPF
         * trampolines but no ftrace direct calls, so the function programs load and every
         * attachment fails (ENOTSUPP). */
        if (l->skel) {
            drop_attachment(l);
            snprintf(why, sizeof(why), "openat's program not attached");
        }
        char attempt[200];
        snprintf(attempt, sizeof(attempt), "%s: syscall tracepoints instead", why);
        eg_bpf_hook_attempt(r, group_attach[1][GROUP_OPEN], attempt);
        fentry = false;
        cast = cast0;
        legacy = legacy0;
        note_open_tails(b, r);
        l->skel = load_attachment(b, opt, vmlinux, fentry, flavour_forced, &cast, &legacy, &absent,
                                  r, why, sizeof(why));
        attached = l->skel && attach_programs(l, fentry, &absent, r, &verdicts);
    }
    if (!l->skel) {
        eg_bpf_hook_attempt(r, group_attach[fentry][GROUP_OPEN], why);
        free(l);
        return -1;
    }
    if (!attached) {
        unload_rootfs(l);
        return -1;
    }
    l->open_tails = !fentry && b->subprog_tail_calls;
    char count[48];
    if (l->n_links == l->n_programs)
        snprintf(count, sizeof(count), "%d programs", l->n_programs);
    else
        snprintf(count, sizeof(count), "%d programs on %d hooks", l->n_programs, l->n_links);
    snprintf(r->chosen, sizeof(r->chosen), "%s (%.40s%s%s%s)",
             fentry ? "fentry+fexit/syscall functions" : "tracepoint/syscalls", count,
             cast ? ", bpf_rdonly_cast" : ", probe-read", legacy ? ", legacy task access" : "",
             !fentry && verdicts ? ", kprobe verdicts" : "");
    *skel = l;
    return 0;
}

/*
 * --hook rootfsWrites=NAME: how the programs read file fields (legacy: and the task), the
 * attachment by probing; or the attachment (fentry, syscalls), the flavour by probing.
 */
static const char *const rootfs_variants[] = {"cast",   "probe-read", "legacy",
                                              "fentry", "syscalls",   NULL};

const struct eg_bpf_concern eg_bpf_rootfs_concern = {
    .hook = EG_ROOTFS_HOOK,
    .essential = false,
    .variants = rootfs_variants,
    .load = load_rootfs,
    .detach = detach_rootfs,
    .unload = unload_rootfs,
    .object_bytes = rootfs_bpf__elf_bytes,
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

int eg_bpf_rootfs_open_tails_fd(const struct eg_bpf *b)
{
    struct rootfs_loaded *l = b ? eg_bpf_skeleton(b, EG_ROOTFS_HOOK) : NULL;
    return l && l->open_tails ? bpf_map__fd(l->skel->maps.eg_open_tails) : -1;
}
