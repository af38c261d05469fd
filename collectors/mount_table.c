#include "collectors/mount_table.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOUNTINFO_READ_MAX (1024 * 1024)

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(const char *in, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < outlen; i++) {
        if (in[i] == '\\' && i + 3 < len && in[i + 1] >= '0' && in[i + 1] <= '3' &&
            in[i + 2] >= '0' && in[i + 2] <= '7' && in[i + 3] >= '0' && in[i + 3] <= '7') {
            out[o++] = (char)((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 + (in[i + 3] - '0'));
            i += 3;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

/* Next space-separated field of [*p, end); false when none. */
static bool next_field(const char **p, const char *end, const char **f, size_t *flen)
{
    const char *s = *p;
    while (s < end && *s == ' ')
        s++;
    if (s >= end)
        return false;
    const char *e = s;
    while (e < end && *e != ' ')
        e++;
    *f = s;
    *flen = (size_t)(e - s);
    *p = e;
    return true;
}

/* One line: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" */
static bool parse_line(const char *s, const char *end, struct eg_mount *m)
{
    const char *f;
    size_t fl;
    char num[16];
    if (!next_field(&s, end, &f, &fl) || fl >= sizeof(num))
        return false;
    memcpy(num, f, fl);
    num[fl] = '\0';
    m->mount_id = atoi(num);
    if (!next_field(&s, end, &f, &fl) || fl >= sizeof(num))
        return false;
    memcpy(num, f, fl);
    num[fl] = '\0';
    m->parent_id = atoi(num);
    if (!next_field(&s, end, &f, &fl)) /* major:minor */
        return false;
    if (!next_field(&s, end, &f, &fl)) /* root */
        return false;
    if (!next_field(&s, end, &f, &fl) || fl == 0 || f[0] != '/')
        return false;
    if (fl >= EG_MOUNT_POINT_MAX)
        return false;
    unescape(f, fl, m->mount_point, sizeof(m->mount_point));
    /* Optional fields end at "-"; the file system type follows. */
    while (next_field(&s, end, &f, &fl))
        if (fl == 1 && f[0] == '-')
            break;
    if (!next_field(&s, end, &f, &fl))
        return false;
    unescape(f, fl, m->fstype, sizeof(m->fstype));
    return true;
}

int eg_mount_table_parse(const char *text, size_t len, struct eg_mount_table *t)
{
    t->n = 0;
    t->truncated = false;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p) {
            if (t->n >= EG_MOUNTS_MAX)
                t->truncated = true;
            else if (parse_line(p, le, &t->m[t->n]))
                t->n++;
            else
                t->truncated = true;
        }
        p = nl ? nl + 1 : end;
    }
    return t->n > 0 ? t->n : -1;
}

static bool is_prefix_component(const char *mp, const char *path)
{
    size_t n = strlen(mp);
    if (n == 1 && mp[0] == '/')
        return path[0] == '/';
    return strncmp(mp, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

const struct eg_mount *eg_mount_table_find(const struct eg_mount_table *t, const char *abs_path)
{
    const struct eg_mount *best = NULL;
    size_t best_len = 0;
    for (int i = 0; i < t->n; i++) {
        const struct eg_mount *m = &t->m[i];
        size_t n = strlen(m->mount_point);
        if (is_prefix_component(m->mount_point, abs_path) && (!best || n >= best_len)) {
            best = m;
            best_len = n;
        }
    }
    return best;
}

bool eg_mount_is_root(const struct eg_mount *m)
{
    return m && strcmp(m->mount_point, "/") == 0;
}

/* Append one component to out[0..*o), handling "." and "..". */
static int push_component(char *out, size_t outlen, size_t *o, const char *c, size_t n)
{
    if (n == 0 || (n == 1 && c[0] == '.'))
        return 0;
    if (n == 2 && c[0] == '.' && c[1] == '.') {
        while (*o > 1 && out[*o - 1] != '/')
            (*o)--;
        if (*o > 1)
            (*o)--; /* drop the separator too, unless it is the root */
        out[*o] = '\0';
        return 0;
    }
    size_t need = (*o > 1 ? 1 : 0) + n;
    if (*o + need + 1 > outlen)
        return -1;
    if (*o > 1)
        out[(*o)++] = '/';
    memcpy(out + *o, c, n);
    *o += n;
    out[*o] = '\0';
    return 0;
}

static int push_path(char *out, size_t outlen, size_t *o, const char *s)
{
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        if (push_component(out, outlen, o, s, (size_t)(e - s)) != 0)
            return -1;
        s = e;
    }
    return 0;
}

int eg_path_resolve(const char *base, const char *path, char *out, size_t outlen)
{
    if (outlen < 2 || !path)
        return -1;
    out[0] = '/';
    out[1] = '\0';
    size_t o = 1;
    if (path[0] != '/') {
        if (!base || base[0] != '/')
            return -1;
        if (push_path(out, outlen, &o, base) != 0)
            return -1;
    }
    if (push_path(out, outlen, &o, path) != 0)
        return -1;
    return (int)o;
}

/* ---- per-namespace cache ---------------------------------------------------------------- */

struct cached_ns {
    uint32_t mnt_ns, pid;
    int fd; /* /proc/<pid>/mountinfo, kept open to poll for changes */
    uint64_t last_use;
    struct eg_mount_table *table;
};

struct eg_mount_cache {
    char proc_root[128];
    uint64_t clock;
    struct eg_mount_cache_stats stats;
    char *buf;
    struct cached_ns ns[EG_MOUNT_CACHE_NS];
};

struct eg_mount_cache *eg_mount_cache_new(const char *proc_root)
{
    struct eg_mount_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->buf = malloc(MOUNTINFO_READ_MAX);
    if (!c->buf) {
        free(c);
        return NULL;
    }
    snprintf(c->proc_root, sizeof(c->proc_root), "%s", proc_root ? proc_root : "/proc");
    for (int i = 0; i < EG_MOUNT_CACHE_NS; i++)
        c->ns[i].fd = -1;
    return c;
}

static void drop_ns(struct cached_ns *n)
{
    if (n->fd >= 0)
        close(n->fd);
    free(n->table);
    memset(n, 0, sizeof(*n));
    n->fd = -1;
}

void eg_mount_cache_free(struct eg_mount_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < EG_MOUNT_CACHE_NS; i++)
        drop_ns(&c->ns[i]);
    free(c->buf);
    free(c);
}

/* Read the whole file from offset 0 through `fd` into the table. */
static int read_table(struct eg_mount_cache *c, struct cached_ns *n)
{
    size_t len = 0;
    if (lseek(n->fd, 0, SEEK_SET) < 0)
        return -1;
    for (;;) {
        ssize_t r = read(n->fd, c->buf + len, MOUNTINFO_READ_MAX - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == MOUNTINFO_READ_MAX)
            break;
    }
    c->stats.reads++;
    if (eg_mount_table_parse(c->buf, len, n->table) < 0)
        return -1;
    if (len == MOUNTINFO_READ_MAX)
        n->table->truncated = true;
    return 0;
}

static int open_ns(struct eg_mount_cache *c, struct cached_ns *n, uint32_t pid)
{
    char path[192];
    /* Only a process still in that namespace shows its mounts (pids are reused, processes
     * setns): check before reading. */
    struct stat st;
    snprintf(path, sizeof(path), "%s/%u/ns/mnt", c->proc_root, pid);
    if (stat(path, &st) == 0 && (uint32_t)st.st_ino != n->mnt_ns)
        return -1;
    snprintf(path, sizeof(path), "%s/%u/mountinfo", c->proc_root, pid);
    if (n->fd >= 0)
        close(n->fd);
    n->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (n->fd < 0)
        return -1;
    n->pid = pid;
    return read_table(c, n);
}

/* Whether the namespace's mounts changed since the last read (POLLPRI|POLLERR on mountinfo). */
static bool changed(struct cached_ns *n)
{
    struct pollfd p = {.fd = n->fd, .events = POLLPRI};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLPRI | POLLERR));
}

