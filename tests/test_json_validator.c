/*
 * test_json_validator.c - wisp_json_valid (the tokenless check of text the
 * caller passes through, a tool's schema) on every escape and key fault,
 * and the token accessors of wisp_json.h on what they must refuse: no
 * text, no token, a token of another type, an index out of range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wisp_json.h"

static void expect_valid(const char *s, bool want)
{
    if (wisp_json_valid(s, strlen(s), 8) != want) {
        print_error("%s: want %s\n", s, want ? "valid" : "invalid");
        fail();
    }
}

static void test_escapes(void **state)
{
    (void)state;
    expect_valid("[\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"]", true);
    expect_valid("[\"\\u00e9\\u00E9\\uABCD\\uabcd\\u0123\"]", true);
    expect_valid("[\"\\uDEFG\"]", false);
    expect_valid("[\"\\u00`0\"]", false);
    expect_valid("[\"\\u0@00\"]", false);
    expect_valid("[\"\\u00\"]", false);  /* too short before the quote */
    expect_valid("[\"\\u0", false);      /* cut inside the escape */
    expect_valid("[\"\\", false);        /* cut after the backslash */
    expect_valid("[\"\\x\"]", false);
    expect_valid("[\"\\a\"]", false);
    expect_valid("[\"tab\there\"]", false); /* a raw control byte */
    expect_valid("[\"caf\xC3\xA9\"]", true);
    expect_valid("[\"caf\xC3\"]", false); /* broken UTF-8 */
    expect_valid("[\"never closed", false);
}

static void test_keys_and_literals(void **state)
{
    (void)state;
    expect_valid("{\"a\" \t:\n1}", true);
    expect_valid("{\"a\"}", false);        /* no colon */
    expect_valid("{\"a\" ", false);        /* cut before the colon */
    expect_valid("{\"a\" 1}", false);
    expect_valid("{a:1}", false);          /* a key that is not a string */
    expect_valid("{\"a\\q\":1}", false);   /* a key with a bad escape */
    expect_valid("{\"a\":1,}", false);
    expect_valid("{\"a\":true:1}", false); /* a colon after a literal */
    expect_valid("[tru]", false);
    expect_valid("[-]", false);
    expect_valid("[-0.5e+3, 12, null, false]", true);
    expect_valid("\v[1]", false); /* only the four JSON blanks */
    expect_valid("\r\n[1]\t ", true);
    expect_valid("[1] [2]", false);
    expect_valid("", false);
    /* the depth limit is checked, and may not exceed 64 */
    assert_true(wisp_json_valid("[[1]]", 5, 2));
    assert_false(wisp_json_valid("[[1]]", 5, 1));
    assert_false(wisp_json_valid("[1]", 3, 65));
    assert_true(wisp_json_valid("[1]", 3, 64));
    assert_false(wisp_json_valid(NULL, 0, 8));
}

