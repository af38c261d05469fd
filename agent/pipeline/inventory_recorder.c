/*
 * The behaviour inventory while the agent runs. Behaviour arrives per container (a detector's
 * struct eg_where); the inventory is per task family, revision and container name, which only
 * the ECS client knows, asynchronously. So each container is an instance here: until its task is
 * known, what it does goes into a buffer of its own (bounded in number), folded into its entry
 * at resolution; after, straight into the entry. Containers that are not ECS task containers
 * (the ECS agent's own, `docker run`, a task's pause container) are not inventoried.
 *
 * Observation (how long, how many tasks) comes from the container table: every running
 * container is an instance, whatever it does, so a container that did nothing is observed
 * doing nothing, which is what lets advice take everything away from it.
 */
#include "agent/pipeline/inventory_recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/common/log.h"
#include "agent/detectors/detector.h"
#include "agent/detectors/syscall_names.h"
#include "agent/pipeline/emit.h"
#include "collectors/hash.h"
#include "collectors/hash_index.h"

#define MAX_INSTANCES 2048
#define MAX_BUFFERS 64              /* containers whose task is not known yet */
#define GIVE_UP_MS (10 * 60 * 1000) /* a task still unknown after this is dropped */
#define NOT_FOUND_MS (60 * 1000)    /* the ECS agent said "no such task" this long after: not one */
#define FORGET_GONE_MS (15 * 60 * 1000) /* an instance of a container gone this long */

enum inst_state { INST_PENDING, INST_RESOLVED, INST_IGNORED };

struct instance {
    char container_id[EG_CONTAINER_ID_LEN + 1];
    char task_id[EG_TASK_ID_MAX + 1];
    enum inst_state state;
    int entry;                   /* RESOLVED: index into inv.entries */
    struct eg_inv_entry *buffer; /* PENDING: what it did so far (NULL: nothing yet) */
    uint64_t cgroup_id;
    uint64_t created_ms, observed_from_ms, observed_to_ms;
};

struct eg_inventory_recorder {
    struct eg_inventory_recorder_config cfg;
    char path_tmp[4096];
    struct eg_inventory inv;
    uint64_t watched;
    struct instance inst[MAX_INSTANCES];
    unsigned n_inst, n_buffers;
    struct eg_hash_index index; /* hash of container id -> inst[] */
    struct instance *last;      /* the last one asked for: events come in runs */
    struct eg_ecs_task task;    /* lookup scratch (large) */
    uint64_t last_write_ms;
    struct {
        uint64_t resolved, ignored, given_up, buffer_full, table_full, writes, write_failures;
        uint64_t loaded_entries;
        bool load_failed;
    } st;
};

static int syscall_nr_of(const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    return nr == __NR_SCMP_ERROR || nr < 0 ? -1 : nr;
}

static void load(struct eg_inventory_recorder *r)
{
    if (access(r->cfg.path, F_OK) != 0)
        return;
    struct eg_policy_errors errs;
    if (eg_inventory_load_file(r->cfg.path, &r->inv, &errs) == 0) {
        r->st.loaded_entries = r->inv.n_entries;
        eg_log_info("inventory: %u entries loaded from %s", r->inv.n_entries, r->cfg.path);
        return;
    }
    r->st.load_failed = true;
    char aside[4200];
    snprintf(aside, sizeof(aside), "%s.invalid", r->cfg.path);
    int moved = rename(r->cfg.path, aside);
    eg_log_error("inventory: %s is not a valid inventory (%s); %s, starting empty", r->cfg.path,
                 errs.count ? errs.items[0].message : "?",
                 moved == 0 ? "moved aside to PATH.invalid" : "could not move it aside");
}

