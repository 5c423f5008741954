/*
 * test_posix.c - the POSIX transport against real loopback sockets.
 *
 * Everything runs in one thread: the kernel finishes a TCP handshake into
 * the listen backlog by itself, so the test can connect first and accept
 * afterwards.  Signals come from a forked child that sleeps, then kills.
 * (Only "localhost" is a name, looked up in the port's resolver thread;
 * name lookup within the timeout is tests/test_dns.c's.)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix_clock.h"
#include "wisp_posix.h"

/* ---- helpers ----------------------------------------------------------- */

/* A listening socket on a loopback address with a kernel-chosen port;
 * -1 when the address family is not available. */
static int listen_on(int family, int backlog, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1;
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = family == AF_INET
                ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

typedef struct fixture {
    wisp_posix p;
    wisp_transport t;
    int lfd;      /* listener */
    int peer;     /* accepted server side, -1 if none */
    uint16_t port;
} fixture;

static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    wisp_posix_init(&f.p, &f.t);
    f.peer = -1;
    f.lfd = listen_on(AF_INET, 16, &f.port);
    if (f.lfd < 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = (fixture *)*state;
    f->t.close(f->t.ctx);
    if (f->peer >= 0)
        close(f->peer);
    close(f->lfd);
    return 0;
}

/* Connects the transport to the fixture's listener and accepts. */
static void connect_and_accept(fixture *f)
{
    assert_int_equal(f->t.connect(f->t.ctx, "127.0.0.1", f->port, 2000),
                     WISP_OK);
    f->peer = accept(f->lfd, NULL, NULL);
    assert_true(f->peer >= 0);
}

/* Fork a child that sends sig to this process after ms. */
static pid_t signal_later(int sig, unsigned ms)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        pause_ms(ms);
        kill(parent, sig);
        _exit(0);
    }
    assert_true(pid > 0);
    return pid;
}

static void reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

static volatile sig_atomic_t g_cancel;
static volatile sig_atomic_t g_hits;

static void on_signal_cancel(int sig)
{
    (void)sig;
    g_cancel = 1;
    g_hits++;
}

static void on_signal_count(int sig)
{
    (void)sig;
    g_hits++;
}

/* A handler without SA_RESTART, so blocking calls see EINTR. */
static void install(int sig, void (*fn)(int), struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    assert_int_equal(sigaction(sig, &sa, old), 0);
}

/* ---- tests --------------------------------------------------------------- */

static void test_init_fills_table(void **state)
{
    fixture *f = (fixture *)*state;
    assert_ptr_equal(f->t.ctx, &f->p);
    assert_non_null(f->t.connect);
    assert_non_null(f->t.send);
    assert_non_null(f->t.recv);
    assert_non_null(f->t.close);
    assert_null(f->t.last_error);
    assert_int_equal(f->p.fd, -1);
    assert_null(f->p.cancel);
}

static void test_bad_arguments(void **state)
{
    fixture *f = (fixture *)*state;
    uint8_t b[4];
    size_t n = 99;
    assert_int_equal(f->t.connect(f->t.ctx, NULL, 80, 100), WISP_ERR_ARG);
    assert_int_equal(f->t.connect(f->t.ctx, "", 80, 100), WISP_ERR_ARG);
    assert_int_equal(f->t.connect(f->t.ctx, "127.0.0.1", 0, 100),
                     WISP_ERR_ARG);
    assert_int_equal(f->t.send(f->t.ctx, b, 0, &n, 100), WISP_ERR_ARG);
    assert_int_equal(n, 0);
    assert_int_equal(f->t.recv(f->t.ctx, b, 0, &n, 100), WISP_ERR_ARG);
    /* Not connected: the connection is (already) closed. */
    assert_int_equal(f->t.recv(f->t.ctx, b, sizeof b, &n, 100),
                     WISP_ERR_CLOSED);
    assert_int_equal(f->t.send(f->t.ctx, b, sizeof b, &n, 100),
                     WISP_ERR_CLOSED);
}

static void test_connect_refused(void **state)
{
    fixture *f = (fixture *)*state;
    uint16_t port;
    int fd = listen_on(AF_INET, 1, &port);
    assert_true(fd >= 0);
    close(fd); /* nothing listens there now */
    assert_int_equal(f->t.connect(f->t.ctx, "127.0.0.1", port, 2000),
                     WISP_ERR_CONNECT);
    assert_int_equal(f->p.fd, -1);
    assert_int_equal(f->p.connects, 0);
}

