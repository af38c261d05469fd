/*
 * Sink set-up for `ecsguard run`: each --output spec becomes a sink (stdout, or CloudWatch
 * Logs with its spool directory, default stream and region), and the set is closed at
 * teardown. Writing to the sinks is emission's (agent/pipeline/emit.c).
 */
#include "agent/outputs/outputs_setup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/common/log.h"
#include "agent/outputs/cloudwatch_sink.h"
#include "agent/outputs/stdout_sink.h"
#include "collectors/ecs_introspection.h"

/* mkdir -p: the spool directory may be several levels below an existing one. */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/*
 * The default stream is the container instance's id (from /v1/metadata),
 * else the hostname. The introspection endpoint is asked at start; give it a
 * moment, never more than two seconds.
 */
static void default_stream(const struct eg_outputs_config *c, char *out, size_t len)
{
    struct eg_ecs_metadata meta;
    for (int i = 0; i < 20; i++) {
        if (eg_ecs_client_metadata(c->ecs, &meta) && meta.container_instance_arn[0]) {
            const char *slash = strrchr(meta.container_instance_arn, '/');
            snprintf(out, len, "%s", slash ? slash + 1 : meta.container_instance_arn);
            return;
        }
        usleep(100 * 1000);
    }
    snprintf(out, len, "%s", c->hostname);
}

/* Region from the environment (read by the sink), else from the container instance ARN. */
static const char *default_region(const struct eg_outputs_config *c, char *buf, size_t len)
{
    if (getenv("AWS_REGION") || getenv("AWS_DEFAULT_REGION"))
        return NULL;
    struct eg_ecs_metadata meta;
    if (!eg_ecs_client_metadata(c->ecs, &meta))
        return NULL;
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s", meta.container_instance_arn);
    char *save = NULL, *tok = strtok_r(tmp, ":", &save);
    for (int i = 0; tok && i < 3; i++)
        tok = strtok_r(NULL, ":", &save);
    if (!tok || !*tok)
        return NULL;
    snprintf(buf, len, "%s", tok);
    return buf;
}

static struct eg_sink *open_cloudwatch_sink(const struct eg_outputs_config *c,
                                            const char *spec_text)
{
    struct eg_cloudwatch_spec spec;
    char err[256];
    if (eg_cloudwatch_parse_spec(spec_text, &spec, err, sizeof(err)) != 0) {
        eg_log_error("output '%s': %s", spec_text, err);
        return NULL;
    }
    const char *spool = c->spool_dir ? c->spool_dir : "/var/lib/ecsguard/spool";
    if (make_dirs(spool) != 0) {
        eg_log_error("spool directory %s: %s", spool, strerror(errno));
        eg_cloudwatch_spec_free(&spec);
        return NULL;
    }
    char stream[512], region[64];
    if (spec.log_stream)
        snprintf(stream, sizeof(stream), "%s", spec.log_stream);
    else
        default_stream(c, stream, sizeof(stream));
    struct eg_cloudwatch_config cfg = {
        .log_group = spec.log_group,
        .log_stream = stream,
        .region = default_region(c, region, sizeof(region)),
        .spool_dir = spool,
    };
    struct eg_sink *s = eg_cloudwatch_sink_new(&cfg, err, sizeof(err));
    if (s)
        eg_log_info("findings go to CloudWatch Logs group %s, stream %s (spool %s)", spec.log_group,
                    stream, spool);
    eg_cloudwatch_spec_free(&spec);
    if (!s)
        eg_log_error("output '%s': %s", spec_text, err);
    return s;
}

int eg_outputs_add(struct eg_outputs *o, struct eg_sink *s)
{
    if (o->n >= EG_MAX_SINKS)
        return -1;
    o->sinks[o->n++] = s;
    return 0;
}

int eg_outputs_open(struct eg_outputs *o, const struct eg_outputs_config *c, bool cloudwatch)
{
    for (int i = 0; i < c->n_specs; i++) {
        const char *spec = c->specs[i];
        bool is_cw = strncmp(spec, "cloudwatch:", 11) == 0;
        if (is_cw != cloudwatch)
            continue;
        struct eg_sink *s =
            is_cw ? open_cloudwatch_sink(c, spec) : eg_stdout_sink_new(STDOUT_FILENO);
        if (!s) {
            if (!is_cw)
                eg_log_error("output '%s' could not be opened", spec);
            return -1;
        }
        if (eg_outputs_add(o, s) != 0) {
            eg_log_error("output '%s': more than %d outputs", spec, EG_MAX_SINKS);
            s->ops->destroy(s);
            return -1;
        }
    }
    return 0;
}

void eg_outputs_close(struct eg_outputs *o)
{
    for (int i = 0; i < o->n; i++)
        o->sinks[i]->ops->destroy(o->sinks[i]);
    o->n = 0;
}
