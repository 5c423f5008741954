/*
 * test_conv_store.c - the conversation store at its edges: arguments, a
 * system message or a turn that can never fit, a turn with more messages
 * than there are slots, the last committed turn dropped when the new one
 * needs all the room, a reserve larger than the heap, an empty answer,
 * and the tool-loop arguments checked when a conversation runs the loop.
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
#include "scripted_client.h"

#define MSG_BYTES (sizeof(wisp_message) + sizeof(size_t))

static sc_env g_e;
static wisp_conv g_conv;
static uint64_t g_arena[8192 / 8];
static wisp_request g_req;

static const char *answer_json(const char *text)
{
    static char json[1024];
    snprintf(json, sizeof json,
             "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},"
             "\"finish_reason\":\"stop\"}]}",
             text);
    return json;
}

static void setup(size_t arena_size, size_t max_messages, const char *system)
{
    sc_init(&g_e, NULL);
    memset(&g_req, 0, sizeof g_req);
    g_req.model = "m";
    assert_int_equal(wisp_conv_init(&g_conv, g_arena, arena_size, max_messages, system), WISP_OK);
}

static wisp_status ask(const char *text)
{
    return wisp_conv_ask(&g_e.client, &g_conv, &g_req, text, &g_e.resp, NULL, NULL, NULL);
}

static void test_init_arguments(void **state)
{
    wisp_conv c;
    (void)state;
    assert_int_equal(wisp_conv_init(NULL, g_arena, sizeof g_arena, 8, NULL), WISP_ERR_ARG);
    assert_int_equal(wisp_conv_init(&c, g_arena, sizeof g_arena, 65536, NULL), WISP_ERR_ARG);
    assert_int_equal(wisp_conv_init(&c, g_arena, 4 * MSG_BYTES + 64, 65535, NULL),
                     WISP_ERR_ARENA_FULL);
    /* the slots fit, the system message does not */
    assert_int_equal(wisp_conv_init(&c, g_arena, 4 * MSG_BYTES + 8, 4, "a longer system prompt"),
                     WISP_ERR_ARENA_FULL);
    /* exactly enough: the slots and the system message's 8 aligned bytes */
    assert_int_equal(wisp_conv_init(&c, g_arena, 4 * MSG_BYTES + 8, 4, "seven.."), WISP_OK);
    assert_int_equal(c.message_count, 1);
    assert_string_equal(c.messages[0].content, "seven..");
    assert_int_equal(c.arena_used, 4 * MSG_BYTES + 8);
}

