/*
 * libFuzzer target for the behaviour inventory's reader and the advice built on it (build and
 * run: docs/posture.md). unit.fuzz_corpus.inventory (tests/fuzz/replay.c) replays
 * tests/fuzz/corpus/inventory/ through this same function on every CI run.
 *
 * Beyond "no crash, no leak, no undefined behaviour": a rejected file has a printable message
 * and leaves the inventory empty; an accepted one writes back to text that reads back to the
 * same text (nothing the reader takes is lost or invented by the writer); and advice over it for
 * a privileged definition either says too little was observed or produces a patch and a
 * document the lint reads back.
 */
#include "policy/inventory.h"
#include "policy/taskdef_advise.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char taskdef[] =
    "{\"family\": \"web\", \"pidMode\": \"host\", \"containerDefinitions\": [{\"name\": \"app\","
    " \"image\": \"x\", \"privileged\": true}, {\"name\": \"side\", \"image\": \"y\","
    " \"linuxParameters\": {\"capabilities\": {\"add\": [\"SYS_PTRACE\"]}}}]}";

static void check_errors(const struct eg_policy_errors *errs)
{
    if (errs->count == 0)
        abort();
    for (unsigned i = 0; i < errs->count; i++) {
        const char *m = errs->items[i].message;
        size_t len = strnlen(m, sizeof(errs->items[i].message));
        if (len == 0 || len == sizeof(errs->items[i].message))
            abort();
    }
}

static void advise(const struct eg_inventory *inv)
{
    struct eg_taskdef_file f;
    struct eg_policy_errors errs;
    if (eg_taskdef_parse(taskdef, strlen(taskdef), &f, &errs) != 0)
        abort();
    struct eg_advise_options opt = {.min_observation_ms = 0, .now_ms = 0};
    struct json_object *out = NULL;
    char err[256];
    enum eg_advise_status st = eg_advise_taskdef(&f, 0, inv, &opt, &out, err, sizeof(err));
    if (st == EG_ADVISE_ERROR || !out)
        abort();
    struct json_object *lint;
    if (st == EG_ADVISE_OK && (!json_object_object_get_ex(out, "lintOfAdvised", &lint) ||
                               !json_object_is_type(lint, json_type_object)))
        abort(); /* the advised document did not read back */
    json_object_put(out);
    eg_taskdef_file_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct eg_inventory inv, again;
    static int ready;
    if (!ready) {
        if (eg_inventory_init(&inv) != 0 || eg_inventory_init(&again) != 0)
            abort();
        ready = 1;
    }
    struct eg_policy_errors errs;
    if (eg_inventory_parse((const char *)data, size, &inv, &errs) != 0) {
        check_errors(&errs);
        if (inv.n_entries != 0)
            abort();
        return 0;
    }
    char *text = eg_inventory_to_json(&inv, "fuzz", 1);
    if (!text)
        abort();
    if (eg_inventory_parse(text, strlen(text), &again, &errs) != 0)
        abort();
    char *text2 = eg_inventory_to_json(&again, "fuzz", 1);
    if (!text2 || strcmp(text, text2) != 0)
        abort();
    free(text);
    free(text2);
    advise(&inv);
    return 0;
}
