// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * 32-bit compat syscalls of contained processes (EG_EVENT_ESCAPE, EG_ESC_COMPAT_SYSCALL).
 *
 * On x86_64 a process can make the i386 ABI's syscalls (int 0x80, sysenter, or any syscall of
 * a 32-bit binary) where the kernel has CONFIG_IA32_EMULATION, as Debian's 5.10, 6.1 and 6.12
 * do, and Docker's default seccomp profile allows them. Those calls reach neither of the
 * attachments the root filesystem and host-namespace concerns use: x86's syscall tracepoints
 * ignore compat syscalls (ARCH_TRACE_IGNORE_COMPAT_SYSCALLS), and the function hooks are on the
 * native entry points (__x64_sys_*), while the kernel dispatches an i386 call to
 * __ia32_sys_<name> or __ia32_compat_sys_<name>. So a container could write its root file system
 * or enter a host namespace through them unseen.
 *
 * This program runs at the entry of each i386 entry point of a watched syscall (the agent
 * attaches it, agent/kernel/bpf_compat.c): one kprobe program attached once per function, or
 * once to all of them through kprobe.multi where the kernel has fprobe. Every such entry point
 * takes the caller's saved registers (const struct pt_regs *): the syscall number the kernel
 * dispatched on is their orig_ax, and the i386 arguments are ebx, ecx, edx, esi, edi (32-bit
 * values: a compat caller's pointers are below 4 GiB). What the number means is in a read-only
 * table the agent fills from its C library's i386 numbers (eg_compat_syscalls).
 *
 * The call itself is the finding (DefenseEvasion:Runtime/CompatSyscallUsed): the container made
 * a call its native form would have been decoded from, through an entry the other concerns do
 * not see. It is recorded at entry, before the kernel has read the path arguments, so the paths
 * in the record are what the caller passed (it could change them between this read and the
 * kernel's): the number and the process are the kernel's facts, the paths are evidence.
 *
 * Not x86_64: arm64's AArch32 compat syscalls are not watched (docs/threat-model.md); the program
 * exists there so that the object builds, and the agent does not load it.
 */
#include "common.bpf.h"
#include "escape_dedup.bpf.h"

#define EG_COMPAT_O_WRITE (01 | 02 | 0100 | 01000) /* O_WRONLY, O_RDWR, O_CREAT, O_TRUNC */
#define EG_MAX_COMPAT_KEYS 1024

/* Filled by the agent before load, by i386 syscall number (struct eg_compat_syscall). */
const volatile struct eg_compat_syscall eg_compat_syscalls[EG_COMPAT_NR_LIMIT] = {};

/* One record per (container, syscall number) a second (escape_dedup.bpf.h); key.ino: the number. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, EG_MAX_COMPAT_KEYS);
    __type(key, struct eg_escape_open_key);
    __type(value, struct eg_escape_open_val);
} eg_compat_calls SEC(".maps");

#if defined(__TARGET_ARCH_x86)
/* The i386 argument `n` (1-based: ebx, ecx, edx, esi, edi) of the saved registers. */
static __always_inline __u32 compat_arg(const struct pt_regs *r, __u32 n)
{
    switch (n) {
    case 1:
        return (__u32)r->bx;
    case 2:
        return (__u32)r->cx;
    case 3:
        return (__u32)r->dx;
    case 4:
        return (__u32)r->si;
    case 5:
        return (__u32)r->di;
    default:
        return 0;
    }
}

/* The user string at 32-bit address `addr` into out[EG_PATH_LEN]; 0, or -1 when unreadable. */
static __always_inline int compat_path(char *out, __u32 addr)
{
    long n = bpf_probe_read_user_str(out, EG_PATH_LEN, (const void *)(unsigned long)addr);
    if (n < 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

static __always_inline int compat_entry(const struct pt_regs *uregs, const bool legacy)
{
    struct task_struct *task = eg_current_task(legacy);
    __u64 cgid;
    if (!eg_current_container(task, &cgid, legacy))
        return 0;
    struct pt_regs r;
    if (bpf_probe_read_kernel(&r, sizeof(r), uregs) != 0)
        return 0;
    __u32 nr = (__u32)r.orig_ax;
    if (nr >= EG_COMPAT_NR_LIMIT)
        return 0;
    const volatile struct eg_compat_syscall *c = &eg_compat_syscalls[nr];
    __u8 concern = c->concern, path = c->path, path2 = c->path2, flags = c->flags;
    if (concern == EG_COMPAT_UNWATCHED)
        return 0;
    __u32 open_flags = flags ? compat_arg(&r, flags) : 0;
    /* A read-only open is not a write: its native form is not a finding either. */
    if (flags && !(open_flags & EG_COMPAT_O_WRITE))
        return 0;
    if (!eg_escape_wanted(eg_in_setup(task, legacy)))
        return 0;
    struct eg_escape_open_key k = {
        .cgroup_id = cgid, .ino = nr, .dev = 0, .technique = EG_ESC_COMPAT_SYSCALL};
    __u64 absorbed;
    if (!eg_escape_due(&eg_compat_calls, &k, &absorbed)) {
        eg_count_deduplicated(EG_EVENT_ESCAPE);
        return 0;
    }
    struct eg_escape_event *e = eg_reserve(EG_EVENT_ESCAPE, sizeof(*e));
    if (!e)
        return 0;
    eg_fill_header(&e->hdr, task, cgid, EG_EVENT_ESCAPE, sizeof(*e));
    e->ino = 0;
    e->dev = 0;
    e->technique = EG_ESC_COMPAT_SYSCALL;
    e->result = (__s32)open_flags;
    e->esc_flags = 0;
    e->arg0 = nr;
    e->arg1 = absorbed > 0xffffffffULL ? 0xffffffffU : (__u32)absorbed;
    e->path[0] = '\0';
    e->path2[0] = '\0';
    e->name[0] = '\0';
    if (path && compat_path(e->path, compat_arg(&r, path)) != 0)
        e->esc_flags |= EG_ESC_PATH_UNRESOLVED;
    if (path2 && compat_path(e->path2, compat_arg(&r, path2)) != 0)
        e->esc_flags |= EG_ESC_PATH_UNRESOLVED;
    eg_submit(e, EG_EVENT_ESCAPE, true);
    return 0;
}
#else
static __always_inline int compat_entry(const struct pt_regs *uregs, const bool legacy)
{
    return 0;
}
#endif

/*
 * The entry points' first argument is the saved registers; the kprobe's own context is the
 * registers at the function's entry, where that argument is (PT_REGS_PARM1).
 */
SEC("kprobe")
int eg_compat_kprobe(struct pt_regs *ctx)
{
    return compat_entry((const struct pt_regs *)PT_REGS_PARM1(ctx), false);
}

SEC("kprobe")
int eg_compat_kprobe_lg(struct pt_regs *ctx)
{
    return compat_entry((const struct pt_regs *)PT_REGS_PARM1(ctx), true);
}

/* The same, attached once to every entry point (fprobe, 5.18+ where CONFIG_FPROBE is set). */
SEC("kprobe.multi")
int eg_compat_kprobe_multi(struct pt_regs *ctx)
{
    return compat_entry((const struct pt_regs *)PT_REGS_PARM1(ctx), false);
}
