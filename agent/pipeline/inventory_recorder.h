/*
 * The running agent's behaviour inventory (policy/inventory.h): detectors hand it what each
 * container did, including behaviour the policy allows or suppresses (the inventory is what the
 * containers did, not what was reported); it keys that by the container's ECS task family,
 * revision and container name once the ECS client knows them, counts how long and how many
 * tasks of each were watched, and writes the file atomically every --inventory-interval and at
 * shutdown. The file is loaded back at start, so observation survives restarts.
 */
#ifndef ECSGUARD_INVENTORY_RECORDER_H
#define ECSGUARD_INVENTORY_RECORDER_H

#include <stdint.h>

#include "collectors/container_table.h"
#include "collectors/ecs_introspection.h"
#include "policy/finding.h"
#include "policy/inventory.h"

struct json_object;

struct eg_inventory_recorder_config {
    const char *path;    /* the file */
    unsigned interval_s; /* written this often (and at shutdown) */
    const char *hostname;
    struct eg_ecs_client *ecs;
    struct eg_container_table *containers;
};

struct eg_inventory_recorder;

/* Loads the file when it exists (an invalid one is moved aside to PATH.invalid and logged). */
struct eg_inventory_recorder *
eg_inventory_recorder_new(const struct eg_inventory_recorder_config *cfg);
void eg_inventory_recorder_free(struct eg_inventory_recorder *r);

/* The capabilities the kernel watches now (start-up and every policy reload). */
void eg_inventory_recorder_set_watched(struct eg_inventory_recorder *r, uint64_t caps);

/*
 * Where to record behaviour of the container `w` (r may be NULL: no inventory): its entry, or
 * a buffer folded into the entry once the container's task is known. NULL when `w` is not a
 * container, or nothing can be kept (counted).
 */
struct eg_inv_entry *eg_inventory_recorder_entry(struct eg_inventory_recorder *r,
                                                 const struct eg_where *w);

/* About once a second: resolve containers, account observation, write when due. */
void eg_inventory_recorder_tick(struct eg_inventory_recorder *r, uint64_t now_ms);
/* Write now (shutdown). 0, or -1 (logged). */
int eg_inventory_recorder_write(struct eg_inventory_recorder *r, uint64_t now_ms);
void eg_inventory_recorder_stats(struct eg_inventory_recorder *r, struct json_object *obj);

#endif
