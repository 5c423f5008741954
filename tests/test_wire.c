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

#include "fake_transport.h"
#include "wisp.h"
#include "wisp_http.h"
#include "wire_fixtures.h"

/* One run of wisp_chat over `http` (the fixture's bytes or a rewrite). */
static void replay_bytes(const fixture *fx, const uint8_t *http, size_t http_len, bool stream,
                         fake_split split, uint32_t seed, int cancel_at, outcome *o)
{
    static const fake_end ends[] = {[WIRE_KEEP] = END_KEEP, [WIRE_CLOSE] = END_CLOSE,
                                    [WIRE_RESET] = END_RESET};
    static fake_transport fake;
    wisp_transport tr;

    fake_init(&fake, &tr);
    fake.split = split;
    fake.seed = seed;
    fake_add(&fake, http, http_len, ends[fixture_end(fx)]);
    run_fixture(fx, &tr, stream, cancel_at, o);
    o->connects = fake.connects;
}

static void replay(const fixture *fx, wire_split split, uint32_t seed, outcome *o)
{
    static const fake_split cuts[] = {[WIRE_WHOLE] = SPLIT_WHOLE, [WIRE_BYTES] = SPLIT_BYTES,
                                      [WIRE_RANDOM] = SPLIT_RANDOM};
    replay_bytes(fx, fx->http, fx->http_len, fixture_stream(fx), cuts[split], seed, 0, o);
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
    if (!WISP_NONSTREAM) {
        free(body);
        return; /* two of the three ways need the non-streamed reader */
    }
    if (body == NULL)
        return;
    sse = as_stream(body, body_len, &sse_len);
    /* An error body recorded with its error status: the same text in a 200
     * must give the same error, in every way. */
    http = http_status >= 200 && http_status <= 299 ? NULL : as_ok_json(body, body_len, &http_len);
    if (http != NULL) {
        outcome recorded;
        replay(fx, WIRE_WHOLE, 0, &recorded);
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
    replay(fx, WIRE_WHOLE, 0, &all);
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
    outcome whole;

    skip_unless_built(fx);
    replay_every_way(fx, replay, 12, "", &whole);
    outcome_free(&whole);
    three_ways(fx);
    cancel_everywhere(fx);
}


int main(int argc, char **argv)
{
    int rc;
    if (argc > 1) {
        fixture_dir = argv[1];
    }
    rc = run_fixture_group("wire fixtures", test_fixture);
    printf("three ways: %d JSON bodies (%d of them error bodies), %d cancel points; "
           "%d cancels in streams\n", g_three_ways, g_error_bodies, g_cancel_points,
           g_stream_cancels);
    if (!WISP_NONSTREAM) {
        printf("three ways: skipped, this build has WISP_NONSTREAM 0\n");
    } else if (g_three_ways < 20 || g_error_bodies < 10 || g_stream_cancels < 200) {
        fprintf(stderr, "three ways covered only %d fixtures: the JSON bodies were not found\n",
                g_three_ways);
        rc = 1;
    }
    return rc;
}
