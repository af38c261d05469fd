/*
 * The advice rules (docs/posture.md, "ecsguard advise"): from what a definition's containers
 * were observed doing, the tightest settings that still allow it, each change with its evidence
 * and a confidence, applied to the document as read (a JSON patch, and the rewritten document).
 * The rewritten document is linted before it is returned, so the advice says which controls it
 * passes.
 *
 * (Over 500 lines: every rule reads and edits the same parsed document and evidence; split, each
 * piece would need the whole of both.)
 */
#include "policy/taskdef_advise.h"
#include "policy/capabilities.h"
#include "policy/taskdef_lint.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS (3600ull * 1000)
#define ALL_CAPS_MASK ((1ull << (EG_CAP_LAST + 1)) - 1)
#define TMPFS_SIZE_MIB 64
#define MAX_MOUNTS EG_INV_MAX_DIRS

enum confidence { CONF_LOW, CONF_MEDIUM, CONF_HIGH };
static const char *const conf_names[] = {"low", "medium", "high"};

/* Docker's default capability set (what a container has without privileged or cap lists). */
static const char *const docker_default_caps[] = {
    "CHOWN",   "DAC_OVERRIDE", "FSETID",           "FOWNER",
    "MKNOD",   "NET_RAW",      "SETGID",           "SETUID",
    "SETFCAP", "SETPCAP",      "NET_BIND_SERVICE", "SYS_CHROOT",
    "KILL",    "AUDIT_WRITE"};

/* Directories whose content is scratch by convention: a tmpfs is what they are for. */
static const char *const scratch_roots[] = {"/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm"};

struct advisor {
    const struct eg_taskdef *td;
    const struct eg_inventory *inv;
    const struct eg_advise_options *opt;
    bool pascal; /* CloudFormation: PascalCase keys */
    struct json_object *doc, *def;
    char def_ptr[600];
    struct json_object *patch, *changes, *notes;
    char key[64];
};

/* ---- the document and its patch ------------------------------------------------------------ */

/* The key as this format spells it. */
static const char *K(struct advisor *a, const char *camel)
{
    snprintf(a->key, sizeof(a->key), "%s", camel);
    if (a->pascal && a->key[0] >= 'a' && a->key[0] <= 'z')
        a->key[0] = (char)(a->key[0] - 'a' + 'A');
    return a->key;
}

/* JSON Pointer (RFC 6901) of `key` below `ptr`. */
static void ptr_join(char *out, size_t len, const char *ptr, const char *key)
{
    size_t n = (size_t)snprintf(out, len, "%s/", ptr);
    for (const char *c = key; *c && n + 3 < len; c++) {
        if (*c == '~' || *c == '/') {
            out[n++] = '~';
            out[n++] = *c == '~' ? '0' : '1';
        } else {
            out[n++] = *c;
        }
    }
    out[n < len ? n : len - 1] = '\0';
}

static void patch_op(struct advisor *a, const char *op, const char *path, struct json_object *v)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "op", json_object_new_string(op));
    json_object_object_add(o, "path", json_object_new_string(path));
    if (v) {
        struct json_object *copy = NULL;
        json_object_deep_copy(v, &copy, NULL);
        json_object_object_add(o, "value", copy);
    }
    json_object_array_add(a->patch, o);
}

/* obj[key] = val (owned), as "add" or "replace". */
static void patch_set(struct advisor *a, struct json_object *obj, const char *ptr, const char *key,
                      struct json_object *val)
{
    char path[800];
    ptr_join(path, sizeof(path), ptr, key);
    patch_op(a, json_object_object_get_ex(obj, key, NULL) ? "replace" : "add", path, val);
    json_object_object_add(obj, key, val);
}

static void patch_remove(struct advisor *a, struct json_object *obj, const char *ptr,
                         const char *key)
{
    char path[800];
    ptr_join(path, sizeof(path), ptr, key);
    patch_op(a, "remove", path, NULL);
    json_object_object_del(obj, key);
}

/* Append `val` (owned) to the list obj[key], creating the list when absent. */
static void patch_append(struct advisor *a, struct json_object *obj, const char *ptr,
                         const char *key, struct json_object *val)
{
    struct json_object *arr;
    if (!json_object_object_get_ex(obj, key, &arr) || !json_object_is_type(arr, json_type_array)) {
        struct json_object *list = json_object_new_array();
        json_object_array_add(list, val);
        patch_set(a, obj, ptr, key, list);
        return;
    }
    char path[800];
    ptr_join(path, sizeof(path), ptr, key);
    strncat(path, "/-", sizeof(path) - strlen(path) - 1);
    patch_op(a, "add", path, val);
    json_object_array_add(arr, val);
}

/* obj[key] as an object, created (and patched in) when absent. */
static struct json_object *child_object(struct advisor *a, struct json_object *obj, const char *ptr,
                                        const char *key)
{
    struct json_object *c;
    if (json_object_object_get_ex(obj, key, &c) && json_object_is_type(c, json_type_object))
        return c;
    c = json_object_new_object();
    patch_set(a, obj, ptr, key, c);
    return c;
}

