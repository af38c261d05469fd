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
 *   openat/openat2   exit: /proc/<pid>/mem opened for writing (fentry: mem_open)
 *
 * Two attachments of the same bodies (the agent loads one, agent/kernel/bpf_hostns.c):
 *
 *   fentry   fentry/fexit on the syscalls' own functions (__x64_sys_setns, ...) and fexit on
 *            mem_open, the open of /proc/<pid>/mem only. No syscall tracepoint: once any
 *            syscalls/sys_* program is attached, the kernel sends every syscall of every task
 *            on the host through the tracing slow path (getppid 1.13x, docs/performance.md).
 *            A trampoline runs only for the hooked call itself.
 *   syscalls the syscall-specific tracepoints (never the generic sys_enter/sys_exit), for
 *            kernels that refuse fentry.
 *
 * Both see the same arguments at the same moments (the syscall function is what the
 * tracepoint's syscall calls); 32-bit compat syscalls reach neither (x86 syscall tracepoints
 * ignore them, and the __ia32_sys_ functions are not hooked). The target is resolved here, at the
 * call, in the caller's own pid namespace (bpf/pid.bpf.h, the same code on
 * every kernel): host pid, start time and cgroup, so userspace never guesses
 * from a pid that may have been reused. A target in the caller's own cgroup is filtered here
 * (shells signal their children all the time); whether another container belongs to the same ECS
 * task is decided in userspace, which knows the task ids.
 *
 * Every program has a twin "<program>_lg" for the legacy task-access flavour
 * (bpf/task.bpf.h; kernels before 5.11/5.15/5.17, e.g. 5.10).
 *
 * (Over 500 lines: one concern, whose bodies are each attached two ways with a legacy twin
 * of each; the helpers it shares with other objects already live in the headers.)
 */
#include "common.bpf.h"
#include "namespaces.bpf.h"

#define EG_PROC_SUPER_MAGIC 0x9fa0

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

static __always_inline int setns_enter(long fd, long nstype, long unused, const bool legacy)
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
    in->nstype = (__u32)nstype;
    in->was_host = host_ns_mask(task);
    struct file *f = eg_fd_file(task, fd);
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

static __always_inline int setns_exit(long ret, const bool legacy)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct eg_setns_inflight *in = bpf_map_lookup_elem(&eg_setns_inflight, &tid);
    if (!in)
        return 0;
    eg_count_seen(EG_EVENT_NS_ENTER);
    /* nstype 0 with a namespace file means "whatever kind it is". */
    __u32 requested = in->nstype ? in->nstype : in->ns_type;
    struct task_struct *task = eg_current_task(legacy);
    __u32 entered = ret == 0 ? host_ns_mask(task) & requested & EG_NS_WATCHED : 0;
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

/*
 * Each body under both attachments, each with its legacy twin; the body is called with the
 * syscall's first three arguments (or its return value) and the flavour.
 *
 * The syscall functions take the task's saved user registers (`const struct pt_regs *`, a BTF
 * pointer: the arguments are direct loads in both flavours; EG_SYSCALL_FN, task.bpf.h).
 */
/*
 * The legacy fentry twins (5.10) do not read the registers from the argument: 5.10's verifier
 * refuses any read of an argument whose BTF type is a pointer to a forward declaration, which
 * `struct pt_regs` is in some syscalls' compilation units (process_vm_writev on Debian's
 * 5.10: "arg0 type FWD is not a struct"). They find the registers where task_pt_regs() does
 * (eg_syscall_regs_legacy, task.bpf.h), checked against the syscall's number `nr`.
 */
#if defined(__TARGET_ARCH_x86)
#define EG_NR(x86, arm64) (x86)
#elif defined(__TARGET_ARCH_arm64)
#define EG_NR(x86, arm64) (arm64)
#else
#define EG_NR(x86, arm64) (-1)
#endif

