/*
 * test_contract.c - the edges a mutation run over core/ found unguarded
 * (W8b): a body written through output buffers smaller than itself, the
 * host and path length guards of the URL parser, every refusal of the
 * request check, a send that times out, wisp_client_close(NULL).  Each
 * asserts what the caller sees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_transport.h"
#include "needs.h"
#include "wisp.h"
#include "wisp_request.h"

/* ---- the body through small output buffers ---------------------------- */

typedef struct sink {
    uint8_t data[8192];
    size_t len;
    size_t largest; /* the largest piece flushed */
    int flushes;
} sink;

static wisp_status collect(void *ctx, const uint8_t *buf, size_t len)
{
    sink *s = (sink *)ctx;
    assert_true(s->len + len <= sizeof s->data);
    memcpy(s->data + s->len, buf, len);
    s->len += len;
    s->flushes++;
    if (len > s->largest)
        s->largest = len;
    return WISP_OK;
}

static void test_body_through_small_buffers(void **state)
{
    static const char *const stop[] = {"END", "\xe2\x80\x94"};
    wisp_message msgs[2] = {{.role = WISP_ROLE_SYSTEM, .content = "be \"brief\"\n\\ok"},
                            {.role = WISP_ROLE_USER,
                             .content = "caf\xc3\xa9 \xf0\x9f\x98\x80 and a longer line to cross "
                                        "many buffer boundaries \x01\x1f"}};
    wisp_request req;
    wisp_out counter;
    static sink whole, cut;
    uint8_t big[8192], small[64];
    size_t cap;
    (void)state;
    memset(&req, 0, sizeof req);
    req.model = "gemini-2.5-flash";
    req.messages = msgs;
    req.message_count = 2;
    req.stream = true;
    req.max_tokens = 77;
    if (WISP_PARAMS) {
        req.stop = stop;
        req.stop_count = 2;
    }
    assert_int_equal(wisp_request_check(&req, NULL), WISP_OK);
    wisp_out_counter(&counter);
    wisp_write_body(&counter, &req);
    {
        wisp_out o;
        memset(&whole, 0, sizeof whole);
        wisp_out_sender(&o, big, sizeof big, collect, &whole);
        wisp_write_body(&o, &req);
        assert_int_equal(wisp_out_finish(&o), WISP_OK);
        assert_int_equal(whole.len, counter.total);
        assert_int_equal(whole.flushes, 1);
    }
    for (cap = 1; cap <= sizeof small; cap++) {
        wisp_out o;
        memset(&cut, 0, sizeof cut);
        wisp_out_sender(&o, small, cap, collect, &cut);
        wisp_write_body(&o, &req);
        assert_int_equal(wisp_out_finish(&o), WISP_OK);
        if (cut.len != whole.len || memcmp(cut.data, whole.data, whole.len) != 0) {
            print_error("buffer of %u bytes: the body differs\n", (unsigned)cap);
            fail();
        }
        assert_true(cut.largest <= cap);
        assert_true(cut.flushes >= (int)((whole.len + cap - 1) / cap));
    }
}

static wisp_status refuse_after(void *ctx, const uint8_t *buf, size_t len)
{
    int *left = (int *)ctx;
    (void)buf;
    (void)len;
    return (*left)-- > 0 ? WISP_OK : WISP_ERR_TIMEOUT;
}

/* A flush that fails stops the writer: its status comes back, and nothing
 * more is handed over. */
static void test_failed_flush_sticks(void **state)
{
    wisp_message msg = {.role = WISP_ROLE_USER, .content = "a message long enough to flush"};
    wisp_request req;
    wisp_out o;
    uint8_t buf[8];
    int left = 2;
    (void)state;
    memset(&req, 0, sizeof req);
    req.model = "m";
    req.messages = &msg;
    req.message_count = 1;
    req.stream = true;
    wisp_out_sender(&o, buf, sizeof buf, refuse_after, &left);
    wisp_write_body(&o, &req);
    assert_int_equal(wisp_out_finish(&o), WISP_ERR_TIMEOUT);
    assert_int_equal(left, -1); /* two flushes, the failing third, no more */
}

/* ---- URL length guards ---------------------------------------------------- */

static void test_url_length_guards(void **state)
{
    char url[2048], label[64];
    wisp_url u;
    size_t n;
    (void)state;
    /* host: WISP_HOST_CAP - 1 characters fit, one more does not */
    for (n = WISP_HOST_CAP - 2; n <= WISP_HOST_CAP; n++) {
        size_t i, len = 0;
        len += (size_t)snprintf(url + len, sizeof url - len, "http://");
        for (i = 0; i < n; i++)
            url[len++] = (char)((i % 60 == 59) ? '.' : 'a');
        url[len] = '\0';
        snprintf(label, sizeof label, "host of %u", (unsigned)n);
        assert_int_equal(wisp_url_parse(url, &u), n < WISP_HOST_CAP ? WISP_OK : WISP_ERR_URL);
        if (n < WISP_HOST_CAP)
            assert_int_equal(strlen(u.host), n);
    }
    /* path: WISP_PATH_CAP - 1 bytes fit */
    for (n = WISP_PATH_CAP - 2; n <= WISP_PATH_CAP; n++) {
        size_t i, len = (size_t)snprintf(url, sizeof url, "https://h");
        for (i = 0; i < n; i++)
            url[len++] = i == 0 ? '/' : 'p';
        url[len] = '\0';
        assert_int_equal(wisp_url_parse(url, &u), n < WISP_PATH_CAP ? WISP_OK : WISP_ERR_URL);
        if (n < WISP_PATH_CAP)
            assert_int_equal(u.path_len, n);
    }
}

