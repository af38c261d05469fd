/*
 * The behaviour inventory's model: entries keyed by family, revision and container name, and
 * the bounded records of what their containers did. JSON is inventory_json.c.
 */
#include "policy/inventory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int eg_inventory_init(struct eg_inventory *inv)
{
    memset(inv, 0, sizeof(*inv));
    inv->entries = calloc(EG_INV_MAX_ENTRIES, sizeof(*inv->entries));
    return inv->entries ? 0 : -1;
}

void eg_inventory_free(struct eg_inventory *inv)
{
    free(inv->entries);
    inv->entries = NULL;
    inv->n_entries = 0;
}

void eg_inventory_reset(struct eg_inventory *inv)
{
    inv->n_entries = 0;
    inv->entries_truncated = inv->unresolved_dropped = inv->written_ms = 0;
}

static void copy_str(char *dst, size_t dstlen, const char *src)
{
    snprintf(dst, dstlen, "%s", src ? src : "");
}

static bool plain_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x7f;
}

/*
 * Text a container or a runtime chose (names, executed paths) as the file keeps it: printable
 * ASCII, anything else '?'. The reader refuses control characters and invalid UTF-8, so a name
 * written as it came would make the agent's own file unreadable at the next start.
 */
static void copy_plain(char *dst, size_t dstlen, const char *src)
{
    copy_str(dst, dstlen, src);
    for (char *p = dst; *p; p++)
        if (!plain_byte((unsigned char)*p))
            *p = '?';
}

static void use_init(struct eg_inv_cap_use *u)
{
    memset(u, 0, sizeof(*u));
    for (int i = 0; i < EG_INV_MAX_SYSCALLS; i++)
        u->syscalls[i] = -1;
}

void eg_inv_entry_init(struct eg_inv_entry *e, const char *family, const char *revision,
                       const char *container)
{
    memset(e, 0, sizeof(*e));
    copy_plain(e->family, sizeof(e->family), family);
    copy_plain(e->revision, sizeof(e->revision), revision);
    copy_plain(e->container, sizeof(e->container), container);
    e->watched_caps = ~0ULL; /* narrowed by every observation */
    for (int c = 0; c < EG_INV_CAPS; c++) {
        use_init(&e->caps[c].used);
        use_init(&e->caps[c].namespaced);
        use_init(&e->caps[c].denied);
    }
}

struct eg_inv_entry *eg_inventory_entry(struct eg_inventory *inv, const char *family,
                                        const char *revision, const char *container)
{
    /* Compared as the file keeps them, so an entry read back is the same entry. */
    char f[EG_INV_NAME_MAX + 1], r[EG_INV_REVISION_MAX + 1], c[EG_INV_NAME_MAX + 1];
    copy_plain(f, sizeof(f), family);
    copy_plain(r, sizeof(r), revision);
    copy_plain(c, sizeof(c), container);
    for (unsigned i = 0; i < inv->n_entries; i++) {
        struct eg_inv_entry *e = &inv->entries[i];
        if (strcmp(e->family, f) == 0 && strcmp(e->revision, r) == 0 &&
            strcmp(e->container, c) == 0)
            return e;
    }
    if (inv->n_entries >= EG_INV_MAX_ENTRIES) {
        inv->entries_truncated++;
        return NULL;
    }
    struct eg_inv_entry *e = &inv->entries[inv->n_entries++];
    eg_inv_entry_init(e, family, revision, container);
    return e;
}

static void stamp(uint64_t *first, uint64_t *last, uint64_t at_ms)
{
    if (!*first || (at_ms && at_ms < *first))
        *first = at_ms;
    if (at_ms > *last)
        *last = at_ms;
}

static void use_add_syscall(struct eg_inv_cap_use *u, int nr)
{
    if (nr < 0 || nr > INT16_MAX)
        return;
    for (int i = 0; i < EG_INV_MAX_SYSCALLS; i++) {
        if (u->syscalls[i] == nr)
            return;
        if (u->syscalls[i] < 0) {
            u->syscalls[i] = (int16_t)nr;
            return;
        }
    }
    u->syscalls_truncated++;
}

static void use_add(struct eg_inv_cap_use *u, int syscall_nr, uint64_t count, uint64_t at_ms)
{
    u->count += count;
    stamp(&u->first_ms, &u->last_ms, at_ms);
    use_add_syscall(u, syscall_nr);
}

void eg_inv_note_cap(struct eg_inv_entry *e, int cap, int syscall_nr, bool granted, bool namespaced,
                     uint64_t count, uint64_t at_ms)
{
    if (cap < 0 || cap >= EG_INV_CAPS)
        return;
    struct eg_inv_cap *c = &e->caps[cap];
    use_add(!granted     ? &c->denied
            : namespaced ? &c->namespaced
                         : &c->used,
            syscall_nr, count, at_ms);
}

