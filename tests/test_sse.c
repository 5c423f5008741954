/*
 * test_sse.c - the SSE decoder, rule by rule.  Every input is replayed
 * whole, one byte at a time and in pseudo-random splits; all must give the
 * same log of what the decoder reported.  Each piece is copied into its own
 * heap block of exactly its size and freed after the feed, so ASan catches
 * a read past a piece or a reference kept into the caller's input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "needs.h"
#include "wisp.h"
#include "wisp_sse.h"

/* ---- harness ------------------------------------------------------------ */

typedef struct logbuf {
    char *s;
    size_t len, cap;
} logbuf;

static void log_put(logbuf *l, const char *s, size_t n)
{
    if (l->len + n + 1 > l->cap) {
        size_t cap = (l->cap + n + 1) * 2;
        l->s = realloc(l->s, cap);
        assert_non_null(l->s);
        l->cap = cap;
    }
    memcpy(l->s + l->len, s, n);
    l->len += n;
    l->s[l->len] = '\0';
}

static void log_str(logbuf *l, const char *s) { log_put(l, s, strlen(s)); }

/* Control bytes escaped so that a log line is one line. */
static void log_escaped(logbuf *l, const char *s, size_t n)
{
    size_t i;
    char tmp[8];
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            log_str(l, "\\n");
        else if (c == '\r')
            log_str(l, "\\r");
        else if (c < 0x20 || c == '\\') {
            snprintf(tmp, sizeof tmp, "\\x%02X", c);
            log_str(l, tmp);
        } else
            log_put(l, (const char *)&c, 1);
    }
}

static void log_out(logbuf *l, const wisp_sse *s, const wisp_sse_out *o)
{
    switch (o->kind) {
    case WISP_SSE_EVENT:
        /* The data must live in the decoder's buffer, inside its bounds. */
        assert_true(o->len == 0 || (o->data >= (const char *)s->buf &&
                                    o->data + o->len <= (const char *)s->buf + s->cap));
        log_str(l, o->error_event ? "X " : "E ");
        log_escaped(l, o->data, o->len);
        log_str(l, "\n");
        break;
    case WISP_SSE_ERROR_LINE:
        assert_true(o->len == 0 || (o->data >= (const char *)s->buf &&
                                    o->data + o->len <= (const char *)s->buf + s->cap));
        log_str(l, "L ");
        log_escaped(l, o->data, o->len);
        log_str(l, "\n");
        break;
    default:
        assert_int_equal(o->len, 0);
        break;
    }
}

static void log_status(logbuf *l, wisp_status st)
{
    if (st != WISP_OK) {
        log_str(l, "! ");
        log_str(l, status_name(st));
        log_str(l, "\n");
    }
}

static uint32_t rng_next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

enum { SPLIT_WHOLE = 0, SPLIT_BYTES = 1 }; /* higher: random, the seed */

/* Replays in into a decoder with a buffer of cap bytes; returns the log. */
static char *replay(const char *in, size_t n, size_t cap, uint32_t split)
{
    logbuf l = {NULL, 0, 0};
    uint8_t *buf = malloc(cap ? cap : 1);
    wisp_sse s;
    wisp_sse_out o;
    wisp_status st = WISP_OK;
    size_t off = 0;
    uint32_t seed = split * 2654435761u + 1;

    assert_non_null(buf);
    wisp_sse_init(&s, buf, cap);
    log_str(&l, "");
    while (off < n && st == WISP_OK) {
        size_t piece = n - off;
        size_t pos = 0;
        uint8_t *copy;
        if (split == SPLIT_BYTES)
            piece = 1;
        else if (split != SPLIT_WHOLE) {
            /* mostly small pieces, sometimes large ones */
            size_t lim = (rng_next(&seed) & 3) == 0 ? 300 : 9;
            piece = 1 + rng_next(&seed) % lim;
            if (piece > n - off)
                piece = n - off;
        }
        copy = malloc(piece);
        assert_non_null(copy);
        memcpy(copy, in + off, piece);
        while (pos < piece) {
            size_t used = 12345;
            st = wisp_sse_feed(&s, copy + pos, piece - pos, &used, &o);
            if (st != WISP_OK) {
                assert_int_equal(used, 0);
                break;
            }
            assert_true(used <= piece - pos);
            if (o.kind == WISP_SSE_NEED_MORE)
                assert_int_equal(used, piece - pos);
            else
                assert_true(used > 0);
            pos += used;
            log_out(&l, &s, &o);
        }
        free(copy);
        off += piece;
    }
    if (st == WISP_OK) {
        st = wisp_sse_finish(&s, &o);
        if (st == WISP_OK) {
            log_out(&l, &s, &o);
            /* nothing more after the end */
            st = wisp_sse_finish(&s, &o);
            assert_int_equal(st, WISP_OK);
            assert_int_equal(o.kind, WISP_SSE_NEED_MORE);
        }
    }
    log_status(&l, st);
    free(buf);
    return l.s;
}

