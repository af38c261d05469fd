/*
 * The rootfs detector's findings: one ContainerRootFilesystemModified per container (its
 * totals, sample of paths and operations in the context), SensitiveFileModified per file, and
 * NewBinaryExecuted / NewLibraryLoaded with the process that wrote the file.
 */
#include "agent/detectors/detect_rootfs_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "agent/common/json_text.h"
#include "agent/pipeline/finding_json.h"
#include "agent/pipeline/inventory_recorder.h"

#define LD_SO_PRELOAD "/etc/ld.so.preload"
#define SEVERITY_HIGH 8.0

const char *eg_rootfs_op_name(uint32_t op)
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
    case EG_ROOTFS_OP_SETTIMES:
        return "setTimes";
    default:
        return "unknown";
    }
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
void eg_rootfs_set_int(struct json_object *o, const char *k, uint64_t v)
{
    struct json_object *n;
    if (json_object_object_get_ex(o, k, &n) && json_object_is_type(n, json_type_int))
        json_object_set_int64(n, (int64_t)v);
    else
        json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static uint64_t context_count(const struct json_object *ctx, const char *name)
{
    struct json_object *n;
    if (!ctx || !json_object_object_get_ex(ctx, name, &n))
        return 0;
    int64_t v = json_object_get_int64(n);
    return v > 0 ? (uint64_t)v : 0;
}

/* Take up a continued finding (restart): its totals, its id, whether it names a scratch path. */
static void continue_totals(struct eg_rootfs_detector *d, struct cstate *cs,
                            const struct eg_finding *f)
{
    cs->writes += context_count(f->context, "writeCount");
    cs->distinct += context_count(f->context, "distinctFileCount");
    snprintf(cs->finding_id, sizeof(cs->finding_id), "%s", f->id);
    cs->fp_scratch = is_scratch(d, f->file_path);
}

/* The sample already holds `path` (a finding continued after a restart meets its paths again). */
static bool has_path(struct json_object *related, const char *path)
{
    size_t n = json_object_array_length(related);
    for (size_t i = 0; i < n; i++) {
        const char *p = json_object_get_string(json_object_array_get_idx(related, i));
        if (p && strcmp(p, path) == 0)
            return true;
    }
    return false;
}

/* One or more rootfs writes by `h` in container `w` (path NULL: kernel repeat counts). */
void eg_rootfs_record_write(struct eg_rootfs_detector *d, const struct eg_where *w,
                            const struct eg_event_header *h, const char *path, const char *op,
                            const char *layer, uint64_t count, uint64_t event_ms)
{
    uint64_t cg = w->cgroup_id;
    struct eg_inv_entry *ie = count ? eg_inventory_recorder_entry(d->env.inventory, w) : NULL;
    if (ie)
        eg_inv_note_write(ie, path, count, event_ms);
    struct cstate *cs = eg_rootfs_cstate_get(d, cg);
    bool new_path = false;
    if (cs) {
        cs->writes += count;
        if (path && eg_rootfs_distinct_insert(d, cg, path)) {
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
    } else if (cs && !cs->finding_id[0]) {
        /*
         * An open finding this container's fresh state does not know: one continued from the
         * state file after a restart. Its totals go on from what it had reported.
         */
        continue_totals(d, cs, f);
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
        json_object_array_length(related) < EG_ROOTFS_RELATED_PATHS && !has_path(related, path))
        json_object_array_add(related, eg_json_string(path, EG_PATH_LEN));
    if (json_object_object_get_ex(f->context, "fileOperations", &ops)) {
        const char *k = path ? op : "repeatedWrite";
        uint64_t prev =
            json_object_object_get_ex(ops, k, &n) ? (uint64_t)json_object_get_int64(n) : 0;
        eg_rootfs_set_int(ops, k, prev + count);
    }
    if (cs) {
        eg_rootfs_set_int(f->context, "writeCount", cs->writes);
        eg_rootfs_set_int(f->context, "distinctFileCount", cs->distinct);
        if (d->stats.distinct_full &&
            !json_object_object_get_ex(f->context, "distinctFileCountIsLowerBound", NULL))
            json_object_object_add(f->context, "distinctFileCountIsLowerBound",
                                   json_object_new_boolean(true));
    }
}

void eg_rootfs_record_sensitive(struct eg_rootfs_detector *d, const struct eg_where *w,
                                const struct eg_event_header *h, const char *path,
                                const char *literal, const char *op, int64_t mode)
{
    /*
     * The list is matched on the file the kernel reached (a symlinked directory such as
     * /opt/e -> /etc does not hide /etc/passwd) and on the name the caller gave.
     */
    if (literal && strcmp(literal, path) == 0)
        literal = NULL;
    if (!eg_path_patterns_match(&d->cfg.sensitive_files, path) &&
        !(literal && eg_path_patterns_match(&d->cfg.sensitive_files, literal)))
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
    if (strcmp(path, LD_SO_PRELOAD) == 0 || (literal && strcmp(literal, LD_SO_PRELOAD) == 0))
        f->severity = SEVERITY_HIGH;
    f->context = json_object_new_object();
    json_object_object_add(f->context, "filePath", eg_json_string(path, EG_PATH_LEN));
    if (literal)
        json_object_object_add(f->context, "literalFilePath", eg_json_string(literal, EG_PATH_LEN));
    json_object_object_add(f->context, "fileOperation", json_object_new_string(op));
    if (mode >= 0) {
        char octal[8];
        snprintf(octal, sizeof(octal), "%o", (unsigned)(mode & 07777));
        json_object_object_add(f->context, "fileMode", json_object_new_string(octal));
        json_object_object_add(f->context, "setuidOrSetgid",
                               json_object_new_boolean((mode & 06000) != 0));
    }
    snprintf(f->file_path, sizeof(f->file_path), "%s", path);
}

void eg_rootfs_record_setid(struct eg_rootfs_detector *d, const struct eg_where *w,
                            const char *path, uint32_t mode)
{
    /* Called right after eg_rootfs_record_write for the same change: its finding is open. */
    struct eg_finding_key key;
    eg_finding_key_init(&key, EG_FT_ROOTFS_MODIFIED, w);
    struct eg_finding *f = eg_aggregator_find(d->env.findings, key.text, eg_now_ms());
    if (!f || !f->context)
        return;
    /* path -> mode (octal), an object: the finding schema's types have no list of objects. */
    struct json_object *files;
    if (!json_object_object_get_ex(f->context, "setuidOrSetgidFiles", &files)) {
        files = json_object_new_object();
        json_object_object_add(f->context, "setuidOrSetgidFiles", files);
    }
    if (json_object_object_length(files) >= EG_ROOTFS_SETID_FILES)
        return;
    char octal[8];
    snprintf(octal, sizeof(octal), "%o", mode & 07777);
    json_object_object_add(files, path, json_object_new_string(octal));
}

static struct json_object *modifying_process(const struct written *w)
{
    struct json_object *o = json_object_new_object();
    if (w->comm[0])
        json_object_object_add(o, "name", eg_json_string(w->comm, EG_COMM_LEN));
    if (w->exe[0])
        json_object_object_add(o, "executablePath", eg_json_string(w->exe, EG_PATH_LEN));
    eg_rootfs_set_int(o, "pid", w->pid);
    eg_rootfs_set_int(o, "namespacePid", w->ns_pid);
    eg_rootfs_set_int(o, "userId", w->uid);
    if (w->start_ns)
        json_object_object_add(o, "startTime",
                               eg_json_epoch_seconds(eg_boot_ns_to_epoch(w->start_ns)));
    char uuid[37];
    eg_proc_uuid(w->pid, w->start_ns, uuid);
    json_object_object_add(o, "uuid", json_object_new_string(uuid));
    return o;
}

/* NewBinaryExecuted / NewLibraryLoaded for a file `w` (may be NULL) wrote. */
void eg_rootfs_record_new_file_use(struct eg_rootfs_detector *d, enum eg_finding_type type,
                                   const struct eg_event_header *h, const struct eg_new_file_use *u)
{
    const char *path = u->path;
    const struct written *w = u->w;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    struct eg_where wh;
    eg_where_capture(&wh, c, h->cgroup_id);
    struct eg_inv_entry *ie = eg_inventory_recorder_entry(d->env.inventory, &wh);
    if (ie)
        eg_inv_note_exec_written(ie, path, type == EG_FT_NEW_LIBRARY, 1,
                                 eg_event_epoch_ms(h->ts_ns));
    struct eg_finding_key key;
    eg_finding_key_init(&key, type, &wh);
    eg_finding_key_add_u64(&key, u->dev);
    eg_finding_key_add_u64(&key, u->ino);
    bool created;
    struct eg_finding *f = eg_aggregator_record(
        d->env.findings, key.text, type, eg_event_epoch_ms(h->ts_ns), 1, eg_now_ms(), &created);
    if (!f || !created)
        return;
    fill_where_who(d, f, &wh, h);
    /* The event names the file mapped or just executed; the process table may still hold
     * the executable from before the exec. */
    if (type == EG_FT_NEW_BINARY)
        snprintf(f->process.exe, sizeof(f->process.exe), "%s",
                 u->interpreter ? u->interpreter : path);
    f->context = json_object_new_object();
    json_object_object_add(f->context, "filePath", eg_json_string(path, EG_PATH_LEN));
    /* GuardDuty's own member for the script a NewBinaryExecuted finding is about. */
    if (u->interpreter)
        json_object_object_add(f->context, "scriptPath", eg_json_string(path, EG_PATH_LEN));
    if (w)
        json_object_object_add(f->context, "modifyingProcess", modifying_process(w));
    /* GuardDuty's own member for the library a NewLibraryLoaded finding is about. */
    if (type == EG_FT_NEW_LIBRARY)
        json_object_object_add(f->context, "libraryPath", eg_json_string(path, EG_PATH_LEN));
    /* mmap(PROT_EXEC), or mprotect(PROT_EXEC) of a mapping made readable first. */
    if (u->mapped_by)
        json_object_object_add(f->context, "mappedExecutableBy",
                               json_object_new_string(u->mapped_by));
    uint64_t ts = w ? w->ts_ns : u->written_ts;
    if (ts)
        json_object_object_add(f->context, "modifiedAt",
                               eg_json_epoch_seconds((double)eg_event_epoch_ms(ts) / 1000.0));
    if (w && strcmp(w->path, path) != 0)
        json_object_object_add(f->context, "modifiedPath", eg_json_string(w->path, EG_PATH_LEN));
    /* Who wrote it and when are unknown: the overlay only says that it was written here. */
    if (u->on_tmpfs)
        json_object_object_add(f->context, "fileSystemType", json_object_new_string("tmpfs"));
    if (u->unseen_layer) {
        json_object_object_add(f->context, "overlayLayer", json_object_new_string(u->unseen_layer));
        json_object_object_add(f->context, "writtenWhileUnwatched", json_object_new_boolean(1));
    }
    snprintf(f->file_path, sizeof(f->file_path), "%s", path);
}
