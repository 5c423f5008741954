/*
 * wisp_tools.c - tool definitions from JSON text, and the tool loop: ask,
 * run the caller's handler for each call, send the results back, ask
 * again, with the whole history in a caller arena.
 */
#include <string.h>

#include "wisp.h"
#include "wisp_json.h"
#include "wisp_text.h"

/* ---- tool definitions from JSON ------------------------------------------- */

typedef struct store {
    char *buf;
    size_t cap, used;
} store;

/* The unescaped string at token t, NUL-terminated in st; NULL when it does
 * not fit. */
static const char *store_string(store *st, const char *js, const wisp_token *t)
{
    wisp_text text;
    wisp_unescape u;
    char *at = st->buf + st->used;
    text.buf = at;
    text.cap = st->cap - st->used;
    wisp_text_reset(&text);
    wisp_unescape_init(&u);
    if (text.cap == 0 ||
        wisp_unescape_feed(&u, js + t->start, (size_t)(t->end - t->start), false, wisp_text_emit,
                           &text) != WISP_OK ||
        text.truncated)
        return NULL;
    st->used += text.len + 1;
    return at;
}

wisp_status wisp_tools_from_json(const char *text, size_t len, wisp_token *toks, size_t ntoks,
                                 wisp_tool *tools, size_t cap, size_t *count, char *store_buf,
                                 size_t store_cap, const char **why)
{
    static const char *const k_why[] = {
        "not JSON", "not a JSON array", "more tools than there is room for",
        "an element is not an object", "an element has no \"function\" object",
        "an element has no function.name string", "function.description is not a string",
        "function.parameters is not an object", "the names and descriptions do not fit",
        "an element's \"type\" is not \"function\"", "too complex (more tokens than the array holds)",
        "function.parameters nests too deep",
    };
    const char *dummy;
    store st;
    int n, i, el, fn, v;
    wisp_status s;
    int ntok = 0;

    if (why == NULL)
        why = &dummy;
    *why = "";
    if (count != NULL)
        *count = 0;
    if (text == NULL || toks == NULL || count == NULL || (tools == NULL && cap > 0) ||
        (store_buf == NULL && store_cap > 0))
        return WISP_ERR_ARG;
    s = wisp_json_tokenize(text, len, toks, ntoks, &ntok);
    if (s != WISP_OK) {
        *why = s == WISP_ERR_TOO_COMPLEX ? k_why[10] : k_why[0];
        return s == WISP_ERR_TOO_COMPLEX ? s : WISP_ERR_JSON;
    }
    if (toks[0].type != WISP_TOK_ARRAY) {
        *why = k_why[1];
        return WISP_ERR_JSON;
    }
    st.buf = store_buf;
    st.cap = store_cap;
    st.used = 0;
    n = toks[0].size;
    if ((size_t)n > cap) {
        *why = k_why[2];
        return WISP_ERR_TOO_COMPLEX;
    }
    el = 1;
    for (i = 0; i < n; i++) {
        wisp_tool *t = &tools[i];
        if (toks[el].type != WISP_TOK_OBJECT) {
            *why = k_why[3];
            return WISP_ERR_JSON;
        }
        v = wisp_json_find(text, toks, ntok, el, "type");
        if (v >= 0 && !wisp_json_eq(text, &toks[v], "function")) {
            *why = k_why[9];
            return WISP_ERR_JSON;
        }
        fn = wisp_json_find(text, toks, ntok, el, "function");
        if (fn < 0 || toks[fn].type != WISP_TOK_OBJECT) {
            *why = k_why[4];
            return WISP_ERR_JSON;
        }
        memset(t, 0, sizeof *t);
        v = wisp_json_find(text, toks, ntok, fn, "name");
        if (v < 0 || toks[v].type != WISP_TOK_STRING || toks[v].end == toks[v].start) {
            *why = k_why[5];
            return WISP_ERR_JSON;
        }
        if ((t->name = store_string(&st, text, &toks[v])) == NULL) {
            *why = k_why[8];
            return WISP_ERR_TOO_LARGE;
        }
        v = wisp_json_find(text, toks, ntok, fn, "description");
        if (v >= 0 && !wisp_json_is_null(text, &toks[v])) {
            if (toks[v].type != WISP_TOK_STRING) {
                *why = k_why[6];
                return WISP_ERR_JSON;
            }
            if ((t->description = store_string(&st, text, &toks[v])) == NULL) {
                *why = k_why[8];
                return WISP_ERR_TOO_LARGE;
            }
        }
        v = wisp_json_find(text, toks, ntok, fn, "parameters");
        if (v >= 0 && !wisp_json_is_null(text, &toks[v])) {
            if (toks[v].type != WISP_TOK_OBJECT) {
                *why = k_why[7];
                return WISP_ERR_JSON;
            }
            t->parameters = text + toks[v].start;
            t->parameters_len = (size_t)(toks[v].end - toks[v].start);
            if (!wisp_json_valid(t->parameters, t->parameters_len, WISP_TOOL_SCHEMA_DEPTH)) {
                *why = k_why[11];
                return WISP_ERR_JSON;
            }
        }
        /* The whole function object goes as it is: "strict" and the rest. */
        t->function_json = text + toks[fn].start;
        t->function_json_len = (size_t)(toks[fn].end - toks[fn].start);
        el = wisp_json_skip(toks, ntok, el);
    }
    *count = (size_t)n;
    return WISP_OK;
}

