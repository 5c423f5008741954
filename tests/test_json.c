/*
 * test_json.c - unit tests for core/wisp_json.c and core/wisp_text.c:
 * text buffers, unescape (split pieces included), tokenizing and grammar
 * checks, token helpers, completion, error and HTML readers.
 *
 * gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -Icore tests/test_json.c \
 *     core/wisp_json.c core/wisp_text.c -lcmocka
 */
#include <setjmp.h>
#include <stdarg.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "needs.h"

#include "wisp_json.h"
#include "wisp_reply.h"

#include "fuzz/json_oracle.h" /* oracle_check: an independent grammar */

#define LIT(s) (s), (sizeof(s) - 1)

/* ---- helpers ------------------------------------------------------------ */

/* Collects emitted text and checks each piece is whole UTF-8 characters. */
typedef struct sink {
    char buf[4096];
    size_t len;
    int calls;
    int stop_after; /* return non-zero on this call (1-based); 0: never */
} sink;

static bool whole_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0, k, need;
    while (i < n) {
        unsigned char c = s[i];
        need = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (i + need > n)
            return false;
        for (k = 1; k < need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += need;
    }
    return true;
}

static int sink_emit(void *ctx, const char *s, size_t n)
{
    sink *k = (sink *)ctx;
    assert_true(n > 0);
    assert_true(whole_utf8((const unsigned char *)s, n));
    assert_true(k->len + n < sizeof k->buf);
    memcpy(k->buf + k->len, s, n);
    k->len += n;
    k->buf[k->len] = '\0';
    k->calls++;
    return k->stop_after != 0 && k->calls >= k->stop_after;
}

static void sink_init(sink *k)
{
    memset(k, 0, sizeof *k);
}

/* Unescapes one whole string (more = false). */
static wisp_status unescape_all(const char *s, size_t n, sink *k)
{
    wisp_unescape u;
    sink_init(k);
    wisp_unescape_init(&u);
    return wisp_unescape_feed(&u, s, n, false, sink_emit, k);
}

#define ASSERT_BYTES(k, lit)                                                 \
    do {                                                                     \
        assert_int_equal((k)->len, sizeof(lit) - 1);                         \
        assert_memory_equal((k)->buf, (lit), sizeof(lit) - 1);               \
    } while (0)

#define FFFD "\xEF\xBF\xBD"

static char g_content[256];
static char g_reasoning[256];

static void resp_init(wisp_response *r, size_t content_cap)
{
    memset(r, 0, sizeof *r);
    memset(g_content, 'X', sizeof g_content);
    memset(g_reasoning, 'X', sizeof g_reasoning);
    r->content.buf = g_content;
    r->content.cap = content_cap;
    r->reasoning.buf = g_reasoning;
    r->reasoning.cap = sizeof g_reasoning;
}

static wisp_token g_toks[256];

static wisp_status tokenize(const char *js, size_t len, int *count)
{
    return wisp_json_tokenize(js, len, g_toks, 256, count);
}

static wisp_status tokenize_str(const char *js)
{
    int count;
    return tokenize(js, strlen(js), &count);
}

/* A whole reply through the one reader, as the client reads a JSON body. */
static wisp_status completion(const char *js, wisp_response *r)
{
    wisp_reply rp;
    char scratch[64];
    wisp_status st;
    wisp_reply_init(&rp, r, g_toks, 256, NULL, NULL);
    wisp_reply_scratch(&rp, scratch, sizeof scratch);
    st = wisp_reply_document(&rp, js, strlen(js));
    if (st == WISP_OK)
        st = wisp_reply_end(&rp, true);
    return st;
}

static wisp_status error_body(const char *js, wisp_response *r)
{
    return wisp_error_read(js, strlen(js), false, g_toks, 256, r);
}

/* ---- text buffers ------------------------------------------------------- */

static void test_text_append_basic(void **state)
{
    char buf[16];
    wisp_text t = {buf, sizeof buf, 0, 0, false};
    (void)state;
    memset(buf, 'X', sizeof buf);
    wisp_text_reset(&t);
    assert_int_equal(buf[0], '\0');
    wisp_text_append(&t, LIT("abc"));
    wisp_text_append(&t, LIT("de"));
    wisp_text_append(&t, "", 0);
    assert_string_equal(buf, "abcde");
    assert_int_equal(t.len, 5);
    assert_int_equal(t.full_len, 5);
    assert_false(t.truncated);
    /* exact fit: 15 bytes + NUL */
    wisp_text_append(&t, LIT("0123456789"));
    assert_int_equal(t.len, 15);
    assert_false(t.truncated);
    assert_string_equal(buf, "abcde0123456789");
    wisp_text_append(&t, LIT("z"));
    assert_int_equal(t.len, 15);
    assert_int_equal(t.full_len, 16);
    assert_true(t.truncated);
    wisp_text_reset(&t);
    assert_int_equal(t.len, 0);
    assert_int_equal(t.full_len, 0);
    assert_false(t.truncated);
    assert_string_equal(buf, "");
}

static void test_text_cut_two_byte(void **state)
{
    char buf[4];
    wisp_text t = {buf, sizeof buf, 0, 0, false};
    (void)state;
    wisp_text_reset(&t);
    wisp_text_append(&t, LIT("ab"));
    wisp_text_append(&t, LIT("\xC3\xA9")); /* é needs 2, 1 left */
    assert_int_equal(t.len, 2);
    assert_int_equal(t.full_len, 4);
    assert_true(t.truncated);
    assert_string_equal(buf, "ab");
}

static void test_text_cut_three_byte(void **state)
{
    char buf[5];
    wisp_text t = {buf, sizeof buf, 0, 0, false};
    (void)state;
    wisp_text_reset(&t);
    wisp_text_append(&t, LIT("ab\xE2\x82\xAC")); /* "ab€": 5 bytes, 4 room */
    assert_int_equal(t.len, 2);
    assert_int_equal(t.full_len, 5);
    assert_true(t.truncated);
    assert_string_equal(buf, "ab");
}

static void test_text_cut_four_byte(void **state)
{
    char buf[8];
    wisp_text t = {buf, sizeof buf, 0, 0, false};
    (void)state;
    wisp_text_reset(&t);
    /* "a" + 🎉 + 🎉: 9 bytes, 7 room: the second emoji goes. */
    wisp_text_append(&t, LIT("a\xF0\x9F\x8E\x89\xF0\x9F\x8E\x89"));
    assert_int_equal(t.len, 5);
    assert_int_equal(t.full_len, 9);
    assert_true(t.truncated);
    assert_memory_equal(buf, "a\xF0\x9F\x8E\x89", 6);
    /* Nothing more once cut, not even a character that would fit. */
    wisp_text_append(&t, LIT("b"));
    assert_int_equal(t.len, 5);
    assert_int_equal(t.full_len, 10);
    assert_int_equal(buf[5], '\0');
}

static void test_text_cut_mixed_single_append(void **state)
{
    char buf[7];
    wisp_text t = {buf, sizeof buf, 0, 0, false};
    (void)state;
    wisp_text_reset(&t);
    /* "aé€🎉" = 1+2+3+4 bytes, room 6: "aé€" */
    wisp_text_append(&t, LIT("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x8E\x89"));
    assert_int_equal(t.len, 6);
    assert_int_equal(t.full_len, 10);
    assert_string_equal(buf, "a\xC3\xA9\xE2\x82\xAC");
}

static void test_text_cap_zero(void **state)
{
    wisp_text t = {NULL, 0, 0, 0, false};
    char one[1];
    wisp_text u = {one, 1, 0, 0, false};
    (void)state;
    wisp_text_reset(&t);
    wisp_text_append(&t, LIT("hello"));
    wisp_text_append(&t, LIT("!"));
    assert_int_equal(t.len, 0);
    assert_int_equal(t.full_len, 6);
    assert_true(t.truncated);
    one[0] = 'X';
    wisp_text_reset(&u);
    wisp_text_append(&u, LIT("x"));
    assert_int_equal(u.len, 0);
    assert_int_equal(u.full_len, 1);
    assert_true(u.truncated);
    assert_int_equal(one[0], '\0');
    assert_int_equal(wisp_text_emit(&u, LIT("y")), 0);
    assert_int_equal(u.full_len, 2);
}

static size_t utf8_len(const char *s, size_t n)
{
    return wisp_utf8_len((const uint8_t *)s, n);
}

/* The one UTF-8 validator and the one case-insensitive compare of core. */
static void test_utf8_len_and_imatch(void **state)
{
    (void)state;
    assert_int_equal(utf8_len(LIT("a")), 1);
    assert_int_equal(utf8_len(LIT("\xC3\xA9")), 2);
    assert_int_equal(utf8_len(LIT("\xE2\x82\xAC")), 3);
    assert_int_equal(utf8_len(LIT("\xF0\x9F\x8E\x89")), 4);
    assert_int_equal(utf8_len("\xF0\x9F\x8E", 3), 0);    /* cut short */
    assert_int_equal(utf8_len(LIT("\xC0\x80")), 0);       /* overlong */
    assert_int_equal(utf8_len(LIT("\xED\xA0\x80")), 0);  /* a surrogate */
    assert_int_equal(utf8_len(LIT("\xF4\x90\x80\x80")), 0); /* > U+10FFFF */
    assert_int_equal(utf8_len(LIT("\x80")), 0);
    assert_int_equal(utf8_len(NULL, 0), 0);
    assert_int_equal(wisp_utf8_whole(LIT("ab")), 2);
    assert_int_equal(wisp_utf8_whole("a\xE2\x82", 3), 1);      /* a split euro sign */
    assert_int_equal(wisp_utf8_whole("a\xE2\x82\xAC", 4), 4);
    assert_int_equal(wisp_utf8_whole("\xF0\x9F\x8E", 3), 0);
    assert_int_equal(wisp_utf8_whole("a\x80\x80", 3), 3);      /* no character starts: kept */
    assert_int_equal(wisp_utf8_whole("a\xC0", 2), 2);           /* never a valid start */
    assert_int_equal(wisp_utf8_whole("", 0), 0);
    assert_int_equal(wisp_ascii_imatch(LIT("Content-Length"), "content-length"), 2);
    assert_int_equal(wisp_ascii_imatch(LIT("CONTENT"), "content-length"), 1);
    assert_int_equal(wisp_ascii_imatch(LIT("Content-Lengths"), "content-length"), 0);
    assert_int_equal(wisp_ascii_imatch(LIT("x"), "y"), 0);
    assert_int_equal(wisp_ascii_imatch("a\0b", 3, "a"), 0);
    assert_int_equal(wisp_ascii_imatch("", 0, ""), 2);
}

/* ---- unescape ----------------------------------------------------------- */

