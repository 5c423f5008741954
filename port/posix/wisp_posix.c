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
#if WISP_POSIX_THREADS
#include <pthread.h>
#endif

#if WISP_POSIX_LOOKUPS < 1 || WISP_POSIX_ADDRS < 1
#error "WISP_POSIX_LOOKUPS and WISP_POSIX_ADDRS must be at least 1"
#endif

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

static int open_socket(int family)
{
    int fd = socket(family, SOCK_STREAM, IPPROTO_TCP);
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
static wisp_status connect_one(const wisp_posix *p, const wisp_posix_addr *a,
                               uint64_t deadline, int *out_fd)
{
    wisp_status st;
    int fd, err = 0;
    socklen_t len = sizeof err;

    fd = open_socket(a->u.sa.sa_family);
    if (fd < 0)
        return family_missing(errno) ? WISP_ERR_CONNECT : WISP_ERR_IO;

    if (connect(fd, &a->u.sa, a->len) == 0) {
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

/* ---- name lookup ------------------------------------------------------- */

/* Copies the IPv4 and IPv6 addresses of list into out, in order (at most
 * WISP_POSIX_ADDRS); returns how many. */
static size_t take_addrs(const struct addrinfo *list, wisp_posix_addr *out)
{
    size_t n = 0;
    for (; list != NULL && n < WISP_POSIX_ADDRS; list = list->ai_next) {
        if ((list->ai_family != AF_INET && list->ai_family != AF_INET6) ||
            list->ai_addr == NULL || list->ai_addrlen > sizeof out[n].u)
            continue;
        memset(&out[n], 0, sizeof out[n]);
        memcpy(&out[n].u, list->ai_addr, list->ai_addrlen);
        out[n].len = (socklen_t)list->ai_addrlen;
        n++;
    }
    return n;
}

/* getaddrinfo for TCP with the given flags, into out and *count: its result
 * (0, or an EAI_ code; EAI_FAIL for an answer without IPv4 or IPv6). */
static int lookup_now(const char *host, int flags, wisp_posix_addr *out,
                      size_t *count)
{
    struct addrinfo hints, *list = NULL;
    int rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = flags;
    *count = 0;
    rc = getaddrinfo(host, NULL, &hints, &list);
    if (rc == 0) {
        *count = take_addrs(list, out);
        if (*count == 0)
            rc = EAI_FAIL;
    }
    if (list != NULL)
        freeaddrinfo(list);
    return rc;
}

#if WISP_POSIX_THREADS
/*
 * Resolver threads.  getaddrinfo cannot be told a timeout, so a name is
 * looked up in a detached thread and the connect waits for it with poll,
 * on a pipe the thread writes one byte to when done, beside the cancel
 * pipe.  At the deadline the connect stops waiting; the thread goes on
 * until getaddrinfo returns, then frees the slot if no connect waits for it
 * any more.  Slots are static, so an abandoned lookup holds no heap, and a
 * thread still blocked at exit owns nothing to leak.  The byte is never
 * read: the pipe stays readable for every connect waiting on that lookup,
 * until the last one lets go and the pipe is closed.
 */
#define WISP_POSIX_HOST_CAP 256 /* a DNS name has at most 253 characters */
#define LOOKUP_SLICE_MS 20      /* how often to look for a free slot */

typedef struct lookup {
    char host[WISP_POSIX_HOST_CAP];
    int fds[2];   /* the pipe: readable once getaddrinfo returned */
    int refs;     /* connects waiting for this lookup */
    bool busy;    /* the slot is taken */
    bool running; /* getaddrinfo has not returned yet */
    int rc;       /* then: its result */
    size_t count;
    wisp_posix_addr addrs[WISP_POSIX_ADDRS];
} lookup;

static pthread_mutex_t lookup_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t lookup_once = PTHREAD_ONCE_INIT;
static lookup lookups[WISP_POSIX_LOOKUPS];

/* fork: the lock is held across it, so the child gets it in a known state;
 * the child has none of the resolver threads, so their slots are freed
 * there (a program that forks to the background after a lookup timed out
 * would otherwise find them busy for ever). */
static void lookup_fork_prepare(void)
{
    (void)pthread_mutex_lock(&lookup_lock);
}

static void lookup_fork_parent(void)
{
    (void)pthread_mutex_unlock(&lookup_lock);
}

static void lookup_fork_child(void)
{
    size_t i;
    for (i = 0; i < WISP_POSIX_LOOKUPS; i++) {
        lookup *l = &lookups[i];
        if (l->busy) {
            (void)close(l->fds[0]);
            (void)close(l->fds[1]);
        }
        l->busy = false;
        l->running = false;
        l->refs = 0;
    }
    (void)pthread_mutex_unlock(&lookup_lock);
}

static void lookup_init(void)
{
    (void)pthread_atfork(lookup_fork_prepare, lookup_fork_parent,
                         lookup_fork_child);
}

/* With lookup_lock held: frees l once no thread and no connect needs it. */
static void lookup_release(lookup *l)
{
    if (l->running || l->refs > 0)
        return;
    (void)close(l->fds[0]);
    (void)close(l->fds[1]);
    l->busy = false;
}

static void *lookup_run(void *arg)
{
    lookup *l = (lookup *)arg;
    /* Unlocked: no connect reads addrs or count before it sees running
     * false under the lock, and host does not change while busy. */
    int rc = lookup_now(l->host, 0, l->addrs, &l->count);

    (void)pthread_mutex_lock(&lookup_lock);
    l->rc = rc;
    l->running = false;
    if (l->refs > 0 && write(l->fds[1], "", 1) != 1) {
        /* cannot fail: one byte into an empty pipe whose read end is open
         * (it closes only in lookup_release), and no signal reaches us */
    }
    lookup_release(l);
    (void)pthread_mutex_unlock(&lookup_lock);
    return NULL;
}

/* With lookup_lock held: takes the free slot l for host (len characters)
 * and starts its thread.  WISP_OK, or WISP_ERR_IO (slot left free). */
static wisp_status lookup_start(lookup *l, const char *host, size_t len)
{
    pthread_attr_t attr;
    pthread_t thread;
    sigset_t all, old;
    int rc;

    if (pipe(l->fds) != 0)
        return WISP_ERR_IO;
    (void)fcntl(l->fds[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(l->fds[1], F_SETFD, FD_CLOEXEC);
    memcpy(l->host, host, len + 1);
    l->busy = true;
    l->running = true;
    l->refs = 1;
    l->rc = 0;
    l->count = 0;
    rc = pthread_attr_init(&attr);
    if (rc == 0) {
        (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (WISP_POSIX_LOOKUP_STACK > 0)
            (void)pthread_attr_setstacksize(
                &attr, (size_t)WISP_POSIX_LOOKUP_STACK);
        /* The thread blocks every signal, so a cancel signal interrupts
         * the application's waits, never a lookup nobody looks at. */
        (void)sigfillset(&all);
        (void)pthread_sigmask(SIG_SETMASK, &all, &old);
        rc = pthread_create(&thread, &attr, lookup_run, l);
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
        (void)pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        l->running = false;
        l->refs = 0;
        lookup_release(l);
        return WISP_ERR_IO;
    }
    return WISP_OK;
}

/* Joins the lookup of host in flight, or starts one; while every slot is
 * busy, looks again every LOOKUP_SLICE_MS until the deadline. */
static wisp_status lookup_attach(const wisp_posix *p, const char *host,
                                 uint64_t deadline, lookup **out)
{
    size_t len = strlen(host);

    if (len >= WISP_POSIX_HOST_CAP)
        return WISP_ERR_DNS;
    (void)pthread_once(&lookup_once, lookup_init);
    for (;;) {
        lookup *found = NULL, *spare = NULL;
        wisp_status st = WISP_OK;
        uint64_t now;
        size_t i;

        (void)pthread_mutex_lock(&lookup_lock);
        for (i = 0; i < WISP_POSIX_LOOKUPS && found == NULL; i++) {
            lookup *l = &lookups[i];
            if (!l->busy && spare == NULL)
                spare = l;
            else if (l->busy && l->running && strcmp(l->host, host) == 0)
                found = l;
        }
        if (found != NULL)
            found->refs++;
        else if (spare != NULL) {
            st = lookup_start(spare, host, len);
            if (st == WISP_OK)
                found = spare;
        }
        (void)pthread_mutex_unlock(&lookup_lock);
        if (found != NULL || st != WISP_OK) {
            *out = found;
            return st;
        }
        now = mono_ms();
        if (now >= deadline)
            return WISP_ERR_TIMEOUT;
        st = wait_fd(p, -1, 0,
                     deadline - now > LOOKUP_SLICE_MS ? now + LOOKUP_SLICE_MS
                                                      : deadline);
        if (st != WISP_OK && st != WISP_ERR_TIMEOUT)
            return st;
    }
}

/* Looks host up in a resolver thread, waiting until the deadline. */
static wisp_status lookup_wait(const wisp_posix *p, const char *host,
                               uint64_t deadline, wisp_posix_addr *out,
                               size_t *count)
{
    lookup *l = NULL;
    wisp_status st = lookup_attach(p, host, deadline, &l);

    if (st != WISP_OK)
        return st;
    st = wait_fd(p, l->fds[0], POLLIN, deadline);
    (void)pthread_mutex_lock(&lookup_lock);
    /* Done just as the time ran out still counts. */
    if ((st == WISP_OK || st == WISP_ERR_TIMEOUT) && !l->running) {
        *count = l->count;
        memcpy(out, l->addrs, l->count * sizeof *out);
        st = l->rc == 0 ? WISP_OK : WISP_ERR_DNS;
    } else if (st == WISP_OK) {
        st = WISP_ERR_IO; /* readable while running: cannot happen */
    }
    l->refs--;
    lookup_release(l);
    (void)pthread_mutex_unlock(&lookup_lock);
    return st;
}
#endif /* WISP_POSIX_THREADS */

/*
 * The addresses of host, at most WISP_POSIX_ADDRS, by the deadline: an IP
 * literal as it is, a name from the resolve hook, a resolver thread, or
 * (without threads) getaddrinfo here.  WISP_OK with *count >= 1, or
 * WISP_ERR_DNS / TIMEOUT / CANCELLED / IO.
 */
static wisp_status resolve(wisp_posix *p, const char *host, uint64_t deadline,
                           wisp_posix_addr *out, size_t *count)
{
    int rc = lookup_now(host, AI_NUMERICHOST, out, count);

    if (rc == 0)
        return WISP_OK;
    if (rc != EAI_NONAME)
        return WISP_ERR_DNS;
    p->lookups++;
    if (p->resolve != NULL) {
        uint64_t now = mono_ms();
        uint64_t left = now < deadline ? deadline - now : 0;
        wisp_status st;

        *count = 0;
        st = p->resolve(p->resolve_user, host,
                        left > UINT32_MAX ? UINT32_MAX : (uint32_t)left, out,
                        WISP_POSIX_ADDRS, count);
        if (st == WISP_OK && (*count == 0 || *count > WISP_POSIX_ADDRS))
            st = WISP_ERR_DNS;
        return st;
    }
#if WISP_POSIX_THREADS
    return lookup_wait(p, host, deadline, out, count);
#else
    return lookup_now(host, 0, out, count) == 0 ? WISP_OK : WISP_ERR_DNS;
#endif
}

static void set_port(wisp_posix_addr *a, uint16_t port)
{
    if (a->u.sa.sa_family == AF_INET)
        a->u.v4.sin_port = htons(port);
    else if (a->u.sa.sa_family == AF_INET6)
        a->u.v6.sin6_port = htons(port);
}

static wisp_status sock_connect(void *ctx, const char *host, uint16_t port,
                                 uint32_t timeout_ms)
{
    wisp_posix *p = (wisp_posix *)ctx;
    wisp_posix_addr addrs[WISP_POSIX_ADDRS];
    uint64_t deadline;
    size_t count = 0, i;
    wisp_status st;
    bool answered = false;
    int fd = -1;

    if (p == NULL || host == NULL || host[0] == '\0' || port == 0)
        return WISP_ERR_ARG;
    sock_close(p);
    if (cancelled(p))
        return WISP_ERR_CANCELLED;

    /* One deadline for the lookup and every connect attempt. */
    deadline = mono_ms() + timeout_ms;
    st = resolve(p, host, deadline, addrs, &count);
    if (st != WISP_OK)
        return st == WISP_ERR_DNS && cancelled(p) ? WISP_ERR_CANCELLED : st;

    /* Each address gets an equal share of the time left, the last one all
     * of it.  TIMEOUT only if no address gave a definite answer. */
    st = WISP_ERR_CONNECT;
    for (i = 0; i < count; i++) {
        uint64_t now = mono_ms();
        uint64_t share = now < deadline ? (deadline - now) / (count - i) : 0;
        set_port(&addrs[i], port);
        st = connect_one(p, &addrs[i], now + share, &fd);
        if (st == WISP_OK || st == WISP_ERR_CANCELLED || st == WISP_ERR_IO)
            break;
        if (st == WISP_ERR_CONNECT)
            answered = true;
    }
    if (st == WISP_ERR_TIMEOUT && answered)
        st = WISP_ERR_CONNECT;
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
        p->resolve = NULL;
        p->resolve_user = NULL;
        p->lookups = 0;
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
