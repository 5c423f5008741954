/*
 * test_client_transport_faults.c - the client against a transport that
 * misbehaves or fails at one chosen moment: a send of nothing or of more
 * than asked, a read of more than the room, TLS errors with their detail,
 * a kept connection that dies at the send or at the first read (reopened
 * once, and only before any reply byte), a probe that is cancelled, a
 * clock that runs out before the connect or the send, and the end of the
 * stream at each point of a reply.
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

/* What the hooks do, by call number (1-based; 0: never). */
typedef struct faults {
    int sends, recvs, probes, connects;
    int send_fail_at;
    wisp_status send_fail;
    int send_zero_at, send_over_at;
    int recv_fail_at; /* counted over reads that are not probes */
    wisp_status recv_fail;
    int recv_over_at;
    wisp_status probe_status; /* WISP_OK: the fake's own answer */
    int connect_fail_at;
    uint32_t clock;
    uint32_t advance_at_probe, advance_at_connect;
    uint32_t last_recv_timeout;
} faults;

static faults g_f;
static sc_env g_e;

static wisp_status hook_connect(void *ctx, const char *host, uint16_t port, uint32_t t)
{
    g_f.connects++;
    g_f.clock += g_f.advance_at_connect;
    if (g_f.connects == g_f.connect_fail_at)
        return WISP_ERR_CONNECT;
    return fake_connect(ctx, host, port, t);
}

static wisp_status hook_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent, uint32_t t)
{
    wisp_status st;
    g_f.sends++;
    if (g_f.sends == g_f.send_fail_at) {
        *sent = 0;
        return g_f.send_fail;
    }
    st = fake_send(ctx, buf, len, sent, t);
    if (g_f.sends == g_f.send_zero_at)
        *sent = 0;
    if (g_f.sends == g_f.send_over_at)
        *sent = len + 1;
    return st;
}

static wisp_status hook_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t t)
{
    wisp_status st;
    if (t == 0) { /* the check of a kept connection */
        g_f.probes++;
        g_f.clock += g_f.advance_at_probe;
        if (g_f.probe_status != WISP_OK) {
            *got = 0;
            return g_f.probe_status;
        }
        return fake_recv(ctx, buf, cap, got, t);
    }
    g_f.recvs++;
    g_f.last_recv_timeout = t;
    if (g_f.recvs == g_f.recv_fail_at) {
        *got = 0;
        return g_f.recv_fail;
    }
    st = fake_recv(ctx, buf, cap, got, t);
    if (g_f.recvs == g_f.recv_over_at)
        *got = cap + 1;
    return st;
}

static int hook_last_error(void *ctx, char *detail, size_t cap)
{
    (void)ctx;
    snprintf(detail, cap, "bad record mac");
    return -0x7180;
}

static uint32_t hook_now(void *ctx)
{
    (void)ctx;
    return g_f.clock;
}

static const char k_events[] = "data: {\"choices\":[{\"delta\":{\"content\":\"str\"}}]}\n\n"
                               "data: {\"choices\":[{\"delta\":{\"content\":\"eam\"}}]}\n\n"
                               "data: [DONE]\n\n";

static wisp_message g_msg;
static wisp_request g_req;

/* A client on the hooked fake; clock: with the now_ms hook. */
static void setup(bool clock, uint32_t total_ms)
{
    wisp_config cfg;
    sc_init(&g_e, NULL);
    memset(&g_f, 0, sizeof g_f);
    g_e.tr.connect = hook_connect;
    g_e.tr.send = hook_send;
    g_e.tr.recv = hook_recv;
    g_e.tr.last_error = hook_last_error;
    cfg = g_e.cfg;
    if (clock)
        cfg.now_ms = hook_now;
    cfg.total_timeout_ms = total_ms;
    assert_int_equal(wisp_client_init(&g_e.client, &cfg, g_e.work, sizeof g_e.work, g_e.toks, 256),
                     WISP_OK);
    g_req = sc_question(&g_msg, "hi");
    g_req.stream = true;
}