/* Checks one input in every split against the expected log. */
static void check_cap(const char *in, size_t n, size_t cap, const char *want)
{
    uint32_t split;
    for (split = 0; split < 40; split++) {
        char *got = replay(in, n, cap, split);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "split %u: input \"", (unsigned)split);
            fwrite(in, 1, n < 200 ? n : 200, stderr);
            fprintf(stderr, "\"\nwant:\n%sgot:\n%s", want, got);
        }
        assert_string_equal(got, want);
        free(got);
    }
}

#define CHECK(lit, want) check_cap(lit, sizeof(lit) - 1, 256, want)
#define CHECK_CAP(lit, cap, want) check_cap(lit, sizeof(lit) - 1, cap, want)

/* ---- rules -------------------------------------------------------------- */

static void test_data_and_space(void **state)
{
    (void)state;
    CHECK("data: hello\n\n", "E hello\n");
    CHECK("data:hello\n\n", "E hello\n");
    CHECK("data:  hello\n\n", "E  hello\n"); /* only one space removed */
    CHECK("data:\thello\n\n", "E \\x09hello\n"); /* a tab is not a space */
    CHECK("data: hello \n\n", "E hello \n");
    CHECK("data: a: b\n\n", "E a: b\n"); /* only the first colon splits */
    CHECK("data: {\"a\":1}\n\ndata: {\"b\":2}\n\n", "E {\"a\":1}\nE {\"b\":2}\n");
}

static void test_empty_data(void **state)
{
    (void)state;
    CHECK("data:\n\n", "E \n");
    CHECK("data: \n\n", "E \n");
    CHECK("data\n\n", "E \n"); /* no colon: field name, empty value */
    CHECK("data:\ndata:\n\n", "E \\n\n");
    CHECK("data: a\ndata\n\n", "E a\\n\n");
}

static void test_multiline(void **state)
{
    (void)state;
    CHECK("data: a\ndata: b\n\n", "E a\\nb\n");
    CHECK("data: a\ndata: b\ndata: c\n\n", "E a\\nb\\nc\n");
    CHECK("data: a\n: comment\ndata: b\n\n", "E a\\nb\n");
    CHECK("data: a\nid: 1\ndata: b\n\n", "E a\\nb\n");
}

static void test_line_ends(void **state)
{
    (void)state;
    CHECK("data: a\r\n\r\ndata: b\r\n\r\n", "E a\nE b\n");
    CHECK("data: a\r\rdata: b\r\r", "E a\nE b\n");
    CHECK("data: a\r\ndata: b\rdata: c\n\r\n", "E a\\nb\\nc\n");
    /* CR LF is one line end, also when split across feeds (the byte-by-byte
     * and random replays split it): one event, not two. */
    CHECK("data: a\r\ndata: b\r\n\r\n", "E a\\nb\n");
    /* LF CR is two line ends */
    CHECK("data: a\n\rdata: b\n\n", "E a\nE b\n");
    CHECK("data: a\n\r\n\n", "E a\n"); /* \r\n is one blank line, \n another */
    CHECK(":c\r\ndata: x\r\n\r\n", "E x\n");
    CHECK("data\r\r", "E \n");
    CHECK("data\r\ndata\r\n\r\n", "E \\n\n"); /* CRLF after a bare name */
    CHECK("error\r\ndata: x\r\n\r\n", "L \nE x\n");
    CHECK("event: error\rdata: e\r\r", "X e\n");
}

