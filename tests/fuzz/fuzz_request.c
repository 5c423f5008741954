/*
 * fuzz_request.c - libFuzzer harness for the request writer and its check
 * (core/wisp_request.c: wisp_request_check, wisp_write_body,
 * wisp_write_head, the counting and the sending wisp_out).
 *
 * The input is a small byte code (see "the byte code" below) that builds a
 * wisp_request: model, messages of text / image-URL / image-byte parts
 * (bytes from memory or through a read callback), tool calls, tools, stop
 * strings, sampling values in thousandths, seed, response_format,
 * reasoning_effort, user, extra parameters, idempotency key, stream, as
 * slices of the input (invalid UTF-8, control bytes, quotes, NUL cut points)
 * or picks from small tables (JSON texts valid and not, enum values in and
 * out of range).  Each input:
 *  - is checked: a refusal must say why (non-empty), the same with why NULL,
 *    and wisp_request_body_size is 0; nothing more is done with it;
 *  - is counted (no read callback may run), then written through an output
 *    buffer of 1..4096 bytes placed at the end of a static array (ASan sees
 *    a write past it) into a capture buffer: the bytes equal the count, and
 *    wisp_request_body_size;
 *  - the body is one JSON value for wisp_json_valid and for an independent
 *    strict RFC 8259 grammar (json_oracle.h: UTF-8, escapes, numbers, no
 *    trailing commas), a top-level object whose members are exactly the
 *    ones the request sets, none twice; model, user and stop decode to the
 *    source text (invalid bytes as U+FFFD); seed is the "%lld" of the int64;
 *    sampling values the exact decimal of milli/1000 (at most three
 *    places, no trailing zero); counts their "%u"; extra parameters carry
 *    their JSON as it is; every image part's base64 decodes to exactly its
 *    bytes and every image URL to its URL;
 *  - the head is written for a parsed URL (taken from the input when it
 *    parses): counted size equal, printable ASCII lines ended by CRLF, one
 *    blank line at the end, one Content-Length equal to the body's count,
 *    an Idempotency-Key line exactly when the request has a key;
 *  - with a read callback armed to fail at a chosen offset, the send ends in
 *    WISP_ERR_IMAGE_READ and what was flushed is a prefix of the body; with a
 *    flush that fails after some bytes, the send ends in that status, the
 *    output is a prefix, and flush is never called again.
 * wisp_image_type_of and wisp_json_is_value (and wisp_json_valid at the
 * depth a "function" object may have) are checked against independent
 * versions on every image and JSON text the byte code makes.
 * abort() on failure.  No heap: every buffer is static.
 *
 * The byte code: opcodes (byte % 23) until the input ends, each followed
 * by its operands; a string is a length byte (0xF0..0xFF: a second byte
 * too, up to 4095) and that many bytes, copied and NUL-terminated (so an
 * inner NUL cuts it); a "text" is a byte (0: NULL, < 0x40: a table entry,
 * else a string follows); JSON is a mode byte (from a table of valid and
 * invalid texts, a string, a slice of the input with its length, or a
 * prefix of a table entry).  Image bytes are always a slice of the input
 * itself (a u16 size), read in place or through the callback.
 *    0, 20 message    1 text part   2 image-URL part   3, 19 image part
 *    4 tool call       5 tool        6 tool_choice       7, 21 sampling
 *    8 max_*tokens     9 stop       10 response_format  11 reasoning_effort
 *   12 extra param    13 idempotency key  14 stream/user/model  15 seed
 *   16 output buffer size  17 flush fails after N bytes  18 URL and head
 *   22 shapes the check must refuse
 * Anything not set by the input is a valid default (model "gpt-test", one
 * user message "hi", a 64-byte output buffer).
 *
 * Build: make build/fuzz/fuzz_request (clang, ASan + UBSan + libFuzzer);
 * with -DWISP_FUZZ_MAIN (make build/fuzz/replay_request) a plain program
 * replaying the files named on its command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wisp.h"
#include "wisp_json.h"
#include "wisp_request.h"

#include "json_oracle.h" /* utf8_seq, oracle_check, the grammar's steps */

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_request: CHECK failed, line %d: %s\n",      \
                    __LINE__, #cond);                                         \
            abort();                                                          \
        }                                                                     \
    } while (0)

#define MAX_INPUT 4096
#define CAPTURE (256u * 1024u)
#define HEAD_CAP 16384u
#define STAGE_MAX 4096u

#define N_MSG 12
#define N_PART 24
#define N_CALL 16
#define N_TOOL 8
#define N_PARAM 12
#define N_STOP 6

/* ---- the body's top-level object (the grammar: json_oracle.h) ----------- */

typedef struct span {
    size_t a, b; /* [a, b) of the body */
} span;

#define MAX_MEMBERS 64

/* The body: one object, its members' key and value spans recorded (values
 * without the white space around them), strings well-formed UTF-8. */
static bool top_object(const uint8_t *s, size_t n, span *keys, span *vals, size_t *count)
{
    oracle o;
    size_t m = 0;
    oracle_init(&o, s, n, 200, true);
    o.depth = 1; /* inside the top-level object */
    o_ws(&o);
    if (o.i >= n || s[o.i] != '{')
        return false;
    o.i++;
    o_ws(&o);
    if (o.i < n && s[o.i] == '}') {
        o.i++;
    } else {
        for (;;) {
            if (m == MAX_MEMBERS)
                return false;
            o_ws(&o);
            keys[m].a = o.i;
            if (!o_string(&o))
                return false;
            keys[m].b = o.i;
            o_ws(&o);
            if (o.i >= n || s[o.i] != ':')
                return false;
            o.i++;
            o_ws(&o);
            vals[m].a = o.i;
            if (!o_value(&o))
                return false;
            vals[m].b = o.i;
            while (vals[m].b > vals[m].a &&
                   (s[vals[m].b - 1] == ' ' || s[vals[m].b - 1] == '\t' ||
                    s[vals[m].b - 1] == '\n' || s[vals[m].b - 1] == '\r'))
                vals[m].b--;
            m++;
            if (o.i < n && s[o.i] == ',') {
                o.i++;
                continue;
            }
            if (o.i < n && s[o.i] == '}') {
                o.i++;
                break;
            }
            return false;
        }
    }
    o_ws(&o);
    *count = m;
    return o.i == n;
}

