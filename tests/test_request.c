/*
 * test_request.c - the request writer and its check: every parameter
 * exactly as sent and only when set, sampling values and seeds written
 * without float or 64-bit division, images base64-encoded on the fly
 * through output buffers of every size, and every refusal with its reason.
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

#include "wisp.h"
#include "wisp_json.h"
#include "wisp_request.h"

/* ---- capture ---------------------------------------------------------------- */

#define CAPTURE_CAP (256u * 1024u)

typedef struct capture {
    char buf[CAPTURE_CAP];
    size_t len;
    size_t flushes;
    size_t largest; /* largest piece flushed */
} capture;

static capture g_cap;

static wisp_status capture_flush(void *ctx, const uint8_t *buf, size_t len)
{
    capture *c = (capture *)ctx;
    assert_true(len > 0);
    assert_true(c->len + len < sizeof c->buf);
    memcpy(c->buf + c->len, buf, len);
    c->len += len;
    c->flushes++;
    if (len > c->largest) {
        c->largest = len;
    }
    return WISP_OK;
}

/* The body of a valid request written through an output buffer of
 * out_cap bytes; checks it is as long as counted and one JSON value. */
static const char *body_through(const wisp_request *req, size_t out_cap)
{
    static uint8_t out[8192];
    wisp_out counter, sender;
    const char *why = NULL;
    assert_true(out_cap <= sizeof out);
    assert_int_equal(wisp_request_check(req, &why), WISP_OK);
    wisp_out_counter(&counter);
    wisp_write_body(&counter, req);
    memset(&g_cap, 0, sizeof g_cap);
    wisp_out_sender(&sender, out, out_cap, capture_flush, &g_cap);
    wisp_write_body(&sender, req);
    assert_int_equal(wisp_out_finish(&sender), WISP_OK);
    assert_int_equal(g_cap.len, counter.total);
    assert_int_equal(wisp_request_body_size(req), counter.total);
    assert_true(wisp_json_valid(g_cap.buf, g_cap.len, 64));
    g_cap.buf[g_cap.len] = '\0';
    return g_cap.buf;
}

static const char *body_of(const wisp_request *req)
{
    return body_through(req, 64);
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
    return r;
}

#define MINIMAL "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

/* ---- parameters ------------------------------------------------------------------ */

static void test_nothing_unset_is_sent(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    wisp_request r = base_request();
    (void)state;
    assert_string_equal(body_of(&r), MINIMAL "}");
}

static void test_every_parameter(void **state)
{
    WISP_NEEDS(WISP_PARAMS);
    static const char *const stops[] = {"END", "\"q\"\n"};
    static const wisp_param params[] = {{"top_k", "40", 0},
                                        {"logit_bias", " {\"50256\": -100} ", 0},
                                        {"temperature_note", "\"x\"", 3}};
    wisp_request r = base_request();
    (void)state;
    r.max_tokens = 100;
    r.max_completion_tokens = 2048;
    r.has_temperature = true;
    r.temperature_milli = WISP_MILLI(0.7);
    r.has_top_p = true;
    r.top_p_milli = 950;
    r.has_presence_penalty = true;
    r.presence_penalty_milli = -1500;
    r.has_frequency_penalty = true;
    r.frequency_penalty_milli = 2000;
    r.has_seed = true;
    r.seed = -42;
    r.stop = stops;
    r.stop_count = 2;
    r.response_format.type = WISP_FORMAT_JSON_SCHEMA;
    r.response_format.name = "reading";
    r.response_format.schema = "{\"type\":\"object\",\"properties\":{\"t\":{\"type\":\"number\"}}}";
    r.response_format.has_strict = true;
    r.response_format.strict = true;
    r.reasoning_effort = WISP_REASONING_NONE;
    r.user = "device-7";
    r.params = params;
    r.param_count = 3;
    r.stream = true;
    assert_string_equal(
        body_of(&r),
        MINIMAL ",\"max_tokens\":100,\"max_completion_tokens\":2048,\"temperature\":0.7,"
                "\"top_p\":0.95,\"presence_penalty\":-1.5,\"frequency_penalty\":2,\"seed\":-42,"
                "\"stop\":[\"END\",\"\\\"q\\\"\\n\"],"
                "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":"
                "\"reading\",\"schema\":{\"type\":\"object\",\"properties\":{\"t\":{\"type\":"
                "\"number\"}}},\"strict\":true}},\"reasoning_effort\":\"none\","
                "\"user\":\"device-7\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                "\"top_k\":40,\"logit_bias\": {\"50256\": -100} ,\"temperature_note\":\"x\"}");
}

