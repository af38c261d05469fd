/*
 * The ECS client's Docker Engine API fallback: when a request to the ECS
 * agent ends without a task (a 404 for the ecs-agent container itself or a
 * plain `docker run`, an error, no answer), the container runtime is asked,
 * once per container, and its one-container task is served as RUNTIME_ONLY
 * until the ECS agent resolves the container.
 *
 * Owns the decisions of that glue: whether the fallback exists on this host,
 * when to ask, and what the runtime's answer does to a cache entry. The
 * request itself is built in ecs_transfer.c, the body parsed by
 * collectors/docker_api.c; kept out of both so that they stay one thing each.
 * Called with ecs_client.c's mutex held (except eg_ecs_fallback_socket).
 */
#include "collectors/ecs_internal.h"
#include "collectors/docker_api.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *eg_ecs_fallback_socket(const char *configured)
{
    /* The Docker API fallback only where the daemon's socket exists (not on every host). */
    const char *sock = configured ? configured : EG_DOCKER_DEFAULT_SOCKET;
    if (sock[0] && access(sock, F_OK) == 0)
        return strdup(sock);
    return NULL;
}

bool eg_ecs_fallback_wanted(struct eg_ecs_cache *cache, const char *socket, const char *id)
{
    struct eg_ecs_cache_entry *e = eg_ecs_cache_find(cache, id);
    if (!socket || !e || e->runtime_asked || e->state == EG_ECS_RESOLVED)
        return false;
    e->runtime_asked = true;
    return true;
}

void eg_ecs_fallback_unask(struct eg_ecs_cache *cache, const char *id)
{
    struct eg_ecs_cache_entry *e = eg_ecs_cache_find(cache, id);
    if (e)
        e->runtime_asked = false;
}

bool eg_ecs_fallback_apply_answer(struct eg_ecs_cache *cache, const char *id, enum eg_ecs_outcome o,
                                  const struct eg_ecs_task *task)
{
    struct eg_ecs_cache_entry *e = eg_ecs_cache_find(cache, id);
    /* The ECS agent's answer, when it came meanwhile, is the better one. */
    if (!e || o != EG_ECS_OUT_OK || e->state == EG_ECS_RESOLVED)
        return false;
    size_t size = offsetof(struct eg_ecs_task, containers) + sizeof(struct eg_ecs_container);
    struct eg_ecs_task *copy = malloc(size);
    if (!copy)
        return false;
    memcpy(copy, task, size);
    free(e->task);
    e->task = copy;
    e->task_size = size;
    e->state = EG_ECS_RUNTIME_ONLY;
    return true;
}
