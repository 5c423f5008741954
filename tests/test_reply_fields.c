/*
 * test_reply_fields.c - the reply reader (wisp_reply_*) on fields a reply
 * leaves behind or takes from its neighbours: content_null and the budget
 * flag cleared for a reply that fails before its end, content parts that
 * stop at the end of their list (the next choice is not a part), the call
 * without an index after one with a high index, calls without slots at
 * indexes 31 and 32 counted once each, and {"object": "error"} with no
 * message read as an error, and a reply without "object" that is not one
 * (nothing is read before the tokens).
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
#include "wisp_reply.h"

#define CALLS 2

typedef struct rf {
    wisp_reply r;
    wisp_response resp;
    wisp_token toks[128];
    char scratch[64];
    char content[256];
    char reasoning[256];
    wisp_tool_call calls[CALLS];
    char args[CALLS][64];
    char sigs[CALLS][32];
} rf;

static rf g;

/* A reader on g's response, which keeps what an earlier reply left in it
 * unless again is false. */
static rf *reader(bool again)
{
    int i;
    if (!again) {
        memset(&g, 0, sizeof g);
        wisp_response_init(&g.resp, g.content, sizeof g.content, g.reasoning, sizeof g.reasoning);
        for (i = 0; i < CALLS; i++) {
            g.calls[i].arguments.buf = g.args[i];
            g.calls[i].arguments.cap = sizeof g.args[i];
            g.calls[i].signature.buf = g.sigs[i];
            g.calls[i].signature.cap = sizeof g.sigs[i];
        }
        g.resp.tool_calls = g.calls;
        g.resp.tool_call_cap = CALLS;
    }
    wisp_reply_init(&g.r, &g.resp, g.toks, 128, NULL, NULL);
    wisp_reply_scratch(&g.r, g.scratch, sizeof g.scratch);
    return &g;
}

static wisp_status whole(rf *t, const char *js)
{
    wisp_status st = wisp_reply_document(&t->r, js, strlen(js));
    return st != WISP_OK ? st : wisp_reply_end(&t->r, true);
}

static wisp_status piece(rf *t, const char *js)
{
    return wisp_reply_event(&t->r, js, strlen(js), false);
}

/* A reply that set content_null and the budget flag, then one on the same
 * response that fails before its end: neither flag is left over. */
static void test_flags_cleared_for_the_next_reply(void **state)
{
    rf *t = reader(false);
    (void)state;
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"content\":null},\"finish_reason\":"
                              "\"length\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":0,"
                              "\"total_tokens\":9}}"),
                     WISP_OK);
    assert_true(t->resp.content_null);
    assert_true(t->resp.reasoning_spent_budget);
    t = reader(true);
    assert_false(t->resp.content_null);
    assert_false(t->resp.reasoning_spent_budget);
    assert_int_equal(wisp_reply_document(&t->r, "{\"error\":{\"message\":\"busy\"}}", 28),
                     WISP_ERR_API);
    assert_false(t->resp.content_null);
    assert_false(t->resp.reasoning_spent_budget);
}

/* The parts of a message's content are the elements of its list, no
 * more: the choice after it, with a part's keys, is not one of them. */
static void test_parts_stop_at_the_end_of_their_list(void **state)
{
    rf *t = reader(false);
    (void)state;
    WISP_NEEDS(WISP_PARTS);
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\","
                              "\"text\":\"a\"}]}},{\"index\":1,\"type\":\"text\",\"text\":\"EXTRA\"}]}"),
                     WISP_OK);
    assert_string_equal(t->content, "a");
    t = reader(false);
    assert_int_equal(piece(t, "{\"choices\":[{\"delta\":{\"content\":[{\"type\":\"text\","
                              "\"text\":\"b\"}]}},{\"index\":1,\"type\":\"text\",\"text\":\"EXTRA\"}]}"),
                     WISP_OK);
    assert_string_equal(t->content, "b");
}

