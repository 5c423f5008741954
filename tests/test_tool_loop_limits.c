/*
 * test_tool_loop_limits.c - the tool loop and the tool list at their
 * limits: 64 rounds allowed, a refused client or a store that cannot be
 * laid out leaves the round count at 0, a one-round loop takes no room
 * for later rounds' keys, a one-byte thought signature sent back, a
 * result that fills all the room it was given, and
 * wisp_tools_from_json with its store exactly full before an empty
 * description, and with no "function" (nothing read before the tokens).
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
#include "wisp_json.h"

static const char k_call[] =
    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"tool_calls\":["
    "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"probe\",\"arguments\":\"{}\"},"
    "\"extra_content\":{\"google\":{\"thought_signature\":\"s\"}}}]},"
    "\"finish_reason\":\"tool_calls\"}]}";
static const char k_answer[] =
    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"done\"},"
    "\"finish_reason\":\"stop\"}]}";

typedef struct limits {
    sc_loop s; /* first: the question, the tools, the loop */
    uint64_t arena[32768 / 8];
} limits;

static const wisp_tool k_tools[] = {{.name = "probe"}};

static wisp_tool_verdict probe(void *user, const wisp_tool_call *call, char *out, size_t cap,
                               size_t *len)
{
    (void)user;
    (void)call;
    if (cap < 2) {
        *len = 0;
        return WISP_TOOL_RESULT;
    }
    memcpy(out, "ok", 2);
    *len = 2;
    return WISP_TOOL_RESULT;
}

/* Fills all it is given. */
static wisp_tool_verdict filler(void *user, const wisp_tool_call *call, char *out, size_t cap,
                                size_t *len)
{
    size_t *given = (size_t *)user;
    (void)call;
    memset(out, 'r', cap);
    *len = cap;
    *given = cap;
    return WISP_TOOL_RESULT;
}

static limits *setup(void)
{
    static limits t;
    memset(&t, 0, sizeof t);
    sc_loop_init(&t.s, "probe it", k_tools, probe, t.arena, sizeof t.arena);
    return &t;
}

/* 64 rounds is the most a loop may ask for, and is allowed. */
static void test_sixty_four_rounds_allowed(void **state)
{
    limits *t = setup();
    (void)state;
    WISP_NEEDS(WISP_TOOLS);
    t->s.loop.max_rounds = 64;
    sc_add_json(&t->s.e, k_answer);
    assert_int_equal(sc_loop_run(&t->s), WISP_OK);
    assert_int_equal(t->s.loop.rounds, 1);
    assert_string_equal(t->s.e.content, "done");
}