/* The line scan finds LF first and then CR only before it, and a line that
 * starts with "data:" whole in one feed takes its name at once: each must
 * give what the byte-by-byte path gives. */
static void test_line_scan_and_data_name(void **state)
{
    (void)state;
    CHECK("data: ab\rcd\ndata: ef\n\n", "E ab\\nef\n"); /* CR before LF: cd a name */
    CHECK("data: ab\ncd\rdata: e\n\n", "E ab\\ne\n"); /* LF before CR */
    CHECK("data: 0123456789abcdefghijklmnopqrstuvwxyz0123456789\r\n\r\n",
          "E 0123456789abcdefghijklmnopqrstuvwxyz0123456789\n");
    CHECK("data:\n\n", "E \n");
    CHECK("data:x\n\n", "E x\n");
    CHECK("datax: y\ndata: z\n\n", "E z\n"); /* a longer name is not data */
    CHECK("dat: y\ndata: z\n\n", "E z\n");
    CHECK("data\ndata:", "E \n"); /* a partial last line is dropped */
    CHECK("data: a\ndata:b\n\n", "E a\\nb\n");
    CHECK("\xEF\xBB\xBF" "data: bom\n\n", "E bom\n");
    CHECK("event: error\ndata: e\n\n", "X e\n");
}

static void test_cr_lf_across_feeds(void **state)
{
    uint8_t buf[64];
    wisp_sse s;
    wisp_sse_out o;
    size_t used;
    (void)state;
    wisp_sse_init(&s, buf, sizeof buf);
    assert_int_equal(wisp_sse_feed(&s, (const uint8_t *)"data: a\r", 8, &used, &o), WISP_OK);
    assert_int_equal(used, 8);
    assert_int_equal(o.kind, WISP_SSE_NEED_MORE);
    /* the LF belongs to the CR before it: no blank line yet */
    assert_int_equal(wisp_sse_feed(&s, (const uint8_t *)"\n", 1, &used, &o), WISP_OK);
    assert_int_equal(o.kind, WISP_SSE_NEED_MORE);
    assert_int_equal(wisp_sse_feed(&s, (const uint8_t *)"\r", 1, &used, &o), WISP_OK);
    assert_int_equal(o.kind, WISP_SSE_EVENT);
    assert_int_equal(o.len, 1);
    assert_memory_equal(o.data, "a", 1);
    assert_int_equal(wisp_sse_feed(&s, (const uint8_t *)"\n", 1, &used, &o), WISP_OK);
    assert_int_equal(o.kind, WISP_SSE_NEED_MORE);
    assert_int_equal(wisp_sse_feed(&s, (const uint8_t *)"data: b\n\n", 9, &used, &o), WISP_OK);
    assert_int_equal(o.kind, WISP_SSE_EVENT);
    assert_memory_equal(o.data, "b", 1);
    assert_int_equal(used, 9);
}

static void test_bom(void **state)
{
    (void)state;
    CHECK("\xEF\xBB\xBF" "data: x\n\n", "E x\n");
    CHECK("\xEF\xBB\xBF" "\ndata: x\n\n", "E x\n");
    /* only at the very start */
    CHECK("data: x\n\n\xEF\xBB\xBF" "data: y\n\n", "E x\n");
    CHECK("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n", "");
    /* a cut-short BOM starts an unknown field name */
    CHECK("\xEF\xBB" "data: x\n\ndata: y\n\n", "E y\n");
    CHECK("\xEF" "data: x\n\ndata: y\n\n", "E y\n");
    CHECK("\xEF\n" "data: y\n\n", "E y\n");
    CHECK("\xEF:x\n" "data: y\n\n", "E y\n");
    CHECK("\xEF\xBB\xBF", "");
    CHECK("\xEF\xBB", "");
    /* BOM bytes inside data are data */
    CHECK("data: \xEF\xBB\xBF\n\n", "E \xEF\xBB\xBF\n");
}

static void test_comments(void **state)
{
    (void)state;
    CHECK(": OPENROUTER PROCESSING\n\ndata: x\n\n", "E x\n");
    CHECK(": ping\n: ping\ndata: x\n\n", "E x\n");
    CHECK(":\n\n", "");
    CHECK(":data: x\n\n", "");
    CHECK("data: x\n:\n\n", "E x\n");
}