#define HOSTNS_ENTER(sys, nr, name, body)                                                          \
    SEC("tracepoint/syscalls/sys_enter_" sys)                                                      \
    int name(struct trace_event_raw_sys_enter *ctx)                                                \
    {                                                                                              \
        return body(ctx->args[0], ctx->args[1], ctx->args[2], false);                              \
    }                                                                                              \
    SEC("tracepoint/syscalls/sys_enter_" sys)                                                      \
    int name##_lg(struct trace_event_raw_sys_enter *ctx)                                           \
    {                                                                                              \
        return body(ctx->args[0], ctx->args[1], ctx->args[2], true);                               \
    }                                                                                              \
    SEC("fentry/" EG_SYSCALL_FN(sys))                                                              \
    int BPF_PROG(name##_fn, const struct pt_regs *regs)                                            \
    {                                                                                              \
        return body(PT_REGS_PARM1_SYSCALL(regs), PT_REGS_PARM2_SYSCALL(regs),                      \
                    PT_REGS_PARM3_SYSCALL(regs), false);                                           \
    }                                                                                              \
    SEC("fentry/" EG_SYSCALL_FN(sys))                                                              \
    int name##_fn_lg(void *ctx)                                                                    \
    {                                                                                              \
        struct pt_regs *regs = eg_syscall_regs(nr, true);                                          \
        if (!regs)                                                                                 \
            return 0;                                                                              \
        return body(PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs),            \
                    PT_REGS_PARM3_CORE_SYSCALL(regs), true);                                       \
    }

HOSTNS_ENTER("setns", EG_NR(308, 268), eg_setns_enter, setns_enter)

SEC("tracepoint/syscalls/sys_exit_setns")
int eg_setns_exit(struct trace_event_raw_sys_exit *ctx)
{
    return setns_exit(ctx->ret, false);
}
SEC("tracepoint/syscalls/sys_exit_setns")
int eg_setns_exit_lg(struct trace_event_raw_sys_exit *ctx)
{
    return setns_exit(ctx->ret, true);
}
SEC("fexit/" EG_SYSCALL_FN("setns"))
int BPF_PROG(eg_setns_exit_fn, const struct pt_regs *regs, long ret)
{
    return setns_exit(ret, false);
}
/* The return value only: the argument is not read (see EG_NR above). */
SEC("fexit/" EG_SYSCALL_FN("setns"))
int eg_setns_exit_fn_lg(unsigned long long *ctx)
{
    return setns_exit((long)ctx[1], true);
}

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

static __always_inline int ptrace_enter(long req, long pid, long unused, const bool legacy)
{
    if (!ptrace_request_watched(req))
        return 0;
    return access_vpid(EG_ACT_PTRACE, (__u32)req, (__s32)pid, 0, legacy);
}
HOSTNS_ENTER("ptrace", EG_NR(101, 117), eg_ptrace_enter, ptrace_enter)

static __always_inline int vm_writev_enter(long pid, long unused1, long unused2, const bool legacy)
{
    return access_vpid(EG_ACT_VM_WRITE, 0, (__s32)pid, 0, legacy);
}
HOSTNS_ENTER("process_vm_writev", EG_NR(311, 271), eg_vm_writev_enter, vm_writev_enter)

