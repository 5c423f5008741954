/*
 * wisp_lwip.c - wisp transport over lwIP's socket API, plus clock and sleep.
 */
#include "wisp_lwip.h"

#include <errno.h>
#include <string.h>

#include "lwip/opt.h"
#include "lwip/def.h"
#include "lwip/sockets.h"
#include "lwip/sys.h"
#if LWIP_DNS
#include "lwip/netdb.h"
#endif

#if NO_SYS || !LWIP_SOCKET || !LWIP_TCP
#error "port/lwip needs lwIP's socket API: NO_SYS 0, LWIP_SOCKET 1, LWIP_TCP 1"
#endif
#if !LWIP_SOCKET_POLL && !LWIP_SOCKET_SELECT
#error "port/lwip waits with lwip_poll or lwip_select: set LWIP_SOCKET_POLL 1"
#endif

static bool cancelled(const wisp_lwip *p)
{
    return p->cancel != NULL && *p->cancel != 0;
}

/* Milliseconds left until start + timeout on lwIP's wrapping clock. */
static uint32_t time_left(uint32_t start, uint32_t timeout_ms)
{
    uint32_t spent = (uint32_t)sys_now() - start;
    return spent >= timeout_ms ? 0u : timeout_ms - spent;
}

#if LWIP_SOCKET_POLL
static int wait_once(int fd, bool for_write, uint32_t ms)
{
    struct pollfd pfd;
    pfd.fd = fd;
    pfd.events = for_write ? POLLOUT : POLLIN;
    pfd.revents = 0;
    return lwip_poll(&pfd, 1, (int)ms);
}
#else
static int wait_once(int fd, bool for_write, uint32_t ms)
{
    fd_set set;
    struct timeval tv;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    tv.tv_sec = (long)(ms / 1000u);
    tv.tv_usec = (long)(ms % 1000u) * 1000L;
    return lwip_select(fd + 1, for_write ? NULL : &set, for_write ? &set : NULL,
                       NULL, &tv);
}
#endif

/*
 * Waits until fd is readable (or writable) or the time since start passes
 * timeout_ms.  WISP_OK when ready, error and hang-up included (the next
 * call finds out which); WISP_ERR_TIMEOUT, WISP_ERR_CANCELLED, WISP_ERR_IO.
 * Time already spent counts, so timeout 0 polls once without waiting.
 */
static wisp_status wait_fd(const wisp_lwip *p, int fd, bool for_write,
                           uint32_t start, uint32_t timeout_ms)
{
    for (;;) {
        uint32_t left, slice;
        int n;

        if (cancelled(p))
            return WISP_ERR_CANCELLED;
        left = time_left(start, timeout_ms);
        slice = left;
        if (p->cancel != NULL && slice > WISP_LWIP_CANCEL_SLICE_MS)
            slice = WISP_LWIP_CANCEL_SLICE_MS;
        if (slice > 0x7fffffffu)
            slice = 0x7fffffffu;
        n = wait_once(fd, for_write, slice);
        if (n > 0)
            return WISP_OK;
        if (n < 0 && errno != EINTR)
            return WISP_ERR_IO;
        if (left == 0)
            return WISP_ERR_TIMEOUT;
    }
}

/* Errors of send/recv on a connected socket (lwIP's err_to_errno). */
static wisp_status io_status(int err)
{
    switch (err) {
    case ECONNRESET:   /* ERR_RST */
    case ECONNABORTED: /* ERR_ABRT */
    case ENOTCONN:     /* ERR_CLSD, ERR_CONN */
    case EPIPE:
        return WISP_ERR_CLOSED;
    case ETIMEDOUT: /* the stack gave up on the peer */
        return WISP_ERR_TIMEOUT;
    default:
        return WISP_ERR_IO;
    }
}

static void sock_close(void *ctx)
{
    wisp_lwip *p = (wisp_lwip *)ctx;
    if (p == NULL || p->fd < 0)
        return;
    (void)lwip_close(p->fd);
    p->fd = -1;
    p->at_eof = false;
}

/* One connect attempt to one address, for at most timeout_ms since start. */
static wisp_status connect_addr(wisp_lwip *p, const struct sockaddr *sa,
                                socklen_t len, uint32_t start,
                                uint32_t timeout_ms)
{
    wisp_status st;
    int fd, one = 1, err = 0, flags;
    socklen_t err_len = sizeof err;

    fd = lwip_socket(sa->sa_family, SOCK_STREAM, IPPROTO_TCP);
    if (fd < 0)
        return WISP_ERR_IO; /* out of sockets (MEMP_NUM_NETCONN) */
    flags = lwip_fcntl(fd, F_GETFL, 0);
    if (flags < 0 || lwip_fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        (void)lwip_close(fd);
        return WISP_ERR_IO;
    }
    /* Requests are written in a few small pieces: no Nagle delay. */
    (void)lwip_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    if (lwip_connect(fd, sa, len) != 0) {
        if (errno != EINPROGRESS) {
            (void)lwip_close(fd);
            return errno == ENOMEM || errno == ENOBUFS ? WISP_ERR_IO
                                                       : WISP_ERR_CONNECT;
        }
        st = wait_fd(p, fd, true, start, timeout_ms);
        if (st != WISP_OK) {
            (void)lwip_close(fd);
            return st;
        }
        if (lwip_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0 ||
            err != 0) {
            (void)lwip_close(fd);
            return WISP_ERR_CONNECT;
        }
    }
    p->fd = fd;
    p->connects++;
    return WISP_OK;
}

