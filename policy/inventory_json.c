/*
 * The behaviour inventory as JSON (schema in docs/posture.md): written by the agent, read back
 * by the agent at start-up and by `ecsguard advise`. The file is the agent's, but it sits on a
 * host disk and feeds advice that loosens or tightens what containers may do, so reading it is
 * strict: bounded size and nesting, every member's type checked, strings bounded and printable,
 * counts non-negative integers, no more items than the model holds. Any violation rejects the
 * whole file with the member's path.
 *
 * (Over 500 lines: the writer and the strict reader of one schema sit together, so a member
 * added to one is seen missing from the other in the same file.)
 */
#include "policy/inventory.h"
#include "policy/capabilities.h"
#include "policy/policy_internal.h"
#include "policy/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSON_MAX_DEPTH 8

static eg_inv_syscall_name_fn syscall_name_fn;
static eg_inv_syscall_nr_fn syscall_nr_fn;

void eg_inventory_set_syscall_names(eg_inv_syscall_name_fn name, eg_inv_syscall_nr_fn nr)
{
    syscall_name_fn = name;
    syscall_nr_fn = nr;
}

const char *eg_inv_syscall_name(int nr, char *buf, size_t len)
{
    if (syscall_name_fn)
        return syscall_name_fn(nr);
    snprintf(buf, len, "syscall_%d", nr);
    return buf;
}

static int syscall_nr(const char *name)
{
    if (strncmp(name, "syscall_", 8) == 0) {
        char *end;
        errno = 0;
        long v = strtol(name + 8, &end, 10);
        return (*end || errno || v < 0 || v > INT16_MAX) ? -1 : (int)v;
    }
    return syscall_nr_fn ? syscall_nr_fn(name) : -1;
}

/* ---- writing ------------------------------------------------------------------------------ */

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
    json_object_object_add(o, k, json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v));
}

static struct json_object *use_json(const struct eg_inv_cap_use *u)
{
    struct json_object *o = json_object_new_object();
    add_u64(o, "count", u->count);
    add_u64(o, "firstSeenMs", u->first_ms);
    add_u64(o, "lastSeenMs", u->last_ms);
    struct json_object *sys = json_object_new_array();
    char buf[32];
    for (int i = 0; i < EG_INV_MAX_SYSCALLS && u->syscalls[i] >= 0; i++)
        json_object_array_add(
            sys, json_object_new_string(eg_inv_syscall_name(u->syscalls[i], buf, sizeof(buf))));
    json_object_object_add(o, "syscalls", sys);
    if (u->syscalls_truncated)
        add_u64(o, "syscallsTruncated", u->syscalls_truncated);
    return o;
}

static struct json_object *caps_json(const struct eg_inv_entry *e)
{
    struct json_object *arr = json_object_new_array();
    for (int c = 0; c < EG_INV_CAPS; c++) {
        const struct eg_inv_cap *k = &e->caps[c];
        if (!k->used.count && !k->namespaced.count && !k->denied.count)
            continue;
        const char *name = eg_capability_name(c);
        char fallback[16];
        if (!name) {
            snprintf(fallback, sizeof(fallback), "CAP_%d", c);
            name = fallback;
        }
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(name));
        if (k->used.count)
            json_object_object_add(o, "used", use_json(&k->used));
        if (k->namespaced.count)
            json_object_object_add(o, "usedInCreatedUserNamespace", use_json(&k->namespaced));
        if (k->denied.count)
            json_object_object_add(o, "denied", use_json(&k->denied));
        json_object_array_add(arr, o);
    }
    return arr;
}

static struct json_object *cap_names(uint64_t mask)
{
    struct json_object *arr = json_object_new_array();
    for (int c = 0; c <= EG_CAP_LAST; c++)
        if (mask & (1ULL << c))
            json_object_array_add(arr, json_object_new_string(eg_capability_name(c)));
    return arr;
}

