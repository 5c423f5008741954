/*
 * test_conv.c - conversations in fixed memory: each request carries the
 * history, the oldest turns go first and whole (the system message never,
 * a tool call never without its result), a failed exchange leaves the
 * history as it was, and the text survives every move of the arena.
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

#include "fake_transport.h"
#include "wisp.h"

#define REPLY_CAP 2048

typedef struct env {
    fake_transport fake;
    wisp_transport tr;
    wisp_client client;
    uint8_t work[4096];
    wisp_token toks[256];
    wisp_response resp;
    char content[512];
    wisp_tool_call calls[2];
    char args[2][64];
    char sigs[2][32];
    wisp_conv conv;
    uint64_t arena[8192 / 8];
    char replies[FAKE_MAX_REPLIES][REPLY_CAP];
    wisp_request req;
} env;

static env g_env;

static void add_json(env *e, const char *json)
{
    char *r;
    int n;
    /* Every reply so far was read: the script starts over. */
    if (e->fake.next_reply == e->fake.reply_count)
        e->fake.next_reply = e->fake.reply_count = 0;
    assert_true(e->fake.reply_count < FAKE_MAX_REPLIES);
    r = e->replies[e->fake.reply_count];
    n = snprintf(r, REPLY_CAP,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %u\r\n\r\n%s",
                     (unsigned)strlen(json), json);
    fake_add(&e->fake, r, (size_t)n, END_KEEP);
}

static void add_answer(env *e, const char *text)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},"
             "\"finish_reason\":\"stop\"}]}",
             text);
    add_json(e, json);
}

static env *setup_env(size_t arena_size, size_t max_messages, const char *system)
{
    env *e = &g_env;
    wisp_config cfg;
    memset(e, 0, sizeof *e);
    fake_init(&e->fake, &e->tr);
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://127.0.0.1:8080/v1";
    cfg.transport = &e->tr;
    cfg.max_retries = WISP_NO_RETRIES;
    assert_int_equal(wisp_client_init(&e->client, &cfg, e->work, sizeof e->work, e->toks, 256),
                     WISP_OK);
    wisp_response_init(&e->resp, e->content, sizeof e->content, NULL, 0);
    assert_int_equal(wisp_conv_init(&e->conv, e->arena, arena_size, max_messages, system),
                     WISP_OK);
    e->req.model = "m";
    return e;
}

static wisp_status ask(env *e, const char *text)
{
    return wisp_conv_ask(&e->client, &e->conv, &e->req, text, &e->resp, NULL, NULL, NULL);
}

/* The body of the last request sent. */
static const char *last_body(env *e)
{
    static char body[8192];
    const char *s = (const char *)e->fake.sent, *at = NULL, *p;
    size_t n;
    e->fake.sent[e->fake.sent_len < FAKE_SENT_CAP ? e->fake.sent_len : FAKE_SENT_CAP - 1] = 0;
    for (p = s; (p = strstr(p, "\r\n\r\n")) != NULL; p += 4) {
        if (p + 4 < s + e->fake.sent_len && p[4] == '{')
            at = p + 4;
    }
    assert_non_null(at);
    p = strstr(at, "POST ");
    n = p != NULL ? (size_t)(p - at) : strlen(at);
    assert_true(n < sizeof body);
    memcpy(body, at, n);
    body[n] = '\0';
    return body;
}

static void expect_history(const wisp_conv *c, const char *const *want, size_t n)
{
    size_t i;
    assert_int_equal(c->message_count, n);
    for (i = 0; i < n; i++) {
        if (c->messages[i].content == NULL || strcmp(c->messages[i].content, want[i]) != 0) {
            print_error("message %u: \"%s\", want \"%s\"\n", (unsigned)i,
                        c->messages[i].content ? c->messages[i].content : "(null)", want[i]);
            fail();
        }
    }
}

