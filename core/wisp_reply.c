/*
 * wisp_reply.c - the one reader of a chat-completions reply (see
 * wisp_reply.h): stream chunks and whole bodies alike.
 */
#include "wisp_reply.h"

#include <string.h>

/* Which text a piece belongs to. */
typedef enum which { CONTENT, REASONING } which;

void wisp_reply_init(wisp_reply *r, wisp_response *resp, wisp_token *toks,
                     size_t ntoks, wisp_event_fn cb, void *user)
{
    if (r == NULL)
        return;
    memset(r, 0, sizeof *r);
    r->resp = resp;
    r->toks = toks;
    r->ntoks = ntoks;
    r->cb = cb;
    r->user = user;
    wisp_unescape_init(&r->content_u);
    wisp_unescape_init(&r->reasoning_u);
    if (resp == NULL)
        return;
    wisp_text_reset(&resp->content);
    wisp_text_reset(&resp->reasoning);
    resp->content_null = false;
    resp->refused = false;
    resp->id[0] = resp->model[0] = resp->role[0] = '\0';
    resp->finish_reason[0] = '\0';
    resp->created = 0;
    memset(&resp->usage, 0, sizeof resp->usage);
}

void wisp_reply_scratch(wisp_reply *r, char *scratch, size_t cap)
{
    if (r == NULL)
        return;
    r->scratch = scratch;
    r->scratch_cap = scratch != NULL ? cap : 0;
}

static int send_event(const wisp_reply *r, wisp_event_type type, const char *text,
                      size_t len, const wisp_usage *usage)
{
    wisp_event ev;
    if (r->cb == NULL)
        return 0;
    ev.type = type;
    ev.text = text;
    ev.len = len;
    ev.usage = usage;
    return r->cb(r->user, &ev);
}

/* ---- text: gathered in scratch, then to resp and the callback together ---- */

typedef struct sink {
    wisp_reply *r;
    wisp_text *text;
    wisp_event_type type;
    size_t len; /* bytes gathered in r->scratch */
} sink;

static int deliver(sink *k, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    wisp_text_append(k->text, s, n);
    k->r->delivered = true;
    return send_event(k->r, k->type, s, n, NULL);
}

static int flush(sink *k)
{
    size_t n = k->len;
    k->len = 0;
    return deliver(k, k->r->scratch, n);
}

/* wisp_emit_fn: small pieces are gathered, a big one goes straight out. */
static int sink_emit(void *ctx, const char *s, size_t n)
{
    sink *k = (sink *)ctx;
    size_t cap = k->r->scratch_cap;
    if (n == 0)
        return 0;
    if (n > cap - k->len) {
        if (flush(k) != 0)
            return 1;
        if (n > cap)
            return deliver(k, s, n);
    }
    memcpy(k->r->scratch + k->len, s, n);
    k->len += n;
    return 0;
}

static void sink_open(sink *k, wisp_reply *r, which w)
{
    k->r = r;
    k->text = w == CONTENT ? &r->resp->content : &r->resp->reasoning;
    k->type = w == CONTENT ? WISP_EVENT_CONTENT : WISP_EVENT_REASONING;
    k->len = 0;
}

static wisp_unescape *carry(wisp_reply *r, which w)
{
    return w == CONTENT ? &r->content_u : &r->reasoning_u;
}

/* Unescapes one string token and delivers it (the carry joins a character
 * split across documents). */
static wisp_status put_string(wisp_reply *r, which w, const char *js, const wisp_token *t)
{
    sink k;
    wisp_status s;
    sink_open(&k, r, w);
    s = wisp_unescape_feed(carry(r, w), js + t->start, (size_t)(t->end - t->start), true,
                           sink_emit, &k);
    if (s == WISP_OK && flush(&k) != 0)
        s = WISP_ERR_CANCELLED;
    return s;
}

