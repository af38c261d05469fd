/*
 * The findings state file (finding_state.h): one JSON object per line, a header line first.
 * JSON rather than a dump of struct eg_finding: most of a finding's ~7 KiB is empty string
 * space, a line holds only what is set, and a file from another build is read field by field
 * (or refused by its header) instead of misread.
 */
#include "agent/pipeline/finding_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/common/log.h"
#include "agent/pipeline/aggregator.h"
#include "policy/finding.h"

#define STATE_FORMAT "ecsguard-findings-state"
#define STATE_VERSION 1
#define SAVE_NEW_IDS_MS 1000u /* a finding emitted for the first time: its id is out */
#define SAVE_CHANGES_MS 5000u /* counts and details */
#define FAIL_LOG_MS 30000u

static int make_dirs(const char *dir)
{
    char path[4000];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

int eg_finding_state_open(struct eg_finding_state *s, const char *dir)
{
    memset(s, 0, sizeof(*s));
    if (!dir || !*dir)
        return 0;
    if (strlen(dir) >= sizeof(s->dir) - 32) {
        eg_log_error("state directory %s: path too long", dir);
        return -1;
    }
    /* Not fatal: the agent runs without it, every write is tried, failed and counted. */
    int rc = 0;
    if (make_dirs(dir) != 0) {
        eg_log_error("state directory %s: %s (findings start afresh after a restart)", dir,
                     strerror(errno));
        rc = -1;
    }
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    snprintf(s->path, sizeof(s->path), "%s/findings.state", dir);
    /* Per process: two agents pointed at one directory never write into each other's file. */
    snprintf(s->tmp, sizeof(s->tmp), "%s/findings.state.tmp.%d", dir, (int)getpid());
    s->enabled = true;
    return rc;
}

/* ---- writing ----------------------------------------------------------------------------- */

static void put_u64(struct json_object *o, const char *k, uint64_t v)
{
    json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static void put_str(struct json_object *o, const char *k, const char *v)
{
    if (v[0])
        json_object_object_add(o, k, json_object_new_string(v));
}

static struct json_object *process_json(const struct eg_process_info *p)
{
    struct json_object *o = json_object_new_object();
    put_str(o, "name", p->name);
    put_str(o, "exe", p->exe);
    put_str(o, "args", p->args);
    put_u64(o, "pid", p->pid);
    put_u64(o, "nsPid", p->ns_pid);
    put_u64(o, "uid", p->uid);
    put_u64(o, "euid", p->euid);
    json_object_object_add(o, "startTime", json_object_new_double(p->start_time));
    put_str(o, "uuid", p->uuid);
    put_str(o, "parentUuid", p->parent_uuid);
    return o;
}

static struct json_object *finding_json(const struct eg_finding *f)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "key", json_object_new_string(f->key));
    const struct eg_finding_type_info *ti = eg_finding_type_info(f->type);
    json_object_object_add(o, "type", json_object_new_string(ti ? ti->name : "?"));
    json_object_object_add(o, "id", json_object_new_string(f->id));
    json_object_object_add(o, "severity", json_object_new_double(f->severity));
    put_u64(o, "createdMs", f->created_ms);
    put_u64(o, "updatedMs", f->updated_ms);
    put_u64(o, "firstSeenMs", f->first_seen_ms);
    put_u64(o, "lastSeenMs", f->last_seen_ms);
    put_u64(o, "lastEmitMs", f->last_emit_ms);
    put_u64(o, "count", f->count);
    put_u64(o, "emittedCount", f->emitted_count);
    json_object_object_add(o, "emitted", json_object_new_boolean(f->emitted));
    json_object_object_add(o, "suppressed", json_object_new_boolean(f->suppressed));
    json_object_object_add(o, "refresh", json_object_new_boolean(f->refresh));
    json_object_object_add(o, "detailsChanged", json_object_new_boolean(f->details_changed));
    struct json_object *w = json_object_new_object();
    put_u64(w, "cgroupId", f->where.cgroup_id);
    put_u64(w, "hostNs", f->where.host_ns);
    put_str(w, "containerId", f->where.container_id);
    put_str(w, "taskId", f->where.task_id);
    put_str(w, "cgroupPath", f->where.cgroup_path);
    json_object_object_add(o, "where", w);
    put_u64(o, "hostFlags", f->host_flags);
    json_object_object_add(o, "process", process_json(&f->process));
    struct json_object *lin = json_object_new_array();
    for (int i = 0; i < f->n_lineage && i < EG_LINEAGE_MAX; i++)
        json_object_array_add(lin, process_json(&f->lineage[i]));
    json_object_object_add(o, "lineage", lin);
    if (f->context)
        json_object_object_add(o, "context", json_object_get(f->context));
    put_str(o, "capability", f->capability);
    put_str(o, "filePath", f->file_path);
    put_str(o, "namespaceKind", f->namespace_kind);
    put_str(o, "targetProcess", f->target_process);
    return o;
}

