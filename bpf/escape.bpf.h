/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Container-escape techniques seen at exec (EG_EVENT_ESCAPE, struct eg_escape_event): a
 * fileless exec, an exec that made a non-root user root, an exec from a working directory on
 * another mount namespace's mount; and a kernel module loaded by a contained process
 * (eg_escape_module_load, from lifecycle.bpf.c's module_load program). Included by lifecycle.bpf.c
 * only: its sched_process_exec program calls eg_escape_at_exec for every exec of a contained
 * process that is not runtime set-up. Each check is a few loads on objects the exec already holds
 * (the file, the new credentials, fs->pwd); a record is made only when one holds, so an ordinary
 * exec pays the loads and nothing else.
 */
#ifndef ECSGUARD_ESCAPE_BPF_H
#define ECSGUARD_ESCAPE_BPF_H

#include "common.bpf.h"
#include "rootfs_root.bpf.h"

/* finit_module's number (arch/x86/entry/syscalls, include/uapi/asm-generic/unistd.h). */
#if defined(__TARGET_ARCH_arm64)
#define EG_NR_FINIT_MODULE 273
#else
#define EG_NR_FINIT_MODULE 313
#endif

/* fs/mount.h: the mnt_ns of a kern_mount()ed (kernel-internal) mount, distinct from any. */
#define EG_MNT_NS_INTERNAL ((void *)-22L)
/* include/uapi/linux/magic.h */
#define EG_HUGETLBFS_MAGIC 0x958458f6

/*
 * The mount namespace the container's runtime made for it: its captured root mount's
 * (rootfs_root.bpf.h); NULL when none was captured. A process of the container that made a
 * namespace of its own (unshare -m) still reaches this one through descriptors and /proc/<pid>/root
 * of its other processes: not another namespace in the sense of an escape.
 */
static __always_inline struct mnt_namespace *eg_container_mount_ns(__u64 cgid)
{
    struct eg_rootfs_root *r = captured_root(NULL, cgid);
    return r ? eg_mount_ns(r->mnt) : NULL;
}

/* The technique's part of an escape record, cleared for `technique`. */
static __always_inline void eg_escape_clear(struct eg_escape_event *e, __u32 technique)
{
    e->technique = technique;
    e->result = 0;
    e->esc_flags = 0;
    e->arg0 = 0;
    e->arg1 = 0;
    e->ino = 0;
    e->dev = 0;
    e->path[0] = '\0';
    e->path2[0] = '\0';
    e->name[0] = '\0';
}

/* Reserve and fill the common part of an escape record by `p`; NULL when the ring is full. */
static __always_inline struct eg_escape_event *eg_escape_reserve(struct task_struct *p, __u64 cgid,
                                                                 __u32 technique)
{
    struct eg_escape_event *e = eg_reserve(EG_EVENT_ESCAPE, sizeof(*e));
    if (!e)
        return NULL;
    eg_fill_header(&e->hdr, p, cgid, EG_EVENT_ESCAPE, sizeof(*e));
    eg_escape_clear(e, technique);
    return e;
}

/* An exec technique's record: the common part, and the name given to execve as path2. */
static __always_inline struct eg_escape_event *
eg_escape_begin(struct task_struct *p, __u64 cgid, __u32 technique, struct linux_binprm *bprm)
{
    struct eg_escape_event *e = eg_escape_reserve(p, cgid, technique);
    if (e)
        bpf_probe_read_kernel_str(e->path2, sizeof(e->path2), BPF_CORE_READ(bprm, filename));
    return e;
}

/* The dentry's own name into out[EG_NAME_LEN]. */
static __always_inline void eg_escape_name(char *out, struct dentry *d)
{
    bpf_probe_read_kernel_str(out, EG_NAME_LEN, BPF_CORE_READ(d, d_name.name));
}

/*
 * The checks of one exec by process `p` (current) of container `cgid`. Called once the exec has
 * succeeded: the new credentials are committed, bprm->file is the executed file. `setup`: the
 * process is still the runtime's set-up (no home yet), whose techniques are only counted.
 */
static __always_inline void eg_escape_at_exec(struct task_struct *p, struct linux_binprm *bprm,
                                              __u64 cgid, bool setup, const bool legacy)
{
    /*
     * p and bprm are tp_btf arguments, BTF pointers on every kernel (both flavours): the tests
     * every exec pays are direct loads; only the mount's namespace, behind container_of, is a
     * CO-RE read.
     */
    struct file *exe = bprm->file;
    struct inode *inode = exe->f_inode;

    /*
     * Fileless: the executed file has no name in any directory. Its link count, not its name:
     * a memfd's "memfd:" prefix is the kernel's, but a file deleted after it was opened, or an
     * O_TMPFILE never linked, carries no marker at all.
     */
    if (inode->i_nlink == 0 && eg_escape_wanted(setup)) {
        struct eg_escape_event *e = eg_escape_begin(p, cgid, EG_ESC_FILELESS_EXEC, bprm);
        if (e) {
            e->ino = BPF_CORE_READ(inode, i_ino);
            e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
            unsigned long magic = BPF_CORE_READ(inode, i_sb, s_magic);
            e->arg1 = (__u32)magic;
            struct vfsmount *mnt = BPF_CORE_READ(exe, f_path.mnt);
            if (eg_mount_ns(mnt) == EG_MNT_NS_INTERNAL &&
                (magic == EG_TMPFS_MAGIC || magic == EG_HUGETLBFS_MAGIC))
                e->esc_flags |= EG_ESC_MEMFD;
            eg_escape_name(e->name, BPF_CORE_READ(exe, f_path.dentry));
            if (eg_file_path(p, exe, e->path, legacy) != 0)
                e->esc_flags |= EG_ESC_PATH_UNRESOLVED;
            eg_submit(e, EG_EVENT_ESCAPE, true);
        }
    }

    /*
     * Elevation to root: this exec changed the credentials (bprm->per_clear: the kernel sets it
     * exactly when a set-id file or file capabilities changed them, and not under
     * no_new_privs or on a nosuid mount) and the process is now effective root while its real
     * user is not root.
     */
    const struct cred *cred = p->real_cred;
    __u32 uid = cred->uid.val;
    __u32 euid = cred->euid.val;
    if (euid == 0 && uid != 0 && bprm->per_clear != 0 && eg_escape_wanted(setup)) {
        struct eg_escape_event *e = eg_escape_begin(p, cgid, EG_ESC_ELEVATION_TO_ROOT, bprm);
        if (e) {
            e->ino = BPF_CORE_READ(inode, i_ino);
            e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
            e->arg0 = uid;
            e->arg1 = euid;
            eg_escape_name(e->name, BPF_CORE_READ(exe, f_path.dentry));
            if (eg_file_path(p, exe, e->path, legacy) != 0)
                e->esc_flags |= EG_ESC_PATH_UNRESOLVED;
            eg_submit(e, EG_EVENT_ESCAPE, true);
        }
    }

    /*
     * Working directory on another mount namespace's mount: a directory the container can only
     * hold through a descriptor leaked from outside (CVE-2024-21626). Any mount a process of the
     * container reaches by path is in its own namespace (a namespace it created holds copies,
     * setns moves the working directory into the new one). A detached mount (NULL: lazily
     * unmounted) is no other namespace's and is not reported, nor is the container's own first
     * namespace seen from one it made (eg_container_mount_ns).
     */
    struct vfsmount *pwd_mnt = p->fs->pwd.mnt;
    struct mnt_namespace *pwd_ns = eg_mount_ns(pwd_mnt);
    struct mnt_namespace *own_ns = p->nsproxy->mnt_ns;
    if (pwd_ns && pwd_ns != own_ns && pwd_ns != EG_MNT_NS_INTERNAL &&
        pwd_ns != eg_container_mount_ns(cgid) && eg_escape_wanted(setup)) {
        struct eg_escape_event *e = eg_escape_begin(p, cgid, EG_ESC_CWD_OTHER_MNT_NS, bprm);
        if (e) {
            struct dentry *pwd = BPF_CORE_READ(p, fs, pwd.dentry);
            e->ino = BPF_CORE_READ(pwd, d_inode, i_ino);
            e->dev = BPF_CORE_READ(pwd, d_sb, s_dev);
            e->arg0 = BPF_CORE_READ(pwd_ns, ns.inum);
            e->arg1 = BPF_CORE_READ(own_ns, ns.inum);
            eg_escape_name(e->name, pwd);
            if (eg_dentry_path(p, pwd, pwd_mnt, e->path, legacy) != 0)
                e->esc_flags |= EG_ESC_PATH_UNRESOLVED;
            eg_submit(e, EG_EVENT_ESCAPE, true);
        }
    }
}

/*
 * Modules the kernel loads on a contained process's behalf (request_module: a socket family,
 * a file system type, a link kind or a netfilter extension not loaded yet, asked for by a
 * process that needs no capability to ask). The kernel runs modprobe as a helper of its own (the
 * child of a kernel thread) while the requester waits, so the load's current task is no
 * container's. The requests of contained processes past set-up are kept by what they asked for
 * (below); the helper that execs with that name as its argument claims the request, and its
 * loads are the requester's, and so are the modules modprobe loads first as dependencies
 * (docs/findings.md).
 */
struct eg_module_request {
    struct eg_event_header hdr; /* the requester as it asked: its finding's process */
    __u64 task;                 /* the requester, blocked in request_module until modprobe ends */
    __u64 ts_ns;                /* boot ns of the request */
    char name[EG_NAME_LEN];     /* what was asked for: an alias ("net-pf-5") or a module name */
};

/*
 * The requests of contained processes not yet claimed by a helper, by what they asked for (the
 * name request_module() passes on, zero-padded): the kernel's modprobe helper is given that same
 * name as its last argument, so its load is matched to the request it serves, not to whichever
 * came last. The latest request for a name keeps it.
 * eg_module_last_request: the latest, for a helper whose arguments are not the kernel's call's.
 *
 * Plain hashes, not LRUs: an LRU this small evicts live entries while nearly empty (each CPU
 * takes up to 128 free nodes for its own list, and a CPU that finds none left evicts from the
 * others' entries), so of two containers asking at once on different CPUs, one request was
 * lost and its load went unreported (the kernel matrix's flaky two-container test). Entries
 * leave when claimed (requests) or when the helper exits (claims); the kernel runs at most
 * kmod_concurrent_max (50) modprobes at once, so the tables stay small. A full table is
 * counted (EG_FILTER_MODULE_TABLE_FULL).
 */
#define EG_MAX_MODULE_REQUESTS 256

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, EG_MAX_MODULE_REQUESTS);
    __type(key, char[EG_NAME_LEN]);
    __type(value, struct eg_module_request);
} eg_module_requests SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct eg_module_request);
} eg_module_last_request SEC(".maps");

