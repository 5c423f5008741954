/*
 * test_models_escapes.c - the model list's splitter on the escapes of a
 * string: every escape letter, the hex digits at the ends of their ranges
 * (0 9 a f A F), and a \u escape whose last digit is not hex (refused
 * there, before the element is handed over).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "needs.h"
#include "wisp.h"
#include "wisp_models.h"

static char g_buf[512];

/* The whole body in one piece: the elements handed over, then the end. */
static wisp_status split(const char *body, int *elements)
{
    wisp_models_split s;
    size_t off = 0, len = strlen(body);
    wisp_status st = WISP_OK;
    *elements = 0;
    wisp_models_init(&s, g_buf, sizeof g_buf);
    while (st == WISP_OK) {
        size_t used = 0;
        wisp_models_out out;
        st = wisp_models_feed(&s, (const uint8_t *)body + off, len - off, &used, &out);
        off += used;
        if (st != WISP_OK || out.event == WISP_MODELS_NEED_MORE)
            break;
        ++*elements;
    }
    return st != WISP_OK ? st : wisp_models_finish(&s);
}

static void test_every_escape_letter(void **state)
{
    int n = 0;
    (void)state;
    WISP_NEEDS(WISP_MODELS);
    assert_int_equal(split("{\"data\":[{\"id\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\\u0041\"}]}", &n),
                     WISP_OK);
    assert_int_equal(n, 1);
    /* a key with them too */
    assert_int_equal(split("{\"x\\n\\t\":1,\"data\":[{\"id\":\"m\"}]}", &n), WISP_OK);
    assert_int_equal(n, 1);
    /* a letter that is no escape */
    assert_int_equal(split("{\"data\":[{\"id\":\"a\\qb\"}]}", &n), WISP_ERR_JSON);
    assert_int_equal(n, 0);
}

static void test_hex_digits_at_their_ends(void **state)
{
    int n = 0;
    (void)state;
    WISP_NEEDS(WISP_MODELS);
    assert_int_equal(split("{\"data\":[{\"id\":\"\\u0039\\u00af\\u00AF\\u0090\"}]}", &n), WISP_OK);
    assert_int_equal(n, 1);
    /* just past each range */
    assert_int_equal(split("{\"data\":[{\"id\":\"\\u00:0\"}]}", &n), WISP_ERR_JSON);
    assert_int_equal(split("{\"data\":[{\"id\":\"\\u00g0\"}]}", &n), WISP_ERR_JSON);
    assert_int_equal(split("{\"data\":[{\"id\":\"\\u00G0\"}]}", &n), WISP_ERR_JSON);
    assert_int_equal(split("{\"data\":[{\"id\":\"\\u00/0\"}]}", &n), WISP_ERR_JSON);
    assert_int_equal(split("{\"data\":[{\"id\":\"\\u00`0\"}]}", &n), WISP_ERR_JSON);
    assert_int_equal(split("{\"data\":[{\"id\":\"\\u00@0\"}]}", &n), WISP_ERR_JSON);
}

/* The fourth digit is checked like the others: the element is refused, not
 * handed over. */
static void test_last_hex_digit_checked(void **state)
{
    int n = 0;
    (void)state;
    WISP_NEEDS(WISP_MODELS);
    assert_int_equal(split("{\"data\":[{\"id\":\"\\u004g\"}]}", &n), WISP_ERR_JSON);
    assert_int_equal(n, 0);
    assert_int_equal(split("{\"data\":[{\"id\":\"\\u004F\"}]}", &n), WISP_OK);
    assert_int_equal(n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_escape_letter),
        cmocka_unit_test(test_hex_digits_at_their_ends),
        cmocka_unit_test(test_last_hex_digit_checked),
    };
    return cmocka_run_group_tests_name("models_escapes", tests, NULL, NULL);
}
