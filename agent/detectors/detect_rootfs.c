#include "agent/detectors/detect_rootfs.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "agent/pipeline/finding_json.h"
#include "agent/common/log.h"
#include "agent/common/json_text.h"
#include "collectors/hash.h"
#include "collectors/hash_index.h"
#include "collectors/mount_table.h"
#include "policy/policy.h"

#define CSTATE_MAX 4096 /* containers with write totals, >= EG_MAX_CONTAINERS */
/* Path-only operations decided to be on the rootfs whose kernel repeat counts are folded in:
 * as many as the kernel's eg_rootfs_pathops_seen holds, found within a bounded probe. */
#define PATHOP_TRACK_SLOTS 16384
#define PATHOP_TRACK_PROBES 64
#define DISTINCT_PROBES 64
#define WRITTEN_PROBES 16
#define LD_SO_PRELOAD "/etc/ld.so.preload"
#define SEVERITY_HIGH 8.0
#define CGROUP_PIDS 8 /* live processes tried for a mount table */

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
 * Which file a slot of the written table holds. Every exec and executable mapping in a container
 * probes this table, nearly always for a file that was not written: the probe touches only these
 * 32-byte keys (512 KiB in all), not the ~600-byte records beside them, whose pages are faulted in
 * only as files are written. (Probing the records themselves cost a page fault per exec until the
 * whole 9.6 MiB had been touched, and a TLB miss per probe after that.)
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

struct eg_rootfs_detector {
    struct eg_detector_env env;
    struct eg_detector_config cfg; /* from the policy in force */
    int repeats_fd;
    int pathops_fd;                          /* eg_rootfs_pathops_seen, -1 without one */
    struct eg_hash_index pathop_index;       /* hash of the kernel key -> pathops[] */
    struct pathop_track *pathops;            /* PATHOP_TRACK_SLOTS, touched as used */
    uint32_t *pathops_free;                  /* pathops[] forgotten, to reuse first */
    uint32_t pathops_n_free, pathops_high;   /* pathops[] from the high mark on never used */
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
};

static const char *op_name(uint32_t op)
{
    switch (op) {
    case EG_ROOTFS_OP_OPEN:
        return "modify";
    case EG_ROOTFS_OP_UNLINK:
        return "delete";
    case EG_ROOTFS_OP_RMDIR:
        return "removeDirectory";
    case EG_ROOTFS_OP_RENAME:
        return "rename";
    case EG_ROOTFS_OP_MKDIR:
        return "createDirectory";
    case EG_ROOTFS_OP_LINK:
        return "link";
    case EG_ROOTFS_OP_SYMLINK:
        return "symlink";
    case EG_ROOTFS_OP_MKNOD:
        return "mknod";
    case EG_ROOTFS_OP_CHMOD:
        return "chmod";
    case EG_ROOTFS_OP_CHOWN:
        return "chown";
    case EG_ROOTFS_OP_TRUNCATE:
        return "truncate";
    case EG_ROOTFS_OP_SETXATTR:
        return "setxattr";
    default:
        return "unknown";
    }
}

/* The write totals of container `cg`, added when new; NULL (counted) when the table is full. */
static struct cstate *cstate_get(struct eg_rootfs_detector *d, uint64_t cg)
{
    uint64_t h = eg_hash_u64(cg);
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&d->cstate_index, h, &it); i != EG_HASH_NONE;
         i = eg_hash_index_next(&d->cstate_index, &it))
        if (d->cstate[i].cg == cg)
            return &d->cstate[i];
    if (d->n_cstate == CSTATE_MAX || !eg_hash_index_insert(&d->cstate_index, h, d->n_cstate)) {
        d->stats.container_full++;
        return NULL;
    }
    struct cstate *s = &d->cstate[d->n_cstate++];
    s->cg = cg;
    d->stats.container_states++;
    return s;
}

/* True when (cg, path) was not seen before. When the set is full, counted and false. */
static bool distinct_insert(struct eg_rootfs_detector *d, uint64_t cg, const char *path)
{
    /* The hash is the whole key: two paths that share one count once (a lower bound). */
    uint64_t h = eg_hash_more(eg_hash_u64(cg), path, strlen(path));
    /* Filled to three quarters at most: past that, misses probe long runs. */
    if (d->distinct.count * 4 >= (uint64_t)EG_ROOTFS_DISTINCT_SLOTS * 3) {
        d->stats.distinct_full++;
        return false;
    }
    struct eg_hash_iter it;
    if (eg_hash_index_first(&d->distinct, h, &it) != EG_HASH_NONE)
        return false;
    if (!eg_hash_index_insert(&d->distinct, h, 0)) {
        d->stats.distinct_full++;
        return false;
    }
    return true;
}