static void test_unescape_simple_escapes(void **state)
{
    sink k;
    (void)state;
    assert_int_equal(unescape_all(LIT("a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti"), &k),
                     WISP_OK);
    ASSERT_BYTES(&k, "a\"b\\c/d\be\ff\ng\rh\ti");
    assert_int_equal(k.calls, 1); /* escapes do not split the text */
    assert_int_equal(unescape_all(LIT(""), &k), WISP_OK);
    assert_int_equal(k.len, 0);
    assert_int_equal(k.calls, 0);
}

static void test_unescape_u_escapes(void **state)
{
    sink k;
    (void)state;
    assert_int_equal(unescape_all(LIT("\\u0041\\u00e9\\u20AC\\uFFFF"), &k),
                     WISP_OK);
    ASSERT_BYTES(&k, "A\xC3\xA9\xE2\x82\xAC\xEF\xBF\xBF");
    assert_int_equal(unescape_all(LIT("\\u007f\\u0080\\u07ff\\u0800"), &k),
                     WISP_OK);
    ASSERT_BYTES(&k, "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80");
    /* \u0000 would end a C string early: it becomes U+FFFD. */
    assert_int_equal(unescape_all(LIT("a\\u0000b"), &k), WISP_OK);
    ASSERT_BYTES(&k, "a" FFFD "b");
}

