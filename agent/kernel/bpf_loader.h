/*
 * Loads and attaches the kernel programs. Each concern (process lifecycle,
 * capabilities, ...) is one BPF object with its own loader in
 * agent/bpf_<concern>.c, listed in agent/bpf_concerns.c. A loader tries its
 * attach points in order of preference on this kernel and records what was
 * chosen and why the others were not (for `ecsguard probe` and health). All
 * objects share one ring buffer, one container set, one set-up table and one
 * counter array, created by the first (lifecycle) object.
 */
#ifndef ECSGUARD_BPF_LOADER_H
#define ECSGUARD_BPF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/cgroup_mode.h"

struct json_object;
struct bpf_object;
struct btf;
struct btf_type;

/*
 * Report lines per concern. The longest path is the root filesystem concern's on a kernel
 * that loads its function programs and then attaches none (arm64 before 6.4: BPF trampolines
 * without ftrace direct calls): the file-field flavour, a line per function group (6), the
 * fallback, the flavour retries and a line per tracepoint group (6, the kprobe twins of the
 * function hooks among them) make 18; 24 leaves room for a group more.
 */
#define EG_HOOK_ATTEMPTS 24
#define EG_HOOK_MAX 8

struct eg_hook_attempt {
    char attach[128]; /* "tp_btf/cap_capable" */
    char result[160]; /* "ok" or why it failed */
};

struct eg_hook_report {
    const char *hook;   /* "capability", "processLifecycle", ... */
    char chosen[128];   /* "" when none could be attached */
    const char *forced; /* the variant --hook asked for, NULL when chosen by probing */
    int n_attempts;
    struct eg_hook_attempt attempts[EG_HOOK_ATTEMPTS];
};

/*
 * `--hook CONCERN=VARIANT`: load exactly this variant of a concern (no fallback), so tests can
 * run every fallback on every kernel where it loads. A forced variant that cannot load stops
 * start-up, whether or not the concern is essential.
 */
#define EG_HOOK_FORCE_MAX EG_HOOK_MAX /* one per concern */
struct eg_hook_force {
    const char *hook;    /* concern name, e.g. "capability" */
    const char *variant; /* one of that concern's variants, e.g. "fexit" */
};

#define EG_BPF_DEFAULT_RING_BYTES (8u * 1024 * 1024) /* eg_events in bpf/maps.bpf.h */

struct eg_bpf_options {
    uint64_t watched_caps;       /* bit mask */
    uint64_t wakeup_bytes;       /* ring buffer backlog that forces a reader wakeup */
    const char *kallsyms_path;   /* default /proc/kallsyms */
    uint32_t ring_buffer_bytes;  /* 0: the programs' default (EG_BPF_DEFAULT_RING_BYTES) */
    bool probe_read_file_fields; /* never bpf_rdonly_cast (the path kernels before 6.2 take) */
    uint32_t host_ns_pid;        /* the host's namespaces are /proc/<pid>/ns (0: 1) */
    struct eg_hook_force force[EG_HOOK_FORCE_MAX];
    int n_force;
};

struct eg_bpf {
    struct eg_cgroup_setup cgroups;
    int n_hooks;
    struct eg_hook_report hooks[EG_HOOK_MAX];
    void *skel[EG_HOOK_MAX]; /* each concern's skeleton, same index as hooks[] */
    bool overcommit_filter;  /* caller ranges resolved from kallsyms */
    int events_fd, containers_fd, setup_fd, counters_fd;
    int containers_gen_fd; /* bumped after every change to containers_fd's map */
    int verdict_cache_fd;  /* per-CPU container verdicts (bpf/verdict.bpf.h), shared */
    int reader_idle_fd;  /* set while the agent sleeps: the next record wakes it (drain_pacer.c) */
    int homes_fd;        /* the home of every contained process (struct eg_home), by tgid */
    int rootfs_roots_fd; /* each container's root, captured by the lifecycle's exec program */
    int ring_shares_fd;  /* each container's share of a ring under pressure (bpf/emit.bpf.h) */
    int exec_starts_fd;  /* the file each exec started from (#! scripts, bpf/rootfs_root.bpf.h) */
    int own_tmpfs_fd;    /* tmpfs file systems containers set up (bpf/rootfs_root.bpf.h) */
    /*
     * The helpers of the fast programs that this kernel lacks (EG_HELPER_*): a concern whose
     * fast programs need one loads its legacy task-access twins instead (bpf/task.bpf.h).
     */
    unsigned task_helpers_missing;
    uint64_t task_stack_top; /* where the syscall registers end above task->stack (legacy) */
    /*
     * Whether a program with subprograms may make a tail call (tail_call_probe.h): the root
     * filesystem concern's open exits then hand contained opens to the host-namespace one.
     */
    bool subprog_tail_calls;
    char subprog_tail_calls_why[160]; /* the kernel's answer when not */
    uint32_t host_mnt_ns; /* the agent's mount namespace inode: the host's (0: unknown) */
};

struct eg_bpf_concern {
    const char *hook; /* report name */
    bool essential;   /* the agent does not start without it */
    /* Its variants' short names for --hook, in order of preference; NULL-terminated. */
    const char *const *variants;
    /* Open, configure, load and attach; store the skeleton in *skel. 0 or -1. */
    int (*load)(struct eg_bpf *b, const struct eg_bpf_options *opt, const struct btf *vmlinux,
                struct eg_hook_report *r, void **skel);
    /*
     * Detach every link (the skeleton stays loaded); unload then only frees. eg_bpf_unload runs
     * the concerns' detaches at once: each waits for grace periods, and waits that overlap
     * share them.
     */
    void (*detach)(void *skel);
    void (*unload)(void *skel);
    /* The skeleton's embedded object file (its <name>__elf_bytes), whose pages eg_bpf_load
     * gives back once everything is loaded. */
    const void *(*object_bytes)(size_t *size);
};