/*
 * A request claimed by the helper serving it (at the helper's exec, bpf/lifecycle.bpf.c), by
 * the helper's task: its loads are that request's whatever the requester did since. The wait
 * in request_module is killable and modprobe goes on without its asker, so a requester killed
 * (by a sibling) before the load must not take the load out of its container's findings; and
 * a request is claimed once, so a helper that failed (or loaded nothing) leaves no request for
 * a later, unrelated load of that name to be taken for.
 */
struct eg_module_claim {
    __u64 helper_start_ns; /* the helper's start_boottime: the slot's task is still that helper */
    struct eg_module_request req;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, EG_MAX_MODULE_REQUESTS);
    __type(key, __u64);
    __type(value, struct eg_module_claim);
} eg_module_claims SEC(".maps");

/*
 * How long a request is taken for a helper's load: by name, 60 s (the name already says which
 * request it serves; the helper can take long on a loaded host, tens of seconds were seen under
 * emulation); the latest request, for a helper whose arguments say nothing, 10 s.
 */
#define EG_MODULE_REQUEST_NS (60ULL * 1000000000ULL)
#define EG_MODULE_LAST_REQUEST_NS (10ULL * 1000000000ULL)
/*
 * include/linux/sched.h: the parent of the kernel's user-mode helpers is a kernel thread (the
 * kworker that waits for modprobe, or kthreadd for a helper nobody waits for).
 */
