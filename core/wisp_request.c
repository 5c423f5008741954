/*
 * wisp_request.c - writes the request head and the JSON body through a
 * small output buffer (see wisp_request.h).
 */
#include "wisp_request.h"
#include "wisp_json.h"
#include "wisp_text.h"

#include <string.h>

void wisp_out_counter(wisp_out *o)
{
    memset(o, 0, sizeof *o);
}

void wisp_out_sender(wisp_out *o, uint8_t *buf, size_t cap, wisp_flush_fn flush,
                     void *ctx)
{
    memset(o, 0, sizeof *o);
    o->buf = buf;
    o->cap = cap;
    o->flush = flush;
    o->flush_ctx = ctx;
}

void wisp_out_put(wisp_out *o, const char *s, size_t n)
{
    o->total += n;
    if (o->flush == NULL || o->err != WISP_OK) {
        return;
    }
    while (n > 0) {
        size_t room = o->cap - o->len;
        size_t take = n < room ? n : room;
        memcpy(o->buf + o->len, s, take);
        o->len += take;
        s += take;
        n -= take;
        if (o->len == o->cap) {
            o->err = o->flush(o->flush_ctx, o->buf, o->len);
            o->len = 0;
            if (o->err != WISP_OK) {
                return;
            }
        }
    }
}

wisp_status wisp_out_finish(wisp_out *o)
{
    if (o->flush != NULL && o->err == WISP_OK && o->len > 0) {
        o->err = o->flush(o->flush_ctx, o->buf, o->len);
        o->len = 0;
    }
    return o->err;
}

static void put_str(wisp_out *o, const char *s)
{
    wisp_out_put(o, s, strlen(s));
}

static void put_uint(wisp_out *o, size_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    wisp_out_put(o, digits + sizeof digits - n, n);
}

/* A value checked to lie in [0, 2], written with up to three decimals. */
static void put_fraction(wisp_out *o, float v)
{
    uint32_t milli = (uint32_t)(v * 1000.0f + 0.5f);
    char frac[4];
    size_t n = 3;
    put_uint(o, milli / 1000u);
    milli %= 1000u;
    if (milli == 0) {
        return;
    }
    frac[0] = '.';
    frac[1] = (char)('0' + milli / 100u);
    frac[2] = (char)('0' + milli / 10u % 10u);
    frac[3] = (char)('0' + milli % 10u);
    while (frac[n] == '0') {
        n--;
    }
    wisp_out_put(o, frac, n + 1);
}

/* A JSON string: quote, backslash and every control byte escaped; valid
 * UTF-8 passed through; invalid bytes sent as U+FFFD so the body is always
 * valid JSON. */
static void put_json_string(wisp_out *o, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *s = (const uint8_t *)str;
    size_t n = strlen(str);
    size_t run = 0; /* bytes of s[0..run) that need no escaping */

    wisp_out_put(o, "\"", 1);
    while (run < n) {
        uint8_t c = s[run];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            run++;
            continue;
        }
        if (c >= 0x80) {
            size_t len = wisp_utf8_len(s + run, n - run);
            if (len > 0) {
                run += len;
                continue;
            }
        }
        wisp_out_put(o, (const char *)s, run);
        s += run;
        n -= run;
        run = 0;
        if (c >= 0x80) {
            wisp_out_put(o, "\\ufffd", 6);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', 0, 0};
            switch (c) {
            case '"': wisp_out_put(o, "\\\"", 2); break;
            case '\\': wisp_out_put(o, "\\\\", 2); break;
            case '\n': wisp_out_put(o, "\\n", 2); break;
            case '\r': wisp_out_put(o, "\\r", 2); break;
            case '\t': wisp_out_put(o, "\\t", 2); break;
            case '\b': wisp_out_put(o, "\\b", 2); break;
            case '\f': wisp_out_put(o, "\\f", 2); break;
            default:
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0x0F];
                wisp_out_put(o, esc, 6);
                break;
            }
        }
        s++;
        n--;
    }
    wisp_out_put(o, (const char *)s, run);
    wisp_out_put(o, "\"", 1);
}

static const char *role_name(wisp_role role)
{
    switch (role) {
    case WISP_ROLE_SYSTEM: return "system";
    case WISP_ROLE_USER: return "user";
    case WISP_ROLE_ASSISTANT: return "assistant";
    case WISP_ROLE_DEVELOPER: return "developer";
    case WISP_ROLE_TOOL: return "tool";
    }
    return NULL;
}

