/*
 * test_client_replies.c - replies the client must classify by what little
 * they say: a 2xx with no body (stream or not, 204 or Content-Length 0),
 * an unlabelled 2xx whose first byte is neither '{', '[' nor '<', a
 * request id longer than its field, which statuses are retried, a
 * Retry-After longer than the time left, and a model list on no client.
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
static wisp_message g_msg;
static wisp_request g_req;
static sc_clock g_clk;

static void setup(bool stream, int retries)
{
    sc_init_clocked(&g_e, &g_clk, 1000, retries, 10000);
    g_req = sc_question(&g_msg, "hi");
    g_req.stream = stream;
}

static wisp_status chat(void)
{
    return wisp_chat(&g_e.client, &g_req, &g_e.resp, NULL, NULL);
}

/* A 2xx without a body: a stream whose body came and held nothing is
 * truncated; a reply with no body at all (204, Content-Length: 0) is no
 * chat reply: WISP_ERR_HTTP. */
static void test_success_without_a_body(void **state)
{
    (void)state;
    setup(true, WISP_NO_RETRIES);
    sc_add_framed(&g_e, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n", false,
                  END_KEEP);
    assert_int_equal(chat(), WISP_ERR_STREAM_TRUNCATED);
    assert_int_equal(g_e.resp.http_status, 200);
    setup(true, WISP_NO_RETRIES);
    sc_add(&g_e, "HTTP/1.1 200 OK\r\n", "");
    assert_int_equal(chat(), WISP_ERR_HTTP);
    setup(true, WISP_NO_RETRIES);
    sc_add_framed(&g_e, "HTTP/1.1 204 No Content\r\n", "", false, END_KEEP);
    assert_int_equal(chat(), WISP_ERR_HTTP);
    assert_int_equal(g_e.resp.http_status, 204);
    if (WISP_NONSTREAM) {
        setup(false, WISP_NO_RETRIES);
        sc_add(&g_e, "HTTP/1.1 200 OK\r\n", "");
        assert_int_equal(chat(), WISP_ERR_HTTP);
    }
}

/* An unlabelled 2xx that starts like neither JSON nor a page: read as what
 * was asked.  Not a chat reply when a whole one was asked for: its words
 * are kept for the person. */
static void test_unlabelled_plain_text(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    (void)state;
    setup(false, WISP_NO_RETRIES);
    sc_add(&g_e, "HTTP/1.1 200 OK\r\n", "Service moved, see the portal");
    assert_int_equal(chat(), WISP_ERR_HTTP);
    assert_string_equal(g_e.resp.error_message, "Service moved, see the portal");
    /* an unlabelled array is JSON: an error in Gemini's shape reads */
    setup(false, WISP_NO_RETRIES);
    sc_add(&g_e, "HTTP/1.1 200 OK\r\n", "[{\"error\":{\"message\":\"in an array\"}}]");
    assert_int_equal(chat(), WISP_ERR_API);
    assert_string_equal(g_e.resp.error_message, "in an array");
}

