/*
 * wisp_stream.c - chat-completions chunk reader (see wisp_stream.h).
 */
#include "wisp_stream.h"

#include <string.h>

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

/* Fills resp->error_* from an error text.  Text that is no JSON error (or
 * one without a message) becomes the message itself, cleaned up. */
static wisp_status api_error(const char *js, size_t len, wisp_token *toks,
                             size_t ntoks, wisp_response *resp)
{
    if (wisp_json_read_error(js, len, toks, ntoks, resp) != WISP_OK ||
        resp->error_message[0] == '\0')
        wisp_text_from_html(js, len, resp);
    return WISP_ERR_API;
}

/* Copies string token t into a fixed field when the field is still empty
 * and t is a non-empty string. */
static wisp_status first_field(const char *js, const wisp_token *toks, int i,
                               char *dst, size_t cap, wisp_response *resp)
{
    if (i < 0 || dst[0] != '\0' || toks[i].type != WISP_TOK_STRING ||
        toks[i].end == toks[i].start)
        return WISP_OK;
    return wisp_json_field(js, &toks[i], dst, cap, &resp->fields_truncated);
}

/* Keys looked up in one pass over an object. */
typedef struct key {
    const char *name;
    uint8_t len;
} key;

#define KEY(s) {s, (uint8_t)(sizeof s - 1)}

static const key root_keys[] = {KEY("id"), KEY("model"), KEY("created"),
                                KEY("choices"), KEY("error"), KEY("usage"),
                                KEY("x_groq")};
enum { R_ID, R_MODEL, R_CREATED, R_CHOICES, R_ERROR, R_USAGE, R_XGROQ, R_N };
static const key choice_keys[] = {KEY("index"), KEY("delta"),
                                  KEY("finish_reason"), KEY("message")};
enum { C_INDEX, C_DELTA, C_FINISH, C_MESSAGE, C_N };
static const key delta_keys[] = {KEY("role"), KEY("content"),
                                 KEY("reasoning_content"), KEY("reasoning"),
                                 KEY("refusal")};
enum { D_ROLE, D_CONTENT, D_REASONING_CONTENT, D_REASONING, D_REFUSAL, D_N };

/* out[j] = index of the value of keys[j] in the object at obj (the first of
 * duplicates wins), or -1.  One walk instead of one per key. */
static void find_keys(const char *js, const wisp_token *toks, int count,
                      int obj, const key *keys, int n, int *out)
{
    int k, left, j;
    for (j = 0; j < n; j++)
        out[j] = -1;
    if (obj < 0 || toks[obj].type != WISP_TOK_OBJECT)
        return;
    k = obj + 1;
    for (left = toks[obj].size; left > 0 && k + 1 < count; left--) {
        const char *name = js + toks[k].start;
        size_t len = (size_t)(toks[k].end - toks[k].start);
        for (j = 0; j < n; j++) {
            if (out[j] < 0 && len == keys[j].len && len > 0 &&
                name[0] == keys[j].name[0] &&
                memcmp(name, keys[j].name, len) == 0)
                break;
        }
        /* A key written with escapes is longer than its text: rare. */
        if (j == n && memchr(name, '\\', len) != NULL) {
            for (j = 0; j < n; j++)
                if (out[j] < 0 && wisp_json_eq(js, &toks[k], keys[j].name))
                    break;
        }
        if (j < n)
            out[j] = k + 1;
        k = wisp_json_skip(toks, count, k);
    }
}

static bool is_type(const wisp_token *toks, int i, int type)
{
    return i >= 0 && toks[i].type == type;
}

/* The choice with index 0 (or without an index); c gets its keys.  False
 * when there is none. */
static bool first_choice(const char *js, const wisp_token *toks, int count,
                         int choices, int *c)
{
    int i, n;
    uint32_t index;
    if (!is_type(toks, choices, WISP_TOK_ARRAY))
        return false;
    n = toks[choices].size;
    i = choices + 1;
    while (n-- > 0 && i < count) {
        if (toks[i].type == WISP_TOK_OBJECT) {
            find_keys(js, toks, count, i, choice_keys, C_N, c);
            if (c[C_INDEX] < 0 ||
                (wisp_json_u32(js, &toks[c[C_INDEX]], &index) && index == 0))
                return true;
        }
        i = wisp_json_skip(toks, count, i);
    }
    return false;
}

