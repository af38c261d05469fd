/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one event ABI shared by the kernel programs (bpf/<concern>.bpf.c) and the agent.
 *
 * Every record in the ring buffer starts with struct eg_event_header; `kind`
 * says which struct follows and `size` is the whole record's length, so the
 * reader can skip kinds it does not know (an older agent with newer programs).
 * Fields are ordered largest first and padded explicitly so the layout is the
 * same for clang -target bpf and the host compiler (checked by
 * tests/unit/test_event_abi.c).
 *
 * (Over 500 lines: one ABI is one file by rule, so kernel and agent cannot disagree; most of
 * it is the comment on each field.)
 */
#ifndef ECSGUARD_BPF_EVENTS_H
#define ECSGUARD_BPF_EVENTS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define EG_COMM_LEN 16
#define EG_NAME_LEN 64
#define EG_PATH_LEN 256
#define EG_ARGS_LEN 256

/* Event kinds. New concerns append here; counters are sized by EG_KIND_SLOTS. */
enum eg_event_kind {
    EG_EVENT_NONE = 0,
    EG_EVENT_CAP = 1,             /* a watched capability was checked */
    EG_EVENT_EXEC = 2,            /* execve in a task container */
    EG_EVENT_FORK = 3,            /* new process in a task container */
    EG_EVENT_EXIT = 4,            /* process (thread group) exit in a task container */
    EG_EVENT_CGROUP_MKDIR = 5,    /* cgroup created in the tracked hierarchy */
    EG_EVENT_CGROUP_RMDIR = 6,    /* cgroup removed in the tracked hierarchy */
    EG_EVENT_ROOTFS_WRITE = 7,    /* first write-open of a file on a container's root mount */
    EG_EVENT_ROOTFS_PATHOP = 8,   /* unlink/rename/mkdir/... (mount decided in userspace) */
    EG_EVENT_ROOTFS_EXEC_MAP = 9, /* mmap(PROT_EXEC) of a file the container wrote */
    EG_EVENT_NS_ENTER = 10,       /* successful setns into a namespace that is the host's */
    EG_EVENT_PROC_ACCESS = 11,    /* ptrace/vm write/proc mem/signal aimed at another container */
    EG_EVENT_CGROUP_LEFT =
        12,               /* a contained process was moved out of its task container's cgroup */
    EG_EVENT_ESCAPE = 13, /* a container-escape technique (struct eg_escape_event) */
    EG_EVENT_KIND_COUNT = 14,
};
#define EG_KIND_SLOTS 16

/* eg_event_header.flags */
#define EG_HDR_HOST_PIDNS (1u << 0) /* the task's active pid ns is the initial one */
#define EG_HDR_SETUP (1u << 1)      /* runtime set-up phase (before the first exec) */

struct eg_event_header {
    __u64 ts_ns;                /* bpf_ktime_get_boot_ns() at the event */
    __u64 cgroup_id;            /* cgroup id in the tracked hierarchy (see probe) */
    __u64 start_time_ns;        /* thread-group leader's start_boottime */
    __u64 parent_start_time_ns; /* real parent's leader start_boottime */
    __u32 kind;                 /* enum eg_event_kind */
    __u32 size;                 /* whole record in bytes */
    __u32 flags;                /* EG_HDR_* */
    __u32 pid;                  /* thread id, host pid ns */
    __u32 tgid;                 /* process id, host pid ns */
    __u32 ppid;                 /* real parent's tgid, host pid ns */
    __u32 ns_pid;               /* tgid as seen in the task's own pid ns */
    __u32 uid;
    __u32 euid;
    __u32 pid_ns_inum;
    __u32 mnt_ns_inum;
    __u32 _pad0;
    char comm[EG_COMM_LEN];
};

/* eg_cap_event.cap_flags */
#define EG_CAP_HOST_LEVEL (1u << 0)      /* checked against the initial user namespace */
#define EG_CAP_NOISE_UNCHECKED (1u << 1) /* overcommit filter unavailable for this check */

/*
 * The user namespace a capability was checked against (the check's target namespace): what
 * the capability gives power over. Part of the dedup key: each scope is its own behaviour.
 */
enum eg_cap_scope {
    EG_CAP_SCOPE_HOST = 0,      /* the initial user namespace: power over the host */
    EG_CAP_SCOPE_CONTAINER = 1, /* the container's own (the owner of the task's pid namespace) */
    EG_CAP_SCOPE_CREATED = 2,   /* any other: one created inside the container */
};

struct eg_cap_event {
    struct eg_event_header hdr;
    __u64 exe_ino;              /* inode of the executable (mm->exe_file) */
    __u32 exe_dev;              /* s_dev of that inode's super block */
    __u32 cap;                  /* CAP_* number */
    __s32 ret;                  /* 0 granted, -EPERM denied */
    __s32 syscall_nr;           /* syscall in flight, -1 when none (fault, kernel thread) */
    __u32 cap_flags;            /* EG_CAP_* */
    __u32 scope;                /* enum eg_cap_scope */
    __u32 userns_level;         /* nesting level of the namespace checked against (0: the host's) */
    __u32 userns_inum;          /* its inode number (/proc/<pid>/ns/user) */
    char exe_name[EG_NAME_LEN]; /* basename of the executable's dentry */
};

/* eg_exec_event.args_len: the arguments went on past what `args` holds (an argument bomb). */
#define EG_EXEC_ARGS_CUT (1u << 31)

