/*
 * wisp_client.c - one chat-completions call: connect (or reuse), write the
 * request, read the response through the HTTP reader and then either the
 * JSON reader or the SSE decoder, retry what may be retried.
 *
 * wisp_list_models runs the same exchange, retries and error reading with
 * a GET, and its 200 body goes through the model list's splitter.
 *
 * Work buffer layout while receiving:
 *   [0, work_size - WISP_RX_CHUNK)   header line / SSE event / whole body /
 *                                    one model list element, then the id
 *                                    of a model (its last WISP_MODEL_CAP)
 *   [work_size - WISP_RX_CHUNK, end) bytes straight from the transport
 * While sending, the whole work buffer stages the request.
 */
#include "wisp.h"
#include "wisp_http.h"
#include "wisp_json.h"
#include "wisp_models.h"
#include "wisp_request.h"
#include "wisp_sse.h"
#include "wisp_reply.h"

#include <string.h>

/* What the body of a reply is taken to be. */
typedef enum body_kind {
    BODY_UNKNOWN, /* 2xx without Content-Type: decided by its first byte */
    BODY_JSON,    /* one chat.completion object, whole in the buffer */
    BODY_SSE,     /* server-sent events, one at a time */
    BODY_ERROR,   /* non-2xx: its start is kept for the message */
    BODY_PAGE,    /* 2xx that is neither JSON nor a stream (a portal page) */
    BODY_MODELS   /* a model list, element by element */
} body_kind;

/* What a wisp_list_models call adds to its call. */
typedef struct listing {
    wisp_models_split split;
    wisp_model_fn cb;
    void *user;
    size_t delivered; /* models handed to cb */
} listing;

/* State of one wisp_chat or wisp_list_models call. */
typedef struct call {
    wisp_client *c;
    const wisp_request *req; /* a chat's */
    listing *list;           /* a model list's (then req is NULL) */
    size_t body_len;         /* of the request */
    wisp_response *resp;
    wisp_event_fn cb;
    void *user;
    uint32_t start_ms;
    uint32_t total_ms;
    bool delivered; /* text or a model reached the caller: never retry after that */
} call;

/* A model list's call; never in a build without them, so that the
 * compiler drops their code. */
static bool is_listing(const call *k)
{
    return WISP_MODELS && k->list != NULL;
}

/* One response being read. */
typedef struct reading {
    wisp_http_reader http;
    body_kind kind;
    size_t body_len;  /* bytes kept in the buffer (not for BODY_SSE) */
    bool body_cut;    /* BODY_ERROR / BODY_PAGE: the body was cut to fit */
    wisp_sse sse;
    wisp_reply reply;
    bool complete;    /* the HTTP message ended */
    bool draining;    /* [DONE] seen: only waiting for the end of the body */
    bool too_large;   /* a JSON reply announced as larger than the buffer */
    uint32_t drain_until; /* clock value that ends the wait */
} reading;

void wisp_response_init(wisp_response *resp, char *content, size_t content_cap,
                        char *reasoning, size_t reasoning_cap)
{
    if (resp == NULL) {
        return;
    }
    memset(resp, 0, sizeof *resp);
    resp->content.buf = content;
    resp->content.cap = content_cap;
    resp->reasoning.buf = reasoning;
    resp->reasoning.cap = reasoning_cap;
    wisp_text_reset(&resp->content);
    wisp_text_reset(&resp->reasoning);
}

/* Clears what one attempt fills, keeping the caller's buffers. */
static void reset_response(wisp_response *resp)
{
    wisp_text content = resp->content;
    wisp_text reasoning = resp->reasoning;
    wisp_tool_call *calls = resp->tool_calls;
    size_t call_cap = resp->tool_call_cap;
    uint8_t attempts = resp->attempts;
    memset(resp, 0, sizeof *resp);
    resp->content = content;
    resp->reasoning = reasoning;
    resp->tool_calls = calls;
    resp->tool_call_cap = call_cap;
    resp->attempts = attempts;
    wisp_text_reset(&resp->content);
    wisp_text_reset(&resp->reasoning);
}

static bool is_token_char(char ch)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    size_t i;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
        return true;
    }
    for (i = 0; i < sizeof extra - 1; i++) {
        if (ch == extra[i]) {
            return true;
        }
    }
    return false;
}

static bool equal_ci(const char *a, const char *lower_b)
{
    return wisp_ascii_imatch(a, strlen(a), lower_b) == 2;
}

/* A header value may hold visible bytes, spaces and tabs; never CR, LF or
 * other control bytes, which could split or garble the request head. */
