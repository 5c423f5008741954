/*
 * test_text_html_edges.c - the text helpers at their edges: an error page's
 * words (wisp_html_to_text) with a '<' as the last byte given (not a tag,
 * whatever follows it in memory), control characters and spaces written
 * as entities (a separator, once), a numeric entity one digit past
 * U+10FFFF, a raw-text element closed only by its real end tag; a reset
 * text of no room left unwritten, and the length of the sequence at 0x7F.
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

static char g_out[64];

static const char *words(const char *page, size_t n)
{
    (void)wisp_html_to_text(page, n, g_out, sizeof g_out);
    return g_out;
}

/* A '<' that is the last byte given is text, even when the byte after it
 * in memory would start a tag. */
static void test_last_byte_lt_is_text(void **state)
{
    static const char page[] = "<p>a<b";
    (void)state;
    WISP_NEEDS(WISP_HTML);
    assert_string_equal(words(page, 5), "a<");
    assert_string_equal(words(page, 6), "a"); /* given the b: a tag */
}

/* &#10; and &nbsp; separate words like the white space they stand for,
 * and several of them make one space. */
static void test_entities_that_are_blank(void **state)
{
    (void)state;
    WISP_NEEDS(WISP_HTML);
    assert_string_equal(words("<p>a&#10;b", 10), "a b");
    assert_string_equal(words("<p>a&#9;&#13;b", 14), "a b");
    assert_string_equal(words("<p>a&nbsp;&nbsp;b", 17), "a b");
    assert_string_equal(words("<p>a&#32;&#32;b", 15), "a b");
    /* other control characters are dropped, no separator */
    assert_string_equal(words("<p>a&#1;b&#127;c", 16), "abc");
}

/* One more digit after 1114111 (U+10FFFF) is past Unicode: U+FFFD. */
static void test_entity_one_digit_past_the_last_code_point(void **state)
{
    (void)state;
    WISP_NEEDS(WISP_HTML);
    assert_string_equal(words("<p>&#1114111;", 13), "\xF4\x8F\xBF\xBF");
    assert_string_equal(words("<p>&#11141110;", 14), "\xEF\xBF\xBD");
}

/* A <style> ends at "</style", matched without case, and nothing else:
 * a control byte where the '/' stands is not it. */
static void test_style_closed_by_its_end_tag_only(void **state)
{
    static const char page[] = "<style>a<\x0fstyle>b</style>c";
    (void)state;
    WISP_NEEDS(WISP_HTML);
    assert_string_equal(words(page, sizeof page - 1), "c");
    assert_string_equal(words("<style>a</STYLE>c", 17), "c");
}

/* A text of no room is reset without a byte written. */
static void test_reset_of_no_room_writes_nothing(void **state)
{
    char byte = 'Z';
    wisp_text t;
    (void)state;
    memset(&t, 0, sizeof t);
    t.buf = &byte;
    t.cap = 0;
    t.len = 5;
    wisp_text_reset(&t);
    assert_int_equal(byte, 'Z');
    assert_int_equal(t.len, 0);
    t.cap = 1;
    wisp_text_reset(&t);
    assert_int_equal(byte, '\0');
}

/* 0x7F is a character of one byte; 0x80 starts none. */
static void test_utf8_len_at_0x7f(void **state)
{
    (void)state;
    assert_int_equal(wisp_utf8_len((const uint8_t *)"\x7f", 1), 1);
    assert_int_equal(wisp_utf8_len((const uint8_t *)"\x80", 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_last_byte_lt_is_text),
        cmocka_unit_test(test_entities_that_are_blank),
        cmocka_unit_test(test_entity_one_digit_past_the_last_code_point),
        cmocka_unit_test(test_style_closed_by_its_end_tag_only),
        cmocka_unit_test(test_reset_of_no_room_writes_nothing),
        cmocka_unit_test(test_utf8_len_at_0x7f),
    };
    return cmocka_run_group_tests_name("text_html_edges", tests, NULL, NULL);
}
