/*
 * test_http.c - unit tests for the HTTP/1.x response reader.
 *
 * Every response goes through run_all(): whole, one byte at a time, and in
 * pseudo-random splits with fixed seeds.  Each piece lives in its own
 * exactly-sized heap block, so ASan catches any read past a feed's input.
 * All ways must give the same result, which the tests then check exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "needs.h"

#include "wisp_http.h"

#define BODY_MAX 16384
#define SEEDS 24

typedef struct result {
    wisp_status status; /* WISP_OK unless feed or finish failed */
    bool done;
    int headers_events;
    size_t consumed; /* bytes the reader took, error byte included */
    int http_status;
    int minor;
    wisp_body_mode mode;
    uint64_t content_length;
    bool has_cl;
    bool keep_alive;
    bool sse;
    bool json;
    bool has_ct;
    uint32_t retry_ms;
    uint32_t idle_s;
    char request_id[WISP_REQUEST_ID_CAP];
    bool rid_cut;
    size_t body_len;
    uint8_t body[BODY_MAX];
} result;

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/*
 * Feeds `in` in pieces whose sizes come from `seed`: 0 whole, 1 byte by
 * byte, else random sizes.  Behaves like the client: feeds the rest of a
 * piece until NEED_MORE or DONE.  With close_at_end, calls finish when the
 * input ran out before DONE.
 */
static void run(const uint8_t *in, size_t len, size_t line_cap,
                bool close_at_end, uint32_t seed, result *res)
{
    uint8_t *line = malloc(line_cap != 0 ? line_cap : 1);
    wisp_http_reader r;
    wisp_http_out out;
    size_t off = 0;
    uint32_t s = seed;
    size_t max_piece = 1 + (seed % 7 == 0 ? len : seed % 13);

    assert_non_null(line);
    memset(res, 0, sizeof *res);
    wisp_http_reader_init(&r, line, line_cap);

    while (!res->done && res->status == WISP_OK && off <= len) {
        size_t n = seed == 0 ? len : seed == 1 ? 1 : 1 + rng_next(&s) % max_piece;
        uint8_t *piece, *p;
        if (n > len - off) {
            n = len - off;
        }
        piece = malloc(n != 0 ? n : 1);
        assert_non_null(piece);
        memcpy(piece, in + off, n);
        p = piece;
        for (;;) {
            size_t used = 999999;
            wisp_status st = wisp_http_feed(&r, p, n, &used, &out);
            assert_true(used <= n);
            res->consumed += used;
            if (st != WISP_OK) {
                res->status = st;
                break;
            }
            if (out.event == WISP_HTTP_BODY) {
                assert_true(out.body_len > 0);
                assert_true(out.body >= p && out.body + out.body_len <= p + used);
                assert_true(res->body_len + out.body_len <= BODY_MAX);
                memcpy(res->body + res->body_len, out.body, out.body_len);
                res->body_len += out.body_len;
            } else {
                assert_null(out.body);
                assert_int_equal(out.body_len, 0);
            }
            if (out.event == WISP_HTTP_HEADERS) {
                assert_true(used > 0);
                res->headers_events++;
                /* the caller may reuse the line buffer from here on */
                memset(line, 0xa5, line_cap);
            }
            p += used;
            n -= used;
            if (out.event == WISP_HTTP_DONE) {
                res->done = true;
                break;
            }
            if (out.event == WISP_HTTP_NEED_MORE) {
                assert_int_equal(n, 0);
                break;
            }
        }
        off += (size_t)(p - piece);
        free(piece);
        if (off == len && !res->done && res->status == WISP_OK) {
            if (close_at_end) {
                wisp_status st = wisp_http_finish(&r, &out);
                res->status = st;
                res->done = st == WISP_OK;
                if (st == WISP_OK) {
                    assert_int_equal(out.event, WISP_HTTP_DONE);
                }
            }
            break;
        }
    }

    /* Afterwards: DONE repeats without taking bytes; errors stick. */
    if (res->done) {
        size_t used = 1;
        assert_int_equal(wisp_http_feed(&r, (const uint8_t *)"x", 1, &used, &out),
                         WISP_OK);
        assert_int_equal(out.event, WISP_HTTP_DONE);
        assert_int_equal(used, 0);
        assert_int_equal(wisp_http_finish(&r, &out), WISP_OK);
        assert_int_equal(out.event, WISP_HTTP_DONE);
    } else if (res->status != WISP_OK) {
        size_t used = 1;
        assert_int_equal(wisp_http_feed(&r, (const uint8_t *)"x", 1, &used, &out),
                         res->status);
        assert_int_equal(wisp_http_feed(&r, NULL, 0, &used, &out), res->status);
        assert_int_equal(wisp_http_finish(&r, &out), res->status);
    }

    res->http_status = r.status;
    res->minor = r.minor_version;
    res->mode = r.body_mode;
    res->content_length = r.content_length;
    res->has_cl = r.has_content_length;
    res->keep_alive = r.keep_alive;
    res->sse = r.is_event_stream;
    res->json = r.is_json;
    res->has_ct = r.has_content_type;
    res->retry_ms = r.retry_after_ms;
    res->idle_s = r.keep_alive_timeout_s;
    memcpy(res->request_id, r.request_id, sizeof res->request_id);
    res->rid_cut = r.request_id_truncated;
    free(line);
}

static void assert_same(const result *a, const result *b)
{
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->done, b->done);
    assert_int_equal(a->headers_events, b->headers_events);
    assert_int_equal(a->consumed, b->consumed);
    assert_int_equal(a->http_status, b->http_status);
    assert_int_equal(a->minor, b->minor);
    assert_int_equal(a->mode, b->mode);
    assert_true(a->content_length == b->content_length);
    assert_int_equal(a->has_cl, b->has_cl);
    assert_int_equal(a->keep_alive, b->keep_alive);
    assert_int_equal(a->sse, b->sse);
    assert_int_equal(a->json, b->json);
    assert_int_equal(a->has_ct, b->has_ct);
    assert_int_equal(a->retry_ms, b->retry_ms);
    assert_int_equal(a->idle_s, b->idle_s);
    assert_string_equal(a->request_id, b->request_id);
    assert_int_equal(a->rid_cut, b->rid_cut);
    assert_int_equal(a->body_len, b->body_len);
    assert_memory_equal(a->body, b->body, a->body_len);
}

/* Runs every split; returns the (identical) result in *res. */
static void run_all(const void *in, size_t len, size_t line_cap,
                    bool close_at_end, result *res)
{
    result *other = malloc(sizeof *other);
    uint32_t seed;
    assert_non_null(other);
    run(in, len, line_cap, close_at_end, 0, res);
    for (seed = 1; seed < 1 + SEEDS; seed++) {
        run(in, len, line_cap, close_at_end, seed, other);
        assert_same(res, other);
    }
    free(other);
}