void eg_inv_dir_of(const char *path, char *out, size_t outlen)
{
    size_t cap = outlen < EG_INV_PATH_MAX ? outlen : EG_INV_PATH_MAX;
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n == 0) {
        copy_str(out, outlen, "/");
        return;
    }
    /* Too long: cut at the last '/' that fits, a directory still above the file. */
    if (n >= cap) {
        n = cap - 1;
        while (n > 1 && path[n] != '/')
            n--;
        if (n <= 1) {
            copy_str(out, outlen, "/");
            return;
        }
    }
    memcpy(out, path, n);
    out[n] = '\0';
    /*
     * A directory whose name is not printable ASCII (a container picks its file names) is
     * recorded as the parent of the first such component: still a directory above the write, so
     * a mount there covers it, and a name the file can hold as it is.
     */
    for (size_t i = 1; i < n; i++) {
        if (plain_byte((unsigned char)out[i]))
            continue;
        while (i > 0 && out[i] != '/')
            i--;
        out[i ? i : 1] = '\0';
        break;
    }
}

void eg_inv_note_write(struct eg_inv_entry *e, const char *path, uint64_t count, uint64_t at_ms)
{
    e->writes += count;
    if (!path) {
        e->writes_unplaced += count;
        return;
    }
    if (path[0] != '/') {
        e->writes_unresolved += count;
        return;
    }
    char dir[EG_INV_PATH_MAX];
    eg_inv_dir_of(path, dir, sizeof(dir));
    for (unsigned i = 0; i < e->n_dirs; i++) {
        if (strcmp(e->dirs[i].path, dir) == 0) {
            e->dirs[i].count += count;
            stamp(&e->dirs[i].first_ms, &e->dirs[i].last_ms, at_ms);
            return;
        }
    }
    if (e->n_dirs >= EG_INV_MAX_DIRS) {
        e->dirs_truncated += count;
        return;
    }
    struct eg_inv_dir *d = &e->dirs[e->n_dirs++];
    copy_str(d->path, sizeof(d->path), dir);
    d->count = count;
    d->first_ms = d->last_ms = at_ms;
}

void eg_inv_note_hostpid_shared(struct eg_inv_entry *e, uint64_t at_ms)
{
    if (!e->hostpid.shared || (at_ms && at_ms < e->hostpid.shared_first_ms))
        e->hostpid.shared_first_ms = at_ms;
    e->hostpid.shared = true;
}

void eg_inv_note_hostpid_use(struct eg_inv_entry *e, enum eg_inv_hostpid_use use, uint64_t count,
                             uint64_t at_ms)
{
    struct eg_inv_hostpid *h = &e->hostpid;
    switch (use) {
    case EG_INV_PID_SIGNAL:
        h->signals += count;
        break;
    case EG_INV_PID_PTRACE:
        h->ptrace += count;
        break;
    case EG_INV_PID_PROC_MEM:
        h->proc_mem += count;
        break;
    case EG_INV_PID_VM_WRITE:
        h->vm_writes += count;
        break;
    case EG_INV_PID_SETNS:
        h->setns += count;
        break;
    }
    stamp(&h->first_use_ms, &h->last_use_ms, at_ms);
}

void eg_inv_note_exec_written(struct eg_inv_entry *e, const char *path, bool library,
                              uint64_t count, uint64_t at_ms)
{
    char plain[EG_INV_PATH_MAX];
    copy_plain(plain, sizeof(plain), path);
    for (unsigned i = 0; i < e->n_execs; i++) {
        struct eg_inv_exec *x = &e->execs[i];
        if (x->library == library && strcmp(x->path, plain) == 0) {
            x->count += count;
            stamp(&x->first_ms, &x->last_ms, at_ms);
            return;
        }
    }
    if (e->n_execs >= EG_INV_MAX_EXECS) {
        e->execs_truncated += count;
        return;
    }
    struct eg_inv_exec *x = &e->execs[e->n_execs++];
    copy_plain(x->path, sizeof(x->path), path);
    x->library = library;
    x->count = count;
    x->first_ms = x->last_ms = at_ms;
}

