/*
 * test_wire.c - replays recorded HTTP responses (tests/fixtures/NAME.http)
 * through wisp_chat over a fake transport: whole, one byte at a time and in
 * pseudo-random splits.  Every way must give exactly what NAME.expect says,
 * and the same result.
 *
 * NAME.expect: one "key value" per line, values C-escaped (\n \t \\ \xHH).
 *   stream 0|1          request a streamed reply (default 0)
 *   work N              work buffer bytes (default 4096)
 *   tokens N            token array size (default 128)
 *   content_cap N       content buffer bytes (default 65536)
 *   end close|keep|reset  what the server does after the reply (default keep)
 *   status WISP_...     expected status
 *   http N              expected HTTP status
 *   content TEXT, reasoning TEXT, finish TEXT, id TEXT, model TEXT, role TEXT,
 *   request_id TEXT, error_message TEXT, error_type TEXT, error_code TEXT
 *   content_truncated 0|1, full_len N, content_null 0|1, refused 0|1
 *   usage P C T         prompt, completion, total tokens
 *   usage_details CACHED REASONING
 *   tool_slots N, args_cap N, sig_cap N   tool-call storage (default 4, 256, 256)
 *   tool_calls N        expected slots filled; tools_dropped N: calls without one
 *   toolK_id, toolK_name, toolK_args, toolK_sig   call K (0-based, index order)
 *   toolK_args_truncated 0|1
 * A key that is absent is not checked.
 *
 * Every fixture whose reply is one JSON body is also fed three ways: as
 * recorded to a request that was not streamed, to a stream request, and
 * rewritten as a stream (each body line a data line, then [DONE]).  All
 * three must give the same response and the same events, and again when
 * the callback cancels at each event in turn.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expect_format.h"
#include "fake_transport.h"
#include "wisp.h"
#include "wisp_http.h"

#define MAX_FIXTURES 1024
#define TEXT_MAX (2 * 1024 * 1024)

typedef struct expect {
    char key[32];
    char *value;
    size_t value_len;
} expect;

typedef struct fixture {
    char name[128];
    uint8_t *http;
    size_t http_len;
    char *expect_text; /* owns the values of items */
    expect items[40];
    int item_count;
} fixture;