static void test_unescape_surrogates(void **state)
{
    sink k;
    (void)state;
    assert_int_equal(unescape_all(LIT("\\ud83c\\udf89"), &k), WISP_OK);
    ASSERT_BYTES(&k, "\xF0\x9F\x8E\x89");
    assert_int_equal(unescape_all(LIT("\\uD800\\uDC00\\uDBFF\\uDFFF"), &k),
                     WISP_OK);
    ASSERT_BYTES(&k, "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
    /* lone high, followed by text / by the end / by another high */
    assert_int_equal(unescape_all(LIT("\\ud83cx"), &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD "x");
    assert_int_equal(unescape_all(LIT("x\\ud83c"), &k), WISP_OK);
    ASSERT_BYTES(&k, "x" FFFD);
    assert_int_equal(unescape_all(LIT("\\ud83c\\ud83c\\udf89"), &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD "\xF0\x9F\x8E\x89");
    assert_int_equal(unescape_all(LIT("\\ud83c\\u0041"), &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD "A");
    /* lone low */
    assert_int_equal(unescape_all(LIT("\\udf89a"), &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD "a");
    assert_int_equal(unescape_all(LIT("\\udf89\\ud83c"), &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD FFFD);
}

static void test_unescape_surrogate_split(void **state)
{
    wisp_unescape u;
    sink k;
    (void)state;
    sink_init(&k);
    wisp_unescape_init(&u);
    assert_int_equal(wisp_unescape_feed(&u, LIT("Party \\ud83c"), true,
                                        sink_emit, &k), WISP_OK);
    ASSERT_BYTES(&k, "Party ");
    assert_int_equal(u.high, 0xD83C);
    /* an empty delta in between keeps the half */
    assert_int_equal(wisp_unescape_feed(&u, NULL, 0, true, sink_emit, &k),
                     WISP_OK);
    assert_int_equal(u.high, 0xD83C);
    assert_int_equal(wisp_unescape_feed(&u, LIT("\\udf89!"), true, sink_emit,
                                        &k), WISP_OK);
    ASSERT_BYTES(&k, "Party \xF0\x9F\x8E\x89!");
    assert_int_equal(u.high, 0);
    assert_int_equal(wisp_unescape_finish(&u, sink_emit, &k), WISP_OK);
    ASSERT_BYTES(&k, "Party \xF0\x9F\x8E\x89!");
}

static void test_unescape_surrogate_split_unmatched(void **state)
{
    wisp_unescape u;
    sink k;
    (void)state;
    sink_init(&k);
    wisp_unescape_init(&u);
    assert_int_equal(wisp_unescape_feed(&u, LIT("\\ud83c"), true, sink_emit,
                                        &k), WISP_OK);
    assert_int_equal(k.len, 0);
    assert_int_equal(wisp_unescape_feed(&u, LIT("next"), true, sink_emit, &k),
                     WISP_OK);
    ASSERT_BYTES(&k, FFFD "next");
    /* kept high, then the stream ends */
    assert_int_equal(wisp_unescape_feed(&u, LIT("\\udbff"), true, sink_emit,
                                        &k), WISP_OK);
    assert_int_equal(wisp_unescape_finish(&u, sink_emit, &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD "next" FFFD);
    assert_int_equal(u.high, 0);
    /* kept high, then a last piece with more = false and no low half */
    assert_int_equal(wisp_unescape_feed(&u, LIT("\\ud83c"), true, sink_emit,
                                        &k), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, NULL, 0, false, sink_emit, &k),
                     WISP_OK);
    ASSERT_BYTES(&k, FFFD "next" FFFD FFFD);
    /* kept high, next piece begins with another high that is split again */
    assert_int_equal(wisp_unescape_feed(&u, LIT("\\ud83c"), true, sink_emit,
                                        &k), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, LIT("\\ud83c"), true, sink_emit,
                                        &k), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, LIT("\\udf89"), false, sink_emit,
                                        &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD "next" FFFD FFFD FFFD "\xF0\x9F\x8E\x89");
}

static void test_unescape_raw_utf8_split(void **state)
{
    wisp_unescape u;
    sink k;
    (void)state;
    sink_init(&k);
    wisp_unescape_init(&u);
    assert_int_equal(wisp_unescape_feed(&u, LIT("1\xE2\x82"), true, sink_emit,
                                        &k), WISP_OK);
    ASSERT_BYTES(&k, "1");
    assert_int_equal(u.part_len, 2);
    assert_int_equal(wisp_unescape_feed(&u, LIT("\xAC!"), true, sink_emit, &k),
                     WISP_OK);
    ASSERT_BYTES(&k, "1\xE2\x82\xAC!");
    /* a 4-byte character over three pieces */
    assert_int_equal(wisp_unescape_feed(&u, LIT("\xF0"), true, sink_emit, &k),
                     WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, LIT("\x9F"), true, sink_emit, &k),
                     WISP_OK);
    assert_int_equal(u.part_len, 2);
    assert_int_equal(wisp_unescape_feed(&u, LIT("\x8E\x89z"), false, sink_emit,
                                        &k), WISP_OK);
    ASSERT_BYTES(&k, "1\xE2\x82\xAC!\xF0\x9F\x8E\x89z");
    assert_int_equal(u.part_len, 0);
}

static void test_unescape_raw_utf8_split_invalid(void **state)
{
    wisp_unescape u;
    sink k;
    (void)state;
    sink_init(&k);
    wisp_unescape_init(&u);
    /* the rest never comes: U+FFFD, then the new text */
    assert_int_equal(wisp_unescape_feed(&u, LIT("\xE2\x82"), true, sink_emit,
                                        &k), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, LIT("A"), true, sink_emit, &k),
                     WISP_OK);
    ASSERT_BYTES(&k, FFFD "A");
    /* ... or an escape comes instead */
    assert_int_equal(wisp_unescape_feed(&u, LIT("\xF0\x9F\x8E"), true,
                                        sink_emit, &k), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, LIT("\\n"), true, sink_emit, &k),
                     WISP_OK);
    ASSERT_BYTES(&k, FFFD "A" FFFD "\n");
    /* ... or the stream ends */
    assert_int_equal(wisp_unescape_feed(&u, LIT("\xC3"), true, sink_emit, &k),
                     WISP_OK);
    assert_int_equal(wisp_unescape_finish(&u, sink_emit, &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD "A" FFFD "\n" FFFD);
    /* a kept lead, then one valid and one bad continuation */
    assert_int_equal(wisp_unescape_feed(&u, LIT("\xF0"), true, sink_emit, &k),
                     WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, LIT("\x9F" "A"), false, sink_emit,
                                        &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD "A" FFFD "\n" FFFD FFFD "A");
}

static void test_unescape_invalid_utf8(void **state)
{
    sink k;
    (void)state;
    /* overlong '/' : C0 is never valid, AF is a stray continuation */
    assert_int_equal(unescape_all(LIT("\xC0\xAF"), &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD FFFD);
    /* overlong 3-byte: E0 80 is not a valid start */
    assert_int_equal(unescape_all(LIT("\xE0\x80\xAF"), &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD FFFD FFFD);
    /* UTF-16 surrogate encoded in UTF-8 */
    assert_int_equal(unescape_all(LIT("\xED\xA0\x80"), &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD FFFD FFFD);
    /* above U+10FFFF */
    assert_int_equal(unescape_all(LIT("\xF4\x90\x80\x80"), &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD FFFD FFFD FFFD);
    assert_int_equal(unescape_all(LIT("\xF5\xFF"), &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD FFFD);
    /* stray continuation between good text */
    assert_int_equal(unescape_all(LIT("a\x80z"), &k), WISP_OK);
    ASSERT_BYTES(&k, "a" FFFD "z");
    /* maximal subpart: E2 82 then 'A' -> one U+FFFD */
    assert_int_equal(unescape_all(LIT("\xE2\x82" "A"), &k), WISP_OK);
    ASSERT_BYTES(&k, FFFD "A");
    /* truncated at the end of the last piece: one U+FFFD */
    assert_int_equal(unescape_all(LIT("ok\xF0\x9F\x8E"), &k), WISP_OK);
    ASSERT_BYTES(&k, "ok" FFFD);
    /* valid boundaries pass through untouched */
    assert_int_equal(unescape_all(LIT("\xC2\x80\xED\x9F\xBF\xEE\x80\x80"
                                      "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"),
                                  &k), WISP_OK);
    ASSERT_BYTES(&k, "\xC2\x80\xED\x9F\xBF\xEE\x80\x80\xF0\x90\x80\x80"
                     "\xF4\x8F\xBF\xBF");
    assert_int_equal(k.calls, 1);
}

static void test_unescape_bad_escapes(void **state)
{
    sink k;
    (void)state;
    assert_int_equal(unescape_all(LIT("a\\x41"), &k), WISP_ERR_JSON);
    assert_int_equal(unescape_all(LIT("\\u12G4"), &k), WISP_ERR_JSON);
    assert_int_equal(unescape_all(LIT("\\u12"), &k), WISP_ERR_JSON);
    assert_int_equal(unescape_all(LIT("ab\\"), &k), WISP_ERR_JSON);
    assert_int_equal(unescape_all(LIT("\\U0041"), &k), WISP_ERR_JSON);
    assert_int_equal(unescape_all(LIT("\\'"), &k), WISP_ERR_JSON);
    /* raw control bytes */
    assert_int_equal(unescape_all(LIT("a\nb"), &k), WISP_ERR_JSON);
    assert_int_equal(unescape_all(LIT("a\tb"), &k), WISP_ERR_JSON);
    assert_int_equal(unescape_all("a\0b", 3, &k), WISP_ERR_JSON);
    assert_int_equal(unescape_all(LIT("\x1F"), &k), WISP_ERR_JSON);
    /* DEL is fine */
    assert_int_equal(unescape_all(LIT("\x7F"), &k), WISP_OK);
    ASSERT_BYTES(&k, "\x7F");
    /* a high surrogate followed by a broken escape */
    assert_int_equal(unescape_all(LIT("\\ud83c\\uZZZZ"), &k), WISP_ERR_JSON);
}

/* A raw control byte anywhere in any string (a key or a value the reader
 * never looks at) makes the document invalid, wherever it falls against
 * the word-at-a-time scan; every byte from 0x20 up is fine. */
static void test_tokenize_control_byte_anywhere(void **state)
{
    static const unsigned char fine[] = {0x20, 0x7F, 0x80, 0xA0, 0xFF, '~', '!'};
    wisp_token toks[8];
    char doc[64];
    size_t len, at, f;
    int count;
    (void)state;
    for (len = 1; len <= 40; len++) {
        for (at = 0; at < len; at++) {
            unsigned c;
            for (c = 0; c < 0x20; c++) {
                size_t n = 0;
                doc[n++] = '{';
                doc[n++] = '"';
                memset(doc + n, 'k', len);
                doc[n + at] = (char)c;
                n += len;
                memcpy(doc + n, "\":1}", 4);
                n += 4;
                assert_int_equal(wisp_json_tokenize(doc, n, toks, 8, &count), WISP_ERR_JSON);
                /* the same in a value */
                memcpy(doc, "{\"k\":\"", 6);
                memset(doc + 6, 'v', len);
                doc[6 + at] = (char)c;
                memcpy(doc + 6 + len, "\"}", 2);
                assert_int_equal(wisp_json_tokenize(doc, 8 + len, toks, 8, &count),
                                 WISP_ERR_JSON);
            }
            for (f = 0; f < sizeof fine; f++) {
                memcpy(doc, "{\"k\":\"", 6);
                memset(doc + 6, 'v', len);
                doc[6 + at] = (char)fine[f];
                memcpy(doc + 6 + len, "\"}", 2);
                assert_int_equal(wisp_json_tokenize(doc, 8 + len, toks, 8, &count), WISP_OK);
                assert_int_equal(count, 3);
            }
        }
    }
}

static void test_unescape_runs_and_cancel(void **state)
{
    char big[300];
    wisp_unescape u;
    sink k;
    size_t i;
    (void)state;
    /* a long plain run is handed over in one piece */
    for (i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(unescape_all(big, sizeof big, &k), WISP_OK);
    assert_int_equal(k.calls, 1);
    assert_int_equal(k.len, sizeof big);
    /* runs with escapes between them stay whole characters */
    for (i = 0; i + 1 < sizeof big; i += 2) {
        big[i] = '\\';
        big[i + 1] = 'n';
    }
    assert_int_equal(unescape_all(big, sizeof big, &k), WISP_OK);
    assert_int_equal(k.len, sizeof big / 2);
    assert_true(k.calls >= 2 && k.calls <= 5);
    /* cancel */
    sink_init(&k);
    k.stop_after = 1;
    wisp_unescape_init(&u);
    assert_int_equal(wisp_unescape_feed(&u, LIT("hello"), false, sink_emit, &k),
                     WISP_ERR_CANCELLED);
    sink_init(&k);
    k.stop_after = 1;
    assert_int_equal(wisp_unescape_feed(&u, LIT("\\ud83c"), true, sink_emit,
                                        &k), WISP_OK);
    assert_int_equal(wisp_unescape_finish(&u, sink_emit, &k),
                     WISP_ERR_CANCELLED);
    /* cancel while a long run goes straight to the caller */
    sink_init(&k);
    k.stop_after = 1;
    memset(big, 'a', sizeof big);
    wisp_unescape_init(&u);
    assert_int_equal(wisp_unescape_feed(&u, big, sizeof big, false, sink_emit,
                                        &k), WISP_ERR_CANCELLED);
    assert_int_equal(k.calls, 1);
    /* validate only */
    wisp_unescape_init(&u);
    assert_int_equal(wisp_unescape_feed(&u, LIT("\\u00e9"), false, NULL, NULL),
                     WISP_OK);
    assert_int_equal(wisp_unescape_feed(NULL, LIT("x"), false, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_unescape_feed(&u, NULL, 1, false, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_unescape_finish(NULL, NULL, NULL), WISP_ERR_ARG);
}

/* ---- tokenizer and grammar --------------------------------------------- */

static void test_tokenize_valid(void **state)
{
    int count = -1;
    const char *js = " {\"a\": [1, -0.5e+3, true, false, null, \"s\", {}, []],"
                     " \"b\": {\"c\": \"d\"}} \r\n\t";
    (void)state;
    assert_int_equal(tokenize(js, strlen(js), &count), WISP_OK);
    assert_int_equal(count, 15);
    assert_int_equal(g_toks[0].type, WISP_TOK_OBJECT);
    assert_int_equal(g_toks[0].size, 2);
    assert_int_equal(g_toks[2].type, WISP_TOK_ARRAY);
    assert_int_equal(g_toks[2].size, 8);
    assert_int_equal(g_toks[3].type, WISP_TOK_PRIMITIVE);
    assert_int_equal(g_toks[8].type, WISP_TOK_STRING);
    assert_int_equal(wisp_json_tokenize(LIT("[]"), g_toks, 1, &count), WISP_OK);
    assert_int_equal(count, 1);
    assert_int_equal(tokenize_str("\"top\""), WISP_OK);
    assert_int_equal(tokenize_str("[0,-0,1.5,1E2,1e-2,123456789012345678901]"),
                     WISP_OK);
    assert_int_equal(tokenize_str("{\"\":\"\"}"), WISP_OK);
    assert_int_equal(tokenize_str("[\"\\u00e9\\n\xC3\xA9\"]"), WISP_OK);
}

static void test_tokenize_too_complex(void **state)
{
    int count = -1;
    (void)state;
    assert_int_equal(wisp_json_tokenize(LIT("[1,2,3]"), g_toks, 3, &count),
                     WISP_ERR_TOO_COMPLEX);
    assert_int_equal(count, 0);
    assert_int_equal(wisp_json_tokenize(LIT("[1,2,3]"), g_toks, 4, &count),
                     WISP_OK);
    assert_int_equal(count, 4);
    assert_int_equal(wisp_json_tokenize(LIT("{}"), g_toks, 0, &count),
                     WISP_ERR_TOO_COMPLEX);
    assert_int_equal(wisp_json_tokenize(NULL, 0, g_toks, 4, &count),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_json_tokenize(LIT("{}"), NULL, 4, &count),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_json_tokenize(LIT("{}"), g_toks, 4, NULL),
                     WISP_ERR_ARG);
    /* only the tokens the text needs are touched, whatever cap says */
    assert_int_equal(wisp_json_tokenize(LIT("[1]"), g_toks, SIZE_MAX, &count),
                     WISP_OK);
    assert_int_equal(count, 2);
#if SIZE_MAX > INT_MAX
    /* refused before a byte is read */
    assert_int_equal(wisp_json_tokenize("{}", (size_t)INT_MAX + 1, g_toks, 4,
                                        &count), WISP_ERR_TOO_LARGE);
#endif
}

static void test_tokenize_trailing_garbage(void **state)
{
    int count;
    (void)state;
    assert_int_equal(tokenize_str("{} x"), WISP_ERR_JSON);
    assert_int_equal(tokenize_str("{}{}"), WISP_ERR_JSON);
    assert_int_equal(tokenize_str("{} \"a\""), WISP_ERR_JSON);
    assert_int_equal(tokenize_str("[] []"), WISP_ERR_JSON);
    assert_int_equal(tokenize_str("{},"), WISP_ERR_JSON);
    assert_int_equal(tokenize_str("{}]"), WISP_ERR_JSON);
    assert_int_equal(tokenize_str("{}}"), WISP_ERR_JSON);
    assert_int_equal(tokenize_str("\"a\" \"b\""), WISP_ERR_JSON);
    assert_int_equal(tokenize("{}\0x", 4, &count), WISP_ERR_JSON);
    assert_int_equal(tokenize("{}\0", 3, &count), WISP_ERR_JSON);
    assert_int_equal(tokenize("{\"a\":1}\0}", 9, &count), WISP_ERR_JSON);
    assert_int_equal(tokenize_str(""), WISP_ERR_JSON);
    assert_int_equal(tokenize_str("   \n"), WISP_ERR_JSON);
    assert_int_equal(tokenize_str("{} \n "), WISP_OK);
}

static void test_tokenize_bad_primitives(void **state)
{
    static const char *const bad[] = {
        "[tru]", "[nul]", "[fals]", "[truex]", "[nulll]", "[-]", "[01]",
        "[-01]", "[1.e]", "[1.]", "[1e]", "[1e+]", "[-a]", "[1x]", "[0x1]",
        "[1.5.5]", "[--1]", "[t]", "[n]", "[1e5e5]", "[1-]", "{\"a\":tRUE}",
        "[NaN]", "[Infinity]", "[.5]", "[+1]"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tokenize_str(bad[i]) != WISP_ERR_JSON)
            fail_msg("accepted: %s", bad[i]);
    }
    assert_int_equal(tokenize_str("[0,1,-1,1.0,0.5e10,1E-0,true,false,null]"),
                     WISP_OK);
}

static void test_tokenize_bad_structure(void **state)
{
    static const char *const bad[] = {
        "{\"a\" 1}", "{\"a\" \"b\"}", "{\"a\":1 \"b\":2}", "[1 2]",
        "[\"a\" \"b\"]", "[1,]", "[,1]", "[1,,2]", "{\"a\":1,}", "{,}",
        "{\"a\"}", "{\"a\":}", "[\"a\":1]", "{\"a\":\"b\":\"c\"}", "{1:2}",
        "[}", "{]", "{\"a\":1", "[", "]", "}", ":", ",", "{\"a\"::1}",
        "[{}{}]", "{\"a\":[] \"b\":1}", "{\"a\":{},,\"b\":1}", "[\"a\x01\"]",
        "[\"a\nb\"]", "{\"k\x1f\":1}", "[\"\\x\"]", "[\"\\u12\"]", "[\"abc]",
        "[\"\\\"]", "{\"a\":1}}", "[]]", "x", "[x]", "{\"a\":[}]}"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tokenize_str(bad[i]) != WISP_ERR_JSON)
            fail_msg("accepted: %s", bad[i]);
    }
    /* a bare top-level number has no delimiter for jsmn: refused */
    assert_int_equal(tokenize_str("1"), WISP_ERR_JSON);
}

/* The grammar check reads only the gaps between jsmn's tokens: what each
 * gap must hold comes from the parent links.  Every gap of these texts, in
 * every container shape, gets white space, a missing, doubled or misplaced
 * separator or bracket, or a bad primitive; the tokenizer must agree with
 * an independent grammar (json_oracle.h) on each.  A bare top-level
 * primitive with nothing after it is the one known difference (jsmn needs
 * a delimiter), and no mutation here makes one. */
static void test_tokenize_gap_mutations(void **state)
{
    static const char *const seeds[] = {
        "{\"a\":[1,{\"b\":[]},[[2],[]],\"c\"],\"d\":{\"e\":{},\"f\":null},\"g\":-0.5e+3}",
        "[[[]],{},[{\"k\":[true,false]}],\"s\",0]",
        ("{\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},"
         "\"finish_reason\":null}],\"usage\":null}"),
        "[{\"a\":1},{\"b\":[2,3]},[4],5]",
        " { \"a\" : [ 1 , 2 ] , \"b\" : { } } ",
    };
    static const char put[] = {',', ':', '[', ']', '{', '}', '"', '0', '1', '-', '.', 'e',
                               't', 'n', ' ', '\n', '\t', '\x01', '\\', 'x', '\0'};
    char doc[160];
    size_t si, i, c, n, len;
    int count;
    (void)state;
    for (si = 0; si < sizeof seeds / sizeof seeds[0]; si++) {
        const char *seed = seeds[si];
        len = strlen(seed);
        assert_true(len + 1 < sizeof doc);
        assert_int_equal(oracle_check((const uint8_t *)seed, len, 64, false), 1);
        assert_int_equal(tokenize(seed, len, &count), WISP_OK);
        for (i = 0; i <= len; i++) {
            for (c = 0; c <= 2 * sizeof put; c++) {
                if (c < sizeof put) { /* insert put[c] before byte i */
                    memcpy(doc, seed, i);
                    doc[i] = put[c];
                    memcpy(doc + i + 1, seed + i, len - i);
                    n = len + 1;
                } else if (c < 2 * sizeof put) { /* byte i becomes put[c] */
                    if (i == len)
                        continue;
                    memcpy(doc, seed, len);
                    doc[i] = put[c - sizeof put];
                    n = len;
                } else { /* byte i deleted */
                    if (i == len)
                        continue;
                    memcpy(doc, seed, i);
                    memcpy(doc + i, seed + i + 1, len - i - 1);
                    n = len - 1;
                }
                if ((tokenize(doc, n, &count) == WISP_OK) !=
                    (oracle_check((const uint8_t *)doc, n, 64, false) == 1))
                    fail_msg("seed %u, byte %u, mutation %u: tokenizer and grammar disagree",
                             (unsigned)si, (unsigned)i, (unsigned)c);
            }
        }
    }
}

/* The word-at-a-time control-byte pass over the whole text: a control byte
 * in a string at every offset against the words (the text shifted by up to
 * a word of spaces), beside white space that holds control bytes of its
 * own (the per-string check then decides), and in texts shorter than a
 * word. */
static void test_tokenize_control_byte_words(void **state)
{
    char doc[96];
    size_t shift, at, n, ws, len = 20;
    int count;
    (void)state;
    for (ws = 0; ws < 2; ws++) {
        for (shift = 0; shift <= 9; shift++) {
            for (at = 0; at < len; at++) {
                memset(doc, ' ', shift);
                n = shift;
                if (ws) /* white space that holds control bytes too */
                    doc[n++] = '\t';
                doc[n++] = '[';
                if (ws)
                    doc[n++] = '\n';
                doc[n++] = '"';
                memset(doc + n, 'v', len);
                doc[n + at] = '\x1f';
                n += len;
                memcpy(doc + n, "\"]\r", 3);
                n += ws ? 3 : 2;
                assert_int_equal(wisp_json_tokenize(doc, n, g_toks, 8, &count), WISP_ERR_JSON);
                doc[n - len - (ws ? 3 : 2) + at] = 'v';
                assert_int_equal(wisp_json_tokenize(doc, n, g_toks, 8, &count), WISP_OK);
                assert_int_equal(count, 2);
            }
        }
    }
    assert_int_equal(tokenize_str("[\"\x01\"]"), WISP_ERR_JSON);
    assert_int_equal(tokenize_str("[\"\x7f\"]"), WISP_OK);
    assert_int_equal(tokenize_str("[\n1]"), WISP_OK);
    assert_int_equal(tokenize_str("[\"\t\"]"), WISP_ERR_JSON);
    assert_int_equal(tokenize_str("{\"\n\":1}"), WISP_ERR_JSON);
}

/* Gaps that only the parent links tell apart. */
static void test_tokenize_gaps(void **state)
{
    static const char *const bad[] = {
        "[[1]2]", "[[1],]", "[[1],,2]", "[[1] ,, 2]", "{\"a\":[1]\"b\":2}",
        "{\"a\":{}:1}", "[[]:1]", "{\"a\" : 1 : 2}", "[1:2]", "{\"a\":1 ,}",
        "[1,\n]", "[\n,1]", "[{}:{}]", "{\"a\":[],}", "[[[1]],,[2]]", "{\"a\":{\"b\":1}}}",
        "{\"a\":{\"b\":1},}", "{\"a\":{\"b\":1}\"c\":2}", "[\"a\",\"b\":1]", "{\"a\":1}:",
        "{\"a\":1},", "{\"a\":\"b\" \"c\":1}", "{\"a\":[1] \"c\"}", "{\"a\"}",
        "{\"a\",\"b\":1}", "{\"a\":1,\"b\"}", "[[01]]", "{\"a\":[1,2.]}", "[1,-]",
        "[true,nul]", "{\"a\":[[tru]]}", "[[1e]]", "[1,[2,[3,[4 5]]]]", ":[1]", ",[1]",
        "[1]]", "[1],[2]", "\"a\":1", "\"a\":1 ", "1 2 ", "[1,\x00 2]"};
    static const char *const good[] = {
        "[[1],2]", "[[1] , 2 ]", "{\"a\":[1],\"b\":{}}", "[[[1]],[[2]]]",
        "{\"a\" \t:\n1\r,\"b\":[ ]}", "[ ]", "{ }", "[{},{},[]]", "\"a\" ", "1 ",
        "{\"a\":{\"b\":{\"c\":[true,false,null,0,-1.5e-3]}}}", "[\"\",\"\"]"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (tokenize_str(bad[i]) != WISP_ERR_JSON)
            fail_msg("accepted: %s", bad[i]);
    for (i = 0; i < sizeof good / sizeof good[0]; i++)
        if (tokenize_str(good[i]) != WISP_OK)
            fail_msg("refused: %s", good[i]);
}

static void test_skip_and_find(void **state)
{
    const char *js = "{\"deep\": [[[{\"x\": [1, {\"y\": 2}]}]]], "
                     "\"k\": \"v\", \"\\u0063ontent\": 7, \"n\": null}";
    int count, v;
    (void)state;
    assert_int_equal(tokenize(js, strlen(js), &count), WISP_OK);
    v = wisp_json_find(js, g_toks, count, 0, "k");
    assert_true(v > 0);
    assert_true(wisp_json_eq(js, &g_toks[v], "v"));
    assert_false(wisp_json_eq(js, &g_toks[v], "vv"));
    assert_false(wisp_json_eq(js, &g_toks[v], ""));
    v = wisp_json_find(js, g_toks, count, 0, "content");
    assert_true(v > 0);
    assert_true(wisp_json_eq(js, &g_toks[v - 1], "content"));
    assert_false(wisp_json_eq(js, &g_toks[v - 1], "conten"));
    assert_false(wisp_json_eq(js, &g_toks[v - 1], "contentx"));
    assert_false(wisp_json_eq(js, &g_toks[v], "7")); /* not a string */
    v = wisp_json_find(js, g_toks, count, 0, "n");
    assert_true(wisp_json_is_null(js, &g_toks[v]));
    assert_int_equal(wisp_json_find(js, g_toks, count, 0, "x"), -1);
    assert_int_equal(wisp_json_find(js, g_toks, count, 0, "missing"), -1);
    assert_int_equal(wisp_json_find(js, g_toks, count, 2, "k"), -1); /* array */
    assert_int_equal(wisp_json_find(js, g_toks, count, -1, "k"), -1);
    assert_int_equal(wisp_json_find(js, g_toks, count, count, "k"), -1);
    assert_int_equal(wisp_json_skip(g_toks, count, 0), count);
    assert_int_equal(count, 18);
    assert_int_equal(wisp_json_skip(g_toks, count, 1), 12); /* key "deep" */
    assert_int_equal(wisp_json_skip(g_toks, count, 2), 12); /* its value */
    assert_int_equal(wisp_json_skip(g_toks, count, 5), 12);
    assert_int_equal(wisp_json_skip(g_toks, count, 7), 12);
    assert_int_equal(wisp_json_skip(g_toks, count, 8), 9);
    assert_int_equal(wisp_json_skip(g_toks, count, 12), 14); /* "k": "v" */
    assert_int_equal(wisp_json_skip(g_toks, count, 13), 14);
    assert_int_equal(wisp_json_skip(g_toks, count, 99), count);
    assert_int_equal(wisp_json_skip(g_toks, count, -5), count);
}

static void test_deep_nesting(void **state)
{
    static char js[20002];
    static wisp_token toks[10001];
    int count, i;
    (void)state;
    for (i = 0; i < 10000; i++) {
        js[i] = '[';
        js[19999 - i] = ']';
    }
    assert_int_equal(wisp_json_tokenize(js, 20000, toks, 10001, &count),
                     WISP_OK);
    assert_int_equal(count, 10000);
    assert_int_equal(wisp_json_skip(toks, count, 0), 10000);
    assert_int_equal(wisp_json_skip(toks, count, 5000), 10000);
    assert_int_equal(wisp_json_tokenize(js, 20000, toks, 100, &count),
                     WISP_ERR_TOO_COMPLEX);
    js[19999] = '}';
    assert_int_equal(wisp_json_tokenize(js, 20000, toks, 10001, &count),
                     WISP_ERR_JSON);
}

static void test_numbers(void **state)
{
    const char *js = "[123, -1, 1.5, 4294967296, 4294967295, 1e3, \"7\", 0, "
                     "-9223372036854775808, 9223372036854775807, "
                     "9223372036854775808, -9223372036854775809, 1.7e9, -0,"
                     " 99999999999999999999999]";
    int count;
    uint32_t u = 77;
    int64_t s = 77;
    (void)state;
    assert_int_equal(tokenize(js, strlen(js), &count), WISP_OK);
    assert_true(wisp_json_u32(js, &g_toks[1], &u));
    assert_int_equal(u, 123);
    assert_false(wisp_json_u32(js, &g_toks[2], &u));
    assert_false(wisp_json_u32(js, &g_toks[3], &u));
    assert_false(wisp_json_u32(js, &g_toks[4], &u));
    assert_true(wisp_json_u32(js, &g_toks[5], &u));
    assert_int_equal(u, 4294967295u);
    assert_false(wisp_json_u32(js, &g_toks[6], &u));
    assert_false(wisp_json_u32(js, &g_toks[7], &u));
    assert_true(wisp_json_u32(js, &g_toks[8], &u));
    assert_int_equal(u, 0);
    assert_true(wisp_json_i64(js, &g_toks[2], &s));
    assert_int_equal(s, -1);
    assert_true(wisp_json_i64(js, &g_toks[9], &s));
    assert_true(s == INT64_MIN);
    assert_true(wisp_json_i64(js, &g_toks[10], &s));
    assert_true(s == INT64_MAX);
    s = 5;
    assert_false(wisp_json_i64(js, &g_toks[11], &s));
    assert_false(wisp_json_i64(js, &g_toks[12], &s));
    assert_false(wisp_json_i64(js, &g_toks[13], &s));
    assert_int_equal(s, 5);
    assert_true(wisp_json_i64(js, &g_toks[14], &s));
    assert_int_equal(s, 0);
    assert_false(wisp_json_i64(js, &g_toks[15], &s));
    assert_false(wisp_json_u32(js, &g_toks[15], &u));
}

/* The 64-bit overflow bound, on both sides of 2^64: a wrap would read
 * 18446744073709551616 as 0 and 18446744073709551617 as 1. */
static void test_number_at_two_to_the_64(void **state)
{
    const char *js = "[18446744073709551615, 18446744073709551616, 18446744073709551617, "
                     "184467440737095516150, 1844674407370955161]";
    int count, i;
    int64_t s = 5;
    uint32_t u = 5;
    (void)state;
    assert_int_equal(tokenize(js, strlen(js), &count), WISP_OK);
    for (i = 1; i <= 4; i++) {
        assert_false(wisp_json_i64(js, &g_toks[i], &s));
        assert_false(wisp_json_u32(js, &g_toks[i], &u));
    }
    assert_int_equal(s, 5);
    assert_true(wisp_json_i64(js, &g_toks[5], &s));
    assert_true(s == 1844674407370955161LL);
}

static void test_field(void **state)
{
    const char *js = "[\"a\\u00e9\", 404, null, true, {}, \"toolong\\u20ac\"]";
    char f[8];
    bool cut = false;
    int count;
    (void)state;
    assert_int_equal(tokenize(js, strlen(js), &count), WISP_OK);
    assert_int_equal(wisp_json_field(js, &g_toks[1], f, sizeof f, &cut),
                     WISP_OK);
    assert_string_equal(f, "a\xC3\xA9");
    assert_false(cut);
    assert_int_equal(wisp_json_field(js, &g_toks[2], f, sizeof f, &cut),
                     WISP_OK);
    assert_string_equal(f, "404");
    assert_int_equal(wisp_json_field(js, &g_toks[3], f, sizeof f, &cut),
                     WISP_OK);
    assert_string_equal(f, "");
    strcpy(f, "old");
    assert_int_equal(wisp_json_field(js, &g_toks[4], f, sizeof f, &cut),
                     WISP_ERR_JSON);
    assert_string_equal(f, "");
    assert_int_equal(wisp_json_field(js, &g_toks[5], f, sizeof f, &cut),
                     WISP_ERR_JSON);
    assert_false(cut);
    assert_int_equal(wisp_json_field(js, &g_toks[6], f, sizeof f, &cut),
                     WISP_OK);
    assert_string_equal(f, "toolong"); /* € cut at its boundary */
    assert_true(cut);
    cut = false;
    assert_int_equal(wisp_json_field(js, &g_toks[2], f, sizeof f, &cut),
                     WISP_OK);
    assert_false(cut);
    assert_int_equal(wisp_json_field(js, &g_toks[2], f, sizeof f, NULL),
                     WISP_OK);
}

static void test_usage(void **state)
{
    const char *js =
        "[{\"prompt_tokens\": 11, \"completion_tokens\": 22, "
        "\"total_tokens\": 33, \"prompt_tokens_details\": "
        "{\"cached_tokens\": 4, \"audio_tokens\": 0}, "
        "\"completion_tokens_details\": {\"reasoning_tokens\": 5}},"
        " null,"
        " {\"prompt_tokens\": 1, \"prompt_tokens_details\": null, "
        "\"completion_tokens_details\": null, \"total_tokens\": 1.5},"
        " \"usage\","
        " {\"prompt_tokens\": \"11\", \"total_tokens\": 0},"
        " {\"prompt_tokens_details\": 3, \"completion_tokens_details\": [1],"
        " \"completion_tokens\": 4294967295}]";
    int count, i, elem[6];
    wisp_usage u;
    (void)state;
    assert_int_equal(tokenize(js, strlen(js), &count), WISP_OK);
    for (i = 0, elem[0] = 1; i < 5; i++)
        elem[i + 1] = wisp_json_skip(g_toks, count, elem[i]);
    memset(&u, 0, sizeof u);
    assert_int_equal(wisp_json_usage(js, g_toks, count, elem[0], &u), WISP_OK);
    assert_true(u.present);
    assert_int_equal(u.prompt_tokens, 11);
    assert_int_equal(u.completion_tokens, 22);
    assert_int_equal(u.total_tokens, 33);
    assert_int_equal(u.cached_tokens, 4);
    assert_int_equal(u.reasoning_tokens, 5);
    assert_true(u.has_prompt_tokens && u.has_completion_tokens && u.has_total_tokens &&
                u.has_cached_tokens && u.has_reasoning_tokens);
    /* null leaves earlier usage alone */
    assert_int_equal(wisp_json_usage(js, g_toks, count, elem[1], &u), WISP_OK);
    assert_int_equal(u.total_tokens, 33);
    assert_true(u.has_total_tokens);
    /* replaced entirely; null details fine; 1.5 is absent, not 1 or 0 */
    assert_int_equal(wisp_json_usage(js, g_toks, count, elem[2], &u), WISP_OK);
    assert_true(u.present);
    assert_int_equal(u.prompt_tokens, 1);
    assert_true(u.has_prompt_tokens);
    assert_int_equal(u.completion_tokens, 0);
    assert_false(u.has_completion_tokens);
    assert_int_equal(u.total_tokens, 0);
    assert_false(u.has_total_tokens);
    assert_int_equal(u.cached_tokens, 0);
    assert_false(u.has_cached_tokens || u.has_reasoning_tokens);
    /* usage that is not an object: u untouched */
    assert_int_equal(wisp_json_usage(js, g_toks, count, elem[3], &u),
                     WISP_ERR_JSON);
    assert_int_equal(u.prompt_tokens, 1);
    /* a count of another type is absent, its neighbours still read; a 0 is
     * present */
    assert_int_equal(wisp_json_usage(js, g_toks, count, elem[4], &u), WISP_OK);
    assert_false(u.has_prompt_tokens);
    assert_int_equal(u.prompt_tokens, 0);
    assert_true(u.has_total_tokens);
    assert_int_equal(u.total_tokens, 0);
    /* details that are not objects: their counts absent; 2^32-1 fits */
    assert_int_equal(wisp_json_usage(js, g_toks, count, elem[5], &u), WISP_OK);
    assert_true(u.present);
    assert_false(u.has_cached_tokens || u.has_reasoning_tokens || u.has_prompt_tokens);
    assert_true(u.has_completion_tokens);
    assert_int_equal(u.completion_tokens, 4294967295u);
    assert_int_equal(wisp_json_usage(js, g_toks, count, count, &u),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_json_usage(js, g_toks, count, elem[0], NULL),
                     WISP_ERR_ARG);
}

/* Every count that is not an integer in 0..2^32-1, in each of the five
 * places a count sits: absent and 0, the other four still read. */
static void test_usage_counts_out_of_range(void **state)
{
    static const char *const bad[] = {
        "4294967296", "-1", "-0", "1.0", "0.5", "1e3", "1E2", "10e-1",
        "99999999999999999999999999999999999999999999999999", "18446744073709551616",
        "null", "true", "\"12\"", "{}", "[]",
    };
    static const char *const place[] = {
        "{\"prompt_tokens\":%s,\"completion_tokens\":2,\"total_tokens\":3,"
        "\"prompt_tokens_details\":{\"cached_tokens\":4},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":5}}",
        "{\"prompt_tokens\":1,\"completion_tokens\":%s,\"total_tokens\":3,"
        "\"prompt_tokens_details\":{\"cached_tokens\":4},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":5}}",
        "{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":%s,"
        "\"prompt_tokens_details\":{\"cached_tokens\":4},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":5}}",
        "{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3,"
        "\"prompt_tokens_details\":{\"cached_tokens\":%s},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":5}}",
        "{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3,"
        "\"prompt_tokens_details\":{\"cached_tokens\":4},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":%s}}",
    };
    char js[512];
    size_t b, p;
    int count;
    wisp_usage u;
    (void)state;
    for (b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        for (p = 0; p < 5; p++) {
            bool has[5];
            uint32_t val[5];
            size_t k;
            snprintf(js, sizeof js, place[p], bad[b]);
            assert_int_equal(tokenize(js, strlen(js), &count), WISP_OK);
            memset(&u, 0xa5, sizeof u);
            assert_int_equal(wisp_json_usage(js, g_toks, count, 0, &u), WISP_OK);
            assert_true(u.present);
            has[0] = u.has_prompt_tokens, val[0] = u.prompt_tokens;
            has[1] = u.has_completion_tokens, val[1] = u.completion_tokens;
            has[2] = u.has_total_tokens, val[2] = u.total_tokens;
            has[3] = u.has_cached_tokens, val[3] = u.cached_tokens;
            has[4] = u.has_reasoning_tokens, val[4] = u.reasoning_tokens;
            for (k = 0; k < 5; k++) {
                if (k == p) {
                    if (has[k] || val[k] != 0)
                        fail_msg("%s as count %zu: has %d, value %u", bad[b], k,
                                 (int)has[k], (unsigned)val[k]);
                } else {
                    assert_true(has[k]);
                    assert_int_equal(val[k], k + 1);
                }
            }
        }
    }
}