/* The concern table (agent/bpf_concerns.c), lifecycle first: it creates the shared maps. */
extern const struct eg_bpf_concern *const eg_bpf_concerns[];

/*
 * Probe the cgroup layout, load every concern and attach every hook it can.
 * Returns 0 when the essential concerns are attached; -1 otherwise, with the
 * reports filled in either way and a reason in `err`.
 */
int eg_bpf_load(struct eg_bpf *b, const struct eg_bpf_options *opt, char *err, unsigned errlen);
void eg_bpf_unload(struct eg_bpf *b);
/* The skeleton of a concern by its hook name, or NULL when it is not loaded. */
void *eg_bpf_skeleton(const struct eg_bpf *b, const char *hook);

/* Change the watched capability mask in the running programs (no reload). */
void eg_bpf_set_watched_caps(struct eg_bpf *b, uint64_t mask);

/* Add the probe report ({kernel, btf, ringBuffer, cgroup, hooks}) to `obj`. */
void eg_bpf_report(const struct eg_bpf *b, struct json_object *obj);

/*
 * Add one `--hook CONCERN=VARIANT` to `opt` after checking both names against the concern
 * table; VARIANT EG_HOOK_OFF leaves a concern that is not essential unloaded. 0, or -1 with the
 * reason (and the valid names) in `err`.
 */
#define EG_HOOK_OFF "off"
int eg_bpf_force_parse(const char *arg, struct eg_bpf_options *opt, char *err, size_t errlen);

/* ---- for concern loaders ---- */
/* The variant --hook forced for `hook`, or NULL (probe and fall back as usual). */
const char *eg_bpf_forced(const struct eg_bpf_options *opt, const char *hook);
void eg_bpf_hook_attempt(struct eg_hook_report *r, const char *attach, const char *result);
void eg_bpf_errno_text(int err, char *buf, size_t len);
bool eg_bpf_btf_has(const struct btf *btf, const char *name, int kind);
/*
 * The kernel function `fn` exists and every pointer argument points at a defined type: where
 * BTF only declares one (5.10's __x64_sys_mprotect and __x64_sys_userfaultfd take a pt_regs it
 * never defines there), the verifier refuses a fentry/fexit program that reads it, and with it
 * the whole object. Such a function is treated as absent.
 */
bool eg_bpf_btf_fn_args_defined(const struct btf *btf, const char *fn);
/* The prototype of kernel function `fn` in `btf`; NULL when it has none. */
const struct btf_type *eg_bpf_btf_fn_proto(const struct btf *btf, const char *fn);
/*
 * What parameter `idx` of `proto` points to, past modifiers and typedefs; NULL when the
 * parameter is not a pointer (or there is no such parameter).
 */
const struct btf_type *eg_bpf_btf_param_pointee(const struct btf *btf, const struct btf_type *proto,
                                                int idx);
/* Make `obj` use the shared maps (call between open and load). */
void eg_bpf_share_maps(const struct eg_bpf *b, struct bpf_object *obj);
/*
 * Load either the programs that have a legacy task-access twin ("<program>_lg") or those twins,
 * keeping each pair's autoload choice (call after the concern's own choices, before load).
 */
void eg_bpf_select_legacy(struct bpf_object *obj, bool legacy);
/* Helpers the fast programs call that came after 5.10 (Amazon Linux 2, older Bottlerocket). */
#define EG_HELPER_CURRENT_TASK_BTF 1u /* bpf_get_current_task_btf, 5.11 */
#define EG_HELPER_TASK_PT_REGS 2u     /* bpf_task_pt_regs, 5.15 */
#define EG_HELPER_LOOP 4u             /* bpf_loop, 5.17 */
#define EG_HELPERS_ALL 7u
/*
 * Before the fast flavour is tried: when the kernel lacks one of the `needed` helpers (and no
 * --hook forced it), record why it is skipped as an attempt on `attach` and return false.
 */
bool eg_bpf_fast_flavour_usable(const struct eg_bpf *b, unsigned needed, const char *forced,
                                const char *attach, struct eg_hook_report *r);
/* Appended to the attach name of a concern's legacy flavour in reports. */
#define EG_BPF_LEGACY_SUFFIX " (legacy task access)"

/* Every object includes bpf/common.bpf.h, so every skeleton has these read-only values. */
#define EG_BPF_SET_COMMON_RODATA(skel, b, opt)                                                     \
    do {                                                                                           \
        (skel)->rodata->eg_cgroup_v1_subsys = (b)->cgroups.subsys_index;                           \
        (skel)->rodata->eg_cgroup_use_v1 = (b)->cgroups.use_v1;                                    \
        (skel)->rodata->eg_tracked_hierarchy = (b)->cgroups.hierarchy_id;                          \
        (skel)->rodata->eg_wakeup_bytes = (opt)->wakeup_bytes;                                     \
        (skel)->rodata->eg_ring_bytes =                                                            \
            (opt)->ring_buffer_bytes ? (opt)->ring_buffer_bytes : EG_BPF_DEFAULT_RING_BYTES;       \
        (skel)->rodata->eg_task_stack_top = (b)->task_stack_top;                                   \
        (skel)->rodata->eg_host_mnt_ns = (b)->host_mnt_ns;                                         \
    } while (0)

#endif