static size_t schema_len(const wisp_tool *t)
{
    return t->parameters_len != 0 ? t->parameters_len : strlen(t->parameters);
}

static size_t function_len(const wisp_tool *t)
{
    return t->function_json_len != 0 ? t->function_json_len : strlen(t->function_json);
}

/* A message the writer can send as it is. */
static bool message_ok(const wisp_message *m)
{
    size_t i;
    if (role_name(m->role) == NULL || (m->tool_call_count > 0 && m->tool_calls == NULL)) {
        return false;
    }
    if (m->tool_call_count > 0 && m->role != WISP_ROLE_ASSISTANT) {
        return false; /* only the assistant calls tools */
    }
    if (m->content == NULL && m->tool_call_count == 0) {
        return false; /* null content only beside tool calls */
    }
    if (m->role == WISP_ROLE_TOOL && m->tool_call_id == NULL) {
        return false;
    }
    for (i = 0; i < m->tool_call_count; i++) {
        const wisp_call_ref *c = &m->tool_calls[i];
        if (c->name == NULL || c->name[0] == '\0') {
            return false;
        }
    }
    return true;
}

wisp_status wisp_request_check(const wisp_request *req)
{
    size_t i;
    if (req == NULL || req->model == NULL || req->model[0] == '\0' ||
        req->messages == NULL || req->message_count == 0) {
        return WISP_ERR_ARG;
    }
    for (i = 0; i < req->message_count; i++) {
        if (!message_ok(&req->messages[i])) {
            return WISP_ERR_ARG;
        }
    }
    if (req->tool_count > 0 && req->tools == NULL) {
        return WISP_ERR_ARG;
    }
    for (i = 0; i < req->tool_count; i++) {
        const wisp_tool *t = &req->tools[i];
        if (t->name == NULL || t->name[0] == '\0') {
            return WISP_ERR_ARG;
        }
        /* A schema that is not one JSON value would break the body. */
        if (t->parameters != NULL &&
            !wisp_json_valid(t->parameters, schema_len(t), WISP_TOOL_SCHEMA_DEPTH)) {
            return WISP_ERR_TOOL_SCHEMA;
        }
        if (t->function_json != NULL &&
            !wisp_json_valid(t->function_json, function_len(t), WISP_TOOL_SCHEMA_DEPTH + 2)) {
            return WISP_ERR_TOOL_SCHEMA;
        }
    }
    /* A choice about tools with no tools is refused by servers (400). */
    if (req->tool_count == 0 &&
        (req->tool_choice != WISP_TOOL_CHOICE_UNSET || req->has_parallel_tool_calls)) {
        return WISP_ERR_ARG;
    }
    if (req->tool_choice > WISP_TOOL_CHOICE_FUNCTION ||
        (req->tool_choice == WISP_TOOL_CHOICE_FUNCTION &&
         (req->tool_choice_name == NULL || req->tool_choice_name[0] == '\0'))) {
        return WISP_ERR_ARG;
    }
    /* Written as "!(in range)" so that NaN is refused too. */
    if (req->has_temperature && !(req->temperature >= 0.0f && req->temperature <= 2.0f)) {
        return WISP_ERR_ARG;
    }
    if (req->has_top_p && !(req->top_p >= 0.0f && req->top_p <= 1.0f)) {
        return WISP_ERR_ARG;
    }
    return WISP_OK;
}

/* One message; an assistant turn carries its tool calls, with each
 * thought signature back on the call it came with. */
static void put_message(wisp_out *o, const wisp_message *m, bool first)
{
    size_t k;
    put_str(o, first ? "{\"role\":\"" : ",{\"role\":\"");
    put_str(o, role_name(m->role));
    put_str(o, "\",\"content\":");
    if (m->content != NULL) {
        put_json_string(o, m->content);
    } else {
        put_str(o, "null");
    }
    if (m->role == WISP_ROLE_TOOL) {
        put_str(o, ",\"tool_call_id\":");
        put_json_string(o, m->tool_call_id);
    }
    if (m->tool_call_count > 0) {
        put_str(o, ",\"tool_calls\":[");
        for (k = 0; k < m->tool_call_count; k++) {
            const wisp_call_ref *c = &m->tool_calls[k];
            put_str(o, k == 0 ? "{\"id\":" : ",{\"id\":");
            put_json_string(o, c->id != NULL ? c->id : "");
            put_str(o, ",\"type\":\"function\",\"function\":{\"name\":");
            put_json_string(o, c->name);
            put_str(o, ",\"arguments\":");
            put_json_string(o, c->arguments != NULL ? c->arguments : "{}");
            put_str(o, "}");
            if (c->signature != NULL) {
                put_str(o, ",\"extra_content\":{\"google\":{\"thought_signature\":");
                put_json_string(o, c->signature);
                put_str(o, "}}");
            }
            put_str(o, "}");
        }
        put_str(o, "]");
    }
    put_str(o, "}");
}