/* ---- completion bodies -------------------------------------------------- */

/* The reader's key lookup steps from key to key: past a leaf value at once,
 * past a container's subtree by offsets.  Keys after nested values, keys
 * inside values that look like the ones wanted, the first of duplicates
 * (written plainly or with escapes), escaped keys. */
static void test_completion_keys_past_values(void **state)
{
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"x\":{\"choices\":[{\"message\":{\"content\":\"no\"}}],"
                                "\"id\":\"no\"},\"y\":[[{\"id\":\"no\"}],[]],\"id\":\"i1\","
                                "\"\\u0069d\":\"i2\",\"id\":\"i3\",\"model\":\"m\",\"choices\":"
                                "[{\"index\":0,\"x\":{\"finish_reason\":\"no\"},\"message\":"
                                "{\"z\":[],\"content\":\"yes\",\"content\":\"dup\"},"
                                "\"finish_reason\":\"stop\"}],\"choices\":[]}",
                                &r),
                     WISP_OK);
    assert_string_equal(r.id, "i1");
    assert_string_equal(r.model, "m");
    assert_string_equal(g_content, "yes");
    assert_string_equal(r.finish_reason, "stop");
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"\\u0069d\":\"e1\",\"id\":\"e2\",\"ch\\u006fices\":[{\"m"
                                "essage\":{\"\\u0063ontent\":\"esc\"},\"finish_reason\":"
                                "\"length\"}]}",
                                &r),
                     WISP_OK);
    assert_string_equal(r.id, "e1");
    assert_string_equal(g_content, "esc");
    assert_string_equal(r.finish_reason, "length");
}

