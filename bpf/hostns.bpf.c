// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Host namespaces and what a task container does to processes outside it.
 *
 *   setns            enter: note the fd's namespace (nsfs file or pidfd) and
 *                    which kinds were already the host's; exit: on success,
 *                    send the kinds that are now the host's (EG_EVENT_NS_ENTER)
 *   ptrace           attach, seize, poke (text/data/user), set registers
 *   process_vm_writev
 *   kill/tkill/tgkill/pidfd_send_signal (signal != 0)
 *   openat/openat2   exit: /proc/<pid>/mem opened for writing
 *
 * Only syscall-specific tracepoints (the generic sys_enter/sys_exit would run
 * for every syscall of every process). The target is resolved here, at the
 * call, in the caller's own pid namespace (bpf/pid.bpf.h, the same code on
 * every kernel): host pid, start time and cgroup, so userspace never guesses
 * from a pid that may have been reused. A target in the caller's own cgroup is filtered here
 * (shells signal their children all the time); whether another container belongs to the same ECS
 * task is decided in userspace, which knows the task ids.
 *
 * Every program has a twin "<program>_lg" for the legacy task-access flavour
 * (bpf/task.bpf.h; kernels before 5.11/5.15/5.17, e.g. 5.10).
 */
#include "common.bpf.h"
#include "namespaces.bpf.h"

#define EG_PROC_SUPER_MAGIC 0x9fa0
#define EG_FMODE_WRITE 0x2

#define EG_PTRACE_POKETEXT 4
#define EG_PTRACE_POKEDATA 5
#define EG_PTRACE_POKEUSR 6
#define EG_PTRACE_SETREGS 13
#define EG_PTRACE_SETFPREGS 15
#define EG_PTRACE_ATTACH 16
#define EG_PTRACE_SETREGSET 0x4205
#define EG_PTRACE_SEIZE 0x4206

#define EG_SETNS_INFLIGHT 4096
#define EG_HOSTNS_DEDUP 8192
#define EG_HOSTNS_DEDUP_NS 1000000000ULL /* repeats of one access within this are counted */

/* What setns's enter saw, for its exit. Keyed by thread id. */
struct eg_setns_inflight {
    __u64 target_start_time_ns;
    __u64 target_cgroup_id;
    __u32 nstype;
    __u32 was_host;
    __u32 ns_type;
    __u32 ns_inum;
    __u32 target_tgid;
    __u32 target_flags;
    __u32 target_pid_ns_inum;
    __u32 _pad0;
    char target_comm[EG_COMM_LEN];
    char target_exe[EG_PATH_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, EG_SETNS_INFLIGHT);
    __type(key, __u32);
    __type(value, struct eg_setns_inflight);
} eg_setns_inflight SEC(".maps");

/* Each (caller cgroup, action, arg, target): when it was last sent, and the repeats absorbed. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, EG_HOSTNS_DEDUP);
    __type(key, struct eg_hostns_dedup_key);
    __type(value, struct eg_hostns_dedup_val);
} eg_hostns_dedup SEC(".maps");

/* Caller filters shared by every program: container, set-up. Returns the cgroup or 0. */
static __always_inline __u64 caller_in_container(struct task_struct *task, __u32 kind,
                                                 const bool legacy)
{
    __u64 cgid;
    if (!eg_current_container(task, &cgid, legacy))
        return 0;
    eg_count_seen(kind);
    if (eg_in_setup(task, legacy)) {
        eg_count_filtered(kind, EG_FILTER_SETUP);
        return 0;
    }
    return cgid;
}

/* ---- setns ------------------------------------------------------------------------------ */