static void test_formats_and_efforts(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARAMS);
    static const char *const efforts[] = {"none", "minimal", "low", "medium", "high"};
    wisp_request r = base_request();
    char want[256];
    int i;
    (void)state;
    r.response_format.type = WISP_FORMAT_JSON_OBJECT;
    assert_string_equal(body_of(&r), MINIMAL ",\"response_format\":{\"type\":\"json_object\"}}");
    r.response_format.type = WISP_FORMAT_JSON_SCHEMA;
    r.response_format.name = "s";
    r.response_format.schema = "true";
    r.response_format.has_strict = true;
    assert_string_equal(body_of(&r), MINIMAL ",\"response_format\":{\"type\":\"json_schema\","
                                             "\"json_schema\":{\"name\":\"s\",\"schema\":true,"
                                             "\"strict\":false}}}");
    r.response_format.type = WISP_FORMAT_UNSET;
    for (i = 0; i < 5; i++) {
        r.reasoning_effort = (wisp_reasoning_effort)(WISP_REASONING_NONE + i);
        snprintf(want, sizeof want, MINIMAL ",\"reasoning_effort\":\"%s\"}", efforts[i]);
        assert_string_equal(body_of(&r), want);
    }
}

static void test_sampling_in_thousandths(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARAMS);
    static const struct {
        int32_t milli;
        const char *text;
    } cases[] = {{0, "0"},       {1, "0.001"},   {10, "0.01"},   {100, "0.1"},
                 {700, "0.7"},   {999, "0.999"}, {1000, "1"},    {1250, "1.25"},
                 {2000, "2"},    {-1, "-0.001"}, {-1500, "-1.5"}, {-2000, "-2"},
                 {1005, "1.005"}};
    wisp_request r = base_request();
    char want[128];
    size_t i;
    (void)state;
    assert_int_equal(WISP_MILLI(0.7), 700);
    assert_int_equal(WISP_MILLI(-1.25), -1250);
    assert_int_equal(WISP_MILLI(0.0005), 1);
    r.has_presence_penalty = true;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r.presence_penalty_milli = cases[i].milli;
        snprintf(want, sizeof want, MINIMAL ",\"presence_penalty\":%s}", cases[i].text);
        assert_string_equal(body_of(&r), want);
    }
}

static void test_seed_without_64bit_division(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARAMS);
    static const int64_t seeds[] = {0, 1, -1, 9999, 10000, -10000, 123456789012345678,
                                    4294967295, 4294967296, INT64_MAX, INT64_MIN,
                                    INT64_MIN + 1, 100000000, 1000000000000000000};
    wisp_request r = base_request();
    char want[128];
    size_t i;
    (void)state;
    r.has_seed = true;
    for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        r.seed = seeds[i];
        snprintf(want, sizeof want, MINIMAL ",\"seed\":%lld}", (long long)seeds[i]);
        assert_string_equal(body_of(&r), want);
    }
}

/* A member the request does not send may come as an extra parameter (a
 * temperature with more than three decimals, say). */
static void test_param_may_name_an_unsent_member(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARAMS);
    static const wisp_param p = {"temperature", "0.7321", 0};
    wisp_request r = base_request();
    (void)state;
    r.params = &p;
    r.param_count = 1;
    assert_string_equal(body_of(&r), MINIMAL ",\"temperature\":0.7321}");
    r.has_temperature = true;
    assert_int_equal(wisp_request_check(&r, NULL), WISP_ERR_ARG);
    assert_int_equal(wisp_request_body_size(&r), 0);
}

