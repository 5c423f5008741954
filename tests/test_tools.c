/*
 * test_tools.c - tool calling: the request (tools, tool_choice,
 * parallel_tool_calls, assistant tool calls and tool results in the
 * history, the schema check), and tool calls in replies as each server
 * sends them, through the one reply reader, whole and as a stream.
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
#include "wisp_json.h"
#include "wisp_reply.h"
#include "wisp_request.h"

/* ---- the request ---------------------------------------------------------- */

static char g_body[8192];
static size_t g_body_len;

static wisp_status collect_body(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    assert_true(g_body_len + len < sizeof g_body);
    memcpy(g_body + g_body_len, buf, len);
    g_body_len += len;
    return WISP_OK;
}

/* A request of model "m" with one message. */
static void user_request(wisp_request *req, const wisp_message *msg)
{
    memset(req, 0, sizeof *req);
    req->model = "m";
    req->messages = msg;
    req->message_count = 1;
}

/* The body the request would send, NUL-terminated in g_body. */
static const char *body_of(const wisp_request *req)
{
    uint8_t stage[64];
    wisp_out o;
    g_body_len = 0;
    wisp_out_sender(&o, stage, sizeof stage, collect_body, NULL);
    wisp_write_body(&o, req);
    assert_int_equal(wisp_out_finish(&o), WISP_OK);
    g_body[g_body_len] = '\0';
    assert_true(wisp_json_valid(g_body, g_body_len, 64));
    assert_int_equal(wisp_request_body_size(req), g_body_len);
    return g_body;
}

static void test_tools_in_the_request(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static const wisp_tool tools[] = {
        {"get_temperature", "Reads the room sensor.",
         "{\"type\":\"object\",\"properties\":{\"room\":{\"type\":\"string\"}},\"required\":[\"room\"]}", 0, NULL, 0},
        {"set_led", NULL, NULL, 0, NULL, 0},
    };
    wisp_message msg = {.role = WISP_ROLE_USER, .content = "hi"};
    wisp_request req;
    (void)state;
    user_request(&req, &msg);
    /* nothing set: nothing sent */
    assert_string_equal(body_of(&req),
                        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    req.tools = tools;
    req.tool_count = 2;
    assert_int_equal(wisp_request_check(&req, NULL), WISP_OK);
    assert_string_equal(body_of(&req),
                        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_temperature\","
                        "\"description\":\"Reads the room sensor.\",\"parameters\":{\"type\":\"object\","
                        "\"properties\":{\"room\":{\"type\":\"string\"}},\"required\":[\"room\"]}}},"
                        "{\"type\":\"function\",\"function\":{\"name\":\"set_led\"}}]}");
    req.tool_choice = WISP_TOOL_CHOICE_REQUIRED;
    req.has_parallel_tool_calls = true;
    req.parallel_tool_calls = false;
    assert_non_null(strstr(body_of(&req), "],\"tool_choice\":\"required\",\"parallel_tool_calls\":false}"));
    req.tool_choice = WISP_TOOL_CHOICE_NONE;
    assert_non_null(strstr(body_of(&req), "\"tool_choice\":\"none\""));
    req.tool_choice = WISP_TOOL_CHOICE_AUTO;
    assert_non_null(strstr(body_of(&req), "\"tool_choice\":\"auto\""));
    req.tool_choice = WISP_TOOL_CHOICE_FUNCTION;
    req.tool_choice_name = "set_led";
    assert_non_null(strstr(body_of(&req),
                           "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"set_led\"}}"));
    req.tool_choice_name = NULL;
    assert_int_equal(wisp_request_check(&req, NULL), WISP_ERR_ARG);
    req.tool_choice = (wisp_tool_choice)9;
    assert_int_equal(wisp_request_check(&req, NULL), WISP_ERR_ARG);
    /* a choice about tools with no tools: refused here, not by the server */
    req.tools = NULL;
    req.tool_count = 0;
    req.tool_choice = WISP_TOOL_CHOICE_AUTO;
    assert_int_equal(wisp_request_check(&req, NULL), WISP_ERR_ARG);
    req.tool_choice = WISP_TOOL_CHOICE_UNSET;
    req.has_parallel_tool_calls = true;
    assert_int_equal(wisp_request_check(&req, NULL), WISP_ERR_ARG);
}

/* A whole function object given as text goes as it is ("strict" too). */
static void test_function_json(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    wisp_tool t = {.name = "f", .function_json = "{\"name\":\"f\",\"strict\":true,\"parameters\":{}}"};
    wisp_message msg = {.role = WISP_ROLE_USER, .content = "hi"};
    wisp_request req;
    (void)state;
    user_request(&req, &msg);
    req.tools = &t;
    req.tool_count = 1;
    assert_non_null(strstr(body_of(&req), "\"tools\":[{\"type\":\"function\",\"function\":"
                                          "{\"name\":\"f\",\"strict\":true,\"parameters\":{}}}]}"));
    t.function_json = "{\"name\":";
    assert_int_equal(wisp_request_check(&req, NULL), WISP_ERR_TOOL_SCHEMA);
}

/* A schema must be one JSON value: checked before anything is sent. */
static void test_schema_check(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static const char *const bad[] = {
        "", "{", "{\"a\":1", "{\"a\":1}}", "{\"a\":1} {}", "{\"a\" 1}", "{\"a\":1,}", "[1,]",
        "{\"a\":tru}", "{\"a\":01}", "{\"a\":\"x\ny\"}", "{\"a\":\"\\q\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":\"\xC3\"}", "{1:2}", "{\"a\":1]", "[}", "\"unterminated", "{}\"",
        "{\"a\":\"b\"}}], \"model\": \"injected\"",
        "{\"a\":\"\\u00\023a\"}", /* a control byte is no hex digit (0x13 | 0x20 is '3') */
        "{\"a\":\"\\u00 a\"}",
    };
    char deep[200];
    wisp_tool t = {"f", NULL, NULL, 0, NULL, 0};
    wisp_message msg = {.role = WISP_ROLE_USER, .content = "hi"};
    wisp_request req;
    size_t i;
    (void)state;
    user_request(&req, &msg);
    req.tools = &t;
    req.tool_count = 1;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t.parameters = bad[i];
        t.parameters_len = strlen(bad[i]) > 0 ? strlen(bad[i]) : 0;
        if (bad[i][0] == '\0') {
            t.parameters_len = 0; /* "" is strlen 0: still checked */
        }
        if (wisp_request_check(&req, NULL) != WISP_ERR_TOOL_SCHEMA)
            fail_msg("accepted schema: %s", bad[i]);
    }
    t.parameters = " {\"type\":\"object\",\"properties\":{},\"x\":[1,-2.5e3,true,false,null,\"\\u00e9\\n\"]} ";
    t.parameters_len = 0;
    assert_int_equal(wisp_request_check(&req, NULL), WISP_OK);
    /* parameters_len bounds the text: a schema need not be NUL-terminated */
    t.parameters = "{\"type\":\"object\"}garbage";
    t.parameters_len = 17;
    assert_int_equal(wisp_request_check(&req, NULL), WISP_OK);
    assert_non_null(strstr(body_of(&req), "\"parameters\":{\"type\":\"object\"}}}]"));
    /* nesting: WISP_TOOL_SCHEMA_DEPTH levels pass, one more does not */
    memset(deep, 0, sizeof deep);
    for (i = 0; i < WISP_TOOL_SCHEMA_DEPTH; i++) {
        deep[i] = '[';
        deep[2 * WISP_TOOL_SCHEMA_DEPTH - 1 - i] = ']';
    }
    t.parameters = deep;
    t.parameters_len = 0;
    assert_int_equal(wisp_request_check(&req, NULL), WISP_OK);
    memmove(deep + 1, deep, strlen(deep) + 1);
    deep[0] = '[';
    deep[strlen(deep)] = ']';
    assert_int_equal(wisp_request_check(&req, NULL), WISP_ERR_TOOL_SCHEMA);
    assert_false(wisp_json_valid("[]", 2, 0));
    assert_true(wisp_json_valid("1", 1, 0));
    assert_false(wisp_json_valid(NULL, 0, 4));
    /* a tool needs a name */
    t.parameters = NULL;
    t.name = "";
    assert_int_equal(wisp_request_check(&req, NULL), WISP_ERR_ARG);
}

