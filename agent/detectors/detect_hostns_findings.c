/*
 * The host-namespace detector's findings: a container sharing the host pid namespace, a setns
 * into host namespaces, and an access to a process outside the caller's task (ptrace, memory
 * writes, signals), each with the target process in its JSON context.
 */
#include "agent/detectors/detect_hostns_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "agent/common/json_text.h"
#include "agent/pipeline/finding_json.h"
#include "agent/pipeline/inventory_recorder.h"

/*
 * Record `count` occurrences of the behaviour `key` in container `w`; the finding when it was
 * created by this call (the caller fills in the rest), else NULL.
 */
static struct eg_finding *record(struct eg_hostns_detector *d, const char *key,
                                 enum eg_finding_type type, const struct eg_event_header *h,
                                 const struct eg_where *w, uint64_t event_ms, uint64_t count)
{
    bool created = false;
    struct eg_finding *f =
        eg_aggregator_record(d->env.findings, key, type, event_ms, count, eg_now_ms(), &created);
    if (!f) {
        d->stats.findings_dropped++;
        return NULL;
    }
    if (!created)
        return NULL;
    eg_finding_begin(f, w, h, event_ms);
    return f;
}

void eg_hostns_report_host_pidns(struct eg_hostns_detector *d, struct eg_container *c,
                                 const struct eg_event_header *h, const char *exe, const char *how,
                                 uint64_t event_ms)
{
    if (c->slot >= EG_MAX_CONTAINERS || d->reported_gen[c->slot] == c->generation)
        return;
    d->reported_gen[c->slot] = c->generation;
    struct eg_where w;
    eg_where_capture(&w, c, h->cgroup_id);
    struct eg_inv_entry *ie = eg_inventory_recorder_entry(d->env.inventory, &w);
    if (ie)
        eg_inv_note_hostpid_shared(ie, event_ms);
    struct eg_finding_key key;
    eg_finding_key_init(&key, EG_FT_HOST_PID_NS, &w);
    /*
     * A state, not an act: found again (the start-up scan after a restart that kept its open
     * findings, docs/reliability.md) it is the same finding, not one more occurrence of it.
     */
    if (eg_aggregator_find(d->env.findings, key.text, eg_now_ms()))
        return;
    struct eg_finding *f = record(d, key.text, EG_FT_HOST_PID_NS, h, &w, event_ms, 1);
    if (!f)
        return;
    d->stats.host_pidns_found++;
    eg_finding_set_process(f, d->env.procs, h, exe);
    struct json_object *ctx = json_object_new_object();
    json_object_object_add(ctx, "namespaceKind", json_object_new_string("pid"));
    json_object_object_add(ctx, "hostPidNamespace", json_object_new_boolean(1));
    json_object_object_add(ctx, "pidNamespaceInode",
                           json_object_new_int64((int64_t)h->pid_ns_inum));
    json_object_object_add(ctx, "detectedBy", json_object_new_string(how));
    f->context = ctx;
    snprintf(f->namespace_kind, sizeof(f->namespace_kind), "pid");
}

/*
 * The target of a process access: context.targetProcess holds the model's ProcessDetails
 * members only; whose process it is (the host's, another task's container) and a signal to
 * every process are context members of their own (docs/hostns.md).
 */