/* A role or finish_reason: a non-empty string is stored and reported the
 * first time only. */
static wisp_status first_event(const char *js, const wisp_token *toks, int i,
                               bool *seen, char *dst, size_t cap,
                               wisp_event_type type, wisp_response *resp,
                               wisp_event_fn cb, void *user)
{
    wisp_status s;
    if (*seen || !is_type(toks, i, WISP_TOK_STRING) ||
        toks[i].end == toks[i].start)
        return WISP_OK;
    *seen = true;
    s = first_field(js, toks, i, dst, cap, resp);
    if (s == WISP_OK && send_event(cb, user, type, dst, strlen(dst), NULL) != 0)
        s = WISP_ERR_CANCELLED;
    return s;
}

static wisp_status put_text(wisp_stream *st, wisp_unescape *u, wisp_text *text,
                            wisp_event_type type, const char *js,
                            const wisp_token *t, wisp_event_fn cb, void *user,
                            char *scratch, size_t scratch_cap)
{
    sink k;
    sink_open(&k, st, text, type, cb, user, scratch, scratch_cap);
    return put_delta(&k, u, js, t);
}

/* Content sent as a list of parts (Mistral): {"type":"text","text":...}
 * parts are content, {"type":"thinking","thinking":[parts] or "..."} parts
 * are reasoning; other part types (images, references) are skipped. */
static wisp_status put_parts(wisp_stream *st, const char *js, const wisp_token *toks,
                             int count, int arr, wisp_response *resp,
                             wisp_event_fn cb, void *user, char *scratch,
                             size_t scratch_cap, bool thinking)
{
    int n = toks[arr].size;
    int j = arr + 1;
    wisp_status s = WISP_OK;
    while (n-- > 0 && j < count && s == WISP_OK) {
        int type = is_type(toks, j, WISP_TOK_OBJECT)
                       ? wisp_json_find(js, toks, count, j, "type") : -1;
        if (type >= 0 && wisp_json_eq(js, &toks[type], "text")) {
            int t = wisp_json_find(js, toks, count, j, "text");
            if (is_type(toks, t, WISP_TOK_STRING)) {
                s = thinking ? put_text(st, &st->reasoning_u, &resp->reasoning,
                                        WISP_EVENT_REASONING, js, &toks[t], cb,
                                        user, scratch, scratch_cap)
                             : put_text(st, &st->content_u, &resp->content,
                                        WISP_EVENT_CONTENT, js, &toks[t], cb,
                                        user, scratch, scratch_cap);
            }
        } else if (type >= 0 && !thinking && wisp_json_eq(js, &toks[type], "thinking")) {
            int t = wisp_json_find(js, toks, count, j, "thinking");
            if (is_type(toks, t, WISP_TOK_ARRAY))
                s = put_parts(st, js, toks, count, t, resp, cb, user, scratch,
                              scratch_cap, true);
            else if (is_type(toks, t, WISP_TOK_STRING))
                s = put_text(st, &st->reasoning_u, &resp->reasoning,
                             WISP_EVENT_REASONING, js, &toks[t], cb, user,
                             scratch, scratch_cap);
        }
        j = wisp_json_skip(toks, count, j);
    }
    return s;
}