struct writer {
    FILE *fp;
    bool failed;
};

static void write_one(void *ctx, const struct eg_finding *f)
{
    struct writer *w = ctx;
    if (w->failed)
        return;
    struct json_object *o = finding_json(f);
    const char *line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    if (fputs(line, w->fp) < 0 || fputc('\n', w->fp) < 0)
        w->failed = true;
    json_object_put(o);
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static int save(struct eg_finding_state *s, struct eg_aggregator *a, uint64_t now_ms)
{
    FILE *fp = fopen(s->tmp, "we");
    if (!fp)
        return -1;
    struct eg_aggregator_stats ag;
    eg_aggregator_get_stats(a, &ag);
    struct writer w = {.fp = fp};
    if (fprintf(fp,
                "{\"format\":\"%s\",\"version\":%d,\"savedMs\":%" PRIu64 ",\"findings\":%" PRIu64
                "}\n",
                STATE_FORMAT, STATE_VERSION, now_ms, ag.open) < 0)
        w.failed = true;
    eg_aggregator_visit(a, write_one, &w);
    int err = 0;
    if (w.failed || fflush(fp) != 0 || fdatasync(fileno(fp)) != 0)
        err = errno ? errno : EIO;
    long size = ftell(fp);
    if (fclose(fp) != 0 && !err)
        err = errno ? errno : EIO;
    if (!err && rename(s->tmp, s->path) != 0)
        err = errno;
    if (err) {
        unlink(s->tmp);
        errno = err;
        return -1;
    }
    fsync_dir(s->dir);
    s->st.last_save_bytes = size > 0 ? (uint64_t)size : 0;
    return 0;
}

void eg_finding_state_tick(struct eg_finding_state *s, struct eg_aggregator *a, uint64_t now_ms,
                           bool final)
{
    if (!s->enabled)
        return;
    unsigned unsaved = eg_aggregator_unsaved(a);
    if (unsaved == EG_UNSAVED_NONE)
        return;
    uint64_t wait = (unsaved & EG_UNSAVED_NEW_IDS) ? SAVE_NEW_IDS_MS : SAVE_CHANGES_MS;
    if (!final && now_ms < s->last_save_ms + wait)
        return;
    s->last_save_ms = now_ms;
    if (save(s, a, now_ms) != 0) {
        s->st.save_failures++;
        s->st.last_error = errno;
        if (final || s->last_fail_log_ms == 0 || now_ms >= s->last_fail_log_ms + FAIL_LOG_MS) {
            eg_log_error("cannot write the findings state %s: %s (the previous state stays; "
                         "%" PRIu64 " failed writes)",
                         s->path, strerror(errno), s->st.save_failures);
            s->last_fail_log_ms = now_ms;
        }
        return;
    }
    if (s->st.last_error)
        eg_log_info("findings state %s written again", s->path);
    s->st.last_error = 0;
    s->st.saves++;
    eg_aggregator_mark_saved(a);
}

/* ---- reading ----------------------------------------------------------------------------- */

static void get_str(struct json_object *o, const char *k, char *dst, size_t len)
{
    struct json_object *v;
    dst[0] = '\0';
    if (json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string))
        snprintf(dst, len, "%s", json_object_get_string(v));
}

