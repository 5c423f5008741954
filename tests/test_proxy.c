/*
 * test_proxy.c - the HTTP proxy transport (port/proxy) over a scripted
 * fake transport: the exact CONNECT request, the proxy's answers whole,
 * split at every byte and at random (accepted, refused, malformed, cut,
 * late), tunnel bytes read with the head, the deadline, forward mode, the
 * client through both modes, TLS passing a refusal's status line on, and
 * the Basic credentials of RFC 7617.  No network: the inner transport is
 * tests/fake_transport.h behind a shim that records where connect went
 * and the timeout of every call, against a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_transport.h"
#include "wisp.h"
#include "wisp_proxy.h"
#include "wisp_tls.h"

/* ---- the inner transport: the fake behind a recording shim ----------------------- */

#define CALLS_MAX 4096

typedef struct shim {
    fake_transport fake;
    wisp_transport fake_tr;
    char host[WISP_HOST_CAP];
    uint16_t port;
    uint32_t connect_timeout;
    uint32_t timeouts[CALLS_MAX]; /* of every send and recv, in order */
    size_t calls;
    uint32_t clock;      /* the fake now_ms */
    uint32_t step;       /* the clock moves this much at every inner call */
    size_t first_cap;    /* the first recv takes at most this (0: no limit) */
    bool has_detail;     /* last_error says something */
} shim;

typedef struct env {
    shim in;
    wisp_transport inner;
    wisp_proxy proxy;
    wisp_proxy_config cfg;
    wisp_transport tr;
} env;

static env *E;

static void note_call(shim *s, uint32_t timeout_ms)
{
    if (s->calls < CALLS_MAX) {
        s->timeouts[s->calls] = timeout_ms;
    }
    s->calls++;
    s->clock += s->step;
}

static wisp_status shim_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms)
{
    shim *s = (shim *)ctx;
    snprintf(s->host, sizeof s->host, "%s", host);
    s->port = port;
    s->connect_timeout = timeout_ms;
    s->clock += s->step;
    return s->fake_tr.connect(s->fake_tr.ctx, host, port, timeout_ms);
}

static wisp_status shim_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent,
                             uint32_t timeout_ms)
{
    shim *s = (shim *)ctx;
    note_call(s, timeout_ms);
    return s->fake_tr.send(s->fake_tr.ctx, buf, len, sent, timeout_ms);
}

static wisp_status shim_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t timeout_ms)
{
    shim *s = (shim *)ctx;
    note_call(s, timeout_ms);
    if (s->first_cap != 0 && cap > s->first_cap) {
        cap = s->first_cap;
        s->first_cap = 0;
    }
    return s->fake_tr.recv(s->fake_tr.ctx, buf, cap, got, timeout_ms);
}

static void shim_close(void *ctx)
{
    shim *s = (shim *)ctx;
    s->fake_tr.close(s->fake_tr.ctx);
}

static int shim_last_error(void *ctx, char *detail, size_t cap)
{
    shim *s = (shim *)ctx;
    snprintf(detail, cap, "%s", s->has_detail ? "the inner transport's reason" : "");
    return 0;
}

static uint32_t shim_now(void *ctx)
{
    return ((shim *)ctx)->clock;
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    fake_init(&e->in.fake, &e->in.fake_tr);
    e->inner.ctx = &e->in;
    e->inner.connect = shim_connect;
    e->inner.send = shim_send;
    e->inner.recv = shim_recv;
    e->inner.close = shim_close;
    e->inner.last_error = shim_last_error;
    e->cfg.host = "proxy.test";
    e->cfg.port = 3128;
    e->cfg.mode = WISP_PROXY_TUNNEL;
    *state = e;
    E = e;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void init_proxy(env *e)
{
    assert_int_equal(wisp_proxy_init(&e->proxy, &e->cfg, &e->inner, &e->tr), WISP_OK);
}

/* Resets the fake for a new script, keeping the shim. */
static void rescript(env *e, fake_split split)
{
    fake_init(&e->in.fake, &e->in.fake_tr);
    e->in.fake.split = split;
    e->in.fake.seed = 7;
    e->in.calls = 0;
}

static wisp_status connect_origin(env *e)
{
    return e->tr.connect(e->tr.ctx, "api.example.com", 443, 10000);
}

static const char *last_error(env *e)
{
    static char detail[WISP_TLS_DETAIL_CAP];
    memset(detail, 'x', sizeof detail);
    assert_int_equal(e->tr.last_error(e->tr.ctx, detail, sizeof detail), 0);
    return detail;
}

static const fake_split k_splits[] = {SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM};
#define SPLIT_COUNT (sizeof k_splits / sizeof k_splits[0])

/* ---- setup ----------------------------------------------------------------------------- */

static void test_init_fills_transport(void **state)
{
    env *e = *state;
    init_proxy(e);
    assert_ptr_equal(e->tr.ctx, &e->proxy);
    assert_non_null(e->tr.connect);
    assert_non_null(e->tr.send);
    assert_non_null(e->tr.recv);
    assert_non_null(e->tr.close);
    assert_non_null(e->tr.last_error);
    assert_int_equal(e->proxy.status, 0);
    assert_string_equal(last_error(e), "");
}

static void test_init_refuses_bad_arguments(void **state)
{
    env *e = *state;
    static char long_host[WISP_HOST_CAP + 1];
    wisp_proxy_config c;
    wisp_transport half;
    const char *bad_hosts[] = {"", "pro xy", "proxy\r\n", "[::1]", "pr\x7fxy", "pr\xc3\xa9xy",
                               long_host};
    size_t i;

    memset(long_host, 'a', WISP_HOST_CAP);
    assert_int_equal(wisp_proxy_init(NULL, &e->cfg, &e->inner, &e->tr), WISP_ERR_ARG);
    assert_int_equal(wisp_proxy_init(&e->proxy, NULL, &e->inner, &e->tr), WISP_ERR_ARG);
    assert_int_equal(wisp_proxy_init(&e->proxy, &e->cfg, NULL, &e->tr), WISP_ERR_ARG);
    assert_int_equal(wisp_proxy_init(&e->proxy, &e->cfg, &e->inner, NULL), WISP_ERR_ARG);
    assert_int_equal(wisp_proxy_init(&e->proxy, &e->cfg, &e->inner, &e->inner), WISP_ERR_ARG);
    half = e->inner;
    half.recv = NULL;
    assert_int_equal(wisp_proxy_init(&e->proxy, &e->cfg, &half, &e->tr), WISP_ERR_ARG);

    for (i = 0; i < sizeof bad_hosts / sizeof bad_hosts[0]; i++) {
        c = e->cfg;
        c.host = bad_hosts[i];
        assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_ERR_ARG);
    }
    c = e->cfg;
    c.host = NULL;
    assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_ERR_ARG);
    c = e->cfg;
    c.port = 0;
    assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_ERR_ARG);
    c = e->cfg;
    c.mode = (wisp_proxy_mode)7;
    assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_ERR_ARG);

    /* Credentials: RFC 7617's rules, and never in forward mode. */
    c = e->cfg;
    c.user = "us:er";
    assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_ERR_ARG);
    c.user = "user\r\nX-Injected: 1";
    assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_ERR_ARG);
    c.user = "user";
    c.password = "pa\nss";
    assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_ERR_ARG);
    c.user = NULL;
    c.password = "secret"; /* a password without a user */
    assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_ERR_ARG);
    c.user = "user";
    c.mode = WISP_PROXY_FORWARD;
    assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_ERR_ARG);

    /* IPv6 literals, a name of the longest length, and UTF-8 in a password. */
    c = e->cfg;
    c.host = "::1";
    assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_OK);
    long_host[WISP_HOST_CAP - 1] = '\0';
    c.host = long_host;
    assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_OK);
    c.user = "user";
    c.password = "p\xc3\xa4ss:word";
    assert_int_equal(wisp_proxy_init(&e->proxy, &c, &e->inner, &e->tr), WISP_OK);
}

