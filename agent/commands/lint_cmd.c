/*
 * `ecsguard lint [--allow FILE] [--format text|json] [--show-allowed] FILE...`: the
 * task-definition controls over files, offline. Reading is policy/taskdef_read.c, the
 * controls policy/taskdef_lint.c; this file is the command line and the two output forms.
 * Exit status: 0 all pass, 1 a failure, an undecided control or a stale allow entry,
 * 2 an unreadable or invalid input or allow file, or a usage error.
 */
#include "agent/commands/lint_cmd.h"
#include "policy/taskdef_lint.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ecsguard lint [--allow FILE] [--format text|json] [--show-allowed] FILE...\n"
            "\n"
            "Check ECS task definitions against Security Hub's task-definition controls\n"
            "(ECS.1, ECS.3, ECS.4, ECS.5, ECS.8, ECS.9, with their AWS Config rules' semantics)\n"
            "and the settings ecsguard's findings point at (EG.*). FILE is\n"
            "RegisterTaskDefinition or RegisterDaemonTaskDefinition input, describe-task-\n"
            "definition output, or a CloudFormation template (JSON or YAML).\n"
            "\n"
            "  --allow FILE     deliberate exceptions: family, control and a reason each\n"
            "  --format json    one JSON document on stdout instead of lines\n"
            "  --show-allowed   also print the results the allow file silences\n"
            "\n"
            "Prints FILE:LINE:COLUMN: CONTROL severity message per result and a summary.\n"
            "Exit status 0 when everything passes, 1 on a failure, an undecided control or\n"
            "an allow entry that matched nothing, 2 on unreadable input. docs/posture.md.\n");
}

struct lint_run {
    bool json, show_allowed;
    const char *allow_path;
    struct eg_lint_allow *allow;
    unsigned files, defs, failed, unknown, allowed, stale, errors;
    struct json_object *jfiles;
};

static void print_errors(struct lint_run *run, const char *path,
                         const struct eg_policy_errors *errs, struct json_object *jerrs)
{
    run->errors++;
    for (unsigned i = 0; i < errs->count; i++) {
        const struct eg_policy_error *e = &errs->items[i];
        if (jerrs) {
            struct json_object *o = json_object_new_object();
            json_object_object_add(o, "line", json_object_new_int((int)e->line));
            json_object_object_add(o, "column", json_object_new_int((int)e->column));
            json_object_object_add(o, "message", json_object_new_string(e->message));
            json_object_array_add(jerrs, o);
        } else if (e->line) {
            fprintf(stderr, "%s:%u:%u: error: %s\n", path, e->line, e->column, e->message);
        } else {
            fprintf(stderr, "%s: error: %s\n", path, e->message);
        }
    }
    if (errs->total > errs->count && !jerrs)
        fprintf(stderr, "%s: %u more problems not shown\n", path, errs->total - errs->count);
}

static const char *status_of(const struct eg_lint_result *r)
{
    if (r->allowed_by >= 0)
        return "allowed";
    return r->verdict == EG_LINT_UNKNOWN ? "unknown" : "fail";
}

static void quoted(char *buf, size_t len, const char *s)
{
    if (!s)
        s = "";
    eg_td_quote(buf, len, s, strlen(s), 128);
}

static struct json_object *result_json(const struct eg_taskdef *td, const struct eg_lint_result *r,
                                       const struct eg_lint_allow *allow)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "control", json_object_new_string(eg_lint_controls[r->control].id));
    json_object_object_add(o, "status", json_object_new_string(status_of(r)));
    json_object_object_add(o, "severity",
                           json_object_new_string(eg_lint_severity_name(r->severity)));
    json_object_object_add(o, "line", json_object_new_int((int)r->line));
    json_object_object_add(o, "column", json_object_new_int((int)r->column));
    if (r->container >= 0 && td->containers[r->container].name.state == EG_TD_KNOWN) {
        char q[160];
        eg_td_value_quote(&td->containers[r->container].name, q, sizeof(q));
        json_object_object_add(o, "container", json_object_new_string(q));
    }
    if (r->subject[0])
        json_object_object_add(o, "subject", json_object_new_string(r->subject));
    json_object_object_add(o, "message", json_object_new_string(r->message));
    if (r->allowed_by >= 0)
        json_object_object_add(o, "reason",
                               json_object_new_string(allow->entries[r->allowed_by].reason));
    return o;
}