/* A request id longer than its field: cut, and flagged. */
static void test_long_request_id(void **state)
{
    char head[256], id[WISP_REQUEST_ID_CAP + 20];
    (void)state;
    memset(id, 'r', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    snprintf(head, sizeof head, "HTTP/1.1 400 Bad Request\r\nx-request-id: %s\r\n", id);
    setup(true, WISP_NO_RETRIES);
    sc_add(&g_e, head, "");
    assert_int_equal(chat(), WISP_ERR_HTTP_STATUS);
    assert_int_equal(strlen(g_e.resp.request_id), WISP_REQUEST_ID_CAP - 1);
    assert_memory_equal(g_e.resp.request_id, id, WISP_REQUEST_ID_CAP - 1);
    assert_true(g_e.resp.fields_truncated);
    /* one that fits is not flagged */
    setup(true, WISP_NO_RETRIES);
    sc_add(&g_e, "HTTP/1.1 400 Bad Request\r\nx-request-id: req-1\r\n", "");
    assert_int_equal(chat(), WISP_ERR_HTTP_STATUS);
    assert_string_equal(g_e.resp.request_id, "req-1");
    assert_false(g_e.resp.fields_truncated);
}

/* Which statuses are tried again: 408, 409, 429 and 5xx; not 4xx others,
 * nor what is beyond 599. */
static void test_retried_statuses(void **state)
{
    WISP_NEEDS(WISP_RETRIES);
    static const struct {
        const char *line;
        int attempts;
    } cases[] = {
        {"HTTP/1.1 408 Request Timeout\r\n", 2}, {"HTTP/1.1 409 Conflict\r\n", 2},
        {"HTTP/1.1 429 Too Many Requests\r\n", 2}, {"HTTP/1.1 500 Internal Server Error\r\n", 2},
        {"HTTP/1.1 599 Network Timeout\r\n", 2}, {"HTTP/1.1 400 Bad Request\r\n", 1},
        {"HTTP/1.1 404 Not Found\r\n", 1},       {"HTTP/1.1 499 Client Closed\r\n", 1},
        {"HTTP/1.1 600 Odd\r\n", 1},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setup(true, 1);
        sc_add(&g_e, cases[i].line, "");
        sc_add(&g_e, cases[i].line, "");
        assert_int_equal(chat(), WISP_ERR_HTTP_STATUS);
        if (g_e.resp.attempts != cases[i].attempts) {
            print_error("%s: %d attempts\n", cases[i].line, g_e.resp.attempts);
            fail();
        }
        assert_int_equal(g_clk.sleeps, cases[i].attempts - 1);
    }
}

/* A Retry-After that ends after the call's time: not waited for, the 429
 * comes back at once; one within it is waited for exactly. */
static void test_retry_after_beyond_the_time_left(void **state)
{
    WISP_NEEDS(WISP_RETRIES);
    (void)state;
    setup(true, 3);
    sc_add(&g_e, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 12\r\n", "");
    assert_int_equal(chat(), WISP_ERR_HTTP_STATUS);
    assert_int_equal(g_e.resp.attempts, 1);
    assert_int_equal(g_clk.sleeps, 0);
    assert_int_equal(g_e.resp.retry_after_ms, 12000);
    setup(true, 3);
    sc_add(&g_e, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\n", "");
    sc_add_events(&g_e, "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\ndata: [DONE]\n\n");
    assert_int_equal(chat(), WISP_OK);
    assert_int_equal(g_e.resp.attempts, 2);
    assert_int_equal(g_clk.sleeps, 1);
    assert_int_equal(g_clk.now, 1000 + 2000);
}

/* A model list needs a client that was set up. */
static void test_models_without_a_client(void **state)
{
    wisp_client zero;
    size_t count = 9;
    (void)state;
    sc_init(&g_e, NULL);
    memset(&zero, 0, sizeof zero);
    assert_int_equal(wisp_list_models(NULL, &g_e.resp, NULL, NULL, &count),
                     WISP_MODELS ? WISP_ERR_ARG : WISP_ERR_UNSUPPORTED);
    assert_int_equal(count, 0);
    assert_int_equal(wisp_list_models(&zero, &g_e.resp, NULL, NULL, NULL),
                     WISP_MODELS ? WISP_ERR_ARG : WISP_ERR_UNSUPPORTED);
    assert_int_equal(wisp_list_models(&g_e.client, NULL, NULL, NULL, &count),
                     WISP_MODELS ? WISP_ERR_ARG : WISP_ERR_UNSUPPORTED);
    assert_int_equal(g_e.fake.connects, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_without_a_body),
        cmocka_unit_test(test_unlabelled_plain_text),
        cmocka_unit_test(test_long_request_id),
        cmocka_unit_test(test_retried_statuses),
        cmocka_unit_test(test_retry_after_beyond_the_time_left),
        cmocka_unit_test(test_models_without_a_client),
    };
    return cmocka_run_group_tests_name("client_replies", tests, NULL, NULL);
}
