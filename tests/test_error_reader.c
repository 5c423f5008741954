/*
 * test_error_reader.c - the one reader of error bodies (wisp_error_read,
 * wisp_error_from_tokens, wisp_error_fallback) on the shapes at the edges
 * of what it recognises: Mistral's nested message in each of its forms,
 * FastAPI details that are empty or not objects, a cut body's "message"
 * found, cut or malformed, an SSE error line ended by CR or by nothing,
 * blank bytes before the body, and the arguments.
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

static wisp_token g_toks[64];
static wisp_response g_resp;

typedef struct read_case {
    const char *body;
    bool cut;
    wisp_status st;
    const char *message, *type, *code;
} read_case;

static void run_cases(const read_case *cases, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        const read_case *c = &cases[i];
        wisp_status st;
        memset(&g_resp, 0, sizeof g_resp);
        strcpy(g_resp.error_param, "stale"); /* every call starts clean */
        st = wisp_error_read(c->body, strlen(c->body), c->cut, g_toks, 64, &g_resp);
        if (st != c->st || strcmp(g_resp.error_message, c->message) != 0 ||
            strcmp(g_resp.error_type, c->type) != 0 || strcmp(g_resp.error_code, c->code) != 0 ||
            strcmp(g_resp.error_param, "") != 0) {
            print_error("case %u %s: %s message \"%s\" type \"%s\" code \"%s\" param \"%s\"; want "
                        "%s \"%s\" \"%s\" \"%s\"\n",
                        (unsigned)i, c->body, status_name(st), g_resp.error_message,
                        g_resp.error_type, g_resp.error_code, g_resp.error_param, status_name(c->st),
                        c->message, c->type, c->code);
            fail();
        }
    }
}

/* Mistral's 422: a message that is an object, with detail as a list of
 * {"msg"}, as a string, or not there (then its own "message"). */
