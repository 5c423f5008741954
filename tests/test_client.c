/*
 * test_client.c - the client over a scripted transport: URL parsing, the
 * exact request bytes, header injection, keep-alive, stale connections,
 * retries, cancellation, and a 1 MB stream through a 2 KB work buffer.
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
#include "wisp.h"

/* ---- helpers -------------------------------------------------------------- */

static const char OK_BODY[] =
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"pong\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";

static char ok_reply[1024];
static char close_reply[1024];

/* A 200 reply carrying body as application/json with its Content-Length. */
static void json_reply(char *out, size_t cap, const char *body)
{
    snprintf(out, cap,
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %u\r\n\r\n%s",
             (unsigned)strlen(body), body);
}

static void make_replies(void)
{
    json_reply(ok_reply, sizeof ok_reply, OK_BODY);
    snprintf(close_reply, sizeof close_reply,
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
             "Content-Length: %u\r\n\r\n%s",
             (unsigned)strlen(OK_BODY), OK_BODY);
}

typedef struct env {
    fake_transport fake;
    wisp_transport tr;
    wisp_config cfg;
    wisp_client client;
    uint8_t work[8192];
    wisp_token tokens[96];
    wisp_message msg;
    wisp_request req;
    char content[4096];
    wisp_response resp;
    uint32_t clock_ms;
    uint32_t slept[8];
    int sleeps;
} env;

static env *E;

static uint32_t fake_now(void *ctx)
{
    return ((env *)ctx)->clock_ms;
}

static void fake_sleep(void *ctx, uint32_t ms)
{
    env *e = (env *)ctx;
    if (e->sleeps < 8) {
        e->slept[e->sleeps] = ms;
    }
    e->sleeps++;
    e->clock_ms += ms;
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    make_replies();
    fake_init(&e->fake, &e->tr);
    e->cfg.base_url = "http://127.0.0.1:8080/v1";
    e->cfg.api_key = "test-key-not-real";
    e->cfg.transport = &e->tr;
    e->cfg.max_retries = 0; /* default */
    e->cfg.now_ms = fake_now;
    e->cfg.sleep_ms = fake_sleep;
    e->cfg.platform_ctx = e;
    e->msg.role = WISP_ROLE_USER;
    e->msg.content = "ping";
    e->req.model = "gemini-2.5-flash";
    e->req.messages = &e->msg;
    e->req.message_count = 1;
    wisp_response_init(&e->resp, e->content, sizeof e->content, NULL, 0);
    *state = e;
    E = e;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static wisp_status init_client(env *e)
{
    return wisp_client_init(&e->client, &e->cfg, e->work, sizeof e->work, e->tokens,
                            sizeof e->tokens / sizeof e->tokens[0]);
}

static wisp_status chat(env *e)
{
    return wisp_chat(&e->client, &e->req, &e->resp, NULL, NULL);
}

/* The request head (up to the blank line) and body as sent. */
static void split_sent(env *e, size_t index, char *head, size_t head_cap, char *body,
                       size_t body_cap)
{
    const char *s = (const char *)e->fake.sent;
    const char *end = s + e->fake.sent_len;
    size_t i;
    for (i = 0; i <= index; i++) {
        const char *blank = strstr(s, "\r\n\r\n");
        const char *cl;
        size_t body_len, head_len;
        assert_non_null(blank);
        head_len = (size_t)(blank + 4 - s);
        cl = strstr(s, "Content-Length: ");
        assert_non_null(cl);
        body_len = strtoul(cl + 16, NULL, 10);
        assert_true(blank + 4 + body_len <= end);
        if (i == index) {
            assert_true(head_len < head_cap && body_len < body_cap);
            memcpy(head, s, head_len);
            head[head_len] = '\0';
            memcpy(body, blank + 4, body_len);
            body[body_len] = '\0';
        }
        s = blank + 4 + body_len;
    }
}

/* ---- URL ------------------------------------------------------------------ */

static void test_url_forms(void **state)
{
    wisp_url u;
    (void)state;
    assert_int_equal(wisp_url_parse("https://api.evolink.ai/v1", &u), WISP_OK);
    assert_true(u.https);
    assert_string_equal(u.host, "api.evolink.ai");
    assert_int_equal(u.port, 443);
    assert_int_equal(u.path_len, 3);
    assert_memory_equal(u.path, "/v1", 3);

    assert_int_equal(wisp_url_parse("HTTP://127.0.0.1:11434/v1/", &u), WISP_OK);
    assert_false(u.https);
    assert_int_equal(u.port, 11434);
    assert_int_equal(u.path_len, 3);

    assert_int_equal(wisp_url_parse("http://[::1]:8080", &u), WISP_OK);
    assert_true(u.host_is_ipv6);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 8080);
    assert_int_equal(u.path_len, 0);

    assert_int_equal(wisp_url_parse("https://generativelanguage.googleapis.com/v1beta/openai", &u),
                     WISP_OK);
    assert_int_equal(u.path_len, strlen("/v1beta/openai"));
}