static size_t put_utf8(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) { /* lone surrogates too (WTF-8): they stay distinct */
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

static uint32_t hex4(const uint8_t *s)
{
    uint32_t v = 0;
    int k;
    for (k = 0; k < 4; k++) {
        uint8_t c = s[k];
        v = v * 16u + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* Decodes the JSON string s[a..b) (quotes included, already checked by the
 * grammar) into out (cap bytes; 6 per escape is enough: out >= b - a). */
static size_t json_decode(const uint8_t *s, size_t a, size_t b, uint8_t *out)
{
    size_t i = a + 1, n = 0;
    CHECK(b >= a + 2 && s[a] == '"' && s[b - 1] == '"');
    while (i < b - 1) {
        uint8_t c = s[i++];
        if (c != '\\') {
            out[n++] = c;
            continue;
        }
        c = s[i++];
        switch (c) {
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            uint32_t cp = hex4(s + i);
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= b - 1 && s[i] == '\\' &&
                s[i + 1] == 'u') {
                uint32_t lo = hex4(s + i + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            n += put_utf8(cp, out + n);
            break;
        }
        default: out[n++] = c; break; /* " \ / */
        }
    }
    return n;
}

/* What a C string must decode to: valid UTF-8 as it is, each other byte
 * U+FFFD. */
static size_t sanitize(const char *str, uint8_t *out)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t n = strlen(str), i = 0, m = 0, len;
    while (i < n) {
        len = utf8_seq(s + i, n - i);
        if (len == 0) {
            out[m++] = 0xEF;
            out[m++] = 0xBF;
            out[m++] = 0xBD;
            i++;
        } else {
            memcpy(out + m, s + i, len);
            m += len;
            i += len;
        }
    }
    return m;
}

/* ---- base64, independent -------------------------------------------------- */

static int b64_val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict, canonical base64 of exactly want[0..n). */
static void check_base64(const uint8_t *s, size_t len, const uint8_t *want, size_t n)
{
    size_t g, k, at = 0;
    CHECK(len == (n + 2) / 3 * 4);
    for (g = 0; g < len; g += 4) {
        int v[4];
        size_t take = n - at < 3 ? n - at : 3;
        uint32_t w;
        for (k = 0; k < 4; k++) {
            v[k] = b64_val(s[g + k]);
            if (k > take) {
                CHECK(s[g + k] == '='); /* padding only at the end */
                v[k] = 0;
            } else {
                CHECK(v[k] >= 0);
            }
        }
        w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        CHECK((uint8_t)(w >> 16) == want[at]);
        if (take > 1)
            CHECK((uint8_t)(w >> 8) == want[at + 1]);
        else
            CHECK((w & 0xFFFFu) == 0); /* canonical: unused bits zero */
        if (take > 2)
            CHECK((uint8_t)w == want[at + 2]);
        else if (take == 2)
            CHECK((w & 0xFFu) == 0);
        at += take;
    }
    CHECK(at == n);
}

/* ---- the request, built from the input ---------------------------------- */

typedef struct image_src {
    const uint8_t *src;
    size_t size;
    bool has_fail;
    size_t fail_at;
    wisp_status fail_status;
    size_t next; /* the offset the next read must ask for */
    size_t reads;
} image_src;

static wisp_request g_req;
static wisp_message g_msgs[N_MSG];
static wisp_part g_parts[N_PART];
static image_src g_imgs[N_PART];
static wisp_call_ref g_calls[N_CALL];
static wisp_tool g_tools[N_TOOL];
static wisp_param g_params[N_PARAM];
static const char *g_stops[N_STOP];
static size_t g_nmsg, g_npart, g_ncall, g_ntool, g_nparam, g_nstop;
static char g_pool[2 * MAX_INPUT + 256];
static size_t g_pool_len;

static bool g_fail_armed;  /* image reads fail where told to */
static size_t g_stage_cap; /* the output buffer's size */
static size_t g_flush_fail_after; /* SIZE_MAX: flush never fails */
static bool g_has_url;
static wisp_url g_url;
static unsigned g_head_opts;
static int g_odd_messages; /* 1: message_count 0, 2: messages NULL */

typedef struct cursor {
    const uint8_t *p;
    size_t n, i;
} cursor;

static uint8_t get_u8(cursor *c)
{
    return c->i < c->n ? c->p[c->i++] : 0;
}

static uint32_t get_u16(cursor *c)
{
    uint32_t v = get_u8(c);
    return v | (uint32_t)get_u8(c) << 8;
}

static uint32_t get_u32(cursor *c)
{
    uint32_t v = get_u16(c);
    return v | get_u16(c) << 16;
}

static uint64_t get_u64(cursor *c)
{
    uint64_t v = get_u32(c);
    return v | (uint64_t)get_u32(c) << 32;
}

/* A length byte (0xF0.. adds a second byte: up to 4095), then that many
 * bytes of the input (fewer at its end). */
static const uint8_t *get_slice(cursor *c, size_t *len)
{
    size_t want = get_u8(c);
    const uint8_t *p;
    if (want >= 0xF0)
        want = (want - 0xF0) << 8 | get_u8(c);
    if (want > c->n - c->i)
        want = c->n - c->i;
    p = c->p + c->i;
    c->i += want;
    *len = want;
    return p;
}

/* A copy of n bytes as a C string (an inner NUL cuts it short). */
static const char *pool_copy(const void *p, size_t n)
{
    char *s;
    if (g_pool_len + n + 1 > sizeof g_pool)
        return NULL;
    s = g_pool + g_pool_len;
    memcpy(s, p, n);
    s[n] = '\0';
    g_pool_len += n + 1;
    return s;
}

static const char *get_str(cursor *c)
{
    size_t len;
    const uint8_t *p = get_slice(c, &len);
    return pool_copy(p, len);
}

static const char *const g_texts[] = {
    "hi", "", "a\"b\\c", "line\nbreak\ttab\r", "\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    "\xff\xfe", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xef\xbf\xbd",
    "</script>", "\\u0000", "data:image/png;base64,AAAA", "\"url\":\"data:image/jpeg;base64,",
};

static char g_deep32[2 * 32 + 1], g_deep33[2 * 33 + 1], g_fdeep[6 * 34 + 16];

static const char *const g_jsons[] = {
    "0", "-1", "1.5e3", "-0.25E-2", "true", "false", "null", "\"s\"", "[]", "{}",
    "{\"a\":1,\"b\":[true,null]}", " [1, 2 ,3]\n", "\"\\u00e9\\ud83d\\ude00\\ud800\"",
    "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\"}},\"required\":[\"x\"]}",
    "{\"name\":\"f\",\"strict\":true,\"parameters\":{}}", "{\"a\":1,\"a\":2}",
    /* not one JSON value */
    "", " ", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "+1", "{\"a\"}", "\"\x01\"", "1 2",
    "[", "]", "nul", "\"\\x\"", "\"\\u12\"", "\"\xff\"", "{\"a\":1}}", "NaN", "1e", "[1 2]",
    "\"\xed\xa0\x80\"", "{1:2}",
};
#define N_JSONS (sizeof g_jsons / sizeof g_jsons[0])
#define N_JSONS_ALL (N_JSONS + 3)

static const char *json_table(unsigned k)
{
    k %= N_JSONS_ALL;
    if (k == N_JSONS)
        return g_deep32;
    if (k == N_JSONS + 1)
        return g_deep33;
    if (k == N_JSONS + 2)
        return g_fdeep;
    return g_jsons[k];
}

/* JSON text for a schema, a parameter or a function: from the table, or a
 * slice (NUL-terminated with len 0, or with its length, straight from the
 * input so that a read past it is seen, or a prefix of a table entry). */
static const char *get_json_raw(cursor *c, size_t *len);

/* The same text judged by wisp and by the grammar (json_oracle.h), strings
 * well-formed UTF-8; too deep is not valid. */
static const char *get_json(cursor *c, size_t *len)
{
    const char *s = get_json_raw(c, len);
    const uint8_t *u = (const uint8_t *)s;
    size_t n;
    if (s != NULL) {
        n = *len != 0 ? *len : strlen(s);
        CHECK(wisp_json_is_value(s, n) == (oracle_check(u, n, WISP_TOOL_SCHEMA_DEPTH, true) == 1));
        CHECK(wisp_json_valid(s, n, WISP_TOOL_SCHEMA_DEPTH + 2) ==
              (oracle_check(u, n, WISP_TOOL_SCHEMA_DEPTH + 2, true) == 1));
    }
    return s;
}

static const char *get_json_raw(cursor *c, size_t *len)
{
    uint8_t mode = get_u8(c);
    const uint8_t *p;
    size_t n;
    const char *s;
    switch (mode % 5) {
    case 0:
    case 1:
        *len = 0;
        return json_table(mode / 5);
    case 2:
        *len = 0;
        return get_str(c);
    case 3:
        p = get_slice(c, &n);
        *len = n;
        return n > 0 ? (const char *)p : "0";
    default:
        s = json_table(mode / 5);
        *len = strlen(s) > 0 ? 1 + (size_t)get_u8(c) % strlen(s) : 0;
        return s;
    }
}

static const char *const g_names[] = {
    "n", "logit_bias", "model", "messages", "stream", "stream_options", "seed", "tools",
    "temperature", "user", "stop", "x", "\xff", "\xfe", "\xef\xbf\xbd", "a\"b", "n\x01", "",
};

static const char *get_name(cursor *c)
{
    uint8_t k = get_u8(c);
    if (k < 0xC0)
        return g_names[k % (sizeof g_names / sizeof g_names[0])];
    return get_str(c);
}

/* A text: NULL, from the table, or a slice. */
static const char *get_text(cursor *c)
{
    uint8_t k = get_u8(c);
    if (k == 0)
        return NULL;
    if (k < 0x40)
        return g_texts[k % (sizeof g_texts / sizeof g_texts[0])];
    return get_str(c);
}

static int32_t get_milli(cursor *c, int32_t lo, int32_t hi)
{
    static const int32_t edges[] = {0, 1, -1, 999, 1000, 1001, -999, -1000, -1001, 10,
                                    100, 1999, 2000, 2001, -2000, -2001, INT32_MIN,
                                    INT32_MAX, INT32_MIN + 1, 500, 250, 125};
    uint8_t mode = get_u8(c);
    switch (mode % 4) {
    case 0: return lo + (int32_t)(get_u16(c) % (uint32_t)(hi - lo + 1));
    case 1: return edges[(mode / 4) % (sizeof edges / sizeof edges[0])];
    case 2: return (int32_t)get_u32(c);
    default: return (int16_t)get_u16(c);
    }
}

static int64_t get_seed(cursor *c)
{
    static const int64_t specials[] = {INT64_MIN, INT64_MAX, 0, -1, 1, INT64_MIN + 1,
                                       INT64_MAX - 1, 9999, 10000, -10000, 65535, 65536,
                                       4294967295LL, 4294967296LL, -4294967296LL,
                                       99990000LL, 100000000LL, 999999999999999999LL,
                                       1000000000000000000LL, -1000000000000000000LL};
    uint8_t mode = get_u8(c);
    switch (mode % 4) {
    case 0: return specials[(mode / 4) % (sizeof specials / sizeof specials[0])];
    case 1: return (int64_t)get_u64(c);
    case 2: return (int8_t)get_u8(c);
    default: return (int32_t)get_u32(c);
    }
}

/* Reads an image for the writer: in order, inside the image, at most the
 * output buffer at a time; fails where armed. */
static wisp_status read_image(void *ctx, size_t offset, uint8_t *buf, size_t len)
{
    image_src *im = (image_src *)ctx;
    CHECK(im != NULL && buf != NULL);
    /* under four bytes of output buffer: one group (3 bytes) at a time */
    CHECK(len > 0 && len <= (g_stage_cap < 3 ? 3 : g_stage_cap));
    CHECK(offset == im->next);
    CHECK(offset < im->size && len <= im->size - offset);
    im->reads++;
    if (g_fail_armed && im->has_fail && im->fail_at < offset + len)
        return im->fail_status;
    memcpy(buf, im->src + offset, len);
    im->next += len;
    return WISP_OK;
}

static wisp_message *last_msg(void)
{
    if (g_nmsg == 0) {
        memset(&g_msgs[0], 0, sizeof g_msgs[0]);
        g_msgs[0].role = WISP_ROLE_USER;
        g_nmsg = 1;
    }
    return &g_msgs[g_nmsg - 1];
}

static wisp_role pick_role(uint8_t b)
{
    static const int roles[] = {WISP_ROLE_SYSTEM, WISP_ROLE_USER, WISP_ROLE_ASSISTANT,
                                WISP_ROLE_DEVELOPER, WISP_ROLE_TOOL, WISP_ROLE_USER,
                                WISP_ROLE_ASSISTANT, 5, 99, -1};
    return (wisp_role)roles[b % (sizeof roles / sizeof roles[0])];
}

static void op_message(cursor *c)
{
    wisp_message *m;
    uint8_t flags;
    if (g_nmsg == N_MSG)
        return;
    m = &g_msgs[g_nmsg++];
    memset(m, 0, sizeof *m);
    m->role = pick_role(get_u8(c));
    flags = get_u8(c);
    m->content = (flags & 1) ? NULL : get_text(c);
    if (flags & 2)
        m->tool_call_id = get_text(c);
    else if (m->role == WISP_ROLE_TOOL && !(flags & 4))
        m->tool_call_id = "call_1";
    if (flags & 8) { /* counts without arrays: refused */
        m->part_count = 1;
    }
    if (flags & 16) {
        m->tool_call_count = 1;
    }
}

static void add_part(wisp_message *m, const wisp_part *p, bool keep_content)
{
    if (g_npart == N_PART)
        return;
    if (m->part_count == 0 || m->parts == NULL) {
        m->parts = &g_parts[g_npart];
        m->part_count = 0;
    }
    g_parts[g_npart++] = *p;
    m->part_count++;
    if (!keep_content)
        m->content = NULL;
}

static void op_part_text(cursor *c)
{
    wisp_message *m = last_msg();
    wisp_part p;
    uint8_t flags = get_u8(c);
    memset(&p, 0, sizeof p);
    p.type = WISP_PART_TEXT;
    p.text = get_text(c);
    if (flags & 2)
        p.detail = (wisp_image_detail)(flags >> 4); /* not looked at for text */
    add_part(m, &p, (flags & 1) != 0);
}

static wisp_image_detail pick_detail(uint8_t b)
{
    static const int details[] = {WISP_DETAIL_UNSET, WISP_DETAIL_AUTO, WISP_DETAIL_LOW,
                                  WISP_DETAIL_HIGH, WISP_DETAIL_UNSET, WISP_DETAIL_AUTO,
                                  WISP_DETAIL_LOW, 4};
    return (wisp_image_detail)details[b & 7];
}

static void op_part_url(cursor *c)
{
    wisp_message *m = last_msg();
    wisp_part p;
    uint8_t flags = get_u8(c);
    memset(&p, 0, sizeof p);
    p.type = WISP_PART_IMAGE_URL;
    p.url = (flags & 0x80) ? "https://example.com/cat.png" : get_text(c);
    p.detail = pick_detail(flags >> 1);
    add_part(m, &p, (flags & 1) != 0);
}

static void op_part_image(cursor *c)
{
    static const int types[] = {WISP_IMAGE_JPEG, WISP_IMAGE_PNG, WISP_IMAGE_JPEG,
                                WISP_IMAGE_PNG, WISP_IMAGE_JPEG, WISP_IMAGE_PNG,
                                WISP_IMAGE_UNKNOWN, 7};
    static const int fails[] = {WISP_ERR_IO, WISP_ERR_TIMEOUT, WISP_ERR_CLOSED,
                                WISP_ERR_IMAGE_READ, WISP_ERR_ARG, 1000};
    wisp_message *m = last_msg();
    wisp_part p;
    image_src *im;
    uint8_t flags = get_u8(c), more = get_u8(c);
    size_t left, size;
    if (g_npart == N_PART)
        return;
    memset(&p, 0, sizeof p);
    p.type = WISP_PART_IMAGE;
    p.image_type = (wisp_image_type)types[flags & 7];
    p.detail = pick_detail(flags >> 3);
    size = get_u16(c) % 4096u;
    left = c->n - c->i;
    if (size > left)
        size = left;
    im = &g_imgs[g_npart];
    memset(im, 0, sizeof *im);
    im->src = c->p + c->i; /* straight from the input: ASan sees over-reads */
    im->size = size;
    c->i += size;
    p.size = size;
    {
        static const uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
        wisp_image_type want = WISP_IMAGE_UNKNOWN;
        if (size >= 3 && im->src[0] == 0xFF && im->src[1] == 0xD8 && im->src[2] == 0xFF)
            want = WISP_IMAGE_JPEG;
        else if (size >= 8 && memcmp(im->src, png, 8) == 0)
            want = WISP_IMAGE_PNG;
        CHECK(wisp_image_type_of(im->src, size) == want);
        CHECK(wisp_image_type_of(NULL, size) == WISP_IMAGE_UNKNOWN);
        if (flags == 0xFF && want != WISP_IMAGE_UNKNOWN)
            p.image_type = want; /* typed by its bytes */
    }
    if (more & 1) {
        p.read = read_image;
        p.read_ctx = im;
        if ((more & 2) && size > 0) {
            im->has_fail = true;
            im->fail_at = get_u16(c) % size;
            im->fail_status = (wisp_status)fails[(more >> 2) % (sizeof fails / sizeof fails[0])];
        }
    } else {
        p.data = size > 0 ? im->src : (const uint8_t *)"";
    }
    if ((more & 0x60) == 0x60) { /* oddities: refused */
        p.data = NULL;
        p.read = NULL;
    }
    add_part(m, &p, (more & 0x80) != 0);
}

static void op_tool_call(cursor *c)
{
    wisp_message *m = last_msg();
    wisp_call_ref *k;
    uint8_t flags = get_u8(c);
    if (g_ncall == N_CALL)
        return;
    if (m->tool_call_count == 0 || m->tool_calls == NULL) {
        m->tool_calls = &g_calls[g_ncall];
        m->tool_call_count = 0;
    }
    k = &g_calls[g_ncall++];
    memset(k, 0, sizeof *k);
    k->id = (flags & 1) ? get_text(c) : NULL;
    k->name = (flags & 2) ? get_text(c) : "get_time";
    k->arguments = (flags & 4) ? get_text(c) : NULL;
    k->signature = (flags & 8) ? get_text(c) : NULL;
    m->tool_call_count++;
    if (flags & 16)
        m->content = NULL;
}

static void op_tool(cursor *c)
{
    wisp_tool *t;
    uint8_t flags = get_u8(c);
    if (g_ntool == N_TOOL)
        return;
    t = &g_tools[g_ntool++];
    memset(t, 0, sizeof *t);
    t->name = (flags & 1) ? get_text(c) : "get_time";
    if (flags & 2)
        t->description = get_text(c);
    if (flags & 4)
        t->parameters = get_json(c, &t->parameters_len);
    if (flags & 8)
        t->function_json = get_json(c, &t->function_json_len);
    g_req.tools = g_tools;
    g_req.tool_count = g_ntool;
}

static void op_tool_choice(cursor *c)
{
    static const int choices[] = {WISP_TOOL_CHOICE_UNSET, WISP_TOOL_CHOICE_AUTO,
                                  WISP_TOOL_CHOICE_NONE, WISP_TOOL_CHOICE_REQUIRED,
                                  WISP_TOOL_CHOICE_FUNCTION, WISP_TOOL_CHOICE_FUNCTION,
                                  5, -1};
    uint8_t b = get_u8(c);
    g_req.tool_choice = (wisp_tool_choice)choices[b & 7];
    g_req.tool_choice_name = (b & 8) ? get_text(c) : "get_time";
    if (b & 16) {
        g_req.has_parallel_tool_calls = true;
        g_req.parallel_tool_calls = (b & 32) != 0;
    }
}

static void op_sampling(cursor *c)
{
    uint8_t which = get_u8(c);
    switch (which % 4) {
    case 0:
        g_req.has_temperature = true;
        g_req.temperature_milli = get_milli(c, 0, 2000);
        break;
    case 1:
        g_req.has_top_p = true;
        g_req.top_p_milli = get_milli(c, 0, 1000);
        break;
    case 2:
        g_req.has_presence_penalty = true;
        g_req.presence_penalty_milli = get_milli(c, -2000, 2000);
        break;
    default:
        g_req.has_frequency_penalty = true;
        g_req.frequency_penalty_milli = get_milli(c, -2000, 2000);
        break;
    }
}

static void op_counts(cursor *c)
{
    uint8_t b = get_u8(c);
    uint32_t v = (b & 2) ? get_u32(c) : get_u8(c);
    if (b & 1)
        g_req.max_completion_tokens = v;
    else
        g_req.max_tokens = v;
}

static void op_stop(cursor *c)
{
    uint8_t b = get_u8(c);
    if (b == 0xFF) { /* a count without strings: refused */
        g_req.stop = NULL;
        g_req.stop_count = 1;
        return;
    }
    if (g_nstop == N_STOP)
        return;
    g_stops[g_nstop++] = (b & 1) ? get_text(c) : get_str(c);
    g_req.stop = g_stops;
    g_req.stop_count = g_nstop;
}

static void op_format(cursor *c)
{
    wisp_response_format *f = &g_req.response_format;
    uint8_t b = get_u8(c);
    static const int types[] = {WISP_FORMAT_UNSET, WISP_FORMAT_JSON_OBJECT,
                                WISP_FORMAT_JSON_SCHEMA, WISP_FORMAT_JSON_SCHEMA,
                                WISP_FORMAT_JSON_SCHEMA, WISP_FORMAT_JSON_OBJECT, 3, -1};
    memset(f, 0, sizeof *f);
    f->type = (wisp_format_type)types[b & 7];
    f->name = (b & 8) ? get_text(c) : "answer";
    f->schema = (b & 16) ? NULL : get_json(c, &f->schema_len);
    f->has_strict = (b & 32) != 0;
    f->strict = (b & 64) != 0;
}

static void op_effort(cursor *c)
{
    static const int efforts[] = {WISP_REASONING_UNSET, WISP_REASONING_NONE,
                                  WISP_REASONING_MINIMAL, WISP_REASONING_LOW,
                                  WISP_REASONING_MEDIUM, WISP_REASONING_HIGH, 6, -1};
    g_req.reasoning_effort = (wisp_reasoning_effort)efforts[get_u8(c) & 7];
}

static void op_param(cursor *c)
{
    wisp_param *p;
    if (g_nparam == N_PARAM)
        return;
    p = &g_params[g_nparam++];
    p->name = get_name(c);
    p->json = get_json(c, &p->json_len);
    if (p->json == NULL)
        p->json = "1";
    g_req.params = g_params;
    g_req.param_count = g_nparam;
}

static void op_idempotency(cursor *c)
{
    uint8_t b = get_u8(c);
    if (b & 1)
        g_req.idempotency_key = (b & 2) ? "req-0001-abc" : NULL;
    else
        g_req.idempotency_key = get_str(c);
}

static void op_misc(cursor *c)
{
    uint8_t b = get_u8(c);
    if (b & 1)
        g_req.stream = (b & 2) != 0;
    if (b & 4)
        g_req.user = (b & 8) ? NULL : get_text(c);
    if (b & 16)
        g_req.model = get_text(c);
}

/* Shapes the check must refuse: counts without arrays, no messages, a
 * part of no known type, no model. */
static void op_odd(cursor *c)
{
    static const int types[] = {3, -1, 1000};
    uint8_t b = get_u8(c);
    switch (b % 6) {
    case 0: g_req.tools = NULL; g_req.tool_count = 1 + b / 6 % 3; break;
    case 1: g_req.params = NULL; g_req.param_count = 1 + b / 6 % 3; break;
    case 2: g_odd_messages = 1 + b / 6 % 2; break;
    case 3:
        if (g_npart > 0)
            g_parts[g_npart - 1].type = (wisp_part_type)types[b / 6 % 3];
        break;
    case 4: g_req.model = (b & 64) ? "" : NULL; break;
    default: g_req.idempotency_key = (b & 64) ? "" : "bad\r\nkey"; break;
    }
}

static void op_seed(cursor *c)
{
    g_req.has_seed = true;
    g_req.seed = get_seed(c);
}

static void op_outbuf(cursor *c)
{
    static const size_t sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 11, 16, 64, 300, 4096};
    uint8_t b = get_u8(c);
    if (b < 0x80)
        g_stage_cap = sizes[b % (sizeof sizes / sizeof sizes[0])];
    else
        g_stage_cap = 1 + (b & 63u);
}

static void op_flush_fail(cursor *c)
{
    g_flush_fail_after = get_u16(c);
}

static void op_url(cursor *c)
{
    static const char *const urls[] = {"http://localhost:8080/v1", "https://api.example.com",
                                       "http://[::1]:99/x/y", "https://h:443/p",
                                       "http://10.0.0.1:80", "HTTPS://Host.Example:8443/a/b/"};
    char text[512];
    uint8_t b = get_u8(c);
    size_t len;
    const uint8_t *p;
    g_head_opts = get_u8(c);
    if (b & 1) {
        g_has_url = wisp_url_parse(urls[(b >> 1) % (sizeof urls / sizeof urls[0])],
                                   &g_url) == WISP_OK;
        CHECK(g_has_url);
        return;
    }
    p = get_slice(c, &len);
    if (len > sizeof text - 16)
        len = sizeof text - 16;
    memcpy(text, (b & 2) ? "https://" : "http://", (b & 2) ? 8 : 7);
    memcpy(text + ((b & 2) ? 8 : 7), p, len);
    text[len + ((b & 2) ? 8 : 7)] = '\0';
    g_has_url = wisp_url_parse((b & 4) ? (const char *)text + ((b & 2) ? 8 : 7) : text,
                               &g_url) == WISP_OK;
}

/*
 * The byte code: opcodes until the input ends, each with its operands.
 * Strings are a length byte (>= 0xF0: two bytes, up to 4095) and bytes.
 */
static void build(const uint8_t *data, size_t size)
{
    cursor c;
    c.p = data;
    c.n = size;
    c.i = 0;
    memset(&g_req, 0, sizeof g_req);
    g_nmsg = g_npart = g_ncall = g_ntool = g_nparam = g_nstop = 0;
    g_pool_len = 0;
    memset(g_imgs, 0, sizeof g_imgs);
    g_stage_cap = 64;
    g_flush_fail_after = SIZE_MAX;
    g_has_url = false;
    g_head_opts = 0;
    g_odd_messages = 0;
    g_req.model = "gpt-test";
    while (c.i < c.n) {
        switch (get_u8(&c) % 23) {
        case 0: op_message(&c); break;
        case 1: op_part_text(&c); break;
        case 2: op_part_url(&c); break;
        case 3: op_part_image(&c); break;
        case 4: op_tool_call(&c); break;
        case 5: op_tool(&c); break;
        case 6: op_tool_choice(&c); break;
        case 7: op_sampling(&c); break;
        case 8: op_counts(&c); break;
        case 9: op_stop(&c); break;
        case 10: op_format(&c); break;
        case 11: op_effort(&c); break;
        case 12: op_param(&c); break;
        case 13: op_idempotency(&c); break;
        case 14: op_misc(&c); break;
        case 15: op_seed(&c); break;
        case 16: op_outbuf(&c); break;
        case 17: op_flush_fail(&c); break;
        case 18: op_url(&c); break;
        case 19: op_part_image(&c); break;
        case 20: op_message(&c); break;
        case 21: op_sampling(&c); break;
        default: op_odd(&c); break;
        }
    }
    if (g_nmsg == 0) {
        memset(&g_msgs[0], 0, sizeof g_msgs[0]);
        g_msgs[0].role = WISP_ROLE_USER;
        g_msgs[0].content = "hi";
        g_nmsg = 1;
    }
    g_req.messages = g_odd_messages == 2 ? NULL : g_msgs;
    g_req.message_count = g_odd_messages == 1 ? 0 : g_nmsg;
}

/* ---- sinks ----------------------------------------------------------------- */

/* The output buffer, at the end of a static array: a write past cap is a
 * global-buffer-overflow. */
static uint8_t g_stage_area[STAGE_MAX];

typedef struct sink {
    uint8_t *dst;
    size_t cap, len;
    const uint8_t *stage;
    size_t stage_cap;
    size_t fail_after;
    bool failed;
    size_t flushes;
} sink;

static wisp_status sink_flush(void *ctx, const uint8_t *buf, size_t len)
{
    sink *s = (sink *)ctx;
    CHECK(!s->failed); /* no flush after a failed one */
    CHECK(buf == s->stage);
    CHECK(len > 0 && len <= s->stage_cap);
    s->flushes++;
    if (s->fail_after != SIZE_MAX && s->len + len > s->fail_after) {
        s->failed = true;
        return WISP_ERR_IO;
    }
    CHECK(s->len + len <= s->cap); /* more than counted */
    memcpy(s->dst + s->len, buf, len);
    s->len += len;
    return WISP_OK;
}

static void sink_init(sink *s, uint8_t *dst, size_t cap, size_t fail_after)
{
    memset(s, 0, sizeof *s);
    s->dst = dst;
    s->cap = cap;
    s->stage_cap = g_stage_cap;
    s->stage = g_stage_area + sizeof g_stage_area - g_stage_cap;
    s->fail_after = fail_after;
}

static void reset_images(void)
{
    size_t i;
    for (i = 0; i < g_npart; i++) {
        g_imgs[i].next = 0;
        g_imgs[i].reads = 0;
    }
}

static wisp_status send_body(sink *s)
{
    wisp_out o;
    reset_images();
    wisp_out_sender(&o, (uint8_t *)s->stage, s->stage_cap, sink_flush, s);
    wisp_write_body(&o, &g_req);
    return wisp_out_finish(&o);
}

/* ---- checks on the body ----------------------------------------------------- */

static uint8_t g_body[CAPTURE], g_alt[CAPTURE];
static uint8_t g_dec[CAPTURE], g_want[3 * MAX_INPUT + 64];
static span g_keys[MAX_MEMBERS], g_vals[MAX_MEMBERS];
static size_t g_nmembers;
static size_t g_key_len[MAX_MEMBERS];
static uint8_t g_key_text[MAX_MEMBERS][3 * MAX_INPUT + 16];

static bool is_json_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Case-insensitive: s (n bytes) is the lower-case lit. */
static bool name_is(const char *s, size_t n, const char *lit)
{
    size_t i;
    if (strlen(lit) != n)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] | 0x20) : s[i];
        if (c != lit[i])
            return false;
    }
    return true;
}