static bool is_clean_value(const char *s)
{
    for (; *s != '\0'; s++) {
        uint8_t c = (uint8_t)*s;
        if ((c < 0x20 && c != '\t') || c == 0x7F) {
            return false;
        }
    }
    return true;
}

/* Headers that wisp writes itself or that would change the framing: a
 * second copy from the caller could smuggle a request. */
static bool is_reserved_header(const char *name, bool has_key)
{
    static const char *const reserved[] = {
        "host", "content-length", "transfer-encoding", "connection", "keep-alive",
        "te", "trailer", "upgrade", "expect", "content-type", "accept-encoding",
    };
    size_t i;
    for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        if (equal_ci(name, reserved[i])) {
            return true;
        }
    }
    return has_key && equal_ci(name, "authorization");
}

/* Everything from the configuration that reaches the request head.  Run at
 * init and again at each call: the strings are borrowed. */
static wisp_status check_head_strings(const wisp_config *cfg)
{
    bool has_key = cfg->api_key != NULL && cfg->api_key[0] != '\0';
    size_t i;
    if (cfg->api_key != NULL && !is_clean_value(cfg->api_key)) {
        return WISP_ERR_HEADER_VALUE;
    }
    if (cfg->header_count > 0 && cfg->headers == NULL) {
        return WISP_ERR_ARG;
    }
    for (i = 0; i < cfg->header_count; i++) {
        const char *name = cfg->headers[i].name;
        const char *n;
        if (name == NULL || name[0] == '\0' || cfg->headers[i].value == NULL) {
            return WISP_ERR_ARG;
        }
        for (n = name; *n != '\0'; n++) {
            if (!is_token_char(*n)) {
                return WISP_ERR_HEADER_VALUE;
            }
        }
        if (is_reserved_header(name, has_key) || !is_clean_value(cfg->headers[i].value)) {
            return WISP_ERR_HEADER_VALUE;
        }
    }
    return WISP_OK;
}

/* A request's Idempotency-Key may not meet a second one from the
 * configuration's headers. */
static bool key_twice(const wisp_config *cfg, const wisp_request *request)
{
    size_t i;
    for (i = 0; request->idempotency_key != NULL && i < cfg->header_count; i++) {
        if (equal_ci(cfg->headers[i].name, "idempotency-key")) {
            return true;
        }
    }
    return false;
}

wisp_status wisp_client_init(wisp_client *client, const wisp_config *cfg,
                             uint8_t *work, size_t work_size,
                             wisp_token *tokens, size_t token_count)
{
    wisp_status st;

    if (client != NULL) {
        memset(client, 0, sizeof *client); /* safe to close even after a failure */
    }
    if (client == NULL || cfg == NULL || work == NULL || tokens == NULL ||
        token_count < 8 || token_count > 0x7FFFFFFFu /* jsmn counts in int */ ||
        work_size < WISP_WORK_MIN || cfg->base_url == NULL ||
        cfg->transport == NULL || cfg->transport->connect == NULL ||
        cfg->transport->send == NULL || cfg->transport->recv == NULL ||
        cfg->transport->close == NULL || cfg->max_retries < WISP_NO_RETRIES) {
        return WISP_ERR_ARG;
    }
    st = check_head_strings(cfg);
    if (st != WISP_OK) {
        return st;
    }
    st = wisp_url_parse(cfg->base_url, &client->url);
    if (st != WISP_OK) {
        return st;
    }
    client->url.absolute_form = cfg->absolute_form && !client->url.https;
    client->cfg = *cfg;
    client->cfg.base_url = NULL; /* parsed and copied: never used again */
    if (client->cfg.connect_timeout_ms == 0) {
        client->cfg.connect_timeout_ms = WISP_DEFAULT_CONNECT_TIMEOUT_MS;
    }
    if (client->cfg.read_timeout_ms == 0) {
        client->cfg.read_timeout_ms = WISP_DEFAULT_READ_TIMEOUT_MS;
    }
    if (client->cfg.total_timeout_ms == 0) {
        client->cfg.total_timeout_ms = WISP_DEFAULT_TOTAL_TIMEOUT_MS;
    }
    if (client->cfg.max_retries == 0) {
        client->cfg.max_retries = WISP_DEFAULT_MAX_RETRIES;
    } else if (client->cfg.max_retries == WISP_NO_RETRIES) {
        client->cfg.max_retries = 0;
    } else if (client->cfg.max_retries > 10) {
        client->cfg.max_retries = 10;
    }
    client->work = work;
    client->work_size = work_size;
    client->tokens = tokens;
    client->token_count = token_count;
    /* Jitter seed: different buffers and clocks give different devices
     * different retry moments. */
    client->rng = 0x9E3779B9u ^ (uint32_t)(uintptr_t)work ^ (uint32_t)work_size;
    return WISP_OK;
}

