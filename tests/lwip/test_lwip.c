/*
 * test_lwip.c - port/lwip over lwIP's own TCP (Debian's liblwip, 2.1.3).
 *
 * That build has no loopback interface, no DNS and no select, so the test
 * brings lwIP up in this process (tcpip_init) with two interfaces of its
 * own: "lo" at 127.0.0.1, whose output lwIP loops back, and "bh" at
 * 10.9.9.1/24, which drops everything (a black hole, for timeouts).  A
 * server on lwIP sockets runs in a second thread and serves what the test
 * scripts: the port's contract case by case, then every recorded reply in
 * tests/fixtures through wisp_chat, whole, byte by byte and split at
 * random, on both sides of the connection, held to the same .expect as
 * test_wire.c; and HTTPS, wisp_tls over this port against an mbedTLS
 * server on lwIP sockets.
 */
/* Built with -D_DEFAULT_SOURCE: Debian's lwIP headers want POSIX ssize_t. */
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lwip/netif.h"
#include "lwip/sockets.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "wisp.h"
#include "wisp_lwip.h"
#include "wisp_tls.h"
#include "wire_fixtures.h"

#define SERVER_PORT 8080
#define CLOSED_PORT 8081
#define TLS_PORT 8443
#define IO_WAIT_MS 10000 /* the server's bound on any wait: a hang fails */

/* ---- lwIP in this process -------------------------------------------- */

static struct netif lo_if, hole_if;

static err_t lo_output(struct netif *n, struct pbuf *p, const ip4_addr_t *to)
{
    (void)to;
    return netif_loop_output(n, p);
}

static err_t lo_init(struct netif *n)
{
    n->name[0] = 'l';
    n->name[1] = 'o';
    n->output = lo_output;
    n->mtu = 1500;
    return ERR_OK;
}

static err_t hole_output(struct netif *n, struct pbuf *p, const ip4_addr_t *to)
{
    (void)n;
    (void)p;
    (void)to;
    return ERR_OK; /* gone: no answer will ever come */
}

static err_t hole_init(struct netif *n)
{
    n->name[0] = 'b';
    n->name[1] = 'h';
    n->output = hole_output;
    n->mtu = 1500;
    return ERR_OK;
}

static sys_sem_t stack_up;

/* lwIP 2.1's loopback schedules its delivery with tcpip_try_callback and
 * does not try again when the tcpip mailbox is full, so a burst of tiny
 * segments (a byte-by-byte reply) can strand the loop queue for good.  A
 * driver polls its receive queue; so does this, every 2 ms, on the tcpip
 * thread. */
static void poll_loopback(void *arg)
{
    (void)arg;
    netif_poll(&lo_if);
    sys_timeout(2, poll_loopback, NULL);
}

static void on_stack_up(void *arg)
{
    (void)arg;
    sys_timeout(2, poll_loopback, NULL);
    sys_sem_signal(&stack_up);
}

static void bring_up(struct netif *n, const char *addr, const char *netmask, netif_init_fn init)
{
    ip4_addr_t ip, mask, gw;
    assert_true(ip4addr_aton(addr, &ip));
    assert_true(ip4addr_aton(netmask, &mask));
    ip4_addr_set_zero(&gw);
    assert_non_null(netif_add(n, &ip, &mask, &gw, NULL, init, tcpip_input));
    netif_set_up(n);
    netif_set_link_up(n);
}

static void stack_init(void)
{
    assert_int_equal(sys_sem_new(&stack_up, 0), ERR_OK);
    tcpip_init(on_stack_up, NULL);
    sys_sem_wait(&stack_up);
    LOCK_TCPIP_CORE();
    bring_up(&lo_if, "127.0.0.1", "255.0.0.0", lo_init);
    bring_up(&hole_if, "10.9.9.1", "255.255.255.0", hole_init);
    netif_set_default(&lo_if);
#if LWIP_IPV6
    {
        ip6_addr_t one;
        s8_t index;
        ip6addr_aton("::1", &one);
        netif_add_ip6_address(&lo_if, &one, &index);
        netif_ip6_addr_set_state(&lo_if, index, IP6_ADDR_PREFERRED);
    }
#endif
    UNLOCK_TCPIP_CORE();
}

/* ---- the server thread --------------------------------------------------- */

typedef enum serve_how {
    SERVE_REPLY,    /* read the request, send the reply, then `end` */
    SERVE_ECHO,     /* send back every byte received, until the peer closes */
    SERVE_SILENT,   /* read, send nothing, wait for the peer to close */
    SERVE_SINK      /* read everything slowly, count it, until the peer closes */
} serve_how;

