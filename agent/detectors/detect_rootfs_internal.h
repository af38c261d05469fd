/*
 * Private to the rootfs detector: its state and the functions its files share. The detector is
 * split by what each part does: detect_rootfs.c (the ring-buffer handlers, set-up, health),
 * detect_rootfs_tables.c (its tables: per-container totals, distinct paths, written files,
 * tracked path-operation keys), detect_rootfs_paths.c (is a path operation on the container's
 * root mount), detect_rootfs_findings.c (the findings and their JSON context) and
 * detect_rootfs_fold.c (the kernel's repeat counts, folded in once a second). Nothing outside
 * these files includes this header.
 */
#ifndef ECSGUARD_DETECT_ROOTFS_INTERNAL_H
#define ECSGUARD_DETECT_ROOTFS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/detectors/detect_rootfs.h"
#include "bpf/events.h"
#include "collectors/hash_index.h"
#include "collectors/mount_table.h"
#include "policy/finding.h"

struct json_object;

#define CSTATE_MAX 4096 /* containers with write totals, >= EG_MAX_CONTAINERS */
/* Path-only operations decided to be on the rootfs whose kernel repeat counts are folded in:
 * as many as the kernel's eg_rootfs_pathops_seen holds, found within a bounded probe. */
#define PATHOP_TRACK_SLOTS 16384
#define PATHOP_TRACK_PROBES 64
#define DISTINCT_PROBES 64
#define WRITTEN_PROBES 16

/* Per container (its own cgroup id): totals since the agent first saw it write. */
struct cstate {
    uint64_t cg;
    uint64_t writes, distinct;
    bool fp_scratch;     /* the open finding's filePath is a scratch path (see record_rootfs) */
    char finding_id[33]; /* the open finding those flags describe */
    char first_path[EG_PATH_LEN];
    const char *first_op;
};

/* The kernel counts repeats per slot of the container table (bpf/rootfs.bpf.c). */
_Static_assert(EG_MAX_CONTAINERS <= EG_MAX_CONTAINER_SLOTS,
               "every container slot needs a repeat counter in eg_rootfs_repeats");

/*
 * Which file an entry of the written table holds. Every exec and executable mapping in a
 * container looks this table up, nearly always for a file that was not written: the probe
 * touches only the index's hashes (128 KiB in all), and a 32-byte key here only on a hash
 * match, never the ~600-byte records beside them, whose pages are faulted in only as files are
 * written. (Probing the records themselves cost a page fault per exec until the whole 9.6 MiB
 * had been touched, and a TLB miss per probe after that.)
 */
struct written_key {
    uint64_t cg, ino;
    uint64_t seq; /* insertion order: the oldest of a full probe window is replaced */
    uint32_t dev;
};

/* A file written in a container's rootfs, for exec and mmap checks; its key is in written_keys. */
struct written {
    uint64_t ts_ns;
    uint32_t pid, ns_pid, uid;
    uint64_t start_ns;
    char comm[EG_COMM_LEN];
    char exe[EG_PATH_LEN];
    char path[EG_PATH_LEN];
};

/* A key of the kernel's eg_rootfs_pathops_seen whose first event was on the rootfs. */
struct pathop_track {
    uint64_t cgroup_id; /* raw, as in the kernel key */
    uint64_t hash;
    uint64_t last; /* kernel count already folded in (the first event counts 1) */
    uint32_t op;
    uint32_t seen_pass; /* the last fold that found the key in the kernel's map */
    bool used;          /* false: free (never used, or forgotten with the kernel's key) */
};

/* One path of a path operation: as the caller named it (joined, normalized) and as resolved. */
struct eg_rootfs_names {
    char literal[EG_PATH_LEN];
    char resolved[EG_PATH_LEN]; /* symlinks followed inside the container's root */
};

/* A setuid/setgid chmod on the rootfs, kept for the container finding (first ones only). */
#define EG_ROOTFS_SETID_FILES 20

