/*
 * Task containers known on this host, keyed by cgroup id in the tracked
 * hierarchy. Every container cgroup (and cgroups nested below one) is
 * mirrored into the kernel's eg_containers map, which is what makes the
 * kernel programs look at a process at all. Fixed capacity, no allocation
 * after init; removed containers stay for a grace period so events still in
 * flight are attributed.
 */
#ifndef ECSGUARD_CONTAINER_TABLE_H
#define ECSGUARD_CONTAINER_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "collectors/cgroup_path.h"

#define EG_MAX_CONTAINERS 4096
#define EG_CONTAINER_PATH_MAX 512

struct eg_container {
    bool used;
    bool gone; /* its cgroup was removed */
    uint32_t slot;
    uint64_t cgroup_id;   /* the container's own cgroup */
    uint64_t known_at_ms; /* wall clock when the agent learned of it */
    uint64_t gone_at_ms;
    uint64_t generation;              /* changes when the slot is reused */
    uint32_t host_ns;                 /* EG_CONTAINER_NS_* (set by the host-namespace detector) */
    char path[EG_CONTAINER_PATH_MAX]; /* inside the tracked hierarchy */
    struct eg_cgroup_identity id;
};

/* eg_container.host_ns: namespaces it shares with the host, from its first process seen. */
#define EG_CONTAINER_NS_KNOWN (1u << 0)
#define EG_CONTAINER_NS_NET (1u << 1)
#define EG_CONTAINER_NS_IPC (1u << 2)
#define EG_CONTAINER_NS_UTS (1u << 3)

struct eg_container_table;

struct eg_container_table_stats {
    uint64_t containers, cgroups, added, removed, full, map_errors;
    /* Cgroups the kernel registered whose whole path showed they are no container's. */
    uint64_t pending_dropped;
};

/* `bpf_map_fd` < 0: no kernel map (unit tests). */
struct eg_container_table *eg_container_table_new(int bpf_map_fd);
void eg_container_table_free(struct eg_container_table *t);
/*
 * The kernel programs cache container verdicts per CPU (bpf/verdict.bpf.h): after every change
 * to the kernel map the table bumps the generation in this one-slot array map (< 0: none).
 */
void eg_container_table_set_generation_map(struct eg_container_table *t, int gen_map_fd);

/* A cgroup appeared (tracepoint or scan). Returns its container, or NULL when not one. */
struct eg_container *eg_container_table_add_cgroup(struct eg_container_table *t, uint64_t cgid,
                                                   const char *path, uint64_t now_ms);
/*
 * The kernel registers a cgroup named like a container at its creation, with no slot
 * (EG_SLOT_PENDING, bpf/lifecycle.bpf.c); add_cgroup gives it one. When the agent's parse of
 * the whole path says it is no container (or the table is full), this removes that kernel
 * entry, so the cgroup is what it was before: not watched. Returns true when it removed one.
 */
bool eg_container_table_drop_pending(struct eg_container_table *t, uint64_t cgid);
/* A cgroup went away; its container is kept `grace` more ms, then forgotten. */
void eg_container_table_remove_cgroup(struct eg_container_table *t, uint64_t cgid, uint64_t now_ms);
struct eg_container *eg_container_table_lookup(struct eg_container_table *t, uint64_t cgid);
struct eg_container *eg_container_table_by_slot(struct eg_container_table *t, uint32_t slot);
/* Forget containers gone for longer than grace_ms. Returns how many. */
int eg_container_table_expire(struct eg_container_table *t, uint64_t now_ms, uint64_t grace_ms);
/*
 * Walk the tracked hierarchy mounted at `mount_point` and add every
 * container cgroup (containers running before the agent started).
 * Returns how many containers were found, -1 when the walk failed.
 */
int eg_container_table_scan(struct eg_container_table *t, const char *mount_point, uint64_t now_ms);
void eg_container_table_get_stats(struct eg_container_table *t,
                                  struct eg_container_table_stats *out);

#endif
