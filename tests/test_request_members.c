/*
 * test_request_members.c - the request writer and its check at the edges a
 * mutation run (tests/mutate.py) found unguarded: one stop string, one
 * tool call, the bytes at the ends of the escaping ranges (0x1f, 0x20,
 * 0x7f, a lone 0x80), an image of one or two bytes in front of other
 * bytes, an image read failing through a buffer of under four bytes, an
 * extra parameter named after each member the request writes, counts of
 * one with no array, and the idempotency key's printable range.  Each
 * asserts the bytes written or the status and reason given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "needs.h"
#include "wisp.h"
#include "wisp_json.h"
#include "wisp_request.h"

/* ---- the body, captured --------------------------------------------------- */

typedef struct body {
    char buf[16384];
    size_t len;
} body;

static body g_body;

static wisp_status keep(void *ctx, const uint8_t *buf, size_t len)
{
    body *b = (body *)ctx;
    assert_true(b->len + len < sizeof b->buf);
    memcpy(b->buf + b->len, buf, len);
    b->len += len;
    return WISP_OK;
}

/* The body of a request the check takes, written through out_cap bytes:
 * as long as counted, and one JSON value. */
static const char *body_through(const wisp_request *req, size_t out_cap)
{
    static uint8_t out[256];
    wisp_out counter, sender;
    const char *why = "";
    assert_true(out_cap <= sizeof out);
    assert_int_equal(wisp_request_check(req, &why), WISP_OK);
    wisp_out_counter(&counter);
    wisp_write_body(&counter, req);
    memset(&g_body, 0, sizeof g_body);
    wisp_out_sender(&sender, out, out_cap, keep, &g_body);
    wisp_write_body(&sender, req);
    assert_int_equal(wisp_out_finish(&sender), WISP_OK);
    assert_int_equal(g_body.len, counter.total);
    assert_true(wisp_json_valid(g_body.buf, g_body.len, 64));
    g_body.buf[g_body.len] = '\0';
    return g_body.buf;
}

static wisp_message g_msg;

static wisp_request base_request(void)
{
    wisp_request r;
    memset(&r, 0, sizeof r);
    memset(&g_msg, 0, sizeof g_msg);
    g_msg.role = WISP_ROLE_USER;
    g_msg.content = "hi";
    r.model = "m";
    r.messages = &g_msg;
    r.message_count = 1;
    r.stream = true; /* every build reads a streamed reply */
    return r;
}

static void expect_in(const char *text, const char *part)
{
    if (strstr(text, part) == NULL) {
        print_error("missing %s\nin %s\n", part, text);
        fail();
    }
}

static void expect_refused(const wisp_request *r, wisp_status st, const char *reason)
{
    const char *why = NULL;
    assert_int_equal(wisp_request_check(r, &why), st);
    assert_non_null(why);
    if (WISP_CHECK_REASONS && strstr(why, reason) == NULL) {
        print_error("reason \"%s\", want one with \"%s\"\n", why, reason);
        fail();
    }
}

/* ---- members written ------------------------------------------------------ */

/* One stop string is an array of one: the array is closed. */
static void test_one_stop_string(void **state)
{
    static const char *const stop[] = {"END"};
    wisp_request r = base_request();
    (void)state;
    WISP_NEEDS(WISP_PARAMS);
    r.stop = stop;
    r.stop_count = 1;
    expect_in(body_through(&r, 64), ",\"stop\":[\"END\"],\"stream\":true");
}

/* An assistant turn with exactly one tool call carries it. */
static void test_one_tool_call(void **state)
{
    static const wisp_call_ref call = {.id = "c1", .name = "f", .arguments = "{\"a\":1}"};
    wisp_message msgs[2];
    wisp_request r = base_request();
    (void)state;
    WISP_NEEDS(WISP_TOOLS);
    memset(msgs, 0, sizeof msgs);
    msgs[0].role = WISP_ROLE_USER;
    msgs[0].content = "go";
    msgs[1].role = WISP_ROLE_ASSISTANT;
    msgs[1].tool_calls = &call;
    msgs[1].tool_call_count = 1;
    r.messages = msgs;
    r.message_count = 2;
    expect_in(body_through(&r, 64),
              "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
              "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]}");
}

