/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Container-escape techniques seen at a write-open of a file that is not on the container's
 * root mount (EG_EVENT_ESCAPE): a cgroup v1 release_agent (CGroupsReleaseAgentModified) and a
 * file on another mount namespace's mount (HostFileModified), /dev/userfaultfd
 * (UserfaultfdUsage, whose system call's exit programs in rootfs.bpf.c call
 * eg_escape_userfaultfd too). Also a connect to a unix socket the host bound
 * (DockerSocketAccessed) and a block device's file system set up for a mount
 * (ContainerMountsHostDirectory), from rootfs.bpf.c's programs on those kernel functions. Included
 * by rootfs.bpf.c only, whose open exits call eg_escape_other_mount_open for every write-open of a
 * contained process on another mount than its root: a volume, a bind mount, a tmpfs, EFS. That
 * branch is hot for volume writes, so it pays only a few loads (the inode's mode, the mount's
 * namespace, the writer's, the super block's magic) and everything else happens when one of them
 * says "candidate".
 */
#ifndef ECSGUARD_ESCAPE_OPEN_BPF_H
#define ECSGUARD_ESCAPE_OPEN_BPF_H

#include "common.bpf.h"
#include "escape_dedup.bpf.h"
#include "rootfs_root.bpf.h"

/* include/uapi/linux/magic.h */
#define EG_CGROUP_SUPER_MAGIC 0x27e0eb
/* fs/mount.h: the mnt_ns of a kern_mount()ed (kernel-internal) mount. */
#define EG_MNT_NS_INTERNAL_OPEN ((struct mnt_namespace *)-22L)
#define EG_MAX_ESCAPE_OPENS 4096

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, EG_MAX_ESCAPE_OPENS);
    __type(key, struct eg_escape_open_key);
    __type(value, struct eg_escape_open_val);
} eg_escape_opens SEC(".maps");

/*
 * The namespace of the mount `mnt`: one direct load through bpf_rdonly_cast (`cast`), or
 * eg_mount_ns's CO-RE read (rootfs_root.bpf.h).
 */
static __always_inline struct mnt_namespace *eg_open_mount_ns(struct vfsmount *mnt, const bool cast)
{
    if (!cast)
        return eg_mount_ns(mnt);
    __u64 m = (__u64)mnt - bpf_core_field_offset(struct mount, mnt);
    struct mount *mp = bpf_rdonly_cast((void *)m, bpf_core_type_id_kernel(struct mount));
    return mp->mnt_ns;
}

/* Whether the dentry's name is "release_agent" (read only for files on a cgroup v1 mount). */
static __always_inline bool eg_is_release_agent(struct dentry *d)
{
    char name[16] = {};
    bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(d, d_name.name));
    const char want[] = "release_agent";
#pragma unroll
    for (int i = 0; i < (int)sizeof(want); i++)
        if (name[i] != want[i])
            return false;
    return true;
}

/* One record per (container, technique, file) a second (escape_dedup.bpf.h). */
static __always_inline bool eg_escape_open_due(__u64 cgid, __u32 technique, __u64 ino, __u32 dev,
                                               __u64 *absorbed)
{
    struct eg_escape_open_key k = {
        .cgroup_id = cgid, .ino = ino, .dev = dev, .technique = technique};
    return eg_escape_due(&eg_escape_opens, &k, absorbed);
}

/*
 * The part every escape record of this object shares: a repeat within the second of the last
 * record of (container, technique, file) is absorbed and counted; otherwise a record is
 * reserved and its common fields filled (NULL: absorbed, or the ring refused it, counted).
 */
