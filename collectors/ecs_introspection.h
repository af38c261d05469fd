/*
 * ECS agent introspection API (http://localhost:51678): response parsing and
 * an asynchronous, caching client. The agent's event loop never blocks on
 * HTTP: lookups return what the cache holds now, requests go to a worker
 * thread, and completions are announced on an eventfd.
 */
#ifndef ECSGUARD_ECS_INTROSPECTION_H
#define ECSGUARD_ECS_INTROSPECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EG_ECS_MAX_CONTAINERS 16
#define EG_ECS_MAX_BODY (1024 * 1024) /* larger responses are rejected */

struct eg_ecs_container {
    char docker_id[65];
    char docker_name[256];
    char name[256];
    char image[512];
    char image_id[160];
};

struct eg_ecs_task {
    char arn[384]; /* room for a 255-char cluster name in the ARN */
    char family[256];
    char version[32];
    char known_status[32];
    char desired_status[32];
    int n_containers;
    bool containers_truncated; /* more than EG_ECS_MAX_CONTAINERS in the response */
    struct eg_ecs_container containers[EG_ECS_MAX_CONTAINERS];
};

struct eg_ecs_metadata {
    char cluster[256];
    char container_instance_arn[384]; /* room for a 255-char cluster name */
    char version[128];
};

/*
 * Parse one TaskResponse (the body of /v1/tasks?dockerid=...). Returns 0 on
 * success, -1 with a message in `err` for malformed JSON, a wrong shape, the
 * agent's error body (empty Arn), or a body over EG_ECS_MAX_BODY.
 */
int eg_ecs_parse_task(const char *body, size_t len, struct eg_ecs_task *out, char *err,
                      size_t errlen);
/* Parse /v1/metadata. Same return convention. */
int eg_ecs_parse_metadata(const char *body, size_t len, struct eg_ecs_metadata *out, char *err,
                          size_t errlen);
/*
 * The introspection API omits ECS's internal containers from Containers but
 * still resolves their ids to the task (reference/ecs.md §1.3–1.4): an id
 * that resolves to `task` yet is not listed is the task's pause container.
 */
#define EG_ECS_PAUSE_CONTAINER_NAME "~internal~ecs~pause"

/* The container of `task` with this docker id, or NULL. */
const struct eg_ecs_container *eg_ecs_task_container(const struct eg_ecs_task *task,
                                                     const char *docker_id);

enum eg_ecs_state {
    EG_ECS_UNKNOWN = 0,  /* never requested */
    EG_ECS_PENDING,      /* requested, no answer yet (or retrying after an error) */
    EG_ECS_RESOLVED,     /* task known */
    EG_ECS_NOT_FOUND,    /* the agent answered 404: not an ECS container (retried with backoff) */
    EG_ECS_RUNTIME_ONLY, /* the ECS agent does not know it (or cannot be asked) but the
                            container runtime does: a one-container task from the Docker API
                            (name, image, ECS labels), in `out` */
};

struct eg_ecs_client_config {
    const char *base_url;      /* default http://localhost:51678 */
    long connect_timeout_ms;   /* default 500 */
    long request_timeout_ms;   /* default 2000 */
    unsigned positive_ttl_s;   /* default 300: re-validate resolved entries */
    unsigned negative_ttl_s;   /* default 30: ceiling of the 404 retry backoff */
    unsigned max_entries;      /* default 4096: cache bound (LRU) */
    const char *docker_socket; /* Docker Engine API socket asked when the ECS agent cannot
                                  answer; NULL: /var/run/docker.sock; "": never */
    unsigned retry_initial_ms; /* default 1000: first retry delay after a 404 or an error */
};

struct eg_ecs_client_stats {
    uint64_t requests, responses_ok, not_found, http_errors, timeouts, connect_errors;
    uint64_t parse_errors, cache_hits, cache_misses, retries, evictions;
    uint64_t runtime_lookups, runtime_answers; /* Docker API fallback */
    bool metadata_known;
    uint64_t oversized;        /* answers aborted past EG_ECS_MAX_BODY */
    uint64_t transport_errors; /* connection reset/closed, not HTTP, truncated body */
    uint64_t revalidations;    /* requests re-checking a resolved entry after positive_ttl_s */
};

struct eg_ecs_client;

struct eg_ecs_client *eg_ecs_client_new(const struct eg_ecs_client_config *cfg);
void eg_ecs_client_free(struct eg_ecs_client *c);
/* Ask for a container's task (no-op when cached or in flight). Never blocks. */
void eg_ecs_client_request(struct eg_ecs_client *c, const char *docker_id);
/* Copy the cached task for this docker id into `out` when RESOLVED. Never blocks on I/O. */
enum eg_ecs_state eg_ecs_client_lookup(struct eg_ecs_client *c, const char *docker_id,
                                       struct eg_ecs_task *out);
/* Cluster/instance from /v1/metadata (fetched at start and retried until known). */
bool eg_ecs_client_metadata(struct eg_ecs_client *c, struct eg_ecs_metadata *out);
/* Readable (eventfd) whenever an answer arrived; the reader drains it. */
int eg_ecs_client_notify_fd(struct eg_ecs_client *c);
/* Stop re-validating this id (container gone); the entry stays until evicted. */
void eg_ecs_client_forget(struct eg_ecs_client *c, const char *docker_id);
void eg_ecs_client_get_stats(struct eg_ecs_client *c, struct eg_ecs_client_stats *out);

#endif