static uint64_t written_hash(uint64_t cg, uint32_t dev, uint64_t ino)
{
    return eg_hash_more(eg_hash_more(eg_hash_u64(cg), &dev, sizeof(dev)), &ino, sizeof(ino));
}

/* The entry of a file written in container `cg`, or EG_HASH_NONE. */
static uint32_t written_find(struct eg_rootfs_detector *d, uint64_t cg, uint32_t dev, uint64_t ino)
{
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&d->written_index, written_hash(cg, dev, ino), &it);
         i != EG_HASH_NONE; i = eg_hash_index_next(&d->written_index, &it)) {
        const struct written_key *k = &d->written_keys[i];
        if (k->cg == cg && k->dev == dev && k->ino == ino)
            return i;
    }
    return EG_HASH_NONE;
}

/*
 * The entry to (re)write for a file: its own, a new one, or, when the file's probe window is
 * full, the oldest entry in that window (counted). The index has as many slots as there are
 * entries, so once all are used every window is full and each new file replaces the oldest of
 * its 16: the same bounded eviction the table has always made, over its keys only.
 */
static uint32_t written_entry(struct eg_rootfs_detector *d, uint64_t cg, uint32_t dev, uint64_t ino)
{
    uint32_t found = written_find(d, cg, dev, ino);
    if (found != EG_HASH_NONE)
        return found;
    uint64_t h = written_hash(cg, dev, ino);
    if (d->n_written < EG_ROOTFS_WRITTEN_SLOTS &&
        eg_hash_index_insert(&d->written_index, h, d->n_written))
        return d->n_written++;
    struct eg_hash_iter it, victim_it = {0};
    uint32_t victim = EG_HASH_NONE;
    for (uint32_t i = eg_hash_index_window_first(&d->written_index, h, &it); i != EG_HASH_NONE;
         i = eg_hash_index_window_next(&d->written_index, &it)) {
        if (victim == EG_HASH_NONE || d->written_keys[i].seq < d->written_keys[victim].seq) {
            victim = i;
            victim_it = it;
        }
    }
    if (victim == EG_HASH_NONE)
        return EG_HASH_NONE; /* cannot be: an insert was refused, so the window is full */
    eg_hash_index_replace_at(&d->written_index, &victim_it, victim);
    d->stats.written_evicted++;
    return victim;
}

static void remember_written(struct eg_rootfs_detector *d, uint64_t cg, uint32_t dev, uint64_t ino,
                             const struct eg_event_header *h, const char *path)
{
    uint32_t i = written_entry(d, cg, dev, ino);
    if (i == EG_HASH_NONE)
        return;
    struct written *w = &d->written[i];
    d->written_keys[i] = (struct written_key){.cg = cg, .ino = ino, .seq = ++d->seq, .dev = dev};
    memset(w, 0, sizeof(*w));
    w->ts_ns = h->ts_ns;
    w->pid = h->tgid;
    w->ns_pid = h->ns_pid;
    w->uid = h->uid;
    w->start_ns = h->start_time_ns;
    eg_utf8_copy(h->comm, sizeof(h->comm), w->comm, sizeof(w->comm));
    const struct eg_proc *p = eg_proc_table_find(d->env.procs, h->tgid, h->start_time_ns);
    if (p)
        snprintf(w->exe, sizeof(w->exe), "%s", p->exe);
    snprintf(w->path, sizeof(w->path), "%s", path);
}

/* Container identity (captured at the event) and the first process of a new finding. */
static void fill_where_who(struct eg_rootfs_detector *d, struct eg_finding *f,
                           const struct eg_where *w, const struct eg_event_header *h)
{
    eg_finding_begin(f, w, h, eg_event_epoch_ms(h->ts_ns));
    eg_finding_set_process(f, d->env.procs, h, NULL);
}

/*
 * The policy's path-only allow rules (e.g. service scratch dirs) would suppress the whole
 * per-container finding if its filePath were such a path; the finding names the first write
 * outside them instead.
 */
static bool is_scratch(struct eg_rootfs_detector *d, const char *path)
{
    return eg_path_patterns_match(&d->cfg.rootfs_scratch, path);
}

/* Counters are updated in place: this runs for every rootfs write, and replacing the
 * json-c integer would allocate (and free) one object per counter per write. */
