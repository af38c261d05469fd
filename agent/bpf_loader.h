/*
 * Loads and attaches the kernel programs, choosing each hook's attach point
 * by trying them in order of preference on this kernel, and records what
 * was chosen and why the others were not (for `ecsguard probe` and health).
 */
#ifndef ECSGUARD_BPF_LOADER_H
#define ECSGUARD_BPF_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "collectors/cgroup_mode.h"

struct json_object;
struct cap_bpf;
struct lifecycle_bpf;

#define EG_HOOK_ATTEMPTS 4

struct eg_hook_attempt {
    char attach[64];  /* "tp_btf/cap_capable" */
    char result[160]; /* "ok" or why it failed */
};

struct eg_hook_report {
    const char *hook; /* "capability", "processLifecycle", ... */
    char chosen[64];  /* "" when none could be attached */
    int n_attempts;
    struct eg_hook_attempt attempts[EG_HOOK_ATTEMPTS];
};

enum eg_hook_id { EG_HOOK_CAPABILITY = 0, EG_HOOK_LIFECYCLE, EG_HOOK_COUNT };

struct eg_bpf_options {
    uint64_t watched_caps;     /* bit mask */
    uint64_t wakeup_bytes;     /* ring buffer backlog that forces a reader wakeup */
    const char *kallsyms_path; /* default /proc/kallsyms */
};

struct eg_bpf {
    struct lifecycle_bpf *lifecycle;
    struct cap_bpf *cap;
    struct eg_cgroup_setup cgroups;
    struct eg_hook_report hooks[EG_HOOK_COUNT];
    bool overcommit_filter; /* caller ranges resolved from kallsyms */
    int events_fd, containers_fd, counters_fd, cap_dedup_fd;
};

/*
 * Probe the cgroup layout, load every object and attach every hook it can.
 * Returns 0 when the essential hooks (lifecycle, capability) are attached;
 * -1 otherwise, with the reports filled in either way and a reason in `err`.
 */
int eg_bpf_load(struct eg_bpf *b, const struct eg_bpf_options *opt, char *err, unsigned errlen);
void eg_bpf_unload(struct eg_bpf *b);

/* Change the watched capability mask in the running programs (no reload). */
void eg_bpf_set_watched_caps(struct eg_bpf *b, uint64_t mask);

/* Add the probe report ({kernel, btf, ringBuffer, cgroup, hooks}) to `obj`. */
void eg_bpf_report(const struct eg_bpf *b, struct json_object *obj);

#endif
