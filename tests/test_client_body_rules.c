/*
 * test_client_body_rules.c - the bounds the client puts on one exchange:
 * 2xx is 200..299 (a 299 reply is read, a 300 is an error status); a JSON
 * Content-Length beyond the buffer fails at the head, before any of the
 * body is read, and one that fills it exactly is read; an unframed body
 * one byte beyond the buffer fails, one that fills it is read; no read
 * after [DONE] on a connection that cannot be kept; a drain that reads
 * the end of the body in pieces keeps the connection; the call's time
 * running out between two reads is a timeout; a send taking one byte at
 * a time still sends every byte; a response buffer of 1 byte without
 * storage is refused; the largest token count jsmn can take is accepted;
 * a transport's error detail without its NUL is cut to the field.
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

#define SMALL_WORK 1024u
#define SMALL_ACC (SMALL_WORK - WISP_RX_CHUNK)

static sc_env g_e;
static wisp_message g_msg;
static wisp_request g_req;
static uint32_t g_clock;
static uint32_t g_advance_at_recv; /* added to the clock by each read that waits */
static char g_body[SC_REPLY_CAP];

static uint32_t clock_now(void *ctx)
{
    (void)ctx;
    return g_clock;
}

static wisp_status hook_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t t)
{
    if (t > 0)
        g_clock += g_advance_at_recv;
    return fake_recv(ctx, buf, cap, got, t);
}

static int hook_last_error(void *ctx, char *detail, size_t cap)
{
    (void)ctx;
    memset(detail, 'x', cap); /* no NUL: the client must end it */
    return -0x7780;
}

static void setup_sized(bool stream, size_t work_size, uint32_t total_ms)
{
    wisp_config cfg;
    sc_init(&g_e, NULL);
    g_e.tr.recv = hook_recv;
    cfg = g_e.cfg;
    cfg.now_ms = clock_now;
    cfg.total_timeout_ms = total_ms;
    assert_int_equal(wisp_client_init(&g_e.client, &cfg, g_e.work, work_size, g_e.toks, 256),
                     WISP_OK);
    g_req = sc_question(&g_msg, "hi");
    g_req.stream = stream;
    g_clock = 1000;
    g_advance_at_recv = 0;
}

static void setup(bool stream)
{
    setup_sized(stream, sizeof g_e.work, 0);
}

static wisp_status chat(void)
{
    return wisp_chat(&g_e.client, &g_req, &g_e.resp, NULL, NULL);
}

static const char k_events[] = "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n"
                               "data: [DONE]\n\n";

/* A JSON reply padded with spaces to len bytes. */
static const char *padded_reply(size_t len)
{
    static const char reply[] = "{\"choices\":[{\"message\":{\"content\":\"ok\"}}]}";
    size_t n = strlen(reply);
    assert_true(len >= n && len < sizeof g_body);
    memset(g_body, ' ', len);
    memcpy(g_body + (len - n), reply, n);
    g_body[len] = '\0';
    return g_body;
}

/* 299 is a success, 300 is not. */
static void test_success_is_200_to_299(void **state)
{
    (void)state;
    setup(true);
    sc_add_events(&g_e, k_events);
    g_e.replies[0][9] = '2'; /* "HTTP/1.1 200" -> "HTTP/1.1 299" */
    g_e.replies[0][10] = '9';
    g_e.replies[0][11] = '9';
    assert_int_equal(chat(), WISP_OK);
    assert_int_equal(g_e.resp.http_status, 299);
    assert_string_equal(g_e.content, "ok");
    setup(true);
    sc_add(&g_e, "HTTP/1.1 300 Multiple Choices\r\nContent-Type: text/event-stream\r\n", k_events);
    assert_int_equal(chat(), WISP_ERR_HTTP_STATUS);
    assert_int_equal(g_e.resp.http_status, 300);
    assert_string_equal(g_e.content, "");
}

/* A labelled JSON body whose Content-Length is beyond the buffer fails at
 * the head: the body is not read.  One that fills the buffer exactly is
 * read. */
static void test_content_length_guard(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    (void)state;
    setup_sized(false, SMALL_WORK, 0);
    sc_add_json(&g_e, padded_reply(SMALL_ACC + 1));
    g_e.fake.split = SPLIT_BYTES;
    assert_int_equal(chat(), WISP_ERR_TOO_LARGE);
    assert_true(g_e.fake.pos < g_e.fake.replies[0].len - SMALL_ACC); /* not read: cut at the head */
    setup_sized(false, SMALL_WORK, 0);
    sc_add_json(&g_e, padded_reply(SMALL_ACC));
    assert_int_equal(chat(), WISP_OK);
    assert_string_equal(g_e.content, "ok");
}

/* A body without a length (until close) one byte beyond the buffer fails
 * as too large; one that fills it exactly is read. */
static void test_unframed_body_bound(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    (void)state;
    setup_sized(false, SMALL_WORK, 0);
    sc_add_framed(&g_e, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n",
                  padded_reply(SMALL_ACC + 1), false, END_CLOSE);
    assert_int_equal(chat(), WISP_ERR_TOO_LARGE);
    setup_sized(false, SMALL_WORK, 0);
    sc_add_framed(&g_e, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n",
                  padded_reply(SMALL_ACC), false, END_CLOSE);
    assert_int_equal(chat(), WISP_OK);
    assert_string_equal(g_e.content, "ok");
}