static void set_int(struct json_object *o, const char *k, uint64_t v)
{
    struct json_object *n;
    if (json_object_object_get_ex(o, k, &n) && json_object_is_type(n, json_type_int))
        json_object_set_int64(n, (int64_t)v);
    else
        json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

/* One or more rootfs writes by `h` in container `w` (path NULL: kernel repeat counts). */
static void record_rootfs(struct eg_rootfs_detector *d, const struct eg_where *w,
                          const struct eg_event_header *h, const char *path, const char *op,
                          const char *layer, uint64_t count, uint64_t event_ms)
{
    uint64_t cg = w->cgroup_id;
    struct cstate *cs = cstate_get(d, cg);
    bool new_path = false;
    if (cs) {
        cs->writes += count;
        if (path && distinct_insert(d, cg, path)) {
            cs->distinct++;
            new_path = true;
        }
        if (path && !cs->first_path[0]) {
            snprintf(cs->first_path, sizeof(cs->first_path), "%s", path);
            cs->first_op = op;
        }
    }
    struct eg_finding_key key;
    eg_finding_key_init(&key, EG_FT_ROOTFS_MODIFIED, w);
    bool created;
    struct eg_finding *f = eg_aggregator_record(d->env.findings, key.text, EG_FT_ROOTFS_MODIFIED,
                                                event_ms, count, eg_now_ms(), &created);
    if (!f)
        return;
    const char *fp = path ? path : cs ? cs->first_path : "";
    const char *fop = path ? op : cs && cs->first_op ? cs->first_op : op;
    if (created) {
        fill_where_who(d, f, w, h);
        f->context = json_object_new_object();
        json_object_object_add(f->context, "filePath", eg_json_string(fp, EG_PATH_LEN));
        json_object_object_add(f->context, "fileOperation", json_object_new_string(fop));
        if (layer)
            json_object_object_add(f->context, "overlayLayer", json_object_new_string(layer));
        json_object_object_add(f->context, "relatedFilePaths", json_object_new_array());
        json_object_object_add(f->context, "fileOperations", json_object_new_object());
        snprintf(f->file_path, sizeof(f->file_path), "%s", fp);
        if (cs) {
            snprintf(cs->finding_id, sizeof(cs->finding_id), "%s", f->id);
            cs->fp_scratch = is_scratch(d, fp);
        }
        new_path = path != NULL; /* a new finding starts its own sample */
    } else if (cs && path && cs->fp_scratch && strcmp(cs->finding_id, f->id) == 0 &&
               !is_scratch(d, path)) {
        /* First write outside the scratch dirs: it names the finding from now on. */
        cs->fp_scratch = false;
        json_object_object_add(f->context, "filePath", eg_json_string(path, EG_PATH_LEN));
        json_object_object_add(f->context, "fileOperation", json_object_new_string(op));
        if (layer)
            json_object_object_add(f->context, "overlayLayer", json_object_new_string(layer));
        else
            json_object_object_del(f->context, "overlayLayer");
        snprintf(f->file_path, sizeof(f->file_path), "%s", path);
        eg_finding_set_process(f, d->env.procs, h, NULL);
    }
    struct json_object *related, *ops, *n;
    if (path && new_path && json_object_object_get_ex(f->context, "relatedFilePaths", &related) &&
        json_object_array_length(related) < EG_ROOTFS_RELATED_PATHS)
        json_object_array_add(related, eg_json_string(path, EG_PATH_LEN));
    if (json_object_object_get_ex(f->context, "fileOperations", &ops)) {
        const char *k = path ? op : "repeatedWrite";
        uint64_t prev =
            json_object_object_get_ex(ops, k, &n) ? (uint64_t)json_object_get_int64(n) : 0;
        set_int(ops, k, prev + count);
    }
    if (cs) {
        set_int(f->context, "writeCount", cs->writes);
        set_int(f->context, "distinctFileCount", cs->distinct);
        if (d->stats.distinct_full &&
            !json_object_object_get_ex(f->context, "distinctFileCountIsLowerBound", NULL))
            json_object_object_add(f->context, "distinctFileCountIsLowerBound",
                                   json_object_new_boolean(true));
    }
}

static void record_sensitive(struct eg_rootfs_detector *d, const struct eg_where *w,
                             const struct eg_event_header *h, const char *path, const char *op)
{
    if (!eg_path_patterns_match(&d->cfg.sensitive_files, path))
        return;
    struct eg_finding_key key;
    eg_finding_key_init(&key, EG_FT_SENSITIVE_FILE, w);
    eg_finding_key_add_str(&key, path);
    bool created;
    struct eg_finding *f =
        eg_aggregator_record(d->env.findings, key.text, EG_FT_SENSITIVE_FILE,
                             eg_event_epoch_ms(h->ts_ns), 1, eg_now_ms(), &created);
    if (!f || !created)
        return;
    fill_where_who(d, f, w, h);
    /* Code injected into every process started afterwards. */
    if (strcmp(path, LD_SO_PRELOAD) == 0)
        f->severity = SEVERITY_HIGH;
    f->context = json_object_new_object();
    json_object_object_add(f->context, "filePath", eg_json_string(path, EG_PATH_LEN));
    json_object_object_add(f->context, "fileOperation", json_object_new_string(op));
    snprintf(f->file_path, sizeof(f->file_path), "%s", path);
}

static void on_write(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    (void)size;
    struct eg_rootfs_detector *d = ctx;
    const struct eg_rootfs_write_event *e = rec;
    d->stats.write_events++;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    struct eg_where w;
    eg_where_capture(&w, c, h->cgroup_id);
    /* The kernel counts this container's repeat writes in its slot: they belong to it. */
    if (c && c->slot < EG_MAX_CONTAINER_SLOTS && d->slot_gen[c->slot] != c->generation) {
        d->slot_where[c->slot] = w;
        d->slot_gen[c->slot] = c->generation;
    }
    uint64_t cg = w.cgroup_id;
    char path[EG_PATH_LEN];
    eg_utf8_copy(e->path, sizeof(e->path), path, sizeof(path));
    if (!path[0] || (e->rootfs_flags & EG_ROOTFS_PATH_UNRESOLVED)) {
        d->stats.unresolved++;
        snprintf(path, sizeof(path), "<unresolved inode %u:%llu>", e->dev,
                 (unsigned long long)e->ino);
    }
    const char *op = (e->rootfs_flags & EG_ROOTFS_CREATED) ? "create" : op_name(e->op);
    const char *layer = NULL;
    if (e->rootfs_flags & EG_ROOTFS_OVERLAY)
        layer = (e->rootfs_flags & EG_ROOTFS_LOWER) ? "lower" : "upper";
    remember_written(d, cg, e->dev, e->ino, h, path);
    record_rootfs(d, &w, h, path, op, layer, 1, eg_event_epoch_ms(h->ts_ns));
    record_sensitive(d, &w, h, path, op);
}

/* Up to `max` pids of the processes in container `w` (cgroup.procs of the tracked hierarchy). */
static int container_pids(struct eg_rootfs_detector *d, const struct eg_where *w, uint32_t *out,
                          int max)
{
    if (!w->cgroup_path[0] || !d->env.kernel.cgroup_mount || !d->env.kernel.cgroup_mount[0])
        return 0;
    char path[EG_CONTAINER_PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s%s/cgroup.procs", d->env.kernel.cgroup_mount, w->cgroup_path);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int n = 0;
    unsigned v;
    while (n < max && fscanf(f, "%u", &v) == 1)
        out[n++] = v;
    fclose(f);
    return n;
}

/* Resolve one path of a path op to an absolute path on the root mount; false when not. */
static bool pathop_on_rootfs(struct eg_rootfs_detector *d, const struct eg_event_header *h,
                             const struct eg_where *w, uint32_t flags, const char *base_raw,
                             const char *path_raw, char *out, size_t outlen)
{
    char base[EG_PATH_LEN], path[EG_PATH_LEN];
    eg_utf8_copy(base_raw, EG_PATH_LEN, base, sizeof(base));
    eg_utf8_copy(path_raw, EG_PATH_LEN, path, sizeof(path));
    if ((flags & (EG_PATHOP_UNRESOLVED | EG_PATHOP_TRUNCATED)) ||
        eg_path_resolve(base, path, out, outlen) < 0) {
        d->stats.unresolved++;
        return false;
    }
    /*
     * The caller is often gone by now (mkdir, mv, rm): try its parent, then the container's
     * live processes. Their list costs an open and a read of cgroup.procs, so it is only read
     * when neither of the first two can be read through (a namespace already cached needs
     * neither alive).
     */
    uint32_t pids[2 + CGROUP_PIDS] = {h->tgid, h->ppid};
    const struct eg_mount_table *t = eg_mount_cache_get_any(d->mounts, h->mnt_ns_inum, pids, 2);
    if (!t) {
        int n = container_pids(d, w, pids + 2, CGROUP_PIDS);
        t = eg_mount_cache_get_any(d->mounts, h->mnt_ns_inum, pids + 2, n);
    }
    if (!t) {
        d->stats.unresolved++;
        return false;
    }
    const struct eg_mount *m = eg_mount_table_find(t, out);
    if (!eg_mount_is_root(m)) {
        d->stats.not_rootfs++;
        return false;
    }
    return true;
}

/* The tracked key (cgroup_id, hash) of the kernel's map, or NULL; added when `insert`. */
static struct pathop_track *pathop_track_find(struct eg_rootfs_detector *d, uint64_t cgroup_id,
                                              uint64_t hash, bool insert)
{
    uint64_t h = eg_hash_u64(cgroup_id ^ hash);
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&d->pathop_index, h, &it); i != EG_HASH_NONE;
         i = eg_hash_index_next(&d->pathop_index, &it))
        if (d->pathops[i].cgroup_id == cgroup_id && d->pathops[i].hash == hash)
            return &d->pathops[i];
    if (!insert)
        return NULL;
    uint32_t i;
    if (d->pathops_n_free > 0)
        i = d->pathops_free[d->pathops_n_free - 1];
    else if (d->pathops_high < PATHOP_TRACK_SLOTS)
        i = d->pathops_high;
    else
        return NULL;
    if (!eg_hash_index_insert(&d->pathop_index, h, i))
        return NULL;
    if (d->pathops_n_free > 0)
        d->pathops_n_free--;
    else
        d->pathops_high++;
    d->pathops[i] = (struct pathop_track){.cgroup_id = cgroup_id, .hash = hash, .used = true};
    return &d->pathops[i];
}