static result *R; /* shared result, allocated once per test */

#define RUN(lit, cap, close) run_all(lit, sizeof(lit) - 1, cap, close, R)
#define RUNS(str, cap, close) run_all(str, strlen(str), cap, close, R)
#define BODY_IS(lit)                                                          \
    do {                                                                      \
        assert_int_equal(R->body_len, sizeof(lit) - 1);                       \
        assert_memory_equal(R->body, lit, sizeof(lit) - 1);                   \
    } while (0)

/* A byte string that may hold NULs. */
typedef struct lit {
    const char *s;
    size_t n;
} lit;
#define L(x) { x, sizeof(x) - 1 }

/* Appends n bytes of s (or n copies of fill when s is NULL) at buf[*len]. */
static void put(char *buf, size_t *len, const char *s, size_t n, char fill)
{
    if (s != NULL) {
        memcpy(buf + *len, s, n);
    } else {
        memset(buf + *len, fill, n);
    }
    *len += n;
}
#define PUT(buf, len, str) put(buf, len, str, strlen(str), 0)

static int setup(void **state)
{
    (void)state;
    R = malloc(sizeof *R);
    return R == NULL;
}

static int teardown(void **state)
{
    (void)state;
    free(R);
    R = NULL;
    return 0;
}

/* ---- the basics ---------------------------------------------------------- */