static struct json_object *definition_json(const struct eg_taskdef *td,
                                           const struct eg_lint_report *rep,
                                           const struct eg_lint_allow *allow)
{
    struct json_object *o = json_object_new_object();
    char q[160];
    quoted(q, sizeof(q), td->family);
    json_object_object_add(o, "family", json_object_new_string(q));
    if (td->resource) {
        quoted(q, sizeof(q), td->resource);
        json_object_object_add(o, "resource", json_object_new_string(q));
    }
    json_object_object_add(o, "kind",
                           json_object_new_string(td->kind == EG_TD_DAEMON ? "daemon" : "task"));
    json_object_object_add(o, "format", json_object_new_string(eg_td_format_name(td->format)));
    json_object_object_add(o, "line", json_object_new_int((int)td->line));
    json_object_object_add(o, "column", json_object_new_int((int)td->column));
    struct json_object *controls = json_object_new_object();
    for (int c = 0; c < EG_LINT_CONTROL_COUNT; c++) {
        enum eg_lint_verdict v = rep->verdicts[c];
        /* A control whose every failure is allowed reads "allowed". */
        bool all_allowed = v >= EG_LINT_UNKNOWN;
        for (size_t i = 0; all_allowed && i < rep->count; i++)
            if (rep->results[i].control == (enum eg_lint_control)c &&
                rep->results[i].allowed_by < 0)
                all_allowed = false;
        json_object_object_add(
            controls, eg_lint_controls[c].id,
            json_object_new_string(all_allowed ? "allowed" : eg_lint_verdict_name(v)));
    }
    json_object_object_add(o, "controls", controls);
    struct json_object *results = json_object_new_array();
    for (size_t i = 0; i < rep->count; i++)
        json_object_array_add(results, result_json(td, &rep->results[i], allow));
    json_object_object_add(o, "results", results);
    return o;
}

static void print_results(struct lint_run *run, const char *path, const struct eg_taskdef *td,
                          const struct eg_lint_report *rep)
{
    unsigned failed = 0, unknown = 0, allowed = 0;
    for (size_t i = 0; i < rep->count; i++) {
        const struct eg_lint_result *r = &rep->results[i];
        const char *id = eg_lint_controls[r->control].id;
        const char *sev = eg_lint_severity_name(r->severity);
        if (r->allowed_by >= 0) {
            allowed++;
            if (run->show_allowed && !run->json) {
                char reason[160];
                quoted(reason, sizeof(reason), run->allow->entries[r->allowed_by].reason);
                printf("%s:%u:%u: %s %s allowed: %s (%s:%u: %s)\n", path, r->line, r->column, id,
                       sev, r->message, run->allow_path, run->allow->entries[r->allowed_by].line,
                       reason);
            }
            continue;
        }
        if (r->verdict == EG_LINT_UNKNOWN)
            unknown++;
        else
            failed++;
        if (!run->json)
            printf("%s:%u:%u: %s %s %s%s\n", path, r->line, r->column, id, sev,
                   r->verdict == EG_LINT_UNKNOWN ? "unknown: " : "", r->message);
    }
    run->failed += failed;
    run->unknown += unknown;
    run->allowed += allowed;
    if (!run->json) {
        char fam[160];
        quoted(fam, sizeof(fam), td->family);
        printf("%s: %s '%s' (%s): %u failed, %u unknown, %u allowed\n", path,
               td->kind == EG_TD_DAEMON ? "daemon task definition" : "task definition", fam,
               eg_td_format_name(td->format), failed, unknown, allowed);
    }
}

static void lint_file(struct lint_run *run, const char *path)
{
    struct eg_policy_errors errs;
    struct eg_taskdef_file f;
    struct json_object *jfile = NULL, *jdefs = NULL, *jerrs = NULL;
    run->files++;
    if (run->json) {
        jfile = json_object_new_object();
        json_object_object_add(jfile, "file", json_object_new_string(path));
        jdefs = json_object_new_array();
        jerrs = json_object_new_array();
        json_object_array_add(run->jfiles, jfile);
    }
    if (eg_taskdef_load_file(path, &f, &errs) != 0) {
        print_errors(run, path, &errs, jerrs);
    } else {
        if (f.ndefs == 0 && !run->json)
            printf("%s: note: no AWS::ECS::TaskDefinition or AWS::ECS::DaemonTaskDefinition in "
                   "this template\n",
                   path);
        for (size_t i = 0; i < f.ndefs; i++) {
            struct eg_lint_report rep = {0};
            run->defs++;
            if (eg_lint_taskdef(&f.defs[i], &rep) != 0) {
                fprintf(stderr, "%s: error: out of memory\n", path);
                run->errors++;
            }
            eg_lint_apply_allow(run->allow, &f.defs[i], &rep);
            print_results(run, path, &f.defs[i], &rep);
            if (jdefs)
                json_object_array_add(jdefs, definition_json(&f.defs[i], &rep, run->allow));
            eg_lint_report_free(&rep);
        }
        eg_taskdef_file_free(&f);
    }
    if (jfile) {
        json_object_object_add(jfile, "taskDefinitions", jdefs);
        json_object_object_add(jfile, "errors", jerrs);
    }
}