/* The kernel forgot the key (LRU): so do we, and its entry is free again. */
static void pathop_forget(struct eg_rootfs_detector *d, struct pathop_track *t)
{
    uint32_t i = (uint32_t)(t - d->pathops);
    eg_hash_index_remove(&d->pathop_index, eg_hash_u64(t->cgroup_id ^ t->hash), i);
    t->used = false;
    d->pathops_free[d->pathops_n_free++] = i;
}

/*
 * The kernel counts this operation's repeats under e->dedup_hash; fold them in later, into the
 * finding of the container `w` it happened in.
 */
static void pathop_track(struct eg_rootfs_detector *d, const struct eg_event_header *h,
                         const struct eg_rootfs_pathop_event *e, const struct eg_where *w)
{
    if (d->pathops_fd < 0 || !e->dedup_hash)
        return;
    struct pathop_track *t = pathop_track_find(d, h->cgroup_id, e->dedup_hash, true);
    if (!t) {
        d->stats.pathop_keys_untracked++;
        return;
    }
    t->last = 1; /* a key sent again was forgotten by the kernel (LRU): its count restarted */
    t->op = e->op;
    d->pathop_where[t - d->pathops] = *w;
}

static void on_pathop(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    (void)size;
    struct eg_rootfs_detector *d = ctx;
    const struct eg_rootfs_pathop_event *e = rec;
    d->stats.pathop_events++;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    struct eg_where w;
    eg_where_capture(&w, c, h->cgroup_id);
    char path[EG_PATH_LEN], path2[EG_PATH_LEN];
    if (!pathop_on_rootfs(d, h, &w, e->pathop_flags, e->base, e->path, path, sizeof(path)))
        return;
    bool two = e->path2[0] != '\0';
    if (two &&
        !pathop_on_rootfs(d, h, &w, e->pathop_flags2, e->base2, e->path2, path2, sizeof(path2)))
        two = false;
    const char *op = op_name(e->op);
    uint64_t ms = eg_event_epoch_ms(h->ts_ns);
    /* rename/link: the new name is what now exists; the old one is a related path. */
    if (two) {
        record_rootfs(d, &w, h, path2, op, NULL, 1, ms);
        record_rootfs(d, &w, h, path, op, NULL, 0, ms);
        record_sensitive(d, &w, h, path2, op);
    } else {
        record_rootfs(d, &w, h, path, op, NULL, 1, ms);
    }
    record_sensitive(d, &w, h, path, op);
    pathop_track(d, h, e, &w);
}