static bool bytes_eq(const uint8_t *a, size_t an, const void *b, size_t bn)
{
    return an == bn && memcmp(a, b, an) == 0;
}

/* The member named name (sanitized like a key), or -1. */
static int member(const char *name)
{
    size_t n = sanitize(name, g_want), i;
    int found = -1;
    for (i = 0; i < g_nmembers; i++) {
        if (bytes_eq(g_key_text[i], g_key_len[i], g_want, n)) {
            CHECK(found < 0);
            found = (int)i;
        }
    }
    return found;
}

/* A member the request does not write: not there, unless an extra
 * parameter of that name sends it. */
static bool absent(const char *name)
{
    size_t i;
    if (member(name) < 0)
        return true;
    for (i = 0; i < g_req.param_count; i++)
        if (strcmp(g_req.params[i].name, name) == 0)
            return true;
    return false;
}

static const uint8_t *member_value(const char *name, size_t *len)
{
    int k = member(name);
    CHECK(k >= 0);
    *len = g_vals[k].b - g_vals[k].a;
    return g_body + g_vals[k].a;
}

static void check_value_text(const char *name, const char *want)
{
    size_t len;
    const uint8_t *v = member_value(name, &len);
    CHECK(bytes_eq(v, len, want, strlen(want)));
}

/* The member is the JSON string of str. */
static void check_string_at(size_t a, size_t b, const char *str)
{
    size_t n, m;
    CHECK(b > a && g_body[a] == '"');
    n = json_decode(g_body, a, b, g_dec);
    m = sanitize(str, g_want);
    CHECK(bytes_eq(g_dec, n, g_want, m));
}

