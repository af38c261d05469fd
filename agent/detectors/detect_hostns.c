#include "agent/detectors/detect_hostns.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "agent/common/json_text.h"
#include "agent/kernel/bpf_hostns.h"
#include "collectors/hash.h"
#include "collectors/hash_index.h"

#define CLONE_NEWNS_ 0x00020000u
#define CLONE_NEWCGROUP_ 0x02000000u
#define CLONE_NEWUTS_ 0x04000000u
#define CLONE_NEWIPC_ 0x08000000u
#define CLONE_NEWPID_ 0x20000000u
#define CLONE_NEWNET_ 0x40000000u

#define PROC_START_SLACK_NS 20000000ULL /* /proc start times are in clock ticks (10 ms) */
#define TRACK_PROBES 64

/*
 * A process-access dedup key the kernel sent: its first record, the relation decided then,
 * where it happened (captured at that record) and the kernel repeat count already folded in.
 */
struct access_track {
    enum eg_target_relation rel;
    uint64_t last;
    struct eg_hostns_dedup_key key;
    struct eg_hostns_event first;
    struct eg_where where;
};

struct eg_hostns_detector {
    struct eg_detector_env env;
    struct eg_host_ns host;
    char proc_root[256];
    char cgroup_mount[256];
    bool scanned;
    struct eg_hostns_detector_stats stats;
    /* Per container slot: the generation already reported / probed (0: none). */
    uint64_t reported_gen[EG_MAX_CONTAINERS];
    uint64_t probed_gen[EG_MAX_CONTAINERS];
    int dedup_fd;               /* the kernel's eg_hostns_dedup, -1 without one */
    struct eg_hash_index index; /* hash of the key -> track[] */
    uint32_t n_used;            /* track[] in the order keys came; the tick walks these */
    struct access_track *track; /* EG_HOSTNS_TRACK_SLOTS, touched as used */
};

/* ---- decisions (pure) ------------------------------------------------------------------- */

enum eg_target_relation eg_hostns_relation(uint64_t caller_cgroup,
                                           const struct eg_container *caller,
                                           uint32_t caller_pid_ns, uint64_t target_cgroup,
                                           const struct eg_container *target,
                                           uint32_t target_pid_ns, uint32_t host_pid_ns)
{
    if (target_cgroup == caller_cgroup || (caller && target && caller == target))
        return EG_REL_SAME_TASK;
    if (!target)
        return EG_REL_HOST;
    if (caller && caller->id.task_id[0] && target->id.task_id[0])
        return strcmp(caller->id.task_id, target->id.task_id) == 0 ? EG_REL_SAME_TASK
                                                                   : EG_REL_OTHER_TASK;
    /* No task id in the layout: only a task's containers share a non-host pid ns. */
    if (caller_pid_ns && caller_pid_ns == target_pid_ns && caller_pid_ns != host_pid_ns)
        return EG_REL_SAME_TASK;
    return EG_REL_OTHER_TASK;
}

enum eg_finding_type eg_hostns_access_type(uint32_t action)
{
    switch (action) {
    case EG_ACT_PTRACE:
        return EG_FT_PTRACE;
    case EG_ACT_VM_WRITE:
        return EG_FT_VM_WRITE;
    case EG_ACT_PROC_MEM:
        return EG_FT_PROC_MEM;
    case EG_ACT_KILL:
    case EG_ACT_TKILL:
    case EG_ACT_PIDFD_SIGNAL:
        return EG_FT_HOST_PROCESS_SIGNALED;
    case EG_ACT_SETNS:
        return EG_FT_HOST_NS_ENTERED;
    default:
        return EG_FT_COUNT;
    }
}

static const struct {
    uint32_t flag;
    const char *name;
} ns_kind_names[] = {
    {CLONE_NEWNS_, "mnt"},  {CLONE_NEWPID_, "pid"}, {CLONE_NEWNET_, "net"},
    {CLONE_NEWUTS_, "uts"}, {CLONE_NEWIPC_, "ipc"}, {CLONE_NEWCGROUP_, "cgroup"},
};
#define NS_KINDS (sizeof(ns_kind_names) / sizeof(ns_kind_names[0]))