/* ---- refusals ---------------------------------------------------------------------- */

typedef void (*spoil_fn)(wisp_request *r, wisp_message *m, wisp_part *p);

static void no_model(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->model = ""; }
static void no_messages(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->message_count = 0; }
static void bad_role(wisp_request *r, wisp_message *m, wisp_part *p) { (void)r; (void)p; m->role = (wisp_role)9; }
static void content_and_parts(wisp_request *r, wisp_message *m, wisp_part *p) { (void)r; (void)p; m->content = "x"; }
static void parts_null(wisp_request *r, wisp_message *m, wisp_part *p) { (void)r; (void)p; m->parts = NULL; }
static void image_in_system(wisp_request *r, wisp_message *m, wisp_part *p) { (void)r; (void)p; m->role = WISP_ROLE_SYSTEM; }
static void image_unknown_type(wisp_request *r, wisp_message *m, wisp_part *p) { (void)r; (void)m; p->image_type = WISP_IMAGE_UNKNOWN; }
static void image_empty(wisp_request *r, wisp_message *m, wisp_part *p) { (void)r; (void)m; p->size = 0; }
static void image_no_source(wisp_request *r, wisp_message *m, wisp_part *p) { (void)r; (void)m; p->data = NULL; }
static void image_bad_detail(wisp_request *r, wisp_message *m, wisp_part *p) { (void)r; (void)m; p->detail = (wisp_image_detail)4; }
static void part_bad_type(wisp_request *r, wisp_message *m, wisp_part *p) { (void)r; (void)m; p->type = (wisp_part_type)3; }
static void text_part_null(wisp_request *r, wisp_message *m, wisp_part *p) { (void)r; (void)m; p->type = WISP_PART_TEXT; p->text = NULL; }
static void url_part_empty(wisp_request *r, wisp_message *m, wisp_part *p) { (void)r; (void)m; p->type = WISP_PART_IMAGE_URL; p->url = ""; }
static void temperature_high(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->has_temperature = true; r->temperature_milli = 2001; }
static void temperature_low(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->has_temperature = true; r->temperature_milli = -1; }
static void top_p_high(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->has_top_p = true; r->top_p_milli = 1001; }
static void presence_low(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->has_presence_penalty = true; r->presence_penalty_milli = -2001; }
static void frequency_high(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->has_frequency_penalty = true; r->frequency_penalty_milli = 2001; }
static const char *const five[] = {"a", "b", "c", "d", "e"};
static const char *const with_empty[] = {"a", ""};
static void stop_five(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->stop = five; r->stop_count = 5; }
static void stop_empty(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->stop = with_empty; r->stop_count = 2; }
static void stop_null(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->stop_count = 1; }
static void format_bad_type(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->response_format.type = (wisp_format_type)3; }
static void format_no_name(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->response_format.type = WISP_FORMAT_JSON_SCHEMA; r->response_format.schema = "{}"; }
static void format_bad_schema(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->response_format.type = WISP_FORMAT_JSON_SCHEMA; r->response_format.name = "n"; r->response_format.schema = "{\"a\":}"; }
static void format_two_values(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->response_format.type = WISP_FORMAT_JSON_SCHEMA; r->response_format.name = "n"; r->response_format.schema = "{} {}"; }
static void effort_bad(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->reasoning_effort = (wisp_reasoning_effort)6; }
static const wisp_param bad_json = {"x", "{", 0};
static const wisp_param members_text = {"x", "\"a\":1", 0};
static const wisp_param model_param = {"model", "\"other\"", 0};
static const wisp_param twice[] = {{"k", "1", 0}, {"k", "2", 0}};
static const wisp_param no_name = {"", "1", 0};
static const wisp_param stream_param = {"stream_options", "{}", 0};
/* "\xff" and "\xfe" would both be sent as "\ufffd", the same key */
static const wisp_param bad_utf8[] = {{"\xff", "0", 0}, {"\xfe", "1", 0}};
static void param_bad_utf8(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->params = bad_utf8; r->param_count = 2; }
static void param_bad_json(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->params = &bad_json; r->param_count = 1; }
static void param_members(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->params = &members_text; r->param_count = 1; }
static void param_model(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->params = &model_param; r->param_count = 1; }
static void param_twice(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->params = twice; r->param_count = 2; }
static void param_no_name(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->params = &no_name; r->param_count = 1; }
static void param_null(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->param_count = 1; }
static void param_stream(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->stream = true; r->params = &stream_param; r->param_count = 1; }
static void key_crlf(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->idempotency_key = "k\r\nX-Evil: 1"; }
static void key_empty(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->idempotency_key = ""; }
static void key_utf8(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->idempotency_key = "caf\xc3\xa9"; }
static void key_spaces(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->idempotency_key = "  "; }
static void key_leading_space(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->idempotency_key = " k"; }
static void key_trailing_space(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->idempotency_key = "k "; }
static const wisp_param stream_true = {"stream", "true", 0};
static void param_stream_unstreamed(wisp_request *r, wisp_message *m, wisp_part *p) { (void)m; (void)p; r->stream = false; r->params = &stream_true; r->param_count = 1; }