static void check_string_member(const char *name, const char *str)
{
    int k = member(name);
    CHECK(k >= 0);
    check_string_at(g_vals[k].a, g_vals[k].b, str);
}

static void milli_text(int32_t v, char *out, size_t cap)
{
    long long a = v < 0 ? -(long long)v : (long long)v;
    size_t n;
    if (a % 1000 == 0) {
        snprintf(out, cap, "%s%lld", v < 0 ? "-" : "", a / 1000);
        return;
    }
    snprintf(out, cap, "%s%lld.%03lld", v < 0 ? "-" : "", a / 1000, a % 1000);
    n = strlen(out);
    while (out[n - 1] == '0')
        out[--n] = '\0';
}

static void check_milli(const char *name, bool has, int32_t v)
{
    char want[32];
    if (!has) {
        CHECK(absent(name));
        return;
    }
    milli_text(v, want, sizeof want);
    check_value_text(name, want);
}

static void check_count(const char *name, uint32_t v)
{
    char want[16];
    if (v == 0) {
        CHECK(absent(name));
        return;
    }
    snprintf(want, sizeof want, "%u", (unsigned)v);
    check_value_text(name, want);
}

static size_t param_json_len(const wisp_param *p)
{
    return p->json_len != 0 ? p->json_len : strlen(p->json);
}

