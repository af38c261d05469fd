#include "agent/kernel/bpf_loader.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "agent/common/log.h"
#include "agent/kernel/bpf_hostns.h"
#include "agent/kernel/tail_call_probe.h"

void eg_bpf_hook_attempt(struct eg_hook_report *r, const char *attach, const char *result)
{
    /* Full: the newest takes the last line, which must say how the concern ended (the probe's
     * chosen variant is its "ok"; a concern left unwatched is warned about with it). */
    struct eg_hook_attempt *a = r->n_attempts < EG_HOOK_ATTEMPTS
                                    ? &r->attempts[r->n_attempts++]
                                    : &r->attempts[EG_HOOK_ATTEMPTS - 1];
    snprintf(a->attach, sizeof(a->attach), "%s", attach);
    snprintf(a->result, sizeof(a->result), "%s", result);
}

void eg_bpf_errno_text(int err, char *buf, size_t len)
{
    if (err < 0)
        err = -err;
    snprintf(buf, len, "%s (%s)", err == EPERM ? "refused by the kernel" : "failed", strerror(err));
}

bool eg_bpf_btf_has(const struct btf *btf, const char *name, int kind)
{
    return btf && btf__find_by_name_kind(btf, name, kind) >= 0;
}

/* The type `id` names, past its modifiers and typedefs; NULL if none. */
static const struct btf_type *btf_resolved(const struct btf *btf, __u32 id)
{
    const struct btf_type *t = btf__type_by_id(btf, id);
    while (t && (btf_is_mod(t) || btf_is_typedef(t)))
        t = btf__type_by_id(btf, t->type);
    return t;
}

const struct btf_type *eg_bpf_btf_fn_proto(const struct btf *btf, const char *fn)
{
    int id = btf ? btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC) : -1;
    if (id < 0)
        return NULL;
    const struct btf_type *proto = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
    return proto && btf_is_func_proto(proto) ? proto : NULL;
}

const struct btf_type *eg_bpf_btf_param_pointee(const struct btf *btf, const struct btf_type *proto,
                                                int idx)
{
    if (!proto || idx < 0 || idx >= btf_vlen(proto))
        return NULL;
    const struct btf_type *t = btf_resolved(btf, btf_params(proto)[idx].type);
    return t && btf_is_ptr(t) ? btf_resolved(btf, t->type) : NULL;
}

bool eg_bpf_btf_fn_args_defined(const struct btf *btf, const char *fn)
{
    const struct btf_type *proto = eg_bpf_btf_fn_proto(btf, fn);
    if (!proto)
        return false;
    for (int i = 0; i < btf_vlen(proto); i++) {
        const struct btf_type *to = eg_bpf_btf_param_pointee(btf, proto, i);
        if (to && btf_is_fwd(to))
            return false;
    }
    return true;
}

void eg_bpf_select_legacy(struct bpf_object *obj, bool legacy)
{
    struct bpf_program *twin;
    bpf_object__for_each_program(twin, obj)
    {
        const char *name = bpf_program__name(twin);
        size_t n = strlen(name);
        if (n <= 3 || strcmp(name + n - 3, "_lg") != 0)
            continue;
        char base[128];
        snprintf(base, sizeof(base), "%.*s", (int)(n - 3), name);
        struct bpf_program *fast = bpf_object__find_program_by_name(obj, base);
        bool wanted = fast ? bpf_program__autoload(fast) : true;
        bpf_program__set_autoload(twin, legacy && wanted);
        if (fast)
            bpf_program__set_autoload(fast, wanted && !legacy);
    }
}

/* The kernel's own list of helpers (enum bpf_func_id in its BTF) names them so. */
static const struct {
    unsigned bit;
    const char *enumerator, *name;
} task_helpers[] = {
    {EG_HELPER_CURRENT_TASK_BTF, "BPF_FUNC_get_current_task_btf",
     "bpf_get_current_task_btf (5.11)"},
    {EG_HELPER_TASK_PT_REGS, "BPF_FUNC_task_pt_regs", "bpf_task_pt_regs (5.15)"},
    {EG_HELPER_LOOP, "BPF_FUNC_loop", "bpf_loop (5.17)"},
};