static fixture *fixtures; /* MAX_FIXTURES of them */
static int fixture_count;
static const char *fixture_dir = "tests/fixtures";

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void parse_expect(fixture *fx, char *text)
{
    char *line = text;
    while (line != NULL && *line != '\0') {
        char *nl = strchr(line, '\n');
        char *sp;
        expect *e;
        if (nl != NULL) {
            *nl = '\0';
        }
        if (line[0] != '#' && line[0] != '\0' && fx->item_count < 40) {
            e = &fx->items[fx->item_count++];
            sp = strchr(line, ' ');
            if (sp == NULL) {
                snprintf(e->key, sizeof e->key, "%s", line);
                e->value = line + strlen(line);
                e->value_len = 0;
            } else {
                *sp = '\0';
                snprintf(e->key, sizeof e->key, "%s", line);
                e->value = sp + 1;
                e->value_len = expect_unescape(e->value, strlen(e->value));
            }
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
}

static const expect *find(const fixture *fx, const char *key)
{
    int i;
    for (i = 0; i < fx->item_count; i++) {
        if (strcmp(fx->items[i].key, key) == 0) {
            return &fx->items[i];
        }
    }
    return NULL;
}

static long num(const fixture *fx, const char *key, long dflt)
{
    const expect *e = find(fx, key);
    return e != NULL ? strtol(e->value, NULL, 10) : dflt;
}

/* What one replay produced. */
typedef struct outcome {
    wisp_status status;
    wisp_response resp;
    char *content;
    char *reasoning;
    char *events;  /* content events, concatenated */
    size_t events_len;
    bool events_overflow;
    char *log;     /* every event, "type:text|" (usage: its counts) */
    size_t log_len;
    int n_events;
    int cancel_at; /* cancel at this event (from 1), 0 never */
    int connects;
    wisp_tool_call *calls;
    char *args, *sigs; /* the slots' storage */
} outcome;

static void log_put(outcome *o, const char *s, size_t n)
{
    if (o->log_len + n > TEXT_MAX) {
        o->events_overflow = true;
        return;
    }
    memcpy(o->log + o->log_len, s, n);
    o->log_len += n;
}

static int collect(void *user, const wisp_event *ev)
{
    outcome *o = (outcome *)user;
    char head[64];
    o->n_events++;
    if (ev->type == WISP_EVENT_USAGE) {
        snprintf(head, sizeof head, "%d:%u %u %u|", (int)ev->type,
                 (unsigned)ev->usage->prompt_tokens, (unsigned)ev->usage->completion_tokens,
                 (unsigned)ev->usage->total_tokens);
        log_put(o, head, strlen(head));
    } else if (ev->type == WISP_EVENT_TOOL_CALL) {
        snprintf(head, sizeof head, "%d:%u:", (int)ev->type, (unsigned)ev->tool_index);
        log_put(o, head, strlen(head));
        log_put(o, ev->tool_id, strlen(ev->tool_id));
        log_put(o, ":", 1);
        log_put(o, ev->tool_name, strlen(ev->tool_name));
        log_put(o, ":", 1);
        log_put(o, ev->text, ev->len);
        log_put(o, "|", 1);
    } else {
        snprintf(head, sizeof head, "%d:", (int)ev->type);
        log_put(o, head, strlen(head));
        log_put(o, ev->text, ev->len);
        log_put(o, "|", 1);
    }
    if (ev->type == WISP_EVENT_CONTENT) {
        if (o->events_len + ev->len > TEXT_MAX) {
            o->events_overflow = true;
        } else {
            memcpy(o->events + o->events_len, ev->text, ev->len);
            o->events_len += ev->len;
        }
    }
    return o->n_events == o->cancel_at;
}

/* One run of wisp_chat over `http` (the fixture's bytes or a rewrite). */
static void replay_bytes(const fixture *fx, const uint8_t *http, size_t http_len, bool stream,
                         fake_split split, uint32_t seed, int cancel_at, outcome *o)
{
    static fake_transport fake;
    wisp_transport tr;
    wisp_client client;
    wisp_config cfg;
    wisp_request req;
    wisp_message msg = {.role = WISP_ROLE_USER, .content = "hi"};
    size_t work_size = (size_t)num(fx, "work", 4096);
    size_t ntok = (size_t)num(fx, "tokens", 128);
    size_t content_cap = (size_t)num(fx, "content_cap", 65536);
    const expect *end = find(fx, "end");
    uint8_t *work = malloc(work_size);
    wisp_token *tokens = malloc(ntok * sizeof *tokens);
    fake_end how = END_KEEP;

    if (end != NULL && strcmp(end->value, "close") == 0) how = END_CLOSE;
    if (end != NULL && strcmp(end->value, "reset") == 0) how = END_RESET;
    fake_init(&fake, &tr);
    fake.split = split;
    fake.seed = seed;
    fake_add(&fake, http, http_len, how);

    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://127.0.0.1:8080/v1";
    cfg.api_key = "test-key-not-real";
    cfg.transport = &tr;
    cfg.max_retries = WISP_NO_RETRIES;
    assert_int_equal(wisp_client_init(&client, &cfg, work, work_size, tokens, ntok), WISP_OK);

    memset(&req, 0, sizeof req);
    req.model = "gemini-2.5-flash";
    req.messages = &msg;
    req.message_count = 1;
    req.stream = stream;

    memset(o, 0, sizeof *o);
    o->cancel_at = cancel_at;
    o->content = calloc(1, content_cap + 1);
    o->reasoning = calloc(1, 65536);
    o->events = calloc(1, TEXT_MAX);
    o->log = calloc(1, TEXT_MAX);
    wisp_response_init(&o->resp, o->content, content_cap, o->reasoning, 65536);
    {
        size_t slots = (size_t)num(fx, "tool_slots", 4), i;
        size_t args_cap = (size_t)num(fx, "args_cap", 256), sig_cap = (size_t)num(fx, "sig_cap", 256);
        o->calls = calloc(slots ? slots : 1, sizeof *o->calls);
        o->args = calloc(slots ? slots : 1, args_cap + 1);
        o->sigs = calloc(slots ? slots : 1, sig_cap + 1);
        for (i = 0; i < slots; i++) {
            o->calls[i].arguments.buf = o->args + i * (args_cap + 1);
            o->calls[i].arguments.cap = args_cap;
            o->calls[i].signature.buf = o->sigs + i * (sig_cap + 1);
            o->calls[i].signature.cap = sig_cap;
        }
        o->resp.tool_calls = o->calls;
        o->resp.tool_call_cap = slots;
    }
    o->status = wisp_chat(&client, &req, &o->resp, collect, o);
    o->connects = fake.connects;
    wisp_client_close(&client);
    free(work);
    free(tokens);
}

static void replay(const fixture *fx, fake_split split, uint32_t seed, outcome *o)
{
    replay_bytes(fx, fx->http, fx->http_len, num(fx, "stream", 0) != 0, split, seed, 0, o);
}

static void outcome_free(outcome *o)
{
    free(o->content);
    free(o->reasoning);
    free(o->events);
    free(o->log);
    free(o->calls);
    free(o->args);
    free(o->sigs);
}

static void check_text(const fixture *fx, const char *key, const char *got, const char *how)
{
    const expect *e = find(fx, key);
    if (e == NULL) {
        return;
    }
    if (strlen(got) != e->value_len || memcmp(got, e->value, e->value_len) != 0) {
        print_error("%s (%s): %s differs\n  want [%s]\n  got  [%s]\n", fx->name, how, key,
                    e->value, got);
        fail();
    }
}

static void check_outcome(const fixture *fx, const outcome *o, const char *how)
{
    const expect *e;
    e = find(fx, "status");
    if (e != NULL && strcmp(wisp_strerror(o->status), "") != 0) {
        static const char *const names[] = {
#define X_NAME(name, text) #name,
            WISP_STATUS_LIST(X_NAME)
#undef X_NAME
        };
        if (strcmp(names[o->status], e->value) != 0) {
            print_error("%s (%s): status %s, want %s (%s; http %d; error '%s')\n", fx->name, how,
                        names[o->status], e->value, o->resp.error_message,
                        o->resp.http_status, o->resp.error_message);
            fail();
        }
    }
    if (find(fx, "http") != NULL) {
        assert_int_equal(o->resp.http_status, num(fx, "http", 0));
    }
    check_text(fx, "content", o->resp.content.buf, how);
    check_text(fx, "reasoning", o->resp.reasoning.buf, how);
    check_text(fx, "finish", o->resp.finish_reason, how);
    check_text(fx, "id", o->resp.id, how);
    check_text(fx, "model", o->resp.model, how);
    check_text(fx, "role", o->resp.role, how);
    check_text(fx, "request_id", o->resp.request_id, how);
    check_text(fx, "error_message", o->resp.error_message, how);
    check_text(fx, "error_type", o->resp.error_type, how);
    check_text(fx, "error_code", o->resp.error_code, how);
    if (find(fx, "content_truncated") != NULL) {
        assert_int_equal(o->resp.content.truncated, num(fx, "content_truncated", 0));
    }
    if (find(fx, "content_null") != NULL) {
        assert_int_equal(o->resp.content_null, num(fx, "content_null", 0));
    }
    if (find(fx, "refused") != NULL) {
        assert_int_equal(o->resp.refused, num(fx, "refused", 0));
    }
    if (find(fx, "full_len") != NULL) {
        assert_int_equal(o->resp.content.full_len, num(fx, "full_len", 0));
    }
    e = find(fx, "usage");
    if (e != NULL) {
        unsigned p = 0, c = 0, t = 0;
        assert_int_equal(sscanf(e->value, "%u %u %u", &p, &c, &t), 3);
        assert_true(o->resp.usage.present);
        assert_int_equal(o->resp.usage.prompt_tokens, p);
        assert_int_equal(o->resp.usage.completion_tokens, c);
        assert_int_equal(o->resp.usage.total_tokens, t);
    }
    e = find(fx, "usage_details");
    if (e != NULL) {
        unsigned cached = 0, reasoning = 0;
        assert_int_equal(sscanf(e->value, "%u %u", &cached, &reasoning), 2);
        assert_int_equal(o->resp.usage.cached_tokens, cached);
        assert_int_equal(o->resp.usage.reasoning_tokens, reasoning);
    }
    if (find(fx, "tool_calls") != NULL) {
        assert_int_equal(o->resp.tool_call_count, num(fx, "tool_calls", 0));
    }
    if (find(fx, "tools_dropped") != NULL) {
        assert_int_equal(o->resp.tool_calls_dropped, num(fx, "tools_dropped", 0));
    }
    {
        size_t k;
        for (k = 0; k < o->resp.tool_call_count && k < 16; k++) {
            char key[32];
            const wisp_tool_call *c = &o->resp.tool_calls[k];
            snprintf(key, sizeof key, "tool%u_id", (unsigned)k);
            check_text(fx, key, c->id, how);
            snprintf(key, sizeof key, "tool%u_name", (unsigned)k);
            check_text(fx, key, c->name, how);
            snprintf(key, sizeof key, "tool%u_args", (unsigned)k);
            check_text(fx, key, c->arguments.buf, how);
            snprintf(key, sizeof key, "tool%u_sig", (unsigned)k);
            check_text(fx, key, c->signature.buf, how);
            snprintf(key, sizeof key, "tool%u_args_truncated", (unsigned)k);
            if (find(fx, key) != NULL) {
                assert_int_equal(c->arguments.truncated, num(fx, key, 0));
            }
        }
    }
    /* What the callback saw is what the buffer holds (when it fit). */
    if (num(fx, "stream", 0) != 0 && !o->resp.content.truncated && !o->events_overflow) {
        assert_int_equal(o->events_len, o->resp.content.len);
        assert_memory_equal(o->events, o->resp.content.buf, o->events_len);
    }
    assert_true(o->connects <= 1);
}

static void same_outcome(const fixture *fx, const outcome *a, const outcome *b, const char *how)
{
    if (a->status != b->status || a->resp.content.len != b->resp.content.len ||
        memcmp(a->resp.content.buf, b->resp.content.buf, a->resp.content.len) != 0 ||
        strcmp(a->resp.error_message, b->resp.error_message) != 0 ||
        strcmp(a->resp.finish_reason, b->resp.finish_reason) != 0 ||
        a->resp.usage.total_tokens != b->resp.usage.total_tokens ||
        a->resp.http_status != b->resp.http_status) {
        print_error("%s: %s differs from the whole replay (status %s vs %s)\n", fx->name, how,
                    wisp_strerror(b->status), wisp_strerror(a->status));
        fail();
    }
}

/* The body of a recorded reply, when it is one complete JSON body: NULL
 * otherwise; *status gets its HTTP status.  The HTTP framing is removed by
 * wisp's own reader. */
static uint8_t *json_body(const fixture *fx, size_t *len, int *status)
{
    static uint8_t line[65536];
    wisp_http_reader h;
    wisp_http_out out;
    uint8_t *body = malloc(fx->http_len + 1);
    size_t off = 0, n = 0, used;
    bool done = false;
    wisp_http_reader_init(&h, line, sizeof line);
    for (;;) {
        if (wisp_http_feed(&h, fx->http + off, fx->http_len - off, &used, &out) != WISP_OK)
            break;
        off += used;
        if (out.event == WISP_HTTP_BODY) {
            memcpy(body + n, out.body, out.body_len);
            n += out.body_len;
        }
        done = out.event == WISP_HTTP_DONE;
        if (done || (out.event == WISP_HTTP_NEED_MORE && off == fx->http_len))
            break;
    }
    if (!done && h.body_mode == WISP_BODY_CLOSE &&
        wisp_http_finish(&h, &out) == WISP_OK && out.event == WISP_HTTP_DONE)
        done = true;
    off = 0;
    while (off < n && (body[off] == ' ' || body[off] == '\r' || body[off] == '\n' || body[off] == '\t'))
        off++;
    if (!done || !h.is_json || off == n || (body[off] != '{' && body[off] != '[')) {
        free(body);
        return NULL;
    }
    *len = n;
    *status = h.status;
    return body;
}

/* The same body as a 200 reply (for an error body recorded with its error
 * status). */
static uint8_t *as_ok_json(const uint8_t *body, size_t n, size_t *len)
{
    char head[160];
    size_t k = (size_t)snprintf(head, sizeof head,
                                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                "Content-Length: %lu\r\n\r\n", (unsigned long)n);
    uint8_t *out = malloc(k + n);
    memcpy(out, head, k);
    memcpy(out + k, body, n);
    *len = k + n;
    return out;
}

/* The same body as a stream: each line a data line, then [DONE]. */
static uint8_t *as_stream(const uint8_t *body, size_t n, size_t *len)
{
    size_t cap = 256 + n * 2 + 64, k = 0, i = 0;
    uint8_t *out = malloc(cap);
    char head[160];
    uint8_t *data = malloc(n * 2 + 64);
    size_t dn = 0;
    while (i <= n) {
        size_t e = i;
        while (e < n && body[e] != '\n')
            e++;
        memcpy(data + dn, "data: ", 6);
        dn += 6;
        memcpy(data + dn, body + i, e - i);
        dn += e - i;
        if (dn > 6 && data[dn - 1] == '\r')
            dn--; /* a CR before the LF ends the line too */
        data[dn++] = '\n';
        i = e + 1;
    }
    memcpy(data + dn, "\ndata: [DONE]\n\n", 16);
    dn += 16;
    k = (size_t)snprintf(head, sizeof head,
                         "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         "Content-Length: %lu\r\n\r\n", (unsigned long)dn);
    memcpy(out, head, k);
    memcpy(out + k, data, dn);
    free(data);
    *len = k + dn;
    return out;
}

static void same_reply(const fixture *fx, const outcome *a, const outcome *b, const char *how)
{
    const char *what = NULL;
    if (a->status != b->status)
        what = "status";
    else if (strcmp(a->resp.content.buf, b->resp.content.buf) != 0 ||
             a->resp.content.full_len != b->resp.content.full_len)
        what = "content";
    else if (strcmp(a->resp.reasoning.buf, b->resp.reasoning.buf) != 0 ||
             a->resp.reasoning.full_len != b->resp.reasoning.full_len)
        what = "reasoning";
    else if (a->resp.fields_truncated != b->resp.fields_truncated)
        what = "fields_truncated";
    else if (strcmp(a->resp.finish_reason, b->resp.finish_reason) != 0 ||
             strcmp(a->resp.role, b->resp.role) != 0 || strcmp(a->resp.id, b->resp.id) != 0 ||
             strcmp(a->resp.model, b->resp.model) != 0 || a->resp.created != b->resp.created)
        what = "metadata";
    else if (memcmp(&a->resp.usage, &b->resp.usage, sizeof a->resp.usage) != 0)
        what = "usage";
    else if (a->resp.content_null != b->resp.content_null || a->resp.refused != b->resp.refused)
        what = "content_null/refused";
    else if (strcmp(a->resp.error_message, b->resp.error_message) != 0 ||
             strcmp(a->resp.error_type, b->resp.error_type) != 0 ||
             strcmp(a->resp.error_code, b->resp.error_code) != 0 ||
             strcmp(a->resp.error_param, b->resp.error_param) != 0)
        what = "error";
    else if (a->resp.tool_call_count != b->resp.tool_call_count ||
             a->resp.tool_calls_dropped != b->resp.tool_calls_dropped)
        what = "tool call count";
    else if (a->log_len != b->log_len || memcmp(a->log, b->log, a->log_len) != 0)
        what = "events";
    {
        size_t k;
        for (k = 0; what == NULL && k < a->resp.tool_call_count; k++) {
            const wisp_tool_call *x = &a->resp.tool_calls[k], *y = &b->resp.tool_calls[k];
            if (x->index != y->index || strcmp(x->id, y->id) != 0 || strcmp(x->name, y->name) != 0 ||
                strcmp(x->arguments.buf, y->arguments.buf) != 0 ||
                x->arguments.full_len != y->arguments.full_len ||
                strcmp(x->signature.buf, y->signature.buf) != 0)
                what = "tool call";
        }
    }
    if (what != NULL) {
        print_error("%s: %s differs %s (status %s vs %s)\n  events [%.*s]\n  vs     [%.*s]\n",
                    fx->name, what, how, wisp_strerror(a->status), wisp_strerror(b->status),
                    (int)(a->log_len > 300 ? 300 : a->log_len), a->log,
                    (int)(b->log_len > 300 ? 300 : b->log_len), b->log);
        fail();
    }
}

static int g_three_ways, g_cancel_points; /* how much the checks covered */
static int g_error_bodies, g_stream_cancels;

/* A JSON reply three ways: not streamed, a stream request answered with
 * JSON, and the same body as a stream; then cancelled at every event. */
static void three_ways(const fixture *fx)
{
    size_t body_len, sse_len, http_len;
    int http_status = 0;
    uint8_t *body = json_body(fx, &body_len, &http_status);
    uint8_t *sse, *http;
    outcome plain, asked, streamed;
    int k, n;
    char how[64];
    if (body == NULL)
        return;
    sse = as_stream(body, body_len, &sse_len);
    /* An error body recorded with its error status: the same text in a 200
     * must give the same error, in every way. */
    http = http_status >= 200 && http_status <= 299 ? NULL : as_ok_json(body, body_len, &http_len);
    if (http != NULL) {
        outcome recorded;
        replay(fx, SPLIT_WHOLE, 0, &recorded);
        replay_bytes(fx, http, http_len, false, SPLIT_WHOLE, 0, 0, &plain);
        /* (one too large for the buffer can only be an error status's:
         * that one is kept cut, a reply must fit) */
        if (recorded.status == WISP_ERR_HTTP_STATUS && plain.status != WISP_ERR_TOO_LARGE &&
            (plain.status != WISP_ERR_API ||
             strcmp(recorded.resp.error_message, plain.resp.error_message) != 0 ||
             strcmp(recorded.resp.error_type, plain.resp.error_type) != 0 ||
             strcmp(recorded.resp.error_code, plain.resp.error_code) != 0)) {
            print_error("%s: the error body in a 200 reads differently (%s: '%s' vs '%s')\n",
                        fx->name, wisp_strerror(plain.status), recorded.resp.error_message,
                        plain.resp.error_message);
            fail();
        }
        k = recorded.status == WISP_ERR_HTTP_STATUS && plain.status == WISP_ERR_API;
        outcome_free(&recorded);
        outcome_free(&plain);
        if (!k) {
            free(http);
            free(body);
            free(sse);
            return;
        }
        g_error_bodies++;
    } else {
        http = malloc(fx->http_len);
        memcpy(http, fx->http, fx->http_len);
        http_len = fx->http_len;
    }
    replay_bytes(fx, http, http_len, false, SPLIT_WHOLE, 0, 0, &plain);
    if (plain.status != WISP_OK && plain.status != WISP_ERR_API && plain.status != WISP_ERR_JSON &&
        plain.status != WISP_ERR_TOO_COMPLEX) {
        outcome_free(&plain);
        free(body);
        free(sse);
        free(http);
        return; /* the reply never reached the reader whole */
    }
    replay_bytes(fx, http, http_len, true, SPLIT_RANDOM, 5, 0, &asked);
    same_reply(fx, &plain, &asked, "for a stream request answered with JSON");
    replay_bytes(fx, sse, sse_len, true, SPLIT_RANDOM, 9, 0, &streamed);
    same_reply(fx, &plain, &streamed, "when sent as a stream");
    n = plain.n_events;
    g_three_ways++;
    g_cancel_points += n;
    outcome_free(&plain);
    outcome_free(&asked);
    outcome_free(&streamed);
    for (k = 1; k <= n; k++) {
        replay_bytes(fx, http, http_len, false, SPLIT_WHOLE, 0, k, &plain);
        assert_int_equal(plain.status, WISP_ERR_CANCELLED);
        replay_bytes(fx, http, http_len, true, SPLIT_BYTES, 0, k, &asked);
        snprintf(how, sizeof how, "cancelled at event %d, stream request", k);
        same_reply(fx, &plain, &asked, how);
        replay_bytes(fx, sse, sse_len, true, SPLIT_RANDOM, (uint32_t)k, k, &streamed);
        snprintf(how, sizeof how, "cancelled at event %d, as a stream", k);
        same_reply(fx, &plain, &streamed, how);
        outcome_free(&plain);
        outcome_free(&asked);
        outcome_free(&streamed);
    }
    free(body);
    free(sse);
    free(http);
}

/* A stream cancelled at each event in turn (the first 40): the call says
 * cancelled, and resp holds exactly the content the events carried. */
static void cancel_everywhere(const fixture *fx)
{
    outcome all, cut;
    int k, n;
    if (num(fx, "stream", 0) == 0)
        return;
    replay(fx, SPLIT_WHOLE, 0, &all);
    n = all.n_events < 40 ? all.n_events : 40;
    outcome_free(&all);
    for (k = 1; k <= n; k++) {
        replay_bytes(fx, fx->http, fx->http_len, true, SPLIT_RANDOM, (uint32_t)k, k, &cut);
        assert_int_equal(cut.status, WISP_ERR_CANCELLED);
        assert_int_equal(cut.n_events, k);
        if (!cut.resp.content.truncated) {
            assert_int_equal(cut.events_len, cut.resp.content.len);
            assert_memory_equal(cut.events, cut.resp.content.buf, cut.events_len);
        }
        g_stream_cancels++;
        outcome_free(&cut);
    }
}

static void test_fixture(void **state)
{
    const fixture *fx = (const fixture *)*state;
    outcome whole, other;
    uint32_t seed;
    char how[32];

    replay(fx, SPLIT_WHOLE, 0, &whole);
    check_outcome(fx, &whole, "whole");

    replay(fx, SPLIT_BYTES, 0, &other);
    check_outcome(fx, &other, "byte by byte");
    same_outcome(fx, &whole, &other, "byte by byte");
    outcome_free(&other);

    for (seed = 1; seed <= 12; seed++) {
        snprintf(how, sizeof how, "random split %u", (unsigned)seed);
        replay(fx, SPLIT_RANDOM, seed, &other);
        check_outcome(fx, &other, how);
        same_outcome(fx, &whole, &other, how);
        outcome_free(&other);
    }
    outcome_free(&whole);
    three_ways(fx);
    cancel_everywhere(fx);
}

static int load_fixtures(void)
{
    DIR *d = opendir(fixture_dir);
    struct dirent *de;
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", fixture_dir);
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        char path[512];
        fixture *fx;
        char *exp;
        size_t exp_len;
        if (n < 6 || strcmp(de->d_name + n - 5, ".http") != 0) {
            continue;
        }
        if (fixture_count == MAX_FIXTURES) {
            fprintf(stderr, "more than %d fixtures in %s: raise MAX_FIXTURES\n", MAX_FIXTURES,
                    fixture_dir);
            closedir(d);
            return -1;
        }
        fx = &fixtures[fixture_count];
        snprintf(fx->name, sizeof fx->name, "%.*s", (int)(n - 5), de->d_name);
        snprintf(path, sizeof path, "%s/%s", fixture_dir, de->d_name);
        fx->http = read_file(path, &fx->http_len);
        snprintf(path, sizeof path, "%s/%s.expect", fixture_dir, fx->name);
        exp = (char *)read_file(path, &exp_len);
        if (fx->http == NULL || exp == NULL) {
            fprintf(stderr, "fixture %s: missing .http or .expect\n", fx->name);
            free(fx->http);
            free(exp);
            closedir(d);
            return -1;
        }
        fx->expect_text = exp;
        parse_expect(fx, exp);
        fixture_count++;
    }
    closedir(d);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const fixture *)a)->name, ((const fixture *)b)->name);
}

