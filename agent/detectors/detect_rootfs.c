/*
 * The rootfs detector: its ring-buffer handlers (writes, path operations, execs and executable
 * mappings), set-up and health. Its tables, path resolution, findings and the folding of the
 * kernel's repeat counts are in detect_rootfs_{tables,paths,findings,fold}.c
 * (detect_rootfs_internal.h).
 */
#include "agent/detectors/detect_rootfs_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/common/json_text.h"

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
    /*
     * An O_TMPFILE file has no name ("/dir/#<inode>" is the kernel's placeholder) and is gone
     * at its last close unless linkat names it: that link is reported with the name; the file
     * is remembered for the exec and mmap checks.
     */
    if (e->rootfs_flags & EG_ROOTFS_TMPFILE) {
        d->stats.tmpfile_writes++;
        eg_rootfs_remember_written(d, cg, e->dev, e->ino, h, path);
        return;
    }
    const char *op = (e->rootfs_flags & EG_ROOTFS_CREATED) ? "create" : eg_rootfs_op_name(e->op);
    const char *layer = NULL;
    if (e->rootfs_flags & EG_ROOTFS_OVERLAY)
        layer = (e->rootfs_flags & EG_ROOTFS_LOWER) ? "lower" : "upper";
    eg_rootfs_remember_written(d, cg, e->dev, e->ino, h, path);
    eg_rootfs_record_write(d, &w, h, path, op, layer, 1, eg_event_epoch_ms(h->ts_ns));
    eg_rootfs_record_sensitive(d, &w, h, path, NULL, op, -1);
}

/* One name of a path operation on the rootfs: counted (count 0: a related path only),
 * matched against the sensitive files. */
static void record_name(struct eg_rootfs_detector *d, const struct eg_where *w,
                        const struct eg_event_header *h, const struct eg_rootfs_pathop_event *e,
                        const struct eg_rootfs_names *n, uint64_t count)
{
    const char *op = eg_rootfs_op_name(e->op);
    bool chmod = e->op == EG_ROOTFS_OP_CHMOD;
    eg_rootfs_record_write(d, w, h, n->resolved, op, NULL, count, eg_event_epoch_ms(h->ts_ns));
    eg_rootfs_record_sensitive(d, w, h, n->resolved, n->literal, op, chmod ? (int64_t)e->mode : -1);
    if (chmod && (e->mode & 06000))
        eg_rootfs_record_setid(d, w, n->resolved, e->mode);
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
    /*
     * Each name is judged on its own: a link's source may be on another mount and still name
     * a rootfs file (linkat from /proc/self/fd/N), and only the new name changes the file
     * system (a link leaves its source as it was). rename/link report the name the file ends
     * up with first; a rename's old name is a related path.
     */
    struct eg_rootfs_names first, second;
    bool two = e->path2[0] != '\0';
    bool link = e->op == EG_ROOTFS_OP_LINK;
    bool chrooted = e->pathop_flags & EG_PATHOP_CALLER_CHROOTED;
    bool on_first = !link && eg_rootfs_pathop_on_rootfs(d, h, &w, e->op, e->pathop_flags, chrooted,
                                                        e->base, e->path, e->kname, &first);
    bool on_second = two && eg_rootfs_pathop_on_rootfs(d, h, &w, e->op, e->pathop_flags2, chrooted,
                                                       e->base2, e->path2, e->kname2, &second);
    if (!on_first && !on_second)
        return;
    if (on_second)
        record_name(d, &w, h, e, &second, 1);
    if (on_first)
        record_name(d, &w, h, e, &first, on_second ? 0 : 1);
    eg_rootfs_pathop_track(d, h, e, &w);
}

/*
 * A file the exec ran (or, for a #! script, started from) that was written in the container:
 * one the agent saw written, or one the overlay's upper layer holds though the agent saw no
 * write (written before it started, or a record it lost).
 */