static void test_every_refusal_has_its_reason(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARTS);
    WISP_NEEDS(WISP_IMAGES);
    WISP_NEEDS(WISP_PARAMS);
    static const struct {
        spoil_fn spoil;
        wisp_status status;
        const char *field; /* the reason starts with it */
    } cases[] = {
        {no_model, WISP_ERR_ARG, "model"},
        {no_messages, WISP_ERR_ARG, "messages"},
        {bad_role, WISP_ERR_ARG, "messages"},
        {content_and_parts, WISP_ERR_ARG, "messages"},
        {parts_null, WISP_ERR_ARG, "messages"},
        {image_in_system, WISP_ERR_ARG, "messages"},
        {image_unknown_type, WISP_ERR_ARG, "messages"},
        {image_empty, WISP_ERR_ARG, "messages"},
        {image_no_source, WISP_ERR_ARG, "messages"},
        {image_bad_detail, WISP_ERR_ARG, "messages"},
        {part_bad_type, WISP_ERR_ARG, "messages"},
        {text_part_null, WISP_ERR_ARG, "messages"},
        {url_part_empty, WISP_ERR_ARG, "messages"},
        {temperature_high, WISP_ERR_ARG, "sampling"},
        {temperature_low, WISP_ERR_ARG, "sampling"},
        {top_p_high, WISP_ERR_ARG, "sampling"},
        {presence_low, WISP_ERR_ARG, "sampling"},
        {frequency_high, WISP_ERR_ARG, "sampling"},
        {stop_five, WISP_ERR_ARG, "stop"},
        {stop_empty, WISP_ERR_ARG, "stop"},
        {stop_null, WISP_ERR_ARG, "stop"},
        {format_bad_type, WISP_ERR_ARG, "response_format"},
        {format_no_name, WISP_ERR_ARG, "response_format"},
        {format_bad_schema, WISP_ERR_REQUEST_JSON, "response_format"},
        {format_two_values, WISP_ERR_REQUEST_JSON, "response_format"},
        {effort_bad, WISP_ERR_ARG, "reasoning_effort"},
        {param_bad_json, WISP_ERR_REQUEST_JSON, "params"},
        {param_members, WISP_ERR_REQUEST_JSON, "params"},
        {param_model, WISP_ERR_ARG, "params"},
        {param_twice, WISP_ERR_ARG, "params"},
        {param_no_name, WISP_ERR_ARG, "params"},
        {param_null, WISP_ERR_ARG, "params"},
        {param_stream, WISP_ERR_ARG, "params"},
        {param_bad_utf8, WISP_ERR_ARG, "params"},
        {key_crlf, WISP_ERR_HEADER_VALUE, "idempotency_key"},
        {key_empty, WISP_ERR_HEADER_VALUE, "idempotency_key"},
        {key_utf8, WISP_ERR_HEADER_VALUE, "idempotency_key"},
        {key_spaces, WISP_ERR_HEADER_VALUE, "idempotency_key"},
        {key_leading_space, WISP_ERR_HEADER_VALUE, "idempotency_key"},
        {key_trailing_space, WISP_ERR_HEADER_VALUE, "idempotency_key"},
        {param_stream_unstreamed, WISP_ERR_ARG, "params"},
    };
    static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wisp_request r = base_request();
        wisp_part parts[2];
        const char *why = NULL;
        memset(parts, 0, sizeof parts);
        parts[0].type = WISP_PART_TEXT;
        parts[0].text = "look";
        parts[1].type = WISP_PART_IMAGE;
        parts[1].image_type = WISP_IMAGE_JPEG;
        parts[1].data = jpeg;
        parts[1].size = sizeof jpeg;
        g_msg.content = NULL;
        g_msg.parts = parts;
        g_msg.part_count = 2;
        assert_int_equal(wisp_request_check(&r, NULL), WISP_OK); /* the unspoilt one */
        cases[i].spoil(&r, &g_msg, &parts[1]);
        /* With WISP_CHECK_REASONS 0 the reason is "", the status the same. */
        if (wisp_request_check(&r, &why) != cases[i].status || why == NULL ||
            (WISP_CHECK_REASONS ? strncmp(why, cases[i].field, strlen(cases[i].field)) != 0
                                : why[0] != '\0')) {
            print_error("case %u: status %d, why \"%s\"\n", (unsigned)i,
                        (int)wisp_request_check(&r, NULL), why != NULL ? why : "(null)");
            fail();
        }
        assert_int_equal(wisp_request_body_size(&r), 0);
    }
    assert_int_equal(wisp_request_check(NULL, NULL), WISP_ERR_ARG);
}