/* The end of the string whose opening quote is at a (valid body). */
static size_t string_end(size_t a, size_t n)
{
    size_t i = a + 1;
    while (i < n && g_body[i] != '"')
        i += g_body[i] == '\\' ? 2 : 1;
    CHECK(i < n);
    return i + 1;
}

static const uint8_t *find(const uint8_t *h, size_t hn, const char *needle)
{
    size_t k = strlen(needle), i;
    for (i = 0; i + k <= hn; i++)
        if (h[i] == (uint8_t)needle[0] && memcmp(h + i, needle, k) == 0)
            return h + i;
    return NULL;
}

/* Inside "messages" only wisp's own image parts hold "url": (every other
 * text there is an escaped string): one each, in order. */
static void check_images(size_t a, size_t b)
{
    size_t at = a, i, j;
    for (i = 0; i < g_nmsg; i++) {
        const wisp_message *m = &g_msgs[i];
        for (j = 0; j < m->part_count; j++) {
            const wisp_part *p = &m->parts[j];
            const uint8_t *hit;
            size_t v, end;
            if (p->type == WISP_PART_TEXT)
                continue;
            hit = find(g_body + at, b - at, "\"url\":");
            CHECK(hit != NULL);
            v = (size_t)(hit - g_body) + 6;
            end = string_end(v, b);
            if (p->type == WISP_PART_IMAGE_URL) {
                check_string_at(v, end, p->url);
            } else {
                const char *prefix = p->image_type == WISP_IMAGE_PNG
                                         ? "\"data:image/png;base64,"
                                         : "\"data:image/jpeg;base64,";
                size_t k = strlen(prefix);
                const uint8_t *bytes = p->data != NULL ? p->data : g_imgs[p - g_parts].src;
                CHECK(end - v >= k + 1 && memcmp(g_body + v, prefix, k) == 0);
                check_base64(g_body + v + k, end - v - k - 1, bytes, p->size);
            }
            at = end;
        }
    }
    CHECK(find(g_body + at, b - at, "\"url\":") == NULL);
}

