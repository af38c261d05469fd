/*
 * libFuzzer target: the finding serializer (agent/pipeline/finding_json.c) fed findings built
 * from fuzzed fields: the container-controlled ones (comm with control characters, paths and
 * command lines of any bytes, invalid UTF-8, quotes and newlines, fields filled to their last
 * byte), the ECS task and agent metadata (from the ECS agent or the Docker API), and the
 * detector's context (built as detectors build it, through agent/common/json_text.h).
 *
 * Contract: whatever the fields hold, the result is -1 or exactly one JSON line: valid UTF-8,
 * no raw control character, one object and nothing after it, of the length returned, within
 * the buffer and EG_FINDING_LINE_MAX, with the finding's own type, id and count.
 */
#include "agent/common/json_text.h"
#include "agent/pipeline/finding_json.h"

#include "tests/fuzz/fuzz_input.h"

static void fuzz_process(struct fuzz_input *in, struct eg_process_info *p)
{
    fuzz_field(in, p->name, sizeof(p->name), true);
    fuzz_field(in, p->exe, sizeof(p->exe), true);
    fuzz_field(in, p->args, sizeof(p->args), true);
    p->pid = fuzz_u32(in);
    p->ns_pid = fuzz_u32(in);
    p->uid = fuzz_u32(in);
    p->euid = fuzz_u32(in);
    p->start_time = (double)fuzz_u32(in) + fuzz_u8(in) / 256.0; /* epoch seconds, finite */
    fuzz_field(in, p->uuid, sizeof(p->uuid), false);
    fuzz_field(in, p->parent_uuid, sizeof(p->parent_uuid), false);
}

/* A context as the detectors make one: fixed keys, values from untrusted bytes. */
static struct json_object *fuzz_context(struct fuzz_input *in)
{
    static const char *const keys[] = {"filePath", "commandLineExample", "targetProcess",
                                       "capabilityName", "cgroupPath"};
    uint8_t n = fuzz_u8(in) % 6;
    if (!n)
        return NULL;
    struct json_object *ctx = json_object_new_object();
    for (uint8_t i = 0; i < n; i++) {
        char value[EG_PATH_LEN];
        fuzz_field(in, value, sizeof(value), true);
        uint8_t max = fuzz_u8(in);
        /* Fields are bounded by their own size, as the detectors bound them. */
        size_t bound = max < 32 ? 32 : max;
        json_object_object_add(ctx, keys[i % 5], eg_json_string_n(value, sizeof(value), bound));
    }
    return ctx;
}

static void fuzz_task(struct fuzz_input *in, struct eg_ecs_task *t)
{
    memset(t, 0, sizeof(*t));
    fuzz_field(in, t->arn, sizeof(t->arn), false);
    fuzz_field(in, t->family, sizeof(t->family), false);
    fuzz_field(in, t->version, sizeof(t->version), false);
    fuzz_field(in, t->known_status, sizeof(t->known_status), false);
    fuzz_field(in, t->desired_status, sizeof(t->desired_status), false);
    t->n_containers = fuzz_u8(in) % 4;
    for (int i = 0; i < t->n_containers; i++) {
        struct eg_ecs_container *c = &t->containers[i];
        fuzz_field(in, c->docker_id, sizeof(c->docker_id), false);
        fuzz_field(in, c->docker_name, sizeof(c->docker_name), false);
        fuzz_field(in, c->name, sizeof(c->name), false);
        fuzz_field(in, c->image, sizeof(c->image), false);
        fuzz_field(in, c->image_id, sizeof(c->image_id), false);
    }
}