/* ---- observation ----------------------------------------------------------------------------- */

/* Everything observed of one container of this definition, merged over the revisions that
 * count (the definition's own when it names one, else all of the family's). */
struct observed {
    struct eg_inv_entry m;
    unsigned entries;
    struct json_object *revisions;
};

static bool revision_counts(const struct eg_taskdef *td, const char *rev)
{
    if (td->revision.state != EG_TD_KNOWN)
        return true;
    return strlen(rev) == td->revision.len && memcmp(rev, td->revision.str, td->revision.len) == 0;
}

static void observe(const struct advisor *a, const char *name, struct observed *o)
{
    eg_inv_entry_init(&o->m, a->td->family, "", name);
    o->entries = 0;
    o->revisions = json_object_new_array();
    for (unsigned i = 0; i < a->inv->n_entries; i++) {
        const struct eg_inv_entry *e = &a->inv->entries[i];
        if (strcmp(e->family, a->td->family) != 0 || strcmp(e->container, name) != 0 ||
            !revision_counts(a->td, e->revision))
            continue;
        eg_inv_entry_merge(&o->m, e);
        o->entries++;
        json_object_array_add(o->revisions, json_object_new_string(e->revision));
    }
    if (!o->entries)
        o->m.watched_caps = 0;
}

static uint64_t span_ms(const struct eg_inv_entry *m)
{
    return m->last_observed_ms - m->first_observed_ms;
}

static enum confidence base_confidence(const struct eg_inv_entry *m)
{
    if (span_ms(m) >= 24 * HOUR_MS && m->tasks >= 3)
        return CONF_HIGH;
    if (span_ms(m) >= HOUR_MS)
        return CONF_MEDIUM;
    return CONF_LOW;
}

static struct json_object *evidence_base(const struct observed *o)
{
    struct json_object *e = json_object_new_object();
    struct json_object *revs = NULL;
    json_object_deep_copy(o->revisions, &revs, NULL);
    json_object_object_add(e, "revisions", revs);
    json_object_object_add(e, "tasks", json_object_new_int64((int64_t)o->m.tasks));
    json_object_object_add(e, "observedFromMs",
                           json_object_new_int64((int64_t)o->m.first_observed_ms));
    json_object_object_add(e, "observedToMs",
                           json_object_new_int64((int64_t)o->m.last_observed_ms));
    json_object_object_add(e, "observedSeconds",
                           json_object_new_int64((int64_t)(span_ms(&o->m) / 1000)));
    return e;
}

static void change(struct advisor *a, const char *container, const char *setting, const char *what,
                   const char *reason, enum confidence c, struct json_object *evidence)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "container", container ? json_object_new_string(container) : NULL);
    json_object_object_add(o, "setting", json_object_new_string(setting));
    json_object_object_add(o, "change", json_object_new_string(what));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    json_object_object_add(o, "confidence", json_object_new_string(conf_names[c]));
    json_object_object_add(o, "evidence", evidence);
    json_object_array_add(a->changes, o);
}

static void note(struct advisor *a, const char *container, const char *text)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "container", container ? json_object_new_string(container) : NULL);
    json_object_object_add(o, "note", json_object_new_string(text));
    json_object_array_add(a->notes, o);
}

/* ---- capabilities and privileged ------------------------------------------------------------- */

static uint64_t cap_list_mask(const struct eg_td_value *items, size_t n, bool *all, bool *unknown)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].state != EG_TD_KNOWN) {
            *unknown = true;
            continue;
        }
        if (eg_td_value_is(&items[i], "ALL") || eg_td_value_is(&items[i], "all")) {
            *all = true;
            continue;
        }
        int c = eg_capability_by_name(items[i].str, items[i].len);
        if (c >= 0 && c < 64)
            mask |= 1ull << c;
    }
    return mask;
}

/* What the container may use now, as far as the definition says (unknown: everything). */
static uint64_t current_caps(const struct eg_td_container *c, uint64_t *explicit_add)
{
    *explicit_add = 0;
    if (c->privileged.state != EG_TD_ABSENT &&
        !(c->privileged.state == EG_TD_KNOWN && !c->privileged.flag))
        return ALL_CAPS_MASK;
    uint64_t def = 0;
    for (size_t i = 0; i < sizeof(docker_default_caps) / sizeof(docker_default_caps[0]); i++)
        def |=
            1ull << eg_capability_by_name(docker_default_caps[i], strlen(docker_default_caps[i]));
    bool unknown =
        c->cap_add_list.state == EG_TD_UNKNOWN || c->cap_drop_list.state == EG_TD_UNKNOWN ||
        c->capabilities.state == EG_TD_UNKNOWN || c->linux_parameters.state == EG_TD_UNKNOWN;
    bool drop_all = false, add_all = false;
    uint64_t drop = cap_list_mask(c->cap_drop, c->ncap_drop, &drop_all, &unknown);
    uint64_t add = cap_list_mask(c->cap_add, c->ncap_add, &add_all, &unknown);
    *explicit_add = add;
    if (unknown || add_all)
        return ALL_CAPS_MASK;
    return ((drop_all ? 0 : def & ~drop) | add) & ALL_CAPS_MASK;
}