static void test_content_length(void **state)
{
    (void)state;
    RUN("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Content-Length: 5\r\n\r\nhello",
        256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
    assert_int_equal(R->headers_events, 1);
    assert_int_equal(R->http_status, 200);
    assert_int_equal(R->minor, 1);
    assert_int_equal(R->mode, WISP_BODY_LENGTH);
    assert_true(R->content_length == 5);
    assert_true(R->has_cl);
    assert_true(R->keep_alive);
    assert_true(R->json);
    assert_false(R->sse);
    assert_true(R->has_ct);
    assert_int_equal(R->consumed, 75);
    BODY_IS("hello");
}

static void test_bytes_after_body_are_not_ours(void **state)
{
    (void)state;
    RUN("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200", 256,
        false);
    assert_true(R->done);
    assert_int_equal(R->consumed, 41);
    BODY_IS("abc");
}

/* The last BODY span is followed by DONE on the next call, len 0 allowed. */
static void test_done_after_length_with_len_zero(void **state)
{
    static const char in[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    uint8_t line[64];
    wisp_http_reader r;
    wisp_http_out out;
    size_t used;
    (void)state;
    wisp_http_reader_init(&r, line, sizeof line);
    assert_int_equal(wisp_http_feed(&r, (const uint8_t *)in, sizeof in - 1,
                                    &used, &out), WISP_OK);
    assert_int_equal(out.event, WISP_HTTP_HEADERS);
    assert_int_equal(used, sizeof in - 3);
    assert_int_equal(wisp_http_feed(&r, (const uint8_t *)in + used, 2, &used,
                                    &out), WISP_OK);
    assert_int_equal(out.event, WISP_HTTP_BODY);
    assert_int_equal(used, 2);
    assert_int_equal(out.body_len, 2);
    assert_memory_equal(out.body, "hi", 2);
    assert_int_equal(wisp_http_feed(&r, NULL, 0, &used, &out), WISP_OK);
    assert_int_equal(out.event, WISP_HTTP_DONE);
    assert_int_equal(used, 0);
}

/* No body: DONE on the call after HEADERS, with no input. */
static void test_done_after_headers_with_no_body(void **state)
{
    static const char in[] = "HTTP/1.1 204 No Content\r\n\r\n";
    uint8_t line[64];
    wisp_http_reader r;
    wisp_http_out out;
    size_t used;
    (void)state;
    wisp_http_reader_init(&r, line, sizeof line);
    assert_int_equal(wisp_http_feed(&r, (const uint8_t *)in, sizeof in - 1,
                                    &used, &out), WISP_OK);
    assert_int_equal(out.event, WISP_HTTP_HEADERS);
    assert_int_equal(used, sizeof in - 1);
    assert_int_equal(wisp_http_feed(&r, NULL, 0, &used, &out), WISP_OK);
    assert_int_equal(out.event, WISP_HTTP_DONE);
}

static void test_chunked_extensions_trailer(void **state)
{
    (void)state;
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: text/event-stream; charset=utf-8\r\n\r\n"
        "5;foo=bar\r\nhello\r\n"
        "6 ; name=\"q;u\\\"o\tte\" ;x\r\n world\r\n"
        "a\r\n0123456789\r\n"
        "00A\r\nABCDEFGHIJ\r\n"
        "000;last\r\nX-Trailer: yes\r\nServer-Timing: a;dur=1\r\n\r\n"
        "LEFTOVER",
        256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
    assert_int_equal(R->mode, WISP_BODY_CHUNKED);
    assert_true(R->sse);
    assert_false(R->json);
    assert_true(R->keep_alive);
    assert_false(R->has_cl);
    BODY_IS("hello world0123456789ABCDEFGHIJ");
}

/* DONE as soon as the final line end is in, without waiting for more. */
static void test_chunked_done_without_more_input(void **state)
{
    (void)state;
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n",
        256, false);
    assert_true(R->done);
    assert_int_equal(R->consumed, 60);
    BODY_IS("abc");
}

static void test_chunked_long_trailer_and_extension(void **state)
{
    char *in = malloc(30000);
    size_t n = 0;
    (void)state;
    assert_non_null(in);
    PUT(in, &n, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;");
    put(in, &n, NULL, 5000, 'e');
    PUT(in, &n, "\r\nok\r\n0\r\nX-Long: ");
    put(in, &n, NULL, 10000, 't');
    PUT(in, &n, "\r\n\r\n");
    run_all(in, n, 64, false, R);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
    assert_int_equal(R->consumed, n);
    BODY_IS("ok");
    free(in);
}

static void test_chunked_bad_framing(void **state)
{
    static const lit bad[] = {
        L("\r\n"),                 /* empty size line */
        L(" 5\r\nhello\r\n"),      /* whitespace before the size */
        L("5 5\r\nhello\r\n"),     /* two numbers */
        L("g\r\n"),                /* not hex */
        L("-1\r\n"),
        L("5\r\nhelloX\r\n"),      /* data not followed by a line end */
        L("5\r\nhello\r\r\n"),     /* CR CR LF */
        L("5\rX"),                 /* CR without LF */
        L("5;a\x01" "b\r\n"),      /* control byte in an extension */
        L("0\r\nX: a\x00\r\n\r\n"), /* control byte in a trailer */
        L("10000000000000000\r\n"), /* 17 hex digits */
        L("1000000000000000\r\n"),  /* 16 significant digits */
        L("FFFFFFFFFFFFFFFFF\r\n"), /* would overflow 64 bits */
    };
    char in[256];
    size_t i, n;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = 0;
        PUT(in, &n, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        put(in, &n, bad[i].s, bad[i].n, 0);
        run_all(in, n, 256, true, R);
        assert_int_equal(R->headers_events, 1);
        if (R->status != WISP_ERR_HTTP) {
            fail_msg("case %u: status %d", (unsigned)i, (int)R->status);
        }
    }
}

static void test_chunk_size_limits(void **state)
{
    (void)state;
    /* 15 significant digits pass (then the body is cut short). */
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0000FFFFFFFFFFFFFFF\r\nab",
        256, true);
    assert_int_equal(R->status, WISP_ERR_CLOSED);
    BODY_IS("ab");
    /* leading zeros are not significant */
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "00000000000000000000000000005\r\nhello\r\n0\r\n\r\n",
        256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
    BODY_IS("hello");
}

/* ---- 1xx ------------------------------------------------------------------ */

static void test_100_continue_first(void **state)
{
    (void)state;
    RUN("HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
    assert_int_equal(R->headers_events, 1);
    assert_int_equal(R->http_status, 200);
    BODY_IS("ok");
}

static void test_103_with_headers_ignored(void **state)
{
    (void)state;
    RUN("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n"
        "Content-Length: 99\r\nContent-Encoding: gzip\r\nX-Request-Id: early\r\n"
        "Connection: close\r\nRetry-After: 7\r\n\r\n"
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 200 OK\r\nX-Request-Id: final\r\nContent-Length: 2\r\n\r\nok",
        256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
    assert_int_equal(R->headers_events, 1);
    assert_int_equal(R->http_status, 200);
    assert_true(R->content_length == 2);
    assert_true(R->keep_alive);
    assert_int_equal(R->retry_ms, 0);
    assert_string_equal(R->request_id, "final");
    BODY_IS("ok");
}

static void test_101_is_an_error(void **state)
{
    (void)state;
    RUN("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", 256, true);
    assert_int_equal(R->status, WISP_ERR_HTTP);
    assert_int_equal(R->consumed, 34);
}

static void test_endless_interim_responses(void **state)
{
    size_t i;
    char *in = malloc(200 * 26 + 1);
    (void)state;
    assert_non_null(in);
    in[0] = '\0';
    for (i = 0; i < 200; i++) {
        strcat(in, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    RUNS(in, 256, true);
    assert_int_equal(R->status, WISP_ERR_TOO_LARGE);
    assert_int_equal(R->consumed, 25 * WISP_HTTP_MAX_HEADER_LINES + 23);
    free(in);
}

/* ---- keep-alive and body modes -------------------------------------------- */

static void test_http10_until_close(void **state)
{
    (void)state;
    RUN("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}",
        256, true);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
    assert_int_equal(R->minor, 0);
    assert_int_equal(R->mode, WISP_BODY_CLOSE);
    assert_false(R->keep_alive);
    BODY_IS("{\"a\":1}");
    /* without the close the body is not over */
    RUN("HTTP/1.0 200 OK\r\n\r\nabc", 256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_false(R->done);
    BODY_IS("abc");
}

static void test_keep_alive_rules(void **state)
{
    (void)state;
    RUN("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
        256, false);
    assert_true(R->done);
    assert_true(R->keep_alive);
    assert_int_equal(R->mode, WISP_BODY_NONE);
    RUN("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 256, false);
    assert_false(R->keep_alive);
    RUN("HTTP/1.1 200 OK\r\nConnection: upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n",
        256, false);
    assert_false(R->keep_alive);
    RUN("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\n"
        "Content-Length: 0\r\n\r\n",
        256, false);
    assert_false(R->keep_alive);
    RUN("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nxyz", 256, true);
    assert_int_equal(R->mode, WISP_BODY_CLOSE);
    assert_false(R->keep_alive);
    BODY_IS("xyz");
    RUN("HTTP/1.1 200 OK\r\nConnection: keep-alivex\r\nContent-Length: 0\r\n\r\n",
        256, false);
    assert_true(R->keep_alive);
    /* A folded Connection value may hide a "close": never reuse. */
    RUN("HTTP/1.1 200 OK\r\nConnection: keep-alive,\r\n close\r\nContent-Length: 0\r\n\r\n",
        256, false);
    assert_false(R->keep_alive);
}

/* An empty Transfer-Encoding names no coding: not chunked, so Content-Length
 * is not trusted and the body runs until close (RFC 9112 6.3). */
static void test_empty_transfer_encoding(void **state)
{
    (void)state;
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 2\r\n\r\nabcd", 256, true);
    assert_int_equal(R->mode, WISP_BODY_CLOSE);
    assert_false(R->keep_alive);
    BODY_IS("abcd");
}

static void test_no_body_statuses(void **state)
{
    (void)state;
    RUN("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 256, false);
    assert_true(R->done);
    assert_int_equal(R->http_status, 204);
    assert_int_equal(R->mode, WISP_BODY_NONE);
    assert_true(R->keep_alive);
    RUN("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 256,
        false);
    assert_true(R->done);
    assert_int_equal(R->mode, WISP_BODY_NONE);
    RUN("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nNEXT", 256, false);
    assert_true(R->done);
    assert_int_equal(R->mode, WISP_BODY_NONE);
    assert_int_equal(R->consumed, 38);
}

static void test_bare_lf(void **state)
{
    (void)state;
    RUN("HTTP/1.1 200 OK\nContent-Length: 3\n\nabc", 256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
    BODY_IS("abc");
    RUN("HTTP/1.1 200\nTransfer-Encoding: chunked\n\n3\nabc\n2;x\nde\n0\nT: 1\n\n",
        256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
    assert_int_equal(R->http_status, 200);
    BODY_IS("abcde");
}

/* ---- status line ---------------------------------------------------------- */

static void test_status_line_forms(void **state)
{
    WISP_NEEDS(WISP_RETRIES);
    char *in = malloc(6000);
    (void)state;
    RUN("HTTP/1.0 404\r\nContent-Length: 1\r\n\r\nx", 256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_int_equal(R->http_status, 404);
    assert_int_equal(R->minor, 0);
    RUN("HTTP/1.1 503 \r\nContent-Length: 1\r\n\r\nx", 256, false);
    assert_int_equal(R->http_status, 503);
    assert_true(R->done);
    RUN("HTTP/1.1 999 Whatever\xc3\xa9 \t x\r\nContent-Length: 0\r\n\r\n", 256,
        false);
    assert_int_equal(R->http_status, 999);
    assert_true(R->done);
    /* a long reason phrase is skipped, even with a small buffer */
    assert_non_null(in);
    strcpy(in, "HTTP/1.1 429 ");
    memset(in + 13, 'r', 5000);
    strcpy(in + 5013, "\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n");
    RUNS(in, 32, false);
    assert_int_equal(R->status, WISP_OK);
    assert_int_equal(R->http_status, 429);
    assert_int_equal(R->retry_ms, 3000);
    assert_true(R->done);
    free(in);
}

static void test_malformed_status_lines(void **state)
{
    static const lit bad[] = {
        L("HTTP/1.1 20 OK\r\n\r\n"),    L("HTTP/1.1 2000 OK\r\n\r\n"),
        L("HTTP/1.1  200 OK\r\n\r\n"),  L("HTTP/1.x 200 OK\r\n\r\n"),
        L("http/1.1 200 OK\r\n\r\n"),   L("HTTP/1.1 099 Low\r\n\r\n"),
        L("HTTP/1.1 200\tOK\r\n\r\n"), L("HTTP/1.1 200 OK\x00\r\n\r\n"),
        L("HTTP/1.1 200 OK\r\r\n\r\n"), L("HTTP/1.1 200 O\rK\r\n\r\n"),
        L("HTTP/1.1\r\n\r\n"),          L("\r\nHTTP/1.1 200 OK\r\n\r\n"),
        L("HTTP/2 200\r\n\r\n"),        L("HTTP/2.0 200 OK\r\n\r\n"),
        L("HTTP/0.9 200 OK\r\n\r\n"),   L("HTTP/1.1 2x0 OK\r\n\r\n"),
        L("HTTP/1.1 200 OK\x7f\r\n\r\n"), L("HTTP/1.1 200 OK\x1b[0m\r\n\r\n"),
        L("<html>\r\n"),                L("HTTP/1.1 200"),
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_all(bad[i].s, bad[i].n, 256, true, R);
        if (R->status != (i + 1 < sizeof bad / sizeof bad[0] ? WISP_ERR_HTTP
                                                             : WISP_ERR_CLOSED)) {
            fail_msg("case %u: status %d", (unsigned)i, (int)R->status);
        }
        assert_int_equal(R->headers_events, 0);
    }
    run_all("", 0, 256, true, R);
    assert_int_equal(R->status, WISP_ERR_CLOSED);
    assert_int_equal(R->http_status, 0);
}

/* Bytes that cannot start a status line fail at once, without more input. */
static void test_status_fails_early(void **state)
{
    static const struct {
        const char *in;
        size_t at;
    } cases[] = {
        { "HTTP/2", 6 },
        { "\x16\x03\x01", 1 },
        { "PRI * HTTP/2.0", 1 },
        { "\x00\x00\x12\x04", 1 },
        { "HTTP/1.1 0", 10 },
        { "HTTP/1.1 2004", 13 },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t line[64];
        wisp_http_reader r;
        wisp_http_out out;
        size_t used = 0;
        size_t n = cases[i].in[0] == 0 ? 4 : strlen(cases[i].in);
        wisp_http_reader_init(&r, line, sizeof line);
        assert_int_equal(wisp_http_feed(&r, (const uint8_t *)cases[i].in, n,
                                        &used, &out), WISP_ERR_HTTP);
        assert_int_equal(used, cases[i].at);
    }
}

/* ---- header lines ---------------------------------------------------------- */

static void test_header_syntax_errors(void **state)
{
    static const lit bad[] = {
        L("NoColon\r\n"),     L("Content-Length : 5\r\n"), L("Na me: v\r\n"),
        L(": empty\r\n"),     L("X: a\x01" "b\r\n"),       L("X: a\x00" "b\r\n"),
        L("X: a\rb\r\n"),     L("X: a\x7f\r\n"),           L("X(y): z\r\n"),
        L("X\x80: v\r\n"),    L("X: v\r\r\n"),             L("X: \x0b\r\n"),
    };
    char in[128];
    size_t i, n;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = 0;
        PUT(in, &n, "HTTP/1.1 200 OK\r\n");
        put(in, &n, bad[i].s, bad[i].n, 0);
        run_all(in, n, 256, true, R);
        if (R->status != WISP_ERR_HTTP) {
            fail_msg("case %u: status %d", (unsigned)i, (int)R->status);
        }
        assert_int_equal(R->http_status, 200);
    }
}

static void test_header_names_and_values(void **state)
{
    (void)state;
    RUN("HTTP/1.1 200 OK\r\nCONTENT-type:\t  Application/JSON ; charset=utf-8 \t\r\n"
        "x-weird!#$%&'*+-.^_`|~09: v\r\nEmpty:\r\ncontent-LENGTH:2\r\n\r\nhi",
        256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->json);
    assert_true(R->content_length == 2);
    BODY_IS("hi");
}

static void test_content_types(void **state)
{
    static const struct {
        const char *ct;
        bool sse, json;
    } cases[] = {
        { "text/event-stream", true, false },
        { "TEXT/Event-Stream;charset=UTF-8", true, false },
        { "application/json", false, true },
        { "application/problem+json; charset=utf-8", false, true },
        { "application/vnd.api+JSON", false, true },
        { "application/jsonx", false, false },
        { "text/html; charset=utf-8", false, false },
        { "+json", false, false },
        { "a/b+json", false, true },
        { "", false, false },
    };
    char in[256];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        strcpy(in, "HTTP/1.1 200 OK\r\nContent-Type: ");
        strcat(in, cases[i].ct);
        strcat(in, "\r\nContent-Length: 0\r\n\r\n");
        RUNS(in, 256, false);
        assert_int_equal(R->status, WISP_OK);
        assert_true(R->has_ct);
        assert_int_equal(R->sse, cases[i].sse);
        assert_int_equal(R->json, cases[i].json);
    }
    RUN("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 256, false);
    assert_false(R->has_ct);
    assert_false(R->sse);
    assert_false(R->json);
}

static void test_obs_fold(void **state)
{
    (void)state;
    /* continuation of a field wisp does not frame with: dropped */
    RUN("HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\n\tc\r\nContent-Type: text/event-stream\r\n"
        " ; charset=utf-8\r\nContent-Length: 1\r\n\r\nz",
        256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->sse);
    BODY_IS("z");
    /* whitespace-led line right after the status line: dropped too */
    RUN("HTTP/1.1 200 OK\r\n junk\r\nContent-Length: 1\r\n\r\nz", 256, false);
    assert_int_equal(R->status, WISP_OK);
    BODY_IS("z");
    /* continuation of a framing field would change its meaning */
    RUN("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n 0\r\n\r\nz", 256, true);
    assert_int_equal(R->status, WISP_ERR_HTTP);
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\tgzip\r\n\r\n", 256,
        true);
    assert_int_equal(R->status, WISP_ERR_HTTP);
    RUN("HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\n gzip\r\n\r\n", 256,
        true);
    assert_int_equal(R->status, WISP_ERR_HTTP);
}

/* A 6 KB header wisp does not need is skipped with a 256-byte buffer. */
static void test_long_unneeded_header_skipped(void **state)
{
    char *in = malloc(20000);
    size_t n;
    (void)state;
    assert_non_null(in);
    strcpy(in, "HTTP/1.1 200 OK\r\nSet-Cookie: ");
    n = strlen(in);
    memset(in + n, 'c', 6000);
    n += 6000;
    strcpy(in + n, "\r\nContent-Security-Policy: ");
    n += strlen(in + n);
    memset(in + n, 'p', 6000);
    n += 6000;
    strcpy(in + n, "\r\nX-Custom-Header-With-A-Very-Long-Name-");
    n += strlen(in + n);
    memset(in + n, 'n', 500);
    n += 500;
    strcpy(in + n, ": v\r\nContent-Type: application/json\r\n"
                   "Content-Length: 4\r\n\r\nbody");
    RUNS(in, 256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
    assert_true(R->json);
    BODY_IS("body");
    free(in);
}

static void test_long_needed_header_fails(void **state)
{
    char in[1024];
    size_t n = 0;
    (void)state;
    PUT(in, &n, "HTTP/1.1 200 OK\r\nContent-Type: application/json;");
    put(in, &n, NULL, 300, 'x');
    PUT(in, &n, "\r\n\r\n");
    run_all(in, n, 256, true, R);
    assert_int_equal(R->status, WISP_ERR_TOO_LARGE);
    assert_int_equal(R->consumed, 17 + 257);
    /* a name that may still become a needed one */
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 8, true);
    assert_int_equal(R->status, WISP_ERR_TOO_LARGE);
    RUN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 14, true);
    assert_int_equal(R->status, WISP_ERR_TOO_LARGE);
    /* ... but one that cannot is skipped */
    RUN("HTTP/1.1 200 OK\r\nX-Something-Long: 1\r\nContent-Length: 1\r\n\r\nz", 18,
        false);
    assert_int_equal(R->status, WISP_OK);
    BODY_IS("z");
    /* exact fit works */
    RUN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 17, false);
    assert_int_equal(R->status, WISP_OK);
    BODY_IS("hello");
}

static void test_too_many_header_lines(void **state)
{
    char *in = malloc(200 * 6 + 100);
    size_t i;
    (void)state;
    assert_non_null(in);
    strcpy(in, "HTTP/1.1 200 OK\r\n");
    for (i = 0; i < WISP_HTTP_MAX_HEADER_LINES - 2; i++) {
        strcat(in, "X: y\r\n");
    }
    strcat(in, "Content-Length: 0\r\n\r\n");
    RUNS(in, 256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);

    strcpy(in, "HTTP/1.1 200 OK\r\n");
    for (i = 0; i < 200; i++) {
        strcat(in, "X: y\r\n");
    }
    RUNS(in, 256, true);
    assert_int_equal(R->status, WISP_ERR_TOO_LARGE);
    assert_int_equal(R->consumed, 17 + 6 * WISP_HTTP_MAX_HEADER_LINES);
    free(in);
}

static void test_endless_header_line(void **state)
{
    size_t n = WISP_HTTP_MAX_HEAD_BYTES + 100;
    char *in = malloc(n + 1);
    (void)state;
    assert_non_null(in);
    strcpy(in, "HTTP/1.1 200 OK\r\nX-Cookie: ");
    memset(in + 27, 'c', n - 27);
    in[n] = '\0';
    run((const uint8_t *)in, n, 256, true, 0, R);
    assert_int_equal(R->status, WISP_ERR_TOO_LARGE);
    assert_int_equal(R->consumed, WISP_HTTP_MAX_HEAD_BYTES + 1);
    run((const uint8_t *)in, n, 256, true, 5, R);
    assert_int_equal(R->status, WISP_ERR_TOO_LARGE);
    free(in);
}

/* ---- framing fields -------------------------------------------------------- */

static void test_content_length_values(void **state)
{
    static const struct {
        const char *headers;
        wisp_status status;
        uint64_t value;
    } cases[] = {
        { "Content-Length: 3\r\nContent-Length: 3\r\n", WISP_OK, 3 },
        { "Content-Length: 3, 3 ,3\r\n", WISP_OK, 3 },
        { "Content-Length: 003\r\n", WISP_OK, 3 },
        { "Content-Length: 18446744073709551615\r\n", WISP_OK, UINT64_MAX },
        { "Content-Length: 3\r\nContent-Length: 4\r\n", WISP_ERR_HTTP, 0 },
        { "Content-Length: 3, 4\r\n", WISP_ERR_HTTP, 0 },
        { "Content-Length: 3,\r\n", WISP_ERR_HTTP, 0 },
        { "Content-Length: \r\n", WISP_ERR_HTTP, 0 },
        { "Content-Length: -1\r\n", WISP_ERR_HTTP, 0 },
        { "Content-Length: +3\r\n", WISP_ERR_HTTP, 0 },
        { "Content-Length: 3a\r\n", WISP_ERR_HTTP, 0 },
        { "Content-Length: 3 3\r\n", WISP_ERR_HTTP, 0 },
        { "Content-Length: 0x3\r\n", WISP_ERR_HTTP, 0 },
        { "Content-Length: 18446744073709551616\r\n", WISP_ERR_HTTP, 0 },
        { "Content-Length: 99999999999999999999999\r\n", WISP_ERR_HTTP, 0 },
    };
    char in[256];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        strcpy(in, "HTTP/1.1 200 OK\r\n");
        strcat(in, cases[i].headers);
        strcat(in, "\r\nabc");
        RUNS(in, 256, false);
        if (R->status != cases[i].status) {
            fail_msg("case %u: status %d", (unsigned)i, (int)R->status);
        }
        if (cases[i].status == WISP_OK) {
            assert_true(R->content_length == cases[i].value);
            assert_int_equal(R->mode, WISP_BODY_LENGTH);
            BODY_IS("abc");
        }
    }
}

static void test_transfer_encodings(void **state)
{
    (void)state;
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
        256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_int_equal(R->mode, WISP_BODY_CHUNKED);
    assert_true(R->keep_alive);
    BODY_IS("x");
    /* chunked wins over Content-Length; the connection is not reused */
    RUN("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n"
        "\r\n1\r\nx\r\n0\r\n\r\n",
        256, false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
    assert_int_equal(R->mode, WISP_BODY_CHUNKED);
    assert_false(R->keep_alive);
    BODY_IS("x");
    RUN("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
        "\r\n1\r\nx\r\n0\r\n\r\n",
        256, false);
    assert_true(R->done);
    assert_false(R->keep_alive);
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 256, true);
    assert_int_equal(R->status, WISP_ERR_UNSUPPORTED);
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        256, true);
    assert_int_equal(R->status, WISP_ERR_UNSUPPORTED);
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 256,
        true);
    assert_int_equal(R->status, WISP_ERR_UNSUPPORTED);
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,chunked\r\n\r\n", 256, true);
    assert_int_equal(R->status, WISP_ERR_HTTP);
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: , chunked ,\r\n\r\n0\r\n\r\n", 256,
        false);
    assert_int_equal(R->status, WISP_OK);
    assert_true(R->done);
}

static void test_content_encoding(void **state)
{
    (void)state;
    RUN("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\nxx",
        256, true);
    assert_int_equal(R->status, WISP_ERR_UNSUPPORTED);
    assert_int_equal(R->headers_events, 0);
    assert_int_equal(R->http_status, 200);
    RUN("HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\n", 256, true);
    assert_int_equal(R->status, WISP_ERR_UNSUPPORTED);
    RUN("HTTP/1.1 200 OK\r\nContent-Encoding: identity, gzip\r\n\r\n", 256, true);
    assert_int_equal(R->status, WISP_ERR_UNSUPPORTED);
    RUN("HTTP/1.1 200 OK\r\nContent-Encoding: Identity\r\nContent-Length: 2\r\n\r\nxx",
        256, false);
    assert_int_equal(R->status, WISP_OK);
    BODY_IS("xx");
}

/* ---- informational fields --------------------------------------------------- */

/* A head of status_line and headers, then Content-Length: 0, read every
 * way (RUNS) and read without error. */
static void run_head(const char *status_line, const char *headers)
{
    static char in[1024];
    snprintf(in, sizeof in, "%s\r\n%sContent-Length: 0\r\n\r\n", status_line, headers);
    RUNS(in, 256, false);
    assert_int_equal(R->status, WISP_OK);
}

static void test_retry_after(void **state)
{
    WISP_NEEDS(WISP_RETRIES);
    static const struct {
        const char *headers;
        uint32_t ms;
    } cases[] = {
        { "Retry-After: 120\r\n", 120000 },
        { "Retry-After:  0 \r\n", 0 },
        { "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", 0 },
        { "Retry-After: 99999999999999999999\r\n", 4294967000u },
        { "Retry-After: 4294967\r\n", 4294967000u },
        { "Retry-After: -5\r\n", 0 },
        { "Retry-After: 1.5\r\n", 0 },
        { "Retry-After:\r\n", 0 },
        { "Retry-After: 5\r\nRetry-After: soon\r\n", 5000 },
        { "retry-after-ms: 1500\r\n", 1500 },
        { "retry-after-ms: 1500.5\r\n", 1501 },
        { "retry-after-ms: 1500.000\r\n", 1500 },
        { "retry-after-ms: 0.01\r\n", 1 },
        { "retry-after-ms: 99999999999\r\n", UINT32_MAX },
        { "retry-after-ms: 1500.\r\n", 0 },
        { "retry-after-ms: .5\r\n", 0 },
        { "retry-after-ms: 1e3\r\n", 0 },
        { "Retry-After: 2\r\nretry-after-ms: 250\r\n", 250 },
        { "retry-after-ms: 250\r\nRetry-After: 2\r\n", 250 },
        { "retry-after-ms: soon\r\nRetry-After: 2\r\n", 2000 },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_head("HTTP/1.1 429 Too Many Requests", cases[i].headers);
        assert_int_equal(R->http_status, 429);
        if (R->retry_ms != cases[i].ms) {
            fail_msg("case %u: %u ms", (unsigned)i, (unsigned)R->retry_ms);
        }
    }
}

/* Retry-After as an HTTP-date: the wait is its distance from the reply's
 * own Date, in any of RFC 9110's three forms, in either order. */
static void test_retry_after_date(void **state)
{
    WISP_NEEDS(WISP_RETRIES);
    static const struct {
        const char *headers;
        uint32_t ms;
    } cases[] = {
        { "Date: Wed, 21 Oct 2015 07:28:00 GMT\r\nRetry-After: Wed, 21 Oct 2015 07:28:30 GMT\r\n", 30000 },
        { "Retry-After: Wed, 21 Oct 2015 07:28:30 GMT\r\nDate: Wed, 21 Oct 2015 07:28:00 GMT\r\n", 30000 },
        { "Date: Wed, 21 Oct 2015 07:28:00 GMT\r\nRetry-After: Wednesday, 21-Oct-15 07:29:00 GMT\r\n", 60000 },
        { "Date: Wed, 21 Oct 2015 07:28:00 GMT\r\nRetry-After: Wed Oct 21 07:28:05 2015\r\n", 5000 },
        { "Date: Sun, 06 Nov 1994 08:49:00 GMT\r\nRetry-After: Sun Nov  6 08:49:37 1994\r\n", 37000 },
        { "Date: Sunday, 06-Nov-94 08:49:00 GMT\r\nRetry-After: Sun, 06 Nov 1994 08:50:00 GMT\r\n", 60000 },
        { "Date: Thu, 31 Dec 1998 23:59:50 GMT\r\nRetry-After: Fri, 01 Jan 1999 00:00:10 GMT\r\n", 20000 },
        { "Date: Mon, 28 Feb 2000 00:00:00 GMT\r\nRetry-After: Wed, 01 Mar 2000 00:00:00 GMT\r\n", 172800000 },
        { "Date: Sun, 28 Feb 2100 00:00:00 GMT\r\nRetry-After: Mon, 01 Mar 2100 00:00:00 GMT\r\n", 86400000 },
        { "Date: Wed, 28 Feb 2024 23:59:59 GMT\r\nRetry-After: Thu, 29 Feb 2024 00:00:01 GMT\r\n", 2000 },
        { "Date: Tue, 28 Feb 2023 23:59:59 GMT\r\nRetry-After: Wed, 29 Feb 2023 00:00:01 GMT\r\n", 0 },
        { "Date: Wed, 21 Oct 2015 07:28:00 GMT\r\nRetry-After: Wed, 21 Oct 2015 07:27:00 GMT\r\n", 0 },
        { "Retry-After: Wed, 21 Oct 2015 07:28:30 GMT\r\n", 0 },
        { "Date: yesterday\r\nRetry-After: Wed, 21 Oct 2015 07:28:30 GMT\r\n", 0 },
        { "Date: Wed, 21 Oct 2015 07:28:00 gmt\r\nRetry-After: Wed, 21 Oct 2015 07:28:30 GMT\r\n", 0 },
        { "Date: Wed, 21 Oct 2015 07:28:00 GMT\r\nRetry-After: Wed, 21 Oct 2015 07:28:30 GMT x\r\n", 0 },
        { "Date: Wed, 21 Oct 2015 07:28:00 GMT\r\nRetry-After: Wed, 21 Oct 2015 25:28:30 GMT\r\n", 0 },
        { "Date: Wed, 21 Oct 2015 07:28:00 GMT\r\nRetry-After: Wed, 32 Oct 2015 07:28:30 GMT\r\n", 0 },
        { "Date: Wed, 21 Oct 2015 07:28:00 GMT\r\nRetry-After: Wed, 21 Oct 2099 07:28:30 GMT\r\n", 4294967000u },
        { "Date: Wed, 21 Oct 2015 07:28:00 GMT\r\nRetry-After: Wed, 21 Oct 2015 07:28:30 GMT\r\n"
          "retry-after-ms: 250\r\n", 250 },
        { "Date: Wed, 21 Oct 2015 07:28:00 GMT\r\nRetry-After: Wed, 21 Oct 2015 07:28:59 GMT\r\n"
          "Retry-After: 3\r\n", 3000 },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_head("HTTP/1.1 503 Service Unavailable", cases[i].headers);
        if (R->retry_ms != cases[i].ms) {
            fail_msg("case %u: %u ms", (unsigned)i, (unsigned)R->retry_ms);
        }
    }
}

/* Keep-Alive: timeout=N, the server's idle limit for a kept connection. */
static void test_keep_alive_timeout(void **state)
{
    static const struct {
        const char *headers;
        uint32_t s;
    } cases[] = {
        { "Keep-Alive: timeout=5, max=100\r\n", 5 },
        { "keep-alive: max=3,timeout=10\r\n", 10 },
        { "Keep-Alive: Timeout=7\r\n", 7 },
        { "Keep-Alive: timeout=0\r\n", 0 },
        { "Keep-Alive: timeout=x\r\n", 0 },
        { "Keep-Alive: timeout=\r\n", 0 },
        { "Keep-Alive: timeout=5s\r\n", 0 },
        { "Keep-Alive: timeouts=5\r\n", 0 },
        { "Keep-Alive: timeout=99999999999999999999\r\n", 86400 },
        { "Keep-Alive: max=5\r\n", 0 },
        { "Keep-Alive: timeout=3\r\nKeep-Alive: timeout=4\r\n", 4 },
        { "Connection: keep-alive\r\n", 0 },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_head("HTTP/1.1 200 OK", cases[i].headers);
        if (R->idle_s != cases[i].s) {
            fail_msg("case %u: %u s", (unsigned)i, (unsigned)R->idle_s);
        }
    }
}

/* One-api gateways (the first user's among them) name it
 * x-oneapi-request-id; x-request-id wins wherever it comes. */
static void test_oneapi_request_id(void **state)
{
    (void)state;
    RUN("HTTP/1.1 402 Payment Required\r\nX-Oneapi-Request-Id: 2026120217093344\r\n"
        "Content-Length: 0\r\n\r\n",
        256, false);
    assert_string_equal(R->request_id, "2026120217093344");
    RUN("HTTP/1.1 200 OK\r\nx-oneapi-request-id: gw\r\nx-request-id: up\r\n"
        "Content-Length: 0\r\n\r\n",
        256, false);
    assert_string_equal(R->request_id, "up");
    RUN("HTTP/1.1 200 OK\r\nx-request-id: up\r\nx-oneapi-request-id: gw\r\n"
        "Content-Length: 0\r\n\r\n",
        256, false);
    assert_string_equal(R->request_id, "up");
    /* cut by the line buffer, and then a whole x-request-id */
    RUN("HTTP/1.1 200 OK\r\nx-oneapi-request-id: 0123456789abcdefghij\r\n"
        "Content-Length: 0\r\n\r\n",
        32, false);
    assert_string_equal(R->request_id, "0123456789a");
    assert_true(R->rid_cut);
    RUN("HTTP/1.1 200 OK\r\nx-oneapi-request-id: 0123456789abcdefghij\r\n"
        "x-request-id: up\r\nContent-Length: 0\r\n\r\n",
        32, false);
    assert_string_equal(R->request_id, "up");
    assert_false(R->rid_cut);
    /* x-request-id first: a oneapi line too long for the buffer is skipped */
    RUN("HTTP/1.1 200 OK\r\nx-request-id: up\r\n"
        "x-oneapi-request-id: 0123456789abcdefghij\r\nContent-Length: 0\r\n\r\n",
        32, false);
    assert_int_equal(R->status, WISP_OK);
    assert_string_equal(R->request_id, "up");
    /* an empty x-request-id hides nothing */
    RUN("HTTP/1.1 200 OK\r\nx-request-id:\r\nx-oneapi-request-id: gw\r\n"
        "Content-Length: 0\r\n\r\n",
        256, false);
    assert_string_equal(R->request_id, "gw");
    RUN("HTTP/1.1 200 OK\r\nx-oneapi-request-id: gw\r\nx-request-id: \r\n"
        "Content-Length: 0\r\n\r\n",
        256, false);
    assert_string_equal(R->request_id, "gw");
}

static void test_request_id(void **state)
{
    char in[512], want[WISP_REQUEST_ID_CAP];
    size_t n;
    (void)state;
    RUN("HTTP/1.1 200 OK\r\nx-request-id:  req_abc123 \r\nContent-Length: 0\r\n\r\n",
        256, false);
    assert_string_equal(R->request_id, "req_abc123");
    assert_false(R->rid_cut);
    RUN("HTTP/1.1 200 OK\r\nRequest-Id: nope\r\nContent-Length: 0\r\n\r\n", 256,
        false);
    assert_string_equal(R->request_id, "");

    /* longer than the field: cut to WISP_REQUEST_ID_CAP - 1 */
    strcpy(in, "HTTP/1.1 200 OK\r\nX-Request-ID: ");
    n = strlen(in);
    memset(in + n, 'a', 100);
    strcpy(in + n + 100, "\r\nContent-Length: 0\r\n\r\n");
    RUNS(in, 256, false);
    memset(want, 'a', sizeof want - 1);
    want[sizeof want - 1] = '\0';
    assert_string_equal(R->request_id, want);
    assert_true(R->rid_cut);
    assert_true(R->done);

    /* longer than the line buffer: the prefix that fitted is kept */
    RUN("HTTP/1.1 200 OK\r\nX-Request-Id: 0123456789abcdefghijklmnop\r\n"
        "Content-Length: 0\r\n\r\n",
        24, false);
    assert_int_equal(R->status, WISP_OK);
    assert_string_equal(R->request_id, "0123456789");
    assert_true(R->rid_cut);
    /* the colon itself did not fit */
    RUN("HTTP/1.1 204 No Content\r\nX-Request-Id: 0123\r\n\r\n", 12, false);
    assert_int_equal(R->status, WISP_OK);
    assert_string_equal(R->request_id, "");
    assert_true(R->rid_cut);

    /* a cut never splits a UTF-8 sequence */
    strcpy(in, "HTTP/1.1 200 OK\r\nX-Request-Id: ");
    n = strlen(in);
    memset(in + n, 'a', WISP_REQUEST_ID_CAP - 3);
    strcpy(in + n + WISP_REQUEST_ID_CAP - 3, "\xe2\x82\xac\r\nContent-Length: 0\r\n\r\n");
    RUNS(in, 256, false);
    assert_int_equal(strlen(R->request_id), WISP_REQUEST_ID_CAP - 3);
    assert_true(R->rid_cut);
    strcpy(in + n + WISP_REQUEST_ID_CAP - 3, "\xc3\xa9\r\nContent-Length: 0\r\n\r\n");
    RUNS(in, 256, false);
    assert_int_equal(strlen(R->request_id), WISP_REQUEST_ID_CAP - 1);
    assert_false(R->rid_cut);
    strcpy(in + n + WISP_REQUEST_ID_CAP - 3, "\xf0\x9f\x8e\x89\r\nContent-Length: 0\r\n\r\n");
    RUNS(in, 256, false);
    assert_int_equal(strlen(R->request_id), WISP_REQUEST_ID_CAP - 3);
    assert_true(R->rid_cut);
}

/* ---- closing and errors ----------------------------------------------------- */

static void test_body_cut_short(void **state)
{
    (void)state;
    RUN("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", 256, true);
    assert_int_equal(R->status, WISP_ERR_CLOSED);
    assert_int_equal(R->headers_events, 1);
    BODY_IS("hello");
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 256, true);
    assert_int_equal(R->status, WISP_ERR_CLOSED);
    BODY_IS("hel");
    /* The last chunk, then close without the final empty line: the body is
     * whole (tolerated), but the connection is not reused. */
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
        256, true);
    assert_int_equal(R->status, WISP_OK);
    assert_false(R->keep_alive);
    BODY_IS("hello");
    /* ... but a trailer line cut short is a cut message. */
    RUN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T",
        256, true);
    assert_int_equal(R->status, WISP_ERR_CLOSED);
    RUN("HTTP/1.1 200 OK\r\nContent-Le", 256, true);
    assert_int_equal(R->status, WISP_ERR_CLOSED);
    assert_int_equal(R->headers_events, 0);
    RUN("HTTP/1.1 100 Continue\r\n\r\n", 256, true);
    assert_int_equal(R->status, WISP_ERR_CLOSED);
}

