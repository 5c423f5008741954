/*
 * wisp_reply.c - the one reader of a chat-completions reply (see
 * wisp_reply.h): stream chunks and whole bodies alike.
 */
#include "wisp_reply.h"

#include <string.h>

/* Which text a piece belongs to. */
typedef enum which { CONTENT, REASONING, TOOL_ARGUMENTS } which;

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
    resp->reasoning_spent_budget = false;
    resp->refused = false;
    resp->id[0] = resp->model[0] = resp->role[0] = '\0';
    resp->finish_reason[0] = '\0';
    resp->created = 0;
    memset(&resp->usage, 0, sizeof resp->usage);
    resp->tool_call_count = 0;
    resp->tool_calls_dropped = 0;
    if (resp->tool_calls == NULL)
        resp->tool_call_cap = 0;
}

void wisp_reply_scratch(wisp_reply *r, char *scratch, size_t cap)
{
    if (r == NULL)
        return;
    r->scratch = scratch;
    r->scratch_cap = scratch != NULL ? cap : 0;
}

static int send_tool_event(const wisp_reply *r, wisp_event_type type, const char *text,
                           size_t len, const wisp_usage *usage, uint32_t index,
                           const wisp_tool_call *call)
{
    wisp_event ev;
    if (r->cb == NULL)
        return 0;
    ev.type = type;
    ev.text = text;
    ev.len = len;
    ev.usage = usage;
    ev.tool_index = index;
    ev.tool_id = call != NULL ? call->id : "";
    ev.tool_name = call != NULL ? call->name : "";
    return r->cb(r->user, &ev);
}

static int send_event(const wisp_reply *r, wisp_event_type type, const char *text,
                      size_t len, const wisp_usage *usage)
{
    return send_tool_event(r, type, text, len, usage, 0, NULL);
}

/* ---- text: gathered in scratch, then to resp and the callback together ---- */

typedef struct sink {
    wisp_reply *r;
    wisp_text *text; /* NULL: events only (a tool call without a slot) */
    wisp_event_type type;
    size_t len; /* bytes gathered in r->scratch */
    uint32_t index;             /* tool calls: the call's index */
    const wisp_tool_call *call; /* and its slot, or NULL */
} sink;

static int deliver(sink *k, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (k->text != NULL)
        wisp_text_append(k->text, s, n);
    k->r->delivered = true;
    return send_tool_event(k->r, k->type, s, n, NULL, k->index, k->call);
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
    k->index = 0;
    k->call = NULL;
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

#define KEY(s) {(s), (uint8_t)(sizeof(s) - 1)}

static const key root_keys[] = {KEY("id"), KEY("model"), KEY("created"), KEY("choices"),
                                KEY("error"), KEY("usage"), KEY("x_groq"), KEY("object")};
enum { R_ID, R_MODEL, R_CREATED, R_CHOICES, R_ERROR, R_USAGE, R_XGROQ, R_OBJECT, R_N };
static const key choice_keys[] = {KEY("index"), KEY("delta"), KEY("message"),
                                  KEY("finish_reason")};
enum { C_INDEX, C_DELTA, C_MESSAGE, C_FINISH, C_N };
static const key message_keys[] = {KEY("role"), KEY("content"), KEY("reasoning_content"),
                                   KEY("reasoning"), KEY("refusal"), KEY("tool_calls")};
enum { M_ROLE, M_CONTENT, M_REASONING_CONTENT, M_REASONING, M_REFUSAL, M_TOOL_CALLS, M_N };
static const key call_keys[] = {KEY("index"), KEY("id"), KEY("function"), KEY("extra_content")};
enum { T_INDEX, T_ID, T_FUNCTION, T_EXTRA, T_N };
static const key function_keys[] = {KEY("name"), KEY("arguments")};
enum { F_NAME, F_ARGUMENTS, F_N };

/* out[j] = index of the value of keys[j] in the object at obj (the first of
 * duplicates wins), or -1. */
static void find_keys(const doc *d, int obj, const key *keys, int n, int *out)
{
    const wisp_token *toks = d->r->toks;
    const char *js = d->js;
    const int count = d->count;
    int k, v, left, j;
    for (j = 0; j < n; j++)
        out[j] = -1;
    if (!is_type(d, obj, WISP_TOK_OBJECT))
        return;
    k = obj + 1;
    for (left = toks[obj].size; left > 0 && k + 1 < count; left--) {
        const char *name = js + toks[k].start;
        size_t len = (size_t)(toks[k].end - toks[k].start);
        for (j = 0; j < n; j++)
            if (len == keys[j].len && name[0] == keys[j].name[0] &&
                memcmp(name, keys[j].name, len) == 0)
                break;
        /* A key written with escapes is longer than its text: rare. */
        if (j == n && memchr(name, '\\', len) != NULL) {
            for (j = 0; j < n; j++)
                if (wisp_json_eq(js, &toks[k], keys[j].name))
                    break;
        }
        v = k + 1; /* the key's value */
        if (j < n && out[j] < 0)
            out[j] = v;
        /* The next key: right after a leaf value, past a container's subtree. */
        k = toks[v].type == WISP_TOK_OBJECT || toks[v].type == WISP_TOK_ARRAY
                ? wisp_json_skip(toks, count, v)
                : v + 1;
    }
}

/* A fixed field (string, number or null; anything else is malformed): kept
 * from the first document that gives a non-empty value.  *fresh is set when
 * this call filled it, *cut (never cleared) when it had to cut. */
static wisp_status take_field(const doc *d, int i, char *dst, size_t cap, bool *fresh,
                              bool *cut)
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
    s = wisp_json_field(d->js, &d->r->toks[i], dst, cap, cut);
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
    wisp_status s = take_field(d, i, dst, cap, &fresh, &d->r->resp->fields_truncated);
    if (s == WISP_OK && fresh && send_event(d->r, type, dst, strlen(dst), NULL) != 0)
        s = WISP_ERR_CANCELLED;
    return s;
}

