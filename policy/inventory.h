/*
 * The behaviour inventory: what the containers of each task family actually did, per family,
 * revision and container name (aggregated over every task of that revision): capabilities used
 * and denied (with the system calls that made the checks), root-filesystem directories written
 * (with counts), use of the host PID namespace beyond sharing it, and files executed after being
 * written in the container. The agent fills it (agent/pipeline/inventory_recorder.c) and writes
 * it as JSON; `ecsguard advise` reads it back to propose the tightest task definition that still
 * allows what was observed. Everything is bounded; what did not fit is counted.
 *
 * The model and its JSON form live here (not in the agent) so the agent's load at start-up and
 * the advise command read files with the same hostile-input checks. Schema: docs/posture.md.
 */
#ifndef ECSGUARD_POLICY_INVENTORY_H
#define ECSGUARD_POLICY_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

#define EG_INV_SCHEMA "ecsguard-inventory/1"
#define EG_INV_MAX_ENTRIES 512 /* family + revision + container name */
#define EG_INV_MAX_DIRS 32     /* root-filesystem directories per entry */
#define EG_INV_MAX_EXECS 16    /* written files executed, per entry */
#define EG_INV_MAX_SYSCALLS 6  /* system calls named per capability and outcome */
#define EG_INV_MAX_TASK_IDS 16 /* recent task ids per entry (to count distinct tasks) */
#define EG_INV_CAPS 64         /* capability numbers 0..63 */
#define EG_INV_NAME_MAX 255    /* family and container names (ECS's own limit) */
#define EG_INV_REVISION_MAX 31
#define EG_INV_PATH_MAX 256   /* a longer directory is cut at a '/' */
#define EG_INV_TASK_ID_MAX 36 /* 32 hex or a UUID */
#define EG_INV_MAX_FILE_BYTES (16u << 20)

/* One outcome of one capability's checks. */
struct eg_inv_cap_use {
    uint64_t count;
    uint64_t first_ms, last_ms;
    int16_t syscalls[EG_INV_MAX_SYSCALLS]; /* syscall numbers, -1 unused */
    uint32_t syscalls_truncated;
};

struct eg_inv_cap {
    struct eg_inv_cap_use used;       /* granted, against the host's (or the container's) user ns */
    struct eg_inv_cap_use namespaced; /* granted in a user namespace the container created */
    struct eg_inv_cap_use denied;
};

struct eg_inv_dir {
    char path[EG_INV_PATH_MAX];
    uint64_t count, first_ms, last_ms;
};

struct eg_inv_exec {
    char path[EG_INV_PATH_MAX];
    bool library; /* mapped executable, not exec'd */
    uint64_t count, first_ms, last_ms;
};

/* Host PID namespace: shared (pidMode: host) and what used it. */
struct eg_inv_hostpid {
    bool shared;
    uint64_t shared_first_ms;
    uint64_t signals, ptrace, proc_mem, vm_writes; /* at processes outside the task */
    uint64_t setns;                                /* host namespaces entered */
    uint64_t first_use_ms, last_use_ms;
};

struct eg_inv_entry {
    char family[EG_INV_NAME_MAX + 1];
    char revision[EG_INV_REVISION_MAX + 1];
    char container[EG_INV_NAME_MAX + 1];
    /* Observation: first and last time a container of this entry was seen running, the sum of
     * the time each was watched (ms; whole seconds in the file), distinct tasks (recent ids kept to
     * count them across restarts). */
    uint64_t first_observed_ms, last_observed_ms, observed_ms;
    uint64_t tasks;
    char task_ids[EG_INV_MAX_TASK_IDS][EG_INV_TASK_ID_MAX + 1];
    unsigned n_task_ids, next_task_id;
    /* Capabilities watched throughout the observation (bit n = capability n): only these were
     * seen used or not. */
    uint64_t watched_caps;
    struct eg_inv_cap caps[EG_INV_CAPS];
    /* Root filesystem writes: total, per directory (bounded), without a path (kernel repeat
     * counts of a write already placed), and with no resolvable path. */
    uint64_t writes, writes_unplaced, writes_unresolved, dirs_truncated;
    struct eg_inv_dir dirs[EG_INV_MAX_DIRS];
    unsigned n_dirs;
    struct eg_inv_hostpid hostpid;
    struct eg_inv_exec execs[EG_INV_MAX_EXECS];
    unsigned n_execs;
    uint64_t execs_truncated;
};