static void test_completion_openai(void **state)
{
    wisp_response r;
    const char *js =
        "{\n  \"id\": \"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\n"
        "  \"object\": \"chat.completion\",\n  \"created\": 1741570283,\n"
        "  \"model\": \"gpt-4o-2024-08-06\",\n  \"choices\": [\n    {\n"
        "      \"index\": 0,\n      \"message\": {\n"
        "        \"role\": \"assistant\",\n"
        "        \"content\": \"The image shows a wooden boardwalk.\",\n"
        "        \"refusal\": null,\n        \"annotations\": []\n      },\n"
        "      \"logprobs\": null,\n      \"finish_reason\": \"stop\"\n"
        "    }\n  ],\n  \"usage\": {\n    \"prompt_tokens\": 1117,\n"
        "    \"completion_tokens\": 46,\n    \"total_tokens\": 1163,\n"
        "    \"prompt_tokens_details\": {\"cached_tokens\": 0, "
        "\"audio_tokens\": 0},\n    \"completion_tokens_details\": {"
        "\"reasoning_tokens\": 0, \"audio_tokens\": 0, "
        "\"accepted_prediction_tokens\": 0, "
        "\"rejected_prediction_tokens\": 0}\n  },\n"
        "  \"service_tier\": \"default\",\n"
        "  \"system_fingerprint\": \"fp_fc9f1d7035\"\n}\n";
    (void)state;
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion(js, &r), WISP_OK);
    assert_string_equal(r.id, "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG");
    assert_string_equal(r.model, "gpt-4o-2024-08-06");
    assert_true(r.created == 1741570283);
    assert_string_equal(r.role, "assistant");
    assert_string_equal(g_content, "The image shows a wooden boardwalk.");
    assert_int_equal(r.content.len, 35);
    assert_int_equal(r.content.full_len, 35);
    assert_false(r.content.truncated);
    assert_false(r.content_null);
    assert_string_equal(g_reasoning, "");
    assert_int_equal(r.reasoning.len, 0);
    assert_string_equal(r.finish_reason, "stop");
    assert_true(r.usage.present);
    assert_int_equal(r.usage.prompt_tokens, 1117);
    assert_int_equal(r.usage.completion_tokens, 46);
    assert_int_equal(r.usage.total_tokens, 1163);
    assert_int_equal(r.usage.cached_tokens, 0);
    assert_int_equal(r.usage.reasoning_tokens, 0);
    assert_false(r.fields_truncated);
    assert_string_equal(r.error_message, "");
}