bool eg_bpf_fast_flavour_usable(const struct eg_bpf *b, unsigned needed, const char *forced,
                                const char *attach, struct eg_hook_report *r)
{
    unsigned missing = b->task_helpers_missing & needed;
    if (forced || !missing)
        return true;
    char why[160] = "kernel lacks ";
    size_t used = strlen(why);
    for (size_t i = 0; i < sizeof(task_helpers) / sizeof(task_helpers[0]); i++) {
        if (!(missing & task_helpers[i].bit) || used >= sizeof(why))
            continue;
        int w = snprintf(why + used, sizeof(why) - used, "%s%s",
                         used > strlen("kernel lacks ") ? ", " : "", task_helpers[i].name);
        used += w > 0 ? (size_t)w : 0;
    }
    if (used < sizeof(why))
        snprintf(why + used, sizeof(why) - used, ": legacy task access instead");
    eg_bpf_hook_attempt(r, attach, why);
    return false;
}

/* Whether the kernel's BTF lists `value` in enum `name`. */
static bool btf_enum_has(const struct btf *btf, const char *name, const char *value)
{
    int id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_ENUM) : -1;
    const struct btf_type *t = id >= 0 ? btf__type_by_id(btf, id) : NULL;
    if (!t)
        return false;
    const struct btf_enum *e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t); i++)
        if (strcmp(btf__name_by_offset(btf, e[i].name_off), value) == 0)
            return true;
    return false;
}

static unsigned probe_task_helpers(const struct btf *vmlinux)
{
    unsigned missing = 0;
    for (size_t i = 0; i < sizeof(task_helpers) / sizeof(task_helpers[0]); i++)
        if (!btf_enum_has(vmlinux, "bpf_func_id", task_helpers[i].enumerator))
            missing |= task_helpers[i].bit;
    return missing;
}

/*
 * THREAD_SIZE less the padding x86 leaves above the saved registers: task_pt_regs() is the
 * struct pt_regs that ends this many bytes above task->stack (the legacy flavour finds the
 * syscall's registers there, bpf/task.bpf.h; the programs check what they find against the
 * syscall number where they have it and count a mismatch).
 */
static uint64_t task_stack_top(const struct btf *vmlinux)
{
    uint64_t size = 16384; /* x86_64: 4 pages (THREAD_SIZE_ORDER 2); arm64: MIN_THREAD_SHIFT 14 */
    if (eg_bpf_btf_has(vmlinux, "kasan_report", BTF_KIND_FUNC))
        size *= 2; /* KASAN doubles the kernel stack on both */
#if defined(__aarch64__)
    long page = sysconf(_SC_PAGESIZE);
    if (page > 0 && (uint64_t)page > size)
        size = (uint64_t)page; /* THREAD_SHIFT is at least PAGE_SHIFT (64K pages) */
#endif
#if defined(__x86_64__)
    /* CONFIG_X86_FRED (6.9+) keeps 16 bytes free above the registers. */
    if (eg_bpf_btf_has(vmlinux, "fred_entry_from_user", BTF_KIND_FUNC) ||
        eg_bpf_btf_has(vmlinux, "cpu_init_fred_exceptions", BTF_KIND_FUNC))
        size -= 16;
#endif
    return size;
}

