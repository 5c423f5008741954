/*
 * test_client_config.c - what wisp_client_init and each call refuse before
 * anything is sent, and what they take: every argument of init, header
 * names and values (token characters, DEL, an empty key that frees
 * Authorization), the Idempotency-Key beside other headers, response
 * buffers without storage, timeouts given and defaulted, and a retry
 * count above the ceiling.
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

static sc_env g_e;

static wisp_status init_with(const wisp_config *cfg)
{
    return wisp_client_init(&g_e.client, cfg, g_e.work, sizeof g_e.work, g_e.toks, 256);
}

static void test_init_arguments(void **state)
{
    wisp_transport tr;
    wisp_config cfg;
    (void)state;
    sc_init(&g_e, NULL);
    cfg = g_e.cfg;
    assert_int_equal(wisp_client_init(NULL, &cfg, g_e.work, sizeof g_e.work, g_e.toks, 256),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_client_init(&g_e.client, NULL, g_e.work, sizeof g_e.work, g_e.toks, 256),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_client_init(&g_e.client, &cfg, NULL, sizeof g_e.work, g_e.toks, 256),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_client_init(&g_e.client, &cfg, g_e.work, sizeof g_e.work, NULL, 256),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_client_init(&g_e.client, &cfg, g_e.work, sizeof g_e.work, g_e.toks, 7),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_client_init(&g_e.client, &cfg, g_e.work, sizeof g_e.work, g_e.toks, 8),
                     WISP_OK);
    if (sizeof(size_t) > 4) { /* jsmn counts tokens in an int */
        assert_int_equal(wisp_client_init(&g_e.client, &cfg, g_e.work, sizeof g_e.work, g_e.toks,
                                          (size_t)0x80000000u),
                         WISP_ERR_ARG);
    }
    assert_int_equal(wisp_client_init(&g_e.client, &cfg, g_e.work, WISP_WORK_MIN - 1, g_e.toks, 256),
                     WISP_ERR_ARG);
    assert_int_equal(wisp_client_init(&g_e.client, &cfg, g_e.work, WISP_WORK_MIN, g_e.toks, 256),
                     WISP_OK);
    cfg.base_url = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    cfg = g_e.cfg;
    cfg.transport = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    cfg = g_e.cfg;
    cfg.transport = &tr;
    tr = g_e.tr;
    tr.connect = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    tr = g_e.tr;
    tr.send = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    tr = g_e.tr;
    tr.recv = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    tr = g_e.tr;
    tr.close = NULL;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    cfg = g_e.cfg;
    cfg.max_retries = WISP_NO_RETRIES - 1;
    assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    /* a failed init leaves a client that is safe to close */
    wisp_client_close(&g_e.client);
    assert_false(g_e.client.connected);
    wisp_client_close(NULL);
    wisp_response_init(NULL, NULL, 0, NULL, 0);
}

/* A header's name must be an HTTP token, its value free of controls. */
static void test_header_names_and_values(void **state)
{
    static const struct {
        const char *name, *value;
        wisp_status st;
    } cases[] = {
        {"X-Trace-9", "abc", WISP_OK},
        {"x_~!#$%&'*+.^`|", "tab\tinside", WISP_OK},
        {"ZZ", "", WISP_OK},
        {"X Trace", "a", WISP_ERR_HEADER_VALUE},
        {"X(", "a", WISP_ERR_HEADER_VALUE},
        {"X:", "a", WISP_ERR_HEADER_VALUE},
        {"X-A", "del\x7f", WISP_ERR_HEADER_VALUE},
        {"X-A", "nl\n", WISP_ERR_HEADER_VALUE},
        {"", "a", WISP_ERR_ARG},
        {NULL, "a", WISP_ERR_ARG},
        {"X-A", NULL, WISP_ERR_ARG},
        {"Content-Type", "text/plain", WISP_ERR_HEADER_VALUE},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wisp_header h;
        wisp_config cfg;
        sc_init(&g_e, NULL);
        cfg = g_e.cfg;
        h.name = cases[i].name;
        h.value = cases[i].value;
        cfg.headers = &h;
        cfg.header_count = 1;
        if (init_with(&cfg) != cases[i].st) {
            print_error("header %u \"%s\"\n", (unsigned)i, cases[i].name ? cases[i].name : "(null)");
            fail();
        }
    }
    /* a count without headers */
    {
        wisp_config cfg;
        sc_init(&g_e, NULL);
        cfg = g_e.cfg;
        cfg.header_count = 1;
        assert_int_equal(init_with(&cfg), WISP_ERR_ARG);
    }
}