static __always_inline struct eg_escape_event *eg_escape_open_reserve(struct task_struct *task,
                                                                      __u64 cgid, __u32 technique,
                                                                      __u64 ino, __u32 dev,
                                                                      __u32 arg0)
{
    __u64 absorbed;
    if (!eg_escape_open_due(cgid, technique, ino, dev, &absorbed)) {
        eg_count_deduplicated(EG_EVENT_ESCAPE);
        return NULL;
    }
    struct eg_escape_event *e = eg_reserve(EG_EVENT_ESCAPE, sizeof(*e));
    if (!e)
        return NULL;
    eg_fill_header(&e->hdr, task, cgid, EG_EVENT_ESCAPE, sizeof(*e));
    e->ino = ino;
    e->dev = dev;
    e->technique = technique;
    e->result = 0;
    e->esc_flags = 0;
    e->arg0 = arg0;
    e->arg1 = absorbed > 0xffffffffULL ? 0xffffffffU : (__u32)absorbed;
    e->path2[0] = '\0';
    return e;
}

/*
 * The rare part: a candidate write-open of `fp` (technique decided) by `task` of container
 * `cgid`. Set-up is tested here, not on the hot branch. `root`: the container's root as its
 * runtime set it up (rootfs_root.bpf.h), for the release_agent's path.
 */
static __always_inline void eg_escape_open_record(struct task_struct *task, __u64 cgid,
                                                  struct file *fp, __u32 technique, __u32 arg0,
                                                  const struct eg_root_view *rv, const bool legacy)
{
    if (!eg_escape_wanted(eg_in_setup(task, legacy)))
        return;
    struct inode *inode = BPF_CORE_READ(fp, f_inode);
    struct eg_escape_event *e =
        eg_escape_open_reserve(task, cgid, technique, BPF_CORE_READ(inode, i_ino),
                               BPF_CORE_READ(inode, i_sb, s_dev), arg0);
    if (!e)
        return;
    struct dentry *d = BPF_CORE_READ(fp, f_path.dentry);
    bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(d, d_name.name));
    /*
     * From the container's root; a file of another namespace is not under it, and the walk
     * ends at that namespace's root: the host's path of a host file.
     */
    if (container_path(rv, d, BPF_CORE_READ(fp, f_path.mnt), e->path, legacy) != 0)
        e->esc_flags |= EG_ESC_PATH_UNRESOLVED;
    eg_submit(e, EG_EVENT_ESCAPE, true);
}

/* Whether the dentry's name is "userfaultfd" (read only for misc character devices). */
static __always_inline bool eg_is_userfaultfd(struct dentry *d)
{
    char name[16] = {};
    bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(d, d_name.name));
    const char want[] = "userfaultfd";
#pragma unroll
    for (int i = 0; i < (int)sizeof(want); i++)
        if (name[i] != want[i])
            return false;
    return true;
}

/*
 * A userfaultfd object made by `task` of container `cgid` (EG_ESC_USERFAULTFD): `ret` the
 * syscall's fd, `flags` its flags or the device's open flags. Keyed by the executable.
 */
static __always_inline void eg_escape_userfaultfd(struct task_struct *task, __u64 cgid, long ret,
                                                  __u32 flags, bool device, const bool legacy)
{
    if (!eg_escape_wanted(eg_in_setup(task, legacy)))
        return;
    struct file *exe = BPF_CORE_READ(task, mm, exe_file);
    struct eg_escape_event *e =
        eg_escape_open_reserve(task, cgid, EG_ESC_USERFAULTFD, BPF_CORE_READ(exe, f_inode, i_ino),
                               BPF_CORE_READ(exe, f_inode, i_sb, s_dev), flags);
    if (!e)
        return;
    e->result = device ? 0 : (__s32)ret;
    e->esc_flags = device ? EG_ESC_UFFD_DEVICE : 0;
    e->name[0] = '\0';
    /*
     * No path walk here: the agent's process table has the executable's path (from the exec),
     * and a third walk in the open programs cost the 5.10 verifier more than it accepts for
     * the fexit flavour.
     */
    e->path[0] = '\0';
    eg_submit(e, EG_EVENT_ESCAPE, true);
}

/* include/linux/miscdevice.h, kdev_t.h, uapi stat.h */
#define EG_MISC_MAJOR 10
#define EG_MINORBITS 20
#define EG_S_IFMT 00170000
#define EG_S_IFCHR 0020000

