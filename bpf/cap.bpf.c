// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Capability checks made by processes in task containers.
 *
 * Three attach points, one handler; the agent probes the kernel and loads
 * exactly one of them (see agent/bpf_loader.c):
 *   tp_btf/cap_capable          kernels with the capability tracepoint (~6.14+)
 *   fexit/cap_capable           older kernels that allow tracing programs
 *   kprobe+kretprobe/cap_capable  the last resort
 * Each has a "_lg" twin for the legacy task-access flavour (bpf/task.bpf.h:
 * kernels before 5.11/5.15, e.g. 5.10), loaded where the kernel lacks the
 * helpers the others use.
 *
 * Filters, cheapest first: watched capability, task-container cgroup,
 * borrowed credentials, runtime set-up phase, memory-overcommit noise, then
 * in-kernel dedup. Only the first occurrence of a (cgroup, cap, result,
 * syscall, executable) is sent; repeats are counted in eg_cap_dedup.
 */
#include "common.bpf.h"

#define CAP_SYS_ADMIN_NR 21
#define EG_STACK_FRAMES 8
#define EG_MAX_CAP_DEDUP 16384

/* Watched capabilities as a bit mask; updated live from userspace (.data is mmap-able). */
__u64 eg_watched_caps = (1ULL << 21) | (1ULL << 12) | (1ULL << 39);

/*
 * Address ranges (from /proc/kallsyms) of the functions whose capability
 * checks are memory-overcommit accounting, not privilege use. 0 = unknown.
 */
const volatile __u64 eg_vm_enough_start = 0;
const volatile __u64 eg_vm_enough_end = 0;
const volatile __u64 eg_cap_vm_enough_start = 0;
const volatile __u64 eg_cap_vm_enough_end = 0;

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, EG_MAX_CAP_DEDUP);
    __type(key, struct eg_cap_dedup_key);
    __type(value, struct eg_cap_dedup_val);
} eg_cap_dedup SEC(".maps");

/* kprobe fallback: arguments stashed at entry, read at return. */
struct eg_cap_args {
    const struct cred *cred;
    const struct user_namespace *capable_ns;
    int cap;
};
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct eg_cap_args);
} eg_cap_inflight SEC(".maps");

struct eg_stack {
    __u64 ip[EG_STACK_FRAMES];
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct eg_stack);
} eg_stack_scratch SEC(".maps");

static __always_inline bool in_range(__u64 ip, __u64 start, __u64 end)
{
    return start && ip >= start && ip < end;
}

/*
 * Every mmap/brk/fork/exec-stack set-up calls security_vm_enough_memory_mm
 * -> cap_vm_enough_memory -> cap_capable(CAP_SYS_ADMIN, NOAUDIT): about 13
 * per fork+exec, and all denied in a container without CAP_SYS_ADMIN. The
 * arguments cannot tell them apart from real checks; the callers can.
 * Returns 1 for overcommit noise, 0 for a real check, -1 when unknown.
 */
static __always_inline int is_overcommit_check(void *ctx)
{
    if (!eg_vm_enough_start && !eg_cap_vm_enough_start)
        return -1;
    __u32 zero = 0;
    struct eg_stack *st = bpf_map_lookup_elem(&eg_stack_scratch, &zero);
    if (!st)
        return -1;
    long n = bpf_get_stack(ctx, st->ip, sizeof(st->ip), 0);
    if (n <= 0)
        return -1;
        /* The caller's frame index differs by hook type and kernel; scan them all. */
#pragma unroll
    for (int i = 0; i < EG_STACK_FRAMES; i++) {
        if (i * 8 >= n)
            break;
        __u64 ip = st->ip[i];
        if (in_range(ip, eg_vm_enough_start, eg_vm_enough_end) ||
            in_range(ip, eg_cap_vm_enough_start, eg_cap_vm_enough_end))
            return 1;
    }
    return 0;
}

/*
 * The cheap test for the same noise. Nearly all overcommit callers (mmap_region, brk,
 * mprotect, mremap, dup_mmap at fork, stack set-up at exec) run with the current mm's
 * mmap_lock held for writing, and the capability checks mainline makes under that lock are
 * other capabilities (CAP_IPC_LOCK for mlock limits, CAP_SYS_RAWIO for low addresses).
 * "Held for writing by this task" is two direct loads: the writer bit of the count and the
 * owner field, which holds the writer's task_struct (low bits are flags). The callers
 * without that lock: the new mm at exec (see is_exec_syscall) and tmpfs page accounting,
 * which still takes the stack walk.
 * Kernels whose rw_semaphore has no owner field (PREEMPT_RT) always take the walk.
 */
