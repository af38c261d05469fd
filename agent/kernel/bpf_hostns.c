/*
 * Host namespace entry and process access (bpf/hostns.bpf.c): setns, ptrace,
 * process_vm_writev, the kill family and opens of /proc/<pid>/mem. Preferred:
 * fentry/fexit on the syscalls' functions and on mem_open, which leaves every
 * other syscall of the host alone; else the syscall tracepoints (whose mere
 * attachment puts every syscall of every task through the tracing slow path).
 * Not essential: without it the agent still reports everything else, and the
 * probe report says why it is missing. The legacy task-access twins
 * (bpf/task.bpf.h) load where the fast programs cannot (5.10).
 */
#include "agent/kernel/link_detach.h"
#include "agent/kernel/bpf_hostns.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "agent/common/log.h"
#include "agent/kernel/bpf_rootfs.h"
#include "hostns.skel.h"

#define HOSTNS_HOOK "hostNamespaces"
#define HOSTNS_ATTACH "tracepoint/syscalls"
#define HOSTNS_ATTACH_FENTRY "fentry+fexit/syscall functions, mem_open"
#define TRACEFS_SYSCALLS "/sys/kernel/tracing/events/syscalls"

int eg_hostns_read_host_ns(const char *proc_root, uint32_t host_pid, struct eg_host_ns *out)
{
    static const char *const names[EG_HOST_NS_KINDS] = {"mnt", "pid", "net",
                                                        "uts", "ipc", "cgroup"};
    /*
     * The host process's first (PID 1 unless --host-ns-pid says otherwise): deployed as an ECS
     * daemon (host pid namespace, host network), the agent runs in a mount, UTS, IPC and cgroup
     * namespace of its own container, and only the host's init holds the host's. Its own where PID
     * 1's cannot be read (a sandbox without CAP_SYS_PTRACE) or where PID 1 is its own container's
     * init (no host pid namespace): then the two are the same or nothing better is known.
     */
    char pid[16];
    snprintf(pid, sizeof(pid), "%u", host_pid ? host_pid : 1);
    const char *const owners[] = {pid, "self"};
    memset(out, 0, sizeof(*out));
    int found = 0;
    for (int i = 0; i < EG_HOST_NS_KINDS; i++) {
        for (size_t o = 0; o < sizeof(owners) / sizeof(owners[0]); o++) {
            char path[512];
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s/ns/%s", proc_root, owners[o], names[i]);
            if (stat(path, &st) == 0) {
                out->inum[i] = (uint32_t)st.st_ino;
                found++;
                break;
            }
        }
    }
    return found;
}

/*
 * One program per tracepoint; a kernel without one of them loads the rest. The fentry programs
 * (named "<tracepoint program>_fn" where there is one) by the kernel function they hook, whose
 * name the skeleton's section holds: a kernel whose BTF lacks one loads the rest.
 */
#define PROG(name) offsetof(struct hostns_bpf, progs.name)
static const struct {
    const char *event; /* under events/syscalls */
    size_t prog_offset;
    bool open_exit; /* left out where the root filesystem concern's open exits tail-call */
} hostns_progs[] = {
    {"sys_enter_setns", PROG(eg_setns_enter), false},
    {"sys_exit_setns", PROG(eg_setns_exit), false},
    {"sys_enter_ptrace", PROG(eg_ptrace_enter), false},
    {"sys_enter_process_vm_writev", PROG(eg_vm_writev_enter), false},
    {"sys_enter_kill", PROG(eg_kill_enter), false},
    {"sys_enter_tkill", PROG(eg_tkill_enter), false},
    {"sys_enter_tgkill", PROG(eg_tgkill_enter), false},
    {"sys_enter_pidfd_send_signal", PROG(eg_pidfd_signal_enter), false},
    {"sys_exit_openat", PROG(eg_openat_exit), true},
    {"sys_exit_openat2", PROG(eg_openat2_exit), true},
    {"sys_exit_open", PROG(eg_open_exit), true},   /* x86_64 */
    {"sys_exit_creat", PROG(eg_creat_exit), true}, /* x86_64 */
};
#define HOSTNS_PROGS (sizeof(hostns_progs) / sizeof(hostns_progs[0]))
static const size_t hostns_fentry_progs[] = {
    PROG(eg_setns_enter_fn),     PROG(eg_setns_exit_fn),         PROG(eg_ptrace_enter_fn),
    PROG(eg_vm_writev_enter_fn), PROG(eg_kill_enter_fn),         PROG(eg_tkill_enter_fn),
    PROG(eg_tgkill_enter_fn),    PROG(eg_pidfd_signal_enter_fn), PROG(eg_mem_open_fn),
};
#define HOSTNS_FENTRY_PROGS (sizeof(hostns_fentry_progs) / sizeof(hostns_fentry_progs[0]))

