/*
 * test_error_shapes_edges.c - the error reader (wisp_error_read,
 * wisp_error_from_tokens) where a shape's list is empty and the next token
 * is an object of another element (it is not the list's first element),
 * where no key is found (the reader never looks before the first token,
 * whatever a token there would be),
 * a refused call that leaves the response as it was, a NULL text of one
 * byte, and a cut body's message too long for its field.
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

/* One token before the ones the reader is given: a string ("foo" in the
 * bodies below), which a reader looking at index -1 would take. */
static wisp_token g_all[65];
static wisp_token *const g_toks = g_all + 1;
static wisp_response g_resp;

static wisp_status read_before(const char *body, bool cut, int before_type)
{
    memset(&g_resp, 0, sizeof g_resp);
    memset(g_all, 0, sizeof g_all);
    g_all[0].type = before_type;
    g_all[0].start = 2;
    g_all[0].end = 5;
    g_all[0].size = 1;
    g_all[0].parent = -1;
    return wisp_error_read(body, strlen(body), cut, g_toks, 64, &g_resp);
}

static wisp_status read_body(const char *body, bool cut)
{
    return read_before(body, cut, WISP_TOK_STRING);
}

/* Mistral's {"detail": []} inside a message object is no message, even when
 * the next element of a Gemini list is an object with "msg". */
static void test_empty_detail_list_before_an_object(void **state)
{
    (void)state;
    WISP_NEEDS(WISP_ERROR_SHAPES);
    assert_int_equal(read_body("[{\"error\":{\"code\":\"c1\",\"message\":{\"detail\":[]}}},"
                               "{\"msg\":\"wrong\"}]",
                               false),
                     WISP_OK);
    assert_string_equal(g_resp.error_message, "");
    assert_string_equal(g_resp.error_code, "c1");
}

/* {"errors": []} is no error object, even when the next element of the
 * list is one: the body is not an error the reader knows. */
static void test_empty_errors_list_before_an_object(void **state)
{
    (void)state;
    WISP_NEEDS(WISP_ERROR_SHAPES);
    assert_int_equal(read_body("[{\"errors\":[]},{\"message\":\"wrong\",\"code\":\"c2\"}]", false),
                     WISP_ERR_JSON);
    assert_string_equal(g_resp.error_code, "");
    assert_string_not_equal(g_resp.error_message, "wrong");
}

/* No "error", "errors", "message" or "detail": not an error, whatever lies
 * before the tokens. */
static void test_no_key_reads_nothing_before_the_tokens(void **state)
{
    (void)state;
    assert_int_equal(read_body("{\"foo\":1}", false), WISP_ERR_JSON);
    assert_string_equal(g_resp.error_type, "");
    assert_string_equal(g_resp.error_code, "");
    assert_int_equal(read_body("{\"foo\":{\"bar\":[1]}}", false), WISP_ERR_JSON);
    assert_string_equal(g_resp.error_code, "");
    /* a list of one before the tokens is not an "errors" list either */
    assert_int_equal(read_before("{\"foo\":1}", false, WISP_TOK_ARRAY), WISP_ERR_JSON);
    assert_int_equal(read_before("{\"foo\":1}", false, WISP_TOK_OBJECT), WISP_ERR_JSON);
}

/* A call refused for its arguments changes nothing in the response. */
static void test_refused_calls_touch_nothing(void **state)
{
    static const char js[] = "{\"error\":{\"message\":\"new\"}}";
    int count = 0;
    (void)state;
    memset(&g_resp, 0, sizeof g_resp);
    assert_int_equal(wisp_json_tokenize(js, strlen(js), g_toks, 64, &count), WISP_OK);
    strcpy(g_resp.error_message, "kept");
    strcpy(g_resp.error_type, "kept type");
    assert_false(wisp_error_from_tokens(js, g_toks, 0, &g_resp));
    assert_false(wisp_error_from_tokens(js, g_toks, -1, &g_resp));
    assert_string_equal(g_resp.error_message, "kept");
    assert_string_equal(g_resp.error_type, "kept type");
    /* the same tokens with their count: read */
    assert_true(wisp_error_from_tokens(js, g_toks, count, &g_resp));
    assert_string_equal(g_resp.error_message, "new");
    /* a NULL text of any length but 0 */
    assert_int_equal(wisp_error_read(NULL, 1, false, g_toks, 64, &g_resp), WISP_ERR_ARG);
    assert_int_equal(wisp_error_read(NULL, 1, true, g_toks, 64, &g_resp), WISP_ERR_ARG);
}

/* A cut body whose message is longer than its field: the message is kept
 * as far as it fits and the cut is flagged. */
static void test_cut_body_long_message_flagged(void **state)
{
    static char body[WISP_ERROR_MESSAGE_CAP * 2 + 64];
    size_t n;
    (void)state;
    strcpy(body, "{\"error\":{\"message\":\"");
    n = strlen(body);
    memset(body + n, 'x', WISP_ERROR_MESSAGE_CAP + 10);
    strcpy(body + n + WISP_ERROR_MESSAGE_CAP + 10, "\",\"ty");
    assert_int_equal(read_body(body, true), WISP_OK);
    assert_int_equal(strlen(g_resp.error_message), WISP_ERROR_MESSAGE_CAP - 1);
    assert_true(g_resp.fields_truncated);
    /* a short one is not flagged */
    assert_int_equal(read_body("{\"error\":{\"message\":\"short\",\"ty", true), WISP_OK);
    assert_string_equal(g_resp.error_message, "short");
    assert_false(g_resp.fields_truncated);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_detail_list_before_an_object),
        cmocka_unit_test(test_empty_errors_list_before_an_object),
        cmocka_unit_test(test_no_key_reads_nothing_before_the_tokens),
        cmocka_unit_test(test_refused_calls_touch_nothing),
        cmocka_unit_test(test_cut_body_long_message_flagged),
    };
    return cmocka_run_group_tests_name("error_shapes_edges", tests, NULL, NULL);
}
