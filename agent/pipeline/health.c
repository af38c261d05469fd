#include "agent/pipeline/health.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

const char *eg_event_kind_name(uint32_t kind)
{
    switch (kind) {
    case EG_EVENT_CAP:
        return "capability";
    case EG_EVENT_EXEC:
        return "exec";
    case EG_EVENT_FORK:
        return "fork";
    case EG_EVENT_EXIT:
        return "exit";
    case EG_EVENT_CGROUP_MKDIR:
        return "cgroupMkdir";
    case EG_EVENT_CGROUP_RMDIR:
        return "cgroupRmdir";
    case EG_EVENT_ROOTFS_WRITE:
        return "rootfsWrite";
    case EG_EVENT_ROOTFS_PATHOP:
        return "rootfsPathOp";
    case EG_EVENT_ROOTFS_EXEC_MAP:
        return "rootfsExecMap";
    case EG_EVENT_NS_ENTER:
        return "hostNamespaceEntry";
    case EG_EVENT_PROC_ACCESS:
        return "processAccess";
    case EG_EVENT_CGROUP_LEFT:
        return "cgroupLeft";
    case EG_EVENT_ESCAPE:
        return "escape";
    default:
        return NULL;
    }
}

int eg_health_read_kernel_counters(int counters_fd, struct eg_counters *sum)
{
    memset(sum, 0, sizeof(*sum));
    int ncpu = libbpf_num_possible_cpus();
    if (counters_fd < 0 || ncpu <= 0)
        return -1;
    struct eg_counters *per = calloc((size_t)ncpu, sizeof(*per));
    if (!per)
        return -1;
    uint32_t zero = 0;
    int rc = bpf_map_lookup_elem(counters_fd, &zero, per);
    if (rc == 0) {
        for (int c = 0; c < ncpu; c++) {
            for (int k = 0; k < EG_KIND_SLOTS; k++) {
                sum->kind[k].seen += per[c].kind[k].seen;
                sum->kind[k].sent += per[c].kind[k].sent;
                sum->kind[k].deduplicated += per[c].kind[k].deduplicated;
                sum->kind[k].dropped += per[c].kind[k].dropped;
                sum->kind[k].filtered += per[c].kind[k].filtered;
            }
            for (int r = 0; r < EG_FILTER_REASONS; r++)
                sum->filter_reason[r] += per[c].filter_reason[r];
            sum->shed += per[c].shed;
        }
    }
    free(per);
    return rc == 0 ? 0 : -1;
}

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
    json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

void eg_health_add_kernel_counters(struct json_object *obj, const struct eg_counters *c)
{
    struct json_object *events = json_object_new_object();
    uint64_t dropped = 0;
    for (uint32_t k = 0; k < EG_KIND_SLOTS; k++) {
        const char *name = eg_event_kind_name(k);
        if (!name)
            continue;
        struct json_object *o = json_object_new_object();
        add_u64(o, "seen", c->kind[k].seen);
        add_u64(o, "sent", c->kind[k].sent);
        add_u64(o, "deduplicated", c->kind[k].deduplicated);
        add_u64(o, "dropped", c->kind[k].dropped);
        add_u64(o, "filtered", c->kind[k].filtered);
        dropped += c->kind[k].dropped;
        json_object_object_add(events, name, o);
    }
    json_object_object_add(obj, "kernelEvents", events);
    add_u64(obj, "kernelEventsDropped", dropped);
    /* Part of the drops above: refused by their container's ring share (ringBuffer). */
    add_u64(obj, "kernelEventsShed", c->shed);
    struct json_object *reasons = json_object_new_object();
    add_u64(reasons, "runtimeSetup", c->filter_reason[EG_FILTER_SETUP]);
    /* Told apart two ways (see bpf/cap.bpf.c); the total is what users watch. */
    add_u64(reasons, "memoryOvercommit",
            c->filter_reason[EG_FILTER_OVERCOMMIT] + c->filter_reason[EG_FILTER_OVERCOMMIT_FAST]);
    add_u64(reasons, "memoryOvercommitWithoutStackWalk",
            c->filter_reason[EG_FILTER_OVERCOMMIT_FAST]);
    add_u64(reasons, "borrowedCredentials", c->filter_reason[EG_FILTER_BORROWED_CRED]);
    add_u64(reasons, "dedupTableFull", c->filter_reason[EG_FILTER_DEDUP_FULL]);
    add_u64(reasons, "sameContainer", c->filter_reason[EG_FILTER_SAME_CONTAINER]);
    add_u64(reasons, "noEffect", c->filter_reason[EG_FILTER_NO_EFFECT]);
    add_u64(reasons, "syscallRegistersNotFound", c->filter_reason[EG_FILTER_SYSCALL_REGS]);
    add_u64(reasons, "capabilityFallback", c->filter_reason[EG_FILTER_CAP_FALLBACK]);
    add_u64(reasons, "homesFull", c->filter_reason[EG_FILTER_HOMES_FULL]);
    add_u64(reasons, "containerSlotPending", c->filter_reason[EG_FILTER_SLOT_PENDING]);
    add_u64(reasons, "moduleRequestsFull", c->filter_reason[EG_FILTER_MODULE_TABLE_FULL]);
    json_object_object_add(obj, "kernelFilterReasons", reasons);
}

int eg_health_write_file(const char *path, struct json_object *obj)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return -1;
    FILE *f = fopen(tmp, "we");
    if (!f)
        return -1;
    const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE);
    int ok = fputs(s, f) >= 0 && fputc('\n', f) != EOF;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

int64_t eg_health_count_map_entries(int fd, uint32_t *capacity)
{
    *capacity = 0;
    if (fd < 0)
        return -1;
    struct bpf_map_info info;
    uint32_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.key_size == 0 || info.key_size > 256)
        return -1;
    *capacity = info.max_entries;
    unsigned char key[256], next[256];
    int64_t n = 0;
    const void *prev = NULL;
    /* Bounded by the capacity: a map that changes under the walk cannot make it loop. */
    while ((uint64_t)n <= info.max_entries && bpf_map_get_next_key(fd, prev, next) == 0) {
        memcpy(key, next, info.key_size);
        prev = key;
        n++;
    }
    return n;
}