static void check_stop(void)
{
    size_t len, i, at;
    const uint8_t *v;
    if (g_req.stop_count == 0) {
        CHECK(absent("stop"));
        return;
    }
    v = member_value("stop", &len);
    at = (size_t)(v - g_body);
    CHECK(g_body[at] == '[');
    at++;
    for (i = 0; i < g_req.stop_count; i++) {
        size_t end;
        while (g_body[at] == ' ' || g_body[at] == '\n' || g_body[at] == '\t' || g_body[at] == '\r')
            at++;
        end = string_end(at, g_vals[member("stop")].b);
        check_string_at(at, end, g_req.stop[i]);
        at = end;
        while (g_body[at] == ' ' || g_body[at] == '\n' || g_body[at] == '\t' || g_body[at] == '\r')
            at++;
        CHECK(g_body[at] == (i + 1 == g_req.stop_count ? ']' : ','));
        at++;
    }
    CHECK(v + len == g_body + at);
}

static void check_body(size_t n)
{
    static const char *const efforts[] = {NULL, "\"none\"", "\"minimal\"", "\"low\"",
                                          "\"medium\"", "\"high\""};
    size_t i, k, expect, len;
    char want[32];
    const uint8_t *v;

#ifdef WISP_FUZZ_MAIN
    if (getenv("WISP_FUZZ_DUMP") != NULL) { /* the replayer shows the body */
        fwrite(g_body, 1, n, stderr);
        fputc('\n', stderr);
    }
#endif
    CHECK(wisp_json_valid((const char *)g_body, n, 64));
    CHECK(top_object(g_body, n, g_keys, g_vals, &g_nmembers));
    for (i = 0; i < g_nmembers; i++) {
        g_key_len[i] = json_decode(g_body, g_keys[i].a, g_keys[i].b, g_key_text[i]);
        for (k = 0; k < i; k++) /* no member twice */
            CHECK(!bytes_eq(g_key_text[i], g_key_len[i], g_key_text[k], g_key_len[k]));
    }

    expect = 2;
    check_string_member("model", g_req.model);
    k = (size_t)member("messages");
    CHECK(g_body[g_vals[k].a] == '[');
    check_images(g_vals[k].a, g_vals[k].b);

    expect += g_req.tool_count > 0;
    CHECK(g_req.tool_count > 0 ? member("tools") >= 0 : absent("tools"));
    expect += g_req.tool_choice != WISP_TOOL_CHOICE_UNSET;
    CHECK(g_req.tool_choice != WISP_TOOL_CHOICE_UNSET ? member("tool_choice") >= 0
                                                      : absent("tool_choice"));
    if (g_req.has_parallel_tool_calls) {
        expect++;
        check_value_text("parallel_tool_calls", g_req.parallel_tool_calls ? "true" : "false");
    } else {
        CHECK(absent("parallel_tool_calls"));
    }
    expect += g_req.max_tokens != 0;
    check_count("max_tokens", g_req.max_tokens);
    expect += g_req.max_completion_tokens != 0;
    check_count("max_completion_tokens", g_req.max_completion_tokens);
    expect += g_req.has_temperature + g_req.has_top_p + g_req.has_presence_penalty +
              g_req.has_frequency_penalty;
    check_milli("temperature", g_req.has_temperature, g_req.temperature_milli);
    check_milli("top_p", g_req.has_top_p, g_req.top_p_milli);
    check_milli("presence_penalty", g_req.has_presence_penalty, g_req.presence_penalty_milli);
    check_milli("frequency_penalty", g_req.has_frequency_penalty,
                g_req.frequency_penalty_milli);
    if (g_req.has_seed) {
        expect++;
        snprintf(want, sizeof want, "%lld", (long long)g_req.seed);
        check_value_text("seed", want);
    } else {
        CHECK(absent("seed"));
    }
    expect += g_req.stop_count > 0;
    check_stop();
    if (g_req.response_format.type != WISP_FORMAT_UNSET) {
        expect++;
        v = member_value("response_format", &len);
        CHECK(v[0] == '{');
        if (g_req.response_format.type == WISP_FORMAT_JSON_SCHEMA) {
            const wisp_response_format *f = &g_req.response_format;
            size_t sl = f->schema_len != 0 ? f->schema_len : strlen(f->schema);
            bool seen = false;
            for (i = 0; i + sl <= len && !seen; i++)
                seen = memcmp(v + i, f->schema, sl) == 0;
            CHECK(seen); /* as it is */
        }
    } else {
        CHECK(absent("response_format"));
    }
    if (g_req.reasoning_effort != WISP_REASONING_UNSET) {
        expect++;
        check_value_text("reasoning_effort", efforts[g_req.reasoning_effort]);
    } else {
        CHECK(absent("reasoning_effort"));
    }
    if (g_req.user != NULL) {
        expect++;
        check_string_member("user", g_req.user);
    } else {
        CHECK(absent("user"));
    }
    if (g_req.stream) {
        expect += 2;
        check_value_text("stream", "true");
        CHECK(member("stream_options") >= 0);
    }
    if (g_req.tool_count > 0) {
        v = member_value("tools", &len);
        CHECK(v[0] == '[');
        for (i = 0; i < g_req.tool_count; i++) {
            const wisp_tool *t = &g_req.tools[i];
            const char *raw = t->function_json != NULL ? t->function_json : t->parameters;
            size_t rl = t->function_json != NULL
                            ? (t->function_json_len ? t->function_json_len : strlen(raw))
                            : (raw != NULL ? (t->parameters_len ? t->parameters_len : strlen(raw))
                                           : 0);
            bool seen = raw == NULL;
            for (k = 0; k + rl <= len && !seen; k++)
                seen = memcmp(v + k, raw, rl) == 0;
            CHECK(seen); /* as it is */
        }
    }
    for (i = 0; i < g_req.param_count; i++) {
        const wisp_param *p = &g_req.params[i];
        const uint8_t *j = (const uint8_t *)p->json;
        size_t ja = 0, jb = param_json_len(p);
        while (ja < jb && is_json_ws(j[ja]))
            ja++;
        while (jb > ja && is_json_ws(j[jb - 1]))
            jb--;
        v = member_value(p->name, &len);
        CHECK(bytes_eq(v, len, j + ja, jb - ja)); /* as it is */
        expect++;
    }
    CHECK(g_nmembers == expect);
}