void wisp_client_close(wisp_client *client)
{
    if (client != NULL && client->connected) {
        client->cfg.transport->close(client->cfg.transport->ctx);
        client->connected = false;
    }
}

/* ---- time ---------------------------------------------------------------- */

static uint32_t now_ms(const wisp_client *c)
{
    return c->cfg.now_ms != NULL ? c->cfg.now_ms(c->cfg.platform_ctx) : 0;
}

/* Milliseconds left of the whole call (UINT32_MAX without a clock). */
static uint32_t time_left(const call *k)
{
    uint32_t spent;
    if (k->c->cfg.now_ms == NULL) {
        return UINT32_MAX;
    }
    spent = now_ms(k->c) - k->start_ms; /* wraps correctly */
    return spent >= k->total_ms ? 0 : k->total_ms - spent;
}

/* The timeout for one operation: its own limit, bounded by the call's. */
static bool op_timeout(const call *k, uint32_t limit, uint32_t *out)
{
    uint32_t left = time_left(k);
    if (left == 0) {
        return false;
    }
    *out = limit < left ? limit : left;
    return true;
}

/* ---- connection ---------------------------------------------------------- */

static void note_transport_error(call *k)
{
    const wisp_transport *tr = k->c->cfg.transport;
    if (tr->last_error != NULL) {
        k->resp->tls_error = tr->last_error(tr->ctx, k->resp->tls_detail,
                                            sizeof k->resp->tls_detail);
        k->resp->tls_detail[sizeof k->resp->tls_detail - 1] = '\0';
    }
}

static wisp_status open_connection(call *k)
{
    const wisp_transport *tr = k->c->cfg.transport;
    uint32_t t;
    wisp_status st;
    if (!op_timeout(k, k->c->cfg.connect_timeout_ms, &t)) {
        return WISP_ERR_TIMEOUT;
    }
    st = tr->connect(tr->ctx, k->c->url.host, k->c->url.port, t);
    if (st != WISP_OK) {
        note_transport_error(k);
        tr->close(tr->ctx);
        return st;
    }
    k->c->connected = true;
    k->c->connects++;
    return WISP_OK;
}

static wisp_status send_all(void *ctx, const uint8_t *buf, size_t len)
{
    call *k = (call *)ctx;
    const wisp_transport *tr = k->c->cfg.transport;
    while (len > 0) {
        size_t sent = 0;
        uint32_t t;
        wisp_status st;
        if (!op_timeout(k, k->c->cfg.read_timeout_ms, &t)) {
            return WISP_ERR_TIMEOUT;
        }
        st = tr->send(tr->ctx, buf, len, &sent, t);
        if (st != WISP_OK) {
            return st;
        }
        if (sent == 0 || sent > len) {
            return WISP_ERR_IO; /* a transport breaking its contract */
        }
        buf += sent;
        len -= sent;
    }
    return WISP_OK;
}

/* Bytes of the body of a request already checked. */
static size_t body_size(const wisp_request *request)
{
    wisp_out counter;
    wisp_out_counter(&counter);
    wisp_write_body(&counter, request);
    return counter.total;
}

static wisp_status send_request(call *k)
{
    wisp_client *c = k->c;
    wisp_out o;
    wisp_out_sender(&o, c->work, c->work_size, send_all, k);
    if (is_listing(k)) {
        wisp_write_get_head(&o, &c->url, "/models", c->cfg.api_key, c->cfg.headers,
                            c->cfg.header_count);
    } else {
        wisp_write_head(&o, &c->url, c->cfg.api_key, c->cfg.headers, c->cfg.header_count,
                        k->body_len, k->req);
        wisp_write_body(&o, k->req);
    }
    return wisp_out_finish(&o);
}

/* ---- body handling --------------------------------------------------------- */

static size_t acc_cap(const wisp_client *c)
{
    return c->work_size - WISP_RX_CHUNK;
}

/* A streamed reply was asked for (never for a model list). */
static bool wants_stream(const call *k)
{
    return !is_listing(k) && k->req->stream;
}

/* A model list: elements gathered in the buffer but its last
 * WISP_MODEL_CAP bytes, which take each id. */
static void start_models(call *k, reading *r)
{
    r->kind = BODY_MODELS;
    wisp_models_init(&k->list->split, (char *)k->c->work, acc_cap(k->c) - WISP_MODEL_CAP);
}

