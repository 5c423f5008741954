/*
 * test_tool_loop_rounds.c - wisp_chat_tools round by round: what each
 * argument may be, a failed request ends the loop with its status, a call
 * that cannot be run (no name) is never run, a handler that claims more
 * than it was given is refused, the idempotency key of rounds 10 and
 * beyond, a forced function choice only for the first request, and an
 * arena of every size either holds the whole loop or gives ARENA_FULL
 * with the history as it was before the round.
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

static const char k_call[] =
    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Looking.\",\"tool_calls\":["
    "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get_temperature\","
    "\"arguments\":\"{\\\"room\\\":\\\"hall\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}";
static const char k_answer[] =
    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"21.5 in the hall.\"},"
    "\"finish_reason\":\"stop\"}]}";

typedef struct loop_case {
    sc_loop s; /* first: the question, the tools, the loop */
    uint64_t arena[4096 / 8];
    int handled;
    size_t claim_extra;   /* the handler says it wrote this much more than cap */
    unsigned repeat_until; /* serve the calls reply again until this round */
} loop_case;

static const wisp_tool k_tools[] = {{.name = "get_temperature"}};

static wisp_tool_verdict thermometer(void *user, const wisp_tool_call *call, char *out, size_t cap,
                                     size_t *len)
{
    loop_case *t = (loop_case *)user;
    t->handled++;
    assert_string_equal(call->name, "get_temperature");
    assert_string_equal(call->arguments.buf, "{\"room\":\"hall\"}");
    if (t->claim_extra > 0) {
        *len = cap + t->claim_extra;
        return WISP_TOOL_RESULT;
    }
    if (cap < 4) {
        *len = 0;
        return WISP_TOOL_RESULT;
    }
    memcpy(out, "21.5", 4);
    *len = 4;
    /* The same calls reply for the next request, until the round wanted:
     * then the answer (the script's second reply). */
    t->s.e.fake.next_reply = t->handled + 1 < (int)t->repeat_until ? 0 : 1;
    return WISP_TOOL_RESULT;
}

static loop_case *setup(void)
{
    static loop_case t;
    memset(&t, 0, sizeof t);
    sc_loop_init(&t.s, "warm in the hall?", k_tools, thermometer, t.arena, sizeof t.arena);
    t.s.loop.user = &t;
    t.repeat_until = 1;
    return &t;
}

static wisp_message g_many[1000];

static void test_arguments_refused(void **state)
{
    loop_case *t = setup();
    wisp_message many[1];
    (void)state;
    assert_int_equal(wisp_chat_tools(&t->s.e.client, NULL, &t->s.e.resp, &t->s.loop, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_chat_tools(&t->s.e.client, &t->s.req, NULL, &t->s.loop, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_chat_tools(&t->s.e.client, &t->s.req, &t->s.e.resp, NULL, NULL, NULL),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_chat_tools(NULL, &t->s.req, &t->s.e.resp, &t->s.loop, NULL, NULL),
                     WISP_ERR_ARG);
    t->s.loop.arena = NULL;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARG);
    t = setup();
    t->s.req.messages = NULL;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARG);
    t = setup();
    t->s.req.message_count = 0;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARG);
    t = setup();
    t->s.loop.max_rounds = 65;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARG);
    t = setup();
    t->s.e.resp.tool_call_cap = 1025;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARG);
    t = setup();
    t->s.e.resp.tool_call_cap = 0;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARG);
    /* more messages than a store holds */
    t = setup();
    memset(many, 0, sizeof many);
    t->s.req.messages = many;
    t->s.req.message_count = 65536;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARG);
    /* the largest history the rounds could make does not fit a store:
     * 1000 messages + 63 rounds x (1 + 1024 results) > 65535 */
    t = setup();
    t->s.req.messages = g_many;
    t->s.req.message_count = sizeof g_many / sizeof g_many[0];
    t->s.loop.max_rounds = 64;
    t->s.e.resp.tool_call_cap = 1024;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARG);
    /* one round fewer fits the count (the arena then is what is short) */
    t->s.loop.max_rounds = 63;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARENA_FULL);
    /* nothing was sent for any of them */
    assert_int_equal(t->s.e.fake.connects, 0);
    assert_int_equal(t->handled, 0);
}

