/*
 * wisp_error.c - the one reader of error bodies: every JSON error shape
 * listed in wisp_json.h, a cut body's message, and the words of a page that
 * is not JSON at all.
 */
#include <string.h>

#include "wisp_json.h"
#include "wisp_text.h"

/* ---- error bodies -------------------------------------------------------- */

typedef struct doc {
    const char *js;
    const wisp_token *toks;
    int count;
    wisp_response *resp;
} doc;

static int find(const doc *d, int obj, const char *key)
{
    return wisp_json_find(d->js, d->toks, d->count, obj, key);
}

static int type_of(const doc *d, int i)
{
    return d->toks[i].type;
}

/* Copies the value at v (string, number or null) into a fixed field;
 * true when it holds something afterwards.  Other types leave it empty. */
static bool copy_value(const doc *d, int v, char *dst, size_t cap)
{
    if (v < 0)
        return false;
    (void)wisp_json_field(d->js, d->toks + v, dst, cap,
                          &d->resp->fields_truncated);
    return dst[0] != '\0';
}

#define COPY_KEY(d, obj, key, field)                                         \
    copy_value((d), find((d), (obj), (key)), (d)->resp->field,               \
               sizeof (d)->resp->field)

static void clear_error(wisp_response *resp)
{
    resp->error_message[0] = '\0';
    resp->error_type[0] = '\0';
    resp->error_code[0] = '\0';
    resp->error_param[0] = '\0';
}

/* message, type (or Gemini's status), code and param of one object. */
/* A message that is itself an object (Mistral's 422):
 * {"detail": [{"msg": ...}]} or {"message": ...}. */
static void nested_message(const doc *d, int m)
{
    int v = find(d, m, "detail");
    if (v >= 0 && type_of(d, v) == WISP_TOK_ARRAY && d->toks[v].size > 0 &&
        type_of(d, v + 1) == WISP_TOK_OBJECT)
        (void)COPY_KEY(d, v + 1, "msg", error_message);
    else if (v >= 0 && type_of(d, v) == WISP_TOK_STRING)
        (void)copy_value(d, v, d->resp->error_message, sizeof d->resp->error_message);
    else
        (void)COPY_KEY(d, m, "message", error_message);
}

static void error_fields(const doc *d, int obj)
{
    int m = find(d, obj, "message");
    int status;
    if (WISP_ERROR_SHAPES && m >= 0 && type_of(d, m) == WISP_TOK_OBJECT)
        nested_message(d, m);
    else
        (void)COPY_KEY(d, obj, "message", error_message);
    /* Gemini names the kind in "status" ("INVALID_ARGUMENT"); a numeric
     * status (Azure) is only the HTTP code again. */
    if (!COPY_KEY(d, obj, "type", error_type) && WISP_ERROR_SHAPES) {
        status = find(d, obj, "status");
        if (status >= 0 && type_of(d, status) == WISP_TOK_STRING)
            (void)copy_value(d, status, d->resp->error_type, sizeof d->resp->error_type);
    }
    (void)COPY_KEY(d, obj, "code", error_code);
    (void)COPY_KEY(d, obj, "param", error_param);
}

/* Recognises every error shape listed in wisp_json.h; fills resp->error_*. */
static bool find_error(const doc *d)
{
    int root = 0, e, v;

    clear_error(d->resp);
    if (!WISP_ERROR_SHAPES) { /* OpenAI's {"error": {...}} only */
        e = type_of(d, 0) == WISP_TOK_OBJECT ? find(d, 0, "error") : -1;
        if (e < 0 || type_of(d, e) != WISP_TOK_OBJECT)
            return false;
        error_fields(d, e);
        return true;
    }
    if (type_of(d, 0) == WISP_TOK_ARRAY && d->toks[0].size > 0)
        root = 1; /* Gemini: [{"error": {...}}] */
    if (type_of(d, root) != WISP_TOK_OBJECT)
        return false;
    e = find(d, root, "error");
    if (e < 0 || wisp_json_is_null(d->js, d->toks + e))
        e = find(d, root, "errors");
    if (e >= 0 && type_of(d, e) == WISP_TOK_ARRAY && d->toks[e].size > 0)
        e++; /* {"errors": [{"code": 7003, "message": ...}]} */
    if (e >= 0 && type_of(d, e) == WISP_TOK_OBJECT) {
        error_fields(d, e);
        return true;
    }
    if (e >= 0 && type_of(d, e) == WISP_TOK_STRING) {
        /* {"error": "Bad Request", "message": "..."} or {"error": "..."} */
        error_fields(d, root);
        if (d->resp->error_message[0] == '\0')
            (void)copy_value(d, e, d->resp->error_message,
                             sizeof d->resp->error_message);
        else
            (void)copy_value(d, e, d->resp->error_type,
                             sizeof d->resp->error_type);
        return true;
    }
    v = find(d, root, "message");
    if (v >= 0 && (type_of(d, v) == WISP_TOK_STRING || type_of(d, v) == WISP_TOK_OBJECT)) {
        /* {"message": ...}; vLLM: {"object": "error", "message", "type"};
         * Mistral: {"object": "error", "message": {"detail": [...]}} */
        error_fields(d, root);
        return true;
    }
    v = find(d, root, "detail");
    if (v >= 0 && type_of(d, v) == WISP_TOK_STRING) {
        (void)copy_value(d, v, d->resp->error_message,
                         sizeof d->resp->error_message);
        return true;
    }
    if (v >= 0 && type_of(d, v) == WISP_TOK_ARRAY && d->toks[v].size > 0 &&
        type_of(d, v + 1) == WISP_TOK_OBJECT) {
        /* FastAPI validation: {"detail": [{"loc": [...], "msg", "type"}]} */
        (void)COPY_KEY(d, v + 1, "msg", error_message);
        (void)COPY_KEY(d, v + 1, "type", error_type);
        return true;
    }
    clear_error(d->resp);
    return false;
}