struct eg_inventory {
    struct eg_inv_entry *entries; /* EG_INV_MAX_ENTRIES, allocated by eg_inventory_init */
    unsigned n_entries;
    uint64_t entries_truncated;  /* behaviour records dropped: the table was full */
    uint64_t unresolved_dropped; /* behaviour of containers never resolved to an ECS task */
    uint64_t written_ms;
};

int eg_inventory_init(struct eg_inventory *inv);
void eg_inventory_free(struct eg_inventory *inv);
void eg_inventory_reset(struct eg_inventory *inv);

/* The entry for family/revision/container, created when absent (NULL when full: counted). */
struct eg_inv_entry *eg_inventory_entry(struct eg_inventory *inv, const char *family,
                                        const char *revision, const char *container);
void eg_inv_entry_init(struct eg_inv_entry *e, const char *family, const char *revision,
                       const char *container);

/* Behaviour into one entry (or a detached entry buffering an unresolved container's). */
void eg_inv_note_cap(struct eg_inv_entry *e, int cap, int syscall_nr, bool granted, bool namespaced,
                     uint64_t count, uint64_t at_ms);
/* A write to `path` in the root filesystem (NULL: a repeat of a write already placed; a path
 * that is not absolute: unresolved). The directory recorded is the path's parent. */
void eg_inv_note_write(struct eg_inv_entry *e, const char *path, uint64_t count, uint64_t at_ms);
enum eg_inv_hostpid_use {
    EG_INV_PID_SIGNAL,
    EG_INV_PID_PTRACE,
    EG_INV_PID_PROC_MEM,
    EG_INV_PID_VM_WRITE,
    EG_INV_PID_SETNS
};
void eg_inv_note_hostpid_shared(struct eg_inv_entry *e, uint64_t at_ms);
void eg_inv_note_hostpid_use(struct eg_inv_entry *e, enum eg_inv_hostpid_use use, uint64_t count,
                             uint64_t at_ms);
void eg_inv_note_exec_written(struct eg_inv_entry *e, const char *path, bool library,
                              uint64_t count, uint64_t at_ms);
/* A task (by id) of this entry seen running from..to (observation bookkeeping). */
void eg_inv_note_task(struct eg_inv_entry *e, const char *task_id);
void eg_inv_note_observed(struct eg_inv_entry *e, uint64_t from_ms, uint64_t to_ms,
                          uint64_t watched_caps);
/* Add everything `src` holds into `dst` (same entry, another record of it). */
void eg_inv_entry_merge(struct eg_inv_entry *dst, const struct eg_inv_entry *src);

/* The parent directory of `path` as the inventory records it (cut to EG_INV_PATH_MAX at a '/'). */
void eg_inv_dir_of(const char *path, char *out, size_t outlen);

/*
 * JSON. eg_inventory_to_json returns a malloc'd string (NULL out of memory).
 * eg_inventory_parse reads one file's bytes into `inv` (reset first): 0, or -1 with what was
 * wrong in `errs` (not JSON, wrong types, strings too long or not printable, counts not
 * non-negative integers, more entries or items than the bounds, an unknown schema).
 */
char *eg_inventory_to_json(const struct eg_inventory *inv, const char *host, uint64_t now_ms);
int eg_inventory_parse(const char *text, size_t len, struct eg_inventory *inv,
                       struct eg_policy_errors *errs);
int eg_inventory_load_file(const char *path, struct eg_inventory *inv,
                           struct eg_policy_errors *errs);

/* Syscall names in the file: the agent's numbering (x86-64 or arm64 of the host that wrote it). */
typedef const char *(*eg_inv_syscall_name_fn)(int nr);
typedef int (*eg_inv_syscall_nr_fn)(const char *name);
/* Set by the agent (libseccomp); without them syscalls are written as "syscall_<nr>". */
void eg_inventory_set_syscall_names(eg_inv_syscall_name_fn name, eg_inv_syscall_nr_fn nr);
const char *eg_inv_syscall_name(int nr, char *buf, size_t len);

#endif