/* The escaping ranges at both ends: 0x1f is escaped and 0x20 is not, DEL
 * goes as it is (JSON allows it), a lone 0x80 is U+FFFD and valid UTF-8
 * passes through. */
static void test_string_escape_edges(void **state)
{
    wisp_request r = base_request();
    (void)state;
    g_msg.content = "\x1f \x7f|\x80|\xc2\x80|\x01";
    expect_in(body_through(&r, 64),
              "\"content\":\"\\u001f \x7f|\\ufffd|\xc2\x80|\\u0001\"");
    g_msg.content = "\x80";
    expect_in(body_through(&r, 3), "\"content\":\"\\ufffd\"");
    g_msg.content = "a\x7f";
    expect_in(body_through(&r, 64), "\"content\":\"a\x7f\"");
}

/* ---- images --------------------------------------------------------------- */

/* An image of one or two bytes, with other bytes right after it in
 * memory: only its own bytes are encoded. */
static void test_short_image_reads_only_its_bytes(void **state)
{
    static const uint8_t mem[4] = {0x00, 0xFF, 0xFF, 0xFF};
    wisp_part part;
    wisp_request r = base_request();
    size_t cap;
    (void)state;
    WISP_NEEDS(WISP_IMAGES);
    memset(&part, 0, sizeof part);
    part.type = WISP_PART_IMAGE;
    part.image_type = WISP_IMAGE_PNG;
    part.data = mem;
    g_msg.content = NULL;
    g_msg.parts = &part;
    g_msg.part_count = 1;
    for (cap = 1; cap <= 64; cap += (cap < 9 ? 1 : 55)) {
        part.size = 1;
        expect_in(body_through(&r, cap), "\"data:image/png;base64,AA==\"");
        part.size = 2;
        expect_in(body_through(&r, cap), "\"data:image/png;base64,AP8=\"");
    }
}

static wisp_status read_fails(void *ctx, size_t offset, uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)offset;
    memset(buf, 0, len);
    return WISP_ERR_IO;
}

/* A read callback that fails, through output buffers of every small size
 * (under four bytes: one group at a time): the write stops with
 * WISP_ERR_IMAGE_READ, whatever the buffer. */
static void test_image_read_failure_small_buffers(void **state)
{
    static uint8_t out[16];
    wisp_part part;
    wisp_request r = base_request();
    size_t cap;
    (void)state;
    WISP_NEEDS(WISP_IMAGES);
    memset(&part, 0, sizeof part);
    part.type = WISP_PART_IMAGE;
    part.image_type = WISP_IMAGE_JPEG;
    part.size = 10;
    part.read = read_fails;
    g_msg.content = NULL;
    g_msg.parts = &part;
    g_msg.part_count = 1;
    assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
    for (cap = 1; cap <= sizeof out; cap++) {
        wisp_out sender;
        memset(&g_body, 0, sizeof g_body);
        wisp_out_sender(&sender, out, cap, keep, &g_body);
        wisp_write_body(&sender, &r);
        assert_int_equal(wisp_out_finish(&sender), WISP_ERR_IMAGE_READ);
        /* nothing of the image went out: no base64 after the prefix */
        g_body.buf[g_body.len] = '\0';
        assert_null(strstr(g_body.buf, "base64,A"));
    }
}

static void test_type_and_value_helpers(void **state)
{
    static const uint8_t png[9] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0};
    static const uint8_t jpeg[3] = {0xFF, 0xD8, 0xFF};
    (void)state;
    assert_int_equal(wisp_image_type_of(png, 8), WISP_IMAGE_PNG);
    assert_int_equal(wisp_image_type_of(png, 7), WISP_IMAGE_UNKNOWN);
    assert_int_equal(wisp_image_type_of(jpeg, 3), WISP_IMAGE_JPEG);
    assert_int_equal(wisp_image_type_of(jpeg, 2), WISP_IMAGE_UNKNOWN);
    assert_false(wisp_json_is_value(NULL, 0));
    assert_false(wisp_json_is_value(NULL, 2));
    assert_true(wisp_json_is_value("{}", 2));
    assert_false(wisp_json_is_value("{", 1));
}