static void cap_name_short(int cap, char *buf, size_t len)
{
    const char *n = eg_capability_name(cap);
    snprintf(buf, len, "%s", n && !strncmp(n, "CAP_", 4) ? n + 4 : n ? n : "?");
}

static struct json_object *use_json(const char *name, const struct eg_inv_cap_use *u)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "capability", json_object_new_string(name));
    json_object_object_add(o, "count", json_object_new_int64((int64_t)u->count));
    json_object_object_add(o, "firstSeenMs", json_object_new_int64((int64_t)u->first_ms));
    json_object_object_add(o, "lastSeenMs", json_object_new_int64((int64_t)u->last_ms));
    struct json_object *sys = json_object_new_array();
    char buf[32];
    for (int i = 0; i < EG_INV_MAX_SYSCALLS && u->syscalls[i] >= 0; i++)
        json_object_array_add(
            sys, json_object_new_string(eg_inv_syscall_name(u->syscalls[i], buf, sizeof(buf))));
    json_object_object_add(o, "syscalls", sys);
    return o;
}

static void names_of(uint64_t mask, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int c = 0; c <= EG_CAP_LAST; c++) {
        if (!(mask & (1ull << c)))
            continue;
        char n[32];
        cap_name_short(c, n, sizeof(n));
        size_t at = strlen(buf);
        snprintf(buf + at, len - at, "%s%s", at ? ", " : "", n);
    }
}

static void advise_caps(struct advisor *a, const struct eg_td_container *c,
                        struct json_object *cobj, const char *cptr, const struct observed *o)
{
    const char *name = c->name.str;
    const struct eg_inv_entry *m = &o->m;
    enum confidence conf = base_confidence(m);
    uint64_t explicit_add;
    uint64_t current = current_caps(c, &explicit_add);
    uint64_t watched = m->watched_caps & ALL_CAPS_MASK;
    uint64_t used = 0, denied = 0;
    for (int k = 0; k <= EG_CAP_LAST; k++) {
        if (m->caps[k].used.count)
            used |= 1ull << k;
        if (m->caps[k].denied.count && !m->caps[k].used.count)
            denied |= 1ull << k;
    }
    /* What was not watched cannot be judged: the container keeps what it had of it. */
    uint64_t kept_unwatched = current & ~watched & ~used;
    uint64_t add = used | kept_unwatched;
    bool privileged = c->privileged.state == EG_TD_KNOWN && c->privileged.flag;

    bool drop_all = false, unknown = false;
    cap_list_mask(c->cap_drop, c->ncap_drop, &drop_all, &unknown);
    bool same = !privileged && drop_all && !unknown && explicit_add == add &&
                c->cap_add_list.state != EG_TD_UNKNOWN;
    char buf[600], reason[1200];
    if (!same) {
        struct json_object *lp = child_object(a, cobj, cptr, K(a, "linuxParameters"));
        char lptr[700];
        ptr_join(lptr, sizeof(lptr), cptr, K(a, "linuxParameters"));
        struct json_object *caps = json_object_new_object();
        struct json_object *drop = json_object_new_array();
        json_object_array_add(drop, json_object_new_string("ALL"));
        json_object_object_add(caps, K(a, "drop"), drop);
        struct json_object *addl = json_object_new_array();
        for (int k = 0; k <= EG_CAP_LAST; k++) {
            if (!(add & (1ull << k)))
                continue;
            char n[32];
            cap_name_short(k, n, sizeof(n));
            json_object_array_add(addl, json_object_new_string(n));
        }
        json_object_object_add(caps, K(a, "add"), addl);
        patch_set(a, lp, lptr, K(a, "capabilities"), caps);

        struct json_object *ev = evidence_base(o);
        struct json_object *uses = json_object_new_array();
        for (int k = 0; k <= EG_CAP_LAST; k++)
            if (used & (1ull << k))
                json_object_array_add(uses, use_json(eg_capability_name(k), &m->caps[k].used));
        json_object_object_add(ev, "used", uses);
        struct json_object *unused = json_object_new_array();
        for (int k = 0; k <= EG_CAP_LAST; k++)
            if ((current & watched & ~used) & (1ull << k))
                json_object_array_add(unused, json_object_new_string(eg_capability_name(k)));
        json_object_object_add(ev, "watchedAndNeverUsed", unused);
        struct json_object *wl = json_object_new_array();
        for (int k = 0; k <= EG_CAP_LAST; k++)
            if (watched & (1ull << k))
                json_object_array_add(wl, json_object_new_string(eg_capability_name(k)));
        json_object_object_add(ev, "watchedCapabilities", wl);
        names_of(used, buf, sizeof(buf));
        snprintf(reason, sizeof(reason),
                 "%s: only %s used over the observation; every other watched capability it had "
                 "was never used",
                 used ? "capabilities used" : "no capability used", used ? buf : "none");
        if (kept_unwatched) {
            names_of(kept_unwatched, buf, sizeof(buf));
            size_t at = strlen(reason);
            snprintf(reason + at, sizeof(reason) - at,
                     "; kept because they were not watched (run the agent with --watch-caps "
                     "naming them to judge them): %s",
                     buf);
        }
        names_of(add, buf, sizeof(buf));
        char what[700];
        snprintf(what, sizeof(what), "capabilities: drop ALL, add [%s]", buf);
        change(a, name, "linuxParameters.capabilities", what, reason, conf, ev);
    }
    for (int k = 0; k <= EG_CAP_LAST; k++) {
        if (!(denied & (1ull << k)))
            continue;
        char n[32], sys[128] = "", t[400];
        cap_name_short(k, n, sizeof(n));
        const struct eg_inv_cap_use *u = &m->caps[k].denied;
        for (int i = 0; i < EG_INV_MAX_SYSCALLS && u->syscalls[i] >= 0; i++) {
            char b[32];
            size_t at = strlen(sys);
            snprintf(sys + at, sizeof(sys) - at, "%s%s", at ? ", " : "",
                     eg_inv_syscall_name(u->syscalls[i], b, sizeof(b)));
        }
        snprintf(t, sizeof(t),
                 "%s was attempted %llu times (%s) and refused; not added: the workload ran "
                 "without it. Add it only if those calls must succeed.",
                 n, (unsigned long long)u->count, sys[0] ? sys : "syscall unknown");
        note(a, name, t);
    }
    if (privileged) {
        patch_remove(a, cobj, cptr, K(a, "privileged"));
        struct json_object *ev = evidence_base(o);
        names_of(used, buf, sizeof(buf));
        json_object_object_add(ev, "capabilitiesUsed", json_object_new_string(buf));
        snprintf(reason, sizeof(reason),
                 "privileged grants every capability, every host device and no seccomp or LSM "
                 "confinement; the capabilities observed (%s) are the whole need, granted "
                 "above",
                 used ? buf : "none");
        change(a, name, "privileged", "remove privileged", reason,
               watched == ALL_CAPS_MASK ? conf : (conf > CONF_MEDIUM ? CONF_MEDIUM : conf), ev);
        note(a, name,
             "privileged also exposed every host device and /sys read-write; the inventory does "
             "not watch device use: a container that opens host devices needs them mapped with "
             "linuxParameters.devices");
    }
}

