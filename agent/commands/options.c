#include "agent/commands/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "agent/common/log.h"
#include "policy/capabilities.h"

void eg_run_usage(FILE *out)
{
    fprintf(out,
            "usage: ecsguard run [options]\n"
            "\n"
            "Watch every ECS task container on this host and print findings as JSON lines\n"
            "on stdout (the agent's own log goes to stderr).\n"
            "\n"
            "  --introspection-url URL   ECS agent introspection endpoint\n"
            "                            (default http://localhost:51678)\n"
            "  --policy FILE             policy YAML (default: the built-in policy)\n"
            "  --output SPEC             stdout | cloudwatch:LOG_GROUP[:LOG_STREAM];\n"
            "                            repeatable (default stdout)\n"
            "  --spool-dir DIR           durable spool for CloudWatch delivery\n"
            "  --state-dir DIR           open findings kept across restarts (default\n"
            "                            /var/lib/ecsguard/state; \"\" to keep none)\n"
            "  --docker-socket PATH      Docker Engine API socket for containers the ECS agent\n"
            "                            does not know (default /var/run/docker.sock when it\n"
            "                            exists; \"\" to never ask)\n"
            "  --watch-caps LIST         capabilities to watch, e.g.\n"
            "                            CAP_SYS_ADMIN,CAP_NET_ADMIN,CAP_BPF (default: policy)\n"
            "  --ready-file PATH         written once every hook is attached and the\n"
            "                            start-up scan is done\n"
            "  --health-file PATH        health record (JSON), rewritten every interval\n"
            "  --health-interval SEC     health record period (default 60)\n"
            "  --inventory-file PATH     what each task family's containers did (JSON, for\n"
            "                            `ecsguard advise`), loaded at start, rewritten every\n"
            "                            interval and at shutdown\n"
            "  --inventory-interval SEC  inventory write period (default 300)\n"
            "  --report-interval SEC     least time between updates of one finding (default 5)\n"
            "  --aggregation-window SEC  repeats within this window update one finding\n"
            "                            (default 3600)\n"
            "  --host-ns-pid PID         a host process whose namespaces are the host's (default\n"
            "                            1, the host's init; the agent's own where unreadable)\n"
            "  --resolve-grace-ms MS     wait this long for the ECS task of a new finding\n"
            "                            before emitting it with cgroup identity (default 2000)\n"
            "  --ring-buffer-kib N       kernel ring buffer size in KiB, a power of two\n"
            "                            from 16 to 1048576 (default 8192)\n"
            "  --bpf-file-reads MODE     auto: kernel programs read file fields through\n"
            "                            bpf_rdonly_cast where the kernel has it (6.2+);\n"
            "                            probe-read: always through bpf_probe_read_kernel,\n"
            "                            as on older kernels (default auto)\n"
            "  --hook CONCERN=VARIANT    load exactly this variant of a kernel concern, no\n"
            "                            fallback (for tests and diagnosis; `ecsguard probe`\n"
            "                            lists what loads): capability=tp_btf|fexit|kprobe,\n"
            "                            rootfsWrites=cast|probe-read, ...; repeatable;\n"
            "                            CONCERN=off leaves out a concern the agent can run\n"
            "                            without (rootfsWrites, hostNamespaces,\n"
            "                            compatSyscalls)\n"
            "  --seccomp MODE            once running, system calls outside the agent's list:\n"
            "                            enforce (kill the agent; default), trap (fail with\n"
            "                            ENOSYS, logged and counted: to find a missing entry)\n"
            "                            or off\n"
            "  --no-seccomp              the same as --seccomp off: diagnosis only\n"
            "  --log-level LEVEL         error, warn, info, debug (default info)\n"
            "  --help                    this text\n");
}

int eg_file_reads_parse(const char *mode, bool *probe_read)
{
    if (strcmp(mode, "auto") == 0)
        *probe_read = false;
    else if (strcmp(mode, "probe-read") == 0)
        *probe_read = true;
    else
        return -1;
    return 0;
}