static struct json_object *modifying_process(const struct written *w)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "name", eg_json_string(w->comm, EG_COMM_LEN));
    if (w->exe[0])
        json_object_object_add(o, "executablePath", eg_json_string(w->exe, EG_PATH_LEN));
    set_int(o, "pid", w->pid);
    set_int(o, "namespacePid", w->ns_pid);
    set_int(o, "uid", w->uid);
    char uuid[37];
    eg_proc_uuid(w->pid, w->start_ns, uuid);
    json_object_object_add(o, "uuid", json_object_new_string(uuid));
    return o;
}

/* NewBinaryExecuted / NewLibraryLoaded for a file `w` (may be NULL: evicted) wrote. */
static void record_new_file_use(struct eg_rootfs_detector *d, enum eg_finding_type type,
                                const struct eg_event_header *h, uint32_t dev, uint64_t ino,
                                const char *path, const struct written *w, uint64_t written_ts)
{
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    struct eg_where wh;
    eg_where_capture(&wh, c, h->cgroup_id);
    struct eg_finding_key key;
    eg_finding_key_init(&key, type, &wh);
    eg_finding_key_add_u64(&key, dev);
    eg_finding_key_add_u64(&key, ino);
    bool created;
    struct eg_finding *f = eg_aggregator_record(
        d->env.findings, key.text, type, eg_event_epoch_ms(h->ts_ns), 1, eg_now_ms(), &created);
    if (!f || !created)
        return;
    fill_where_who(d, f, &wh, h);
    /* The event names the file mapped or just executed; the process table may still hold
     * the executable from before the exec. */
    if (type == EG_FT_NEW_BINARY)
        snprintf(f->process.exe, sizeof(f->process.exe), "%s", path);
    f->context = json_object_new_object();
    json_object_object_add(f->context, "filePath", eg_json_string(path, EG_PATH_LEN));
    if (w)
        json_object_object_add(f->context, "modifyingProcess", modifying_process(w));
    uint64_t ts = w ? w->ts_ns : written_ts;
    if (ts) {
        char iso[32];
        eg_format_iso_ms(eg_event_epoch_ms(ts), iso);
        json_object_object_add(f->context, "modifiedAt", json_object_new_string(iso));
    }
    if (w && strcmp(w->path, path) != 0)
        json_object_object_add(f->context, "modifiedPath", eg_json_string(w->path, EG_PATH_LEN));
    snprintf(f->file_path, sizeof(f->file_path), "%s", path);
}