/* ---- read-only root filesystem -------------------------------------------------------------- */

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (!strcmp(dir, "/"))
        return true;
    return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

struct mount_plan {
    char path[EG_INV_PATH_MAX];
    bool tmpfs;
    uint64_t count, first_ms, last_ms;
};

static const char *scratch_root_of(const char *dir)
{
    for (size_t i = 0; i < sizeof(scratch_roots) / sizeof(scratch_roots[0]); i++)
        if (under(dir, scratch_roots[i]))
            return scratch_roots[i];
    return NULL;
}

/* Mount points the container already has (volumes and tmpfs): writes there are not rootfs. */
static size_t existing_mounts(struct advisor *a, const struct eg_td_container *c,
                              struct json_object *cobj, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nmounts && n < max; i++)
        if (c->mounts[i].container_path.state == EG_TD_KNOWN)
            out[n++] = c->mounts[i].container_path.str;
    struct json_object *lp, *tmpfs;
    if (json_object_object_get_ex(cobj, K(a, "linuxParameters"), &lp) &&
        json_object_object_get_ex(lp, K(a, "tmpfs"), &tmpfs) &&
        json_object_is_type(tmpfs, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(tmpfs) && n < max; i++) {
            struct json_object *t = json_object_array_get_idx(tmpfs, i), *p;
            if (json_object_object_get_ex(t, K(a, "containerPath"), &p) &&
                json_object_is_type(p, json_type_string))
                out[n++] = json_object_get_string(p);
        }
    }
    return n;
}

/* A volume name from a path: "/var/cache/app" is "var-cache-app", unique in the definition. */
static void volume_name(struct advisor *a, const char *path, char *out, size_t len)
{
    char base[200];
    size_t n = 0;
    for (const char *p = path; *p && n + 1 < sizeof(base); p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok && (n == 0 || base[n - 1] == '-'))
            continue;
        base[n++] = ok ? ch : '-';
    }
    while (n && base[n - 1] == '-')
        n--;
    base[n] = '\0';
    if (!n)
        snprintf(base, sizeof(base), "data");
    struct json_object *vols = NULL;
    json_object_object_get_ex(a->def, K(a, "volumes"), &vols);
    for (int k = 1;; k++) {
        if (k == 1)
            snprintf(out, len, "%s", base);
        else
            snprintf(out, len, "%s-%d", base, k);
        bool taken = false;
        for (size_t i = 0; vols && json_object_is_type(vols, json_type_array) &&
                           i < json_object_array_length(vols);
             i++) {
            struct json_object *v = json_object_array_get_idx(vols, i), *nm;
            if (json_object_object_get_ex(v, K(a, "name"), &nm) &&
                json_object_is_type(nm, json_type_string) &&
                !strcmp(json_object_get_string(nm), out))
                taken = true;
        }
        if (!taken)
            return;
    }
}