/* ---- extra parameters ----------------------------------------------------- */

/* An extra parameter may not repeat a member the request writes, and may
 * name any member it does not write. */
static void test_param_named_after_each_member(void **state)
{
    static const char *const stop[] = {"x"};
    static const wisp_tool tool = {.name = "f"};
    static const char *const names[] = {
        "tools", "tool_choice", "parallel_tool_calls", "max_tokens", "max_completion_tokens",
        "temperature", "top_p", "presence_penalty", "frequency_penalty", "seed", "stop",
        "response_format", "reasoning_effort", "user"};
    size_t i;
    (void)state;
    WISP_NEEDS(WISP_PARAMS);
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        wisp_param p = {.name = names[i], .json = "1"};
        wisp_request r = base_request();
        const char *why = NULL;
        r.params = &p;
        r.param_count = 1;
        /* not written: the name is free */
        if (wisp_request_check(&r, &why) != WISP_OK) {
            print_error("param %s refused with nothing of that name sent: %s\n", names[i], why);
            fail();
        }
        if (i < 3 && !WISP_TOOLS)
            continue;
        if (i < 3) {
            r.tools = &tool;
            r.tool_count = 1;
        }
        switch (i) {
        case 1: r.tool_choice = WISP_TOOL_CHOICE_AUTO; break;
        case 2: r.has_parallel_tool_calls = true; break;
        case 3: r.max_tokens = 1; break;
        case 4: r.max_completion_tokens = 1; break;
        case 5: r.has_temperature = true; break;
        case 6: r.has_top_p = true; break;
        case 7: r.has_presence_penalty = true; break;
        case 8: r.has_frequency_penalty = true; break;
        case 9: r.has_seed = true; break;
        case 10: r.stop = stop; r.stop_count = 1; break;
        case 11: r.response_format.type = WISP_FORMAT_JSON_OBJECT; break;
        case 12: r.reasoning_effort = WISP_REASONING_LOW; break;
        case 13: r.user = "u"; break;
        default: break;
        }
        why = NULL;
        if (wisp_request_check(&r, &why) != WISP_ERR_ARG) {
            print_error("param %s taken beside the member it repeats\n", names[i]);
            fail();
        }
        expect_refused(&r, WISP_ERR_ARG, "already sends");
    }
}

/* A parameter's name must be valid UTF-8 all through, not only at first. */
static void test_param_name_utf8_all_through(void **state)
{
    wisp_param p = {.name = "a\xff", .json = "1"};
    wisp_request r = base_request();
    (void)state;
    WISP_NEEDS(WISP_PARAMS);
    r.params = &p;
    r.param_count = 1;
    expect_refused(&r, WISP_ERR_ARG, "UTF-8");
    p.name = "ab\xc3";
    expect_refused(&r, WISP_ERR_ARG, "UTF-8");
    p.name = "a\xc3\xa9";
    assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
}

/* ---- counts of one without their arrays ----------------------------------- */

static void test_counts_of_one_without_arrays(void **state)
{
    wisp_part part = {.type = WISP_PART_TEXT, .text = "t"};
    wisp_request r;
    (void)state;

    r = base_request();
    g_msg.content = NULL;
    g_msg.part_count = 1; /* parts NULL */
    if (WISP_PARTS)
        expect_refused(&r, WISP_ERR_ARG, "part_count without parts");

    r = base_request();
    g_msg.parts = &part;
    g_msg.part_count = 1; /* and content "hi" */
    if (WISP_PARTS)
        expect_refused(&r, WISP_ERR_ARG, "both content and parts");

    if (!WISP_TOOLS)
        return;
    r = base_request();
    g_msg.role = WISP_ROLE_ASSISTANT;
    g_msg.tool_call_count = 1; /* tool_calls NULL */
    expect_refused(&r, WISP_ERR_ARG, "tool_call_count without tool_calls");

    r = base_request();
    r.tool_count = 1; /* tools NULL */
    expect_refused(&r, WISP_ERR_ARG, "tool_count without tools");
}