struct eg_rootfs_detector {
    struct eg_detector_env env;
    char proc_root[64];
    struct eg_detector_config cfg; /* from the policy in force */
    int repeats_fd;
    int pathops_fd;                          /* eg_rootfs_pathops_seen, -1 without one */
    struct eg_hash_index pathop_index;       /* hash of the kernel key -> pathops[] */
    struct pathop_track *pathops;            /* PATHOP_TRACK_SLOTS, touched as used */
    struct eg_entry_pool pathop_pool;        /* pathops[] in use */
    uint32_t pathop_pass;                    /* folds so far */
    struct eg_rootfs_pathop_key *batch_keys; /* the kernel map read whole, once a second */
    uint64_t *batch_counts;
    uint32_t batch_cap; /* the map's max_entries; 0: batch reads unavailable */
    uint64_t seq;
    struct eg_rootfs_detector_stats stats;
    struct eg_mount_cache *mounts;
    struct eg_hash_index cstate_index; /* hash of the cgroup id -> cstate[] */
    uint32_t n_cstate;
    struct cstate cstate[CSTATE_MAX];
    uint64_t repeats_last[EG_MAX_CONTAINER_SLOTS]; /* kernel count per slot, as folded in */
    /*
     * The container each slot's kernel repeat count belongs to, captured with the first write
     * it sent (slot_gen: that container's generation, 0 none): the count is folded into that
     * container's finding even once its cgroup is gone.
     */
    uint64_t slot_gen[EG_MAX_CONTAINER_SLOTS];
    struct eg_where *slot_where;   /* EG_MAX_CONTAINER_SLOTS, touched only as used */
    struct eg_where *pathop_where; /* beside pathops[]: where each tracked key was seen */
    struct eg_hash_index distinct; /* hashes of (container, path) written: a set */
    /*
     * Files written, for exec and mmap checks: EG_ROOTFS_WRITTEN_SLOTS records in the order
     * they were first written, until full; then the oldest of a key's probe window is replaced.
     */
    struct eg_hash_index written_index; /* hash of (cg, dev, ino) -> written_keys[], written[] */
    uint32_t n_written;
    struct written_key *written_keys;
    struct written *written; /* the same entries' records, touched only as used */
    bool written_changed;    /* since the last save of the state file */
    /* <state-dir>/rootfs-written.state ("" without --state-dir) and this boot's id. */
    char state_path[4096];
    char boot_id[40];
    uint64_t state_saved_ms;
};

/* ---- detect_rootfs_state.c: the files-written table across a restart ---------------------- */

/* `dir`: --state-dir (NULL or "": none). */
void eg_rootfs_state_open(struct eg_rootfs_detector *d, const char *dir);
/* Read the table written before a restart, this boot's only (at start). */
void eg_rootfs_state_load(struct eg_rootfs_detector *d);
/* The file's bytes: why they are not this boot's table (nothing taken), or NULL (taken). */
const char *eg_rootfs_state_load_buffer(struct eg_rootfs_detector *d, const unsigned char *buf,
                                        size_t len);
/* Write it when it changed: at most every five seconds, or now (`final`). */
void eg_rootfs_state_save(struct eg_rootfs_detector *d, uint64_t now_ms, bool final);

/* ---- detect_rootfs_tables.c ------------------------------------------------------------- */

/* The write totals of container `cg`, added when new; NULL (counted) when the table is full. */
struct cstate *eg_rootfs_cstate_get(struct eg_rootfs_detector *d, uint64_t cg);
/* True when (cg, path) was not seen before. When the set is full, counted and false. */
bool eg_rootfs_distinct_insert(struct eg_rootfs_detector *d, uint64_t cg, const char *path);
/* The entry (of written_keys[] and written[]) of a file written in container `cg`, or
 * EG_HASH_NONE. */
uint32_t eg_rootfs_written_find(struct eg_rootfs_detector *d, uint64_t cg, uint32_t dev,
                                uint64_t ino);
/* Put back a record of the state file (its key's seq kept); false when it found no place. */
bool eg_rootfs_restore_written(struct eg_rootfs_detector *d, const struct written_key *k,
                               const struct written *w);
/* Remember that `h` wrote the file (dev, ino) at `path` in container `cg`. */
void eg_rootfs_remember_written(struct eg_rootfs_detector *d, uint64_t cg, uint32_t dev,
                                uint64_t ino, const struct eg_event_header *h, const char *path);
