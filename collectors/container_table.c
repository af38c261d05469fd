#include "collectors/container_table.h"
#include "collectors/hash.h"
#include "collectors/hash_index.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>

#include "bpf/events.h"

/*
 * cgroup id -> container slot: the agent's hash index over an array of (cgroup, slot) entries,
 * one per indexed cgroup (a container's own and the cgroups nested below it). As many entries
 * as index slots, the capacity the table has always had.
 */
#define EG_CGROUP_SLOTS 16384 /* power of two */
#define EG_CGROUPS_MAX EG_CGROUP_SLOTS

struct cgroup_entry {
    uint64_t cgid; /* 0: free */
    uint32_t slot;
};

struct eg_container_table {
    int map_fd;
    int gen_map_fd;
    uint64_t map_generation; /* last value written to gen_map_fd */
    uint64_t generation;
    struct eg_container_table_stats stats;
    /*
     * Slots at and above this were never used. Slots are taken lowest-first, so scans stop
     * here and never touch the rest of the table (~2.9 MiB, resident once read on some
     * kernels).
     */
    uint32_t high_water;
    struct eg_container containers[EG_MAX_CONTAINERS];
    struct eg_hash_index index; /* hash of the cgroup id -> cgroups[] */
    struct eg_entry_pool pool;  /* cgroups[] in use */
    /*
     * The last cgroup looked up and its container slot: the core handlers and then each
     * detector look an event's cgroup up again. Any change to the cgroups forgets it.
     */
    uint64_t last_cgid;
    uint32_t last_slot;
    struct cgroup_entry cgroups[EG_CGROUPS_MAX];
};

/* The entry of `cgid` (its index slot in *it), or EG_HASH_NONE. */
static inline uint32_t cgroup_find(struct eg_container_table *t, uint64_t cgid,
                                   struct eg_hash_iter *it)
{
    if (cgid == 0)
        return EG_HASH_NONE;
    for (uint32_t e = eg_hash_index_first(&t->index, eg_hash_u64(cgid), it); e != EG_HASH_NONE;
         e = eg_hash_index_next(&t->index, it))
        if (t->cgroups[e].cgid == cgid)
            return e;
    return EG_HASH_NONE;
}

/* The entry of `cgid`, added when new; NULL when the table is full. */
static struct cgroup_entry *cgroup_insert(struct eg_container_table *t, uint64_t cgid)
{
    struct eg_hash_iter it;
    uint32_t e = cgroup_find(t, cgid, &it);
    if (e != EG_HASH_NONE)
        return &t->cgroups[e];
    e = eg_entry_pool_peek(&t->pool);
    if (e == EG_HASH_NONE || !eg_hash_index_insert(&t->index, eg_hash_u64(cgid), e))
        return NULL;
    eg_entry_pool_take(&t->pool);
    t->cgroups[e].cgid = cgid;
    t->stats.cgroups++;
    return &t->cgroups[e];
}

static void cgroup_free(struct eg_container_table *t, uint32_t e)
{
    t->last_cgid = 0;
    t->cgroups[e].cgid = 0;
    eg_entry_pool_give(&t->pool, e);
    t->stats.cgroups--;
}

struct eg_container_table *eg_container_table_new(int bpf_map_fd)
{
    struct eg_container_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    if (eg_hash_index_init(&t->index, EG_CGROUP_SLOTS, 0, true) != 0 ||
        eg_entry_pool_init(&t->pool, EG_CGROUPS_MAX) != 0) {
        eg_container_table_free(t);
        return NULL;
    }
    t->map_fd = bpf_map_fd;
    t->gen_map_fd = -1;
    return t;
}

void eg_container_table_set_generation_map(struct eg_container_table *t, int gen_map_fd)
{
    t->gen_map_fd = gen_map_fd;
}