/* A carry left at the end of the reply becomes U+FFFD. */
static wisp_status put_rest(wisp_reply *r, which w)
{
    sink k;
    wisp_status s;
    sink_open(&k, r, w);
    s = wisp_unescape_finish(carry(r, w), sink_emit, &k);
    if (s == WISP_OK && flush(&k) != 0)
        s = WISP_ERR_CANCELLED;
    return s;
}

/* ---- one document ------------------------------------------------------------- */

/* The document being read. */
typedef struct doc {
    wisp_reply *r;
    const char *js;
    size_t len;
    int count;
} doc;

static bool is_type(const doc *d, int i, int type)
{
    return i >= 0 && d->r->toks[i].type == type;
}

static bool is_null(const doc *d, int i)
{
    return i < 0 || wisp_json_is_null(d->js, &d->r->toks[i]);
}

static bool is_nonempty_string(const doc *d, int i)
{
    return is_type(d, i, WISP_TOK_STRING) && d->r->toks[i].end > d->r->toks[i].start;
}

/* "error": an object, a list or a non-empty string.  null, false, 0 and ""
 * are what some servers send beside a good reply. */
static bool is_error_value(const doc *d, int i)
{
    return is_type(d, i, WISP_TOK_OBJECT) || is_type(d, i, WISP_TOK_ARRAY) ||
           is_nonempty_string(d, i);
}


/* Keys looked up in one walk over an object. */
typedef struct key {
    const char *name;
    uint8_t len;
} key;

#define KEY(s) {s, (uint8_t)(sizeof s - 1)}

static const key root_keys[] = {KEY("id"), KEY("model"), KEY("created"), KEY("choices"),
                                KEY("error"), KEY("usage"), KEY("x_groq"), KEY("object")};
enum { R_ID, R_MODEL, R_CREATED, R_CHOICES, R_ERROR, R_USAGE, R_XGROQ, R_OBJECT, R_N };
static const key choice_keys[] = {KEY("index"), KEY("delta"), KEY("message"),
                                  KEY("finish_reason")};
enum { C_INDEX, C_DELTA, C_MESSAGE, C_FINISH, C_N };
static const key message_keys[] = {KEY("role"), KEY("content"), KEY("reasoning_content"),
                                   KEY("reasoning"), KEY("refusal")};
enum { M_ROLE, M_CONTENT, M_REASONING_CONTENT, M_REASONING, M_REFUSAL, M_N };

/* out[j] = index of the value of keys[j] in the object at obj (the first of
 * duplicates wins), or -1. */
static void find_keys(const doc *d, int obj, const key *keys, int n, int *out)
{
    const wisp_token *toks = d->r->toks;
    int k, left, j;
    for (j = 0; j < n; j++)
        out[j] = -1;
    if (!is_type(d, obj, WISP_TOK_OBJECT))
        return;
    k = obj + 1;
    for (left = toks[obj].size; left > 0 && k + 1 < d->count; left--) {
        const char *name = d->js + toks[k].start;
        size_t len = (size_t)(toks[k].end - toks[k].start);
        for (j = 0; j < n; j++) {
            if (out[j] < 0 && len == keys[j].len && name[0] == keys[j].name[0] &&
                memcmp(name, keys[j].name, len) == 0)
                break;
        }
        /* A key written with escapes is longer than its text: rare. */
        if (j == n && memchr(name, '\\', len) != NULL) {
            for (j = 0; j < n; j++)
                if (out[j] < 0 && wisp_json_eq(d->js, &toks[k], keys[j].name))
                    break;
        }
        if (j < n)
            out[j] = k + 1;
        k = wisp_json_skip(toks, d->count, k);
    }
}

/* A fixed field (string, number or null; anything else is malformed): kept
 * from the first document that gives a non-empty value.  *fresh is set when
 * this call filled it. */