static int bad(const char *opt, const char *val, const char *why)
{
    fprintf(stderr, "ecsguard run: invalid value '%s' for %s: %s\n", val, opt, why);
    fprintf(stderr, "Try 'ecsguard run --help'.\n");
    return 2;
}

static int parse_uint(const char *opt, const char *val, unsigned min, unsigned max, unsigned *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(val, &end, 10);
    if (errno || !end || *end || val[0] == '\0' || val[0] == '-' || v < min || v > max) {
        char why[64];
        snprintf(why, sizeof(why), "expected a whole number from %u to %u", min, max);
        return bad(opt, val, why);
    }
    *out = (unsigned)v;
    return 0;
}

static int parse_caps(const char *val, uint64_t *mask)
{
    *mask = 0;
    const char *p = val;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int cap = eg_capability_by_name(p, len);
        if (cap < 0 || cap >= 64)
            return bad("--watch-caps", val, "unknown capability name");
        *mask |= 1ULL << cap;
        p += len;
        if (*p == ',')
            p++;
    }
    if (!*mask)
        return bad("--watch-caps", val, "no capability given");
    return 0;
}

int eg_run_options_parse(int argc, char **argv, struct eg_run_options *o)
{
    memset(o, 0, sizeof(*o));
    o->introspection_url = "http://localhost:51678";
    o->health_interval_s = 60;
    o->inventory_interval_s = 300;
    o->report_interval_s = 5;
    o->window_s = 3600;
    o->resolve_grace_ms = 2000;
    o->host_ns_pid = 1;
    o->state_dir = "/var/lib/ecsguard/state";
    o->drain_interval_ms = 10;
    o->ring_buffer_kib = 8192;
    o->log_level = EG_LOG_INFO;

    enum {
        OPT_URL = 1000,
        OPT_READY,
        OPT_HEALTH,
        OPT_HEALTH_INT,
        OPT_REPORT_INT,
        OPT_WINDOW,
        OPT_GRACE,
        OPT_HOST_NS_PID,
        OPT_CAPS,
        OPT_POLICY,
        OPT_OUTPUT,
        OPT_SPOOL,
        OPT_STATE,
        OPT_LOG,
        OPT_RING,
        OPT_DOCKER,
        OPT_FILE_READS,
        OPT_HOOK,
        OPT_SECCOMP,
        OPT_NO_SECCOMP,
        OPT_INVENTORY,
        OPT_INVENTORY_INT,
        OPT_HELP
    };
    static const struct option longopts[] = {
        {"introspection-url", required_argument, NULL, OPT_URL},
        {"ready-file", required_argument, NULL, OPT_READY},
        {"health-file", required_argument, NULL, OPT_HEALTH},
        {"health-interval", required_argument, NULL, OPT_HEALTH_INT},
        {"inventory-file", required_argument, NULL, OPT_INVENTORY},
        {"inventory-interval", required_argument, NULL, OPT_INVENTORY_INT},
        {"report-interval", required_argument, NULL, OPT_REPORT_INT},
        {"aggregation-window", required_argument, NULL, OPT_WINDOW},
        {"resolve-grace-ms", required_argument, NULL, OPT_GRACE},
        {"host-ns-pid", required_argument, NULL, OPT_HOST_NS_PID},
        {"watch-caps", required_argument, NULL, OPT_CAPS},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"spool-dir", required_argument, NULL, OPT_SPOOL},
        {"state-dir", required_argument, NULL, OPT_STATE},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"ring-buffer-kib", required_argument, NULL, OPT_RING},
        {"docker-socket", required_argument, NULL, OPT_DOCKER},
        {"bpf-file-reads", required_argument, NULL, OPT_FILE_READS},
        {"hook", required_argument, NULL, OPT_HOOK},
        {"seccomp", required_argument, NULL, OPT_SECCOMP},
        {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case OPT_URL:
            if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0)
                return bad("--introspection-url", optarg, "expected an http:// or https:// URL");
            o->introspection_url = optarg;
            break;
        case OPT_READY:
            o->ready_file = optarg;
            break;
        case OPT_HEALTH:
            o->health_file = optarg;
            break;
        case OPT_INVENTORY:
            if (!optarg[0])
                return bad("--inventory-file", optarg, "an empty path");
            o->inventory_file = optarg;
            break;
        case OPT_INVENTORY_INT:
            rc = parse_uint("--inventory-interval", optarg, 1, 86400, &o->inventory_interval_s);
            break;
        case OPT_HEALTH_INT:
            rc = parse_uint("--health-interval", optarg, 1, 86400, &o->health_interval_s);
            break;
        case OPT_REPORT_INT:
            rc = parse_uint("--report-interval", optarg, 0, 86400, &o->report_interval_s);
            break;
        case OPT_WINDOW:
            rc = parse_uint("--aggregation-window", optarg, 1, 7 * 86400, &o->window_s);
            break;
        case OPT_GRACE:
            rc = parse_uint("--resolve-grace-ms", optarg, 0, 600000, &o->resolve_grace_ms);
            break;
        case OPT_HOST_NS_PID:
            rc = parse_uint("--host-ns-pid", optarg, 1, 4194304, &o->host_ns_pid);
            break;
        case OPT_CAPS:
            rc = parse_caps(optarg, &o->watched_caps);
            break;
        case OPT_POLICY:
            o->policy_file = optarg;
            break;
        case OPT_OUTPUT:
            if (o->n_outputs >= EG_MAX_OUTPUTS)
                return bad("--output", optarg, "too many outputs");
            if (strcmp(optarg, "stdout") != 0 && strncmp(optarg, "cloudwatch:", 11) != 0)
                return bad("--output", optarg, "expected stdout or cloudwatch:LOG_GROUP[:STREAM]");
            o->outputs[o->n_outputs++] = optarg;
            break;
        case OPT_STATE:
            o->state_dir = optarg;
            break;
        case OPT_SPOOL:
            o->spool_dir = optarg;
            break;
        case OPT_LOG: {
            int lvl = eg_log_level_parse(optarg);
            if (lvl < 0)
                return bad("--log-level", optarg, "expected error, warn, info or debug");
            o->log_level = lvl;
            break;
        }
        case OPT_RING:
            rc = parse_uint("--ring-buffer-kib", optarg, 16, 1048576, &o->ring_buffer_kib);
            if (!rc && (o->ring_buffer_kib & (o->ring_buffer_kib - 1)))
                return bad("--ring-buffer-kib", optarg, "must be a power of two");
            break;
        case OPT_DOCKER:
            o->docker_socket = optarg;
            break;
        case OPT_FILE_READS:
            if (eg_file_reads_parse(optarg, &o->probe_read_file_fields) != 0)
                return bad("--bpf-file-reads", optarg, "expected auto or probe-read");
            break;
        case OPT_HOOK: {
            char why[200];
            if (eg_bpf_force_parse(optarg, &o->hooks, why, sizeof(why)) != 0)
                return bad("--hook", optarg, why);
            break;
        }
        case OPT_SECCOMP:
            if (eg_seccomp_mode_parse(optarg, &o->seccomp) != 0)
                return bad("--seccomp", optarg, "expected enforce, trap or off");
            break;
        case OPT_NO_SECCOMP:
            o->seccomp = EG_SECCOMP_OFF;
            break;
        case OPT_HELP:
            eg_run_usage(stdout);
            return 1;
        case ':':
            fprintf(stderr, "ecsguard run: option '%s' needs a value\n", argv[optind - 1]);
            fprintf(stderr, "Try 'ecsguard run --help'.\n");
            return 2;
        default:
            fprintf(stderr, "ecsguard run: unknown option '%s'\n", argv[optind - 1]);
            fprintf(stderr, "Try 'ecsguard run --help'.\n");
            return 2;
        }
        if (rc)
            return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "ecsguard run: unexpected argument '%s'\n", argv[optind]);
        fprintf(stderr, "Try 'ecsguard run --help'.\n");
        return 2;
    }
    if (o->n_outputs == 0)
        o->outputs[o->n_outputs++] = "stdout";
    return 0;
}