/*
 * A write-open by a contained process of a file on another mount than its container's root.
 * `f`: the file's fields (file_fields() of rootfs.bpf.c), `fp` the file itself, `mnt` its mount.
 */
static __always_inline void eg_escape_other_mount_open(struct task_struct *task, __u64 cgid,
                                                       struct file *fp, struct vfsmount *mnt,
                                                       struct inode *inode, __u32 open_flags,
                                                       struct eg_rootfs_root *root, const bool cast,
                                                       const bool legacy)
{
    /* A misc character device (major 10) named userfaultfd: /dev/userfaultfd. */
    __u32 mode = cast ? inode->i_mode : BPF_CORE_READ(inode, i_mode);
    if ((mode & EG_S_IFMT) == EG_S_IFCHR) {
        __u32 rdev = cast ? inode->i_rdev : BPF_CORE_READ(inode, i_rdev);
        if ((rdev >> EG_MINORBITS) == EG_MISC_MAJOR &&
            eg_is_userfaultfd(BPF_CORE_READ(fp, f_path.dentry)))
            eg_escape_userfaultfd(task, cgid, 0, open_flags, true, legacy);
        return; /* a device: no cgroup file, no host file of another namespace's mount */
    }
    struct mnt_namespace *ns = eg_open_mount_ns(mnt, cast);
    struct mnt_namespace *own = EG_LOAD(legacy, task, nsproxy, mnt_ns);
    /*
     * Not another namespace: the container's own first one, seen from a namespace a process of
     * it made (unshare -m) through /proc/<pid>/root or a descriptor (only read when the
     * namespaces differ, which a volume write never does).
     */
    bool other_ns = ns && ns != own && ns != EG_MNT_NS_INTERNAL_OPEN &&
                    !(root && ns == eg_open_mount_ns(root->mnt, false));
    unsigned long magic = cast ? mnt->mnt_sb->s_magic : BPF_CORE_READ(mnt, mnt_sb, s_magic);
    if (!other_ns && magic != EG_CGROUP_SUPER_MAGIC)
        return; /* a volume, a tmpfs...: the common case ends here */
    __u32 technique;
    __u32 arg0;
    /* A release_agent is one whichever namespace its mount is in (the host's, through /proc). */
    if (magic == EG_CGROUP_SUPER_MAGIC && eg_is_release_agent(BPF_CORE_READ(fp, f_path.dentry))) {
        technique = EG_ESC_RELEASE_AGENT;
        arg0 = open_flags;
    } else if (other_ns) {
        technique = EG_ESC_HOST_FILE_WRITE;
        arg0 = BPF_CORE_READ(ns, ns.inum);
    } else {
        return;
    }
    struct eg_root_view rv;
    root_view_of(root, task, &rv);
    eg_escape_open_record(task, cgid, fp, technique, arg0, &rv, legacy);
}

/*
 * The task of `pid` (its PIDTYPE_PID link), NULL once it has gone: what pid_task() does, by a
 * CO-RE read of the first task on the pid's list.
 */
static __always_inline struct task_struct *eg_pid_task(struct pid *pid)
{
    struct hlist_node *first = BPF_CORE_READ(pid, tasks[0].first);
    if (!first)
        return NULL;
    return (struct task_struct *)((__u64)first -
                                  bpf_core_field_offset(struct task_struct, pid_links));
}

/*
 * An abstract unix socket (no file: a name in the network namespace's table) whose listener is
 * a process of the host's mount namespace: reachable from a container that shares the host's
 * network namespace (ECS host network mode), as containerd-shim's API was (CVE-2020-15257). A
 * name alone proves nothing (the container can bind any free name), so the listening process
 * decides: `server`, from the listener's credentials, set by the kernel at listen(). Its name
 * goes to path as ss shows it ("@" for the leading NUL); ino: the address's kernel object
 * (shared by the listener and each connection it accepted), the kernel's dedup key.
 */