typedef struct script {
    serve_how how;
    const uint8_t *reply;
    size_t reply_len;
    int replies;       /* SERVE_REPLY: replies on this connection (default 1) */
    wire_split split;  /* how the server cuts its sends */
    uint32_t seed;
    wire_end end;
    bool v6;           /* accept on [::1] instead of 127.0.0.1 */
    bool tls;          /* SERVE_REPLY over TLS (mbedTLS), on TLS_PORT */
    /* Filled by the server. */
    size_t received;   /* bytes read from the client */
    uint32_t sink_sum; /* SERVE_SINK: a checksum of what came */
    int requests;      /* complete requests read */
} script;

static script g_script;
static sys_sem_t g_go, g_done;
static int g_listen_fd = -1, g_listen6_fd = -1, g_listen_tls_fd = -1;
static volatile size_t g_client_got; /* bytes the client side has received */

static uint32_t next_rand(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7FFFu;
}

static int open_listener(int family, uint16_t port)
{
    int fd = lwip_socket(family, SOCK_STREAM, 0), one = 1;
    assert_true(fd >= 0);
    (void)lwip_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET) {
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = lwip_htons(port);
        sa.sin_addr.s_addr = lwip_htonl(0x7f000001u);
        assert_int_equal(lwip_bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    } else {
#if LWIP_IPV6
        struct sockaddr_in6 sa;
        memset(&sa, 0, sizeof sa);
        sa.sin6_family = AF_INET6;
        sa.sin6_port = lwip_htons(port);
        assert_int_equal(lwip_inet_pton(AF_INET6, "::1", &sa.sin6_addr), 1);
        assert_int_equal(lwip_bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
#endif
    }
    assert_int_equal(lwip_listen(fd, 4), 0);
    return fd;
}

static void set_wait(int fd)
{
    struct timeval tv;
    int one = 1;
    /* No Nagle: each piece goes out as cut, at once. */
    (void)lwip_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tv.tv_sec = IO_WAIT_MS / 1000;
    tv.tv_usec = 0;
    (void)lwip_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)lwip_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Reads one HTTP request (head, then Content-Length bytes). 0 when the
 * peer closed or failed before a whole one. */
static int read_request(int fd, script *s)
{
    static char buf[1 << 20];
    size_t len = 0, need = 0;
    for (;;) {
        ssize_t n;
        if (need == 0) {
            char *end = NULL;
            size_t i;
            for (i = 3; i < len; i++)
                if (memcmp(buf + i - 3, "\r\n\r\n", 4) == 0) {
                    end = buf + i + 1;
                    break;
                }
            if (end != NULL) {
                char *cl;
                buf[len < sizeof buf ? len : sizeof buf - 1] = '\0';
                cl = strstr(buf, "Content-Length: ");
                need = (size_t)(end - buf) + (cl != NULL ? strtoul(cl + 16, NULL, 10) : 0);
            }
        }
        if (need != 0 && len >= need)
            return 1;
        if (len == sizeof buf - 1)
            return 0;
        n = lwip_recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        s->received += (size_t)n;
    }
}

/* True once the client holds at least `want` bytes of the reply; false
 * when it closed the connection first (it found an error and stopped
 * reading) or the wait bound passed. */
static bool client_caught_up(int fd, size_t want)
{
    uint32_t start = sys_now();
    while (__atomic_load_n(&g_client_got, __ATOMIC_SEQ_CST) < want) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
        if (lwip_poll(&pfd, 1, 0) != 0 || sys_now() - start > IO_WAIT_MS)
            return false; /* readable: the client's FIN or reset */
        sched_yield();
    }
    return true;
}

/* At most this many small pieces in flight: a flood of tiny segments
 * overruns lwIP's receive mailbox, and the refused data then trickles in
 * on the 250 ms timer. */
#define PIECES_IN_FLIGHT 16

static void send_split(int fd, const script *s)
{
    size_t ends[PIECES_IN_FLIGHT] = {0};
    uint32_t seed = s->seed, k = 0;
    size_t off = 0;
    while (off < s->reply_len) {
        size_t piece = s->reply_len - off;
        ssize_t n;
        if (s->split == WIRE_BYTES)
            piece = 1;
        else if (s->split == WIRE_RANDOM && piece > 1)
            piece = 1 + next_rand(&seed) % (piece < 97 ? piece : 97);
        if (s->split != WIRE_WHOLE &&
            !client_caught_up(fd, ends[k % PIECES_IN_FLIGHT]))
            return;
        ends[k++ % PIECES_IN_FLIGHT] = off + piece;
        n = lwip_send(fd, s->reply + off, piece, 0);
        if (n <= 0)
            return; /* the client went away (an error it found first) */
        off += (size_t)n;
    }
}

