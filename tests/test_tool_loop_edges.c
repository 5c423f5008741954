/*
 * test_tool_loop_edges.c - the edges of wisp_tools.c that the other tool
 * tests step over: a NULL array with room claimed, a token before the
 * array never read, the assistant turn's empty text sent as null, the
 * result and the round key NUL-terminated in an arena that was not zero,
 * a key that exactly fills the store, tool_call_cap 1024, the message
 * bounds 65535 / 65536, and the loop's outputs reset on a refused call.
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

static const char k_answer[] =
    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"21.5 in the hall.\"},"
    "\"finish_reason\":\"stop\"}]}";

/* A calls reply whose content is `content` (a JSON value). */
static void calls_reply(char *out, size_t cap, const char *content)
{
    int n = snprintf(out, cap,
                     "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":%s,"
                     "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{"
                     "\"name\":\"get_temperature\",\"arguments\":\"{}\"}}]},"
                     "\"finish_reason\":\"tool_calls\"}]}",
                     content);
    if (n < 0 || (size_t)n >= cap) {
        fail_msg("%s", "calls reply too long");
    }
}

typedef struct edge_case {
    sc_loop s; /* first: the question, the tools, the loop */
    uint64_t arena[4096 / 8];
    int handled;
    unsigned repeat_until; /* serve the calls reply again until this round */
    char reply[512];
} edge_case;

static const wisp_tool k_tools[] = {{.name = "get_temperature"}};

/* Writes "21.5" and fills the rest of what it was given with 'Z'. */
static wisp_tool_verdict thermometer(void *user, const wisp_tool_call *call, char *out, size_t cap,
                                     size_t *len)
{
    edge_case *t = (edge_case *)user;
    t->handled++;
    assert_string_equal(call->name, "get_temperature");
    assert_true(cap >= 4);
    memset(out, 'Z', cap);
    memcpy(out, "21.5", 4);
    *len = 4;
    t->s.e.fake.next_reply = t->handled + 1 < (int)t->repeat_until ? 0 : 1;
    return WISP_TOOL_RESULT;
}

static edge_case *setup(void)
{
    static edge_case t;
    memset(&t, 0, sizeof t);
    sc_loop_init(&t.s, "warm in the hall?", k_tools, thermometer, t.arena, sizeof t.arena);
    t.s.loop.user = &t;
    t.repeat_until = 1;
    /* an arena that was not zero: nothing may count on zero bytes in it */
    memset(t.arena, 'Q', sizeof t.arena);
    return &t;
}

/* A NULL array with room claimed for it is refused, even when the JSON
 * would need none of it. */
static void test_from_json_null_with_room(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    wisp_token toks[8];
    wisp_tool tools[1];
    char store[32];
    size_t count = 99;
    (void)state;
    assert_int_equal(wisp_tools_from_json("[]", 2, toks, 8, NULL, 1, &count, store, sizeof store,
                                          NULL),
                     WISP_ERR_ARG);
    assert_int_equal(count, 0);
    assert_int_equal(wisp_tools_from_json("[]", 2, toks, 8, tools, 1, &count, NULL, 1, NULL),
                     WISP_ERR_ARG);
    /* with no room claimed, NULL is fine */
    count = 99;
    assert_int_equal(wisp_tools_from_json("[]", 2, toks, 8, NULL, 0, &count, NULL, 0, NULL),
                     WISP_OK);
    assert_int_equal(count, 0);
}

/* A function without a name is refused without reading the token before
 * the array (here a string token that would make a name). */
static void test_from_json_no_name(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    static const char js[] = "[{\"type\":\"function\",\"function\":{\"description\":\"d\"}}]";
    wisp_token arr[33];
    wisp_tool tools[1];
    char store[64];
    size_t count = 0;
    const char *why = NULL;
    (void)state;
    memset(arr, 0, sizeof arr);
    arr[0].type = WISP_TOK_STRING;
    arr[0].start = 3;
    arr[0].end = 7;
    assert_int_equal(wisp_tools_from_json(js, strlen(js), arr + 1, 32, tools, 1, &count, store,
                                          sizeof store, &why),
                     WISP_ERR_JSON);
    assert_string_equal(why, "an element has no function.name string");
    assert_int_equal(count, 0);
}