/* Content given as a list of parts (Mistral, and OpenAI's input shape):
 * "text" parts are content (reasoning inside a "thinking" part), a
 * "thinking" part holds reasoning as a string or as its own list of text
 * parts.  Parts of other types (images, references) are skipped. */
/* NOLINTNEXTLINE(misc-no-recursion): one level deep, the inner call has w == REASONING */
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

/* ---- tool calls ---------------------------------------------------------------- */

/* The slot of the call with this index, a new slot, or NULL when none is
 * free (the call is counted in tool_calls_dropped once). */
static wisp_tool_call *slot_for(const doc *d, uint32_t index, bool starts)
{
    wisp_response *resp = d->r->resp;
    wisp_tool_call *c;
    size_t i;
    for (i = 0; i < resp->tool_call_count; i++)
        if (resp->tool_calls[i].index == index)
            return &resp->tool_calls[i];
    if (resp->tool_call_count < resp->tool_call_cap) {
        c = &resp->tool_calls[resp->tool_call_count++];
        c->index = index;
        c->id[0] = c->name[0] = '\0';
        c->cut = false;
        wisp_text_reset(&c->arguments);
        wisp_text_reset(&c->signature);
        wisp_unescape_init(&c->carry_);
        return c;
    }
    if (starts && !(index < 32 && (d->r->dropped_mask >> index) & 1u) &&
        !(index >= 32 && d->r->dropped_last_set && d->r->dropped_last == index)) {
        resp->tool_calls_dropped++;
        if (index < 32) {
            d->r->dropped_mask |= (uint32_t)1 << index;
        } else {
            d->r->dropped_last = index;
            d->r->dropped_last_set = true;
        }
    }
    return NULL;
}

/* Argument text of one delta (a string, unescaped with the call's own
 * carry; or an object some servers send, taken as its JSON text). */
static wisp_status put_arguments(const doc *d, int i, uint32_t index, wisp_tool_call *c,
                                 bool announce)
{
    const wisp_token *t = &d->r->toks[i];
    wisp_unescape spare;
    wisp_status s = WISP_OK;
    sink k;
    k.r = d->r;
    k.text = c != NULL ? &c->arguments : NULL;
    k.type = WISP_EVENT_TOOL_CALL;
    k.len = 0;
    k.index = index;
    k.call = c;
    if (t->type == WISP_TOK_STRING) {
        if (c == NULL)
            wisp_unescape_init(&spare); /* no slot: nothing to carry into */
        s = wisp_unescape_feed(c != NULL ? &c->carry_ : &spare, d->js + t->start,
                               (size_t)(t->end - t->start), true, sink_emit, &k);
    } else if (t->type == WISP_TOK_OBJECT || t->type == WISP_TOK_ARRAY) {
        if (sink_emit(&k, d->js + t->start, (size_t)(t->end - t->start)) != 0)
            s = WISP_ERR_CANCELLED;
    } else {
        return WISP_ERR_JSON;
    }
    if (s == WISP_OK && k.len == 0 && announce &&
        send_tool_event(d->r, WISP_EVENT_TOOL_CALL, "", 0, NULL, index, c) != 0)
        return WISP_ERR_CANCELLED;
    if (s == WISP_OK && flush(&k) != 0)
        s = WISP_ERR_CANCELLED;
    return s;
}