int eg_hostns_ns_kinds(uint32_t mask, char *out, size_t outlen)
{
    int n = 0;
    size_t used = 0;
    bool full = outlen == 0;
    if (outlen)
        out[0] = '\0';
    for (size_t i = 0; i < NS_KINDS; i++) {
        if (!(mask & ns_kind_names[i].flag))
            continue;
        n++;
        if (full)
            continue;
        int w =
            snprintf(out + used, outlen - used, "%s%s", n > 1 ? "," : "", ns_kind_names[i].name);
        if (w < 0 || used + (size_t)w >= outlen) {
            out[used] = '\0'; /* whole names only */
            full = true;
            continue;
        }
        used += (size_t)w;
    }
    return n;
}

static struct json_object *ns_kind_array(uint32_t mask)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < NS_KINDS; i++)
        if (mask & ns_kind_names[i].flag)
            json_object_array_add(a, json_object_new_string(ns_kind_names[i].name));
    return a;
}

static const char *action_syscall(const struct eg_hostns_event *e)
{
    switch (e->action) {
    case EG_ACT_SETNS:
        return "setns";
    case EG_ACT_PTRACE:
        return "ptrace";
    case EG_ACT_VM_WRITE:
        return "process_vm_writev";
    case EG_ACT_PROC_MEM:
        return "openat";
    case EG_ACT_KILL:
        return "kill";
    case EG_ACT_TKILL:
        return "tgkill";
    case EG_ACT_PIDFD_SIGNAL:
        return "pidfd_send_signal";
    default:
        return "unknown";
    }
}

static const char *ptrace_request_name(uint32_t req)
{
    switch (req) {
    case 4:
        return "PTRACE_POKETEXT";
    case 5:
        return "PTRACE_POKEDATA";
    case 6:
        return "PTRACE_POKEUSER";
    case 13:
        return "PTRACE_SETREGS";
    case 15:
        return "PTRACE_SETFPREGS";
    case 16:
        return "PTRACE_ATTACH";
    case 0x4205:
        return "PTRACE_SETREGSET";
    case 0x4206:
        return "PTRACE_SEIZE";
    default:
        return NULL;
    }
}

/* ---- /proc helpers ---------------------------------------------------------------------- */

static uint64_t ticks_to_ns(unsigned long long ticks)
{
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    return (uint64_t)ticks * (1000000000ULL / (uint64_t)hz);
}

