/*
 * test_text_edges.c - the text utilities of wisp_text.h at their edges:
 * an HTML page's entities in every malformed form, the tags that are and
 * are not tags, the blanks HTML has beyond JSON's; UTF-8 at the top of the
 * code space; a character split over three pieces; a surrogate pair whose
 * low half is cut; emitters that are missing or cancel; lengths that
 * saturate; NULL everywhere it is allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "needs.h"
#include "wisp_text.h"

static const char *page(const char *html)
{
    static char out[128];
    assert_false(wisp_html_to_text(html, strlen(html), out, sizeof out));
    return out;
}

static void test_entities(void **state)
{
    WISP_NEEDS(WISP_HTML);
    (void)state;
    assert_string_equal(page("<p>&#x41;&#66;&#X43;&amp;&lt;&gt;&quot;&apos;</p>"), "ABC&<>\"'");
    assert_string_equal(page("<p>a&#;b</p>"), "a&#;b");           /* no digits */
    assert_string_equal(page("<p>a&#x;b</p>"), "a&#x;b");
    assert_string_equal(page("<p>&#12a;</p>"), "&#12a;");        /* not ended by ';' */
    assert_string_equal(page("<p>&#xg;</p>"), "&#xg;");          /* not a hex digit */
    assert_string_equal(page("<p>&#1f;</p>"), "&#1f;");          /* hex digit in decimal */
    assert_string_equal(page("<p>x &#12"), "x &#12");            /* cut at the end */
    assert_string_equal(page("<p>&#0;&#xD800;&#x110000;</p>"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_string_equal(page("<p>a&#10;b&#1;c&#x7F;d</p>"), "a bcd"); /* a newline is a blank */
    assert_string_equal(page("<p>a&nbsp;b &bogus; c</p>"), "a b &bogus; c");
    assert_string_equal(page("<p>&#123456789;</p>"), "&#123456789;"); /* more than 8 digits */
}

static void test_tags_and_blanks(void **state)
{
    WISP_NEEDS(WISP_HTML);
    (void)state;
    assert_string_equal(page("<?xml version=\"1.0\"?><!DOCTYPE html><p>x</p>"), "x");
    assert_string_equal(page("<scripts>kept</scripts> <styles>too</styles>"), "kept too");
    assert_string_equal(page("<p>a < b</p>"), "a < b"); /* '<' then a blank is text */
    assert_string_equal(page("<p>one\f\vtwo</p>"), "one two");
    assert_string_equal(page("<p>x</p><style"), "x");
    assert_string_equal(page("<p>x</p><script"), "x");
}

/* Without HTML markup the text is only cleaned: blanks folded, controls
 * dropped, broken UTF-8 replaced. */
static void test_plain_text(void **state)
{
    char out[8];
    (void)state;
    assert_string_equal(page("plain\f text\x01 here"), "plain text here");
    assert_string_equal(page("bad \xC3 byte"), "bad \xEF\xBF\xBD byte");
    assert_false(wisp_html_to_text(NULL, 3, out, sizeof out));
    assert_string_equal(out, "");
    assert_true(wisp_html_to_text("abc", 3, NULL, 0)); /* no room: all of it cut */
    /* a cut never ends on a blank */
    assert_true(wisp_html_to_text("abcdef ghij", 11, out, sizeof out));
    assert_string_equal(out, "abcdef");
}

static void test_utf8_top_of_the_code_space(void **state)
{
    static const uint8_t max[] = {0xF4, 0x8F, 0xBF, 0xBF};
    static const uint8_t over[] = {0xF4, 0x90, 0x80, 0x80};
    static const uint8_t low4[] = {0xF0, 0x8F, 0xBF, 0xBF}; /* overlong */
    (void)state;
    assert_int_equal(wisp_utf8_len(max, 4), 4);
    assert_int_equal(wisp_utf8_len(over, 4), 0);
    assert_int_equal(wisp_utf8_len(low4, 4), 0);
    assert_int_equal(wisp_utf8_len(NULL, 4), 0);
    assert_int_equal(wisp_utf8_len(max, 0), 0);
    assert_int_equal(wisp_utf8_whole((const char *)max, 3), 0);
    /* a literal longer than the text, or text with a NUL, never matches */
    assert_int_equal(wisp_ascii_imatch("ab\0d", 4, "abcd"), 0);
    assert_int_equal(wisp_ascii_imatch("AbC", 3, "abc"), 2);
}

typedef struct collect {
    char buf[64];
    size_t len;
    int calls, stop_at;
} collect;

static int collect_emit(void *ctx, const char *s, size_t n)
{
    collect *c = (collect *)ctx;
    assert_true(c->len + n < sizeof c->buf);
    memcpy(c->buf + c->len, s, n);
    c->len += n;
    c->buf[c->len] = '\0';
    return ++c->calls == c->stop_at;
}

/* A four-byte character in three pieces, then one whose end never comes. */
static void test_character_over_three_pieces(void **state)
{
    wisp_unescape u;
    collect c;
    (void)state;
    memset(&c, 0, sizeof c);
    wisp_unescape_init(&u);
    assert_int_equal(wisp_unescape_feed(&u, "a\xF0\x9F", 3, true, collect_emit, &c), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, "\x98", 1, true, collect_emit, &c), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, "", 0, true, collect_emit, &c), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, "\x80z", 2, true, collect_emit, &c), WISP_OK);
    assert_string_equal(c.buf, "a\xF0\x9F\x98\x80z");
    /* the start of one, then the text ends: U+FFFD */
    assert_int_equal(wisp_unescape_feed(&u, "\xE2\x82", 2, true, collect_emit, &c), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, "", 0, false, collect_emit, &c), WISP_OK);
    assert_string_equal(c.buf, "a\xF0\x9F\x98\x80z\xEF\xBF\xBD");
    /* a high surrogate, then a piece too short to hold the low one */
    memset(&c, 0, sizeof c);
    wisp_unescape_init(&u);
    assert_int_equal(wisp_unescape_feed(&u, "\\ud83c", 6, true, collect_emit, &c), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, "\\u", 2, false, collect_emit, &c), WISP_ERR_JSON);
    assert_string_equal(c.buf, "\xEF\xBF\xBD");
    /* ... and a high surrogate followed by plain text */
    memset(&c, 0, sizeof c);
    wisp_unescape_init(&u);
    assert_int_equal(wisp_unescape_feed(&u, "\\ud83c", 6, true, collect_emit, &c), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, "xy", 2, false, collect_emit, &c), WISP_OK);
    assert_string_equal(c.buf, "\xEF\xBF\xBDxy");
}