/* Built here, then copied into eg_setns_inflight (too big for the BPF stack). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct eg_setns_inflight);
} eg_setns_scratch SEC(".maps");

static __always_inline int setns_enter(struct trace_event_raw_sys_enter *ctx, const bool legacy)
{
    struct task_struct *task = eg_current_task(legacy);
    __u64 cgid;
    if (!eg_current_container(task, &cgid, legacy))
        return 0;
    /* seen/filtered are counted at exit, once the outcome is known; set-up is decided here. */
    if (eg_in_setup(task, legacy)) {
        eg_count_seen(EG_EVENT_NS_ENTER);
        eg_count_filtered(EG_EVENT_NS_ENTER, EG_FILTER_SETUP);
        return 0;
    }
    __u32 zero = 0;
    struct eg_setns_inflight *in = bpf_map_lookup_elem(&eg_setns_scratch, &zero);
    if (!in)
        return 0;
    __builtin_memset(in, 0, sizeof(*in));
    in->nstype = (__u32)ctx->args[1];
    in->was_host = host_ns_mask(task);
    struct file *f = eg_fd_file(task, (long)ctx->args[0]);
    struct inode *ino = f ? BPF_CORE_READ(f, f_inode) : NULL;
    if (ino && BPF_CORE_READ(ino, i_sb, s_magic) == EG_NSFS_MAGIC) {
        struct ns_common *ns = BPF_CORE_READ(ino, i_private);
        in->ns_type = eg_ns_type(ns);
        in->ns_inum = BPF_CORE_READ(ns, inum);
        in->target_flags |= EG_TGT_NSFS;
    } else if (ino) {
        struct task_struct *t = task_of_pid(pidfd_struct_pid(f));
        if (t) {
            in->target_flags |= EG_TGT_PIDFD | EG_TGT_RESOLVED;
            in->target_tgid = BPF_CORE_READ(t, tgid);
            in->target_start_time_ns = BPF_CORE_READ(t, group_leader, start_boottime);
            in->target_cgroup_id = eg_task_container_cgroup_id(t);
            BPF_CORE_READ_STR_INTO(&in->target_comm, t, group_leader, comm);
            if (active_pidns_is_host(t))
                in->target_flags |= EG_TGT_HOST_PIDNS;
            in->target_pid_ns_inum = pid_ns_inum(t);
            struct file *exe = BPF_CORE_READ(t, mm, exe_file);
            if (exe)
                eg_file_path(t, exe, in->target_exe, legacy);
        }
    }
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    bpf_map_update_elem(&eg_setns_inflight, &tid, in, BPF_ANY);
    return 0;
}

static __always_inline int setns_exit(struct trace_event_raw_sys_exit *ctx, const bool legacy)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct eg_setns_inflight *in = bpf_map_lookup_elem(&eg_setns_inflight, &tid);
    if (!in)
        return 0;
    eg_count_seen(EG_EVENT_NS_ENTER);
    /* nstype 0 with a namespace file means "whatever kind it is". */
    __u32 requested = in->nstype ? in->nstype : in->ns_type;
    struct task_struct *task = eg_current_task(legacy);
    __u32 entered = ctx->ret == 0 ? host_ns_mask(task) & requested & EG_NS_WATCHED : 0;
    if (!entered) {
        eg_count_filtered(EG_EVENT_NS_ENTER, EG_FILTER_NO_EFFECT);
        bpf_map_delete_elem(&eg_setns_inflight, &tid);
        return 0;
    }
    struct eg_hostns_event *e = eg_reserve(EG_EVENT_NS_ENTER, sizeof(*e));
    if (!e) {
        bpf_map_delete_elem(&eg_setns_inflight, &tid);
        return 0;
    }
    /* The caller's container, as every verdict names it: its home when it was moved away. */
    eg_fill_header(&e->hdr, task,
                   eg_home_or(task, eg_current_cgroup_id(task, legacy), false, legacy),
                   EG_EVENT_NS_ENTER, sizeof(*e));
    e->target_start_time_ns = in->target_start_time_ns;
    e->target_cgroup_id = in->target_cgroup_id;
    e->action = EG_ACT_SETNS;
    e->arg = in->nstype;
    e->target_vpid = 0;
    e->target_tgid = in->target_tgid;
    e->target_flags = in->target_flags;
    e->ns_type = in->ns_type;
    e->ns_inum = in->ns_inum;
    e->ns_entered = entered;
    e->ns_was_host = in->was_host & entered;
    e->target_pid_ns_inum = in->target_pid_ns_inum;
    e->dedup_repeats = 0;
    e->_pad0 = 0;
    __builtin_memcpy(e->target_comm, in->target_comm, sizeof(e->target_comm));
    __builtin_memcpy(e->target_exe, in->target_exe, sizeof(e->target_exe));
    /* Only now: the value's memory may be reused once the entry is deleted. */
    bpf_map_delete_elem(&eg_setns_inflight, &tid);
    /* Rare and severe: wake the reader now. */
    eg_submit(e, EG_EVENT_NS_ENTER, true);
    return 0;
}

/* Each program and its legacy twin: `body` is called with the flavour. */
#define HOSTNS_PROG(tp, name, ctx_type, body)                                                      \
    SEC("tracepoint/syscalls/" tp)                                                                 \
    int name(ctx_type *ctx)                                                                        \
    {                                                                                              \
        return body(ctx, false);                                                                   \
    }                                                                                              \
    SEC("tracepoint/syscalls/" tp)                                                                 \
    int name##_lg(ctx_type *ctx)                                                                   \
    {                                                                                              \
        return body(ctx, true);                                                                    \
    }