struct eg_inventory_recorder *
eg_inventory_recorder_new(const struct eg_inventory_recorder_config *cfg)
{
    struct eg_inventory_recorder *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = *cfg;
    if (snprintf(r->path_tmp, sizeof(r->path_tmp), "%s.tmp", cfg->path) >=
            (int)sizeof(r->path_tmp) ||
        eg_inventory_init(&r->inv) != 0 ||
        eg_hash_index_init(&r->index, MAX_INSTANCES * 2, 0, true) != 0) {
        eg_inventory_recorder_free(r);
        return NULL;
    }
    eg_inventory_set_syscall_names(eg_syscall_name, syscall_nr_of);
    load(r);
    r->last_write_ms = 0;
    return r;
}

void eg_inventory_recorder_free(struct eg_inventory_recorder *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < r->n_inst; i++)
        free(r->inst[i].buffer);
    eg_hash_index_destroy(&r->index);
    eg_inventory_free(&r->inv);
    free(r);
}

void eg_inventory_recorder_set_watched(struct eg_inventory_recorder *r, uint64_t caps)
{
    if (r)
        r->watched = caps;
}

static struct instance *find(struct eg_inventory_recorder *r, const char *id, uint64_t hash)
{
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&r->index, hash, &it); i != EG_HASH_NONE;
         i = eg_hash_index_next(&r->index, &it))
        if (strcmp(r->inst[i].container_id, id) == 0)
            return &r->inst[i];
    return NULL;
}

/* Forget instances of containers gone long ago (their behaviour is in their entries). */
static void compact(struct eg_inventory_recorder *r, uint64_t now_ms)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < r->n_inst; i++) {
        struct instance *x = &r->inst[i];
        bool stale = x->state != INST_PENDING && x->observed_to_ms + FORGET_GONE_MS < now_ms;
        if (stale)
            continue;
        r->inst[kept++] = *x;
    }
    r->n_inst = kept;
    eg_hash_index_destroy(&r->index);
    if (eg_hash_index_init(&r->index, MAX_INSTANCES * 2, 0, true) != 0)
        r->n_inst = 0; /* out of memory: start over (buffers leak no further: none kept) */
    for (unsigned i = 0; i < r->n_inst; i++)
        eg_hash_index_insert(&r->index, eg_hash_str(r->inst[i].container_id), i);
    r->last = NULL;
}

static struct instance *instance_of(struct eg_inventory_recorder *r, const char *container_id,
                                    const char *task_id, uint64_t cgroup_id, uint64_t now_ms)
{
    if (r->last && r->last->cgroup_id == cgroup_id &&
        strcmp(r->last->container_id, container_id) == 0)
        return r->last;
    uint64_t hash = eg_hash_str(container_id);
    struct instance *x = find(r, container_id, hash);
    if (!x) {
        if (!now_ms) /* from a detector: the clock only when an instance is made */
            now_ms = eg_now_ms();
        if (r->n_inst == MAX_INSTANCES)
            compact(r, now_ms);
        if (r->n_inst == MAX_INSTANCES) {
            r->st.table_full++;
            return NULL;
        }
        x = &r->inst[r->n_inst];
        memset(x, 0, sizeof(*x));
        snprintf(x->container_id, sizeof(x->container_id), "%s", container_id);
        snprintf(x->task_id, sizeof(x->task_id), "%s", task_id);
        x->state = INST_PENDING;
        x->entry = -1;
        x->created_ms = now_ms;
        eg_hash_index_insert(&r->index, hash, r->n_inst);
        r->n_inst++;
    }
    x->cgroup_id = cgroup_id;
    r->last = x;
    return x;
}