static void start_reply(call *k, reading *r)
{
    wisp_reply_init(&r->reply, k->resp, k->c->tokens, k->c->token_count, k->cb, k->user);
}

static void start_sse(call *k, reading *r)
{
    r->kind = BODY_SSE;
    wisp_sse_init(&r->sse, k->c->work, acc_cap(k->c));
    start_reply(k, r);
}

static void on_headers(call *k, reading *r)
{
    wisp_response *resp = k->resp;
    const wisp_http_reader *h = &r->http;
    resp->http_status = h->status;
    resp->retry_after_ms = h->retry_after_ms;
    memcpy(resp->request_id, h->request_id, sizeof resp->request_id);
    resp->request_id[sizeof resp->request_id - 1] = '\0';
    if (h->request_id_truncated) {
        resp->fields_truncated = true;
    }
    if (h->status < 200 || h->status > 299) {
        r->kind = BODY_ERROR;
    } else if (is_listing(k)) {
        if (h->is_json) {
            start_models(k, r);
        } else {
            r->kind = BODY_UNKNOWN; /* a portal page, or JSON unlabelled */
        }
    } else if (h->is_event_stream) {
        start_sse(k, r);
    } else if (h->is_json) {
        r->kind = BODY_JSON;
        if (h->has_content_length && h->content_length > acc_cap(k->c)) {
            r->too_large = true; /* known now: no need to read it first */
        }
    } else {
        /* No Content-Type (some servers stream without one), or another
         * one (text/html from a portal, JSON labelled text/plain): the
         * first body byte decides. */
        r->kind = BODY_UNKNOWN;
    }
}

/* A 2xx without a JSON or event-stream type: a page starts with '<', JSON
 * with '{' or '[', and anything else is taken for what was asked. */
static void sniff_body(call *k, reading *r, uint8_t first)
{
    if (first == '<') {
        r->kind = BODY_PAGE;
    } else if (is_listing(k)) {
        start_models(k, r);
    } else if (first != '{' && first != '[' && wants_stream(k)) {
        start_sse(k, r);
    } else {
        r->kind = BODY_JSON;
    }
}

/* One event or error line.  Scratch for its text is the room behind it in
 * the decoder's buffer, as behind a whole body in whole_reply: the same
 * document gets the same room, so the same events, whichever way it came
 * (none at all when it filled the buffer: pieces then go out as they are). */
static wisp_status stream_event(call *k, reading *r, const wisp_sse_out *ev)
{
    size_t spare_cap;
    char *spare = wisp_sse_spare(&r->sse, ev, &spare_cap);
    wisp_status st;
    wisp_reply_scratch(&r->reply, spare, spare_cap);
    st = wisp_reply_event(&r->reply, ev->data, ev->len,
                          ev->kind == WISP_SSE_ERROR_LINE || ev->error_event);
    k->delivered |= r->reply.delivered;
    return st;
}

/* The body ended (or [DONE] came): an event still waiting for its blank
 * line is delivered, then the reply is closed off, with the whole (now
 * free) decoder buffer as scratch. */
static wisp_status stream_finish(call *k, reading *r)
{
    wisp_status st = WISP_OK;
    if (!r->reply.done) {
        wisp_sse_out ev;
        st = wisp_sse_finish(&r->sse, &ev);
        if (st == WISP_OK && ev.kind != WISP_SSE_NEED_MORE) {
            st = stream_event(k, r, &ev);
        }
    }
    if (st == WISP_OK) {
        wisp_reply_scratch(&r->reply, (char *)k->c->work, acc_cap(k->c));
        st = wisp_reply_end(&r->reply, false);
    }
    k->delivered |= r->reply.delivered;
    return st;
}

/* One element of a model list: its id to the caller.  One too large for
 * the buffer or too complex for the token array comes as "" and cut. */
static wisp_status deliver_model(call *k, const wisp_models_out *out)
{
    listing *l = k->list;
    char *id = (char *)k->c->work + acc_cap(k->c) - WISP_MODEL_CAP;
    bool cut = false;
    wisp_status st = WISP_ERR_TOO_LARGE;
    if (out->event == WISP_MODELS_ELEMENT) {
        st = wisp_models_id(out->data, out->len, k->c->tokens, k->c->token_count, id,
                            WISP_MODEL_CAP, &cut);
    }
    if (st == WISP_ERR_TOO_LARGE || st == WISP_ERR_TOO_COMPLEX) {
        id[0] = '\0';
        cut = true;
    } else if (st != WISP_OK) {
        return st;
    }
    k->resp->fields_truncated |= cut;
    k->delivered = true;
    l->delivered++;
    if (l->cb != NULL && l->cb(l->user, id, cut) != 0) {
        return WISP_ERR_CANCELLED;
    }
    return WISP_OK;
}

