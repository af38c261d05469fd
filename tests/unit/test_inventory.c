/*
 * The behaviour inventory's model and file: what each note records, the bounds and their counted
 * truncation, merging (the agent's resolution and load-back), the JSON round trip, and hostile
 * files: every malformed, oversized, wrongly typed or out-of-bounds file is rejected whole with a
 * message naming the member, never half-loaded and never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/inventory.h"

#define CAP_NET_ADMIN 12
#define CAP_SYS_ADMIN 21

static struct eg_inventory *new_inv(void)
{
    struct eg_inventory *inv = calloc(1, sizeof(*inv));
    assert_non_null(inv);
    assert_int_equal(eg_inventory_init(inv), 0);
    return inv;
}

static void free_inv(struct eg_inventory *inv)
{
    eg_inventory_free(inv);
    free(inv);
}

static void test_dir_of(void **state)
{
    (void)state;
    char d[EG_INV_PATH_MAX];
    eg_inv_dir_of("/var/cache/app/x", d, sizeof(d));
    assert_string_equal(d, "/var/cache/app");
    eg_inv_dir_of("/file", d, sizeof(d));
    assert_string_equal(d, "/");
    eg_inv_dir_of("/tmp/", d, sizeof(d)); /* a directory path: its own name is the last part */
    assert_string_equal(d, "/tmp");
    /* A name the file could not hold as it is: the parent of the first such component. */
    eg_inv_dir_of("/var/a\x01"
                  "b/c/f",
                  d, sizeof(d));
    assert_string_equal(d, "/var");
    eg_inv_dir_of("/caf\xc3\xa9/f", d, sizeof(d));
    assert_string_equal(d, "/");
    eg_inv_dir_of("/\n/f", d, sizeof(d));
    assert_string_equal(d, "/");
    /* Longer than the bound: cut at a '/', still a directory above the file. */
    char longp[600];
    memset(longp, 0, sizeof(longp));
    strcpy(longp, "/a");
    for (int i = 0; i < 100; i++)
        strcat(longp, "/bcde");
    strcat(longp, "/f");
    eg_inv_dir_of(longp, d, sizeof(d));
    assert_true(strlen(d) < EG_INV_PATH_MAX);
    assert_int_equal(strncmp(longp, d, strlen(d)), 0);
    assert_int_equal(longp[strlen(d)], '/');
}