static void add_target(struct json_object *ctx, const struct eg_hostns_event *e,
                       enum eg_target_relation rel, const struct eg_container *tc)
{
    if (e->target_flags & EG_TGT_ALL) {
        json_object_object_add(ctx, "targetAllProcesses", json_object_new_boolean(1));
        json_object_object_add(ctx, "targetHostProcess", json_object_new_boolean(1));
        return;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "pid", json_object_new_int64(e->target_tgid));
    if (e->target_vpid > 0)
        json_object_object_add(o, "namespacePid", json_object_new_int64(e->target_vpid));
    if (e->target_comm[0])
        json_object_object_add(o, "name",
                               eg_json_string_n(e->target_comm, EG_COMM_LEN, EG_COMM_LEN));
    if (e->target_exe[0])
        json_object_object_add(o, "executablePath",
                               eg_json_string_n(e->target_exe, EG_PATH_LEN, EG_PATH_LEN));
    if (e->target_start_time_ns) {
        json_object_object_add(o, "startTime",
                               eg_json_epoch_seconds(eg_boot_ns_to_epoch(e->target_start_time_ns)));
        char uuid[37];
        eg_proc_uuid(e->target_tgid, e->target_start_time_ns, uuid);
        json_object_object_add(o, "uuid", json_object_new_string(uuid));
    }
    json_object_object_add(ctx, "targetProcess", o);
    json_object_object_add(ctx, "targetHostProcess", json_object_new_boolean(rel == EG_REL_HOST));
    if (tc) {
        json_object_object_add(ctx, "targetContainerId",
                               json_object_new_string(tc->id.container_id));
        if (tc->id.task_id[0])
            json_object_object_add(ctx, "targetTaskId", json_object_new_string(tc->id.task_id));
    }
}

static void set_target_subject(struct eg_finding *f, const struct eg_hostns_event *e)
{
    if (e->target_flags & EG_TGT_ALL)
        snprintf(f->target_process, sizeof(f->target_process), "*");
    else if (e->target_exe[0])
        eg_utf8_copy(e->target_exe, EG_PATH_LEN, f->target_process, sizeof(f->target_process));
    else
        eg_utf8_copy(e->target_comm, EG_COMM_LEN, f->target_process, sizeof(f->target_process));
}

void eg_hostns_on_ns_enter(struct eg_hostns_detector *d, const struct eg_hostns_event *e,
                           struct eg_container *c)
{
    d->stats.ns_entries++;
    struct eg_where w;
    eg_where_capture(&w, c, e->hdr.cgroup_id);
    struct eg_inv_entry *ie = eg_inventory_recorder_entry(d->env.inventory, &w);
    if (ie)
        eg_inv_note_hostpid_use(ie, EG_INV_PID_SETNS, 1, eg_event_epoch_ms(e->hdr.ts_ns));
    char kinds[64];
    eg_hostns_ns_kinds(e->ns_entered, kinds, sizeof(kinds));
    struct eg_finding_key key;
    eg_finding_key_init(&key, EG_FT_HOST_NS_ENTERED, &w);
    eg_finding_key_add_str(&key, kinds);
    eg_finding_key_add_u64(&key, e->target_tgid);
    eg_finding_key_add_u64(&key, e->target_start_time_ns);
    struct eg_finding *f =
        record(d, key.text, EG_FT_HOST_NS_ENTERED, &e->hdr, &w, eg_event_epoch_ms(e->hdr.ts_ns), 1);
    if (!f)
        return;
    eg_finding_set_process(f, d->env.procs, &e->hdr, NULL);
    struct json_object *ctx = json_object_new_object();
    json_object_object_add(ctx, "namespaceKinds", eg_hostns_ns_kind_array(e->ns_entered));
    json_object_object_add(ctx, "namespaceKindsAlreadyShared",
                           eg_hostns_ns_kind_array(e->ns_was_host));
    json_object_object_add(ctx, "syscall", json_object_new_string("setns"));
    if (e->target_flags & EG_TGT_NSFS) {
        struct json_object *ns = json_object_new_object();
        char one[16];
        eg_hostns_ns_kinds(e->ns_type, one, sizeof(one));
        json_object_object_add(ns, "kind", json_object_new_string(one));
        json_object_object_add(ns, "inode", json_object_new_int64(e->ns_inum));
        json_object_object_add(ns, "hostNamespace", json_object_new_boolean(1));
        json_object_object_add(ctx, "targetNamespace", ns);
        /* A namespace file names no process; the namespace is the host's, so is its owner. */
        json_object_object_add(ctx, "targetHostProcess", json_object_new_boolean(1));
        snprintf(f->target_process, sizeof(f->target_process), "host");
    } else if (e->target_flags & EG_TGT_RESOLVED) {
        struct eg_container *tc = eg_container_table_lookup(d->env.containers, e->target_cgroup_id);
        enum eg_target_relation rel =
            eg_hostns_relation(e->hdr.cgroup_id, c, e->hdr.pid_ns_inum, e->target_cgroup_id, tc,
                               e->target_pid_ns_inum, d->host.inum[EG_HOST_NS_PID]);
        add_target(ctx, e, rel, tc);
        set_target_subject(f, e);
    }
    f->context = ctx;
    /* Policy matches one kind: the first in mnt, pid, net, uts, ipc, cgroup order. */
    size_t first = strcspn(kinds, ",");
    if (first >= sizeof(f->namespace_kind))
        first = sizeof(f->namespace_kind) - 1;
    memcpy(f->namespace_kind, kinds, first);
    f->namespace_kind[first] = '\0';
}