/* ---- every refusal of the request check ---------------------------------- */

static void test_request_refusals(void **state)
{
    wisp_message ok = {.role = WISP_ROLE_USER, .content = "hi"};
    wisp_message no_content = {.role = WISP_ROLE_USER};
    wisp_message bad_role = {.role = (wisp_role)42, .content = "hi"};
    wisp_message tool_no_id = {.role = WISP_ROLE_TOOL, .content = "r"};
    wisp_request r;
    const char *why = NULL;
    (void)state;
#define BASE()                                                               \
    do {                                                                     \
        memset(&r, 0, sizeof r);                                             \
        r.model = "m";                                                       \
        r.messages = &ok;                                                    \
        r.message_count = 1;                                                 \
        r.stream = true;                                                     \
    } while (0)
#define REFUSED(st)                                                          \
    do {                                                                     \
        why = NULL;                                                          \
        assert_int_equal(wisp_request_check(&r, &why), (st));                \
        assert_non_null(why);                                                \
        assert_true(!WISP_CHECK_REASONS || why[0] != '\0');                  \
        assert_int_equal(wisp_request_body_size(&r), 0);                     \
    } while (0)
    BASE();
    assert_int_equal(wisp_request_check(&r, &why), WISP_OK);
    assert_true(wisp_request_body_size(&r) > 0);
    BASE(); r.model = NULL; REFUSED(WISP_ERR_ARG);
    BASE(); r.model = ""; REFUSED(WISP_ERR_ARG);
    BASE(); r.messages = NULL; REFUSED(WISP_ERR_ARG);
    BASE(); r.message_count = 0; REFUSED(WISP_ERR_ARG);
    BASE(); r.messages = &no_content; REFUSED(WISP_ERR_ARG);
    BASE(); r.messages = &bad_role; REFUSED(WISP_ERR_ARG);
    if (WISP_TOOLS) {
        BASE(); r.messages = &tool_no_id; REFUSED(WISP_ERR_ARG);
    }
    if (WISP_PARAMS) {
        BASE(); r.has_temperature = true; r.temperature_milli = 2001; REFUSED(WISP_ERR_ARG);
        BASE(); r.has_temperature = true; r.temperature_milli = -1; REFUSED(WISP_ERR_ARG);
        BASE(); r.has_temperature = true; r.temperature_milli = 2000;
        assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
        BASE(); r.has_top_p = true; r.top_p_milli = 1001; REFUSED(WISP_ERR_ARG);
        BASE(); r.has_presence_penalty = true; r.presence_penalty_milli = -2001; REFUSED(WISP_ERR_ARG);
        BASE(); r.has_frequency_penalty = true; r.frequency_penalty_milli = 2001; REFUSED(WISP_ERR_ARG);
        BASE(); r.has_frequency_penalty = true; r.frequency_penalty_milli = -2000;
        assert_int_equal(wisp_request_check(&r, NULL), WISP_OK);
    }
    assert_int_equal(wisp_request_check(NULL, NULL), WISP_ERR_ARG);
#undef BASE
#undef REFUSED
}

/* ---- the client's edges -------------------------------------------------- */

static wisp_status send_times_out(void *ctx, const uint8_t *buf, size_t len, size_t *sent,
                                  uint32_t timeout_ms)
{
    (void)ctx;
    (void)buf;
    (void)len;
    (void)timeout_ms;
    *sent = 0;
    return WISP_ERR_TIMEOUT;
}

static void test_send_timeout_and_close_null(void **state)
{
    static fake_transport fake;
    static uint8_t work[2048];
    static wisp_token toks[64];
    static char content[64];
    wisp_transport tr;
    wisp_config cfg;
    wisp_client client;
    wisp_message msg = {.role = WISP_ROLE_USER, .content = "hi"};
    wisp_request req;
    wisp_response resp;
    (void)state;
    wisp_client_close(NULL); /* nothing to close: no crash */
    fake_init(&fake, &tr);
    fake_add(&fake, "", 0, END_KEEP); /* never asked for: the send fails first */
    tr.send = send_times_out;
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://127.0.0.1:8080/v1";
    cfg.transport = &tr;
    cfg.max_retries = WISP_NO_RETRIES;
    assert_int_equal(wisp_client_init(&client, &cfg, work, sizeof work, toks, 64), WISP_OK);
    memset(&req, 0, sizeof req);
    req.model = "m";
    req.messages = &msg;
    req.message_count = 1;
    req.stream = true;
    wisp_response_init(&resp, content, sizeof content, NULL, 0);
    assert_int_equal(wisp_chat(&client, &req, &resp, NULL, NULL), WISP_ERR_TIMEOUT);
    assert_false(client.connected); /* a half-sent request: never reused */
    assert_int_equal(fake.connects, 1);
    assert_int_equal(resp.attempts, 1);
    wisp_client_close(&client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_through_small_buffers),
        cmocka_unit_test(test_failed_flush_sticks),
        cmocka_unit_test(test_url_length_guards),
        cmocka_unit_test(test_request_refusals),
        cmocka_unit_test(test_send_timeout_and_close_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