WISP_NOINLINE static wisp_status models_body(call *k, const uint8_t *data, size_t len)
{
    while (len > 0) {
        size_t used = 0;
        wisp_models_out out;
        wisp_status st = wisp_models_feed(&k->list->split, data, len, &used, &out);
        if (st != WISP_OK) {
            return st;
        }
        data += used;
        len -= used;
        if (out.event != WISP_MODELS_NEED_MORE) {
            st = deliver_model(k, &out);
            if (st != WISP_OK) {
                return st;
            }
        }
    }
    return WISP_OK;
}

static wisp_status on_body(call *k, reading *r, const uint8_t *data, size_t len)
{
    size_t room;
    if (len > 0 && r->kind == BODY_UNKNOWN) {
        sniff_body(k, r, data[0]);
    }
    if (WISP_MODELS && r->kind == BODY_MODELS) {
        return models_body(k, data, len);
    }
    if (r->kind == BODY_SSE) {
        while (len > 0 && !r->reply.done) {
            size_t used = 0;
            wisp_sse_out ev;
            wisp_status st = wisp_sse_feed(&r->sse, data, len, &used, &ev);
            if (st != WISP_OK) {
                return st;
            }
            data += used;
            len -= used;
            if (ev.kind != WISP_SSE_NEED_MORE) {
                st = stream_event(k, r, &ev);
                if (st != WISP_OK) {
                    return st;
                }
            }
        }
        return WISP_OK; /* bytes after [DONE] are ignored */
    }
    /* A whole body in the buffer.  An error or a page that does not fit
     * keeps its start (enough for a message); a reply that does not fit
     * fails. */
    room = acc_cap(k->c) - r->body_len;
    if (len > room) {
        if (r->kind == BODY_JSON) {
            return WISP_ERR_TOO_LARGE;
        }
        len = room;
        r->body_cut = true;
    }
    memcpy(k->c->work + r->body_len, data, len);
    r->body_len += len;
    return WISP_OK;
}

/* A whole reply in the buffer, streamed or not: the same reader as a
 * stream's chunks, with the rest of the buffer as scratch. */
static wisp_status whole_reply(call *k, reading *r, const char *body)
{
    wisp_status st;
    start_reply(k, r);
    wisp_reply_scratch(&r->reply, (char *)k->c->work + r->body_len, acc_cap(k->c) - r->body_len);
    st = wisp_reply_document(&r->reply, body, r->body_len);
    if (st == WISP_OK) {
        st = wisp_reply_end(&r->reply, true);
    }
    k->delivered |= r->reply.delivered;
    return st;
}

/* The HTTP message is complete. */
static wisp_status on_complete(call *k, reading *r)
{
    const char *body = (const char *)k->c->work;
    wisp_status st;
    switch (r->kind) {
    case BODY_SSE:
        return stream_finish(k, r);
    case BODY_MODELS:
        return WISP_MODELS ? wisp_models_finish(&k->list->split) : WISP_ERR_ARG;
    case BODY_UNKNOWN: /* 2xx with no body at all (204, Content-Length: 0) */
        return wants_stream(k) && r->http.body_mode != WISP_BODY_NONE
                   ? WISP_ERR_STREAM_TRUNCATED
                   : WISP_ERR_HTTP;
    case BODY_JSON:
        if (!WISP_NONSTREAM) {
            /* A reply object this build does not read; an error in one
             * (some gateways answer 200) still reads. */
            if (wisp_error_read(body, r->body_len, false, k->c->tokens, k->c->token_count,
                                k->resp) == WISP_OK) {
                return WISP_ERR_API;
            }
            k->resp->error_message[0] = '\0';
            return WISP_ERR_UNSUPPORTED;
        }
        st = whole_reply(k, r, body);
        if (st == WISP_ERR_JSON && !r->http.is_json && !r->reply.delivered) {
            /* Not JSON and not labelled JSON: keep its words for a person. */
            (void)wisp_error_read(body, r->body_len, false, NULL, 0, k->resp);
            return WISP_ERR_HTTP;
        }
        return st;
    case BODY_PAGE:
        /* Not what a chat server sends: keep its words for the person. */
        (void)wisp_error_read(body, r->body_len, false, NULL, 0, k->resp);
        return WISP_ERR_HTTP;
    case BODY_ERROR:
        (void)wisp_error_read(body, r->body_len, r->body_cut, k->c->tokens, k->c->token_count,
                              k->resp);
        return WISP_ERR_HTTP_STATUS;
    }
    return WISP_ERR_ARG;
}