static struct json_object *entry_json(const struct eg_inv_entry *e)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "family", json_object_new_string(e->family));
    json_object_object_add(o, "revision", json_object_new_string(e->revision));
    json_object_object_add(o, "container", json_object_new_string(e->container));
    struct json_object *obs = json_object_new_object();
    add_u64(obs, "firstMs", e->first_observed_ms);
    add_u64(obs, "lastMs", e->last_observed_ms);
    add_u64(obs, "containerSeconds", e->observed_ms / 1000);
    add_u64(obs, "tasks", e->tasks);
    struct json_object *ids = json_object_new_array();
    for (unsigned i = 0; i < e->n_task_ids; i++)
        json_object_array_add(ids, json_object_new_string(e->task_ids[i]));
    json_object_object_add(obs, "recentTaskIds", ids);
    json_object_object_add(obs, "watchedCapabilities", cap_names(e->watched_caps));
    json_object_object_add(o, "observation", obs);
    json_object_object_add(o, "capabilities", caps_json(e));

    struct json_object *w = json_object_new_object();
    add_u64(w, "total", e->writes);
    add_u64(w, "repeatsWithoutPath", e->writes_unplaced);
    add_u64(w, "unresolvedPaths", e->writes_unresolved);
    add_u64(w, "directoriesTruncated", e->dirs_truncated);
    struct json_object *dirs = json_object_new_array();
    for (unsigned i = 0; i < e->n_dirs; i++) {
        struct json_object *d = json_object_new_object();
        json_object_object_add(d, "path", json_object_new_string(e->dirs[i].path));
        add_u64(d, "count", e->dirs[i].count);
        add_u64(d, "firstSeenMs", e->dirs[i].first_ms);
        add_u64(d, "lastSeenMs", e->dirs[i].last_ms);
        json_object_array_add(dirs, d);
    }
    json_object_object_add(w, "directories", dirs);
    json_object_object_add(o, "rootFilesystemWrites", w);

    const struct eg_inv_hostpid *h = &e->hostpid;
    struct json_object *hp = json_object_new_object();
    json_object_object_add(hp, "shared", json_object_new_boolean(h->shared));
    add_u64(hp, "sharedFirstSeenMs", h->shared_first_ms);
    add_u64(hp, "signals", h->signals);
    add_u64(hp, "ptrace", h->ptrace);
    add_u64(hp, "procMemWrites", h->proc_mem);
    add_u64(hp, "vmWrites", h->vm_writes);
    add_u64(hp, "namespacesEntered", h->setns);
    add_u64(hp, "firstUseMs", h->first_use_ms);
    add_u64(hp, "lastUseMs", h->last_use_ms);
    json_object_object_add(o, "hostPidNamespace", hp);

    struct json_object *x = json_object_new_object();
    struct json_object *files = json_object_new_array();
    for (unsigned i = 0; i < e->n_execs; i++) {
        struct json_object *f = json_object_new_object();
        json_object_object_add(f, "path", json_object_new_string(e->execs[i].path));
        json_object_object_add(f, "how",
                               json_object_new_string(e->execs[i].library ? "mapped" : "executed"));
        add_u64(f, "count", e->execs[i].count);
        add_u64(f, "firstSeenMs", e->execs[i].first_ms);
        add_u64(f, "lastSeenMs", e->execs[i].last_ms);
        json_object_array_add(files, f);
    }
    json_object_object_add(x, "files", files);
    add_u64(x, "truncated", e->execs_truncated);
    json_object_object_add(o, "writtenFilesExecuted", x);
    return o;
}

char *eg_inventory_to_json(const struct eg_inventory *inv, const char *host, uint64_t now_ms)
{
    struct json_object *root = json_object_new_object();
    json_object_object_add(root, "schema", json_object_new_string(EG_INV_SCHEMA));
    json_object_object_add(root, "host", json_object_new_string(host ? host : ""));
    add_u64(root, "writtenMs", now_ms);
    struct json_object *lim = json_object_new_object();
    add_u64(lim, "entries", EG_INV_MAX_ENTRIES);
    add_u64(lim, "directoriesPerEntry", EG_INV_MAX_DIRS);
    add_u64(lim, "writtenFilesPerEntry", EG_INV_MAX_EXECS);
    add_u64(lim, "syscallsPerCapability", EG_INV_MAX_SYSCALLS);
    json_object_object_add(root, "limits", lim);
    add_u64(root, "entriesTruncated", inv->entries_truncated);
    add_u64(root, "unresolvedDropped", inv->unresolved_dropped);
    struct json_object *arr = json_object_new_array();
    for (unsigned i = 0; i < inv->n_entries; i++)
        json_object_array_add(arr, entry_json(&inv->entries[i]));
    json_object_object_add(root, "entries", arr);
    const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = s ? strdup(s) : NULL;
    json_object_put(root);
    return out;
}

