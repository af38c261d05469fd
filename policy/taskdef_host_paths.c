/*
 * EG.HOST_PATH: a volume that binds a sensitive host path into the task. A path is
 * sensitive when it is one of the list below, lies under one, or holds one (`/var` holds
 * the Docker socket, `/` holds everything). Paths are compared after lexical clean-up
 * (`//`, `/./`, `/../`, a trailing `/`); symbolic links on the host cannot be seen from a
 * task definition, which is why both /run and /var/run spellings are listed.
 */
#include "policy/taskdef_lint_internal.h"
#include "policy/policy_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const sensitive_paths[] = {
    "/proc",                /* every host process: environ, mem, ns, the host's root */
    "/sys",                 /* kernel settings, cgroups, BPF, tracing */
    "/dev",                 /* host devices, disks */
    "/etc",                 /* accounts, sudoers, cron, the ECS agent's config */
    "/boot",                /* kernel and boot loader */
    "/root",                /* root's home: keys, shell start-up files */
    "/var/run/docker.sock", /* the Docker API is root on the host */
    "/run/docker.sock",     /* the same where /var/run is a link to /run */
    "/var/run/containerd",  /* containerd's socket */
    "/run/containerd",      /* the same */
    "/var/lib/docker",      /* every container's filesystem */
    "/var/lib/containerd",  /* the same for containerd */
    "/var/lib/ecs",         /* the ECS agent's state (task credentials endpoints) */
};

/* A runtime's API socket is root on the host however it is mounted: a read-only bind mount
 * stops writes to the socket file, not connect() and every API call after it. */
static const char *const runtime_sockets[] = {"/var/run/docker.sock", "/run/docker.sock",
                                              "/var/run/containerd", "/run/containerd"};

#define EG_HOST_PATH_MAX 4096

/* Lexically clean an absolute path into `out`; false when it is not absolute or too long. */
static bool clean_path(const char *p, size_t len, char *out, size_t cap)
{
    if (len == 0 || p[0] != '/' || len >= cap || memchr(p, '\0', len))
        return false;
    size_t o = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && p[i] == '/')
            i++;
        size_t start = i;
        while (i < len && p[i] != '/')
            i++;
        size_t n = i - start;
        if (n == 0 || (n == 1 && p[start] == '.'))
            continue;
        if (n == 2 && p[start] == '.' && p[start + 1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* the '/' before the removed component */
            continue;
        }
        out[o++] = '/';
        memcpy(out + o, p + start, n);
        o += n;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return true;
}

/* a is b, or lies beneath it ("/proc/1" under "/proc"; everything under "/"). */
static bool at_or_under(const char *a, const char *b)
{
    size_t n = strlen(b);
    if (strcmp(b, "/") == 0)
        return true;
    return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* Whether the path is, lies under or holds a runtime socket (lexically cleaned first). */
static bool reaches_runtime_socket(const char *path, size_t len)
{
    char clean[EG_HOST_PATH_MAX];
    if (!clean_path(path, len, clean, sizeof(clean)))
        return true;
    for (size_t i = 0; i < sizeof(runtime_sockets) / sizeof(runtime_sockets[0]); i++)
        if (at_or_under(clean, runtime_sockets[i]) || at_or_under(runtime_sockets[i], clean))
            return true;
    return false;
}

bool eg_lint_host_path_sensitive(const char *path, size_t len)
{
    char clean[EG_HOST_PATH_MAX];
    if (!clean_path(path, len, clean, sizeof(clean)))
        return true; /* not an absolute path: nothing says where it ends up */
    for (size_t i = 0; i < sizeof(sensitive_paths) / sizeof(sensitive_paths[0]); i++)
        if (at_or_under(clean, sensitive_paths[i]) || at_or_under(sensitive_paths[i], clean))
            return true;
    return false;
}

static bool sensitive(const struct eg_td_value *v)
{
    return v->state == EG_TD_KNOWN && eg_lint_host_path_sensitive(v->str, v->len);
}

/* How the containers mount volume `name`: writable anywhere, read-only only, or not at all. */
enum mount_use { NOT_MOUNTED, READ_ONLY, WRITABLE };

static enum mount_use volume_use(const struct eg_taskdef *td, const struct eg_td_value *name,
                                 char *names, size_t len)
{
    enum mount_use use = NOT_MOUNTED;
    size_t o = 0;
    names[0] = '\0';
    for (size_t i = 0; i < td->ncontainers; i++) {
        const struct eg_td_container *c = &td->containers[i];
        for (size_t k = 0; k < c->nmounts; k++) {
            const struct eg_td_mount *m = &c->mounts[k];
            bool same = m->source_volume.state == EG_TD_UNKNOWN ||
                        (name->state == EG_TD_KNOWN && m->source_volume.state == EG_TD_KNOWN &&
                         m->source_volume.len == name->len &&
                         memcmp(m->source_volume.str, name->str, name->len) == 0);
            if (!same)
                continue;
            bool ro = m->read_only.state == EG_TD_KNOWN && m->read_only.flag;
            enum mount_use u = ro ? READ_ONLY : WRITABLE;
            if (u > use)
                use = u;
            char w[96];
            eg_lint_who(c, i, w, sizeof(w));
            if (o + 2 < len) {
                int n = snprintf(names + o, len - o, "%s%s %s", o ? ", " : "",
                                 ro ? "read-only in" : "writable in", w);
                o = n > 0 && (size_t)n < len - o ? o + (size_t)n : len - 1;
            }
        }
    }
    return use;
}

void eg_lint_check_host_paths(struct eg_lint_ctx *L)
{
    const struct eg_taskdef *td = L->td;
    eg_lint_verdict(L, EG_LINT_HOST_PATH, EG_LINT_PASS);
    if (td->volumes_value.state == EG_TD_UNKNOWN) {
        eg_lint_unknown_at(L, EG_LINT_HOST_PATH, &td->volumes_value, NULL, 0, "volumes");
        return;
    }
    for (size_t i = 0; i < td->nvolumes; i++) {
        const struct eg_td_volume *v = &td->volumes[i];
        struct eg_td_value tmp;
        const struct eg_td_value *src = eg_lint_decide(&v->host_source_path, sensitive, &tmp);
        if (src->state == EG_TD_UNKNOWN) {
            eg_lint_unknown_at(L, EG_LINT_HOST_PATH, src, NULL, 0, "a volume's host sourcePath");
            continue;
        }
        if (src->state != EG_TD_KNOWN || !eg_lint_host_path_sensitive(src->str, src->len))
            continue;
        char name[72], path[72], mounts[240];
        eg_td_value_quote(&v->name, name, sizeof(name));
        eg_td_value_quote(src, path, sizeof(path));
        enum mount_use use = volume_use(td, &v->name, mounts, sizeof(mounts));
        bool socket = reaches_runtime_socket(src->str, src->len);
        eg_lint_add(L, EG_LINT_HOST_PATH, EG_LINT_FAIL,
                    use == WRITABLE || socket ? EG_LINT_HIGH : EG_LINT_MEDIUM, src->line,
                    src->column, -1, "volume '%s' is the host's %s (%s)%s", name, path,
                    use == NOT_MOUNTED ? "mounted by no container" : mounts,
                    socket ? ": a container runtime's API socket, which read-only does not "
                             "restrict"
                           : "");
        eg_lint_set_subject(L, src);
    }
}
