#include "agent/kernel/drain_pacer.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>

#include "agent/common/log.h"

static int arm(int timerfd, unsigned ms)
{
    long ns = (long)ms * 1000000L;
    struct itimerspec its = {{ns / 1000000000L, ns % 1000000000L},
                             {ns / 1000000000L, ns % 1000000000L}};
    return timerfd_settime(timerfd, 0, &its, NULL);
}

static int set_mark(struct eg_drain_pacer *p, uint64_t v)
{
    uint32_t zero = 0;
    if (bpf_map_update_elem(p->idle_mark_fd, &zero, &v, BPF_ANY) == 0)
        return 0;
    if (p->stats.mark_errors++ == 0)
        eg_log_warn("cannot write the reader's idle mark: %s; draining every %u ms instead",
                    strerror(errno), p->active_ms);
    return -1;
}

int eg_drain_pacer_init(struct eg_drain_pacer *p, int timerfd, int idle_mark_fd, unsigned active_ms)
{
    memset(p, 0, sizeof(*p));
    p->timerfd = timerfd;
    p->idle_mark_fd = idle_mark_fd;
    p->active_ms = active_ms ? active_ms : 1;
    return arm(timerfd, p->active_ms);
}

static void wake(struct eg_drain_pacer *p)
{
    p->idle = false;
    p->empty_drains = 0;
    /* A record that raced the mark (or a timer wakeup) leaves it set: clear it, or every record
     * would force a wakeup while the short timer already drains. */
    set_mark(p, 0);
    if (arm(p->timerfd, p->active_ms) != 0)
        eg_log_warn("cannot re-arm the drain timer: %s", strerror(errno));
}

static void go_idle(struct eg_drain_pacer *p, struct eg_ringbuf_reader *r)
{
    if (set_mark(p, 1) != 0) {
        p->empty_drains = 0;
        return;
    }
    /*
     * The mark is visible before this check reads the producer position (the update is a
     * syscall: a full barrier). A record reserved before the mark was seen is found here; one
     * reserved after it sees the mark and wakes us.
     */
    uint64_t used, size;
    eg_ringbuf_reader_fill(r, &used, &size);
    if (used) {
        set_mark(p, 0);
        p->empty_drains = 0;
        return;
    }
    if (arm(p->timerfd, EG_PACER_IDLE_MS) != 0) {
        eg_log_warn("cannot arm the idle timer: %s", strerror(errno));
        set_mark(p, 0);
        p->empty_drains = 0;
        return;
    }
    p->idle = true;
    p->stats.idle_entries++;
}

void eg_drain_pacer_after_drain(struct eg_drain_pacer *p, struct eg_ringbuf_reader *r, int records,
                                bool woken_by_ring)
{
    if (woken_by_ring)
        p->stats.ring_wakeups++;
    if (p->idle_mark_fd < 0)
        return;
    if (records > 0) {
        if (p->idle)
            wake(p);
        p->empty_drains = 0;
        return;
    }
    if (!p->idle && ++p->empty_drains >= EG_PACER_IDLE_AFTER)
        go_idle(p, r);
}