#define EG_RWSEM_WRITER_LOCKED 1UL
#define EG_RWSEM_OWNER_FLAGS 7UL

static __always_inline bool holds_own_mmap_write_lock(struct task_struct *task, const bool legacy)
{
    if (!bpf_core_field_exists(struct mm_struct, mmap_lock) ||
        !bpf_core_field_exists(struct rw_semaphore, owner))
        return false;
    struct mm_struct *mm = EG_LOAD(legacy, task, mm);
    if (!mm)
        return false;
    unsigned long count = (unsigned long)EG_LOAD(legacy, mm, mmap_lock.count.counter);
    unsigned long owner = (unsigned long)EG_LOAD(legacy, mm, mmap_lock.owner.counter);
    return (count & EG_RWSEM_WRITER_LOCKED) &&
           (owner & ~EG_RWSEM_OWNER_FLAGS) == (unsigned long)task;
}

/*
 * execve/execveat set up the new mm (its stack VMA) before it becomes current->mm, so that
 * overcommit check has neither property (1) nor a cheap stack: walking it cost ~40 us per
 * exec on the benchmark VM. The syscall says enough: exec makes no CAP_SYS_ADMIN check of
 * its own (its permission checks are the DAC capabilities), so CAP_SYS_ADMIN inside execve
 * is memory accounting. Native syscall numbers; 32-bit compat exec takes the walk.
 */
static __always_inline bool is_exec_syscall(int nr)
{
#if defined(__TARGET_ARCH_x86)
    return nr == 59 || nr == 322;
#elif defined(__TARGET_ARCH_arm64)
    return nr == 221 || nr == 281;
#else
    return false;
#endif
}

/* The syscall number the task is in (-1 outside one); legacy: no bpf_task_pt_regs. */
static __always_inline int current_syscall_nr(struct task_struct *task, const bool legacy)
{
    struct pt_regs *regs =
        legacy ? eg_syscall_regs_legacy(task, -1) : (struct pt_regs *)bpf_task_pt_regs(task);
    if (!regs)
        return -1;
#if defined(__TARGET_ARCH_x86)
    return (int)EG_LOAD(legacy, regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
    return (int)EG_LOAD(legacy, regs, syscallno);
#else
    return -1;
#endif
}

/*
 * Repeats of the key this CPU saw last are counted in the per-CPU task cache (verdict.bpf.h)
 * rather than in eg_cap_dedup: a loop of one privileged call costs a compare and an add in a
 * page the check already touched, where the LRU lookup hashed 32 bytes and touched a bucket
 * and an element (~70 ns of ~250 on the benchmark VM). The counts reach eg_cap_dedup when the
 * key on this CPU changes, and once a second when the agent runs eg_cap_flush on every CPU
 * before it reads the repeat counts, so what it reads is exact up to that moment.
 *
 * eg_cap_flush runs on the CPU in an IPI and can interrupt this program anywhere. cap_count
 * has one writer (this program); cap_flushed is moved by whoever flushes; a key change first
 * clears cap_valid, so an interrupting flush leaves the slot alone while it changes, and the
 * program's own flush of the old key cannot race with one that already happened (it then
 * finds nothing left).
 */
#define EG_BARRIER() asm volatile("" ::: "memory")

static __always_inline __u64 cap_key_check(const struct eg_cap_dedup_key *k)
{
    const __u64 *w = (const __u64 *)k;
    __u64 h = eg_mix(0x369dea0f31a53f85ULL, w[0]);
    h = eg_mix(h, w[1]);
    h = eg_mix(h, w[2]);
    return eg_mix(h, w[3]);
}

static __always_inline bool cap_slot_matches(const struct eg_verdict_cache *vc,
                                             const struct eg_cap_dedup_key *k)
{
    const __u64 *a = (const __u64 *)&vc->cap_key, *b = (const __u64 *)k;
    return vc->cap_valid && a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] &&
           vc->cap_check == cap_key_check(k);
}

/* Move the slot's counts not yet in eg_cap_dedup there. */
static __always_inline void cap_slot_flush(struct eg_verdict_cache *vc)
{
    __u64 count = vc->cap_count;
    __u64 delta = count - vc->cap_flushed;
    if (!delta)
        return;
    struct eg_cap_dedup_key key = vc->cap_key;
    vc->cap_flushed = count;
    if (cap_key_check(&key) != vc->cap_check)
        return; /* torn by a preempting writer: the key is no real one */
    struct eg_cap_dedup_val *v = bpf_map_lookup_elem(&eg_cap_dedup, &key);
    if (v)
        __sync_fetch_and_add(&v->count, delta);
    /* else the LRU forgot the key: its repeats go with it, as counts in it would have. */
}