static void test_notes_and_bounds(void **state)
{
    (void)state;
    struct eg_inventory *inv = new_inv();
    struct eg_inv_entry *e = eg_inventory_entry(inv, "web", "3", "app");
    assert_non_null(e);
    assert_ptr_equal(eg_inventory_entry(inv, "web", "3", "app"), e);
    eg_inv_note_cap(e, CAP_NET_ADMIN, 16, true, false, 2, 1000);
    eg_inv_note_cap(e, CAP_NET_ADMIN, 16, true, false, 1, 500);
    eg_inv_note_cap(e, CAP_SYS_ADMIN, 165, false, false, 1, 700);
    eg_inv_note_cap(e, CAP_SYS_ADMIN, 165, true, true, 4, 800);
    eg_inv_note_cap(e, 99, 1, true, false, 1, 1); /* not a capability: ignored */
    assert_int_equal(e->caps[CAP_NET_ADMIN].used.count, 3);
    assert_int_equal(e->caps[CAP_NET_ADMIN].used.first_ms, 500);
    assert_int_equal(e->caps[CAP_NET_ADMIN].used.last_ms, 1000);
    assert_int_equal(e->caps[CAP_NET_ADMIN].used.syscalls[0], 16);
    assert_int_equal(e->caps[CAP_NET_ADMIN].used.syscalls[1], -1);
    assert_int_equal(e->caps[CAP_SYS_ADMIN].denied.count, 1);
    assert_int_equal(e->caps[CAP_SYS_ADMIN].namespaced.count, 4);
    assert_int_equal(e->caps[CAP_SYS_ADMIN].used.count, 0);
    for (int nr = 0; nr < EG_INV_MAX_SYSCALLS + 3; nr++)
        eg_inv_note_cap(e, 1, nr, true, false, 1, 1);
    assert_int_equal(e->caps[1].used.syscalls_truncated, 3);

    eg_inv_note_write(e, "/tmp/a", 1, 10);
    eg_inv_note_write(e, "/tmp/b", 2, 20);
    eg_inv_note_write(e, NULL, 5, 30);
    eg_inv_note_write(e, "<unresolved inode 1:2>", 1, 40);
    assert_int_equal(e->writes, 9);
    assert_int_equal(e->n_dirs, 1);
    assert_int_equal(e->dirs[0].count, 3);
    assert_int_equal(e->writes_unplaced, 5);
    assert_int_equal(e->writes_unresolved, 1);
    char p[64];
    for (int i = 0; i < EG_INV_MAX_DIRS + 4; i++) {
        snprintf(p, sizeof(p), "/d%d/f", i);
        eg_inv_note_write(e, p, 1, 50);
    }
    assert_int_equal(e->n_dirs, EG_INV_MAX_DIRS);
    assert_int_equal(e->dirs_truncated, 5); /* /tmp took one place */

    for (int i = 0; i < EG_INV_MAX_EXECS + 2; i++) {
        snprintf(p, sizeof(p), "/x%d", i);
        eg_inv_note_exec_written(e, p, false, 1, 60);
    }
    assert_int_equal(e->n_execs, EG_INV_MAX_EXECS);
    assert_int_equal(e->execs_truncated, 2);

    eg_inv_note_hostpid_shared(e, 70);
    eg_inv_note_hostpid_use(e, EG_INV_PID_SIGNAL, 2, 80);
    eg_inv_note_hostpid_use(e, EG_INV_PID_SETNS, 1, 90);
    assert_true(e->hostpid.shared);
    assert_int_equal(e->hostpid.signals, 2);
    assert_int_equal(e->hostpid.setns, 1);

    /* Distinct tasks: the same id twice is one task; past the remembered ids, still counted. */
    eg_inv_note_task(e, "t1");
    eg_inv_note_task(e, "t1");
    for (int i = 0; i < EG_INV_MAX_TASK_IDS + 3; i++) {
        snprintf(p, sizeof(p), "task%d", i);
        eg_inv_note_task(e, p);
    }
    assert_int_equal(e->tasks, 1 + EG_INV_MAX_TASK_IDS + 3);
    assert_int_equal(e->n_task_ids, EG_INV_MAX_TASK_IDS);

    eg_inv_note_observed(e, 1000, 3500, 0xffull);
    eg_inv_note_observed(e, 3500, 4000, 0x0full);
    assert_int_equal(e->first_observed_ms, 1000);
    assert_int_equal(e->last_observed_ms, 4000);
    assert_int_equal(e->observed_ms, 3000);
    assert_int_equal(e->watched_caps, 0x0full);

    /* The entry table is bounded too. */
    for (int i = 0; i < EG_INV_MAX_ENTRIES + 2; i++) {
        snprintf(p, sizeof(p), "f%d", i);
        eg_inventory_entry(inv, p, "1", "c");
    }
    assert_int_equal(inv->n_entries, EG_INV_MAX_ENTRIES);
    assert_int_equal(inv->entries_truncated, 3);
    free_inv(inv);
}

