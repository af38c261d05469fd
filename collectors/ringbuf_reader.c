#include "collectors/ringbuf_reader.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

struct handler {
    eg_event_handler fn;
    void *ctx;
};

struct eg_ringbuf_reader {
    struct ring_buffer *rb;
    int ring_fd;
    uint64_t ring_size;
    /* Read-only views of the consumer and producer positions, for the fill level. */
    volatile uint64_t *consumer_pos, *producer_pos;
    struct handler handlers[EG_KIND_SLOTS][EG_HANDLERS_PER_KIND];
    struct eg_ringbuf_reader_stats stats;
};

/* Smallest valid record size per kind; records shorter than that are malformed. */
static size_t min_size(uint32_t kind)
{
    switch (kind) {
    case EG_EVENT_CAP:
        return sizeof(struct eg_cap_event);
    case EG_EVENT_EXEC:
        return sizeof(struct eg_exec_event);
    case EG_EVENT_FORK:
        return sizeof(struct eg_fork_event);
    case EG_EVENT_EXIT:
        return sizeof(struct eg_exit_event);
    case EG_EVENT_CGROUP_MKDIR:
    case EG_EVENT_CGROUP_RMDIR:
        return sizeof(struct eg_cgroup_event);
    case EG_EVENT_ROOTFS_WRITE:
        return sizeof(struct eg_rootfs_write_event);
    case EG_EVENT_ROOTFS_PATHOP:
        return sizeof(struct eg_rootfs_pathop_event);
    case EG_EVENT_ROOTFS_EXEC_MAP:
        return sizeof(struct eg_rootfs_exec_map_event);
    case EG_EVENT_NS_ENTER:
    case EG_EVENT_PROC_ACCESS:
        return sizeof(struct eg_hostns_event);
    default:
        return sizeof(struct eg_event_header);
    }
}

int eg_ringbuf_dispatch(struct eg_ringbuf_reader *r, const void *data, size_t size)
{
    r->stats.records++;
    r->stats.bytes += size;
    if (size < sizeof(struct eg_event_header)) {
        r->stats.malformed++;
        return 0;
    }
    const struct eg_event_header *h = data;
    if (h->kind >= EG_KIND_SLOTS || h->size > size || h->size < min_size(h->kind)) {
        r->stats.malformed++;
        return 0;
    }
    r->stats.by_kind[h->kind]++;
    const struct handler *hd = r->handlers[h->kind];
    if (!hd[0].fn) {
        r->stats.unhandled++;
        return 0;
    }
    /* In registration order: the process table learns of an exec before detectors look. */
    for (int i = 0; i < EG_HANDLERS_PER_KIND && hd[i].fn; i++)
        hd[i].fn(hd[i].ctx, h, data, h->size);
    return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
    return eg_ringbuf_dispatch(ctx, data, size);
}

struct eg_ringbuf_reader *eg_ringbuf_reader_new(int ring_fd)
{
    struct eg_ringbuf_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->ring_fd = ring_fd;
    if (ring_fd >= 0) {
        r->rb = ring_buffer__new(ring_fd, on_record, r, NULL);
        if (!r->rb) {
            free(r);
            return NULL;
        }
        struct bpf_map_info info;
        uint32_t len = sizeof(info);
        memset(&info, 0, sizeof(info));
        if (bpf_obj_get_info_by_fd(ring_fd, &info, &len) == 0)
            r->ring_size = info.max_entries;
        long page = sysconf(_SC_PAGESIZE);
        void *cons = mmap(NULL, page, PROT_READ, MAP_SHARED, ring_fd, 0);
        void *prod = mmap(NULL, page, PROT_READ, MAP_SHARED, ring_fd, page);
        if (cons != MAP_FAILED)
            r->consumer_pos = cons;
        if (prod != MAP_FAILED)
            r->producer_pos = prod;
    }
    return r;
}

void eg_ringbuf_reader_free(struct eg_ringbuf_reader *r)
{
    if (!r)
        return;
    if (r->rb)
        ring_buffer__free(r->rb);
    long page = sysconf(_SC_PAGESIZE);
    if (r->consumer_pos)
        munmap((void *)r->consumer_pos, page);
    if (r->producer_pos)
        munmap((void *)r->producer_pos, page);
    free(r);
}

int eg_ringbuf_reader_on(struct eg_ringbuf_reader *r, uint32_t kind, eg_event_handler fn, void *ctx)
{
    if (kind >= EG_KIND_SLOTS)
        return -1;
    for (int i = 0; i < EG_HANDLERS_PER_KIND; i++) {
        if (!r->handlers[kind][i].fn) {
            r->handlers[kind][i] = (struct handler){fn, ctx};
            return 0;
        }
    }
    return -1;
}

int eg_ringbuf_reader_fd(struct eg_ringbuf_reader *r)
{
    return r->rb ? ring_buffer__epoll_fd(r->rb) : -1;
}

int eg_ringbuf_reader_drain(struct eg_ringbuf_reader *r)
{
    return r->rb ? ring_buffer__consume(r->rb) : 0;
}

void eg_ringbuf_reader_fill(struct eg_ringbuf_reader *r, uint64_t *used, uint64_t *size)
{
    *size = r->ring_size;
    *used = 0;
    if (r->consumer_pos && r->producer_pos) {
        uint64_t prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
        uint64_t cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
        *used = prod > cons ? prod - cons : 0;
    }
}

void eg_ringbuf_reader_get_stats(struct eg_ringbuf_reader *r, struct eg_ringbuf_reader_stats *out)
{
    *out = r->stats;
}