static void on_exec(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    (void)size;
    struct eg_rootfs_detector *d = ctx;
    const struct eg_exec_event *e = rec;
    d->stats.execs_checked++;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    uint64_t cg = c ? c->cgroup_id : h->cgroup_id;
    uint32_t i = written_find(d, cg, e->exe_dev, e->exe_ino);
    if (i == EG_HASH_NONE)
        return;
    const struct written *w = &d->written[i];
    char path[EG_PATH_LEN];
    eg_utf8_copy(e->exe_path[0] ? e->exe_path : e->filename, EG_PATH_LEN, path, sizeof(path));
    record_new_file_use(d, EG_FT_NEW_BINARY, h, e->exe_dev, e->exe_ino, path, w, 0);
}

static void on_exec_map(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    (void)size;
    struct eg_rootfs_detector *d = ctx;
    const struct eg_rootfs_exec_map_event *e = rec;
    d->stats.exec_map_events++;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    uint64_t cg = c ? c->cgroup_id : h->cgroup_id;
    uint32_t i = written_find(d, cg, e->dev, e->ino);
    const struct written *w = i == EG_HASH_NONE ? NULL : &d->written[i];
    char path[EG_PATH_LEN];
    eg_utf8_copy(e->path, sizeof(e->path), path, sizeof(path));
    record_new_file_use(d, EG_FT_NEW_LIBRARY, h, e->dev, e->ino, path, w, e->written_ts_ns);
}

struct eg_rootfs_detector *eg_rootfs_detector_new(const struct eg_detector_env *env, int repeats_fd,
                                                  const char *proc_root)
{
    struct eg_rootfs_detector *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->env = *env;
    d->repeats_fd = repeats_fd;
    d->pathops_fd = -1;
    d->written_keys = calloc(EG_ROOTFS_WRITTEN_SLOTS, sizeof(*d->written_keys));
    d->written = calloc(EG_ROOTFS_WRITTEN_SLOTS, sizeof(*d->written));
    d->pathops = calloc(PATHOP_TRACK_SLOTS, sizeof(*d->pathops));
    d->pathops_free = calloc(PATHOP_TRACK_SLOTS, sizeof(*d->pathops_free));
    d->pathop_where = calloc(PATHOP_TRACK_SLOTS, sizeof(*d->pathop_where));
    d->slot_where = calloc(EG_MAX_CONTAINER_SLOTS, sizeof(*d->slot_where));
    d->mounts = eg_mount_cache_new(proc_root);
    if (!d->written_keys || !d->written || !d->pathops || !d->pathops_free || !d->pathop_where ||
        !d->slot_where || !d->mounts ||
        eg_hash_index_init(&d->distinct, EG_ROOTFS_DISTINCT_SLOTS, DISTINCT_PROBES, false) ||
        eg_hash_index_init(&d->written_index, EG_ROOTFS_WRITTEN_SLOTS, WRITTEN_PROBES, true) ||
        eg_hash_index_init(&d->pathop_index, PATHOP_TRACK_SLOTS, PATHOP_TRACK_PROBES, true) ||
        eg_hash_index_init(&d->cstate_index, 2 * CSTATE_MAX, 0, true)) {
        eg_rootfs_detector_free(d);
        return NULL;
    }
    return d;
}

void eg_rootfs_detector_free(struct eg_rootfs_detector *d)
{
    if (!d)
        return;
    eg_mount_cache_free(d->mounts);
    eg_hash_index_destroy(&d->distinct);
    eg_hash_index_destroy(&d->written_index);
    eg_hash_index_destroy(&d->pathop_index);
    eg_hash_index_destroy(&d->cstate_index);
    free(d->pathops_free);
    free(d->batch_keys);
    free(d->batch_counts);
    free(d->written_keys);
    free(d->written);
    free(d->pathops);
    free(d->pathop_where);
    free(d->slot_where);
    free(d);
}