static void test_merge(void **state)
{
    (void)state;
    struct eg_inv_entry *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    assert_non_null(a);
    assert_non_null(b);
    eg_inv_entry_init(a, "web", "1", "app");
    eg_inv_entry_init(b, "", "", "");
    eg_inv_note_write(a, "/tmp/x", 1, 100);
    eg_inv_note_write(b, "/tmp/y", 2, 50);
    eg_inv_note_write(b, "/data/z", 1, 60);
    eg_inv_note_cap(b, CAP_NET_ADMIN, 16, true, false, 1, 55);
    eg_inv_note_task(a, "t1");
    eg_inv_note_task(b, "t1");
    eg_inv_note_task(b, "t2");
    eg_inv_note_observed(a, 100, 200, ~0ull);
    eg_inv_note_observed(b, 10, 20, 0x3ull);
    eg_inv_entry_merge(a, b);
    assert_int_equal(a->n_dirs, 2);
    assert_int_equal(a->dirs[0].count, 3);
    assert_int_equal(a->dirs[0].first_ms, 50);
    assert_int_equal(a->writes, 4);
    assert_int_equal(a->caps[CAP_NET_ADMIN].used.count, 1);
    assert_int_equal(a->tasks, 2);
    assert_int_equal(a->first_observed_ms, 10);
    assert_int_equal(a->last_observed_ms, 200);
    assert_int_equal(a->watched_caps, 0x3ull);
    free(a);
    free(b);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct eg_inventory *inv = new_inv();
    struct eg_inv_entry *e = eg_inventory_entry(inv, "web", "3", "app");
    eg_inv_note_cap(e, CAP_NET_ADMIN, 16, true, false, 3, 1000);
    eg_inv_note_cap(e, CAP_SYS_ADMIN, 165, false, false, 1, 900);
    eg_inv_note_write(e, "/var/cache/app/f", 7, 1200);
    eg_inv_note_write(e, NULL, 2, 1300);
    eg_inv_note_exec_written(e, "/tmp/tool", false, 1, 1400);
    eg_inv_note_exec_written(e, "/tmp/lib.so", true, 2, 1500);
    eg_inv_note_hostpid_shared(e, 800);
    eg_inv_note_hostpid_use(e, EG_INV_PID_PTRACE, 1, 1600);
    eg_inv_note_task(e, "0123456789abcdef0123456789abcdef");
    eg_inv_note_observed(e, 500, 61500, 1ull << CAP_NET_ADMIN | 1ull << CAP_SYS_ADMIN);
    inv->unresolved_dropped = 4;
    /* What a container or a runtime names is kept readable: the file must read back. */
    struct eg_inv_entry *odd = eg_inventory_entry(inv,
                                                  "we\x01"
                                                  "b",
                                                  "1\n", "c\xff");
    assert_non_null(odd);
    assert_string_equal(odd->family, "we?b");
    assert_ptr_equal(eg_inventory_entry(inv,
                                        "we\x01"
                                        "b",
                                        "1\n", "c\xff"),
                     odd);
    eg_inv_note_write(odd, "/data/x\x7f/y\n", 1, 1);
    eg_inv_note_exec_written(odd, "/tmp/\x1b[31m", false, 1, 1);
    eg_inv_note_task(odd, "id\x02");
    char *text = eg_inventory_to_json(inv, "host-1", 99999);
    assert_non_null(text);

    struct eg_inventory *back = new_inv();
    struct eg_policy_errors errs;
    int rc = eg_inventory_parse(text, strlen(text), back, &errs);
    if (rc != 0)
        fail_msg("%s", errs.items[0].message);
    assert_int_equal(back->n_entries, 2);
    assert_string_equal(back->entries[1].dirs[0].path, "/data");
    assert_string_equal(back->entries[1].execs[0].path, "/tmp/?[31m");
    assert_int_equal(back->unresolved_dropped, 4);
    assert_int_equal(back->written_ms, 99999);
    const struct eg_inv_entry *b = &back->entries[0];
    assert_string_equal(b->family, "web");
    assert_string_equal(b->revision, "3");
    assert_string_equal(b->container, "app");
    assert_int_equal(b->caps[CAP_NET_ADMIN].used.count, 3);
    assert_int_equal(b->caps[CAP_SYS_ADMIN].denied.count, 1);
    /* Without the agent's syscall table the numbers round-trip as syscall_<nr>. */
    assert_int_equal(b->caps[CAP_NET_ADMIN].used.syscalls[0], 16);
    assert_int_equal(b->n_dirs, 1);
    assert_string_equal(b->dirs[0].path, "/var/cache/app");
    assert_int_equal(b->dirs[0].count, 7);
    assert_int_equal(b->writes, 9);
    assert_int_equal(b->writes_unplaced, 2);
    assert_int_equal(b->n_execs, 2);
    assert_true(b->execs[1].library);
    assert_true(b->hostpid.shared);
    assert_int_equal(b->hostpid.ptrace, 1);
    assert_int_equal(b->tasks, 1);
    assert_string_equal(b->task_ids[0], "0123456789abcdef0123456789abcdef");
    assert_int_equal(b->first_observed_ms, 500);
    assert_int_equal(b->last_observed_ms, 61500);
    assert_int_equal(b->observed_ms, 61000);
    assert_int_equal(b->watched_caps, 1ull << CAP_NET_ADMIN | 1ull << CAP_SYS_ADMIN);

    /* And the same text again: writing is deterministic. */
    char *again = eg_inventory_to_json(back, "host-1", 99999);
    assert_string_equal(text, again);
    free(again);
    free(text);
    free_inv(back);
    free_inv(inv);
}