#define EG_PF_KTHREAD 0x00200000
/* include/linux/sched.h: set by do_exit, before the task can be freed. */
#define EG_PF_EXITING 0x00000004

static __always_inline void eg_count_module_table_full(void)
{
    struct eg_counters *c = eg_counters_get();
    if (c)
        c->filter_reason[EG_FILTER_MODULE_TABLE_FULL]++;
}

/* The exit of `p`, a process in no container: a modprobe helper's claim goes with it. */
static __always_inline void eg_module_helper_exit(struct task_struct *p)
{
    /* p: the exit tracepoint's BTF pointer (direct loads). */
    if (p->real_parent->flags & EG_PF_KTHREAD) {
        __u64 helper = (__u64)p;
        bpf_map_delete_elem(&eg_module_claims, &helper);
    }
}

/*
 * Whether request `r` is within `window` ns and its asker still waits for it: the same process
 * (its leader's start time) and not exiting. For a load by a helper that claimed no request
 * (it exec'd before the agent started, or its arguments are not the kernel's call's): a
 * requester whose request_module returned and that exited keeps its start time in the slab
 * until the memory is reused, so the start time alone let a later load of that name (another
 * process's, the host's) within the window be taken for it.
 */
static __always_inline bool eg_module_request_live(const struct eg_module_request *r, __u64 window)
{
    if (!r->task || bpf_ktime_get_boot_ns() - r->ts_ns > window)
        return false;
    struct task_struct *req = (struct task_struct *)r->task;
    if (BPF_CORE_READ(req, flags) & EG_PF_EXITING)
        return false;
    return BPF_CORE_READ(req, group_leader, start_boottime) == r->hdr.start_time_ns;
}