static enum eg_inv_hostpid_use inventory_use(uint32_t action)
{
    switch (action) {
    case EG_ACT_PTRACE:
        return EG_INV_PID_PTRACE;
    case EG_ACT_VM_WRITE:
        return EG_INV_PID_VM_WRITE;
    case EG_ACT_PROC_MEM:
        return EG_INV_PID_PROC_MEM;
    case EG_ACT_SETNS:
        return EG_INV_PID_SETNS;
    default:
        return EG_INV_PID_SIGNAL;
    }
}

/*
 * `count` occurrences of the process access `e` by container `w` (the target's container `tc`
 * when known, for the finding's context).
 */
void eg_hostns_record_access(struct eg_hostns_detector *d, const struct eg_hostns_event *e,
                             const struct eg_where *w, enum eg_target_relation rel,
                             const struct eg_container *tc, uint64_t count, uint64_t event_ms)
{
    enum eg_finding_type type = eg_hostns_access_type(e->action);
    struct eg_inv_entry *ie = eg_inventory_recorder_entry(d->env.inventory, w);
    if (ie)
        eg_inv_note_hostpid_use(ie, inventory_use(e->action), count, event_ms);
    struct eg_finding_key key;
    eg_finding_key_init(&key, type, w);
    eg_finding_key_add_u64(&key, e->target_tgid);
    eg_finding_key_add_u64(&key, e->target_start_time_ns);
    eg_finding_key_add_u64(&key, e->target_flags & EG_TGT_ALL);
    struct eg_finding *f = record(d, key.text, type, &e->hdr, w, event_ms, count);
    if (!f)
        return;
    eg_finding_set_process(f, d->env.procs, &e->hdr, NULL);
    struct json_object *ctx = json_object_new_object();
    add_target(ctx, e, rel, tc);
    json_object_object_add(ctx, "syscall", json_object_new_string(eg_hostns_action_syscall(e)));
    switch (e->action) {
    case EG_ACT_PTRACE: {
        const char *req = eg_hostns_ptrace_request_name(e->arg);
        if (req)
            json_object_object_add(ctx, "ptraceRequest", json_object_new_string(req));
        break;
    }
    case EG_ACT_PROC_MEM: {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%u/mem", e->target_tgid);
        json_object_object_add(ctx, "filePath", json_object_new_string(path));
        json_object_object_add(ctx, "fileOperation", json_object_new_string("openForWrite"));
        snprintf(f->file_path, sizeof(f->file_path), "%s", path);
        break;
    }
    case EG_ACT_KILL:
    case EG_ACT_TKILL:
    case EG_ACT_PIDFD_SIGNAL:
        json_object_object_add(ctx, "signal", json_object_new_int64(e->arg));
        if (e->target_flags & EG_TGT_GROUP)
            json_object_object_add(ctx, "processGroup", json_object_new_boolean(1));
        break;
    default:
        break;
    }
    f->context = ctx;
    set_target_subject(f, e);
}