struct eg_exec_event {
    struct eg_event_header hdr;
    __u64 exe_ino;
    __u32 exe_dev;
    __u32 args_len; /* bytes of args used (NUL separated) | EG_EXEC_ARGS_CUT */
    /*
     * EG_ROOTFS_OVERLAY|_UPPER|_LOWER of the executable when it is on the container's overlay
     * root filesystem, else 0: an upper-layer copy means it was written in this container,
     * whether or not the agent saw the write. Kernels without overlayfs BTF (5.10) can only
     * tell a file with no lower layer (created there): _UPPER without _LOWER.
     */
    __u32 exe_layers; /* ... or EG_EXEC_ON_TMPFS */
    __u32 _pad0;
    /*
     * The file execve named when the exec ended in another one (a #! script and its
     * interpreter): its inode, device and overlay layers as exe_*; 0 when the exec ran the
     * file it named, or where the kernel refuses fentry (nothing records the start).
     */
    __u64 script_ino;
    __u32 script_dev;
    __u32 script_layers;
    char filename[EG_PATH_LEN]; /* path as given to execve (bprm->filename) */
    char exe_path[EG_PATH_LEN]; /* the file's path from the task's root ("" if unresolved) */
    char args[EG_ARGS_LEN];
};

/*
 * eg_exec_event.exe_layers / script_layers: the file is on a tmpfs mounted whole in the
 * process's own mount namespace (a task's tmpfs mount, /dev/shm): every file there was written
 * after the mount, in the container, whether or not the agent saw it (it watches root file
 * system writes only).
 */
#define EG_EXEC_ON_TMPFS (1u << 8)

struct eg_fork_event {
    struct eg_event_header hdr; /* describes the child */
};

struct eg_exit_event {
    struct eg_event_header hdr;
    __s32 exit_code;
    __u32 _pad0;
};

struct eg_cgroup_event {
    struct eg_event_header hdr; /* describes the task that made the change */
    __u64 cgroup_id;            /* id of the created/removed cgroup */
    __u32 hierarchy_id;
    __u32 level;
    char path[EG_PATH_LEN]; /* path inside the hierarchy, e.g. /ecs/<task>/<id> */
};

/* Key of the in-kernel capability dedup map (first occurrence sent, repeats counted). */
struct eg_cap_dedup_key {
    __u64 cgroup_id;
    __u64 exe_ino;
    __u32 exe_dev;
    __u32 cap;
    __s32 syscall_nr;
    __u16 granted;
    __u16 scope; /* enum eg_cap_scope */
};

/*
 * Repeats are counted, not timed: a clock read per check (bpf_ktime_get_boot_ns) was 60-80 of
 * the ~340 ns per repeated check on a kvm-clock VM. The agent stamps the count's growth with
 * the time it reads it (each second), as it does for the rootfs repeat counts.
 */
struct eg_cap_dedup_val {
    __u64 count;       /* occurrences, including the first one that was sent */
    __u64 first_ts_ns; /* boot ns of the first occurrence (the one sent) */
};

/*
 * Per-CPU counters, one slot per event kind. `seen` counts every candidate
 * that passed the container and capability filters; each one then ends in
 * exactly one of sent / deduplicated / dropped / filtered, so
 * seen == sent + deduplicated + dropped + filtered and nothing vanishes.
 */
struct eg_kind_counters {
    __u64 seen;
    __u64 sent;
    __u64 deduplicated;
    __u64 dropped;  /* ring buffer full: bpf_ringbuf_reserve failed */
    __u64 filtered; /* decided in the kernel not to report (see eg_filter_reason) */
};

enum eg_filter_reason {
    EG_FILTER_SETUP = 0,          /* runtime set-up before the entrypoint's exec */
    EG_FILTER_OVERCOMMIT = 1,     /* memory-overcommit accounting, not privilege use */
    EG_FILTER_BORROWED_CRED = 2,  /* check against credentials that are not the task's */
    EG_FILTER_DEDUP_FULL = 3,     /* dedup map full: event sent without dedup */
    EG_FILTER_SAME_CONTAINER = 4, /* process access aimed at the caller's own container */
    EG_FILTER_NO_EFFECT = 5,      /* failed call, no such target, no host namespace entered */
    /* memory-overcommit accounting told apart by the mmap lock or execve, no stack walk */
    EG_FILTER_OVERCOMMIT_FAST = 6,
    /*
     * Not a kind's filter (counted before `seen`): registers found at the top of the task's
     * stack that were not the syscall's (legacy flavour, bpf/task.bpf.h), so its arguments
     * were not read and the call was not looked at.
     */
    EG_FILTER_SYSCALL_REGS = 7,
    /*
     * A refused CAP_SYS_ADMIN check that is the kernel's fallback for another capability just
     * refused in the same call ("CAP_BPF or CAP_SYS_ADMIN", bpf/cap.bpf.c), not an attempt.
     */
    EG_FILTER_CAP_FALLBACK = 8,
    /*
     * Not a filter: a contained process whose home could not be recorded (eg_homes
     * full, struct eg_home below). It is then attributed by its current cgroup only.
     */
    EG_FILTER_HOMES_FULL = 9,
    /*
     * Not a filter: a repeat or a root capture of a container the kernel registered at its
     * cgroup's creation (EG_SLOT_PENDING) before the agent gave it a slot. Its events were sent;
     * only these per-slot extras were lost (a finding's count lower by this many).
     */
    EG_FILTER_SLOT_PENDING = 10,
    /*
     * Not a filter: a contained process's module request, or a helper's claim of one, that
     * could not be kept (bpf/escape.bpf.h's tables full). A load it led to is not reported.
     */
    EG_FILTER_MODULE_TABLE_FULL = 11,
    EG_FILTER_REASONS = 12,
};