static void test_url_rejects(void **state)
{
    static const char *const bad[] = {
        "ftp://host/v1", "https://", "https://:443/v1", "http://host:0/", "http://host:65536/",
        "http://host:12a/", "http://user@host/", "http://host/v1?x=1", "http://host/v 1",
        "http://[::1/v1", "http://[fe80::1%eth0]/", "http://host/%zz", "host/v1",
        "http://-host/", "http://host:/v1",
    };
    size_t i;
    wisp_url u;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (wisp_url_parse(bad[i], &u) != WISP_ERR_URL) {
            print_error("accepted %s\n", bad[i]);
            fail();
        }
    }
    assert_int_equal(wisp_url_parse(NULL, &u), WISP_ERR_ARG);
}

/* ---- the request ------------------------------------------------------------ */

static void test_request_bytes(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARAMS);
    env *e = (env *)*state;
    char head[2048], body[2048];
    wisp_message msgs[2] = {{.role = WISP_ROLE_SYSTEM, .content = "be \"brief\"\n\\ok\x01"},
                            {.role = WISP_ROLE_USER, .content = "caf\xc3\xa9 \xf0\x9f\x98\x80 bad\xff"}};
    wisp_header extra = {"X-Route", "eu-1"};
    e->cfg.headers = &extra;
    e->cfg.header_count = 1;
    e->req.messages = msgs;
    e->req.message_count = 2;
    e->req.max_tokens = 64;
    e->req.has_temperature = true;
    e->req.temperature_milli = WISP_MILLI(0.7);
    e->req.has_top_p = true;
    e->req.top_p_milli = 1000;
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_string_equal(e->resp.content.buf, "pong");
    split_sent(e, 0, head, sizeof head, body, sizeof body);
    assert_string_equal(head, "POST /v1/chat/completions HTTP/1.1\r\n"
                              "Host: 127.0.0.1:8080\r\n"
                              "User-Agent: wisp/" WISP_VERSION "\r\n"
                              "Accept: application/json\r\n"
                              "Accept-Encoding: identity\r\n"
                              "Content-Type: application/json\r\n"
                              "Content-Length: 189\r\n"
                              "Authorization: Bearer test-key-not-real\r\n"
                              "Connection: keep-alive\r\n"
                              "X-Route: eu-1\r\n\r\n");
    assert_string_equal(body, "{\"model\":\"gemini-2.5-flash\",\"messages\":["
                              "{\"role\":\"system\",\"content\":\"be \\\"brief\\\"\\n\\\\ok\\u0001\"},"
                              "{\"role\":\"user\",\"content\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 bad\\ufffd\"}],"
                              "\"max_tokens\":64,\"temperature\":0.7,\"top_p\":1}");
    assert_int_equal(strlen(body), 189);
    assert_int_equal(wisp_request_body_size(&e->req), 189);
}

/* Through an HTTP proxy to a plain-http server the request line names the
 * whole URL; https (a CONNECT tunnel) keeps the origin form. */