const struct eg_mount_table *eg_mount_cache_get_any(struct eg_mount_cache *c, uint32_t mnt_ns,
                                                    const uint32_t *pids, int n_pids)
{
    for (int i = 0; i < n_pids; i++) {
        if (!pids[i])
            continue;
        const struct eg_mount_table *t = eg_mount_cache_get(c, mnt_ns, pids[i]);
        if (t)
            return t;
    }
    return NULL;
}

const struct eg_mount_table *eg_mount_cache_get(struct eg_mount_cache *c, uint32_t mnt_ns,
                                                uint32_t pid)
{
    c->clock++;
    struct cached_ns *n = NULL, *victim = &c->ns[0];
    for (int i = 0; i < EG_MOUNT_CACHE_NS; i++) {
        struct cached_ns *e = &c->ns[i];
        if (e->table && e->mnt_ns == mnt_ns) {
            n = e;
            break;
        }
        if (!e->table)
            victim = e;
        else if (victim->table && e->last_use < victim->last_use)
            victim = e;
    }
    if (n) {
        n->last_use = c->clock;
        /* Change notifications stop when the process we read through exits. */
        bool gone = n->pid != pid && kill((pid_t)n->pid, 0) != 0 && errno == ESRCH;
        if (gone && open_ns(c, n, pid) == 0)
            return n->table;
        if (!gone && !changed(n))
            return n->table;
        c->stats.rereads_on_change++;
        if (read_table(c, n) == 0)
            return n->table;
        /* The process we read through is gone: read through the caller instead. */
        if (open_ns(c, n, pid) == 0)
            return n->table;
        c->stats.read_errors++;
        drop_ns(n);
        return NULL;
    }
    if (victim->table) {
        c->stats.evictions++;
        drop_ns(victim);
    }
    victim->table = malloc(sizeof(*victim->table));
    if (!victim->table) {
        c->stats.read_errors++;
        return NULL;
    }
    victim->mnt_ns = mnt_ns;
    victim->last_use = c->clock;
    if (open_ns(c, victim, pid) != 0) {
        c->stats.read_errors++;
        drop_ns(victim);
        return NULL;
    }
    return victim->table;
}