static void test_completion_gateway_gemini(void **state)
{
    wisp_response r;
    /* fields in another order, Gemini extras, usage first */
    const char *js =
        "{\"usage\":{\"completion_tokens\":9,\"prompt_tokens\":4,"
        "\"total_tokens\":40,\"completion_tokens_details\":"
        "{\"reasoning_tokens\":27},\"prompt_tokens_details\":"
        "{\"cached_tokens\":null,\"text_tokens\":4}},"
        "\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,"
        "\"message\":{\"content\":\"Hello! \\ud83d\\udc4b How can I help?\","
        "\"role\":\"assistant\",\"extra_content\":{\"google\":"
        "{\"thought_signature\":\"abc\"}}}}],"
        "\"created\":1751000000,\"id\":\"x4hVaPq\","
        "\"model\":\"gemini-2.5-flash\",\"object\":\"chat.completion\","
        "\"provider\":\"google\"}";
    (void)state;
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion(js, &r), WISP_OK);
    assert_string_equal(r.id, "x4hVaPq");
    assert_string_equal(r.model, "gemini-2.5-flash");
    assert_true(r.created == 1751000000);
    assert_string_equal(g_content,
                        "Hello! \xF0\x9F\x91\x8B How can I help?");
    assert_string_equal(r.finish_reason, "stop");
    assert_int_equal(r.usage.prompt_tokens, 4);
    assert_int_equal(r.usage.completion_tokens, 9);
    assert_int_equal(r.usage.total_tokens, 40);
    assert_int_equal(r.usage.reasoning_tokens, 27);
    assert_int_equal(r.usage.cached_tokens, 0);
}

static void test_completion_llamacpp_and_reasoning(void **state)
{
    wisp_response r;
    const char *js =
        "{\"choices\":[{\"finish_reason\":\"length\",\"index\":0,"
        "\"message\":{\"role\":\"assistant\",\"content\":\"42\","
        "\"reasoning_content\":\"Think: 6\\u00d77.\"}}],"
        "\"created\":1740000000,\"model\":\"qwen3\",\"system_fingerprint\":"
        "\"b5000\",\"object\":\"chat.completion\",\"usage\":"
        "{\"completion_tokens\":10,\"prompt_tokens\":5,\"total_tokens\":15},"
        "\"id\":\"chatcmpl-abc\",\"timings\":{\"prompt_n\":5,"
        "\"prompt_ms\":12.5,\"predicted_per_second\":55.1}}";
    const char *js2 =
        "{\"id\":\"gen-1\",\"provider\":\"DeepInfra\",\"model\":\"deepseek/r1\","
        "\"choices\":[{\"logprobs\":null,\"finish_reason\":\"stop\","
        "\"native_finish_reason\":\"stop\",\"index\":0,\"message\":"
        "{\"role\":\"assistant\",\"content\":\"Hi\",\"refusal\":null,"
        "\"reasoning\":\"The user greets.\",\"reasoning_details\":"
        "[{\"type\":\"reasoning.text\",\"text\":\"The user greets.\"}]}}]}";
    const char *js3 =
        "{\"choices\":[{\"message\":{\"content\":\"c\",\"reasoning\":\"second\","
        "\"reasoning_content\":\"first\"}}]}";
    const char *js4 =
        "{\"choices\":[{\"message\":{\"content\":\"c\",\"reasoning\":\"second\","
        "\"reasoning_content\":\"\"}}]}";
    (void)state;
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion(js, &r), WISP_OK);
    assert_string_equal(g_content, "42");
    assert_string_equal(g_reasoning, "Think: 6\xC3\x97" "7.");
    assert_int_equal(r.reasoning.len, 12);
    assert_string_equal(r.finish_reason, "length");
    assert_string_equal(r.model, "qwen3");
    assert_string_equal(r.id, "chatcmpl-abc");
    assert_int_equal(r.usage.total_tokens, 15);

    resp_init(&r, sizeof g_content);
    assert_int_equal(completion(js2, &r), WISP_OK);
    assert_string_equal(g_content, "Hi");
    assert_string_equal(g_reasoning, "The user greets.");
    assert_false(r.usage.present);
    assert_true(r.created == 0);
    assert_string_equal(r.role, "assistant");

    resp_init(&r, sizeof g_content);
    assert_int_equal(completion(js3, &r), WISP_OK);
    assert_string_equal(g_reasoning, "first");
    assert_string_equal(r.role, "");
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion(js4, &r), WISP_OK);
    assert_string_equal(g_reasoning, "second");
}

static void test_completion_null_and_missing_content(void **state)
{
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"choices\":[{\"message\":{\"role\":"
                                "\"assistant\",\"content\":null,\"tool_calls\":"
                                "[{\"id\":\"call_1\",\"type\":\"function\","
                                "\"function\":{\"name\":\"f\",\"arguments\":"
                                "\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}",
                                &r), WISP_OK);
    assert_true(r.content_null);
    assert_string_equal(g_content, "");
    assert_int_equal(r.content.len, 0);
    assert_string_equal(r.finish_reason, "tool_calls");

    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"choices\":[{\"message\":{\"role\":"
                                "\"assistant\"},\"finish_reason\":null}]}", &r),
                     WISP_OK);
    assert_true(r.content_null);
    assert_string_equal(r.finish_reason, "");

    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"choices\":[{\"message\":{\"content\":\"\"}}]}",
                                &r), WISP_OK);
    assert_false(r.content_null);
    assert_string_equal(g_content, "");

    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"id\":\"x\",\"choices\":[],\"usage\":"
                                "{\"prompt_tokens\":3}}", &r), WISP_OK);
    assert_string_equal(g_content, "");
    assert_false(r.content_null);
    assert_int_equal(r.usage.prompt_tokens, 3);

    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"id\":\"x\"}", &r), WISP_OK);
    assert_string_equal(r.id, "x");
    assert_int_equal(completion("{}", &r), WISP_OK);
    assert_string_equal(r.id, "");
    assert_int_equal(completion("{\"choices\":null,\"usage\":null}", &r),
                     WISP_OK);
    assert_false(r.usage.present);
    assert_int_equal(completion("{\"choices\":[{\"message\":null}]}", &r),
                     WISP_OK);
    assert_true(r.content_null);
}

static void test_completion_content_parts(void **state)
{
    WISP_NEEDS(WISP_PARTS);
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"choices\":[{\"message\":{\"content\":["
                                "{\"type\":\"text\",\"text\":\"Hello \\ud83c\"},"
                                "{\"type\":\"image_url\",\"image_url\":{}},"
                                "\"odd\",{\"text\":\"no type\"},"
                                "{\"type\":\"text\",\"text\":\"\\udf89 world\"}"
                                "]}}]}", &r), WISP_OK);
    assert_string_equal(g_content, "Hello \xF0\x9F\x8E\x89 world");
    assert_false(r.content_null);
}

static void test_completion_wrong_types(void **state)
{
    static const char *const bad[] = {
        "{\"choices\":[{\"message\":{\"content\":5}}]}",
        "{\"choices\":[{\"message\":{\"content\":true}}]}",
        "{\"choices\":[{\"message\":{\"content\":{}}}]}",
        "{\"choices\":{\"message\":{}}}",
        "{\"choices\":\"x\"}",
        "{\"choices\":[\"x\"]}",
        "{\"choices\":[null]}",
        "{\"choices\":[{\"message\":\"hi\"}]}",
        "{\"choices\":[{\"message\":{\"role\":{}}}]}",
        "{\"choices\":[{\"finish_reason\":[]}]}",
        "{\"choices\":[{\"message\":{\"reasoning_content\":1}}]}",
        "{\"id\":[\"x\"]}",
        "{\"model\":true}",
        "[1]",
        "\"text\"",
        "[]",
    };
    wisp_response r;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        resp_init(&r, sizeof g_content);
        if (completion(bad[i], &r) != WISP_ERR_JSON)
            fail_msg("accepted: %s", bad[i]);
    }
    /* usage of odd shape is ignored, the reply stands */
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"usage\":\"none\",\"choices\":[{\"message\":"
                                "{\"content\":\"ok\"}}]}", &r), WISP_OK);
    assert_false(r.usage.present);
    assert_string_equal(g_content, "ok");
    /* a count of the wrong type is absent, the object still read */
    assert_int_equal(completion("{\"usage\":{\"total_tokens\":\"5\",\"prompt_tokens\":2}}", &r),
                     WISP_OK);
    assert_true(r.usage.present);
    assert_false(r.usage.has_total_tokens);
    assert_int_equal(r.usage.total_tokens, 0);
    assert_true(r.usage.has_prompt_tokens);
    assert_int_equal(r.usage.prompt_tokens, 2);
    /* lenient: created not an integer */
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"created\":1.7e9,\"choices\":[]}", &r),
                     WISP_OK);
    assert_true(r.created == 0);
    assert_int_equal(completion("{\"created\":\"1700000000\"}", &r), WISP_OK);
    assert_true(r.created == 0);
    /* escapes in the content still checked */
    assert_int_equal(completion("{\"choices\":[{\"message\":{\"content\":"
                                "\"\\u12\"}}]}", &r), WISP_ERR_JSON);
}