static struct bpf_program *prog_at(struct hostns_bpf *s, size_t offset)
{
    return *(struct bpf_program **)((char *)s + offset);
}

/* "fentry/__x64_sys_setns" -> "__x64_sys_setns" */
static const char *fentry_target(struct bpf_program *p)
{
    const char *sec = bpf_program__section_name(p);
    const char *slash = strchr(sec, '/');
    return slash ? slash + 1 : sec;
}

static bool tracepoint_exists(const char *event)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", TRACEFS_SYSCALLS, event);
    return stat(path, &st) == 0;
}

/*
 * --hook hostNamespaces=NAME, in order of preference: the fast programs before their legacy
 * twins, fentry before the syscall tracepoints within each. On 5.10 (no fast helpers) that is
 * fentry-legacy; where fentry is refused (this project's 6.18 development host), syscalls.
 */
enum hostns_variant { HOSTNS_FENTRY, HOSTNS_SYSCALLS, HOSTNS_FENTRY_LG, HOSTNS_SYSCALLS_LG };
static const char *const hostns_variants[] = {"fentry", "syscalls", "fentry-legacy", "legacy",
                                              NULL};

static void note_missing(char *missing, size_t missing_len, size_t *used, const char *what)
{
    if (*used >= missing_len)
        return;
    int w = snprintf(missing + *used, missing_len - *used, "%s%s", *used ? "," : "", what);
    *used += w > 0 ? (size_t)w : 0;
}

/*
 * Autoload the programs of one attachment whose hook this kernel has; how many. A syscall
 * function whose registers argument BTF only declares is there for the legacy twins, which do
 * not read it (EG_FEXIT_SYSCALL_REGS), and absent for the fast programs, which do.
 */
static int choose_programs(struct hostns_bpf *s, const struct btf *vmlinux, bool fentry,
                           bool legacy, bool tails, char *missing, size_t missing_len)
{
    size_t used = 0;
    int n_loaded = 0;
    missing[0] = '\0';
    /* Loaded to be tail-called, never attached (bpf/hostns.bpf.c). */
    struct bpf_program *const tail[] = {s->progs.eg_proc_mem_tail, s->progs.eg_proc_mem_tail_cast,
                                        s->progs.eg_proc_mem_tail_lg};
    for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
        bpf_program__set_autoload(tail[i], !fentry && tails);
        bpf_program__set_autoattach(tail[i], false);
    }
    for (size_t i = 0; i < HOSTNS_PROGS; i++) {
        struct bpf_program *p = prog_at(s, hostns_progs[i].prog_offset);
        if (!fentry && tails && hostns_progs[i].open_exit) {
            bpf_program__set_autoload(p, false);
            continue;
        }
        bool present = !fentry && tracepoint_exists(hostns_progs[i].event);
        bpf_program__set_autoload(p, present);
        n_loaded += present;
        if (!fentry && !present)
            note_missing(missing, missing_len, &used, hostns_progs[i].event);
    }
    for (size_t i = 0; i < HOSTNS_FENTRY_PROGS; i++) {
        struct bpf_program *p = prog_at(s, hostns_fentry_progs[i]);
        const char *fn = fentry_target(p);
        bool present = fentry && (legacy ? eg_bpf_btf_has(vmlinux, fn, BTF_KIND_FUNC)
                                         : eg_bpf_btf_fn_args_defined(vmlinux, fn));
        bpf_program__set_autoload(p, present);
        n_loaded += present;
        if (fentry && !present)
            note_missing(missing, missing_len, &used, fn);
    }
    return n_loaded;
}

/*
 * The open exits' bpf_rdonly_cast twins in place of the probe-read programs where `cast`:
 * the file's fields as direct loads (bpf/hostns.bpf.c, proc_mem_open).
 */