static void test_request_absolute_form(void **state)
{
    static const char *const bases[] = {"http://127.0.0.1:8080/v1", "http://[::1]:80",
                                        "https://127.0.0.1:8443/v1"};
    static const char *const lines[] = {
        "POST http://127.0.0.1:8080/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n",
        "POST http://[::1]/chat/completions HTTP/1.1\r\nHost: [::1]\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"};
    static const char sse[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                              "Content-Length: 14\r\n\r\ndata: [DONE]\n\n";
    env *e = (env *)*state;
    char head[2048], body[2048];
    size_t i;
    for (i = 0; i < 3; i++) {
        e->cfg.base_url = bases[i];
        e->cfg.absolute_form = true;
        e->req.stream = true;
        e->fake.sent_len = 0;
        fake_add(&e->fake, sse, strlen(sse), END_CLOSE);
        assert_int_equal(init_client(e), WISP_OK);
        assert_int_equal(chat(e), WISP_OK);
        split_sent(e, 0, head, sizeof head, body, sizeof body);
        if (strncmp(head, lines[i], strlen(lines[i])) != 0) {
            print_error("%s: %s\n", bases[i], head);
            fail();
        }
        wisp_client_close(&e->client);
    }
}

static void test_request_minimal_stream_ipv6(void **state)
{
    env *e = (env *)*state;
    char head[2048], body[2048];
    static const char sse[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                              "Content-Length: 14\r\n\r\ndata: [DONE]\n\n";
    e->cfg.base_url = "https://[::1]";
    e->cfg.api_key = NULL;
    e->req.stream = true;
    fake_add(&e->fake, sse, strlen(sse), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    split_sent(e, 0, head, sizeof head, body, sizeof body);
    assert_non_null(strstr(head, "POST /chat/completions HTTP/1.1\r\nHost: [::1]\r\n"));
    assert_non_null(strstr(head, "Accept: text/event-stream\r\n"));
    assert_null(strstr(head, "Authorization"));
    assert_string_equal(body, "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
                              "\"content\":\"ping\"}],\"stream\":true,"
                              "\"stream_options\":{\"include_usage\":true}}");
}

static void test_header_injection(void **state)
{
    env *e = (env *)*state;
    wisp_header bad_value = {"X-Ok", "a\r\nX-Evil: 1"};
    wisp_header bad_name = {"X Bad", "v"};
    e->cfg.api_key = "key\r\nX-Evil: 1";
    assert_int_equal(init_client(e), WISP_ERR_HEADER_VALUE);
    e->cfg.api_key = "key";
    e->cfg.headers = &bad_value;
    e->cfg.header_count = 1;
    assert_int_equal(init_client(e), WISP_ERR_HEADER_VALUE);
    e->cfg.headers = &bad_name;
    assert_int_equal(init_client(e), WISP_ERR_HEADER_VALUE);
    e->cfg.header_count = 0;
    e->cfg.base_url = "http://host/v1\r\nX-Evil: 1"; /* the URL parser refuses it */
    assert_int_equal(init_client(e), WISP_ERR_URL);
}

static void test_reserved_and_control_headers(void **state)
{
    env *e = (env *)*state;
    wisp_header smuggle = {"content-LENGTH", "0"};
    wisp_header host = {"Host", "evil.example"};
    wisp_header auth = {"Authorization", "Bearer other"};
    wisp_header ok = {"X-Title", "wisp\ttest"};
    e->cfg.header_count = 1;
    e->cfg.headers = &smuggle;
    assert_int_equal(init_client(e), WISP_ERR_HEADER_VALUE);
    e->cfg.headers = &host;
    assert_int_equal(init_client(e), WISP_ERR_HEADER_VALUE);
    e->cfg.headers = &auth; /* a second Authorization next to api_key */
    assert_int_equal(init_client(e), WISP_ERR_HEADER_VALUE);
    e->cfg.api_key = NULL; /* without api_key the caller may send its own */
    assert_int_equal(init_client(e), WISP_OK);
    e->cfg.api_key = "sk-\x1b[2J";
    e->cfg.headers = &ok;
    assert_int_equal(init_client(e), WISP_ERR_HEADER_VALUE);
    e->cfg.api_key = "sk-fine";
    assert_int_equal(init_client(e), WISP_OK);
}

static void test_base_url_is_copied(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    env *e = (env *)*state;
    char url[64];
    char head[2048], body[2048];
    strcpy(url, "http://127.0.0.1:8080/gw/v1");
    e->cfg.base_url = url;
    assert_int_equal(init_client(e), WISP_OK);
    memset(url, 'X', sizeof url - 1); /* the caller reuses its buffer */
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(chat(e), WISP_OK);
    split_sent(e, 0, head, sizeof head, body, sizeof body);
    assert_non_null(strstr(head, "POST /gw/v1/chat/completions HTTP/1.1\r\n"));
}

static void test_bad_arguments(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARAMS);
    env *e = (env *)*state;
    assert_int_equal(wisp_client_init(&e->client, &e->cfg, e->work, 100, e->tokens, 96),
                     WISP_ERR_ARG);
    assert_int_equal(init_client(e), WISP_OK);
    e->req.model = NULL;
    assert_int_equal(chat(e), WISP_ERR_ARG);
    e->req.model = "m";
    e->req.has_temperature = true;
    e->req.temperature_milli = 2001;
    assert_int_equal(chat(e), WISP_ERR_ARG);
    e->req.temperature_milli = 0;
    e->req.message_count = 0;
    assert_int_equal(chat(e), WISP_ERR_ARG);
    assert_int_equal(e->fake.connects, 0);
    assert_int_equal(wisp_chat(&e->client, &e->req, NULL, NULL, NULL), WISP_ERR_ARG);
}

/* ---- connections ------------------------------------------------------------ */

static void test_keep_alive_reuses_connection(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    env *e = (env *)*state;
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->fake.connects, 1);
    assert_int_equal(e->client.connects, 1);
    assert_int_equal(e->client.requests, 3);
}

static void test_long_idle_connection_not_reused(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    env *e = (env *)*state;
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    e->clock_ms += WISP_KEEPALIVE_MAX_IDLE_MS - 1000; /* still fresh: reused */
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->fake.connects, 1);
    e->clock_ms += WISP_KEEPALIVE_MAX_IDLE_MS + 1000; /* a NAT may have dropped it */
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->fake.connects, 2);
}

static void test_connection_close_reconnects(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    env *e = (env *)*state;
    fake_add(&e->fake, close_reply, strlen(close_reply), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->fake.connects, 2);
}

static void test_stale_connection_reopened_once(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    env *e = (env *)*state;
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    e->cfg.max_retries = WISP_NO_RETRIES;
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    e->fake.dead_on_reuse = true; /* the server dropped the idle connection */
    assert_int_equal(chat(e), WISP_OK);
    assert_string_equal(e->resp.content.buf, "pong");
    assert_int_equal(e->fake.connects, 2);
    assert_int_equal(e->sleeps, 0);
}