static __always_inline void eg_escape_abstract_connect(struct task_struct *task, __u64 cgid,
                                                       struct unix_address *addr,
                                                       struct pid *server, __u32 flags,
                                                       const bool legacy)
{
    char lead = 1;
    bpf_probe_read_kernel(&lead, 1, &addr->name[0].sun_path[0]);
    if (lead != 0 || !server)
        return;
    struct task_struct *srv = eg_pid_task(server);
    if (!srv || BPF_CORE_READ(srv, nsproxy, mnt_ns, ns.inum) != eg_host_mnt_ns)
        return;
    if (!eg_escape_wanted(eg_in_setup(task, legacy)))
        return;
    struct upid up = {};
    bpf_core_read(&up, sizeof(up), &server->numbers[0]);
    struct eg_escape_event *e =
        eg_escape_open_reserve(task, cgid, EG_ESC_HOST_SOCKET, (__u64)addr, 0, (__u32)up.nr);
    if (!e)
        return;
    e->esc_flags = flags | EG_ESC_SOCKET_ABSTRACT;
    e->name[0] = '\0';
    /*
     * The name's bytes after the NUL: the address's length less the family and the NUL, at
     * most sun_path's 107 (the mask states that bound to the verifier on every kernel).
     */
    __u32 len = (__u32)BPF_CORE_READ(addr, len);
    __u32 n = len > 3 ? len - 3 : 0;
    if (n > 107)
        n = 107;
    n &= 0x7f;
    e->path[0] = '@';
    e->path[1] = '\0';
    if (n > 0 && bpf_probe_read_kernel(&e->path[1], n, &addr->name[0].sun_path[1]) != 0)
        n = 0;
    e->path[(n + 1) & 0x7f] = '\0';
    eg_submit(e, EG_EVENT_ESCAPE, true);
}

/*
 * A connect of `task` (container `cgid`) to a unix socket the host bound (EG_ESC_HOST_SOCKET):
 * `peer` is the socket that holds the server's bound address (the listener itself, or the
 * connection the listener accepted, which shares its address and path), `server` the process
 * that listened (the listener's peer credentials). Only a socket file on a mount of the host's
 * mount namespace is recorded: a container cannot make one there (its binds resolve through
 * its own mounts, a host volume included), so a name the container chose cannot produce or
 * hide a record; the agent decides from the bound name whether it is a container runtime's.
 * An abstract socket is recorded when a host process listens on it
 * (eg_escape_abstract_connect); an unbound one has no name and is not recorded.
 */
static __always_inline void eg_escape_unix_connect(struct task_struct *task, __u64 cgid,
                                                   struct sock *peer, struct pid *server,
                                                   __u32 flags, const bool legacy)
{
    struct unix_sock *pu = (struct unix_sock *)peer; /* struct sock is its first member */
    struct vfsmount *mnt = BPF_CORE_READ(pu, path.mnt);
    struct dentry *d = BPF_CORE_READ(pu, path.dentry);
    if (!eg_host_mnt_ns)
        return;
    if (!mnt || !d) {
        struct unix_address *addr = BPF_CORE_READ(pu, addr);
        if (addr)
            eg_escape_abstract_connect(task, cgid, addr, server, flags, legacy);
        return;
    }
    struct mnt_namespace *ns = eg_open_mount_ns(mnt, false);
    if (!ns || ns == EG_MNT_NS_INTERNAL_OPEN || BPF_CORE_READ(ns, ns.inum) != eg_host_mnt_ns)
        return;
    if (!eg_escape_wanted(eg_in_setup(task, legacy)))
        return;
    struct upid up = {};
    if (server)
        bpf_core_read(&up, sizeof(up), &server->numbers[0]);
    struct inode *inode = BPF_CORE_READ(d, d_inode);
    struct eg_escape_event *e =
        eg_escape_open_reserve(task, cgid, EG_ESC_HOST_SOCKET, BPF_CORE_READ(inode, i_ino),
                               BPF_CORE_READ(inode, i_sb, s_dev), (__u32)up.nr);
    if (!e)
        return;
    e->esc_flags = flags;
    bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(d, d_name.name));
    /* The address as the server bound it (what `ss -x` shows), not the container's name for it. */
    struct unix_address *addr = BPF_CORE_READ(pu, addr);
    e->path[0] = '\0';
    if (addr)
        bpf_probe_read_kernel_str(e->path, sizeof(((struct sockaddr_un *)0)->sun_path),
                                  &addr->name[0].sun_path);
    eg_submit(e, EG_EVENT_ESCAPE, true);
}