static void select_cast(struct hostns_bpf *s, bool cast)
{
    struct bpf_program *const plain[] = {s->progs.eg_openat_exit, s->progs.eg_openat2_exit,
                                         s->progs.eg_open_exit, s->progs.eg_creat_exit,
                                         s->progs.eg_proc_mem_tail};
    struct bpf_program *const twin[] = {s->progs.eg_openat_exit_cast, s->progs.eg_openat2_exit_cast,
                                        s->progs.eg_open_exit_cast, s->progs.eg_creat_exit_cast,
                                        s->progs.eg_proc_mem_tail_cast};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        bool wanted = bpf_program__autoload(plain[i]);
        bpf_program__set_autoload(twin[i], wanted && cast);
        bpf_program__set_autoload(plain[i], wanted && !cast);
    }
}

/*
 * Put the loaded open check (whichever flavour) in slot 0 of the root filesystem concern's
 * open-exit program array; 0 or a negative errno.
 */
static int install_tail(struct hostns_bpf *s, int tails_fd)
{
    struct bpf_program *const tail[] = {s->progs.eg_proc_mem_tail, s->progs.eg_proc_mem_tail_cast,
                                        s->progs.eg_proc_mem_tail_lg};
    for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
        if (!bpf_program__autoload(tail[i]))
            continue;
        __u32 key = 0;
        int fd = bpf_program__fd(tail[i]);
        return bpf_map_update_elem(tails_fd, &key, &fd, BPF_ANY) == 0 ? 0 : -errno;
    }
    return -ENOENT;
}

/*
 * Open, load and attach one flavour; NULL with the reason in `why`. `tails_fd` >= 0: the open
 * check goes into the root filesystem concern's program array instead of on the open exits.
 */
static struct hostns_bpf *try_flavour(struct eg_bpf *b, const struct eg_bpf_options *opt,
                                      const struct btf *vmlinux, const struct eg_host_ns *host,
                                      bool fentry, bool legacy, bool cast, int tails_fd,
                                      char *missing, size_t missing_len, char *why, size_t whylen)
{
    struct hostns_bpf *s = hostns_bpf__open();
    if (!s) {
        eg_bpf_errno_text(errno, why, whylen);
        return NULL;
    }
    if (choose_programs(s, vmlinux, fentry, legacy, tails_fd >= 0, missing, missing_len) == 0) {
        snprintf(why, whylen,
                 fentry ? "none of the hooked functions in kernel BTF"
                        : "no syscall tracepoints in tracefs");
        hostns_bpf__destroy(s);
        return NULL;
    }
    eg_bpf_select_legacy(s->obj, legacy);
    select_cast(s, cast);
    EG_BPF_SET_COMMON_RODATA(s, b, opt);
    s->rodata->eg_host_mnt_ns = host->inum[EG_HOST_NS_MNT];
    s->rodata->eg_host_pid_ns = host->inum[EG_HOST_NS_PID];
    s->rodata->eg_host_net_ns = host->inum[EG_HOST_NS_NET];
    s->rodata->eg_host_uts_ns = host->inum[EG_HOST_NS_UTS];
    s->rodata->eg_host_ipc_ns = host->inum[EG_HOST_NS_IPC];
    s->rodata->eg_host_cgroup_ns = host->inum[EG_HOST_NS_CGROUP];
    eg_bpf_share_maps(b, s->obj);
    int err = hostns_bpf__load(s);
    bool tail_installed = false;
    if (!err && !fentry && tails_fd >= 0) {
        err = install_tail(s, tails_fd);
        tail_installed = err == 0;
    }
    if (!err)
        err = hostns_bpf__attach(s);
    if (err) {
        if (tail_installed) {
            /* The array keeps its program alive: a concern that failed must not run. */
            __u32 key = 0;
            bpf_map_delete_elem(tails_fd, &key);
        }
        eg_bpf_errno_text(err, why, whylen);
        hostns_bpf__destroy(s);
        return NULL;
    }
    return s;
}

