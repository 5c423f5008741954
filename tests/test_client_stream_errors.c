/*
 * test_client_stream_errors.c - errors that a stream carries in the ways
 * that are not an error object in a data line: an "event: error" whose
 * data is plain words, and an error event still waiting for its blank
 * line when the connection closes inside the body (WISP_ERR_API, with its
 * words, not WISP_ERR_CLOSED).
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

static void setup(void)
{
    sc_init(&g_e, NULL);
    g_req = sc_question(&g_msg, "hi");
    g_req.stream = true;
}

static wisp_status chat(void)
{
    return wisp_chat(&g_e.client, &g_req, &g_e.resp, NULL, NULL);
}

/* "event: error" marks the data as an error whatever it holds. */
static void test_error_event_with_plain_words(void **state)
{
    (void)state;
    setup();
    sc_add_events(&g_e, "event: error\ndata: overloaded, try later\n\n");
    assert_int_equal(chat(), WISP_ERR_API);
    assert_string_equal(g_e.content, "");
}

/* An error event cut by the close before its blank line: still the
 * server's error, with its message. */
static void test_error_event_cut_by_the_close(void **state)
{
    static char reply[512];
    int n;
    (void)state;
    setup();
    n = snprintf(reply, sizeof reply,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 400\r\n\r\n%s",
                 "data: {\"error\":{\"message\":\"quota\"}}\n");
    fake_add(&g_e.fake, reply, (size_t)n, END_CLOSE);
    assert_int_equal(chat(), WISP_ERR_API);
    assert_string_equal(g_e.resp.error_message, "quota");
    assert_false(g_e.client.connected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_event_with_plain_words),
        cmocka_unit_test(test_error_event_cut_by_the_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