/* Accessors refuse what is not theirs, and never read through NULL. */
static void test_accessors_refuse(void **state)
{
    static const char js[] = "{\"s\":\"x\",\"n\":-5,\"u\":{\"prompt_tokens\":1},\"a\":[1]}";
    wisp_token toks[32];
    int count = 0, s, n, a;
    uint32_t u32 = 77;
    int64_t i64 = 77;
    char field[8];
    bool cut = false;
    wisp_usage usage;
    (void)state;
    assert_int_equal(wisp_json_tokenize(js, strlen(js), toks, 32, &count), WISP_OK);
    s = wisp_json_find(js, toks, count, 0, "s");
    n = wisp_json_find(js, toks, count, 0, "n");
    a = wisp_json_find(js, toks, count, 0, "a");
    assert_true(s > 0 && n > 0 && a > 0);
    /* find: no tokens, an index out of range or not an object */
    assert_int_equal(wisp_json_find(js, NULL, count, 0, "s"), -1);
    assert_int_equal(wisp_json_find(js, toks, count, -1, "s"), -1);
    assert_int_equal(wisp_json_find(js, toks, count, count, "s"), -1);
    assert_int_equal(wisp_json_find(js, toks, count, a, "s"), -1);
    /* a count that ends inside the object: no value past it is read */
    assert_int_equal(wisp_json_find(js, toks, 2, 0, "s"), -1);
    assert_int_equal(wisp_json_find(js, toks, 3, 0, "s"), s);
    /* skip: out of range is the count; a key skips its value */
    assert_int_equal(wisp_json_skip(NULL, count, 0), count);
    assert_int_equal(wisp_json_skip(toks, count, -1), count);
    assert_int_equal(wisp_json_skip(toks, count, count), count);
    assert_int_equal(wisp_json_skip(toks, count, s - 1), s + 1);
    assert_int_equal(wisp_json_skip(toks, s, s - 1), s); /* a key whose value is past the count */
    /* eq and text_eq */
    assert_false(wisp_json_eq(NULL, &toks[s], "x"));
    assert_false(wisp_json_eq(js, NULL, "x"));
    assert_false(wisp_json_eq(js, &toks[n], "-5"));
    assert_true(wisp_json_eq(js, &toks[s], "x"));
    assert_false(wisp_json_eq(js, &toks[s], "xy"));
    assert_false(wisp_json_text_eq(NULL, 1, "x"));
    assert_false(wisp_json_text_eq("x", 1, NULL));
    assert_true(wisp_json_text_eq("x", 1, "x"));
    assert_false(wisp_json_text_eq("xy", 2, "x"));
    /* is_null, numbers */
    assert_false(wisp_json_is_null(NULL, &toks[n]));
    assert_false(wisp_json_is_null(js, NULL));
    assert_false(wisp_json_u32(NULL, &toks[n], &u32));
    assert_false(wisp_json_u32(js, NULL, &u32));
    assert_false(wisp_json_u32(js, &toks[s], &u32));
    assert_false(wisp_json_u32(js, &toks[n], NULL));
    assert_false(wisp_json_u32(js, &toks[n], &u32)); /* negative */
    assert_int_equal(u32, 77);
    assert_false(wisp_json_i64(js, &toks[n], NULL));
    assert_true(wisp_json_i64(js, &toks[n], &i64));
    assert_int_equal(i64, -5);
    /* field: no text or token; no room counts as cut */
    assert_int_equal(wisp_json_field(NULL, &toks[s], field, sizeof field, &cut), WISP_ERR_ARG);
    assert_int_equal(wisp_json_field(js, NULL, field, sizeof field, &cut), WISP_ERR_ARG);
    assert_string_equal(field, "");
    assert_int_equal(wisp_json_field(js, &toks[s], field, sizeof field, NULL), WISP_OK);
    assert_string_equal(field, "x");
    assert_int_equal(wisp_json_field(js, &toks[n], field, 2, NULL), WISP_OK); /* cut, not said */
    assert_string_equal(field, "-");
    cut = false;
    assert_int_equal(wisp_json_field(js, &toks[n], field, 2, &cut), WISP_OK);
    assert_true(cut);
    /* usage: its arguments */
    memset(&usage, 0, sizeof usage);
    assert_int_equal(wisp_json_usage(NULL, toks, count, 0, &usage), WISP_ERR_ARG);
    assert_int_equal(wisp_json_usage(js, NULL, count, 0, &usage), WISP_ERR_ARG);
    assert_int_equal(wisp_json_usage(js, toks, count, 0, NULL), WISP_ERR_ARG);
    assert_int_equal(wisp_json_usage(js, toks, count, -1, &usage), WISP_ERR_ARG);
    assert_int_equal(wisp_json_usage(js, toks, count, count, &usage), WISP_ERR_ARG);
    assert_int_equal(wisp_json_usage(js, toks, count, a, &usage), WISP_ERR_JSON);
    assert_false(usage.present);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_keys_and_literals),
        cmocka_unit_test(test_accessors_refuse),
    };
    return cmocka_run_group_tests_name("json_validator", tests, NULL, NULL);
}