static void test_connect_refuses_bad_hosts(void **state)
{
    env *e = *state;
    init_proxy(e);
    assert_int_equal(e->tr.connect(e->tr.ctx, NULL, 443, 1000), WISP_ERR_ARG);
    assert_int_equal(e->tr.connect(e->tr.ctx, "", 443, 1000), WISP_ERR_ARG);
    assert_int_equal(e->tr.connect(e->tr.ctx, "a.example\r\nX: y", 443, 1000), WISP_ERR_ARG);
    assert_int_equal(e->tr.connect(e->tr.ctx, "[::1]", 443, 1000), WISP_ERR_ARG);
    assert_int_equal(e->tr.connect(e->tr.ctx, "a b", 443, 1000), WISP_ERR_ARG);
    assert_int_equal(e->in.fake.connects, 0); /* refused before the network */
}

/* ---- the request ------------------------------------------------------------------------- */

static const char OK_200[] = "HTTP/1.1 200 Connection established\r\n\r\n";
/* What Debian's tinyproxy 1.11 answers. */
static const char TINYPROXY_200[] =
    "HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n";

static void test_connect_request_bytes(void **state)
{
    env *e = *state;
    static const char want[] = "CONNECT api.example.com:443 HTTP/1.1\r\n"
                               "Host: api.example.com:443\r\n"
                               "\r\n";
    init_proxy(e);
    fake_add(&e->in.fake, OK_200, sizeof OK_200 - 1, END_KEEP);
    assert_int_equal(connect_origin(e), WISP_OK);
    assert_string_equal(e->in.host, "proxy.test");
    assert_int_equal(e->in.port, 3128);
    assert_int_equal(e->in.fake.sent_len, sizeof want - 1);
    assert_memory_equal(e->in.fake.sent, want, sizeof want - 1);
    assert_int_equal(e->proxy.status, 200);
    assert_int_equal(e->proxy.tunnels, 1);
    assert_string_equal(last_error(e), ""); /* the inner transport's: nothing to say */
}

static void test_connect_request_with_credentials(void **state)
{
    env *e = *state;
    /* RFC 7617's example: Aladdin / open sesame. */
    static const char want[] = "CONNECT api.example.com:443 HTTP/1.1\r\n"
                               "Host: api.example.com:443\r\n"
                               "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
                               "\r\n";
    size_t i;
    e->cfg.user = "Aladdin";
    e->cfg.password = "open sesame";
    init_proxy(e);
    fake_add(&e->in.fake, OK_200, sizeof OK_200 - 1, END_KEEP);
    assert_int_equal(connect_origin(e), WISP_OK);
    assert_int_equal(e->in.fake.sent_len, sizeof want - 1);
    assert_memory_equal(e->in.fake.sent, want, sizeof want - 1);
    /* Nothing of the credentials stays in the proxy's buffer. */
    for (i = 0; i + 4 <= sizeof e->proxy.buf; i++) {
        assert_false(memcmp(e->proxy.buf + i, "QWxh", 4) == 0);
    }
}

static void test_connect_request_ipv6_and_user_without_password(void **state)
{
    env *e = *state;
    /* base64("u:") = "dTo=" */
    static const char want[] = "CONNECT [2001:db8::1]:8443 HTTP/1.1\r\n"
                               "Host: [2001:db8::1]:8443\r\n"
                               "Proxy-Authorization: Basic dTo=\r\n"
                               "\r\n";
    e->cfg.user = "u";
    init_proxy(e);
    fake_add(&e->in.fake, OK_200, sizeof OK_200 - 1, END_KEEP);
    assert_int_equal(e->tr.connect(e->tr.ctx, "2001:db8::1", 8443, 1000), WISP_OK);
    assert_int_equal(e->in.fake.sent_len, sizeof want - 1);
    assert_memory_equal(e->in.fake.sent, want, sizeof want - 1);
}