void eg_mount_cache_get_stats(struct eg_mount_cache *c, struct eg_mount_cache_stats *out)
{
    *out = c->stats;
}

#define MAX_SYMLINKS 40 /* as the kernel's path walk (MAXSYMLINKS) */
#define PATH_BUF 4096

/*
 * See mount_table.h. The path still to walk is kept in `todo` (a symlink's target spliced in
 * front of the rest), the symlink-free part walked so far in `cur` ("" for "/"); each lookup
 * is `cur` plus one component relative to `rootfd`, whose components are all real
 * directories, so only the last one can be a link and readlinkat does not follow it.
 */
int eg_path_resolve_links(int rootfd, const char *literal, bool follow_last, char *out,
                          size_t outlen)
{
    char todo[2 * PATH_BUF + 2], cur[PATH_BUF] = "";
    if (snprintf(todo, sizeof(todo), "%s", literal) >= (int)sizeof(todo))
        return -1;
    const char *p = todo;
    int links = 0;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, "/");
        bool last = p[n + strspn(p + n, "/")] == '\0';
        if (n == 1 && p[0] == '.') {
            p += n;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            char *slash = strrchr(cur, '/');
            if (slash)
                *slash = '\0';
            p += n;
            continue;
        }
        char next[PATH_BUF];
        if (snprintf(next, sizeof(next), "%s/%.*s", cur, (int)n, p) >= (int)sizeof(next))
            return -1;
        p += n;
        char target[PATH_BUF];
        ssize_t tl = -1;
        if (!last || follow_last)
            tl = readlinkat(rootfd, next + 1, target, sizeof(target) - 1);
        if (tl <= 0) {
            memcpy(cur, next, sizeof(cur));
            continue;
        }
        if (++links > MAX_SYMLINKS)
            return -1;
        target[tl] = '\0';
        char rest[sizeof(todo)];
        if (snprintf(rest, sizeof(rest), "%s/%s", target, p) >= (int)sizeof(rest))
            return -1;
        if (target[0] == '/')
            cur[0] = '\0';
        memcpy(todo, rest, sizeof(todo));
        p = todo;
    }
    if (snprintf(out, outlen, "%s", cur[0] ? cur : "/") >= (int)outlen)
        return -1;
    return 0;
}
