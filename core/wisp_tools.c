/*
 * wisp_tools.c - tool definitions from JSON text, and the tool loop: ask,
 * run the caller's handler for each call, send the results back, ask
 * again, with the whole history in a caller arena.
 */
#include <string.h>

#include "wisp.h"
#include "wisp_json.h"
#include "wisp_store.h"
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
    char *at;
    if (st->used >= st->cap)
        return NULL; /* no room, or no store at all (buf NULL: no pointer math) */
    at = st->buf + st->used;
    text.buf = at;
    text.cap = st->cap - st->used;
    wisp_text_reset(&text);
    wisp_unescape_init(&u);
    if (wisp_unescape_feed(&u, js + t->start, (size_t)(t->end - t->start), false, wisp_text_emit,
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
 * The history lives in the store (wisp_store.h): for wisp_chat_tools the
 * request's messages borrowed, for a conversation its turns; then per
 * round the assistant turn and one result per call, copied in.  In a
 * conversation a take may drop older turns and move the turn's bytes, so
 * nothing here holds a pointer into the store across a take: the round
 * key is an offset into the turn, the message is fetched again.
 */

/* The assistant turn of this round: its text, and its calls with their
 * signatures, in one piece of the store. */
static wisp_status add_assistant_turn(wisp_conv *c, const wisp_response *resp)
{
    size_t n = resp->tool_call_count * sizeof(wisp_call_ref) + resp->content.len + 1, i;
    wisp_call_ref *refs;
    wisp_message *m;
    void *space;
    char *p;

    for (i = 0; i < resp->tool_call_count; i++) {
        const wisp_tool_call *t = &resp->tool_calls[i];
        n += strlen(t->id) + strlen(t->name) + t->arguments.len + t->signature.len + 4;
    }
    if ((m = wisp_store_push(c, n, &space)) == NULL)
        return WISP_ERR_ARENA_FULL;
    refs = (wisp_call_ref *)space;
    p = (char *)(refs + resp->tool_call_count);
    m->role = WISP_ROLE_ASSISTANT;
    m->content = NULL;
    if (resp->content.len > 0)
        p = wisp_store_put(p, resp->content.buf, resp->content.len, &m->content);
    for (i = 0; i < resp->tool_call_count; i++) {
        const wisp_tool_call *t = &resp->tool_calls[i];
        p = wisp_store_put(p, t->id, strlen(t->id), &refs[i].id);
        p = wisp_store_put(p, t->name, strlen(t->name), &refs[i].name);
        p = wisp_store_put(p, t->arguments.buf, t->arguments.len, &refs[i].arguments);
        refs[i].signature = NULL;
        if (t->signature.len > 0)
            p = wisp_store_put(p, t->signature.buf, t->signature.len, &refs[i].signature);
    }
    m->tool_calls = refs;
    m->tool_call_count = resp->tool_call_count;
    return WISP_OK;
}

/* One result per call: the handler writes it straight into the store,
 * after the call's id. */
static wisp_status add_results(wisp_conv *c, wisp_tool_loop *loop, const wisp_response *resp)
{
    size_t i;
    for (i = 0; i < resp->tool_call_count; i++) {
        const wisp_tool_call *t = &resp->tool_calls[i];
        size_t id_len = strlen(t->id), room, len = 0;
        void *space;
        char *out;
        wisp_message *m = wisp_store_push(c, id_len + 1, &space);
        /* The id first: once the handler ran, its result must have a home. */
        if (m == NULL)
            return WISP_ERR_ARENA_FULL;
        m->role = WISP_ROLE_TOOL;
        (void)wisp_store_put((char *)space, t->id, id_len, &m->tool_call_id);
        /* Room for the result: what is free while the turn is within the
         * reserve (a failed turn then leaves the history as it was); past
         * it, older turns may go for a reserve's worth. */
        room = wisp_store_room(c, c->pending_ < c->reserve ? 2 : c->reserve);
        if (room < 2)
            return WISP_ERR_ARENA_FULL;
        out = wisp_store_free_at(c); /* right after the id's piece */
        if (loop->handler(loop->user, t, out, room - 1, &len) != WISP_TOOL_RESULT)
            return WISP_ERR_CANCELLED;
        if (len > room - 1)
            return WISP_ERR_ARENA_FULL;
        out[len] = '\0';
        wisp_store_claim(c, len + 1);
        m = &c->messages[c->message_count - 1]; /* the slots moved if turns went */
        m->content = out;
    }
    return WISP_OK;
}

wisp_status wisp_tool_rounds(wisp_client *client, wisp_conv *c, const wisp_request *request,
                             wisp_response *resp, wisp_tool_loop *loop, wisp_event_fn on_event,
                             void *user)
{
    wisp_request req;
    size_t key_at = 0, key_len = 0, i; /* the round key: offset in the turn */
    bool keyed = false;
    unsigned rounds;
    wisp_status st;

    if (client == NULL || request == NULL || resp == NULL || loop == NULL ||
        loop->handler == NULL || resp->tool_calls == NULL || resp->tool_call_cap == 0 ||
        resp->tool_call_cap > 1024 || loop->max_rounds > 64)
        return WISP_ERR_ARG;
    rounds = loop->max_rounds != 0 ? loop->max_rounds : 4;
    loop->rounds = 0;
    /* The key of the later rounds ("KEY.2" ... "KEY.64"), taken before any
     * request, so a full store cannot undo a round whose tools already
     * ran. */
    if (request->idempotency_key != NULL && rounds > 1) {
        key_len = strlen(request->idempotency_key);
        if (wisp_store_room(c, key_len + 4) < key_len + 4)
            return WISP_ERR_ARENA_FULL;
        key_at = (size_t)(wisp_store_free_at(c) - wisp_store_turn_bytes(c));
        memcpy(wisp_store_free_at(c), request->idempotency_key, key_len);
        wisp_store_claim(c, key_len + 4);
        keyed = true;
    }

    req = *request;
    for (;;) {
        wisp_store_mark before = wisp_store_mark_now(c);
        req.messages = c->messages;
        req.message_count = c->message_count;
        st = wisp_chat(client, &req, resp, on_event, user);
        loop->rounds++;
        if (st != WISP_OK)
            break;
        if (resp->tool_call_count == 0 && resp->tool_calls_dropped == 0)
            break; /* the answer */
        st = WISP_ERR_TOOL_CALL_CUT;
        if (resp->tool_calls_dropped > 0)
            break;
        for (i = 0; i < resp->tool_call_count; i++)
            if (resp->tool_calls[i].arguments.truncated || resp->tool_calls[i].cut ||
                resp->tool_calls[i].name[0] == '\0')
                break; /* cannot be run as it is */
        if (i < resp->tool_call_count)
            break;
        st = WISP_ERR_TOOL_ROUNDS;
        if (loop->rounds == rounds)
            break;
        st = add_assistant_turn(c, resp);
        if (st == WISP_OK)
            st = add_results(c, loop, resp);
        if (st != WISP_OK) {
            /* A round half written would be refused: the history stays as
             * it was before it, fit to be sent again. */
            wisp_store_rollback(c, before);
            break;
        }
        if (keyed) {
            /* Each round is a new request: the same key again would fetch
             * the gateway's stored first reply.  Round N sends "KEY.N". */
            unsigned next = loop->rounds + 1; /* 2..64 */
            char *round_key = wisp_store_turn_bytes(c) + key_at;
            char *at = round_key + key_len;
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
    return st;
}

wisp_status wisp_chat_tools(wisp_client *client, const wisp_request *request,
                            wisp_response *resp, wisp_tool_loop *loop,
                            wisp_event_fn on_event, void *user)
{
    wisp_conv history;
    size_t max_messages, i;
    unsigned rounds;
    wisp_status st;

    if (request == NULL || resp == NULL || loop == NULL || loop->arena == NULL ||
        request->messages == NULL || request->message_count == 0 || loop->max_rounds > 64 ||
        resp->tool_call_cap > 1024)
        return WISP_ERR_ARG;
    rounds = loop->max_rounds != 0 ? loop->max_rounds : 4;
    loop->rounds = 0;
    loop->message_count = 0;
    loop->messages = NULL;
    loop->arena_used = 0;
    /* Room for every message the loop may add: each round but the last
     * adds a turn and one result per slot. */
    if (request->message_count > 65535)
        return WISP_ERR_ARG;
    max_messages = request->message_count + (size_t)(rounds - 1) * (1 + resp->tool_call_cap);
    if (max_messages > 65535)
        return WISP_ERR_ARG;
    st = wisp_store_init(&history, loop->arena, loop->arena_size, max_messages);
    if (st != WISP_OK)
        return st;
    for (i = 0; i < request->message_count; i++) {
        void *space;
        wisp_message *m = wisp_store_push(&history, 0, &space);
        *m = request->messages[i]; /* borrowed, as in wisp_chat */
    }
    history.pinned_ = history.message_count;
    st = wisp_tool_rounds(client, &history, request, resp, loop, on_event, user);
    loop->messages = history.messages;
    loop->message_count = history.message_count;
    loop->arena_used = history.arena_used;
    return st;
}