/* The results go back: the assistant's calls (signatures on the call they
 * came with), then one tool message per call. */
static void test_tool_messages(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static const wisp_call_ref calls[] = {
        {"call_1", "get_temperature", "{\"room\":\"kitchen\"}", NULL},
        {NULL, "set_led", NULL, "c2ln\"x"},
    };
    wisp_message msgs[4] = {
        {.role = WISP_ROLE_USER, .content = "warm?"},
        {.role = WISP_ROLE_ASSISTANT, .tool_calls = calls, .tool_call_count = 2},
        {.role = WISP_ROLE_TOOL, .content = "21.5", .tool_call_id = "call_1"},
        {.role = WISP_ROLE_TOOL, .content = "ok", .tool_call_id = ""},
    };
    wisp_request req;
    (void)state;
    memset(&req, 0, sizeof req);
    req.model = "m";
    req.messages = msgs;
    req.message_count = 4;
    assert_int_equal(wisp_request_check(&req, NULL), WISP_OK);
    assert_string_equal(body_of(&req),
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"warm?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_temperature\","
        "\"arguments\":\"{\\\"room\\\":\\\"kitchen\\\"}\"}},"
        "{\"id\":\"\",\"type\":\"function\",\"function\":{\"name\":\"set_led\",\"arguments\":\"{}\"},"
        "\"extra_content\":{\"google\":{\"thought_signature\":\"c2ln\\\"x\"}}}]},"
        "{\"role\":\"tool\",\"content\":\"21.5\",\"tool_call_id\":\"call_1\"},"
        "{\"role\":\"tool\",\"content\":\"ok\",\"tool_call_id\":\"\"}]}");
    /* what is not allowed */
    msgs[2].tool_call_id = NULL; /* a tool result must say which call */
    assert_int_equal(wisp_request_check(&req, NULL), WISP_ERR_ARG);
    msgs[2].tool_call_id = "call_1";
    msgs[0].content = NULL; /* null content only beside tool calls */
    assert_int_equal(wisp_request_check(&req, NULL), WISP_ERR_ARG);
    msgs[0].content = "warm?";
    msgs[0].tool_calls = calls; /* only the assistant calls tools */
    msgs[0].tool_call_count = 1;
    assert_int_equal(wisp_request_check(&req, NULL), WISP_ERR_ARG);
    msgs[0].tool_calls = NULL;
    msgs[0].tool_call_count = 0;
    msgs[1].tool_calls = NULL; /* a count without the calls */
    assert_int_equal(wisp_request_check(&req, NULL), WISP_ERR_ARG);
}

