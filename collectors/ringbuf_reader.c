#include "collectors/ringbuf_reader.h"

#include <linux/bpf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

struct handler {
    eg_event_handler fn;
    void *ctx;
};

/*
 * The ring is read through our own mapping, not libbpf's ring_buffer: libbpf maps the data
 * pages twice (so a record that wraps is contiguous), and the kernel maps every page of such
 * a mapping at mmap time, so the whole 2 x size counts in the agent's RSS. One mapping of
 * the data suffices; the rare record that wraps is copied into `wrap` (see
 * eg_ringbuf_consume).
 */
struct eg_ringbuf_reader {
    int ring_fd;
    uint64_t ring_size;
    uint64_t *consumer_pos;       /* page 0, the only page user space may write */
    const uint64_t *producer_pos; /* page 1, followed by the data pages (one mapping) */
    const uint8_t *data;
    size_t prod_map_len;
    uint8_t *wrap;
    size_t wrap_cap;
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

/* The record's payload, contiguous: in place, or copied when it wraps past the end. */
static const void *record_at(struct eg_ringbuf_reader *r, const uint8_t *data, uint64_t size,
                             uint64_t off, uint32_t len)
{
    if (off + len <= size)
        return data + off;
    if (len > r->wrap_cap) {
        uint8_t *w = realloc(r->wrap, len);
        if (!w)
            return NULL;
        r->wrap = w;
        r->wrap_cap = len;
    }
    size_t first = (size_t)(size - off);
    memcpy(r->wrap, data + off, first);
    memcpy(r->wrap + first, data, len - first);
    return r->wrap;
}

int eg_ringbuf_consume(struct eg_ringbuf_reader *r, uint64_t *consumer_pos,
                       const uint64_t *producer_pos, const uint8_t *data, uint64_t size)
{
    const uint64_t mask = size - 1;
    uint64_t cons = __atomic_load_n(consumer_pos, __ATOMIC_ACQUIRE);
    int n = 0;
    bool more = true;
    while (more) {
        more = false;
        uint64_t prod = __atomic_load_n(producer_pos, __ATOMIC_ACQUIRE);
        while (cons < prod) {
            /* Headers are 8-byte aligned in a ring of whole pages: never split. */
            const uint32_t *hdr = (const uint32_t *)(data + (cons & mask));
            uint32_t word = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
            if (word & BPF_RINGBUF_BUSY_BIT)
                return n; /* not committed yet: the next drain takes it */
            uint32_t len = word & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
            bool discarded = word & BPF_RINGBUF_DISCARD_BIT;
            if (len > size - BPF_RINGBUF_HDR_SZ || len + BPF_RINGBUF_HDR_SZ > prod - cons) {
                /*
                 * Cannot happen with a kernel producer: a record is reserved whole before the
                 * producer position moves past it. Stopping here would stall the agent on this
                 * header forever, and following a length that ends past the producer would move
                 * the consumer ahead of it (the kernel then sees a full ring and refuses every
                 * record: blind for good), so skip everything written so far and count it: the
                 * records in between cannot be parsed, only their bytes counted.
                 */
                r->stats.corrupt_headers++;
                r->stats.corrupt_bytes_skipped += prod - cons;
                cons = prod;
                __atomic_store_n(consumer_pos, cons, __ATOMIC_RELEASE);
                more = true;
                break;
            }
            if (!discarded) {
                const void *rec = record_at(r, data, size, (cons + BPF_RINGBUF_HDR_SZ) & mask, len);
                if (rec)
                    eg_ringbuf_dispatch(r, rec, len);
                else
                    r->stats.malformed++; /* no memory for a wrapped copy: counted */
                n++;
            }
            cons += ((uint64_t)len + BPF_RINGBUF_HDR_SZ + 7) & ~(uint64_t)7;
            __atomic_store_n(consumer_pos, cons, __ATOMIC_RELEASE);
            more = true;
        }
    }
    return n;
}

struct eg_ringbuf_reader *eg_ringbuf_reader_new(int ring_fd)
{
    struct eg_ringbuf_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->ring_fd = ring_fd;
    if (ring_fd < 0)
        return r;
    struct bpf_map_info info;
    uint32_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    long page = sysconf(_SC_PAGESIZE);
    if (bpf_obj_get_info_by_fd(ring_fd, &info, &len) != 0 || info.type != BPF_MAP_TYPE_RINGBUF ||
        info.max_entries == 0 || (info.max_entries & (info.max_entries - 1)) != 0) {
        free(r);
        return NULL;
    }
    r->ring_size = info.max_entries;
    r->prod_map_len = (size_t)page + info.max_entries;
    void *cons = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, ring_fd, 0);
    void *prod = mmap(NULL, r->prod_map_len, PROT_READ, MAP_SHARED, ring_fd, page);
    if (cons == MAP_FAILED || prod == MAP_FAILED) {
        if (cons != MAP_FAILED)
            munmap(cons, (size_t)page);
        if (prod != MAP_FAILED)
            munmap(prod, r->prod_map_len);
        free(r);
        return NULL;
    }
    r->consumer_pos = cons;
    r->producer_pos = prod;
    r->data = (const uint8_t *)prod + page;
    return r;
}

void eg_ringbuf_reader_free(struct eg_ringbuf_reader *r)
{
    if (!r)
        return;
    if (r->consumer_pos)
        munmap(r->consumer_pos, (size_t)sysconf(_SC_PAGESIZE));
    if (r->producer_pos)
        munmap((void *)r->producer_pos, r->prod_map_len);
    free(r->wrap);
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
    return r->data ? r->ring_fd : -1; /* a ring buffer map polls readable when data waits */
}

int eg_ringbuf_reader_drain(struct eg_ringbuf_reader *r)
{
    if (!r->data)
        return 0;
    return eg_ringbuf_consume(r, r->consumer_pos, r->producer_pos, r->data, r->ring_size);
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
