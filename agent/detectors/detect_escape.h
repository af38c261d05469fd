/*
 * Container-escape techniques (EG_EVENT_ESCAPE, bpf/escape.bpf.h, bpf/escape_open.bpf.h):
 * fileless execution, elevation to root through a set-user-id file, an exec from a working
 * directory on another mount namespace's mount, a write-open of a cgroup release_agent or of a
 * file on another mount namespace's mount, a userfaultfd object, a connect to a container
 * runtime's socket on the host (docs/findings.md "Escapes").
 */
#ifndef ECSGUARD_DETECT_ESCAPE_H
#define ECSGUARD_DETECT_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/detectors/detector.h"
#include "bpf/events.h"
#include "policy/finding_types.h"

struct eg_escape_detector_stats {
    uint64_t events;             /* EG_EVENT_ESCAPE records handled */
    uint64_t short_records;      /* ... shorter than struct eg_escape_event: ignored */
    uint64_t unknown_techniques; /* ... of a technique this agent does not know: ignored */
    uint64_t findings_dropped;   /* the aggregator was full */
    /* connects to a unix socket the host bound that is no container runtime's: no finding */
    uint64_t other_host_sockets;
    uint64_t other_host_exe_opens; /* /proc/<pid>/exe opens of a non-runtime host file */
    uint64_t modules_hashed;       /* moduleSha256 given */
    uint64_t modules_not_hashed;   /* loaded by file, no digest (gone, changed, too large) */
};

struct eg_escape_detector;

struct eg_escape_detector *eg_escape_detector_new(const struct eg_detector_env *env);
void eg_escape_detector_free(struct eg_escape_detector *d);
/* The ring-buffer handler of EG_EVENT_ESCAPE (ctx: the detector). */
void eg_escape_on_event(void *ctx, const struct eg_event_header *h, const void *rec, size_t size);
void eg_escape_detector_get_stats(const struct eg_escape_detector *d,
                                  struct eg_escape_detector_stats *out);
/* The finding type of an enum eg_escape_technique; false for one this agent does not know. */
bool eg_escape_finding_type(uint32_t technique, enum eg_finding_type *out);
/*
 * Whether a unix socket's bound address names a container runtime's API (docker.sock,
 * containerd.sock and its ttrpc twin, crio.sock, podman.sock, cri-dockerd.sock), by its last
 * component: the directory differs per distribution and daemon option.
 */
bool eg_runtime_socket_address(const char *sun_path);
/*
 * Whether a host file's path names a container runtime's binary (runc, crun, youki, runsc,
 * containerd's shims...), by its last component.
 */
bool eg_runtime_binary_path(const char *path);

#endif