/* Waits until the peer closes (or resets, or the wait bound passes). */
static void drain_until_closed(int fd, script *s, bool slow)
{
    char buf[4096];
    for (;;) {
        ssize_t n = lwip_recv(fd, buf, slow ? 700 : sizeof buf, 0);
        ssize_t i;
        if (n <= 0)
            return;
        s->received += (size_t)n;
        if (s->how == SERVE_ECHO) {
            ssize_t off = 0;
            while (off < n) {
                ssize_t m = lwip_send(fd, buf + off, (size_t)(n - off), 0);
                if (m <= 0)
                    return;
                off += m;
            }
        }
        for (i = 0; i < n; i++)
            s->sink_sum = s->sink_sum * 31u + (uint8_t)buf[i];
        if (slow)
            sys_msleep(1);
    }
}

static void serve_one(int fd, script *s)
{
    int k;
    set_wait(fd);
    if (s->how != SERVE_REPLY) {
        drain_until_closed(fd, s, s->how == SERVE_SINK);
        return;
    }
    for (k = 0; k < (s->replies > 0 ? s->replies : 1); k++) {
        if (!read_request(fd, s))
            return;
        s->requests++;
        send_split(fd, s);
    }
    if (s->end == WIRE_RESET) {
        /* Abort only once the client holds every byte: lwIP drops what it
         * has not sent yet when a connection is aborted. */
        struct linger lg;
        int waited = 0;
        while (__atomic_load_n(&g_client_got, __ATOMIC_SEQ_CST) < s->reply_len &&
               waited++ < IO_WAIT_MS)
            sys_msleep(1);
        lg.l_onoff = 1;
        lg.l_linger = 0;
        (void)lwip_setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else if (s->end == WIRE_KEEP) {
        drain_until_closed(fd, s, false);
    }
}

/* ---- a TLS server on lwIP sockets (mbedTLS), for wisp_tls over the port -- */

static char g_cert_dir[] = "/tmp/wisp_lwip_tls_XXXXXX";
static char g_ca_path[64];
static mbedtls_ssl_config g_srv_conf;
static mbedtls_x509_crt g_srv_cert;
static mbedtls_pk_context g_srv_key;
static mbedtls_entropy_context g_srv_entropy;
static mbedtls_ctr_drbg_context g_srv_drbg;
static bool g_tls_ready;

static int srv_send(void *ctx, const unsigned char *buf, size_t len)
{
    ssize_t n = lwip_send(*(int *)ctx, buf, len, 0);
    return n > 0 ? (int)n : MBEDTLS_ERR_NET_CONN_RESET;
}

static int srv_recv(void *ctx, unsigned char *buf, size_t len)
{
    ssize_t n = lwip_recv(*(int *)ctx, buf, len, 0);
    return n >= 0 ? (int)n : MBEDTLS_ERR_NET_CONN_RESET;
}

/* A CA and a certificate for localhost signed by it, made by the openssl
 * CLI, and a server configuration that uses them. */
static void tls_server_init(void)
{
    char cmd[1024], path[96];
    if (mkdtemp(g_cert_dir) == NULL)
        return;
    snprintf(cmd, sizeof cmd,
             "cd %s && EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
             "openssl req -x509 $EC -keyout ca.key -out ca.pem -days 30 -subj /CN=wisp-lwip-ca "
             "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign 2>/dev/null && "
             "openssl req -new $EC -keyout srv.key -out srv.csr -subj /CN=localhost 2>/dev/null && "
             "printf 'subjectAltName=DNS:localhost\\n' >ext.cnf && "
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 "
             "-extfile ext.cnf -out srv.pem 2>/dev/null",
             g_cert_dir);
    if (system(cmd) != 0)
        return;
    snprintf(g_ca_path, sizeof g_ca_path, "%s/ca.pem", g_cert_dir);
    mbedtls_ssl_config_init(&g_srv_conf);
    mbedtls_x509_crt_init(&g_srv_cert);
    mbedtls_pk_init(&g_srv_key);
    mbedtls_entropy_init(&g_srv_entropy);
    mbedtls_ctr_drbg_init(&g_srv_drbg);
    if (mbedtls_ctr_drbg_seed(&g_srv_drbg, mbedtls_entropy_func, &g_srv_entropy, NULL, 0) != 0)
        return;
    snprintf(path, sizeof path, "%s/srv.pem", g_cert_dir);
    if (mbedtls_x509_crt_parse_file(&g_srv_cert, path) != 0)
        return;
    snprintf(path, sizeof path, "%s/srv.key", g_cert_dir);
#if MBEDTLS_VERSION_MAJOR >= 3
    if (mbedtls_pk_parse_keyfile(&g_srv_key, path, NULL, mbedtls_ctr_drbg_random, &g_srv_drbg) != 0)
        return;
#else
    if (mbedtls_pk_parse_keyfile(&g_srv_key, path, NULL) != 0)
        return;
#endif
    if (mbedtls_ssl_config_defaults(&g_srv_conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0 ||
        mbedtls_ssl_conf_own_cert(&g_srv_conf, &g_srv_cert, &g_srv_key) != 0)
        return;
    mbedtls_ssl_conf_rng(&g_srv_conf, mbedtls_ctr_drbg_random, &g_srv_drbg);
    g_tls_ready = true;
}

static void tls_server_free(void)
{
    char cmd[128];
    mbedtls_ssl_config_free(&g_srv_conf);
    mbedtls_x509_crt_free(&g_srv_cert);
    mbedtls_pk_free(&g_srv_key);
    mbedtls_ctr_drbg_free(&g_srv_drbg);
    mbedtls_entropy_free(&g_srv_entropy);
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_cert_dir);
    (void)system(cmd);
}

/* One TLS connection: `replies` requests, each answered with the reply. */
static void serve_tls(int fd, script *s)
{
    mbedtls_ssl_context ssl;
    static unsigned char buf[16384];
    int k, r;

    set_wait(fd);
    mbedtls_ssl_init(&ssl);
    if (mbedtls_ssl_setup(&ssl, &g_srv_conf) != 0)
        goto done;
    mbedtls_ssl_set_bio(&ssl, &fd, srv_send, srv_recv, NULL);
    while ((r = mbedtls_ssl_handshake(&ssl)) != 0)
        if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
            goto done;
    for (k = 0; k < (s->replies > 0 ? s->replies : 1); k++) {
        size_t len = 0, need = 0, off = 0;
        while (need == 0 || len < need) {
            char *end;
            r = mbedtls_ssl_read(&ssl, buf + len, sizeof buf - 1 - len);
            if (r <= 0)
                goto done;
            len += (size_t)r;
            s->received += (size_t)r;
            buf[len] = '\0';
            end = strstr((char *)buf, "\r\n\r\n");
            if (end != NULL && need == 0) {
                char *cl = strstr((char *)buf, "Content-Length: ");
                need = (size_t)(end + 4 - (char *)buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
            }
        }
        s->requests++;
        while (off < s->reply_len) {
            r = mbedtls_ssl_write(&ssl, s->reply + off, s->reply_len - off);
            if (r <= 0)
                goto done;
            off += (size_t)r;
        }
    }
    /* Wait for the client to close: its close_notify, or the TCP end. */
    while (mbedtls_ssl_read(&ssl, buf, sizeof buf) > 0)
        ;
done:
    mbedtls_ssl_free(&ssl);
}

static void *server_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd, lfd;
        sys_sem_wait(&g_go);
        if (g_script.reply_len == SIZE_MAX)
            return NULL; /* told to stop */
        lfd = g_script.v6 ? g_listen6_fd : g_script.tls ? g_listen_tls_fd : g_listen_fd;
        fd = lwip_accept(lfd, NULL, NULL);
        if (fd >= 0 && g_script.tls) {
            serve_tls(fd, &g_script);
            (void)lwip_close(fd);
        } else if (fd >= 0) {
            serve_one(fd, &g_script);
            (void)lwip_close(fd);
        }
        sys_sem_signal(&g_done);
    }
}


