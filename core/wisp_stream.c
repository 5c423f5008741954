/*
 * wisp_stream.c - chat-completions chunk reader (see wisp_stream.h).
 */
#include "wisp_stream.h"

#include <string.h>

/* Token types: wisp_token mirrors jsmntok_t, so these are jsmntype_t's. */
enum { TOK_OBJECT = 1, TOK_ARRAY = 2, TOK_STRING = 3, TOK_PRIMITIVE = 4 };

/* Where unescaped text goes: gathered in scratch, then to resp and cb. */
typedef struct sink {
    wisp_stream *st;
    wisp_text *text;
    wisp_event_type type;
    wisp_event_fn cb;
    void *user;
    char *scratch;
    size_t cap;
    size_t len;
} sink;

void wisp_stream_init(wisp_stream *st)
{
    if (st == NULL)
        return;
    memset(st, 0, sizeof *st);
    wisp_unescape_init(&st->content_u);
    wisp_unescape_init(&st->reasoning_u);
}

static int send_event(wisp_event_fn cb, void *user, wisp_event_type type,
                      const char *text, size_t len, const wisp_usage *usage)
{
    wisp_event ev;
    if (cb == NULL)
        return 0;
    ev.type = type;
    ev.text = text;
    ev.len = len;
    ev.usage = usage;
    return cb(user, &ev);
}

/* Hands complete characters to the response and the callback. */
static int deliver(sink *k, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    wisp_text_append(k->text, s, n);
    k->st->delivered = true;
    return send_event(k->cb, k->user, k->type, s, n, NULL);
}

static int flush(sink *k)
{
    size_t n = k->len;
    k->len = 0;
    return deliver(k, k->scratch, n);
}

/* wisp_emit_fn: small pieces are gathered, a big one goes straight out. */
static int sink_emit(void *ctx, const char *s, size_t n)
{
    sink *k = (sink *)ctx;
    if (n == 0)
        return 0;
    if (n > k->cap - k->len) {
        if (flush(k) != 0)
            return 1;
        if (n > k->cap)
            return deliver(k, s, n);
    }
    memcpy(k->scratch + k->len, s, n);
    k->len += n;
    return 0;
}

static void sink_open(sink *k, wisp_stream *st, wisp_text *text,
                      wisp_event_type type, wisp_event_fn cb, void *user,
                      char *scratch, size_t scratch_cap)
{
    k->st = st;
    k->text = text;
    k->type = type;
    k->cb = cb;
    k->user = user;
    k->scratch = scratch;
    k->cap = scratch != NULL ? scratch_cap : 0;
    k->len = 0;
}

/* Unescapes one delta string (token t) and delivers it. */
static wisp_status put_delta(sink *k, wisp_unescape *u, const char *js,
                             const wisp_token *t)
{
    wisp_status s = wisp_unescape_feed(u, js + t->start,
                                       (size_t)(t->end - t->start), true,
                                       sink_emit, k);
    if (s == WISP_OK && flush(k) != 0)
        s = WISP_ERR_CANCELLED;
    return s;
}

/* Flushes a carry left at the end of the stream (as U+FFFD). */
static wisp_status put_rest(sink *k, wisp_unescape *u)
{
    wisp_status s = wisp_unescape_finish(u, sink_emit, k);
    if (s == WISP_OK && flush(k) != 0)
        s = WISP_ERR_CANCELLED;
    return s;
}