struct eg_counters {
    struct eg_kind_counters kind[EG_KIND_SLOTS];
    __u64 filter_reason[EG_FILTER_REASONS];
    __u64 shed; /* records refused by their container's ring share (also in kind[].dropped) */
};

/*
 * Value of eg_ring_shares (bpf/emit.bpf.h), keyed by the container's cgroup id: its share of
 * the ring buffer while the ring is more than half full, a token bucket in bytes, and what it
 * was refused. Written only under that pressure; read by the agent for its health record.
 */
struct eg_ring_share {
    __u64 tokens;      /* bytes it may still reserve */
    __u64 last_ns;     /* boot time of the last refill */
    __u64 shed_events; /* records refused */
    __u64 shed_bytes;  /* their footprint in the ring */
};

/* Slots of the agent's container table (eg_container_val.slot is below this). */
#define EG_MAX_CONTAINER_SLOTS 4096

/*
 * eg_container_val.slot of a container the kernel registered by itself at its cgroup's
 * creation (bpf/lifecycle.bpf.c, a cgroup named like a container id), until the agent reads the
 * cgroup_mkdir record and writes its slot: what the container does in between is seen.
 */
#define EG_SLOT_PENDING 0xffffffffu

/* eg_container_val.flags */
#define EG_CONTAINER_PENDING (1u << 0) /* registered by the kernel, no slot yet */

/* Values of the container map (cgroup id -> container). */
struct eg_container_val {
    __u32 slot;  /* index of the container in the agent's table, or EG_SLOT_PENDING */
    __u32 flags; /* EG_CONTAINER_* */
};

/*
 * The home of a contained process (eg_homes, keyed by tgid): the task container's cgroup it
 * started in, captured in the kernel when the runtime's set-up of it ended (its entrypoint's
 * exec), inherited by every process it forks, and written by the agent's start-up scan for
 * processes already in containers. A process keeps its home wherever it is moved: it stays
 * attributed to that container (bpf/verdict.bpf.h) and is never runtime set-up again
 * (bpf/lifecycle.bpf.c, docs/architecture.md).
 */
#define EG_HOME_MOVED (1u << 0) /* the process is in another cgroup than its home */

struct eg_home {
    __u64 cgroup_id;     /* the task container's cgroup id */
    __u64 start_time_ns; /* the thread-group leader's start_boottime: a reused tgid never matches */
    __u64 start_slack_ns; /* 0: exact; the start-up scan's /proc start is this coarse (a tick) */
    __u32 flags;          /* EG_HOME_* */
    __u32 _pad0;
};

/* eg_cgroup_left_event.left_flags */
#define EG_LEFT_BY_ITSELF (1u << 0)      /* the writer of cgroup.procs was the moved process */
#define EG_LEFT_BY_CONTAINED (1u << 1)   /* the writer has a home (a contained process) */
#define EG_LEFT_INTO_CONTAINER (1u << 2) /* the destination is another task container's cgroup */
/* Born there: cloned into the cgroup (clone3 CLONE_INTO_CGROUP) by its homed parent, the
 * writer; dst_path is then the cgroup's own name only (the fork tracepoint has no path). */
#define EG_LEFT_AT_CLONE (1u << 3)

/*
 * A process with a home was moved to a cgroup outside its home (not a descendant of it). The
 * header describes the moved process; hdr.cgroup_id is its home, which it keeps.
 */
struct eg_cgroup_left_event {
    struct eg_event_header hdr;
    __u64 dst_cgroup_id;
    __u32 writer_tgid; /* who wrote cgroup.procs (host pid ns) */
    __u32 left_flags;  /* EG_LEFT_* */
    __u32 dst_level;   /* depth of the destination in the hierarchy (0: the root) */
    __u32 _pad0;
    char writer_comm[EG_COMM_LEN];
    char dst_path[EG_PATH_LEN]; /* the destination's path in the hierarchy */
};

/* ---- container-escape techniques (bpf/escape.bpf.h, docs/findings.md "Escapes") ---- */

/*
 * Which technique an EG_EVENT_ESCAPE record is. Each is decided in the kernel from the objects
 * the kernel acted on (the executed file, the new credentials, the working directory's mount),
 * never from a name the container chose.
 */
