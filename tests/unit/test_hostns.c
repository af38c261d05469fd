/*
 * (Just over 500 lines: one test program for one detector, sharing one fixture.)
 * Host-namespace detector decisions: same task vs other task vs host (by
 * cgroup and task id, never pid), which accesses become findings, host pid ns
 * sharing once per container, runtime set-up execs ignored, and the
 * net/ipc/uts probe against a fixture /proc that checks the start time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "agent/detectors/detect_hostns.h"
#include "agent/pipeline/finding_json.h"

#define TASK_A "0123456789abcdef0123456789abcdef"
#define TASK_B "fedcba9876543210fedcba9876543210"
#define CID_A1 "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define CID_A2 "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
#define CID_B1 "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"
#define DOCKER_X "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
#define DOCKER_Y "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"

#define HOST_PID_NS 4026531836u
#define HOST_MNT_NS 4026531841u
#define HOST_NET_NS 4026531840u

enum { CG_A1 = 101, CG_A2 = 102, CG_B1 = 201, CG_HOST = 7, CG_X = 301, CG_Y = 302 };

struct fixture {
    struct eg_container_table *containers;
    struct eg_proc_table *procs;
    struct eg_aggregator *findings;
    struct eg_hostns_detector *d;
    struct eg_host_ns host;
    char proc_root[128];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    fx->containers = eg_container_table_new(-1);
    fx->procs = eg_proc_table_new();
    struct eg_aggregator_config ac = {.window_ms = 60000, .interval_ms = 1000, .max_findings = 64};
    fx->findings = eg_aggregator_new(&ac);
    assert_non_null(
        eg_container_table_add_cgroup(fx->containers, CG_A1, "/ecs/" TASK_A "/" CID_A1, 1));
    assert_non_null(
        eg_container_table_add_cgroup(fx->containers, CG_A2, "/ecs/" TASK_A "/" CID_A2, 1));
    assert_non_null(
        eg_container_table_add_cgroup(fx->containers, CG_B1, "/ecs/" TASK_B "/" CID_B1, 1));
    assert_non_null(eg_container_table_add_cgroup(fx->containers, CG_X, "/docker/" DOCKER_X, 1));
    assert_non_null(eg_container_table_add_cgroup(fx->containers, CG_Y, "/docker/" DOCKER_Y, 1));
    fx->host.inum[EG_HOST_NS_PID] = HOST_PID_NS;
    fx->host.inum[EG_HOST_NS_MNT] = HOST_MNT_NS;
    fx->host.inum[EG_HOST_NS_NET] = HOST_NET_NS;
    snprintf(fx->proc_root, sizeof(fx->proc_root), "/nonexistent-proc");
    struct eg_detector_env env = {
        .findings = fx->findings, .procs = fx->procs, .containers = fx->containers};
    fx->d = eg_hostns_detector_new(&env, fx->proc_root, &fx->host, NULL);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    eg_hostns_detector_free(fx->d);
    eg_aggregator_free(fx->findings);
    eg_proc_table_free(fx->procs);
    eg_container_table_free(fx->containers);
    free(fx);
    return 0;
}

struct collected {
    int n;
    struct eg_finding *f[16];
};

static void collect(void *ctx, struct eg_finding *f)
{
    struct collected *c = ctx;
    if (c->n < 16)
        c->f[c->n++] = f;
}

static struct collected all_findings(struct fixture *fx)
{
    struct collected c = {0};
    eg_aggregator_foreach(fx->findings, collect, &c);
    return c;
}

static struct eg_hostns_event access_event(uint64_t caller_cg, uint32_t action, uint64_t target_cg,
                                           uint32_t target_tgid, uint64_t target_start)
{
    struct eg_hostns_event e;
    memset(&e, 0, sizeof(e));
    e.hdr.kind = EG_EVENT_PROC_ACCESS;
    e.hdr.size = sizeof(e);
    e.hdr.cgroup_id = caller_cg;
    e.hdr.tgid = e.hdr.pid = 500;
    e.hdr.start_time_ns = 1000;
    e.hdr.pid_ns_inum = 4026532000u;
    e.hdr.mnt_ns_inum = 4026532001u;
    e.hdr.ts_ns = 5000;
    snprintf(e.hdr.comm, sizeof(e.hdr.comm), "attacker");
    e.action = action;
    e.arg = 9;
    e.target_cgroup_id = target_cg;
    e.target_tgid = target_tgid;
    e.target_start_time_ns = target_start;
    e.target_flags = EG_TGT_RESOLVED;
    e.target_pid_ns_inum = HOST_PID_NS;
    snprintf(e.target_comm, sizeof(e.target_comm), "victim");
    snprintf(e.target_exe, sizeof(e.target_exe), "/usr/sbin/victim");
    return e;
}

static void feed(struct fixture *fx, const struct eg_hostns_event *e)
{
    eg_hostns_on_event(fx->d, &e->hdr, e, sizeof(*e));
}

static struct json_object *target_of(struct eg_finding *f)
{
    struct json_object *t = NULL;
    assert_true(json_object_object_get_ex(f->context, "targetProcess", &t));
    return t;
}

static bool get_bool(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, k, &v));
    return json_object_get_boolean(v);
}

static const char *get_str(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v))
        return NULL;
    return json_object_get_string(v);
}

/* ---- relation ---------------------------------------------------------------------------- */