/* The assistant turn's text goes back as it came: empty as null, one
 * character as that character. */
static void test_assistant_content_sent_back(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static const char *const contents[] = {"\"\"", "null", "\"X\""};
    static const char *const sent[] = {
        "{\"role\":\"assistant\",\"content\":null,",
        "{\"role\":\"assistant\",\"content\":null,",
        "{\"role\":\"assistant\",\"content\":\"X\",",
    };
    size_t k;
    (void)state;
    for (k = 0; k < sizeof contents / sizeof contents[0]; k++) {
        edge_case *t = setup();
        const char *r;
        calls_reply(t->reply, sizeof t->reply, contents[k]);
        sc_add_json(&t->s.e, t->reply);
        sc_add_json(&t->s.e, k_answer);
        assert_int_equal(sc_loop_run(&t->s), WISP_OK);
        assert_int_equal(t->handled, 1);
        assert_int_equal(t->s.loop.message_count, 3);
        if (k < 2) {
            assert_null(t->s.loop.messages[1].content);
        } else {
            assert_string_equal(t->s.loop.messages[1].content, "X");
        }
        r = sc_request(&t->s.e, 2);
        if (strstr(r, sent[k]) == NULL) {
            print_message("request 2: %s\n", r);
            fail_msg("%s", "the assistant turn was not sent back as it came");
        }
    }
}

/* The handler's result ends at its length, whatever it wrote after. */
static void test_result_ends_at_its_length(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    edge_case *t = setup();
    const char *r;
    (void)state;
    calls_reply(t->reply, sizeof t->reply, "\"Looking.\"");
    sc_add_json(&t->s.e, t->reply);
    sc_add_json(&t->s.e, k_answer);
    assert_int_equal(sc_loop_run(&t->s), WISP_OK);
    assert_string_equal(t->s.loop.messages[2].content, "21.5");
    r = sc_request(&t->s.e, 2);
    assert_non_null(strstr(r, "\"content\":\"21.5\""));
    assert_null(strstr(r, "21.5Z"));
}

/* The round keys end where they should in an arena that was not zero:
 * one digit (KEY.9) and two (KEY.10). */
static void test_round_keys_in_a_dirty_arena(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    edge_case *t = setup();
    (void)state;
    calls_reply(t->reply, sizeof t->reply, "\"Looking.\"");
    sc_add_json(&t->s.e, t->reply);
    sc_add_json(&t->s.e, k_answer);
    t->s.req.idempotency_key = "abcd";
    t->s.loop.max_rounds = 12;
    t->repeat_until = 11; /* rounds 1..10 call, round 11 answers */
    assert_int_equal(sc_loop_run(&t->s), WISP_OK);
    assert_int_equal(t->s.loop.rounds, 11);
    assert_non_null(strstr(sc_request(&t->s.e, 1), "\r\nIdempotency-Key: abcd\r\n"));
    assert_non_null(strstr(sc_request(&t->s.e, 2), "\r\nIdempotency-Key: abcd.2\r\n"));
    assert_non_null(strstr(sc_request(&t->s.e, 9), "\r\nIdempotency-Key: abcd.9\r\n"));
    assert_non_null(strstr(sc_request(&t->s.e, 10), "\r\nIdempotency-Key: abcd.10\r\n"));
    assert_non_null(strstr(sc_request(&t->s.e, 11), "\r\nIdempotency-Key: abcd.11\r\n"));
}

/* The smallest arena that answers, with and without a key: the key
 * "abcd" and its round suffix take exactly 8 bytes ("abcd.NN" and NUL),
 * a store that has exactly those left is enough. */
static size_t smallest_answering(const char *key)
{
    size_t size;
    for (size = 0; size <= 2048; size++) {
        edge_case *t = setup();
        wisp_status st;
        sc_add_json(&t->s.e, k_answer);
        t->s.req.idempotency_key = key;
        t->s.loop.max_rounds = 2;
        t->s.loop.arena_size = size;
        st = sc_loop_run(&t->s);
        if (st == WISP_OK) {
            assert_int_equal(t->s.e.fake.connects, 1);
            assert_int_equal(t->s.loop.rounds, 1);
            return size;
        }
        assert_int_equal(st, WISP_ERR_ARENA_FULL);
        assert_int_equal(t->s.e.fake.connects, 0);
    }
    fail_msg("%s", "no arena up to 2048 bytes answers");
    return 0;
}