enum eg_escape_technique {
    /*
     * An exec of a file with no link (i_nlink == 0): a memfd, an unlinked O_TMPFILE file, a
     * file deleted before it was executed through its fd. ino/dev: the file; path: its path
     * from the task's root as the dentry walk gives it; path2: the name given to execve
     * (bprm->filename, e.g. /dev/fd/3); name: the file's dentry name ("memfd:<name>" for a
     * memfd); arg0: i_nlink (0); arg1: the file's super block magic.
     */
    EG_ESC_FILELESS_EXEC = 1,
    /*
     * An exec that changed the credentials (a set-user-id file: bprm->per_clear set) and left
     * the process with effective uid 0 while its real uid is not 0. ino/dev and path: the
     * executed file; path2: bprm->filename; arg0: the real uid (who ran it), arg1: the new
     * effective uid (0).
     */
    EG_ESC_ELEVATION_TO_ROOT = 2,
    /*
     * An exec whose working directory is on a mount of another mount namespace than the
     * process's own (CVE-2024-21626: a runtime's directory fd leaked into the container, then
     * `cd /proc/self/fd/N`). ino/dev: the working directory; path: its path from the task's
     * root (a walk that does not meet the task's root ends at the other namespace's root);
     * path2: bprm->filename; name: the working directory's dentry name; arg0: the inode number
     * of the directory mount's namespace, arg1: the process's own.
     */
    EG_ESC_CWD_OTHER_MNT_NS = 3,
    /*
     * A write-open of a file named release_agent on a cgroup v1 file system (super block magic
     * CGROUP_SUPER_MAGIC), not on the container's root mount (bpf/rootfs.bpf.c). ino/dev: the
     * file; path: its path from the container's root; name: "release_agent"; arg0: the open
     * flags; arg1: write-opens of the same file by the same container absorbed in the kernel
     * since the previous record (one record per file a second).
     */
    EG_ESC_RELEASE_AGENT = 4,
    /*
     * A write-open of a file on a mount of another mount namespace than the writer's
     * (/proc/<pid>/root/... of a host process, a leaked host descriptor); not a detached or
     * kernel-internal mount (bpf/rootfs.bpf.c). ino/dev: the file; path: its path up to that
     * namespace's root (the host's path for a host file); name: its dentry name; arg0: the inode
     * of the file mount's namespace (the writer's own is hdr.mnt_ns_inum); arg1: repeats
     * absorbed as for EG_ESC_RELEASE_AGENT.
     */
    EG_ESC_HOST_FILE_WRITE = 5,
    /*
     * A userfaultfd object made by a contained process: userfaultfd(2) succeeded, or
     * /dev/userfaultfd (a misc character device) was opened for writing (the ioctl that then
     * makes the object is not watched: the open is the use). ino/dev: the process's
     * executable; result: the returned fd (syscall), 0 (device); esc_flags EG_ESC_UFFD_DEVICE
     * for the device; arg0: the syscall's flags, or the open flags; arg1: repeats absorbed as
     * for EG_ESC_RELEASE_AGENT (one record per container and executable a second).
     */
    EG_ESC_USERFAULTFD = 6,
    /*
     * A connect of a contained process to a unix socket whose file is on a mount of the host's
     * mount namespace: a socket a host process bound (docker.sock, containerd.sock...) reached
     * through a bind mount (bpf/escape_open.bpf.h). ino/dev: the socket file; path: the address
     * as the server bound it (sun_path); name: the socket file's dentry name; arg0: the host pid
     * of the process that listened (0: unknown); arg1: repeats absorbed as for
     * EG_ESC_RELEASE_AGENT; esc_flags EG_ESC_SOCKET_BY_FD when read from the connected
     * descriptor after the call (kernels that refuse fentry), else from the LSM hook the
     * kernel calls on the connect itself. Or an abstract socket whose listener is a process of
     * the host's mount namespace (EG_ESC_SOCKET_ABSTRACT: path "@name", ino the address's
     * kernel object, dev 0, no name), reached through the host's network namespace.
     */
    EG_ESC_HOST_SOCKET = 7,
    /*
     * A kernel module loaded by a contained process (init_module or finit_module; the
     * module_load tracepoint, before the module's init runs), or by the kernel's modprobe
     * helper for one (esc_flags EG_ESC_MODULE_AUTOLOAD; the header is the requester's; path2:
     * what it asked request_module for). ino/dev and path: the module file for finit_module
     * (path from the loader's root), none for init_module (an image in memory); name: the
     * module's name as the kernel registered it; arg0: the system call (EG_MODULE_FROM_FILE
     * for finit_module, else 0).
     */
    EG_ESC_MODULE_LOAD = 8,
    /*
     * A file system on a block device set up for a mount by a contained process (mount(2) or
     * fsconfig's create; fexit on vfs_get_tree where fentry attaches, else a kprobe on
     * vfs_create_mount, mount(2)'s and fsmount's next step): the host's disk, or any
     * block device the container reached. dev: the file system's device (s_dev); path: the
     * mount's source as given (fs_context->source); path2: mount(2)'s target from the task's
     * root (path_mount's; "" for the new mount API, whose mount point EG_ESC_MOUNT_ATTACHED
     * carries); name: the file system type; arg0: the
     * super block flags asked for (SB_RDONLY, SB_NOSUID...); arg1: repeats absorbed as for
     * EG_ESC_RELEASE_AGENT.
     */
    EG_ESC_BLOCK_MOUNT = 9,
    /*
     * An open(2)-family call of a contained process that followed /proc/<pid>/exe to an
     * executable that is not a file of the opener's mount namespace (a host file, or a
     * kernel-internal one such as runc's memfd copy of itself): the first step of overwriting a
     * container runtime's binary (CVE-2019-5736), seen whether or not a write follows or
     * succeeds (fexit on get_task_exe_file, through which the link resolves; functions only;
     * readlink(2) follows the same link only to print it and is not recorded). Also the same
     * kind of file reached through /proc/<pid>/fd/N (a descriptor the process holds; the
     * pattern's retries through /proc/self/fd/N) or /proc/<pid>/map_files/<range> (its mapping)
     * (esc_flags EG_ESC_VIA_FD, EG_ESC_VIA_MAP_FILES; fexit on proc_fd_link, map_files_get_link):
     * a host file with an execute bit, or another process's kernel-internal file. ino/dev: the
     * executable; path: its path up to its namespace's root ("" for a kernel-internal file); name:
     * its dentry name ("memfd:..." for a memfd); arg0: the host pid of the process whose link it
     * is (0: the opener's own descriptor or mapping); arg1: repeats absorbed as for
     * EG_ESC_RELEASE_AGENT; esc_flags EG_ESC_MEMFD for a kernel-internal file.
     */
    EG_ESC_RUNTIME_EXE_OPEN = 10,
    /*
     * A file system the new mount API set up on a block device in the same container
     * (EG_ESC_BLOCK_MOUNT without a target: fsconfig's create, or fsmount) attached by
     * move_mount(2) (security_move_mount). Carries what the set-up could not: the mount point.
     * dev: the file system's device; path: the mount's source name (struct mount's
     * mnt_devname); path2: the mount point from the task's root; name: the file system type;
     * arg0: the super block's flags (SB_RDONLY...); arg1: repeats absorbed as for
     * EG_ESC_RELEASE_AGENT. The same behaviour as the set-up's record, not another one.
     */
    EG_ESC_MOUNT_ATTACHED = 11,
    /*
     * A 32-bit compat syscall (int 0x80, sysenter, or a 32-bit binary's syscall instruction on
     * x86_64) that the syscall-level hooks of another concern would have decoded as a native
     * call: a write-type path operation or write open (root filesystem), setns, ptrace,
     * process_vm_writev or a signal (host namespaces). x86's syscall tracepoints ignore compat
     * syscalls and the concerns' function hooks are the native __x64_sys_* entry points, so
     * these calls reach neither (bpf/compat.bpf.c, a kprobe on each __ia32_* entry point).
     * Recorded at the function's entry, whether or not the call then succeeds. arg0: the i386
     * syscall number (the saved orig_ax: the number the kernel dispatched on); arg1: calls
     * absorbed as for EG_ESC_RELEASE_AGENT (one record per container and number a second);
     * path, path2: the path arguments as the caller passed them (user memory, read at entry: the
     * caller's, not a resolved name; "" when the call has none); result: the open flags of an
     * open (only write opens are recorded), else 0; esc_flags EG_ESC_PATH_UNRESOLVED when a path
     * argument could not be read.
     */
    EG_ESC_COMPAT_SYSCALL = 12,
};

