/* Container table (cgroup id -> container) and process table (tgid + start time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/bpf.h>

#include "bpf/events.h"
#include "collectors/container_table.h"
#include "collectors/proc_table.h"

#define CID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define CID_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define TASK "0123456789abcdef0123456789abcdef"

static void containers_by_cgroup_nested_and_expiry(void **state)
{
    (void)state;
    struct eg_container_table *t = eg_container_table_new(-1);
    assert_null(eg_container_table_add_cgroup(t, 10, "/ecs/" TASK, 0)); /* task only */
    assert_null(eg_container_table_add_cgroup(t, 11, "/user.slice", 0));
    struct eg_container *c = eg_container_table_add_cgroup(t, 12, "/ecs/" TASK "/" CID_A, 5);
    assert_non_null(c);
    assert_string_equal(c->id.container_id, CID_A);
    assert_string_equal(c->id.task_id, TASK);
    /* a cgroup created inside the container belongs to it */
    struct eg_container *n = eg_container_table_add_cgroup(t, 13, "/ecs/" TASK "/" CID_A "/sub", 6);
    assert_ptr_equal(n, c);
    assert_int_equal(c->cgroup_id, 12);
    assert_ptr_equal(eg_container_table_lookup(t, 13), c);
    /* removal keeps it for in-flight events, expiry forgets it */
    eg_container_table_remove_cgroup(t, 12, 100);
    assert_true(c->gone);
    assert_ptr_equal(eg_container_table_lookup(t, 13), c);
    assert_int_equal(eg_container_table_expire(t, 150, 100), 0);
    assert_int_equal(eg_container_table_expire(t, 200, 100), 1);
    assert_null(eg_container_table_lookup(t, 13));
    assert_null(eg_container_table_lookup(t, 12));
    eg_container_table_free(t);
}

/* A cgroup id the kernel reuses for another container's cgroup is that container's at once. */
static void reused_cgroup_id_is_looked_up_afresh(void **state)
{
    (void)state;
    struct eg_container_table *t = eg_container_table_new(-1);
    struct eg_container *a = eg_container_table_add_cgroup(t, 20, "/ecs/" TASK "/" CID_A, 0);
    assert_ptr_equal(eg_container_table_lookup(t, 20), a);
    eg_container_table_remove_cgroup(t, 20, 1);
    assert_null(eg_container_table_lookup(t, 20));
    struct eg_container *b = eg_container_table_add_cgroup(t, 20, "/ecs/" TASK "/" CID_B, 2);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(eg_container_table_lookup(t, 20), b);
    assert_ptr_equal(eg_container_table_lookup(t, 20), b);
    assert_int_equal(eg_container_table_expire(t, 1000, 100), 1); /* a: gone since 1 */
    assert_ptr_equal(eg_container_table_lookup(t, 20), b);
    /* Its removal was never seen: the new container takes the id over all the same. */
    struct eg_container *c = eg_container_table_add_cgroup(t, 20, "/ecs/" TASK "/" CID_C, 3);
    assert_non_null(c);
    assert_ptr_not_equal(c, b);
    assert_ptr_equal(eg_container_table_lookup(t, 20), c);
    eg_container_table_free(t);
}

static uint64_t read_generation(int fd)
{
    uint32_t zero = 0;
    uint64_t gen = 0;
    assert_int_equal(bpf_map_lookup_elem(fd, &zero, &gen), 0);
    return gen;
}

/*
 * The kernel programs cache "is this css a container" per CPU and trust it only while the
 * generation is unchanged: every add and removal must reach the kernel map *and* bump it.
 */
static void kernel_map_changes_bump_the_generation(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: creating BPF maps needs root (CI runs as root)\n");
        skip();
    }
    int map = bpf_map_create(BPF_MAP_TYPE_HASH, "t_containers", sizeof(uint64_t),
                             sizeof(struct eg_container_val), 64, NULL);
    int gen =
        bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_gen", sizeof(uint32_t), sizeof(uint64_t), 1, NULL);
    assert_true(map >= 0);
    assert_true(gen >= 0);
    struct eg_container_table *t = eg_container_table_new(map);
    eg_container_table_set_generation_map(t, gen);
    assert_int_equal(read_generation(gen), 0);

    assert_null(eg_container_table_add_cgroup(t, 11, "/user.slice", 0)); /* not a container */
    assert_int_equal(read_generation(gen), 0);
    assert_non_null(eg_container_table_add_cgroup(t, 12, "/ecs/" TASK "/" CID_A, 5));
    uint64_t cgid = 12;
    struct eg_container_val v;
    assert_int_equal(bpf_map_lookup_elem(map, &cgid, &v), 0);
    uint64_t after_add = read_generation(gen);
    assert_true(after_add >= 1);

    eg_container_table_remove_cgroup(t, 12, 100);
    assert_int_not_equal(bpf_map_lookup_elem(map, &cgid, &v), 0);
    assert_true(read_generation(gen) > after_add);
    eg_container_table_free(t);
    close(map);
    close(gen);
}