/* A call without an index takes the one after the highest seen. */
static void test_call_without_index_after_a_high_one(void **state)
{
    rf *t = reader(false);
    (void)state;
    WISP_NEEDS(WISP_TOOLS);
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"tool_calls\":["
                              "{\"index\":5,\"id\":\"a\",\"function\":{\"name\":\"f\"}},"
                              "{\"id\":\"b\",\"function\":{\"name\":\"g\"}}]}}]}"),
                     WISP_OK);
    assert_int_equal(t->resp.tool_call_count, 2);
    assert_string_equal(t->calls[0].id, "a");
    assert_int_equal(t->calls[0].index, 5);
    assert_string_equal(t->calls[1].id, "b");
    assert_int_equal(t->calls[1].index, 6);
    /* after the largest index a call may have, the next has nowhere to go
     * but that index again: it is not wrapped to 0 */
    t = reader(false);
    t->resp.tool_call_cap = 2;
    assert_int_equal(whole(t, "{\"choices\":[{\"message\":{\"tool_calls\":["
                              "{\"index\":4294967294,\"id\":\"a\",\"function\":{\"name\":\"f\"}},"
                              "{\"id\":\"b\",\"function\":{\"name\":\"g\"}},"
                              "{\"id\":\"c\",\"function\":{\"name\":\"h\"}}]}}]}"),
                     WISP_OK);
    assert_int_equal(t->resp.tool_calls_dropped, 0);
    assert_int_equal(t->resp.tool_call_count, 2);
    assert_int_equal(t->calls[0].index, 4294967294u);
    assert_int_equal(t->calls[1].index, 4294967295u);
}

/* Without a free slot, call 31 is remembered in the mask (its second piece
 * does not count again) and call 32 is not confused with call 0. */
static void test_dropped_calls_at_31_and_32(void **state)
{
    rf *t = reader(false);
    (void)state;
    WISP_NEEDS(WISP_TOOLS);
    t->resp.tool_call_cap = 1;
    assert_int_equal(piece(t, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":5,\"id\":\"x\","
                              "\"function\":{\"name\":\"f\"}}]}}]}"),
                     WISP_OK);
    assert_int_equal(piece(t, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":31,\"id\":\"b\","
                              "\"function\":{\"name\":\"f\"}}]}}]}"),
                     WISP_OK);
    assert_int_equal(piece(t, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":31,\"id\":\"b\","
                              "\"function\":{\"name\":\"f\"}}]}}]}"),
                     WISP_OK);
    assert_int_equal(t->resp.tool_calls_dropped, 1);
    assert_int_equal(piece(t, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\","
                              "\"function\":{\"name\":\"f\"}}]}}]}"),
                     WISP_OK);
    assert_int_equal(t->resp.tool_calls_dropped, 2);
    assert_int_equal(piece(t, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":32,\"id\":\"c\","
                              "\"function\":{\"name\":\"f\"}}]}}]}"),
                     WISP_OK);
    assert_int_equal(t->resp.tool_calls_dropped, 3);
    assert_int_equal(t->resp.tool_call_count, 1);
}

/* {"object": "error"} is an error even with nothing else in it. */
static void test_object_error_alone(void **state)
{
    rf *t = reader(false);
    (void)state;
    assert_int_equal(whole(t, "{\"object\":\"error\",\"code\":7}"), WISP_ERR_API);
    t = reader(false);
    assert_int_equal(whole(t, "{\"object\":\"chat.completion\",\"choices\":[{\"message\":"
                              "{\"content\":\"ok\"}}]}"),
                     WISP_OK);
    assert_string_equal(t->content, "ok");
}

/* A reply with no "object" is not an error, whatever lies before the
 * tokens (here a string token over the reply's own "error"). */
static void test_no_object_reads_nothing_before_the_tokens(void **state)
{
    static const char js[] = "{\"choices\":[{\"message\":{\"content\":\"error\"}}]}";
    static wisp_token all[129];
    const char *at = strstr(js, "error");
    (void)state;
    reader(false);
    memset(all, 0, sizeof all);
    all[0].type = WISP_TOK_STRING;
    all[0].start = (int)(at - js);
    all[0].end = all[0].start + 5;
    all[0].parent = -1;
    wisp_reply_init(&g.r, &g.resp, all + 1, 128, NULL, NULL);
    wisp_reply_scratch(&g.r, g.scratch, sizeof g.scratch);
    assert_int_equal(whole(&g, js), WISP_OK);
    assert_string_equal(g.content, "error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_cleared_for_the_next_reply),
        cmocka_unit_test(test_parts_stop_at_the_end_of_their_list),
        cmocka_unit_test(test_call_without_index_after_a_high_one),
        cmocka_unit_test(test_dropped_calls_at_31_and_32),
        cmocka_unit_test(test_object_error_alone),
        cmocka_unit_test(test_no_object_reads_nothing_before_the_tokens),
    };
    return cmocka_run_group_tests_name("reply_fields", tests, NULL, NULL);
}