static wisp_status chat(void)
{
    return wisp_chat(&g_e.client, &g_req, &g_e.resp, NULL, NULL);
}

/* A send that reports nothing sent, or more than it was given, breaks the
 * transport contract: WISP_ERR_IO, and the connection is not kept. */
static void test_send_contract(void **state)
{
    int which;
    (void)state;
    for (which = 0; which < 2; which++) {
        setup(false, 0);
        if (which == 0)
            g_f.send_zero_at = 1;
        else
            g_f.send_over_at = 1;
        sc_add_events(&g_e, k_events);
        assert_int_equal(chat(), WISP_ERR_IO);
        assert_false(g_e.client.connected);
        assert_int_equal(g_e.resp.content.len, 0);
    }
}

/* A read of more than the room it was given: WISP_ERR_IO. */
static void test_recv_contract(void **state)
{
    (void)state;
    setup(false, 0);
    g_f.recv_over_at = 1;
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_ERR_IO);
    assert_false(g_e.client.connected);
}

/* TLS and certificate errors from a read carry the port's detail. */
static void test_tls_error_detail(void **state)
{
    wisp_status sts[2] = {WISP_ERR_TLS, WISP_ERR_CERT};
    int i;
    (void)state;
    for (i = 0; i < 2; i++) {
        setup(false, 0);
        g_f.recv_fail_at = 1;
        g_f.recv_fail = sts[i];
        sc_add_events(&g_e, k_events);
        assert_int_equal(chat(), sts[i]);
        assert_string_equal(g_e.resp.tls_detail, "bad record mac");
        assert_int_equal(g_e.resp.tls_error, -0x7180);
    }
    /* other failures leave the detail empty */
    setup(false, 0);
    g_f.recv_fail_at = 1;
    g_f.recv_fail = WISP_ERR_TIMEOUT;
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_ERR_TIMEOUT);
    assert_string_equal(g_e.resp.tls_detail, "");
}

/* Two replies on one kept connection; the second request's fate is set
 * by the caller. */
static void two_requests(void)
{
    sc_add_events(&g_e, k_events);
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_OK);
    assert_true(g_e.client.connected);
    assert_int_equal(g_f.connects, 1);
}

/* A kept connection that fails at the send (closed, I/O) is reopened once
 * and the request goes again; another failure is the call's. */
static void test_kept_connection_dies_at_send(void **state)
{
    wisp_status sts[3] = {WISP_ERR_CLOSED, WISP_ERR_IO, WISP_ERR_TIMEOUT};
    int i;
    (void)state;
    for (i = 0; i < 3; i++) {
        setup(false, 0);
        two_requests();
        g_f.send_fail_at = g_f.sends + 1;
        g_f.send_fail = sts[i];
        if (sts[i] == WISP_ERR_TIMEOUT) {
            assert_int_equal(chat(), WISP_ERR_TIMEOUT);
            assert_int_equal(g_f.connects, 1);
            assert_false(g_e.client.connected);
        } else {
            assert_int_equal(chat(), WISP_OK);
            assert_string_equal(g_e.content, "stream");
            assert_int_equal(g_f.connects, 2);
            assert_int_equal(g_e.resp.attempts, 1); /* a reopen is not a retry */
        }
    }
    /* the same failure on a fresh connection is not retried */
    setup(false, 0);
    g_f.send_fail_at = 1;
    g_f.send_fail = WISP_ERR_CLOSED;
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_ERR_CLOSED);
    assert_int_equal(g_f.connects, 1);
}

/* A kept connection whose first read fails (closed, I/O, TLS) before any
 * byte of the reply is reopened once; a timeout is not a dead connection. */
