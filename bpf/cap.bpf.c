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
 * borrowed credentials, memory-overcommit noise, the kernel's CAP_SYS_ADMIN
 * fallback after another capability was refused, then in-kernel dedup, runtime
 * set-up phase. Only the first occurrence of a (cgroup, cap, result, scope,
 * syscall, executable) is sent; repeats are counted in eg_cap_dedup.
 *
 * Scope is the user namespace the capability was checked against (the check's
 * target namespace, which is what the capability gives power over), never the
 * credentials' own namespace: a process that creates a user namespace holds
 * every capability in it, while its credentials stay in the namespace it came
 * from until it enters the new one.
 *
 * (Over 500 lines: one concern, one handler behind three attach points, each with a legacy
 * twin; the helpers it shares with other objects live in the headers.)
 */
#include "common.bpf.h"

#define CAP_NET_ADMIN_NR 12
#define CAP_SYS_ADMIN_NR 21
#define CAP_SYS_RAWIO_NR 17
#define CAP_SYSLOG_NR 34
#define CAP_PERFMON_NR 38
#define CAP_BPF_NR 39
#define CAP_CHECKPOINT_RESTORE_NR 40
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
/* vm.mmap_min_addr as the agent read it at load: cap_mmap_addr()'s threshold (see below). */
const volatile __u64 eg_mmap_min_addr = 0;

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, EG_MAX_CAP_DEDUP);
    __type(key, struct eg_cap_dedup_key);
    __type(value, struct eg_cap_dedup_val);
} eg_cap_dedup SEC(".maps");

/* kprobe fallback: arguments stashed at entry, read at return. */
struct eg_cap_args {
    const struct cred *cred;
    const struct user_namespace *target_ns;
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

/*
 * The kernel asks for these capabilities with CAP_SYS_ADMIN as a fallback, right after, in the
 * same expression: bpf_token_capable() (6.9+: any BPF capability, `ns_capable(ns, cap) ||
 * ns_capable(ns, CAP_SYS_ADMIN)`), bpf_capable() and perfmon_capable() before it,
 * bpf_net_capable(), checkpoint_restore_ns_capable(), the syslog permission check. Both checks
 * are audited ones (no CAP_OPT_NOAUDIT on either, on 5.10 through 6.18), and the tracepoint
 * does not carry the options anyway, so the options cannot tell the fallback apart; the order
 * can: a refused CAP_SYS_ADMIN check that follows a refusal of one of these, by the same thread,
 * against the same namespace, in the same syscall, is the kernel's fallback, not an attempt of
 * its own. The first refusal is reported under its own capability when it is watched.
 */
#define EG_CAP_FALLBACK_FIRST                                                                      \
    ((1ULL << CAP_NET_ADMIN_NR) | (1ULL << CAP_SYSLOG_NR) | (1ULL << CAP_PERFMON_NR) |             \
     (1ULL << CAP_BPF_NR) | (1ULL << CAP_CHECKPOINT_RESTORE_NR))

/*
 * "The same syscall" is its user registers: number, the first five arguments (the libbpf in use
 * has no accessor for a sixth), the user instruction and stack pointers. Two calls of one
 * syscall from one call site with the same arguments look the same; a CAP_SYS_ADMIN
 * check consumes the refusal it matched, so it stands for one fallback.
 */
#define EG_CALL_WORDS 8

/* The last refusal of an EG_CAP_FALLBACK_FIRST capability on this CPU. */
struct eg_cap_refusal {
    __u64 task; /* task_struct address; 0: none (consumed) */
    __u64 ns;   /* user namespace checked against */
    __u64 call[EG_CALL_WORDS];
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct eg_cap_refusal);
} eg_cap_refused SEC(".maps");

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

/* The task's user registers at syscall entry; legacy: no bpf_task_pt_regs. */
static __always_inline struct pt_regs *task_user_regs(struct task_struct *task, const bool legacy)
{
    return legacy ? eg_syscall_regs_legacy(task, -1) : (struct pt_regs *)bpf_task_pt_regs(task);
}

