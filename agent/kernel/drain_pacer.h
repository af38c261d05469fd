/*
 * How often the agent drains the ring buffer. While records flow it drains on a short timer
 * (--drain-interval, 10 ms: finding latency). After a run of empty drains it goes idle: it
 * marks eg_reader_idle for the kernel programs (bpf/emit.bpf.h, eg_submit) and sleeps on a
 * long timer, and the next record submitted wakes it through the ring buffer's own fd. An idle
 * agent on this VM cost ~57 us of CPU per 10 ms wakeup (0.6 % of a CPU doing nothing).
 */
#ifndef ECSGUARD_AGENT_DRAIN_PACER_H
#define ECSGUARD_AGENT_DRAIN_PACER_H

#include <stdbool.h>
#include <stdint.h>

#include "collectors/ringbuf_reader.h"

/* Empty drains in a row before going idle (at 10 ms: 50 ms without a record). */
#define EG_PACER_IDLE_AFTER 5
/* The idle timer: sinks batch on 100 ms ticks, and a missed kernel wakeup waits at most this. */
#define EG_PACER_IDLE_MS 100

struct eg_drain_pacer_stats {
    uint64_t idle_entries; /* times the agent went idle */
    uint64_t ring_wakeups; /* wakeups by the ring buffer's fd (a record while idle, a backlog) */
    uint64_t mark_errors;  /* eg_reader_idle could not be written: the agent stayed active */
};

struct eg_drain_pacer {
    int timerfd;
    int idle_mark_fd; /* eg_reader_idle; -1: no kernel programs, never idle */
    unsigned active_ms;
    unsigned empty_drains;
    bool idle;
    struct eg_drain_pacer_stats stats;
};

/* Arms `timerfd` at the active interval. */
int eg_drain_pacer_init(struct eg_drain_pacer *p, int timerfd, int idle_mark_fd,
                        unsigned active_ms);

/* After each drain: `records` drained, `woken_by_ring` when the ring buffer's fd was ready. */
void eg_drain_pacer_after_drain(struct eg_drain_pacer *p, struct eg_ringbuf_reader *r, int records,
                                bool woken_by_ring);

#endif
