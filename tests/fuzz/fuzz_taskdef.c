/*
 * libFuzzer target for `ecsguard lint`'s reading and controls (build and run:
 * docs/posture.md). unit.fuzz_corpus.taskdef (tests/fuzz/replay.c) replays
 * tests/fuzz/corpus/taskdef/ through this same function on every CI run.
 *
 * The same bytes go to the task-definition reader and to the allow-list loader. Beyond "no
 * crash, no leak, no undefined behaviour" it checks their contract: a rejection has at least
 * one problem with a printable message; every result of an accepted definition has a
 * position, a printable message, a container index in range, and a control verdict at least
 * as bad as itself; allowing changes no verdict.
 */
#include "policy/taskdef_lint.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_errors(const struct eg_policy_errors *errs)
{
    if (errs->total == 0 || errs->count > errs->total ||
        errs->count > sizeof(errs->items) / sizeof(errs->items[0]))
        abort();
    for (unsigned i = 0; i < errs->count; i++) {
        const struct eg_policy_error *e = &errs->items[i];
        size_t len = strnlen(e->message, sizeof(e->message));
        if (len == 0 || len == sizeof(e->message))
            abort();
        for (size_t k = 0; k < len; k++)
            if ((unsigned char)e->message[k] < 0x20 || (unsigned char)e->message[k] >= 0x7f)
                abort();
    }
}

static void check_printable(const char *s, size_t cap)
{
    size_t len = strnlen(s, cap);
    if (len == cap)
        abort();
    for (size_t k = 0; k < len; k++)
        if ((unsigned char)s[k] < 0x20 || (unsigned char)s[k] >= 0x7f)
            abort();
}

/* An allow entry for every control of the definition's family, so allowing is exercised. */
static struct eg_lint_allow *allow_all(const char *family)
{
    static struct eg_lint_allow_entry entries[EG_LINT_CONTROL_COUNT];
    static struct eg_lint_allow a = {.entries = entries, .count = EG_LINT_CONTROL_COUNT};
    static char reason[] = "fuzz";
    for (int c = 0; c < EG_LINT_CONTROL_COUNT; c++) {
        entries[c] = (struct eg_lint_allow_entry){
            .family = (char *)family, .control = (enum eg_lint_control)c, .reason = reason};
    }
    return &a;
}

static void lint_one(const struct eg_taskdef *td)
{
    struct eg_lint_report rep = {0};
    if (eg_lint_taskdef(td, &rep) != 0)
        abort();
    enum eg_lint_verdict before[EG_LINT_CONTROL_COUNT];
    memcpy(before, rep.verdicts, sizeof(before));
    for (size_t i = 0; i < rep.count; i++) {
        const struct eg_lint_result *r = &rep.results[i];
        if (r->line == 0 || r->column == 0 || (unsigned)r->control >= EG_LINT_CONTROL_COUNT)
            abort();
        if (r->verdict != EG_LINT_FAIL && r->verdict != EG_LINT_UNKNOWN)
            abort();
        if (rep.verdicts[r->control] < r->verdict)
            abort();
        if (r->container < -1 || (r->container >= 0 && (size_t)r->container >= td->ncontainers))
            abort();
        check_printable(r->message, sizeof(r->message));
        check_printable(r->subject, sizeof(r->subject));
    }
    if (!td->family)
        abort();
    eg_lint_apply_allow(allow_all(td->family), td, &rep);
    for (size_t i = 0; i < rep.count; i++)
        if (rep.results[i].allowed_by != (int)rep.results[i].control)
            abort();
    if (memcmp(before, rep.verdicts, sizeof(before)) != 0)
        abort();
    eg_lint_report_free(&rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eg_policy_errors errs;
    struct eg_taskdef_file f;
    if (eg_taskdef_parse((const char *)data, size, &f, &errs) == 0) {
        for (size_t i = 0; i < f.ndefs; i++)
            lint_one(&f.defs[i]);
        eg_taskdef_file_free(&f);
    } else {
        check_errors(&errs);
    }
    struct eg_lint_allow *a = eg_lint_allow_load_buffer((const char *)data, size, &errs);
    if (a) {
        for (size_t i = 0; i < a->count; i++)
            if (!a->entries[i].family || !a->entries[i].reason ||
                a->entries[i].control >= EG_LINT_CONTROL_COUNT)
                abort();
        eg_lint_allow_free(a);
    } else {
        check_errors(&errs);
    }
    return 0;
}