static wisp_status take_field(const doc *d, int i, char *dst, size_t cap, bool *fresh)
{
    const wisp_token *t;
    wisp_status s;
    if (fresh != NULL)
        *fresh = false;
    if (is_null(d, i))
        return WISP_OK;
    t = &d->r->toks[i];
    if (dst[0] != '\0') {
        /* Already set: only the type is checked (the tokenizer let only
         * numbers, true, false and null through as primitives). */
        return t->type == WISP_TOK_STRING ||
                       (t->type == WISP_TOK_PRIMITIVE && d->js[t->start] != 't' &&
                        d->js[t->start] != 'f')
                   ? WISP_OK
                   : WISP_ERR_JSON;
    }
    s = wisp_json_field(d->js, &d->r->toks[i], dst, cap, &d->r->resp->fields_truncated);
    if (s == WISP_OK && fresh != NULL)
        *fresh = dst[0] != '\0';
    return s;
}

/* role and finish_reason: stored and reported the first time they have a
 * value. */
static wisp_status take_event_field(const doc *d, int i, char *dst, size_t cap,
                                    wisp_event_type type)
{
    bool fresh;
    wisp_status s = take_field(d, i, dst, cap, &fresh);
    if (s == WISP_OK && fresh && send_event(d->r, type, dst, strlen(dst), NULL) != 0)
        s = WISP_ERR_CANCELLED;
    return s;
}

/* Content given as a list of parts (Mistral, and OpenAI's input shape):
 * "text" parts are content (reasoning inside a "thinking" part), a
 * "thinking" part holds reasoning as a string or as its own list of text
 * parts.  Parts of other types (images, references) are skipped. */
static wisp_status put_parts(const doc *d, int arr, which w)
{
    const wisp_token *toks = d->r->toks;
    int n = toks[arr].size;
    int j = arr + 1;
    wisp_status s = WISP_OK;
    while (n-- > 0 && j < d->count && s == WISP_OK) {
        int type = is_type(d, j, WISP_TOK_OBJECT)
                       ? wisp_json_find(d->js, toks, d->count, j, "type") : -1;
        if (type >= 0 && wisp_json_eq(d->js, &toks[type], "text")) {
            int t = wisp_json_find(d->js, toks, d->count, j, "text");
            if (is_type(d, t, WISP_TOK_STRING))
                s = put_string(d->r, w, d->js, &toks[t]);
            else if (!is_null(d, t))
                s = WISP_ERR_JSON;
        } else if (type >= 0 && w == CONTENT && wisp_json_eq(d->js, &toks[type], "thinking")) {
            int t = wisp_json_find(d->js, toks, d->count, j, "thinking");
            if (is_type(d, t, WISP_TOK_ARRAY))
                s = put_parts(d, t, REASONING); /* one level: REASONING stops here */
            else if (is_type(d, t, WISP_TOK_STRING))
                s = put_string(d->r, REASONING, d->js, &toks[t]);
            else if (!is_null(d, t))
                s = WISP_ERR_JSON;
        }
        j = wisp_json_skip(toks, d->count, j);
    }
    return s;
}

/* A choice's message (whole reply) or delta (chunk). */
static wisp_status read_message(const doc *d, int msg)
{
    const wisp_token *toks = d->r->toks;
    wisp_response *resp = d->r->resp;
    int m[M_N];
    int i;
    wisp_status s;

    find_keys(d, msg, message_keys, M_N, m);
    s = take_event_field(d, m[M_ROLE], resp->role, sizeof resp->role, WISP_EVENT_ROLE);
    if (s != WISP_OK)
        return s;

    /* Reasoning before content: models reason before they answer. */
    if ((!is_null(d, m[M_REASONING_CONTENT]) && !is_type(d, m[M_REASONING_CONTENT], WISP_TOK_STRING)) ||
        (!is_null(d, m[M_REASONING]) && !is_type(d, m[M_REASONING], WISP_TOK_STRING)))
        return WISP_ERR_JSON;
    i = is_nonempty_string(d, m[M_REASONING_CONTENT]) ? m[M_REASONING_CONTENT] : m[M_REASONING];
    if (is_nonempty_string(d, i)) {
        s = put_string(d->r, REASONING, d->js, &toks[i]);
        if (s != WISP_OK)
            return s;
    }

    i = m[M_CONTENT];
    if (is_type(d, i, WISP_TOK_STRING)) {
        d->r->content_seen = true;
        s = put_string(d->r, CONTENT, d->js, &toks[i]);
    } else if (is_type(d, i, WISP_TOK_ARRAY)) {
        d->r->content_seen = true;
        s = put_parts(d, i, CONTENT);
    } else if (!is_null(d, i)) {
        s = WISP_ERR_JSON;
    }
    if (s != WISP_OK)
        return s;

    /* OpenAI: a refusal is the text a person should see, flagged as such. */
    i = m[M_REFUSAL];
    if (is_nonempty_string(d, i)) {
        d->r->content_seen = true;
        resp->refused = true;
        s = put_string(d->r, CONTENT, d->js, &toks[i]);
    } else if (!is_null(d, i) && !is_type(d, i, WISP_TOK_STRING)) {
        s = WISP_ERR_JSON;
    }
    return s;
}