static void test_completion_truncation(void **state)
{
    wisp_response r;
    char longid[200];
    char js[400];
    (void)state;
    /* content cap 8: "abcdé€" = 4 + 2 + 3 bytes; room 7 -> "abcdé" */
    resp_init(&r, 8);
    assert_int_equal(completion("{\"choices\":[{\"message\":{\"content\":"
                                "\"abcd\\u00e9\\u20ac\"}}]}", &r), WISP_OK);
    assert_string_equal(g_content, "abcd\xC3\xA9");
    assert_int_equal(r.content.len, 6);
    assert_int_equal(r.content.full_len, 9);
    assert_true(r.content.truncated);
    assert_false(r.fields_truncated);
    /* a 4-byte character across the edge */
    resp_init(&r, 8);
    assert_int_equal(completion("{\"choices\":[{\"message\":{\"content\":"
                                "\"abcd\\ud83c\\udf89\"}}]}", &r), WISP_OK);
    assert_string_equal(g_content, "abcd");
    assert_int_equal(r.content.len, 4);
    assert_int_equal(r.content.full_len, 8);
    /* cap 0 still counts */
    resp_init(&r, 0);
    r.content.buf = NULL;
    assert_int_equal(completion("{\"choices\":[{\"message\":{\"content\":"
                                "\"hello\"}}]}", &r), WISP_OK);
    assert_int_equal(r.content.len, 0);
    assert_int_equal(r.content.full_len, 5);
    assert_true(r.content.truncated);
    /* an id longer than WISP_ID_CAP */
    memset(longid, 'i', sizeof longid);
    longid[sizeof longid - 1] = '\0';
    snprintf(js, sizeof js, "{\"id\":\"%s\",\"choices\":[]}", longid);
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion(js, &r), WISP_OK);
    assert_int_equal(strlen(r.id), WISP_ID_CAP - 1);
    assert_true(r.fields_truncated);
}

static void test_completion_error_inside(void **state)
{
    WISP_NEEDS(WISP_ERROR_SHAPES);
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"error\":{\"message\":\"Rate limit\","
                                "\"type\":\"requests\",\"param\":null,"
                                "\"code\":\"rate_limit_exceeded\"}}", &r),
                     WISP_ERR_API);
    assert_string_equal(r.error_message, "Rate limit");
    assert_string_equal(r.error_type, "requests");
    assert_string_equal(r.error_code, "rate_limit_exceeded");
    assert_string_equal(r.error_param, "");
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"error\":\"model not loaded\"}", &r),
                     WISP_ERR_API);
    assert_string_equal(r.error_message, "model not loaded");
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("[{\"error\":{\"code\":503,\"message\":"
                                "\"overloaded\",\"status\":\"UNAVAILABLE\"}}]",
                                &r), WISP_ERR_API);
    assert_string_equal(r.error_message, "overloaded");
    assert_string_equal(r.error_type, "UNAVAILABLE");
    assert_string_equal(r.error_code, "503");
    /* vLLM's error object, even with status 200 */
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"object\":\"error\",\"message\":\"max_tokens "
                                "is too large\",\"type\":\"BadRequestError\","
                                "\"param\":null,\"code\":400}", &r),
                     WISP_ERR_API);
    assert_string_equal(r.error_message, "max_tokens is too large");
    assert_string_equal(r.error_type, "BadRequestError");
    assert_string_equal(r.error_code, "400");
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"object\":\"chat.completion\",\"choices\":"
                                "[]}", &r), WISP_OK);
    /* "error": null is not an error */
    resp_init(&r, sizeof g_content);
    assert_int_equal(completion("{\"error\":null,\"choices\":[{\"message\":"
                                "{\"content\":\"ok\"}}]}", &r), WISP_OK);
    assert_string_equal(g_content, "ok");
}

static void test_completion_limits(void **state)
{
    wisp_response r;
    static wisp_token few[8];
    const char *js = "{\"choices\":[{\"message\":{\"content\":\"hi\"}}],"
                     "\"id\":\"a\"}";
    (void)state;
    wisp_reply rp;
    resp_init(&r, sizeof g_content);
    wisp_reply_init(&rp, &r, few, 8, NULL, NULL);
    assert_int_equal(wisp_reply_document(&rp, js, strlen(js)), WISP_ERR_TOO_COMPLEX);
    assert_int_equal(completion("{\"choices\":[]} x", &r), WISP_ERR_JSON);
    assert_int_equal(completion("{\"choices\":[]}{}", &r), WISP_ERR_JSON);
    assert_int_equal(completion("{\"created\":tru}", &r), WISP_ERR_JSON);
    assert_int_equal(completion("{\"created\":01}", &r), WISP_ERR_JSON);
    assert_int_equal(completion("<html>", &r), WISP_ERR_JSON);
    wisp_reply_init(&rp, NULL, g_toks, 256, NULL, NULL);
    assert_int_equal(wisp_reply_document(&rp, js, strlen(js)), WISP_ERR_ARG);
    wisp_reply_init(&rp, &r, g_toks, 256, NULL, NULL);
    assert_int_equal(wisp_reply_document(&rp, NULL, 0), WISP_ERR_ARG);
    assert_int_equal(wisp_reply_document(NULL, js, strlen(js)), WISP_ERR_ARG);
}

/* ---- error bodies ------------------------------------------------------- */

static void test_error_openai(void **state)
{
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    assert_int_equal(error_body("{\n  \"error\": {\n    \"message\": "
                                "\"Incorrect API key provided: sk-abc***.\",\n"
                                "    \"type\": \"invalid_request_error\",\n"
                                "    \"param\": null,\n    \"code\": "
                                "\"invalid_api_key\"\n  }\n}\n", &r), WISP_OK);
    assert_string_equal(r.error_message,
                        "Incorrect API key provided: sk-abc***.");
    assert_string_equal(r.error_type, "invalid_request_error");
    assert_string_equal(r.error_param, "");
    assert_string_equal(r.error_code, "invalid_api_key");
    assert_false(r.fields_truncated);

    assert_int_equal(error_body("{\"error\":{\"message\":\"bad\",\"type\":"
                                "\"invalid_request_error\",\"param\":"
                                "\"messages\",\"code\":400}}", &r), WISP_OK);
    assert_string_equal(r.error_param, "messages");
    assert_string_equal(r.error_code, "400");
}

static void test_error_string_shapes(void **state)
{
    WISP_NEEDS(WISP_ERROR_SHAPES);
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    assert_int_equal(error_body("{\"error\": \"SyntaxError\", \"message\": "
                                "\"Unexpected token } in JSON\"}", &r),
                     WISP_OK);
    assert_string_equal(r.error_message, "Unexpected token } in JSON");
    assert_string_equal(r.error_type, "SyntaxError");
    assert_int_equal(error_body("{\"error\":\"model 'x' not found, try "
                                "pulling it first\"}", &r), WISP_OK);
    assert_string_equal(r.error_message,
                        "model 'x' not found, try pulling it first");
    assert_string_equal(r.error_type, "");
    assert_int_equal(error_body("{\"statusCode\":415,\"code\":\"FST_ERR\","
                                "\"error\":\"Unsupported Media Type\","
                                "\"message\":\"Unsupported Media Type: "
                                "text/plain\"}", &r), WISP_OK);
    assert_string_equal(r.error_message,
                        "Unsupported Media Type: text/plain");
    assert_string_equal(r.error_type, "Unsupported Media Type");
    assert_string_equal(r.error_code, "FST_ERR");
}

static void test_error_gemini_and_openrouter(void **state)
{
    WISP_NEEDS(WISP_ERROR_SHAPES);
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    assert_int_equal(error_body("[{\n  \"error\": {\n    \"code\": 400,\n"
                                "    \"message\": \"Invalid JSON payload "
                                "received. Unknown name \\\"foo\\\": "
                                "Cannot find field.\",\n    \"status\": "
                                "\"INVALID_ARGUMENT\"\n  }\n}\n]\n", &r),
                     WISP_OK);
    assert_string_equal(r.error_message, "Invalid JSON payload received. "
                                         "Unknown name \"foo\": Cannot find "
                                         "field.");
    assert_string_equal(r.error_type, "INVALID_ARGUMENT");
    assert_string_equal(r.error_code, "400");
    assert_int_equal(error_body("{\"error\":{\"message\":\"Provider returned "
                                "error\",\"code\":429,\"metadata\":{\"raw\":"
                                "\"{\\\"error\\\":{\\\"message\\\":\\\"x\\\"}}"
                                "\",\"provider_name\":\"Fireworks\"}},"
                                "\"user_id\":\"u1\"}", &r), WISP_OK);
    assert_string_equal(r.error_message, "Provider returned error");
    assert_string_equal(r.error_code, "429");
    assert_string_equal(r.error_type, "");
    /* type wins over status */
    assert_int_equal(error_body("{\"error\":{\"type\":\"t\",\"status\":\"s\"}}",
                                &r), WISP_OK);
    assert_string_equal(r.error_type, "t");
    assert_string_equal(r.error_message, "");
}

