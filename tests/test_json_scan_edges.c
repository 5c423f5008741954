/*
 * test_json_scan_edges.c - the JSON reader's quick scans at their edges: a
 * space in a document shorter than a word (not a control byte), a raw
 * control byte in each word of the fast four-word scan (bytes 32..39 of a
 * 48-byte document among them), an escape letter that is none refused by
 * wisp_json_valid, and wisp_json_skip from the first token of a sub-list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "needs.h"
#include "wisp_json.h"

static wisp_token g_toks[32];

static wisp_status tokenize(const char *js, size_t len)
{
    int count = 0;
    return wisp_json_tokenize(js, len, g_toks, 32, &count);
}

/* A document of fewer bytes than a word, with a space in its string. */
static void test_space_in_a_short_document(void **state)
{
    (void)state;
    assert_int_equal(tokenize("\"a b\"", 5), WISP_OK);
    assert_int_equal(tokenize("[\" \"]", 5), WISP_OK);
    assert_int_equal(tokenize("\"a\tb\"", 5), WISP_ERR_JSON);
}

/* A raw tab at each offset of a string in a 48-byte document: refused
 * wherever it stands. */
static void test_control_byte_at_every_offset(void **state)
{
    char doc[49];
    size_t at;
    (void)state;
    for (at = 6; at < 46; at++) {
        memcpy(doc, "{\"k\":\"", 6);
        memset(doc + 6, 'x', 40);
        memcpy(doc + 46, "\"}", 2);
        doc[48] = '\0';
        assert_int_equal(tokenize(doc, 48), WISP_OK);
        doc[at] = '\t';
        if (tokenize(doc, 48) != WISP_ERR_JSON) {
            print_error("a tab at %u was not refused\n", (unsigned)at);
            fail();
        }
    }
}

/* \q is no escape: not valid JSON. */
static void test_escape_letter_that_is_none(void **state)
{
    (void)state;
    assert_false(wisp_json_valid("{\"a\":\"x\\qy\"}", 12, 4));
    assert_true(wisp_json_valid("{\"a\":\"x\\ny\"}", 12, 4));
}

/* Skipping the first token of a sub-list steps past its subtree only. */
static void test_skip_from_a_sub_list(void **state)
{
    static const char js[] = "{\"a\":[1,2],\"b\":3}";
    int count = 0;
    (void)state;
    assert_int_equal(wisp_json_tokenize(js, strlen(js), g_toks, 32, &count), WISP_OK);
    assert_int_equal(count, 7);
    /* g_toks + 2 is the list [1,2]: it and its two numbers, then "b" */
    assert_int_equal(wisp_json_skip(g_toks + 2, count - 2, 0), 3);
    assert_int_equal(wisp_json_skip(g_toks, count, 2), 5);
    assert_int_equal(wisp_json_skip(g_toks + 2, count - 2, -1), count - 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_space_in_a_short_document),
        cmocka_unit_test(test_control_byte_at_every_offset),
        cmocka_unit_test(test_escape_letter_that_is_none),
        cmocka_unit_test(test_skip_from_a_sub_list),
    };
    return cmocka_run_group_tests_name("json_scan_edges", tests, NULL, NULL);
}