static void container_table_bounds(void **state)
{
    (void)state;
    struct eg_container_table *t = eg_container_table_new(-1);
    char path[256];
    for (unsigned i = 0; i < EG_MAX_CONTAINERS + 5; i++) {
        snprintf(path, sizeof(path), "/docker/%064x", i + 1);
        struct eg_container *c = eg_container_table_add_cgroup(t, 1000 + i, path, 0);
        if (i < EG_MAX_CONTAINERS)
            assert_non_null(c);
        else
            assert_null(c);
    }
    struct eg_container_table_stats st;
    eg_container_table_get_stats(t, &st);
    assert_int_equal(st.full, 5);
    eg_container_table_free(t);
}

static struct eg_event_header hdr(uint32_t tgid, uint64_t start, uint32_t ppid, uint64_t pstart)
{
    struct eg_event_header h;
    memset(&h, 0, sizeof(h));
    h.tgid = tgid;
    h.start_time_ns = start;
    h.ppid = ppid;
    h.parent_start_time_ns = pstart;
    snprintf(h.comm, sizeof(h.comm), "p%u", tgid);
    return h;
}

static void processes_lineage_and_pid_reuse(void **state)
{
    (void)state;
    struct eg_proc_table *t = eg_proc_table_new();
    struct eg_event_header a = hdr(100, 1000, 1, 1), b = hdr(200, 2000, 100, 1000),
                           c = hdr(300, 3000, 200, 2000);
    eg_proc_table_upsert(t, &a);
    eg_proc_table_upsert(t, &b);
    struct eg_proc *pc = eg_proc_table_upsert(t, &c);
    const struct eg_proc *anc[EG_LINEAGE_MAX];
    assert_int_equal(eg_proc_table_lineage(t, pc, anc, EG_LINEAGE_MAX), 2);
    assert_int_equal(anc[0]->tgid, 200);
    assert_int_equal(anc[1]->tgid, 100);
    /* pid 200 is reused by another process: the old one must not be found any more */
    struct eg_event_header b2 = hdr(200, 9000, 1, 1);
    eg_proc_table_upsert(t, &b2);
    assert_null(eg_proc_table_find(t, 200, 2000));
    assert_non_null(eg_proc_table_find(t, 200, 9000));
    assert_int_equal(eg_proc_table_lineage(t, pc, anc, EG_LINEAGE_MAX), 0);
    eg_proc_table_free(t);
}

static void exec_records_resolved_path_and_args(void **state)
{
    (void)state;
    struct eg_proc_table *t = eg_proc_table_new();
    struct eg_exec_event e;
    memset(&e, 0, sizeof(e));
    e.hdr = hdr(42, 4200, 1, 1);
    snprintf(e.filename, sizeof(e.filename), "/proc/self/exe");
    snprintf(e.exe_path, sizeof(e.exe_path), "/bin/busybox");
    memcpy(e.args, "mount\0-t\0tmpfs\0", 15);
    e.args_len = 15;
    struct eg_proc *p = eg_proc_table_exec(t, &e);
    assert_string_equal(p->exe, "/bin/busybox");
    assert_string_equal(p->args, "mount -t tmpfs");
    eg_proc_table_exit(t, 42, 4200);
    assert_true(eg_proc_table_find(t, 42, 4200)->exited);
    char u1[37], u2[37];
    eg_proc_uuid(42, 4200, u1);
    eg_proc_uuid(42, 4200, u2);
    assert_string_equal(u1, u2);
    eg_proc_uuid(43, 4200, u2);
    assert_string_not_equal(u1, u2);
    eg_proc_table_free(t);
}

static void exec_strings_are_replaced_and_empty_until_known(void **state)
{
    (void)state;
    struct eg_proc_table *t = eg_proc_table_new();
    struct eg_event_header h = hdr(50, 5000, 1, 1);
    struct eg_proc *p = eg_proc_table_upsert(t, &h); /* a fork: no exec seen yet */
    assert_string_equal(p->exe, "");
    assert_string_equal(p->args, "");
    struct eg_exec_event e;
    memset(&e, 0, sizeof(e));
    e.hdr = h;
    snprintf(e.filename, sizeof(e.filename), "/bin/sh");
    memcpy(e.args, "sh\0-c\0true\0", 11);
    e.args_len = 11;
    p = eg_proc_table_exec(t, &e);
    assert_string_equal(p->exe, "/bin/sh");
    assert_string_equal(p->args, "sh -c true");
    memset(e.filename, 'x', sizeof(e.filename)); /* unterminated: truncated like before */
    memset(e.args, 'y', sizeof(e.args));
    e.args_len = sizeof(e.args);
    p = eg_proc_table_exec(t, &e);
    assert_int_equal(strlen(p->exe), EG_PATH_LEN - 1);
    assert_int_equal(strlen(p->args), EG_ARGS_LEN - 1);
    /* The kernel says the arguments went on (an argument bomb): the cut is marked. */
    memcpy(e.args, "true\0AAAA", 9);
    e.args_len = 9 | EG_EXEC_ARGS_CUT;
    p = eg_proc_table_exec(t, &e);
    assert_string_equal(p->args, "true AAAA...[truncated]");
    e.args_len = (EG_ARGS_LEN - 1) | EG_EXEC_ARGS_CUT;
    memset(e.args, 'y', sizeof(e.args));
    p = eg_proc_table_exec(t, &e);
    assert_int_equal(strlen(p->args), EG_ARGS_LEN - 1); /* what a finding holds */
    assert_string_equal(p->args + EG_ARGS_LEN - 1 - strlen("...[truncated]"), "...[truncated]");
    e.args_len = 0;
    p = eg_proc_table_exec(t, &e);
    assert_string_equal(p->args, "");
    h = hdr(50, 6000, 1, 1); /* pid reused: a new process, nothing inherited */
    p = eg_proc_table_upsert(t, &h);
    assert_string_equal(p->exe, "");
    eg_proc_table_free(t);
}

