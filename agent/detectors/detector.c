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
    uint64_t now_boot_ns = (uint64_t)bt.tv_sec * 1000000000ull + (uint64_t)bt.tv_nsec;
    uint64_t now_rt_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
    /*
     * In nanoseconds, rounded once: truncating the wall clock and the age to milliseconds
     * separately let two events microseconds apart come out in the wrong order
     * (eventFirstSeen one ms after eventLastSeen). Unsigned: the same result for every time a
     * kernel can write (an event a little after the clocks were read included: the age wraps
     * and the sum wraps back), and still defined for one it cannot (fuzz_ringbuf: a boot time
     * past 2^63 ns overflowed the signed difference).
     */
    return (now_rt_ns - (now_boot_ns - boot_ns)) / 1000000;
}