/* Gemini's extra_content.google.thought_signature: kept whole (pieces of
 * one split across deltas joined) or refused. */
static wisp_status take_signature(const doc *d, int extra, wisp_tool_call *c)
{
    wisp_unescape u;
    int google, sig;
    const wisp_token *t;
    if (c == NULL || c->signature.cap == 0 || !is_type(d, extra, WISP_TOK_OBJECT))
        return WISP_OK;
    google = wisp_json_find(d->js, d->r->toks, d->count, extra, "google");
    sig = is_type(d, google, WISP_TOK_OBJECT)
              ? wisp_json_find(d->js, d->r->toks, d->count, google, "thought_signature") : -1;
    if (!is_nonempty_string(d, sig))
        return WISP_OK;
    t = &d->r->toks[sig];
    wisp_unescape_init(&u);
    if (wisp_unescape_feed(&u, d->js + t->start, (size_t)(t->end - t->start), false,
                           wisp_text_emit, &c->signature) != WISP_OK)
        return WISP_ERR_JSON;
    return c->signature.truncated ? WISP_ERR_SIGNATURE_TOO_LARGE : WISP_OK;
}

/* The index a call without one takes: after every index seen. */
static uint32_t next_index(const wisp_response *resp)
{
    uint32_t next = (uint32_t)(resp->tool_call_count + resp->tool_calls_dropped);
    size_t k;
    for (k = 0; k < resp->tool_call_count; k++)
        if (resp->tool_calls[k].index >= next && resp->tool_calls[k].index < UINT32_MAX)
            next = resp->tool_calls[k].index + 1;
    return next;
}

/* One element of tool_calls: a whole call (a reply, Gemini, older Ollama)
 * or a piece of one (a stream). */
static wisp_status read_call(const doc *d, int el)
{
    wisp_response *resp = d->r->resp;
    int t[T_N], f[F_N];
    uint32_t index;
    bool has_index, fresh_id = false, fresh_name = false, starts;
    wisp_tool_call *c;
    wisp_status s;

    if (!is_type(d, el, WISP_TOK_OBJECT))
        return WISP_ERR_JSON;
    find_keys(d, el, call_keys, T_N, t);
    if (!is_null(d, t[T_FUNCTION]) && !is_type(d, t[T_FUNCTION], WISP_TOK_OBJECT))
        return WISP_ERR_JSON;
    find_keys(d, t[T_FUNCTION], function_keys, F_N, f);
    starts = is_nonempty_string(d, t[T_ID]) || is_nonempty_string(d, f[F_NAME]);
    has_index = !is_null(d, t[T_INDEX]);
    if (has_index && (!wisp_json_u32(d->js, &d->r->toks[t[T_INDEX]], &index) ||
                      index == UINT32_MAX))
        return WISP_ERR_JSON; /* not a count of calls */
    if (has_index && is_nonempty_string(d, t[T_ID]) && is_nonempty_string(d, f[F_NAME])) {
        /* Ollama numbers every streamed call 0: a new id with a name at a
         * taken index is a new call (a continuation with an id but no name,
         * as GLM's "id": "null", is not). */
        size_t k;
        for (k = 0; k < resp->tool_call_count; k++)
            if (resp->tool_calls[k].index == index && resp->tool_calls[k].id[0] != '\0' &&
                !wisp_json_eq(d->js, &d->r->toks[t[T_ID]], resp->tool_calls[k].id))
                has_index = false;
    }
    if (!has_index) {
        /* No index: each call comes whole and takes the next free index;
         * a piece with neither id nor name goes on the last call. */
        index = next_index(resp);
        if (!starts && index > 0)
            index--;
    }
    c = slot_for(d, index, starts || !has_index);
    if (c != NULL) {
        /* A cut id or name flags its call: a cut name cannot be called. */
        s = take_field(d, t[T_ID], c->id, sizeof c->id, &fresh_id, &c->cut);
        if (s == WISP_OK)
            s = take_field(d, f[F_NAME], c->name, sizeof c->name, &fresh_name, &c->cut);
        resp->fields_truncated |= c->cut;
        if (s != WISP_OK)
            return s;
        s = take_signature(d, t[T_EXTRA], c);
        if (s != WISP_OK)
            return s;
    }
    if (!is_null(d, f[F_ARGUMENTS]))
        return put_arguments(d, f[F_ARGUMENTS], index, c, fresh_id || fresh_name || c == NULL);
    if ((fresh_id || fresh_name || (c == NULL && starts)) &&
        send_tool_event(d->r, WISP_EVENT_TOOL_CALL, "", 0, NULL, index, c) != 0)
        return WISP_ERR_CANCELLED;
    return WISP_OK;
}