static void full_process_table_evicts_exited_first(void **state)
{
    (void)state;
    struct eg_proc_table *t = eg_proc_table_new();
    for (uint32_t i = 0; i < EG_PROC_CAPACITY; i++) {
        struct eg_event_header h = hdr(1000 + i, i + 1, 1, 1);
        eg_proc_table_upsert(t, &h);
    }
    eg_proc_table_exit(t, 1000 + 500, 501);
    struct eg_event_header h = hdr(999999, 7, 1, 1);
    eg_proc_table_upsert(t, &h);
    assert_null(eg_proc_table_find(t, 1500, 501)); /* the exited one made room */
    assert_non_null(eg_proc_table_find(t, 1000, 1));
    struct eg_proc_table_stats st;
    eg_proc_table_get_stats(t, &st);
    assert_int_equal(st.evicted_live, 0);
    eg_proc_table_free(t);
}

/*
 * A host's lifetime of processes, far more than the table holds, with pids reused: lookups stay
 * a few probes long (no tombstones piling up), the longest-exited entries make room first, live
 * ones are never evicted while exited ones exist, and every live process stays findable.
 */
static void process_churn_keeps_lookups_short_and_live_processes(void **state)
{
    (void)state;
    struct eg_proc_table *t = eg_proc_table_new();
    /* 16 long-lived processes, as an ECS container's entrypoint and sidecars. */
    for (uint32_t i = 0; i < 16; i++) {
        struct eg_event_header h = hdr(100 + i, 10 + i, 1, 1);
        eg_proc_table_upsert(t, &h);
    }
    uint64_t start = 1000;
    const uint32_t lifetimes = 10 * EG_PROC_CAPACITY;
    for (uint32_t i = 0; i < lifetimes; i++) {
        uint32_t tgid = 1000 + (i * 7919u) % 4000000u; /* pids wrap and are reused */
        struct eg_event_header h = hdr(tgid, ++start, 100, 10);
        eg_proc_table_upsert(t, &h);
        eg_proc_table_exit(t, tgid, start);
    }
    struct eg_proc_table_stats before;
    eg_proc_table_get_stats(t, &before);
    assert_int_equal(before.evicted_live, 0);
    assert_int_equal(before.entries, EG_PROC_CAPACITY);
    /* Every long-lived process is still there, each found in a few probes. */
    for (uint32_t i = 0; i < 16; i++)
        assert_non_null(eg_proc_table_find(t, 100 + i, 10 + i));
    /* Misses too (an event for a process the table never saw). */
    for (uint32_t i = 0; i < 1000; i++)
        assert_null(eg_proc_table_find(t, 5000000 + i, 1));
    struct eg_proc_table_stats after;
    eg_proc_table_get_stats(t, &after);
    uint64_t lookups = after.lookups - before.lookups, probes = after.probes - before.probes;
    assert_true(probes <= lookups * 8);
    /* The most recent exits are kept, the oldest made room. */
    assert_non_null(eg_proc_table_find(t, 1000 + ((lifetimes - 1) * 7919u) % 4000000u, start));
    assert_null(eg_proc_table_find(t, 1000, 1001));
    eg_proc_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(containers_by_cgroup_nested_and_expiry),
        cmocka_unit_test(reused_cgroup_id_is_looked_up_afresh),
        cmocka_unit_test(container_table_bounds),
        cmocka_unit_test(kernel_map_changes_bump_the_generation),
        cmocka_unit_test(processes_lineage_and_pid_reuse),
        cmocka_unit_test(exec_records_resolved_path_and_args),
        cmocka_unit_test(exec_strings_are_replaced_and_empty_until_known),
        cmocka_unit_test(full_process_table_evicts_exited_first),
        cmocka_unit_test(process_churn_keeps_lookups_short_and_live_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