static void test_dns_failure(void **state)
{
    fixture *f = (fixture *)*state;
    /* .invalid is reserved (RFC 6761): never resolves. */
    assert_int_equal(f->t.connect(f->t.ctx, "no-such-host.wisp.invalid", 443,
                                  2000),
                     WISP_ERR_DNS);
    assert_int_equal(f->p.fd, -1);
}

static void test_roundtrip_and_counter(void **state)
{
    fixture *f = (fixture *)*state;
    uint8_t buf[16];
    size_t n = 0;
    ssize_t r;

    connect_and_accept(f);
    assert_int_equal(f->p.connects, 1);
    assert_int_equal(f->t.send(f->t.ctx, (const uint8_t *)"ping", 4, &n, 1000),
                     WISP_OK);
    assert_int_equal(n, 4);
    r = recv(f->peer, buf, sizeof buf, 0);
    assert_int_equal(r, 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(send(f->peer, "pong!", 5, 0), 5);
    assert_int_equal(f->t.recv(f->t.ctx, buf, sizeof buf, &n, 1000), WISP_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "pong!", 5);

    /* A second connect closes the first and counts. */
    close(f->peer);
    f->peer = -1;
    connect_and_accept(f);
    assert_int_equal(f->p.connects, 2);
    f->t.close(f->t.ctx);
    f->t.close(f->t.ctx); /* twice is fine */
    assert_int_equal(f->p.fd, -1);
}

static void test_recv_timeout(void **state)
{
    fixture *f = (fixture *)*state;
    uint8_t buf[16];
    size_t n = 7;
    uint64_t t0, dt;

    /* Connected into the backlog; the server never says anything. */
    assert_int_equal(f->t.connect(f->t.ctx, "127.0.0.1", f->port, 2000),
                     WISP_OK);
    t0 = now_ms();
    assert_int_equal(f->t.recv(f->t.ctx, buf, sizeof buf, &n, 300),
                     WISP_ERR_TIMEOUT);
    dt = now_ms() - t0;
    assert_int_equal(n, 0);
    assert_true(dt >= 295);
    assert_true(dt < 1500);
}

/* The self-pipe: a byte already waiting on cancel_fd (a signal that landed
 * after the flag check, before poll) ends a wait and a sleep at once. */
static void test_cancel_pipe_wakes_waits(void **state)
{
    fixture *f = (fixture *)*state;
    uint8_t buf[16];
    size_t n = 7;
    int fds[2];
    uint64_t t0, dt;

    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "x", 1), 1);
    assert_int_equal(f->t.connect(f->t.ctx, "127.0.0.1", f->port, 2000), WISP_OK);
    f->p.cancel_fd = fds[0]; /* the flag itself is not set */
    t0 = now_ms();
    assert_int_equal(f->t.recv(f->t.ctx, buf, sizeof buf, &n, 5000), WISP_ERR_CANCELLED);
    wisp_posix_sleep_ms(&f->p, 5000);
    dt = now_ms() - t0;
    assert_true(dt < 1000);
    f->p.cancel_fd = -1;
    close(fds[0]);
    close(fds[1]);
}