/* ---- the tool loop ------------------------------------------------------------ */

/*
 * Arena layout: the message array at the front, with room for every
 * message the loop may add (the request's, then per round one assistant
 * turn and one result per slot), then the call references and the text,
 * bump-allocated after it.  Nothing moves, so every pointer stays valid
 * for the caller to send the history again.
 */
typedef struct arena {
    unsigned char *base;
    size_t size, used;
} arena;

static void *arena_take(arena *a, size_t n, size_t align)
{
    uintptr_t at = (uintptr_t)(a->base + a->used);
    size_t pad = (size_t)((align - (at % align)) % align);
    void *p;
    if (pad > a->size - a->used || n > a->size - a->used - pad)
        return NULL;
    p = a->base + a->used + pad;
    a->used += pad + n;
    return p;
}

static const char *arena_copy(arena *a, const char *s, size_t n)
{
    char *p = (char *)arena_take(a, n + 1, 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Alignment for the message array and the call references: what their
 * widest members (pointers, size_t) need. */
#define ARENA_ALIGN (sizeof(size_t) > sizeof(void *) ? sizeof(size_t) : sizeof(void *))

/* The assistant turn of this round: its text, and its calls with their
 * signatures. */
static wisp_status add_assistant_turn(wisp_tool_loop *loop, arena *a, const wisp_response *resp)
{
    wisp_message *m = &loop->messages[loop->message_count];
    wisp_call_ref *refs;
    size_t i;

    refs = (wisp_call_ref *)arena_take(a, resp->tool_call_count * sizeof *refs,
                                       ARENA_ALIGN);
    if (refs == NULL)
        return WISP_ERR_ARENA_FULL;
    memset(m, 0, sizeof *m);
    m->role = WISP_ROLE_ASSISTANT;
    m->content = NULL;
    if (resp->content.len > 0 &&
        (m->content = arena_copy(a, resp->content.buf, resp->content.len)) == NULL)
        return WISP_ERR_ARENA_FULL;
    for (i = 0; i < resp->tool_call_count; i++) {
        const wisp_tool_call *c = &resp->tool_calls[i];
        refs[i].id = arena_copy(a, c->id, strlen(c->id));
        refs[i].name = arena_copy(a, c->name, strlen(c->name));
        refs[i].arguments = arena_copy(a, c->arguments.buf, c->arguments.len);
        refs[i].signature = NULL;
        if (c->signature.len > 0)
            refs[i].signature = arena_copy(a, c->signature.buf, c->signature.len);
        if (refs[i].id == NULL || refs[i].name == NULL || refs[i].arguments == NULL ||
            (c->signature.len > 0 && refs[i].signature == NULL))
            return WISP_ERR_ARENA_FULL;
    }
    m->tool_calls = refs;
    m->tool_call_count = resp->tool_call_count;
    loop->message_count++;
    return WISP_OK;
}

/* One result per call: the handler writes it straight into the arena. */
static wisp_status add_results(wisp_tool_loop *loop, arena *a, const wisp_response *resp)
{
    size_t i;
    for (i = 0; i < resp->tool_call_count; i++) {
        const wisp_tool_call *c = &resp->tool_calls[i];
        wisp_message *m = &loop->messages[loop->message_count];
        size_t room = a->size - a->used, len = 0;
        char *out = (char *)a->base + a->used;
        const char *id;
        /* The id first: once the handler ran, its result must have a home. */
        if ((id = arena_copy(a, c->id, strlen(c->id))) == NULL)
            return WISP_ERR_ARENA_FULL;
        room = a->size - a->used;
        out = (char *)a->base + a->used;
        if (room < 2)
            return WISP_ERR_ARENA_FULL;
        if (loop->handler(loop->user, c, out, room - 1, &len) != WISP_TOOL_RESULT)
            return WISP_ERR_CANCELLED;
        if (len > room - 1)
            return WISP_ERR_ARENA_FULL;
        out[len] = '\0';
        a->used += len + 1;
        memset(m, 0, sizeof *m);
        m->role = WISP_ROLE_TOOL;
        m->content = out;
        m->tool_call_id = id;
        loop->message_count++;
    }
    return WISP_OK;
}

wisp_status wisp_chat_tools(wisp_client *client, const wisp_request *request,
                            wisp_response *resp, wisp_tool_loop *loop,
                            wisp_event_fn on_event, void *user)
{
    wisp_request req;
    arena a;
    char *round_key = NULL;
    size_t max_messages, i;
    unsigned rounds;
    wisp_status st;

    if (client == NULL || request == NULL || resp == NULL || loop == NULL ||
        loop->handler == NULL || loop->arena == NULL || request->messages == NULL ||
        resp->tool_calls == NULL || resp->tool_call_cap == 0 || loop->max_rounds > 64)
        return WISP_ERR_ARG;
    rounds = loop->max_rounds != 0 ? loop->max_rounds : 4;
    if (resp->tool_call_cap > 1024 || request->message_count > SIZE_MAX / 2 / sizeof(wisp_message))
        return WISP_ERR_ARG;
    loop->rounds = 0;
    loop->message_count = 0;
    loop->arena_used = 0;
    a.base = (unsigned char *)loop->arena;
    a.size = loop->arena_size;
    a.used = 0;
    /* Room for every message the loop may add, reserved up front: each
     * round but the last adds a turn and one result per slot. */
    max_messages = request->message_count + (size_t)(rounds - 1) * (1 + resp->tool_call_cap);
    if (max_messages > SIZE_MAX / sizeof(wisp_message))
        return WISP_ERR_ARG;
    loop->messages = (wisp_message *)arena_take(&a, max_messages * sizeof(wisp_message),
                                                ARENA_ALIGN);
    if (loop->messages == NULL)
        return WISP_ERR_ARENA_FULL;
    for (i = 0; i < request->message_count; i++)
        loop->messages[i] = request->messages[i]; /* borrowed, as in wisp_chat */
    /* The key of the later rounds ("KEY.2" ... "KEY.64"), taken once and
     * before any request, so a full arena cannot undo a round whose tools
     * already ran. */
    if (request->idempotency_key != NULL && rounds > 1) {
        size_t n = strlen(request->idempotency_key);
        round_key = (char *)arena_take(&a, n + 4, 1);
        if (round_key == NULL)
            return WISP_ERR_ARENA_FULL;
        memcpy(round_key, request->idempotency_key, n);
    }
    loop->message_count = request->message_count;

    req = *request;
    for (;;) {
        size_t count_before = loop->message_count, used_before = a.used;
        req.messages = loop->messages;
        req.message_count = loop->message_count;
        st = wisp_chat(client, &req, resp, on_event, user);
        loop->rounds++;
        loop->arena_used = a.used;
        if (st != WISP_OK)
            return st;
        if (resp->tool_call_count == 0 && resp->tool_calls_dropped == 0)
            return WISP_OK; /* the answer */
        if (resp->tool_calls_dropped > 0)
            return WISP_ERR_TOOL_CALL_CUT;
        for (i = 0; i < resp->tool_call_count; i++)
            if (resp->tool_calls[i].arguments.truncated || resp->tool_calls[i].cut ||
                resp->tool_calls[i].name[0] == '\0')
                return WISP_ERR_TOOL_CALL_CUT; /* cannot be run as it is */
        if (loop->rounds == rounds)
            return WISP_ERR_TOOL_ROUNDS;
        st = add_assistant_turn(loop, &a, resp);
        if (st == WISP_OK)
            st = add_results(loop, &a, resp);
        if (a.used > loop->arena_used)
            loop->arena_used = a.used;
        if (st != WISP_OK) {
            /* A round half written would be refused: the history stays as
             * it was before it, fit to be sent again. */
            loop->message_count = count_before;
            a.used = used_before;
            return st;
        }
        if (round_key != NULL) {
            /* Each round is a new request: the same key again would fetch
             * the gateway's stored first reply.  Round N sends "KEY.N". */
            unsigned next = loop->rounds + 1; /* 2..64 */
            char *at = round_key + strlen(request->idempotency_key);
            at[0] = '.';
            at[1] = (char)(next >= 10 ? '0' + next / 10 : '0' + next);
            at[2] = (char)(next >= 10 ? '0' + next % 10 : '\0');
            at[3] = '\0';
            req.idempotency_key = round_key;
        }
        /* A forced choice was for the first request; after the results the
         * model must be free to answer. */
        if (req.tool_choice == WISP_TOOL_CHOICE_REQUIRED ||
            req.tool_choice == WISP_TOOL_CHOICE_FUNCTION)
            req.tool_choice = WISP_TOOL_CHOICE_AUTO;
    }
}
