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
 *  - connect's timeout is one deadline for the name lookup and every
 *    connect attempt.  A lookup still going at the deadline is
 *    WISP_ERR_TIMEOUT then (the core retries that like a timed-out
 *    connect); a lookup that ends in failure (no such name, or the
 *    resolver gave up first) is WISP_ERR_DNS.
 *  - IP literals (AI_NUMERICHOST) are used as they are: no lookup.  A name
 *    is looked up by getaddrinfo in a resolver thread that the caller stops
 *    waiting for at the deadline or on cancel; the thread ends when
 *    getaddrinfo does (glibc's default against a silent name server: 10 s);
 *    its slot is static, so an abandoned lookup holds no heap.  A connect
 *    to a name whose lookup is still going waits for that lookup instead of
 *    starting another, so retries against a silent name server add no
 *    threads.  At most WISP_POSIX_LOOKUPS lookups (threads) run at once,
 *    process-wide; a connect that finds them all busy waits for one to end,
 *    within its timeout.  A forked child starts with every slot free.
 *    Link with -pthread (glibc 2.34 and later and musl have the threads in
 *    libc itself).
 *  - Or set resolve: the application's own resolver (c-ares, a cache, a
 *    test) is called for names instead, with the time left.
 *  - The addresses are tried in the order the resolver gives them (for
 *    getaddrinfo, RFC 6724's: IPv6 and IPv4 as the system prefers), at most
 *    WISP_POSIX_ADDRS of them.  Each try gets an equal share of the time
 *    still left, so one black-holed address (a common IPv6 failure) cannot
 *    eat the whole budget, and an address that answers at once (refused,
 *    unreachable) leaves its share to the rest.
 *  - Writing never raises SIGPIPE (MSG_NOSIGNAL, or SO_NOSIGPIPE).
 *  - A signal that interrupts a wait makes the call return
 *    WISP_ERR_CANCELLED when *cancel is non-zero; otherwise the wait goes on
 *    for the time left.  The flag is also checked before each wait, so a
 *    signal that lands between system calls is not lost for long.
 */
#ifndef WISP_POSIX_H
#define WISP_POSIX_H

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include "wisp.h"

/* Addresses of one name tried per connect, the rest ignored (1..64). */
#ifndef WISP_POSIX_ADDRS
#define WISP_POSIX_ADDRS 8
#endif

/* 1: names are looked up in resolver threads, within connect's timeout.
 * 0 (no pthreads): getaddrinfo blocks in the caller and is not bounded by
 * the timeout; IP literals and the resolve hook work the same. */
#ifndef WISP_POSIX_THREADS
#define WISP_POSIX_THREADS 1
#endif

/* Resolver threads running at most, process-wide (1..64).  Each is one
 * lookup in flight, shared by every connect to that name. */
#ifndef WISP_POSIX_LOOKUPS
#define WISP_POSIX_LOOKUPS 4
#endif

/* Stack size of a resolver thread in bytes; 0: the system's default (glibc:
 * the stack rlimit, 8 MiB of address space; musl: 128 KiB).  Set it where
 * address space is tight or overcommit is off; getaddrinfo and the NSS
 * modules it loads must fit. */
#ifndef WISP_POSIX_LOOKUP_STACK
#define WISP_POSIX_LOOKUP_STACK 0
#endif

/* One IPv4 or IPv6 address; the port in it is set by wisp. */
typedef struct wisp_posix_addr {
    socklen_t len; /* sizeof the sockaddr_in or sockaddr_in6 */
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } u;
} wisp_posix_addr;

/*
 * A resolver for names (never called for IP literals): put up to cap
 * addresses of host in out, in the order to try them, and their number in
 * *count.  It should return within timeout_ms: WISP_OK (with *count >= 1),
 * WISP_ERR_DNS (no such name, or no answer), WISP_ERR_TIMEOUT (no answer
 * yet) or WISP_ERR_CANCELLED.  What it returns after the deadline gets the
 * connect attempts no time but one look.
 */
typedef wisp_status (*wisp_posix_resolver)(void *user, const char *host,
                                           uint32_t timeout_ms,
                                           wisp_posix_addr *out, size_t cap,
                                           size_t *count);

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
    /* Optional (NULL by default): looks up names instead of getaddrinfo,
     * called with resolve_user. */
    wisp_posix_resolver resolve;
    void *resolve_user;
    uint32_t lookups; /* names looked up (not literals) since init */
} wisp_posix;

/* Initialises p (closed, no cancel flag, getaddrinfo for names) and fills t
 * with the POSIX functions and p as ctx.  last_error is NULL: plain TCP has
 * no TLS detail. */
void wisp_posix_init(wisp_posix *p, wisp_transport *t);

/* Monotonic clock (CLOCK_MONOTONIC) in ms, wrapping at 2^32; ctx unused.
 * For wisp_config.now_ms. */
uint32_t wisp_posix_now_ms(void *ctx);

/* Sleeps ms milliseconds.  ctx is NULL or a wisp_posix: a signal then ends
 * the sleep early when *cancel is set; otherwise the sleep resumes.
 * For wisp_config.sleep_ms (with platform_ctx pointing at the wisp_posix). */
void wisp_posix_sleep_ms(void *ctx, uint32_t ms);

#endif /* WISP_POSIX_H */