static void test_timeout_zero_does_not_wait(void **state)
{
    fixture *f = (fixture *)*state;
    uint8_t buf[16];
    size_t n = 0;
    uint64_t t0;

    connect_and_accept(f);
    t0 = now_ms();
    assert_int_equal(f->t.recv(f->t.ctx, buf, sizeof buf, &n, 0),
                     WISP_ERR_TIMEOUT);
    assert_true(now_ms() - t0 < 100);

    /* Loopback delivers synchronously: data is ready at once. */
    assert_int_equal(send(f->peer, "x", 1, 0), 1);
    assert_int_equal(f->t.recv(f->t.ctx, buf, sizeof buf, &n, 0), WISP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(f->t.send(f->t.ctx, (const uint8_t *)"y", 1, &n, 0),
                     WISP_OK);
    assert_int_equal(n, 1);
}

static void test_peer_close_is_eof(void **state)
{
    fixture *f = (fixture *)*state;
    uint8_t buf[16];
    size_t n = 0;

    connect_and_accept(f);
    assert_int_equal(send(f->peer, "bye", 3, 0), 3);
    close(f->peer);
    f->peer = -1;
    assert_int_equal(f->t.recv(f->t.ctx, buf, sizeof buf, &n, 1000), WISP_OK);
    assert_int_equal(n, 3);
    n = 99;
    assert_int_equal(f->t.recv(f->t.ctx, buf, sizeof buf, &n, 1000), WISP_OK);
    assert_int_equal(n, 0);
}

static void test_send_after_reset(void **state)
{
    fixture *f = (fixture *)*state;
    struct linger lg;
    uint8_t buf[64];
    size_t n = 0;
    wisp_status st = WISP_OK;
    int i;

    connect_and_accept(f);
    lg.l_onoff = 1;
    lg.l_linger = 0; /* close sends RST */
    assert_int_equal(setsockopt(f->peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg),
                     0);
    close(f->peer);
    f->peer = -1;
    memset(buf, 'a', sizeof buf);
    /* Without MSG_NOSIGNAL/SO_NOSIGPIPE this would kill the test process. */
    for (i = 0; i < 50 && st == WISP_OK; i++) {
        st = f->t.send(f->t.ctx, buf, sizeof buf, &n, 500);
        if (st == WISP_OK)
            pause_ms(10);
    }
    assert_int_equal(st, WISP_ERR_CLOSED);
    /* Reading now: the reset (if not yet reported) or end of stream. */
    st = f->t.recv(f->t.ctx, buf, sizeof buf, &n, 500);
    assert_true(st == WISP_ERR_CLOSED || (st == WISP_OK && n == 0));
}

static void test_send_after_orderly_close(void **state)
{
    fixture *f = (fixture *)*state;
    uint8_t buf[64];
    size_t n = 0;
    wisp_status st = WISP_OK;
    int i;

    connect_and_accept(f);
    close(f->peer); /* FIN; our next write draws an RST, then EPIPE */
    f->peer = -1;
    memset(buf, 'b', sizeof buf);
    for (i = 0; i < 50 && st == WISP_OK; i++) {
        st = f->t.send(f->t.ctx, buf, sizeof buf, &n, 500);
        if (st == WISP_OK)
            pause_ms(10);
    }
    assert_int_equal(st, WISP_ERR_CLOSED);
}

static void test_ipv6_loopback(void **state)
{
    fixture *f = (fixture *)*state;
    uint8_t buf[8];
    size_t n = 0;
    uint16_t port;
    int peer;
    int lfd = listen_on(AF_INET6, 4, &port);
    if (lfd < 0) {
        skip(); /* no IPv6 loopback on this machine */
        return;
    }
    assert_int_equal(f->t.connect(f->t.ctx, "::1", port, 2000), WISP_OK);
    peer = accept(lfd, NULL, NULL);
    assert_true(peer >= 0);
    assert_int_equal(f->t.send(f->t.ctx, (const uint8_t *)"v6", 2, &n, 1000),
                     WISP_OK);
    assert_int_equal(recv(peer, buf, sizeof buf, 0), 2);
    assert_memory_equal(buf, "v6", 2);
    close(peer);
    close(lfd);
}

static void test_localhost_by_name(void **state)
{
    fixture *f = (fixture *)*state;
    /* Goes through getaddrinfo; if localhost also maps to ::1, that address
     * is refused and the next one is tried. */
    assert_int_equal(f->t.connect(f->t.ctx, "localhost", f->port, 2000),
                     WISP_OK);
    assert_int_equal(f->p.connects, 1);
}

static void test_connect_timeout(void **state)
{
    fixture *f = (fixture *)*state;
    wisp_posix extra[8];
    wisp_transport xt[8];
    uint16_t port;
    int lfd = listen_on(AF_INET, 0, &port);
    int i, used = 0;
    wisp_status st = WISP_OK;
    uint64_t t0 = 0, dt = 0;

    (void)f;
    assert_true(lfd >= 0);
    /* Fill the accept queue of a listener nobody accepts on; Linux then
     * drops further SYNs, so a connect hangs until its timeout. */
    for (i = 0; i < 8 && st == WISP_OK; i++) {
        wisp_posix_init(&extra[i], &xt[i]);
        used = i + 1;
        t0 = now_ms();
        st = xt[i].connect(xt[i].ctx, "127.0.0.1", port, 250);
        dt = now_ms() - t0;
    }
    for (i = 0; i < used; i++)
        xt[i].close(xt[i].ctx);
    close(lfd);
    if (st == WISP_OK) {
        skip(); /* this kernel completes them all */
        return;
    }
    assert_int_equal(st, WISP_ERR_TIMEOUT);
    assert_true(dt >= 245);
    assert_true(dt < 1500);
}

static void test_cancel_interrupts_recv(void **state)
{
    fixture *f = (fixture *)*state;
    struct sigaction old;
    uint8_t buf[8];
    size_t n;
    uint64_t t0, dt;
    pid_t kid;

    g_cancel = 0;
    g_hits = 0;
    f->p.cancel = &g_cancel;
    connect_and_accept(f);
    install(SIGUSR1, on_signal_cancel, &old);
    kid = signal_later(SIGUSR1, 150);
    t0 = now_ms();
    assert_int_equal(f->t.recv(f->t.ctx, buf, sizeof buf, &n, 5000),
                     WISP_ERR_CANCELLED);
    dt = now_ms() - t0;
    reap(kid);
    sigaction(SIGUSR1, &old, NULL);
    assert_true(dt < 3000);
    assert_int_equal(g_hits, 1);

    /* The flag stays set: every later wait ends at once. */
    assert_int_equal(f->t.send(f->t.ctx, (const uint8_t *)"z", 1, &n, 1000),
                     WISP_ERR_CANCELLED);
    assert_int_equal(f->t.connect(f->t.ctx, "127.0.0.1", f->port, 1000),
                     WISP_ERR_CANCELLED);
    f->p.cancel = NULL;
}

static void test_signal_without_cancel_keeps_waiting(void **state)
{
    fixture *f = (fixture *)*state;
    struct sigaction old;
    uint8_t buf[8];
    size_t n;
    uint64_t t0, dt;
    pid_t kid;

    g_cancel = 0;
    g_hits = 0;
    f->p.cancel = &g_cancel; /* watched, but the handler never sets it */
    connect_and_accept(f);
    install(SIGUSR1, on_signal_count, &old);
    kid = signal_later(SIGUSR1, 100);
    t0 = now_ms();
    assert_int_equal(f->t.recv(f->t.ctx, buf, sizeof buf, &n, 600),
                     WISP_ERR_TIMEOUT);
    dt = now_ms() - t0;
    reap(kid);
    sigaction(SIGUSR1, &old, NULL);
    assert_int_equal(g_hits, 1);
    assert_true(dt >= 595);
    assert_true(dt < 2500);
    f->p.cancel = NULL;
}

static void test_clock_and_sleep(void **state)
{
    fixture *f = (fixture *)*state;
    struct sigaction old;
    uint32_t a, b;
    uint64_t t0, dt;
    pid_t kid;

    a = wisp_posix_now_ms(NULL);
    wisp_posix_sleep_ms(NULL, 120);
    b = wisp_posix_now_ms(NULL);
    assert_true((uint32_t)(b - a) >= 120);
    assert_true((uint32_t)(b - a) < 1000);
    wisp_posix_sleep_ms(NULL, 0);

    /* A signal without cancel: the sleep resumes for the rest. */
    g_cancel = 0;
    g_hits = 0;
    f->p.cancel = &g_cancel;
    install(SIGUSR1, on_signal_count, &old);
    kid = signal_later(SIGUSR1, 80);
    t0 = now_ms();
    wisp_posix_sleep_ms(&f->p, 400);
    dt = now_ms() - t0;
    reap(kid);
    assert_int_equal(g_hits, 1);
    assert_true(dt >= 395);

    /* With cancel set, it ends early. */
    install(SIGUSR1, on_signal_cancel, NULL);
    kid = signal_later(SIGUSR1, 80);
    t0 = now_ms();
    wisp_posix_sleep_ms(&f->p, 5000);
    dt = now_ms() - t0;
    reap(kid);
    sigaction(SIGUSR1, &old, NULL);
    assert_true(g_cancel);
    assert_true(dt < 3000);
    f->p.cancel = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_fills_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_and_counter, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recv_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_pipe_wakes_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_zero_does_not_wait, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_peer_close_is_eof, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_send_after_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_after_orderly_close, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_loopback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_localhost_by_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_interrupts_recv, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_signal_without_cancel_keeps_waiting,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_and_sleep, setup, teardown),
    };
    return cmocka_run_group_tests_name("posix", tests, NULL, NULL);
}
