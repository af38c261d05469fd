/*
 * `ecsguard advise --inventory FILE [--min-observation DURATION] [--out FILE] TASKDEF`: reads the
 * behaviour inventory the agent wrote (--inventory-file) and a task definition in any format the
 * lint reads, and prints the advice as one JSON document: per definition, the changes (each with
 * evidence and confidence), notes, the JSON patch, the lint verdicts of the advised definition
 * and the whole advised document; --out also writes the advised document alone. The rules are
 * policy/taskdef_advise.c; docs/posture.md explains them.
 */
#include "agent/commands/advise_cmd.h"
#include "agent/detectors/syscall_names.h"
#include "policy/inventory.h"
#include "policy/taskdef_advise.h"

#include <getopt.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MIN_OBSERVATION_MS (3600ull * 1000)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ecsguard advise --inventory FILE [--min-observation DURATION] [--out FILE]\n"
            "                       TASKDEF\n"
            "\n"
            "Propose the tightest task definition that still allows what its containers were\n"
            "observed doing (the agent's --inventory-file): capabilities drop ALL plus those\n"
            "used, privileged removed, a read-only root with a tmpfs or volume for each\n"
            "directory written, pidMode host removed when unused. TASKDEF is any format\n"
            "`ecsguard lint` reads.\n"
            "\n"
            "  --inventory FILE          the behaviour inventory\n"
            "  --min-observation DUR     refuse advice from less observation than this\n"
            "                            (e.g. 30m, 24h, 7d; default 1h)\n"
            "  --out FILE                also write the advised document (JSON) to FILE\n"
            "\n"
            "Prints the advice (JSON): changes with evidence and confidence, notes, the JSON\n"
            "patch (RFC 6902), the lint verdicts of the advised definition, the advised\n"
            "document. Exit status 0 advised, 3 not observed (long) enough, 2 bad input.\n"
            "docs/posture.md.\n");
}

static int syscall_nr_of(const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    return nr == __NR_SCMP_ERROR || nr < 0 ? -1 : nr;
}

static void print_errors(const char *path, const struct eg_policy_errors *errs)
{
    for (unsigned i = 0; i < errs->count; i++) {
        const struct eg_policy_error *e = &errs->items[i];
        if (e->line)
            fprintf(stderr, "%s:%u:%u: error: %s\n", path, e->line, e->column, e->message);
        else
            fprintf(stderr, "%s: error: %s\n", path, e->message);
    }
}

static int write_out(const char *path, struct json_object *doc)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -1;
    const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE);
    int ok = fputs(s, f) >= 0 && fputc('\n', f) != EOF;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int eg_advise_main(int argc, char **argv)
{
    const char *inv_path = NULL, *out_path = NULL;
    uint64_t min_ms = DEFAULT_MIN_OBSERVATION_MS;
    static const struct option longopts[] = {
        {"inventory", required_argument, NULL, 'i'},
        {"min-observation", required_argument, NULL, 'm'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            inv_path = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'm': {
            int64_t v = eg_parse_duration_ms(optarg);
            if (v < 0) {
                fprintf(stderr,
                        "ecsguard advise: --min-observation '%s': expected a duration "
                        "such as 90s, 30m, 24h or 7d\n",
                        optarg);
                return 2;
            }
            min_ms = (uint64_t)v;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "ecsguard advise: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (!inv_path || optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *td_path = argv[optind];
    eg_inventory_set_syscall_names(eg_syscall_name, syscall_nr_of);

    struct eg_inventory inv;
    struct eg_policy_errors errs;
    if (eg_inventory_init(&inv) != 0) {
        fprintf(stderr, "ecsguard advise: out of memory\n");
        return 2;
    }
    if (eg_inventory_load_file(inv_path, &inv, &errs) != 0) {
        print_errors(inv_path, &errs);
        eg_inventory_free(&inv);
        return 2;
    }
    struct eg_taskdef_file f;
    if (eg_taskdef_load_file(td_path, &f, &errs) != 0) {
        print_errors(td_path, &errs);
        eg_inventory_free(&inv);
        return 2;
    }
    if (f.ndefs == 0) {
        fprintf(stderr, "%s: error: no ECS task definition in the file\n", td_path);
        eg_taskdef_file_free(&f);
        eg_inventory_free(&inv);
        return 2;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct eg_advise_options opt = {
        .min_observation_ms = min_ms,
        .now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
    };
    struct json_object *root = json_object_new_object();
    json_object_object_add(root, "file", json_object_new_string(td_path));
    json_object_object_add(root, "inventory", json_object_new_string(inv_path));
    struct json_object *defs = json_object_new_array();
    json_object_object_add(root, "taskDefinitions", defs);
    int rc = 0;
    /* Every definition of the file is advised into one document: a template's patches apply
     * one after the other, and --out is the file with all of them. */
    struct json_object *doc = eg_taskdef_document_json(&f);
    bool advised = false;
    for (size_t i = 0; doc && i < f.ndefs; i++) {
        struct json_object *advice = NULL;
        char err[256] = "";
        enum eg_advise_status st =
            eg_advise_taskdef_in(&f, i, &inv, &opt, doc, &advice, err, sizeof(err));
        if (st == EG_ADVISE_ERROR) {
            fprintf(stderr, "%s: error: %s\n", td_path, err);
            rc = 2;
            continue;
        }
        if (st == EG_ADVISE_TOO_LITTLE && rc == 0)
            rc = 3;
        advised = advised || st == EG_ADVISE_OK;
        json_object_array_add(defs, advice);
    }
    json_object_object_add(root, "exitStatus", json_object_new_int(rc));
    if (advised)
        json_object_object_add(root, "advisedDocument", json_object_get(doc));
    if (out_path && advised && rc == 0 && write_out(out_path, doc) != 0) {
        fprintf(stderr, "ecsguard advise: cannot write %s\n", out_path);
        rc = 2;
    }
    puts(json_object_to_json_string_ext(root,
                                        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    json_object_put(doc);
    eg_taskdef_file_free(&f);
    eg_inventory_free(&inv);
    return rc;
}
