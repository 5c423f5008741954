/*
 * wisp_posix.c - wisp transport over POSIX sockets, plus clock and sleep.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE /* SO_NOSIGPIPE */
#endif

#include "wisp_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifdef MSG_NOSIGNAL
#define WISP_SEND_FLAGS MSG_NOSIGNAL
#else
#define WISP_SEND_FLAGS 0
#endif

/* Milliseconds on the monotonic clock, 64-bit so deadlines never wrap. */
static uint64_t mono_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool cancelled(const wisp_posix *p)
{
    return p->cancel != NULL && *p->cancel != 0;
}

/*
 * Waits until fd is ready for events or the deadline passes.  WISP_OK when
 * ready (including error/hang-up conditions: the next call finds out what),
 * WISP_ERR_TIMEOUT, WISP_ERR_CANCELLED, WISP_ERR_IO.  A deadline in the past
 * still polls once without waiting, which is what timeout 0 means.
 */
static wisp_status wait_fd(const wisp_posix *p, int fd, short events,
                           uint64_t deadline)
{
    for (;;) {
        struct pollfd pfd[2];
        nfds_t count = 1;
        uint64_t now;
        int wait_ms, n;

        if (cancelled(p))
            return WISP_ERR_CANCELLED;
        now = mono_ms();
        wait_ms = 0;
        if (deadline > now)
            wait_ms = deadline - now > (uint64_t)INT_MAX
                          ? INT_MAX
                          : (int)(deadline - now);
        pfd[0].fd = fd;
        pfd[0].events = events;
        pfd[0].revents = 0;
        if (p->cancel_fd >= 0) {
            /* The self-pipe: a signal that lands between the check above
             * and poll() still wakes the wait. */
            pfd[1].fd = p->cancel_fd;
            pfd[1].events = POLLIN;
            pfd[1].revents = 0;
            count = 2;
        }
        n = poll(pfd, count, wait_ms);
        if (n > 0 && count == 2 && pfd[1].revents != 0)
            return WISP_ERR_CANCELLED;
        if (n > 0)
            return WISP_OK;
        if (n == 0) {
            if (mono_ms() >= deadline)
                return WISP_ERR_TIMEOUT;
            continue; /* woke early (clock granularity): wait the rest */
        }
        if (errno == EINTR || errno == EAGAIN)
            continue; /* cancel is checked at the top */
        return WISP_ERR_IO;
    }
}

/* Errors of send/recv on a connected socket. */
static wisp_status io_status(int err)
{
    switch (err) {
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
#ifdef ECONNABORTED
    case ECONNABORTED:
#endif
        return WISP_ERR_CLOSED;
    case ETIMEDOUT: /* the kernel gave up on the peer (keep-alive, rto) */
        return WISP_ERR_TIMEOUT;
    default:
        return WISP_ERR_IO;
    }
}

/* Errors of socket() that only mean "this address family is not here". */
static bool family_missing(int err)
{
    return err == EAFNOSUPPORT || err == EPROTONOSUPPORT
#ifdef EPFNOSUPPORT
           || err == EPFNOSUPPORT
#endif
        ;
}

static void set_socket_options(int fd)
{
    int one = 1;
    /* Requests are written in a few small pieces; do not let Nagle hold
     * them back waiting for an ACK. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
}

static int open_socket(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    int flags;
    if (fd < 0)
        return -1;
    flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    /* Not inherited by programs this process starts.  A socket layer
     * without F_SETFD (Zephyr's) starts none: its refusal is no failure. */
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    set_socket_options(fd);
    return fd;
}

/*
 * One connect attempt to one address, until the given deadline.  WISP_OK
 * with *out_fd set, or WISP_ERR_CONNECT / TIMEOUT / CANCELLED / IO.
 */
static wisp_status connect_one(const wisp_posix *p, const struct addrinfo *ai,
                               uint64_t deadline, int *out_fd)
{
    wisp_status st;
    int fd, err = 0;
    socklen_t len = sizeof err;

    fd = open_socket(ai);
    if (fd < 0)
        return family_missing(errno) ? WISP_ERR_CONNECT : WISP_ERR_IO;

    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        *out_fd = fd;
        return WISP_OK;
    }
    /* EINTR: the connection goes on in the background; wait for it. */
    if (errno != EINPROGRESS && errno != EINTR) {
        close(fd);
        return WISP_ERR_CONNECT;
    }
    st = wait_fd(p, fd, POLLOUT, deadline);
    if (st != WISP_OK) {
        close(fd);
        return st;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        close(fd);
        return WISP_ERR_CONNECT;
    }
    *out_fd = fd;
    return WISP_OK;
}

static void sock_close(void *ctx)
{
    wisp_posix *p = (wisp_posix *)ctx;
    if (p == NULL || p->fd < 0)
        return;
    /* No retry on EINTR: on Linux the descriptor is gone either way. */
    (void)close(p->fd);
    p->fd = -1;
}

