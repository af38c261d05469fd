// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writes to a task container's root filesystem, and executable mappings of
 * the files written there. (About 1,100 lines: one .bpf.c per concern is the
 * house rule, and the programs here are one concern with one loader; the
 * helpers they share with other objects live in the headers under bpf/, and
 * the escape techniques this object attaches for in rootfs_escapes.bpf.h.)
 *
 * Opens (sys_exit_{openat,openat2,open,creat}): the returned fd's struct file
 * says it all. Its mount is the container's root mount (captured at the
 * entrypoint's exec in eg_rootfs_roots by the lifecycle object's
 * sched_process_exec program; the task's root before that) or it
 * is not a rootfs write: volumes, bind mounts, EFS and tmpfs are other
 * mounts. Filters, cheapest first: failed call, no write intent in the flags
 * (re-read from the syscall's saved user registers, so no enter program and
 * no per-task map), task container, runtime set-up, root mount, then dedup
 * per (cgroup, inode) in eg_rootfs_written: the first write of a file is
 * sent, repeats only counted per container in eg_rootfs_repeats.
 *
 * Path-only operations (unlink, rename, mkdir, link, symlink, mknod, chmod,
 * chown, truncate, setxattr) have no file: the kernel resolves the base
 * (dirfd, cwd) to a path from the task's root and sends it with the user's
 * path string; the agent decides the final mount against the container's
 * mount table (a relative path may cross into a volume). Changes made through
 * an fd (fchmod, fchown, futimens, fsetxattr, AT_EMPTY_PATH) have the file:
 * decided here like opens and sent as path ops with the file's path.
 *
 * mmap(PROT_EXEC) of a file that this cgroup wrote (a key of
 * eg_rootfs_written) is sent as EG_EVENT_ROOTFS_EXEC_MAP (a new library).
 *
 * Two attachments of the same bodies (agent/kernel/bpf_rootfs.c loads one): the syscall
 * tracepoints above, or, where the kernel allows fentry/fexit, the same syscalls' own functions
 * (fexit/__x64_sys_openat, ..., fentry/__x64_sys_mmap; programs "eg_rootfs_fn_*"). Those see
 * the same saved user registers and return value at the same moments, and attach no syscall
 * tracepoint: once one is attached, every syscall of every task on the host takes the tracing
 * slow path (docs/performance.md). 32-bit compat syscalls reach neither.
 *
 * The open exits and the mmap program come in two flavours (file fields by
 * bpf_rdonly_cast, or by bpf_probe_read_kernel in the "_pr" twins); the agent
 * loads one set (agent/bpf_rootfs.c). Every program also has a twin for the
 * legacy task-access flavour (bpf/task.bpf.h; 5.10): "<program>_lg", of the
 * "_pr" program where there is one (no bpf_rdonly_cast before 6.2 either).
 */
#include "common.bpf.h"
#include "rootfs_root.bpf.h"
#include "escape_open.bpf.h"

#define EG_AT_FDCWD -100
#define EG_O_CREAT 0100
#define EG_O_TRUNC 01000
#define EG_WRITE_INTENT (EG_O_WRONLY | EG_O_RDWR | EG_O_CREAT | EG_O_TRUNC)
#define EG_O_TMPFILE 020000000 /* __O_TMPFILE (x86_64 and arm64) */
#define EG_FMODE_CREATED (1u << 20)
#define EG_PROT_READ 0x1
#define EG_PROT_EXEC 0x4
#define EG_READ_IMPLIES_EXEC 0x0400000 /* personality flag */
#define EG_MAX_ROOTFS_WRITTEN 65536
#define EG_MAX_ROOTFS_PATHOPS 16384

/* (cgroup, inode) of every file written in a container's rootfs: dedup + "new file" set. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, EG_MAX_ROOTFS_WRITTEN);
    __type(key, struct eg_rootfs_file_key);
    __type(value, __u64); /* boot ns of the first write */
} eg_rootfs_written SEC(".maps");

/* Path-only operations already sent, with their occurrence counts (see eg_rootfs_pathop_key). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, EG_MAX_ROOTFS_PATHOPS);
    __type(key, struct eg_rootfs_pathop_key);
    __type(value, __u64);
} eg_rootfs_pathops_seen SEC(".maps");

/*
 * Repeated writes of already-reported files, per container, indexed by the container's slot in
 * the agent's table (eg_container_val.slot, which the per-CPU task cache holds): an inlined
 * array access where a hash keyed by cgroup id cost ~100 ns per repeat on the benchmark VM
 * (hashing, a bucket and an element). Counts only grow; the agent reads them each second and
 * keeps the last value per slot, so a slot's next container starts where the previous one's
 * count ended (agent/detect_rootfs.c).
 */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, EG_MAX_CONTAINER_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} eg_rootfs_repeats SEC(".maps");

/* EG_ROOTFS_* layer flags of an overlayfs file (0 on other file systems), after a write open. */
static __always_inline __u32 overlay_layer(struct file *fp)
{
    struct inode *inode = BPF_CORE_READ(fp, f_inode);
    if (BPF_CORE_READ(inode, i_sb, s_magic) != EG_OVERLAYFS_MAGIC)
        return 0;
    /* The write open has copied the file up. */
    return eg_ovl_layers(inode, BPF_CORE_READ(fp, f_path.dentry), true);
}

/*
 * File fields two ways (see eg_file_btf in path.bpf.h): each program that reads
 * them is built with direct loads through bpf_rdonly_cast and with one
 * bpf_probe_read_kernel per field; the agent loads the cast set where the kernel
 * has the kfunc (6.2+) and the probe-read set elsewhere (6.1, Amazon Linux 2023's
 * first kernels). The kfunc is weak: an object whose cast programs are not loaded
 * needs no such kfunc. Direct loads saved 50-90 ns per rootfs write open here.
 */
static __always_inline struct file *file_fields(struct file *f, const bool cast)
{
    return cast ? eg_file_btf(f) : f;
}

/* BPF_CORE_READ(f, ...) or the same fields as direct loads; `cast` is a constant per program. */
#define F_MNT(cast, f) ((cast) ? (f)->f_path.mnt : BPF_CORE_READ(f, f_path.mnt))
#define F_INODE(cast, f) ((cast) ? (f)->f_inode : BPF_CORE_READ(f, f_inode))
#define F_MODE(cast, f) ((cast) ? (f)->f_mode : BPF_CORE_READ(f, f_mode))
#define I_INO(cast, i) ((cast) ? (i)->i_ino : BPF_CORE_READ(i, i_ino))
#define I_DEV(cast, i) ((cast) ? (i)->i_sb->s_dev : BPF_CORE_READ(i, i_sb, s_dev))

/*
 * The file this task last wrote on its root filesystem, kept in the per-CPU task cache
 * (verdict.bpf.h): a loop rewriting one file (logs, state files, the benchmark) is known to be
 * a repeat without the eg_rootfs_written lookup (a hash of the key, a bucket and an element:
 * two more pages per write on this VM). It only remembers keys eg_rootfs_written held, so it
 * answers as that lookup would, except that it does not refresh the key's LRU position: a
 * file can age out while one task keeps rewriting it, as it can while nobody touches it.
 */
static __always_inline __u64 last_write_check(__u64 start_time, __u64 cgid, __u64 ino, __u64 dev)
{
    __u64 h = eg_mix(0xbf58476d1ce4e5b9ULL, start_time);
    h = eg_mix(h, cgid);
    h = eg_mix(h, ino);
    return eg_mix(h, dev);
}

static __always_inline bool is_last_write(struct eg_verdict_cache *vc, struct task_struct *task,
                                          const struct eg_rootfs_file_key *key, const bool legacy)
{
    return vc && vc->wr_ino == key->ino && vc->wr_dev == key->dev &&
           vc->wr_check == last_write_check(EG_LOAD(legacy, task, start_time), key->cgroup_id,
                                            key->ino, key->dev);
}

static __always_inline void remember_last_write(struct eg_verdict_cache *vc,
                                                struct task_struct *task,
                                                const struct eg_rootfs_file_key *key,
                                                const bool legacy)
{
    if (!vc)
        return;
    vc->wr_check = 0;
    vc->wr_ino = key->ino;
    vc->wr_dev = key->dev;
    vc->wr_check =
        last_write_check(EG_LOAD(legacy, task, start_time), key->cgroup_id, key->ino, key->dev);
}