static void test_finish_on_fresh_reader(void **state)
{
    uint8_t line[16];
    wisp_http_reader r;
    wisp_http_out out;
    (void)state;
    wisp_http_reader_init(&r, line, sizeof line);
    assert_int_equal(wisp_http_finish(&r, &out), WISP_ERR_CLOSED);
    assert_int_equal(wisp_http_finish(&r, &out), WISP_ERR_CLOSED);
}

static void test_bad_arguments(void **state)
{
    uint8_t line[16];
    wisp_http_reader r;
    wisp_http_out out;
    size_t used;
    (void)state;
    wisp_http_reader_init(&r, line, sizeof line);
    assert_int_equal(wisp_http_feed(NULL, line, 1, &used, &out), WISP_ERR_ARG);
    assert_int_equal(wisp_http_feed(&r, NULL, 1, &used, &out), WISP_ERR_ARG);
    assert_int_equal(wisp_http_feed(&r, line, 1, NULL, &out), WISP_ERR_ARG);
    assert_int_equal(wisp_http_feed(&r, line, 1, &used, NULL), WISP_ERR_ARG);
    assert_int_equal(wisp_http_finish(NULL, &out), WISP_ERR_ARG);
    assert_int_equal(wisp_http_finish(&r, NULL), WISP_ERR_ARG);
    /* the reader is still usable */
    assert_int_equal(wisp_http_feed(&r, NULL, 0, &used, &out), WISP_OK);
    assert_int_equal(out.event, WISP_HTTP_NEED_MORE);
    assert_int_equal(used, 0);
    wisp_http_reader_init(NULL, line, 1); /* must not crash */
}

