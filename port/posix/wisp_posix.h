/*
 * wisp_posix.h - the POSIX sockets transport and platform hooks.
 */
#ifndef WISP_POSIX_H
#define WISP_POSIX_H

#include "wisp.h"

typedef struct wisp_posix {
    int fd;            /* -1 when closed */
    uint32_t connects; /* successful connects since init */
} wisp_posix;

/* Initialises p (closed) and fills t with the POSIX functions and p as ctx. */
void wisp_posix_init(wisp_posix *p, wisp_transport *t);

/* Monotonic clock (CLOCK_MONOTONIC) and sleep, for wisp_config. */
uint32_t wisp_posix_now_ms(void *ctx);
void wisp_posix_sleep_ms(void *ctx, uint32_t ms);

#endif /* WISP_POSIX_H */
