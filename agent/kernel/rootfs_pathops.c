/* The path-only and fd syscalls' layouts by this architecture's numbers (rootfs_pathops.h). */
#include "agent/kernel/rootfs_pathops.h"

#include <sys/syscall.h>

/*
 * fchmodat2 (Linux 6.6) is newer than the build's C library headers (glibc 2.36): the generic
 * table's number, which x86_64 and arm64 both use. A kernel without it has no tracepoint for it:
 * the loader reports it missing.
 */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

#define PATHOP_ENTRY(name, kind, op, fd, path, fd2, path2, mode, at_flags)                         \
    {#name,                                                                                        \
     SYS_##name,                                                                                   \
     {EG_PATHOP_KIND_##kind, EG_ROOTFS_OP_##op, fd, path, fd2, path2, mode, at_flags}},

const struct eg_rootfs_pathop_syscall eg_rootfs_pathop_syscalls[] = {
    EG_PATHOP_SYSCALLS(PATHOP_ENTRY)
#if defined(__x86_64__)
        EG_PATHOP_SYSCALLS_X86_64(PATHOP_ENTRY)
#endif
};

const size_t eg_rootfs_pathop_syscall_count =
    sizeof(eg_rootfs_pathop_syscalls) / sizeof(eg_rootfs_pathop_syscalls[0]);