/* mount(2)'s number (arch/x86/entry/syscalls, include/uapi/asm-generic/unistd.h). */
#if defined(__TARGET_ARCH_arm64)
#define EG_NR_MOUNT 40
#else
#define EG_NR_MOUNT 165
#endif

/*
 * mount(2)'s target per thread (a struct path the kernel holds for the whole call), recorded
 * at path_mount's entry (rootfs_escapes.bpf.h) for the block-mount record made inside it.
 */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u64);
} eg_mount_targets SEC(".maps");

/*
 * A block device's file system the new mount API set up in a container and has not attached
 * yet, by super block (its address; the value checks the device and container again, so a
 * super block freed and reused at that address for another is not taken for it): what
 * security_move_mount looks up to say where it was attached (EG_ESC_MOUNT_ATTACHED). Only
 * set-ups outside mount(2) are kept, so a container's volumes, whose file systems the host set
 * up, are never among them (a clone of one attached elsewhere says nothing).
 */
struct eg_new_api_mount {
    __u64 cgroup_id;
    __u32 dev;
    __u32 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 256);
    __type(key, __u64);
    __type(value, struct eg_new_api_mount);
} eg_new_api_mounts SEC(".maps");

/* The super block flags the finding names: RDONLY, SYNCHRONOUS, MANDLOCK, DIRSYNC, LAZYTIME
 * (include/linux/fs.h SB_*; the agent's list, detect_escape.c). */
#define EG_SB_FLAGS_REPORTED ((1u << 0) | (1u << 4) | (1u << 6) | (1u << 7) | (1u << 25))

/*
 * A file system set up by `task` (container `cgid`) for a mount, the new fs_context's root in
 * place (EG_ESC_BLOCK_MOUNT): recorded when it lives on a block device. What decides is the
 * super block the kernel set up, not the source name the process gave. path2: mount(2)'s
 * target from the task's root; the new mount API names its target only later, at move_mount
 * (eg_escape_mount_attached), so its super block is kept for that.
 */
static __always_inline void eg_escape_block_mount(struct task_struct *task, __u64 cgid,
                                                  struct fs_context *fc, const bool legacy)
{
    struct super_block *sb = BPF_CORE_READ(fc, root, d_sb);
    if (!sb || !BPF_CORE_READ(sb, s_bdev))
        return;
    if (!eg_escape_wanted(eg_in_setup(task, legacy)))
        return;
    __u32 dev = BPF_CORE_READ(sb, s_dev);
    bool by_mount_syscall = eg_current_syscall_nr(legacy) == EG_NR_MOUNT;
    if (!by_mount_syscall) {
        struct eg_new_api_mount m = {.cgroup_id = cgid, .dev = dev};
        __u64 at = (__u64)sb;
        bpf_map_update_elem(&eg_new_api_mounts, &at, &m, BPF_ANY);
    }
    struct eg_escape_event *e =
        eg_escape_open_reserve(task, cgid, EG_ESC_BLOCK_MOUNT, 0, dev, BPF_CORE_READ(fc, sb_flags));
    if (!e)
        return;
    bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(sb, s_type, name));
    e->path[0] = '\0';
    const char *source = BPF_CORE_READ(fc, source);
    if (source)
        bpf_probe_read_kernel_str(e->path, sizeof(e->path), source);
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    __u64 *target = bpf_map_lookup_elem(&eg_mount_targets, &tid);
    if (target) {
        struct path *at = (struct path *)*target;
        bpf_map_delete_elem(&eg_mount_targets, &tid);
        /* Only inside the mount(2) that recorded it (an entry a failed call left is stale). */
        if (by_mount_syscall && eg_dentry_path(task, BPF_CORE_READ(at, dentry),
                                               BPF_CORE_READ(at, mnt), e->path2, legacy) != 0)
            e->esc_flags |= EG_ESC_PATH_UNRESOLVED;
    }
    eg_submit(e, EG_EVENT_ESCAPE, true);
}