/* Authorization is wisp's only when there is a key: with an empty key the
 * caller's own goes out, and no Bearer line. */
static void test_authorization_without_a_key(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    wisp_header h = {"Authorization", "Basic dTpw"};
    wisp_message msg;
    wisp_request req = sc_question(&msg, "hi");
    wisp_config cfg;
    (void)state;
    sc_init(&g_e, NULL);
    cfg = g_e.cfg;
    cfg.headers = &h;
    cfg.header_count = 1;
    cfg.api_key = "";
    assert_int_equal(init_with(&cfg), WISP_OK);
    sc_add_json(&g_e, "{\"choices\":[{\"message\":{\"content\":\"ok\"}}]}");
    assert_int_equal(wisp_chat(&g_e.client, &req, &g_e.resp, NULL, NULL), WISP_OK);
    assert_non_null(strstr(sc_sent(&g_e), "\r\nAuthorization: Basic dTpw\r\n"));
    assert_null(strstr(sc_sent(&g_e), "Bearer"));
    /* with a key it is reserved */
    cfg.api_key = "k";
    assert_int_equal(init_with(&cfg), WISP_ERR_HEADER_VALUE);
}

/* A request's Idempotency-Key goes beside the configuration's other
 * headers, but never beside one of its own (in any case). */
static void test_idempotency_key_beside_headers(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    wisp_header hs[2] = {{"X-One", "1"}, {"IDEMPOTENCY-key", "mine"}};
    wisp_message msg;
    wisp_request req = sc_question(&msg, "hi");
    wisp_config cfg;
    (void)state;
    sc_init(&g_e, NULL);
    cfg = g_e.cfg;
    cfg.headers = hs;
    cfg.header_count = 1;
    assert_int_equal(init_with(&cfg), WISP_OK);
    req.idempotency_key = "abc";
    sc_add_json(&g_e, "{\"choices\":[{\"message\":{\"content\":\"ok\"}}]}");
    assert_int_equal(wisp_chat(&g_e.client, &req, &g_e.resp, NULL, NULL), WISP_OK);
    assert_non_null(strstr(sc_sent(&g_e), "\r\nX-One: 1\r\n"));
    assert_non_null(strstr(sc_sent(&g_e), "\r\nIdempotency-Key: abc\r\n"));
    cfg.header_count = 2;
    assert_int_equal(init_with(&cfg), WISP_OK);
    assert_int_equal(wisp_chat(&g_e.client, &req, &g_e.resp, NULL, NULL), WISP_ERR_HEADER_VALUE);
    assert_int_equal(g_e.fake.connects, 1); /* only the first call connected */
    /* without a key of the request, the configuration's goes alone */
    req.idempotency_key = NULL;
    sc_add_json(&g_e, "{\"choices\":[{\"message\":{\"content\":\"ok\"}}]}");
    assert_int_equal(wisp_chat(&g_e.client, &req, &g_e.resp, NULL, NULL), WISP_OK);
    assert_non_null(strstr(sc_request(&g_e, 2), "\r\nIDEMPOTENCY-key: mine\r\n"));
}

/* A response buffer with a capacity but no storage is refused. */
static void test_response_buffers(void **state)
{
    wisp_message msg;
    wisp_request req = sc_question(&msg, "hi");
    (void)state;
    sc_init(&g_e, NULL);
    g_e.resp.content.buf = NULL;
    assert_int_equal(wisp_chat(&g_e.client, &req, &g_e.resp, NULL, NULL), WISP_ERR_ARG);
    sc_init(&g_e, NULL);
    g_e.resp.reasoning.buf = NULL;
    assert_int_equal(wisp_chat(&g_e.client, &req, &g_e.resp, NULL, NULL), WISP_ERR_ARG);
    sc_init(&g_e, NULL);
    assert_int_equal(wisp_chat(&g_e.client, &req, NULL, NULL, NULL), WISP_ERR_ARG);
    assert_int_equal(wisp_chat(NULL, &req, &g_e.resp, NULL, NULL), WISP_ERR_ARG);
    assert_int_equal(g_e.fake.connects, 0);
    /* no room at all is fine: the text is only counted */
    if (WISP_NONSTREAM) {
        g_e.resp.content.buf = NULL;
        g_e.resp.content.cap = 0;
        sc_add_json(&g_e, "{\"choices\":[{\"message\":{\"content\":\"four\"}}]}");
        assert_int_equal(wisp_chat(&g_e.client, &req, &g_e.resp, NULL, NULL), WISP_OK);
        assert_int_equal(g_e.resp.content.full_len, 4);
        assert_true(g_e.resp.content.truncated);
    }
}

