/*
 * posix_clock.h - the monotonic clock and a sleep for tests that time real
 * sockets and threads (test_posix.c, test_dns.c).
 */
#ifndef POSIX_CLOCK_H
#define POSIX_CLOCK_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock. */
static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sleeps ms milliseconds, through signals. */
static inline void pause_ms(unsigned ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

#endif /* POSIX_CLOCK_H */