/* ---- tool calls in replies ---------------------------------------------------- */

#define SLOTS 3

typedef struct reply {
    wisp_response resp;
    wisp_tool_call calls[SLOTS];
    char args[SLOTS][64];
    char sig[SLOTS][32];
    char content[128];
    char log[2048];
    size_t log_len;
    wisp_status status;
} reply;

static int log_event(void *user, const wisp_event *ev)
{
    reply *r = (reply *)user;
    int n;
    if (ev->type == WISP_EVENT_TOOL_CALL)
        n = snprintf(r->log + r->log_len, sizeof r->log - r->log_len, "T%u[%s|%s]%.*s;",
                     (unsigned)ev->tool_index, ev->tool_id, ev->tool_name, (int)ev->len, ev->text);
    else if (ev->type == WISP_EVENT_CONTENT)
        n = snprintf(r->log + r->log_len, sizeof r->log - r->log_len, "C%.*s;", (int)ev->len,
                     ev->text);
    else if (ev->type == WISP_EVENT_FINISH)
        n = snprintf(r->log + r->log_len, sizeof r->log - r->log_len, "F%.*s;", (int)ev->len,
                     ev->text);
    else
        n = 0;
    assert_true(n >= 0 && (size_t)n < sizeof r->log - r->log_len);
    r->log_len += (size_t)n;
    return 0;
}

static void reply_init(reply *r, size_t args_cap, size_t sig_cap)
{
    size_t i;
    memset(r, 0, sizeof *r);
    r->resp.content.buf = r->content;
    r->resp.content.cap = sizeof r->content;
    r->resp.tool_calls = r->calls;
    r->resp.tool_call_cap = SLOTS;
    for (i = 0; i < SLOTS; i++) {
        r->calls[i].arguments.buf = r->args[i];
        r->calls[i].arguments.cap = args_cap;
        r->calls[i].signature.buf = r->sig[i];
        r->calls[i].signature.cap = sig_cap;
    }
}

static wisp_token g_toks[512];

/* A stream: each line of `chunks` (separated by \n) one event, then [DONE]. */
static void read_stream(reply *r, const char *chunks)
{
    wisp_reply rp;
    char scratch[32];
    const char *p = chunks;
    wisp_reply_init(&rp, &r->resp, g_toks, 512, log_event, r);
    wisp_reply_scratch(&rp, scratch, sizeof scratch);
    r->status = WISP_OK;
    while (*p != '\0' && r->status == WISP_OK) {
        const char *e = strchr(p, '\n');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        r->status = wisp_reply_event(&rp, p, n, false);
        p += n + (e != NULL);
    }
    if (r->status == WISP_OK)
        r->status = wisp_reply_event(&rp, "[DONE]", 6, false);
    if (r->status == WISP_OK)
        r->status = wisp_reply_end(&rp, false);
}

static void read_whole(reply *r, const char *js)
{
    wisp_reply rp;
    char scratch[32];
    wisp_reply_init(&rp, &r->resp, g_toks, 512, log_event, r);
    wisp_reply_scratch(&rp, scratch, sizeof scratch);
    r->status = wisp_reply_document(&rp, js, strlen(js));
    if (r->status == WISP_OK)
        r->status = wisp_reply_end(&rp, true);
}

static void expect_call(const reply *r, size_t i, uint32_t index, const char *id, const char *name,
                        const char *args)
{
    assert_true(i < r->resp.tool_call_count);
    assert_int_equal(r->calls[i].index, index);
    assert_string_equal(r->calls[i].id, id);
    assert_string_equal(r->calls[i].name, name);
    assert_string_equal(r->calls[i].arguments.buf, args);
}

#define DELTA(calls) "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[" calls "]}}]}\n"

/* OpenAI: parallel calls interleaved by index, id and name on the first
 * delta only, finish_reason tool_calls. */
static void test_openai_parallel_stream(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    reply r;
    (void)state;
    reply_init(&r, 64, 32);
    read_stream(&r,
        "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n"
        DELTA("{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_temperature\",\"arguments\":\"\"}}")
        DELTA("{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"set_led\",\"arguments\":\"\"}}")
        DELTA("{\"index\":0,\"function\":{\"arguments\":\"{\\\"room\\\":\"}}")
        DELTA("{\"index\":1,\"function\":{\"arguments\":\"{\\\"on\\\":true}\"}}")
        DELTA("{\"index\":0,\"function\":{\"arguments\":\"\\\"kitchen\\\"}\"}}")
        "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");
    assert_int_equal(r.status, WISP_OK);
    assert_int_equal(r.resp.tool_call_count, 2);
    assert_int_equal(r.resp.tool_calls_dropped, 0);
    expect_call(&r, 0, 0, "call_a", "get_temperature", "{\"room\":\"kitchen\"}");
    expect_call(&r, 1, 1, "call_b", "set_led", "{\"on\":true}");
    assert_string_equal(r.resp.finish_reason, "tool_calls");
    assert_true(r.resp.content_null); /* "content": null beside the calls */
    assert_string_equal(r.log,
        "T0[call_a|get_temperature];T1[call_b|set_led];T0[call_a|get_temperature]{\"room\":;"
        "T1[call_b|set_led]{\"on\":true};T0[call_a|get_temperature]\"kitchen\"};Ftool_calls;");
}