/* The tracked key (cgroup_id, hash) of the kernel's map, or NULL; added when `insert`. */
struct pathop_track *eg_rootfs_pathop_find(struct eg_rootfs_detector *d, uint64_t cgroup_id,
                                           uint64_t hash, bool insert);
/* The kernel forgot the key (LRU): so do we, and its entry is free again. */
void eg_rootfs_pathop_forget(struct eg_rootfs_detector *d, struct pathop_track *t);
/* Track the kernel key of path operation `e` (container `w`) to fold its repeats in later. */
void eg_rootfs_pathop_track(struct eg_rootfs_detector *d, const struct eg_event_header *h,
                            const struct eg_rootfs_pathop_event *e, const struct eg_where *w);

/* ---- detect_rootfs_paths.c -------------------------------------------------------------- */

/*
 * Resolve one path of path operation `op` to absolute paths (literal and with its symlinks
 * resolved, `out`) and tell whether the resolved one lies on the container's root mount
 * (counted as unresolved or on another mount when not). `kname_raw`: the kernel's name of the
 * file (EG_PATHOP_KERNEL_NAMED in `flags`), taken as the resolved one.
 */
bool eg_rootfs_pathop_on_rootfs(struct eg_rootfs_detector *d, const struct eg_event_header *h,
                                const struct eg_where *w, uint32_t op, uint32_t flags,
                                bool caller_chrooted, const char *base_raw, const char *path_raw,
                                const char *kname_raw, struct eg_rootfs_names *out);

/* ---- detect_rootfs_findings.c ----------------------------------------------------------- */

/* The finding's name of a rootfs operation (EG_ROOTFS_OP_*). */
const char *eg_rootfs_op_name(uint32_t op);
/* Set integer `k` of object `o`, in place when it exists. */
void eg_rootfs_set_int(struct json_object *o, const char *k, uint64_t v);
/* `count` rootfs writes by `h` in container `w` (path NULL: kernel repeat counts). */
void eg_rootfs_record_write(struct eg_rootfs_detector *d, const struct eg_where *w,
                            const struct eg_event_header *h, const char *path, const char *op,
                            const char *layer, uint64_t count, uint64_t event_ms);
/*
 * A change to `path` (resolved by the kernel or the agent) when the policy names it a sensitive
 * file; `literal` (NULL: the same) is the path as the caller named it, matched too. `mode`: the
 * chmod mode, or -1.
 */
void eg_rootfs_record_sensitive(struct eg_rootfs_detector *d, const struct eg_where *w,
                                const struct eg_event_header *h, const char *path,
                                const char *literal, const char *op, int64_t mode);
/* A chmod that sets the setuid or setgid bit on `path`: listed in the container's finding. */
void eg_rootfs_record_setid(struct eg_rootfs_detector *d, const struct eg_where *w,
                            const char *path, uint32_t mode);
/*
 * NewBinaryExecuted / NewLibraryLoaded for the written file `w` (NULL: evicted, or a write
 * the agent did not see). `mapped_by`: the call that made a library executable ("mmap",
 * "mprotect"), NULL for an exec. `unseen_layer`: for a write only the overlay recorded, the
 * file's layer ("upper": created in the container, "lower": an image file changed there).
 */
/* A file written in the container that was executed or mapped executable. */
struct eg_new_file_use {
    uint32_t dev;
    uint64_t ino;
    const char *path;         /* the file's path */
    const struct written *w;  /* the write the agent saw, or NULL */
    uint64_t written_ts;      /* when w is NULL: the kernel's record of the write time, or 0 */
    const char *mapped_by;    /* NewLibraryLoaded: "mmap" or "mprotect" */
    const char *unseen_layer; /* written while unwatched: the overlay layer that says so */
    bool on_tmpfs;            /* on a tmpfs of the container's own (EG_EXEC_ON_TMPFS) */
    const char *interpreter;  /* a #! script: the interpreter the exec ran (process.exe) */
};

void eg_rootfs_record_new_file_use(struct eg_rootfs_detector *d, enum eg_finding_type type,
                                   const struct eg_event_header *h,
                                   const struct eg_new_file_use *u);

#endif