/* A request far longer than the buffer, through an inner transport that
 * takes 7 bytes at a time, comes out whole. */
static void test_long_request_in_pieces(void **state)
{
    env *e = *state;
    static char host[WISP_HOST_CAP - 1];
    static char password[2000];
    static char basic[WISP_PROXY_BASIC_SIZE(4, sizeof password - 1)];
    static char want[4096];
    int n;
    memset(host, 'h', sizeof host - 1);
    memset(password, 'p', sizeof password - 1);
    assert_int_equal(wisp_proxy_basic("user", password, basic, sizeof basic), WISP_OK);
    n = snprintf(want, sizeof want,
                 "CONNECT %s:65535 HTTP/1.1\r\nHost: %s:65535\r\nProxy-Authorization: %s\r\n\r\n",
                 host, host, basic);
    assert_true(n > 0 && (size_t)n < sizeof want);
    e->cfg.user = "user";
    e->cfg.password = password;
    init_proxy(e);
    e->in.fake.send_max = 7;
    fake_add(&e->in.fake, OK_200, sizeof OK_200 - 1, END_KEEP);
    assert_int_equal(e->tr.connect(e->tr.ctx, host, 65535, 1000), WISP_OK);
    assert_int_equal(e->in.fake.sent_len, (size_t)n);
    assert_memory_equal(e->in.fake.sent, want, (size_t)n);
}

/* ---- answers ------------------------------------------------------------------------------ */

/* Plays one answer at every split; returns connect's status (the same for
 * each split, or the test fails). */
static wisp_status play(env *e, const char *answer, size_t len, fake_end end)
{
    wisp_status first = WISP_OK;
    size_t i;
    for (i = 0; i < SPLIT_COUNT; i++) {
        wisp_status st;
        rescript(e, k_splits[i]);
        init_proxy(e);
        fake_add(&e->in.fake, answer, len, end);
        st = connect_origin(e);
        if (i == 0) {
            first = st;
        }
        assert_int_equal(st, first);
    }
    return first;
}

static void test_accepted_answers(void **state)
{
    env *e = *state;
    static const char *const answers[] = {
        "HTTP/1.1 200 Connection established\r\n\r\n",
        "HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n",
        "HTTP/1.1 200\r\n\r\n",
        "HTTP/1.1 200 \r\n\r\n",
        "HTTP/1.1 200 OK\n\n", /* bare LF */
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 204 No Content\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nVia: 1.1 p\r\n\r\n",
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 r\xc3\xa9ussi\t(ok)\r\nX-Long: \t tab \x80\xff obs-text\r\n\r\n",
    };
    size_t i;
    for (i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        assert_int_equal(play(e, answers[i], strlen(answers[i]), END_KEEP), WISP_OK);
        assert_true(e->proxy.status >= 200 && e->proxy.status <= 299);
        assert_int_equal(e->proxy.tunnels, 1);
        assert_string_equal(last_error(e), "");
    }
}

/* Bytes after a 2xx head are the tunnel's: recv gives them first, in the
 * caller's pieces, then the inner transport's. */
static void test_tunnel_bytes_after_head(void **state)
{
    env *e = *state;
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nHELLO, tunnel";
    size_t i;
    for (i = 0; i < SPLIT_COUNT; i++) {
        char got_all[64];
        size_t have = 0;
        rescript(e, k_splits[i]);
        init_proxy(e);
        fake_add(&e->in.fake, answer, sizeof answer - 1, END_CLOSE);
        assert_int_equal(connect_origin(e), WISP_OK);
        for (;;) {
            uint8_t piece[3];
            size_t got = 0;
            assert_int_equal(e->tr.recv(e->tr.ctx, piece, sizeof piece, &got, 100), WISP_OK);
            if (got == 0) {
                break; /* the end of stream, after every byte */
            }
            assert_true(have + got < sizeof got_all);
            memcpy(got_all + have, piece, got);
            have += got;
        }
        assert_int_equal(have, strlen("HELLO, tunnel"));
        assert_memory_equal(got_all, "HELLO, tunnel", have);
    }
}

/* Two pieces, cut at every byte: the head ends where it ends, whatever
 * came with it is the tunnel's, and a refusal is the same refusal. */