/* tools, tool_choice and parallel_tool_calls: only what the caller set. */
static void put_tools(wisp_out *o, const wisp_request *req)
{
    static const char *const choices[] = {NULL, "auto", "none", "required"};
    size_t i;
    for (i = 0; i < req->tool_count; i++) {
        const wisp_tool *t = &req->tools[i];
        put_str(o, i == 0 ? ",\"tools\":[" : ",");
        if (t->function_json != NULL) {
            put_str(o, "{\"type\":\"function\",\"function\":");
            wisp_out_put(o, t->function_json, function_len(t)); /* checked: one JSON value */
            put_str(o, i + 1 == req->tool_count ? "}]" : "}");
            continue;
        }
        put_str(o, "{\"type\":\"function\",\"function\":{\"name\":");
        put_json_string(o, t->name);
        if (t->description != NULL) {
            put_str(o, ",\"description\":");
            put_json_string(o, t->description);
        }
        if (t->parameters != NULL) {
            put_str(o, ",\"parameters\":");
            wisp_out_put(o, t->parameters, schema_len(t)); /* checked: one JSON value */
        }
        put_str(o, "}}");
        if (i + 1 == req->tool_count) {
            put_str(o, "]");
        }
    }
    if (req->tool_choice == WISP_TOOL_CHOICE_FUNCTION) {
        put_str(o, ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":");
        put_json_string(o, req->tool_choice_name);
        put_str(o, "}}");
    } else if (req->tool_choice != WISP_TOOL_CHOICE_UNSET) {
        put_str(o, ",\"tool_choice\":\"");
        put_str(o, choices[req->tool_choice]);
        put_str(o, "\"");
    }
    if (req->has_parallel_tool_calls) {
        put_str(o, req->parallel_tool_calls ? ",\"parallel_tool_calls\":true"
                                            : ",\"parallel_tool_calls\":false");
    }
}

void wisp_write_body(wisp_out *o, const wisp_request *req)
{
    size_t i;
    put_str(o, "{\"model\":");
    put_json_string(o, req->model);
    put_str(o, ",\"messages\":[");
    for (i = 0; i < req->message_count; i++) {
        put_message(o, &req->messages[i], i == 0);
    }
    put_str(o, "]");
    put_tools(o, req);
    if (req->max_tokens != 0) {
        put_str(o, ",\"max_tokens\":");
        put_uint(o, req->max_tokens);
    }
    if (req->has_temperature) {
        put_str(o, ",\"temperature\":");
        put_fraction(o, req->temperature);
    }
    if (req->has_top_p) {
        put_str(o, ",\"top_p\":");
        put_fraction(o, req->top_p);
    }
    if (req->stream) {
        put_str(o, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    }
    put_str(o, "}");
}

void wisp_write_head(wisp_out *o, const wisp_url *url, const char *api_key,
                     const wisp_header *headers, size_t header_count,
                     size_t content_length, bool stream)
{
    size_t i;
    put_str(o, "POST ");
    wisp_out_put(o, url->path, url->path_len);
    put_str(o, "/chat/completions HTTP/1.1\r\nHost: ");
    if (url->host_is_ipv6) {
        put_str(o, "[");
        put_str(o, url->host);
        put_str(o, "]");
    } else {
        put_str(o, url->host);
    }
    if (url->port != (url->https ? 443 : 80)) {
        put_str(o, ":");
        put_uint(o, url->port);
    }
    put_str(o, "\r\nUser-Agent: wisp/" WISP_VERSION "\r\nAccept: ");
    put_str(o, stream ? "text/event-stream" : "application/json");
    put_str(o, "\r\nAccept-Encoding: identity\r\nContent-Type: application/json\r\n"
               "Content-Length: ");
    put_uint(o, content_length);
    if (api_key != NULL && api_key[0] != '\0') {
        put_str(o, "\r\nAuthorization: Bearer ");
        put_str(o, api_key);
    }
    put_str(o, "\r\nConnection: keep-alive\r\n");
    for (i = 0; i < header_count; i++) {
        put_str(o, headers[i].name);
        put_str(o, ": ");
        put_str(o, headers[i].value);
        put_str(o, "\r\n");
    }
    put_str(o, "\r\n");
}