struct eg_inv_entry *eg_inventory_recorder_entry(struct eg_inventory_recorder *r,
                                                 const struct eg_where *w)
{
    if (!r || !eg_is_docker_id(w->container_id))
        return NULL;
    struct instance *x = instance_of(r, w->container_id, w->task_id, w->cgroup_id, 0);
    if (!x)
        return NULL;
    switch (x->state) {
    case INST_RESOLVED:
        return &r->inv.entries[x->entry];
    case INST_IGNORED:
        return NULL;
    case INST_PENDING:
        break;
    }
    if (!x->buffer) {
        if (r->n_buffers >= MAX_BUFFERS || !(x->buffer = malloc(sizeof(*x->buffer)))) {
            r->st.buffer_full++;
            r->inv.unresolved_dropped++;
            return NULL;
        }
        r->n_buffers++;
        eg_inv_entry_init(x->buffer, "", "", "");
    }
    return x->buffer;
}

static void drop_buffer(struct eg_inventory_recorder *r, struct instance *x)
{
    if (!x->buffer)
        return;
    free(x->buffer);
    x->buffer = NULL;
    r->n_buffers--;
}

/* Ask the ECS client (never blocks) and settle the instance when it knows. */
static void resolve(struct eg_inventory_recorder *r, struct instance *x, uint64_t now_ms)
{
    enum eg_ecs_state st = eg_ecs_client_lookup(r->cfg.ecs, x->container_id, &r->task);
    if (st == EG_ECS_UNKNOWN) {
        eg_ecs_client_request(r->cfg.ecs, x->container_id);
        return;
    }
    /* A task just started may not be known to the ECS agent yet: its 404 is final only after
     * a while (the client retries with backoff meanwhile). */
    if (st == EG_ECS_NOT_FOUND && now_ms - x->created_ms < NOT_FOUND_MS)
        return;
    if (st == EG_ECS_PENDING) {
        if (now_ms - x->created_ms > GIVE_UP_MS) {
            r->st.given_up++;
            if (x->buffer)
                r->inv.unresolved_dropped++;
            drop_buffer(r, x);
            x->state = INST_IGNORED;
        }
        return;
    }
    const struct eg_ecs_container *c =
        st == EG_ECS_NOT_FOUND ? NULL : eg_ecs_task_container(&r->task, x->container_id);
    /* Not an ECS task container, or a task's pause container: nothing a definition sets. */
    if (!c || !r->task.family[0] || !c->name[0]) {
        r->st.ignored++;
        drop_buffer(r, x);
        x->state = INST_IGNORED;
        return;
    }
    struct eg_inv_entry *e = eg_inventory_entry(&r->inv, r->task.family, r->task.version, c->name);
    if (!e) {
        r->inv.unresolved_dropped += x->buffer != NULL;
        drop_buffer(r, x);
        x->state = INST_IGNORED;
        return;
    }
    r->st.resolved++;
    x->state = INST_RESOLVED;
    x->entry = (int)(e - r->inv.entries);
    if (x->buffer) {
        x->buffer->watched_caps = ~0ULL;
        eg_inv_entry_merge(e, x->buffer);
        drop_buffer(r, x);
    }
    /* The task id from its ARN: the cgroup path's is the same task in ECS's layouts. */
    const char *slash = strrchr(r->task.arn, '/');
    eg_inv_note_task(e, slash ? slash + 1 : x->task_id);
}

/* Every running task container is observed, doing something or not. */
static void observe(struct eg_inventory_recorder *r, uint64_t now_ms)
{
    for (uint32_t slot = 0; slot < EG_MAX_CONTAINERS; slot++) {
        struct eg_container *c = eg_container_table_by_slot(r->cfg.containers, slot);
        if (!c || c->gone || c->id.task_only || c->id.nested ||
            !eg_is_docker_id(c->id.container_id))
            continue;
        struct instance *x =
            instance_of(r, c->id.container_id, c->id.task_id, c->cgroup_id, now_ms);
        if (!x)
            continue;
        /* Watched since the agent learned of it (its cgroup event or the start-up scan). */
        if (!x->observed_from_ms)
            x->observed_from_ms = x->observed_to_ms =
                c->known_at_ms && c->known_at_ms < now_ms ? c->known_at_ms : now_ms;
        if (x->state == INST_PENDING)
            resolve(r, x, now_ms);
        if (x->state == INST_RESOLVED) {
            /* From where the last tick left off (or the first sighting) to now. */
            eg_inv_note_observed(&r->inv.entries[x->entry], x->observed_to_ms, now_ms, r->watched);
        }
        x->observed_to_ms = now_ms;
    }
    /* Containers gone before their task was known still resolve from the client's cache. */
    for (unsigned i = 0; i < r->n_inst; i++)
        if (r->inst[i].state == INST_PENDING && r->inst[i].observed_to_ms < now_ms)
            resolve(r, &r->inst[i], now_ms);
}