/* ---- images ------------------------------------------------------------------------ */

static int b64_value(char c)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *at = c != '\0' ? strchr(abc, c) : NULL;
    return at != NULL ? (int)(at - abc) : -1;
}

/* Decodes strict, padded base64 of n characters; returns the bytes, or
 * (size_t)-1 when it is not. */
static size_t b64_decode(const char *s, size_t n, uint8_t *out)
{
    size_t i, len = 0;
    if (n % 4 != 0) {
        return (size_t)-1;
    }
    for (i = 0; i < n; i += 4) {
        int a = b64_value(s[i]), b = b64_value(s[i + 1]);
        int c = s[i + 2] == '=' ? 0 : b64_value(s[i + 2]);
        int d = s[i + 3] == '=' ? 0 : b64_value(s[i + 3]);
        bool last = i + 4 == n;
        if (a < 0 || b < 0 || c < 0 || d < 0 ||
            (!last && (s[i + 2] == '=' || s[i + 3] == '=')) ||
            (s[i + 2] == '=' && s[i + 3] != '=')) {
            return (size_t)-1;
        }
        out[len++] = (uint8_t)(a << 2 | b >> 4);
        if (s[i + 2] != '=') {
            out[len++] = (uint8_t)((b & 15) << 4 | c >> 2);
        }
        if (s[i + 3] != '=') {
            out[len++] = (uint8_t)((c & 3) << 6 | d);
        }
    }
    return len;
}

typedef struct source {
    const uint8_t *bytes;
    size_t size;
    size_t next;     /* the offset the next read must start at */
    size_t reads;
    size_t largest;  /* largest read asked for */
    size_t fail_at;  /* a read reaching this offset fails; SIZE_MAX: never */
} source;