void eg_bpf_share_maps(const struct eg_bpf *b, struct bpf_object *obj)
{
    /* The verdict cache too: one per-CPU entry serves every concern's program (a capability
     * check and an open by the same task hit the same entry, one page instead of one per
     * object). */
    static const char *const shared[] = {"eg_events",      "eg_containers",     "eg_setup_procs",
                                         "eg_counters",    "eg_containers_gen", "eg_verdict_cache",
                                         "eg_reader_idle", "eg_homes",          "eg_rootfs_roots",
                                         "eg_ring_shares", "eg_exec_starts",    "eg_own_tmpfs"};
    const int fds[] = {b->events_fd,      b->containers_fd,     b->setup_fd,
                       b->counters_fd,    b->containers_gen_fd, b->verdict_cache_fd,
                       b->reader_idle_fd, b->homes_fd,          b->rootfs_roots_fd,
                       b->ring_shares_fd, b->exec_starts_fd,    b->own_tmpfs_fd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        struct bpf_map *m = bpf_object__find_map_by_name(obj, shared[i]);
        if (m && fds[i] >= 0)
            bpf_map__reuse_fd(m, fds[i]);
    }
}

/* libbpf's syscall tracepoints need tracefs; mount it where the kernel expects it. */
static void ensure_tracefs(void)
{
    struct stat st;
    if (stat("/sys/kernel/tracing/events", &st) == 0)
        return;
    if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) != 0)
        eg_log_warn("tracefs is not mounted and mounting it failed: %s", strerror(errno));
}

/* A printf-like forwarder (clang checks the format of vfprintf calls through it). */
__attribute__((format(printf, 2, 0))) static int libbpf_quiet(enum libbpf_print_level level,
                                                              const char *fmt, va_list ap)
{
    if (level == LIBBPF_WARN && eg_log_verbose())
        return vfprintf(stderr, fmt, ap);
    if (level == LIBBPF_DEBUG && eg_log_debug_enabled())
        return vfprintf(stderr, fmt, ap);
    return 0;
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * The object files embedded in the binary (~19 MB on x86_64: every concern's programs in each
 * of their flavours, with BTF and line info) are read once, when libbpf opens and loads them,
 * and stayed in the agent's resident set for its whole life (~9 MB of file pages). Their
 * whole pages are given back; anything that reads them again faults them in from the file.
 * Returns the bytes given back.
 */
static size_t release_object_pages(void)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t released = 0;
    if (page <= 0)
        return 0;
    for (int i = 0; eg_bpf_concerns[i]; i++) {
        if (!eg_bpf_concerns[i]->object_bytes)
            continue;
        size_t size = 0;
        uintptr_t start = (uintptr_t)eg_bpf_concerns[i]->object_bytes(&size);
        uintptr_t first = (start + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
        uintptr_t end = (start + size) & ~((uintptr_t)page - 1);
        if (end <= first)
            continue;
        if (madvise((void *)first, end - first, MADV_DONTNEED) == 0)
            released += end - first;
        else
            eg_log_debug("start: madvise of %s's object: %s", eg_bpf_concerns[i]->hook,
                         strerror(errno));
    }
    return released;
}

int eg_bpf_load(struct eg_bpf *b, const struct eg_bpf_options *opt, char *err, unsigned errlen)
{
    memset(b, 0, sizeof(*b));
    b->events_fd = b->containers_fd = b->setup_fd = b->counters_fd = b->containers_gen_fd = -1;
    b->verdict_cache_fd = b->reader_idle_fd = b->homes_fd = b->rootfs_roots_fd = -1;
    b->ring_shares_fd = b->exec_starts_fd = b->own_tmpfs_fd = -1;
    libbpf_set_print(libbpf_quiet);
    ensure_tracefs();

    if (eg_cgroup_setup_probe("/proc/cgroups", "/proc/self/mountinfo", &b->cgroups, err, errlen) !=
        0)
        return -1;

    struct btf *vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) {
        snprintf(err, errlen,
                 "kernel BTF is not available (/sys/kernel/btf/vmlinux): ecsguard "
                 "needs CONFIG_DEBUG_INFO_BTF=y");
        return -1;
    }
    b->task_helpers_missing = probe_task_helpers(vmlinux);
    b->task_stack_top = task_stack_top(vmlinux);
    b->subprog_tail_calls =
        eg_probe_subprog_tail_calls(b->subprog_tail_calls_why, sizeof(b->subprog_tail_calls_why));
    /* The host's mount namespace: PID 1's, not the agent container's (bpf_hostns.h). */
    struct eg_host_ns host_ns;
    eg_hostns_read_host_ns("/proc", opt->host_ns_pid, &host_ns);
    b->host_mnt_ns = host_ns.inum[EG_HOST_NS_MNT];
    int rc = 0;
    for (int i = 0; eg_bpf_concerns[i] && b->n_hooks < EG_HOOK_MAX; i++) {
        const struct eg_bpf_concern *c = eg_bpf_concerns[i];
        int slot = b->n_hooks++;
        struct eg_hook_report *r = &b->hooks[slot];
        r->hook = c->hook;
        r->forced = eg_bpf_forced(opt, c->hook);
        if (r->forced && strcmp(r->forced, EG_HOOK_OFF) == 0) {
            /* Not loaded at all: its findings cannot happen, and health and probe say so. */
            eg_bpf_hook_attempt(r, "-", "off (--hook)");
            eg_log_info("%s is off (--hook %s=off): not watched", c->hook, c->hook);
            continue;
        }
        /* Start-up time is mostly the verifier's (seconds per concern on an emulated 5.10). */
        uint64_t began = monotonic_ms();
        int loaded = c->load(b, opt, vmlinux, r, &b->skel[slot]);
        eg_log_debug("start: %s loaded in %llu ms (%d attempt(s))", c->hook,
                     (unsigned long long)(monotonic_ms() - began), r->n_attempts);
        if (loaded == 0)
            continue;
        b->skel[slot] = NULL;
        if (r->forced) {
            snprintf(err, errlen, "%s: the variant forced by --hook %s=%s cannot be used (%s)",
                     c->hook, c->hook, r->forced,
                     r->n_attempts ? r->attempts[r->n_attempts - 1].result : "not attempted");
            rc = -1;
            break;
        }
        if (c->essential) {
            snprintf(err, errlen, "%s: no attach point could be used (%s)", c->hook,
                     r->n_attempts ? r->attempts[r->n_attempts - 1].result : "not attempted");
            rc = -1;
            break;
        }
        eg_log_warn("%s is not watched on this kernel: %s", c->hook,
                    r->n_attempts ? r->attempts[r->n_attempts - 1].result : "not attempted");
    }
    btf__free(vmlinux);
    size_t released = release_object_pages();
    eg_log_debug("start: %zu KiB of embedded BPF objects given back", released / 1024);
    return rc;
}

