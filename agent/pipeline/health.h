/*
 * The agent's health: kernel counters per event kind (seen, sent,
 * deduplicated, dropped, filtered), ring buffer fill, tables, the ECS
 * introspection cache, findings and sinks. Logged every interval, written to
 * --health-file, and (with CloudWatch output) shipped as EMF metrics.
 */
#ifndef ECSGUARD_HEALTH_H
#define ECSGUARD_HEALTH_H

#include <stdint.h>

#include "bpf/events.h"

struct json_object;

/* Sum the per-CPU kernel counters. Returns 0, or -1 when the map cannot be read. */
int eg_health_read_kernel_counters(int counters_fd, struct eg_counters *sum);
/* {"cap": {"seen":..,"sent":..,...}, ...} and filter reasons, added to obj. */
void eg_health_add_kernel_counters(struct json_object *obj, const struct eg_counters *c);
const char *eg_event_kind_name(uint32_t kind);
/*
 * Entries in the BPF map `fd` now (and its capacity in *capacity), by walking its keys: for the
 * tables that must follow live things (homes, set-up marks, containers), where a count that
 * only grows is a leak. -1 when the map cannot be read. One system call per entry.
 */
int64_t eg_health_count_map_entries(int fd, uint32_t *capacity);
/* Write `obj` to `path` atomically (temp file + rename). */
int eg_health_write_file(const char *path, struct json_object *obj);

#endif