static void relation_by_cgroup_and_task_never_pid(void **state)
{
    struct fixture *fx = *state;
    struct eg_container *a1 = eg_container_table_lookup(fx->containers, CG_A1);
    struct eg_container *a2 = eg_container_table_lookup(fx->containers, CG_A2);
    struct eg_container *b1 = eg_container_table_lookup(fx->containers, CG_B1);
    struct eg_container *x = eg_container_table_lookup(fx->containers, CG_X);
    struct eg_container *y = eg_container_table_lookup(fx->containers, CG_Y);
    uint32_t own = 4026532000u, other = 4026532999u;
    /* own container */
    assert_int_equal(eg_hostns_relation(CG_A1, a1, own, CG_A1, a1, own, HOST_PID_NS),
                     EG_REL_SAME_TASK);
    /* a sibling of the same task, even in another pid ns (no pidMode task) */
    assert_int_equal(eg_hostns_relation(CG_A1, a1, own, CG_A2, a2, other, HOST_PID_NS),
                     EG_REL_SAME_TASK);
    /* another task, even when both share the host pid ns */
    assert_int_equal(
        eg_hostns_relation(CG_A1, a1, HOST_PID_NS, CG_B1, b1, HOST_PID_NS, HOST_PID_NS),
        EG_REL_OTHER_TASK);
    /* a process outside every container */
    assert_int_equal(
        eg_hostns_relation(CG_A1, a1, HOST_PID_NS, CG_HOST, NULL, HOST_PID_NS, HOST_PID_NS),
        EG_REL_HOST);
    /* layouts without a task id: a shared private pid ns is one task, the host's is not */
    assert_int_equal(eg_hostns_relation(CG_X, x, own, CG_Y, y, own, HOST_PID_NS), EG_REL_SAME_TASK);
    assert_int_equal(eg_hostns_relation(CG_X, x, HOST_PID_NS, CG_Y, y, HOST_PID_NS, HOST_PID_NS),
                     EG_REL_OTHER_TASK);
    assert_int_equal(eg_hostns_relation(CG_X, x, own, CG_Y, y, other, HOST_PID_NS),
                     EG_REL_OTHER_TASK);
    /* a caller whose container was already forgotten: still judged by cgroup */
    assert_int_equal(eg_hostns_relation(CG_A1, NULL, own, CG_A1, a1, own, HOST_PID_NS),
                     EG_REL_SAME_TASK);
    assert_int_equal(eg_hostns_relation(999, NULL, own, CG_HOST, NULL, HOST_PID_NS, HOST_PID_NS),
                     EG_REL_HOST);
}