WISP_NOINLINE static wisp_status read_tool_calls(const doc *d, int arr)
{
    int n, j;
    wisp_status s = WISP_OK;
    if (is_null(d, arr))
        return WISP_OK;
    if (!is_type(d, arr, WISP_TOK_ARRAY))
        return WISP_ERR_JSON;
    n = d->r->toks[arr].size;
    if (!WISP_TOOLS) { /* calls nobody asked for: flagged, not read */
        if (n > 0 && d->r->resp->tool_calls_dropped == 0)
            d->r->resp->tool_calls_dropped = 1;
        return WISP_OK;
    }
    j = arr + 1;
    while (n-- > 0 && j < d->count && s == WISP_OK) {
        s = read_call(d, j);
        j = wisp_json_skip(d->r->toks, d->count, j);
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
        s = WISP_PARTS ? put_parts(d, i, CONTENT) : WISP_ERR_UNSUPPORTED;
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
    /* Tool calls after the text: some servers say something first. */
    if (s == WISP_OK)
        s = read_tool_calls(d, m[M_TOOL_CALLS]);
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

    s = take_field(&d, root[R_ID], resp->id, sizeof resp->id, NULL, &resp->fields_truncated);
    if (s == WISP_OK)
        s = take_field(&d, root[R_MODEL], resp->model, sizeof resp->model, NULL,
                       &resp->fields_truncated);
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

/* The calls' carries flushed, then the slots put in index order. */
static wisp_status finish_calls(wisp_reply *r)
{
    wisp_response *resp = r->resp;
    size_t i, j;
    for (i = 0; i < resp->tool_call_count; i++) {
        wisp_tool_call *c = &resp->tool_calls[i];
        sink k;
        k.r = r;
        k.text = &c->arguments;
        k.type = WISP_EVENT_TOOL_CALL;
        k.len = 0;
        k.index = c->index;
        k.call = c;
        if (wisp_unescape_finish(&c->carry_, sink_emit, &k) != WISP_OK || flush(&k) != 0)
            return WISP_ERR_CANCELLED;
    }
    /* Insertion sort, swapping in place: a slot is too big for the stack. */
    for (i = 1; i < resp->tool_call_count; i++) {
        for (j = i; j > 0 && resp->tool_calls[j - 1].index > resp->tool_calls[j].index; j--) {
            unsigned char *a = (unsigned char *)&resp->tool_calls[j - 1];
            unsigned char *b = (unsigned char *)&resp->tool_calls[j];
            size_t n;
            for (n = 0; n < sizeof resp->tool_calls[j]; n++) {
                unsigned char x = a[n];
                a[n] = b[n];
                b[n] = x;
            }
        }
    }
    return WISP_OK;
}

/* finish_reason "length" with no text and no call, after reasoning: the
 * budget went on thinking (Gemini 2.5 and the o-series do this).  Gemini's
 * compatibility layer may report the thoughts only as total_tokens above
 * prompt plus completion. */
static bool spent_on_reasoning(const wisp_response *resp)
{
    return memcmp(resp->finish_reason, "length", sizeof "length") == 0 &&
           resp->content.full_len == 0 &&
           resp->tool_call_count + resp->tool_calls_dropped == 0 &&
           (resp->usage.reasoning_tokens > 0 || resp->reasoning.full_len > 0 ||
            (resp->usage.has_total_tokens && resp->usage.has_prompt_tokens &&
             resp->usage.has_completion_tokens &&
             resp->usage.total_tokens > resp->usage.prompt_tokens &&
             resp->usage.total_tokens - resp->usage.prompt_tokens >
                 resp->usage.completion_tokens));
}

/* Once per reply: flush the carries, settle content_null and the budget
 * flag, report usage. */
static wisp_status finalize(wisp_reply *r)
{
    wisp_status s;
    if (r->ended)
        return WISP_OK;
    r->ended = true;
    s = put_rest(r, REASONING);
    if (s == WISP_OK)
        s = put_rest(r, CONTENT);
    if (s == WISP_OK && WISP_TOOLS)
        s = finish_calls(r);
    if (s != WISP_OK)
        return s;
    r->resp->content_null = r->choice_seen && !r->content_seen;
    r->resp->reasoning_spent_budget = spent_on_reasoning(r->resp);
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