/* Entries that allowed nothing: stale when their family was linted (the setting they
 * excused is gone), merely unused when it was not. */
static struct json_object *report_allow(struct lint_run *run)
{
    struct json_object *list = run->json ? json_object_new_array() : NULL;
    for (size_t i = 0; run->allow && i < run->allow->count; i++) {
        const struct eg_lint_allow_entry *e = &run->allow->entries[i];
        bool stale = e->matched == 0 && e->family_linted;
        char fam[160];
        quoted(fam, sizeof(fam), e->family);
        run->stale += stale;
        if (list) {
            struct json_object *o = json_object_new_object();
            json_object_object_add(o, "line", json_object_new_int((int)e->line));
            json_object_object_add(o, "family", json_object_new_string(fam));
            json_object_object_add(o, "control",
                                   json_object_new_string(eg_lint_controls[e->control].id));
            json_object_object_add(o, "matched", json_object_new_int((int)e->matched));
            json_object_object_add(o, "stale", json_object_new_boolean(stale));
            json_object_array_add(list, o);
        } else if (stale) {
            printf("%s:%u:%u: stale allow entry: family '%s' control %s allowed nothing; "
                   "remove it\n",
                   run->allow_path, e->line, e->column, fam, eg_lint_controls[e->control].id);
        } else if (e->matched == 0 && run->show_allowed) {
            printf("%s:%u:%u: note: allow entry for family '%s' control %s not used: no "
                   "definition of that family was linted\n",
                   run->allow_path, e->line, e->column, fam, eg_lint_controls[e->control].id);
        }
    }
    return list;
}

int eg_lint_main(int argc, char **argv)
{
    struct lint_run run = {0};
    const char *files[argc > 0 ? argc : 1];
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--allow") == 0 && i + 1 < argc) {
            run.allow_path = argv[++i];
        } else if (strcmp(a, "--format") == 0 && i + 1 < argc &&
                   (strcmp(argv[i + 1], "json") == 0 || strcmp(argv[i + 1], "text") == 0)) {
            run.json = strcmp(argv[++i], "json") == 0;
        } else if (strcmp(a, "--show-allowed") == 0) {
            run.show_allowed = true;
        } else if (strcmp(a, "--") == 0) {
            while (++i < argc)
                files[nfiles++] = argv[i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "ecsguard lint: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        } else {
            files[nfiles++] = a;
        }
    }
    if (nfiles == 0) {
        fprintf(stderr, "ecsguard lint: no FILE to lint\n");
        usage(stderr);
        return 2;
    }
    if (run.allow_path) {
        struct eg_policy_errors errs;
        run.allow = eg_lint_allow_load_file(run.allow_path, &errs);
        if (!run.allow) {
            run.json = false; /* the allow file is the problem: say so plainly */
            print_errors(&run, run.allow_path, &errs, NULL);
            return 2;
        }
    }
    run.jfiles = run.json ? json_object_new_array() : NULL;
    for (int i = 0; i < nfiles; i++)
        lint_file(&run, files[i]);
    struct json_object *jallow = report_allow(&run);
    int rc = run.errors ? 2 : (run.failed || run.unknown || run.stale) ? 1 : 0;
    if (run.json) {
        struct json_object *doc = json_object_new_object(), *sum = json_object_new_object();
        json_object_object_add(doc, "files", run.jfiles);
        json_object_object_add(doc, "allow", jallow);
        json_object_object_add(sum, "files", json_object_new_int((int)run.files));
        json_object_object_add(sum, "taskDefinitions", json_object_new_int((int)run.defs));
        json_object_object_add(sum, "failed", json_object_new_int((int)run.failed));
        json_object_object_add(sum, "unknown", json_object_new_int((int)run.unknown));
        json_object_object_add(sum, "allowed", json_object_new_int((int)run.allowed));
        json_object_object_add(sum, "staleAllowEntries", json_object_new_int((int)run.stale));
        json_object_object_add(sum, "unreadableFiles", json_object_new_int((int)run.errors));
        json_object_object_add(doc, "summary", sum);
        json_object_object_add(doc, "exitStatus", json_object_new_int(rc));
        printf("%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_SPACED |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(doc);
    } else {
        printf("ecsguard lint: %u task definition%s in %u file%s: %u failed, %u unknown, "
               "%u allowed, %u stale allow entr%s, %u unreadable file%s\n",
               run.defs, run.defs == 1 ? "" : "s", run.files, run.files == 1 ? "" : "s", run.failed,
               run.unknown, run.allowed, run.stale, run.stale == 1 ? "y" : "ies", run.errors,
               run.errors == 1 ? "" : "s");
    }
    eg_lint_allow_free(run.allow);
    return rc;
}