/* A request that fails ends the loop with its status: no tool runs. */
static void test_failed_request_ends_the_loop(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    loop_case *t = setup();
    (void)state;
    sc_add(&t->s.e, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n",
           "{\"error\":{\"message\":\"overloaded\"}}");
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_HTTP_STATUS);
    assert_int_equal(t->s.loop.rounds, 1);
    assert_int_equal(t->handled, 0);
    assert_string_equal(t->s.e.resp.error_message, "overloaded");
    assert_int_equal(t->s.loop.message_count, 1);
    /* and the second round's failure keeps the first round */
    t = setup();
    sc_add_json(&t->s.e, k_call);
    sc_add(&t->s.e, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n",
           "{\"error\":{\"message\":\"no\"}}");
    t->repeat_until = 0;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_HTTP_STATUS);
    assert_int_equal(t->s.loop.rounds, 2);
    assert_int_equal(t->handled, 1);
    assert_int_equal(t->s.loop.message_count, 3); /* question, calls, result */
    assert_int_equal(t->s.loop.messages[2].role, WISP_ROLE_TOOL);
    assert_string_equal(t->s.loop.messages[2].content, "21.5");
}

/* A call without a name cannot be run: TOOL_CALL_CUT, the handler never
 * called. */
static void test_call_without_a_name(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    loop_case *t = setup();
    (void)state;
    sc_add_json(&t->s.e, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"tool_calls\":["
                       "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"arguments\":\"{}\"}}]},"
                       "\"finish_reason\":\"tool_calls\"}]}");
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_TOOL_CALL_CUT);
    assert_int_equal(t->handled, 0);
    assert_int_equal(t->s.e.resp.tool_call_count, 1);
    assert_string_equal(t->s.e.resp.tool_calls[0].name, "");
}

/* A name longer than its slot is cut, and a cut name would call another
 * function: TOOL_CALL_CUT, the handler never called. */
static void test_call_with_a_cut_name(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    loop_case *t = setup();
    char json[1024], name[WISP_TOOL_NAME_CAP + 8];
    (void)state;
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(json, sizeof json,
             "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"tool_calls\":["
             "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"%s\","
             "\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}",
             name);
    sc_add_json(&t->s.e, json);
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_TOOL_CALL_CUT);
    assert_int_equal(t->handled, 0);
    assert_true(t->s.e.resp.tool_calls[0].cut);
    assert_int_equal(strlen(t->s.e.resp.tool_calls[0].name), WISP_TOOL_NAME_CAP - 1);
}

/* A handler that says it wrote more than the room it was given: the
 * result cannot be kept, ARENA_FULL, and the round is taken back. */
static void test_handler_overclaiming(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    loop_case *t = setup();
    (void)state;
    t->claim_extra = 1;
    sc_add_json(&t->s.e, k_call);
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARENA_FULL);
    assert_int_equal(t->handled, 1);
    assert_int_equal(t->s.loop.message_count, 1);
    assert_true(t->s.loop.arena_used <= sizeof t->arena);
}

/* Rounds 10 and later carry two-digit keys: KEY.10, KEY.11. */
static void test_two_digit_round_keys(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    loop_case *t = setup();
    const char *r;
    (void)state;
    t->s.req.idempotency_key = "k";
    t->s.loop.max_rounds = 12;
    t->repeat_until = 11; /* rounds 1..10 call, round 11 answers */
    sc_add_json(&t->s.e, k_call);
    sc_add_json(&t->s.e, k_answer);
    assert_int_equal(sc_loop_run(&t->s), WISP_OK);
    assert_int_equal(t->s.loop.rounds, 11);
    assert_int_equal(t->handled, 10);
    assert_string_equal(t->s.e.content, "21.5 in the hall.");
    assert_non_null(strstr(sc_request(&t->s.e, 1), "\r\nIdempotency-Key: k\r\n"));
    assert_non_null(strstr(sc_request(&t->s.e, 2), "\r\nIdempotency-Key: k.2\r\n"));
    assert_non_null(strstr(sc_request(&t->s.e, 9), "\r\nIdempotency-Key: k.9\r\n"));
    assert_non_null(strstr(sc_request(&t->s.e, 10), "\r\nIdempotency-Key: k.10\r\n"));
    r = sc_request(&t->s.e, 11);
    assert_non_null(strstr(r, "\r\nIdempotency-Key: k.11\r\n"));
    /* the eleventh request carried all ten rounds */
    assert_int_equal(t->s.loop.message_count, 1 + 10 * 2);
    assert_string_equal(t->s.req.idempotency_key, "k");
}

