/*
 * The host-namespace detector's start-up scan against a fixture /proc and cgroupfs: a process of
 * a container in the host's pid namespace makes the container a host-pid one, unless the
 * children it creates get another pid namespace (runc's init, runc:[1:CHILD], between its
 * unshare(CLONE_NEWPID) and its fork: the runtime, not the container).
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

#include "agent/detectors/detect_hostns.h"

#define TASK_A "0123456789abcdef0123456789abcdef"
#define CID_A1 "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define CG_PATH "/ecs/" TASK_A "/" CID_A1
#define CG_A1 101
#define PID 4242

/* How /proc/<PID>/ns/pid_for_children looks in a case. */
enum children_ns { CHILDREN_HOST, CHILDREN_OTHER, CHILDREN_ABSENT };

struct fixture {
    char root[64];
    char proc[128], cgroup[128];
    struct eg_host_ns host;
    struct eg_container_table *containers;
    struct eg_proc_table *procs;
    struct eg_aggregator *findings;
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static uint32_t inode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint32_t)st.st_ino;
}

static void mkdirs(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
}

/* /proc/<PID> in the host's pid namespace, in its own mount namespace, in container A1. */
static struct fixture *make_fixture(enum children_ns children)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->root, sizeof(fx->root), "/tmp/eg-hostns-scanXXXXXX");
    assert_non_null(mkdtemp(fx->root));
    snprintf(fx->proc, sizeof(fx->proc), "%s/proc", fx->root);
    snprintf(fx->cgroup, sizeof(fx->cgroup), "%s/cgroup", fx->root);
    char path[512];
    snprintf(path, sizeof(path), "%s/%d/ns", fx->proc, PID);
    mkdirs(path);
    snprintf(path, sizeof(path), "%s%s", fx->cgroup, CG_PATH);
    mkdirs(path);
    snprintf(path, sizeof(path), "%s%s/cgroup.procs", fx->cgroup, CG_PATH);
    write_file(path, "4242\n");
    snprintf(path, sizeof(path), "%s/%d/stat", fx->proc, PID);
    write_file(path, "4242 (runc:[1:CHILD]) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 "
                     "50 0 0\n");
    const char *kinds[] = {"pid", "mnt", "net", "ipc", "uts"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        snprintf(path, sizeof(path), "%s/%d/ns/%s", fx->proc, PID, kinds[i]);
        write_file(path, "");
    }
    char pid_ns[512], children_path[512];
    snprintf(pid_ns, sizeof(pid_ns), "%s/%d/ns/pid", fx->proc, PID);
    snprintf(children_path, sizeof(children_path), "%s/%d/ns/pid_for_children", fx->proc, PID);
    if (children == CHILDREN_HOST)
        assert_int_equal(link(pid_ns, children_path), 0); /* the same namespace: one inode */
    else if (children == CHILDREN_OTHER)
        write_file(children_path, "");
    /* The process's pid namespace plays the host's; its mount namespace is its own. */
    fx->host.inum[EG_HOST_NS_PID] = inode_of(pid_ns);
    fx->host.inum[EG_HOST_NS_MNT] = 4026531841u;

    fx->containers = eg_container_table_new(-1);
    fx->procs = eg_proc_table_new();
    struct eg_aggregator_config ac = {.window_ms = 60000, .interval_ms = 1000, .max_findings = 16};
    fx->findings = eg_aggregator_new(&ac);
    assert_non_null(eg_container_table_add_cgroup(fx->containers, CG_A1, CG_PATH, 1));
    return fx;
}

static void free_fixture(struct fixture *fx)
{
    eg_aggregator_free(fx->findings);
    eg_proc_table_free(fx->procs);
    eg_container_table_free(fx->containers);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
    assert_int_equal(system(cmd), 0);
    free(fx);
}

static void count(void *ctx, struct eg_finding *f)
{
    int *n = ctx;
    if (f->type == EG_FT_HOST_PID_NS)
        (*n)++;
}

/* Run the scan over the fixture; the host-pid findings it made. */
static int scan(struct fixture *fx, struct eg_hostns_detector_stats *st)
{
    struct eg_detector_env env = {
        .findings = fx->findings, .procs = fx->procs, .containers = fx->containers};
    struct eg_hostns_detector *d = eg_hostns_detector_new(&env, fx->proc, &fx->host, fx->cgroup);
    assert_non_null(d);
    eg_hostns_startup_scan(d);
    eg_hostns_detector_get_stats(d, st);
    eg_hostns_detector_free(d);
    int n = 0;
    eg_aggregator_foreach(fx->findings, count, &n);
    return n;
}

static void runtime_whose_children_get_another_pid_ns_is_not_host_pid(void **state)
{
    (void)state;
    struct fixture *fx = make_fixture(CHILDREN_OTHER);
    struct eg_hostns_detector_stats st;
    assert_int_equal(scan(fx, &st), 0);
    assert_int_equal(st.scan_host_pidns, 0);
    free_fixture(fx);
}

static void process_whose_children_stay_in_the_host_pid_ns_is_host_pid(void **state)
{
    (void)state;
    struct fixture *fx = make_fixture(CHILDREN_HOST);
    struct eg_hostns_detector_stats st;
    assert_int_equal(scan(fx, &st), 1);
    assert_int_equal(st.scan_host_pidns, 1);
    free_fixture(fx);
}

/* Kernels before 4.12 have no pid_for_children: the pid namespace alone decides. */
static void without_pid_for_children_the_pid_ns_decides(void **state)
{
    (void)state;
    struct fixture *fx = make_fixture(CHILDREN_ABSENT);
    struct eg_hostns_detector_stats st;
    assert_int_equal(scan(fx, &st), 1);
    assert_int_equal(st.scan_host_pidns, 1);
    free_fixture(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runtime_whose_children_get_another_pid_ns_is_not_host_pid),
        cmocka_unit_test(process_whose_children_stay_in_the_host_pid_ns_is_host_pid),
        cmocka_unit_test(without_pid_for_children_the_pid_ns_decides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