static void test_no_hang_after_complete_response(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    env *e = (env *)*state;
    /* END_KEEP: a further recv would time out; the client must not ask. */
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_true(e->client.connected);
}

/* ---- retries ---------------------------------------------------------------- */

static const char R429[] = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
                           "Retry-After: 3\r\nContent-Length: 35\r\n\r\n"
                           "{\"error\":{\"message\":\"slow down\"}}\r\n";
static const char R503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 11\r\n"
                           "Content-Type: text/plain\r\n\r\nbusy, later";
static const char R400[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                           "Content-Length: 29\r\n\r\n{\"error\":{\"message\":\"bad\"}}\r\n";

static void test_retry_after_429(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_RETRIES);
    env *e = (env *)*state;
    fake_add(&e->fake, R429, strlen(R429), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->resp.attempts, 2);
    assert_int_equal(e->sleeps, 1);
    assert_int_equal(e->slept[0], 3000);
    assert_string_equal(e->resp.content.buf, "pong");
    assert_int_equal(e->resp.error_message[0], '\0');
    assert_int_equal(e->fake.connects, 1); /* the 429 left the connection usable */
}

/* A Retry-After date is waited for as its distance from the reply's Date:
 * no wall clock on the device. */
static void test_retry_after_date_waited_for(void **state)
{
    static const char r503[] = "HTTP/1.1 503 Service Unavailable\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\n"
                               "Retry-After: Tue, 01 Dec 2026 10:00:04 GMT\r\n"
                               "Content-Length: 4\r\n\r\nbusy";
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_RETRIES);
    env *e = (env *)*state;
    fake_add(&e->fake, r503, strlen(r503), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->resp.attempts, 2);
    assert_int_equal(e->sleeps, 1);
    assert_int_equal(e->slept[0], 4000);
}

static void test_retries_exhausted(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_RETRIES);
    env *e = (env *)*state;
    int i;
    for (i = 0; i < 4; i++) {
        fake_add(&e->fake, R503, strlen(R503), END_KEEP);
    }
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_ERR_HTTP_STATUS);
    assert_int_equal(e->resp.http_status, 503);
    assert_string_equal(e->resp.error_message, "busy, later");
    assert_int_equal(e->resp.attempts, 3); /* first try + the default 2 retries */
    assert_int_equal(e->sleeps, 2);
    /* Exponential backoff with jitter: 375..500 ms, then 750..1000 ms. */
    assert_in_range(e->slept[0], 375, 500);
    assert_in_range(e->slept[1], 750, 1000);
}

static void test_no_retry_on_400(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    env *e = (env *)*state;
    fake_add(&e->fake, R400, strlen(R400), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_ERR_HTTP_STATUS);
    assert_int_equal(e->resp.attempts, 1);
    assert_string_equal(e->resp.error_message, "bad");
}

/* 402 is quota or billing at one-api gateways: the message reaches the
 * caller and nothing is retried. */
static void test_no_retry_on_402(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    static const char body402[] =
        "{\"error\":{\"message\":\"quota exhausted\",\"type\":\"insufficient_quota\"}}";
    static char r402[512];
    env *e = (env *)*state;
    snprintf(r402, sizeof r402,
             "HTTP/1.1 402 Payment Required\r\nContent-Type: application/json\r\n"
             "x-oneapi-request-id: 20261202170933\r\nContent-Length: %u\r\n\r\n%s",
             (unsigned)strlen(body402), body402);
    fake_add(&e->fake, r402, strlen(r402), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_ERR_HTTP_STATUS);
    assert_int_equal(e->resp.http_status, 402);
    assert_int_equal(e->resp.attempts, 1);
    assert_int_equal(e->sleeps, 0);
    assert_string_equal(e->resp.error_message, "quota exhausted");
    assert_string_equal(e->resp.error_type, "insufficient_quota");
    assert_string_equal(e->resp.request_id, "20261202170933");
}

/* The caller's Idempotency-Key goes out on every attempt of one call. */
static void test_idempotency_key_on_every_retry(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_RETRIES);
    env *e = (env *)*state;
    char head[2048], body[2048];
    size_t i;
    e->req.idempotency_key = "order-7f3a";
    for (i = 0; i < 2; i++) {
        fake_add(&e->fake, R503, strlen(R503), END_KEEP);
    }
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->resp.attempts, 3);
    for (i = 0; i < 3; i++) {
        const char *at;
        split_sent(e, i, head, sizeof head, body, sizeof body);
        at = strstr(head, "\r\nIdempotency-Key: order-7f3a\r\n");
        assert_non_null(at);
        assert_null(strstr(at + 3, "Idempotency-Key")); /* once */
    }
    /* Not sent when not set; refused when a configured header has it too. */
    e->req.idempotency_key = NULL;
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(chat(e), WISP_OK);
    split_sent(e, 3, head, sizeof head, body, sizeof body);
    assert_null(strstr(head, "Idempotency-Key"));
    {
        wisp_header h = {"idempotency-KEY", "x"};
        e->cfg.headers = &h;
        e->cfg.header_count = 1;
        fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
        assert_int_equal(init_client(e), WISP_OK);
        assert_int_equal(chat(e), WISP_OK); /* the header alone is the caller's */
        e->req.idempotency_key = "k";
        assert_int_equal(chat(e), WISP_ERR_HEADER_VALUE);
    }
}

