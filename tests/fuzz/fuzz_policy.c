/*
 * libFuzzer target for the policy loader (build and run: docs/policy.md).
 * unit.fuzz_corpus.policy (tests/fuzz/replay.c) replays tests/fuzz/corpus/policy/ through
 * this same function on every CI run.
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks the loader's
 * contract: a rejected policy has at least one problem, stored problems have
 * printable messages and real positions, and an accepted policy can be
 * evaluated and reported on.
 */
#include "policy/policy.h"

#include <json-c/json.h>
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
        if (len == 0 || len == sizeof(e->message) || (e->line == 0) != (e->column == 0))
            abort();
        for (size_t k = 0; k < len; k++)
            if ((unsigned char)e->message[k] < 0x20 || (unsigned char)e->message[k] >= 0x7f)
                abort();
    }
}

static void exercise(struct eg_policy *p, const uint8_t *data, size_t size)
{
    /* Subjects built from the input itself, so globs meet strings they might match. */
    char text[256];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    static const char *const types[] = {"PrivilegeEscalation:Runtime/SysAdminCapabilityUsed",
                                        "Persistence:Runtime/ContainerRootFilesystemModified",
                                        "Unknown:Runtime/Type", NULL};
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        struct eg_policy_subject s = {.finding_type = types[t],
                                      .task_family = text,
                                      .task_revision = "1",
                                      .container_name = text,
                                      .image = text,
                                      .executable_path = text,
                                      .capability = "CAP_SYS_ADMIN",
                                      .file_path = text,
                                      .namespace_kind = "mnt",
                                      .target_process = text};
        struct eg_policy_verdict v;
        eg_policy_evaluate(p, &s, 5.0, &v);
        if (v.severity < 1.0 || v.severity > 10.0 || (v.rule_name && v.report))
            abort();
    }
    eg_policy_is_sensitive_file(p, text);
    const char *const *files = eg_policy_sensitive_files(p);
    while (*files)
        files++;

    char summary[256];
    eg_policy_summary(p, summary, sizeof(summary));
    struct json_object *obj = json_object_new_object();
    eg_policy_stats(p, obj);
    json_object_put(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eg_policy_errors errs;
    struct eg_policy *p = eg_policy_load_buffer("fuzz", (const char *)data, size, &errs);
    if (p) {
        if (errs.total != 0)
            abort();
        exercise(p, data, size);
        eg_policy_free(p);
    } else {
        check_errors(&errs);
    }
    return 0;
}
