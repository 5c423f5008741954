/*
 * test_config.c - the feature switches of wisp_config.h behave as it says,
 * in whichever configuration this is built: with a feature in, its input
 * is read; with it left out, a request that needs it is refused with
 * WISP_ERR_UNSUPPORTED before anything is sent, and a reply that holds it
 * is flagged, never misread.  make unit runs it in the full configuration,
 * make test-minimal in core/wisp_config_minimal.h, make switches with each
 * switch 0 alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_transport.h"
#include "needs.h"
#include "wisp.h"
#include "wisp_json.h"
#include "wisp_reply.h"
#include "wisp_text.h"

static wisp_message user_msg = {.role = WISP_ROLE_USER, .content = "hi"};

static void base_request(wisp_request *r)
{
    memset(r, 0, sizeof *r);
    r->model = "m";
    r->messages = &user_msg;
    r->message_count = 1;
    r->stream = true;
}

/* What wisp_request_check says of r: WISP_OK when the build has the
 * feature, WISP_ERR_UNSUPPORTED otherwise. */
static void expect_feature(const wisp_request *r, bool built_in, const char *what)
{
    const char *why = NULL;
    wisp_status st = wisp_request_check(r, &why);
    if (st != (built_in ? WISP_OK : WISP_ERR_UNSUPPORTED)) {
        print_error("%s: %s (%s)\n", what, status_name(st), why != NULL ? why : "");
        fail();
    }
    assert_int_equal(wisp_request_body_size(r) > 0, built_in);
}

static void test_request_switches(void **state)
{
    wisp_request r;
    wisp_tool tool = {.name = "get_time"};
    wisp_call_ref call = {.id = "c1", .name = "get_time", .arguments = "{}"};
    wisp_message with_call[2] = {{.role = WISP_ROLE_USER, .content = "hi"},
                                 {.role = WISP_ROLE_ASSISTANT, .tool_calls = &call,
                                  .tool_call_count = 1}};
    wisp_message result = {.role = WISP_ROLE_TOOL, .content = "12:00", .tool_call_id = "c1"};
    wisp_part text_part = {.type = WISP_PART_TEXT, .text = "hi"};
    wisp_part image_parts[2] = {{.type = WISP_PART_TEXT, .text = "what is this?"},
                                {.type = WISP_PART_IMAGE_URL, .url = "https://example.invalid/a.png"}};
    wisp_message parts_msg = {.role = WISP_ROLE_USER, .parts = &text_part, .part_count = 1};
    wisp_message image_msg = {.role = WISP_ROLE_USER, .parts = image_parts, .part_count = 2};
    (void)state;

    base_request(&r);
    expect_feature(&r, true, "a streamed text chat");
    r.max_tokens = 10;
    expect_feature(&r, true, "max_tokens");

    base_request(&r);
    r.stream = false;
    expect_feature(&r, WISP_NONSTREAM, "stream false");

    base_request(&r);
    r.tools = &tool;
    r.tool_count = 1;
    expect_feature(&r, WISP_TOOLS, "tools");
    base_request(&r);
    r.messages = with_call;
    r.message_count = 2;
    expect_feature(&r, WISP_TOOLS, "an assistant message with a tool call");
    base_request(&r);
    r.messages = &result;
    expect_feature(&r, WISP_TOOLS, "a tool result");

    base_request(&r);
    r.has_temperature = true;
    r.temperature_milli = 700;
    expect_feature(&r, WISP_PARAMS, "temperature");
    base_request(&r);
    r.user = "u1";
    expect_feature(&r, WISP_PARAMS, "user");
    base_request(&r);
    r.reasoning_effort = WISP_REASONING_LOW;
    expect_feature(&r, WISP_PARAMS, "reasoning_effort");

    base_request(&r);
    r.messages = &parts_msg;
    expect_feature(&r, WISP_PARTS, "a text part");
    base_request(&r);
    r.messages = &image_msg;
    expect_feature(&r, WISP_IMAGES, "an image part");
}

static void test_status_names(void **state)
{
    (void)state;
    if (WISP_STATUS_NAMES) {
        assert_string_equal(wisp_strerror(WISP_ERR_TIMEOUT), "timed out");
    } else {
        assert_non_null(strstr(wisp_strerror(WISP_ERR_TIMEOUT), "WISP_STATUS_NAMES 0"));
    }
    assert_string_equal(wisp_strerror(WISP_OK), "ok");
    assert_string_equal(wisp_strerror((wisp_status)999), "unknown status");
}

static void test_html_pages(void **state)
{
    static const char page[] = "<html><p>Bad &amp; gone</p></html>";
    char out[64];
    (void)state;
    assert_false(wisp_html_to_text(page, strlen(page), out, sizeof out));
    assert_string_equal(out, WISP_HTML ? "Bad & gone" : page);
}

static void test_error_shapes(void **state)
{
    static const char openai[] = "{\"error\":{\"message\":\"m1\",\"type\":\"t1\",\"code\":\"c1\"}}";
    static const char fastapi[] = "{\"detail\":\"Not Found\"}";
    static const char gemini[] = "[{\"error\":{\"code\":400,\"message\":\"m2\",\"status\":\"S\"}}]";
    wisp_token toks[32];
    wisp_response r;
    (void)state;
    wisp_response_init(&r, NULL, 0, NULL, 0);
    assert_int_equal(wisp_error_read(openai, strlen(openai), false, toks, 32, &r), WISP_OK);
    assert_string_equal(r.error_message, "m1");
    assert_string_equal(r.error_type, "t1");
    assert_string_equal(r.error_code, "c1");

    assert_int_equal(wisp_error_read(fastapi, strlen(fastapi), false, toks, 32, &r),
                     WISP_ERROR_SHAPES ? WISP_OK : WISP_ERR_JSON);
    /* Left out, the body's text is still there for a person. */
    assert_string_equal(r.error_message, WISP_ERROR_SHAPES ? "Not Found" : fastapi);

    assert_int_equal(wisp_error_read(gemini, strlen(gemini), false, toks, 32, &r),
                     WISP_ERROR_SHAPES ? WISP_OK : WISP_ERR_JSON);
    if (WISP_ERROR_SHAPES) {
        assert_string_equal(r.error_message, "m2");
        assert_string_equal(r.error_type, "S");
    }
}

