/* The watched i386 syscalls (compat_syscalls.h). */
#include "agent/kernel/compat_syscalls.h"

#if defined(__x86_64__)
#include <asm/unistd_32.h>

/* fchmodat2 (Linux 6.6) is newer than the build's kernel headers (6.1): i386's number. */
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

#define ROOTFS(name, fn, path, path2, flags)                                                       \
    {#name, __NR_##name, fn, {EG_COMPAT_ROOTFS, path, path2, flags}},
#define HOSTNS(name) {#name, __NR_##name, #name, {EG_COMPAT_HOSTNS, 0, 0, 0}},

/*
 * Argument numbers as in i386's calling convention (1: ebx ... 5: edi); the same positions as
 * the native forms' (bpf/events.h's EG_PATHOP_SYSCALLS lists), which the unit test checks every
 * native name against. `path` is the name the call acts on (the new link's for symlink), `path2`
 * the other one (rename's and link's new name, symlink's target).
 */
const struct eg_compat_syscall_row eg_compat_syscall_rows[] = {
    /* opens: only with a write flag (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC); openat2's are in user
     * memory, creat always writes */
    ROOTFS(open, "open", 1, 0, 2) ROOTFS(openat, "openat", 2, 0, 3) ROOTFS(creat, "creat", 1, 0, 0)
        ROOTFS(openat2, "openat2", 2, 0, 0)
    /* path-only operations */
    ROOTFS(unlink, "unlink", 1, 0, 0) ROOTFS(unlinkat, "unlinkat", 2, 0, 0)
        ROOTFS(rmdir, "rmdir", 1, 0, 0) ROOTFS(mkdir, "mkdir", 1, 0, 0)
            ROOTFS(mkdirat, "mkdirat", 2, 0, 0) ROOTFS(rename, "rename", 1, 2, 0)
                ROOTFS(renameat, "renameat", 2, 4, 0) ROOTFS(renameat2, "renameat2", 2, 4, 0)
                    ROOTFS(link, "link", 1, 2, 0) ROOTFS(linkat, "linkat", 2, 4, 0)
                        ROOTFS(symlink, "symlink", 2, 1, 0) ROOTFS(symlinkat, "symlinkat", 3, 1, 0)
                            ROOTFS(mknod, "mknod", 1, 0, 0) ROOTFS(mknodat, "mknodat", 2, 0, 0)
                                ROOTFS(chmod, "chmod", 1, 0, 0) ROOTFS(fchmod, "fchmod", 0, 0, 0)
                                    ROOTFS(fchmodat, "fchmodat", 2, 0, 0)
                                        ROOTFS(fchmodat2, "fchmodat2", 2, 0, 0)
    /* i386's chown, lchown and fchown take 16-bit ids; the 32 forms are the native calls */
    ROOTFS(chown, "chown16", 1, 0, 0) ROOTFS(lchown, "lchown16", 1, 0, 0)
        ROOTFS(fchown, "fchown16", 0, 0, 0) ROOTFS(chown32, "chown", 1, 0, 0)
            ROOTFS(lchown32, "lchown", 1, 0, 0) ROOTFS(fchown32, "fchown", 0, 0, 0)
                ROOTFS(fchownat, "fchownat", 2, 0, 0)
    /* i386's time calls take 32-bit times; utimensat_time64 is the native call */
    ROOTFS(utime, "utime32", 1, 0, 0) ROOTFS(utimes, "utimes_time32", 1, 0, 0) ROOTFS(
        futimesat, "futimesat_time32", 2, 0, 0) ROOTFS(utimensat, "utimensat_time32", 2, 0, 0)
        ROOTFS(utimensat_time64, "utimensat", 2, 0, 0) ROOTFS(truncate, "truncate", 1, 0, 0)
            ROOTFS(truncate64, "ia32_truncate64", 1, 0, 0) ROOTFS(setxattr, "setxattr", 1, 0, 0)
                ROOTFS(lsetxattr, "lsetxattr", 1, 0, 0) ROOTFS(fsetxattr, "fsetxattr", 0, 0, 0)
                    ROOTFS(removexattr, "removexattr", 1, 0, 0)
                        ROOTFS(lremovexattr, "lremovexattr", 1, 0, 0)
                            ROOTFS(fremovexattr, "fremovexattr", 0, 0, 0)
    /* the host-namespace concern's syscalls: their targets are decided natively, not here */
    HOSTNS(setns) HOSTNS(ptrace) HOSTNS(process_vm_writev) HOSTNS(kill) HOSTNS(tkill) HOSTNS(tgkill)
        HOSTNS(pidfd_send_signal)};

const size_t eg_compat_syscall_row_count =
    sizeof(eg_compat_syscall_rows) / sizeof(eg_compat_syscall_rows[0]);
#else
const struct eg_compat_syscall_row eg_compat_syscall_rows[1] = {{0}};
const size_t eg_compat_syscall_row_count = 0;
#endif

const struct eg_compat_syscall_row *eg_compat_syscall_by_nr(long nr)
{
    for (size_t i = 0; i < eg_compat_syscall_row_count; i++)
        if (eg_compat_syscall_rows[i].nr == nr)
            return &eg_compat_syscall_rows[i];
    return NULL;
}