/* One chat.completion.chunk (root object at token 0). */
static wisp_status read_chunk(wisp_stream *st, const char *js, size_t len,
                              wisp_token *toks, size_t ntoks, int count,
                              wisp_response *resp, wisp_event_fn cb,
                              void *user, char *scratch, size_t scratch_cap)
{
    int r[R_N], c[C_N], d[D_N];
    int i;
    wisp_status s;

    find_keys(js, toks, count, 0, root_keys, R_N, r);
    if (r[R_ERROR] >= 0 && !wisp_json_is_null(js, &toks[r[R_ERROR]]))
        return api_error(js, len, toks, ntoks, resp);

    s = first_field(js, toks, r[R_ID], resp->id, sizeof resp->id, resp);
    if (s == WISP_OK)
        s = first_field(js, toks, r[R_MODEL], resp->model, sizeof resp->model,
                        resp);
    if (s != WISP_OK)
        return s;
    if (resp->created == 0 && r[R_CREATED] >= 0)
        (void)wisp_json_i64(js, &toks[r[R_CREATED]], &resp->created);

    d[D_ROLE] = d[D_CONTENT] = d[D_REASONING_CONTENT] = d[D_REASONING] = d[D_REFUSAL] = -1;
    if (!first_choice(js, toks, count, r[R_CHOICES], c))
        c[C_DELTA] = c[C_FINISH] = -1;
    else
        /* A whole chat.completion read as one chunk (a stream request that
         * got a JSON reply): its message is the delta. */
        find_keys(js, toks, count, c[C_DELTA] >= 0 ? c[C_DELTA] : c[C_MESSAGE],
                  delta_keys, D_N, d);

    s = first_event(js, toks, d[D_ROLE], &st->role_seen, resp->role,
                    sizeof resp->role, WISP_EVENT_ROLE, resp, cb, user);
    if (s != WISP_OK)
        return s;

    /* reasoning_content (DeepSeek, vLLM, llama.cpp) wins over reasoning
     * (OpenRouter, Ollama): some servers send both with the same text.
     * Reasoning goes first: models reason before they answer. */
    i = is_type(toks, d[D_REASONING_CONTENT], WISP_TOK_STRING)
            ? d[D_REASONING_CONTENT]
            : d[D_REASONING];
    if (is_type(toks, i, WISP_TOK_STRING)) {
        s = put_text(st, &st->reasoning_u, &resp->reasoning,
                     WISP_EVENT_REASONING, js, &toks[i], cb, user, scratch,
                     scratch_cap);
        if (s != WISP_OK)
            return s;
    }
    i = d[D_CONTENT];
    if (is_type(toks, i, WISP_TOK_STRING)) {
        s = put_text(st, &st->content_u, &resp->content, WISP_EVENT_CONTENT,
                     js, &toks[i], cb, user, scratch, scratch_cap);
        if (s != WISP_OK)
            return s;
    } else if (is_type(toks, i, WISP_TOK_ARRAY)) {
        s = put_parts(st, js, toks, count, i, resp, cb, user, scratch,
                      scratch_cap, false);
        if (s != WISP_OK)
            return s;
    }
    /* OpenAI's refusal deltas: shown as the text, flagged in resp. */
    i = d[D_REFUSAL];
    if (is_type(toks, i, WISP_TOK_STRING) && toks[i].end > toks[i].start) {
        resp->refused = true;
        s = put_text(st, &st->content_u, &resp->content, WISP_EVENT_CONTENT,
                     js, &toks[i], cb, user, scratch, scratch_cap);
        if (s != WISP_OK)
            return s;
    }

    s = first_event(js, toks, c[C_FINISH], &st->finish_seen,
                    resp->finish_reason, sizeof resp->finish_reason,
                    WISP_EVENT_FINISH, resp, cb, user);
    if (s != WISP_OK)
        return s;

    i = r[R_USAGE];
    if (!is_type(toks, i, WISP_TOK_OBJECT) &&
        is_type(toks, r[R_XGROQ], WISP_TOK_OBJECT))
        i = wisp_json_find(js, toks, count, r[R_XGROQ], "usage");
    if (is_type(toks, i, WISP_TOK_OBJECT)) {
        /* The last one wins, never added up.  A usage object of odd shape
         * is ignored: the reply itself is fine. */
        wisp_usage u;
        if (wisp_json_usage(js, toks, count, i, &u) == WISP_OK)
            resp->usage = u;
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
    if (toks[0].type == WISP_TOK_ARRAY) /* Gemini's [{"error": {...}}] */
        return wisp_json_read_error(js, len, toks, ntoks, resp) == WISP_OK
                   ? WISP_ERR_API
                   : WISP_ERR_JSON;
    if (toks[0].type != WISP_TOK_OBJECT)
        return WISP_ERR_JSON;
    return read_chunk(st, js, len, toks, ntoks, count, resp, cb, user, scratch,
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