static void advise_rootfs(struct advisor *a, const struct eg_td_container *c,
                          struct json_object *cobj, const char *cptr, const struct observed *o)
{
    const char *name = c->name.str;
    const struct eg_inv_entry *m = &o->m;
    if (c->readonly_root.state == EG_TD_KNOWN && c->readonly_root.flag)
        return;
    const char *have[64];
    size_t nhave = existing_mounts(a, c, cobj, have, 64);
    struct mount_plan plan[MAX_MOUNTS];
    size_t nplan = 0;
    bool root_dir = false;
    for (unsigned i = 0; i < m->n_dirs; i++) {
        const struct eg_inv_dir *d = &m->dirs[i];
        bool covered = false;
        for (size_t k = 0; k < nhave; k++)
            covered = covered || under(d->path, have[k]);
        if (covered)
            continue;
        if (!strcmp(d->path, "/")) {
            root_dir = true;
            continue;
        }
        const char *scratch = scratch_root_of(d->path);
        const char *mp = scratch ? scratch : d->path;
        size_t k = 0;
        while (k < nplan && strcmp(plan[k].path, mp) != 0)
            k++;
        if (k == nplan) {
            snprintf(plan[k].path, sizeof(plan[k].path), "%s", mp);
            plan[k].tmpfs = scratch != NULL;
            plan[k].count = 0;
            plan[k].first_ms = d->first_ms;
            plan[k].last_ms = d->last_ms;
            nplan++;
        }
        plan[k].count += d->count;
        if (d->first_ms < plan[k].first_ms)
            plan[k].first_ms = d->first_ms;
        if (d->last_ms > plan[k].last_ms)
            plan[k].last_ms = d->last_ms;
    }
    /* One mount covers every directory below it. */
    for (size_t i = 0; i < nplan; i++) {
        for (size_t k = 0; k < nplan; k++) {
            if (i == k || !plan[k].path[0] || !plan[i].path[0] ||
                !under(plan[i].path, plan[k].path))
                continue;
            plan[k].count += plan[i].count;
            plan[i].path[0] = '\0';
            break;
        }
    }
    char t[600];
    if (root_dir || m->writes_unresolved || m->dirs_truncated) {
        snprintf(t, sizeof(t),
                 "readonlyRootFilesystem not proposed: %s; a read-only root would break those "
                 "writes",
                 root_dir ? "files were written directly in '/', where no mount can go"
                 : m->writes_unresolved
                     ? "some writes had no resolvable path, so their directory is unknown"
                     : "more directories were written than the inventory keeps");
        note(a, name, t);
        return;
    }
    enum confidence conf = base_confidence(m);
    patch_set(a, cobj, cptr, K(a, "readonlyRootFilesystem"), json_object_new_boolean(1));
    struct json_object *ev = evidence_base(o);
    json_object_object_add(ev, "rootFilesystemWrites", json_object_new_int64((int64_t)m->writes));
    struct json_object *dirs = json_object_new_array();
    for (unsigned i = 0; i < m->n_dirs; i++) {
        struct json_object *d = json_object_new_object();
        json_object_object_add(d, "path", json_object_new_string(m->dirs[i].path));
        json_object_object_add(d, "count", json_object_new_int64((int64_t)m->dirs[i].count));
        json_object_object_add(d, "firstSeenMs",
                               json_object_new_int64((int64_t)m->dirs[i].first_ms));
        json_object_object_add(d, "lastSeenMs", json_object_new_int64((int64_t)m->dirs[i].last_ms));
        json_object_array_add(dirs, d);
    }
    json_object_object_add(ev, "directoriesWritten", dirs);
    unsigned nmounts = 0;
    for (size_t i = 0; i < nplan; i++)
        nmounts += plan[i].path[0] != '\0';
    snprintf(t, sizeof(t),
             "%llu writes to the root filesystem, all in %u director%s given %s below: nothing "
             "else of the image was written",
             (unsigned long long)m->writes, nmounts, nmounts == 1 ? "y" : "ies",
             nmounts == 1 ? "its own mount" : "mounts of their own");
    change(a, name, "readonlyRootFilesystem", "readonlyRootFilesystem: true",
           m->writes ? t : "no write to the root filesystem was observed", conf, ev);