int main(int argc, char **argv)
{
    struct CMUnitTest *tests;
    int i;
    int rc;
    if (argc > 1) {
        fixture_dir = argv[1];
    }
    fixtures = calloc(MAX_FIXTURES, sizeof *fixtures);
    if (fixtures == NULL || load_fixtures() != 0 || fixture_count == 0) {
        return 1;
    }
    qsort(fixtures, (size_t)fixture_count, sizeof fixtures[0], by_name);
    tests = calloc((size_t)fixture_count, sizeof *tests);
    for (i = 0; i < fixture_count; i++) {
        tests[i].name = fixtures[i].name;
        tests[i].test_func = test_fixture;
        tests[i].initial_state = &fixtures[i];
    }
    rc = _cmocka_run_group_tests("wire fixtures", tests, (size_t)fixture_count, NULL, NULL);
    printf("three ways: %d JSON bodies (%d of them error bodies), %d cancel points; "
           "%d cancels in streams\n", g_three_ways, g_error_bodies, g_cancel_points,
           g_stream_cancels);
    if (g_three_ways < 20 || g_error_bodies < 10 || g_stream_cancels < 200) {
        fprintf(stderr, "three ways covered only %d fixtures: the JSON bodies were not found\n",
                g_three_ways);
        rc = 1;
    }
    free(tests);
    for (i = 0; i < fixture_count; i++) {
        free(fixtures[i].http);
        free(fixtures[i].expect_text);
    }
    free(fixtures);
    return rc;
}