/* Once per stream: flush the carries, report usage. */
static wisp_status finalize(wisp_stream *st, wisp_response *resp,
                            wisp_event_fn cb, void *user, char *scratch,
                            size_t scratch_cap)
{
    sink k;
    wisp_status s;
    if (st->ended)
        return WISP_OK;
    st->ended = true;
    sink_open(&k, st, &resp->reasoning, WISP_EVENT_REASONING, cb, user,
              scratch, scratch_cap);
    s = put_rest(&k, &st->reasoning_u);
    if (s != WISP_OK)
        return s;
    sink_open(&k, st, &resp->content, WISP_EVENT_CONTENT, cb, user, scratch,
              scratch_cap);
    s = put_rest(&k, &st->content_u);
    if (s != WISP_OK)
        return s;
    if (resp->usage.present &&
        send_event(cb, user, WISP_EVENT_USAGE, "", 0, &resp->usage) != 0)
        return WISP_ERR_CANCELLED;
    return WISP_OK;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_null(const char *js, const wisp_token *t)
{
    return t->type == TOK_PRIMITIVE && js[t->start] == 'n';
}

/* Fills resp->error_* from an error text; raw text when it is no JSON. */
static wisp_status api_error(const char *js, size_t len, wisp_token *toks,
                             size_t ntoks, wisp_response *resp)
{
    if (wisp_json_read_error(js, len, toks, ntoks, resp) != WISP_OK ||
        resp->error_message[0] == '\0') {
        while (len > 0 && is_space(js[len - 1]))
            len--;
        if (len > 0 &&
            wisp_copy_field(resp->error_message, sizeof resp->error_message,
                            js, len))
            resp->fields_truncated = true;
    }
    return WISP_ERR_API;
}

/* Copies string token t into a fixed field when the field is still empty
 * and t is a non-empty string. */
static wisp_status first_field(const char *js, const wisp_token *toks, int i,
                               char *dst, size_t cap, wisp_response *resp)
{
    bool cut = false;
    wisp_status s;
    if (i < 0 || dst[0] != '\0' || toks[i].type != TOK_STRING ||
        toks[i].end == toks[i].start)
        return WISP_OK;
    s = wisp_json_field(js, &toks[i], dst, cap, &cut);
    if (cut)
        resp->fields_truncated = true;
    return s;
}

/* The choice with index 0 (or without an index), or -1. */
static int first_choice(const char *js, const wisp_token *toks, int count,
                        int choices)
{
    int i, n, idx;
    uint32_t index;
    if (choices < 0 || toks[choices].type != TOK_ARRAY)
        return -1;
    n = toks[choices].size;
    i = choices + 1;
    while (n-- > 0 && i < count) {
        if (toks[i].type == TOK_OBJECT) {
            idx = wisp_json_find(js, toks, count, i, "index");
            if (idx < 0 || (wisp_json_u32(js, &toks[idx], &index) && index == 0))
                return i;
        }
        i = wisp_json_skip(toks, count, i);
    }
    return -1;
}

/* One chat.completion.chunk (root object at token 0). */
static wisp_status read_chunk(wisp_stream *st, const char *js, wisp_token *toks,
                              int count, wisp_response *resp, wisp_event_fn cb,
                              void *user, char *scratch, size_t scratch_cap)
{
    int i, choice, delta = -1;
    sink k;
    wisp_status s;

    s = first_field(js, toks, wisp_json_find(js, toks, count, 0, "id"),
                    resp->id, sizeof resp->id, resp);
    if (s == WISP_OK)
        s = first_field(js, toks, wisp_json_find(js, toks, count, 0, "model"),
                        resp->model, sizeof resp->model, resp);
    if (s != WISP_OK)
        return s;
    if (resp->created == 0) {
        i = wisp_json_find(js, toks, count, 0, "created");
        if (i >= 0)
            (void)wisp_json_i64(js, &toks[i], &resp->created);
    }

    choice = first_choice(js, toks, count,
                          wisp_json_find(js, toks, count, 0, "choices"));
    if (choice >= 0) {
        delta = wisp_json_find(js, toks, count, choice, "delta");
        if (delta >= 0 && toks[delta].type != TOK_OBJECT)
            delta = -1;
    }

    if (delta >= 0 && !st->role_seen) {
        i = wisp_json_find(js, toks, count, delta, "role");
        if (i >= 0 && toks[i].type == TOK_STRING &&
            toks[i].end > toks[i].start) {
            st->role_seen = true;
            s = first_field(js, toks, i, resp->role, sizeof resp->role, resp);
            if (s != WISP_OK)
                return s;
            if (send_event(cb, user, WISP_EVENT_ROLE, resp->role,
                           strlen(resp->role), NULL) != 0)
                return WISP_ERR_CANCELLED;
        }
    }

    if (delta >= 0) {
        /* reasoning_content (DeepSeek, vLLM) wins over reasoning
         * (OpenRouter, Ollama): some servers send both, same text. */
        i = wisp_json_find(js, toks, count, delta, "reasoning_content");
        if (i < 0 || toks[i].type != TOK_STRING)
            i = wisp_json_find(js, toks, count, delta, "reasoning");
        if (i >= 0 && toks[i].type == TOK_STRING) {
            sink_open(&k, st, &resp->reasoning, WISP_EVENT_REASONING, cb, user,
                      scratch, scratch_cap);
            s = put_delta(&k, &st->reasoning_u, js, &toks[i]);
            if (s != WISP_OK)
                return s;
        }
        i = wisp_json_find(js, toks, count, delta, "content");
        if (i >= 0 && toks[i].type == TOK_STRING) {
            sink_open(&k, st, &resp->content, WISP_EVENT_CONTENT, cb, user,
                      scratch, scratch_cap);
            s = put_delta(&k, &st->content_u, js, &toks[i]);
            if (s != WISP_OK)
                return s;
        }
    }

    if (choice >= 0 && !st->finish_seen) {
        i = wisp_json_find(js, toks, count, choice, "finish_reason");
        if (i >= 0 && toks[i].type == TOK_STRING && toks[i].end > toks[i].start) {
            st->finish_seen = true;
            s = first_field(js, toks, i, resp->finish_reason,
                            sizeof resp->finish_reason, resp);
            if (s != WISP_OK)
                return s;
            if (send_event(cb, user, WISP_EVENT_FINISH, resp->finish_reason,
                           strlen(resp->finish_reason), NULL) != 0)
                return WISP_ERR_CANCELLED;
        }
    }

    i = wisp_json_find(js, toks, count, 0, "usage");
    if (i < 0 || toks[i].type != TOK_OBJECT) {
        i = wisp_json_find(js, toks, count, 0, "x_groq");
        if (i >= 0 && toks[i].type == TOK_OBJECT)
            i = wisp_json_find(js, toks, count, i, "usage");
    }
    if (i >= 0 && toks[i].type == TOK_OBJECT) {
        wisp_usage u;
        memset(&u, 0, sizeof u);
        s = wisp_json_usage(js, toks, count, i, &u);
        if (s != WISP_OK)
            return s;
        u.present = true;
        resp->usage = u; /* the last one wins: never added up */
    }
    return WISP_OK;
}

wisp_status wisp_stream_event(wisp_stream *st, const wisp_sse_out *ev,
                              wisp_token *toks, size_t ntoks,
                              wisp_response *resp, wisp_event_fn cb,
                              void *user, char *scratch, size_t scratch_cap)
{
    const char *js;
    size_t len, a, b;
    int count = 0;
    int err;
    wisp_status s;

    if (st == NULL || ev == NULL || resp == NULL ||
        (ev->data == NULL && ev->len > 0))
        return WISP_ERR_ARG;
    if (st->done || ev->kind == WISP_SSE_NEED_MORE)
        return WISP_OK;
    js = ev->data;
    len = ev->len;

    if (ev->kind == WISP_SSE_ERROR_LINE || ev->error_event)
        return api_error(js, len, toks, ntoks, resp);

    a = 0;
    b = len;
    while (a < b && is_space(js[a]))
        a++;
    while (b > a && is_space(js[b - 1]))
        b--;
    if (a == b)
        return WISP_OK; /* an empty event: nothing to read */
    if (b - a == 6 && memcmp(js + a, "[DONE]", 6) == 0) {
        st->done = true;
        return finalize(st, resp, cb, user, scratch, scratch_cap);
    }

    s = wisp_json_tokenize(js, len, toks, ntoks, &count);
    if (s != WISP_OK)
        return s;
    if (count < 1)
        return WISP_ERR_JSON;
    if (toks[0].type == TOK_ARRAY) /* Gemini's [{"error": {...}}] */
        return wisp_json_read_error(js, len, toks, ntoks, resp) == WISP_OK
                   ? WISP_ERR_API
                   : WISP_ERR_JSON;
    if (toks[0].type != TOK_OBJECT)
        return WISP_ERR_JSON;
    err = wisp_json_find(js, toks, count, 0, "error");
    if (err >= 0 && !is_null(js, &toks[err]))
        return api_error(js, len, toks, ntoks, resp);

    return read_chunk(st, js, toks, count, resp, cb, user, scratch,
                      scratch_cap);
}

wisp_status wisp_stream_end(wisp_stream *st, wisp_response *resp,
                            wisp_event_fn cb, void *user, char *scratch,
                            size_t scratch_cap)
{
    wisp_status s;
    if (st == NULL || resp == NULL)
        return WISP_ERR_ARG;
    s = finalize(st, resp, cb, user, scratch, scratch_cap);
    if (s != WISP_OK)
        return s;
    if (!st->done && !st->finish_seen)
        return WISP_ERR_STREAM_TRUNCATED;
    return WISP_OK;
}