/*
 * request_module(`name`) by `p` (current): kept for the helper that serves it. The requester's
 * identity is taken now, while it asks: it may be gone (killed while it waits) by the load.
 */
static __always_inline void eg_escape_module_request(struct task_struct *p, const char *name,
                                                     const bool legacy)
{
    __u64 cgid;
    if (!eg_current_container(p, &cgid, legacy) || eg_in_setup(p, legacy))
        return;
    struct eg_module_request r = {};
    eg_fill_header(&r.hdr, p, cgid, EG_EVENT_ESCAPE, sizeof(struct eg_escape_event));
    r.task = (__u64)p;
    r.ts_ns = r.hdr.ts_ns;
    bpf_probe_read_kernel_str(r.name, sizeof(r.name), name);
    __u32 zero = 0;
    bpf_map_update_elem(&eg_module_last_request, &zero, &r, BPF_ANY);
    /*
     * The latest request for a name replaces an earlier one not yet claimed: two containers
     * asking for one name before its helper starts both asked for that module; the load goes
     * to the later.
     */
    if (bpf_map_update_elem(&eg_module_requests, r.name, &r, BPF_ANY) != 0)
        eg_count_module_table_full();
}

/* The helper's first argument (the kernel's modprobe_path, up to KMOD_PATH_LEN), per CPU. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, char[256]);
} eg_modprobe_argv0 SEC(".maps");

/*
 * What the current process (`p`, a kernel helper) was asked to load, zero-padded into `name`,
 * when its arguments are the kernel's modprobe call's ("<modprobe_path> -q -- NAME", laid out
 * by the kernel in its argument area): read forward, one string at a time, no scan. False when
 * they are not, or cannot be read.
 */
static __always_inline bool eg_helper_modprobe_arg(struct task_struct *p, char name[EG_NAME_LEN])
{
    __u32 zero = 0;
    char *argv0 = bpf_map_lookup_elem(&eg_modprobe_argv0, &zero);
    if (!argv0)
        return false;
    unsigned long start = BPF_CORE_READ(p, mm, arg_start);
    if (!start)
        return false;
    long n0 = bpf_probe_read_user_str(argv0, 256, (void *)start);
    if (n0 <= 0 || n0 >= 256)
        return false;
    char mid[6];
    if (bpf_probe_read_user(mid, sizeof(mid), (void *)(start + n0)) != 0 || mid[0] != '-' ||
        mid[1] != 'q' || mid[2] != '\0' || mid[3] != '-' || mid[4] != '-' || mid[5] != '\0')
        return false;
    return bpf_probe_read_user_str(name, EG_NAME_LEN, (void *)(start + n0 + sizeof(mid))) > 1;
}

/*
 * The exec of `p` (current, in no container): when it is the kernel's modprobe helper (its
 * parent a kernel thread, its arguments the kernel's call's), it claims the request for the
 * name it was given, if a contained process asked for it within the window and no helper has
 * claimed that request yet. Helpers are rare; every other exec pays the parent's flags.
 */
static __always_inline void eg_module_helper_exec(struct task_struct *p)
{
    /* p: the exec tracepoint's BTF pointer (direct loads). */
    if (!(p->real_parent->flags & EG_PF_KTHREAD))
        return;
    char name[EG_NAME_LEN] = {};
    if (!eg_helper_modprobe_arg(p, name))
        return;
    struct eg_module_request *r = bpf_map_lookup_elem(&eg_module_requests, name);
    if (!r || !r->task || bpf_ktime_get_boot_ns() - r->ts_ns > EG_MODULE_REQUEST_NS)
        return;
    __u64 helper = (__u64)p;
    struct eg_module_claim c = {};
    c.helper_start_ns = BPF_CORE_READ(p, group_leader, start_boottime);
    __builtin_memcpy(&c.req, r, sizeof(c.req));
    if (bpf_map_update_elem(&eg_module_claims, &helper, &c, BPF_ANY) != 0) {
        eg_count_module_table_full();
        return;
    }
    bpf_map_delete_elem(&eg_module_requests, name);
    /* Claimed: no longer the latest for a helper whose arguments say nothing. */
    __u32 zero = 0;
    struct eg_module_request *last = bpf_map_lookup_elem(&eg_module_last_request, &zero);
    if (last && last->task == c.req.task && last->ts_ns == c.req.ts_ns)
        last->task = 0;
}