void eg_inv_note_task(struct eg_inv_entry *e, const char *task_id)
{
    if (!task_id || !task_id[0])
        return;
    char id[EG_INV_TASK_ID_MAX + 1];
    copy_plain(id, sizeof(id), task_id);
    for (unsigned i = 0; i < e->n_task_ids; i++)
        if (strcmp(e->task_ids[i], id) == 0)
            return;
    e->tasks++;
    unsigned slot = e->n_task_ids < EG_INV_MAX_TASK_IDS ? e->n_task_ids++ : e->next_task_id;
    e->next_task_id = (slot + 1) % EG_INV_MAX_TASK_IDS;
    copy_str(e->task_ids[slot], sizeof(e->task_ids[slot]), id);
}

void eg_inv_note_observed(struct eg_inv_entry *e, uint64_t from_ms, uint64_t to_ms,
                          uint64_t watched_caps)
{
    if (to_ms < from_ms)
        return;
    stamp(&e->first_observed_ms, &e->last_observed_ms, from_ms);
    stamp(&e->first_observed_ms, &e->last_observed_ms, to_ms);
    e->observed_ms += to_ms - from_ms;
    e->watched_caps &= watched_caps;
}

static void merge_use(struct eg_inv_cap_use *d, const struct eg_inv_cap_use *s)
{
    if (!s->count)
        return;
    d->count += s->count;
    stamp(&d->first_ms, &d->last_ms, s->first_ms);
    stamp(&d->first_ms, &d->last_ms, s->last_ms);
    for (int i = 0; i < EG_INV_MAX_SYSCALLS && s->syscalls[i] >= 0; i++)
        use_add_syscall(d, s->syscalls[i]);
    d->syscalls_truncated += s->syscalls_truncated;
}

void eg_inv_entry_merge(struct eg_inv_entry *dst, const struct eg_inv_entry *src)
{
    if (src->first_observed_ms) {
        stamp(&dst->first_observed_ms, &dst->last_observed_ms, src->first_observed_ms);
        stamp(&dst->first_observed_ms, &dst->last_observed_ms, src->last_observed_ms);
    }
    dst->observed_ms += src->observed_ms;
    dst->watched_caps &= src->watched_caps;
    /* Distinct tasks: the ids both know are one task; beyond the recent ids, counts add. */
    uint64_t known_elsewhere = src->tasks > src->n_task_ids ? src->tasks - src->n_task_ids : 0;
    for (unsigned i = 0; i < src->n_task_ids; i++)
        eg_inv_note_task(dst, src->task_ids[i]);
    dst->tasks += known_elsewhere;
    for (int c = 0; c < EG_INV_CAPS; c++) {
        merge_use(&dst->caps[c].used, &src->caps[c].used);
        merge_use(&dst->caps[c].namespaced, &src->caps[c].namespaced);
        merge_use(&dst->caps[c].denied, &src->caps[c].denied);
    }
    dst->writes += src->writes;
    dst->writes_unplaced += src->writes_unplaced;
    dst->writes_unresolved += src->writes_unresolved;
    dst->dirs_truncated += src->dirs_truncated;
    for (unsigned i = 0; i < src->n_dirs; i++) {
        const struct eg_inv_dir *s = &src->dirs[i];
        unsigned j = 0;
        while (j < dst->n_dirs && strcmp(dst->dirs[j].path, s->path) != 0)
            j++;
        if (j == dst->n_dirs) {
            if (dst->n_dirs >= EG_INV_MAX_DIRS) {
                dst->dirs_truncated += s->count;
                continue;
            }
            dst->dirs[dst->n_dirs++] = *s;
            continue;
        }
        dst->dirs[j].count += s->count;
        stamp(&dst->dirs[j].first_ms, &dst->dirs[j].last_ms, s->first_ms);
        stamp(&dst->dirs[j].first_ms, &dst->dirs[j].last_ms, s->last_ms);
    }
    const struct eg_inv_hostpid *sh = &src->hostpid;
    struct eg_inv_hostpid *dh = &dst->hostpid;
    if (sh->shared)
        eg_inv_note_hostpid_shared(dst, sh->shared_first_ms);
    dh->signals += sh->signals;
    dh->ptrace += sh->ptrace;
    dh->proc_mem += sh->proc_mem;
    dh->vm_writes += sh->vm_writes;
    dh->setns += sh->setns;
    if (sh->first_use_ms) {
        stamp(&dh->first_use_ms, &dh->last_use_ms, sh->first_use_ms);
        stamp(&dh->first_use_ms, &dh->last_use_ms, sh->last_use_ms);
    }
    for (unsigned i = 0; i < src->n_execs; i++) {
        const struct eg_inv_exec *x = &src->execs[i];
        eg_inv_note_exec_written(dst, x->path, x->library, x->count, x->first_ms);
        eg_inv_note_exec_written(dst, x->path, x->library, 0, x->last_ms);
    }
    dst->execs_truncated += src->execs_truncated;
}