static wisp_status failing_read(void *ctx, size_t offset, uint8_t *buf, size_t len)
{
    size_t *calls = (size_t *)ctx;
    (*calls)++;
    if (offset > 0) {
        return WISP_ERR_IO;
    }
    memset(buf, 0xAB, len);
    buf[0] = 0xFF;
    return WISP_OK;
}

/* An image whose source fails mid-body: the request is abandoned, the
 * connection (with half a body on it) closed, nothing retried. */
static void test_image_read_failure_abandons_request(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARTS);
    WISP_NEEDS(WISP_IMAGES);
    env *e = (env *)*state;
    wisp_part part;
    size_t calls = 0;
    memset(&part, 0, sizeof part);
    part.type = WISP_PART_IMAGE;
    part.image_type = WISP_IMAGE_JPEG;
    part.size = 100000;
    part.read = failing_read;
    part.read_ctx = &calls;
    e->msg.content = NULL;
    e->msg.parts = &part;
    e->msg.part_count = 1;
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_ERR_IMAGE_READ);
    assert_int_equal(e->resp.attempts, 1);
    assert_int_equal(calls, 2);
    assert_false(e->client.connected);
    assert_int_equal(e->fake.connects, 1);
    assert_true(e->fake.sent_len < wisp_request_body_size(&e->req));
}

/* A body past what size_t counts is refused before connecting. */
static void test_uncountable_body_refused(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARTS);
    WISP_NEEDS(WISP_IMAGES);
    static const uint8_t byte = 0xFF;
    env *e = (env *)*state;
    wisp_part parts[2];
    memset(parts, 0, sizeof parts);
    parts[0].type = parts[1].type = WISP_PART_IMAGE;
    parts[0].image_type = parts[1].image_type = WISP_IMAGE_PNG;
    parts[0].data = parts[1].data = &byte;
    parts[0].size = parts[1].size = (SIZE_MAX / 8u) * 3u;
    e->msg.content = NULL;
    e->msg.parts = parts;
    e->msg.part_count = 2;
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_ERR_ARG);
    assert_int_equal(e->fake.connects, 0);
}

/* finish_reason length, no text, reasoning tokens: thinking ate the
 * budget; with any text it did not. */
static void test_reasoning_spent_budget(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    static const char spent[] =
        "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":null},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,"
        "\"completion_tokens\":64,\"total_tokens\":69,\"completion_tokens_details\":"
        "{\"reasoning_tokens\":64}}}";
    static const char some_text[] =
        "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":\"The\"},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,"
        "\"completion_tokens\":64,\"total_tokens\":69,\"completion_tokens_details\":"
        "{\"reasoning_tokens\":63}}}";
    static const char no_reasoning[] =
        "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":\"\"},\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,"
        "\"completion_tokens\":64,\"total_tokens\":69}}";
    /* Gemini's compatibility layer: the thoughts only in total_tokens */
    static const char implied[] =
        "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\"},"
        "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,"
        "\"completion_tokens\":0,\"total_tokens\":69}}";
    /* the same, with a count that is not one: absent, so nothing implied */
    static const char implied_absent[] =
        "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\"},"
        "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":\"5\","
        "\"completion_tokens\":0,\"total_tokens\":69}}";
    static char r1[1024], r2[1024], r3[1024], r4[1024], r5[1024];
    env *e = (env *)*state;
    json_reply(r1, sizeof r1, spent);
    json_reply(r2, sizeof r2, some_text);
    json_reply(r3, sizeof r3, no_reasoning);
    fake_add(&e->fake, r1, strlen(r1), END_KEEP);
    fake_add(&e->fake, r2, strlen(r2), END_KEEP);
    json_reply(r4, sizeof r4, implied);
    fake_add(&e->fake, r3, strlen(r3), END_KEEP);
    fake_add(&e->fake, r4, strlen(r4), END_KEEP);
    json_reply(r5, sizeof r5, implied_absent);
    fake_add(&e->fake, r5, strlen(r5), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_true(e->resp.reasoning_spent_budget);
    assert_int_equal(e->resp.usage.reasoning_tokens, 64);
    assert_int_equal(chat(e), WISP_OK);
    assert_false(e->resp.reasoning_spent_budget);
    assert_int_equal(chat(e), WISP_OK);
    assert_false(e->resp.reasoning_spent_budget);
    assert_int_equal(chat(e), WISP_OK);
    assert_true(e->resp.reasoning_spent_budget);
    assert_int_equal(chat(e), WISP_OK);
    assert_false(e->resp.reasoning_spent_budget);
    assert_false(e->resp.usage.has_prompt_tokens);
    assert_int_equal(chat(e), WISP_OK);
    assert_false(e->resp.reasoning_spent_budget);
}