/* One chunk through the reply reader. */
static wisp_status read_chunk(const char *js, wisp_response *resp, char *content, size_t cap)
{
    static wisp_token toks[64];
    static char scratch[256];
    wisp_reply rd;
    wisp_response_init(resp, content, cap, NULL, 0);
    wisp_reply_init(&rd, resp, toks, 64, NULL, NULL);
    wisp_reply_scratch(&rd, scratch, sizeof scratch);
    return wisp_reply_event(&rd, js, strlen(js), false);
}

static void test_reply_parts_and_calls(void **state)
{
    static const char parts[] =
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}}]}";
    static const char calls[] =
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}";
    wisp_response resp;
    wisp_tool_call slot;
    char content[32];
    char args[32];
    (void)state;

    assert_int_equal(read_chunk(parts, &resp, content, sizeof content),
                     WISP_PARTS ? WISP_OK : WISP_ERR_UNSUPPORTED);

    memset(&slot, 0, sizeof slot);
    slot.arguments.buf = args;
    slot.arguments.cap = sizeof args;
    wisp_response_init(&resp, content, sizeof content, NULL, 0);
    {
        static wisp_token toks[64];
        static char scratch[256];
        wisp_reply rd;
        resp.tool_calls = &slot;
        resp.tool_call_cap = 1;
        wisp_reply_init(&rd, &resp, toks, 64, NULL, NULL);
        wisp_reply_scratch(&rd, scratch, sizeof scratch);
        assert_int_equal(wisp_reply_event(&rd, calls, strlen(calls), false), WISP_OK);
        assert_int_equal(wisp_reply_end(&rd, true), WISP_OK);
    }
    /* Left out, calls are flagged as dropped rather than lost unseen. */
    assert_int_equal(resp.tool_call_count, WISP_TOOLS ? 1 : 0);
    assert_int_equal(resp.tool_calls_dropped, WISP_TOOLS ? 0 : 1);
}

static const char reply_503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                "Retry-After: 0\r\nContent-Length: 2\r\n\r\n{}";
static const char reply_stream[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 81\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\n";
static const char reply_json[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 75\r\n\r\n"
    "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}";

typedef struct client_rig {
    fake_transport fake;
    wisp_transport tr;
    wisp_client client;
    uint8_t work[2048];
    wisp_token toks[64];
    char content[64];
    wisp_response resp;
} client_rig;

static void rig_init(client_rig *g)
{
    wisp_config cfg;
    memset(g, 0, sizeof *g);
    fake_init(&g->fake, &g->tr);
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://127.0.0.1:8080/v1";
    cfg.transport = &g->tr;
    assert_int_equal(wisp_client_init(&g->client, &cfg, g->work, sizeof g->work, g->toks, 64),
                     WISP_OK);
    wisp_response_init(&g->resp, g->content, sizeof g->content, NULL, 0);
}

static void test_retries(void **state)
{
    static client_rig g;
    wisp_request r;
    wisp_status st;
    (void)state;
    rig_init(&g);
    fake_add(&g.fake, reply_503, strlen(reply_503), END_KEEP);
    fake_add(&g.fake, reply_stream, strlen(reply_stream), END_KEEP);
    base_request(&r);
    st = wisp_chat(&g.client, &r, &g.resp, NULL, NULL);
    assert_int_equal(st, WISP_RETRIES ? WISP_OK : WISP_ERR_HTTP_STATUS);
    assert_int_equal(g.resp.attempts, WISP_RETRIES ? 2 : 1);
    assert_int_equal(g.resp.http_status, WISP_RETRIES ? 200 : 503);
    wisp_client_close(&g.client);
}

static void test_json_answer_to_a_stream(void **state)
{
    static client_rig g;
    wisp_request r;
    (void)state;
    rig_init(&g);
    fake_add(&g.fake, reply_json, strlen(reply_json), END_KEEP);
    base_request(&r);
    assert_int_equal(wisp_chat(&g.client, &r, &g.resp, NULL, NULL),
                     WISP_NONSTREAM ? WISP_OK : WISP_ERR_UNSUPPORTED);
    assert_string_equal(g.content, WISP_NONSTREAM ? "ok" : "");
    wisp_client_close(&g.client);
}

static void test_model_list(void **state)
{
    static const char list[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: 22\r\n\r\n{\"data\":[{\"id\":\"m1\"}]}";
    static client_rig g;
    size_t count = 7;
    (void)state;
    rig_init(&g);
    fake_add(&g.fake, list, strlen(list), END_KEEP);
    assert_int_equal(wisp_list_models(&g.client, &g.resp, NULL, NULL, &count),
                     WISP_MODELS ? WISP_OK : WISP_ERR_UNSUPPORTED);
    assert_int_equal(count, WISP_MODELS ? 1 : 0);
    assert_int_equal(g.fake.connects, WISP_MODELS ? 1 : 0);
    wisp_client_close(&g.client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_switches),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_html_pages),
        cmocka_unit_test(test_error_shapes),
        cmocka_unit_test(test_reply_parts_and_calls),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_json_answer_to_a_stream),
        cmocka_unit_test(test_model_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