/* Timeouts the caller gives reach the transport; 0 means the defaults. */
typedef struct timing {
    uint32_t connect_ms, recv_ms;
} timing;
static timing g_timing;

static wisp_status timed_connect(void *ctx, const char *host, uint16_t port, uint32_t t)
{
    g_timing.connect_ms = t;
    return fake_connect(ctx, host, port, t);
}

static wisp_status timed_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t t)
{
    g_timing.recv_ms = t;
    return fake_recv(ctx, buf, cap, got, t);
}

static void test_timeouts_given_and_defaulted(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    wisp_message msg;
    wisp_request req = sc_question(&msg, "hi");
    wisp_config cfg;
    int pass;
    (void)state;
    for (pass = 0; pass < 2; pass++) {
        sc_init(&g_e, NULL);
        g_e.tr.connect = timed_connect;
        g_e.tr.recv = timed_recv;
        cfg = g_e.cfg;
        cfg.connect_timeout_ms = pass == 0 ? 1234 : 0;
        cfg.read_timeout_ms = pass == 0 ? 5678 : 0;
        assert_int_equal(init_with(&cfg), WISP_OK);
        sc_add_json(&g_e, "{\"choices\":[{\"message\":{\"content\":\"ok\"}}]}");
        memset(&g_timing, 0, sizeof g_timing);
        assert_int_equal(wisp_chat(&g_e.client, &req, &g_e.resp, NULL, NULL), WISP_OK);
        assert_int_equal(g_timing.connect_ms, pass == 0 ? 1234 : WISP_DEFAULT_CONNECT_TIMEOUT_MS);
        assert_int_equal(g_timing.recv_ms, pass == 0 ? 5678 : WISP_DEFAULT_READ_TIMEOUT_MS);
    }
}

/* More retries than 10 are 10: eleven attempts, each wait in 75..100 % of
 * its step, the step doubling up to the ceiling. */
static uint32_t g_waits[16];
static int g_wait_count;

static void note_sleep(void *ctx, uint32_t ms)
{
    (void)ctx;
    assert_true(g_wait_count < 16);
    g_waits[g_wait_count++] = ms;
    g_e.fake.next_reply = 0; /* the same 503 again */
}

static void test_retry_ceiling(void **state)
{
    WISP_NEEDS(WISP_RETRIES);
    wisp_message msg;
    wisp_request req = sc_question(&msg, "hi");
    wisp_config cfg;
    int i;
    (void)state;
    sc_init(&g_e, NULL);
    cfg = g_e.cfg;
    cfg.max_retries = 50;
    cfg.sleep_ms = note_sleep;
    assert_int_equal(init_with(&cfg), WISP_OK);
    sc_add(&g_e, "HTTP/1.1 503 Service Unavailable\r\n", "");
    g_wait_count = 0;
    assert_int_equal(wisp_chat(&g_e.client, &req, &g_e.resp, NULL, NULL), WISP_ERR_HTTP_STATUS);
    assert_int_equal(g_e.resp.attempts, 11);
    assert_int_equal(g_wait_count, 10);
    for (i = 0; i < g_wait_count; i++) {
        uint32_t step = WISP_RETRY_BASE_MS << (i < 6 ? i : 6);
        if (step > WISP_RETRY_MAX_WAIT_MS)
            step = WISP_RETRY_MAX_WAIT_MS;
        if (g_waits[i] > step || g_waits[i] < step - step / 4) {
            print_error("wait %d: %u ms, step %u\n", i, (unsigned)g_waits[i], (unsigned)step);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_arguments),
        cmocka_unit_test(test_header_names_and_values),
        cmocka_unit_test(test_authorization_without_a_key),
        cmocka_unit_test(test_idempotency_key_beside_headers),
        cmocka_unit_test(test_response_buffers),
        cmocka_unit_test(test_timeouts_given_and_defaulted),
        cmocka_unit_test(test_retry_ceiling),
    };
    return cmocka_run_group_tests_name("client_config", tests, NULL, NULL);
}