static int load_hostns(struct eg_bpf *b, const struct eg_bpf_options *opt,
                       const struct btf *vmlinux, struct eg_hook_report *r, void **skel)
{
    struct eg_host_ns host;
    if (eg_hostns_read_host_ns("/proc", opt->host_ns_pid, &host) < EG_HOST_NS_KINDS)
        eg_log_warn("cannot read every namespace in /proc/1/ns or /proc/self/ns: entering "
                    "those host namespaces is not detected");
    const char *forced = eg_bpf_forced(opt, HOSTNS_HOOK);
    static const char *const attaches[] = {
        [HOSTNS_FENTRY] = HOSTNS_ATTACH_FENTRY,
        [HOSTNS_SYSCALLS] = HOSTNS_ATTACH,
        [HOSTNS_FENTRY_LG] = HOSTNS_ATTACH_FENTRY EG_BPF_LEGACY_SUFFIX,
        [HOSTNS_SYSCALLS_LG] = HOSTNS_ATTACH EG_BPF_LEGACY_SUFFIX,
    };
    for (int v = 0; hostns_variants[v]; v++) {
        bool legacy = v == HOSTNS_FENTRY_LG || v == HOSTNS_SYSCALLS_LG;
        bool fentry = v == HOSTNS_FENTRY || v == HOSTNS_FENTRY_LG;
        const char *attach = attaches[v];
        if (forced && strcmp(forced, hostns_variants[v]) != 0)
            continue;
        if (!legacy && !eg_bpf_fast_flavour_usable(b, EG_HELPERS_ALL, forced, attach, r))
            continue;
        char why[160], missing[160];
        /*
         * The open exits read the file's fields through bpf_rdonly_cast where the kernel has
         * it (6.2+; the fentry attachment hooks mem_open and reads no file on other opens).
         * A kernel can list the kfunc yet refuse it to these programs: then probe-read.
         */
        bool cast = !fentry && !legacy && eg_bpf_btf_has(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC);
        /*
         * With the tracepoints, the open check runs from the root filesystem concern's open
         * exits where they can tail-call it (bpf/rootfs.bpf.c, eg_open_tails): one container
         * verdict per open of a host process instead of two. Else its own open exits.
         */
        int tails_fd = fentry ? -1 : eg_bpf_rootfs_open_tails_fd(b);
        struct hostns_bpf *s = try_flavour(b, opt, vmlinux, &host, fentry, legacy, cast, tails_fd,
                                           missing, sizeof(missing), why, sizeof(why));
        if (!s && tails_fd >= 0) {
            char attempt[320];
            snprintf(attempt, sizeof(attempt), "%s, open check from rootfsWrites' open exits: %s",
                     attach, why);
            eg_bpf_hook_attempt(r, attempt, "its own open exits instead");
            tails_fd = -1;
            s = try_flavour(b, opt, vmlinux, &host, fentry, legacy, cast, tails_fd, missing,
                            sizeof(missing), why, sizeof(why));
        }
        if (!s && cast) {
            char attempt[200];
            snprintf(attempt, sizeof(attempt), "%s, bpf_rdonly_cast: %s", attach, why);
            eg_bpf_hook_attempt(r, attempt, "probe-read instead");
            cast = false;
            s = try_flavour(b, opt, vmlinux, &host, fentry, legacy, cast, tails_fd, missing,
                            sizeof(missing), why, sizeof(why));
        }
        if (!s) {
            eg_bpf_hook_attempt(r, attach, why);
            continue;
        }
        eg_bpf_hook_attempt(r, attach, missing[0] ? missing : "ok");
        /* Targets are resolved by walking the pid namespace (bpf/pid.bpf.h), on every kernel. */
        snprintf(r->chosen, sizeof(r->chosen), "%s%s%s", attach, cast ? ", bpf_rdonly_cast" : "",
                 tails_fd >= 0 ? ", open check from rootfsWrites' open exits" : "");
        *skel = s;
        return 0;
    }
    return -1;
}

static void detach_hostns(void *skel)
{
    struct hostns_bpf *s = skel;
    if (s)
        eg_skeleton_detach_parallel(s->skeleton);
}

static void unload_hostns(void *skel)
{
    detach_hostns(skel);
    hostns_bpf__destroy(skel);
}

const struct eg_bpf_concern eg_bpf_hostns_concern = {
    .hook = HOSTNS_HOOK,
    .essential = false,
    .variants = hostns_variants,
    .load = load_hostns,
    .detach = detach_hostns,
    .unload = unload_hostns,
    .object_bytes = hostns_bpf__elf_bytes,
};

int eg_bpf_hostns_dedup_fd(const struct eg_bpf *b)
{
    struct hostns_bpf *s = eg_bpf_skeleton(b, eg_bpf_hostns_concern.hook);
    return s ? bpf_map__fd(s->maps.eg_hostns_dedup) : -1;
}