static void test_kept_connection_dies_at_first_read(void **state)
{
    wisp_status sts[4] = {WISP_ERR_CLOSED, WISP_ERR_IO, WISP_ERR_TLS, WISP_ERR_TIMEOUT};
    int i;
    (void)state;
    for (i = 0; i < 4; i++) {
        setup(false, 0);
        two_requests();
        g_f.recv_fail_at = g_f.recvs + 1;
        g_f.recv_fail = sts[i];
        if (sts[i] == WISP_ERR_TIMEOUT) {
            assert_int_equal(chat(), WISP_ERR_TIMEOUT);
            assert_int_equal(g_f.connects, 1);
        } else {
            assert_int_equal(chat(), WISP_OK);
            assert_string_equal(g_e.content, "stream");
            assert_int_equal(g_f.connects, 2);
        }
    }
    /* and the reopened connection failing to connect is the call's end */
    setup(false, 0);
    two_requests();
    g_f.recv_fail_at = g_f.recvs + 1;
    g_f.recv_fail = WISP_ERR_CLOSED;
    g_f.connect_fail_at = 2;
    assert_int_equal(chat(), WISP_ERR_CONNECT);
    assert_false(g_e.client.connected);
}

/* Once a byte of the reply came, a failure is not a stale connection. */
static void test_failure_after_reply_bytes_not_reopened(void **state)
{
    (void)state;
    setup(false, 0);
    two_requests();
    g_e.fake.split = SPLIT_BYTES;
    g_f.recv_fail_at = g_f.recvs + 3;
    g_f.recv_fail = WISP_ERR_CLOSED;
    assert_int_equal(chat(), WISP_ERR_CLOSED);
    assert_int_equal(g_f.connects, 1);
}

/* A cancel from the check of a kept connection ends the call before any
 * byte is written. */
static void test_probe_cancelled(void **state)
{
    size_t sent;
    (void)state;
    setup(false, 0);
    two_requests();
    sent = g_e.fake.sent_len;
    g_f.probe_status = WISP_ERR_CANCELLED;
    assert_int_equal(chat(), WISP_ERR_CANCELLED);
    assert_int_equal(g_e.fake.sent_len, sent);
    assert_int_equal(g_f.probes, 1);
}

/* The whole call's time runs out before the send (the probe took it):
 * TIMEOUT, nothing written. */
static void test_time_gone_before_send(void **state)
{
    size_t sent;
    (void)state;
    setup(true, 1000);
    two_requests();
    sent = g_e.fake.sent_len;
    g_f.advance_at_probe = 1000;
    assert_int_equal(chat(), WISP_ERR_TIMEOUT);
    assert_int_equal(g_e.fake.sent_len, sent);
}

/* ... or before the connect: a kept connection found closed by the probe,
 * and no time left to open another. */
static void test_time_gone_before_connect(void **state)
{
    (void)state;
    setup(true, 1000);
    two_requests();
    g_e.fake.closed_idle = true;
    g_f.advance_at_probe = 5000;
    assert_int_equal(chat(), WISP_ERR_TIMEOUT);
    assert_int_equal(g_f.connects, 1);
    /* a clock that only runs during the connect: nothing left to send */
    setup(true, 1000);
    g_f.advance_at_connect = 1000;
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_ERR_TIMEOUT);
    assert_int_equal(g_e.fake.sent_len, 0);
}

/* A server idle limit longer than ours: ours still holds. */
static void test_longer_server_idle_limit(void **state)
{
    (void)state;
    setup(true, 0);
    sc_add(&g_e, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nKeep-Alive: timeout=600\r\n",
           k_events);
    sc_add_events(&g_e, k_events);
    assert_int_equal(chat(), WISP_OK);
    assert_true(g_e.client.connected);
    g_f.clock += WISP_KEEPALIVE_MAX_IDLE_MS; /* our limit, well before the server's */
    assert_int_equal(chat(), WISP_OK);
    assert_int_equal(g_f.connects, 2);
    assert_int_equal(g_f.probes, 0); /* closed without a probe */
}