static void test_retry_connect_failure(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_RETRIES);
    env *e = (env *)*state;
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    e->fake.connect_failures = 1;
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->sleeps, 1);

    /* A connect that timed out is retried too. */
    wisp_client_close(&e->client);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    e->fake.connect_failures = 1;
    e->fake.connect_status = WISP_ERR_TIMEOUT;
    e->sleeps = 0;
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->sleeps, 1);

    /* DNS failures are not retried: a wrong name will not get better. */
    e->fake.connect_failures = 5;
    e->fake.connect_status = WISP_ERR_DNS;
    wisp_client_close(&e->client);
    e->sleeps = 0;
    assert_int_equal(chat(e), WISP_ERR_DNS);
    assert_int_equal(e->sleeps, 0);
}

static void test_retry_after_beyond_total_timeout(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_RETRIES);
    env *e = (env *)*state;
    e->cfg.total_timeout_ms = 2000; /* Retry-After: 3 s does not fit */
    fake_add(&e->fake, R429, strlen(R429), END_KEEP);
    fake_add(&e->fake, ok_reply, strlen(ok_reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_ERR_HTTP_STATUS);
    assert_int_equal(e->resp.http_status, 429);
    assert_int_equal(e->resp.retry_after_ms, 3000);
    assert_int_equal(e->sleeps, 0);
}

/* ---- streaming -------------------------------------------------------------- */

static const char STREAM[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    "4e\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n\r\n"
    "3a\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n\r\n"
    "43\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\r\n"
    "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n";

typedef struct seen {
    char text[256];
    size_t len;
    int events;
    int cancel_after;
} seen;

static int on_event(void *user, const wisp_event *ev)
{
    seen *s = (seen *)user;
    if (ev->type == WISP_EVENT_CONTENT) {
        memcpy(s->text + s->len, ev->text, ev->len);
        s->len += ev->len;
        s->events++;
        if (s->cancel_after > 0 && s->events >= s->cancel_after) {
            return 1;
        }
    }
    return 0;
}

static void test_stream_keep_alive(void **state)
{
    env *e = (env *)*state;
    seen s;
    memset(&s, 0, sizeof s);
    e->req.stream = true;
    fake_add(&e->fake, STREAM, strlen(STREAM), END_KEEP);
    fake_add(&e->fake, STREAM, strlen(STREAM), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(wisp_chat(&e->client, &e->req, &e->resp, on_event, &s), WISP_OK);
    assert_string_equal(e->resp.content.buf, "Hello");
    assert_string_equal(e->resp.finish_reason, "stop");
    assert_int_equal(s.len, 5);
    assert_true(e->client.connected);
    assert_int_equal(wisp_chat(&e->client, &e->req, &e->resp, on_event, &s), WISP_OK);
    assert_int_equal(e->fake.connects, 1);
}

/* A streamed reply that keeps the connection open by HTTP's rules, and a
 * server that closes it right after (llama.cpp's server does): the next
 * request must not be written into the dead connection first. */
static const char STREAM_LEN[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 95\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]\n\n";

static void test_closed_after_each_reply_costs_nothing(void **state)
{
    env *e = (env *)*state;
    int i;
    e->req.stream = true;
    for (i = 0; i < 3; i++) {
        fake_add(&e->fake, STREAM_LEN, strlen(STREAM_LEN), END_CLOSE);
    }
    assert_int_equal(init_client(e), WISP_OK);
    for (i = 0; i < 3; i++) {
        assert_int_equal(chat(e), WISP_OK);
        assert_string_equal(e->resp.content.buf, "Hi");
        assert_int_equal(e->resp.attempts, 1);
    }
    assert_int_equal(e->fake.connects, 3);
    assert_int_equal(e->client.requests, 3); /* none written into a dead connection */
    assert_int_equal(e->fake.probes, 0);     /* the close was already in the stream */
}

static void test_closed_while_idle_noticed_before_writing(void **state)
{
    env *e = (env *)*state;
    e->req.stream = true;
    fake_add(&e->fake, STREAM_LEN, strlen(STREAM_LEN), END_KEEP);
    fake_add(&e->fake, STREAM_LEN, strlen(STREAM_LEN), END_KEEP);
    fake_add(&e->fake, STREAM_LEN, strlen(STREAM_LEN), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK); /* alive: reused after a probe */
    assert_int_equal(e->fake.connects, 1);
    assert_int_equal(e->fake.probes, 1);
    e->fake.closed_idle = true; /* the server's FIN came while we were idle */
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->resp.attempts, 1);
    assert_int_equal(e->fake.connects, 2);
    assert_int_equal(e->client.requests, 3);
}

/* The close crossed our request on the wire: reopened once, still one
 * attempt. */
static void test_close_racing_the_request_is_one_attempt(void **state)
{
    env *e = (env *)*state;
    e->req.stream = true;
    e->cfg.max_retries = WISP_NO_RETRIES;
    fake_add(&e->fake, STREAM_LEN, strlen(STREAM_LEN), END_KEEP);
    fake_add(&e->fake, STREAM_LEN, strlen(STREAM_LEN), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    e->fake.dead_on_reuse = true;
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->resp.attempts, 1);
    assert_int_equal(e->fake.connects, 2);
    assert_int_equal(e->client.requests, 3);
}

/* Keep-Alive: timeout=2 from the server: idle 2 s or more, a new
 * connection without asking the old one; less, the old one. */
static void test_server_keep_alive_timeout(void **state)
{
    static const char reply[] =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nKeep-Alive: timeout=2, max=50\r\n"
        "Content-Length: 95\r\n\r\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n"
        "data: [DONE]\n\n";
    env *e = (env *)*state;
    e->req.stream = true;
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_OK);
    e->clock_ms += 1900;
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->fake.connects, 1);
    assert_int_equal(e->fake.probes, 1);
    e->clock_ms += 2000;
    assert_int_equal(chat(e), WISP_OK);
    assert_int_equal(e->fake.connects, 2);
    assert_int_equal(e->fake.probes, 1); /* closed unasked: past the server's limit */
    assert_int_equal(e->resp.attempts, 1);
}