static wisp_status sock_connect(void *ctx, const char *host, uint16_t port,
                                 uint32_t timeout_ms)
{
    wisp_posix *p = (wisp_posix *)ctx;
    struct addrinfo hints, *list = NULL, *ai;
    char service[6];
    uint64_t deadline;
    size_t left = 0;
    wisp_status st = WISP_ERR_CONNECT;
    bool answered = false;
    int i, fd = -1;
    unsigned v;

    if (p == NULL || host == NULL || host[0] == '\0' || port == 0)
        return WISP_ERR_ARG;
    sock_close(p);
    if (cancelled(p))
        return WISP_ERR_CANCELLED;

    /* Port as decimal text, written backwards (no stdio in the port). */
    i = (int)sizeof service - 1;
    service[i] = '\0';
    v = port;
    do {
        service[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    deadline = mono_ms() + timeout_ms;
    if (getaddrinfo(host, service + i, &hints, &list) != 0 || list == NULL) {
        if (list != NULL)
            freeaddrinfo(list);
        return cancelled(p) ? WISP_ERR_CANCELLED : WISP_ERR_DNS;
    }

    for (ai = list; ai != NULL; ai = ai->ai_next)
        left++;
    /* Each address gets an equal share of the time left, the last one all
     * of it.  TIMEOUT only if no address gave a definite answer. */
    for (ai = list; ai != NULL; ai = ai->ai_next, left--) {
        uint64_t now = mono_ms();
        uint64_t share = now < deadline ? (deadline - now) / left : 0;
        st = connect_one(p, ai, now + share, &fd);
        if (st == WISP_OK || st == WISP_ERR_CANCELLED || st == WISP_ERR_IO)
            break;
        if (st == WISP_ERR_CONNECT)
            answered = true;
    }
    if (st == WISP_ERR_TIMEOUT && answered)
        st = WISP_ERR_CONNECT;
    freeaddrinfo(list);
    if (st != WISP_OK)
        return st;
    p->fd = fd;
    p->connects++;
    return WISP_OK;
}

static wisp_status sock_send(void *ctx, const uint8_t *buf, size_t len,
                              size_t *sent, uint32_t timeout_ms)
{
    wisp_posix *p = (wisp_posix *)ctx;
    uint64_t deadline = mono_ms() + timeout_ms;

    if (sent != NULL)
        *sent = 0;
    if (p == NULL || buf == NULL || len == 0 || sent == NULL)
        return WISP_ERR_ARG;
    if (p->fd < 0)
        return WISP_ERR_CLOSED;
    for (;;) {
        wisp_status st;
        ssize_t n;

        if (cancelled(p))
            return WISP_ERR_CANCELLED;
        n = send(p->fd, buf, len, WISP_SEND_FLAGS);
        if (n > 0) {
            *sent = (size_t)n;
            return WISP_OK;
        }
        /* n == 0 cannot happen for len > 0; treat it like "not yet". */
        if (n < 0) {
            if (errno == EINTR)
                continue; /* cancel is checked at the top */
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return io_status(errno);
        }
        st = wait_fd(p, p->fd, POLLOUT, deadline);
        if (st != WISP_OK)
            return st;
    }
}

static wisp_status sock_recv(void *ctx, uint8_t *buf, size_t cap,
                              size_t *got, uint32_t timeout_ms)
{
    wisp_posix *p = (wisp_posix *)ctx;
    uint64_t deadline = mono_ms() + timeout_ms;

    if (got != NULL)
        *got = 0;
    if (p == NULL || buf == NULL || cap == 0 || got == NULL)
        return WISP_ERR_ARG;
    if (p->fd < 0)
        return WISP_ERR_CLOSED;
    for (;;) {
        wisp_status st;
        ssize_t n;

        if (cancelled(p))
            return WISP_ERR_CANCELLED;
        n = recv(p->fd, buf, cap, 0);
        if (n >= 0) {
            *got = (size_t)n; /* 0: orderly end of stream */
            return WISP_OK;
        }
        if (errno == EINTR)
            continue; /* cancel is checked at the top */
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return io_status(errno);
        st = wait_fd(p, p->fd, POLLIN, deadline);
        if (st != WISP_OK)
            return st;
    }
}

void wisp_posix_init(wisp_posix *p, wisp_transport *t)
{
    if (p != NULL) {
        p->fd = -1;
        p->connects = 0;
        p->cancel = NULL;
        p->cancel_fd = -1;
    }
    if (t != NULL) {
        t->ctx = p;
        t->connect = sock_connect;
        t->send = sock_send;
        t->recv = sock_recv;
        t->close = sock_close;
        t->last_error = NULL;
    }
}

uint32_t wisp_posix_now_ms(void *ctx)
{
    (void)ctx;
    return (uint32_t)mono_ms();
}

void wisp_posix_sleep_ms(void *ctx, uint32_t ms)
{
    const wisp_posix *p = (const wisp_posix *)ctx;
    struct timespec req, rem;

    if (p != NULL && cancelled(p))
        return;
    if (p != NULL && p->cancel_fd >= 0) {
        /* Sleep on the self-pipe so that a cancel ends it at once. */
        uint64_t deadline = mono_ms() + ms;
        struct pollfd pfd;
        for (;;) {
            uint64_t now = mono_ms();
            if (now >= deadline || cancelled(p))
                return;
            pfd.fd = p->cancel_fd;
            pfd.events = POLLIN;
            pfd.revents = 0;
            if (poll(&pfd, 1, (int)(deadline - now)) > 0)
                return;
        }
    }
    req.tv_sec = (time_t)(ms / 1000u);
    req.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&req, &rem) != 0) {
        if (errno != EINTR)
            return;
        if (p != NULL && cancelled(p))
            return;
        req = rem;
    }
}