/*
 * move_mount(2) by `task` (container `cgid`) attaching `from` at `to` (EG_ESC_MOUNT_ATTACHED):
 * recorded only for a file system this container set up on a block device through the new
 * mount API (eg_new_api_mounts), to name its mount point. The set-up was already reported;
 * this record completes it.
 */
static __always_inline void eg_escape_mount_attached(struct task_struct *task, __u64 cgid,
                                                     const struct path *from, const struct path *to,
                                                     const bool legacy)
{
    struct vfsmount *mnt = BPF_CORE_READ(from, mnt);
    struct super_block *sb = BPF_CORE_READ(mnt, mnt_sb);
    __u64 at = (__u64)sb;
    struct eg_new_api_mount *m = bpf_map_lookup_elem(&eg_new_api_mounts, &at);
    __u32 dev = BPF_CORE_READ(sb, s_dev);
    if (!m || m->cgroup_id != cgid || m->dev != dev)
        return;
    struct eg_escape_event *e =
        eg_escape_open_reserve(task, cgid, EG_ESC_MOUNT_ATTACHED, 0, dev,
                               (__u32)BPF_CORE_READ(sb, s_flags) & EG_SB_FLAGS_REPORTED);
    if (!e)
        return;
    bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(sb, s_type, name));
    /* As eg_mount_ns: the struct mount around the vfsmount, its address as a number. */
    struct mount *mp = (struct mount *)((__u64)mnt - bpf_core_field_offset(struct mount, mnt));
    if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), BPF_CORE_READ(mp, mnt_devname)) < 0)
        e->path[0] = '\0';
    if (eg_dentry_path(task, BPF_CORE_READ(to, dentry), BPF_CORE_READ(to, mnt), e->path2, legacy) !=
        0)
        e->esc_flags |= EG_ESC_PATH_UNRESOLVED;
    eg_submit(e, EG_EVENT_ESCAPE, true);
}

/*
 * The open family's numbers: /proc/<pid>/exe followed inside one of them opens the executable;
 * readlink(2) follows the same link only to print it (arm64 has no open(2)).
 */
#if defined(__TARGET_ARCH_arm64)
#define EG_NR_OPEN -1
#define EG_NR_OPENAT 56
#else
#define EG_NR_OPEN 2
#define EG_NR_OPENAT 257
#endif
#define EG_NR_OPENAT2 437

/*
 * The record of a runtime-executable open (EG_ESC_RUNTIME_EXE_OPEN) by `task` (container
 * `cgid`) past its set-up: the file (`inode`, dentry `d` on mount `mnt` of namespace `ns`), the
 * host pid of the process whose link it was (0: the opener's own) and the link (`via`).
 */
static __always_inline void eg_escape_runtime_file(struct task_struct *task, __u64 cgid,
                                                   struct inode *inode, struct dentry *d,
                                                   struct vfsmount *mnt, struct mnt_namespace *ns,
                                                   __u32 owner_pid, __u32 via, const bool legacy)
{
    if (!eg_escape_wanted(eg_in_setup(task, legacy)))
        return;
    struct eg_escape_event *e =
        eg_escape_open_reserve(task, cgid, EG_ESC_RUNTIME_EXE_OPEN, BPF_CORE_READ(inode, i_ino),
                               BPF_CORE_READ(inode, i_sb, s_dev), owner_pid);
    if (!e)
        return;
    e->esc_flags = via;
    bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(d, d_name.name));
    e->path[0] = '\0';
    if (ns == EG_MNT_NS_INTERNAL_OPEN)
        e->esc_flags |= EG_ESC_MEMFD;
    else if (eg_dentry_path(task, d, mnt, e->path, legacy) != 0)
        e->esc_flags |= EG_ESC_PATH_UNRESOLVED;
    eg_submit(e, EG_EVENT_ESCAPE, true);
}

