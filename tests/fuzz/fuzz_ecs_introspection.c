/*
 * libFuzzer target: the ECS agent's introspection responses (collectors/ecs_parse.c), a
 * TaskResponse (/v1/tasks?dockerid=) or the agent metadata (/v1/metadata). The first byte
 * chooses which; the rest is the body as the agent's HTTP client received it.
 *
 * Contracts beyond "no crash": an answer is either accepted whole (every field terminated
 * within its buffer, descriptive text cut only between whole UTF-8 sequences, an ARN present, at
 * most EG_ECS_MAX_CONTAINERS stored and the truncation flag saying whether more came) or refused
 * with a message and nothing left behind; each stored container is found again by its id.
 */
#include "collectors/ecs_introspection.h"

#include "tests/fuzz/fuzz_input.h"

static void check_container(const struct eg_ecs_task *t, const struct eg_ecs_container *c)
{
    FUZZ_TERMINATED(c->docker_id);
    FUZZ_TERMINATED(c->docker_name);
    FUZZ_TERMINATED(c->name);
    FUZZ_TERMINATED(c->image);
    FUZZ_TERMINATED(c->image_id);
    FUZZ_CHECK(fuzz_whole_utf8_sequences(c->docker_name, strlen(c->docker_name)));
    FUZZ_CHECK(fuzz_whole_utf8_sequences(c->image, strlen(c->image)));
    FUZZ_CHECK(fuzz_whole_utf8_sequences(c->image_id, strlen(c->image_id)));
    if (c->docker_id[0]) {
        const struct eg_ecs_container *found = eg_ecs_task_container(t, c->docker_id);
        FUZZ_CHECK(found && strcmp(found->docker_id, c->docker_id) == 0);
    }
}

static void fuzz_task(const char *body, size_t len)
{
    struct eg_ecs_task *t = malloc(sizeof(*t));
    FUZZ_CHECK(t != NULL);
    memset(t, 0xa5, sizeof(*t)); /* what a reused buffer holds: must not leak into the result */
    char err[256] = "";
    int rc = eg_ecs_parse_task(body, len, t, err, sizeof(err));
    if (rc != 0) {
        FUZZ_CHECK(rc == -1 && err[0] != '\0');
        FUZZ_CHECK(t->arn[0] == '\0' && t->n_containers == 0);
        free(t);
        return;
    }
    FUZZ_TERMINATED(t->arn);
    FUZZ_TERMINATED(t->family);
    FUZZ_TERMINATED(t->version);
    FUZZ_TERMINATED(t->known_status);
    FUZZ_TERMINATED(t->desired_status);
    FUZZ_CHECK(t->arn[0] != '\0');
    FUZZ_CHECK(t->n_containers >= 0 && t->n_containers <= EG_ECS_MAX_CONTAINERS);
    FUZZ_CHECK(!t->containers_truncated || t->n_containers == EG_ECS_MAX_CONTAINERS);
    for (int i = 0; i < t->n_containers; i++)
        check_container(t, &t->containers[i]);
    FUZZ_CHECK(eg_ecs_task_container(t, "") == NULL);
    free(t);
}

static void fuzz_metadata(const char *body, size_t len)
{
    struct eg_ecs_metadata m;
    memset(&m, 0xa5, sizeof(m));
    char err[256] = "";
    int rc = eg_ecs_parse_metadata(body, len, &m, err, sizeof(err));
    if (rc != 0) {
        FUZZ_CHECK(rc == -1 && err[0] != '\0');
        FUZZ_CHECK(m.cluster[0] == '\0' && m.container_instance_arn[0] == '\0');
        return;
    }
    FUZZ_TERMINATED(m.cluster);
    FUZZ_TERMINATED(m.container_instance_arn);
    FUZZ_TERMINATED(m.version);
    FUZZ_CHECK(fuzz_whole_utf8_sequences(m.version, strlen(m.version)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    uint8_t which = fuzz_u8(&in);
    const uint8_t *body;
    size_t len = fuzz_rest(&in, &body);
    /* An exact-size copy: ASan sees a read past the body, which a bare pointer into `data`
     * would hide from the reads that stay inside the fuzzer's buffer. */
    char *copy = malloc(len ? len : 1);
    FUZZ_CHECK(copy != NULL);
    if (len)
        memcpy(copy, body, len);
    if (which & 1)
        fuzz_metadata(copy, len);
    else
        fuzz_task(copy, len);
    free(copy);
    return 0;
}
