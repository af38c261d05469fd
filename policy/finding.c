#include "policy/finding.h"

#include <stdio.h>
#include <string.h>

static void copy_str(char *dst, size_t dstlen, const char *src)
{
    size_t n = strnlen(src, dstlen - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void info_from_proc(struct eg_process_info *out, const struct eg_proc *p)
{
    copy_str(out->name, sizeof(out->name), p->comm);
    copy_str(out->exe, sizeof(out->exe), p->exe);
    copy_str(out->args, sizeof(out->args), p->args);
    out->pid = p->tgid;
    out->ns_pid = p->ns_pid;
    out->uid = p->uid;
    out->euid = p->euid;
    out->start_time = eg_boot_ns_to_epoch(p->start_ns);
    eg_proc_uuid(p->tgid, p->start_ns, out->uuid);
    eg_proc_uuid(p->ppid, p->parent_start_ns, out->parent_uuid);
}

void eg_finding_set_process(struct eg_finding *f, struct eg_proc_table *procs,
                            const struct eg_event_header *h, const char *exe_fallback)
{
    struct eg_process_info *pi = &f->process;
    memset(pi, 0, sizeof(*pi));
    const struct eg_proc *p = eg_proc_table_find(procs, h->tgid, h->start_time_ns);
    if (p)
        info_from_proc(pi, p);
    /* The event itself is authoritative for identity at the moment it happened. */
    copy_str(pi->name, sizeof(pi->name), h->comm);
    pi->pid = h->tgid;
    pi->ns_pid = h->ns_pid;
    pi->uid = h->uid;
    pi->euid = h->euid;
    pi->start_time = eg_boot_ns_to_epoch(h->start_time_ns);
    eg_proc_uuid(h->tgid, h->start_time_ns, pi->uuid);
    eg_proc_uuid(h->ppid, h->parent_start_time_ns, pi->parent_uuid);
    if (!pi->exe[0] && exe_fallback)
        copy_str(pi->exe, sizeof(pi->exe), exe_fallback);

    f->n_lineage = 0;
    if (p) {
        const struct eg_proc *anc[EG_LINEAGE_MAX];
        int n = eg_proc_table_lineage(procs, p, anc, EG_LINEAGE_MAX);
        for (int i = 0; i < n; i++)
            info_from_proc(&f->lineage[f->n_lineage++], anc[i]);
    }
}

void eg_where_capture(struct eg_where *w, const struct eg_container *c, uint64_t event_cgroup_id)
{
    /* Field by field: a whole-struct memset would clear ~600 bytes per event. */
    w->cgroup_id = event_cgroup_id;
    w->host_ns = 0;
    w->container_id[0] = w->task_id[0] = w->cgroup_path[0] = '\0';
    if (!c)
        return;
    /* Nested cgroups belong to their container: one finding per container, not per cgroup. */
    w->cgroup_id = c->cgroup_id;
    w->host_ns = c->host_ns;
    copy_str(w->container_id, sizeof(w->container_id), c->id.container_id);
    copy_str(w->task_id, sizeof(w->task_id), c->id.task_id);
    copy_str(w->cgroup_path, sizeof(w->cgroup_path), c->path);
}

static void key_put(struct eg_finding_key *k, const char *s, size_t n)
{
    size_t room = EG_FINDING_KEY_MAX - 1 - k->len;
    if (n > room) {
        n = room;
        k->cut = true;
    }
    memcpy(k->text + k->len, s, n);
    k->len += (uint32_t)n;
    k->text[k->len] = '\0';
}

void eg_finding_key_add_u64(struct eg_finding_key *k, uint64_t v)
{
    char digits[21];
    size_t i = sizeof(digits);
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    digits[--i] = '|';
    key_put(k, digits + i, sizeof(digits) - i);
}

void eg_finding_key_add_str(struct eg_finding_key *k, const char *s)
{
    key_put(k, "|", 1);
    key_put(k, s, strlen(s));
}

void eg_finding_key_init(struct eg_finding_key *k, enum eg_finding_type type,
                         const struct eg_where *w)
{
    k->len = 0;
    k->cut = false;
    k->text[0] = '\0';
    eg_finding_key_add_u64(k, (uint64_t)type);
    eg_finding_key_add_str(k, w->container_id);
    eg_finding_key_add_u64(k, w->cgroup_id);
}

void eg_finding_begin(struct eg_finding *f, const struct eg_where *w,
                      const struct eg_event_header *h, uint64_t first_seen_ms)
{
    f->where = *w;
    f->host_flags = h->flags;
    f->first_seen_ms = first_seen_ms;
}
