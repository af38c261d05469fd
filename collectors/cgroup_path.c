/*
 * Container and task identity from a cgroup path. The path is split into
 * '/'-separated components and scanned left to right for the first component
 * that anchors a known layout ("ecs", "ecstasks.slice", "docker",
 * "system.slice") and is followed by exactly the components that layout
 * requires. Whatever precedes the anchor is a mount prefix; whatever follows
 * the container component makes the path `nested`. Taking the leftmost match
 * means a container started inside a container (docker-in-docker) is
 * attributed to the outer, ECS-managed one.
 */
#include "collectors/cgroup_path.h"

#include <string.h>

struct path_component {
    const char *s;
    size_t n;
};

/* Iterator over the components of buf[0..len); `*pos` starts at 0. */
static bool next_component(const char *buf, size_t len, size_t *pos, struct path_component *out)
{
    size_t p = *pos;
    if (p < len && buf[p] == '/')
        p++;
    if (p >= len)
        return false;
    size_t end = p;
    while (end < len && buf[end] != '/')
        end++;
    out->s = buf + p;
    out->n = end - p;
    *pos = end;
    return true;
}

/*
 * Paths come from the kernel, which never emits empty, "." or ".."
 * components; one that does was built by someone else and is refused
 * rather than normalised. A single trailing '/' is tolerated.
 */
static bool components_are_clean(const char *buf, size_t len)
{
    size_t start = (buf[0] == '/') ? 1 : 0;
    while (start < len) {
        size_t end = start;
        while (end < len && buf[end] != '/')
            end++;
        size_t n = end - start;
        if (n == 0)
            return false;
        if ((n == 1 && buf[start] == '.') || (n == 2 && buf[start] == '.' && buf[start + 1] == '.'))
            return false;
        if (end == len)
            break;
        start = end + 1;
    }
    return true;
}

static bool component_is(const struct path_component *c, const char *literal)
{
    size_t n = strlen(literal);
    return c->n == n && memcmp(c->s, literal, n) == 0;
}

static bool is_lower_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

static bool all_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_lower_hex(s[i]))
            return false;
    return true;
}

static bool is_container_id(const char *s, size_t n)
{
    return n == EG_CONTAINER_ID_LEN && all_lower_hex(s, n);
}

bool eg_task_id_valid(const char *s, size_t n)
{
    if (n == 32)
        return all_lower_hex(s, n);
    if (n != 36)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash_slot = (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash_slot ? s[i] != '-' : !is_lower_hex(s[i]))
            return false;
    }
    return true;
}

/* If `c` is <prefix><inner><suffix> with a non-empty inner part, return it in `inner`. */
static bool strip_affixes(const struct path_component *c, const char *prefix, const char *suffix,
                          struct path_component *inner)
{
    size_t pn = strlen(prefix), sn = strlen(suffix);
    if (c->n <= pn + sn || memcmp(c->s, prefix, pn) != 0 ||
        memcmp(c->s + c->n - sn, suffix, sn) != 0)
        return false;
    inner->s = c->s + pn;
    inner->n = c->n - pn - sn;
    return true;
}

static void set_container(struct eg_cgroup_identity *out, enum eg_cgroup_layout layout,
                          const struct path_component *cid, bool nested)
{
    out->layout = layout;
    out->nested = nested;
    memcpy(out->container_id, cid->s, EG_CONTAINER_ID_LEN);
    out->container_id[EG_CONTAINER_ID_LEN] = '\0';
}

static void set_task_id(struct eg_cgroup_identity *out, const struct path_component *tid)
{
    memcpy(out->task_id, tid->s, tid->n);
    out->task_id[tid->n] = '\0';
}

/* Result of trying one anchor: no match, the task's own cgroup, or a container. */
enum anchor_match { MATCH_NONE, MATCH_TASK_ONLY, MATCH_CONTAINER };

/* After "ecs": <task-id> [/<64-hex> [/...]] */
static enum anchor_match match_ecs_v1(const char *buf, size_t len, size_t pos,
                                      struct eg_cgroup_identity *out)
{
    struct path_component tid, cid, rest;
    if (!next_component(buf, len, &pos, &tid) || !eg_task_id_valid(tid.s, tid.n))
        return MATCH_NONE;
    if (!next_component(buf, len, &pos, &cid)) {
        out->layout = EG_LAYOUT_ECS_V1;
        out->task_only = true;
        set_task_id(out, &tid);
        return MATCH_TASK_ONLY;
    }
    if (!is_container_id(cid.s, cid.n))
        return MATCH_NONE;
    set_container(out, EG_LAYOUT_ECS_V1, &cid, next_component(buf, len, &pos, &rest));
    set_task_id(out, &tid);
    return MATCH_CONTAINER;
}

/*
 * After "ecstasks.slice": ecstasks-<task-id>.slice [/docker-<64-hex>.scope [/...]].
 * systemd reads '-' in a slice name as nesting, so an old UUID task id may
 * show up as a chain ecstasks-a.slice/ecstasks-a-b.slice/.../ecstasks-<uuid>.slice;
 * each link must extend the previous one by "-<more>", and the last one
 * carries the task id.
 */