/*
 * What the compat-syscall program needs of one i386 syscall, by its number (a read-only table
 * below EG_COMPAT_NR_LIMIT the agent fills before load: agent/kernel/compat_syscalls.c). The
 * argument numbers are 1-based (ebx is 1, ecx 2, edx 3, esi 4, edi 5); 0: none.
 */
#define EG_COMPAT_NR_LIMIT 512 /* i386 numbers below this (452 the highest watched) */
enum eg_compat_concern {
    EG_COMPAT_UNWATCHED = 0,
    EG_COMPAT_ROOTFS = 1, /* a root filesystem write the rootfs concern decodes natively */
    EG_COMPAT_HOSTNS = 2, /* a host-namespace action the hostns concern decodes natively */
};
struct eg_compat_syscall {
    __u8 concern; /* enum eg_compat_concern */
    __u8 path;    /* argument holding a path */
    __u8 path2;   /* argument holding a second path (rename, link: the new name) */
    __u8 flags;   /* argument holding open flags: recorded only with a write flag; 0: always */
};

/* eg_escape_event.arg0 of EG_ESC_MODULE_LOAD */
#define EG_MODULE_FROM_FILE 1u

/* eg_escape_event.esc_flags */
#define EG_ESC_MEMFD (1u << 0) /* FILELESS_EXEC, RUNTIME_EXE_OPEN: on a kernel-internal mount */
#define EG_ESC_PATH_UNRESOLVED (1u << 1) /* path could not be resolved */
#define EG_ESC_UFFD_DEVICE (1u << 2)     /* USERFAULTFD: through /dev/userfaultfd */
#define EG_ESC_SOCKET_BY_FD (1u << 3)    /* HOST_SOCKET: read from the connected descriptor */
/* HOST_SOCKET: an abstract socket a host process listens on; path is "@name", ino the kernel's
 * address object (not a file) */
#define EG_ESC_SOCKET_ABSTRACT (1u << 5)
/* MODULE_LOAD: loaded by the kernel's modprobe for the process (request_module); path2 is
 * what it asked for */
#define EG_ESC_MODULE_AUTOLOAD (1u << 4)
/* RUNTIME_EXE_OPEN: followed through /proc/<pid>/fd/N, or /proc/<pid>/map_files/<range>,
 * rather than /proc/<pid>/exe */
#define EG_ESC_VIA_FD (1u << 6)
#define EG_ESC_VIA_MAP_FILES (1u << 7)

/*
 * The open techniques' in-kernel dedup (eg_escape_opens, bpf/rootfs.bpf.c): one record per
 * (container, technique, file) a second, the write-opens in between counted in the value and
 * carried by the next record (arg1).
 */
struct eg_escape_open_key {
    __u64 cgroup_id;
    __u64 ino;
    __u32 dev;
    __u32 technique;
};

struct eg_escape_open_val {
    __u64 last_sent_ns; /* boot ns of the last record sent for this key */
    __u64 absorbed;     /* write-opens not sent since then */
};