/* Start time (boot ns, tick precision) of /proc/<tgid>, or 0 when gone/unreadable. */
static uint64_t proc_start_ns(const char *proc_root, uint32_t tgid)
{
    char path[320], buf[1024];
    snprintf(path, sizeof(path), "%s/%u/stat", proc_root, tgid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    unsigned long long ticks;
    if (!rp || sscanf(rp + 2,
                      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                      "%*d %*d %llu",
                      &ticks) != 1)
        return 0;
    return ticks_to_ns(ticks);
}

static bool same_start(uint64_t proc_ns, uint64_t exact_ns)
{
    uint64_t diff = proc_ns > exact_ns ? proc_ns - exact_ns : exact_ns - proc_ns;
    return proc_ns && diff <= PROC_START_SLACK_NS;
}

static uint32_t ns_inode(const char *proc_root, uint32_t tgid, const char *kind)
{
    char path[320];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%u/ns/%s", proc_root, tgid, kind);
    return stat(path, &st) == 0 ? (uint32_t)st.st_ino : 0;
}

/*
 * Record which of net/ipc/uts the container shares with the host, from one
 * of its processes (tgid, start). The start time is checked before and after
 * reading, so a pid reused in between is never read as the container's.
 */
static void probe_container_ns(struct eg_hostns_detector *d, struct eg_container *c, uint32_t tgid,
                               uint64_t start_ns)
{
    if (!c || c->slot >= EG_MAX_CONTAINERS || d->probed_gen[c->slot] == c->generation)
        return;
    if (!same_start(proc_start_ns(d->proc_root, tgid), start_ns)) {
        d->stats.ns_probe_failed++;
        return;
    }
    uint32_t net = ns_inode(d->proc_root, tgid, "net");
    uint32_t ipc = ns_inode(d->proc_root, tgid, "ipc");
    uint32_t uts = ns_inode(d->proc_root, tgid, "uts");
    if (!net || !ipc || !uts || !same_start(proc_start_ns(d->proc_root, tgid), start_ns)) {
        d->stats.ns_probe_failed++;
        return;
    }
    uint32_t v = EG_CONTAINER_NS_KNOWN;
    if (d->host.inum[EG_HOST_NS_NET] && net == d->host.inum[EG_HOST_NS_NET])
        v |= EG_CONTAINER_NS_NET;
    if (d->host.inum[EG_HOST_NS_IPC] && ipc == d->host.inum[EG_HOST_NS_IPC])
        v |= EG_CONTAINER_NS_IPC;
    if (d->host.inum[EG_HOST_NS_UTS] && uts == d->host.inum[EG_HOST_NS_UTS])
        v |= EG_CONTAINER_NS_UTS;
    c->host_ns = v;
    d->probed_gen[c->slot] = c->generation;
    d->stats.ns_probed++;
}

/* ---- findings --------------------------------------------------------------------------- */

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

static void report_host_pidns(struct eg_hostns_detector *d, struct eg_container *c,
                              const struct eg_event_header *h, const char *exe, const char *how,
                              uint64_t event_ms)
{
    if (c->slot >= EG_MAX_CONTAINERS || d->reported_gen[c->slot] == c->generation)
        return;
    d->reported_gen[c->slot] = c->generation;
    struct eg_where w;
    eg_where_capture(&w, c, h->cgroup_id);
    struct eg_finding_key key;
    eg_finding_key_init(&key, EG_FT_HOST_PID_NS, &w);
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

void eg_hostns_on_lifecycle(void *ctx, const struct eg_event_header *h, const void *rec,
                            size_t size)
{
    struct eg_hostns_detector *d = ctx;
    d->stats.lifecycle_events++;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    if (!c) {
        d->stats.orphan_events++;
        return;
    }
    /*
     * runc re-executes itself after joining the cgroup and before creating
     * the container's namespaces; that exec runs in the host's mount (and
     * pid) namespace and is the runtime, not the container. ECS containers
     * always have their own mount namespace.
     */
    if (d->host.inum[EG_HOST_NS_MNT] && h->mnt_ns_inum == d->host.inum[EG_HOST_NS_MNT]) {
        d->stats.setup_skipped++;
        return;
    }
    probe_container_ns(d, c, h->tgid, h->start_time_ns);
    if (!(h->flags & EG_HDR_HOST_PIDNS))
        return;
    const char *exe = NULL;
    char exe_buf[EG_PATH_LEN + 1];
    /* Detectors run before the core's process table learns of this exec: use the event's. */
    if (h->kind == EG_EVENT_EXEC && size >= sizeof(struct eg_exec_event)) {
        const struct eg_exec_event *e = rec;
        eg_utf8_copy(e->exe_path[0] ? e->exe_path : e->filename, EG_PATH_LEN, exe_buf,
                     sizeof(exe_buf));
        exe = exe_buf;
    }
    report_host_pidns(d, c, h, exe, h->kind == EG_EVENT_EXEC ? "exec" : "fork",
                      eg_event_epoch_ms(h->ts_ns));
}

static struct json_object *target_json(struct eg_hostns_detector *d,
                                       const struct eg_hostns_event *e, enum eg_target_relation rel,
                                       const struct eg_container *tc)
{
    struct json_object *o = json_object_new_object();
    if (e->target_flags & EG_TGT_ALL) {
        json_object_object_add(o, "allProcesses", json_object_new_boolean(1));
        json_object_object_add(o, "hostProcess", json_object_new_boolean(1));
        return o;
    }
    (void)d;
    json_object_object_add(o, "pid", json_object_new_int64(e->target_tgid));
    if (e->target_vpid > 0)
        json_object_object_add(o, "namespacePid", json_object_new_int64(e->target_vpid));
    json_object_object_add(o, "name", eg_json_string_n(e->target_comm, EG_COMM_LEN, EG_COMM_LEN));
    if (e->target_exe[0])
        json_object_object_add(o, "executablePath",
                               eg_json_string_n(e->target_exe, EG_PATH_LEN, EG_PATH_LEN));
    if (e->target_start_time_ns) {
        char buf[32];
        double t = eg_boot_ns_to_epoch(e->target_start_time_ns);
        snprintf(buf, sizeof(buf), "%.3f", t);
        json_object_object_add(o, "startTime", json_object_new_double_s(t, buf));
        char uuid[37];
        eg_proc_uuid(e->target_tgid, e->target_start_time_ns, uuid);
        json_object_object_add(o, "uuid", json_object_new_string(uuid));
    }
    json_object_object_add(o, "hostProcess", json_object_new_boolean(rel == EG_REL_HOST));
    if (tc) {
        json_object_object_add(o, "containerId", json_object_new_string(tc->id.container_id));
        if (tc->id.task_id[0])
            json_object_object_add(o, "taskId", json_object_new_string(tc->id.task_id));
    }
    return o;
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

static void on_ns_enter(struct eg_hostns_detector *d, const struct eg_hostns_event *e,
                        struct eg_container *c)
{
    d->stats.ns_entries++;
    struct eg_where w;
    eg_where_capture(&w, c, e->hdr.cgroup_id);
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
    json_object_object_add(ctx, "namespaceKinds", ns_kind_array(e->ns_entered));
    json_object_object_add(ctx, "namespaceKindsAlreadyShared", ns_kind_array(e->ns_was_host));
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
        struct json_object *t = json_object_new_object();
        json_object_object_add(t, "hostProcess", json_object_new_boolean(1));
        json_object_object_add(ctx, "targetProcess", t);
        snprintf(f->target_process, sizeof(f->target_process), "host");
    } else if (e->target_flags & EG_TGT_RESOLVED) {
        struct eg_container *tc = eg_container_table_lookup(d->env.containers, e->target_cgroup_id);
        enum eg_target_relation rel =
            eg_hostns_relation(e->hdr.cgroup_id, c, e->hdr.pid_ns_inum, e->target_cgroup_id, tc,
                               e->target_pid_ns_inum, d->host.inum[EG_HOST_NS_PID]);
        json_object_object_add(ctx, "targetProcess", target_json(d, e, rel, tc));
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

/*
 * `count` occurrences of the process access `e` by container `w` (the target's container `tc`
 * when known, for the finding's context).
 */
static void record_access(struct eg_hostns_detector *d, const struct eg_hostns_event *e,
                          const struct eg_where *w, enum eg_target_relation rel,
                          const struct eg_container *tc, uint64_t count, uint64_t event_ms)
{
    enum eg_finding_type type = eg_hostns_access_type(e->action);
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
    json_object_object_add(ctx, "targetProcess", target_json(d, e, rel, tc));
    json_object_object_add(ctx, "syscall", json_object_new_string(action_syscall(e)));
    switch (e->action) {
    case EG_ACT_PTRACE: {
        const char *req = ptrace_request_name(e->arg);
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

/* The kernel's dedup key of a process-access record (bpf/hostns.bpf.c, report_access). */
static void dedup_key_of(const struct eg_hostns_event *e, struct eg_hostns_dedup_key *k)
{
    memset(k, 0, sizeof(*k));
    k->cgroup_id = e->hdr.cgroup_id;
    k->target_start_time_ns = e->target_start_time_ns;
    k->target_tgid =
        (e->target_flags & EG_TGT_RESOLVED) ? e->target_tgid : (uint32_t)e->target_vpid;
    k->action = e->action;
    k->arg = e->arg;
}

static struct access_track *track_find(struct eg_hostns_detector *d,
                                       const struct eg_hostns_dedup_key *k, uint64_t hash)
{
    struct eg_hash_iter it;
    for (uint32_t i = eg_hash_index_first(&d->index, hash, &it); i != EG_HASH_NONE;
         i = eg_hash_index_next(&d->index, &it))
        if (memcmp(&d->track[i].key, k, sizeof(*k)) == 0)
            return &d->track[i];
    return NULL;
}

/* A new key's record, or NULL when none is free within the probe bound. */
static struct access_track *track_add(struct eg_hostns_detector *d, uint64_t hash)
{
    if (d->n_used == EG_HOSTNS_TRACK_SLOTS || !eg_hash_index_insert(&d->index, hash, d->n_used))
        return NULL;
    return &d->track[d->n_used++];
}

static void on_access(struct eg_hostns_detector *d, const struct eg_hostns_event *e,
                      struct eg_container *c)
{
    d->stats.accesses++;
    enum eg_finding_type type = eg_hostns_access_type(e->action);
    if (type == EG_FT_COUNT || type == EG_FT_HOST_NS_ENTERED)
        return;
    struct eg_container *tc = NULL;
    enum eg_target_relation rel = EG_REL_HOST;
    if (!(e->target_flags & EG_TGT_ALL)) {
        if (!(e->target_flags & EG_TGT_RESOLVED))
            return; /* the kernel always resolves; an unresolved record is malformed */
        tc = eg_container_table_lookup(d->env.containers, e->target_cgroup_id);
        rel = eg_hostns_relation(e->hdr.cgroup_id, c, e->hdr.pid_ns_inum, e->target_cgroup_id, tc,
                                 e->target_pid_ns_inum, d->host.inum[EG_HOST_NS_PID]);
    }
    if (rel == EG_REL_SAME_TASK) {
        d->stats.same_task++;
        return;
    }
    uint64_t ms = eg_event_epoch_ms(e->hdr.ts_ns);
    struct eg_hostns_dedup_key k;
    dedup_key_of(e, &k);
    uint64_t hash = eg_hash_bytes(&k, sizeof(k));
    struct access_track *t = track_find(d, &k, hash);
    if (t) {
        /*
         * Sent again after the dedup window: the repeats it absorbed since the last fold belong
         * to the finding the key was first seen for. The count only moves forward here: a
         * record sent before a tick but read after it carries an older count than the tick
         * read, and taking it as a restart would count the difference twice. (A key the kernel
         * forgot starts again at 0; its repeats count again once past the old total, the LRU
         * gap docs/architecture.md names.)
         */
        uint64_t delta = e->dedup_repeats > t->last ? e->dedup_repeats - t->last : 0;
        t->last += delta;
        d->stats.repeats_from_kernel += delta;
        record_access(d, e, &t->where, t->rel, tc, 1 + delta, ms);
        return;
    }
    struct eg_where w;
    eg_where_capture(&w, c, e->hdr.cgroup_id);
    t = track_add(d, hash);
    if (t)
        *t = (struct access_track){
            .rel = rel, .last = e->dedup_repeats, .key = k, .first = *e, .where = w};
    else
        d->stats.untracked_full++;
    record_access(d, e, &w, rel, tc, 1, ms);
}

/*
 * Fold the kernel's process-access repeat counts: growth seen now happened since the previous
 * tick and is stamped now_ms, into the finding of the identity captured with the key's first
 * record (the caller's container may be gone by now).
 */
void eg_hostns_detector_tick(struct eg_hostns_detector *d, uint64_t now_ms)
{
    if (d->dedup_fd < 0)
        return;
    for (uint32_t i = 0; i < d->n_used; i++) {
        struct access_track *t = &d->track[i];
        struct eg_hostns_dedup_val v;
        if (bpf_map_lookup_elem(d->dedup_fd, &t->key, &v) != 0 || v.repeats <= t->last)
            continue;
        uint64_t delta = v.repeats - t->last;
        t->last = v.repeats;
        d->stats.repeats_from_kernel += delta;
        record_access(d, &t->first, &t->where, t->rel, NULL, delta, now_ms);
    }
}

void eg_hostns_on_event(void *ctx, const struct eg_event_header *h, const void *rec, size_t size)
{
    struct eg_hostns_detector *d = ctx;
    if (size < sizeof(struct eg_hostns_event))
        return; /* the reader checks sizes; kept for direct callers */
    const struct eg_hostns_event *e = rec;
    struct eg_container *c = eg_container_table_lookup(d->env.containers, h->cgroup_id);
    if (!c)
        d->stats.orphan_events++;
    else
        probe_container_ns(d, c, h->tgid, h->start_time_ns);
    if (h->kind == EG_EVENT_NS_ENTER)
        on_ns_enter(d, e, c);
    else
        on_access(d, e, c);
}

/* ---- start-up scan ---------------------------------------------------------------------- */

/* The first process of container `c` (cgroup.procs) that is in the host pid ns. */
static bool scan_container(struct eg_hostns_detector *d, struct eg_container *c)
{
    char path[EG_CONTAINER_PATH_MAX + 320];
    snprintf(path, sizeof(path), "%s%s/cgroup.procs", d->cgroup_mount, c->path);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool found = false;
    unsigned tgid;
    while (!found && fscanf(f, "%u", &tgid) == 1) {
        uint64_t start = proc_start_ns(d->proc_root, tgid);
        if (!start)
            continue;
        probe_container_ns(d, c, tgid, start);
        if (ns_inode(d->proc_root, tgid, "pid") != d->host.inum[EG_HOST_NS_PID] ||
            ns_inode(d->proc_root, tgid, "mnt") == d->host.inum[EG_HOST_NS_MNT])
            continue;
        struct eg_proc *p = eg_proc_table_find(d->env.procs, tgid, start);
        if (!p)
            p = eg_proc_table_scan_pid(d->env.procs, d->proc_root, tgid, c->cgroup_id);
        if (!p || !same_start(proc_start_ns(d->proc_root, tgid), p->start_ns))
            continue;
        struct eg_event_header h = {0};
        h.cgroup_id = c->cgroup_id;
        h.start_time_ns = p->start_ns;
        h.parent_start_time_ns = p->parent_start_ns;
        h.pid = h.tgid = tgid;
        h.ppid = p->ppid;
        h.ns_pid = p->ns_pid;
        h.uid = p->uid;
        h.euid = p->euid;
        h.pid_ns_inum = d->host.inum[EG_HOST_NS_PID];
        h.flags = EG_HDR_HOST_PIDNS;
        memcpy(h.comm, p->comm, sizeof(h.comm));
        report_host_pidns(d, c, &h, NULL, "startupScan", eg_now_ms());
        d->stats.scan_host_pidns++;
        found = true;
    }
    fclose(f);
    return found;
}

int eg_hostns_startup_scan(struct eg_hostns_detector *d)
{
    d->scanned = true;
    if (!d->cgroup_mount[0] || !d->host.inum[EG_HOST_NS_PID])
        return 0;
    int n = 0;
    for (uint32_t i = 0; i < EG_MAX_CONTAINERS; i++) {
        struct eg_container *c = eg_container_table_by_slot(d->env.containers, i);
        if (!c || c->gone || d->reported_gen[c->slot] == c->generation)
            continue;
        n += scan_container(d, c) ? 1 : 0;
    }
    return n;
}

/* ---- detector plumbing ------------------------------------------------------------------ */

struct eg_hostns_detector *eg_hostns_detector_new(const struct eg_detector_env *env,
                                                  const char *proc_root,
                                                  const struct eg_host_ns *host,
                                                  const char *cgroup_mount)
{
    struct eg_hostns_detector *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->env = *env;
    d->host = *host;
    d->dedup_fd = env->kernel.hostns_dedup_fd > 0 ? env->kernel.hostns_dedup_fd : -1;
    d->track = calloc(EG_HOSTNS_TRACK_SLOTS, sizeof(*d->track));
    if (!d->track ||
        eg_hash_index_init(&d->index, EG_HOSTNS_TRACK_SLOTS, TRACK_PROBES, true) != 0) {
        free(d->track);
        free(d);
        return NULL;
    }
    snprintf(d->proc_root, sizeof(d->proc_root), "%s", proc_root);
    snprintf(d->cgroup_mount, sizeof(d->cgroup_mount), "%s", cgroup_mount ? cgroup_mount : "");
    return d;
}

void eg_hostns_detector_free(struct eg_hostns_detector *d)
{
    if (d) {
        eg_hash_index_destroy(&d->index);
        free(d->track);
    }
    free(d);
}

void eg_hostns_detector_get_stats(struct eg_hostns_detector *d,
                                  struct eg_hostns_detector_stats *out)
{
    *out = d->stats;
}

static void *hostns_create(const struct eg_detector_env *env)
{
    struct eg_host_ns host;
    eg_hostns_read_host_ns("/proc/self/ns", &host);
    return eg_hostns_detector_new(env, env->kernel.proc_root ? env->kernel.proc_root : "/proc",
                                  &host, env->kernel.cgroup_mount);
}

static int hostns_subscribe(void *d, struct eg_ringbuf_reader *r)
{
    if (eg_ringbuf_reader_on(r, EG_EVENT_EXEC, eg_hostns_on_lifecycle, d))
        return EG_EVENT_EXEC;
    if (eg_ringbuf_reader_on(r, EG_EVENT_FORK, eg_hostns_on_lifecycle, d))
        return EG_EVENT_FORK;
    if (eg_ringbuf_reader_on(r, EG_EVENT_NS_ENTER, eg_hostns_on_event, d))
        return EG_EVENT_NS_ENTER;
    if (eg_ringbuf_reader_on(r, EG_EVENT_PROC_ACCESS, eg_hostns_on_event, d))
        return EG_EVENT_PROC_ACCESS;
    return 0;
}

static void hostns_tick(void *p, uint64_t now_ms)
{
    struct eg_hostns_detector *d = p;
    /* The core scans containers and their processes after detectors are created. */
    if (!d->scanned)
        eg_hostns_startup_scan(d);
    eg_hostns_detector_tick(d, now_ms);
}

static void hostns_stats(void *p, struct json_object *obj)
{
    struct eg_hostns_detector *d = p;
    const struct eg_hostns_detector_stats *s = &d->stats;
    struct json_object *o = json_object_new_object();
#define ADD(name, field) json_object_object_add(o, name, json_object_new_int64((int64_t)s->field))
    ADD("lifecycleEvents", lifecycle_events);
    ADD("hostPidNamespaceContainers", host_pidns_found);
    ADD("hostPidNamespaceAtStart", scan_host_pidns);
    ADD("runtimeSetupSkipped", setup_skipped);
    ADD("namespaceEntries", ns_entries);
    ADD("processAccesses", accesses);
    ADD("sameTaskAccesses", same_task);
    ADD("orphanEvents", orphan_events);
    ADD("containerNamespacesProbed", ns_probed);
    ADD("containerNamespaceProbeFailed", ns_probe_failed);
    ADD("findingsDropped", findings_dropped);
    ADD("repeatsFromKernel", repeats_from_kernel);
    ADD("untrackedTableFull", untracked_full);
#undef ADD
    json_object_object_add(obj, "hostNamespaces", o);
}

static void hostns_destroy(void *d)
{
    eg_hostns_detector_free(d);
}

const struct eg_detector_ops eg_hostns_detector_ops = {
    .name = "hostNamespaces",
    .create = hostns_create,
    .subscribe = hostns_subscribe,
    .tick = hostns_tick,
    .stats = hostns_stats,
    .destroy = hostns_destroy,
};