static void action_types_and_namespace_names(void **state)
{
    (void)state;
    assert_int_equal(eg_hostns_access_type(EG_ACT_PTRACE), EG_FT_PTRACE);
    assert_int_equal(eg_hostns_access_type(EG_ACT_VM_WRITE), EG_FT_VM_WRITE);
    assert_int_equal(eg_hostns_access_type(EG_ACT_PROC_MEM), EG_FT_PROC_MEM);
    assert_int_equal(eg_hostns_access_type(EG_ACT_KILL), EG_FT_HOST_PROCESS_SIGNALED);
    assert_int_equal(eg_hostns_access_type(EG_ACT_TKILL), EG_FT_HOST_PROCESS_SIGNALED);
    assert_int_equal(eg_hostns_access_type(EG_ACT_PIDFD_SIGNAL), EG_FT_HOST_PROCESS_SIGNALED);
    assert_int_equal(eg_hostns_access_type(EG_ACT_SETNS), EG_FT_HOST_NS_ENTERED);
    assert_int_equal(eg_hostns_access_type(0), EG_FT_COUNT);
    assert_int_equal(eg_hostns_access_type(1000), EG_FT_COUNT);
    char buf[64];
    assert_int_equal(eg_hostns_ns_kinds(0x00020000 | 0x40000000, buf, sizeof(buf)), 2);
    assert_string_equal(buf, "mnt,net");
    assert_int_equal(eg_hostns_ns_kinds(0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    /* every kind into a small buffer: counted, cut, still terminated */
    char small[6];
    assert_int_equal(eg_hostns_ns_kinds(0x7e020000, small, sizeof(small)), 6);
    assert_string_equal(small, "mnt");
}

/* ---- accesses ---------------------------------------------------------------------------- */

static void same_task_access_gives_nothing(void **state)
{
    struct fixture *fx = *state;
    struct eg_hostns_event e = access_event(CG_A1, EG_ACT_PTRACE, CG_A2, 600, 2000);
    feed(fx, &e);
    e = access_event(CG_A1, EG_ACT_KILL, CG_A1, 601, 2001);
    feed(fx, &e);
    assert_int_equal(all_findings(fx).n, 0);
    struct eg_hostns_detector_stats st;
    eg_hostns_detector_get_stats(fx->d, &st);
    assert_int_equal(st.same_task, 2);
}

static void host_and_other_task_targets_are_findings(void **state)
{
    struct fixture *fx = *state;
    struct eg_hostns_event host = access_event(CG_A1, EG_ACT_VM_WRITE, CG_HOST, 42, 3000);
    feed(fx, &host);
    struct eg_hostns_event other = access_event(CG_A1, EG_ACT_KILL, CG_B1, 77, 4000);
    feed(fx, &other);
    struct collected c = all_findings(fx);
    assert_int_equal(c.n, 2);
    for (int i = 0; i < c.n; i++) {
        struct eg_finding *f = c.f[i];
        assert_string_equal(f->where.container_id, CID_A1);
        assert_string_equal(f->where.task_id, TASK_A);
        assert_int_equal(f->process.pid, 500);
        struct json_object *t = target_of(f);
        /* targetProcess holds the model's ProcessDetails members; whose process it is sits
         * beside it in the context. */
        assert_null(get_str(t, "hostProcess"));
        assert_null(get_str(t, "containerId"));
        assert_null(get_str(t, "taskId"));
        if (f->type == EG_FT_VM_WRITE) {
            assert_true(get_bool(f->context, "targetHostProcess"));
            assert_null(get_str(f->context, "targetContainerId"));
            assert_string_equal(get_str(t, "executablePath"), "/usr/sbin/victim");
            assert_string_equal(f->target_process, "/usr/sbin/victim");
        } else {
            assert_int_equal(f->type, EG_FT_HOST_PROCESS_SIGNALED);
            assert_false(get_bool(f->context, "targetHostProcess"));
            assert_string_equal(get_str(f->context, "targetContainerId"), CID_B1);
            assert_string_equal(get_str(f->context, "targetTaskId"), TASK_B);
        }
    }
}

static void pid_reuse_is_two_targets_and_repeats_one(void **state)
{
    struct fixture *fx = *state;
    /* Same host pid, two start times: two processes, two findings. */
    struct eg_hostns_event first = access_event(CG_A1, EG_ACT_KILL, CG_HOST, 42, 3000000000ULL);
    struct eg_hostns_event reused = access_event(CG_A1, EG_ACT_KILL, CG_HOST, 42, 9000000000ULL);
    feed(fx, &first);
    feed(fx, &first);
    feed(fx, &reused);
    struct collected c = all_findings(fx);
    assert_int_equal(c.n, 2);
    uint64_t counts = c.f[0]->count + c.f[1]->count;
    assert_int_equal(counts, 3);
    const char *u0 = get_str(target_of(c.f[0]), "uuid");
    const char *u1 = get_str(target_of(c.f[1]), "uuid");
    assert_non_null(u0);
    assert_non_null(u1);
    assert_string_not_equal(u0, u1);
}

static void kill_all_and_unresolved_records(void **state)
{
    struct fixture *fx = *state;
    struct eg_hostns_event all = access_event(CG_A1, EG_ACT_KILL, 0, 0, 0);
    all.target_flags = EG_TGT_ALL | EG_TGT_HOST_PIDNS;
    all.target_vpid = -1;
    feed(fx, &all);
    /* The kernel always resolves a single target; a record that did not is not guessed at. */
    struct eg_hostns_event bad = access_event(CG_A1, EG_ACT_PTRACE, CG_HOST, 42, 3000);
    bad.target_flags = 0;
    feed(fx, &bad);
    struct eg_hostns_event unknown = access_event(CG_A1, 99, CG_HOST, 42, 3000);
    feed(fx, &unknown);
    struct collected c = all_findings(fx);
    assert_int_equal(c.n, 1);
    assert_true(get_bool(c.f[0]->context, "targetAllProcesses"));
    assert_true(get_bool(c.f[0]->context, "targetHostProcess"));
    assert_false(json_object_object_get_ex(c.f[0]->context, "targetProcess", NULL));
    assert_string_equal(c.f[0]->target_process, "*");
}

static void ns_entry_names_kinds_and_target(void **state)
{
    struct fixture *fx = *state;
    struct eg_hostns_event e = access_event(CG_A1, EG_ACT_SETNS, 0, 0, 0);
    e.hdr.kind = EG_EVENT_NS_ENTER;
    e.target_flags = EG_TGT_NSFS;
    e.ns_type = 0x00020000;
    e.ns_inum = HOST_MNT_NS;
    e.ns_entered = 0x00020000 | 0x40000000;
    e.ns_was_host = 0x40000000;
    feed(fx, &e);
    struct collected c = all_findings(fx);
    assert_int_equal(c.n, 1);
    struct eg_finding *f = c.f[0];
    assert_int_equal(f->type, EG_FT_HOST_NS_ENTERED);
    assert_string_equal(f->namespace_kind, "mnt");
    struct json_object *kinds = NULL;
    assert_true(json_object_object_get_ex(f->context, "namespaceKinds", &kinds));
    assert_int_equal(json_object_array_length(kinds), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(kinds, 1)), "net");
    /* A namespace file names no process: no targetProcess, the owner is the host. */
    assert_false(json_object_object_get_ex(f->context, "targetProcess", NULL));
    assert_true(get_bool(f->context, "targetHostProcess"));
}

/* ---- host pid namespace sharing ---------------------------------------------------------- */

static void lifecycle(struct fixture *fx, uint32_t kind, uint64_t cg, uint32_t flags,
                      uint32_t mnt_ns)
{
    struct eg_exec_event e;
    memset(&e, 0, sizeof(e));
    e.hdr.kind = kind;
    e.hdr.size = kind == EG_EVENT_EXEC ? sizeof(e) : sizeof(struct eg_fork_event);
    e.hdr.cgroup_id = cg;
    e.hdr.tgid = e.hdr.pid = e.hdr.ns_pid = 4242;
    e.hdr.start_time_ns = 777;
    e.hdr.flags = flags;
    e.hdr.pid_ns_inum = flags & EG_HDR_HOST_PIDNS ? HOST_PID_NS : 4026532000u;
    e.hdr.mnt_ns_inum = mnt_ns;
    snprintf(e.hdr.comm, sizeof(e.hdr.comm), "sh");
    snprintf(e.exe_path, sizeof(e.exe_path), "/bin/busybox");
    eg_hostns_on_lifecycle(fx->d, &e.hdr, &e, e.hdr.size);
}

static void host_pidns_once_per_container_and_setup_ignored(void **state)
{
    struct fixture *fx = *state;
    /* runc's re-exec after joining the cgroup: host mount ns, host pid ns: the runtime. */
    lifecycle(fx, EG_EVENT_EXEC, CG_A1, EG_HDR_HOST_PIDNS, HOST_MNT_NS);
    assert_int_equal(all_findings(fx).n, 0);
    /* private pid ns: nothing */
    lifecycle(fx, EG_EVENT_EXEC, CG_A2, 0, 4026532001u);
    assert_int_equal(all_findings(fx).n, 0);
    /* the container's own processes in the host pid ns: one finding, however many */
    lifecycle(fx, EG_EVENT_EXEC, CG_A1, EG_HDR_HOST_PIDNS, 4026532001u);
    lifecycle(fx, EG_EVENT_FORK, CG_A1, EG_HDR_HOST_PIDNS, 4026532001u);
    lifecycle(fx, EG_EVENT_EXEC, CG_A1, EG_HDR_HOST_PIDNS, 4026532001u);
    struct collected c = all_findings(fx);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.f[0]->type, EG_FT_HOST_PID_NS);
    assert_int_equal(c.f[0]->count, 1);
    assert_string_equal(c.f[0]->where.container_id, CID_A1);
    assert_string_equal(c.f[0]->process.exe, "/bin/busybox");
    assert_true(c.f[0]->host_flags & EG_HDR_HOST_PIDNS);
    /* a second container is its own finding; an unknown cgroup is counted, not reported */
    lifecycle(fx, EG_EVENT_FORK, CG_B1, EG_HDR_HOST_PIDNS, 4026532001u);
    lifecycle(fx, EG_EVENT_FORK, 31337, EG_HDR_HOST_PIDNS, 4026532001u);
    assert_int_equal(all_findings(fx).n, 2);
    struct eg_hostns_detector_stats st;
    eg_hostns_detector_get_stats(fx->d, &st);
    assert_int_equal(st.setup_skipped, 1);
    assert_int_equal(st.orphan_events, 1);
    assert_int_equal(st.host_pidns_found, 2);
}