/*
 * The request a module load by `p` (current, the child of a kernel thread) was made for: the
 * one its helper claimed at exec, whatever its requester did since; for a helper that claimed
 * none (it exec'd before the agent started), a recent request for the name it was given whose
 * requester still waits, or where its arguments are not the kernel's modprobe call's (a
 * helper that re-executes), the latest, if its requester still waits. NULL: no container's.
 */
static __always_inline const struct eg_module_request *
eg_module_request_served(struct task_struct *p)
{
    __u64 helper = (__u64)p;
    struct eg_module_claim *c = bpf_map_lookup_elem(&eg_module_claims, &helper);
    if (c && c->helper_start_ns == BPF_CORE_READ(p, group_leader, start_boottime))
        return &c->req;
    char name[EG_NAME_LEN] = {};
    struct eg_module_request *r;
    __u64 window = EG_MODULE_REQUEST_NS;
    if (eg_helper_modprobe_arg(p, name)) {
        r = bpf_map_lookup_elem(&eg_module_requests, name);
    } else {
        __u32 zero = 0;
        r = bpf_map_lookup_elem(&eg_module_last_request, &zero);
        window = EG_MODULE_LAST_REQUEST_NS;
    }
    return r && eg_module_request_live(r, window) ? r : NULL;
}

/*
 * A kernel module being loaded (EG_ESC_MODULE_LOAD) for a contained process past its
 * runtime's set-up: by the process itself, or by the kernel on its behalf (above). The
 * module_load tracepoint fires inside init_module/finit_module once the kernel has accepted
 * the module and before its init runs; the system call's own arguments say which file it came
 * from (finit_module's descriptor, the loader's: modprobe's for an autoload), read from the
 * kernel's descriptor table, not from anything the process can change after the call began.
 */
static __always_inline void eg_escape_module_load(struct task_struct *p, struct module *mod,
                                                  const bool legacy)
{
    __u64 cgid;
    struct eg_escape_event *e;
    const struct eg_module_request *r = NULL;
    if (eg_current_container(p, &cgid, legacy)) {
        /* The contained process's own init_module/finit_module. */
        if (!eg_escape_wanted(eg_in_setup(p, legacy)))
            return;
        e = eg_escape_reserve(p, cgid, EG_ESC_MODULE_LOAD);
    } else {
        if (!(BPF_CORE_READ(p, real_parent, flags) & EG_PF_KTHREAD))
            return;
        r = eg_module_request_served(p);
        if (!r)
            return;
        eg_count_seen(EG_EVENT_ESCAPE);
        /* The requester's identity as it asked; the time is the load's. */
        e = eg_reserve(EG_EVENT_ESCAPE, sizeof(*e));
        if (e) {
            __builtin_memcpy(&e->hdr, &r->hdr, sizeof(e->hdr));
            e->hdr.ts_ns = bpf_ktime_get_boot_ns();
            eg_escape_clear(e, EG_ESC_MODULE_LOAD);
        }
    }
    if (!e)
        return;
    bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(mod, name));
    if (r) {
        e->esc_flags |= EG_ESC_MODULE_AUTOLOAD;
        bpf_probe_read_kernel_str(e->path2, EG_NAME_LEN, r->name);
    }
    long nr = eg_current_syscall_nr(legacy);
    struct pt_regs *regs = nr == EG_NR_FINIT_MODULE ? eg_syscall_regs(nr, legacy) : NULL;
    struct file *f = regs ? eg_fd_file(p, (long)PT_REGS_PARM1_CORE_SYSCALL(regs)) : NULL;
    if (f) {
        e->arg0 = EG_MODULE_FROM_FILE;
        e->ino = BPF_CORE_READ(f, f_inode, i_ino);
        e->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
        if (eg_file_path(p, f, e->path, legacy) != 0)
            e->esc_flags |= EG_ESC_PATH_UNRESOLVED;
    }
    eg_submit(e, EG_EVENT_ESCAPE, true);
}

#endif /* ECSGUARD_ESCAPE_BPF_H */