static char line[EG_FINDING_LINE_MAX + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    struct eg_finding *f = calloc(1, sizeof(*f));
    struct eg_ecs_task *task = malloc(sizeof(*task));
    FUZZ_CHECK(f && task);
    uint8_t flags = fuzz_u8(&in);
    f->type = (enum eg_finding_type)(fuzz_u8(&in) % (EG_FT_COUNT + 1));
    snprintf(f->id, sizeof(f->id), "%016llx%016llx", (unsigned long long)fuzz_u64(&in),
             (unsigned long long)fuzz_u64(&in));
    f->created_ms = fuzz_u64(&in) % (253402300800000ull); /* before year 10000 */
    f->first_seen_ms = fuzz_u64(&in) % (253402300800000ull);
    f->last_seen_ms = fuzz_u64(&in) % (253402300800000ull);
    f->count = fuzz_u64(&in) >> 1; /* json-c's int64 */
    f->host_flags = fuzz_u32(&in);
    f->where.cgroup_id = fuzz_u64(&in);
    f->where.host_ns = fuzz_u32(&in);
    fuzz_field(&in, f->where.container_id, sizeof(f->where.container_id), false);
    fuzz_field(&in, f->where.task_id, sizeof(f->where.task_id), false);
    fuzz_field(&in, f->where.cgroup_path, sizeof(f->where.cgroup_path), false);
    fuzz_process(&in, &f->process);
    f->n_lineage = fuzz_u8(&in) % (EG_LINEAGE_MAX + 1);
    for (int i = 0; i < f->n_lineage; i++)
        fuzz_process(&in, &f->lineage[i]);
    fuzz_field(&in, f->capability, sizeof(f->capability), false);
    fuzz_field(&in, f->file_path, sizeof(f->file_path), false);
    fuzz_field(&in, f->namespace_kind, sizeof(f->namespace_kind), false);
    fuzz_field(&in, f->target_process, sizeof(f->target_process), false);
    f->context = fuzz_context(&in);

    struct eg_ecs_metadata meta;
    memset(&meta, 0, sizeof(meta));
    fuzz_field(&in, meta.cluster, sizeof(meta.cluster), false);
    fuzz_field(&in, meta.container_instance_arn, sizeof(meta.container_instance_arn), false);
    fuzz_field(&in, meta.version, sizeof(meta.version), false);
    fuzz_task(&in, task);
    char hostname[256];
    fuzz_field(&in, hostname, sizeof(hostname), false);
    static const char *const resolutions[] = {"introspection", "containerRuntime", "cgroupPath",
                                              "notEcs", NULL};
    struct eg_finding_view v = {
        .severity = 1.0 + (fuzz_u8(&in) % 91) / 10.0, /* the policy keeps it in [1, 10] */
        .now_ms = fuzz_u64(&in) % (253402300800000ull),
        .task = (flags & 1) ? task : NULL,
        .agent = (flags & 2) ? &meta : NULL,
        .hostname = (flags & 4) ? hostname : NULL,
        .task_resolution = resolutions[(flags >> 3) % 5],
    };
    /* A small buffer now and then: the serializer must refuse, never cut. */
    size_t outlen = (flags & 0x80) ? 64 + fuzz_u8(&in) * 16u : sizeof(line);
    int n = eg_finding_to_json(f, &v, line, outlen);
    if (f->type >= EG_FT_COUNT)
        FUZZ_CHECK(n == -1);
    if (n >= 0) {
        FUZZ_CHECK((size_t)n < outlen && n <= EG_FINDING_LINE_MAX);
        struct json_object *root = fuzz_check_json_line(line, (size_t)n);
        struct json_object *m, *svc;
        FUZZ_CHECK(json_object_object_get_ex(root, "type", &m));
        FUZZ_CHECK(strcmp(json_object_get_string(m), eg_finding_type_info(f->type)->name) == 0);
        FUZZ_CHECK(json_object_object_get_ex(root, "id", &m));
        FUZZ_CHECK(strcmp(json_object_get_string(m), f->id) == 0);
        FUZZ_CHECK(json_object_object_get_ex(root, "service", &svc));
        FUZZ_CHECK(json_object_object_get_ex(svc, "count", &m));
        FUZZ_CHECK((uint64_t)json_object_get_int64(m) == f->count);
        json_object_put(root);
    } else {
        FUZZ_CHECK(n == -1);
    }
    json_object_put(f->context);
    free(task);
    free(f);
    return 0;
}