/* ---- reading ------------------------------------------------------------------------------ */

struct reader {
    struct eg_policy_errors *errs;
    char where[160]; /* the member being read, for messages */
    bool failed;
};

static void fail(struct reader *r, const char *what)
{
    r->failed = true;
    eg_policy_error_add(r->errs, 0, 0, "%s: %s", r->where, what);
}

/* The member `k` of `o` as `type` (json_type_null: absent allowed, returns NULL). */
static struct json_object *member(struct reader *r, struct json_object *o, const char *k,
                                  json_type type, bool required)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v) || !v) {
        if (required) {
            char msg[96];
            snprintf(msg, sizeof(msg), "missing member '%s'", k);
            fail(r, msg);
        }
        return NULL;
    }
    if (!json_object_is_type(v, type)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "member '%s' is not %s", k,
                 type == json_type_int      ? "an integer"
                 : type == json_type_string ? "a string"
                 : type == json_type_array  ? "an array"
                 : type == json_type_object ? "an object"
                                            : "a boolean");
        fail(r, msg);
        return NULL;
    }
    return v;
}

static uint64_t get_u64(struct reader *r, struct json_object *o, const char *k)
{
    struct json_object *v = member(r, o, k, json_type_int, false);
    if (!v)
        return 0;
    errno = 0;
    int64_t n = json_object_get_int64(v);
    /* json-c clamps what overflows; nothing the agent counts comes near 2^53 (exact in every
     * JSON reader). */
    if (n < 0 || errno || n > (1LL << 53)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "member '%s' is not a non-negative integer below 2^53", k);
        fail(r, msg);
        return 0;
    }
    return (uint64_t)n;
}

/* No control characters, and strictly well-formed UTF-8 (policy/utf8.h says why). */
static bool printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return eg_utf8_valid(s, len);
}

/* A string member into buf (bounded, printable, no NUL). */
static void get_str(struct reader *r, struct json_object *o, const char *k, char *buf,
                    size_t buflen, bool required)
{
    buf[0] = '\0';
    struct json_object *v = member(r, o, k, json_type_string, required);
    if (!v)
        return;
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len >= buflen || strlen(s) != len || !printable(s, len)) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "member '%s' is longer than %zu bytes or holds control characters or invalid "
                 "UTF-8",
                 k, buflen - 1);
        fail(r, msg);
        return;
    }
    memcpy(buf, s, len + 1);
}

static void read_use(struct reader *r, struct json_object *o, struct eg_inv_cap_use *u)
{
    u->count = get_u64(r, o, "count");
    u->first_ms = get_u64(r, o, "firstSeenMs");
    u->last_ms = get_u64(r, o, "lastSeenMs");
    u->syscalls_truncated = (uint32_t)get_u64(r, o, "syscallsTruncated");
    struct json_object *sys = member(r, o, "syscalls", json_type_array, false);
    size_t n = sys ? json_object_array_length(sys) : 0;
    if (n > EG_INV_MAX_SYSCALLS) {
        fail(r, "more syscalls than the inventory keeps");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(sys, i);
        int nr =
            json_object_is_type(s, json_type_string) ? syscall_nr(json_object_get_string(s)) : -1;
        if (nr < 0) {
            fail(r, "a syscall is not a known system call name");
            return;
        }
        u->syscalls[i] = (int16_t)nr;
    }
}