struct eg_escape_event {
    struct eg_event_header hdr;
    __u64 ino;               /* the file or directory the technique acted on */
    __u32 dev;               /* s_dev of its super block */
    __u32 technique;         /* enum eg_escape_technique */
    __s32 result;            /* the operation's result (0 for an exec, which has succeeded) */
    __u32 esc_flags;         /* EG_ESC_* */
    __u32 arg0;              /* per technique, above */
    __u32 arg1;              /* per technique, above */
    char path[EG_PATH_LEN];  /* per technique, above */
    char path2[EG_PATH_LEN]; /* per technique, above */
    char name[EG_NAME_LEN];  /* per technique, above */
};

/* ---- root filesystem writes (bpf/rootfs.bpf.c) ---- */

/* eg_rootfs_write_event.op and eg_rootfs_pathop_event.op */
enum eg_rootfs_op {
    EG_ROOTFS_OP_OPEN = 1, /* open/openat/openat2/creat with write intent */
    EG_ROOTFS_OP_UNLINK = 2,
    EG_ROOTFS_OP_RMDIR = 3,
    EG_ROOTFS_OP_RENAME = 4,
    EG_ROOTFS_OP_MKDIR = 5,
    EG_ROOTFS_OP_LINK = 6,
    EG_ROOTFS_OP_SYMLINK = 7,
    EG_ROOTFS_OP_MKNOD = 8,
    EG_ROOTFS_OP_CHMOD = 9,
    EG_ROOTFS_OP_CHOWN = 10,
    EG_ROOTFS_OP_TRUNCATE = 11,
    EG_ROOTFS_OP_SETXATTR = 12, /* also removexattr, fsetxattr, fremovexattr */
    EG_ROOTFS_OP_SETTIMES = 13, /* utimensat, futimens, utime(s), futimesat */
};

/*
 * The path-only and fd syscalls whose exits the root filesystem concern watches, and where each
 * keeps what it acts on: one list for the two attachments. With function hooks every syscall
 * has its own program (fexit on its function, the layout a constant). With the syscall
 * tracepoints one program, eg_rootfs_exit_pathops, is attached to all their exits and finds
 * the layout by the syscall number the tracepoint reports, in eg_pathop_syscalls (read-only
 * data the agent fills from this list before load, with its own architecture's numbers): one
 * program verified per start where there were 33 (x86_64), ~0.5 s of this project's host's start.
 *
 * X(name, kind, op, fd, path, fd2, path2, mode, at_flags): `fd` and `path` (and the second
 * pair: rename's and link's target) say which argument holds the directory fd (the file's fd
 * for EG_PATHOP_KIND_FD) and the path; `mode` chmod's mode, `at_flags` the AT_* flags of a
 * syscall that acts on the fd itself for an empty path with AT_EMPTY_PATH or a NULL path
 * (EG_PATHOP_KIND_PATH_OR_FD). Each is EG_ARG_NONE, a 1-based argument number, or
 * EG_ARG_AT_FDCWD (the syscall has no directory fd: the working directory).
 */
enum eg_pathop_kind {
    EG_PATHOP_KIND_PATH = 1,       /* names a path, relative to a directory fd */
    EG_PATHOP_KIND_FD = 2,         /* acts on an open file */
    EG_PATHOP_KIND_PATH_OR_FD = 3, /* a path, or the fd itself (at_flags, a NULL path) */
};
#define EG_ARG_NONE 0
#define EG_ARG_AT_FDCWD 7
#define EG_PATHOP_NR_LIMIT 512 /* syscall numbers below this (452 the highest listed) */

struct eg_pathop_syscall {
    __u8 kind; /* enum eg_pathop_kind; 0: not a watched syscall */
    __u8 op;   /* enum eg_rootfs_op */
    __u8 fd, path, fd2, path2, mode, at_flags;
};