static void new_binary_check(struct eg_rootfs_detector *d, const struct eg_event_header *h,
                             uint32_t dev, uint64_t ino, uint32_t layers, const char *path,
                             const char *interpreter)
{
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    uint64_t cg = c ? c->cgroup_id : h->cgroup_id;
    uint32_t i = eg_rootfs_written_find(d, cg, dev, ino);
    /* A tmpfs of its own starts empty: every file on it was written in the container. */
    if (i == EG_HASH_NONE && (layers & EG_EXEC_ON_TMPFS)) {
        d->stats.execs_on_tmpfs++;
        struct eg_new_file_use t = {
            .dev = dev, .ino = ino, .path = path, .interpreter = interpreter, .on_tmpfs = true};
        eg_rootfs_record_new_file_use(d, EG_FT_NEW_BINARY, h, &t);
        return;
    }
    bool unseen = i == EG_HASH_NONE && (layers & EG_ROOTFS_UPPER);
    if (i == EG_HASH_NONE && !unseen)
        return;
    struct eg_new_file_use u = {.dev = dev, .ino = ino, .path = path, .interpreter = interpreter};
    if (unseen) {
        d->stats.execs_written_unseen++;
        u.unseen_layer = (layers & EG_ROOTFS_LOWER) ? "lower" : "upper";
    } else {
        u.w = &d->written[i];
    }
    eg_rootfs_record_new_file_use(d, EG_FT_NEW_BINARY, h, &u);
}

static void on_exec(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    (void)size;
    struct eg_rootfs_detector *d = ctx;
    const struct eg_exec_event *e = rec;
    d->stats.execs_checked++;
    char exe[EG_PATH_LEN];
    eg_utf8_copy(e->exe_path[0] ? e->exe_path : e->filename, EG_PATH_LEN, exe, sizeof(exe));
    if (!e->script_ino) {
        new_binary_check(d, h, e->exe_dev, e->exe_ino, e->exe_layers, exe, NULL);
        return;
    }
    /* A #! script: the script is the new file that matters (its interpreter is the image's). */
    char script[EG_PATH_LEN];
    eg_utf8_copy(e->filename, EG_PATH_LEN, script, sizeof(script));
    new_binary_check(d, h, e->script_dev, e->script_ino, e->script_layers, script, exe);
    new_binary_check(d, h, e->exe_dev, e->exe_ino, e->exe_layers, exe, NULL);
}

static void on_exec_map(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    (void)size;
    struct eg_rootfs_detector *d = ctx;
    const struct eg_rootfs_exec_map_event *e = rec;
    d->stats.exec_map_events++;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    uint64_t cg = c ? c->cgroup_id : h->cgroup_id;
    uint32_t i = eg_rootfs_written_find(d, cg, e->dev, e->ino);
    const struct written *w = i == EG_HASH_NONE ? NULL : &d->written[i];
    char path[EG_PATH_LEN];
    eg_utf8_copy(e->path, sizeof(e->path), path, sizeof(path));
    struct eg_new_file_use u = {.dev = e->dev,
                                .ino = e->ino,
                                .path = path,
                                .w = w,
                                .written_ts = e->written_ts_ns,
                                .mapped_by =
                                    (e->prot & EG_EXEC_MAP_MPROTECT) ? "mprotect" : "mmap"};
    eg_rootfs_record_new_file_use(d, EG_FT_NEW_LIBRARY, h, &u);
}