/* The choice with index 0 (or the first without an index), or -1.  Every
 * element must be an object. */
static wisp_status pick_choice(const doc *d, int choices, int *c, int *found)
{
    const wisp_token *toks = d->r->toks;
    int i, n;
    uint32_t index;
    *found = -1;
    if (is_null(d, choices))
        return WISP_OK;
    if (!is_type(d, choices, WISP_TOK_ARRAY))
        return WISP_ERR_JSON;
    n = toks[choices].size;
    i = choices + 1;
    while (n-- > 0 && i < d->count) {
        if (!is_type(d, i, WISP_TOK_OBJECT))
            return WISP_ERR_JSON;
        if (*found < 0) {
            find_keys(d, i, choice_keys, C_N, c);
            if (!is_null(d, c[C_INDEX]) && !is_type(d, c[C_INDEX], WISP_TOK_PRIMITIVE))
                return WISP_ERR_JSON; /* "index": "0" */
            if (is_null(d, c[C_INDEX]) ||
                (wisp_json_u32(d->js, &toks[c[C_INDEX]], &index) && index == 0))
                *found = i;
        }
        i = wisp_json_skip(toks, d->count, i);
    }
    return WISP_OK;
}

static wisp_status read_choice(const doc *d, const int *c)
{
    wisp_response *resp = d->r->resp;
    wisp_status s;
    int msg = !is_null(d, c[C_DELTA]) ? c[C_DELTA] : c[C_MESSAGE];

    d->r->choice_seen = true;
    if (!is_null(d, msg)) {
        if (!is_type(d, msg, WISP_TOK_OBJECT))
            return WISP_ERR_JSON;
        s = read_message(d, msg);
        if (s != WISP_OK)
            return s;
    }
    return take_event_field(d, c[C_FINISH], resp->finish_reason, sizeof resp->finish_reason,
                            WISP_EVENT_FINISH);
}

static wisp_status read_usage(const doc *d, const int *root)
{
    wisp_usage u;
    wisp_status s;
    int i = root[R_USAGE];
    if (is_null(d, i) && is_type(d, root[R_XGROQ], WISP_TOK_OBJECT))
        i = wisp_json_find(d->js, d->r->toks, d->count, root[R_XGROQ], "usage");
    if (is_null(d, i))
        return WISP_OK;
    /* Usage is metadata about the answer: one of odd shape is ignored
     * rather than failing an answer that arrived whole. */
    s = wisp_json_usage(d->js, d->r->toks, d->count, i, &u);
    if (s == WISP_OK)
        d->r->resp->usage = u; /* the last one wins, never added up */
    return WISP_OK;
}