/* ---- one request on one connection ----------------------------------------- */

/* [DONE] arrived: the text is complete.  Wait a little for the end of the
 * body so that the connection can be reused, unless it cannot be anyway. */
static bool start_draining(call *k, reading *r)
{
    if (!r->http.keep_alive || r->http.body_mode == WISP_BODY_CLOSE) {
        return false;
    }
    r->draining = true;
    r->drain_until = now_ms(k->c) + WISP_DRAIN_AFTER_DONE_MS;
    return true;
}

/* The read timeout for the next recv, bounded by the call's and, after
 * [DONE], by the drain window. */
static bool next_read_timeout(call *k, reading *r, uint32_t *t)
{
    uint32_t limit = k->c->cfg.read_timeout_ms;
    if (r->draining) {
        uint32_t left = WISP_DRAIN_AFTER_DONE_MS;
        if (k->c->cfg.now_ms != NULL) {
            uint32_t until = r->drain_until - now_ms(k->c); /* wraps correctly */
            left = until > WISP_DRAIN_AFTER_DONE_MS ? 0 : until;
        }
        if (left == 0) {
            return false;
        }
        if (limit > left) {
            limit = left;
        }
    }
    return op_timeout(k, limit, t);
}

/* The end of the body was not reached after [DONE]: the text is whole, the
 * connection just cannot be reused. */
static wisp_status finish_drained(call *k, reading *r)
{
    wisp_client_close(k->c);
    return stream_finish(k, r);
}

/*
 * Sends the request and reads the reply.  *stale is set when a reused
 * connection turned out dead before any byte of the reply arrived: the
 * caller then reopens it once.
 */
static wisp_status exchange_on(call *k, reading *r, bool reused, bool *stale)
{
    wisp_client *c = k->c;
    const wisp_transport *tr = c->cfg.transport;
    uint8_t *rx = c->work + acc_cap(c);
    size_t received = 0;
    wisp_status st;

    *stale = false;
    c->requests++;
    st = send_request(k);
    if (st != WISP_OK) {
        *stale = reused && (st == WISP_ERR_CLOSED || st == WISP_ERR_IO);
        return st;
    }
    wisp_http_reader_init(&r->http, c->work, acc_cap(c));

    for (;;) {
        size_t got = 0;
        size_t off = 0;
        uint32_t t;

        if (!next_read_timeout(k, r, &t)) {
            st = WISP_ERR_TIMEOUT;
        } else {
            st = tr->recv(tr->ctx, rx, WISP_RX_CHUNK, &got, t);
            if (st == WISP_OK && got > WISP_RX_CHUNK) {
                st = WISP_ERR_IO; /* a transport breaking its contract */
            }
        }
        if (r->draining && (st != WISP_OK || got == 0)) {
            return finish_drained(k, r);
        }
        if (st != WISP_OK) {
            if (st == WISP_ERR_TLS || st == WISP_ERR_CERT) {
                note_transport_error(k);
            }
            *stale = reused && received == 0 &&
                     (st == WISP_ERR_CLOSED || st == WISP_ERR_IO || st == WISP_ERR_TLS);
            return st;
        }
        if (got == 0) { /* orderly close */
            wisp_http_out out;
            if (reused && received == 0) {
                *stale = true;
                return WISP_ERR_CLOSED;
            }
            wisp_client_close(c);
            st = wisp_http_finish(&r->http, &out);
            if (st == WISP_OK) { /* a body that runs until close ended */
                r->complete = true;
                return on_complete(k, r);
            }
            if (r->kind == BODY_SSE && st == WISP_ERR_CLOSED &&
                stream_finish(k, r) == WISP_ERR_API) {
                return WISP_ERR_API; /* the last event was an error: say so */
            }
            return st;
        }
        received += got;

        /* Feed everything; a len-0 feed lets the reader report DONE. */
        for (;;) {
            size_t used = 0;
            wisp_http_out out;
            st = wisp_http_feed(&r->http, rx + off, got - off, &used, &out);
            if (st != WISP_OK) {
                return r->draining ? finish_drained(k, r) : st;
            }
            off += used;
            if (out.event == WISP_HTTP_NEED_MORE) {
                break;
            }
            if (out.event == WISP_HTTP_HEADERS) {
                on_headers(k, r);
                if (r->too_large) {
                    return WISP_ERR_TOO_LARGE;
                }
            } else if (out.event == WISP_HTTP_BODY) {
                st = on_body(k, r, out.body, out.body_len);
                if (st != WISP_OK) {
                    return st;
                }
                if (r->kind == BODY_SSE && r->reply.done && !r->draining &&
                    !start_draining(k, r)) {
                    return finish_drained(k, r);
                }
            } else { /* WISP_HTTP_DONE */
                r->complete = true;
                if (!r->http.keep_alive || off < got) {
                    wisp_client_close(c); /* unasked-for bytes: do not reuse */
                }
                return on_complete(k, r);
            }
        }
    }
}