static wisp_status source_read(void *ctx, size_t offset, uint8_t *buf, size_t len)
{
    source *s = (source *)ctx;
    assert_int_equal(offset, s->next); /* in order, no overlap, no gap */
    assert_true(len > 0 && offset + len <= s->size);
    if (offset + len > s->fail_at) {
        return WISP_ERR_IO;
    }
    memcpy(buf, s->bytes + offset, len);
    s->next += len;
    s->reads++;
    if (len > s->largest) {
        s->largest = len;
    }
    return WISP_OK;
}

static uint8_t g_image[4096];
static uint8_t g_decoded[4096];

/* The bytes of the data: URL in body, decoded. */
static size_t decoded_image(const char *body, const char *prefix)
{
    const char *at = strstr(body, prefix);
    const char *end;
    assert_non_null(at);
    at += strlen(prefix);
    end = strchr(at, '"');
    assert_non_null(end);
    return b64_decode(at, (size_t)(end - at), g_decoded);
}

static void test_image_bytes_every_size_every_buffer(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARTS);
    WISP_NEEDS(WISP_IMAGES);
    static const size_t caps[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 64, 255, 4096};
    size_t size, k, i;
    (void)state;
    for (i = 0; i < sizeof g_image; i++) {
        g_image[i] = (uint8_t)(i * 151u + (i >> 8) * 7u);
    }
    for (size = 1; size <= 200; size = size < 40 ? size + 1 : size * 2 + 1) {
        for (k = 0; k < sizeof caps / sizeof caps[0]; k++) {
            int from_memory;
            for (from_memory = 0; from_memory < 2; from_memory++) {
                wisp_request r = base_request();
                wisp_part parts[1];
                source src = {g_image, size, 0, 0, 0, SIZE_MAX};
                memset(parts, 0, sizeof parts);
                parts[0].type = WISP_PART_IMAGE;
                parts[0].image_type = WISP_IMAGE_PNG;
                parts[0].size = size;
                if (from_memory) {
                    parts[0].data = g_image;
                } else {
                    parts[0].read = source_read;
                    parts[0].read_ctx = &src;
                }
                g_msg.content = NULL;
                g_msg.parts = parts;
                g_msg.part_count = 1;
                body_through(&r, caps[k]);
                assert_int_equal(decoded_image(g_cap.buf, "data:image/png;base64,"), size);
                assert_memory_equal(g_decoded, g_image, size);
                if (!from_memory) {
                    assert_int_equal(src.next, size); /* read once, whole */
                    assert_true(src.largest <= (caps[k] < 4 ? 3 : caps[k] / 4 * 3));
                }
            }
        }
    }
}

static void test_parts_exact(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARTS);
    WISP_NEEDS(WISP_IMAGES);
    static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xDB, 0x00};
    wisp_request r = base_request();
    wisp_part parts[3];
    (void)state;
    memset(parts, 0, sizeof parts);
    parts[0].type = WISP_PART_TEXT;
    parts[0].text = "what is \"this\"?";
    parts[1].type = WISP_PART_IMAGE_URL;
    parts[1].url = "https://example.invalid/a.png";
    parts[1].detail = WISP_DETAIL_LOW;
    parts[2].type = WISP_PART_IMAGE;
    parts[2].image_type = WISP_IMAGE_JPEG;
    parts[2].data = jpeg;
    parts[2].size = sizeof jpeg;
    parts[2].detail = WISP_DETAIL_HIGH;
    g_msg.content = NULL;
    g_msg.parts = parts;
    g_msg.part_count = 3;
    assert_string_equal(
        body_of(&r),
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"text\",\"text\":\"what is \\\"this\\\"?\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.invalid/a.png\","
        "\"detail\":\"low\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64,/9j/2wA=\","
        "\"detail\":\"high\"}}]}]}");
    /* Text parts go in any role; an assistant turn of parts beside calls. */
    g_msg.role = WISP_ROLE_SYSTEM;
    g_msg.part_count = 1;
    assert_string_equal(body_of(&r), "{\"model\":\"m\",\"messages\":[{\"role\":\"system\","
                                     "\"content\":[{\"type\":\"text\",\"text\":"
                                     "\"what is \\\"this\\\"?\"}]}]}");
}