static uint64_t get_u64(struct json_object *o, const char *k)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
        return 0;
    int64_t n = json_object_get_int64(v);
    return n > 0 ? (uint64_t)n : 0;
}

static bool get_bool(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) && json_object_get_boolean(v);
}

static double get_double(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_double(v) : 0;
}

static void read_process(struct json_object *o, struct eg_process_info *p)
{
    memset(p, 0, sizeof(*p));
    if (!o || !json_object_is_type(o, json_type_object))
        return;
    get_str(o, "name", p->name, sizeof(p->name));
    get_str(o, "exe", p->exe, sizeof(p->exe));
    get_str(o, "args", p->args, sizeof(p->args));
    p->pid = (uint32_t)get_u64(o, "pid");
    p->ns_pid = (uint32_t)get_u64(o, "nsPid");
    p->uid = (uint32_t)get_u64(o, "uid");
    p->euid = (uint32_t)get_u64(o, "euid");
    p->start_time = get_double(o, "startTime");
    get_str(o, "uuid", p->uuid, sizeof(p->uuid));
    get_str(o, "parentUuid", p->parent_uuid, sizeof(p->parent_uuid));
}

/* A finding from one line, or NULL when the line is not one. */
static struct eg_finding *read_finding(struct json_object *o)
{
    char type_name[128], id[64];
    get_str(o, "type", type_name, sizeof(type_name));
    get_str(o, "id", id, sizeof(id));
    const struct eg_finding_type_info *ti = eg_finding_type_by_name(type_name);
    struct json_object *key;
    if (!ti || strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32 ||
        !json_object_object_get_ex(o, "key", &key) || !json_object_is_type(key, json_type_string) ||
        json_object_get_string_len(key) == 0 ||
        json_object_get_string_len(key) >= EG_FINDING_KEY_MAX)
        return NULL;
    struct eg_finding *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    snprintf(f->key, sizeof(f->key), "%s", json_object_get_string(key));
    f->type = ti->id;
    snprintf(f->id, sizeof(f->id), "%s", id);
    f->severity = get_double(o, "severity");
    f->created_ms = get_u64(o, "createdMs");
    f->updated_ms = get_u64(o, "updatedMs");
    f->first_seen_ms = get_u64(o, "firstSeenMs");
    f->last_seen_ms = get_u64(o, "lastSeenMs");
    f->last_emit_ms = get_u64(o, "lastEmitMs");
    f->count = get_u64(o, "count");
    f->emitted_count = get_u64(o, "emittedCount");
    f->emitted = get_bool(o, "emitted");
    f->suppressed = get_bool(o, "suppressed");
    f->refresh = get_bool(o, "refresh");
    f->details_changed = get_bool(o, "detailsChanged");
    struct json_object *w, *v;
    if (json_object_object_get_ex(o, "where", &w) && json_object_is_type(w, json_type_object)) {
        f->where.cgroup_id = get_u64(w, "cgroupId");
        f->where.host_ns = (uint32_t)get_u64(w, "hostNs");
        get_str(w, "containerId", f->where.container_id, sizeof(f->where.container_id));
        get_str(w, "taskId", f->where.task_id, sizeof(f->where.task_id));
        get_str(w, "cgroupPath", f->where.cgroup_path, sizeof(f->where.cgroup_path));
    }
    f->host_flags = (uint32_t)get_u64(o, "hostFlags");
    read_process(json_object_object_get_ex(o, "process", &v) ? v : NULL, &f->process);
    if (json_object_object_get_ex(o, "lineage", &v) && json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n && f->n_lineage < EG_LINEAGE_MAX; i++)
            read_process(json_object_array_get_idx(v, i), &f->lineage[f->n_lineage++]);
    }
    if (json_object_object_get_ex(o, "context", &v) && json_object_is_type(v, json_type_object))
        f->context = json_object_get(v);
    get_str(o, "capability", f->capability, sizeof(f->capability));
    get_str(o, "filePath", f->file_path, sizeof(f->file_path));
    get_str(o, "namespaceKind", f->namespace_kind, sizeof(f->namespace_kind));
    get_str(o, "targetProcess", f->target_process, sizeof(f->target_process));
    if (f->count < f->emitted_count || f->first_seen_ms > f->last_seen_ms) {
        if (f->context)
            json_object_put(f->context);
        free(f);
        return NULL;
    }
    return f;
}