static void test_key_that_exactly_fits(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    size_t plain = smallest_answering(NULL), keyed = smallest_answering("abcd");
    (void)state;
    assert_int_equal(keyed - plain, 8);
}

/* tool_call_cap 1024 is the largest taken (one round: no room needed for
 * the calls' results). */
static wisp_tool_call g_calls[1024];

static void test_largest_tool_call_cap(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    edge_case *t = setup();
    (void)state;
    memset(g_calls, 0, sizeof g_calls);
    sc_add_json(&t->s.e, k_answer);
    t->s.e.resp.tool_calls = g_calls;
    t->s.e.resp.tool_call_cap = 1024;
    t->s.loop.max_rounds = 1;
    assert_int_equal(sc_loop_run(&t->s), WISP_OK);
    assert_int_equal(t->s.loop.rounds, 1);
    assert_string_equal(t->s.e.content, "21.5 in the hall.");
    t = setup();
    t->s.e.resp.tool_calls = g_calls;
    t->s.e.resp.tool_call_cap = 1025;
    t->s.loop.max_rounds = 1;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARG);
}

/* The history's bounds: 65535 messages are a store's most (a small arena
 * then is what is short), 65536 are refused; counted with the rounds'
 * messages too. */
static void test_message_bounds(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    edge_case *t;
    wisp_message one[1];
    (void)state;
    memset(one, 0, sizeof one);
    t = setup();
    t->s.req.messages = one; /* never read: the store does not fit first */
    t->s.req.message_count = 65535;
    t->s.loop.max_rounds = 1;
    t->s.loop.arena_size = 64;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARENA_FULL);
    t->s.req.message_count = 65536;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARG);
    /* 65533 + 1 round x (1 turn + 1 result) = 65535 */
    t->s.e.resp.tool_call_cap = 1;
    t->s.loop.max_rounds = 2;
    t->s.req.message_count = 65533;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARENA_FULL);
    t->s.req.message_count = 65534;
    assert_int_equal(sc_loop_run(&t->s), WISP_ERR_ARG);
    assert_int_equal(t->s.e.fake.connects, 0);
    assert_int_equal(t->handled, 0);
}

/* A call refused after its arguments were read leaves no history of an
 * earlier call behind: messages, message_count, arena_used reset. */
static void test_refused_call_resets_the_outputs(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    static const wisp_status want[] = {WISP_ERR_ARG, WISP_ERR_ARENA_FULL};
    static const size_t counts[] = {65536, 65535};
    wisp_message one[1], stale[2];
    size_t k;
    (void)state;
    memset(one, 0, sizeof one);
    for (k = 0; k < 2; k++) {
        edge_case *t = setup();
        t->s.req.messages = one;
        t->s.req.message_count = counts[k];
        t->s.loop.max_rounds = 1;
        t->s.loop.arena_size = 64;
        t->s.loop.messages = stale;
        t->s.loop.message_count = 2;
        t->s.loop.arena_used = 999;
        t->s.loop.rounds = 7;
        assert_int_equal(sc_loop_run(&t->s), want[k]);
        assert_null(t->s.loop.messages);
        assert_int_equal(t->s.loop.message_count, 0);
        assert_int_equal(t->s.loop.arena_used, 0);
        assert_int_equal(t->s.loop.rounds, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_json_null_with_room),
        cmocka_unit_test(test_from_json_no_name),
        cmocka_unit_test(test_assistant_content_sent_back),
        cmocka_unit_test(test_result_ends_at_its_length),
        cmocka_unit_test(test_round_keys_in_a_dirty_arena),
        cmocka_unit_test(test_key_that_exactly_fits),
        cmocka_unit_test(test_largest_tool_call_cap),
        cmocka_unit_test(test_message_bounds),
        cmocka_unit_test(test_refused_call_resets_the_outputs),
    };
    return cmocka_run_group_tests_name("tool_loop_edges", tests, NULL, NULL);
}