static void test_event_field(void **state)
{
    (void)state;
    CHECK("event: error\ndata: {}\n\n", "X {}\n");
    CHECK("event:error\ndata: {}\n\n", "X {}\n");
    CHECK("data: {}\nevent: error\n\n", "X {}\n");
    CHECK("event: message\ndata: y\n\n", "E y\n");
    CHECK("event: errorx\ndata: y\n\n", "E y\n");
    CHECK("event: erro\ndata: y\n\n", "E y\n");
    CHECK("event: Error\ndata: y\n\n", "E y\n");
    CHECK("event:  error\ndata: y\n\n", "E y\n"); /* value " error" */
    CHECK("event: error \ndata: y\n\n", "E y\n");
    CHECK("event\ndata: y\n\n", "E y\n");
    /* the type belongs to one event */
    CHECK("event: error\ndata: a\n\ndata: b\n\n", "X a\nE b\n");
    /* a blank line without data resets it too */
    CHECK("event: error\n\ndata: b\n\n", "E b\n");
    /* the last event line wins */
    CHECK("event: error\nevent: x\ndata: a\n\n", "E a\n");
    CHECK("event: x\nevent: error\ndata: a\n\n", "X a\n");
    CHECK("event: error\nevent\ndata: a\n\n", "E a\n");
}

static void test_ignored_fields(void **state)
{
    (void)state;
    CHECK("id: 5\nretry: 100\ndata: a\n\n", "E a\n");
    CHECK("foo: bar\ndata: a\n\n", "E a\n");
    CHECK("dataa: x\ndat: y\nData: z\n data: w\ndata : v\n\n", "");
    CHECK("eventual: error\ndata: a\n\n", "E a\n");
    CHECK("errors: x\nerro: y\n\n", "");
    CHECK("id\nretry\nfoo\n\n", "");
    CHECK("\n\n\n", "");
    CHECK("id: 1\n\n", "");
}

static void test_error_line(void **state)
{
    (void)state;
    CHECK("error: {\"code\":500,\"message\":\"boom\"}\n\ndata: [DONE]\n\n",
          "L {\"code\":500,\"message\":\"boom\"}\nE [DONE]\n");
    CHECK("error:x\n", "L x\n");
    CHECK("error\n", "L \n");
    CHECK("error:  x\n", "L  x\n");
    /* in the middle of an event: reported at once, the event goes on */
    CHECK("data: a\nerror: oops\ndata: b\n\n", "L oops\nE a\\nb\n");
    CHECK("data: a\r\nerror: oops\r\n\r\n", "L oops\nE a\n");
    /* a partial error line at the end is dropped */
    CHECK("error: x", "");
}

static void test_binary_in_data(void **state)
{
    (void)state;
    CHECK("data: a\0b\n\n", "E a\\x00b\n");
    CHECK("data: \xFF\xFE\x80\n\n", "E \xFF\xFE\x80\n");
    CHECK("data: \xF0\x9F\x8E\x89 ok\n\n", "E \xF0\x9F\x8E\x89 ok\n");
}

static void test_finish(void **state)
{
    (void)state;
    CHECK("data: [DONE]\n", "E [DONE]\n");
    CHECK("data: [DONE]\r", "E [DONE]\n");
    CHECK("data: [DONE]\r\n", "E [DONE]\n");
    CHECK("data: a\ndata: b\n", "E a\\nb\n");
    /* a partial last line is dropped, with its data */
    CHECK("data: [DONE]", "");
    CHECK("data: a\n\ndata: b", "E a\n");
    CHECK("data: a\ndata: b", "E a\n");
    CHECK("data: a\ndata:", "E a\n");
    CHECK("data: a\ndata", "E a\n");
    CHECK("data: a\nda", "E a\n");
    CHECK("data: a\nevent: error", "E a\n");
    CHECK("event: error\ndata: a\n", "X a\n");
    CHECK("", "");
    CHECK(": only a comment", "");
}