#if LWIP_DNS
/* Looks up host with lwIP's resolver (one address) and connects to it. */
static wisp_status connect_name(wisp_lwip *p, const char *host, uint16_t port,
                                uint32_t start, uint32_t timeout_ms)
{
    struct addrinfo hints, *res = NULL;
    wisp_status st;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (lwip_getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
        if (res != NULL)
            lwip_freeaddrinfo(res);
        return cancelled(p) ? WISP_ERR_CANCELLED : WISP_ERR_DNS;
    }
    /* The port goes in here: lwIP's getaddrinfo parses only numbers, and
     * this saves formatting one. */
    if (res->ai_family == AF_INET) {
        ((struct sockaddr_in *)(void *)res->ai_addr)->sin_port = lwip_htons(port);
#if LWIP_IPV6
    } else if (res->ai_family == AF_INET6) {
        ((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_port = lwip_htons(port);
#endif
    } else {
        lwip_freeaddrinfo(res);
        return WISP_ERR_DNS;
    }
    st = cancelled(p) ? WISP_ERR_CANCELLED
                      : connect_addr(p, res->ai_addr, (socklen_t)res->ai_addrlen,
                                     start, timeout_ms);
    lwip_freeaddrinfo(res);
    return st;
}
#endif

static wisp_status sock_connect(void *ctx, const char *host, uint16_t port,
                                 uint32_t timeout_ms)
{
    wisp_lwip *p = (wisp_lwip *)ctx;
    uint32_t start = (uint32_t)sys_now();
    struct sockaddr_in v4;
#if LWIP_IPV6
    struct sockaddr_in6 v6;
#endif

    if (p == NULL || host == NULL || host[0] == '\0' || port == 0)
        return WISP_ERR_ARG;
    sock_close(p);
    if (cancelled(p))
        return WISP_ERR_CANCELLED;

    memset(&v4, 0, sizeof v4);
    if (lwip_inet_pton(AF_INET, host, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = lwip_htons(port);
        return connect_addr(p, (const struct sockaddr *)(const void *)&v4,
                            sizeof v4, start, timeout_ms);
    }
#if LWIP_IPV6
    memset(&v6, 0, sizeof v6);
    if (lwip_inet_pton(AF_INET6, host, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = lwip_htons(port);
        return connect_addr(p, (const struct sockaddr *)(const void *)&v6,
                            sizeof v6, start, timeout_ms);
    }
#endif
#if LWIP_DNS
    return connect_name(p, host, port, start, timeout_ms);
#else
    return WISP_ERR_DNS; /* a name, and this lwIP has no resolver */
#endif
}

static wisp_status sock_send(void *ctx, const uint8_t *buf, size_t len,
                              size_t *sent, uint32_t timeout_ms)
{
    wisp_lwip *p = (wisp_lwip *)ctx;
    uint32_t start = (uint32_t)sys_now();

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
        /* MSG_DONTWAIT: lwIP takes what fits in its send buffer now. */
        n = lwip_send(p->fd, buf, len, MSG_DONTWAIT);
        if (n > 0) {
            *sent = (size_t)n;
            return WISP_OK;
        }
        if (n < 0 && errno != EWOULDBLOCK && errno != EAGAIN &&
            errno != EINTR)
            return io_status(errno);
        st = wait_fd(p, p->fd, true, start, timeout_ms);
        if (st != WISP_OK)
            return st;
    }
}

static wisp_status sock_recv(void *ctx, uint8_t *buf, size_t cap,
                              size_t *got, uint32_t timeout_ms)
{
    wisp_lwip *p = (wisp_lwip *)ctx;
    uint32_t start = (uint32_t)sys_now();

    if (got != NULL)
        *got = 0;
    if (p == NULL || buf == NULL || cap == 0 || got == NULL)
        return WISP_ERR_ARG;
    if (p->fd < 0)
        return WISP_ERR_CLOSED;
    if (p->at_eof)
        return WISP_OK; /* still the end of the stream */
    for (;;) {
        wisp_status st;
        ssize_t n;

        if (cancelled(p))
            return WISP_ERR_CANCELLED;
        n = lwip_recv(p->fd, buf, cap, MSG_DONTWAIT);
        if (n >= 0) {
            *got = (size_t)n;
            p->at_eof = n == 0; /* orderly end of stream */
            return WISP_OK;
        }
        if (errno != EWOULDBLOCK && errno != EAGAIN && errno != EINTR)
            return io_status(errno);
        st = wait_fd(p, p->fd, false, start, timeout_ms);
        if (st != WISP_OK)
            return st;
    }
}

void wisp_lwip_init(wisp_lwip *p, wisp_transport *t)
{
    if (p != NULL) {
        p->fd = -1;
        p->connects = 0;
        p->at_eof = false;
        p->cancel = NULL;
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

uint32_t wisp_lwip_now_ms(void *ctx)
{
    (void)ctx;
    return (uint32_t)sys_now();
}

void wisp_lwip_sleep_ms(void *ctx, uint32_t ms)
{
    const wisp_lwip *p = (const wisp_lwip *)ctx;
    uint32_t start = (uint32_t)sys_now();

    for (;;) {
        uint32_t left = time_left(start, ms);
        if (left == 0 || (p != NULL && cancelled(p)))
            return;
        if (p != NULL && p->cancel != NULL && left > WISP_LWIP_CANCEL_SLICE_MS)
            left = WISP_LWIP_CANCEL_SLICE_MS;
        sys_msleep(left);
    }
}