wisp_status wisp_reply_document(wisp_reply *r, const char *js, size_t len)
{
    wisp_response *resp;
    int root[R_N], c[C_N];
    int choice;
    doc d;
    wisp_status s;

    if (r == NULL || r->resp == NULL || r->toks == NULL || (js == NULL && len > 0))
        return WISP_ERR_ARG;
    resp = r->resp;
    d.r = r;
    d.js = js;
    d.len = len;
    s = wisp_json_tokenize(js, len, r->toks, r->ntoks, &d.count);
    if (s != WISP_OK)
        return s;

    if (r->toks[0].type != WISP_TOK_OBJECT) {
        /* Gemini's [{"error": {...}}]; nothing else is a reply. */
        if (!wisp_error_from_tokens(js, r->toks, d.count, resp))
            return WISP_ERR_JSON;
        wisp_error_fallback(js, len, resp);
        return WISP_ERR_API;
    }
    find_keys(&d, 0, root_keys, R_N, root);
    if (is_error_value(&d, root[R_ERROR]) ||
        (root[R_OBJECT] >= 0 && wisp_json_eq(js, &r->toks[root[R_OBJECT]], "error"))) {
        (void)wisp_error_from_tokens(js, r->toks, d.count, resp);
        wisp_error_fallback(js, len, resp); /* an error without a message */
        return WISP_ERR_API;
    }
    /* Every chunk and reply has "choices"; a document without one may be
     * an error in another shape ({"errors": [...]}, {"detail": ...},
     * {"message": ...}), which reads as it would in an error status. */
    if (root[R_CHOICES] < 0 && wisp_error_from_tokens(js, r->toks, d.count, resp)) {
        wisp_error_fallback(js, len, resp);
        return WISP_ERR_API;
    }

    s = take_field(&d, root[R_ID], resp->id, sizeof resp->id, NULL);
    if (s == WISP_OK)
        s = take_field(&d, root[R_MODEL], resp->model, sizeof resp->model, NULL);
    if (s != WISP_OK)
        return s;
    if (resp->created == 0 && root[R_CREATED] >= 0 &&
        !wisp_json_i64(js, &r->toks[root[R_CREATED]], &resp->created))
        resp->created = 0; /* lenient: a fraction or a string reads as 0 */

    s = pick_choice(&d, root[R_CHOICES], c, &choice);
    if (s == WISP_OK && choice >= 0)
        s = read_choice(&d, c);
    if (s == WISP_OK)
        s = read_usage(&d, root);
    return s;
}

/* ---- a stream's events ------------------------------------------------------------ */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Once per reply: flush the carries, settle content_null, report usage. */
static wisp_status finalize(wisp_reply *r)
{
    wisp_status s;
    if (r->ended)
        return WISP_OK;
    r->ended = true;
    s = put_rest(r, REASONING);
    if (s == WISP_OK)
        s = put_rest(r, CONTENT);
    if (s != WISP_OK)
        return s;
    r->resp->content_null = r->choice_seen && !r->content_seen;
    if (r->resp->usage.present &&
        send_event(r, WISP_EVENT_USAGE, "", 0, &r->resp->usage) != 0)
        return WISP_ERR_CANCELLED;
    return WISP_OK;
}

wisp_status wisp_reply_event(wisp_reply *r, const char *data, size_t len, bool is_error)
{
    size_t a = 0, b = len;

    if (r == NULL || r->resp == NULL || (data == NULL && len > 0))
        return WISP_ERR_ARG;
    if (r->done)
        return WISP_OK;
    if (is_error) {
        (void)wisp_error_read(data, len, false, r->toks, r->ntoks, r->resp);
        return WISP_ERR_API;
    }
    while (a < b && is_space(data[a]))
        a++;
    while (b > a && is_space(data[b - 1]))
        b--;
    if (a == b)
        return WISP_OK; /* an empty event: nothing to read */
    if (b - a == 6 && memcmp(data + a, "[DONE]", 6) == 0) {
        r->done = true;
        return finalize(r);
    }
    return wisp_reply_document(r, data, len);
}

wisp_status wisp_reply_end(wisp_reply *r, bool whole)
{
    wisp_status s;
    if (r == NULL || r->resp == NULL)
        return WISP_ERR_ARG;
    if (whole)
        r->done = true;
    s = finalize(r);
    if (s != WISP_OK)
        return s;
    if (!r->done && r->resp->finish_reason[0] == '\0')
        return WISP_ERR_STREAM_TRUNCATED;
    return WISP_OK;
}