void eg_rootfs_detector_configure(struct eg_rootfs_detector *d,
                                  const struct eg_detector_config *cfg)
{
    d->cfg = *cfg;
}

int eg_rootfs_detector_subscribe(struct eg_rootfs_detector *d, struct eg_ringbuf_reader *r)
{
    if (eg_ringbuf_reader_on(r, EG_EVENT_ROOTFS_WRITE, on_write, d))
        return EG_EVENT_ROOTFS_WRITE;
    if (eg_ringbuf_reader_on(r, EG_EVENT_ROOTFS_PATHOP, on_pathop, d))
        return EG_EVENT_ROOTFS_PATHOP;
    if (eg_ringbuf_reader_on(r, EG_EVENT_ROOTFS_EXEC_MAP, on_exec_map, d))
        return EG_EVENT_ROOTFS_EXEC_MAP;
    if (eg_ringbuf_reader_on(r, EG_EVENT_EXEC, on_exec, d))
        return EG_EVENT_EXEC;
    return 0;
}

void eg_rootfs_detector_set_pathops_fd(struct eg_rootfs_detector *d, int fd)
{
    d->pathops_fd = fd;
    struct bpf_map_info info;
    uint32_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.max_entries == 0 ||
        info.key_size != sizeof(struct eg_rootfs_pathop_key) || info.value_size != sizeof(uint64_t))
        return;
    /* Pages are touched only as far as the map is full. */
    d->batch_keys = calloc(info.max_entries, sizeof(*d->batch_keys));
    d->batch_counts = calloc(info.max_entries, sizeof(*d->batch_counts));
    if (d->batch_keys && d->batch_counts)
        d->batch_cap = info.max_entries;
}

/*
 * The whole of eg_rootfs_pathops_seen in a few BPF_MAP_LOOKUP_BATCH calls. A lookup per
 * tracked key was one syscall per key every second (~1.5 us each on the benchmark VM): with
 * the table's 16384 keys in use, 2.5 % of a CPU. Returns the keys read, or -1 when the kernel
 * cannot read the map in batches (the caller then looks keys up one by one).
 */
static int pathops_read_batch(struct eg_rootfs_detector *d)
{
    if (!d->batch_cap)
        return -1;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    uint64_t in = 0, out = 0; /* a hash map's batch token is its bucket index */
    uint32_t total = 0;
    bool first = true;
    while (total < d->batch_cap) {
        uint32_t count = d->batch_cap - total;
        int err =
            bpf_map_lookup_batch(d->pathops_fd, first ? NULL : &in, &out, d->batch_keys + total,
                                 d->batch_counts + total, &count, &opts);
        int saved = errno;
        total += count; /* also set when the last call ends the map (ENOENT) */
        if (err) {
            if (saved == ENOENT)
                break;
            if (d->stats.pathop_batch_failures++ == 0)
                eg_log_warn("reading the path-operation repeat counts in batches failed: %s; "
                            "reading them one by one",
                            strerror(saved));
            return -1;
        }
        in = out;
        first = false;
    }
    return (int)total;
}

/*
 * Repeats of path-only operations on the rootfs: stamped now and counted as repeatedWrite
 * (record_rootfs without a path); the key's operation names a finding they would create.
 */
static void fold_pathop(struct eg_rootfs_detector *d, struct pathop_track *t, uint64_t count,
                        uint64_t now_ms)
{
    t->seen_pass = d->pathop_pass;
    if (count <= t->last)
        return;
    uint64_t delta = count - t->last;
    t->last = count;
    d->stats.pathop_repeats_from_kernel += delta;
    const struct eg_where *w = &d->pathop_where[t - d->pathops];
    struct eg_event_header h = {0};
    h.cgroup_id = t->cgroup_id;
    record_rootfs(d, w, &h, NULL, op_name(t->op), NULL, delta, now_ms);
}

static void fold_pathop_repeats(struct eg_rootfs_detector *d, uint64_t now_ms)
{
    d->pathop_pass++;
    int n = pathops_read_batch(d);
    for (int i = 0; i < n; i++) {
        struct pathop_track *t =
            pathop_track_find(d, d->batch_keys[i].cgroup_id, d->batch_keys[i].hash, false);
        if (t)
            fold_pathop(d, t, d->batch_counts[i], now_ms);
    }
    /*
     * Keys the batch did not return (or all of them, without batches): one lookup each. A
     * batch read races the programs' inserts and LRU moves, so a key is forgotten only when a
     * lookup of its own says the kernel no longer holds it.
     */
    for (uint32_t i = 0; i < d->pathops_high; i++) {
        struct pathop_track *t = &d->pathops[i];
        if (!t->used || t->seen_pass == d->pathop_pass)
            continue;
        struct eg_rootfs_pathop_key key = {.cgroup_id = t->cgroup_id, .hash = t->hash};
        uint64_t count;
        if (bpf_map_lookup_elem(d->pathops_fd, &key, &count) != 0) {
            pathop_forget(d, t);
            continue;
        }
        fold_pathop(d, t, count, now_ms);
    }
}