HOSTNS_PROG("sys_enter_setns", eg_setns_enter, struct trace_event_raw_sys_enter, setns_enter)
HOSTNS_PROG("sys_exit_setns", eg_setns_exit, struct trace_event_raw_sys_exit, setns_exit)

/* ---- process access --------------------------------------------------------------------- */

/*
 * Report `action` by the current task on `target` (resolved by bpf/pid.bpf.h;
 * NULL only for kill(-1), which has no single target). The caller has passed
 * caller_in_container().
 */
static __always_inline int report_access(struct task_struct *task, __u64 cgid, __u32 action,
                                         __u32 arg, __s32 vpid, struct task_struct *target,
                                         __u32 tflags, const bool legacy)
{
    struct eg_hostns_dedup_key key = {};
    key.cgroup_id = cgid;
    key.action = action;
    key.arg = arg;
    __u64 tcg = 0;
    if (target) {
        tcg = eg_task_container_cgroup_id(target);
        if (tcg == cgid) {
            eg_count_filtered(EG_EVENT_PROC_ACCESS, EG_FILTER_SAME_CONTAINER);
            return 0;
        }
        key.target_tgid = BPF_CORE_READ(target, tgid);
        key.target_start_time_ns = BPF_CORE_READ(target, group_leader, start_boottime);
        tflags |= EG_TGT_RESOLVED;
        if (active_pidns_is_host(target))
            tflags |= EG_TGT_HOST_PIDNS;
    } else {
        key.target_tgid = (__u32)vpid;
    }

    __u64 now = bpf_ktime_get_boot_ns();
    __u64 repeats = 0;
    struct eg_hostns_dedup_val *last = bpf_map_lookup_elem(&eg_hostns_dedup, &key);
    if (last && now - last->last_sent_ns < EG_HOSTNS_DEDUP_NS) {
        /* Counted, not lost: the agent folds the growth into the finding each second. */
        __sync_fetch_and_add(&last->repeats, 1);
        eg_count_deduplicated(EG_EVENT_PROC_ACCESS);
        return 0;
    }
    if (last) {
        /* Sent again after the window: the key and its repeat count carry on. */
        last->last_sent_ns = now;
        repeats = last->repeats;
    } else {
        struct eg_hostns_dedup_val v = {.last_sent_ns = now};
        if (bpf_map_update_elem(&eg_hostns_dedup, &key, &v, BPF_ANY) != 0) {
            struct eg_counters *c = eg_counters_get();
            if (c)
                c->filter_reason[EG_FILTER_DEDUP_FULL]++;
        }
    }

    struct eg_hostns_event *e = eg_reserve(EG_EVENT_PROC_ACCESS, sizeof(*e));
    if (!e)
        return 0;
    eg_fill_header(&e->hdr, task, cgid, EG_EVENT_PROC_ACCESS, sizeof(*e));
    e->target_start_time_ns = key.target_start_time_ns;
    e->target_cgroup_id = tcg;
    e->action = action;
    e->arg = arg;
    e->target_vpid = vpid;
    e->target_tgid = target ? key.target_tgid : 0;
    e->target_flags = tflags;
    e->ns_type = 0;
    e->ns_inum = 0;
    e->ns_entered = 0;
    e->ns_was_host = 0;
    e->target_pid_ns_inum = target ? pid_ns_inum(target) : 0;
    e->dedup_repeats = (__u32)repeats;
    e->_pad0 = 0;
    e->target_comm[0] = '\0';
    e->target_exe[0] = '\0';
    if (target) {
        BPF_CORE_READ_STR_INTO(&e->target_comm, target, group_leader, comm);
        struct file *exe = BPF_CORE_READ(target, mm, exe_file);
        if (exe)
            eg_file_path(target, exe, e->target_exe, legacy);
    }
    eg_submit(e, EG_EVENT_PROC_ACCESS, false);
    return 0;
}

/*
 * Access to the process `vpid` names in the caller's pid namespace. No such
 * process: the call fails with ESRCH and nothing happened.
 */