/* The same calls in a whole reply give the same slots and the same events
 * but for the pieces. */
static void test_openai_whole(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    reply r;
    (void)state;
    reply_init(&r, 64, 32);
    read_whole(&r, "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
                   "\"tool_calls\":[{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":"
                   "\"get_temperature\",\"arguments\":\"{\\\"room\\\":\\\"kitchen\\\"}\"}},"
                   "{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"set_led\","
                   "\"arguments\":\"{\\\"on\\\":true}\"}}]},\"finish_reason\":\"tool_calls\"}]}");
    assert_int_equal(r.status, WISP_OK);
    assert_int_equal(r.resp.tool_call_count, 2);
    expect_call(&r, 0, 0, "call_a", "get_temperature", "{\"room\":\"kitchen\"}");
    expect_call(&r, 1, 1, "call_b", "set_led", "{\"on\":true}");
    assert_true(r.resp.content_null);
}

/* Gemini's OpenAI endpoint and older Ollama: no index, each call whole in
 * one chunk, finish_reason stop; Gemini's thought signature kept. */
static void test_no_index_whole_calls(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    reply r;
    (void)state;
    reply_init(&r, 64, 32);
    read_stream(&r,
        DELTA("{\"id\":\"function-call-1\",\"type\":\"function\",\"function\":{\"name\":\"get_temperature\",\"arguments\":\"{\\\"room\\\":\\\"hall\\\"}\"},"
              "\"extra_content\":{\"google\":{\"thought_signature\":\"c2lnMQ==\"}}}")
        DELTA("{\"id\":\"function-call-2\",\"type\":\"function\",\"function\":{\"name\":\"set_led\",\"arguments\":\"{}\"}}")
        "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
    assert_int_equal(r.status, WISP_OK);
    assert_int_equal(r.resp.tool_call_count, 2);
    expect_call(&r, 0, 0, "function-call-1", "get_temperature", "{\"room\":\"hall\"}");
    expect_call(&r, 1, 1, "function-call-2", "set_led", "{}");
    assert_string_equal(r.calls[0].signature.buf, "c2lnMQ==");
    assert_string_equal(r.calls[1].signature.buf, "");
    assert_string_equal(r.resp.finish_reason, "stop");
}

/* LM Studio repeats "type" and "name": "" on later deltas; vLLM's first
 * delta has a name and no arguments key; a piece with neither an index nor
 * an id goes on the last call. */
static void test_server_quirks(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    reply r;
    (void)state;
    reply_init(&r, 64, 32);
    read_stream(&r,
        DELTA("{\"index\":0,\"id\":\"123\",\"type\":\"function\",\"function\":{\"name\":\"set_led\"}}")
        DELTA("{\"index\":0,\"id\":\"\",\"type\":\"function\",\"function\":{\"name\":\"\",\"arguments\":\"{\\\"on\\\"\"}}")
        DELTA("{\"index\":0,\"type\":\"function\",\"function\":{\"name\":\"\",\"arguments\":\":false}\"}}"));
    assert_int_equal(r.status, WISP_OK); /* [DONE] ends it; no finish reason needed */
    assert_int_equal(r.resp.tool_call_count, 1);
    expect_call(&r, 0, 0, "123", "set_led", "{\"on\":false}");

    reply_init(&r, 64, 32);
    read_stream(&r,
        DELTA("{\"id\":\"x1\",\"function\":{\"name\":\"get_temperature\",\"arguments\":\"{\\\"ro\"}}")
        DELTA("{\"function\":{\"arguments\":\"om\\\":\\\"hall\\\"}\"}}")
        "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");
    assert_int_equal(r.status, WISP_OK);
    assert_int_equal(r.resp.tool_call_count, 1);
    expect_call(&r, 0, 0, "x1", "get_temperature", "{\"room\":\"hall\"}");
    /* Ollama: every streamed call says "index": 0; a new id is a new call */
    reply_init(&r, 64, 32);
    read_stream(&r,
        DELTA("{\"index\":0,\"id\":\"call_x\",\"function\":{\"name\":\"get_temperature\",\"arguments\":\"{}\"}}")
        DELTA("{\"index\":0,\"id\":\"call_y\",\"function\":{\"name\":\"set_led\",\"arguments\":\"{\\\"on\\\":1}\"}}")
        "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");
    assert_int_equal(r.status, WISP_OK);
    assert_int_equal(r.resp.tool_call_count, 2);
    expect_call(&r, 0, 0, "call_x", "get_temperature", "{}");
    expect_call(&r, 1, 1, "call_y", "set_led", "{\"on\":1}");
}

/* Text before the calls; arguments as an object (some servers); a
 * surrogate pair split across two deltas of one call. */
static void test_text_objects_and_carries(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    reply r;
    (void)state;
    reply_init(&r, 64, 32);
    read_stream(&r,
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Checking.\"}}]}\n"
        DELTA("{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"say\",\"arguments\":\"{\\\"t\\\":\\\"\\ud83d\"}}")
        DELTA("{\"index\":0,\"function\":{\"arguments\":\"\\ude00\\\"}\"}}")
        DELTA("{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"set_led\",\"arguments\":{\"on\":true}}}")
        "{\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\"}]}");
    assert_int_equal(r.status, WISP_OK);
    assert_string_equal(r.content, "Checking.");
    assert_int_equal(r.resp.tool_call_count, 2);
    expect_call(&r, 0, 0, "a", "say", "{\"t\":\"\xF0\x9F\x98\x80\"}");
    expect_call(&r, 1, 1, "b", "set_led", "{\"on\":true}");
}

/* More calls than slots are counted, a long argument is cut and flagged,
 * a signature that does not fit is its own error. */
static void test_limits(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    reply r;
    (void)state;
    reply_init(&r, 8, 32);
    read_whole(&r, "{\"choices\":[{\"message\":{\"tool_calls\":["
                   "{\"id\":\"1\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":\\\"\\u20ac\\u20ac\\\"}\"}},"
                   "{\"id\":\"2\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
                   "{\"id\":\"3\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
                   "{\"id\":\"4\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
                   "{\"id\":\"5\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}");
    assert_int_equal(r.status, WISP_OK);
    assert_int_equal(r.resp.tool_call_count, SLOTS);
    assert_int_equal(r.resp.tool_calls_dropped, 2);
    assert_true(r.calls[0].arguments.truncated);
    assert_string_equal(r.args[0], "{\"x\":\""); /* the euro sign is not split */
    assert_int_equal(r.calls[0].arguments.full_len, 14);
    assert_non_null(strstr(r.log, "T3[|]{};T4[|]{};")); /* events still come, without a slot */

    /* indexed stream: a dropped call is counted once, however many pieces */
    reply_init(&r, 64, 32);
    read_stream(&r,
        DELTA("{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}")
        DELTA("{\"index\":1,\"id\":\"b\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}")
        DELTA("{\"index\":2,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}")
        DELTA("{\"index\":3,\"id\":\"d\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}")
        DELTA("{\"index\":3,\"function\":{\"arguments\":\"}\"}}")
        DELTA("{\"index\":3,\"id\":\"d\",\"function\":{\"arguments\":\"\"}}")
        "{\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\"}]}");
    assert_int_equal(r.status, WISP_OK);
    assert_int_equal(r.resp.tool_call_count, 3);
    assert_int_equal(r.resp.tool_calls_dropped, 1);

    /* a name of 64 characters (OpenAI's most) fits; a longer one is cut
     * and flagged on its call */
    reply_init(&r, 64, 32);
    read_whole(&r, "{\"choices\":[{\"message\":{\"tool_calls\":["
                   "{\"id\":\"1\",\"function\":{\"name\":\"n234567890123456789012345678901234567890123456789012345678901234\"}},"
                   "{\"id\":\"2\",\"function\":{\"name\":\"n2345678901234567890123456789012345678901234567890123456789012345678901234567890\"}}]}}]}");
    assert_int_equal(r.status, WISP_OK);
    assert_int_equal(strlen(r.calls[0].name), 64);
    assert_false(r.calls[0].cut);
    assert_true(r.calls[1].cut);
    assert_true(r.resp.fields_truncated);

    /* a signature split across two deltas of a stream is joined */
    reply_init(&r, 64, 32);
    read_stream(&r,
        DELTA("{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"},\"extra_content\":{\"google\":{\"thought_signature\":\"c2ln\"}}}")
        DELTA("{\"index\":0,\"extra_content\":{\"google\":{\"thought_signature\":\"MTIz\"}}}"));
    assert_int_equal(r.status, WISP_OK);
    assert_string_equal(r.calls[0].signature.buf, "c2lnMTIz");

    reply_init(&r, 64, 4);
    read_whole(&r, "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"1\",\"function\":{\"name\":\"f\","
                   "\"arguments\":\"{}\"},\"extra_content\":{\"google\":{\"thought_signature\":\"toolong\"}}}]}}]}");
    assert_int_equal(r.status, WISP_ERR_SIGNATURE_TOO_LARGE);

    /* no slots at all: counted, never stored */
    reply_init(&r, 64, 32);
    r.resp.tool_calls = NULL;
    read_whole(&r, "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"1\",\"function\":{\"name\":\"f\"}}]}}]}");
    assert_int_equal(r.status, WISP_OK);
    assert_int_equal(r.resp.tool_call_count, 0);
    assert_int_equal(r.resp.tool_calls_dropped, 1);
}