static void test_stream_cancel(void **state)
{
    env *e = (env *)*state;
    seen s;
    memset(&s, 0, sizeof s);
    s.cancel_after = 1;
    e->req.stream = true;
    fake_add(&e->fake, STREAM, strlen(STREAM), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(wisp_chat(&e->client, &e->req, &e->resp, on_event, &s),
                     WISP_ERR_CANCELLED);
    assert_int_equal(s.events, 1);
    assert_false(e->client.connected);
    assert_int_equal(e->resp.attempts, 1);
}

static void test_stream_cut_not_retried(void **state)
{
    env *e = (env *)*state;
    /* The stream stops after the first delta: content reached the caller,
     * so the failure is reported, never retried. */
    size_t cut = (size_t)(strstr(STREAM, "3a\r\n") - STREAM);
    e->req.stream = true;
    fake_add(&e->fake, STREAM, cut, END_RESET);
    fake_add(&e->fake, STREAM, strlen(STREAM), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(chat(e), WISP_ERR_CLOSED);
    assert_string_equal(e->resp.content.buf, "Hel");
    assert_int_equal(e->resp.attempts, 1);
}

/* A stream was asked for and the server sent one JSON object: the callback
 * still gets the whole text, even when the response buffer is tiny. */
static void test_stream_answered_with_json(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    env *e = (env *)*state;
    static const char body[] =
        "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
        "\"Hello, this is longer than eight bytes \\ud83d\\ude00\",\"reasoning_content\":\"hmm\"},"
        "\"finish_reason\":\"stop\"}]}";
    char reply[1024];
    char tiny[8];
    seen s;
    memset(&s, 0, sizeof s);
    json_reply(reply, sizeof reply, body);
    e->req.stream = true;
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    wisp_response_init(&e->resp, tiny, sizeof tiny, NULL, 0);
    assert_int_equal(wisp_chat(&e->client, &e->req, &e->resp, on_event, &s), WISP_OK);
    s.text[s.len] = '\0';
    assert_string_equal(s.text, "Hello, this is longer than eight bytes \xf0\x9f\x98\x80");
    assert_true(e->resp.content.truncated);
    assert_string_equal(e->resp.finish_reason, "stop");
}

/* The same with content sent as a list of parts. */
static void test_stream_answered_with_json_parts(void **state)
{
    WISP_NEEDS(WISP_NONSTREAM);
    WISP_NEEDS(WISP_PARTS);
    env *e = (env *)*state;
    static const char body[] =
        "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"Two \"},{\"type\":\"image_url\",\"image_url\":{}},"
        "{\"type\":\"text\",\"text\":\"parts\"}]},\"finish_reason\":\"stop\"}]}";
    char reply[1024];
    seen s;
    memset(&s, 0, sizeof s);
    json_reply(reply, sizeof reply, body);
    e->req.stream = true;
    fake_add(&e->fake, reply, strlen(reply), END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(wisp_chat(&e->client, &e->req, &e->resp, on_event, &s), WISP_OK);
    s.text[s.len] = '\0';
    assert_string_equal(s.text, "Two parts");
    assert_string_equal(e->resp.content.buf, "Two parts");
}

/* After [DONE] a server keeps the chunked body open and sends pings: the
 * call must end within the drain window, not at the total timeout. */
static uint32_t ticking_clock(void *ctx)
{
    env *e = (env *)ctx;
    e->clock_ms += 50;
    return e->clock_ms;
}

static void test_drain_after_done_is_bounded(void **state)
{
    env *e = (env *)*state;
    static char reply[64 * 1024];
    size_t n;
    int i;
    seen s;
    memset(&s, 0, sizeof s);
    n = (size_t)sprintf(reply, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n"
                               "3a\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n\r\n"
                               "e\r\ndata: [DONE]\n\n\r\n");
    for (i = 0; i < 2000; i++) {
        n += (size_t)sprintf(reply + n, "8\r\n: ping\n\n\r\n");
    }
    e->cfg.now_ms = ticking_clock;
    e->fake.split = SPLIT_BYTES; /* many reads, each ticking the clock */
    e->req.stream = true;
    fake_add(&e->fake, reply, n, END_KEEP);
    assert_int_equal(init_client(e), WISP_OK);
    assert_int_equal(wisp_chat(&e->client, &e->req, &e->resp, on_event, &s), WISP_OK);
    assert_string_equal(e->resp.content.buf, "lo");
    assert_false(e->client.connected); /* the body never ended: not reusable */
    assert_true(e->clock_ms < 20000);
}

/* A 1 MB reply through a 2 KB work buffer: memory does not grow with the
 * reply, and every byte arrives. */
typedef struct big_stream {
    char *data;
    size_t len;
} big_stream;

static void make_big_stream(big_stream *b, size_t content_bytes, size_t *events)
{
    static const char piece[] = "The quick brown fox jumps over the lazy dog. ";
    size_t cap = content_bytes * 4 + 4096; /* an event is about 3.4x its text */
    size_t produced = 0;
    size_t n = 0;
    b->data = malloc(cap);
    n += (size_t)sprintf(b->data + n, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                      "Connection: close\r\n\r\n");
    *events = 0;
    while (produced < content_bytes) {
        n += (size_t)sprintf(b->data + n,
                             "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
                             "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"}}]}\n\n",
                             piece);
        produced += sizeof piece - 1;
        (*events)++;
    }
    n += (size_t)sprintf(b->data + n,
                         "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
                         "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":%u,\"total_tokens\":%u}}\n\n"
                         "data: [DONE]\n\n",
                         (unsigned)*events, (unsigned)*events + 5);
    b->len = n;
}