/* ---- net/ipc/uts probe against a fixture /proc -------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void container_namespaces_probe_checks_start_time(void **state)
{
    struct fixture *fx = *state;
    char root[] = "/tmp/eg-hostns-procXXXXXX";
    assert_non_null(mkdtemp(root));
    char path[512];
    snprintf(path, sizeof(path), "%s/4242", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/4242/ns", root);
    mkdir(path, 0755);
    /* starttime (field 22) 50 ticks = 500 ms at 100 Hz */
    long hz = sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof(path), "%s/4242/stat", root);
    write_file(path, "4242 (sh) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 50 0 0\n");
    const char *kinds[] = {"mnt", "net", "ipc", "uts"};
    struct eg_host_ns host = fx->host;
    uint32_t mnt_inum = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/4242/ns/%s", root, kinds[i]);
        write_file(path, "");
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        /* the fixture's net file plays the host's network namespace */
        if (i == 1)
            host.inum[EG_HOST_NS_NET] = (uint32_t)st.st_ino;
        if (i == 0)
            mnt_inum = (uint32_t)st.st_ino;
    }
    /* While /proc says the process is in the host's mount namespace (the runtime before it
     * unshares), nothing is read from it. */
    uint32_t host_mnt = host.inum[EG_HOST_NS_MNT];
    host.inum[EG_HOST_NS_MNT] = mnt_inum;
    struct eg_detector_env env = {
        .findings = fx->findings, .procs = fx->procs, .containers = fx->containers};
    struct eg_hostns_detector *d = eg_hostns_detector_new(&env, root, &host, NULL);
    struct eg_container *a1 = eg_container_table_lookup(fx->containers, CG_A1);
    struct eg_exec_event e;
    memset(&e, 0, sizeof(e));
    e.hdr.kind = EG_EVENT_FORK;
    e.hdr.size = sizeof(struct eg_fork_event);
    e.hdr.cgroup_id = CG_A1;
    e.hdr.tgid = 4242;
    e.hdr.mnt_ns_inum = 4026532001u;
    /* a different process that got pid 4242 (start 3 s): not read as the container's */
    e.hdr.start_time_ns = 3000000000ULL;
    eg_hostns_on_lifecycle(d, &e.hdr, &e, e.hdr.size);
    assert_int_equal(a1->host_ns, 0);
    /* the right process (its start time within a tick): known, host network only */
    e.hdr.start_time_ns = 50ULL * (1000000000ULL / (uint64_t)hz) + 3000000ULL;
    eg_hostns_on_lifecycle(d, &e.hdr, &e, e.hdr.size);
    assert_int_equal(a1->host_ns, 0);
    struct eg_hostns_detector_stats runtime_st;
    eg_hostns_detector_get_stats(d, &runtime_st);
    assert_int_equal(runtime_st.ns_probe_runtime, 1);
    assert_int_equal(runtime_st.ns_probed, 0);
    eg_hostns_detector_free(d);
    host.inum[EG_HOST_NS_MNT] = host_mnt;
    d = eg_hostns_detector_new(&env, root, &host, NULL);
    e.hdr.start_time_ns = 3000000000ULL;
    eg_hostns_on_lifecycle(d, &e.hdr, &e, e.hdr.size);
    assert_int_equal(a1->host_ns, 0);
    e.hdr.start_time_ns = 50ULL * (1000000000ULL / (uint64_t)hz) + 3000000ULL;
    eg_hostns_on_lifecycle(d, &e.hdr, &e, e.hdr.size);
    assert_int_equal(a1->host_ns, EG_CONTAINER_NS_KNOWN | EG_CONTAINER_NS_NET);
    struct eg_hostns_detector_stats st;
    eg_hostns_detector_get_stats(d, &st);
    assert_int_equal(st.ns_probe_failed, 1);
    assert_int_equal(st.ns_probed, 1);
    assert_int_equal(st.ns_probe_runtime, 0);
    eg_hostns_detector_free(d);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