/* Wrong types are malformed, as for every known field. */
static void test_tool_call_types(void **state)
{
    WISP_NEEDS(WISP_TOOLS);
    static const char *const bad[] = {
        "{\"choices\":[{\"message\":{\"tool_calls\":{}}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[1]}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":\"f\"}]}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[{\"index\":\"0\",\"function\":{\"name\":\"f\"}}]}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":5}}]}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":[],\"function\":{\"name\":\"f\"}}]}}]}",
        "{\"choices\":[{\"message\":{\"tool_calls\":[{\"index\":4294967295,\"function\":{\"name\":\"f\"}}]}}]}",
    };
    reply r;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reply_init(&r, 64, 32);
        read_whole(&r, bad[i]);
        if (r.status != WISP_ERR_JSON)
            fail_msg("accepted: %s", bad[i]);
    }
    reply_init(&r, 64, 32);
    read_whole(&r, "{\"choices\":[{\"message\":{\"content\":\"hi\",\"tool_calls\":null}}]}");
    assert_int_equal(r.status, WISP_OK);
    assert_int_equal(r.resp.tool_call_count, 0);
}

/* ---- tool definitions from JSON ----------------------------------------------- */

static void test_tools_from_json(void **state)
{
    static const char text[] =
        "[{\"type\":\"function\",\"function\":{\"name\":\"get_temp\\u00e9rature\","
        "\"description\":\"Reads \\\"the\\\" sensor\",\"parameters\":{\"type\":\"object\"}}},"
        " {\"function\":{\"name\":\"set_led\"}}]";
    wisp_tool tools[4];
    char store[64];
    size_t count = 99;
    const char *why = NULL;
    (void)state;
    assert_int_equal(wisp_tools_from_json(text, strlen(text), g_toks, 512, tools, 4, &count, store,
                                          sizeof store, &why), WISP_OK);
    assert_int_equal(count, 2);
    assert_string_equal(tools[0].name, "get_temp\xC3\xA9rature");
    assert_string_equal(tools[0].description, "Reads \"the\" sensor");
    assert_int_equal(tools[0].parameters_len, strlen("{\"type\":\"object\"}"));
    assert_memory_equal(tools[0].parameters, "{\"type\":\"object\"}", tools[0].parameters_len);
    assert_string_equal(tools[1].name, "set_led");
    assert_null(tools[1].description);
    assert_null(tools[1].parameters);
    /* what is wrong is said */
    assert_int_equal(wisp_tools_from_json("[{", 2, g_toks, 512, tools, 4, &count, store,
                                          sizeof store, &why), WISP_ERR_JSON);
    assert_string_equal(why, "not JSON");
    assert_int_equal(count, 0);
    assert_int_equal(wisp_tools_from_json("{}", 2, g_toks, 512, tools, 4, &count, store,
                                          sizeof store, &why), WISP_ERR_JSON);
    assert_string_equal(why, "not a JSON array");
    assert_int_equal(wisp_tools_from_json("[{\"function\":{}}]", 17, g_toks, 512, tools, 4,
                                          &count, store, sizeof store, &why), WISP_ERR_JSON);
    assert_non_null(strstr(why, "function.name"));
    assert_int_equal(wisp_tools_from_json("[{\"type\":\"x\",\"function\":{\"name\":\"a\"}}]", 36,
                                          g_toks, 512, tools, 4, &count, store, sizeof store, &why),
                     WISP_ERR_JSON);
    assert_int_equal(wisp_tools_from_json(text, strlen(text), g_toks, 512, tools, 1, &count, store,
                                          sizeof store, &why), WISP_ERR_TOO_COMPLEX);
    assert_int_equal(wisp_tools_from_json(text, strlen(text), g_toks, 512, tools, 4, &count, store,
                                          8, &why), WISP_ERR_TOO_LARGE);
    assert_int_equal(wisp_tools_from_json(text, strlen(text), g_toks, 4, tools, 4, &count, store,
                                          sizeof store, &why), WISP_ERR_TOO_COMPLEX);
}