static void read_caps(struct reader *r, struct json_object *arr, struct eg_inv_entry *e)
{
    size_t n = json_object_array_length(arr);
    if (n > EG_INV_CAPS) {
        fail(r, "more capabilities than exist");
        return;
    }
    for (size_t i = 0; i < n && !r->failed; i++) {
        struct json_object *o = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(o, json_type_object)) {
            fail(r, "a capability is not an object");
            return;
        }
        char name[32];
        get_str(r, o, "name", name, sizeof(name), true);
        int cap = r->failed ? -1 : eg_capability_by_name(name, strlen(name));
        if (cap < 0 || cap >= EG_INV_CAPS) {
            if (!r->failed)
                fail(r, "unknown capability name");
            return;
        }
        struct json_object *u;
        if ((u = member(r, o, "used", json_type_object, false)))
            read_use(r, u, &e->caps[cap].used);
        if ((u = member(r, o, "usedInCreatedUserNamespace", json_type_object, false)))
            read_use(r, u, &e->caps[cap].namespaced);
        if ((u = member(r, o, "denied", json_type_object, false)))
            read_use(r, u, &e->caps[cap].denied);
    }
}

static uint64_t read_cap_mask(struct reader *r, struct json_object *arr)
{
    uint64_t mask = 0;
    size_t n = json_object_array_length(arr);
    if (n > EG_INV_CAPS) {
        fail(r, "more watched capabilities than exist");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(arr, i);
        int cap = -1;
        if (json_object_is_type(s, json_type_string))
            cap = eg_capability_by_name(json_object_get_string(s),
                                        (size_t)json_object_get_string_len(s));
        if (cap < 0 || cap >= EG_INV_CAPS) {
            fail(r, "a watched capability is not a capability name");
            return 0;
        }
        mask |= 1ULL << cap;
    }
    return mask;
}

/* Absolute, and no "." or ".." component: a mount point advice can name. */
static bool absolute_path(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const char *c = p; *c;) {
        while (*c == '/')
            c++;
        size_t n = strcspn(c, "/");
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c += n;
    }
    return true;
}

static void read_writes(struct reader *r, struct json_object *w, struct eg_inv_entry *e)
{
    e->writes = get_u64(r, w, "total");
    e->writes_unplaced = get_u64(r, w, "repeatsWithoutPath");
    e->writes_unresolved = get_u64(r, w, "unresolvedPaths");
    e->dirs_truncated = get_u64(r, w, "directoriesTruncated");
    struct json_object *dirs = member(r, w, "directories", json_type_array, false);
    size_t n = dirs ? json_object_array_length(dirs) : 0;
    if (n > EG_INV_MAX_DIRS) {
        fail(r, "more directories than the inventory keeps");
        return;
    }
    for (size_t i = 0; i < n && !r->failed; i++) {
        struct json_object *d = json_object_array_get_idx(dirs, i);
        if (!json_object_is_type(d, json_type_object)) {
            fail(r, "a directory is not an object");
            return;
        }
        struct eg_inv_dir *x = &e->dirs[e->n_dirs];
        get_str(r, d, "path", x->path, sizeof(x->path), true);
        if (!r->failed && !absolute_path(x->path)) {
            fail(r, "a directory path is not absolute or climbs with '..'");
            return;
        }
        for (unsigned j = 0; j < e->n_dirs && !r->failed; j++)
            if (strcmp(e->dirs[j].path, x->path) == 0)
                fail(r, "a directory is listed twice");
        x->count = get_u64(r, d, "count");
        x->first_ms = get_u64(r, d, "firstSeenMs");
        x->last_ms = get_u64(r, d, "lastSeenMs");
        e->n_dirs++;
    }
}

static void read_hostpid(struct reader *r, struct json_object *o, struct eg_inv_entry *e)
{
    struct eg_inv_hostpid *h = &e->hostpid;
    struct json_object *s = member(r, o, "shared", json_type_boolean, false);
    h->shared = s && json_object_get_boolean(s);
    h->shared_first_ms = get_u64(r, o, "sharedFirstSeenMs");
    h->signals = get_u64(r, o, "signals");
    h->ptrace = get_u64(r, o, "ptrace");
    h->proc_mem = get_u64(r, o, "procMemWrites");
    h->vm_writes = get_u64(r, o, "vmWrites");
    h->setns = get_u64(r, o, "namespacesEntered");
    h->first_use_ms = get_u64(r, o, "firstUseMs");
    h->last_use_ms = get_u64(r, o, "lastUseMs");
}

