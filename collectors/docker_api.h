/*
 * Docker Engine API (`GET /containers/<id>/json` on the daemon's unix
 * socket): the container runtime's view of a container. The fallback when
 * the ECS agent does not know a container (the ecs-agent container itself,
 * `docker run`) or cannot be asked: name, image and the com.amazonaws.ecs.*
 * labels the ECS agent puts on every container it creates.
 */
#ifndef ECSGUARD_DOCKER_API_H
#define ECSGUARD_DOCKER_API_H

#include <stddef.h>

#include "collectors/ecs_introspection.h"

#define EG_DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"

/*
 * Parse a container inspect body into a one-container task: the container's
 * id, name (the ECS container-name label, else Docker's name without the
 * leading '/'), image and Docker name; the task's arn, family and version
 * from the ECS labels when present (else empty). Returns 0, or -1 with a
 * message for malformed JSON, a wrong shape, or an id that is not `docker_id`.
 */
int eg_docker_parse_container(const char *body, size_t len, const char *docker_id,
                              struct eg_ecs_task *out, char *err, size_t errlen);

#endif
