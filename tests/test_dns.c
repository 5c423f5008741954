/*
 * test_dns.c - name lookup within the POSIX transport's connect timeout.
 *
 * Runs in a private network and mount namespace when it can (Linux, root,
 * unshare(2) allowed): only a loopback there, a name server on
 * 127.0.0.1:53 that reads queries and never answers, and our own
 * /etc/resolv.conf, /etc/hosts and /etc/nsswitch.conf bind-mounted over the
 * system's.  Nothing of it is seen outside this process, and it all goes
 * when the process ends.  Without it, the namespace tests say
 * "skipped: needs root and unshare (why)"; the resolver-hook tests run
 * anywhere.
 *
 * Timing assertions are bounds ("no later than"), generous for valgrind.
 */
#define _GNU_SOURCE /* unshare, CLONE_NEWNET, CLONE_NEWNS */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#endif

#include "needs.h"
#include "posix_clock.h"
#include "wisp_posix.h"

/* A lookup abandoned at its deadline may come back this much later at most
 * (thread wake-up, valgrind). */
#define SLACK_MS 300

/* The name asked of the silent name server.  Every test before
 * test_threads_bounded asks for this one name, so they share one lookup in
 * flight (glibc gives up after 10 s) and leave the other slots free. */
#define SILENT "never.example.invalid"

/* Ports in the private namespace: nothing else listens there. */
#define PORT_ORDER 4431
#define PORT_GOOD 4432

/* ---- helpers ----------------------------------------------------------- */

/* Threads of this process, from /proc/self/task; -1 without /proc. */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* A socket address: text literal and port. */
static socklen_t make_addr(const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(ip, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
        return sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
        return sizeof *a;
    }
}

/* A listener on ip:port (port 0: the kernel's choice, written back);
 * -1 when the address is not here. */