static pthread_t g_server;

/* Hands the server its next connection's script. */
static void serve(const script *s)
{
    g_script = *s;
    __atomic_store_n(&g_client_got, 0, __ATOMIC_SEQ_CST);
    sys_sem_signal(&g_go);
}

/* Waits until the server is done with the connection; its record. */
static script served(void)
{
    sys_sem_wait(&g_done);
    return g_script;
}

/* ---- the client side: the port, optionally cutting its reads ------------- */

typedef struct cutter {
    wisp_transport inner;
    wire_split split;
    uint32_t seed;
} cutter;

static wisp_status cut_connect(void *ctx, const char *host, uint16_t port, uint32_t ms)
{
    cutter *c = (cutter *)ctx;
    return c->inner.connect(c->inner.ctx, host, port, ms);
}

static wisp_status cut_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent,
                            uint32_t ms)
{
    cutter *c = (cutter *)ctx;
    return c->inner.send(c->inner.ctx, buf, len, sent, ms);
}

static wisp_status cut_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t ms)
{
    cutter *c = (cutter *)ctx;
    wisp_status st;
    if (c->split == WIRE_BYTES)
        cap = 1;
    else if (c->split == WIRE_RANDOM && cap > 1)
        cap = 1 + next_rand(&c->seed) % (cap < 211 ? cap : 211);
    st = c->inner.recv(c->inner.ctx, buf, cap, got, ms);
    if (st == WISP_OK)
        __atomic_add_fetch(&g_client_got, *got, __ATOMIC_SEQ_CST);
    return st;
}

static void cut_close(void *ctx)
{
    cutter *c = (cutter *)ctx;
    c->inner.close(c->inner.ctx);
}

static void cutter_init(cutter *c, wisp_lwip *port, wisp_transport *t, wire_split split,
                        uint32_t seed)
{
    wisp_lwip_init(port, &c->inner);
    c->split = split;
    c->seed = seed;
    t->ctx = c;
    t->connect = cut_connect;
    t->send = cut_send;
    t->recv = cut_recv;
    t->close = cut_close;
    t->last_error = NULL;
}