static bool header_ok(const char *line)
{
    struct json_object *h = json_tokener_parse(line);
    char format[64] = "";
    bool ok = h && json_object_is_type(h, json_type_object);
    if (ok) {
        get_str(h, "format", format, sizeof(format));
        ok = strcmp(format, STATE_FORMAT) == 0 && get_u64(h, "version") == STATE_VERSION;
    }
    if (h)
        json_object_put(h);
    return ok;
}

/* A file that is not a state file is kept aside for diagnosis, never read again. */
static void move_aside(struct eg_finding_state *s, const char *why)
{
    char bad[4200];
    snprintf(bad, sizeof(bad), "%s.bad", s->path);
    if (rename(s->path, bad) == 0)
        eg_log_warn("findings state %s %s: a fresh start (the file is now %s)", s->path, why, bad);
    else
        eg_log_warn("findings state %s %s: a fresh start", s->path, why);
}

void eg_finding_state_load(struct eg_finding_state *s, struct eg_aggregator *a, uint64_t now_ms,
                           uint64_t window_ms)
{
    if (!s->enabled)
        return;
    FILE *fp = fopen(s->path, "re");
    if (!fp) {
        if (errno == ENOENT)
            eg_log_info("findings state %s: none yet, a fresh start", s->path);
        else
            eg_log_warn("findings state %s: %s: a fresh start", s->path, strerror(errno));
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, fp);
    if (n <= 0 || !header_ok(line)) {
        fclose(fp);
        free(line);
        move_aside(s, n <= 0 ? "is empty" : "is not a findings state of this version");
        return;
    }
    uint64_t line_no = 1, first_bad = 0;
    while ((n = getline(&line, &cap, fp)) > 0) {
        line_no++;
        struct json_object *o = json_tokener_parse(line);
        struct eg_finding *f =
            o && json_object_is_type(o, json_type_object) ? read_finding(o) : NULL;
        if (o)
            json_object_put(o);
        bool damaged = f == NULL;
        if (f && (now_ms >= f->created_ms + window_ms || !eg_aggregator_adopt(a, f))) {
            if (f->context)
                json_object_put(f->context);
            free(f);
            f = NULL;
        }
        if (!f) {
            s->st.load_skipped++;
            if (damaged && !first_bad)
                first_bad = line_no;
            continue;
        }
        s->st.loaded++;
    }
    free(line);
    fclose(fp);
    if (first_bad)
        eg_log_warn("findings state %s: damaged from line %" PRIu64 " (lines that could not be "
                    "read are skipped)",
                    s->path, first_bad);
    eg_log_info("findings state %s: %" PRIu64 " open findings continued, %" PRIu64 " skipped",
                s->path, s->st.loaded, s->st.load_skipped);
    /* What was read is what the file says: nothing to write until something changes. */
    eg_aggregator_mark_saved(a);
    s->last_save_ms = now_ms;
}

void eg_finding_state_report(const struct eg_finding_state *s, struct json_object *health)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "enabled", json_object_new_boolean(s->enabled));
    put_u64(o, "loaded", s->st.loaded);
    put_u64(o, "loadSkipped", s->st.load_skipped);
    put_u64(o, "saves", s->st.saves);
    put_u64(o, "saveFailures", s->st.save_failures);
    put_u64(o, "lastSaveBytes", s->st.last_save_bytes);
    json_object_object_add(
        o, "lastError", json_object_new_string(s->st.last_error ? strerror(s->st.last_error) : ""));
    json_object_object_add(health, "findingsState", o);
}