/* After the kernel map changed: cached verdicts from before are stale. */
static void bump_map_generation(struct eg_container_table *t)
{
    if (t->gen_map_fd < 0)
        return;
    uint32_t zero = 0;
    uint64_t next = t->map_generation + 1;
    if (bpf_map_update_elem(t->gen_map_fd, &zero, &next, BPF_ANY) != 0) {
        t->stats.map_errors++;
        return;
    }
    t->map_generation = next;
}

void eg_container_table_free(struct eg_container_table *t)
{
    if (t) {
        eg_hash_index_destroy(&t->index);
        eg_entry_pool_destroy(&t->pool);
    }
    free(t);
}

static void map_put(struct eg_container_table *t, uint64_t cgid, uint32_t slot)
{
    if (t->map_fd < 0)
        return;
    struct eg_container_val v = {.slot = slot, .flags = 0};
    if (bpf_map_update_elem(t->map_fd, &cgid, &v, BPF_ANY) != 0)
        t->stats.map_errors++;
    bump_map_generation(t);
}

static void map_del(struct eg_container_table *t, uint64_t cgid)
{
    if (t->map_fd >= 0) {
        bpf_map_delete_elem(t->map_fd, &cgid);
        bump_map_generation(t);
    }
}

static struct eg_container *find_by_container_id(struct eg_container_table *t, const char *cid)
{
    for (uint32_t i = 0; i < t->high_water; i++) {
        struct eg_container *c = &t->containers[i];
        if (c->used && strcmp(c->id.container_id, cid) == 0)
            return c;
    }
    return NULL;
}

struct eg_container *eg_container_table_add_cgroup(struct eg_container_table *t, uint64_t cgid,
                                                   const char *path, uint64_t now_ms)
{
    struct eg_cgroup_identity id;
    /* kernfs ids start at 1: 0 is no cgroup (and marks a free entry below). */
    if (cgid == 0 || !eg_cgroup_path_parse(path, &id) || id.task_only)
        return NULL;
    t->last_cgid = 0; /* the cgroup may move to another container below */
    struct eg_hash_iter it;
    uint32_t known = cgroup_find(t, cgid, &it);
    if (known != EG_HASH_NONE) {
        struct eg_container *c = &t->containers[t->cgroups[known].slot];
        if (c->used && strcmp(c->id.container_id, id.container_id) == 0) {
            c->gone = false;
            return c;
        }
    }
    /* A nested cgroup (or a re-created one) joins its container's slot. */
    struct eg_container *c = find_by_container_id(t, id.container_id);
    if (!c) {
        for (uint32_t i = 0; i < EG_MAX_CONTAINERS && !c; i++)
            if (!t->containers[i].used)
                c = &t->containers[i];
        if (c && (uint32_t)(c - t->containers) >= t->high_water)
            t->high_water = (uint32_t)(c - t->containers) + 1;
        if (!c) {
            t->stats.full++;
            return NULL;
        }
        memset(c, 0, sizeof(*c));
        c->used = true;
        c->slot = (uint32_t)(c - t->containers);
        c->generation = ++t->generation;
        c->cgroup_id = cgid;
        c->known_at_ms = now_ms;
        c->id = id;
        c->id.nested = false;
        snprintf(c->path, sizeof(c->path), "%s", path);
        t->stats.containers++;
        t->stats.added++;
    }
    if (!id.nested) {
        c->cgroup_id = cgid;
        c->gone = false;
        snprintf(c->path, sizeof(c->path), "%s", path);
    }
    struct cgroup_entry *e = cgroup_insert(t, cgid);
    if (!e) {
        t->stats.full++;
        return c;
    }
    e->slot = c->slot;
    map_put(t, cgid, c->slot);
    return c;
}

bool eg_container_table_drop_pending(struct eg_container_table *t, uint64_t cgid)
{
    struct eg_hash_iter it;
    if (t->map_fd < 0 || cgroup_find(t, cgid, &it) != EG_HASH_NONE)
        return false; /* one of the table's: its entry holds a slot */
    struct eg_container_val v;
    if (bpf_map_lookup_elem(t->map_fd, &cgid, &v) != 0 || v.slot != EG_SLOT_PENDING)
        return false;
    map_del(t, cgid);
    t->stats.pending_dropped++;
    return true;
}