static __always_inline void cap_slot_install(struct eg_verdict_cache *vc,
                                             const struct eg_cap_dedup_key *k)
{
    vc->cap_valid = 0;
    EG_BARRIER();
    cap_slot_flush(vc);
    vc->cap_key = *k;
    vc->cap_check = cap_key_check(k);
    vc->cap_flushed = vc->cap_count;
    EG_BARRIER();
    vc->cap_valid = 1;
}

static __always_inline int handle_cap(void *ctx, const struct cred *cred,
                                      const struct user_namespace *capable_ns, int cap, int ret,
                                      const bool legacy)
{
    if (cap < 0 || cap >= 64 || !(eg_watched_caps & (1ULL << cap)))
        return 0;

    struct task_struct *task = eg_current_task(legacy);
    __u64 cgid;
    struct eg_verdict_cache *cached;
    if (!eg_current_verdict(task, &cgid, &cached, legacy))
        return 0;

    eg_count_seen(EG_EVENT_CAP);

    /* override_creds() users (overlayfs copy-up, ...) check borrowed creds. */
    if (cred != EG_LOAD(legacy, task, real_cred)) {
        eg_count_filtered(EG_EVENT_CAP, EG_FILTER_BORROWED_CRED);
        return 0;
    }
    /* Before the dedup lookup: noise told apart this cheaply never counts as a repeat. */
    int syscall_nr = current_syscall_nr(task, legacy);
    if (cap == CAP_SYS_ADMIN_NR &&
        (holds_own_mmap_write_lock(task, legacy) || is_exec_syscall(syscall_nr))) {
        eg_count_filtered(EG_EVENT_CAP, EG_FILTER_OVERCOMMIT_FAST);
        return 0;
    }
    struct eg_cap_dedup_key key = {};
    key.cgroup_id = cgid;
    __u64 exe_ino, exe_dev;
    eg_current_exe(task, cached, &exe_ino, &exe_dev, legacy);
    key.exe_ino = exe_ino;
    key.exe_dev = (__u32)exe_dev;
    key.cap = cap;
    key.syscall_nr = syscall_nr;
    key.granted = ret == 0;

    /*
     * Repeats first: a key in the table was a real check (noise never enters it), so a
     * repeat is counted before the stack walk, by far the dearest step (~1.7 us of ~2.2 us
     * per CAP_SYS_ADMIN check on the benchmark VM). The one consequence: an overcommit
     * check made in the same syscall by the same binary as an earlier real check counts as a
     * repeat of it instead of being filtered. Counts can grow; no real check is missed.
     * The runtime set-up test (a hash lookup) comes after the repeat test too: keys enter
     * the table only from processes past set-up, and set-up runs the runtime's binary, so
     * a set-up check matching a task's key is a task running the runtime binary itself.
     */
    if (cached && cap_slot_matches(cached, &key)) {
        cached->cap_count++;
        eg_count_deduplicated(EG_EVENT_CAP);
        return 0;
    }
    struct eg_cap_dedup_val *seen = bpf_map_lookup_elem(&eg_cap_dedup, &key);
    if (seen) {
        /* Counted, not timed (see struct eg_cap_dedup_val): no clock read on this path. */
        __sync_fetch_and_add(&seen->count, 1);
        eg_count_deduplicated(EG_EVENT_CAP);
        if (cached)
            cap_slot_install(cached, &key);
        return 0;
    }
    if (eg_in_setup(task, legacy)) {
        eg_count_filtered(EG_EVENT_CAP, EG_FILTER_SETUP);
        return 0;
    }
    __u32 cap_flags = 0;
    if (cap == CAP_SYS_ADMIN_NR) {
        int oc = is_overcommit_check(ctx);
        if (oc == 1) {
            eg_count_filtered(EG_EVENT_CAP, EG_FILTER_OVERCOMMIT);
            return 0;
        }
        if (oc < 0)
            cap_flags |= EG_CAP_NOISE_UNCHECKED;
    }

    struct eg_cap_dedup_val first = {.count = 1, .first_ts_ns = bpf_ktime_get_boot_ns()};
    if (bpf_map_update_elem(&eg_cap_dedup, &key, &first, BPF_NOEXIST) == 0) {
        if (cached)
            cap_slot_install(cached, &key);
    } else {
        /* Lost a race with another CPU for the same key: that one sends. */
        seen = bpf_map_lookup_elem(&eg_cap_dedup, &key);
        if (seen) {
            __sync_fetch_and_add(&seen->count, 1);
            eg_count_deduplicated(EG_EVENT_CAP);
            return 0;
        }
        /* Could not record it for dedup: send it anyway and say so. */
        struct eg_counters *c = eg_counters_get();
        if (c)
            c->filter_reason[EG_FILTER_DEDUP_FULL]++;
    }

    struct eg_cap_event *e = eg_reserve(EG_EVENT_CAP, sizeof(*e));
    if (!e)
        return 0;
    eg_fill_header(&e->hdr, task, cgid, EG_EVENT_CAP, sizeof(*e));
    e->exe_ino = key.exe_ino;
    e->exe_dev = key.exe_dev;
    e->cap = cap;
    e->ret = ret;
    e->syscall_nr = key.syscall_nr;
    e->cap_flags = cap_flags;
    e->_pad0 = 0;
    /* Checked against the initial user namespace: power over the whole host. */
    if (BPF_CORE_READ(capable_ns, level) == 0)
        e->cap_flags |= EG_CAP_HOST_LEVEL;
    /* First occurrences only: the name is read from the live mm, not cached. */
    struct file *exe = EG_LOAD(legacy, task, mm, exe_file);
    struct dentry *d = BPF_CORE_READ(exe, f_path.dentry);
    bpf_probe_read_kernel_str(e->exe_name, sizeof(e->exe_name), BPF_CORE_READ(d, d_name.name));
    eg_submit(e, EG_EVENT_CAP, false);
    return 0;
}