/* ---- the head ---------------------------------------------------------------- */

static uint8_t g_head[HEAD_CAP];

static void check_head(size_t body_total)
{
    static const wisp_header headers[] = {{"X-Route", "east-1"}, {"OpenAI-Organization", "org"}};
    static const char *const keys[] = {NULL, "", "sk-test-123", NULL};
    const char *api_key = keys[g_head_opts & 3];
    size_t nheaders = (g_head_opts >> 2) % 3;
    wisp_out o;
    sink s;
    size_t total, i, line, n_cl = 0, n_idem = 0, n_host = 0, lines = 0;
    char want[32];

    if (!g_has_url)
        CHECK(wisp_url_parse("http://localhost:8080/v1", &g_url) == WISP_OK);
    wisp_out_counter(&o);
    wisp_write_head(&o, &g_url, api_key, headers, nheaders, body_total, &g_req);
    CHECK(wisp_out_finish(&o) == WISP_OK);
    total = o.total;
    if (total > sizeof g_head)
        return;
    sink_init(&s, g_head, sizeof g_head, SIZE_MAX);
    wisp_out_sender(&o, (uint8_t *)s.stage, s.stage_cap, sink_flush, &s);
    wisp_write_head(&o, &g_url, api_key, headers, nheaders, body_total, &g_req);
    CHECK(wisp_out_finish(&o) == WISP_OK);
    CHECK(s.len == total && o.total == total);
    CHECK(total >= 4 && memcmp(g_head + total - 4, "\r\n\r\n", 4) == 0);

    snprintf(want, sizeof want, "%zu", body_total);
    for (line = 0, i = 0; i < total; i++) {
        uint8_t c = g_head[i];
        if (c == '\r') {
            size_t len = i - line;
            const char *l = (const char *)g_head + line;
            CHECK(i + 1 < total && g_head[i + 1] == '\n');
            if (lines == 0) {
                CHECK(len > 14 && memcmp(l, "POST ", 5) == 0 &&
                      memcmp(l + len - 9, " HTTP/1.1", 9) == 0);
            } else if (len == 0) {
                CHECK(i + 2 == total); /* the one blank line ends the head */
            } else {
                const char *colon = memchr(l, ':', len);
                CHECK(colon != NULL && colon > l && colon + 1 < l + len && colon[1] == ' ');
                if (name_is(l, (size_t)(colon - l), "content-length")) {
                    n_cl++;
                    CHECK(len - 16 == strlen(want) && memcmp(colon + 2, want, len - 16) == 0);
                }
                if (name_is(l, (size_t)(colon - l), "idempotency-key")) {
                    n_idem++;
                    CHECK(g_req.idempotency_key != NULL &&
                          len - 17 == strlen(g_req.idempotency_key) &&
                          memcmp(colon + 2, g_req.idempotency_key, len - 17) == 0);
                }
                if (name_is(l, (size_t)(colon - l), "host"))
                    n_host++;
            }
            lines++;
            i++;
            line = i + 1;
            continue;
        }
        CHECK(c >= 0x20 && c < 0x7F); /* printable ASCII, no bare LF */
    }
    CHECK(line == total);
    CHECK(n_cl == 1 && n_host == 1);
    CHECK(n_idem == (g_req.idempotency_key != NULL ? 1u : 0u));
}