static int listen_at(const char *ip, uint16_t *port, int backlog)
{
    struct sockaddr_storage ss;
    socklen_t len = make_addr(ip, *port, &ss);
    int one = 1;
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                    : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

/* A listener at ip:port that nobody accepts on, its queue filled: Linux
 * then drops further SYNs, so a connect there hangs (a black hole).  The
 * listener and the fillers go in fds[0..*n-1]; false if the kernel took
 * every filler. */
#define HOLE_FDS 10
static bool black_hole(const char *ip, uint16_t port, int *fds, int *n)
{
    struct sockaddr_storage ss;
    socklen_t len = make_addr(ip, port, &ss);
    uint16_t p = port;
    *n = 0;
    fds[0] = listen_at(ip, &p, 0);
    if (fds[0] < 0)
        return false;
    *n = 1;
    while (*n < HOLE_FDS) {
        struct pollfd pfd;
        int fd = socket(ss.ss_family, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        fds[(*n)++] = fd;
        (void)fcntl(fd, F_SETFL, O_NONBLOCK);
        if (connect(fd, (struct sockaddr *)&ss, len) == 0)
            continue;
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (poll(&pfd, 1, 100) == 0)
            return true; /* this one hangs: so will the next */
    }
    return false;
}

static void close_all(int *fds, int n)
{
    while (n-- > 0)
        close(fds[n]);
}

/* ---- the private namespace ------------------------------------------- */

static bool g_ns;             /* the namespace is up */
static char g_ns_why[200];    /* or why not */
static int g_silent = -1;     /* the name server that never answers */
static int g_base_threads;    /* threads before any lookup */

#define NEEDS_NAMESPACE()                                                    \
    do {                                                                     \
        if (!g_ns) {                                                         \
            print_message("skipped: needs root and unshare (%s)\n", g_ns_why); \
            skip();                                                          \
        }                                                                    \
    } while (0)

static bool ns_fail(const char *what)
{
    snprintf(g_ns_why, sizeof g_ns_why, "%s: %s", what, strerror(errno));
    return false;
}

#ifdef __linux__
/* Writes text to a fresh temporary file and bind-mounts it over target;
 * the file is unlinked at once (the mount keeps it). */
static bool mount_file(const char *target, const char *text)
{
    char path[] = "/tmp/wisp-dns-XXXXXX";
    int fd = mkstemp(path);
    size_t len = strlen(text);
    bool ok;
    if (fd < 0)
        return ns_fail("mkstemp");
    ok = write(fd, text, len) == (ssize_t)len;
    close(fd);
    if (ok && mount(path, target, "none", MS_BIND, NULL) != 0) {
        int err = errno;
        unlink(path);
        errno = err;
        return ns_fail(target);
    }
    unlink(path);
    return ok ? true : ns_fail("write");
}

static bool loopback_up(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    bool ok;
    if (fd < 0)
        return ns_fail("socket");
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags |= IFF_UP;
    ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    if (!ok)
        ns_fail("bringing lo up");
    close(fd);
    return ok;
}

static bool ns_enter(void)
{
    struct sockaddr_storage ss;
    socklen_t len;

    /* Before any thread: the new namespaces are this process's alone. */
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0)
        return ns_fail("unshare");
    if (!loopback_up())
        return false;
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
        return ns_fail("making / private");
    if (!mount_file("/etc/resolv.conf", "nameserver 127.0.0.1\n") ||
        !mount_file("/etc/nsswitch.conf", "hosts: files dns\n") ||
        !mount_file("/etc/hosts", "127.0.0.1 localhost good.wisp.test\n"
                                  "::1 dual.wisp.test\n"
                                  "127.0.0.1 dual.wisp.test\n"))
        return false;
    g_silent = socket(AF_INET, SOCK_DGRAM, 0);
    len = make_addr("127.0.0.1", 53, &ss);
    if (g_silent < 0 || bind(g_silent, (struct sockaddr *)&ss, len) != 0)
        return ns_fail("binding 127.0.0.1:53");
    return true;
}

/* Into the private namespaces; when that fails half-way, back to the
 * system's, so that the tests that need none still find its loopback. */
static bool ns_setup(void)
{
    int net, mnt;
    bool ok;

    if (geteuid() != 0) {
        snprintf(g_ns_why, sizeof g_ns_why, "not root");
        return false;
    }
    net = open("/proc/self/ns/net", O_RDONLY);
    mnt = open("/proc/self/ns/mnt", O_RDONLY);
    if (net < 0 || mnt < 0)
        ok = ns_fail("/proc/self/ns");
    else
        ok = ns_enter();
    if (!ok && net >= 0 && mnt >= 0) {
        (void)setns(net, CLONE_NEWNET);
        (void)setns(mnt, CLONE_NEWNS);
    }
    if (net >= 0)
        close(net);
    if (mnt >= 0)
        close(mnt);
    return ok;
}
#else
static bool ns_setup(void)
{
    snprintf(g_ns_why, sizeof g_ns_why, "not Linux");
    return false;
}
#endif

/* Queries the silent name server has had since the last call. */
static int queries_taken(void)
{
    char buf[512];
    int n = 0;
    while (recv(g_silent, buf, sizeof buf, MSG_DONTWAIT) >= 0)
        n++;
    return n;
}

/* ---- a resolver hook for the tests ------------------------------------- */

typedef struct hook {
    int calls;
    uint32_t timeout_ms; /* what the last call was given */
    wisp_status st;
    size_t count;
    const char *ips[3];
} hook;

static wisp_status hook_resolve(void *user, const char *host, uint32_t timeout_ms,
                                wisp_posix_addr *out, size_t cap, size_t *count)
{
    hook *h = (hook *)user;
    size_t i;
    (void)host;
    h->calls++;
    h->timeout_ms = timeout_ms;
    assert_int_equal(cap, WISP_POSIX_ADDRS);
    for (i = 0; i < h->count && i < cap; i++) {
        struct sockaddr_storage ss;
        socklen_t len = make_addr(h->ips[i], 9 /* wisp sets the port */, &ss);
        memcpy(&out[i].u, &ss, len);
        out[i].len = len;
    }
    *count = h->count;
    return h->st;
}

/* ---- tests: anywhere ----------------------------------------------------- */

static void test_literals_skip_the_resolver(void **state)
{
    wisp_posix p;
    wisp_transport t;
    hook h = {0, 0, WISP_ERR_DNS, 0, {NULL}};
    uint16_t port4 = 0, port6 = 0;
    int l4 = listen_at("127.0.0.1", &port4, 4);
    int l6 = listen_at("::1", &port6, 4);
    int threads = thread_count();
    (void)state;

    assert_true(l4 >= 0);
    wisp_posix_init(&p, &t);
    assert_null(p.resolve);
    assert_int_equal(p.lookups, 0);
    assert_int_equal(t.connect(t.ctx, "127.0.0.1", port4, 2000), WISP_OK);
    if (l6 >= 0)
        assert_int_equal(t.connect(t.ctx, "::1", port6, 2000), WISP_OK);
    assert_int_equal(p.lookups, 0);
    assert_int_equal(thread_count(), threads);
    /* Nor the hook. */
    p.resolve = hook_resolve;
    p.resolve_user = &h;
    assert_int_equal(t.connect(t.ctx, "127.0.0.1", port4, 2000), WISP_OK);
    if (l6 >= 0)
        assert_int_equal(t.connect(t.ctx, "::1", port6, 2000), WISP_OK);
    assert_int_equal(h.calls, 0);
    assert_int_equal(p.lookups, 0);
    t.close(t.ctx);
    close(l4);
    if (l6 >= 0)
        close(l6);
}

static void test_hook_results(void **state)
{
    wisp_posix p;
    wisp_transport t;
    hook h = {0, 0, WISP_ERR_DNS, 0, {NULL}};
    uint16_t port = 0;
    int lfd = listen_at("127.0.0.1", &port, 4);
    (void)state;

    assert_true(lfd >= 0);
    wisp_posix_init(&p, &t);
    p.resolve = hook_resolve;
    p.resolve_user = &h;
    /* Its failures are the connect's. */
    assert_int_equal(t.connect(t.ctx, "a.wisp.test", port, 700), WISP_ERR_DNS);
    assert_true(h.timeout_ms <= 700 && h.timeout_ms >= 600);
    h.st = WISP_ERR_TIMEOUT;
    assert_int_equal(t.connect(t.ctx, "a.wisp.test", port, 700), WISP_ERR_TIMEOUT);
    /* OK without an address is no answer. */
    h.st = WISP_OK;
    assert_int_equal(t.connect(t.ctx, "a.wisp.test", port, 700), WISP_ERR_DNS);
    /* An address, and wisp puts the port in. */
    h.count = 1;
    h.ips[0] = "127.0.0.1";
    assert_int_equal(t.connect(t.ctx, "a.wisp.test", port, 700), WISP_OK);
    assert_int_equal(h.calls, 4);
    assert_int_equal(p.lookups, 4);
    assert_int_equal(p.connects, 1);
    t.close(t.ctx);
    close(lfd);
}

/* The hook's order is kept: a black-holed first address gets its share of
 * the time, then the second connects. */
static void test_hook_order_black_hole_first(void **state)
{
    wisp_posix p;
    wisp_transport t;
    hook h = {0, 0, WISP_OK, 2, {"127.0.0.2", "127.0.0.1", NULL}};
    uint16_t port = 0;
    int good, hole[HOLE_FDS], holes = 0, peer;
    uint64_t t0, dt;
    (void)state;

    good = listen_at("127.0.0.1", &port, 4);
    assert_true(good >= 0);
    if (!black_hole("127.0.0.2", port, hole, &holes)) {
        close_all(hole, holes);
        close(good);
        print_message("skipped: no black hole at 127.0.0.2 here\n");
        skip();
    }
    wisp_posix_init(&p, &t);
    p.resolve = hook_resolve;
    p.resolve_user = &h;
    t0 = now_ms();
    assert_int_equal(t.connect(t.ctx, "two.wisp.test", port, 600), WISP_OK);
    dt = now_ms() - t0;
    peer = accept(good, NULL, NULL);
    assert_true(peer >= 0);
    print_message("black hole then 127.0.0.1: connected after %u ms of 600\n", (unsigned)dt);
    assert_true(dt >= 250); /* the first had its half, 300 ms */
    assert_true(dt <= 600 + SLACK_MS);
    close(peer);
    t.close(t.ctx);
    close_all(hole, holes);
    close(good);
}

/* ---- tests: in the private namespace ------------------------------------ */

static void test_silent_name_server_bounded(void **state)
{
    wisp_posix p;
    wisp_transport t;
    wisp_status st;
    uint64_t t0, dt;
    (void)state;
    NEEDS_NAMESPACE();

    (void)queries_taken();
    wisp_posix_init(&p, &t);
    t0 = now_ms();
    st = t.connect(t.ctx, SILENT, 443, 500);
    dt = now_ms() - t0;
    print_message("silent name server: %s after %u ms of 500\n", status_name(st), (unsigned)dt);
    assert_int_equal(st, WISP_ERR_TIMEOUT);
    assert_true(dt >= 490);
    assert_true(dt <= 500 + SLACK_MS);
    assert_int_equal(p.lookups, 1);
    assert_int_equal(p.fd, -1);
    /* It really asked our name server. */
    assert_true(queries_taken() >= 1);
}

/* A retry of the same name waits for the lookup still in flight: no new
 * thread, and each within its own timeout. */
static void test_retry_joins_the_lookup(void **state)
{
    wisp_posix p;
    wisp_transport t;
    int i, before, after;
    (void)state;
    NEEDS_NAMESPACE();

    wisp_posix_init(&p, &t);
    assert_int_equal(t.connect(t.ctx, SILENT, 443, 150), WISP_ERR_TIMEOUT);
    before = thread_count();
    assert_true(before > g_base_threads); /* the lookup goes on */
    for (i = 0; i < 3; i++) {
        uint64_t t0 = now_ms();
        assert_int_equal(t.connect(t.ctx, SILENT, 443, 150),
                         WISP_ERR_TIMEOUT);
        assert_true(now_ms() - t0 <= 150 + SLACK_MS);
    }
    after = thread_count();
    assert_true(after <= before);
}

/* getaddrinfo's order (RFC 6724: ::1 before 127.0.0.1) is kept, and the
 * black-holed IPv6 address does not eat the whole timeout. */
static void test_ipv6_black_hole_then_ipv4(void **state)
{
    wisp_posix p;
    wisp_transport t;
    struct addrinfo hints, *list = NULL;
    uint16_t port = PORT_ORDER;
    int good, hole[HOLE_FDS], holes = 0, peer;
    uint64_t t0, dt;
    (void)state;
    NEEDS_NAMESPACE();

    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    assert_int_equal(getaddrinfo("dual.wisp.test", NULL, &hints, &list), 0);
    assert_non_null(list->ai_next);
    assert_int_equal(list->ai_family, AF_INET6);
    assert_int_equal(list->ai_next->ai_family, AF_INET);
    freeaddrinfo(list);

    good = listen_at("127.0.0.1", &port, 4);
    assert_true(good >= 0);
    assert_true(black_hole("::1", PORT_ORDER, hole, &holes));
    wisp_posix_init(&p, &t);
    t0 = now_ms();
    assert_int_equal(t.connect(t.ctx, "dual.wisp.test", PORT_ORDER, 600), WISP_OK);
    dt = now_ms() - t0;
    peer = accept(good, NULL, NULL);
    assert_true(peer >= 0);
    print_message("[::1] black hole then 127.0.0.1: connected after %u ms of 600\n",
                  (unsigned)dt);
    assert_true(dt >= 250);
    assert_true(dt <= 600 + SLACK_MS);
    close(peer);
    t.close(t.ctx);
    close_all(hole, holes);
    close(good);
}

/* Two transports in two threads: one waits on the silent name server while
 * the other looks up and connects, again and again. */
typedef struct job {
    const char *host;
    uint16_t port;
    uint32_t timeout_ms;
    int rounds;
    wisp_status st;
    uint64_t ms; /* the longest round */
} job;

static void *run_job(void *arg)
{
    job *j = (job *)arg;
    wisp_posix p;
    wisp_transport t;
    int i;
    wisp_posix_init(&p, &t);
    for (i = 0; i < j->rounds; i++) {
        uint64_t t0 = now_ms(), dt;
        j->st = t.connect(t.ctx, j->host, j->port, j->timeout_ms);
        dt = now_ms() - t0;
        if (dt > j->ms)
            j->ms = dt;
        t.close(t.ctx);
        if (j->st != WISP_OK)
            break;
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    uint16_t port = PORT_GOOD;
    int lfd;
    job silent = {SILENT, 443, 400, 1, WISP_OK, 0};
    job good = {"good.wisp.test", PORT_GOOD, 2000, 20, WISP_ERR_IO, 0};
    pthread_t a, b;
    (void)state;
    NEEDS_NAMESPACE();

    lfd = listen_at("127.0.0.1", &port, 64);
    assert_true(lfd >= 0);
    assert_int_equal(pthread_create(&a, NULL, run_job, &silent), 0);
    assert_int_equal(pthread_create(&b, NULL, run_job, &good), 0);
    assert_int_equal(pthread_join(a, NULL), 0);
    assert_int_equal(pthread_join(b, NULL), 0);
    print_message("two threads: silent %s after %u ms of 400; 20 lookups of good, the "
                  "longest %u ms\n",
                  status_name(silent.st), (unsigned)silent.ms, (unsigned)good.ms);
    assert_int_equal(silent.st, WISP_ERR_TIMEOUT);
    assert_true(silent.ms <= 400 + SLACK_MS);
    assert_int_equal(good.st, WISP_OK);
    assert_true(good.ms <= 1000);
    close(lfd);
}

/* A lookup nobody waits for any more ends by itself and frees its slot:
 * timeout 0 looks once, so most of these are abandoned at once. */
static void test_abandoned_lookups_end(void **state)
{
    uint16_t port = PORT_GOOD;
    int i, lfd, before = thread_count(), left = -1;
    uint64_t t0;
    (void)state;
    NEEDS_NAMESPACE();

    lfd = listen_at("127.0.0.1", &port, 64);
    assert_true(lfd >= 0);
    for (i = 0; i < 50; i++) {
        wisp_posix p;
        wisp_transport t;
        wisp_status st;
        wisp_posix_init(&p, &t);
        st = t.connect(t.ctx, "good.wisp.test", PORT_GOOD, 0);
        assert_true(st == WISP_OK || st == WISP_ERR_TIMEOUT);
        t.close(t.ctx);
    }
    t0 = now_ms();
    while (now_ms() - t0 < 3000 && (left = thread_count()) > before)
        pause_ms(10);
    assert_true(left <= before);
    /* And a slot is free again: this one waits and connects. */
    {
        wisp_posix p;
        wisp_transport t;
        wisp_posix_init(&p, &t);
        assert_int_equal(t.connect(t.ctx, "good.wisp.test", PORT_GOOD, 2000), WISP_OK);
        t.close(t.ctx);
    }
    close(lfd);
}

/* The cancel pipe and the cancel flag stop the wait for a lookup. */
static int g_cancel_pipe[2];
static volatile sig_atomic_t g_cancel;

static void on_signal(int sig)
{
    (void)sig;
    g_cancel = 1;
}

static void *cancel_later(void *arg)
{
    sigset_t all;
    /* Block the signal here, so it goes to a thread that waits. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pause_ms(150);
    if (arg != NULL)
        kill(getpid(), SIGUSR1);
    else if (write(g_cancel_pipe[1], "x", 1) != 1)
        fail();
    return NULL;
}

static void test_cancel_stops_the_wait(void **state)
{
    wisp_posix p;
    wisp_transport t;
    struct sigaction sa, old;
    pthread_t th;
    uint64_t t0, dt;
    (void)state;
    NEEDS_NAMESPACE();

    /* The pipe. */
    assert_int_equal(pipe(g_cancel_pipe), 0);
    wisp_posix_init(&p, &t);
    p.cancel_fd = g_cancel_pipe[0];
    assert_int_equal(pthread_create(&th, NULL, cancel_later, NULL), 0);
    t0 = now_ms();
    assert_int_equal(t.connect(t.ctx, SILENT, 443, 5000), WISP_ERR_CANCELLED);
    dt = now_ms() - t0;
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(dt >= 100 && dt <= 150 + SLACK_MS);
    close(g_cancel_pipe[0]);
    close(g_cancel_pipe[1]);

    /* The flag, set by a signal sent to the process: it reaches this
     * thread, never a resolver thread (they block every signal). */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    g_cancel = 0;
    wisp_posix_init(&p, &t);
    p.cancel = &g_cancel;
    assert_int_equal(pthread_create(&th, NULL, cancel_later, &p), 0);
    t0 = now_ms();
    assert_int_equal(t.connect(t.ctx, SILENT, 443, 5000),
                     WISP_ERR_CANCELLED);
    dt = now_ms() - t0;
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(dt >= 100 && dt <= 150 + SLACK_MS);
    assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
}

/* Many names against the silent server: never more than WISP_POSIX_LOOKUPS
 * resolver threads, and a connect that finds them all busy still returns at
 * its deadline.  Last: it leaves every slot busy for glibc's 10 s. */
static void test_threads_bounded(void **state)
{
    char name[64];
    int i, most = 0;
    (void)state;
    NEEDS_NAMESPACE();

    for (i = 0; i < WISP_POSIX_LOOKUPS + 3; i++) {
        wisp_posix p;
        wisp_transport t;
        uint64_t t0 = now_ms();
        int n;
        snprintf(name, sizeof name, "many%d.example.invalid", i);
        wisp_posix_init(&p, &t);
        assert_int_equal(t.connect(t.ctx, name, 443, 100), WISP_ERR_TIMEOUT);
        assert_true(now_ms() - t0 <= 100 + SLACK_MS);
        n = thread_count() - g_base_threads;
        if (n > most)
            most = n;
    }
    print_message("%d names against the silent server: %d resolver threads at most\n",
                  WISP_POSIX_LOOKUPS + 3, most);
    assert_true(most <= WISP_POSIX_LOOKUPS);
    assert_true(most >= 1);
}

/* After a fork the child has none of the resolver threads: their slots are
 * free there, even though every one is busy in the parent (the test
 * before leaves them so). */
static void test_fork_child_finds_free_slots(void **state)
{
    uint16_t port = PORT_GOOD;
    int lfd, result[2], status = -1;
    unsigned char st = 0xff;
    pid_t pid;
    (void)state;
    NEEDS_NAMESPACE();

    lfd = listen_at("127.0.0.1", &port, 8);
    assert_true(lfd >= 0);
    assert_int_equal(pipe(result), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        wisp_posix p;
        wisp_transport t;
        wisp_posix_init(&p, &t);
        st = (unsigned char)t.connect(t.ctx, "good.wisp.test", PORT_GOOD, 1000);
        if (write(result[1], &st, 1) != 1)
            _exit(1);
        /* Not _exit: the child holds glibc's resolver state of the
         * parent's resolver threads, which it does not have, so valgrind
         * would call that memory lost in the child (glibc's, not wisp's,
         * and nothing a child can free).  A killed process is not checked. */
        kill(getpid(), SIGKILL);
    }
    close(result[1]);
    assert_int_equal(read(result[0], &st, 1), 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(result[0]);
    assert_string_equal(status_name((wisp_status)st), "WISP_OK");
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals_skip_the_resolver),
        cmocka_unit_test(test_hook_results),
        cmocka_unit_test(test_hook_order_black_hole_first),
        cmocka_unit_test(test_silent_name_server_bounded),
        cmocka_unit_test(test_retry_joins_the_lookup),
        cmocka_unit_test(test_ipv6_black_hole_then_ipv4),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_abandoned_lookups_end),
        cmocka_unit_test(test_cancel_stops_the_wait),
        cmocka_unit_test(test_threads_bounded),
        cmocka_unit_test(test_fork_child_finds_free_slots),
    };
    g_ns = ns_setup();
    g_base_threads = thread_count();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
