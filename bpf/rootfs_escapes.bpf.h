/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Escape techniques whose programs the root filesystem object carries (rootfs.bpf.c includes
 * this after SYSCALL_EXIT_PROG, which the userfaultfd programs use): that object already
 * attaches syscalls both ways (tracepoint or the syscall's function) and function hooks where
 * fentry loads, and the loader attaches each of its programs on its own, best effort. The
 * decisions are in escape_open.bpf.h; here are only the attachments: userfaultfd(2)'s exit, a
 * unix stream connect (the LSM hook, or connect(2)'s exit), a file system set up for a mount
 * (vfs_get_tree or vfs_create_mount, with mount(2)'s target from path_mount's entry and the new
 * API's from security_move_mount), /proc/<pid>/exe opened (get_task_exe_file).
 */
#ifndef ECSGUARD_ROOTFS_ESCAPES_BPF_H
#define ECSGUARD_ROOTFS_ESCAPES_BPF_H

/*
 * userfaultfd(2) that succeeded in a contained process: an escape technique
 * (EG_ESC_USERFAULTFD, bpf/escape_open.bpf.h), here because this object already attaches to
 * syscalls both ways (tracepoint or the syscall's function) and the loader attaches every
 * syscall program of it, best effort (a kernel without CONFIG_USERFAULTFD has none).
 */
#define USERFAULTFD_FLAVOUR(suffix, lg)                                                            \
    SYSCALL_EXIT_PROG(userfaultfd, suffix, lg)                                                     \
    {                                                                                              \
        __u64 cgid;                                                                                \
        struct task_struct *task = eg_contained_current(&cgid, legacy);                            \
        if (!task)                                                                                 \
            return 0;                                                                              \
        __u32 flags = (__u32)EG_SYSCALL_ARG(legacy, regs, 1);                                      \
        eg_escape_userfaultfd(task, cgid, ret, flags, false, legacy);                              \
        return 0;                                                                                  \
    }
USERFAULTFD_FLAVOUR(, false)
USERFAULTFD_FLAVOUR(_lg, true)

/* include/linux/socket.h, uapi stat.h */
#define EG_AF_UNIX 1
#define EG_S_IFSOCK 0140000

/*
 * A contained process connecting to a unix socket the host bound (EG_ESC_HOST_SOCKET,
 * bpf/escape_open.bpf.h). Where fentry loads: the LSM hook unix_stream_connect() calls with
 * the listening socket itself, so nothing the container holds or swaps (its descriptors, the
 * address buffer it passed) is read. Elsewhere: the exit of connect(2) that succeeded, from the
 * connected descriptor's peer, which shares the listener's bound path (a thread that replaces
 * the descriptor between the call and its exit is the one thing that fallback can miss: it
 * runs only on kernels that refuse fentry, docs/findings.md).
 */
#define HOST_SOCKET_FLAVOUR(suffix, lg)                                                            \
    SEC("fentry/security_unix_stream_connect")                                                     \
    int BPF_PROG(eg_rootfs_unix_connect##suffix, struct sock *sock, struct sock *other,            \
                 struct sock *newsk)                                                               \
    {                                                                                              \
        const bool legacy = lg;                                                                    \
        __u64 cgid;                                                                                \
        struct task_struct *task = eg_contained_current(&cgid, legacy);                            \
        if (!task)                                                                                 \
            return 0;                                                                              \
        eg_escape_unix_connect(task, cgid, other, BPF_CORE_READ(other, sk_peer_pid), 0, legacy);   \
        return 0;                                                                                  \
    }                                                                                              \
    SEC("tracepoint/syscalls/sys_exit_connect")                                                    \
    int eg_rootfs_exit_connect##suffix(struct trace_event_raw_sys_exit *ctx)                       \
    {                                                                                              \
        const bool legacy = lg;                                                                    \
        if (ctx->ret != 0)                                                                         \
            return 0;                                                                              \
        struct pt_regs *regs = eg_syscall_regs(ctx->id, legacy);                                   \
        if (!regs)                                                                                 \
            return 0;                                                                              \
        __u64 cgid;                                                                                \
        struct task_struct *task = eg_contained_current(&cgid, legacy);                            \
        if (!task)                                                                                 \
            return 0;                                                                              \
        struct file *fp = eg_current_fd_file(task, (long)EG_SYSCALL_ARG(legacy, regs, 1), legacy); \
        if (!fp || (BPF_CORE_READ(fp, f_inode, i_mode) & EG_S_IFMT) != EG_S_IFSOCK)                \
            return 0;                                                                              \
        struct socket *so = BPF_CORE_READ(fp, private_data);                                       \
        struct sock *sk = BPF_CORE_READ(so, sk);                                                   \
        if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != EG_AF_UNIX)                        \
            return 0;                                                                              \
        struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);                           \
        if (peer)                                                                                  \
            eg_escape_unix_connect(task, cgid, peer, BPF_CORE_READ(sk, sk_peer_pid),               \
                                   EG_ESC_SOCKET_BY_FD, legacy);                                   \
        return 0;                                                                                  \
    }
HOST_SOCKET_FLAVOUR(, false)
HOST_SOCKET_FLAVOUR(_lg, true)

/*
 * A file system set up for a mount by a contained process (EG_ESC_BLOCK_MOUNT,
 * bpf/escape_open.bpf.h): the exit of vfs_get_tree(), which both mount(2) and the new mount
 * API (fsconfig's create) go through. Where fentry cannot attach (arm64 before 6.4) but kprobes
 * can: the entry of vfs_create_mount(), the next step of both (mount(2) and fsmount(2), the
 * file system already set up: its fs_context's root in place); a create never mounted is not
 * seen there, and cannot be reached without one. Functions only: no tracepoint sees the super
 * block. The same place notes each tmpfs a container's processes set up (eg_own_tmpfs), for
 * executables run from it wherever it is bound.
 */
static __always_inline int fs_set_up(struct fs_context *fc, const bool legacy)
{
    __u64 cgid;
    struct task_struct *task = eg_contained_current(&cgid, legacy);
    if (!task)
        return 0;
    eg_note_own_tmpfs(BPF_CORE_READ(fc, root, d_sb), cgid);
    eg_escape_block_mount(task, cgid, fc, legacy);
    return 0;
}

#define BLOCK_MOUNT_FLAVOUR(suffix, lg)                                                            \
    SEC("fexit/vfs_get_tree")                                                                      \
    int BPF_PROG(eg_rootfs_block_mount##suffix, struct fs_context *fc, int ret)                    \
    {                                                                                              \
        const bool legacy = lg;                                                                    \
        if (ret != 0)                                                                              \
            return 0;                                                                              \
        return fs_set_up(fc, legacy);                                                              \
    }                                                                                              \
    SEC("kprobe/vfs_create_mount")                                                                 \
    int BPF_KPROBE(eg_rootfs_block_mount_kp##suffix, struct fs_context *fc)                        \
    {                                                                                              \
        return fs_set_up(fc, lg);                                                                  \
    }
BLOCK_MOUNT_FLAVOUR(, false)
BLOCK_MOUNT_FLAVOUR(_lg, true)

/* mount(2)'s target, for the block-mount record made inside it (eg_mount_targets). */
static __always_inline int record_mount_target(struct path *path, const bool legacy)
{
    __u64 cgid;
    if (!eg_contained_current(&cgid, legacy))
        return 0;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    __u64 at = (__u64)path;
    bpf_map_update_elem(&eg_mount_targets, &tid, &at, BPF_ANY);
    return 0;
}

#define MOUNT_TARGET_FLAVOUR(suffix, lg)                                                           \
    SEC("fentry/path_mount")                                                                       \
    int BPF_PROG(eg_rootfs_mount_target##suffix, const char *dev_name, struct path *path)          \
    {                                                                                              \
        return record_mount_target(path, lg);                                                      \
    }                                                                                              \
    SEC("kprobe/path_mount")                                                                       \
    int BPF_KPROBE(eg_rootfs_mount_target_kp##suffix, const char *dev_name, struct path *path)     \
    {                                                                                              \
        return record_mount_target(path, lg);                                                      \
    }
MOUNT_TARGET_FLAVOUR(, false)
MOUNT_TARGET_FLAVOUR(_lg, true)

/*
 * move_mount(2) attaching a mount (EG_ESC_MOUNT_ATTACHED, bpf/escape_open.bpf.h): the LSM hook
 * the system call calls with both paths resolved, so the names the process passed are not
 * read again.
 */
static __always_inline int record_mount_attached(const struct path *from, const struct path *to,
                                                 const bool legacy)
{
    __u64 cgid;
    struct task_struct *task = eg_contained_current(&cgid, legacy);
    if (task && eg_escape_wanted(eg_in_setup(task, legacy)))
        eg_escape_mount_attached(task, cgid, from, to, legacy);
    return 0;
}

#define MOUNT_ATTACHED_FLAVOUR(suffix, lg)                                                         \
    SEC("fentry/security_move_mount")                                                              \
    int BPF_PROG(eg_rootfs_move_mount##suffix, const struct path *from, const struct path *to)     \
    {                                                                                              \
        return record_mount_attached(from, to, lg);                                                \
    }                                                                                              \
    SEC("kprobe/security_move_mount")                                                              \
    int BPF_KPROBE(eg_rootfs_move_mount_kp##suffix, const struct path *from,                       \
                   const struct path *to)                                                          \
    {                                                                                              \
        return record_mount_attached(from, to, lg);                                                \
    }
MOUNT_ATTACHED_FLAVOUR(, false)
MOUNT_ATTACHED_FLAVOUR(_lg, true)

/*
 * /proc/<pid>/exe followed by a contained process (EG_ESC_RUNTIME_EXE_OPEN,
 * bpf/escape_open.bpf.h): the exit of get_task_exe_file(), through which the link resolves,
 * with the process and the executable it resolved to (proc_exe_link itself is static, and its
 * BTF prototype is not its real one on Debian's 6.1). Functions only: no tracepoint sees it.
 */
#define RUNTIME_EXE_FLAVOUR(suffix, lg)                                                            \
    SEC("fexit/get_task_exe_file")                                                                 \
    int BPF_PROG(eg_rootfs_exe_link##suffix, struct task_struct *owner, struct file *exe)          \
    {                                                                                              \
        const bool legacy = lg;                                                                    \
        if (!exe)                                                                                  \
            return 0;                                                                              \
        __u64 cgid;                                                                                \
        struct task_struct *task = eg_contained_current(&cgid, legacy);                            \
        if (task)                                                                                  \
            eg_escape_exe_link(task, cgid, owner, exe, legacy);                                    \
        return 0;                                                                                  \
    }
RUNTIME_EXE_FLAVOUR(, false)
RUNTIME_EXE_FLAVOUR(_lg, true)

/*
 * /proc/<pid>/fd/N and /proc/<pid>/map_files/<range> followed by a contained process
 * (EG_ESC_RUNTIME_EXE_OPEN with EG_ESC_VIA_FD or EG_ESC_VIA_MAP_FILES): the exits of the two
 * functions those links resolve through (proc_get_link operations: their address is taken, so
 * their prototype is the real one; (dentry, path, task) on 5.10 to 6.18 alike), with the
 * path they filled and the process whose link it is.
 */
static __always_inline int proc_link_exit(struct path *target, struct task_struct *owner, int ret,
                                          __u32 via, const bool legacy)
{
    if (ret != 0)
        return 0;
    __u64 cgid;
    struct task_struct *task = eg_contained_current(&cgid, legacy);
    if (task)
        eg_escape_proc_link(task, cgid, owner, target, via, legacy);
    return 0;
}
#define RUNTIME_LINK_FLAVOUR(suffix, lg)                                                           \
    SEC("fexit/proc_fd_link")                                                                      \
    int BPF_PROG(eg_rootfs_fd_link##suffix, struct dentry *link, struct path *target,              \
                 struct task_struct *owner, int ret)                                               \
    {                                                                                              \
        return proc_link_exit(target, owner, ret, EG_ESC_VIA_FD, lg);                              \
    }                                                                                              \
    SEC("fexit/map_files_get_link")                                                                \
    int BPF_PROG(eg_rootfs_map_files_link##suffix, struct dentry *link, struct path *target,       \
                 struct task_struct *owner, int ret)                                               \
    {                                                                                              \
        return proc_link_exit(target, owner, ret, EG_ESC_VIA_MAP_FILES, lg);                       \
    }
RUNTIME_LINK_FLAVOUR(, false)
RUNTIME_LINK_FLAVOUR(_lg, true)

#endif /* ECSGUARD_ROOTFS_ESCAPES_BPF_H */