static __always_inline int kill_enter(long pid_arg, long sig_arg, long unused, const bool legacy)
{
    int sig = (int)sig_arg;
    if (sig == 0)
        return 0; /* existence probe, nothing is delivered */
    __s32 pid = (__s32)pid_arg;
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
HOSTNS_ENTER("kill", EG_NR(62, 129), eg_kill_enter, kill_enter)

static __always_inline int tkill_enter(long tid, long sig, long unused, const bool legacy)
{
    if ((int)sig == 0)
        return 0;
    return access_vpid(EG_ACT_TKILL, (__u32)sig, (__s32)tid, 0, legacy);
}
HOSTNS_ENTER("tkill", EG_NR(200, 130), eg_tkill_enter, tkill_enter)

/* tgkill(tgid, tid, sig): the thread is what is signalled. */
static __always_inline int tgkill_enter(long tgid, long tid, long sig, const bool legacy)
{
    if ((int)sig == 0)
        return 0;
    return access_vpid(EG_ACT_TKILL, (__u32)sig, (__s32)tid, 0, legacy);
}
HOSTNS_ENTER("tgkill", EG_NR(234, 131), eg_tgkill_enter, tgkill_enter)

static __always_inline int pidfd_signal_enter(long pidfd, long sig_arg, long unused,
                                              const bool legacy)
{
    int sig = (int)sig_arg;
    if (sig == 0)
        return 0;
    struct task_struct *task = eg_current_task(legacy);
    __u64 cgid = caller_in_container(task, EG_EVENT_PROC_ACCESS, legacy);
    if (!cgid)
        return 0;
    struct file *f = eg_fd_file(task, pidfd);
    struct task_struct *target = task_of_pid(pidfd_struct_pid(f));
    if (!target) {
        eg_count_filtered(EG_EVENT_PROC_ACCESS, EG_FILTER_NO_EFFECT);
        return 0;
    }
    return report_access(task, cgid, EG_ACT_PIDFD_SIGNAL, (__u32)sig, 0, target, EG_TGT_PIDFD,
                         legacy);
}
HOSTNS_ENTER("pidfd_send_signal", EG_NR(424, 424), eg_pidfd_signal_enter, pidfd_signal_enter)

/*
 * /proc/<pid>/mem file `fp`, opened by the current task (in a task container, cgroup `cgid`):
 * reported when it is open for writing.
 */
static __always_inline int proc_mem_file(struct task_struct *task, __u64 cgid, struct file *fp,
                                         const bool legacy)
{
    /* Reached by mem files only: CO-RE reads, one code path on every kernel. */
    if (!(BPF_CORE_READ(fp, f_mode) & EG_FMODE_WRITE))
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

/*
 * At the exit of openat/openat2 (syscall tracepoints), which run for every open on the host:
 * failed opens and callers outside task containers leave first; then every write open in a
 * container reads its file's super block, a chain of three fields. `cast`: read them as direct
 * loads through bpf_rdonly_cast (6.2+; the "_cast" twins, chosen where the kernel has the
 * kfunc), else one bpf_probe_read_kernel each (~25 ns apiece on the benchmark VM: 139 against
 * 215 ns per container write open on this project's 6.18 host). The file's own mode is checked
 * once it is known to be a mem file (proc_mem_file).
 */
static __always_inline int proc_mem_open(long ret, const bool cast, const bool legacy)
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
    struct dentry *dentry;
    if (cast) {
        struct file *f = eg_file_btf(fp);
        if (!f || f->f_inode->i_sb->s_magic != EG_PROC_SUPER_MAGIC)
            return 0;
        dentry = f->f_path.dentry;
    } else {
        if (BPF_CORE_READ(fp, f_inode, i_sb, s_magic) != EG_PROC_SUPER_MAGIC)
            return 0;
        dentry = BPF_CORE_READ(fp, f_path.dentry);
    }
    char name[4] = {};
    bpf_probe_read_kernel(name, sizeof(name), BPF_CORE_READ(dentry, d_name.name));
    if (name[0] != 'm' || name[1] != 'e' || name[2] != 'm' || name[3] != '\0')
        return 0;
    return proc_mem_file(task, cgid, fp, legacy);
}

/*
 * openat(2) and open(2) (x86_64), whose flags are argument `flags_arg` (3 and 2). Most opens
 * are read-only: leave on the flags (re-read from the syscall's saved user registers, two
 * loads) before the container lookup. Writing /proc/<pid>/mem needs O_WRONLY or O_RDWR.
 */
static __always_inline int flagged_open_exit(struct trace_event_raw_sys_exit *ctx, int flags_arg,
                                             const bool cast, const bool legacy)
{
    if (ctx->ret < 0)
        return 0;
    struct pt_regs *regs = eg_syscall_regs(ctx->id, legacy);
    if (legacy && !regs)
        return 0;
    __u64 flags =
        flags_arg == 2 ? EG_SYSCALL_ARG(legacy, regs, 2) : EG_SYSCALL_ARG(legacy, regs, 3);
    if (!(flags & (EG_O_WRONLY | EG_O_RDWR)))
        return 0;
    return proc_mem_open(ctx->ret, cast, legacy);
}

static __always_inline int openat_exit(struct trace_event_raw_sys_exit *ctx, const bool cast,
                                       const bool legacy)
{
    return flagged_open_exit(ctx, 3, cast, legacy);
}

static __always_inline int open_exit(struct trace_event_raw_sys_exit *ctx, const bool cast,
                                     const bool legacy)
{
    return flagged_open_exit(ctx, 2, cast, legacy);
}

/*
 * openat2, whose flags are in the caller's memory, and creat(2) (x86_64), always O_WRONLY:
 * every one that succeeds by a contained process. `creat("/proc/1/mem", 0)` opens the existing
 * file for writing like an open with O_WRONLY|O_CREAT|O_TRUNC.
 */
static __always_inline int any_open_exit(struct trace_event_raw_sys_exit *ctx, const bool cast,
                                         const bool legacy)
{
    return proc_mem_open(ctx->ret, cast, legacy);
}

/*
 * The tracepoint programs, their bpf_rdonly_cast twins (`name`_cast, the agent loads them
 * instead where the kernel has the kfunc) and their legacy twins: `body` is called with the
 * flavour.
 */
#define HOSTNS_EXIT_TP(tp, name, body)                                                             \
    SEC("tracepoint/syscalls/" tp)                                                                 \
    int name(struct trace_event_raw_sys_exit *ctx)                                                 \
    {                                                                                              \
        return body(ctx, false, false);                                                            \
    }                                                                                              \
    SEC("tracepoint/syscalls/" tp)                                                                 \
    int name##_cast(struct trace_event_raw_sys_exit *ctx)                                          \
    {                                                                                              \
        return body(ctx, true, false);                                                             \
    }                                                                                              \
    SEC("tracepoint/syscalls/" tp)                                                                 \
    int name##_lg(struct trace_event_raw_sys_exit *ctx)                                            \
    {                                                                                              \
        return body(ctx, false, true);                                                             \
    }

HOSTNS_EXIT_TP("sys_exit_openat", eg_openat_exit, openat_exit)
HOSTNS_EXIT_TP("sys_exit_openat2", eg_openat2_exit, any_open_exit)
HOSTNS_EXIT_TP("sys_exit_open", eg_open_exit, open_exit)
HOSTNS_EXIT_TP("sys_exit_creat", eg_creat_exit, any_open_exit)

/*
 * The same check, tail-called by the root filesystem concern's open exits (bpf/rootfs.bpf.c,
 * eg_open_tails) for every successful open by a contained process that asked to write (every
 * one, for openat2), where both concerns run on the syscall tracepoints: then the programs
 * above are not attached and a host process's open decides its container verdict once, not
 * twice. Loaded, never attached (agent/kernel/bpf_hostns.c); the section only gives the type.
 */
HOSTNS_EXIT_TP("sys_exit_openat", eg_proc_mem_tail, any_open_exit)

/*
 * The fentry attachment: mem_open (fs/proc/base.c) is the open method of /proc/<pid>/mem and
 * /proc/<pid>/task/<tid>/mem and of nothing else, so no other open on the host runs this, and
 * open(2), openat(2), openat2(2) and their compat forms all reach it (the tracepoints watch
 * openat and openat2 only). f_mode is set before the open method runs. mem_open returning 0 is
 * the open succeeding; a later failure in the same open (an IMA appraisal refusing, no free
 * fd) is reported too: the attempt to write another process's memory was made and allowed.
 */
static __always_inline int mem_open_exit(struct file *fp, int ret, const bool legacy)
{
    if (ret != 0 || !fp)
        return 0;
    struct task_struct *task = eg_current_task(legacy);
    __u64 cgid;
    if (!eg_current_container(task, &cgid, legacy))
        return 0;
    return proc_mem_file(task, cgid, fp, legacy);
}

SEC("fexit/mem_open")
int BPF_PROG(eg_mem_open_fn, struct inode *inode, struct file *file, int ret)
{
    return mem_open_exit(file, ret, false);
}
SEC("fexit/mem_open")
int BPF_PROG(eg_mem_open_fn_lg, struct inode *inode, struct file *file, int ret)
{
    return mem_open_exit(file, ret, true);
}
