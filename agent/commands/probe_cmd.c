#include "agent/commands/probe_cmd.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "agent/kernel/bpf_loader.h"
#include "agent/common/log.h"
#include "agent/commands/options.h"

/*
 * Probing is done for real: every object is loaded and attached exactly as
 * `run` would, the choices are reported, and everything is detached again.
 */
int eg_probe_main(int argc, char **argv)
{
    bool probe_read = false;
    struct eg_bpf_options opt = {
        .watched_caps = (1ULL << 21) | (1ULL << 12) | (1ULL << 39),
        .wakeup_bytes = 256 * 1024,
    };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: ecsguard probe [--bpf-file-reads auto|probe-read]\n"
                   "                      [--hook CONCERN=VARIANT]...\n\n"
                   "Load and attach every kernel program as `ecsguard run` would, print what\n"
                   "was chosen for each hook (and why the alternatives were not) as JSON, and\n"
                   "detach again. --hook loads exactly one variant of a concern, as with\n"
                   "`ecsguard run`. Exit status 0 when the agent can run on this host.\n");
            return 0;
        }
        if (strcmp(argv[i], "--hook") == 0 && i + 1 < argc) {
            char why[200];
            if (eg_bpf_force_parse(argv[++i], &opt, why, sizeof(why)) != 0) {
                fprintf(stderr, "ecsguard probe: --hook '%s': %s\n", argv[i], why);
                return 2;
            }
            continue;
        }
        if (strcmp(argv[i], "--bpf-file-reads") == 0 && i + 1 < argc) {
            if (eg_file_reads_parse(argv[++i], &probe_read) != 0) {
                fprintf(stderr,
                        "ecsguard probe: --bpf-file-reads '%s': expected auto or "
                        "probe-read\n",
                        argv[i]);
                return 2;
            }
            continue;
        }
        fprintf(stderr, "ecsguard probe: unknown argument '%s'\nTry 'ecsguard probe --help'.\n",
                argv[i]);
        return 2;
    }
    eg_log_set_level(EG_LOG_WARN);
    struct eg_bpf b;
    opt.probe_read_file_fields = probe_read;
    char err[256] = "";
    int rc = eg_bpf_load(&b, &opt, err, sizeof(err));
    struct json_object *o = json_object_new_object();
    eg_bpf_report(&b, o);
    json_object_object_add(o, "usable", json_object_new_boolean(rc == 0));
    if (rc != 0)
        json_object_object_add(o, "error", json_object_new_string(err));
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    eg_bpf_unload(&b);
    return rc == 0 ? 0 : 1;
}