/*
 * Not attached: the agent runs it on each CPU (BPF_PROG_TEST_RUN, BPF_F_TEST_RUN_ON_CPU) before
 * it reads eg_cap_dedup, so the repeats counted in that CPU's slot are in the map it reads.
 */
SEC("raw_tp")
int eg_cap_flush(void *ctx)
{
    __u32 zero = 0;
    struct eg_verdict_cache *vc = bpf_map_lookup_elem(&eg_verdict_cache, &zero);
    if (vc && vc->cap_valid)
        cap_slot_flush(vc);
    return 0;
}

SEC("tp_btf/cap_capable")
int BPF_PROG(eg_cap_capable_tp, const struct cred *cred, struct user_namespace *target_ns,
             const struct user_namespace *capable_ns, int cap, int ret)
{
    return handle_cap(ctx, cred, capable_ns, cap, ret, false);
}

/* Kernels with this tracepoint have every helper; the twin lets tests run the legacy flavour. */
SEC("tp_btf/cap_capable")
int BPF_PROG(eg_cap_capable_tp_lg, const struct cred *cred, struct user_namespace *target_ns,
             const struct user_namespace *capable_ns, int cap, int ret)
{
    return handle_cap(ctx, cred, capable_ns, cap, ret, true);
}

SEC("fexit/cap_capable")
int BPF_PROG(eg_cap_capable_fexit, const struct cred *cred, struct user_namespace *targ_ns, int cap,
             unsigned int opts, int ret)
{
    /* Before the 6.14 rework cap_capable had no capable_ns; targ_ns is the namespace checked. */
    return handle_cap(ctx, cred, targ_ns, cap, ret, false);
}

SEC("fexit/cap_capable")
int BPF_PROG(eg_cap_capable_fexit_lg, const struct cred *cred, struct user_namespace *targ_ns,
             int cap, unsigned int opts, int ret)
{
    return handle_cap(ctx, cred, targ_ns, cap, ret, true);
}

SEC("kprobe/cap_capable")
int BPF_KPROBE(eg_cap_capable_kprobe, const struct cred *cred, struct user_namespace *targ_ns,
               int cap)
{
    if (cap < 0 || cap >= 64 || !(eg_watched_caps & (1ULL << cap)))
        return 0;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct eg_cap_args a = {.cred = cred, .capable_ns = targ_ns, .cap = cap};
    bpf_map_update_elem(&eg_cap_inflight, &tid, &a, BPF_ANY);
    return 0;
}

static __always_inline int cap_return(struct pt_regs *ctx, int ret, const bool legacy)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct eg_cap_args *a = bpf_map_lookup_elem(&eg_cap_inflight, &tid);
    if (!a)
        return 0;
    struct eg_cap_args args = *a;
    bpf_map_delete_elem(&eg_cap_inflight, &tid);
    return handle_cap(ctx, args.cred, args.capable_ns, args.cap, ret, legacy);
}

SEC("kretprobe/cap_capable")
int BPF_KRETPROBE(eg_cap_capable_kretprobe, int ret)
{
    return cap_return(ctx, ret, false);
}

SEC("kretprobe/cap_capable")
int BPF_KRETPROBE(eg_cap_capable_kretprobe_lg, int ret)
{
    return cap_return(ctx, ret, true);
}