static void test_error_other_shapes(void **state)
{
    WISP_NEEDS(WISP_ERROR_SHAPES);
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    assert_int_equal(error_body("{\"message\":\"Not Found\",\"code\":404}", &r),
                     WISP_OK);
    assert_string_equal(r.error_message, "Not Found");
    assert_string_equal(r.error_code, "404");
    assert_int_equal(error_body("{\"detail\":\"Not Found\"}", &r), WISP_OK);
    assert_string_equal(r.error_message, "Not Found");
    assert_string_equal(r.error_code, "");
    assert_int_equal(error_body("{\"detail\":[{\"type\":\"missing\",\"loc\":"
                                "[\"body\",\"model\"],\"msg\":\"Field "
                                "required\",\"input\":{}}]}", &r), WISP_OK);
    assert_string_equal(r.error_message, "Field required");
    assert_string_equal(r.error_type, "missing");
    /* Cloudflare-style errors arrays, and an error array */
    assert_int_equal(error_body("{\"success\":false,\"errors\":[{\"code\":"
                                "7003,\"message\":\"No route\"}],\"result\":"
                                "null}", &r), WISP_OK);
    assert_string_equal(r.error_message, "No route");
    assert_string_equal(r.error_code, "7003");
    assert_int_equal(error_body("{\"error\":[{\"message\":\"first\"},"
                                "{\"message\":\"second\"}]}", &r), WISP_OK);
    assert_string_equal(r.error_message, "first");
    assert_int_equal(error_body("{\"error\":null,\"errors\":[\"plain\"]}", &r),
                     WISP_OK);
    assert_string_equal(r.error_message, "plain");
    assert_int_equal(error_body("{\"errors\":[]}", &r), WISP_ERR_JSON);
    /* "error" without a message is still an error; one without any words
     * (no message, type or code) shows its own text */
    assert_int_equal(error_body("{\"error\":{}}", &r), WISP_OK);
    assert_string_equal(r.error_message, "{\"error\":{}}");
    assert_int_equal(error_body("{\"error\":{\"code\":500}}", &r), WISP_OK);
    assert_string_equal(r.error_code, "500");
    assert_string_equal(r.error_message, "");
    /* fields of odd types are left empty, the rest is kept */
    assert_int_equal(error_body("{\"error\":{\"message\":\"m\",\"code\":true,"
                                "\"type\":[1],\"param\":{}}}", &r), WISP_OK);
    assert_string_equal(r.error_message, "m");
    assert_string_equal(r.error_code, "");
    assert_string_equal(r.error_type, "");
    assert_string_equal(r.error_param, "");
}

static void test_error_not_errors(void **state)
{
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    strcpy(r.error_message, "stale");
    /* Not an error shape: the text itself is the message. */
    assert_int_equal(error_body("{\"foo\":1}", &r), WISP_ERR_JSON);
    assert_string_equal(r.error_message, "{\"foo\":1}");
    assert_int_equal(error_body("{\"message\":5,\"code\":7}", &r),
                     WISP_ERR_JSON);
    assert_string_equal(r.error_code, "");
    assert_int_equal(error_body("[]", &r), WISP_ERR_JSON);
    assert_int_equal(error_body("[1]", &r), WISP_ERR_JSON);
    assert_int_equal(error_body("{\"error\":null}", &r), WISP_ERR_JSON);
    assert_int_equal(error_body("<html>", &r), WISP_ERR_JSON);
    assert_int_equal(error_body("{\"error\":{}} trailing", &r), WISP_ERR_JSON);
    assert_int_equal(wisp_error_read("{\"error\":\"x\"}", 13, false, g_toks, 2, &r),
                     WISP_ERR_JSON); /* too many tokens: the text is the message */
    assert_string_equal(r.error_message, "{\"error\":\"x\"}");
    assert_int_equal(error_body("{\"detail\":[]}", &r), WISP_ERR_JSON);
    assert_int_equal(wisp_error_read("{}", 2, false, g_toks, 4, NULL), WISP_ERR_ARG);
}

static void test_error_truncated(void **state)
{
    wisp_response r;
    char js[WISP_ERROR_MESSAGE_CAP * 3 + 64];
    size_t i, n;
    (void)state;
    resp_init(&r, sizeof g_content);
    n = (size_t)sprintf(js, "{\"error\":{\"message\":\"");
    for (i = 0; i < WISP_ERROR_MESSAGE_CAP; i++)
        n += (size_t)sprintf(js + n, "\xE2\x82\xAC"); /* € */
    sprintf(js + n, "\"}}");
    assert_int_equal(error_body(js, &r), WISP_OK);
    assert_true(r.fields_truncated);
    assert_int_equal(strlen(r.error_message),
                     (WISP_ERROR_MESSAGE_CAP - 1) / 3 * 3);
}

/* ---- HTML and plain text ------------------------------------------------ */

static void html(const char *s, wisp_response *r)
{
    r->fields_truncated |= wisp_html_to_text(s, strlen(s), r->error_message,
                                             sizeof r->error_message);
}

static void test_html_nginx(void **state)
{
    WISP_NEEDS(WISP_HTML);
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    html("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
         "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3"
         "</center>\r\n</body>\r\n</html>\r\n", &r);
    assert_string_equal(r.error_message,
                        "502 Bad Gateway 502 Bad Gateway nginx/1.25.3");
    assert_false(r.fields_truncated);
}

static void test_html_scripts_entities(void **state)
{
    WISP_NEEDS(WISP_HTML);
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    html("  <!DOCTYPE html><!-- a <comment> --><html><head>"
         "<style type=\"text/css\">body { color: red; }</style>"
         "<SCRIPT>if (a < b && c > d) { x(); }</SCRIPT>"
         "<script src=\"x.js\"></script></head>"
         "<body><p class=\"a>b\" data-x='>'>Error&nbsp;1020: "
         "&lt;Access&gt; &amp; &quot;denied&quot; &#39;x&#39; &apos;"
         "&#x41;&#65;&#233;&#x1F389; &#0;&bogus; &amp</p>"
         "<p>Ray&#10;ID:\t\t<b>8a1</b></p></body></html>", &r);
    assert_string_equal(r.error_message,
                        "Error 1020: <Access> & \"denied\" 'x' 'AA\xC3\xA9"
                        "\xF0\x9F\x8E\x89 " FFFD "&bogus; &amp Ray ID: 8a1");
    resp_init(&r, sizeof g_content);
    html("<html><script>never closed", &r);
    assert_string_equal(r.error_message, "");
    html("<html><style", &r);
    assert_string_equal(r.error_message, "");
    html("<p>a<scripts>b</scripts>c", &r);
    assert_string_equal(r.error_message, "a b c");
    html("<p>a<script", &r);
    assert_string_equal(r.error_message, "a");
    /* no ';', no digits, beyond U+10FFFF, a surrogate, 8 and 9 digits */
    html("<p>&#65&#x;&#;&#1114112;&#xD800;&#xFFFFFFFF;&#x000000041;&#9;x"
         "&#10;</p>", &r);
    assert_string_equal(r.error_message,
                        "&#65&#x;&#;" FFFD FFFD FFFD "&#x000000041; x");
    html("<p>1 < 2 <3 <", &r);
    assert_string_equal(r.error_message, "1 < 2 <3 <");
}

static void test_html_plain_text(void **state)
{
    wisp_response r;
    (void)state;
    resp_init(&r, sizeof g_content);
    html("  upstream connect error or disconnect/reset before headers."
         "\r\n  reset reason:\tconnection failure  \n", &r);
    assert_string_equal(r.error_message,
                        "upstream connect error or disconnect/reset before "
                        "headers. reset reason: connection failure");
    html("a < b &amp; c\x01\x7F\x1B[0m", &r);
    assert_string_equal(r.error_message, "a < b &amp; c[0m");
    html("bad \xFF\xC3 utf8 \xC3\xA9", &r);
    assert_string_equal(r.error_message, "bad " FFFD FFFD " utf8 \xC3\xA9");
    html("", &r);
    assert_string_equal(r.error_message, "");
    html(" \r\n\t ", &r);
    assert_string_equal(r.error_message, "");
    assert_false(wisp_html_to_text(NULL, 0, r.error_message, sizeof r.error_message));
    assert_string_equal(r.error_message, "");
    assert_true(wisp_html_to_text("x", 1, NULL, 0));
}

static void test_html_truncated(void **state)
{
    wisp_response r;
    static char page[8192];
    size_t n, i;
    (void)state;
    resp_init(&r, sizeof g_content);
    n = (size_t)sprintf(page, "<html><body><p>");
    for (i = 0; i < 2000; i++)
        n += (size_t)sprintf(page + n, "\xC3\xA9 "); /* "é " */
    sprintf(page + n, "</p></body></html>");
    html(page, &r);
    assert_true(r.fields_truncated);
    n = strlen(r.error_message);
    assert_true(n <= WISP_ERROR_MESSAGE_CAP - 1);
    assert_true(n >= WISP_ERROR_MESSAGE_CAP - 3);
    assert_true(whole_utf8((const unsigned char *)r.error_message, n));
    assert_int_equal(r.error_message[n - 1] == ' ', 0); /* no trailing blank */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_append_basic),
        cmocka_unit_test(test_text_cut_two_byte),
        cmocka_unit_test(test_text_cut_three_byte),
        cmocka_unit_test(test_text_cut_four_byte),
        cmocka_unit_test(test_text_cut_mixed_single_append),
        cmocka_unit_test(test_text_cap_zero),
        cmocka_unit_test(test_utf8_len_and_imatch),
        cmocka_unit_test(test_unescape_simple_escapes),
        cmocka_unit_test(test_unescape_u_escapes),
        cmocka_unit_test(test_unescape_surrogates),
        cmocka_unit_test(test_unescape_surrogate_split),
        cmocka_unit_test(test_unescape_surrogate_split_unmatched),
        cmocka_unit_test(test_unescape_raw_utf8_split),
        cmocka_unit_test(test_unescape_raw_utf8_split_invalid),
        cmocka_unit_test(test_unescape_invalid_utf8),
        cmocka_unit_test(test_unescape_bad_escapes),
        cmocka_unit_test(test_unescape_runs_and_cancel),
        cmocka_unit_test(test_tokenize_valid),
        cmocka_unit_test(test_tokenize_too_complex),
        cmocka_unit_test(test_tokenize_trailing_garbage),
        cmocka_unit_test(test_tokenize_bad_primitives),
        cmocka_unit_test(test_tokenize_bad_structure),
        cmocka_unit_test(test_tokenize_gap_mutations),
        cmocka_unit_test(test_tokenize_control_byte_words),
        cmocka_unit_test(test_tokenize_gaps),
        cmocka_unit_test(test_skip_and_find),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_number_at_two_to_the_64),
        cmocka_unit_test(test_field),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_usage_counts_out_of_range),
        cmocka_unit_test(test_completion_keys_past_values),
        cmocka_unit_test(test_completion_openai),
        cmocka_unit_test(test_completion_gateway_gemini),
        cmocka_unit_test(test_completion_llamacpp_and_reasoning),
        cmocka_unit_test(test_completion_null_and_missing_content),
        cmocka_unit_test(test_completion_content_parts),
        cmocka_unit_test(test_completion_wrong_types),
        cmocka_unit_test(test_completion_truncation),
        cmocka_unit_test(test_completion_error_inside),
        cmocka_unit_test(test_completion_limits),
        cmocka_unit_test(test_error_openai),
        cmocka_unit_test(test_error_string_shapes),
        cmocka_unit_test(test_error_gemini_and_openrouter),
        cmocka_unit_test(test_error_other_shapes),
        cmocka_unit_test(test_error_not_errors),
        cmocka_unit_test(test_error_truncated),
        cmocka_unit_test(test_html_nginx),
        cmocka_unit_test(test_html_scripts_entities),
        cmocka_unit_test(test_html_plain_text),
        cmocka_unit_test(test_html_truncated),
        cmocka_unit_test(test_tokenize_control_byte_anywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