/* One round only: the key is sent as it is, no room is taken for the
 * later rounds' keys, and the calls of that one reply are the last word. */
static void test_single_round_with_a_key(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    loop_case *t = setup();
    (void)state;
    t->s.req.idempotency_key = "once";
    t->s.loop.max_rounds = 1;
    sc_add_json(&t->s.e, k_call);
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_TOOL_ROUNDS);
    assert_int_equal(t->handled, 0);
    assert_non_null(strstr(sc_request(&t->s.e, 1), "\r\nIdempotency-Key: once\r\n"));
    /* only the message array: no key copy, no round */
    assert_int_equal(t->s.loop.message_count, 1);
}

/* A forced function holds for the first request; after the results the
 * model is free (auto). */
static void test_forced_function_only_first(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    loop_case *t = setup();
    (void)state;
    t->s.req.tool_choice = WISP_TOOL_CHOICE_FUNCTION;
    t->s.req.tool_choice_name = "get_temperature";
    sc_add_json(&t->s.e, k_call);
    sc_add_json(&t->s.e, k_answer);
    assert_int_equal(sc_loop_run(&t->s), WISP_OK);
    assert_non_null(strstr(sc_request(&t->s.e, 1),
                           "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
                           "\"get_temperature\"}}"));
    assert_non_null(strstr(sc_request(&t->s.e, 2), "\"tool_choice\":\"auto\""));
    assert_int_equal(t->s.req.tool_choice, WISP_TOOL_CHOICE_FUNCTION); /* the caller's untouched */
}

/* Every arena size from "the message array alone" up: the loop either
 * completes with the answer, or stops with ARENA_FULL, the history then
 * as it was before the round that did not fit, never past the arena. */
static void test_every_arena_size(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    size_t slots = 1 + 3 * (1 + SC_CALLS); /* max_rounds 4 */
    size_t base = slots * (sizeof(wisp_message) + sizeof(size_t));
    size_t extra;
    bool ok_seen = false;
    int full = 0;
    (void)state;
    for (extra = 0; extra <= 160; extra++) {
        loop_case *t = setup();
        wisp_status st;
        t->s.loop.arena_size = base + sizeof(void *) + extra; /* room for any alignment pad */
        t->s.loop.arena = (char *)t->arena + 1;               /* an odd address */
        t->s.req.idempotency_key = "id";
        sc_add_json(&t->s.e, k_call);
        sc_add_json(&t->s.e, k_answer);
        st = sc_loop_run(&t->s);
        assert_true(t->s.loop.arena_used <= t->s.loop.arena_size);
        if (st == WISP_OK) {
            assert_int_equal(t->s.loop.message_count, 3);
            assert_string_equal(t->s.loop.messages[1].tool_calls[0].arguments, "{\"room\":\"hall\"}");
            assert_string_equal(t->s.loop.messages[2].content, "21.5");
            assert_string_equal(t->s.e.content, "21.5 in the hall.");
            ok_seen = true;
        } else {
            assert_int_equal(st, WISP_ERR_ARENA_FULL);
            assert_false(ok_seen); /* more room never fails again */
            assert_int_equal(t->s.loop.message_count, 1);
            assert_int_equal(t->s.loop.messages[0].role, WISP_ROLE_USER);
            full++;
        }
    }
    assert_true(full > 0 && ok_seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arguments_refused),
        cmocka_unit_test(test_failed_request_ends_the_loop),
        cmocka_unit_test(test_call_without_a_name),
        cmocka_unit_test(test_call_with_a_cut_name),
        cmocka_unit_test(test_handler_overclaiming),
        cmocka_unit_test(test_two_digit_round_keys),
        cmocka_unit_test(test_single_round_with_a_key),
        cmocka_unit_test(test_forced_function_only_first),
        cmocka_unit_test(test_every_arena_size),
    };
    return cmocka_run_group_tests_name("tool_loop_rounds", tests, NULL, NULL);
}