/* ---- one input --------------------------------------------------------------- */

static void init_tables(void)
{
    static bool done;
    size_t i;
    char *p;
    if (done)
        return;
    done = true;
    for (i = 0; i < 32; i++) {
        g_deep32[i] = '[';
        g_deep32[32 + i] = ']';
    }
    for (i = 0; i < 33; i++) {
        g_deep33[i] = '[';
        g_deep33[33 + i] = ']';
    }
    /* 34 deep: the most a whole "function" object may nest */
    p = g_fdeep;
    for (i = 0; i < 34; i++)
        p += sprintf(p, "{\"a\":");
    p += sprintf(p, "1");
    for (i = 0; i < 34; i++)
        *p++ = '}';
    *p = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    wisp_status st;
    wisp_out o;
    sink s;
    size_t total, i;
    bool any_fail = false;

    if (size > MAX_INPUT)
        return 0;
    init_tables();
    build(data, size);

    /* 1. the check */
    st = wisp_request_check(&g_req, &why);
    CHECK((unsigned)st < (unsigned)WISP_STATUS_COUNT);
    CHECK(wisp_request_check(&g_req, NULL) == st);
    if (st != WISP_OK) {
        CHECK(st == WISP_ERR_ARG || st == WISP_ERR_HEADER_VALUE ||
              st == WISP_ERR_TOOL_SCHEMA || st == WISP_ERR_REQUEST_JSON);
#if WISP_CHECK_REASONS
        CHECK(why != NULL && why[0] != '\0');
#else
        CHECK(why != NULL && why[0] == '\0'); /* reasons left out: "" */
#endif
        CHECK(wisp_request_body_size(&g_req) == 0);
        return 0;
    }

    /* 2. counted, then sent: the same bytes */
    reset_images();
    wisp_out_counter(&o);
    wisp_write_body(&o, &g_req);
    CHECK(wisp_out_finish(&o) == WISP_OK);
    total = o.total;
    for (i = 0; i < g_npart; i++)
        CHECK(g_imgs[i].reads == 0); /* counting reads no image */
    CHECK(wisp_request_body_size(&g_req) == total);
    if (total > sizeof g_body)
        return 0;

    g_fail_armed = false;
    sink_init(&s, g_body, sizeof g_body, SIZE_MAX);
    CHECK(send_body(&s) == WISP_OK);
    CHECK(s.len == total);
    for (i = 0; i < g_npart; i++)
        CHECK(g_imgs[i].next == g_imgs[i].size || g_parts[i].read == NULL);

    /* 3. the body */
    check_body(total);

    /* 4. the head */
    check_head(total);

    /* 5. an image read that fails: WISP_ERR_IMAGE_READ, a prefix sent */
    for (i = 0; i < g_npart; i++)
        any_fail = any_fail || (g_parts[i].type == WISP_PART_IMAGE &&
                                g_parts[i].read != NULL && g_imgs[i].has_fail);
    if (any_fail) {
        g_fail_armed = true;
        sink_init(&s, g_alt, sizeof g_alt, SIZE_MAX);
        CHECK(send_body(&s) == WISP_ERR_IMAGE_READ);
        CHECK(s.len < total && memcmp(g_alt, g_body, s.len) == 0);
        g_fail_armed = false;
    }

    /* 6. a flush that fails: its status, a prefix, no flush after it */
    if (g_flush_fail_after != SIZE_MAX) {
        sink_init(&s, g_alt, sizeof g_alt, g_flush_fail_after);
        st = send_body(&s);
        if (total <= g_flush_fail_after) {
            CHECK(st == WISP_OK && s.len == total && !s.failed);
        } else {
            CHECK(st == WISP_ERR_IO && s.failed);
            CHECK(s.len <= g_flush_fail_after && memcmp(g_alt, g_body, s.len) == 0);
        }
    }
    return 0;
}

#ifdef WISP_FUZZ_MAIN
#include "replay_main.h"
#endif