/* [DONE] on a connection that cannot be kept (Connection: close, or a
 * body that runs until the close): nothing more is read. */
static void test_no_drain_when_not_kept(void **state)
{
    char body[256];
    (void)state;
    snprintf(body, sizeof body, "%x\r\n%s\r\n", (unsigned)strlen(k_events), k_events);
    setup(true);
    sc_add_framed(&g_e,
                  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
                  "Transfer-Encoding: chunked\r\n",
                  body, false, END_KEEP);
    assert_int_equal(chat(), WISP_OK);
    assert_string_equal(g_e.content, "ok");
    assert_int_equal(g_e.fake.recv_calls, 1);
    assert_false(g_e.client.connected);
    setup(true);
    sc_add_framed(&g_e, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n", k_events, false,
                  END_KEEP);
    assert_int_equal(chat(), WISP_OK);
    assert_int_equal(g_e.fake.recv_calls, 1);
    assert_false(g_e.client.connected);
}

/* The end of the body after [DONE] arrives a byte at a time: the drain
 * reads it all and the connection carries the next call. */
static void test_drain_in_pieces_keeps_the_connection(void **state)
{
    static char body[256];
    (void)state;
    snprintf(body, sizeof body, "%x\r\n%s\r\n0\r\n\r\n", (unsigned)strlen(k_events), k_events);
    setup(true);
    sc_add_framed(&g_e,
                  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n",
                  body, false, END_KEEP);
    sc_add_events(&g_e, k_events);
    g_e.fake.split = SPLIT_BYTES;
    assert_int_equal(chat(), WISP_OK);
    assert_true(g_e.client.connected);
    assert_int_equal(chat(), WISP_OK);
    assert_string_equal(g_e.content, "ok");
    assert_int_equal(g_e.fake.connects, 1);
}

/* The call's time runs out between two reads of a reply: a timeout. */
static void test_time_runs_out_between_reads(void **state)
{
    (void)state;
    setup_sized(true, sizeof g_e.work, 5000);
    sc_add_events(&g_e, k_events);
    g_e.fake.split = SPLIT_BYTES;
    g_advance_at_recv = 100; /* 50 reads and the time is gone */
    assert_int_equal(chat(), WISP_ERR_TIMEOUT);
    assert_false(g_e.client.connected);
}

/* A transport that takes one byte a send: every byte goes, in order. */
static void test_send_one_byte_at_a_time(void **state)
{
    static char whole[FAKE_SENT_CAP + 1];
    (void)state;
    setup(true);
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_OK);
    strcpy(whole, sc_sent(&g_e));
    setup(true);
    sc_add_events(&g_e, k_events);
    g_e.fake.send_max = 1;
    assert_int_equal(chat(), WISP_OK);
    assert_string_equal(sc_sent(&g_e), whole);
}

/* A response buffer that claims a byte of room without storage. */
static void test_buffer_of_one_without_storage(void **state)
{
    (void)state;
    setup(true);
    g_e.resp.content.buf = NULL;
    g_e.resp.content.cap = 1;
    assert_int_equal(chat(), WISP_ERR_ARG);
    setup(true);
    g_e.resp.reasoning.buf = NULL;
    g_e.resp.reasoning.cap = 1;
    assert_int_equal(chat(), WISP_ERR_ARG);
    assert_int_equal(g_e.fake.connects, 0);
}

/* jsmn counts tokens in an int: INT32_MAX tokens is the most a client
 * takes (init only records the count), one more is refused. */
static void test_largest_token_count(void **state)
{
    (void)state;
    sc_init(&g_e, NULL);
    assert_int_equal(wisp_client_init(&g_e.client, &g_e.cfg, g_e.work, sizeof g_e.work, g_e.toks,
                                      (size_t)0x7FFFFFFFu),
                     WISP_OK);
    if (SIZE_MAX > 0x7FFFFFFFu) {
        assert_int_equal(wisp_client_init(&g_e.client, &g_e.cfg, g_e.work, sizeof g_e.work,
                                          g_e.toks, (size_t)0x80000000u),
                         WISP_ERR_ARG);
    }
}

/* A transport's error detail that fills the field without a NUL is cut
 * to the field, NUL-terminated. */
static void test_unterminated_transport_detail(void **state)
{
    (void)state;
    setup(true);
    g_e.tr.last_error = hook_last_error;
    g_e.fake.connect_failures = 1;
    g_e.fake.connect_status = WISP_ERR_TLS;
    assert_int_equal(chat(), WISP_ERR_TLS);
    assert_int_equal(g_e.resp.tls_error, -0x7780);
    assert_int_equal(strlen(g_e.resp.tls_detail), sizeof g_e.resp.tls_detail - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_is_200_to_299),
        cmocka_unit_test(test_content_length_guard),
        cmocka_unit_test(test_unframed_body_bound),
        cmocka_unit_test(test_no_drain_when_not_kept),
        cmocka_unit_test(test_drain_in_pieces_keeps_the_connection),
        cmocka_unit_test(test_time_runs_out_between_reads),
        cmocka_unit_test(test_send_one_byte_at_a_time),
        cmocka_unit_test(test_buffer_of_one_without_storage),
        cmocka_unit_test(test_largest_token_count),
        cmocka_unit_test(test_unterminated_transport_detail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
