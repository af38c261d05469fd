/*
 * Root filesystem writes per container (ContainerRootFilesystemModified, one
 * aggregated finding per container), writes to sensitive files
 * (SensitiveFileModified) and the execution or executable mapping of files
 * written after the container started (NewBinaryExecuted, NewLibraryLoaded).
 */
#ifndef ECSGUARD_DETECT_ROOTFS_H
#define ECSGUARD_DETECT_ROOTFS_H

#include <stdint.h>

#include "agent/detectors/detector.h"

#define EG_ROOTFS_RELATED_PATHS 20      /* relatedFilePaths sample per container */
#define EG_ROOTFS_DISTINCT_SLOTS 262144 /* distinct (container, path) set, power of two */
#define EG_ROOTFS_WRITTEN_SLOTS 16384   /* written files remembered for exec checks */

struct eg_rootfs_detector;

struct eg_rootfs_detector_stats {
    uint64_t write_events, pathop_events, exec_map_events, execs_checked;
    uint64_t repeats_from_kernel;
    uint64_t pathop_repeats_from_kernel; /* repeats of path-only operations on the rootfs */
    uint64_t pathop_keys_untracked;      /* tracking table full: those keys' repeats not folded */
    uint64_t pathop_batch_failures;      /* batch reads of the repeat counts that failed */
    uint64_t not_rootfs;                 /* path ops that landed on another mount */
    uint64_t decided_in_kernel;          /* path ops the kernel put on the root filesystem */
    uint64_t named_in_kernel;            /* ... and named, from the dentry it acted on */
    uint64_t execs_written_unseen;       /* execs of files the overlay says were written, unseen */
    uint64_t execs_on_tmpfs;             /* execs of files on a tmpfs of the container's own */
    uint64_t unresolved;                 /* path ops whose path or mount could not be decided */
    uint64_t links_unresolved;           /* path ops decided on the literal path: no live process */
    uint64_t in_unresolved_dir;    /* path ops on one name in a rootfs directory too deep to name */
    uint64_t tmpfile_writes;       /* O_TMPFILE files (reported when linkat names them) */
    uint64_t distinct_full;        /* distinct-path set full: distinct counts are lower bounds */
    uint64_t written_evicted;      /* written-file records replaced to make room */
    uint64_t container_states;     /* containers with rootfs writes */
    uint64_t container_full;       /* container state table full */
    uint64_t written_state_loaded; /* written-file records read back at start */
    uint64_t written_state_rejected;      /* state files not used (other boot, damaged) */
    uint64_t written_state_saves;         /* state files written */
    uint64_t written_state_save_failures; /* writes that failed (the previous file stays) */
};

/* `repeats_fd`: the kernel's eg_rootfs_repeats (-1 in unit tests); `proc_root`: "/proc". */
struct eg_rootfs_detector *eg_rootfs_detector_new(const struct eg_detector_env *env, int repeats_fd,
                                                  const char *proc_root);
void eg_rootfs_detector_free(struct eg_rootfs_detector *d);
/* Sensitive files and scratch paths from the policy in force (start-up and every reload). */
void eg_rootfs_detector_configure(struct eg_rootfs_detector *d,
                                  const struct eg_detector_config *cfg);
/* 0, or the event kind that could not be subscribed. */
int eg_rootfs_detector_subscribe(struct eg_rootfs_detector *d, struct eg_ringbuf_reader *r);
/* The kernel's eg_rootfs_pathops_seen (per-operation repeat counts); -1 (default) for none. */
void eg_rootfs_detector_set_pathops_fd(struct eg_rootfs_detector *d, int fd);
/* Fold the kernel's repeat counts into the findings. About once a second. */
void eg_rootfs_detector_tick(struct eg_rootfs_detector *d, uint64_t now_ms);
void eg_rootfs_detector_get_stats(struct eg_rootfs_detector *d,
                                  struct eg_rootfs_detector_stats *out);

#endif
