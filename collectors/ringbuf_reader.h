/*
 * Reads the kernel's ring buffer and hands each record to the handler
 * registered for its kind. Records are validated (size, kind) before any
 * handler sees them; malformed or unknown ones are counted, never trusted.
 * New concerns plug in with eg_ringbuf_reader_on(kind, handler); several
 * handlers may take the same kind (called in registration order).
 */
#ifndef ECSGUARD_RINGBUF_READER_H
#define ECSGUARD_RINGBUF_READER_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/events.h"

typedef void (*eg_event_handler)(void *ctx, const struct eg_event_header *hdr, const void *rec,
                                 size_t size);

struct eg_ringbuf_reader_stats {
    uint64_t records, bytes, malformed, unhandled;
    /* Record headers with an impossible length (a corrupt ring): the reader skipped to the
     * producer position, losing `corrupt_bytes_skipped` bytes of records it cannot count. */
    uint64_t corrupt_headers, corrupt_bytes_skipped;
    uint64_t by_kind[EG_KIND_SLOTS];
};

struct eg_ringbuf_reader;

/* `ring_fd` is the BPF_MAP_TYPE_RINGBUF map; -1 builds a reader fed only by eg_ringbuf_dispatch. */
struct eg_ringbuf_reader *eg_ringbuf_reader_new(int ring_fd);
void eg_ringbuf_reader_free(struct eg_ringbuf_reader *r);
#define EG_HANDLERS_PER_KIND 4

/* 0, or -1 when the kind is out of range or already has EG_HANDLERS_PER_KIND handlers. */
int eg_ringbuf_reader_on(struct eg_ringbuf_reader *r, uint32_t kind, eg_event_handler fn,
                         void *ctx);
/* Fd (the map itself) that polls readable when the kernel forces a wakeup. */
int eg_ringbuf_reader_fd(struct eg_ringbuf_reader *r);
/* Consume everything available now. Returns records consumed, or -1. */
int eg_ringbuf_reader_drain(struct eg_ringbuf_reader *r);
/* Validate and dispatch one record (the ring buffer callback; also used by tests). */
int eg_ringbuf_dispatch(struct eg_ringbuf_reader *r, const void *data, size_t size);
/*
 * Consume a BPF ring laid out as the kernel does (8-byte record headers with busy and discard
 * bits, `size` a power of two, positions growing without bound): every committed record from
 * *consumer_pos up to the first uncommitted one is dispatched, *consumer_pos advanced with
 * release order after each. The data is mapped once: a record that wraps is copied. Returns
 * records dispatched, or -1 on a header the kernel cannot have written. (Used on the real
 * mapping by eg_ringbuf_reader_drain; tests and replays pass memory of their own.)
 */
int eg_ringbuf_consume(struct eg_ringbuf_reader *r, uint64_t *consumer_pos,
                       const uint64_t *producer_pos, const uint8_t *data, uint64_t size);
/* Bytes waiting in the ring buffer and its size (for health: fill level). */
void eg_ringbuf_reader_fill(struct eg_ringbuf_reader *r, uint64_t *used, uint64_t *size);
void eg_ringbuf_reader_get_stats(struct eg_ringbuf_reader *r, struct eg_ringbuf_reader_stats *out);

#endif
