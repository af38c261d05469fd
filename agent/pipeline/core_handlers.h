/*
 * The core tables' ring-buffer handlers: cgroup mkdir/rmdir keep the container table (and ask
 * ECS about a new Docker container), exec/fork/exit keep the process table. Subscribed before
 * any detector, so a detector sees a process after the table has recorded its exec.
 */
#ifndef ECSGUARD_CORE_HANDLERS_H
#define ECSGUARD_CORE_HANDLERS_H

struct eg_container_table;
struct eg_ecs_client;
struct eg_homes;
struct eg_proc_table;
struct eg_ringbuf_reader;

struct eg_core_tables {
    struct eg_container_table *containers;
    struct eg_proc_table *procs;
    struct eg_ecs_client *ecs;
    const struct eg_homes *homes; /* homes for a new container's processes (NULL: none) */
    const char *cgroup_mount;     /* where the tracked hierarchy is mounted */
};

/* Register the handlers (ctx `t`, which must outlive the reader). 0, or the event kind
 * (EG_EVENT_*) that could not be subscribed. */
int eg_core_subscribe(struct eg_core_tables *t, struct eg_ringbuf_reader *r);

#endif