static void test_second_request_carries_the_first_turn(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    static const char *const after[] = {"Be brief.", "hi", "hello", "and?", "more"};
    env *e = setup_env(sizeof g_env.arena, 64, "Be brief.");
    (void)state;
    add_answer(e, "hello");
    add_answer(e, "more");
    assert_int_equal(ask(e, "hi"), WISP_OK);
    assert_string_equal(last_body(e), "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
                                      "\"Be brief.\"},{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_int_equal(ask(e, "and?"), WISP_OK);
    assert_string_equal(last_body(e),
                        "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                        "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":"
                        "\"hello\"},{\"role\":\"user\",\"content\":\"and?\"}]}");
    expect_history(&e->conv, after, 5);
    assert_int_equal(e->conv.messages[2].role, WISP_ROLE_ASSISTANT);
    assert_int_equal(e->conv.turns_dropped, 0);
    /* reset: the system message alone */
    wisp_conv_reset(&e->conv);
    expect_history(&e->conv, after, 1);
    add_answer(e, "again");
    assert_int_equal(ask(e, "new"), WISP_OK);
    assert_string_equal(last_body(e), "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
                                      "\"Be brief.\"},{\"role\":\"user\",\"content\":\"new\"}]}");
}

/* A small arena: the oldest turns go first, whole, the system message
 * stays, and every text is intact after the moves. */
static void test_eviction_drops_oldest_whole_turns(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    env *e = setup_env(24 * (sizeof(wisp_message) + sizeof(size_t)) + 320, 24, "SYS");
    char q[48], a[48];
    int i;
    (void)state;
    e->conv.reserve = 0; /* drop only when a turn does not fit */
    for (i = 0; i < 40; i++) {
        snprintf(q, sizeof q, "question %02d padding....", i);
        snprintf(a, sizeof a, "answer %02d padding......", i);
        add_answer(e, a);
        assert_int_equal(ask(e, q), WISP_OK);
        {
            size_t k, n = e->conv.message_count;
            int first;
            assert_true(n >= 3 && n % 2 == 1);
            assert_string_equal(e->conv.messages[0].content, "SYS");
            assert_int_equal(e->conv.messages[0].role, WISP_ROLE_SYSTEM);
            /* the kept turns are the newest ones, in order, intact */
            first = i - (int)(n - 1) / 2 + 1;
            for (k = 1; k < n; k += 2) {
                int t = first + (int)(k - 1) / 2;
                snprintf(q, sizeof q, "question %02d padding....", t);
                snprintf(a, sizeof a, "answer %02d padding......", t);
                assert_int_equal(e->conv.messages[k].role, WISP_ROLE_USER);
                assert_string_equal(e->conv.messages[k].content, q);
                assert_int_equal(e->conv.messages[k + 1].role, WISP_ROLE_ASSISTANT);
                assert_string_equal(e->conv.messages[k + 1].content, a);
            }
            assert_int_equal(e->conv.turns_dropped, (size_t)(first - 0));
        }
        assert_true(e->conv.arena_used <= 24 * (sizeof(wisp_message) + sizeof(size_t)) + 320);
    }
    assert_true(e->conv.turns_dropped > 20);
}

/* A failed exchange leaves the history exactly as it was. */
static void test_failed_exchange_rolls_back(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    static const char *const kept[] = {"S", "one", "uno"};
    static const char r500[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
    env *e = setup_env(sizeof g_env.arena, 16, "S");
    size_t before;
    (void)state;
    add_answer(e, "uno");
    assert_int_equal(ask(e, "one"), WISP_OK);
    before = e->conv.arena_used;
    fake_add(&e->fake, r500, strlen(r500), END_KEEP);
    assert_int_equal(ask(e, "two"), WISP_ERR_HTTP_STATUS);
    expect_history(&e->conv, kept, 3);
    add_answer(e, "dos");
    assert_int_equal(ask(e, "three"), WISP_OK);
    /* the failed turn left nothing behind */
    assert_null(strstr(last_body(e), "two"));
    assert_non_null(strstr(last_body(e), "\"uno\"},{\"role\":\"user\",\"content\":\"three\"}"));
    assert_true(e->conv.arena_used >= before);
    /* a turn that cannot fit at all: ARENA_FULL, the history untouched */
    {
        static char big[9000];
        static const char *const now[] = {"S", "one", "uno", "three", "dos"};
        memset(big, 'x', sizeof big - 1);
        assert_int_equal(ask(e, big), WISP_ERR_ARENA_FULL);
        expect_history(&e->conv, now, 5); /* nothing was dropped for it */
    }
}

static wisp_tool_verdict sensor(void *user, const wisp_tool_call *call, char *out, size_t cap,
                                size_t *len)
{
    (void)user;
    (void)call;
    assert_true(cap > 4);
    memcpy(out, "21.5", 4);
    *len = 4;
    return WISP_TOOL_RESULT;
}

/* Every tool result follows the assistant message holding its call. */
static void expect_pairs(const wisp_conv *c)
{
    size_t i, k, j;
    for (i = 0; i < c->message_count; i++) {
        const wisp_message *m = &c->messages[i];
        bool found = false;
        if (m->role != WISP_ROLE_TOOL)
            continue;
        for (j = i; j-- > 0 && !found;) {
            const wisp_message *a = &c->messages[j];
            if (a->role == WISP_ROLE_USER)
                break;
            for (k = 0; k < a->tool_call_count; k++)
                found = found || strcmp(a->tool_calls[k].id, m->tool_call_id) == 0;
        }
        if (!found) {
            print_error("message %u: a result without its call\n", (unsigned)i);
            fail();
        }
    }
}

/* Turns with tool calls go whole: user, the calls, the results, the
 * answer; the signature and ids survive the moves. */
static void test_tool_turns_kept_in_pairs(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static const wisp_tool tools[] = {{.name = "get_temperature"}};
    env *e = setup_env(24 * (sizeof(wisp_message) + sizeof(size_t)) + 900, 24, "SYS");
    wisp_tool_loop loop;
    int i;
    (void)state;
    e->req.tools = tools;
    e->req.tool_count = 1;
    for (i = 0; i < 2; i++) {
        e->calls[i].arguments.buf = e->args[i];
        e->calls[i].arguments.cap = sizeof e->args[i];
        e->calls[i].signature.buf = e->sigs[i];
        e->calls[i].signature.cap = sizeof e->sigs[i];
    }
    e->resp.tool_calls = e->calls;
    e->resp.tool_call_cap = 2;
    memset(&loop, 0, sizeof loop);
    loop.handler = sensor;
    e->conv.reserve = 0;
    for (i = 0; i < 12; i++) {
        char q[32];
        if (i % 2 == 0) {
            add_json(e, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
                        "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
                        "{\"name\":\"get_temperature\",\"arguments\":\"{}\"},\"extra_content\":"
                        "{\"google\":{\"thought_signature\":\"U0lH\"}}}]},"
                        "\"finish_reason\":\"tool_calls\"}]}");
        }
        add_answer(e, "It is 21.5 degrees.");
        snprintf(q, sizeof q, "warm now? %02d ......", i);
        assert_int_equal(wisp_conv_ask(&e->client, &e->conv, &e->req, q, &e->resp, &loop, NULL,
                                       NULL),
                         WISP_OK);
        expect_pairs(&e->conv);
        assert_int_equal(e->conv.messages[0].role, WISP_ROLE_SYSTEM);
        assert_int_equal(e->conv.messages[1].role, WISP_ROLE_USER);
        assert_string_equal(e->conv.messages[e->conv.message_count - 1].content,
                            "It is 21.5 degrees.");
        {
            size_t k;
            for (k = 0; k < e->conv.message_count; k++) {
                const wisp_message *m = &e->conv.messages[k];
                if (m->tool_call_count > 0) {
                    assert_string_equal(m->tool_calls[0].id, "call_1");
                    assert_string_equal(m->tool_calls[0].name, "get_temperature");
                    assert_string_equal(m->tool_calls[0].signature, "U0lH");
                }
                if (m->role == WISP_ROLE_TOOL)
                    assert_string_equal(m->content, "21.5");
            }
        }
    }
    assert_true(e->conv.turns_dropped > 0);
    /* the last request carried the calls back with their results */
    assert_non_null(strstr(last_body(e), "{\"role\":\"tool\",\"content\":\"21.5\",\"tool_call_id\":"
                                         "\"call_1\"}"));
}

/* A result long enough that older turns must go to hold it. */
static wisp_tool_verdict long_reading(void *user, const wisp_tool_call *call, char *out,
                                      size_t cap, size_t *len)
{
    static const char reading[] =
        "{\"room\":\"kitchen\",\"celsius\":21.5,\"humidity\":40,\"trend\":\"steady\","
        "\"note\":\"the sensor was read twice and both readings agreed\"}";
    (void)user;
    (void)call;
    if (cap < sizeof reading - 1) {
        *len = sizeof reading - 1; /* does not fit: the loop reports it */
        return WISP_TOOL_RESULT;
    }
    memcpy(out, reading, sizeof reading - 1);
    *len = sizeof reading - 1;
    return WISP_TOOL_RESULT;
}

/* A conversation whose 1 KB heap (reserve 256) is full of plain turns. */
static env *full_of_turns(void)
{
    env *e = setup_env(64 * (sizeof(wisp_message) + sizeof(size_t)) + 1024, 64, "SYS");
    int i;
    for (i = 0; i < 12; i++) {
        char q[64];
        snprintf(q, sizeof q, "question %02d, asked with some words around it", i);
        add_answer(e, "an answer of a few words, kept in the history");
        assert_int_equal(ask(e, q), WISP_OK);
    }
    assert_true(e->conv.message_count > 7 && e->conv.turns_dropped > 0);
    return e;
}

/* One tool and one call slot offered, run by handler. */
static void offer_one_tool(env *e, const wisp_tool *tools, wisp_tool_loop *loop,
                           wisp_tool_fn handler)
{
    e->req.tools = tools;
    e->req.tool_count = 1;
    e->calls[0].arguments.buf = e->args[0];
    e->calls[0].arguments.cap = sizeof e->args[0];
    e->calls[0].signature.buf = e->sigs[0];
    e->calls[0].signature.cap = sizeof e->sigs[0];
    e->resp.tool_calls = e->calls;
    e->resp.tool_call_cap = 1;
    memset(loop, 0, sizeof *loop);
    loop->handler = handler;
}

static wisp_tool_verdict overclaiming(void *user, const wisp_tool_call *call, char *out,
                                      size_t cap, size_t *len)
{
    (void)user;
    (void)call;
    (void)out;
    (void)cap;
    *len = 100000; /* never fits */
    return WISP_TOOL_RESULT;
}

/* A tool turn within the reserve that fails (a 500 in its second round, or
 * a result that can never fit) leaves the history as it was: no older
 * turn was dropped for it. */
static void test_failed_small_tool_turn_keeps_history(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static const wisp_tool tools[] = {{.name = "read_sensor"}};
    static const char r500[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
    static const char call[] =
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
        "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":"
        "{\"name\":\"read_sensor\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}";
    int how;
    (void)state;
    for (how = 0; how < 2; how++) {
        env *e = full_of_turns();
        wisp_tool_loop loop;
        size_t dropped = e->conv.turns_dropped, count = e->conv.message_count;
        offer_one_tool(e, tools, &loop, how == 0 ? sensor : overclaiming);
        add_json(e, call);
        if (how == 0)
            fake_add(&e->fake, r500, strlen(r500), END_KEEP);
        assert_int_equal(wisp_conv_ask(&e->client, &e->conv, &e->req,
                                       "how warm is it in the kitchen, and in the hall?", &e->resp,
                                       &loop, NULL, NULL),
                         how == 0 ? WISP_ERR_HTTP_STATUS : WISP_ERR_ARENA_FULL);
        assert_int_equal(e->conv.turns_dropped, dropped);
        assert_int_equal(e->conv.message_count, count);
        assert_string_equal(e->conv.messages[count - 1].content,
                            "an answer of a few words, kept in the history");
    }
}

/* A tool turn in a full conversation drops the oldest turns for its call
 * and its result, as a plain turn does, rather than failing: the call's
 * arguments, the result, its id and the next round's Idempotency-Key all
 * survive the moves that the drops make under them. */
static void test_tool_turn_drops_old_turns_for_room(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static const wisp_tool tools[] = {{.name = "read_sensor"}};
    static char args[512], reply[1400], want_args[480];
    env *e = full_of_turns();
    wisp_tool_loop loop;
    const wisp_message *m;
    size_t dropped = e->conv.turns_dropped;
    (void)state;
    offer_one_tool(e, tools, &loop, long_reading);
    e->req.idempotency_key = "turn-13";
    e->calls[0].arguments.buf = args;
    e->calls[0].arguments.cap = sizeof args;
    /* arguments of 430 bytes: {"rooms":"kkkk..."} */
    memcpy(want_args, "{\"rooms\":\"", 10);
    memset(want_args + 10, 'k', 418);
    memcpy(want_args + 428, "\"}", 3);
    assert_int_equal(strlen(want_args), 430);
    {
        char escaped[600];
        size_t k, o = 0;
        for (k = 0; want_args[k] != '\0'; k++) {
            if (want_args[k] == '"')
                escaped[o++] = '\\';
            escaped[o++] = want_args[k];
        }
        escaped[o] = '\0';
        snprintf(reply, sizeof reply,
                 "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
                 "\"tool_calls\":[{\"id\":\"call_big\",\"type\":\"function\",\"function\":"
                 "{\"name\":\"read_sensor\",\"arguments\":\"%s\"}}]},"
                 "\"finish_reason\":\"tool_calls\"}]}",
                 escaped);
    }
    add_json(e, reply);
    add_answer(e, "It is 21.5 degrees.");
    assert_int_equal(wisp_conv_ask(&e->client, &e->conv, &e->req, "how warm is it everywhere?",
                                   &e->resp, &loop, NULL, NULL),
                     WISP_OK);
    assert_true(e->conv.turns_dropped > dropped);
    expect_pairs(&e->conv);
    assert_int_equal(e->conv.messages[0].role, WISP_ROLE_SYSTEM);
    assert_string_equal(e->conv.messages[0].content, "SYS");
    /* the turn, whole, at the end: user, call, result, answer */
    assert_true(e->conv.message_count >= 5);
    m = &e->conv.messages[e->conv.message_count - 4];
    assert_int_equal(m->role, WISP_ROLE_USER);
    assert_string_equal(m->content, "how warm is it everywhere?");
    m++;
    assert_int_equal(m->role, WISP_ROLE_ASSISTANT);
    assert_int_equal(m->tool_call_count, 1);
    assert_string_equal(m->tool_calls[0].id, "call_big");
    assert_string_equal(m->tool_calls[0].name, "read_sensor");
    assert_string_equal(m->tool_calls[0].arguments, want_args);
    m++;
    assert_int_equal(m->role, WISP_ROLE_TOOL);
    assert_string_equal(m->tool_call_id, "call_big");
    assert_non_null(strstr(m->content, "both readings agreed\"}"));
    m++;
    assert_int_equal(m->role, WISP_ROLE_ASSISTANT);
    assert_string_equal(m->content, "It is 21.5 degrees.");
    /* what the second round sent: its own key, the call and the result */
    {
        const char *sent = (const char *)e->fake.sent;
        const char *second = NULL, *p;
        for (p = sent; (p = strstr(p, "POST ")) != NULL; p++)
            second = p;
        assert_non_null(second);
        assert_non_null(strstr(second, "\r\nIdempotency-Key: turn-13.2\r\n"));
        assert_non_null(strstr(last_body(e), "\"tool_call_id\":\"call_big\"}"));
        assert_non_null(strstr(last_body(e), "both readings agreed"));
        assert_non_null(strstr(last_body(e), "kkkkkkkkkk\\\"}\"}}]}"));
    }
}

/* Random turn sizes and failures: what is kept is always the newest
 * turns, whole and in order, text intact, whatever moved. */
static void test_random_turns_against_a_model(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    static char qs[200][320], as[200][320];
    static const char r500[] = "HTTP/1.1 500 X\r\nContent-Length: 0\r\n\r\n";
    env *e = setup_env(16 * (sizeof(wisp_message) + sizeof(size_t)) + 1500, 16, "S");
    uint32_t seed = 12345;
    int done = 0, i;
    (void)state;
    for (i = 0; i < 200; i++) {
        size_t ql, al, k, n, kept;
        bool fail_it;
        seed = seed * 1103515245u + 12345u;
        ql = 1 + (seed >> 8) % 300;
        seed = seed * 1103515245u + 12345u;
        al = 1 + (seed >> 8) % 300;
        fail_it = (seed >> 20) % 5 == 0;
        memset(qs[done], 'a' + i % 26, ql);
        qs[done][ql] = '\0';
        memset(as[done], 'A' + i % 26, al);
        as[done][al] = '\0';
        if (fail_it) {
            if (e->fake.next_reply == e->fake.reply_count)
                e->fake.next_reply = e->fake.reply_count = 0;
            fake_add(&e->fake, r500, strlen(r500), END_KEEP);
            assert_int_equal(ask(e, qs[done]), WISP_ERR_HTTP_STATUS);
        } else {
            add_answer(e, as[done]);
            assert_int_equal(ask(e, qs[done]), WISP_OK);
            done++;
        }
        n = e->conv.message_count;
        assert_true(n % 2 == 1);
        assert_string_equal(e->conv.messages[0].content, "S");
        kept = (n - 1) / 2;
        assert_true(kept <= (size_t)done);
        if (!fail_it)
            assert_true(kept >= 1);
        for (k = 0; k < kept; k++) {
            size_t t = (size_t)done - kept + k;
            assert_int_equal(e->conv.messages[1 + 2 * k].role, WISP_ROLE_USER);
            assert_string_equal(e->conv.messages[1 + 2 * k].content, qs[t]);
            assert_int_equal(e->conv.messages[2 + 2 * k].role, WISP_ROLE_ASSISTANT);
            assert_string_equal(e->conv.messages[2 + 2 * k].content, as[t]);
        }
    }
    assert_true(done > 100 && e->conv.turns_dropped > 50);
}

/* A server that sends tool calls to a request that offered none: the
 * turn keeps the answer's text, and the next turn is not two user
 * messages in a row. */
static void test_unasked_tool_calls_keep_the_answer(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static const char *const want[] = {"S", "hi", "let me look"};
    env *e = setup_env(sizeof g_env.arena, 16, "S");
    wisp_tool_loop loop;
    (void)state;
    memset(&loop, 0, sizeof loop);
    e->resp.tool_calls = e->calls;
    e->resp.tool_call_cap = 2;
    add_json(e, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"let me look\","
                "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
                "\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}");
    assert_int_equal(wisp_conv_ask(&e->client, &e->conv, &e->req, "hi", &e->resp, &loop, NULL, NULL),
                     WISP_OK);
    expect_history(&e->conv, want, 3);
}

/* Text that is itself in the history would move while turns are dropped
 * to make room for it: refused. */
static void test_text_from_the_history_refused(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    env *e = setup_env(sizeof g_env.arena, 16, "S");
    (void)state;
    add_answer(e, "uno");
    assert_int_equal(ask(e, "one"), WISP_OK);
    assert_int_equal(ask(e, e->conv.messages[1].content), WISP_ERR_ARG);
    assert_int_equal(e->conv.message_count, 3);
}

static void test_arguments(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    env *e = setup_env(sizeof g_env.arena, 8, NULL);
    uint64_t small[4];
    wisp_conv c;
    (void)state;
    assert_int_equal(wisp_conv_init(&c, small, sizeof small, 8, NULL), WISP_ERR_ARENA_FULL);
    assert_int_equal(wisp_conv_init(&c, e->arena, sizeof e->arena, 1, NULL), WISP_ERR_ARG);
    assert_int_equal(wisp_conv_init(&c, NULL, 100, 8, NULL), WISP_ERR_ARG);
    assert_int_equal(e->conv.message_count, 0);
    assert_int_equal(wisp_conv_ask(&e->client, &e->conv, &e->req, NULL, &e->resp, NULL, NULL, NULL),
                     WISP_ERR_ARG);
    add_answer(e, "ok");
    assert_int_equal(ask(e, "no system"), WISP_OK);
    assert_string_equal(last_body(e),
                        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"no system\"}]}");
    wisp_conv_reset(&e->conv);
    assert_int_equal(e->conv.message_count, 0);
    /* a reply needs somewhere to be kept */
    e->resp.content.cap = 0;
    assert_int_equal(ask(e, "x"), WISP_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_request_carries_the_first_turn),
        cmocka_unit_test(test_eviction_drops_oldest_whole_turns),
        cmocka_unit_test(test_failed_exchange_rolls_back),
        cmocka_unit_test(test_tool_turns_kept_in_pairs),
        cmocka_unit_test(test_tool_turn_drops_old_turns_for_room),
        cmocka_unit_test(test_failed_small_tool_turn_keeps_history),
        cmocka_unit_test(test_random_turns_against_a_model),
        cmocka_unit_test(test_unasked_tool_calls_keep_the_answer),
        cmocka_unit_test(test_text_from_the_history_refused),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