/* ---- the port's contract -------------------------------------------------- */

static void test_init_fills_table(void **state)
{
    wisp_lwip p;
    wisp_transport t;
    (void)state;
    memset(&p, 0x5a, sizeof p);
    wisp_lwip_init(&p, &t);
    assert_int_equal(p.fd, -1);
    assert_int_equal(p.connects, 0);
    assert_null(p.cancel);
    assert_ptr_equal(t.ctx, &p);
    assert_non_null(t.connect);
    assert_non_null(t.send);
    assert_non_null(t.recv);
    assert_non_null(t.close);
    assert_null(t.last_error);
    t.close(t.ctx); /* closing a closed transport is fine */
}

static void test_bad_arguments(void **state)
{
    wisp_lwip p;
    wisp_transport t;
    uint8_t b[4];
    size_t n = 7;
    (void)state;
    wisp_lwip_init(&p, &t);
    assert_int_equal(t.connect(t.ctx, NULL, SERVER_PORT, 100), WISP_ERR_ARG);
    assert_int_equal(t.connect(t.ctx, "", SERVER_PORT, 100), WISP_ERR_ARG);
    assert_int_equal(t.connect(t.ctx, "127.0.0.1", 0, 100), WISP_ERR_ARG);
    assert_int_equal(t.send(t.ctx, b, sizeof b, &n, 0), WISP_ERR_CLOSED);
    assert_int_equal(n, 0);
    n = 7;
    assert_int_equal(t.recv(t.ctx, b, sizeof b, &n, 0), WISP_ERR_CLOSED);
    assert_int_equal(n, 0);
    assert_int_equal(t.send(t.ctx, NULL, 1, &n, 0), WISP_ERR_ARG);
    assert_int_equal(t.recv(t.ctx, b, 0, &n, 0), WISP_ERR_ARG);
    assert_int_equal(t.recv(t.ctx, b, 1, NULL, 0), WISP_ERR_ARG);
}

static void test_connect_refused(void **state)
{
    wisp_lwip p;
    wisp_transport t;
    (void)state;
    wisp_lwip_init(&p, &t);
    assert_int_equal(t.connect(t.ctx, "127.0.0.1", CLOSED_PORT, 2000), WISP_ERR_CONNECT);
    assert_int_equal(p.fd, -1);
    assert_int_equal(p.connects, 0);
}

static void test_name_without_dns(void **state)
{
    wisp_lwip p;
    wisp_transport t;
    (void)state;
    wisp_lwip_init(&p, &t);
    /* Debian's lwIP has LWIP_DNS 0: a name cannot be looked up. */
    assert_int_equal(LWIP_DNS, 0);
    assert_int_equal(t.connect(t.ctx, "localhost", SERVER_PORT, 100), WISP_ERR_DNS);
    assert_int_equal(t.connect(t.ctx, "api.example", SERVER_PORT, 100), WISP_ERR_DNS);
    assert_int_equal(p.fd, -1);
}

static void test_connect_timeout(void **state)
{
    wisp_lwip p;
    wisp_transport t;
    uint32_t start, spent;
    volatile int stop = 1;
    (void)state;
    wisp_lwip_init(&p, &t);
    start = wisp_lwip_now_ms(NULL);
    assert_int_equal(t.connect(t.ctx, "10.9.9.2", 443, 300), WISP_ERR_TIMEOUT);
    spent = wisp_lwip_now_ms(NULL) - start;
    assert_true(spent >= 300);
    assert_int_equal(p.fd, -1);
    /* Timeout 0: one look, no wait. */
    assert_int_equal(t.connect(t.ctx, "10.9.9.2", 443, 0), WISP_ERR_TIMEOUT);
    /* A set cancel flag wins before anything is sent. */
    p.cancel = &stop;
    assert_int_equal(t.connect(t.ctx, "10.9.9.2", 443, 5000), WISP_ERR_CANCELLED);
}

static void test_roundtrip_and_counter(void **state)
{
    static uint8_t big[256 * 1024], back[sizeof big];
    wisp_lwip p;
    wisp_transport t;
    script s = {.how = SERVE_ECHO};
    size_t off = 0, got = 0, partial = 0;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7u + (i >> 9));
    wisp_lwip_init(&p, &t);
    serve(&s);
    assert_int_equal(t.connect(t.ctx, "127.0.0.1", SERVER_PORT, 2000), WISP_OK);
    assert_int_equal(p.connects, 1);
    /* Sends are partial when lwIP's send buffer is full; every byte comes
     * back in order. */
    while (off < sizeof big || got < sizeof big) {
        size_t n = 0;
        if (off < sizeof big) {
            wisp_status st = t.send(t.ctx, big + off, sizeof big - off, &n, 0);
            if (st == WISP_OK) {
                assert_true(n >= 1 && n <= sizeof big - off);
                partial += n < sizeof big - off;
                off += n;
            } else {
                assert_int_equal(st, WISP_ERR_TIMEOUT);
            }
        }
        n = 0;
        {
            wisp_status st = t.recv(t.ctx, back + got, sizeof back - got, &n, 100);
            if (st == WISP_OK) {
                assert_true(n >= 1);
                got += n;
            } else {
                assert_int_equal(st, WISP_ERR_TIMEOUT);
            }
        }
    }
    assert_memory_equal(big, back, sizeof big);
    assert_true(partial >= 1); /* 256 KB does not fit lwIP's 64 KB at once */
    t.close(t.ctx);
    assert_int_equal(p.fd, -1);
    s = served();
    assert_int_equal(s.received, sizeof big);
}