/* A read that fails ends the body: the sender reports WISP_ERR_IMAGE_READ
 * and writes nothing after it. */
static void test_image_read_failure(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARTS);
    WISP_NEEDS(WISP_IMAGES);
    static uint8_t out[512];
    wisp_request r = base_request();
    wisp_part part;
    source src = {g_image, 3000, 0, 0, 0, 1500};
    wisp_out sender;
    (void)state;
    memset(&part, 0, sizeof part);
    part.type = WISP_PART_IMAGE;
    part.image_type = WISP_IMAGE_JPEG;
    part.size = 3000;
    part.read = source_read;
    part.read_ctx = &src;
    g_msg.content = NULL;
    g_msg.parts = &part;
    g_msg.part_count = 1;
    memset(&g_cap, 0, sizeof g_cap);
    wisp_out_sender(&sender, out, sizeof out, capture_flush, &g_cap);
    wisp_write_body(&sender, &r);
    assert_int_equal(wisp_out_finish(&sender), WISP_ERR_IMAGE_READ);
    assert_true(g_cap.len < wisp_request_body_size(&r));
    assert_true(src.next <= 1500);
}

/* Images whose base64 adds up past SIZE_MAX: the count stops there and
 * the request has no size (wisp_chat refuses it) instead of a
 * Content-Length that wrapped round to a few bytes. */
static void test_body_count_never_wraps(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARTS);
    WISP_NEEDS(WISP_IMAGES);
    static const uint8_t byte = 0xFF;
    wisp_request r = base_request();
    wisp_part parts[2];
    (void)state;
    memset(parts, 0, sizeof parts);
    parts[0].type = parts[1].type = WISP_PART_IMAGE;
    parts[0].image_type = parts[1].image_type = WISP_IMAGE_JPEG;
    parts[0].data = parts[1].data = &byte; /* never read: counting only */
    parts[0].size = parts[1].size = (SIZE_MAX / 8u) * 3u;
    g_msg.content = NULL;
    g_msg.parts = parts;
    g_msg.part_count = 1;
    assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
    assert_true(wisp_request_body_size(&r) > parts[0].size); /* one fits */
    g_msg.part_count = 2;
    assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
    assert_int_equal(wisp_request_body_size(&r), 0);
}

static void test_image_type_of(void **state)
{
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0};
    static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF};
    static const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 0, 0};
    (void)state;
    assert_int_equal(wisp_image_type_of(png, sizeof png), WISP_IMAGE_PNG);
    assert_int_equal(wisp_image_type_of(png, 7), WISP_IMAGE_UNKNOWN);
    assert_int_equal(wisp_image_type_of(jpeg, 3), WISP_IMAGE_JPEG);
    assert_int_equal(wisp_image_type_of(jpeg, 2), WISP_IMAGE_UNKNOWN);
    assert_int_equal(wisp_image_type_of(gif, sizeof gif), WISP_IMAGE_UNKNOWN);
    assert_int_equal(wisp_image_type_of(NULL, 8), WISP_IMAGE_UNKNOWN);
}

/* ---- a several-MB image in the same memory as a small one --------------------------- */

/* Image bytes made from their offset, so no copy of the image exists. */
static uint8_t synth(size_t offset)
{
    return (uint8_t)((offset * 2654435761u) >> 13);
}

static wisp_status synth_read(void *ctx, size_t offset, uint8_t *buf, size_t len)
{
    size_t *largest = (size_t *)ctx;
    size_t i;
    for (i = 0; i < len; i++) {
        buf[i] = synth(offset + i);
    }
    if (len > *largest) {
        *largest = len;
    }
    return WISP_OK;
}