void eg_inventory_recorder_tick(struct eg_inventory_recorder *r, uint64_t now_ms)
{
    if (!r)
        return;
    observe(r, now_ms);
    if (now_ms - r->last_write_ms >= (uint64_t)r->cfg.interval_s * 1000)
        eg_inventory_recorder_write(r, now_ms);
}

static int write_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

int eg_inventory_recorder_write(struct eg_inventory_recorder *r, uint64_t now_ms)
{
    if (!r)
        return 0;
    r->last_write_ms = now_ms;
    char *text = eg_inventory_to_json(&r->inv, r->cfg.hostname, now_ms);
    int fd =
        text ? open(r->path_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    int rc = -1;
    if (fd >= 0) {
        rc = write_all(fd, text, strlen(text)) == 0 && write_all(fd, "\n", 1) == 0 && fsync(fd) == 0
                 ? 0
                 : -1;
        if (close(fd) != 0)
            rc = -1;
        if (rc == 0 && rename(r->path_tmp, r->cfg.path) != 0)
            rc = -1;
        if (rc != 0)
            unlink(r->path_tmp);
    }
    int saved = errno;
    free(text);
    if (rc == 0) {
        r->st.writes++;
    } else {
        /* Once in the log: a full or read-only disk would repeat every interval. */
        if (!r->st.write_failures)
            eg_log_error("inventory: cannot write %s: %s (health: inventory.writeFailures)",
                         r->cfg.path, strerror(saved));
        r->st.write_failures++;
    }
    return rc;
}

void eg_inventory_recorder_stats(struct eg_inventory_recorder *r, struct json_object *obj)
{
    if (!r)
        return;
    struct json_object *o = json_object_new_object();
    unsigned pending = 0;
    for (unsigned i = 0; i < r->n_inst; i++)
        pending += r->inst[i].state == INST_PENDING;
    json_object_object_add(o, "entries", json_object_new_int64(r->inv.n_entries));
    json_object_object_add(o, "entriesLoaded",
                           json_object_new_int64((int64_t)r->st.loaded_entries));
    json_object_object_add(o, "loadFailed", json_object_new_boolean(r->st.load_failed));
    json_object_object_add(o, "containers", json_object_new_int64(r->n_inst));
    json_object_object_add(o, "containersPending", json_object_new_int64(pending));
    json_object_object_add(o, "containersResolved", json_object_new_int64((int64_t)r->st.resolved));
    json_object_object_add(o, "containersNotTaskContainers",
                           json_object_new_int64((int64_t)r->st.ignored));
    json_object_object_add(o, "containersGivenUp", json_object_new_int64((int64_t)r->st.given_up));
    json_object_object_add(o, "containerTableFull",
                           json_object_new_int64((int64_t)r->st.table_full));
    json_object_object_add(o, "entriesTruncated",
                           json_object_new_int64((int64_t)r->inv.entries_truncated));
    json_object_object_add(o, "unresolvedDropped",
                           json_object_new_int64((int64_t)r->inv.unresolved_dropped));
    json_object_object_add(o, "writes", json_object_new_int64((int64_t)r->st.writes));
    json_object_object_add(o, "writeFailures",
                           json_object_new_int64((int64_t)r->st.write_failures));
    json_object_object_add(obj, "inventory", o);
}
