/*
 * wisp_request.c - writes the request head and the JSON body through a
 * small output buffer (see wisp_request.h).
 */
#include "wisp_request.h"
#include "wisp_json.h"
#include "wisp_text.h"

#include <string.h>

/* The reasons wisp_request_check gives (1.8 KB on Cortex-M4, text and code):
 * with WISP_CHECK_REASONS 0 *why is "" and the statuses stay. */
#if WISP_CHECK_REASONS
#define WHY(text) text
#else
#define WHY(text) ""
#endif

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

/* Adds to the byte count, stopping at SIZE_MAX: several images of a
 * gigabyte each on a 32-bit target must not wrap Content-Length round to
 * a small number (the caller refuses a count of SIZE_MAX). */
static void count(wisp_out *o, size_t n)
{
    o->total = n > SIZE_MAX - o->total ? SIZE_MAX : o->total + n;
}

/* Hands the staged bytes to flush. */
static void out_flush(wisp_out *o)
{
    o->err = o->flush(o->flush_ctx, o->buf, o->len);
    o->len = 0;
}

void wisp_out_put(wisp_out *o, const char *s, size_t n)
{
    count(o, n);
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
            out_flush(o);
            if (o->err != WISP_OK) {
                return;
            }
        }
    }
}

wisp_status wisp_out_finish(wisp_out *o)
{
    if (o->flush != NULL && o->err == WISP_OK && o->len > 0) {
        out_flush(o);
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

/* A seed, with 32-bit division only: the magnitude as four 16-bit limbs,
 * divided by 10000 in turn (a 64-bit division would link libgcc's
 * __aeabi_uldivmod into a Cortex-M build). */
static void put_int64(wisp_out *o, int64_t v)
{
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint32_t limb[4];
    char digits[24];
    size_t n = 0;
    bool more;
    limb[0] = (uint32_t)(m >> 48) & 0xFFFFu;
    limb[1] = (uint32_t)(m >> 32) & 0xFFFFu;
    limb[2] = (uint32_t)(m >> 16) & 0xFFFFu;
    limb[3] = (uint32_t)m & 0xFFFFu;
    do {
        uint32_t rem = 0;
        int i, d;
        more = false;
        for (i = 0; i < 4; i++) {
            uint32_t cur = (rem << 16) | limb[i]; /* rem < 10000: no overflow */
            limb[i] = cur / 10000u;
            rem = cur % 10000u;
            more = more || limb[i] != 0;
        }
        for (d = 0; d < 4; d++) {
            digits[sizeof digits - 1 - n++] = (char)('0' + rem % 10u);
            rem /= 10u;
        }
    } while (more);
    while (n > 1 && digits[sizeof digits - n] == '0') {
        n--;
    }
    if (v < 0) {
        digits[sizeof digits - 1 - n++] = '-';
    }
    wisp_out_put(o, digits + sizeof digits - n, n);
}

/* A value in thousandths, checked to lie in [-2000, 2000], as a decimal
 * with at most three places ("0.7", "-1.25", "2"). */
static void put_milli(wisp_out *o, int32_t v)
{
    uint32_t milli = (uint32_t)(v < 0 ? -v : v);
    char frac[4];
    size_t n = 3;
    if (v < 0) {
        wisp_out_put(o, "-", 1);
    }
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

/* ---- images: base64 on the fly ------------------------------------------ */

static size_t base64_len(size_t n)
{
    return (n / 3u + (n % 3u != 0)) * 4u;
}

/* Encodes n bytes from src to dst (4 characters per 3 bytes, the last
 * group padded); returns the characters written.  Reads each group before
 * it writes it, so dst may run behind src in the same buffer. */
static size_t base64_encode(const uint8_t *src, size_t n, uint8_t *dst)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t out = 0;
    while (n > 0) {
        uint32_t b0 = src[0];
        uint32_t b1 = n > 1 ? src[1] : 0u;
        uint32_t b2 = n > 2 ? src[2] : 0u;
        uint32_t w = b0 << 16 | b1 << 8 | b2;
        size_t take = n < 3 ? n : 3;
        dst[out] = (uint8_t)abc[w >> 18];
        dst[out + 1] = (uint8_t)abc[(w >> 12) & 63u];
        dst[out + 2] = (uint8_t)(n > 1 ? abc[(w >> 6) & 63u] : '=');
        dst[out + 3] = (uint8_t)(n > 2 ? abc[w & 63u] : '=');
        out += 4;
        src += take;
        n -= take;
    }
    return out;
}

/*
 * The image's bytes as base64, straight into the output buffer: no copy of
 * the image and no base64 buffer, whatever its size.  A read callback
 * fills the last three quarters of the free room and the encoding runs
 * from its start, the characters trailing the bytes they come from (after
 * k of g groups the writer is at 4k, the reader at room - 3g + 3k, and
 * g <= room / 4).  Counting needs no read at all.
 */
static void put_image_bytes(wisp_out *o, const wisp_part *p)
{
    size_t done = 0;
    if (o->flush == NULL) {
        count(o, base64_len(p->size));
        return;
    }
    while (done < p->size && o->err == WISP_OK) {
        size_t room, take, chars;
        uint8_t *dst;
        const uint8_t *src;
        if (o->cap - o->len < 4 && o->len > 0) {
            out_flush(o);
            continue;
        }
        room = o->cap - o->len;
        if (room < 4) {
            /* An output buffer of under four bytes: one group at a time. */
            uint8_t group[4];
            take = p->size - done < 3 ? p->size - done : 3;
            if (p->data != NULL) {
                memcpy(group, p->data + done, take);
            } else if (p->read(p->read_ctx, done, group, take) != WISP_OK) {
                o->err = WISP_ERR_IMAGE_READ;
                return;
            }
            chars = base64_encode(group, take, group);
            wisp_out_put(o, (const char *)group, chars);
            done += take;
            continue;
        }
        take = room / 4u * 3u;
        if (take > p->size - done) {
            take = p->size - done;
        }
        dst = o->buf + o->len;
        if (p->data != NULL) {
            src = p->data + done;
        } else {
            uint8_t *at = dst + room - take;
            if (p->read(p->read_ctx, done, at, take) != WISP_OK) {
                o->err = WISP_ERR_IMAGE_READ;
                return;
            }
            src = at;
        }
        chars = base64_encode(src, take, dst);
        o->len += chars;
        count(o, chars);
        done += take;
        if (o->len == o->cap) {
            out_flush(o);
        }
    }
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

static size_t format_schema_len(const wisp_response_format *f)
{
    return f->schema_len != 0 ? f->schema_len : strlen(f->schema);
}

static size_t param_len(const wisp_param *p)
{
    return p->json_len != 0 ? p->json_len : strlen(p->json);
}

bool wisp_json_is_value(const char *text, size_t len)
{
    return text != NULL && wisp_json_valid(text, len, WISP_TOOL_SCHEMA_DEPTH);
}

wisp_image_type wisp_image_type_of(const uint8_t *head, size_t len)
{
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (head == NULL) {
        return WISP_IMAGE_UNKNOWN;
    }
    if (len >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) {
        return WISP_IMAGE_JPEG;
    }
    if (len >= 8 && memcmp(head, png, 8) == 0) {
        return WISP_IMAGE_PNG;
    }
    return WISP_IMAGE_UNKNOWN;
}

static const char *part_fault(const wisp_part *p, wisp_role role)
{
    switch (p->type) {
    case WISP_PART_TEXT:
        return p->text == NULL ? WHY("messages: a text part without text") : NULL;
    case WISP_PART_IMAGE_URL:
        if (p->url == NULL || p->url[0] == '\0') {
            return WHY("messages: an image_url part without a URL");
        }
        break;
    case WISP_PART_IMAGE:
        if (p->image_type != WISP_IMAGE_JPEG && p->image_type != WISP_IMAGE_PNG) {
            return WHY("messages: an image that is neither JPEG nor PNG");
        }
        if (p->size == 0 || (p->data == NULL && p->read == NULL)) {
            return WHY("messages: an image without bytes (size 0, or neither data nor read)");
        }
        /* Its base64 must leave Content-Length room in a size_t. */
        if (p->size > (SIZE_MAX / 8u) * 3u) {
            return WHY("messages: an image too large for this platform's size_t");
        }
        break;
    default:
        return WHY("messages: a part of unknown type");
    }
    if (role != WISP_ROLE_USER) {
        return WHY("messages: an image outside a user message");
    }
    if ((unsigned)p->detail > WISP_DETAIL_HIGH) {
        return WHY("messages: an image detail that is not auto, low or high");
    }
    return NULL;
}

/* Why a message cannot be sent as it is, or NULL. */
static const char *message_fault(const wisp_message *m)
{
    size_t i;
    if (role_name(m->role) == NULL) {
        return WHY("messages: a role that is not system, user, assistant, developer or tool");
    }
    if (m->tool_call_count > 0 && m->tool_calls == NULL) {
        return WHY("messages: tool_call_count without tool_calls");
    }
    if (m->tool_call_count > 0 && m->role != WISP_ROLE_ASSISTANT) {
        return WHY("messages: tool calls outside an assistant message");
    }
    if (m->part_count > 0 && m->parts == NULL) {
        return WHY("messages: part_count without parts");
    }
    if (m->part_count > 0 && m->content != NULL) {
        return WHY("messages: both content and parts");
    }
    if (m->content == NULL && m->part_count == 0 && m->tool_call_count == 0) {
        return WHY("messages: no content (null content only beside tool calls)");
    }
    if (m->role == WISP_ROLE_TOOL && m->tool_call_id == NULL) {
        return WHY("messages: a tool result without tool_call_id");
    }
    for (i = 0; i < m->tool_call_count; i++) {
        const wisp_call_ref *c = &m->tool_calls[i];
        if (c->name == NULL || c->name[0] == '\0') {
            return WHY("messages: a tool call without a name");
        }
    }
    for (i = 0; WISP_PARTS && i < m->part_count; i++) {
        const char *fault = part_fault(&m->parts[i], m->role);
        if (fault != NULL) {
            return fault;
        }
    }
    return NULL;
}

/* strcmp(a, b) == 0, without newlib's word-at-a-time strcmp (0.7 KB on
 * Cortex-M4) for the few short names compared here. */
static bool same_name(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* The members wisp writes itself, and whether this request writes each:
 * an extra parameter may not repeat one (a duplicate key is read
 * differently by different servers). */
static bool writes_member(const wisp_request *r, const char *name)
{
    static const char *const names[] = {
        "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "max_tokens",
        "max_completion_tokens", "temperature", "top_p", "presence_penalty",
        "frequency_penalty", "seed", "stop", "response_format", "reasoning_effort", "user",
        "stream", "stream_options"};
    const bool sent[] = {
        true, true, r->tool_count > 0, r->tool_choice != WISP_TOOL_CHOICE_UNSET,
        r->has_parallel_tool_calls, r->max_tokens != 0, r->max_completion_tokens != 0,
        r->has_temperature, r->has_top_p, r->has_presence_penalty, r->has_frequency_penalty,
        r->has_seed, r->stop_count > 0, r->response_format.type != WISP_FORMAT_UNSET,
        r->reasoning_effort != WISP_REASONING_UNSET, r->user != NULL,
        true, true /* the framing is wisp's, streamed or not */};
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (sent[i] && same_name(names[i], name)) {
            return true;
        }
    }
    return false;
}

/* Invalid UTF-8 is sent as U+FFFD, so two names that differ only there
 * would become one key: a parameter's name must be valid UTF-8. */
static bool valid_utf8(const char *str)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t n = strlen(str);
    while (n > 0) {
        size_t len = wisp_utf8_len(s, n);
        if (len == 0) {
            return false;
        }
        s += len;
        n -= len;
    }
    return true;
}

static bool milli_in(bool has, int32_t v, int32_t lo, int32_t hi)
{
    return !has || (v >= lo && v <= hi);
}

static wisp_status refuse(const char **why, wisp_status st, const char *fault)
{
    if (why != NULL) {
        *why = fault;
    }
    return st;
}

static wisp_status check_tools(const wisp_request *req, const char **why)
{
    size_t i;
    if (req->tool_count > 0 && req->tools == NULL) {
        return refuse(why, WISP_ERR_ARG, WHY("tools: tool_count without tools"));
    }
    for (i = 0; i < req->tool_count; i++) {
        const wisp_tool *t = &req->tools[i];
        if (t->name == NULL || t->name[0] == '\0') {
            return refuse(why, WISP_ERR_ARG, WHY("tools: a tool without a name"));
        }
        /* A schema that is not one JSON value would break the body. */
        if ((t->parameters != NULL &&
             !wisp_json_valid(t->parameters, schema_len(t), WISP_TOOL_SCHEMA_DEPTH)) ||
            (t->function_json != NULL &&
             !wisp_json_valid(t->function_json, function_len(t), WISP_TOOL_SCHEMA_DEPTH + 2))) {
            return refuse(why, WISP_ERR_TOOL_SCHEMA, WHY("tools: a schema that is not one JSON value"));
        }
    }
    /* A choice about tools with no tools is refused by servers (400). */
    if (req->tool_count == 0 &&
        (req->tool_choice != WISP_TOOL_CHOICE_UNSET || req->has_parallel_tool_calls)) {
        return refuse(why, WISP_ERR_ARG, WHY("tool_choice: set without tools"));
    }
    if ((unsigned)req->tool_choice > WISP_TOOL_CHOICE_FUNCTION ||
        (req->tool_choice == WISP_TOOL_CHOICE_FUNCTION &&
         (req->tool_choice_name == NULL || req->tool_choice_name[0] == '\0'))) {
        return refuse(why, WISP_ERR_ARG, WHY("tool_choice: unknown, or a function without a name"));
    }
    return WISP_OK;
}

/* The Idempotency-Key header's value. */
static wisp_status check_key(const wisp_request *req, const char **why)
{
    const char *key = req->idempotency_key;
    size_t i;
    if (key != NULL) {
        /* Servers strip the spaces around a header value: " k" would be
         * "k", and "  " an empty key. */
        if (key[0] == '\0' || key[0] == ' ' || key[strlen(key) - 1] == ' ') {
            return refuse(why, WISP_ERR_HEADER_VALUE,
                          WHY("idempotency_key: empty, or a space at either end"));
        }
        for (i = 0; key[i] != '\0'; i++) {
            if ((uint8_t)key[i] < 0x20 || (uint8_t)key[i] > 0x7E) {
                return refuse(why, WISP_ERR_HEADER_VALUE,
                              WHY("idempotency_key: not printable ASCII"));
            }
        }
    }
    return WISP_OK;
}

/* stop, response_format, reasoning_effort, the extra parameters, then the
 * idempotency key. */
static wisp_status check_options(const wisp_request *req, const char **why)
{
    const wisp_response_format *f = &req->response_format;
    size_t i, k;
    if (req->stop_count > 4 || (req->stop_count > 0 && req->stop == NULL)) {
        return refuse(why, WISP_ERR_ARG, WHY("stop: more than four strings, or none given"));
    }
    for (i = 0; i < req->stop_count; i++) {
        if (req->stop[i] == NULL || req->stop[i][0] == '\0') {
            return refuse(why, WISP_ERR_ARG, WHY("stop: an empty string"));
        }
    }
    if ((unsigned)f->type > WISP_FORMAT_JSON_SCHEMA) {
        return refuse(why, WISP_ERR_ARG, WHY("response_format: unknown type"));
    }
    if (f->type == WISP_FORMAT_JSON_SCHEMA) {
        if (f->name == NULL || f->name[0] == '\0' || f->schema == NULL) {
            return refuse(why, WISP_ERR_ARG, WHY("response_format: json_schema without name or schema"));
        }
        if (!wisp_json_valid(f->schema, format_schema_len(f), WISP_TOOL_SCHEMA_DEPTH)) {
            return refuse(why, WISP_ERR_REQUEST_JSON,
                          WHY("response_format: the schema is not one JSON value"));
        }
    }
    if ((unsigned)req->reasoning_effort > WISP_REASONING_HIGH) {
        return refuse(why, WISP_ERR_ARG, WHY("reasoning_effort: unknown level"));
    }
    if (req->param_count > 0 && req->params == NULL) {
        return refuse(why, WISP_ERR_ARG, WHY("params: param_count without params"));
    }
    for (i = 0; i < req->param_count; i++) {
        const wisp_param *p = &req->params[i];
        if (p->name == NULL || p->name[0] == '\0' || p->json == NULL) {
            return refuse(why, WISP_ERR_ARG, WHY("params: a parameter without a name or a value"));
        }
        if (!valid_utf8(p->name)) {
            return refuse(why, WISP_ERR_ARG, WHY("params: a name that is not valid UTF-8"));
        }
        if (!wisp_json_valid(p->json, param_len(p), WISP_TOOL_SCHEMA_DEPTH)) {
            return refuse(why, WISP_ERR_REQUEST_JSON, WHY("params: a value that is not one JSON value"));
        }
        if (writes_member(req, p->name)) {
            return refuse(why, WISP_ERR_ARG, WHY("params: a name the request already sends"));
        }
        for (k = 0; k < i; k++) {
            if (same_name(req->params[k].name, p->name)) {
                return refuse(why, WISP_ERR_ARG, WHY("params: a name given twice"));
            }
        }
    }
    return check_key(req, why);
}

/* What this message needs that the build left out, or NULL. */
static const char *message_left_out(const wisp_message *m)
{
    size_t k;
    if (!WISP_TOOLS && (m->tool_call_count > 0 || m->role == WISP_ROLE_TOOL)) {
        return WHY("messages: tool calls and results are left out of this build (WISP_TOOLS 0)");
    }
    if (!WISP_PARTS && m->part_count > 0) {
        return WHY("messages: parts are left out of this build (WISP_PARTS 0)");
    }
    if (!WISP_IMAGES && m->parts != NULL) {
        for (k = 0; k < m->part_count; k++) {
            if (m->parts[k].type != WISP_PART_TEXT) {
                return WHY("messages: images are left out of this build (WISP_IMAGES 0)");
            }
        }
    }
    return NULL;
}

/* What this request needs that the build left out (wisp_config.h), or
 * NULL. */
static const char *left_out(const wisp_request *req)
{
    size_t i;
    if (!WISP_NONSTREAM && !req->stream) {
        return WHY("stream: false, and this build reads streamed replies only (WISP_NONSTREAM 0)");
    }
    if (!WISP_TOOLS && (req->tool_count > 0 || req->tool_choice != WISP_TOOL_CHOICE_UNSET ||
                        req->has_parallel_tool_calls)) {
        return WHY("tools: left out of this build (WISP_TOOLS 0)");
    }
    if (!WISP_PARAMS &&
        (req->has_temperature || req->has_top_p || req->has_presence_penalty ||
         req->has_frequency_penalty || req->has_seed || req->stop_count > 0 ||
         req->response_format.type != WISP_FORMAT_UNSET ||
         req->reasoning_effort != WISP_REASONING_UNSET || req->user != NULL ||
         req->param_count > 0)) {
        return WHY("sampling, seed, stop, response_format, reasoning_effort, user or params: "
                   "left out of this build (WISP_PARAMS 0)");
    }
    for (i = 0; i < req->message_count; i++) {
        const char *fault = message_left_out(&req->messages[i]);
        if (fault != NULL) {
            return fault;
        }
    }
    return NULL;
}

wisp_status wisp_request_check(const wisp_request *req, const char **why)
{
    size_t i;
    wisp_status st;
    const char *fault;
    if (req == NULL || req->model == NULL || req->model[0] == '\0') {
        return refuse(why, WISP_ERR_ARG, WHY("model: not set"));
    }
    if (req->messages == NULL || req->message_count == 0) {
        return refuse(why, WISP_ERR_ARG, WHY("messages: none"));
    }
    fault = left_out(req);
    if (fault != NULL) {
        return refuse(why, WISP_ERR_UNSUPPORTED, fault);
    }
    for (i = 0; i < req->message_count; i++) {
        fault = message_fault(&req->messages[i]);
        if (fault != NULL) {
            return refuse(why, WISP_ERR_ARG, fault);
        }
    }
    st = WISP_TOOLS ? check_tools(req, why) : WISP_OK;
    if (st != WISP_OK || !WISP_PARAMS) {
        return st != WISP_OK ? st : check_key(req, why);
    }
    if (!milli_in(req->has_temperature, req->temperature_milli, 0, 2000) ||
        !milli_in(req->has_top_p, req->top_p_milli, 0, 1000) ||
        !milli_in(req->has_presence_penalty, req->presence_penalty_milli, -2000, 2000) ||
        !milli_in(req->has_frequency_penalty, req->frequency_penalty_milli, -2000, 2000)) {
        return refuse(why, WISP_ERR_ARG,
                      WHY("sampling: temperature 0..2000, top_p 0..1000, penalties -2000..2000 "
                      "(thousandths)"));
    }
    return check_options(req, why);
}

/* An image part: a URL as it is, or the bytes as a data: URL. */
static void put_image_part(wisp_out *o, const wisp_part *p)
{
    static const char *const details[] = {NULL, "auto", "low", "high"};
    put_str(o, "{\"type\":\"image_url\",\"image_url\":{\"url\":");
    if (p->type == WISP_PART_IMAGE_URL) {
        put_json_string(o, p->url);
    } else {
        put_str(o, p->image_type == WISP_IMAGE_PNG ? "\"data:image/png;base64,"
                                                   : "\"data:image/jpeg;base64,");
        put_image_bytes(o, p);
        put_str(o, "\"");
    }
    if (p->detail != WISP_DETAIL_UNSET) {
        put_str(o, ",\"detail\":\"");
        put_str(o, details[p->detail]);
        put_str(o, "\"");
    }
    put_str(o, "}}");
}

static void put_content(wisp_out *o, const wisp_message *m)
{
    size_t i;
    if (!WISP_PARTS || m->part_count == 0) {
        if (m->content != NULL) {
            put_json_string(o, m->content);
        } else {
            put_str(o, "null");
        }
        return;
    }
    for (i = 0; i < m->part_count; i++) {
        const wisp_part *p = &m->parts[i];
        put_str(o, i == 0 ? "[" : ",");
        if (p->type == WISP_PART_TEXT) {
            put_str(o, "{\"type\":\"text\",\"text\":");
            put_json_string(o, p->text);
            put_str(o, "}");
        } else if (WISP_IMAGES) {
            put_image_part(o, p);
        }
    }
    put_str(o, "]");
}

/* One message; an assistant turn carries its tool calls, with each
 * thought signature back on the call it came with. */
static void put_message(wisp_out *o, const wisp_message *m, bool first)
{
    size_t k;
    put_str(o, first ? "{\"role\":\"" : ",{\"role\":\"");
    put_str(o, role_name(m->role));
    put_str(o, "\",\"content\":");
    put_content(o, m);
    if (WISP_TOOLS && m->role == WISP_ROLE_TOOL) {
        put_str(o, ",\"tool_call_id\":");
        put_json_string(o, m->tool_call_id);
    }
    if (WISP_TOOLS && m->tool_call_count > 0) {
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

static void put_sampling(wisp_out *o, const char *member, bool has, int32_t milli)
{
    if (has) {
        put_str(o, member);
        put_milli(o, milli);
    }
}

static void put_count(wisp_out *o, const char *member, uint32_t v)
{
    if (v != 0) {
        put_str(o, member);
        put_uint(o, v);
    }
}

/* response_format, in OpenAI's shape. */
static void put_format(wisp_out *o, const wisp_response_format *f)
{
    if (f->type == WISP_FORMAT_JSON_OBJECT) {
        put_str(o, ",\"response_format\":{\"type\":\"json_object\"}");
    } else if (f->type == WISP_FORMAT_JSON_SCHEMA) {
        put_str(o, ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":");
        put_json_string(o, f->name);
        put_str(o, ",\"schema\":");
        wisp_out_put(o, f->schema, format_schema_len(f)); /* checked: one JSON value */
        if (f->has_strict) {
            put_str(o, f->strict ? ",\"strict\":true" : ",\"strict\":false");
        }
        put_str(o, "}}");
    }
}

/* The sampling and output parameters, in the order OpenAI documents them. */
static void put_params(wisp_out *o, const wisp_request *req)
{
    static const char *const efforts[] = {NULL, "none", "minimal", "low", "medium", "high"};
    size_t i;
    put_sampling(o, ",\"temperature\":", req->has_temperature, req->temperature_milli);
    put_sampling(o, ",\"top_p\":", req->has_top_p, req->top_p_milli);
    put_sampling(o, ",\"presence_penalty\":", req->has_presence_penalty,
                 req->presence_penalty_milli);
    put_sampling(o, ",\"frequency_penalty\":", req->has_frequency_penalty,
                 req->frequency_penalty_milli);
    if (req->has_seed) {
        put_str(o, ",\"seed\":");
        put_int64(o, req->seed);
    }
    for (i = 0; i < req->stop_count; i++) {
        put_str(o, i == 0 ? ",\"stop\":[" : ",");
        put_json_string(o, req->stop[i]);
    }
    if (req->stop_count > 0) {
        put_str(o, "]");
    }
    put_format(o, &req->response_format);
    if (req->reasoning_effort != WISP_REASONING_UNSET) {
        put_str(o, ",\"reasoning_effort\":\"");
        put_str(o, efforts[req->reasoning_effort]);
        put_str(o, "\"");
    }
    if (req->user != NULL) {
        put_str(o, ",\"user\":");
        put_json_string(o, req->user);
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
    if (WISP_TOOLS) {
        put_tools(o, req);
    }
    put_count(o, ",\"max_tokens\":", req->max_tokens);
    put_count(o, ",\"max_completion_tokens\":", req->max_completion_tokens);
    if (WISP_PARAMS) {
        put_params(o, req);
    }
    if (req->stream) {
        put_str(o, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    }
    for (i = 0; WISP_PARAMS && i < req->param_count; i++) {
        const wisp_param *p = &req->params[i];
        put_str(o, ",");
        put_json_string(o, p->name);
        put_str(o, ":");
        wisp_out_put(o, p->json, param_len(p)); /* checked: one JSON value */
    }
    put_str(o, "}");
}

/* host[:port], the port only when it is not the scheme's. */
static void put_authority(wisp_out *o, const wisp_url *url)
{
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
}

/* One head for every request: a POST (req set) has its body's fields and
 * its Idempotency-Key, a GET neither. */
static void write_head(wisp_out *o, const wisp_url *url, const char *endpoint,
                       const char *api_key, const wisp_header *headers, size_t header_count,
                       size_t content_length, const wisp_request *req)
{
    size_t i;
    put_str(o, req != NULL ? "POST " : "GET ");
    if (url->absolute_form) { /* to an HTTP proxy: the whole URL */
        put_str(o, url->https ? "https://" : "http://");
        put_authority(o, url);
    }
    wisp_out_put(o, url->path, url->path_len);
    put_str(o, endpoint);
    put_str(o, " HTTP/1.1\r\nHost: ");
    put_authority(o, url);
    put_str(o, "\r\nUser-Agent: wisp/" WISP_VERSION "\r\nAccept: ");
    put_str(o, req != NULL && req->stream ? "text/event-stream" : "application/json");
    put_str(o, "\r\nAccept-Encoding: identity");
    if (req != NULL) {
        put_str(o, "\r\nContent-Type: application/json\r\nContent-Length: ");
        put_uint(o, content_length);
    }
    if (api_key != NULL && api_key[0] != '\0') {
        put_str(o, "\r\nAuthorization: Bearer ");
        put_str(o, api_key);
    }
    if (req != NULL && req->idempotency_key != NULL) {
        put_str(o, "\r\nIdempotency-Key: ");
        put_str(o, req->idempotency_key);
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

void wisp_write_head(wisp_out *o, const wisp_url *url, const char *api_key,
                     const wisp_header *headers, size_t header_count,
                     size_t content_length, const wisp_request *req)
{
    write_head(o, url, "/chat/completions", api_key, headers, header_count, content_length, req);
}

void wisp_write_get_head(wisp_out *o, const wisp_url *url, const char *endpoint,
                         const char *api_key, const wisp_header *headers,
                         size_t header_count)
{
    write_head(o, url, endpoint, api_key, headers, header_count, 0, NULL);
}