void eg_container_table_remove_cgroup(struct eg_container_table *t, uint64_t cgid, uint64_t now_ms)
{
    struct eg_hash_iter it;
    uint32_t e = cgroup_find(t, cgid, &it);
    if (e == EG_HASH_NONE)
        return;
    struct eg_container *c = &t->containers[t->cgroups[e].slot];
    map_del(t, cgid);
    eg_hash_index_remove_at(&t->index, &it);
    cgroup_free(t, e);
    if (c->used && c->cgroup_id == cgid && !c->gone) {
        c->gone = true;
        c->gone_at_ms = now_ms;
        t->stats.removed++;
    }
}

struct eg_container *eg_container_table_lookup(struct eg_container_table *t, uint64_t cgid)
{
    uint32_t slot;
    if (cgid != 0 && cgid == t->last_cgid) {
        slot = t->last_slot;
    } else {
        struct eg_hash_iter it;
        uint32_t e = cgroup_find(t, cgid, &it);
        if (e == EG_HASH_NONE)
            return NULL;
        slot = t->cgroups[e].slot;
        t->last_cgid = cgid;
        t->last_slot = slot;
    }
    struct eg_container *c = &t->containers[slot];
    return c->used ? c : NULL;
}

struct eg_container *eg_container_table_by_slot(struct eg_container_table *t, uint32_t slot)
{
    if (slot >= t->high_water || !t->containers[slot].used)
        return NULL;
    return &t->containers[slot];
}

int eg_container_table_expire(struct eg_container_table *t, uint64_t now_ms, uint64_t grace_ms)
{
    int n = 0;
    for (uint32_t i = 0; i < t->high_water; i++) {
        struct eg_container *c = &t->containers[i];
        if (!c->used || !c->gone || now_ms - c->gone_at_ms < grace_ms)
            continue;
        /* Drop every cgroup still pointing at this slot (nested cgroups). */
        for (uint32_t e = 0; e < t->pool.high; e++) {
            struct cgroup_entry *g = &t->cgroups[e];
            if (g->cgid != 0 && g->slot == i) {
                map_del(t, g->cgid);
                eg_hash_index_remove(&t->index, eg_hash_u64(g->cgid), e);
                cgroup_free(t, e);
            }
        }
        c->used = false;
        t->stats.containers--;
        n++;
    }
    return n;
}

/* nftw has no user pointer; the scan is single-threaded and short. */
static struct eg_container_table *scan_table;
static const char *scan_root;
static size_t scan_root_len;
static uint64_t scan_now;
static int scan_found;

static int scan_visit(const char *fpath, const struct stat *st, int type, struct FTW *ftw)
{
    if (type != FTW_D)
        return 0;
    const char *rel = fpath + scan_root_len;
    if (*rel == '\0')
        rel = "/";
    /* kernfs reports the cgroup id as the directory's inode number. */
    struct eg_container *c = eg_container_table_add_cgroup(scan_table, st->st_ino, rel, scan_now);
    if (c && c->cgroup_id == st->st_ino)
        scan_found++;
    (void)ftw;
    (void)scan_root;
    return 0;
}

int eg_container_table_scan(struct eg_container_table *t, const char *mount_point, uint64_t now_ms)
{
    scan_table = t;
    scan_root = mount_point;
    scan_root_len = strlen(mount_point);
    while (scan_root_len > 1 && mount_point[scan_root_len - 1] == '/')
        scan_root_len--;
    scan_now = now_ms;
    scan_found = 0;
    if (nftw(mount_point, scan_visit, 32, FTW_PHYS | FTW_MOUNT) != 0)
        return -1;
    return scan_found;
}

void eg_container_table_get_stats(struct eg_container_table *t,
                                  struct eg_container_table_stats *out)
{
    *out = t->stats;
}
