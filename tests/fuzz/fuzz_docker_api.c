/*
 * libFuzzer target: the Docker Engine API's container inspect body
 * (collectors/docker_api.c), the fallback the agent asks when the ECS agent does not know a
 * container. The body is the whole input; the container asked about is a fixed id (the
 * seeds and the dictionary carry it, so the fuzzer reaches the accepted path).
 *
 * Contracts: an accepted body describes exactly the container asked about, as a one-container
 * task, every field terminated within its buffer; a refused one says why and leaves no task.
 */
#include "collectors/docker_api.h"

#include "tests/fuzz/fuzz_input.h"

#define FUZZ_DOCKER_ID "4d8c1a2e5b7f90e3a6c2d1b0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size ? size : 1);
    FUZZ_CHECK(body != NULL);
    if (size)
        memcpy(body, data, size);
    struct eg_ecs_task *t = malloc(sizeof(*t));
    FUZZ_CHECK(t != NULL);
    memset(t, 0xa5, sizeof(*t));
    char err[256] = "";
    int rc = eg_docker_parse_container(body, size, FUZZ_DOCKER_ID, t, err, sizeof(err));
    if (rc != 0) {
        FUZZ_CHECK(rc == -1 && err[0] != '\0');
        FUZZ_CHECK(t->n_containers == 0 && t->arn[0] == '\0');
    } else {
        FUZZ_CHECK(t->n_containers == 1 && !t->containers_truncated);
        const struct eg_ecs_container *c = &t->containers[0];
        FUZZ_CHECK(strcmp(c->docker_id, FUZZ_DOCKER_ID) == 0);
        FUZZ_TERMINATED(t->arn);
        FUZZ_TERMINATED(t->family);
        FUZZ_TERMINATED(t->version);
        FUZZ_TERMINATED(c->name);
        FUZZ_TERMINATED(c->docker_name);
        FUZZ_TERMINATED(c->image);
        FUZZ_TERMINATED(c->image_id);
        FUZZ_CHECK(eg_ecs_task_container(t, FUZZ_DOCKER_ID) == c);
    }
    free(t);
    free(body);
    return 0;
}