/* One more repeat of a file this container wrote, in its slot's counter (read each second). */
static __always_inline void add_repeat(struct eg_verdict_cache *vc, __u64 cgid)
{
    __u32 slot;
    if (!container_slot(vc, cgid, &slot)) {
        /* Removed in between: the container's finding is final. No slot yet: counted. */
        if (slot == EG_SLOT_PENDING)
            eg_count_reason(EG_FILTER_SLOT_PENDING);
        return;
    }
    __u64 *rep = bpf_map_lookup_elem(&eg_rootfs_repeats, &slot);
    if (rep)
        __sync_fetch_and_add(rep, 1);
}

/* A write open of a file this container wrote before: counted per container, nothing sent. */
static __always_inline void count_repeat_write(struct eg_verdict_cache *vc, __u64 cgid)
{
    eg_count_deduplicated(EG_EVENT_ROOTFS_WRITE);
    add_repeat(vc, cgid);
}

/*
 * A successful open by a contained process, past the write-intent test where the flags are
 * trusted. `user_flags`: `open_flags` came from the caller's memory (openat2's struct
 * open_how), which another of its threads can rewrite between the open and this exit program:
 * the opened file's own mode (FMODE_WRITE, FMODE_CREATED) is added to them, so a write open
 * cannot be made to read as a read-only one that way. (What user memory alone still decides:
 * O_TRUNC on a file opened read-only.)
 */
static __always_inline void contained_open(struct task_struct *task, __u64 cgid,
                                           struct eg_verdict_cache *cached, long ret,
                                           __u32 open_flags, bool user_flags, __u32 op,
                                           const bool cast, const bool legacy)
{
    /* for the helpers of the rare path */
    struct file *fp = eg_current_fd_file(task, ret, legacy);
    if (!fp)
        return;
    struct file *f = file_fields(fp, cast);
    if (!f)
        return;
    if (user_flags) {
        __u32 mode = F_MODE(cast, f);
        if ((mode & EG_FMODE_WRITE) && !(open_flags & (EG_O_WRONLY | EG_O_RDWR)))
            open_flags |= (mode & EG_FMODE_READ) ? EG_O_RDWR : EG_O_WRONLY;
        if (mode & EG_FMODE_CREATED)
            open_flags |= EG_O_CREAT;
        if (!(open_flags & EG_WRITE_INTENT))
            return;
    }
    /*
     * Another mount (volume, bind mount, tmpfs, EFS): not a rootfs candidate at all; a few
     * loads tell a cgroup release_agent or another mount namespace's file apart (escapes).
     */
    struct eg_rootfs_root *root = captured_root(cached, cgid);
    struct vfsmount *mnt = F_MNT(cast, f);
    if (mnt != root_mnt_of(root, task, legacy)) {
        eg_escape_other_mount_open(task, cgid, fp, mnt, F_INODE(cast, f), open_flags, root, cast,
                                   legacy);
        return;
    }
    eg_count_seen(EG_EVENT_ROOTFS_WRITE);
    struct inode *inode = F_INODE(cast, f);
    struct eg_rootfs_file_key key = {};
    key.cgroup_id = cgid;
    key.ino = I_INO(cast, inode);
    key.dev = I_DEV(cast, inode);
    /*
     * A file this open created is new whatever the table holds for its inode number: a file
     * the container wrote and deleted left its key behind, and the file system gives the
     * number to the next file it creates (ext4, xfs). Counted as a repeat of the deleted one,
     * `echo > /x; rm /x; echo > /etc/ld.so.preload` would never name the second file.
     */
    bool created = F_MODE(cast, f) & EG_FMODE_CREATED;
    if (!created && is_last_write(cached, task, &key, legacy)) {
        count_repeat_write(cached, cgid);
        return;
    }
    __u64 *seen = created ? NULL : bpf_map_lookup_elem(&eg_rootfs_written, &key);
    if (seen) {
        remember_last_write(cached, task, &key, legacy);
        count_repeat_write(cached, cgid);
        return;
    }
    /*
     * The set-up test (a hash lookup) only on a first write: keys enter eg_rootfs_written
     * only past set-up, so a repeat is always the task's (a set-up process writing a file
     * the task wrote before counts as one more repeat of it).
     */
    if (eg_in_setup(task, legacy)) {
        eg_count_filtered(EG_EVENT_ROOTFS_WRITE, EG_FILTER_SETUP);
        return;
    }
    __u64 now = bpf_ktime_get_boot_ns();
    if (bpf_map_update_elem(&eg_rootfs_written, &key, &now, BPF_ANY) == 0)
        remember_last_write(cached, task, &key, legacy);

    struct eg_rootfs_write_event *e = eg_reserve_shared(EG_EVENT_ROOTFS_WRITE, sizeof(*e), cgid);
    if (!e)
        return;
    eg_fill_header(&e->hdr, task, cgid, EG_EVENT_ROOTFS_WRITE, sizeof(*e));
    e->ino = key.ino;
    e->dev = key.dev;
    e->op = op;
    e->open_flags = open_flags;
    e->rootfs_flags = overlay_layer(fp);
    if (created)
        e->rootfs_flags |= EG_ROOTFS_CREATED;
    if (open_flags & EG_O_TMPFILE)
        e->rootfs_flags |= EG_ROOTFS_TMPFILE;
    struct eg_root_view rv;
    root_view_of(root, task, &rv);
    if (container_path(&rv, BPF_CORE_READ(fp, f_path.dentry), BPF_CORE_READ(fp, f_path.mnt),
                       e->path, legacy) != 0)
        e->rootfs_flags |= EG_ROOTFS_PATH_UNRESOLVED;
    eg_submit(e, EG_EVENT_ROOTFS_WRITE, false);
}

/*
 * Every open exit: true when the opener is in a task container and the open succeeded (and,
 * with flags from registers, was meant to write), which is when the tracepoint programs hand
 * the open on to the host-namespace concern (below). A host process leaves at the verdict.
 */
static __always_inline bool handle_open_exit(long ret, __u32 open_flags, bool user_flags, __u32 op,
                                             const bool cast, const bool legacy)
{
    if (ret < 0 || (!user_flags && !(open_flags & EG_WRITE_INTENT)))
        return false;
    struct task_struct *task = eg_current_task(legacy);
    __u64 cgid;
    struct eg_verdict_cache *cached;
    if (!eg_current_verdict(task, &cgid, &cached, legacy))
        return false;
    contained_open(task, cgid, cached, ret, open_flags, user_flags, op, cast, legacy);
    return true;
}

/*
 * The host-namespace concern's check of /proc/<pid>/mem opens (bpf/hostns.bpf.c), where both
 * concerns run on the syscall tracepoints: slot 0 holds its program, which these open exits
 * tail-call for a contained opener, instead of a second program on every open exit that would
 * make every open of every host process decide its container verdict twice. The agent fills
 * the slot when it loads that concern (agent/kernel/bpf_hostns.c); empty (the concern off, or
 * hooking mem_open itself), the call falls through. eg_open_tail_calls is set where the kernel
 * allows a tail call from a program with subprograms (x86_64, arm64 from 6.0: a probe,
 * agent/kernel/tail_call_probe.c); elsewhere the call is dead code the verifier never reaches
 * and that concern attaches its own open exits.
 */
struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} eg_open_tails SEC(".maps");

const volatile bool eg_open_tail_calls = false;

static __always_inline __u32 openat2_flags(struct pt_regs *regs)
{
    struct open_how how = {};
    bpf_probe_read_user(&how.flags, sizeof(how.flags),
                        (void *)PT_REGS_PARM3_CORE_SYSCALL(regs) +
                            offsetof(struct open_how, flags));
    return (__u32)how.flags;
}

/*
 * One exit program per open syscall and per flavour: `eg_rootfs_exit_<name>` reads file
 * fields through bpf_rdonly_cast, `eg_rootfs_exit_<name>_pr` through bpf_probe_read_kernel,
 * `eg_rootfs_exit_<name>_pr_lg` likewise with legacy task access (agent/bpf_rootfs.c loads
 * one set). `flags` is computed from `regs`, the syscall's saved user registers (and
 * `legacy`): the open flags need no enter program and no per-task map.
 */