/* Before a kept connection carries another request: a read that does not
 * wait finds out whether the server already closed it (an end of stream,
 * a TLS close_notify) or reset it, so that the request goes on a fresh
 * connection at once instead of costing a round trip on a dead one.  A
 * TLS session ticket waiting there is consumed by the TLS port, and
 * nothing waiting at all is the answer for a live connection. */
static wisp_status check_kept(call *k)
{
    const wisp_transport *tr = k->c->cfg.transport;
    size_t got = 0;
    wisp_status st = tr->recv(tr->ctx, k->c->work + acc_cap(k->c), WISP_RX_CHUNK, &got, 0);
    if (st == WISP_ERR_CANCELLED) {
        return st;
    }
    if (st != WISP_ERR_TIMEOUT) { /* closed, reset, or bytes nobody asked for */
        wisp_client_close(k->c);
    }
    return WISP_OK;
}

/* The idle limit of a kept connection: ours, or the server's Keep-Alive
 * timeout when that is shorter. */
static bool idle_too_long(const wisp_client *c, uint32_t now)
{
    uint32_t limit = WISP_KEEPALIVE_MAX_IDLE_MS; /* 0: no limit of ours */
    if (c->server_idle_ms > 0 &&
        (WISP_KEEPALIVE_MAX_IDLE_MS == 0 || c->server_idle_ms < limit)) {
        limit = c->server_idle_ms;
    }
    return c->cfg.now_ms != NULL && limit > 0 && now - c->idle_since >= limit;
}

/* A connection is kept only after a complete message that allows it.  r
 * is the caller's: one frame holds it for every attempt. */
static wisp_status exchange(call *k, reading *r, bool reused, bool *stale)
{
    wisp_status st;
    memset(r, 0, sizeof *r);
    st = exchange_on(k, r, reused, stale);
    if (st != WISP_OK && !r->complete) {
        wisp_client_close(k->c);
    }
    return st;
}

/* ---- retries ------------------------------------------------------------ */

static bool retryable_status(int http_status)
{
    return http_status == 408 || http_status == 409 || http_status == 429 ||
           (http_status >= 500 && http_status <= 599);
}

static uint32_t next_random(wisp_client *c)
{
    /* xorshift32: jitter only, not security. */
    uint32_t x = c->rng != 0 ? c->rng : 0x2545F491u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->rng = x;
    return x;
}

/* Exponential backoff with jitter (75..100 % of the step), or what the
 * server asked for. */
static uint32_t backoff_ms(call *k, int retry)
{
    uint32_t step = WISP_RETRY_BASE_MS << (retry < 6 ? retry : 6);
    if (k->resp->retry_after_ms > 0) {
        return k->resp->retry_after_ms;
    }
    if (step > WISP_RETRY_MAX_WAIT_MS) {
        step = WISP_RETRY_MAX_WAIT_MS;
    }
    return step - (next_random(k->c) % (step / 4u + 1u));
}

/* What every call checks first: the response's buffers and the head
 * strings (borrowed: they may have changed since init).  resp is reset. */
static wisp_status begin_call(const wisp_client *client, wisp_response *resp)
{
    if (client == NULL || client->work == NULL || resp == NULL ||
        (resp->content.cap > 0 && resp->content.buf == NULL) ||
        (resp->reasoning.cap > 0 && resp->reasoning.buf == NULL)) {
        return WISP_ERR_ARG;
    }
    resp->attempts = 0;
    reset_response(resp);
    return check_head_strings(&client->cfg);
}

/* What wisp_chat checks before anything is sent, and the body's size.
 * Not inlined: its locals are gone before the call's deep frames come. */
WISP_NOINLINE static wisp_status check_chat(const wisp_client *client,
                                            const wisp_request *request,
                                            wisp_response *resp, size_t *body_len)
{
    wisp_status st = begin_call(client, resp);
    if (st != WISP_OK) {
        return st;
    }
    st = wisp_request_check(request, NULL);
    if (st != WISP_OK) {
        return st;
    }
    if (key_twice(&client->cfg, request)) {
        return WISP_ERR_HEADER_VALUE;
    }
    *body_len = body_size(request); /* checked just above */
    if (*body_len == SIZE_MAX) {
        return WISP_ERR_ARG; /* images beyond what size_t can count */
    }
    return WISP_OK;
}