/* The drain after [DONE] waits no longer than the read timeout when that
 * is shorter than the drain window; an orderly close during the drain
 * still gives the whole text. */
static void test_drain_after_done(void **state)
{
    static const char head[] =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n";
    static char body[512];
    wisp_config cfg;
    (void)state;
    /* [DONE] in a chunk, and the last chunk never comes */
    snprintf(body, sizeof body, "%x\r\n%s\r\n", (unsigned)strlen(k_events), k_events);
    setup(true, 0);
    cfg = g_e.cfg;
    cfg.now_ms = hook_now;
    cfg.read_timeout_ms = 300;
    g_e.tr.last_error = NULL;
    assert_int_equal(wisp_client_init(&g_e.client, &cfg, g_e.work, sizeof g_e.work, g_e.toks, 256),
                     WISP_OK);
    sc_add_framed(&g_e, head, body, false, END_KEEP);
    assert_int_equal(chat(), WISP_OK);
    assert_string_equal(g_e.content, "stream");
    assert_int_equal(g_f.last_recv_timeout, 300);
    assert_false(g_e.client.connected); /* the end never came: not reused */
    /* the same, closed by the server during the wait */
    setup(true, 0);
    sc_add_framed(&g_e, head, body, false, END_CLOSE);
    assert_int_equal(chat(), WISP_OK);
    assert_string_equal(g_e.content, "stream");
    assert_true(g_f.last_recv_timeout <= WISP_DRAIN_AFTER_DONE_MS);
    assert_false(g_e.client.connected);
}

/* The end of the stream inside a reply: a JSON body cut short is CLOSED;
 * a stream whose last event was an error says so (API); a stream cut after
 * text is CLOSED with the text kept. */
static void test_close_inside_a_reply(void **state)
{
    static const char error_event[] = "data: {\"error\":{\"message\":\"quota\"}}\n\n";
    static const char text_event[] = "data: {\"choices\":[{\"delta\":{\"content\":\"par\"}}]}\n\n";
    static char reply[1024];
    int n;
    (void)state;
    /* a Content-Length beyond what comes */
    if (WISP_NONSTREAM) {
        setup(false, 0);
        g_req.stream = false;
        n = snprintf(reply, sizeof reply,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 90\r\n\r\n%s",
                     "{\"choices\":[");
        fake_add(&g_e.fake, reply, (size_t)n, END_CLOSE);
        assert_int_equal(chat(), WISP_ERR_CLOSED);
    }
    setup(false, 0);
    n = snprintf(reply, sizeof reply,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 400\r\n\r\n%s",
                 error_event);
    fake_add(&g_e.fake, reply, (size_t)n, END_CLOSE);
    assert_int_equal(chat(), WISP_ERR_API);
    assert_string_equal(g_e.resp.error_message, "quota");
    setup(false, 0);
    n = snprintf(reply, sizeof reply,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 400\r\n\r\n%s",
                 text_event);
    fake_add(&g_e.fake, reply, (size_t)n, END_CLOSE);
    assert_int_equal(chat(), WISP_ERR_CLOSED);
    assert_string_equal(g_e.content, "par");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_contract),
        cmocka_unit_test(test_recv_contract),
        cmocka_unit_test(test_tls_error_detail),
        cmocka_unit_test(test_kept_connection_dies_at_send),
        cmocka_unit_test(test_kept_connection_dies_at_first_read),
        cmocka_unit_test(test_failure_after_reply_bytes_not_reopened),
        cmocka_unit_test(test_probe_cancelled),
        cmocka_unit_test(test_time_gone_before_send),
        cmocka_unit_test(test_time_gone_before_connect),
        cmocka_unit_test(test_longer_server_idle_limit),
        cmocka_unit_test(test_drain_after_done),
        cmocka_unit_test(test_close_inside_a_reply),
    };
    return cmocka_run_group_tests_name("client_transport_faults", tests, NULL, NULL);
}