static void read_execs(struct reader *r, struct json_object *o, struct eg_inv_entry *e)
{
    e->execs_truncated = get_u64(r, o, "truncated");
    struct json_object *files = member(r, o, "files", json_type_array, false);
    size_t n = files ? json_object_array_length(files) : 0;
    if (n > EG_INV_MAX_EXECS) {
        fail(r, "more executed files than the inventory keeps");
        return;
    }
    for (size_t i = 0; i < n && !r->failed; i++) {
        struct json_object *f = json_object_array_get_idx(files, i);
        if (!json_object_is_type(f, json_type_object)) {
            fail(r, "an executed file is not an object");
            return;
        }
        struct eg_inv_exec *x = &e->execs[e->n_execs];
        char how[16];
        get_str(r, f, "path", x->path, sizeof(x->path), true);
        get_str(r, f, "how", how, sizeof(how), true);
        if (r->failed)
            return;
        if (strcmp(how, "mapped") != 0 && strcmp(how, "executed") != 0) {
            fail(r, "'how' is neither 'executed' nor 'mapped'");
            return;
        }
        x->library = how[0] == 'm';
        x->count = get_u64(r, f, "count");
        x->first_ms = get_u64(r, f, "firstSeenMs");
        x->last_ms = get_u64(r, f, "lastSeenMs");
        e->n_execs++;
    }
}

static void read_entry(struct reader *r, struct json_object *o, struct eg_inv_entry *e)
{
    char family[EG_INV_NAME_MAX + 1], revision[EG_INV_REVISION_MAX + 1],
        container[EG_INV_NAME_MAX + 1];
    get_str(r, o, "family", family, sizeof(family), true);
    get_str(r, o, "revision", revision, sizeof(revision), true);
    get_str(r, o, "container", container, sizeof(container), true);
    if (r->failed)
        return;
    if (!family[0] || !container[0]) {
        fail(r, "an empty family or container name");
        return;
    }
    eg_inv_entry_init(e, family, revision, container);
    struct json_object *obs = member(r, o, "observation", json_type_object, true);
    if (obs) {
        e->first_observed_ms = get_u64(r, obs, "firstMs");
        e->last_observed_ms = get_u64(r, obs, "lastMs");
        e->observed_ms = get_u64(r, obs, "containerSeconds") * 1000;
        e->tasks = get_u64(r, obs, "tasks");
        if (e->last_observed_ms < e->first_observed_ms)
            fail(r, "observation ends before it starts");
        struct json_object *ids = member(r, obs, "recentTaskIds", json_type_array, false);
        size_t n = ids ? json_object_array_length(ids) : 0;
        if (n > EG_INV_MAX_TASK_IDS || n > e->tasks) {
            fail(r, "more recent task ids than the inventory keeps or than tasks");
            return;
        }
        for (size_t i = 0; i < n && !r->failed; i++) {
            struct json_object *s = json_object_array_get_idx(ids, i);
            size_t len = json_object_is_type(s, json_type_string)
                             ? (size_t)json_object_get_string_len(s)
                             : 0;
            if (!len || len > EG_INV_TASK_ID_MAX || !printable(json_object_get_string(s), len)) {
                fail(r, "a recent task id is not a task id");
                return;
            }
            memcpy(e->task_ids[i], json_object_get_string(s), len + 1);
            e->n_task_ids++;
        }
        struct json_object *w = member(r, obs, "watchedCapabilities", json_type_array, true);
        e->watched_caps = w ? read_cap_mask(r, w) : 0;
    }
    struct json_object *v;
    if ((v = member(r, o, "capabilities", json_type_array, false)))
        read_caps(r, v, e);
    if ((v = member(r, o, "rootFilesystemWrites", json_type_object, false)))
        read_writes(r, v, e);
    if ((v = member(r, o, "hostPidNamespace", json_type_object, false)))
        read_hostpid(r, v, e);
    if ((v = member(r, o, "writtenFilesExecuted", json_type_object, false)))
        read_execs(r, v, e);
}