#define ENTRY_HEAD                                                                                 \
    "{\"schema\":\"ecsguard-inventory/1\",\"entries\":[{\"family\":\"web\",\"revision\":\"1\","    \
    "\"container\":\"app\",\"observation\":{\"firstMs\":1,\"lastMs\":2,\"tasks\":1,"               \
    "\"watchedCapabilities\":[\"CAP_NET_ADMIN\"]}"

/* Rejected whole, with a message containing `why`; the inventory left empty. */
static void rejected(const char *text, size_t len, const char *why)
{
    struct eg_inventory *inv = new_inv();
    struct eg_policy_errors errs;
    int rc = eg_inventory_parse(text, len, inv, &errs);
    if (rc == 0)
        fail_msg("accepted: %.200s", text);
    assert_true(errs.count >= 1);
    if (!strstr(errs.items[0].message, why))
        fail_msg("message '%s' does not say '%s'", errs.items[0].message, why);
    assert_int_equal(inv->n_entries, 0);
    free_inv(inv);
}

static void reject(const char *text, const char *why)
{
    rejected(text, strlen(text), why);
}

static void test_hostile_files(void **state)
{
    (void)state;
    struct eg_inventory *inv = new_inv();
    struct eg_policy_errors errs;
    const char *ok = ENTRY_HEAD "}]}";
    assert_int_equal(eg_inventory_parse(ok, strlen(ok), inv, &errs), 0);
    assert_int_equal(inv->n_entries, 1);
    free_inv(inv);

    reject("", "not JSON");
    reject("{", "not JSON");
    reject("[]", "not an object");
    reject("{\"schema\":\"other/2\",\"entries\":[]}", "unknown schema");
    reject("{\"entries\":[]}", "missing member 'schema'");
    reject("{\"schema\":\"ecsguard-inventory/1\"}", "missing member 'entries'");
    reject("{\"schema\":\"ecsguard-inventory/1\",\"entries\":{}}", "not an array");
    reject("{\"schema\":\"ecsguard-inventory/1\",\"entries\":[]} x", "not JSON");
    rejected("{\"schema\":\"ecsguard-inventory/1\",\0\"entries\":[]}", 40, "NUL");
    reject("{\"schema\":\"ecsguard-inventory/1\",\"entries\":[7]}", "not an object");
    /* Wrong types and values. */
    reject(ENTRY_HEAD ",\"capabilities\":{}}]}", "not an array");
    reject("{\"schema\":\"ecsguard-inventory/1\",\"entries\":[{\"family\":7,\"revision\":\"1\","
           "\"container\":\"app\"}]}",
           "'family' is not a string");
    reject("{\"schema\":\"ecsguard-inventory/1\",\"entries\":[{\"family\":\"\",\"revision\":\"1\","
           "\"container\":\"app\",\"observation\":{}}]}",
           "empty family");
    reject("{\"schema\":\"ecsguard-inventory/1\",\"entries\":[{\"family\":\"w\\u0001\","
           "\"revision\":\"1\",\"container\":\"app\"}]}",
           "control characters");
    /* json-c lets an overlong form through ("\xc1\xae" is '.'); a task definition's reader
     * (libyaml) refuses it, and advice would write the path into one (found by fuzzing). */
    reject(ENTRY_HEAD ",\"rootFilesystemWrites\":{\"directories\":[{\"path\":\"/a\xc1\xae"
                      "b\"}]}}]}",
           "invalid UTF-8");
    reject(ENTRY_HEAD
           ",\"rootFilesystemWrites\":{\"directories\":[{\"path\":\"/\xed\xa0\x80\"}]}}]}",
           "invalid UTF-8");
    reject(ENTRY_HEAD ",\"rootFilesystemWrites\":{\"total\":-1}}]}", "non-negative");
    reject(ENTRY_HEAD ",\"rootFilesystemWrites\":{\"total\":1.5}}]}", "not an integer");
    reject(ENTRY_HEAD ",\"rootFilesystemWrites\":{\"total\":100000000000000000000000}}]}",
           "below 2^53");
    reject(ENTRY_HEAD ",\"rootFilesystemWrites\":{\"total\":\"1\"}}]}", "not an integer");
    reject(ENTRY_HEAD ",\"rootFilesystemWrites\":{\"directories\":[{\"path\":\"tmp\"}]}}]}",
           "not absolute");
    reject(ENTRY_HEAD ",\"rootFilesystemWrites\":{\"directories\":[{\"path\":\"/var/../etc\"}]}}]}",
           "'..'");
    reject(ENTRY_HEAD ",\"rootFilesystemWrites\":{\"directories\":[{\"path\":\"/a\"},"
                      "{\"path\":\"/a\"}]}}]}",
           "listed twice");
    reject(ENTRY_HEAD ",\"capabilities\":[{\"name\":\"CAP_NOPE\"}]}]}", "unknown capability");
    reject(ENTRY_HEAD ",\"capabilities\":[{\"name\":\"CAP_NET_ADMIN\",\"used\":{\"syscalls\":"
                      "[\"no_such_call_at_all\"]}}]}]}",
           "syscall");
    reject(ENTRY_HEAD ",\"writtenFilesExecuted\":{\"files\":[{\"path\":\"/x\",\"how\":\"run\"}]}}"
                      "]}",
           "'how'");
    reject("{\"schema\":\"ecsguard-inventory/1\",\"entries\":[{\"family\":\"web\",\"revision\":"
           "\"1\",\"container\":\"app\",\"observation\":{\"firstMs\":5,\"lastMs\":2,"
           "\"watchedCapabilities\":[]}}]}",
           "ends before");
    reject("{\"schema\":\"ecsguard-inventory/1\",\"entries\":[{\"family\":\"web\",\"revision\":"
           "\"1\",\"container\":\"app\",\"observation\":{\"watchedCapabilities\":[1]}}]}",
           "not a capability name");
    /* The same entry twice would be counted twice. */
    reject("{\"schema\":\"ecsguard-inventory/1\",\"entries\":[{\"family\":\"w\",\"revision\":\"1\","
           "\"container\":\"a\",\"observation\":{\"watchedCapabilities\":[]}},{\"family\":\"w\","
           "\"revision\":\"1\",\"container\":\"a\",\"observation\":{\"watchedCapabilities\":[]}}"
           "]}",
           "earlier entry");
    /* Too long a name, deep nesting, more items than the bounds, a huge file. */
    char *big = malloc(EG_INV_MAX_FILE_BYTES + 64);
    assert_non_null(big);
    int n = snprintf(big, 400, "{\"schema\":\"ecsguard-inventory/1\",\"entries\":[{\"family\":\"");
    memset(big + n, 'a', 300);
    strcpy(big + n + 300, "\",\"revision\":\"1\",\"container\":\"app\"}]}");
    reject(big, "longer than");
    n = snprintf(big, 100, "{\"schema\":\"ecsguard-inventory/1\",\"x\":");
    for (int i = 0; i < 5000; i++)
        big[n++] = '[';
    big[n] = '\0';
    reject(big, "not JSON");
    n = snprintf(big, 400, ENTRY_HEAD ",\"rootFilesystemWrites\":{\"directories\":[");
    for (int i = 0; i <= EG_INV_MAX_DIRS; i++)
        n += snprintf(big + n, 64, "%s{\"path\":\"/d%d\"}", i ? "," : "", i);
    strcpy(big + n, "]}}]}");
    reject(big, "more directories");
    memset(big, ' ', EG_INV_MAX_FILE_BYTES + 1);
    rejected(big, EG_INV_MAX_FILE_BYTES + 1, "larger than");
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_of),        cmocka_unit_test(test_notes_and_bounds),
        cmocka_unit_test(test_merge),         cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_hostile_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