/*
 * `task` (container `cgid`) opening through /proc/<pid>/exe the executable `exe` of process
 * `owner` (EG_ESC_RUNTIME_EXE_OPEN). Only a file outside the opener's mount namespace is
 * recorded: a container's own executables are in its namespace, so only a process the host
 * started (a runtime joining the container to exec in it) or a host-PID container's view of a
 * host process gives one; the agent decides from the file's name whether it is a container
 * runtime's, a name the host chose, not the container.
 */
static __always_inline void eg_escape_exe_link(struct task_struct *task, __u64 cgid,
                                               struct task_struct *owner, struct file *exe,
                                               const bool legacy)
{
    long nr = eg_current_syscall_nr(legacy);
    if (nr != EG_NR_OPENAT && nr != EG_NR_OPENAT2 && nr != EG_NR_OPEN)
        return;
    struct vfsmount *mnt = BPF_CORE_READ(exe, f_path.mnt);
    struct dentry *d = BPF_CORE_READ(exe, f_path.dentry);
    if (!mnt || !d)
        return;
    struct mnt_namespace *ns = eg_mount_ns(mnt);
    if (ns == EG_LOAD(legacy, task, nsproxy, mnt_ns))
        return;
    eg_escape_runtime_file(task, cgid, BPF_CORE_READ(exe, f_inode), d, mnt, ns,
                           (__u32)BPF_CORE_READ(owner, tgid), 0, legacy);
}

#define EG_S_IFREG 0100000
#define EG_S_IXUGO 00111

/*
 * `task` (container `cgid`) following /proc/<pid>/fd/N or /proc/<pid>/map_files/<range> of
 * process `owner` (`via`: EG_ESC_VIA_FD or EG_ESC_VIA_MAP_FILES) to `target` inside an
 * open-family call: another way than the exe link to hold a runtime's binary (a descriptor the
 * runtime keeps to it or to its memfd copy, its text mapping with CAP_SYS_ADMIN), and the way
 * the CVE-2019-5736 pattern retries its write-opens of the held binary (/proc/self/fd/N) while
 * the kernel refuses them (ETXTBSY): the link resolves before the open fails. Recorded, as for
 * the exe link, only for a file outside the opener's mount namespace, and only a regular one: a
 * host file with an execute bit, or a kernel-internal one (a memfd) of another process (a memfd
 * of its own, reopened, is the container's business). The agent decides from the name whether
 * it is a runtime's.
 */
static __always_inline void eg_escape_proc_link(struct task_struct *task, __u64 cgid,
                                                struct task_struct *owner,
                                                const struct path *target, __u32 via,
                                                const bool legacy)
{
    long nr = eg_current_syscall_nr(legacy);
    if (nr != EG_NR_OPENAT && nr != EG_NR_OPENAT2 && nr != EG_NR_OPEN)
        return;
    struct vfsmount *mnt = BPF_CORE_READ(target, mnt);
    struct dentry *d = BPF_CORE_READ(target, dentry);
    if (!mnt || !d)
        return;
    struct mnt_namespace *ns = eg_mount_ns(mnt);
    if (ns == EG_LOAD(legacy, task, nsproxy, mnt_ns))
        return;
    struct inode *inode = BPF_CORE_READ(d, d_inode);
    __u32 mode = BPF_CORE_READ(inode, i_mode);
    if ((mode & EG_S_IFMT) != EG_S_IFREG)
        return;
    __u32 owner_tgid = (__u32)BPF_CORE_READ(owner, tgid);
    bool own = owner_tgid == (__u32)(bpf_get_current_pid_tgid() >> 32);
    if (ns == EG_MNT_NS_INTERNAL_OPEN ? own : !(mode & EG_S_IXUGO))
        return;
    eg_escape_runtime_file(task, cgid, inode, d, mnt, ns, own ? 0 : owner_tgid, via, legacy);
}

#endif /* ECSGUARD_ESCAPE_OPEN_BPF_H */