/* Reset and ask on a conversation that was never laid out do nothing. */
static void test_unset_conversation(void **state)
{
    wisp_conv zero;
    wisp_message msg;
    wisp_request req = sc_question(&msg, "x");
    (void)state;
    sc_init(&g_e, NULL);
    memset(&zero, 0, sizeof zero);
    wisp_conv_reset(NULL);
    wisp_conv_reset(&zero);
    assert_null(zero.messages);
    assert_int_equal(zero.message_count, 0);
    assert_int_equal(wisp_conv_ask(&g_e.client, &zero, &req, "hi", &g_e.resp, NULL, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_conv_ask(&g_e.client, NULL, &req, "hi", &g_e.resp, NULL, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_conv_init(&g_conv, g_arena, sizeof g_arena, 8, "S"), WISP_OK);
    assert_int_equal(wisp_conv_ask(&g_e.client, &g_conv, NULL, "hi", &g_e.resp, NULL, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_conv_ask(&g_e.client, &g_conv, &req, "hi", NULL, NULL, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(g_conv.message_count, 1);
    assert_int_equal(g_e.fake.connects, 0);
}

/* Two slots and a system message: the question takes the last slot, the
 * answer has none and nothing may be dropped for it.  The turn is taken
 * back whole. */
static void test_no_slot_for_the_answer(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    (void)state;
    setup(sizeof g_arena, 2, "S");
    sc_add_json(&g_e, answer_json("hello"));
    assert_int_equal(ask("hi"), WISP_ERR_ARENA_FULL);
    assert_int_equal(g_conv.message_count, 1);
    assert_string_equal(g_conv.messages[0].content, "S");
    /* the question was asked: the failure is the history's, not the call's */
    assert_int_equal(g_e.fake.connects, 1);
    assert_string_equal(g_e.content, "hello");
}

/* A question that needs the room of every committed turn, the last one
 * included: they all go, the new turn is whole. */
static void test_new_turn_takes_all_the_room(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    char big[220];
    (void)state;
    setup(8 * MSG_BYTES + 240, 8, NULL);
    g_conv.reserve = 0;
    sc_add_json(&g_e, answer_json("first answer"));
    assert_int_equal(ask("first question"), WISP_OK);
    assert_int_equal(g_conv.message_count, 2);
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sc_add_json(&g_e, answer_json("ok"));
    assert_int_equal(ask(big), WISP_OK);
    assert_int_equal(g_conv.turns_dropped, 1);
    assert_int_equal(g_conv.message_count, 2);
    assert_string_equal(g_conv.messages[0].content, big);
    assert_string_equal(g_conv.messages[1].content, "ok");
    /* the request carried the new question alone */
    assert_null(strstr(sc_request(&g_e, 2), "first question"));
    assert_true(g_conv.arena_used <= 8 * MSG_BYTES + 240);
}

/* A reserve larger than the heap can ever free: the turns before the last
 * go after each turn, the last one always stays. */
static void test_reserve_beyond_the_heap(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    int i;
    (void)state;
    setup(sizeof g_arena, 16, "S");
    g_conv.reserve = sizeof g_arena;
    for (i = 0; i < 3; i++) {
        char q[16], a[16];
        snprintf(q, sizeof q, "q%d", i);
        snprintf(a, sizeof a, "a%d", i);
        sc_add_json(&g_e, answer_json(a));
        assert_int_equal(ask(q), WISP_OK);
        assert_int_equal(g_conv.message_count, 3);
        assert_string_equal(g_conv.messages[0].content, "S");
        assert_string_equal(g_conv.messages[1].content, q);
        assert_string_equal(g_conv.messages[2].content, a);
        assert_int_equal(g_conv.turns_dropped, (size_t)i);
    }
}

/* An answer with no text (content null) is an empty assistant message,
 * sent back as "" in the next request. */
static void test_empty_answer(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    (void)state;
    setup(sizeof g_arena, 8, NULL);
    sc_add_json(&g_e, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null},"
                      "\"finish_reason\":\"stop\"}]}");
    assert_int_equal(ask("say nothing"), WISP_OK);
    assert_int_equal(g_conv.message_count, 2);
    assert_int_equal(g_conv.messages[1].role, WISP_ROLE_ASSISTANT);
    assert_string_equal(g_conv.messages[1].content, "");
    sc_add_json(&g_e, answer_json("ok"));
    assert_int_equal(ask("again"), WISP_OK);
    assert_non_null(strstr(sc_request(&g_e, 2),
                           "{\"role\":\"user\",\"content\":\"say nothing\"},"
                           "{\"role\":\"assistant\",\"content\":\"\"},"
                           "{\"role\":\"user\",\"content\":\"again\"}"));
}

/* Without a loop, calls in the reply are not run: the text is the answer. */
static void test_calls_without_a_loop(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static const wisp_tool tools[] = {{.name = "f"}};
    (void)state;
    setup(sizeof g_arena, 8, NULL);
    g_req.tools = tools;
    g_req.tool_count = 1;
    sc_add_json(&g_e, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"maybe\","
                      "\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\","
                      "\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}");
    assert_int_equal(ask("call f?"), WISP_OK);
    assert_int_equal(g_e.resp.tool_call_count, 1);
    assert_int_equal(g_conv.message_count, 2);
    assert_string_equal(g_conv.messages[1].content, "maybe");
    assert_int_equal(g_conv.messages[1].tool_call_count, 0);
}

static wisp_tool_verdict never(void *user, const wisp_tool_call *call, char *out, size_t cap,
                               size_t *len)
{
    (void)user;
    (void)call;
    (void)out;
    (void)cap;
    (void)len;
    fail_msg("%s", "the handler ran");
    return WISP_TOOL_STOP;
}

/* With a loop and tools, a response without text room is allowed (the
 * answer may be calls), but the loop's own limits still hold and the
 * history is untouched when they refuse. */
static void test_loop_limits_through_a_conversation(void **state)
{
    static const wisp_tool tools[] = {{.name = "f"}};
    wisp_tool_loop loop;
    (void)state;
    setup(sizeof g_arena, 8, "S");
    memset(&loop, 0, sizeof loop);
    loop.handler = never;
    g_req.tools = tools;
    g_req.tool_count = 1;
    g_e.resp.tool_call_cap = 1025;
    assert_int_equal(wisp_conv_ask(&g_e.client, &g_conv, &g_req, "hi", &g_e.resp, &loop, NULL, NULL),
                     WISP_ERR_ARG);
    g_e.resp.tool_call_cap = SC_CALLS;
    loop.max_rounds = 65;
    assert_int_equal(wisp_conv_ask(&g_e.client, &g_conv, &g_req, "hi", &g_e.resp, &loop, NULL, NULL),
                     WISP_ERR_ARG);
    loop.max_rounds = 0;
    g_e.resp.tool_call_cap = 0;
    assert_int_equal(wisp_conv_ask(&g_e.client, &g_conv, &g_req, "hi", &g_e.resp, &loop, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(g_conv.message_count, 1);
    assert_int_equal(g_e.fake.connects, 0);
    /* no text room: refused without tools, allowed with them */
    g_e.resp.tool_call_cap = SC_CALLS;
    g_e.resp.content.cap = 0;
    g_req.tool_count = 0;
    assert_int_equal(wisp_conv_ask(&g_e.client, &g_conv, &g_req, "hi", &g_e.resp, &loop, NULL, NULL),
                     WISP_ERR_ARG);
    g_req.tool_count = 1;
    if (WISP_NONSTREAM && WISP_TOOLS) {
        sc_add_json(&g_e, answer_json("no room for this"));
        assert_int_equal(wisp_conv_ask(&g_e.client, &g_conv, &g_req, "hi", &g_e.resp, &loop, NULL,
                                       NULL),
                         WISP_OK);
        assert_int_equal(g_conv.message_count, 3);
        assert_string_equal(g_conv.messages[2].content, ""); /* cut to nothing, as resp was */
        assert_true(g_e.resp.content.truncated);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_arguments),
        cmocka_unit_test(test_unset_conversation),
        cmocka_unit_test(test_no_slot_for_the_answer),
        cmocka_unit_test(test_new_turn_takes_all_the_room),
        cmocka_unit_test(test_reserve_beyond_the_heap),
        cmocka_unit_test(test_empty_answer),
        cmocka_unit_test(test_calls_without_a_loop),
        cmocka_unit_test(test_loop_limits_through_a_conversation),
    };
    return cmocka_run_group_tests_name("conv_store", tests, NULL, NULL);
}
