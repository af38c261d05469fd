/*
 * The i386 syscalls the compat-syscall concern watches (bpf/compat.bpf.c): the 32-bit forms of
 * the syscalls whose native forms the root filesystem and host-namespace concerns decode, with
 * their i386 numbers (from the C library's <asm/unistd_32.h>), the kernel functions an x86_64
 * kernel dispatches them to, and where their path and flag arguments are. The loader fills the
 * program's read-only table by number from it and attaches the program to the functions.
 * Empty on other architectures (arm64's AArch32 syscalls are not watched).
 */
#ifndef ECSGUARD_AGENT_KERNEL_COMPAT_SYSCALLS_H
#define ECSGUARD_AGENT_KERNEL_COMPAT_SYSCALLS_H

#include <stddef.h>

#include "bpf/events.h"

struct eg_compat_syscall_row {
    const char *name; /* the i386 name (unistd_32.h's, without __NR_) */
    long nr;          /* its i386 number */
    /*
     * The kernel's name for it, the part after __ia32_sys_ / __ia32_compat_sys_: the same name,
     * or the old 16-bit and 32-bit-time forms i386 keeps under the old names ("chown16",
     * "utime32"). The loader attaches to each of the two functions the kernel has.
     */
    const char *function;
    struct eg_compat_syscall layout;
};

extern const struct eg_compat_syscall_row eg_compat_syscall_rows[];
extern const size_t eg_compat_syscall_row_count;

/* The row of i386 number `nr`, or NULL. */
const struct eg_compat_syscall_row *eg_compat_syscall_by_nr(long nr);

#endif