/* Refused before any request: the count of rounds says none ran. */
static void test_no_round_counted_when_refused(void **state)
{
    limits *t = setup();
    (void)state;
    WISP_NEEDS(WISP_TOOLS);
    t->s.loop.rounds = 7;
    assert_int_equal(wisp_chat_tools(NULL, &t->s.req, &t->s.e.resp, &t->s.loop, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(t->s.loop.rounds, 0);
    /* an arena too small for the message slots */
    t->s.loop.rounds = 7;
    t->s.loop.arena_size = 16;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARENA_FULL);
    assert_int_equal(t->s.loop.rounds, 0);
    assert_int_equal(t->s.e.fake.sent_len, 0);
}

/* A loop of one round sends no later round, so its key takes no room. */
static void test_one_round_takes_no_key_room(void **state)
{
    limits *t = setup();
    size_t plain;
    (void)state;
    WISP_NEEDS(WISP_TOOLS);
    t->s.loop.max_rounds = 1;
    sc_add_json(&t->s.e, k_answer);
    assert_int_equal(sc_loop_run(&t->s), WISP_OK);
    plain = t->s.loop.arena_used;
    t = setup();
    t->s.loop.max_rounds = 1;
    t->s.req.idempotency_key = "a-rather-long-idempotency-key-0123456789";
    sc_add_json(&t->s.e, k_answer);
    assert_int_equal(sc_loop_run(&t->s), WISP_OK);
    assert_int_equal(t->s.loop.arena_used, plain);
    /* two rounds take it */
    t = setup();
    t->s.loop.max_rounds = 2;
    t->s.req.idempotency_key = "a-rather-long-idempotency-key-0123456789";
    sc_add_json(&t->s.e, k_answer);
    assert_int_equal(sc_loop_run(&t->s), WISP_OK);
    assert_true(t->s.loop.arena_used > plain);
}

/* A result that fills all the room the handler was given is kept whole. */
static void test_result_filling_its_room(void **state)
{
    limits *t = setup();
    size_t given = 0;
    (void)state;
    WISP_NEEDS(WISP_TOOLS);
    t->s.loop.handler = filler;
    t->s.loop.user = &given;
    t->s.loop.max_rounds = 2;
    t->s.loop.arena_size = 1024;
    sc_add_json(&t->s.e, k_call);
    sc_add_json(&t->s.e, k_answer);
    assert_int_equal(sc_loop_run(&t->s), WISP_OK);
    assert_true(given > 0);
    assert_int_equal(t->s.loop.message_count, 3);
    assert_int_equal(t->s.loop.messages[2].role, WISP_ROLE_TOOL);
    assert_int_equal(strlen(t->s.loop.messages[2].content), given);
    assert_string_equal(t->s.e.content, "done");
}

/* A thought signature of one byte goes back with its call. */
static void test_one_byte_signature_sent_back(void **state)
{
    limits *t = setup();
    (void)state;
    WISP_NEEDS(WISP_TOOLS);
    sc_add_json(&t->s.e, k_call);
    sc_add_json(&t->s.e, k_answer);
    assert_int_equal(sc_loop_run(&t->s), WISP_OK);
    assert_int_equal(t->s.loop.rounds, 2);
    assert_non_null(strstr(sc_request(&t->s.e, 2),
                           "\"extra_content\":{\"google\":{\"thought_signature\":\"s\"}}"));
}

/* A store full to its last byte has no room even for an empty text. */
static void test_full_store_before_an_empty_description(void **state)
{
    static const char text[] =
        "[{\"type\":\"function\",\"function\":{\"name\":\"ab\",\"description\":\"\"}}]";
    wisp_token toks[32];
    wisp_tool tools[1];
    char store[8];
    size_t count = 9;
    const char *why = NULL;
    (void)state;
    WISP_NEEDS(WISP_TOOLS);
    assert_int_equal(
        wisp_tools_from_json(text, strlen(text), toks, 32, tools, 1, &count, store, 3, &why),
        WISP_ERR_TOO_LARGE);
    assert_int_equal(count, 0);
    assert_string_equal(why, "the names and descriptions do not fit");
    /* one byte more holds both */
    assert_int_equal(
        wisp_tools_from_json(text, strlen(text), toks, 32, tools, 1, &count, store, 4, &why),
        WISP_OK);
    assert_int_equal(count, 1);
    assert_string_equal(tools[0].name, "ab");
    assert_string_equal(tools[0].description, "");
}

/* An element without "function" is refused as that, whatever lies before
 * the tokens. */
static void test_no_function_reads_nothing_before(void **state)
{
    static const char text[] = "[{\"type\":\"function\",\"name\":\"ab\"}]";
    wisp_token all[33];
    wisp_tool tools[1];
    char store[64];
    size_t count = 9;
    const char *why = NULL;
    (void)state;
    WISP_NEEDS(WISP_TOOLS);
    memset(all, 0, sizeof all);
    all[0].type = WISP_TOK_OBJECT; /* what a look at index -1 would find */
    assert_int_equal(wisp_tools_from_json(text, strlen(text), all + 1, 32, tools, 1, &count, store,
                                          sizeof store, &why),
                     WISP_ERR_JSON);
    assert_string_equal(why, "an element has no \"function\" object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sixty_four_rounds_allowed),
        cmocka_unit_test(test_no_round_counted_when_refused),
        cmocka_unit_test(test_one_round_takes_no_key_room),
        cmocka_unit_test(test_one_byte_signature_sent_back),
        cmocka_unit_test(test_result_filling_its_room),
        cmocka_unit_test(test_full_store_before_an_empty_description),
        cmocka_unit_test(test_no_function_reads_nothing_before),
    };
    return cmocka_run_group_tests_name("tool_loop_limits", tests, NULL, NULL);
}