static void test_too_large(void **state)
{
    (void)state;
    CHECK_CAP("data: 12345678\n\n", 8, "E 12345678\n");
    CHECK_CAP("data: 123456789\n\n", 8, "! WISP_ERR_TOO_LARGE\n");
    CHECK_CAP("data: 1234\ndata: 123\n\n", 8, "E 1234\\n123\n");
    CHECK_CAP("data: 1234\ndata: 1234\n\n", 8, "! WISP_ERR_TOO_LARGE\n");
    /* the separator alone does not fit */
    CHECK_CAP("data: 12345678\ndata\n\n", 8, "! WISP_ERR_TOO_LARGE\n");
    CHECK_CAP("error: 12345678\n", 8, "L 12345678\n");
    CHECK_CAP("error: 123456789\n", 8, "! WISP_ERR_TOO_LARGE\n");
    /* an error line shares the room with the event in progress */
    CHECK_CAP("data: 1234\nerror: 1234\n\n", 8, "L 1234\nE 1234\n");
    CHECK_CAP("data: 1234\nerror: 12345\n\n", 8, "! WISP_ERR_TOO_LARGE\n");
    /* events before the big one are delivered */
    CHECK_CAP("data: ok\n\ndata: 123456789\n\n", 8, "E ok\n! WISP_ERR_TOO_LARGE\n");
    /* a zero-size buffer still passes empty events */
    CHECK_CAP("data\n\ndata:\n\n", 0, "E \nE \n");
    CHECK_CAP("data: x\n\n", 0, "! WISP_ERR_TOO_LARGE\n");
}

static void test_error_is_sticky(void **state)
{
    uint8_t buf[4];
    wisp_sse s;
    wisp_sse_out o;
    size_t used;
    (void)state;
    wisp_sse_init(&s, buf, sizeof buf);
    assert_int_equal(wisp_sse_feed(&s, (const uint8_t *)"data: 12345", 11, &used, &o),
                     WISP_ERR_TOO_LARGE);
    assert_int_equal(wisp_sse_feed(&s, (const uint8_t *)"\n\n", 2, &used, &o),
                     WISP_ERR_TOO_LARGE);
    assert_int_equal(used, 0);
    assert_int_equal(wisp_sse_finish(&s, &o), WISP_ERR_TOO_LARGE);
    assert_int_equal(o.kind, WISP_SSE_NEED_MORE);
}

/* Lines nobody needs are skipped whatever their length, with a tiny buffer. */
static void test_long_ignored_lines(void **state)
{
    const size_t big = 200000;
    const char *heads[] = {":", "id: ", "retry: ", "x-unknown-field: ", "event: "};
    size_t h;
    (void)state;
    for (h = 0; h < sizeof heads / sizeof heads[0]; h++) {
        size_t hl = strlen(heads[h]);
        size_t n = hl + big + sizeof "\ndata: a\n\n" - 1;
        char *in = malloc(n);
        assert_non_null(in);
        memcpy(in, heads[h], hl);
        memset(in + hl, 'e', big);
        memcpy(in + hl + big, "\ndata: a\n\n", sizeof "\ndata: a\n\n" - 1);
        check_cap(in, n, 16, "E a\n");
        /* a long name too */
        memset(in, 'z', hl + big);
        check_cap(in, n, 16, "E a\n");
        free(in);
    }
}

/* One event's data as large as the buffer, in many lines. */
static void test_big_event_exact_fit(void **state)
{
    enum { LINES = 500, W = 30 };
    size_t cap = LINES * W + (LINES - 1);
    size_t n = LINES * (6 + W + 1) + 1;
    char *in = malloc(n);
    char *want = malloc(cap * 2 + 8);
    char *p = in, *q = want;
    size_t i;
    (void)state;
    assert_non_null(in);
    assert_non_null(want);
    q += sprintf(q, "E ");
    for (i = 0; i < LINES; i++) {
        memcpy(p, "data: ", 6);
        p += 6;
        memset(p, 'a' + (int)(i % 26), W);
        memset(q, 'a' + (int)(i % 26), W);
        p += W;
        q += W;
        *p++ = '\n';
        if (i + 1 < LINES) {
            memcpy(q, "\\n", 2);
            q += 2;
        }
    }
    *p++ = '\n';
    strcpy(q, "\n");
    assert_int_equal((size_t)(p - in), n);
    check_cap(in, n, cap, want);
    check_cap(in, n, cap - 1, "! WISP_ERR_TOO_LARGE\n");
    free(in);
    free(want);
}