/*
 * A chat (list NULL) or a model list: checks, then connects
 * (or reuses the kept connection), exchanges, and retries what may be
 * retried.  One function for both, so that the public calls are thin and
 * the call, its reading and the retry loop share one frame.
 */
static wisp_status perform(wisp_client *client, const wisp_request *request, listing *list,
                           wisp_response *resp, wisp_event_fn on_event, void *user)
{
    call k;
    reading r;
    wisp_status st;
    int retry;

    memset(&k, 0, sizeof k);
    st = list == NULL ? check_chat(client, request, resp, &k.body_len)
                      : begin_call(client, resp);
    if (st != WISP_OK) {
        return st;
    }
    k.c = client;
    k.req = request;
    k.list = list;
    k.resp = resp;
    k.cb = on_event;
    k.user = user;
    k.total_ms = client->cfg.total_timeout_ms;
    k.start_ms = now_ms(client);
    client->rng ^= k.start_ms;
    if (client->connected && idle_too_long(client, k.start_ms)) {
        wisp_client_close(client); /* the server's limit, or dropped on the way */
    }

    for (retry = 0;; retry++) {
        bool stale = false;
        bool reused;
        bool connect_failed = false;
        uint32_t wait;

        reset_response(resp);
        resp->attempts++;
        st = client->connected ? check_kept(&k) : WISP_OK;
        if (st != WISP_OK) {
            return st;
        }
        reused = client->connected;
        if (!client->connected) {
            st = open_connection(&k);
            connect_failed = st != WISP_OK;
        }
        if (st == WISP_OK) {
            st = exchange(&k, &r, reused, &stale);
            if (stale) {
                /* The kept-alive connection had died while idle: reopen it
                 * once, without counting a retry. */
                wisp_client_close(client);
                reset_response(resp);
                st = open_connection(&k);
                connect_failed = st != WISP_OK;
                if (st == WISP_OK) {
                    st = exchange(&k, &r, false, &stale);
                }
            }
            /* Still connected only after an exchange, which filled r. */
            if (client->connected) {
                client->idle_since = now_ms(client);
                client->server_idle_ms = r.http.keep_alive_timeout_s * 1000u;
            }
        }
        if (!WISP_RETRIES || st == WISP_OK || k.delivered || retry >= client->cfg.max_retries) {
            return st;
        }
        if (!((connect_failed && (st == WISP_ERR_CONNECT || st == WISP_ERR_TIMEOUT)) ||
              (st == WISP_ERR_HTTP_STATUS && retryable_status(resp->http_status)))) {
            return st;
        }
        wait = backoff_ms(&k, retry);
        if (wait > WISP_RETRY_MAX_WAIT_MS ||
            (client->cfg.now_ms != NULL && wait >= time_left(&k))) {
            return st; /* the server asks for longer than we may wait */
        }
        if (client->cfg.sleep_ms != NULL) {
            client->cfg.sleep_ms(client->cfg.platform_ctx, wait);
        }
    }
}

wisp_status wisp_chat(wisp_client *client, const wisp_request *request,
                      wisp_response *resp, wisp_event_fn on_event, void *user)
{
    return perform(client, request, NULL, resp, on_event, user);
}

wisp_status wisp_list_models(wisp_client *client, wisp_response *resp,
                             wisp_model_fn on_model, void *user, size_t *count)
{
    listing l;
    wisp_status st;

    if (count != NULL) {
        *count = 0;
    }
    if (!WISP_MODELS) {
        return WISP_ERR_UNSUPPORTED;
    }
    /* An entry's room and the id's both come out of the receive area. */
    if (client != NULL && client->work != NULL &&
        acc_cap(client) < (size_t)WISP_MODEL_CAP + WISP_MODELS_MIN_ENTRY) {
        return WISP_ERR_ARG;
    }
    memset(&l, 0, sizeof l);
    l.cb = on_model;
    l.user = user;
    st = perform(client, NULL, &l, resp, NULL, NULL);
    if (count != NULL) {
        *count = l.delivered;
    }
    return st;
}

size_t wisp_request_body_size(const wisp_request *request)
{
    size_t n = wisp_request_check(request, NULL) == WISP_OK ? body_size(request) : 0;
    return n != SIZE_MAX ? n : 0;
}