static __always_inline int access_vpid(__u32 action, __u32 arg, __s32 vpid, __u32 tflags,
                                       const bool legacy)
{
    struct task_struct *task = eg_current_task(legacy);
    __u64 cgid = caller_in_container(task, EG_EVENT_PROC_ACCESS, legacy);
    if (!cgid)
        return 0;
    if (vpid <= 0) {
        eg_count_filtered(EG_EVENT_PROC_ACCESS, EG_FILTER_NO_EFFECT);
        return 0;
    }
    struct task_struct *target = eg_task_by_vpid(task, vpid);
    if (!target) {
        eg_count_filtered(EG_EVENT_PROC_ACCESS, EG_FILTER_NO_EFFECT);
        return 0;
    }
    return report_access(task, cgid, action, arg, vpid, target, tflags, legacy);
}

static __always_inline bool ptrace_request_watched(long req)
{
    switch (req) {
    case EG_PTRACE_POKETEXT:
    case EG_PTRACE_POKEDATA:
    case EG_PTRACE_POKEUSR:
    case EG_PTRACE_SETREGS:
    case EG_PTRACE_SETFPREGS:
    case EG_PTRACE_ATTACH:
    case EG_PTRACE_SETREGSET:
    case EG_PTRACE_SEIZE:
        return true;
    default:
        return false;
    }
}

static __always_inline int ptrace_enter(struct trace_event_raw_sys_enter *ctx, const bool legacy)
{
    long req = (long)ctx->args[0];
    if (!ptrace_request_watched(req))
        return 0;
    return access_vpid(EG_ACT_PTRACE, (__u32)req, (__s32)ctx->args[1], 0, legacy);
}
HOSTNS_PROG("sys_enter_ptrace", eg_ptrace_enter, struct trace_event_raw_sys_enter, ptrace_enter)

static __always_inline int vm_writev_enter(struct trace_event_raw_sys_enter *ctx, const bool legacy)
{
    return access_vpid(EG_ACT_VM_WRITE, 0, (__s32)ctx->args[0], 0, legacy);
}
HOSTNS_PROG("sys_enter_process_vm_writev", eg_vm_writev_enter, struct trace_event_raw_sys_enter,
            vm_writev_enter)

static __always_inline int kill_enter(struct trace_event_raw_sys_enter *ctx, const bool legacy)
{
    int sig = (int)ctx->args[1];
    if (sig == 0)
        return 0; /* existence probe, nothing is delivered */
    __s32 pid = (__s32)ctx->args[0];
    if (pid == -1) {
        /* Every process the caller may signal: the host's when it shares the host pid ns. */
        struct task_struct *task = eg_current_task(legacy);
        __u64 cgid = caller_in_container(task, EG_EVENT_PROC_ACCESS, legacy);
        if (!cgid)
            return 0;
        if (!active_pidns_is_host(task)) {
            /* Its own pid namespace only: its own task's processes. */
            eg_count_filtered(EG_EVENT_PROC_ACCESS, EG_FILTER_SAME_CONTAINER);
            return 0;
        }
        return report_access(task, cgid, EG_ACT_KILL, (__u32)sig, -1, NULL,
                             EG_TGT_ALL | EG_TGT_HOST_PIDNS, legacy);
    }
    if (pid == 0) {
        /* Its own process group: runc makes every container init a session leader. */
        struct task_struct *task = eg_current_task(legacy);
        if (caller_in_container(task, EG_EVENT_PROC_ACCESS, legacy))
            eg_count_filtered(EG_EVENT_PROC_ACCESS, EG_FILTER_SAME_CONTAINER);
        return 0;
    }
    if (pid < 0)
        return access_vpid(EG_ACT_KILL, (__u32)sig, -pid, EG_TGT_GROUP, legacy);
    return access_vpid(EG_ACT_KILL, (__u32)sig, pid, 0, legacy);
}
HOSTNS_PROG("sys_enter_kill", eg_kill_enter, struct trace_event_raw_sys_enter, kill_enter)

static __always_inline int tkill_enter(struct trace_event_raw_sys_enter *ctx, const bool legacy)
{
    int sig = (int)ctx->args[1];
    if (sig == 0)
        return 0;
    return access_vpid(EG_ACT_TKILL, (__u32)sig, (__s32)ctx->args[0], 0, legacy);
}
HOSTNS_PROG("sys_enter_tkill", eg_tkill_enter, struct trace_event_raw_sys_enter, tkill_enter)

/* tgkill(tgid, tid, sig): the thread is what is signalled. */
static __always_inline int tgkill_enter(struct trace_event_raw_sys_enter *ctx, const bool legacy)
{
    int sig = (int)ctx->args[2];
    if (sig == 0)
        return 0;
    return access_vpid(EG_ACT_TKILL, (__u32)sig, (__s32)ctx->args[1], 0, legacy);
}
HOSTNS_PROG("sys_enter_tgkill", eg_tgkill_enter, struct trace_event_raw_sys_enter, tgkill_enter)