struct concern_detach {
    const struct eg_bpf_concern *concern;
    void *skel;
};

static void *detach_concern(void *arg)
{
    struct concern_detach *d = arg;
    d->concern->detach(d->skel);
    return NULL;
}

/*
 * Every concern's links at once, one thread per concern (each spreads its own links over
 * threads too, agent/kernel/link_detach.c). One after another, each concern's detach waited
 * for grace periods of its own: under QEMU's emulation a stopping agent spent 6.4 s here on
 * 6.1 (fentry/fexit trampolines), most of every kernel-matrix test.
 */
static void detach_all(struct eg_bpf *b)
{
    struct concern_detach work[EG_HOOK_MAX];
    pthread_t threads[EG_HOOK_MAX];
    bool started[EG_HOOK_MAX] = {false};
    for (int i = 0; i < b->n_hooks; i++) {
        work[i] = (struct concern_detach){eg_bpf_concerns[i], b->skel[i]};
        if (!b->skel[i] || !eg_bpf_concerns[i]->detach)
            continue;
        started[i] = pthread_create(&threads[i], NULL, detach_concern, &work[i]) == 0;
        if (!started[i])
            detach_concern(&work[i]); /* no thread: in this one, as before */
    }
    for (int i = 0; i < b->n_hooks; i++)
        if (started[i])
            pthread_join(threads[i], NULL);
}

