#include "agent/detectors/detector.h"

#include <time.h>

uint64_t eg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t eg_event_epoch_ms(uint64_t boot_ns)
{
    struct timespec rt, bt;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_BOOTTIME, &bt);
    int64_t now_boot_ns = (int64_t)bt.tv_sec * 1000000000LL + bt.tv_nsec;
    int64_t now_rt_ns = (int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec;
    /*
     * In nanoseconds, rounded once: truncating the wall clock and the age to milliseconds
     * separately let two events microseconds apart come out in the wrong order
     * (eventFirstSeen one ms after eventLastSeen).
     */
    return (uint64_t)((now_rt_ns - (now_boot_ns - (int64_t)boot_ns)) / 1000000);
}