static void test_tool_call_names(void **state)
{
    wisp_call_ref call = {.id = "c", .name = ""};
    wisp_request r = base_request();
    (void)state;
    WISP_NEEDS(WISP_TOOLS);
    g_msg.role = WISP_ROLE_ASSISTANT;
    g_msg.content = NULL;
    g_msg.tool_calls = &call;
    g_msg.tool_call_count = 1;
    expect_refused(&r, WISP_ERR_ARG, "a tool call without a name");
    call.name = NULL;
    expect_refused(&r, WISP_ERR_ARG, "a tool call without a name");
    call.name = "f";
    assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
}

/* ---- enumerations and counts at their limits ------------------------------ */

static void test_limits_of_choices_and_stops(void **state)
{
    static const char *const stops[] = {"a", "b", "c", "d", "e"};
    static const wisp_tool tool = {.name = "f"};
    wisp_request r = base_request();
    (void)state;
    if (WISP_TOOLS) {
        r.tools = &tool;
        r.tool_count = 1;
        r.tool_choice = (wisp_tool_choice)(WISP_TOOL_CHOICE_FUNCTION + 1);
        r.tool_choice_name = "f";
        expect_refused(&r, WISP_ERR_ARG, "tool_choice: unknown");
        r.tool_choice = WISP_TOOL_CHOICE_FUNCTION;
        assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
    }
    if (!WISP_PARAMS)
        return;
    r = base_request();
    r.stop = stops;
    r.stop_count = 4;
    assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
    expect_in(body_through(&r, 64), ",\"stop\":[\"a\",\"b\",\"c\",\"d\"]");
    r.stop_count = 5;
    expect_refused(&r, WISP_ERR_ARG, "stop: more than four");

    r = base_request();
    r.response_format.type = WISP_FORMAT_JSON_SCHEMA;
    r.response_format.name = "";
    r.response_format.schema = "{}";
    expect_refused(&r, WISP_ERR_ARG, "json_schema without name or schema");
    r.response_format.name = "n";
    r.response_format.schema = NULL;
    expect_refused(&r, WISP_ERR_ARG, "json_schema without name or schema");
    r.response_format.schema = "{}";
    assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
}

/* The idempotency key: printable ASCII, 0x20 to 0x7e, spaces inside. */
static void test_idempotency_key_range(void **state)
{
    wisp_request r = base_request();
    (void)state;
    r.idempotency_key = "a b~c!";
    assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
    r.idempotency_key = "~";
    assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
    r.idempotency_key = "}{";
    assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
    r.idempotency_key = "a\x1f" "b";
    expect_refused(&r, WISP_ERR_HEADER_VALUE, "printable");
    r.idempotency_key = "a\x7f" "b";
    expect_refused(&r, WISP_ERR_HEADER_VALUE, "printable");
    r.idempotency_key = "a\x80" "b";
    expect_refused(&r, WISP_ERR_HEADER_VALUE, "printable");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_stop_string),
        cmocka_unit_test(test_one_tool_call),
        cmocka_unit_test(test_string_escape_edges),
        cmocka_unit_test(test_short_image_reads_only_its_bytes),
        cmocka_unit_test(test_image_read_failure_small_buffers),
        cmocka_unit_test(test_type_and_value_helpers),
        cmocka_unit_test(test_param_named_after_each_member),
        cmocka_unit_test(test_param_name_utf8_all_through),
        cmocka_unit_test(test_counts_of_one_without_arrays),
        cmocka_unit_test(test_tool_call_names),
        cmocka_unit_test(test_limits_of_choices_and_stops),
        cmocka_unit_test(test_idempotency_key_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