void eg_bpf_unload(struct eg_bpf *b)
{
    uint64_t started = monotonic_ms();
    detach_all(b);
    eg_log_debug("stop: links detached in %llu ms", (unsigned long long)(monotonic_ms() - started));
    /* Reverse order: the lifecycle object owns the shared maps. */
    for (int i = b->n_hooks - 1; i >= 0; i--) {
        if (b->skel[i])
            eg_bpf_concerns[i]->unload(b->skel[i]);
        b->skel[i] = NULL;
    }
}

void *eg_bpf_skeleton(const struct eg_bpf *b, const char *hook)
{
    for (int i = 0; i < b->n_hooks; i++)
        if (b->hooks[i].hook && strcmp(b->hooks[i].hook, hook) == 0)
            return b->skel[i];
    return NULL;
}

void eg_bpf_report(const struct eg_bpf *b, struct json_object *obj)
{
    struct utsname u;
    uname(&u);
    struct json_object *kernel = json_object_new_object();
    json_object_object_add(kernel, "release", json_object_new_string(u.release));
    json_object_object_add(kernel, "machine", json_object_new_string(u.machine));
    json_object_object_add(obj, "kernel", kernel);

    struct json_object *btf = json_object_new_object();
    json_object_object_add(btf, "vmlinux",
                           json_object_new_boolean(access("/sys/kernel/btf/vmlinux", R_OK) == 0));
    json_object_object_add(obj, "btf", btf);
    json_object_object_add(
        obj, "ringBuffer",
        json_object_new_boolean(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1));

    struct json_object *cg = json_object_new_object();
    json_object_object_add(cg, "mode",
                           json_object_new_string(eg_cgroup_mode_name(b->cgroups.mode)));
    json_object_object_add(cg, "trackedHierarchy",
                           json_object_new_string(b->cgroups.use_v1 ? "v1" : "v2"));
    if (b->cgroups.use_v1) {
        json_object_object_add(cg, "v1Controller", json_object_new_string(b->cgroups.controller));
        json_object_object_add(cg, "subsysIndex", json_object_new_int(b->cgroups.subsys_index));
    }
    json_object_object_add(cg, "hierarchyId", json_object_new_int(b->cgroups.hierarchy_id));
    json_object_object_add(cg, "mountPoint", json_object_new_string(b->cgroups.mount_point));
    json_object_object_add(obj, "cgroup", cg);

    json_object_object_add(obj, "overcommitFilter", json_object_new_boolean(b->overcommit_filter));
    struct json_object *tails = json_object_new_object();
    json_object_object_add(tails, "allowed", json_object_new_boolean(b->subprog_tail_calls));
    if (!b->subprog_tail_calls)
        json_object_object_add(tails, "reason", json_object_new_string(b->subprog_tail_calls_why));
    json_object_object_add(obj, "subprogramTailCalls", tails);

    struct json_object *hooks = json_object_new_object();
    for (int h = 0; h < b->n_hooks; h++) {
        const struct eg_hook_report *r = &b->hooks[h];
        struct json_object *ho = json_object_new_object();
        json_object_object_add(ho, "chosen",
                               r->chosen[0] ? json_object_new_string(r->chosen) : NULL);
        if (r->forced)
            json_object_object_add(ho, "forced", json_object_new_string(r->forced));
        struct json_object *att = json_object_new_array();
        for (int i = 0; i < r->n_attempts; i++) {
            struct json_object *a = json_object_new_object();
            json_object_object_add(a, "attach", json_object_new_string(r->attempts[i].attach));
            json_object_object_add(a, "result", json_object_new_string(r->attempts[i].result));
            json_object_array_add(att, a);
        }
        json_object_object_add(ho, "attempts", att);
        json_object_object_add(hooks, r->hook ? r->hook : "unknown", ho);
    }
    json_object_object_add(obj, "hooks", hooks);
}
