/*
 * wisp_posix.h - the POSIX sockets transport and platform hooks.
 *
 * Plain TCP over BSD sockets, IPv4 and IPv6.  Implements the wisp_transport
 * contract in wisp.h; status mapping:
 *
 *   name resolution failed           WISP_ERR_DNS
 *   refused / unreachable / no route WISP_ERR_CONNECT
 *   nothing happened within timeout  WISP_ERR_TIMEOUT
 *   peer reset or gone (ECONNRESET,  WISP_ERR_CLOSED
 *     EPIPE, ENOTCONN, fd closed)
 *   local resource or other failure  WISP_ERR_IO
 *   interrupted with *cancel set     WISP_ERR_CANCELLED
 *   orderly end of stream (recv)     WISP_OK with *got == 0
 *
 * Notes:
 *  - connect tries every address getaddrinfo returns, in order.  Each try
 *    gets an equal share of the time still left, so one black-holed address
 *    (a common IPv6 failure) cannot eat the whole budget.  getaddrinfo itself
 *    blocks and is not bounded by the timeout.
 *  - Writing never raises SIGPIPE (MSG_NOSIGNAL, or SO_NOSIGPIPE).
 *  - A signal that interrupts a wait makes the call return
 *    WISP_ERR_CANCELLED when *cancel is non-zero; otherwise the wait goes on
 *    for the time left.  The flag is also checked before each wait, so a
 *    signal that lands between system calls is not lost for long.
 */
#ifndef WISP_POSIX_H
#define WISP_POSIX_H

#include <signal.h>

#include "wisp.h"

typedef struct wisp_posix {
    int fd;            /* -1 when closed */
    uint32_t connects; /* successful connects since init */
    /* Optional (NULL by default): set by a signal handler to cancel the
     * call in progress.  Never cleared by wisp. */
    volatile sig_atomic_t *cancel;
    /* Optional (-1 by default): the read end of a pipe that the same signal
     * handler writes one byte to.  Every wait and sleep also watches it, so
     * a signal that lands just before poll() cannot be missed.  Never read
     * or closed by wisp. */
    int cancel_fd;
} wisp_posix;

/* Initialises p (closed, no cancel flag) and fills t with the POSIX
 * functions and p as ctx.  last_error is NULL: plain TCP has no TLS detail. */
void wisp_posix_init(wisp_posix *p, wisp_transport *t);

/* Monotonic clock (CLOCK_MONOTONIC) in ms, wrapping at 2^32; ctx unused.
 * For wisp_config.now_ms. */
uint32_t wisp_posix_now_ms(void *ctx);

/* Sleeps ms milliseconds.  ctx is NULL or a wisp_posix: a signal then ends
 * the sleep early when *cancel is set; otherwise the sleep resumes.
 * For wisp_config.sleep_ms (with platform_ctx pointing at the wisp_posix). */
void wisp_posix_sleep_ms(void *ctx, uint32_t ms);

#endif /* WISP_POSIX_H */
