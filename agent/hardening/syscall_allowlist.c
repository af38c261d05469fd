/*
 * The running agent's system calls (see syscall_allowlist.h). Grouped by what needs them, so a
 * new dependency's calls are added where a reader looks for them. A few calls are allowed only
 * with the arguments the agent uses: bpf() only for map access and the per-CPU flush (never a
 * program load or a new map or link), clone() only for threads (never a process), socket() only
 * for the address families of its HTTP clients, and no new executable memory.
 */
#include "agent/hardening/syscall_allowlist.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

static const char *const allowed[] = {
    /* memory, threads, signals, time: the C library and libcurl/OpenSSL underneath */
    "brk",
    "munmap",
    "mremap",
    "madvise",
    "futex",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "sched_yield",
    "sched_getaffinity",
    "exit",
    "exit_group",
    "gettid",
    "getpid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "tgkill",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "restart_syscall",
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "getrandom",
    "uname",
    "prlimit64",
    "getrlimit",
    "membarrier",
    /* files: /proc, the cgroup fs, the health, ready, spool and inventory files, the policy */
    "read",
    "readv",
    "pread64",
    "write",
    "writev",
    "pwrite64",
    "open",
    "openat",
    "close",
    "close_range",
    "fstat",
    "newfstatat",
    "stat",
    "lstat",
    "statx",
    "statfs",
    "fstatfs",
    "lseek",
    "fcntl",
    "dup",
    "dup2",
    "dup3",
    "readlink",
    "readlinkat",
    "getdents64",
    "access",
    "faccessat",
    "faccessat2",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "mkdir",
    "mkdirat",
    "fsync",
    "fdatasync",
    "ftruncate",
    "fallocate",
    "getcwd",
    "umask",
    /* the event loop: epoll over the ring buffer, signalfd, timerfd, eventfds, pipes */
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "eventfd2",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "signalfd4",
    "pipe2",
    /* HTTP: the introspection endpoint, the Docker socket, CloudWatch, credential endpoints */
    "connect",
    "bind",
    "getsockname",
    "getpeername",
    "getsockopt",
    "setsockopt",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "shutdown",
    "socketpair",
};

/* bpf() commands the running agent issues: map reads and writes, the per-CPU flush program. */
static const int bpf_commands[] = {
    BPF_MAP_LOOKUP_ELEM,  BPF_MAP_UPDATE_ELEM,
    BPF_MAP_DELETE_ELEM,  BPF_MAP_GET_NEXT_KEY,
    BPF_PROG_TEST_RUN,    BPF_OBJ_GET_INFO_BY_FD,
    BPF_MAP_LOOKUP_BATCH, BPF_MAP_LOOKUP_AND_DELETE_BATCH,
    BPF_MAP_UPDATE_BATCH, BPF_MAP_DELETE_BATCH,
};

/* ioctl() requests: stopping perf-event links at shutdown, and the sockets' byte counts. */
static const unsigned long ioctl_requests[] = {
    PERF_EVENT_IOC_DISABLE,
    FIONREAD,
    FIONBIO,
};

/* socket() families: IPv4 and IPv6 HTTP, the Docker socket, the resolver's address query. */
static const int socket_families[] = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK};

/* prctl() options: the C library and libcurl name and query threads. */
static const int prctl_options[] = {PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_CAPBSET_READ};

#ifdef ECSGUARD_SANITIZER_BUILD
/*
 * The AddressSanitizer build only (CI runs every integration test on it): at exit
 * LeakSanitizer clones a helper that is not a thread, which stops the agent's threads with
 * ptrace to scan their stacks. The shipped build has none of these.
 */
static const char *const sanitizer_runtime[] = {
    "ptrace", "wait4", "waitid", "clone", "prctl", "kill", "sched_getparam", "getpgid", "getdents"};
#endif

int eg_syscall_allowlist_size(void)
{
    return (int)(sizeof(allowed) / sizeof(allowed[0]));
}

/* The syscall number for this context's native architecture, or -1 when it has none. */
static int resolve(const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    return nr < 0 ? -1 : nr; /* libseccomp's pseudo numbers (absent here) are negative */
}

#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

int eg_syscall_allowlist_add(scmp_filter_ctx ctx, const char **failed_name)
{
    int rc = 0;
    for (int i = 0; i < COUNT(allowed) && rc == 0; i++) {
        int nr = resolve(allowed[i]);
        if (nr >= 0 && (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) != 0)
            *failed_name = allowed[i];
    }
    for (int i = 0; i < COUNT(bpf_commands) && rc == 0; i++)
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(bpf), 1,
                                   SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)bpf_commands[i]))) != 0)
            *failed_name = "bpf";
    for (int i = 0; i < COUNT(ioctl_requests) && rc == 0; i++)
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                   SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)ioctl_requests[i]))) != 0)
            *failed_name = "ioctl";
    for (int i = 0; i < COUNT(socket_families) && rc == 0; i++)
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                   SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)socket_families[i]))) != 0)
            *failed_name = "socket";
    for (int i = 0; i < COUNT(prctl_options) && rc == 0; i++)
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                                   SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctl_options[i]))) != 0)
            *failed_name = "prctl";
#ifdef ECSGUARD_SANITIZER_BUILD
    for (int i = 0; i < COUNT(sanitizer_runtime) && rc == 0; i++) {
        int nr = resolve(sanitizer_runtime[i]);
        if (nr >= 0 && (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) != 0)
            *failed_name = sanitizer_runtime[i];
    }
#endif
    if (rc != 0)
        return rc;
    /* kill() only as a liveness probe (signal 0: collectors/mount_table.c), never to signal. */
    if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, SCMP_A1(SCMP_CMP_EQ, 0))) !=
        0) {
        *failed_name = "kill";
        return rc;
    }
    /* Threads only: a clone() without CLONE_THREAD would be a new process. */
    if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                               SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD))) != 0) {
        *failed_name = "clone";
        return rc;
    }
    /*
     * clone3() passes its flags in memory a filter cannot read: refuse it with ENOSYS, which
     * makes the C library fall back to clone(), checked above.
     */
    if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) != 0) {
        *failed_name = "clone3";
        return rc;
    }
    /*
     * No new executable memory (mmap's and mprotect's prot is the third argument): allowed
     * without PROT_EXEC, refused with EPERM with it, so a library that tries fails cleanly.
     */
    const char *prot_calls[] = {"mmap", "mprotect", "pkey_mprotect"};
    for (int i = 0; i < COUNT(prot_calls); i++) {
        int nr = resolve(prot_calls[i]);
        if (nr < 0)
            continue;
        if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                   SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) != 0 ||
            (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
                                   SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC))) != 0) {
            *failed_name = prot_calls[i];
            return rc;
        }
    }
    return 0;
}
