/* agent/kernel/kprobe_support.c: which of libbpf's two ways to attach a kprobe /sys offers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/kernel/kprobe_support.h"

/* A fresh directory standing in for /sys, with `file` (relative) created in it when given. */
static void make_sys(char *root, size_t len, const char *file)
{
    snprintf(root, len, "/tmp/eg-kprobe-sys-XXXXXX");
    assert_non_null(mkdtemp(root));
    if (!file)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, file);
    /* Every parent directory, then the file. */
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
}

static void remove_sys(const char *root)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void offered_through(const char *file)
{
    char root[64], why[256] = "";
    make_sys(root, sizeof(root), file);
    assert_true(eg_kprobes_offered(root, why, sizeof(why)));
    assert_string_equal(why, "");
    remove_sys(root);
}

static void test_the_kprobe_pmu_offers_them(void **state)
{
    (void)state;
    offered_through("bus/event_source/devices/kprobe/type");
}

static void test_tracefs_kprobe_events_offers_them(void **state)
{
    (void)state;
    offered_through("kernel/tracing/kprobe_events");
    offered_through("kernel/debug/tracing/kprobe_events");
}

/* This project's 6.18 host: a uprobe PMU and tracefs, but neither way for kprobes. */
static void test_neither_way_says_why(void **state)
{
    (void)state;
    char root[64], why[256] = "";
    make_sys(root, sizeof(root), "bus/event_source/devices/uprobe/type");
    char tracing[128];
    snprintf(tracing, sizeof(tracing), "%s/kernel/tracing/events", root);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", tracing);
    assert_int_equal(system(cmd), 0);
    assert_false(eg_kprobes_offered(root, why, sizeof(why)));
    assert_non_null(strstr(why, "no kprobes in this kernel"));
    assert_non_null(strstr(why, "/bus/event_source/devices"));
    remove_sys(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_kprobe_pmu_offers_them),
        cmocka_unit_test(test_tracefs_kprobe_events_offers_them),
        cmocka_unit_test(test_neither_way_says_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