struct eg_rootfs_detector *eg_rootfs_detector_new(const struct eg_detector_env *env, int repeats_fd,
                                                  const char *proc_root)
{
    struct eg_rootfs_detector *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->env = *env;
    snprintf(d->proc_root, sizeof(d->proc_root), "%s", proc_root);
    d->repeats_fd = repeats_fd;
    d->pathops_fd = -1;
    d->written_keys = calloc(EG_ROOTFS_WRITTEN_SLOTS, sizeof(*d->written_keys));
    d->written = calloc(EG_ROOTFS_WRITTEN_SLOTS, sizeof(*d->written));
    d->pathops = calloc(PATHOP_TRACK_SLOTS, sizeof(*d->pathops));
    d->pathop_where = calloc(PATHOP_TRACK_SLOTS, sizeof(*d->pathop_where));
    d->slot_where = calloc(EG_MAX_CONTAINER_SLOTS, sizeof(*d->slot_where));
    d->mounts = eg_mount_cache_new(proc_root);
    if (!d->written_keys || !d->written || !d->pathops || !d->pathop_where || !d->slot_where ||
        !d->mounts ||
        eg_hash_index_init(&d->distinct, EG_ROOTFS_DISTINCT_SLOTS, DISTINCT_PROBES, false) ||
        eg_hash_index_init(&d->written_index, EG_ROOTFS_WRITTEN_SLOTS, WRITTEN_PROBES, true) ||
        eg_hash_index_init(&d->pathop_index, PATHOP_TRACK_SLOTS, PATHOP_TRACK_PROBES, true) ||
        eg_entry_pool_init(&d->pathop_pool, PATHOP_TRACK_SLOTS) ||
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
    eg_entry_pool_destroy(&d->pathop_pool);
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
    if (d) {
        eg_rootfs_detector_set_pathops_fd(d, k->rootfs_pathops_fd > 0 ? k->rootfs_pathops_fd : -1);
        eg_rootfs_state_open(d, env->state_dir);
        eg_rootfs_state_load(d);
    }
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
    eg_rootfs_state_save(d, now_ms, false);
}

static void rootfs_persist(void *d, uint64_t now_ms)
{
    eg_rootfs_state_save(d, now_ms, true);
}

static void rootfs_stats(void *p, struct json_object *obj)
{
    struct eg_rootfs_detector *d = p;
    struct eg_rootfs_detector_stats *st = &d->stats;
    struct json_object *o = json_object_new_object();
    eg_rootfs_set_int(o, "writeEvents", st->write_events);
    eg_rootfs_set_int(o, "pathOpEvents", st->pathop_events);
    eg_rootfs_set_int(o, "execMapEvents", st->exec_map_events);
    eg_rootfs_set_int(o, "execsChecked", st->execs_checked);
    eg_rootfs_set_int(o, "execsWrittenUnseen", st->execs_written_unseen);
    eg_rootfs_set_int(o, "execsOnTmpfs", st->execs_on_tmpfs);
    eg_rootfs_set_int(o, "repeatsFromKernel", st->repeats_from_kernel);
    eg_rootfs_set_int(o, "pathOpRepeatsFromKernel", st->pathop_repeats_from_kernel);
    eg_rootfs_set_int(o, "pathOpKeysUntracked", st->pathop_keys_untracked);
    eg_rootfs_set_int(o, "pathOpBatchReadFailures", st->pathop_batch_failures);
    eg_rootfs_set_int(o, "pathOpsOnOtherMounts", st->not_rootfs);
    eg_rootfs_set_int(o, "pathOpsOnRootByKernel", st->decided_in_kernel);
    eg_rootfs_set_int(o, "pathOpsNamedByKernel", st->named_in_kernel);
    eg_rootfs_set_int(o, "unresolved", st->unresolved);
    eg_rootfs_set_int(o, "pathOpsOnLiteralPath", st->links_unresolved);
    eg_rootfs_set_int(o, "pathOpsInUnresolvedDirectory", st->in_unresolved_dir);
    eg_rootfs_set_int(o, "tmpfileWrites", st->tmpfile_writes);
    eg_rootfs_set_int(o, "distinctSetFull", st->distinct_full);
    eg_rootfs_set_int(o, "writtenFilesEvicted", st->written_evicted);
    eg_rootfs_set_int(o, "containers", st->container_states);
    eg_rootfs_set_int(o, "containerTableFull", st->container_full);
    eg_rootfs_set_int(o, "writtenStateLoaded", st->written_state_loaded);
    eg_rootfs_set_int(o, "writtenStateRejected", st->written_state_rejected);
    eg_rootfs_set_int(o, "writtenStateSaves", st->written_state_saves);
    eg_rootfs_set_int(o, "writtenStateSaveFailures", st->written_state_save_failures);
    struct eg_mount_cache_stats ms;
    eg_mount_cache_get_stats(d->mounts, &ms);
    eg_rootfs_set_int(o, "mountTableReads", ms.reads);
    eg_rootfs_set_int(o, "mountTableRereadsOnChange", ms.rereads_on_change);
    eg_rootfs_set_int(o, "mountTableReadErrors", ms.read_errors);
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
    .persist = rootfs_persist,
    .stats = rootfs_stats,
    .destroy = rootfs_destroy,
};