/* The container's host net/ipc/uts sharing goes into additionalInfo once known, not before. */
static void host_namespaces_in_additional_info(void **state)
{
    struct fixture *fx = *state;
    struct eg_hostns_event e = access_event(CG_A1, EG_ACT_PTRACE, CG_HOST, 42, 3000000000ULL);
    feed(fx, &e);
    struct collected c = all_findings(fx);
    assert_int_equal(c.n, 1);
    static char line[EG_FINDING_LINE_MAX + 1];
    const uint32_t views[] = {0, EG_CONTAINER_NS_KNOWN | EG_CONTAINER_NS_NET};
    for (int i = 0; i < 2; i++) {
        c.f[0]->where.host_ns = views[i];
        struct eg_finding_view v = {.severity = 5.0, .now_ms = 1};
        assert_true(eg_finding_to_json(c.f[0], &v, line, sizeof(line)) > 0);
        struct json_object *o = json_tokener_parse(line), *svc, *ai, *val;
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "service", &svc));
        assert_true(json_object_object_get_ex(svc, "additionalInfo", &ai));
        assert_true(json_object_object_get_ex(ai, "value", &val));
        struct json_object *extra = json_tokener_parse(json_object_get_string(val)), *x;
        assert_non_null(extra);
        if (i == 0) {
            assert_false(json_object_object_get_ex(extra, "hostNetwork", &x));
        } else {
            assert_true(get_bool(extra, "hostNetwork"));
            assert_false(get_bool(extra, "hostIpc"));
            assert_false(get_bool(extra, "hostUts"));
        }
        json_object_put(extra);
        json_object_put(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(relation_by_cgroup_and_task_never_pid, setup, teardown),
        cmocka_unit_test(action_types_and_namespace_names),
        cmocka_unit_test_setup_teardown(same_task_access_gives_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(host_and_other_task_targets_are_findings, setup, teardown),
        cmocka_unit_test_setup_teardown(pid_reuse_is_two_targets_and_repeats_one, setup, teardown),
        cmocka_unit_test_setup_teardown(kill_all_and_unresolved_records, setup, teardown),
        cmocka_unit_test_setup_teardown(ns_entry_names_kinds_and_target, setup, teardown),
        cmocka_unit_test_setup_teardown(host_pidns_once_per_container_and_setup_ignored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(container_namespaces_probe_checks_start_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(host_namespaces_in_additional_info, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