static void test_every_two_piece_split(void **state)
{
    env *e = *state;
    static const char ok[] = "HTTP/1.0 200 Connection established\r\n"
                             "Proxy-agent: tinyproxy/1.11.1\r\n\r\nTUNNEL";
    static const char refused[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                                  "Proxy-Authenticate: Basic realm=\"tinyproxy\"\r\n\r\n";
    size_t k;
    for (k = 1; k < sizeof ok - 1; k++) {
        char got_all[16];
        size_t have = 0;
        rescript(e, SPLIT_WHOLE);
        init_proxy(e);
        e->in.first_cap = k;
        fake_add(&e->in.fake, ok, sizeof ok - 1, END_CLOSE);
        assert_int_equal(connect_origin(e), WISP_OK);
        for (;;) {
            size_t got = 0;
            assert_int_equal(e->tr.recv(e->tr.ctx, (uint8_t *)got_all + have,
                                        sizeof got_all - have, &got, 100),
                             WISP_OK);
            if (got == 0) {
                break;
            }
            have += got;
        }
        assert_int_equal(have, 6);
        assert_memory_equal(got_all, "TUNNEL", 6);
    }
    for (k = 1; k < sizeof refused - 1; k++) {
        rescript(e, SPLIT_WHOLE);
        init_proxy(e);
        e->in.first_cap = k;
        fake_add(&e->in.fake, refused, sizeof refused - 1, END_CLOSE);
        assert_int_equal(connect_origin(e), WISP_ERR_PROXY);
        assert_int_equal(e->proxy.status, 407);
        assert_string_equal(last_error(e), "HTTP/1.1 407 Proxy Authentication Required");
    }
}

static void test_refusals_keep_the_status_line(void **state)
{
    env *e = *state;
    static const struct {
        const char *answer;
        int status;
        const char *detail;
    } cases[] = {
        {"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
         "realm=\"p\"\r\nContent-Length: 5\r\n\r\nnope!",
         407, "HTTP/1.1 407 Proxy Authentication Required"},
        {"HTTP/1.0 403 Access violation\r\n\r\n", 403, "HTTP/1.0 403 Access violation"},
        {"HTTP/1.1 502 Bad Gateway\r\n\r\n", 502, "HTTP/1.1 502 Bad Gateway"},
        {"HTTP/1.1 503\r\n\r\n", 503, "HTTP/1.1 503"},
        {"HTTP/1.1 404 Not Found\n\n", 404, "HTTP/1.1 404 Not Found"},
        {"HTTP/1.1 301 Moved\r\nLocation: x\r\n\r\n", 301, "HTTP/1.1 301 Moved"},
        {"HTTP/1.1 101 Switching Protocols\r\n\r\n", 101, "HTTP/1.1 101 Switching Protocols"},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 407 Who\r\n\r\n", 407, "HTTP/1.1 407 Who"},
        {"HTTP/1.1 502 caf\xc3\xa9\t!\r\n\r\n", 502, "HTTP/1.1 502 caf???" "!"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(play(e, cases[i].answer, strlen(cases[i].answer), END_CLOSE),
                         WISP_ERR_PROXY);
        assert_int_equal(e->proxy.status, cases[i].status);
        assert_string_equal(last_error(e), cases[i].detail);
        assert_int_equal(e->proxy.tunnels, 0);
        assert_false(e->in.fake.open); /* closed after a refusal */
    }
}

/* A long reason phrase is cut to fit last_error's buffer, and to the
 * caller's cap. */
static void test_long_status_line_cut(void **state)
{
    env *e = *state;
    static char answer[1024];
    char small[16];
    size_t n;
    memcpy(answer, "HTTP/1.1 407 ", 13);
    memset(answer + 13, 'R', 900);
    memcpy(answer + 913, "\r\n\r\n", 5);
    assert_int_equal(play(e, answer, strlen(answer), END_CLOSE), WISP_ERR_PROXY);
    n = strlen(last_error(e));
    assert_int_equal(n, WISP_TLS_DETAIL_CAP - 1);
    assert_memory_equal(last_error(e), answer, n);
    assert_int_equal(e->tr.last_error(e->tr.ctx, small, sizeof small), 0);
    assert_string_equal(small, "HTTP/1.1 407 RR");
}

static void test_malformed_answers(void **state)
{
    env *e = *state;
#define ANSWER(text) text, sizeof text - 1
    static const struct {
        const char *answer;
        size_t len;
        const char *detail_start;
    } cases[] = {
        {ANSWER("garbage\r\n"), "not an HTTP answer from the proxy: g"},
        {ANSWER("\x05\xff"), "not an HTTP answer from the proxy: ?"}, /* a SOCKS5 server */
        {ANSWER("SSH-2.0-OpenSSH_9.2\r\n"), "not an HTTP answer from the proxy: S"},
        {ANSWER("\x16\x03\x01\x00"), "not an HTTP answer from the proxy: ?"}, /* TLS */
        {ANSWER("HTTP/2 200\r\n\r\n"), "not an HTTP answer from the proxy: HTTP/2"},
        {ANSWER("HTTP/1.1 20\r\n\r\n"), "not an HTTP answer from the proxy: HTTP/1.1 20"},
        {ANSWER("HTTP/1.1 2000 OK\r\n\r\n"), "not an HTTP answer from the proxy: HTTP/1.1 2000"},
        {ANSWER("HTTP/1.1  200 OK\r\n\r\n"), "not an HTTP answer from the proxy: HTTP/1.1  "},
        {ANSWER("http/1.1 200 OK\r\n\r\n"), "not an HTTP answer from the proxy: h"},
        {ANSWER("HTTP/1.1 407 r\x1b[31m\r\n\r\n"), "not an HTTP answer from the proxy: HTTP/1.1 407 r?"},
        {ANSWER("\r\n"), "not an HTTP answer from the proxy: "},
        {ANSWER("HTTP/1.1 200 OK\rX\n\r\n"),
         "malformed answer from the proxy (CR without LF): HTTP/1.1 200 OK"},
        {ANSWER("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"),
         "malformed answer from the proxy (CR without LF): HTTP/1.1 200 OK"},
        {ANSWER("HTTP/1.1 200 OK\r\n\r\r"), "malformed answer from the proxy (CR without LF)"},
        {ANSWER("HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n"),
         "malformed header line from the proxy after: HTTP/1.1 200 OK"},
        {ANSWER("HTTP/1.1 200 OK\r\nX: 1\r\n\0\r\n\r\n"), "malformed header line"},
    };
#undef ANSWER
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *d;
        assert_int_equal(play(e, cases[i].answer, cases[i].len, END_CLOSE), WISP_ERR_PROXY);
        d = last_error(e);
        if (strncmp(d, cases[i].detail_start, strlen(cases[i].detail_start)) != 0) {
            fail_msg("case %u: detail \"%s\", want \"%s...\"", (unsigned)i, d,
                     cases[i].detail_start);
        }
        assert_int_equal(e->proxy.tunnels, 0);
        assert_false(e->in.fake.open);
    }
}

/* A peer that is not an HTTP proxy fails at its first odd byte: one read,
 * even one byte at a time, and no waiting for more. */
static void test_not_http_fails_at_first_byte(void **state)
{
    env *e = *state;
    rescript(e, SPLIT_BYTES);
    init_proxy(e);
    fake_add(&e->in.fake, "\x05\x00 and much more", 17, END_KEEP);
    assert_int_equal(connect_origin(e), WISP_ERR_PROXY);
    assert_int_equal(e->in.fake.recv_calls, 1);

    /* What came with the first odd byte is shown, up to the line's end. */
    rescript(e, SPLIT_WHOLE);
    fake_add(&e->in.fake, "SSH-2.0-OpenSSH_9.2\r\nmore", 26, END_KEEP);
    assert_int_equal(connect_origin(e), WISP_ERR_PROXY);
    assert_string_equal(last_error(e), "not an HTTP answer from the proxy: SSH-2.0-OpenSSH_9.2");
}

/* A head of WISP_PROXY_MAX_HEAD_BYTES is read; one byte more is not. */
static void test_head_too_long(void **state)
{
    env *e = *state;
    static char answer[WISP_PROXY_MAX_HEAD_BYTES + 1];
    size_t filler;
    for (filler = WISP_PROXY_MAX_HEAD_BYTES - 24; filler <= WISP_PROXY_MAX_HEAD_BYTES - 23;
         filler++) {
        size_t n = 0;
        memcpy(answer, "HTTP/1.1 200 OK\r\nX: ", 20);
        n = 20;
        memset(answer + n, 'v', filler);
        n += filler;
        memcpy(answer + n, "\r\n\r\n", 4);
        n += 4;
        if (filler == WISP_PROXY_MAX_HEAD_BYTES - 24) {
            assert_int_equal(n, WISP_PROXY_MAX_HEAD_BYTES);
            assert_int_equal(play(e, answer, n, END_KEEP), WISP_OK);
        } else {
            assert_int_equal(play(e, answer, n, END_KEEP), WISP_ERR_PROXY);
            assert_string_equal(last_error(e),
                                "the proxy's answer head is too long: HTTP/1.1 200 OK");
        }
    }
}

static void test_closed_or_reset_before_answer(void **state)
{
    env *e = *state;
    /* Closed at once. */
    assert_int_equal(play(e, "", 0, END_CLOSE), WISP_ERR_PROXY);
    assert_string_equal(last_error(e),
                        "the proxy closed the connection without answering CONNECT");
    /* Closed in the middle of the status line, then of the head. */
    assert_int_equal(play(e, "HTTP/1.1 2", 10, END_CLOSE), WISP_ERR_PROXY);
    assert_string_equal(last_error(e), "the proxy closed the connection in its answer: HTTP/1.1 2");
    assert_int_equal(play(e, "HTTP/1.1 200 OK\r\nVia: x\r\n", 25, END_CLOSE), WISP_ERR_PROXY);
    assert_string_equal(last_error(e),
                        "the proxy closed the connection in its answer: HTTP/1.1 200 OK");
    /* A reset is the inner transport's status, passed through. */
    assert_int_equal(play(e, "HTTP/1.1 20", 11, END_RESET), WISP_ERR_CLOSED);
    assert_string_equal(last_error(e),
                        "the connection to the proxy failed while waiting for its answer");
}

static void test_no_answer_times_out(void **state)
{
    env *e = *state;
    /* The proxy takes the connection and says nothing (or half a line). */
    assert_int_equal(play(e, "", 0, END_KEEP), WISP_ERR_TIMEOUT);
    assert_string_equal(last_error(e), "no answer from the proxy to CONNECT within the timeout");
    assert_int_equal(play(e, "HTTP/1.1 200 OK\r\n", 17, END_KEEP), WISP_ERR_TIMEOUT);
    assert_false(e->in.fake.open);
}

/* With a clock: one deadline from the TCP connect to the end of the head;
 * each inner call gets what is left, and none runs once it is spent. */
static void test_one_deadline_with_clock(void **state)
{
    env *e = *state;
    size_t i;
    e->cfg.now_ms = shim_now;
    e->cfg.now_ctx = &e->in;
    init_proxy(e);
    e->in.fake.split = SPLIT_BYTES;
    e->in.step = 100;
    fake_add(&e->in.fake, OK_200, sizeof OK_200 - 1, END_KEEP);
    assert_int_equal(e->tr.connect(e->tr.ctx, "a.example", 443, 1000), WISP_ERR_TIMEOUT);
    assert_int_equal(e->in.connect_timeout, 1000);
    /* connect took 100 ms: the send gets 900, each read 100 less. */
    assert_int_equal(e->in.calls, 9);
    for (i = 0; i < e->in.calls; i++) {
        assert_int_equal(e->in.timeouts[i], 900 - 100 * i);
    }
    assert_string_equal(last_error(e), "no answer from the proxy to CONNECT within the timeout");

    /* Time enough: the same answer gets through. */
    rescript(e, SPLIT_BYTES);
    e->in.step = 1;
    fake_add(&e->in.fake, OK_200, sizeof OK_200 - 1, END_KEEP);
    assert_int_equal(e->tr.connect(e->tr.ctx, "a.example", 443, 1000), WISP_OK);
    assert_int_equal(e->in.timeouts[e->in.calls - 1], 1000 - e->in.calls);
}

/* Without a clock each inner call gets connect's whole timeout. */
static void test_no_clock_each_call_whole_timeout(void **state)
{
    env *e = *state;
    size_t i;
    init_proxy(e);
    e->in.fake.split = SPLIT_BYTES;
    fake_add(&e->in.fake, OK_200, sizeof OK_200 - 1, END_KEEP);
    assert_int_equal(e->tr.connect(e->tr.ctx, "a.example", 443, 777), WISP_OK);
    assert_int_equal(e->in.calls, 1 + (sizeof OK_200 - 1));
    for (i = 0; i < e->in.calls; i++) {
        assert_int_equal(e->in.timeouts[i], 777);
    }
}

static void test_inner_connect_failure_passes_through(void **state)
{
    env *e = *state;
    init_proxy(e);
    e->in.fake.connect_failures = 1;
    e->in.fake.connect_status = WISP_ERR_CONNECT;
    assert_int_equal(connect_origin(e), WISP_ERR_CONNECT);
    assert_string_equal(last_error(e), "connecting to the proxy failed");
    e->in.fake.connect_failures = 1;
    e->in.fake.connect_status = WISP_ERR_DNS;
    e->in.has_detail = true;
    assert_int_equal(connect_origin(e), WISP_ERR_DNS);
    assert_string_equal(last_error(e), "connecting to the proxy: the inner transport's reason");
    assert_int_equal(e->in.fake.sent_len, 0);
}

/* After a good connect last_error is the inner transport's again. */
static void test_last_error_forwards_when_clean(void **state)
{
    env *e = *state;
    init_proxy(e);
    e->in.has_detail = true;
    fake_add(&e->in.fake, "HTTP/1.1 407 No\r\n\r\n", 19, END_CLOSE);
    assert_int_equal(connect_origin(e), WISP_ERR_PROXY);
    assert_string_equal(last_error(e), "HTTP/1.1 407 No");
    fake_add(&e->in.fake, OK_200, sizeof OK_200 - 1, END_KEEP);
    assert_int_equal(connect_origin(e), WISP_OK);
    assert_string_equal(last_error(e), "the inner transport's reason");
}

static void test_reconnect_and_close(void **state)
{
    env *e = *state;
    uint8_t b[8];
    size_t got = 9;
    init_proxy(e);
    fake_add(&e->in.fake, "HTTP/1.1 200 OK\r\n\r\nxyz", 22, END_KEEP);
    fake_add(&e->in.fake, OK_200, sizeof OK_200 - 1, END_KEEP);
    assert_int_equal(connect_origin(e), WISP_OK);
    /* A second connect closes the first tunnel (its unread bytes go with
     * it) and asks again. */
    assert_int_equal(e->tr.connect(e->tr.ctx, "b.example", 443, 1000), WISP_OK);
    assert_int_equal(e->in.fake.connects, 2);
    assert_int_equal(e->proxy.tunnels, 2);
    assert_non_null(strstr((const char *)e->in.fake.sent, "CONNECT b.example:443"));
    assert_int_equal(e->tr.recv(e->tr.ctx, b, sizeof b, &got, 0), WISP_ERR_TIMEOUT);
    e->tr.close(e->tr.ctx);
    assert_false(e->in.fake.open);
    e->tr.close(e->tr.ctx); /* twice is fine */
    assert_int_equal(e->tr.recv(e->tr.ctx, b, sizeof b, &got, 0), WISP_ERR_CLOSED);
}

/* Forward mode: connect goes to the proxy and sends nothing. */
static void test_forward_mode_passes_through(void **state)
{
    env *e = *state;
    size_t sent = 0, got = 0;
    uint8_t b[16];
    e->cfg.mode = WISP_PROXY_FORWARD;
    init_proxy(e);
    fake_add(&e->in.fake, "answer", 6, END_CLOSE);
    assert_int_equal(e->tr.connect(e->tr.ctx, "api.example.com", 80, 1000), WISP_OK);
    assert_string_equal(e->in.host, "proxy.test");
    assert_int_equal(e->in.port, 3128);
    assert_int_equal(e->in.fake.sent_len, 0);
    assert_int_equal(e->tr.send(e->tr.ctx, (const uint8_t *)"GET", 3, &sent, 1000), WISP_OK);
    assert_int_equal(sent, 3);
    assert_int_equal(e->tr.recv(e->tr.ctx, b, sizeof b, &got, 1000), WISP_OK);
    assert_int_equal(got, 6);
    assert_memory_equal(b, "answer", 6);
    assert_int_equal(e->proxy.tunnels, 0);
}

/* ---- the client through the proxy ------------------------------------------------------------ */

static const char SSE_BODY[] =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"po\"}}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"ng\"},\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]\n\n";

typedef struct chat_env {
    wisp_client client;
    wisp_config cfg;
    uint8_t work[4096];
    wisp_token tokens[64];
    wisp_message msg;
    wisp_request req;
    char content[256];
    wisp_response resp;
    char reply[1024];
} chat_env;

/* The server's streamed "pong", into c->reply; returns its length. */
static size_t make_reply(chat_env *c)
{
    snprintf(c->reply, sizeof c->reply,
             "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %u\r\n\r\n%s",
             (unsigned)strlen(SSE_BODY), SSE_BODY);
    return strlen(c->reply);
}

/* One streamed chat over e->tr, or over c->cfg.transport when set. */
static wisp_status chat_through(env *e, chat_env *c, const char *base_url)
{
    wisp_status st;
    c->cfg.base_url = base_url;
    c->cfg.api_key = "test-key-not-real";
    if (c->cfg.transport == NULL) {
        c->cfg.transport = &e->tr;
    }
    c->msg.role = WISP_ROLE_USER;
    c->msg.content = "ping";
    c->req.model = "m";
    c->req.messages = &c->msg;
    c->req.message_count = 1;
    c->req.stream = true;
    wisp_response_init(&c->resp, c->content, sizeof c->content, NULL, 0);
    st = wisp_client_init(&c->client, &c->cfg, c->work, sizeof c->work, c->tokens,
                          sizeof c->tokens / sizeof c->tokens[0]);
    assert_int_equal(st, WISP_OK);
    st = wisp_chat(&c->client, &c->req, &c->resp, NULL, NULL);
    wisp_client_close(&c->client);
    return st;
}

static void test_client_through_tunnel(void **state)
{
    env *e = *state;
    static chat_env c;
    static const char want_head[] = "CONNECT api.example.com:8080 HTTP/1.1\r\n"
                                    "Host: api.example.com:8080\r\n"
                                    "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n"
                                    "POST /v1/chat/completions HTTP/1.1\r\n"
                                    "Host: api.example.com:8080\r\n";
    size_t i;
    e->cfg.user = "user";
    e->cfg.password = "pass";
    for (i = 0; i < SPLIT_COUNT; i++) {
        memset(&c, 0, sizeof c);
        rescript(e, k_splits[i]);
        init_proxy(e);
        fake_add(&e->in.fake, TINYPROXY_200, sizeof TINYPROXY_200 - 1, END_KEEP);
        fake_add(&e->in.fake, c.reply, make_reply(&c), END_CLOSE);
        assert_int_equal(chat_through(e, &c, "http://api.example.com:8080/v1"), WISP_OK);
        assert_string_equal(c.content, "pong");
        assert_true(e->in.fake.sent_len > sizeof want_head);
        assert_memory_equal(e->in.fake.sent, want_head, sizeof want_head - 1);
        assert_string_equal(e->in.host, "proxy.test");
    }
}

static void test_client_gets_the_refusal(void **state)
{
    env *e = *state;
    static chat_env c;
    static const char answer[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                                 "Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n";
    e->cfg.user = "user";
    e->cfg.password = "wrong-password";
    init_proxy(e);
    memset(&c, 0, sizeof c);
    fake_add(&e->in.fake, answer, sizeof answer - 1, END_CLOSE);
    fake_add(&e->in.fake, answer, sizeof answer - 1, END_CLOSE);
    fake_add(&e->in.fake, answer, sizeof answer - 1, END_CLOSE);
    assert_int_equal(chat_through(e, &c, "http://api.example.com/v1"), WISP_ERR_PROXY);
    assert_string_equal(c.resp.tls_detail, "HTTP/1.1 407 Proxy Authentication Required");
    assert_int_equal(c.resp.attempts, 1); /* a refusal is not retried */
    assert_int_equal(e->in.fake.connects, 1);
    assert_null(strstr(c.resp.tls_detail, "wrong-password"));
}

/* Forward mode: absolute form from the client, credentials as a header. */
static void test_client_forward_mode(void **state)
{
    env *e = *state;
    static chat_env c;
    static const char want_head[] = "POST http://api.example.com:8080/v1/chat/completions HTTP/1.1\r\n"
                                    "Host: api.example.com:8080\r\n";
    char basic[WISP_PROXY_BASIC_SIZE(4, 4)];
    wisp_header h;
    assert_int_equal(wisp_proxy_basic("user", "pass", basic, sizeof basic), WISP_OK);
    h.name = "Proxy-Authorization";
    h.value = basic;
    e->cfg.mode = WISP_PROXY_FORWARD;
    init_proxy(e);
    memset(&c, 0, sizeof c);
    c.cfg.absolute_form = true;
    c.cfg.headers = &h;
    c.cfg.header_count = 1;
    fake_add(&e->in.fake, c.reply, make_reply(&c), END_CLOSE);
    assert_int_equal(chat_through(e, &c, "http://api.example.com:8080/v1"), WISP_OK);
    assert_string_equal(c.content, "pong");
    assert_memory_equal(e->in.fake.sent, want_head, sizeof want_head - 1);
    assert_non_null(strstr((const char *)e->in.fake.sent,
                           "\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n"));
    assert_string_equal(e->in.host, "proxy.test");
}

/* TLS over the proxy: the proxy's refusal reaches the client's response
 * through wisp_tls's last_error (nothing of TLS ran). */
static void test_tls_passes_the_refusal_on(void **state)
{
    env *e = *state;
    static chat_env c;
    static wisp_tls tls;
    wisp_tls_config tc;
    wisp_transport secure;
    static const char answer[] = "HTTP/1.1 403 Forbidden by rule\r\n\r\n";
    init_proxy(e);
    fake_add(&e->in.fake, answer, sizeof answer - 1, END_CLOSE);
    memset(&tc, 0, sizeof tc);
    tc.skip_verification_insecure = true; /* no CA to parse: never reached */
    memset(&secure, 0, sizeof secure);
    assert_int_equal(wisp_tls_init(&tls, &tc, &e->tr, &secure), WISP_OK);
    memset(&c, 0, sizeof c);
    c.cfg.transport = &secure;
    assert_int_equal(chat_through(e, &c, "https://api.example.com/v1"), WISP_ERR_PROXY);
    assert_string_equal(c.resp.tls_detail, "HTTP/1.1 403 Forbidden by rule");
    assert_int_equal(c.resp.tls_error, 0);
    assert_memory_equal(e->in.fake.sent, "CONNECT api.example.com:443 HTTP/1.1\r\n", 38);
    wisp_tls_free(&tls);
}

/* Mutated answers (bytes flipped, dropped, doubled, cut) never crash the
 * reader, and whole, byte by byte and at random splits give the same
 * status, the same code and the same tunnel bytes. */
static void test_mutated_answers_split_invariant(void **state)
{
    env *e = *state;
    static const char *const seeds[] = {
        TINYPROXY_200,
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\nX: y\n\ntunnel",
        "HTTP/1.0 502 Bad Gateway\r\n\r\n",
    };
    uint32_t rng = 12345;
    int round;
    for (round = 0; round < 3000; round++) {
        char answer[160];
        const char *seed = seeds[round % 4];
        size_t len = strlen(seed), edits, i;
        wisp_status first = WISP_OK;
        int first_code = 0;
        uint8_t first_tail[32];
        size_t first_tail_len = 0;
        memcpy(answer, seed, len);
        rng = rng * 1103515245u + 12345u;
        edits = 1 + (rng >> 16) % 3u;
        for (i = 0; i < edits && len > 0; i++) {
            size_t at;
            rng = rng * 1103515245u + 12345u;
            at = (rng >> 16) % len;
            switch ((rng >> 8) % 4u) {
            case 0: /* flip a byte */
                answer[at] = (char)(rng >> 24);
                break;
            case 1: /* drop it */
                memmove(answer + at, answer + at + 1, len - at - 1);
                len--;
                break;
            case 2: /* double it */
                if (len + 1 < sizeof answer) {
                    memmove(answer + at + 1, answer + at, len - at);
                    len++;
                }
                break;
            default: /* cut the answer there */
                len = at;
                break;
            }
        }
        for (i = 0; i < SPLIT_COUNT; i++) {
            uint8_t tail[32];
            size_t tail_len = 0, got = 0;
            wisp_status st;
            rescript(e, k_splits[i]);
            e->in.fake.seed = (uint32_t)round;
            init_proxy(e);
            fake_add(&e->in.fake, answer, len, END_CLOSE);
            st = connect_origin(e);
            while (st == WISP_OK && tail_len < sizeof tail &&
                   e->tr.recv(e->tr.ctx, tail + tail_len, sizeof tail - tail_len, &got, 0) ==
                       WISP_OK &&
                   got > 0) {
                tail_len += got;
            }
            if (i == 0) {
                first = st;
                first_code = e->proxy.status;
                memcpy(first_tail, tail, tail_len);
                first_tail_len = tail_len;
            } else {
                assert_int_equal(st, first);
                assert_int_equal(e->proxy.status, first_code);
                assert_int_equal(tail_len, first_tail_len);
                assert_memory_equal(tail, first_tail, tail_len);
            }
            assert_true(strlen(last_error(e)) < WISP_TLS_DETAIL_CAP);
        }
    }
}

/* ---- Basic credentials ---------------------------------------------------------------------- */

static void test_basic_values(void **state)
{
    static const struct {
        const char *user, *password, *want;
    } cases[] = {
        {"Aladdin", "open sesame", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}, /* RFC 7617 2. */
        {"test", "123\xc2\xa3", "Basic dGVzdDoxMjPCow=="},                /* RFC 7617 2.1 */
        {"", "", "Basic Og=="},
        {"a", "", "Basic YTo="},
        {"ab", "", "Basic YWI6"},
        {"abc", NULL, "Basic YWJjOg=="},
        {"user", "pa:ss", "Basic dXNlcjpwYTpzcw=="},
        {"\xff\xfe", "~~~", "Basic //46fn5+"},
    };
    char out[64];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t need = WISP_PROXY_BASIC_SIZE(strlen(cases[i].user),
                                            cases[i].password ? strlen(cases[i].password) : 0);
        assert_int_equal(wisp_proxy_basic(cases[i].user, cases[i].password, out, sizeof out),
                         WISP_OK);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(need, strlen(cases[i].want) + 1);
        /* The exact size is enough; one less is not, and leaves "". */
        assert_int_equal(wisp_proxy_basic(cases[i].user, cases[i].password, out, need), WISP_OK);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(wisp_proxy_basic(cases[i].user, cases[i].password, out, need - 1),
                         WISP_ERR_TOO_LARGE);
        assert_string_equal(out, "");
    }
}

static void test_basic_refusals(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(wisp_proxy_basic(NULL, "p", out, sizeof out), WISP_ERR_ARG);
    assert_int_equal(wisp_proxy_basic("u", "p", NULL, 10), WISP_ERR_ARG);
    assert_int_equal(wisp_proxy_basic("u", "p", out, 0), WISP_ERR_ARG);
    strcpy(out, "x");
    assert_int_equal(wisp_proxy_basic("u:v", "p", out, sizeof out), WISP_ERR_ARG);
    assert_string_equal(out, "");
    assert_int_equal(wisp_proxy_basic("u", "p\r\n", out, sizeof out), WISP_ERR_ARG);
    assert_int_equal(wisp_proxy_basic("u\x7f", "p", out, sizeof out), WISP_ERR_ARG);
}

int main(void)
{
#define T(test) cmocka_unit_test_setup_teardown(test, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_init_fills_transport),
        T(test_init_refuses_bad_arguments),
        T(test_connect_refuses_bad_hosts),
        T(test_connect_request_bytes),
        T(test_connect_request_with_credentials),
        T(test_connect_request_ipv6_and_user_without_password),
        T(test_long_request_in_pieces),
        T(test_accepted_answers),
        T(test_tunnel_bytes_after_head),
        T(test_every_two_piece_split),
        T(test_refusals_keep_the_status_line),
        T(test_long_status_line_cut),
        T(test_malformed_answers),
        T(test_not_http_fails_at_first_byte),
        T(test_head_too_long),
        T(test_closed_or_reset_before_answer),
        T(test_no_answer_times_out),
        T(test_one_deadline_with_clock),
        T(test_no_clock_each_call_whole_timeout),
        T(test_inner_connect_failure_passes_through),
        T(test_last_error_forwards_when_clean),
        T(test_reconnect_and_close),
        T(test_forward_mode_passes_through),
        T(test_client_through_tunnel),
        T(test_client_gets_the_refusal),
        T(test_client_forward_mode),
        T(test_tls_passes_the_refusal_on),
        T(test_mutated_answers_split_invariant),
        cmocka_unit_test(test_basic_values),
        cmocka_unit_test(test_basic_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