/* Decodes the data: URL as it streams past, comparing with synth(). */
typedef struct checker {
    const char *prefix;
    size_t matched; /* bytes of prefix seen */
    bool in_data, ended;
    int quad[4];
    int have;
    size_t offset;  /* image bytes checked */
    bool bad;
} checker;

static void checker_put(checker *c, const uint8_t *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        char ch = (char)s[i];
        if (!c->in_data) {
            c->matched = ch == c->prefix[c->matched] ? c->matched + 1 : (ch == c->prefix[0]);
            c->in_data = c->prefix[c->matched] == '\0';
            continue;
        }
        if (c->ended) {
            continue;
        }
        if (ch == '"') {
            c->ended = true;
            c->bad = c->bad || c->have != 0;
            continue;
        }
        c->quad[c->have++] = ch == '=' ? -2 : b64_value(ch);
        if (c->have == 4) {
            int k, bits = 0;
            uint8_t b[3];
            uint32_t w = 0;
            for (k = 0; k < 4; k++) {
                if (c->quad[k] == -1) {
                    c->bad = true;
                }
                if (c->quad[k] >= 0) {
                    bits += 6;
                }
                w = w << 6 | (uint32_t)(c->quad[k] >= 0 ? c->quad[k] : 0);
            }
            b[0] = (uint8_t)(w >> 16);
            b[1] = (uint8_t)(w >> 8);
            b[2] = (uint8_t)w;
            for (k = 0; k < bits / 8; k++) {
                c->bad = c->bad || b[k] != synth(c->offset);
                c->offset++;
            }
            c->have = 0;
        }
    }
}

static wisp_status checker_flush(void *ctx, const uint8_t *buf, size_t len)
{
    checker_put((checker *)ctx, buf, len);
    return WISP_OK;
}

static void test_several_mb_image_through_a_small_buffer(void **state)
{
    WISP_NEEDS(WISP_PARTS);
    WISP_NEEDS(WISP_IMAGES);
    static uint8_t out[2048]; /* a firmware's work buffer */
    const size_t size = 5u * 1024u * 1024u + 1u;
    wisp_request r = base_request();
    wisp_part part;
    wisp_out counter, sender;
    checker chk;
    size_t largest = 0;
    (void)state;
    memset(&part, 0, sizeof part);
    part.type = WISP_PART_IMAGE;
    part.image_type = WISP_IMAGE_JPEG;
    part.size = size;
    part.read = synth_read;
    part.read_ctx = &largest;
    g_msg.content = NULL;
    g_msg.parts = &part;
    g_msg.part_count = 1;
    wisp_out_counter(&counter);
    wisp_write_body(&counter, &r);
    assert_int_equal(largest, 0); /* counting reads nothing */
    memset(&chk, 0, sizeof chk);
    chk.prefix = "data:image/jpeg;base64,";
    wisp_out_sender(&sender, out, sizeof out, checker_flush, &chk);
    wisp_write_body(&sender, &r);
    assert_int_equal(wisp_out_finish(&sender), WISP_OK);
    assert_int_equal(sender.total, counter.total);
    assert_true(chk.ended);
    assert_false(chk.bad);
    assert_int_equal(chk.offset, size);
    assert_true(largest > 0 && largest <= sizeof out * 3 / 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_unset_is_sent),
        cmocka_unit_test(test_every_parameter),
        cmocka_unit_test(test_formats_and_efforts),
        cmocka_unit_test(test_sampling_in_thousandths),
        cmocka_unit_test(test_seed_without_64bit_division),
        cmocka_unit_test(test_param_may_name_an_unsent_member),
        cmocka_unit_test(test_every_refusal_has_its_reason),
        cmocka_unit_test(test_image_bytes_every_size_every_buffer),
        cmocka_unit_test(test_parts_exact),
        cmocka_unit_test(test_image_read_failure),
        cmocka_unit_test(test_body_count_never_wraps),
        cmocka_unit_test(test_image_type_of),
        cmocka_unit_test(test_several_mb_image_through_a_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