void eg_rootfs_detector_tick(struct eg_rootfs_detector *d, uint64_t now_ms)
{
    if (d->pathops_fd >= 0)
        fold_pathop_repeats(d, now_ms);
    if (d->repeats_fd < 0)
        return;
    /*
     * Counts are per container slot and only grow; a slot's container is replaced only after
     * the old one has been gone (cgroup removed, no task left to write) for minutes, during
     * which its last repeats were folded in. So a new container in a slot starts from where
     * the previous one's count ended.
     */
    for (uint32_t slot = 0; slot < EG_MAX_CONTAINER_SLOTS; slot++) {
        if (!d->slot_gen[slot])
            continue; /* no write sent from this slot yet: nothing can have repeated */
        uint64_t val;
        if (bpf_map_lookup_elem(d->repeats_fd, &slot, &val) != 0)
            continue;
        if (val <= d->repeats_last[slot])
            continue;
        uint64_t delta = val - d->repeats_last[slot];
        d->repeats_last[slot] = val;
        d->stats.repeats_from_kernel += delta;
        const struct eg_where *w = &d->slot_where[slot];
        struct eg_event_header h = {0};
        h.cgroup_id = w->cgroup_id;
        record_rootfs(d, w, &h, NULL, "modify", NULL, delta, now_ms);
    }
}

void eg_rootfs_detector_get_stats(struct eg_rootfs_detector *d,
                                  struct eg_rootfs_detector_stats *out)
{
    *out = d->stats;
}

/* ---- detector registry glue ------------------------------------------------------------- */

static void *rootfs_create(const struct eg_detector_env *env)
{
    const struct eg_detector_kernel *k = &env->kernel;
    struct eg_rootfs_detector *d =
        eg_rootfs_detector_new(env, k->rootfs_repeats_fd > 0 ? k->rootfs_repeats_fd : -1,
                               k->proc_root ? k->proc_root : "/proc");
    if (d)
        eg_rootfs_detector_set_pathops_fd(d, k->rootfs_pathops_fd > 0 ? k->rootfs_pathops_fd : -1);
    return d;
}

static int rootfs_subscribe(void *d, struct eg_ringbuf_reader *r)
{
    return eg_rootfs_detector_subscribe(d, r);
}

static void rootfs_configure(void *d, const struct eg_detector_config *cfg)
{
    eg_rootfs_detector_configure(d, cfg);
}

static void rootfs_tick(void *d, uint64_t now_ms)
{
    eg_rootfs_detector_tick(d, now_ms);
}

static void rootfs_stats(void *p, struct json_object *obj)
{
    struct eg_rootfs_detector *d = p;
    struct eg_rootfs_detector_stats *st = &d->stats;
    struct json_object *o = json_object_new_object();
    set_int(o, "writeEvents", st->write_events);
    set_int(o, "pathOpEvents", st->pathop_events);
    set_int(o, "execMapEvents", st->exec_map_events);
    set_int(o, "execsChecked", st->execs_checked);
    set_int(o, "repeatsFromKernel", st->repeats_from_kernel);
    set_int(o, "pathOpRepeatsFromKernel", st->pathop_repeats_from_kernel);
    set_int(o, "pathOpKeysUntracked", st->pathop_keys_untracked);
    set_int(o, "pathOpBatchReadFailures", st->pathop_batch_failures);
    set_int(o, "pathOpsOnOtherMounts", st->not_rootfs);
    set_int(o, "unresolved", st->unresolved);
    set_int(o, "distinctSetFull", st->distinct_full);
    set_int(o, "writtenFilesEvicted", st->written_evicted);
    set_int(o, "containers", st->container_states);
    set_int(o, "containerTableFull", st->container_full);
    struct eg_mount_cache_stats ms;
    eg_mount_cache_get_stats(d->mounts, &ms);
    set_int(o, "mountTableReads", ms.reads);
    set_int(o, "mountTableRereadsOnChange", ms.rereads_on_change);
    set_int(o, "mountTableReadErrors", ms.read_errors);
    json_object_object_add(obj, "rootfs", o);
}

static void rootfs_destroy(void *d)
{
    eg_rootfs_detector_free(d);
}

const struct eg_detector_ops eg_rootfs_detector_ops = {
    .name = "rootfs",
    .create = rootfs_create,
    .subscribe = rootfs_subscribe,
    .configure = rootfs_configure,
    .tick = rootfs_tick,
    .stats = rootfs_stats,
    .destroy = rootfs_destroy,
};