static enum anchor_match match_ecs_v2(const char *buf, size_t len, size_t pos,
                                      struct eg_cgroup_identity *out)
{
    struct path_component c, tid, scope_inner, rest;
    if (!next_component(buf, len, &pos, &c) || !strip_affixes(&c, "ecstasks-", ".slice", &tid))
        return MATCH_NONE;
    bool have_next;
    for (;;) {
        size_t after = pos;
        have_next = next_component(buf, len, &after, &c);
        struct path_component inner;
        if (!have_next || !strip_affixes(&c, "ecstasks-", ".slice", &inner))
            break;
        if (inner.n <= tid.n + 1 || memcmp(inner.s, tid.s, tid.n) != 0 || inner.s[tid.n] != '-')
            return MATCH_NONE;
        tid = inner;
        pos = after;
    }
    if (!eg_task_id_valid(tid.s, tid.n))
        return MATCH_NONE;
    if (!next_component(buf, len, &pos, &c)) {
        out->layout = EG_LAYOUT_ECS_V2;
        out->task_only = true;
        set_task_id(out, &tid);
        return MATCH_TASK_ONLY;
    }
    if (!strip_affixes(&c, "docker-", ".scope", &scope_inner) ||
        !is_container_id(scope_inner.s, scope_inner.n))
        return MATCH_NONE;
    set_container(out, EG_LAYOUT_ECS_V2, &scope_inner, next_component(buf, len, &pos, &rest));
    set_task_id(out, &tid);
    return MATCH_CONTAINER;
}

/* After "docker": <64-hex> [/...] */
static enum anchor_match match_docker_cgroupfs(const char *buf, size_t len, size_t pos,
                                               struct eg_cgroup_identity *out)
{
    struct path_component cid, rest;
    if (!next_component(buf, len, &pos, &cid) || !is_container_id(cid.s, cid.n))
        return MATCH_NONE;
    set_container(out, EG_LAYOUT_DOCKER_CGROUPFS, &cid, next_component(buf, len, &pos, &rest));
    return MATCH_CONTAINER;
}

/* After "system.slice": docker-<64-hex>.scope [/...] */
static enum anchor_match match_docker_systemd(const char *buf, size_t len, size_t pos,
                                              struct eg_cgroup_identity *out)
{
    struct path_component c, cid, rest;
    if (!next_component(buf, len, &pos, &c) || !strip_affixes(&c, "docker-", ".scope", &cid) ||
        !is_container_id(cid.s, cid.n))
        return MATCH_NONE;
    set_container(out, EG_LAYOUT_DOCKER_SYSTEMD, &cid, next_component(buf, len, &pos, &rest));
    return MATCH_CONTAINER;
}

bool eg_cgroup_path_parse_buf(const char *buf, size_t len, struct eg_cgroup_identity *out)
{
    memset(out, 0, sizeof(*out));
    if (!buf || len == 0 || len > EG_CGROUP_PATH_MAX || memchr(buf, '\0', len))
        return false;
    if (!components_are_clean(buf, len))
        return false;

    size_t pos = 0;
    struct path_component c;
    while (next_component(buf, len, &pos, &c)) {
        enum anchor_match m = MATCH_NONE;
        if (component_is(&c, "ecs"))
            m = match_ecs_v1(buf, len, pos, out);
        else if (component_is(&c, "ecstasks.slice"))
            m = match_ecs_v2(buf, len, pos, out);
        else if (component_is(&c, "docker"))
            m = match_docker_cgroupfs(buf, len, pos, out);
        else if (component_is(&c, "system.slice"))
            m = match_docker_systemd(buf, len, pos, out);
        if (m == MATCH_CONTAINER)
            return true;
        if (m == MATCH_TASK_ONLY)
            return false;
        /* MATCH_NONE wrote nothing: `out` is still zeroed; try the next component. */
    }
    return false;
}

bool eg_cgroup_path_parse(const char *path, struct eg_cgroup_identity *out)
{
    if (!path) {
        memset(out, 0, sizeof(*out));
        return false;
    }
    /* Look one byte past the limit so an over-long path is seen as such, not cut. */
    size_t len = strnlen(path, EG_CGROUP_PATH_MAX + 1);
    return eg_cgroup_path_parse_buf(path, len, out);
}

const char *eg_cgroup_layout_name(enum eg_cgroup_layout layout)
{
    switch (layout) {
    case EG_LAYOUT_NONE:
        return "none";
    case EG_LAYOUT_ECS_V1:
        return "ecs-v1";
    case EG_LAYOUT_ECS_V2:
        return "ecs-v2";
    case EG_LAYOUT_DOCKER_CGROUPFS:
        return "docker-cgroupfs";
    case EG_LAYOUT_DOCKER_SYSTEMD:
        return "docker-systemd";
    }
    return "unknown";
}