int eg_inventory_parse(const char *text, size_t len, struct eg_inventory *inv,
                       struct eg_policy_errors *errs)
{
    memset(errs, 0, sizeof(*errs));
    eg_inventory_reset(inv);
    struct reader r = {.errs = errs};
    snprintf(r.where, sizeof(r.where), "inventory");
    if (len > EG_INV_MAX_FILE_BYTES || len > INT32_MAX) {
        fail(&r, "larger than the inventory can be");
        return -1;
    }
    if (memchr(text, '\0', len)) {
        fail(&r, "holds a NUL byte");
        return -1;
    }
    struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if (!tok) {
        fail(&r, "out of memory");
        return -1;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = (size_t)json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        char msg[160];
        snprintf(msg, sizeof(msg), "not JSON (%s, at byte %zu)",
                 jerr == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(jerr),
                 used);
        fail(&r, msg);
        json_object_put(root);
        return -1;
    }
    for (size_t i = used; i < len; i++)
        if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r') {
            fail(&r, "trailing bytes after the JSON document");
            json_object_put(root);
            return -1;
        }
    if (!json_object_is_type(root, json_type_object)) {
        fail(&r, "the document is not an object");
        json_object_put(root);
        return -1;
    }
    char schema[64];
    get_str(&r, root, "schema", schema, sizeof(schema), true);
    if (!r.failed && strcmp(schema, EG_INV_SCHEMA) != 0)
        fail(&r, "unknown schema (expected \"" EG_INV_SCHEMA "\")");
    inv->written_ms = get_u64(&r, root, "writtenMs");
    inv->entries_truncated = get_u64(&r, root, "entriesTruncated");
    inv->unresolved_dropped = get_u64(&r, root, "unresolvedDropped");
    struct json_object *arr = r.failed ? NULL : member(&r, root, "entries", json_type_array, true);
    size_t n = arr ? json_object_array_length(arr) : 0;
    if (n > EG_INV_MAX_ENTRIES)
        fail(&r, "more entries than the inventory keeps");
    for (size_t i = 0; i < n && !r.failed; i++) {
        struct json_object *o = json_object_array_get_idx(arr, i);
        snprintf(r.where, sizeof(r.where), "entries[%zu]", i);
        if (!json_object_is_type(o, json_type_object)) {
            fail(&r, "not an object");
            break;
        }
        struct eg_inv_entry *e = &inv->entries[inv->n_entries];
        read_entry(&r, o, e);
        if (r.failed)
            break;
        for (unsigned j = 0; j < inv->n_entries; j++) {
            const struct eg_inv_entry *p = &inv->entries[j];
            if (strcmp(p->family, e->family) == 0 && strcmp(p->revision, e->revision) == 0 &&
                strcmp(p->container, e->container) == 0) {
                fail(&r, "the same family, revision and container as an earlier entry");
                break;
            }
        }
        inv->n_entries++;
    }
    json_object_put(root);
    if (r.failed) {
        eg_inventory_reset(inv);
        return -1;
    }
    return 0;
}

int eg_inventory_load_file(const char *path, struct eg_inventory *inv,
                           struct eg_policy_errors *errs)
{
    memset(errs, 0, sizeof(*errs));
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        eg_policy_error_add(errs, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > EG_INV_MAX_FILE_BYTES) {
        eg_policy_error_add(errs, 0, 0, "not a regular file of at most %u bytes",
                            EG_INV_MAX_FILE_BYTES);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    size_t got = 0;
    while (buf && got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf || got != size) {
        eg_policy_error_add(errs, 0, 0, "cannot read: %s", buf ? "short read" : "out of memory");
        free(buf);
        return -1;
    }
    buf[size] = '\0';
    int rc = eg_inventory_parse(buf, size, inv, errs);
    free(buf);
    return rc;
}