bool wisp_error_from_tokens(const char *js, const wisp_token *toks, int count,
                            wisp_response *resp)
{
    doc d;
    if (js == NULL || toks == NULL || count < 1 || resp == NULL)
        return false;
    d.js = js;
    d.toks = toks;
    d.count = count;
    d.resp = resp;
    return find_error(&d);
}

void wisp_error_fallback(const char *text, size_t len, wisp_response *resp)
{
    if (resp == NULL || resp->error_message[0] != '\0' || resp->error_type[0] != '\0' ||
        resp->error_code[0] != '\0')
        return;
    if (wisp_html_to_text(text, len, resp->error_message, sizeof resp->error_message))
        resp->fields_truncated = true;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The "message" string of an error body whose end was cut off: found by its
 * key and read if it ended within what was kept. */
static bool salvage_message(const char *js, size_t len, wisp_response *resp)
{
    static const char key[] = "\"message\"";
    size_t i, j, start;
    for (i = 0; i + sizeof key - 1 <= len; i++) {
        wisp_text t;
        wisp_unescape u;
        if (memcmp(js + i, key, sizeof key - 1) != 0)
            continue;
        j = i + sizeof key - 1;
        while (j < len && (is_blank(js[j]) || js[j] == ':'))
            j++;
        if (j >= len || js[j] != '"')
            continue;
        start = ++j;
        while (j < len && js[j] != '"')
            j += js[j] == '\\' ? 2 : 1;
        if (j >= len)
            return false; /* the message itself was cut */
        t.buf = resp->error_message;
        t.cap = sizeof resp->error_message;
        wisp_text_reset(&t);
        wisp_unescape_init(&u);
        if (wisp_unescape_feed(&u, js + start, j - start, false, wisp_text_emit, &t) != WISP_OK) {
            wisp_text_reset(&t);
            return false;
        }
        resp->fields_truncated |= t.truncated;
        return true;
    }
    return false;
}

wisp_status wisp_error_read(const char *text, size_t len, bool cut, wisp_token *toks,
                            size_t ntoks, wisp_response *resp)
{
    size_t skip = 0, end;
    int count = 0;

    if (resp == NULL || (text == NULL && len > 0))
        return WISP_ERR_ARG;
    clear_error(resp);
    while (skip < len && is_blank(text[skip]))
        skip++;
    if (len > skip + 5 && memcmp(text + skip, "data:", 5) == 0) {
        /* An error sent as a stream event: its first data line. */
        skip += 5;
        for (end = skip; end < len && text[end] != '\n' && text[end] != '\r'; end++)
            ;
        text += skip;
        len = end - skip;
    }
    /* A cut body may still hold all of its JSON (what was cut was after). */
    if (toks != NULL && wisp_json_tokenize(text, len, toks, ntoks, &count) == WISP_OK &&
        wisp_error_from_tokens(text, toks, count, resp)) {
        wisp_error_fallback(text, len, resp); /* an error without a message */
        return WISP_OK;
    }
    clear_error(resp);
    if (cut && salvage_message(text, len, resp))
        return WISP_OK;
    wisp_error_fallback(text, len, resp);
    return WISP_ERR_JSON;
}