/* ---- the tool loop --------------------------------------------------------------- */

static const char k_calls_reply[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %u\r\n\r\n%s";
static const char k_round1[] =
    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
    "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get_temperature\",\"arguments\":\"{}\"},"
    "\"extra_content\":{\"google\":{\"thought_signature\":\"U0lH\"}}},"
    "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"set_led\",\"arguments\":\"{\\\"on\\\":true}\"}}]},"
    "\"finish_reason\":\"tool_calls\"}]}";
static const char k_answer[] =
    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"21.5 and on.\"},"
    "\"finish_reason\":\"stop\"}]}";

typedef struct loop_env {
    fake_transport fake;
    wisp_transport tr;
    wisp_client client;
    uint8_t work[4096];
    wisp_token toks[256];
    wisp_response resp;
    char content[256];
    wisp_tool_call calls[2];
    char args[2][64];
    char sigs[2][32];
    uint64_t arena[4096 / 8];
    char replies[4][2048];
    int handled;
    int stop_at; /* the handler says stop at this call (1-based), 0 never */
} loop_env;

static void add_reply(loop_env *e, int i, const char *json)
{
    int n = snprintf(e->replies[i], sizeof e->replies[i], k_calls_reply, (unsigned)strlen(json), json);
    fake_add(&e->fake, e->replies[i], (size_t)n, END_KEEP);
}

static wisp_tool_verdict device(void *user, const wisp_tool_call *call, char *out, size_t cap,
                                size_t *len)
{
    loop_env *e = (loop_env *)user;
    const char *r = strcmp(call->name, "get_temperature") == 0 ? "21.5" : "on";
    if (++e->handled == e->stop_at)
        return WISP_TOOL_STOP;
    assert_true(cap > strlen(r));
    memcpy(out, r, strlen(r));
    *len = strlen(r);
    return WISP_TOOL_RESULT;
}

static void loop_setup(loop_env *e, wisp_tool_loop *loop, wisp_request *req, wisp_message *q)
{
    static const wisp_tool tools[] = {{.name = "get_temperature"}, {.name = "set_led"}};
    wisp_config cfg;
    size_t i;
    memset(e, 0, sizeof *e);
    fake_init(&e->fake, &e->tr);
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://127.0.0.1:8080/v1";
    cfg.transport = &e->tr;
    cfg.max_retries = WISP_NO_RETRIES;
    assert_int_equal(wisp_client_init(&e->client, &cfg, e->work, sizeof e->work, e->toks, 256),
                     WISP_OK);
    wisp_response_init(&e->resp, e->content, sizeof e->content, NULL, 0);
    for (i = 0; i < 2; i++) {
        e->calls[i].arguments.buf = e->args[i];
        e->calls[i].arguments.cap = sizeof e->args[i];
        e->calls[i].signature.buf = e->sigs[i];
        e->calls[i].signature.cap = sizeof e->sigs[i];
    }
    e->resp.tool_calls = e->calls;
    e->resp.tool_call_cap = 2;
    memset(q, 0, sizeof *q);
    q->role = WISP_ROLE_USER;
    q->content = "warm? led on";
    memset(req, 0, sizeof *req);
    req->model = "m";
    req->messages = q;
    req->message_count = 1;
    req->tools = tools;
    req->tool_count = 2;
    memset(loop, 0, sizeof *loop);
    loop->handler = device;
    loop->user = e;
    loop->arena = e->arena;
    loop->arena_size = sizeof e->arena;
}

static void test_tool_loop_two_rounds(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static loop_env e;
    wisp_tool_loop loop;
    wisp_request req;
    wisp_message q;
    const char *second;
    (void)state;
    loop_setup(&e, &loop, &req, &q);
    add_reply(&e, 0, k_round1);
    add_reply(&e, 1, k_answer);
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL), WISP_OK);
    assert_int_equal(loop.rounds, 2);
    assert_string_equal(e.content, "21.5 and on.");
    assert_int_equal(loop.message_count, 4);
    assert_int_equal(loop.messages[1].role, WISP_ROLE_ASSISTANT);
    assert_string_equal(loop.messages[1].content, "Checking.");
    assert_int_equal(loop.messages[1].tool_call_count, 2);
    assert_string_equal(loop.messages[1].tool_calls[0].signature, "U0lH");
    assert_null(loop.messages[1].tool_calls[1].signature);
    assert_string_equal(loop.messages[2].tool_call_id, "c1");
    assert_string_equal(loop.messages[2].content, "21.5");
    assert_string_equal(loop.messages[3].content, "on");
    assert_true(loop.arena_used > 0 && loop.arena_used <= sizeof e.arena);
    /* the second request carried the turn and both results, signature included */
    e.fake.sent[e.fake.sent_len < FAKE_SENT_CAP ? e.fake.sent_len : FAKE_SENT_CAP - 1] = 0;
    second = strstr((const char *)e.fake.sent + 1, "POST ");
    assert_non_null(second);
    assert_non_null(strstr(second, "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
                                   "\"function\":{\"name\":\"get_temperature\",\"arguments\":\"{}\"},"
                                   "\"extra_content\":{\"google\":{\"thought_signature\":\"U0lH\"}}}"));
    assert_non_null(strstr(second, "{\"role\":\"tool\",\"content\":\"on\",\"tool_call_id\":\"c2\"}"));
}