static void test_recv_timeouts(void **state)
{
    wisp_lwip p;
    wisp_transport t;
    script s = {.how = SERVE_SILENT};
    uint8_t b[16];
    size_t n = 9;
    uint32_t start;
    (void)state;
    wisp_lwip_init(&p, &t);
    serve(&s);
    assert_int_equal(t.connect(t.ctx, "127.0.0.1", SERVER_PORT, 2000), WISP_OK);
    assert_int_equal(t.recv(t.ctx, b, sizeof b, &n, 0), WISP_ERR_TIMEOUT);
    assert_int_equal(n, 0);
    start = wisp_lwip_now_ms(NULL);
    assert_int_equal(t.recv(t.ctx, b, sizeof b, &n, 200), WISP_ERR_TIMEOUT);
    assert_true(wisp_lwip_now_ms(NULL) - start >= 200);
    t.close(t.ctx);
    (void)served();
}

static volatile int g_cancel_flag;

static void *cancel_later(void *arg)
{
    (void)arg;
    sys_msleep(100);
    g_cancel_flag = 1;
    return NULL;
}

static void test_cancel_from_another_thread(void **state)
{
    wisp_lwip p;
    wisp_transport t;
    script s = {.how = SERVE_SILENT};
    uint8_t b[16];
    size_t n;
    pthread_t th;
    uint32_t start;
    (void)state;
    wisp_lwip_init(&p, &t);
    g_cancel_flag = 0;
    p.cancel = &g_cancel_flag;
    serve(&s);
    assert_int_equal(t.connect(t.ctx, "127.0.0.1", SERVER_PORT, 2000), WISP_OK);
    start = wisp_lwip_now_ms(NULL);
    assert_int_equal(pthread_create(&th, NULL, cancel_later, NULL), 0);
    assert_int_equal(t.recv(t.ctx, b, sizeof b, &n, 60000), WISP_ERR_CANCELLED);
    pthread_join(th, NULL);
    /* Well before the 60 s timeout and the server's 10 s bound: the flag
     * is seen within a slice (50 ms). */
    assert_true(wisp_lwip_now_ms(NULL) - start < 5000);
    assert_int_equal(t.send(t.ctx, b, 1, &n, 1000), WISP_ERR_CANCELLED);
    /* The sleep hook ends at once too. */
    start = wisp_lwip_now_ms(NULL);
    wisp_lwip_sleep_ms(&p, 60000);
    assert_true(wisp_lwip_now_ms(NULL) - start < 5000);
    t.close(t.ctx);
    (void)served();
}