    for (size_t i = 0; i < nplan; i++) {
        const struct mount_plan *p = &plan[i];
        if (!p->path[0])
            continue;
        struct json_object *pev = json_object_new_object();
        json_object_object_add(pev, "path", json_object_new_string(p->path));
        json_object_object_add(pev, "writes", json_object_new_int64((int64_t)p->count));
        json_object_object_add(pev, "firstSeenMs", json_object_new_int64((int64_t)p->first_ms));
        json_object_object_add(pev, "lastSeenMs", json_object_new_int64((int64_t)p->last_ms));
        char what[420], why[700];
        if (p->tmpfs) {
            struct json_object *lp = child_object(a, cobj, cptr, K(a, "linuxParameters"));
            char lptr[700];
            ptr_join(lptr, sizeof(lptr), cptr, K(a, "linuxParameters"));
            struct json_object *tm = json_object_new_object();
            json_object_object_add(tm, K(a, "containerPath"), json_object_new_string(p->path));
            json_object_object_add(tm, K(a, "size"), json_object_new_int(TMPFS_SIZE_MIB));
            patch_append(a, lp, lptr, K(a, "tmpfs"), tm);
            snprintf(what, sizeof(what), "tmpfs at %.255s (%d MiB)", p->path, TMPFS_SIZE_MIB);
            snprintf(why, sizeof(why),
                     "%.255s is scratch space by convention: memory-backed, gone with the task; "
                     "size is a starting point (tmpfs needs the EC2 launch type)",
                     p->path);
        } else {
            char vname[220];
            volume_name(a, p->path, vname, sizeof(vname));
            struct json_object *vol = json_object_new_object();
            json_object_object_add(vol, K(a, "name"), json_object_new_string(vname));
            patch_append(a, a->def, a->def_ptr, K(a, "volumes"), vol);
            struct json_object *mp = json_object_new_object();
            json_object_object_add(mp, K(a, "sourceVolume"), json_object_new_string(vname));
            json_object_object_add(mp, K(a, "containerPath"), json_object_new_string(p->path));
            json_object_object_add(mp, K(a, "readOnly"), json_object_new_boolean(0));
            patch_append(a, cobj, cptr, K(a, "mountPoints"), mp);
            snprintf(what, sizeof(what), "volume '%.140s' mounted at %.255s", vname, p->path);
            snprintf(why, sizeof(why),
                     "%.255s holds data the application writes (not a scratch directory): a task "
                     "volume keeps it for the task's life; the mount hides what the image has "
                     "there",
                     p->path);
        }
        change(a, name, p->tmpfs ? "linuxParameters.tmpfs" : "mountPoints", what, why, conf, pev);
    }
}

/* ---- pidMode --------------------------------------------------------------------------------- */

static void advise_pid_mode(struct advisor *a, struct observed *obs, size_t nobs)
{
    const struct eg_taskdef *td = a->td;
    if (td->pid_mode.state != EG_TD_KNOWN ||
        !(eg_td_value_is(&td->pid_mode, "host") || eg_td_value_is(&td->pid_mode, "shared")))
        return;
    uint64_t uses = 0;
    bool all_observed = nobs == td->ncontainers;
    bool shared = false;
    struct json_object *ev = json_object_new_object();
    struct json_object *per = json_object_new_array();
    enum confidence conf = CONF_HIGH;
    for (size_t i = 0; i < nobs; i++) {
        const struct eg_inv_hostpid *h = &obs[i].m.hostpid;
        if (!obs[i].entries)
            all_observed = false;
        uint64_t u = h->signals + h->ptrace + h->proc_mem + h->vm_writes + h->setns;
        uses += u;
        shared = shared || h->shared;
        enum confidence c = base_confidence(&obs[i].m);
        if (obs[i].entries && c < conf)
            conf = c;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "container", json_object_new_string(obs[i].m.container));
        json_object_object_add(o, "sharedHostPidNamespace", json_object_new_boolean(h->shared));
        json_object_object_add(o, "signals", json_object_new_int64((int64_t)h->signals));
        json_object_object_add(o, "ptrace", json_object_new_int64((int64_t)h->ptrace));
        json_object_object_add(o, "procMemWrites", json_object_new_int64((int64_t)h->proc_mem));
        json_object_object_add(o, "vmWrites", json_object_new_int64((int64_t)h->vm_writes));
        json_object_object_add(o, "namespacesEntered", json_object_new_int64((int64_t)h->setns));
        json_object_array_add(per, o);
    }
    json_object_object_add(ev, "containers", per);
    if (!all_observed) {
        note(a, NULL, "pidMode kept: not every container of the definition was observed");
        json_object_put(ev);
        return;
    }
    if (uses) {
        char t[300];
        snprintf(t, sizeof(t),
                 "pidMode kept: containers used the host PID namespace %llu times (signals, "
                 "ptrace, /proc/PID/mem, process_vm_writev or setns at processes outside the task)",
                 (unsigned long long)uses);
        note(a, NULL, t);
        json_object_put(ev);
        return;
    }
    patch_remove(a, a->def, a->def_ptr, K(a, "pidMode"));
    change(a, NULL, "pidMode", "remove pidMode",
           shared ? "the containers shared the host PID namespace and never used it: no signal, "
                    "ptrace, memory write or namespace entry reached a process outside the task"
                  : "no use of the host PID namespace was observed",
           conf, ev);
}

/* ---- the whole definition ------------------------------------------------------------------- */