/* Each round is a new request: a key sent again would fetch the stored
 * first reply, so round 2 carries "KEY.2". */
static void test_tool_loop_idempotency_key_per_round(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static loop_env e;
    wisp_tool_loop loop;
    wisp_request req;
    wisp_message q;
    const char *sent, *second;
    (void)state;
    loop_setup(&e, &loop, &req, &q);
    req.idempotency_key = "ask-9";
    add_reply(&e, 0, k_round1);
    add_reply(&e, 1, k_answer);
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL), WISP_OK);
    assert_int_equal(loop.rounds, 2);
    e.fake.sent[e.fake.sent_len < FAKE_SENT_CAP ? e.fake.sent_len : FAKE_SENT_CAP - 1] = 0;
    sent = (const char *)e.fake.sent;
    second = strstr(sent + 1, "POST ");
    assert_non_null(second);
    assert_non_null(strstr(sent, "\r\nIdempotency-Key: ask-9\r\n"));
    assert_true(strstr(sent, "\r\nIdempotency-Key: ask-9\r\n") < second);
    assert_non_null(strstr(second, "\r\nIdempotency-Key: ask-9.2\r\n"));
    assert_string_equal(req.idempotency_key, "ask-9"); /* the caller's request untouched */
}

/* The later rounds' key is taken from the arena before the first request:
 * an arena without room for it fails at once, before a tool runs. */
