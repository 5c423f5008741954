/*
 * scripted_client.h - a client on the fake transport (fake_transport.h)
 * whose replies are written by the test as a head and a body: the
 * Content-Length is counted here, so a test states only what it sends.
 * For the tests of whole calls (the test_client_*.c, test_tool_loop_*.c and
 * test_conv_store.c files).
 */
#ifndef SCRIPTED_CLIENT_H
#define SCRIPTED_CLIENT_H

#include <stdio.h>
#include <string.h>

#include "fake_transport.h"
#include "wisp.h"

#define SC_REPLY_CAP 3072
#define SC_CALLS 3

typedef struct sc_env {
    fake_transport fake;
    wisp_transport tr;
    wisp_config cfg;
    wisp_client client;
    uint8_t work[4096];
    wisp_token toks[256];
    wisp_response resp;
    char content[512];
    char reasoning[128];
    wisp_tool_call calls[SC_CALLS];
    char args[SC_CALLS][64];
    char sigs[SC_CALLS][32];
    char replies[FAKE_MAX_REPLIES][SC_REPLY_CAP];
    char sent_copy[FAKE_SENT_CAP + 1];
} sc_env;

/* A client on base_url (NULL: a plain local one) with no retries, a
 * response with content, reasoning and SC_CALLS tool-call slots. */
static inline void sc_init(sc_env *e, const char *base_url)
{
    int i;
    memset(e, 0, sizeof *e);
    fake_init(&e->fake, &e->tr);
    e->cfg.base_url = base_url != NULL ? base_url : "http://127.0.0.1:8080/v1";
    e->cfg.transport = &e->tr;
    e->cfg.max_retries = WISP_NO_RETRIES;
    if (wisp_client_init(&e->client, &e->cfg, e->work, sizeof e->work, e->toks, 256) != WISP_OK) {
        fail_msg("%s", "wisp_client_init failed");
    }
    wisp_response_init(&e->resp, e->content, sizeof e->content, e->reasoning, sizeof e->reasoning);
    for (i = 0; i < SC_CALLS; i++) {
        e->calls[i].arguments.buf = e->args[i];
        e->calls[i].arguments.cap = sizeof e->args[i];
        e->calls[i].signature.buf = e->sigs[i];
        e->calls[i].signature.cap = sizeof e->sigs[i];
    }
    e->resp.tool_calls = e->calls;
    e->resp.tool_call_cap = SC_CALLS;
}

/* The next reply: head ("HTTP/1.1 200 OK\r\nContent-Type: ...\r\n", without
 * the blank line) then body, with its Content-Length added unless the head
 * already frames the body (len_header false). */
static inline void sc_add_framed(sc_env *e, const char *head, const char *body, bool len_header,
                          fake_end end)
{
    char *r;
    int n;
    if (e->fake.next_reply == e->fake.reply_count) {
        e->fake.next_reply = e->fake.reply_count = 0; /* all read: the script starts over */
    }
    if (e->fake.reply_count >= FAKE_MAX_REPLIES) {
        fail_msg("%s", "too many scripted replies");
    }
    r = e->replies[e->fake.reply_count];
    if (len_header) {
        n = snprintf(r, SC_REPLY_CAP, "%sContent-Length: %u\r\n\r\n%s", head,
                     (unsigned)strlen(body), body);
    } else {
        n = snprintf(r, SC_REPLY_CAP, "%s\r\n%s", head, body);
    }
    if (n < 0 || n >= SC_REPLY_CAP) {
        fail_msg("%s", "scripted reply too long");
    }
    fake_add(&e->fake, r, (size_t)n, end);
}

static inline void sc_add(sc_env *e, const char *head, const char *body)
{
    sc_add_framed(e, head, body, true, END_KEEP);
}