/* The definition's object in the document and its JSON pointer. */
static struct json_object *locate(struct advisor *a, const struct eg_taskdef_file *f)
{
    struct json_object *o = NULL;
    switch (f->format) {
    case EG_TD_FORMAT_REGISTER:
        a->def_ptr[0] = '\0';
        return a->doc;
    case EG_TD_FORMAT_DESCRIBE: {
        const char *k = a->td->kind == EG_TD_DAEMON ? "daemonTaskDefinition" : "taskDefinition";
        ptr_join(a->def_ptr, sizeof(a->def_ptr), "", k);
        return json_object_object_get_ex(a->doc, k, &o) ? o : NULL;
    }
    case EG_TD_FORMAT_CLOUDFORMATION: {
        struct json_object *res, *r;
        if (!a->td->resource || !json_object_object_get_ex(a->doc, "Resources", &res) ||
            !json_object_object_get_ex(res, a->td->resource, &r) ||
            !json_object_object_get_ex(r, "Properties", &o))
            return NULL;
        char p[600];
        ptr_join(p, sizeof(p), "", "Resources");
        ptr_join(a->def_ptr, sizeof(a->def_ptr), p, a->td->resource);
        snprintf(p, sizeof(p), "%s", a->def_ptr);
        ptr_join(a->def_ptr, sizeof(a->def_ptr), p, "Properties");
        return o;
    }
    }
    return NULL;
}

/* Lint the advised document: which controls the rewritten definition passes. */
static struct json_object *lint_advised(const struct advisor *a, size_t def)
{
    const char *text = json_object_to_json_string_ext(a->doc, JSON_C_TO_STRING_PLAIN);
    struct eg_taskdef_file f;
    struct eg_policy_errors errs;
    if (eg_taskdef_parse(text, strlen(text), &f, &errs) != 0 || def >= f.ndefs)
        return json_object_new_string("the advised document could not be read back");
    struct eg_lint_report rep = {0};
    struct json_object *o = json_object_new_object();
    if (eg_lint_taskdef(&f.defs[def], &rep) == 0)
        for (int c = 0; c < EG_LINT_CONTROL_COUNT; c++)
            json_object_object_add(o, eg_lint_controls[c].id,
                                   json_object_new_string(eg_lint_verdict_name(rep.verdicts[c])));
    eg_lint_report_free(&rep);
    eg_taskdef_file_free(&f);
    return o;
}

static struct json_object *observation_json(struct observed *obs, size_t n, uint64_t min_ms,
                                            uint64_t *span_out)
{
    uint64_t first = 0, last = 0, tasks = 0;
    struct json_object *revs = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        const struct eg_inv_entry *m = &obs[i].m;
        if (!obs[i].entries)
            continue;
        if (!first || m->first_observed_ms < first)
            first = m->first_observed_ms;
        if (m->last_observed_ms > last)
            last = m->last_observed_ms;
        if (m->tasks > tasks)
            tasks = m->tasks;
        for (size_t r = 0; r < json_object_array_length(obs[i].revisions); r++) {
            const char *rv = json_object_get_string(json_object_array_get_idx(obs[i].revisions, r));
            bool seen = false;
            for (size_t k = 0; k < json_object_array_length(revs); k++)
                seen =
                    seen || !strcmp(json_object_get_string(json_object_array_get_idx(revs, k)), rv);
            if (!seen)
                json_object_array_add(revs, json_object_new_string(rv));
        }
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "revisions", revs);
    json_object_object_add(o, "tasks", json_object_new_int64((int64_t)tasks));
    json_object_object_add(o, "firstMs", json_object_new_int64((int64_t)first));
    json_object_object_add(o, "lastMs", json_object_new_int64((int64_t)last));
    *span_out = last - first;
    json_object_object_add(o, "durationSeconds",
                           json_object_new_int64((int64_t)(*span_out / 1000)));
    json_object_object_add(o, "minimumSeconds", json_object_new_int64((int64_t)(min_ms / 1000)));
    return o;
}