static void test_tool_loop_key_room_taken_first(void **state)
{
    static loop_env e;
    wisp_tool_loop loop;
    wisp_request req;
    wisp_message q;
    size_t messages;
    (void)state;
    loop_setup(&e, &loop, &req, &q);
    req.idempotency_key = "ask-9";
    loop.max_rounds = 2;
    messages = 1 + (2 - 1) * (1 + 2); /* the request's, then one round */
    loop.arena_size = messages * (sizeof(wisp_message) + sizeof(size_t)) + strlen("ask-9") + 3;
    add_reply(&e, 0, k_round1);
    add_reply(&e, 1, k_answer);
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL),
                     WISP_ERR_ARENA_FULL);
    assert_int_equal(e.handled, 0);
    assert_int_equal(e.fake.connects, 0);
}

static void test_tool_loop_limits(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_TOOLS);
    static loop_env e;
    wisp_tool_loop loop;
    wisp_request req;
    wisp_message q;
    (void)state;
    /* a forced choice holds for the first request only */
    loop_setup(&e, &loop, &req, &q);
    req.tool_choice = WISP_TOOL_CHOICE_REQUIRED;
    add_reply(&e, 0, k_round1);
    add_reply(&e, 1, k_answer);
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL), WISP_OK);
    e.fake.sent[e.fake.sent_len < FAKE_SENT_CAP ? e.fake.sent_len : FAKE_SENT_CAP - 1] = 0;
    {
        const char *first = (const char *)e.fake.sent;
        const char *second = strstr(first + 1, "POST ");
        assert_non_null(second);
        assert_non_null(strstr(first, "\"tool_choice\":\"required\""));
        assert_non_null(strstr(second, "\"tool_choice\":\"auto\""));
    }
    /* the model keeps calling: the round limit is its own status */
    loop_setup(&e, &loop, &req, &q);
    loop.max_rounds = 2;
    add_reply(&e, 0, k_round1);
    add_reply(&e, 1, k_round1);
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL),
                     WISP_ERR_TOOL_ROUNDS);
    assert_int_equal(loop.rounds, 2);
    /* the handler says stop */
    loop_setup(&e, &loop, &req, &q);
    e.stop_at = 2;
    add_reply(&e, 0, k_round1);
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL),
                     WISP_ERR_CANCELLED);
    /* an arena too small for the history */
    loop_setup(&e, &loop, &req, &q);
    /* the array and its offsets (1 + 3 rounds x 3 messages), and 40 bytes */
    loop.arena_size = 10 * (sizeof(wisp_message) + sizeof(size_t)) + 40;
    add_reply(&e, 0, k_round1);
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL),
                     WISP_ERR_ARENA_FULL);
    assert_true(loop.arena_used <= 10 * (sizeof(wisp_message) + sizeof(size_t)) + 40);
    assert_int_equal(loop.message_count, 1); /* the round half written is taken back */
    loop_setup(&e, &loop, &req, &q);
    loop.arena_size = 16; /* not even the message array */
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL),
                     WISP_ERR_ARENA_FULL);
    /* a call that did not fit its slot cannot be run */
    loop_setup(&e, &loop, &req, &q);
    e.resp.tool_call_cap = 1;
    add_reply(&e, 0, k_round1);
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL),
                     WISP_ERR_TOOL_CALL_CUT);
    loop_setup(&e, &loop, &req, &q);
    e.calls[1].arguments.cap = 4;
    add_reply(&e, 0, k_round1);
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL),
                     WISP_ERR_TOOL_CALL_CUT);
    /* arguments */
    loop_setup(&e, &loop, &req, &q);
    loop.handler = NULL;
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL), WISP_ERR_ARG);
    loop_setup(&e, &loop, &req, &q);
    e.resp.tool_calls = NULL;
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL), WISP_ERR_ARG);
    /* a reply without calls ends it at once */
    loop_setup(&e, &loop, &req, &q);
    add_reply(&e, 0, k_answer);
    assert_int_equal(wisp_chat_tools(&e.client, &req, &e.resp, &loop, NULL, NULL), WISP_OK);
    assert_int_equal(loop.rounds, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tools_in_the_request),
        cmocka_unit_test(test_schema_check),
        cmocka_unit_test(test_function_json),
        cmocka_unit_test(test_tool_messages),
        cmocka_unit_test(test_openai_parallel_stream),
        cmocka_unit_test(test_openai_whole),
        cmocka_unit_test(test_no_index_whole_calls),
        cmocka_unit_test(test_server_quirks),
        cmocka_unit_test(test_text_objects_and_carries),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_tool_call_types),
        cmocka_unit_test(test_tools_from_json),
        cmocka_unit_test(test_tool_loop_two_rounds),
        cmocka_unit_test(test_tool_loop_idempotency_key_per_round),
        cmocka_unit_test(test_tool_loop_key_room_taken_first),
        cmocka_unit_test(test_tool_loop_limits),
    };
    return cmocka_run_group_tests_name("tools", tests, NULL, NULL);
}