static void test_peer_close_and_reset(void **state)
{
    static const uint8_t hello[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    wisp_lwip p;
    wisp_transport t;
    script s = {.how = SERVE_REPLY, .reply = hello, .reply_len = sizeof hello - 1,
                .end = WIRE_CLOSE};
    static const uint8_t req[] = "GET / HTTP/1.1\r\n\r\n";
    uint8_t b[128];
    size_t n, got = 0;
    int i;
    wisp_status st = WISP_OK;
    (void)state;

    /* Orderly close: the reply, then got == 0, every time asked. */
    wisp_lwip_init(&p, &t);
    serve(&s);
    assert_int_equal(t.connect(t.ctx, "127.0.0.1", SERVER_PORT, 2000), WISP_OK);
    assert_int_equal(t.send(t.ctx, req, sizeof req - 1, &n, 2000), WISP_OK);
    assert_int_equal(n, sizeof req - 1);
    while (got < sizeof hello - 1) {
        assert_int_equal(t.recv(t.ctx, b + got, sizeof b - got, &n, 2000), WISP_OK);
        assert_true(n >= 1);
        got += n;
    }
    assert_memory_equal(b, hello, sizeof hello - 1);
    (void)served();
    assert_int_equal(t.recv(t.ctx, b, sizeof b, &n, 2000), WISP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(t.recv(t.ctx, b, sizeof b, &n, 2000), WISP_OK);
    assert_int_equal(n, 0);
    t.close(t.ctx);

    /* Reset: the reply, then WISP_ERR_CLOSED, and sends fail the same way. */
    s.end = WIRE_RESET;
    serve(&s);
    assert_int_equal(t.connect(t.ctx, "127.0.0.1", SERVER_PORT, 2000), WISP_OK);
    assert_int_equal(t.send(t.ctx, req, sizeof req - 1, &n, 2000), WISP_OK);
    got = 0;
    while (got < sizeof hello - 1) {
        assert_int_equal(t.recv(t.ctx, b + got, sizeof b - got, &n, 2000), WISP_OK);
        got += n;
        __atomic_add_fetch(&g_client_got, n, __ATOMIC_SEQ_CST);
    }
    (void)served();
    assert_int_equal(t.recv(t.ctx, b, sizeof b, &n, 2000), WISP_ERR_CLOSED);
    for (i = 0; i < 5 && st == WISP_OK; i++)
        st = t.send(t.ctx, req, sizeof req - 1, &n, 2000);
    assert_int_equal(st, WISP_ERR_CLOSED);
    t.close(t.ctx);
    assert_int_equal(p.connects, 2);
}

static void test_ipv6_loopback(void **state)
{
#if LWIP_IPV6
    wisp_lwip p;
    wisp_transport t;
    script s = {.how = SERVE_ECHO, .v6 = true};
    uint8_t b[8];
    size_t n, got = 0;
    (void)state;
    wisp_lwip_init(&p, &t);
    serve(&s);
    assert_int_equal(t.connect(t.ctx, "::1", SERVER_PORT, 2000), WISP_OK);
    assert_int_equal(t.send(t.ctx, (const uint8_t *)"ping", 4, &n, 2000), WISP_OK);
    while (got < 4) {
        assert_int_equal(t.recv(t.ctx, b + got, sizeof b - got, &n, 2000), WISP_OK);
        got += n;
    }
    assert_memory_equal(b, "ping", 4);
    t.close(t.ctx);
    (void)served();
#else
    (void)state;
    skip();
#endif
}

static void test_clock_and_sleep(void **state)
{
    uint32_t start = wisp_lwip_now_ms(NULL);
    (void)state;
    wisp_lwip_sleep_ms(NULL, 120);
    assert_true(wisp_lwip_now_ms(NULL) - start >= 120);
    wisp_lwip_sleep_ms(NULL, 0);
}

/* ---- wisp_chat over lwIP: keep-alive and the recorded replies ------------ */

#define OK_BODY                                                                   \
    "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","    \
    "\"content\":\"over lwIP\"}}]}"
static const uint8_t ok_reply[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 88\r\n\r\n" OK_BODY;

/* A client for `url` over t with lwIP's clock and sleep, and the one
 * message every chat here sends. */
static wisp_message g_hi = {.role = WISP_ROLE_USER, .content = "hi"};

static void client_over(wisp_client *client, wisp_transport *t, wisp_lwip *p, const char *url,
                        wisp_request *req)
{
    static uint8_t work[4096];
    static wisp_token tokens[128];
    wisp_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = url;
    cfg.api_key = "test-key-not-real";
    cfg.transport = t;
    cfg.now_ms = wisp_lwip_now_ms;
    cfg.sleep_ms = wisp_lwip_sleep_ms;
    cfg.platform_ctx = p;
    assert_int_equal(wisp_client_init(client, &cfg, work, sizeof work, tokens, 128), WISP_OK);
    memset(req, 0, sizeof *req);
    req->model = "gemini-2.5-flash";
    req->messages = &g_hi;
    req->message_count = 1;
}

/* n chats on client, each answered "over lwIP". */
static void chat_times(wisp_client *client, const wisp_request *req, int n)
{
    wisp_response resp;
    char content[64];
    int i;
    for (i = 0; i < n; i++) {
        wisp_response_init(&resp, content, sizeof content, NULL, 0);
        assert_int_equal(wisp_chat(client, req, &resp, NULL, NULL), WISP_OK);
        assert_string_equal(content, "over lwIP");
    }
}

static void test_chat_keeps_the_connection(void **state)
{
    wisp_lwip p;
    wisp_transport t;
    wisp_client client;
    wisp_request req;
    script s = {.how = SERVE_REPLY, .reply = ok_reply, .reply_len = sizeof ok_reply - 1,
                .replies = 3, .end = WIRE_KEEP};
    (void)state;

    assert_int_equal(strlen(OK_BODY), 88);
    wisp_lwip_init(&p, &t);
    client_over(&client, &t, &p, "http://127.0.0.1:8080/v1", &req);
    serve(&s);
    chat_times(&client, &req, 3);
    wisp_client_close(&client);
    s = served();
    assert_int_equal(s.requests, 3);
    assert_int_equal(p.connects, 1); /* three requests, one connection */
}

/* HTTPS the way an ESP-IDF product does it: wisp_tls over wisp_lwip, the
 * certificate checked against its CA and host name, two chats on one
 * connection; then a host name the certificate does not carry. */
static void test_tls_over_lwip(void **state)
{
    static wisp_lwip p;
    static wisp_tls tls;
    wisp_transport plain, secure;
    wisp_tls_config tc;
    wisp_client client;
    wisp_request req;
    wisp_response resp;
    char content[64];
    script s = {.how = SERVE_REPLY, .reply = ok_reply, .reply_len = sizeof ok_reply - 1,
                .replies = 2, .tls = true};
    (void)state;
    assert_true(g_tls_ready);

    memset(&tc, 0, sizeof tc);
    tc.ca_file = g_ca_path;
    tc.server_name = "localhost";
    tc.now_ms = wisp_lwip_now_ms;
    wisp_lwip_init(&p, &plain);
    assert_int_equal(wisp_tls_init(&tls, &tc, &plain, &secure), WISP_OK);
    client_over(&client, &secure, &p, "https://127.0.0.1:8443/v1", &req);
    serve(&s);
    chat_times(&client, &req, 2);
    wisp_client_close(&client);
    s = served();
    assert_int_equal(s.requests, 2);
    assert_int_equal(p.connects, 1);
    wisp_tls_free(&tls);

    /* The certificate is for localhost: another name is refused. */
    tc.server_name = "api.example";
    wisp_lwip_init(&p, &plain);
    assert_int_equal(wisp_tls_init(&tls, &tc, &plain, &secure), WISP_OK);
    client_over(&client, &secure, &p, "https://127.0.0.1:8443/v1", &req);
    s.replies = 1;
    serve(&s);
    wisp_response_init(&resp, content, sizeof content, NULL, 0);
    assert_int_equal(wisp_chat(&client, &req, &resp, NULL, NULL), WISP_ERR_CERT);
    wisp_client_close(&client);
    (void)served();
    wisp_tls_free(&tls);
}

static int g_fixture_runs;

static void replay_lwip(const fixture *fx, wire_split split, uint32_t seed, outcome *o)
{
    wisp_lwip port;
    cutter cut;
    wisp_transport t;
    script s = {.how = SERVE_REPLY, .reply = fx->http, .reply_len = fx->http_len,
                .split = split, .seed = seed, .end = fixture_end(fx)};

    cutter_init(&cut, &port, &t, split, seed * 7u + 1u);
    serve(&s);
    run_fixture(fx, &t, fixture_stream(fx), 0, o);
    (void)served();
    o->connects = (int)port.connects;
    g_fixture_runs++;
}

static void test_fixture_over_lwip(void **state)
{
    const fixture *fx = (const fixture *)*state;
    outcome whole;

    skip_unless_built(fx);
    replay_every_way(fx, replay_lwip, 3, "lwIP ", &whole);
    assert_int_equal(whole.connects, 1);
    outcome_free(&whole);
}

int main(int argc, char **argv)
{
    static const struct CMUnitTest port_tests[] = {
        cmocka_unit_test(test_init_fills_table),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_name_without_dns),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_roundtrip_and_counter),
        cmocka_unit_test(test_recv_timeouts),
        cmocka_unit_test(test_cancel_from_another_thread),
        cmocka_unit_test(test_peer_close_and_reset),
        cmocka_unit_test(test_ipv6_loopback),
        cmocka_unit_test(test_clock_and_sleep),
        cmocka_unit_test(test_chat_keeps_the_connection),
        cmocka_unit_test(test_tls_over_lwip),
    };
    int rc;

    if (argc > 1)
        fixture_dir = argv[1];
    /* A port that blocks where it must not would hang the run: end it. */
    alarm(300);
    stack_init();
    assert_int_equal(sys_sem_new(&g_go, 0), ERR_OK);
    assert_int_equal(sys_sem_new(&g_done, 0), ERR_OK);
    g_listen_fd = open_listener(AF_INET, SERVER_PORT);
    g_listen_tls_fd = open_listener(AF_INET, TLS_PORT);
#if LWIP_IPV6
    g_listen6_fd = open_listener(AF_INET6, SERVER_PORT);
#endif
    tls_server_init();
    if (pthread_create(&g_server, NULL, server_main, NULL) != 0)
        return 1;

    rc = cmocka_run_group_tests_name("lwip port", port_tests, NULL, NULL);
    rc |= run_fixture_group("wire fixtures over lwIP", test_fixture_over_lwip);
    printf("over lwIP: %d fixtures, %d chats (whole, byte by byte, 3 random splits each)\n",
           fixture_count, g_fixture_runs);

    {
        script stop = {.reply_len = SIZE_MAX};
        serve(&stop);
        pthread_join(g_server, NULL);
    }
    (void)lwip_close(g_listen_fd);
    if (g_listen6_fd >= 0)
        (void)lwip_close(g_listen6_fd);
    (void)lwip_close(g_listen_tls_fd);
    tls_server_free();
    return rc;
}