enum eg_advise_status eg_advise_taskdef_in(const struct eg_taskdef_file *f, size_t def,
                                           const struct eg_inventory *inv,
                                           const struct eg_advise_options *opt,
                                           struct json_object *doc, struct json_object **out,
                                           char *err, size_t errlen)
{
    *out = NULL;
    if (def >= f->ndefs) {
        snprintf(err, errlen, "no task definition %zu in the file", def);
        return EG_ADVISE_ERROR;
    }
    struct advisor a = {.td = &f->defs[def], .inv = inv, .opt = opt};
    a.pascal = f->format == EG_TD_FORMAT_CLOUDFORMATION;
    const struct eg_taskdef *td = a.td;
    if (td->container_definitions.state != EG_TD_KNOWN) {
        snprintf(err, errlen,
                 "the container definitions are not a literal list: nothing to "
                 "rewrite");
        return EG_ADVISE_ERROR;
    }
    a.doc = doc;
    a.def = a.doc ? locate(&a, f) : NULL;
    struct json_object *clist = NULL;
    if (!a.def || !json_object_object_get_ex(a.def, K(&a, "containerDefinitions"), &clist) ||
        !json_object_is_type(clist, json_type_array) ||
        json_object_array_length(clist) != td->ncontainers) {
        snprintf(err, errlen, "the task definition could not be located in the document");
        return EG_ADVISE_ERROR;
    }
    char clist_ptr[700];
    ptr_join(clist_ptr, sizeof(clist_ptr), a.def_ptr, K(&a, "containerDefinitions"));
    a.patch = json_object_new_array();
    a.changes = json_object_new_array();
    a.notes = json_object_new_array();

    size_t n = td->ncontainers;
    struct observed *obs = calloc(n ? n : 1, sizeof(*obs));
    if (!obs) {
        snprintf(err, errlen, "out of memory");
        return EG_ADVISE_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        const struct eg_td_container *c = &td->containers[i];
        char name[EG_INV_NAME_MAX + 1] = "";
        if (c->name.state == EG_TD_KNOWN && c->name.len <= EG_INV_NAME_MAX) {
            memcpy(name, c->name.str, c->name.len);
            name[c->name.len] = '\0';
        }
        observe(&a, name, &obs[i]);
    }
    uint64_t span = 0;
    struct json_object *observation = observation_json(obs, n, opt->min_observation_ms, &span);
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any = any || obs[i].entries;
    enum eg_advise_status status = EG_ADVISE_OK;
    char t[400];
    if (!any) {
        snprintf(t, sizeof(t), "no container of family '%.255s'%s was observed: no advice",
                 td->family, td->revision.state == EG_TD_KNOWN ? " at this revision" : "");
        note(&a, NULL, t);
        status = EG_ADVISE_TOO_LITTLE;
    } else if (span < opt->min_observation_ms) {
        snprintf(t, sizeof(t),
                 "observed for %llu s, less than --min-observation (%llu s): no advice from so "
                 "little data",
                 (unsigned long long)(span / 1000),
                 (unsigned long long)(opt->min_observation_ms / 1000));
        note(&a, NULL, t);
        status = EG_ADVISE_TOO_LITTLE;
    }
    for (size_t i = 0; status == EG_ADVISE_OK && i < n; i++) {
        const struct eg_td_container *c = &td->containers[i];
        struct json_object *cobj = json_object_array_get_idx(clist, i);
        if (!obs[i].entries || c->unknown || !json_object_is_type(cobj, json_type_object)) {
            snprintf(t, sizeof(t), "container %zu was not observed: left as it is", i);
            note(&a, c->name.state == EG_TD_KNOWN ? obs[i].m.container : NULL, t);
            continue;
        }
        char cptr[720], idx[24];
        snprintf(idx, sizeof(idx), "%zu", i);
        ptr_join(cptr, sizeof(cptr), clist_ptr, idx);
        advise_caps(&a, c, cobj, cptr, &obs[i]);
        advise_rootfs(&a, c, cobj, cptr, &obs[i]);
        for (unsigned k = 0; k < obs[i].m.n_execs; k++) {
            snprintf(t, sizeof(t),
                     "%s %s after writing it (%llu times): with a read-only root it must come "
                     "from a mount, and a tmpfs there needs the 'exec' mount option",
                     obs[i].m.execs[k].library ? "maps as code" : "executes",
                     obs[i].m.execs[k].path, (unsigned long long)obs[i].m.execs[k].count);
            note(&a, obs[i].m.container, t);
        }
    }
    if (status == EG_ADVISE_OK)
        advise_pid_mode(&a, obs, n);

    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "family", json_object_new_string(td->family));
    char rev[40] = "";
    eg_td_value_quote(&td->revision, rev, sizeof(rev));
    json_object_object_add(o, "revision", rev[0] ? json_object_new_string(rev) : NULL);
    json_object_object_add(o, "format", json_object_new_string(eg_td_format_name(f->format)));
    if (td->resource)
        json_object_object_add(o, "resource", json_object_new_string(td->resource));
    json_object_object_add(
        o, "status",
        json_object_new_string(status == EG_ADVISE_OK ? "advised" : "insufficient-observation"));
    json_object_object_add(o, "observation", observation);
    json_object_object_add(o, "changes", a.changes);
    json_object_object_add(o, "notes", a.notes);
    if (status == EG_ADVISE_OK) {
        json_object_object_add(o, "patch", a.patch);
        json_object_object_add(o, "lintOfAdvised", lint_advised(&a, def));
    } else {
        json_object_put(a.patch);
    }
    for (size_t i = 0; i < n; i++)
        json_object_put(obs[i].revisions);
    free(obs);
    *out = o;
    return status;
}

enum eg_advise_status eg_advise_taskdef(const struct eg_taskdef_file *f, size_t def,
                                        const struct eg_inventory *inv,
                                        const struct eg_advise_options *opt,
                                        struct json_object **out, char *err, size_t errlen)
{
    struct json_object *doc = eg_taskdef_document_json(f);
    enum eg_advise_status st = eg_advise_taskdef_in(f, def, inv, opt, doc, out, err, errlen);
    if (st == EG_ADVISE_OK)
        json_object_object_add(*out, "advisedDocument", doc);
    else
        json_object_put(doc);
    return st;
}
