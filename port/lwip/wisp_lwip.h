/*
 * wisp_lwip.h - the transport over lwIP's socket API, and platform hooks.
 *
 * Plain TCP through lwip_socket/lwip_connect/lwip_send/lwip_recv (the
 * lwip_* names, so it builds whether or not LWIP_COMPAT_SOCKETS maps the
 * BSD names).  Wrap it in port/mbedtls for HTTPS.  Status mapping, as for
 * port/posix:
 *
 *   not an address, and no LWIP_DNS  WISP_ERR_DNS
 *   name lookup failed               WISP_ERR_DNS
 *   refused / unreachable / no route WISP_ERR_CONNECT
 *   nothing happened within timeout  WISP_ERR_TIMEOUT
 *   peer reset or gone (ECONNRESET,  WISP_ERR_CLOSED
 *     ECONNABORTED, ENOTCONN)
 *   out of sockets, pbufs, memory    WISP_ERR_IO
 *   *cancel set                      WISP_ERR_CANCELLED
 *   orderly end of stream (recv)     WISP_OK with *got == 0
 *
 * What it needs from lwipopts.h: NO_SYS 0, LWIP_SOCKET 1, LWIP_TCP 1 and
 * LWIP_SOCKET_POLL 1 (lwIP's default; LWIP_SOCKET_SELECT 1 is used when
 * poll is off).  Timeouts are waits in lwip_poll on a non-blocking socket,
 * so neither LWIP_SO_RCVTIMEO nor LWIP_SO_SNDTIMEO is needed, and a timeout
 * of 0 never waits.  Host names are looked up with lwip_getaddrinfo when
 * LWIP_DNS is 1 (its own retries bound the wait: DNS_MAX_RETRIES); without
 * it the host must be an IPv4 literal (or IPv6 with LWIP_IPV6).
 *
 * Threads: one wisp_lwip belongs to one task at a time, like its socket.
 * To cancel from another task (or an interrupt), point `cancel` at a flag
 * and set it: every wait is cut into slices of WISP_LWIP_CANCEL_SLICE_MS
 * and the flag is checked between them and before each socket call.
 */
#ifndef WISP_LWIP_H
#define WISP_LWIP_H

#include "wisp.h"

/* How long a wait runs before it looks at *cancel again. */
#ifndef WISP_LWIP_CANCEL_SLICE_MS
#define WISP_LWIP_CANCEL_SLICE_MS 50u
#endif

typedef struct wisp_lwip {
    int fd;            /* lwIP socket, -1 when closed */
    uint32_t connects; /* successful connects since init */
    bool at_eof;       /* the peer's FIN came: recv keeps reporting it
                          (lwIP itself says ENOTCONN after the first 0) */
    /* Optional (NULL by default): set non-zero to cancel the call in
     * progress.  Never cleared by wisp. */
    volatile int *cancel;
} wisp_lwip;

/* Initialises p (closed, no cancel flag) and fills t with the lwIP
 * functions and p as ctx.  last_error is NULL: plain TCP has no TLS
 * detail. */
void wisp_lwip_init(wisp_lwip *p, wisp_transport *t);

/* lwIP's sys_now() in ms; ctx unused.  For wisp_config.now_ms. */
uint32_t wisp_lwip_now_ms(void *ctx);

/* Sleeps ms milliseconds with sys_msleep.  ctx is NULL or a wisp_lwip:
 * the sleep then ends early when *cancel is set.  For
 * wisp_config.sleep_ms (with platform_ctx pointing at the wisp_lwip). */
void wisp_lwip_sleep_ms(void *ctx, uint32_t ms);

#endif /* WISP_LWIP_H */