#define EG_PATHOP_SYSCALLS(X)                                                                      \
    X(unlinkat, PATH, UNLINK, 1, 2, 0, 0, 0, 0)                                                    \
    X(renameat, PATH, RENAME, 1, 2, 3, 4, 0, 0)                                                    \
    X(renameat2, PATH, RENAME, 1, 2, 3, 4, 0, 0)                                                   \
    X(mkdirat, PATH, MKDIR, 1, 2, 0, 0, 0, 0)                                                      \
    X(linkat, PATH, LINK, 1, 2, 3, 4, 0, 0)                                                        \
    X(symlinkat, PATH, SYMLINK, 2, 3, 0, 0, 0, 0)                                                  \
    X(mknodat, PATH, MKNOD, 1, 2, 0, 0, 0, 0)                                                      \
    X(fchmodat, PATH, CHMOD, 1, 2, 0, 0, 3, 0)                                                     \
    X(fchmodat2, PATH_OR_FD, CHMOD, 1, 2, 0, 0, 3, 4)                                              \
    X(fchownat, PATH_OR_FD, CHOWN, 1, 2, 0, 0, 0, 5)                                               \
    X(utimensat, PATH_OR_FD, SETTIMES, 1, 2, 0, 0, 0, 4)                                           \
    X(setxattr, PATH, SETXATTR, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                    \
    X(lsetxattr, PATH, SETXATTR, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                   \
    X(removexattr, PATH, SETXATTR, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                 \
    X(lremovexattr, PATH, SETXATTR, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                \
    X(truncate, PATH, TRUNCATE, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                    \
    X(fchmod, FD, CHMOD, 1, 0, 0, 0, 2, 0)                                                         \
    X(fchown, FD, CHOWN, 1, 0, 0, 0, 0, 0)                                                         \
    X(fsetxattr, FD, SETXATTR, 1, 0, 0, 0, 0, 0)                                                   \
    X(fremovexattr, FD, SETXATTR, 1, 0, 0, 0, 0, 0)

/*
 * The older syscalls of x86_64's table. arm64's native table has none of them (only the *at
 * forms): most are absent from its BTF anyway, but utime, utimes and futimesat are there as the
 * not-implemented stubs its syscall wrappers make for them, whose programs loaded and never
 * attached. futimesat's NULL path is the fd itself; it has no flags.
 */
#define EG_PATHOP_SYSCALLS_X86_64(X)                                                               \
    X(unlink, PATH, UNLINK, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                        \
    X(rmdir, PATH, RMDIR, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                          \
    X(rename, PATH, RENAME, EG_ARG_AT_FDCWD, 1, EG_ARG_AT_FDCWD, 2, 0, 0)                          \
    X(mkdir, PATH, MKDIR, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                          \
    X(link, PATH, LINK, EG_ARG_AT_FDCWD, 1, EG_ARG_AT_FDCWD, 2, 0, 0)                              \
    X(symlink, PATH, SYMLINK, EG_ARG_AT_FDCWD, 2, 0, 0, 0, 0)                                      \
    X(mknod, PATH, MKNOD, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                          \
    X(chmod, PATH, CHMOD, EG_ARG_AT_FDCWD, 1, 0, 0, 2, 0)                                          \
    X(chown, PATH, CHOWN, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                          \
    X(lchown, PATH, CHOWN, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                         \
    X(utime, PATH, SETTIMES, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                       \
    X(utimes, PATH, SETTIMES, EG_ARG_AT_FDCWD, 1, 0, 0, 0, 0)                                      \
    X(futimesat, PATH_OR_FD, SETTIMES, 1, 2, 0, 0, 0, 0)

/* eg_rootfs_write_event.rootfs_flags */
#define EG_ROOTFS_CREATED (1u << 0)         /* this open created the file (FMODE_CREATED) */
#define EG_ROOTFS_OVERLAY (1u << 1)         /* the root mount is overlayfs */
#define EG_ROOTFS_UPPER (1u << 2)           /* overlay: the file has an upper-layer copy */
#define EG_ROOTFS_LOWER (1u << 3)           /* overlay: the file comes from an image layer */
#define EG_ROOTFS_PATH_UNRESOLVED (1u << 4) /* path deeper/longer than kept */
#define EG_ROOTFS_TMPFILE (1u << 5)         /* O_TMPFILE: no name until linkat gives it one */

struct eg_rootfs_write_event {
    struct eg_event_header hdr;
    __u64 ino; /* inode of the opened file (overlay inode on overlayfs) */
    __u32 dev; /* s_dev of its super block */
    __u32 op;  /* enum eg_rootfs_op */
    __u32 open_flags;
    __u32 rootfs_flags;     /* EG_ROOTFS_* */
    char path[EG_PATH_LEN]; /* from the task's root */
};

/* eg_rootfs_pathop_event.pathop_flags / pathop_flags2 */
#define EG_PATHOP_BASE_ON_ROOT (1u << 0) /* the base (dirfd/cwd) is on the task's root mount */
#define EG_PATHOP_UNRESOLVED (1u << 1)   /* base or path could not be read */
#define EG_PATHOP_TRUNCATED (1u << 2)    /* user path longer than EG_PATH_LEN */
/*
 * The kernel had the file itself (fchmod, fchown, futimens, fsetxattr, or an AT_EMPTY_PATH /
 * NULL-path call on an fd): `path` is its absolute path from the task's root by the dentry walk
 * (symlinks already resolved, base ""), and the file is on the container's root mount.
 */
#define EG_PATHOP_FILE_ON_ROOT (1u << 3)
/*
 * The caller's root is not its container's (a chroot): its absolute `path` is relative to
 * that root, whose path from the container's root is in `base`.
 */
#define EG_PATHOP_IN_CHROOT (1u << 4)
/* pathop_flags only: the caller's root is not its container's, whatever its paths. */
#define EG_PATHOP_CALLER_CHROOTED (1u << 5)
/*
 * The kernel decided where the name is, at the LSM hook the VFS called for the operation (its
 * dentry's super block against the container's root filesystem's): on the root filesystem,
 * or on another mount (a volume, a tmpfs). Neither: the agent decides (kernels where the
 * hooks cannot be attached, or a root filesystem that is not an overlay).
 */
#define EG_PATHOP_NAME_ON_ROOT (1u << 6)
#define EG_PATHOP_NAME_OFF_ROOT (1u << 7)
/*
 * With EG_PATHOP_NAME_ON_ROOT: the kernel also named the file, from the same dentry up to the
 * root filesystem's root (kname / kname2): the name it really has, symlinked directories
 * resolved by the path walk that found it, whatever the container does to its links later or
 * whether any of its processes is still alive when the agent reads the event.
 */
#define EG_PATHOP_KERNEL_NAMED (1u << 8)

struct eg_rootfs_pathop_event {
    struct eg_event_header hdr;
    __u32 op; /* enum eg_rootfs_op */
    __u32 pathop_flags;
    __u32 pathop_flags2;
    __u32 mode;       /* EG_ROOTFS_OP_CHMOD: the mode argument (setuid/setgid bits); else 0 */
    __u64 dedup_hash; /* with hdr.cgroup_id, the eg_rootfs_pathops_seen key counting repeats */
    char base[EG_PATH_LEN];   /* "" when path is absolute; else dirfd's/cwd's path */
    char path[EG_PATH_LEN];   /* as the caller gave it */
    char base2[EG_PATH_LEN];  /* rename/link target's base */
    char path2[EG_PATH_LEN];  /* rename/link target ("" for other ops) */
    char kname[EG_PATH_LEN];  /* EG_PATHOP_KERNEL_NAMED in pathop_flags: the file's name */
    char kname2[EG_PATH_LEN]; /* EG_PATHOP_KERNEL_NAMED in pathop_flags2: the new name's */
};

/* eg_rootfs_exec_map_event.prot: made executable by mprotect, not mapped so by mmap. */
#define EG_EXEC_MAP_MPROTECT (1u << 31)

struct eg_rootfs_exec_map_event {
    struct eg_event_header hdr;
    __u64 ino;
    __u64 written_ts_ns; /* first write of the file (boot ns) */
    __u32 dev;
    __u32 prot; /* PROT_* of the call, | EG_EXEC_MAP_MPROTECT */
    char path[EG_PATH_LEN];
};

/*
 * Key of eg_rootfs_pathops_seen: a path-only operation (op, flags and the four path strings,
 * hashed) per cgroup. The value is a __u64 count of occurrences, the first one (sent)
 * included; the agent folds a key's growth into the rootfs finding only when it decided that
 * key's first event was on the rootfs (the kernel cannot: the final mount is decided in
 * userspace).
 */
struct eg_rootfs_pathop_key {
    __u64 cgroup_id;
    __u64 hash;
};

/* Key of eg_rootfs_written: files written in a container's rootfs. */
struct eg_rootfs_file_key {
    __u64 cgroup_id;
    __u64 ino;
    __u32 dev;
    __u32 _pad0;
};

/*
 * Host namespaces and process access (bpf/hostns.bpf.c). One record for both
 * EG_EVENT_NS_ENTER and EG_EVENT_PROC_ACCESS; the header is the caller, the
 * target_* fields the process acted on, resolved in the kernel at the call
 * (host pid + start time, so pid reuse cannot mix two processes up).
 */
enum eg_hostns_action {
    EG_ACT_SETNS = 1,        /* arg: setns nstype argument */
    EG_ACT_PTRACE = 2,       /* arg: ptrace request */
    EG_ACT_VM_WRITE = 3,     /* process_vm_writev */
    EG_ACT_PROC_MEM = 4,     /* open of /proc/<pid>/mem for writing; arg: f_flags */
    EG_ACT_KILL = 5,         /* arg: signal */
    EG_ACT_TKILL = 6,        /* tkill/tgkill; arg: signal */
    EG_ACT_PIDFD_SIGNAL = 7, /* pidfd_send_signal; arg: signal */
};

/* eg_hostns_event.target_flags */
#define EG_TGT_RESOLVED (1u << 0)   /* target_* identify the process (else only target_vpid) */
#define EG_TGT_HOST_PIDNS (1u << 1) /* the target's active pid ns is the initial one */
#define EG_TGT_ALL (1u << 2)        /* kill(-1): every process the caller can signal */
#define EG_TGT_GROUP (1u << 3)      /* kill(-pgrp): target is the process group's leader */
#define EG_TGT_NSFS (1u << 4)       /* setns through a namespace file (ns_inum/ns_type) */
#define EG_TGT_PIDFD (1u << 5)      /* setns/signal through a pidfd */

struct eg_hostns_event {
    struct eg_event_header hdr;
    __u64 target_start_time_ns; /* target's thread-group leader start_boottime */
    __u64 target_cgroup_id;     /* target's cgroup id in the tracked hierarchy */
    __u32 action;               /* enum eg_hostns_action */
    __u32 arg;
    __s32 target_vpid;        /* the pid as the caller named it (its own pid ns) */
    __u32 target_tgid;        /* host pid ns; 0 when not resolved */
    __u32 target_flags;       /* EG_TGT_* */
    __u32 ns_type;            /* setns through nsfs: CLONE_NEW* of the namespace file */
    __u32 ns_inum;            /* setns through nsfs: the namespace's inode number */
    __u32 ns_entered;         /* setns: CLONE_NEW* kinds now the host's (requested ones) */
    __u32 ns_was_host;        /* setns: of those, the ones that were already the host's */
    __u32 target_pid_ns_inum; /* target's active pid namespace */
    /*
     * Process access: the repeats of this access the kernel had absorbed under its dedup key
     * (eg_hostns_dedup_val.repeats) when it sent this record; lower than the agent's last read
     * only when the key was forgotten (LRU) and started again.
     */
    __u32 dedup_repeats;
    __u32 _pad0;
    char target_comm[EG_COMM_LEN];
    char target_exe[EG_PATH_LEN]; /* target's executable from its root ("" unresolved) */
};

/*
 * The in-kernel process-access dedup map: one record per (caller cgroup, action, arg, target)
 * a second; the repeats in between are counted in the value, and the agent folds their growth
 * into the finding (as it does for capability repeats).
 */
struct eg_hostns_dedup_val {
    __u64 last_sent_ns; /* boot ns of the last record sent for this key */
    __u64 repeats;      /* occurrences absorbed (not sent) since the key was created */
};

struct eg_hostns_dedup_key {
    __u64 cgroup_id;
    __u64 target_start_time_ns;
    __u32 target_tgid;
    __u32 action;
    __u32 arg;
    __u32 _pad0;
};

#endif /* ECSGUARD_BPF_EVENTS_H */