/* A 200 with a JSON body. */
static inline void sc_add_json(sc_env *e, const char *json)
{
    sc_add(e, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", json);
}

/* A 200 stream of these events ("data: ...\n\n" each, written by the test). */
static inline void sc_add_events(sc_env *e, const char *events)
{
    sc_add(e, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n", events);
}

/* Everything sent so far, NUL-terminated. */
static inline const char *sc_sent(sc_env *e)
{
    size_t n = e->fake.sent_len < FAKE_SENT_CAP ? e->fake.sent_len : FAKE_SENT_CAP;
    memcpy(e->sent_copy, e->fake.sent, n);
    e->sent_copy[n] = '\0';
    return e->sent_copy;
}

/* The n-th request sent (1-based), up to the next one or the end. */
static inline const char *sc_request(sc_env *e, int nth)
{
    char *at = (char *)sc_sent(e), *next;
    int i;
    for (i = 1; i < nth && at != NULL; i++) {
        at = strstr(at + 1, "POST ");
    }
    if (at == NULL) {
        fail_msg("request %d was not sent", nth);
        return "";
    }
    next = strstr(at + 1, "POST ");
    if (next != NULL) {
        *next = '\0';
    }
    return at;
}

/* A plain user question. */
static inline wisp_request sc_question(wisp_message *msg, const char *text)
{
    wisp_request req;
    memset(msg, 0, sizeof *msg);
    msg->role = WISP_ROLE_USER;
    msg->content = text;
    memset(&req, 0, sizeof req);
    req.model = "m";
    req.messages = msg;
    req.message_count = 1;
    return req;
}

/* A clock of the test's own: now_ms reads it, sleep_ms moves it on and
 * counts the waits, keeping the first SC_WAITS of them. */
#define SC_WAITS 16
typedef struct sc_clock {
    uint32_t now;
    uint32_t waits[SC_WAITS];
    int sleeps;
} sc_clock;

static inline uint32_t sc_clock_now(void *ctx)
{
    return ((const sc_clock *)ctx)->now;
}

static inline void sc_clock_sleep(void *ctx, uint32_t ms)
{
    sc_clock *c = (sc_clock *)ctx;
    if (c->sleeps < SC_WAITS)
        c->waits[c->sleeps] = ms;
    c->sleeps++;
    c->now += ms;
}

/* sc_init, then the client again on clock c (starting at start) with
 * max_retries and total_ms. */
static inline void sc_init_clocked(sc_env *e, sc_clock *c, uint32_t start, int max_retries,
                                   uint32_t total_ms)
{
    wisp_config cfg;
    sc_init(e, NULL);
    memset(c, 0, sizeof *c);
    c->now = start;
    cfg = e->cfg;
    cfg.max_retries = max_retries;
    cfg.now_ms = sc_clock_now;
    cfg.sleep_ms = sc_clock_sleep;
    cfg.platform_ctx = c;
    cfg.total_timeout_ms = total_ms;
    if (wisp_client_init(&e->client, &cfg, e->work, sizeof e->work, e->toks, 256) != WISP_OK)
        fail_msg("%s", "wisp_client_init failed");
}

/* One question with tools for wisp_chat_tools on the scripted client, the
 * loop's arena lent by the test (test_tool_loop_*.c embed it first). */
typedef struct sc_loop {
    sc_env e;
    wisp_tool_loop loop;
    wisp_request req;
    wisp_message q;
} sc_loop;

static inline void sc_loop_init(sc_loop *t, const char *question, const wisp_tool *tools,
                                wisp_tool_fn handler, void *arena, size_t arena_size)
{
    sc_init(&t->e, NULL);
    t->req = sc_question(&t->q, question);
    t->req.tools = tools;
    t->req.tool_count = 1;
    memset(&t->loop, 0, sizeof t->loop);
    t->loop.handler = handler;
    t->loop.arena = arena;
    t->loop.arena_size = arena_size;
}

static inline wisp_status sc_loop_run(sc_loop *t)
{
    return wisp_chat_tools(&t->e.client, &t->req, &t->e.resp, &t->loop, NULL, NULL);
}

#endif /* SCRIPTED_CLIENT_H */