static void test_args(void **state)
{
    uint8_t buf[8];
    wisp_sse s;
    wisp_sse_out o;
    size_t used = 7;
    (void)state;
    wisp_sse_init(NULL, buf, sizeof buf);
    wisp_sse_init(&s, buf, sizeof buf);
    assert_int_equal(wisp_sse_feed(NULL, (const uint8_t *)"x", 1, &used, &o), WISP_ERR_ARG);
    assert_int_equal(used, 0);
    assert_int_equal(wisp_sse_feed(&s, NULL, 1, &used, &o), WISP_ERR_ARG);
    assert_int_equal(wisp_sse_feed(&s, (const uint8_t *)"x", 1, NULL, &o), WISP_ERR_ARG);
    assert_int_equal(wisp_sse_feed(&s, (const uint8_t *)"x", 1, &used, NULL), WISP_ERR_ARG);
    assert_int_equal(wisp_sse_finish(NULL, &o), WISP_ERR_ARG);
    assert_int_equal(wisp_sse_finish(&s, NULL), WISP_ERR_ARG);
    /* an empty feed is fine, also with NULL input */
    assert_int_equal(wisp_sse_feed(&s, NULL, 0, &used, &o), WISP_OK);
    assert_int_equal(used, 0);
    assert_int_equal(o.kind, WISP_SSE_NEED_MORE);
    /* a NULL buffer acts as one of size 0 */
    wisp_sse_init(&s, NULL, 100);
    assert_int_equal(s.cap, 0);
    assert_int_equal(wisp_sse_feed(&s, (const uint8_t *)"data\n\n", 6, &used, &o), WISP_OK);
    assert_int_equal(o.kind, WISP_SSE_EVENT);
    assert_int_equal(o.len, 0);
}

/* The data pointer stays valid until the next feed, whatever the input. */
static void test_data_survives_input(void **state)
{
    uint8_t buf[32];
    char in[] = "data: abc\n\ndata: def\n\n";
    wisp_sse s;
    wisp_sse_out o;
    size_t used;
    (void)state;
    wisp_sse_init(&s, buf, sizeof buf);
    assert_int_equal(wisp_sse_feed(&s, (uint8_t *)in, sizeof in - 1, &used, &o), WISP_OK);
    assert_int_equal(o.kind, WISP_SSE_EVENT);
    assert_int_equal(used, 11);
    memset(in, 'Z', sizeof in - 1); /* the caller reuses its receive buffer */
    assert_memory_equal(o.data, "abc", 3);
}

/* Many events in one feed: each call stops at one; used adds up. */
static void test_many_events_one_feed(void **state)
{
    static char in[64 * 12 + 1];
    uint8_t buf[16];
    wisp_sse s;
    wisp_sse_out o;
    size_t off = 0, n = 0, used, count = 0;
    int i;
    (void)state;
    for (i = 0; i < 64; i++)
        n += (size_t)sprintf(in + n, "data: %03d\n\n", i);
    wisp_sse_init(&s, buf, sizeof buf);
    while (off < n) {
        char want[8];
        assert_int_equal(wisp_sse_feed(&s, (uint8_t *)in + off, n - off, &used, &o), WISP_OK);
        off += used;
        if (o.kind == WISP_SSE_NEED_MORE)
            break;
        sprintf(want, "%03d", (int)count);
        assert_int_equal(o.len, 3);
        assert_memory_equal(o.data, want, 3);
        count++;
    }
    assert_int_equal(count, 64);
    assert_int_equal(off, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_and_space),
        cmocka_unit_test(test_empty_data),
        cmocka_unit_test(test_multiline),
        cmocka_unit_test(test_line_ends),
        cmocka_unit_test(test_line_scan_and_data_name),
        cmocka_unit_test(test_cr_lf_across_feeds),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_event_field),
        cmocka_unit_test(test_ignored_fields),
        cmocka_unit_test(test_error_line),
        cmocka_unit_test(test_binary_in_data),
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_long_ignored_lines),
        cmocka_unit_test(test_big_event_exact_fit),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_data_survives_input),
        cmocka_unit_test(test_many_events_one_feed),
    };
    return cmocka_run_group_tests_name("sse", tests, NULL, NULL);
}