static void test_nested_messages(void **state)
{
    WISP_NEEDS(WISP_ERROR_SHAPES);
    static const read_case cases[] = {
        {"{\"object\":\"error\",\"message\":{\"detail\":[{\"msg\":\"field required\"}]},\"type\":\"invalid\"}",
         false, WISP_OK, "field required", "invalid", ""},
        {"{\"error\":{\"message\":{\"detail\":\"too long\"},\"code\":3}}", false, WISP_OK, "too long",
         "", "3"},
        {"{\"error\":{\"message\":{\"message\":\"inner words\"},\"type\":\"t\"}}", false, WISP_OK,
         "inner words", "t", ""},
        /* an empty list, a list of strings, a number: no words in them, so
         * the message falls back to its own "message" (none here) */
        {"{\"error\":{\"message\":{\"detail\":[]},\"type\":\"t\"}}", false, WISP_OK, "", "t", ""},
        {"{\"error\":{\"message\":{\"detail\":[\"x\"],\"message\":\"m\"},\"type\":\"t\"}}", false,
         WISP_OK, "m", "t", ""},
        {"{\"error\":{\"message\":{\"detail\":7,\"message\":\"seven\"},\"code\":\"c\"}}", false,
         WISP_OK, "seven", "", "c"},
    };
    (void)state;
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* FastAPI's detail list needs an object first; an empty list or a list of
 * strings is no error shape: the text itself becomes the message. */
static void test_detail_lists(void **state)
{
    WISP_NEEDS(WISP_ERROR_SHAPES);
    static const read_case cases[] = {
        {"{\"detail\":[{\"loc\":[\"body\"],\"msg\":\"missing\",\"type\":\"value_error\"}]}", false,
         WISP_OK, "missing", "value_error", ""},
        {"{\"detail\":[]}", false, WISP_ERR_JSON, "{\"detail\":[]}", "", ""},
        {"{\"detail\":[\"a\"]}", false, WISP_ERR_JSON, "{\"detail\":[\"a\"]}", "", ""},
        {"{\"detail\":5}", false, WISP_ERR_JSON, "{\"detail\":5}", "", ""},
    };
    (void)state;
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* A body cut by the buffer: its "message" is found by its key when it
 * ended in what was kept; a "message" key whose value is not a string is
 * passed over for the next; a message cut itself, or malformed, leaves
 * the text as the message. */
static void test_cut_bodies(void **state)
{
    static const read_case cases[] = {
        {"{\"error\":{\"message\":\"a \\\"quoted\\\" word\",\"type\":\"inval", true, WISP_OK,
         "a \"quoted\" word", "", ""},
        {"{\"message\"\t:\r\n \"spaced\", \"x\":[1,2", true, WISP_OK, "spaced", "", ""},
        {"{\"meta\":{\"message\":5},\"error\":{\"message\":\"second\",\"ty", true, WISP_OK,
         "second", "", ""},
        {"{\"error\":{\"message\":\"never ends", true, WISP_ERR_JSON,
         "{\"error\":{\"message\":\"never ends", "", ""},
        {"{\"error\":{\"message\":\"bad \\q escape\",\"t", true, WISP_ERR_JSON,
         "{\"error\":{\"message\":\"bad \\q escape\",\"t", "", ""},
        {"{\"error\":{\"message\"", true, WISP_ERR_JSON, "{\"error\":{\"message\"", "", ""},
        {"{\"error\":{\"message\":   ", true, WISP_ERR_JSON, "{\"error\":{\"message\":", "", ""},
        /* not cut: the same text is not searched */
        {"{\"error\":{\"message\":\"x\",\"ty", false, WISP_ERR_JSON, "{\"error\":{\"message\":\"x\",\"ty",
         "", ""},
    };
    (void)state;
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

/* An error sent as a stream event: its first data line, however the line
 * ends; blank bytes of every kind before it. */
static void test_event_lines_and_blanks(void **state)
{
    static const read_case cases[] = {
        {" \t\r\n{\"error\":{\"message\":\"after blanks\"}}", false, WISP_OK, "after blanks", "", ""},
        {"data: {\"error\":{\"message\":\"cr\"}}\r\n\r\n", false, WISP_OK, "cr", "", ""},
        {"data:{\"error\":{\"message\":\"to the end\"}}", false, WISP_OK, "to the end", "", ""},
        {"\n\ndata: {\"error\":{\"message\":\"lf\",\"code\":429}}\ndata: [DONE]\n", false, WISP_OK,
         "lf", "", "429"},
        /* blank bytes only, and "data:" alone: nothing to read */
        {" \r\n\t", false, WISP_ERR_JSON, "", "", ""},
    };
    (void)state;
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_arguments(void **state)
{
    static const char js[] = "{\"error\":{\"message\":\"m\"}}";
    int count = 0;
    (void)state;
    memset(&g_resp, 0, sizeof g_resp);
    assert_int_equal(wisp_error_read(NULL, 3, false, g_toks, 64, &g_resp), WISP_ERR_ARG);
    assert_int_equal(wisp_error_read(js, strlen(js), false, g_toks, 64, NULL), WISP_ERR_ARG);
    /* no text at all: nothing found, nothing written */
    assert_int_equal(wisp_error_read(NULL, 0, false, g_toks, 64, &g_resp), WISP_ERR_JSON);
    assert_string_equal(g_resp.error_message, "");
    /* the reader needs tokens, a count and somewhere to write */
    assert_int_equal(wisp_json_tokenize(js, strlen(js), g_toks, 64, &count), WISP_OK);
    assert_false(wisp_error_from_tokens(NULL, g_toks, count, &g_resp));
    assert_false(wisp_error_from_tokens(js, NULL, count, &g_resp));
    assert_false(wisp_error_from_tokens(js, g_toks, 0, &g_resp));
    assert_false(wisp_error_from_tokens(js, g_toks, count, NULL));
    assert_string_equal(g_resp.error_message, "");
    assert_true(wisp_error_from_tokens(js, g_toks, count, &g_resp));
    assert_string_equal(g_resp.error_message, "m");
    /* the fallback keeps words already found, whichever field holds them */
    wisp_error_fallback("page", 4, NULL);
    memset(&g_resp, 0, sizeof g_resp);
    strcpy(g_resp.error_type, "t");
    wisp_error_fallback("page", 4, &g_resp);
    assert_string_equal(g_resp.error_message, "");
    memset(&g_resp, 0, sizeof g_resp);
    strcpy(g_resp.error_code, "c");
    wisp_error_fallback("page", 4, &g_resp);
    assert_string_equal(g_resp.error_message, "");
    memset(&g_resp, 0, sizeof g_resp);
    wisp_error_fallback("page", 4, &g_resp);
    assert_string_equal(g_resp.error_message, "page");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_messages),
        cmocka_unit_test(test_detail_lists),
        cmocka_unit_test(test_cut_bodies),
        cmocka_unit_test(test_event_lines_and_blanks),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests_name("error_reader", tests, NULL, NULL);
}