/* No emitter: the text goes nowhere, without harm; an emitter that stops
 * is obeyed, at the end too. */
static void test_emitters(void **state)
{
    static const char long_run[] = "0123456789012345678901234567890123456789012345678901234567";
    wisp_unescape u;
    collect c;
    (void)state;
    wisp_unescape_init(&u);
    assert_int_equal(wisp_unescape_feed(&u, "a\\nb", 4, false, NULL, NULL), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, long_run, strlen(long_run), false, NULL, NULL), WISP_OK);
    assert_int_equal(wisp_unescape_feed(&u, "\xF0", 1, true, NULL, NULL), WISP_OK);
    assert_int_equal(wisp_unescape_finish(&u, NULL, NULL), WISP_OK);
    memset(&c, 0, sizeof c);
    c.stop_at = 1;
    assert_int_equal(wisp_unescape_feed(&u, long_run, strlen(long_run), false, collect_emit, &c),
                     WISP_ERR_CANCELLED);
    memset(&c, 0, sizeof c);
    c.stop_at = 1;
    assert_int_equal(wisp_unescape_feed(&u, "x\\n", 3, true, collect_emit, &c), WISP_ERR_CANCELLED);
    memset(&c, 0, sizeof c);
    c.stop_at = 1;
    assert_int_equal(wisp_unescape_feed(&u, "\xF0\x9F", 2, true, collect_emit, &c), WISP_OK);
    assert_int_equal(wisp_unescape_finish(&u, collect_emit, &c), WISP_ERR_CANCELLED);
    assert_string_equal(c.buf, "\xEF\xBF\xBD");
    /* nothing kept: finishing emits nothing */
    memset(&c, 0, sizeof c);
    assert_int_equal(wisp_unescape_finish(&u, collect_emit, &c), WISP_OK);
    assert_int_equal(c.calls, 0);
    assert_int_equal(wisp_unescape_finish(NULL, collect_emit, &c), WISP_ERR_ARG);
    assert_int_equal(wisp_unescape_feed(NULL, "a", 1, false, collect_emit, &c), WISP_ERR_ARG);
    assert_int_equal(wisp_unescape_feed(&u, NULL, 1, false, collect_emit, &c), WISP_ERR_ARG);
    wisp_unescape_init(NULL);
}

/* A text buffer: NULL and empty pieces do nothing; the full length
 * saturates instead of wrapping; a full buffer takes no more. */
static void test_text_buffer(void **state)
{
    char buf[4];
    wisp_text t;
    (void)state;
    wisp_text_reset(NULL);
    wisp_text_append(NULL, "x", 1);
    t.buf = buf;
    t.cap = sizeof buf;
    wisp_text_reset(&t);
    wisp_text_append(&t, NULL, 3);
    wisp_text_append(&t, "x", 0);
    assert_int_equal(t.full_len, 0);
    wisp_text_append(&t, "abc", 3);
    assert_string_equal(buf, "abc");
    assert_false(t.truncated);
    wisp_text_append(&t, "d", 1);
    assert_string_equal(buf, "abc");
    assert_true(t.truncated);
    assert_int_equal(t.full_len, 4);
    t.full_len = SIZE_MAX - 1;
    wisp_text_append(&t, "ef", 2);
    assert_int_equal(t.full_len, SIZE_MAX);
    /* no storage at all: only counted */
    t.buf = NULL;
    t.cap = 0;
    wisp_text_reset(&t);
    wisp_text_append(&t, "abc", 3);
    assert_int_equal(t.full_len, 3);
    assert_int_equal(t.len, 0);
    assert_true(t.truncated);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entities),
        cmocka_unit_test(test_tags_and_blanks),
        cmocka_unit_test(test_plain_text),
        cmocka_unit_test(test_utf8_top_of_the_code_space),
        cmocka_unit_test(test_character_over_three_pieces),
        cmocka_unit_test(test_emitters),
        cmocka_unit_test(test_text_buffer),
    };
    return cmocka_run_group_tests_name("text_edges", tests, NULL, NULL);
}