/* A tiny or absent buffer still reads a head that needs no field. */
static void test_no_line_buffer(void **state)
{
    (void)state;
    RUN("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody", 0, true);
    assert_int_equal(R->status, WISP_ERR_TOO_LARGE);
    RUN("HTTP/1.0 200 OK\r\n\r\nbody", 0, true);
    assert_int_equal(R->status, WISP_OK);
    BODY_IS("body");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_bytes_after_body_are_not_ours),
        cmocka_unit_test(test_done_after_length_with_len_zero),
        cmocka_unit_test(test_done_after_headers_with_no_body),
        cmocka_unit_test(test_chunked_extensions_trailer),
        cmocka_unit_test(test_chunked_done_without_more_input),
        cmocka_unit_test(test_chunked_long_trailer_and_extension),
        cmocka_unit_test(test_chunked_bad_framing),
        cmocka_unit_test(test_chunk_size_limits),
        cmocka_unit_test(test_100_continue_first),
        cmocka_unit_test(test_103_with_headers_ignored),
        cmocka_unit_test(test_101_is_an_error),
        cmocka_unit_test(test_endless_interim_responses),
        cmocka_unit_test(test_http10_until_close),
        cmocka_unit_test(test_keep_alive_rules),
        cmocka_unit_test(test_empty_transfer_encoding),
        cmocka_unit_test(test_no_body_statuses),
        cmocka_unit_test(test_bare_lf),
        cmocka_unit_test(test_status_line_forms),
        cmocka_unit_test(test_malformed_status_lines),
        cmocka_unit_test(test_status_fails_early),
        cmocka_unit_test(test_header_syntax_errors),
        cmocka_unit_test(test_header_names_and_values),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_obs_fold),
        cmocka_unit_test(test_long_unneeded_header_skipped),
        cmocka_unit_test(test_long_needed_header_fails),
        cmocka_unit_test(test_too_many_header_lines),
        cmocka_unit_test(test_endless_header_line),
        cmocka_unit_test(test_content_length_values),
        cmocka_unit_test(test_transfer_encodings),
        cmocka_unit_test(test_content_encoding),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_keep_alive_timeout),
        cmocka_unit_test(test_retry_after_date),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_oneapi_request_id),
        cmocka_unit_test(test_body_cut_short),
        cmocka_unit_test(test_finish_on_fresh_reader),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_no_line_buffer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