static __always_inline int pidfd_signal_enter(struct trace_event_raw_sys_enter *ctx,
                                              const bool legacy)
{
    int sig = (int)ctx->args[1];
    if (sig == 0)
        return 0;
    struct task_struct *task = eg_current_task(legacy);
    __u64 cgid = caller_in_container(task, EG_EVENT_PROC_ACCESS, legacy);
    if (!cgid)
        return 0;
    struct file *f = eg_fd_file(task, (long)ctx->args[0]);
    struct task_struct *target = task_of_pid(pidfd_struct_pid(f));
    if (!target) {
        eg_count_filtered(EG_EVENT_PROC_ACCESS, EG_FILTER_NO_EFFECT);
        return 0;
    }
    return report_access(task, cgid, EG_ACT_PIDFD_SIGNAL, (__u32)sig, 0, target, EG_TGT_PIDFD,
                         legacy);
}
HOSTNS_PROG("sys_enter_pidfd_send_signal", eg_pidfd_signal_enter, struct trace_event_raw_sys_enter,
            pidfd_signal_enter)

/*
 * /proc/<pid>/mem opened for writing. sys_exit_openat runs for every open on
 * the host: failed opens and callers outside task containers leave first,
 * then read-only opens; only then the file's super block and name.
 */
static __always_inline int proc_mem_open(long ret, const bool legacy)
{
    if (ret < 0)
        return 0;
    struct task_struct *task = eg_current_task(legacy);
    __u64 cgid;
    if (!eg_current_container(task, &cgid, legacy))
        return 0;
    struct file *fp = eg_current_fd_file(task, ret, legacy);
    if (!fp)
        return 0;
    /* CO-RE reads (not bpf_rdonly_cast, 6.2+): one code path on every kernel. Only write
     * opens in containers get this far. */
    if (!(BPF_CORE_READ(fp, f_mode) & EG_FMODE_WRITE))
        return 0;
    if (BPF_CORE_READ(fp, f_inode, i_sb, s_magic) != EG_PROC_SUPER_MAGIC)
        return 0;
    char name[4] = {};
    bpf_probe_read_kernel(name, sizeof(name), BPF_CORE_READ(fp, f_path.dentry, d_name.name));
    if (name[0] != 'm' || name[1] != 'e' || name[2] != 'm' || name[3] != '\0')
        return 0;
    eg_count_seen(EG_EVENT_PROC_ACCESS);
    if (eg_in_setup(task, legacy)) {
        eg_count_filtered(EG_EVENT_PROC_ACCESS, EG_FILTER_SETUP);
        return 0;
    }
    struct proc_inode *pi = container_of(BPF_CORE_READ(fp, f_inode), struct proc_inode, vfs_inode);
    struct task_struct *target = task_of_pid(BPF_CORE_READ(pi, pid));
    if (!target) {
        eg_count_filtered(EG_EVENT_PROC_ACCESS, EG_FILTER_NO_EFFECT);
        return 0;
    }
    __u32 flags = BPF_CORE_READ(fp, f_flags);
    return report_access(task, cgid, EG_ACT_PROC_MEM, flags, 0, target, 0, legacy);
}

static __always_inline int openat_exit(struct trace_event_raw_sys_exit *ctx, const bool legacy)
{
    if (ctx->ret < 0)
        return 0;
    /*
     * Most opens are read-only: leave on the flags (re-read from the syscall's saved user
     * registers, two loads) before the container lookup. Writing /proc/<pid>/mem needs
     * O_WRONLY or O_RDWR. openat2 keeps its flags in user memory: it takes the full path.
     */
    struct pt_regs *regs = eg_syscall_regs(ctx->id, legacy);
    if (legacy && !regs)
        return 0;
    if (!(EG_SYSCALL_ARG(legacy, regs, 3) & (EG_O_WRONLY | EG_O_RDWR)))
        return 0;
    return proc_mem_open(ctx->ret, legacy);
}
HOSTNS_PROG("sys_exit_openat", eg_openat_exit, struct trace_event_raw_sys_exit, openat_exit)

static __always_inline int openat2_exit(struct trace_event_raw_sys_exit *ctx, const bool legacy)
{
    return proc_mem_open(ctx->ret, legacy);
}
HOSTNS_PROG("sys_exit_openat2", eg_openat2_exit, struct trace_event_raw_sys_exit, openat2_exit)