/* The syscall number the task is in (-1 outside one). */
static __always_inline int syscall_nr_of(struct pt_regs *regs, const bool legacy)
{
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

/* What tells one syscall from another (EG_CALL_WORDS): see eg_cap_refusal. */
static __always_inline void syscall_call_words(struct pt_regs *regs, int nr, __u64 *w,
                                               const bool legacy)
{
    w[0] = (__u64)(__s64)nr;
    w[1] = EG_SYSCALL_ARG(legacy, regs, 1);
    w[2] = EG_SYSCALL_ARG(legacy, regs, 2);
    w[3] = EG_SYSCALL_ARG(legacy, regs, 3);
    w[4] = EG_SYSCALL_ARG(legacy, regs, 4);
    w[5] = EG_SYSCALL_ARG(legacy, regs, 5);
    w[6] = legacy ? PT_REGS_IP_CORE(regs) : PT_REGS_IP(regs);
    w[7] = legacy ? PT_REGS_SP_CORE(regs) : PT_REGS_SP(regs);
}

/* A refusal of a capability the kernel may fall back from: remember it (rare: refusals only). */
static __always_inline void note_fallback_refusal(const struct user_namespace *target_ns,
                                                  const bool legacy)
{
    __u32 zero = 0;
    struct eg_cap_refusal *r = bpf_map_lookup_elem(&eg_cap_refused, &zero);
    if (!r)
        return;
    struct task_struct *task = eg_current_task(legacy);
    struct pt_regs *regs = task_user_regs(task, legacy);
    if (!regs) {
        r->task = 0; /* outside a syscall: nothing to match against */
        return;
    }
    r->task = 0;
    syscall_call_words(regs, syscall_nr_of(regs, legacy), r->call, legacy);
    r->ns = (__u64)target_ns;
    r->task = (__u64)task;
}

/*
 * A refused CAP_SYS_ADMIN check: is it the fallback of the refusal this CPU saw last, by this
 * task, against this namespace, in this syscall? A match is consumed.
 */
static __always_inline bool is_fallback_after_refusal(struct task_struct *task,
                                                      const struct user_namespace *target_ns,
                                                      struct pt_regs *regs, int nr,
                                                      const bool legacy)
{
    __u32 zero = 0;
    struct eg_cap_refusal *r = bpf_map_lookup_elem(&eg_cap_refused, &zero);
    if (!r || r->task != (__u64)task || !regs)
        return false;
    r->task = 0;
    if (r->ns != (__u64)target_ns)
        return false;
    __u64 w[EG_CALL_WORDS];
    syscall_call_words(regs, nr, w, legacy);
#pragma unroll
    for (int i = 0; i < EG_CALL_WORDS; i++)
        if (w[i] != r->call[i])
            return false;
    return true;
}

/*
 * The scope of a check against a namespace other than the host's (level > 0): the container's
 * own user namespace is the one that owns the task's active pid namespace (runtimes create the
 * container's pid namespace in or after its user namespace, and a task's active pid namespace
 * never changes; unshare(CLONE_NEWUSER) does not move it); any other was created inside.
 * Read only for such checks: ECS containers have no user namespace of their own, so nearly
 * every check is level 0 and costs one load.
 */
static __always_inline __u32 namespaced_scope(struct task_struct *task,
                                              const struct user_namespace *target_ns)
{
    struct pid *p = BPF_CORE_READ(task, thread_pid);
    unsigned int level = BPF_CORE_READ(p, level);
    struct upid up = {};
    bpf_core_read(&up, sizeof(up), &p->numbers[level & 31]);
    const struct user_namespace *own = BPF_CORE_READ(up.ns, user_ns);
    return own == target_ns ? EG_CAP_SCOPE_CONTAINER : EG_CAP_SCOPE_CREATED;
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

/*
 * The level of the namespace a check was against: a direct load where it is a BTF pointer (a
 * tp_btf or fexit argument), else a CO-RE read. Read after the cheap filters, never for a
 * capability the program then drops.
 */
static __always_inline unsigned int ns_level(const struct user_namespace *ns, const bool btf_ns)
{
    return btf_ns ? ns->level : BPF_CORE_READ(ns, level);
}

/*
 * One capability check. target_ns: the user namespace checked against; btf_ns: whether it may
 * be read with direct loads.
 */
static __always_inline int handle_cap(void *ctx, const struct cred *cred,
                                      const struct user_namespace *target_ns, const bool btf_ns,
                                      int cap, int ret, const bool legacy)
{
    if (cap < 0 || cap >= 64)
        return 0;
    if (ret != 0 && (EG_CAP_FALLBACK_FIRST & (1ULL << cap)))
        note_fallback_refusal(target_ns, legacy);
    if (!(eg_watched_caps & (1ULL << cap)))
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
    struct pt_regs *regs = task_user_regs(task, legacy);
    int syscall_nr = syscall_nr_of(regs, legacy);
    if (cap == CAP_SYS_ADMIN_NR &&
        (holds_own_mmap_write_lock(task, legacy) || is_exec_syscall(syscall_nr))) {
        eg_count_filtered(EG_EVENT_CAP, EG_FILTER_OVERCOMMIT_FAST);
        return 0;
    }
    if (cap == CAP_SYS_ADMIN_NR && ret != 0 &&
        is_fallback_after_refusal(task, target_ns, regs, syscall_nr, legacy)) {
        eg_count_filtered(EG_EVENT_CAP, EG_FILTER_CAP_FALLBACK);
        return 0;
    }
    unsigned int target_level = ns_level(target_ns, btf_ns);
    __u32 scope = target_level == 0 ? EG_CAP_SCOPE_HOST : namespaced_scope(task, target_ns);
    struct eg_cap_dedup_key key = {};
    key.cgroup_id = cgid;
    __u64 exe_ino, exe_dev;
    eg_current_exe(task, cached, &exe_ino, &exe_dev, legacy);
    key.exe_ino = exe_ino;
    key.exe_dev = (__u32)exe_dev;
    key.cap = cap;
    key.syscall_nr = syscall_nr;
    key.granted = ret == 0;
    key.scope = (__u16)scope;

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
    e->scope = scope;
    e->userns_level = target_level;
    e->userns_inum = BPF_CORE_READ(target_ns, ns.inum);
    /* Checked against the initial user namespace: power over the whole host. */
    if (scope == EG_CAP_SCOPE_HOST)
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

/*
 * The tracepoint (6.14+) passes the namespace checked against as target_ns; its capable_ns is
 * the credentials' own namespace (cred->user_ns), where the capability was found when the
 * check succeeded: a process that has just created a user namespace is checked against the new
 * one while its credentials still live in the old, so capable_ns would call such a check
 * host-level. target_ns is cap_capable's own namespace argument, the one every kernel has.
 */
SEC("tp_btf/cap_capable")
int BPF_PROG(eg_cap_capable_tp, const struct cred *cred, struct user_namespace *target_ns,
             const struct user_namespace *capable_ns, int cap, int ret)
{
    return handle_cap(ctx, cred, target_ns, true, cap, ret, false);
}

/* Kernels with this tracepoint have every helper; the twin lets tests run the legacy flavour. */
SEC("tp_btf/cap_capable")
int BPF_PROG(eg_cap_capable_tp_lg, const struct cred *cred, struct user_namespace *target_ns,
             const struct user_namespace *capable_ns, int cap, int ret)
{
    return handle_cap(ctx, cred, target_ns, false, cap, ret, true);
}

/*
 * Before 6.14 cap_capable(cred, targ_ns, cap, opts) (5.10, 6.1, 6.12); the 6.14 rework kept
 * that signature and moved the walk into a helper, so fexit sees the same arguments there.
 */
SEC("fexit/cap_capable")
int BPF_PROG(eg_cap_capable_fexit, const struct cred *cred, struct user_namespace *targ_ns, int cap,
             unsigned int opts, int ret)
{
    return handle_cap(ctx, cred, targ_ns, true, cap, ret, false);
}

SEC("fexit/cap_capable")
int BPF_PROG(eg_cap_capable_fexit_lg, const struct cred *cred, struct user_namespace *targ_ns,
             int cap, unsigned int opts, int ret)
{
    return handle_cap(ctx, cred, targ_ns, false, cap, ret, true);
}

SEC("kprobe/cap_capable")
int BPF_KPROBE(eg_cap_capable_kprobe, const struct cred *cred, struct user_namespace *targ_ns,
               int cap)
{
    /* Refusals the kernel may fall back from are needed at return even when not watched. */
    if (cap < 0 || cap >= 64 || !((eg_watched_caps | EG_CAP_FALLBACK_FIRST) & (1ULL << cap)))
        return 0;
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct eg_cap_args a = {.cred = cred, .target_ns = targ_ns, .cap = cap};
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
    return handle_cap(ctx, args.cred, args.target_ns, false, args.cap, ret, legacy);
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

/* The initial user namespace: the root of the chain `cred`'s namespace hangs from. */
static __always_inline const struct user_namespace *initial_user_ns(const struct cred *cred)
{
    const struct user_namespace *ns = BPF_CORE_READ(cred, user_ns);
    for (int i = 0; i < 33 && ns; i++) {
        if (BPF_CORE_READ(ns, level) == 0)
            return ns;
        ns = BPF_CORE_READ(ns, parent);
    }
    return ns;
}

/*
 * cap_mmap_addr(): a mapping below vm.mmap_min_addr needs CAP_SYS_RAWIO, checked against the
 * initial user namespace with the current credentials. Debian's 5.10, 6.1 and 6.12 inline
 * cap_capable() there, so fexit on cap_capable never sees that check (docs/kernel-matrix.md);
 * the LSM hook is a real function (called through the hook list): a refusal is always that
 * check, a success below the threshold is one that passed. Attached with fexit/cap_capable
 * only; where cap_capable is a real call there, both see the check and it counts twice (one
 * behaviour either way: the second is a repeat of the first). The tracepoint (6.14+) sits
 * inside cap_capable and sees it inlined or not: not attached there.
 */
static __always_inline int cap_mmap_addr_exit(void *ctx, unsigned long addr, int ret,
                                              const bool legacy)
{
    if (ret == 0 && addr >= eg_mmap_min_addr)
        return 0; /* above the threshold: no capability check was made */
    struct task_struct *task = eg_current_task(legacy);
    const struct cred *cred = EG_LOAD(legacy, task, cred);
    return handle_cap(ctx, cred, initial_user_ns(cred), false, CAP_SYS_RAWIO_NR, ret, legacy);
}

SEC("fexit/cap_mmap_addr")
int BPF_PROG(eg_cap_mmap_addr_fexit, unsigned long addr, int ret)
{
    return cap_mmap_addr_exit(ctx, addr, ret, false);
}

SEC("fexit/cap_mmap_addr")
int BPF_PROG(eg_cap_mmap_addr_fexit_lg, unsigned long addr, int ret)
{
    return cap_mmap_addr_exit(ctx, addr, ret, true);
}

#define EG_CAP_SYS_RAWIO_BIT (1ULL << CAP_SYS_RAWIO_NR)

/*
 * The same check with the kprobe fallback (kernels that cannot attach fexit: arm64 before
 * 6.4; Debian's arm64 5.10 inlines cap_capable there too), from the entry alone rather than
 * a kretprobe on every mmap of the host: cap_mmap_addr() asks cap_capable() about the initial
 * user namespace directly (no LSM in between), and that answer is known before it is asked:
 * granted when the credential belongs to the initial user namespace and has CAP_SYS_RAWIO
 * effective, refused otherwise (a check against an ancestor namespace never passes,
 * security/commoncap.c). cap_effective is 64 bits in every layout (two u32 before 6.3, a u64
 * since), read whole on these little-endian targets.
 */
static __always_inline int cap_mmap_addr_entry(void *ctx, unsigned long addr, const bool legacy)
{
    if (addr >= eg_mmap_min_addr)
        return 0;
    struct task_struct *task = eg_current_task(legacy);
    const struct cred *cred = EG_LOAD(legacy, task, cred);
    __u64 effective = 0;
    bpf_probe_read_kernel(&effective, sizeof(effective), &cred->cap_effective);
    const struct user_namespace *init = initial_user_ns(cred);
    bool granted = BPF_CORE_READ(cred, user_ns) == init && (effective & EG_CAP_SYS_RAWIO_BIT);
    return handle_cap(ctx, cred, init, false, CAP_SYS_RAWIO_NR, granted ? 0 : -1, legacy);
}

SEC("kprobe/cap_mmap_addr")
int BPF_KPROBE(eg_cap_mmap_addr_kprobe, unsigned long addr)
{
    return cap_mmap_addr_entry(ctx, addr, false);
}

SEC("kprobe/cap_mmap_addr")
int BPF_KPROBE(eg_cap_mmap_addr_kprobe_lg, unsigned long addr)
{
    return cap_mmap_addr_entry(ctx, addr, true);
}