#define OPEN_EXIT_FLAVOUR(name, suffix, flags, user, cast, lg)                                     \
    SEC("tracepoint/syscalls/sys_exit_" #name)                                                     \
    int eg_rootfs_exit_##name##suffix(struct trace_event_raw_sys_exit *ctx)                        \
    {                                                                                              \
        const bool legacy = lg;                                                                    \
        if (ctx->ret < 0)                                                                          \
            return 0;                                                                              \
        struct pt_regs *regs = eg_syscall_regs(ctx->id, legacy);                                   \
        if (legacy && !regs)                                                                       \
            return 0;                                                                              \
        if (handle_open_exit(ctx->ret, (flags), user, EG_ROOTFS_OP_OPEN, cast, legacy) &&          \
            eg_open_tail_calls)                                                                    \
            bpf_tail_call(ctx, &eg_open_tails, 0);                                                 \
        return 0;                                                                                  \
    }
/* The same at the exit of the syscall's function (EG_FEXIT_SYSCALL_REGS for `regs`). */
#define OPEN_FEXIT_FLAVOUR(name, suffix, flags, user, cast, lg)                                    \
    SEC("fexit/" EG_SYSCALL_FN(#name))                                                             \
    int eg_rootfs_fn_exit_##name##suffix(unsigned long long *ctx)                                  \
    {                                                                                              \
        const bool legacy = lg;                                                                    \
        long ret = (long)ctx[1];                                                                   \
        if (ret < 0)                                                                               \
            return 0;                                                                              \
        struct pt_regs *regs = EG_FEXIT_SYSCALL_REGS(ctx, legacy);                                 \
        if (!regs)                                                                                 \
            return 0;                                                                              \
        handle_open_exit(ret, (flags), user, EG_ROOTFS_OP_OPEN, cast, legacy);                     \
        return 0;                                                                                  \
    }
#define OPEN_EXIT(name, flags, user)                                                               \
    OPEN_EXIT_FLAVOUR(name, , flags, user, true, false)                                            \
    OPEN_EXIT_FLAVOUR(name, _pr, flags, user, false, false)                                        \
    OPEN_EXIT_FLAVOUR(name, _pr_lg, flags, user, false, true)                                      \
    OPEN_FEXIT_FLAVOUR(name, , flags, user, true, false)                                           \
    OPEN_FEXIT_FLAVOUR(name, _pr, flags, user, false, false)                                       \
    OPEN_FEXIT_FLAVOUR(name, _pr_lg, flags, user, false, true)

/* The flags from the saved registers, which nothing can change during the call; openat2's
 * from the caller's memory (`user`: checked against the file's mode, contained_open). */
OPEN_EXIT(openat, (__u32)EG_SYSCALL_ARG(legacy, regs, 3), false)
OPEN_EXIT(open, (__u32)EG_SYSCALL_ARG(legacy, regs, 2), false)
OPEN_EXIT(creat, EG_O_CREAT | EG_O_WRONLY | EG_O_TRUNC, false)
OPEN_EXIT(openat2, openat2_flags(regs), true)

/* ---- path-only operations --------------------------------------------------------------- */

/*
 * Where a path-only operation's name is, decided in the kernel. The VFS calls an LSM hook for
 * each of them (security_inode_unlink, _mkdir, _rename, _setattr...) with the dentry it acts
 * on, after the path walk, links followed as the operation follows them: its super block,
 * against the container's root filesystem's, says whether the name is on the root filesystem,
 * while the caller still lives. (The agent's own answer reads the mount table of a live process
 * of the container: a container that exits at once left it none.) The hook records the super
 * blocks for its thread and syscall; the syscall's exit program judges and takes them. The
 * hooks are functions
 * (fentry), or kprobes on the same functions where the kernel refuses fentry and the syscall
 * tracepoints are used; a kernel with neither leaves no verdict, and the agent decides as
 * before.
 */
#define EG_VERDICT_UNKNOWN 0
#define EG_VERDICT_ON_ROOT 1
#define EG_VERDICT_OFF_ROOT 2

struct pathop_dentries {
    long nr;                   /* the syscall the hook ran in: only that syscall's exit takes it */
    __u64 task_start;          /* the thread's start time: a thread id reused takes nothing */
    struct super_block *sb[2]; /* the name's, and a rename's or link's new name's */
    __u32 named;               /* bit i: name[i] holds dentry i's path up to its fs's root */
    __u32 pad;
    char name[2][EG_PATH_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32); /* thread id */
    __type(value, struct pathop_dentries);
} eg_pathop_dentries SEC(".maps");

/* Where the hook builds its record (too large for the stack), per CPU. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct pathop_dentries);
} eg_pathop_stage SEC(".maps");

/*
 * Dentry `d`'s path up to the root of its file system, into out, when that file system is an
 * overlay (a container's root filesystem is one; whether it is this container's is judged at
 * the exit, by super block): the walk needs no mount (none is crossed inside one file
 * system). False otherwise, or when deeper or longer than a path is kept.
 */
static __always_inline bool name_on_overlay(struct dentry *d, struct super_block *sb, char *out,
                                            const bool legacy)
{
    if (!d || !sb || BPF_CORE_READ(sb, s_magic) != EG_OVERLAYFS_MAGIC)
        return false;
    return eg_dentry_path_from(NULL, NULL, d, NULL, out, legacy) == 0;
}

/*
 * The hook is kept small (every host process's unlink, mkdir, chmod... runs it; the legacy
 * twins are verified unrolled on 5.10): it leaves early when this CPU's verdict cache already
 * knows the task for a host process, else records the names' super blocks, and the exit
 * program, which decides about the container anyway, judges them.
 */
static __always_inline int leave_dentries(struct dentry *d1, struct dentry *d2, const bool legacy)
{
    struct task_struct *task = eg_current_task(legacy);
    if (eg_cached_host_task(task, legacy))
        return 0;
    /*
     * The filesystem a stacking filesystem calls on the caller's behalf (overlayfs's upper
     * directory) is reached under the mounter's credentials, overriding the caller's: those
     * nested calls are not the caller's operation and must not replace its names.
     */
    if (BPF_CORE_READ(task, cred) != BPF_CORE_READ(task, real_cred))
        return 0;
    __u32 zero = 0;
    struct pathop_dentries *v = bpf_map_lookup_elem(&eg_pathop_stage, &zero);
    if (!v)
        return 0;
    v->nr = eg_current_syscall_nr(legacy);
    v->task_start = EG_LOAD(legacy, task, start_time);
    v->sb[0] = d1 ? BPF_CORE_READ(d1, d_sb) : NULL;
    v->sb[1] = d2 ? BPF_CORE_READ(d2, d_sb) : NULL;
    v->named = 0;
    if (name_on_overlay(d1, v->sb[0], v->name[0], legacy))
        v->named |= 1;
    if (name_on_overlay(d2, v->sb[1], v->name[1], legacy))
        v->named |= 2;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    bpf_map_update_elem(&eg_pathop_dentries, &tid, v, BPF_ANY);
    return 0;
}

/*
 * A different super block is never the root mount. The same one is the root filesystem when
 * that is an overlay (each container's overlay mount has a super block of its own); a root
 * filesystem that is a plain directory shares its super block with the host's other
 * directories, volumes included: the agent decides then.
 */
static __always_inline __u32 sb_verdict(struct super_block *sb, struct super_block *root_sb,
                                        bool root_is_overlay)
{
    if (!sb)
        return EG_VERDICT_UNKNOWN;
    if (sb != root_sb)
        return EG_VERDICT_OFF_ROOT;
    return root_is_overlay ? EG_VERDICT_ON_ROOT : EG_VERDICT_UNKNOWN;
}

static __always_inline __u32 verdict_flags(__u32 where)
{
    return where == EG_VERDICT_ON_ROOT    ? EG_PATHOP_NAME_ON_ROOT
           : where == EG_VERDICT_OFF_ROOT ? EG_PATHOP_NAME_OFF_ROOT
                                          : 0;
}

/*
 * Where the names the hook recorded for this thread in this syscall are, against the
 * container's root `rv`, as EG_PATHOP_NAME_* flags added to the event's; the record is taken
 * (deleted) in any case. No flag when there is none (tracepoint kernels, a hook that did not
 * run). Written straight into the event, never kept in registers or on the stack: the
 * verifier would carry each combination of verdicts through the path walks that follow (it
 * does not track ring-buffer memory), which tripled their verification on 5.10.
 */
static __always_inline void take_verdict(const struct eg_root_view *rv,
                                         struct eg_rootfs_pathop_event *e, const bool legacy)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct pathop_dentries *v = bpf_map_lookup_elem(&eg_pathop_dentries, &tid);
    if (!v)
        return;
    long nr = v->nr;
    /*
     * A record this syscall did not leave: another syscall's (an open with O_TRUNC passes the
     * setattr hook), since every contained path syscall's exit takes or drops its own, failed
     * or not; or another thread's that had this id (a host thread's records are left to the
     * LRU: its exits do not look). Taking it would let a container plant a verdict for a later
     * call that passes no hook (mknod of a regular file goes through security_inode_create).
     */
    if (nr < 0 || nr != eg_current_syscall_nr(legacy) ||
        v->task_start != EG_LOAD(legacy, eg_current_task(legacy), start_time)) {
        bpf_map_delete_elem(&eg_pathop_dentries, &tid);
        return;
    }
    struct vfsmount *root_mnt = rv->mnt;
    struct super_block *root_sb = BPF_CORE_READ(root_mnt, mnt_sb);
    bool overlay = root_sb && BPF_CORE_READ(root_sb, s_magic) == EG_OVERLAYFS_MAGIC;
    e->pathop_flags |= verdict_flags(sb_verdict(v->sb[0], root_sb, overlay));
    e->pathop_flags2 |= verdict_flags(sb_verdict(v->sb[1], root_sb, overlay));
    /* The kernel's names, for names on the root filesystem (copied before the record goes). */
    if ((e->pathop_flags & EG_PATHOP_NAME_ON_ROOT) && (v->named & 1) &&
        bpf_probe_read_kernel_str(e->kname, sizeof(e->kname), v->name[0]) > 0)
        e->pathop_flags |= EG_PATHOP_KERNEL_NAMED;
    if ((e->pathop_flags2 & EG_PATHOP_NAME_ON_ROOT) && (v->named & 2) &&
        bpf_probe_read_kernel_str(e->kname2, sizeof(e->kname2), v->name[1]) > 0)
        e->pathop_flags2 |= EG_PATHOP_KERNEL_NAMED;
    bpf_map_delete_elem(&eg_pathop_dentries, &tid);
}

/* The record of a syscall that needs no verdict (an fd op: the kernel has the file). */
static __always_inline void drop_verdict(void)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    bpf_map_delete_elem(&eg_pathop_dentries, &tid);
}

/*
 * A failed call's record dies with it. A task this CPU's verdict cache knows as a host
 * process pays no map delete (the cost of every failed unlink, mkdir, rename... on the host):
 * its hook leaves early on that same cache, and a record its hook did leave on a cache miss
 * is never taken (take_verdict runs for contained processes, and checks the thread's start).
 */
static __always_inline void drop_failed_verdict(const bool legacy)
{
    if (!eg_cached_host_task(eg_current_task(legacy), legacy))
        drop_verdict();
}

/*
 * The hooks, each with its legacy twin, and the same as kprobes for kernels that refuse fentry
 * or cannot attach it (arm64 before 6.4 has no ftrace direct calls: Amazon Linux 2's and
 * Debian's arm64 6.1 builds) but run kprobes: the syscall tracepoints' exits take their
 * verdicts as the fexit programs do. The loader attaches the kprobes only with the tracepoints
 * (agent/kernel/bpf_rootfs.c); a kernel without either leaves the agent to decide, as before.
 * ctx holds the hook's arguments (a kprobe's: the function's registers); the dentries are at
 * fixed positions except where an id-mapping argument was put first (setattr and the xattr
 * hooks since 5.12/6.0): both layouts are built ("_a0", "_a1") and the loader keeps the one
 * the kernel's BTF has.
 */
#define VERDICT_KPROBE_ARG(ctx, i)                                                                 \
    ((i) == 0   ? (struct dentry *)PT_REGS_PARM1(ctx)                                              \
     : (i) == 1 ? (struct dentry *)PT_REGS_PARM2(ctx)                                              \
     : (i) == 2 ? (struct dentry *)PT_REGS_PARM3(ctx)                                              \
     : (i) == 3 ? (struct dentry *)PT_REGS_PARM4(ctx)                                              \
                : NULL)
#define VERDICT_FENTRY_ARG(ctx, i) ((i) < 0 ? NULL : (struct dentry *)ctx[i])
#define VERDICT_HOOK(fn, suffix, i1, i2)                                                           \
    SEC("fentry/" #fn)                                                                             \
    int eg_rootfs_verdict_##fn##suffix(unsigned long long *ctx)                                    \
    {                                                                                              \
        return leave_dentries(VERDICT_FENTRY_ARG(ctx, i1), VERDICT_FENTRY_ARG(ctx, i2), false);    \
    }                                                                                              \
    SEC("fentry/" #fn)                                                                             \
    int eg_rootfs_verdict_##fn##suffix##_lg(unsigned long long *ctx)                               \
    {                                                                                              \
        return leave_dentries(VERDICT_FENTRY_ARG(ctx, i1), VERDICT_FENTRY_ARG(ctx, i2), true);     \
    }                                                                                              \
    SEC("kprobe/" #fn)                                                                             \
    int eg_rootfs_verdict_kp_##fn##suffix(struct pt_regs *ctx)                                     \
    {                                                                                              \
        return leave_dentries(VERDICT_KPROBE_ARG(ctx, i1), VERDICT_KPROBE_ARG(ctx, i2), false);    \
    }                                                                                              \
    SEC("kprobe/" #fn)                                                                             \
    int eg_rootfs_verdict_kp_##fn##suffix##_lg(struct pt_regs *ctx)                                \
    {                                                                                              \
        return leave_dentries(VERDICT_KPROBE_ARG(ctx, i1), VERDICT_KPROBE_ARG(ctx, i2), true);     \
    }

VERDICT_HOOK(security_inode_unlink, , 1, -1)
VERDICT_HOOK(security_inode_rmdir, , 1, -1)
VERDICT_HOOK(security_inode_mkdir, , 1, -1)
VERDICT_HOOK(security_inode_mknod, , 1, -1)
VERDICT_HOOK(security_inode_symlink, , 1, -1)
VERDICT_HOOK(security_inode_link, , 0, 2)
VERDICT_HOOK(security_inode_rename, , 1, 3)
VERDICT_HOOK(security_inode_setattr, _a0, 0, -1)
VERDICT_HOOK(security_inode_setattr, _a1, 1, -1)
VERDICT_HOOK(security_inode_setxattr, _a0, 0, -1)
VERDICT_HOOK(security_inode_setxattr, _a1, 1, -1)
VERDICT_HOOK(security_inode_removexattr, _a0, 0, -1)
VERDICT_HOOK(security_inode_removexattr, _a1, 1, -1)

/*
 * Read the user's path into `path` and, when it is relative, resolve its base (dirfd or cwd)
 * into `base`, from the container's root (`root`: captured, NULL for the task's). An absolute
 * path of a task whose root is not the container's (after a chroot) is relative to its root:
 * that root's path is the base (EG_PATHOP_IN_CHROOT). Adds the EG_PATHOP_* `flags` it finds.
 */
static __always_inline void read_path_arg(struct task_struct *task, const struct eg_root_view *rv,
                                          long dirfd, const char *upath, char *base, char *path,
                                          __u32 *flags, const bool legacy)
{
    /*
     * The flags are written into the event as they are found, not kept in a register: the
     * verifier does not track ring-buffer memory, so the branches below (absolute, chrooted,
     * cwd, dirfd) prune against each other at the walk instead of each walking on its own.
     */
    base[0] = '\0';
    long n = bpf_probe_read_user_str(path, EG_PATH_LEN, upath);
    if (n < 0) {
        path[0] = '\0';
        *flags |= EG_PATHOP_UNRESOLVED;
        return;
    }
    if (n >= EG_PATH_LEN)
        *flags |= EG_PATHOP_TRUNCATED;
    struct dentry *d;
    struct vfsmount *mnt;
    if (path[0] == '/') {
        /* Without a captured root `rv` is the task's root: never chrooted. */
        d = BPF_CORE_READ(task, fs, root.dentry);
        mnt = BPF_CORE_READ(task, fs, root.mnt);
        if (d == rv->dentry && mnt == rv->mnt)
            return;
        *flags |= EG_PATHOP_IN_CHROOT;
    } else if (dirfd == EG_AT_FDCWD) {
        d = BPF_CORE_READ(task, fs, pwd.dentry);
        mnt = BPF_CORE_READ(task, fs, pwd.mnt);
    } else {
        struct file *f = eg_fd_file(task, dirfd);
        if (!f) {
            *flags |= EG_PATHOP_UNRESOLVED;
            return;
        }
        d = BPF_CORE_READ(f, f_path.dentry);
        mnt = BPF_CORE_READ(f, f_path.mnt);
    }
    if (mnt == rv->mnt)
        *flags |= EG_PATHOP_BASE_ON_ROOT;
    if (container_path(rv, d, mnt, base, legacy))
        *flags |= EG_PATHOP_UNRESOLVED;
}

/*
 * 64-bit hash of a path-only operation: op, flags, chmod's mode (a setuid chmod after a plain
 * one is a new event) and the four (zero-padded) path buffers,
 * word by word. A collision would count one operation as a repeat of another in the same
 * cgroup; at 64 bits over at most EG_MAX_ROOTFS_PATHOPS keys per table that is ~2^-37.
 */
static __always_inline __u64 pathop_hash(const struct eg_rootfs_pathop_event *e)
{
    __u64 h = 0x9e3779b97f4a7c15ULL ^ e->op ^ ((__u64)e->pathop_flags << 24) ^
              ((__u64)e->pathop_flags2 << 48) ^ ((__u64)e->mode << 32);
    /*
     * The four paths as given and the kernel's names: the same literal path whose symlinked
     * directory now leads elsewhere is another operation, not a repeat of the first.
     */
    const __u64 *w = (const __u64 *)e->base;
    for (int i = 0; i < 6 * EG_PATH_LEN / 8; i++) {
        h = (h ^ w[i]) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    return h;
}

struct pathop_args {
    long dirfd, dirfd2;
    const char *path, *path2;
    __u32 mode; /* chmod's mode argument, else 0 */
};

#define ARG(regs, n) PT_REGS_PARM##n##_CORE_SYSCALL(regs)

/*
 * Argument `i` of a syscall layout (struct eg_pathop_syscall, events.h): the syscall's argument
 * of that number, AT_FDCWD, or 0. A constant `i` (the fexit programs) folds to one read.
 */
static __always_inline long layout_arg(struct pt_regs *regs, __u32 i)
{
    switch (i) {
    case 1:
        return (long)ARG(regs, 1);
    case 2:
        return (long)ARG(regs, 2);
    case 3:
        return (long)ARG(regs, 3);
    case 4:
        return (long)ARG(regs, 4);
    case 5:
        return (long)ARG(regs, 5);
    case EG_ARG_AT_FDCWD:
        return EG_AT_FDCWD;
    default:
        return 0;
    }
}

/* A path-op event for `op` by `task` with its path buffers cleared, or NULL (ring full). */
static __always_inline struct eg_rootfs_pathop_event *pathop_begin(struct task_struct *task,
                                                                   __u64 cgid, __u32 op, __u32 mode)
{
    struct eg_rootfs_pathop_event *e = eg_reserve_shared(EG_EVENT_ROOTFS_PATHOP, sizeof(*e), cgid);
    if (!e)
        return NULL;
    eg_fill_header(&e->hdr, task, cgid, EG_EVENT_ROOTFS_PATHOP, sizeof(*e));
    e->op = op;
    e->mode = mode;
    e->pathop_flags = 0;
    e->pathop_flags2 = 0;
    /* The hash covers the whole buffers: clear them, so the bytes past each string's end are
     * the same every time (ring-buffer memory is not zeroed). */
    __builtin_memset(e->base, 0, sizeof(e->base));
    __builtin_memset(e->path, 0, sizeof(e->path));
    __builtin_memset(e->base2, 0, sizeof(e->base2));
    __builtin_memset(e->path2, 0, sizeof(e->path2));
    /* Kept apart: merged into one, the clears would exceed what the compiler inlines. */
    asm volatile("" ::: "memory");
    __builtin_memset(e->kname, 0, sizeof(e->kname));
    __builtin_memset(e->kname2, 0, sizeof(e->kname2));
    return e;
}

/* Send `e` unless the same operation on the same paths was sent before: then counted. */
static __always_inline int pathop_send(struct eg_rootfs_pathop_event *e, __u64 cgid)
{
    struct eg_rootfs_pathop_key key = {.cgroup_id = cgid, .hash = pathop_hash(e)};
    __u64 *seen = bpf_map_lookup_elem(&eg_rootfs_pathops_seen, &key);
    if (!seen) {
        __u64 one = 1;
        if (bpf_map_update_elem(&eg_rootfs_pathops_seen, &key, &one, BPF_NOEXIST) != 0)
            seen = bpf_map_lookup_elem(&eg_rootfs_pathops_seen, &key); /* lost a race */
        /* Neither: could not record it; it is sent, and its repeats will be too. */
    }
    if (seen) {
        __sync_fetch_and_add(seen, 1);
        bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
        eg_count_deduplicated(EG_EVENT_ROOTFS_PATHOP);
        return 0;
    }
    e->dedup_hash = key.hash;
    eg_submit(e, EG_EVENT_ROOTFS_PATHOP, false);
    return 0;
}

/*
 * A path-only operation (syscall layout `l`, arguments in `regs`): read only once the task is
 * known to be in a task container and past its set-up, so a host process's unlink or mkdir
 * pays no argument reads.
 */
static __always_inline int handle_pathop(long ret, struct pt_regs *regs,
                                         const struct eg_pathop_syscall *l, const bool legacy)
{
    if (ret < 0)
        return 0;
    struct task_struct *task = eg_current_task(legacy);
    __u64 cgid;
    struct eg_verdict_cache *vc;
    if (!eg_current_verdict(task, &cgid, &vc, legacy))
        return 0;
    if (eg_in_setup(task, legacy)) {
        eg_count_seen(EG_EVENT_ROOTFS_PATHOP);
        eg_count_filtered(EG_EVENT_ROOTFS_PATHOP, EG_FILTER_SETUP);
        return 0;
    }
    struct pathop_args args = {.dirfd = layout_arg(regs, l->fd),
                               .path = (const char *)layout_arg(regs, l->path),
                               .dirfd2 = layout_arg(regs, l->fd2),
                               .path2 = (const char *)layout_arg(regs, l->path2),
                               .mode = (__u32)layout_arg(regs, l->mode)};
    struct pathop_args *a = &args;
    struct eg_rootfs_pathop_event *e = pathop_begin(task, cgid, l->op, a->mode);
    if (!e) {
        eg_count_seen(EG_EVENT_ROOTFS_PATHOP);
        return 0; /* counted dropped by eg_reserve_shared */
    }
    struct eg_root_view rv;
    root_view_of(captured_root(vc, cgid), task, &rv);
    take_verdict(&rv, e, legacy);
    read_path_arg(task, &rv, a->dirfd, a->path, e->base, e->path, &e->pathop_flags, legacy);
    if (a->path2)
        read_path_arg(task, &rv, a->dirfd2, a->path2, e->base2, e->path2, &e->pathop_flags2,
                      legacy);
    /*
     * Only on other mounts (a volume, a tmpfs): not a candidate, as for opens and fd ops (not
     * even counted seen).
     */
    if ((e->pathop_flags & EG_PATHOP_NAME_OFF_ROOT) &&
        (!a->path2 || (e->pathop_flags2 & EG_PATHOP_NAME_OFF_ROOT))) {
        bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
        return 0;
    }
    eg_count_seen(EG_EVENT_ROOTFS_PATHOP);
    /* The caller's own view (its mountinfo, its /proc/<pid>/root) is its chroot's. */
    if (BPF_CORE_READ(task, fs, root.mnt) != rv.mnt ||
        BPF_CORE_READ(task, fs, root.dentry) != rv.dentry)
        e->pathop_flags |= EG_PATHOP_CALLER_CHROOTED;
    return pathop_send(e, cgid);
}

/*
 * A change made through an fd (fchmod, fchown, futimens, fsetxattr; an AT_EMPTY_PATH or NULL
 * path on a dirfd): the kernel has the file, so it decides here, as for opens, that it is on
 * the root mount (nothing is sent for volumes and tmpfs) and sends the dentry walk's path
 * (symlinks resolved) flagged EG_PATHOP_FILE_ON_ROOT; the agent needs no mount table for it.
 * AT_FDCWD (with an empty path) is the working directory.
 */
static __always_inline int handle_fdop(long ret, struct pt_regs *regs,
                                       const struct eg_pathop_syscall *l, const bool legacy)
{
    if (ret < 0)
        return 0;
    struct task_struct *task = eg_current_task(legacy);
    __u64 cgid;
    struct eg_verdict_cache *vc;
    if (!eg_current_verdict(task, &cgid, &vc, legacy))
        return 0;
    /* The kernel has the file here: the hook's record is not needed, only cleared. */
    drop_verdict();
    __u32 op = l->op;
    long fd = layout_arg(regs, l->fd);
    __u32 mode = (__u32)layout_arg(regs, l->mode);
    struct dentry *dentry;
    struct vfsmount *mnt;
    if (fd == EG_AT_FDCWD) {
        dentry = BPF_CORE_READ(task, fs, pwd.dentry);
        mnt = BPF_CORE_READ(task, fs, pwd.mnt);
    } else {
        struct file *f = eg_fd_file(task, fd);
        if (!f)
            return 0;
        dentry = BPF_CORE_READ(f, f_path.dentry);
        mnt = BPF_CORE_READ(f, f_path.mnt);
    }
    struct eg_root_view rv;
    root_view_of(captured_root(vc, cgid), task, &rv);
    if (mnt != rv.mnt)
        return 0; /* a volume, tmpfs...: not a candidate, as for opens */
    eg_count_seen(EG_EVENT_ROOTFS_PATHOP);
    if (eg_in_setup(task, legacy)) {
        eg_count_filtered(EG_EVENT_ROOTFS_PATHOP, EG_FILTER_SETUP);
        return 0;
    }
    /*
     * New timestamps, owner or plain mode of a file this container wrote (an archive being
     * extracted: fchown, fchmod and futimens after each file) say nothing its write did not:
     * counted as a repeat of it. A setuid/setgid chmod is always sent.
     */
    if (op == EG_ROOTFS_OP_SETTIMES || op == EG_ROOTFS_OP_CHOWN ||
        (op == EG_ROOTFS_OP_CHMOD && !(mode & 06000))) {
        struct inode *inode = BPF_CORE_READ(dentry, d_inode);
        struct eg_rootfs_file_key key = {};
        key.cgroup_id = cgid;
        key.ino = BPF_CORE_READ(inode, i_ino);
        key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
        if (bpf_map_lookup_elem(&eg_rootfs_written, &key)) {
            eg_count_deduplicated(EG_EVENT_ROOTFS_PATHOP);
            add_repeat(vc, cgid);
            return 0;
        }
    }
    struct eg_rootfs_pathop_event *e = pathop_begin(task, cgid, op, mode);
    if (!e)
        return 0;
    e->pathop_flags = EG_PATHOP_FILE_ON_ROOT;
    if (container_path(&rv, dentry, mnt, e->path, legacy) != 0)
        e->pathop_flags |= EG_PATHOP_UNRESOLVED;
    return pathop_send(e, cgid);
}

/* An empty path with AT_EMPTY_PATH, or no path at all (utimensat, futimesat): the fd itself. */
#define EG_AT_EMPTY_PATH 0x1000
static __always_inline bool names_the_fd(const char *upath, long at_flags)
{
    if (!upath)
        return true;
    if (!(at_flags & EG_AT_EMPTY_PATH))
        return false;
    char c = 1;
    return bpf_probe_read_user(&c, 1, upath) == 0 && c == '\0';
}

/*
 * The common head of a syscall's exit program at its function (fexit): the flavour, the
 * syscall's registers (EG_FEXIT_SYSCALL_REGS) and return value; the body follows the macro.
 */
#define SYSCALL_FEXIT_PROG(name, suffix, lg)                                                       \
    static __always_inline int eg_rootfs_body_##name##suffix(long ret, struct pt_regs *regs,       \
                                                             const bool legacy);                   \
    SEC("fexit/" EG_SYSCALL_FN(#name))                                                             \
    int eg_rootfs_fn_exit_##name##suffix(unsigned long long *ctx)                                  \
    {                                                                                              \
        long ret = (long)ctx[1];                                                                   \
        if (ret < 0) {                                                                             \
            /* A failed call may have passed its hook: its record dies with it (take_verdict). */  \
            drop_failed_verdict(lg);                                                               \
            return 0;                                                                              \
        }                                                                                          \
        struct pt_regs *regs = EG_FEXIT_SYSCALL_REGS(ctx, lg);                                     \
        if (!regs)                                                                                 \
            return 0;                                                                              \
        return eg_rootfs_body_##name##suffix(ret, regs, lg);                                       \
    }                                                                                              \
    static __always_inline int eg_rootfs_body_##name##suffix(long ret, struct pt_regs *regs,       \
                                                             const bool legacy)

/*
 * The same with the syscall's tracepoint too: two programs share the body, the tracepoint's
 * `eg_rootfs_exit_<name><suffix>`, which finds the registers on the task, and the function's
 * `eg_rootfs_fn_exit_<name><suffix>`.
 */
#define SYSCALL_EXIT_PROG(name, suffix, lg)                                                        \
    static __always_inline int eg_rootfs_body_##name##suffix(long ret, struct pt_regs *regs,       \
                                                             const bool legacy);                   \
    SEC("tracepoint/syscalls/sys_exit_" #name)                                                     \
    int eg_rootfs_exit_##name##suffix(struct trace_event_raw_sys_exit *ctx)                        \
    {                                                                                              \
        const bool legacy = lg;                                                                    \
        if (ctx->ret < 0) {                                                                        \
            /* Where the verdict hooks are kprobes, a failed call's record dies with it too. */    \
            drop_failed_verdict(legacy);                                                           \
            return 0;                                                                              \
        }                                                                                          \
        struct pt_regs *regs = eg_syscall_regs(ctx->id, legacy);                                   \
        if (legacy && !regs)                                                                       \
            return 0;                                                                              \
        return eg_rootfs_body_##name##suffix(ctx->ret, regs, legacy);                              \
    }                                                                                              \
    SYSCALL_FEXIT_PROG(name, suffix, lg)

/* The escape techniques attached with this object (after SYSCALL_EXIT_PROG, which they use). */
#include "rootfs_escapes.bpf.h"

/*
 * The file an exec of a contained process starts from (eg_exec_starts, rootfs_root.bpf.h), for
 * the exec record to name a #! script it ends in the interpreter of. The LSM hook the kernel
 * calls once per execve with the file it named, before any binary format handler: a function
 * hook (fentry, else a kprobe; the tracepoints have nothing at that point).
 */
static __always_inline int record_exec_start(struct linux_binprm *bprm, const bool legacy)
{
    __u64 cgid;
    struct task_struct *task = eg_contained_current(&cgid, legacy);
    if (!task)
        return 0;
    struct file *f = BPF_CORE_READ(bprm, file);
    struct eg_exec_start st = {
        .ino = BPF_CORE_READ(f, f_inode, i_ino),
        .dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev),
        .layers = eg_root_file_layers(task, f, cgid),
    };
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    bpf_map_update_elem(&eg_exec_starts, &tid, &st, BPF_ANY);
    return 0;
}

/* fentry, and the same as a kprobe, loaded with the tracepoints where fentry cannot attach. */
#define EXEC_START_FLAVOUR(suffix, lg)                                                             \
    SEC("fentry/security_bprm_creds_for_exec")                                                     \
    int BPF_PROG(eg_rootfs_exec_start##suffix, struct linux_binprm *bprm)                          \
    {                                                                                              \
        return record_exec_start(bprm, lg);                                                        \
    }                                                                                              \
    SEC("kprobe/security_bprm_creds_for_exec")                                                     \
    int BPF_KPROBE(eg_rootfs_exec_start_kp##suffix, struct linux_binprm *bprm)                     \
    {                                                                                              \
        return record_exec_start(bprm, lg);                                                        \
    }
EXEC_START_FLAVOUR(, false)
EXEC_START_FLAVOUR(_lg, true)

/* A path-only or fd syscall's exit, its arguments where layout `l` (events.h) says. */
static __always_inline int pathop_syscall_exit(long ret, struct pt_regs *regs,
                                               const struct eg_pathop_syscall *l, const bool legacy)
{
    __u32 kind = l->kind;
    if (kind == EG_PATHOP_KIND_PATH_OR_FD)
        kind = names_the_fd((const char *)layout_arg(regs, l->path), layout_arg(regs, l->at_flags))
                   ? EG_PATHOP_KIND_FD
                   : EG_PATHOP_KIND_PATH;
    if (kind == EG_PATHOP_KIND_FD)
        return handle_fdop(ret, regs, l, legacy);
    return handle_pathop(ret, regs, l, legacy);
}

/*
 * At the functions: one program per syscall and its legacy twin (`eg_rootfs_fn_exit_<name>`,
 * `..._lg`), the layout a constant.
 */
#define PATHOP_FEXIT_FLAVOUR(name, suffix, lg, kind, op, fd, path, fd2, path2, mode, at_flags)     \
    SYSCALL_FEXIT_PROG(name, suffix, lg)                                                           \
    {                                                                                              \
        const struct eg_pathop_syscall l = {                                                       \
            EG_PATHOP_KIND_##kind, EG_ROOTFS_OP_##op, fd, path, fd2, path2, mode, at_flags};       \
        return pathop_syscall_exit(ret, regs, &l, legacy);                                         \
    }
#define PATHOP_FEXIT(name, ...)                                                                    \
    PATHOP_FEXIT_FLAVOUR(name, , false, __VA_ARGS__)                                               \
    PATHOP_FEXIT_FLAVOUR(name, _lg, true, __VA_ARGS__)
EG_PATHOP_SYSCALLS(PATHOP_FEXIT)
#if !defined(__TARGET_ARCH_arm64)
EG_PATHOP_SYSCALLS_X86_64(PATHOP_FEXIT)
#endif

/*
 * At the tracepoints: one program for every path-only and fd syscall's exit (the loader
 * attaches it to each, agent/kernel/bpf_rootfs.c), its layout by syscall number from the
 * agent. Verified once per start instead of once per syscall (~15 ms each on this project's
 * host: the path walks). A number without a layout (none should reach it) is left alone.
 */
const volatile struct eg_pathop_syscall eg_pathop_syscalls[EG_PATHOP_NR_LIMIT] = {};

static __always_inline int pathops_exit(struct trace_event_raw_sys_exit *ctx, const bool legacy)
{
    long ret = ctx->ret;
    if (ret < 0) {
        /* Where the verdict hooks are kprobes, a failed call's record dies with it too. */
        drop_failed_verdict(legacy);
        return 0;
    }
    long nr = ctx->id;
    if (nr < 0 || nr >= EG_PATHOP_NR_LIMIT)
        return 0;
    struct eg_pathop_syscall l = eg_pathop_syscalls[nr];
    if (!l.kind)
        return 0;
    struct pt_regs *regs = eg_syscall_regs(nr, legacy);
    if (legacy && !regs)
        return 0;
    return pathop_syscall_exit(ret, regs, &l, legacy);
}

SEC("tracepoint")
int eg_rootfs_exit_pathops(struct trace_event_raw_sys_exit *ctx)
{
    return pathops_exit(ctx, false);
}
SEC("tracepoint")
int eg_rootfs_exit_pathops_lg(struct trace_event_raw_sys_exit *ctx)
{
    return pathops_exit(ctx, true);
}

/* ---- executable mappings of written files ----------------------------------------------- */

/*
 * An executable mapping of the file at (dentry, mnt) whose inode is `inode` (mmap of an fd, or
 * mprotect of a mapping: `prot` carries EG_EXEC_MAP_MPROTECT then): reported when the container
 * wrote the file.
 */
static __always_inline int exec_map_of(struct task_struct *task, __u64 cgid,
                                       struct eg_verdict_cache *vc, struct dentry *dentry,
                                       struct vfsmount *mnt, __u64 ino, __u32 dev, __u32 prot,
                                       const bool legacy)
{
    struct eg_rootfs_file_key key = {};
    key.cgroup_id = cgid;
    key.ino = ino;
    key.dev = dev;
    __u64 *written = bpf_map_lookup_elem(&eg_rootfs_written, &key);
    if (!written)
        return 0; /* not a file this container wrote: the common case (every library load) */
    eg_count_seen(EG_EVENT_ROOTFS_EXEC_MAP);
    struct eg_rootfs_exec_map_event *e =
        eg_reserve_shared(EG_EVENT_ROOTFS_EXEC_MAP, sizeof(*e), cgid);
    if (!e)
        return 0;
    eg_fill_header(&e->hdr, task, cgid, EG_EVENT_ROOTFS_EXEC_MAP, sizeof(*e));
    e->ino = key.ino;
    e->dev = key.dev;
    e->prot = prot;
    e->written_ts_ns = *written;
    struct eg_root_view rv;
    root_view_of(captured_root(vc, cgid), task, &rv);
    container_path(&rv, dentry, mnt, e->path, legacy);
    eg_submit(e, EG_EVENT_ROOTFS_EXEC_MAP, false);
    return 0;
}

/*
 * Whether `prot`, as the caller asked for it, makes an executable mapping: PROT_EXEC, or
 * PROT_READ for a process whose personality has READ_IMPLIES_EXEC (personality(2), or what the
 * kernel gives a 32-bit ELF without PT_GNU_STACK at its exec), which the kernel turns into
 * PROT_EXEC after the call's arguments were read. The effective protection, PROT_EXEC added.
 */
static __always_inline unsigned long exec_prot(struct task_struct *task, unsigned long prot,
                                               const bool legacy)
{
    if (prot & EG_PROT_EXEC)
        return prot;
    if ((prot & EG_PROT_READ) && (EG_LOAD(legacy, task, personality) & EG_READ_IMPLIES_EXEC))
        return prot | EG_PROT_EXEC;
    return 0;
}

/*
 * An executable protection asked for by a process of a task container: its task and verdict,
 * and in *prot the effective protection (exec_prot).
 */
static __always_inline bool exec_prot_in_container(unsigned long *prot, struct task_struct **task,
                                                   __u64 *cgid, struct eg_verdict_cache **vc,
                                                   const bool legacy)
{
    *task = eg_current_task(legacy);
    *prot = exec_prot(*task, *prot, legacy);
    if (!*prot)
        return false;
    return eg_current_verdict(*task, cgid, vc, legacy);
}

/* The file an executable mapping maps, by a contained process: reported when it wrote it. */
static __always_inline int mmap_of_file(struct task_struct *task, __u64 cgid,
                                        struct eg_verdict_cache *vc, struct file *fp,
                                        unsigned long prot, const bool cast, const bool legacy)
{
    struct file *f = file_fields(fp, cast);
    if (!f)
        return 0;
    struct inode *inode = F_INODE(cast, f);
    return exec_map_of(task, cgid, vc, BPF_CORE_READ(fp, f_path.dentry),
                       BPF_CORE_READ(fp, f_path.mnt), I_INO(cast, inode), I_DEV(cast, inode),
                       (__u32)prot, legacy);
}

/*
 * mmap(2) at its syscall tracepoint: the file is the one at `fd` when the call begins. (Another
 * thread can put another file at that fd before the kernel takes it: the function attachment
 * below is given the file the kernel maps.) x86's tracepoint sees neither i386's mmap2 nor its
 * old mmap.
 */
static __always_inline int handle_mmap(unsigned long prot, long fd, const bool cast,
                                       const bool legacy)
{
    struct task_struct *task;
    __u64 cgid;
    struct eg_verdict_cache *vc;
    if (fd < 0 || !exec_prot_in_container(&prot, &task, &cgid, &vc, legacy))
        return 0;
    struct file *fp = eg_current_fd_file(task, fd, legacy);
    if (!fp)
        return 0;
    return mmap_of_file(task, cgid, vc, fp, prot, cast, legacy);
}

/* An exec's own mappings (the program, its interpreter) are the exec program's to report. */
static __always_inline bool in_exec(const bool legacy)
{
    long nr = eg_current_syscall_nr(legacy);
#if defined(__TARGET_ARCH_x86)
    /* x86_64's execve, execveat; i386's (a compat exec: orig_ax holds i386's number) */
    return nr == 59 || nr == 322 || nr == 11 || nr == 358;
#elif defined(__TARGET_ARCH_arm64)
    return nr == 221 || nr == 281;
#else
    return false;
#endif
}

/*
 * Where fentry loads, the LSM hook every file mapping goes through (vm_mmap_pgoff: mmap, i386's
 * mmap2 and old mmap, uselib, and an exec's loader, left out above) with the file the kernel is
 * mapping, not an fd read before it.
 */
static __always_inline int handle_mmap_file(struct file *fp, unsigned long prot, const bool cast,
                                            const bool legacy)
{
    struct task_struct *task;
    __u64 cgid;
    struct eg_verdict_cache *vc;
    if (!fp || !exec_prot_in_container(&prot, &task, &cgid, &vc, legacy) || in_exec(legacy))
        return 0;
    return mmap_of_file(task, cgid, vc, fp, prot, cast, legacy);
}

/* ---- mprotect(PROT_EXEC) of a file mapping ----------------------------------------------- */

/* A file opened by a stacking filesystem for its user (6.6+: overlayfs mappings). */
struct backing_file___eg {
    struct file file;
    struct path user_path;
} __attribute__((preserve_access_index));
/*
 * FMODE_BACKING moved (bit 25 in 6.6-6.13 upstream, bit 24 since 6.14 and in stable kernels
 * that took that change, Debian's 6.12.118 among them) and macros are not in BTF: the loader
 * sets both bits from 6.6 on (agent/kernel/bpf_rootfs.c), 0 before. Either bit may mean
 * something else on a given kernel, so a candidate user path is kept only when it is on
 * overlayfs and the mapped file itself is not.
 */
const volatile __u32 eg_fmode_backing = 0;

struct vma_file_ctx {
    struct file *file;
};

static long vma_file_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
    ((struct vma_file_ctx *)data)->file = vma->vm_file;
    return 0;
}

/* The mapping before 6.1's maple tree: an rbtree of VMAs (5.10, Amazon Linux 2). */
struct rb_root___eg {
    struct rb_node *rb_node;
};
struct mm_struct___rb {
    struct rb_root___eg mm_rb;
} __attribute__((preserve_access_index));
struct vm_area_struct___rb {
    unsigned long vm_start;
    unsigned long vm_end;
    struct rb_node vm_rb;
    struct file *vm_file;
} __attribute__((preserve_access_index));

#define EG_VMA_RB_DEPTH                                                                            \
    48 /* an rbtree of 2^24 VMAs is at most 48 deep; the default limit is 65,530 */

/*
 * find_vma() by hand for the legacy flavour (no bpf_find_vma before 5.17): the lowest VMA
 * that ends above `addr`, kept if it starts at or below it. NULL on a kernel without mm_rb
 * (the legacy twins forced on 6.1+: the maple tree is not walked; docs/rootfs.md).
 */
static __always_inline struct file *vma_file_legacy(struct task_struct *task, unsigned long addr)
{
    if (!bpf_core_field_exists(struct mm_struct___rb, mm_rb))
        return NULL;
    struct mm_struct___rb *mm = (void *)BPF_CORE_READ(task, mm);
    if (!mm)
        return NULL;
    struct rb_node *node = BPF_CORE_READ(mm, mm_rb.rb_node);
    unsigned long off = bpf_core_field_offset(struct vm_area_struct___rb, vm_rb);
    for (int i = 0; i < EG_VMA_RB_DEPTH && node; i++) {
        struct vm_area_struct___rb *vma = (void *)((char *)node - off);
        if (BPF_CORE_READ(vma, vm_end) > addr) {
            if (BPF_CORE_READ(vma, vm_start) <= addr)
                return BPF_CORE_READ(vma, vm_file);
            node = BPF_CORE_READ(node, rb_left);
        } else {
            node = BPF_CORE_READ(node, rb_right);
        }
    }
    return NULL;
}

/*
 * A mapping of `fp` made executable by mprotect. On overlayfs the mapping holds the upper or
 * lower layer's file, not the container's: its path as the container sees it is the file's
 * own on 6.1 and before (opened with the overlay path), the backing file's user path since 6.6.
 * That path's inode is the overlay inode the write was keyed by.
 */
static __always_inline int mprotect_exec_of_file(struct task_struct *task, __u64 cgid,
                                                 struct eg_verdict_cache *vc, struct file *fp,
                                                 unsigned long prot, const bool legacy)
{
    struct dentry *dentry = BPF_CORE_READ(fp, f_path.dentry);
    struct vfsmount *mnt = BPF_CORE_READ(fp, f_path.mnt);
    if (eg_fmode_backing && bpf_core_type_exists(struct backing_file___eg) &&
        (BPF_CORE_READ(fp, f_mode) & eg_fmode_backing) &&
        BPF_CORE_READ(dentry, d_sb, s_magic) != EG_OVERLAYFS_MAGIC) {
        struct backing_file___eg *bf = (void *)fp;
        struct dentry *user = BPF_CORE_READ(bf, user_path.dentry);
        if (user && BPF_CORE_READ(user, d_sb, s_magic) == EG_OVERLAYFS_MAGIC) {
            dentry = user;
            mnt = BPF_CORE_READ(bf, user_path.mnt);
        }
    }
    struct inode *inode = BPF_CORE_READ(dentry, d_inode);
    return exec_map_of(task, cgid, vc, dentry, mnt, BPF_CORE_READ(inode, i_ino),
                       BPF_CORE_READ(inode, i_sb, s_dev), (__u32)prot | EG_EXEC_MAP_MPROTECT,
                       legacy);
}

/*
 * mprotect(addr, len, PROT_EXEC...) at the syscall's tracepoint: a written file mapped
 * readable first and made executable after (issue 17 item 9) is the same new library as one
 * mapped executable at once. The VMA at `addr` names the file; anonymous memory (a JIT's pages)
 * has none and ends here.
 */
static __always_inline int handle_mprotect(unsigned long addr, unsigned long prot,
                                           const bool legacy)
{
    struct task_struct *task;
    __u64 cgid;
    struct eg_verdict_cache *vc;
    if (!exec_prot_in_container(&prot, &task, &cgid, &vc, legacy))
        return 0;
    struct file *fp;
    if (legacy) {
        fp = vma_file_legacy(task, addr);
    } else {
        struct vma_file_ctx ctx = {};
        bpf_find_vma(task, addr, vma_file_cb, &ctx, 0);
        fp = ctx.file;
    }
    if (!fp)
        return 0;
    return mprotect_exec_of_file(task, cgid, vc, fp, prot, legacy);
}

/*
 * The same where fentry loads, at the LSM hook mprotect calls for each VMA it changes: the VMA
 * comes with the call, no lookup. Not on the syscall's function: 5.10's BTF has its pt_regs
 * argument only as a declaration, and the verifier refuses to read it there.
 */
static __always_inline int handle_mprotect_vma(struct vm_area_struct *vma, unsigned long prot,
                                               const bool legacy)
{
    struct task_struct *task;
    __u64 cgid;
    struct eg_verdict_cache *vc;
    /* The kernel passes the protection it will set: READ_IMPLIES_EXEC is already in it. */
    if (!(prot & EG_PROT_EXEC) || !exec_prot_in_container(&prot, &task, &cgid, &vc, legacy))
        return 0;
    struct file *fp = BPF_CORE_READ(vma, vm_file);
    if (!fp)
        return 0;
    return mprotect_exec_of_file(task, cgid, vc, fp, prot, legacy);
}

/* Every flavour reads the file by probe-read (a rare path): "cast" only names the twin. */
#define MPROTECT_FLAVOUR(suffix, lg)                                                               \
    SEC("tracepoint/syscalls/sys_enter_mprotect")                                                  \
    int eg_rootfs_enter_mprotect##suffix(struct trace_event_raw_sys_enter *ctx)                    \
    {                                                                                              \
        return handle_mprotect(ctx->args[0], ctx->args[2], lg);                                    \
    }                                                                                              \
    SEC("fentry/security_file_mprotect")                                                           \
    int BPF_PROG(eg_rootfs_fn_enter_mprotect##suffix, struct vm_area_struct *vma,                  \
                 unsigned long reqprot, unsigned long prot)                                        \
    {                                                                                              \
        return handle_mprotect_vma(vma, prot, lg);                                                 \
    }

MPROTECT_FLAVOUR(, false)
MPROTECT_FLAVOUR(_pr, false)
MPROTECT_FLAVOUR(_pr_lg, true)

#define MMAP_FLAVOUR(suffix, cast, lg)                                                             \
    SEC("tracepoint/syscalls/sys_enter_mmap")                                                      \
    int eg_rootfs_enter_mmap##suffix(struct trace_event_raw_sys_enter *ctx)                        \
    {                                                                                              \
        return handle_mmap(ctx->args[2], (long)ctx->args[4], cast, lg);                            \
    }                                                                                              \
    SEC("fentry/security_mmap_file")                                                               \
    int BPF_PROG(eg_rootfs_fn_enter_mmap##suffix, struct file *file, unsigned long prot,           \
                 unsigned long flags)                                                              \
    {                                                                                              \
        return handle_mmap_file(file, prot, cast, lg);                                             \
    }

MMAP_FLAVOUR(, true, false)
MMAP_FLAVOUR(_pr, false, false)
MMAP_FLAVOUR(_pr_lg, false, true)