typedef struct counter {
    size_t bytes;
    uint32_t sum;
} counter;

static int count_event(void *user, const wisp_event *ev)
{
    counter *c = (counter *)user;
    size_t i;
    if (ev->type == WISP_EVENT_CONTENT) {
        for (i = 0; i < ev->len; i++) {
            c->sum = c->sum * 31u + (uint8_t)ev->text[i];
        }
        c->bytes += ev->len;
    }
    return 0;
}

static void test_stream_1mb_in_2kb(void **state)
{
    env *e = (env *)*state;
    static const char piece[] = "The quick brown fox jumps over the lazy dog. ";
    big_stream b;
    size_t events;
    counter c = {0, 0};
    uint32_t want = 0;
    size_t i;
    uint8_t work[2048];
    char small[64];
    make_big_stream(&b, 1024 * 1024, &events);
    assert_true(events > 20000);
    for (i = 0; i < events * (sizeof piece - 1); i++) {
        want = want * 31u + (uint8_t)piece[i % (sizeof piece - 1)];
    }
    e->fake.split = SPLIT_RANDOM;
    e->fake.seed = 7;
    fake_add(&e->fake, b.data, b.len, END_CLOSE);
    e->req.stream = true;
    assert_int_equal(wisp_client_init(&e->client, &e->cfg, work, sizeof work, e->tokens, 32),
                     WISP_OK);
    wisp_response_init(&e->resp, small, sizeof small, NULL, 0);
    assert_int_equal(wisp_chat(&e->client, &e->req, &e->resp, count_event, &c), WISP_OK);
    assert_int_equal(c.bytes, events * (sizeof piece - 1));
    assert_int_equal(c.sum, want);
    assert_true(e->resp.content.truncated);
    assert_int_equal(e->resp.content.full_len, c.bytes);
    assert_int_equal(e->resp.usage.completion_tokens, events);
    assert_string_equal(e->resp.finish_reason, "stop");
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_forms),
        cmocka_unit_test(test_url_rejects),
        cmocka_unit_test_setup_teardown(test_request_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_absolute_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_minimal_stream_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserved_and_control_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base_url_is_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive_reuses_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_idle_connection_not_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_close_reconnects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_connection_reopened_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_hang_after_complete_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_429, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_date_waited_for, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_retry_on_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_connect_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_retry_on_402, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_key_on_every_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_read_failure_abandons_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reasoning_spent_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncountable_body_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_beyond_total_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_after_each_reply_costs_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_while_idle_noticed_before_writing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_racing_the_request_is_one_attempt, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_server_keep_alive_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_cut_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_answered_with_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_answered_with_json_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_after_done_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_1mb_in_2kb, setup, teardown),
    };
    return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
