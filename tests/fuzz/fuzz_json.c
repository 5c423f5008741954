/*
 * fuzz_json.c - libFuzzer harness for the JSON reader and unescaper.
 *
 * The whole input is the document (so plain JSON files make a good seed
 * corpus); caps and split points come from a hash of it.  Each input:
 *  - tokenized: token tree invariants (offsets, parents, sizes agree with
 *    wisp_json_skip) and helper calls on every token;
 *  - read by the one reply reader as a whole reply twice, with roomy and
 *    with tiny text buffers: the statuses agree and the tiny texts are
 *    exact prefixes of the roomy ones; and once more as a stream's one
 *    event followed by [DONE]: the same status, response and events;
 *  - read as an error body, and rendered as an HTML page;
 *  - checked by the token-free JSON check (tool schemas) against the
 *    tokenizer, and read as tool definitions (kept inside their storage);
 *  - unescaped as one string, whole and split into pieces (each piece in its
 *    own exactly-sized heap block): same status and same text when no split
 *    falls inside an escape.
 * Every text produced must be NUL-terminated, fit its buffer, and be valid
 * UTF-8; every emitted piece must be whole characters.  abort() on failure.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icore \
 *       tests/fuzz/fuzz_json.c core/wisp_json.c core/wisp_error.c core/wisp_text.c core/wisp_reply.c
 *   clang -DWISP_FUZZ_MAIN -g -fsanitize=address,undefined -Icore \
 *       tests/fuzz/fuzz_json.c core/wisp_json.c core/wisp_error.c core/wisp_text.c \
 *       -o replay_json && ./replay_json FILE...
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wisp_json.h"
#include "wisp_reply.h"

#include "json_oracle.h" /* valid_utf8, oracle_check */

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            abort();                                                          \
        }                                                                     \
    } while (0)

#define BIG 8192

/* A fixed field: NUL inside cap, valid UTF-8. */
static void check_field(const char *f, size_t cap)
{
    const char *nul = memchr(f, '\0', cap);
    CHECK(nul != NULL);
    CHECK(valid_utf8((const uint8_t *)f, (size_t)(nul - f)));
}

static void check_text(const wisp_text *t)
{
    if (t->cap == 0 || t->buf == NULL) {
        CHECK(t->len == 0);
    } else {
        CHECK(t->len < t->cap);
        CHECK(t->buf[t->len] == '\0');
        CHECK(valid_utf8((const uint8_t *)t->buf, t->len));
    }
    CHECK(t->len <= t->full_len);
    CHECK(t->truncated == (t->len < t->full_len));
}

static void check_response(const wisp_response *r)
{
    check_text(&r->content);
    check_text(&r->reasoning);
    check_field(r->id, sizeof r->id);
    check_field(r->model, sizeof r->model);
    check_field(r->role, sizeof r->role);
    check_field(r->finish_reason, sizeof r->finish_reason);
    check_field(r->error_message, sizeof r->error_message);
    check_field(r->error_type, sizeof r->error_type);
    check_field(r->error_code, sizeof r->error_code);
    check_field(r->error_param, sizeof r->error_param);
}

static uint32_t hash_bytes(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    while (n-- > 0)
        h = (h ^ *p++) * 16777619u;
    return h;
}

static uint32_t next_rand(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

/* ---- against an independent JSON grammar (json_oracle.h) ----------------- */

/* Deeper than this the grammar does not say (its recursion is bounded). */
#define ORACLE_DEPTH 500

/* wisp_json_tokenize accepts exactly the valid texts, except a bare
 * top-level primitive with nothing after it (jsmn wants a delimiter).  It
 * does not check UTF-8 inside strings, so neither does the grammar here. */
static void check_against_oracle(const uint8_t *s, size_t n, wisp_status st)
{
    int valid = oracle_check(s, n, ORACLE_DEPTH, false);
    size_t first = 0;
    if (valid < 0 || st == WISP_ERR_TOO_COMPLEX)
        return;
    while (first < n && (s[first] == ' ' || s[first] == '\t' ||
                         s[first] == '\n' || s[first] == '\r'))
        first++;
    if (valid && first < n && s[first] != '{' && s[first] != '[' &&
        s[first] != '"' && !(s[n - 1] == ' ' || s[n - 1] == '\t' ||
                             s[n - 1] == '\n' || s[n - 1] == '\r'))
        valid = 0;
    CHECK((st == WISP_OK) == (valid == 1));
}

/* ---- tokens --------------------------------------------------------------- */

static void check_tokens(const char *js, size_t n, const wisp_token *t,
                         int count)
{
    int i, k, left;
    uint32_t u;
    int64_t s;
    char f[8];
    bool cut = false;

    CHECK(count >= 1);
    CHECK(wisp_json_skip(t, count, 0) == count);
    for (i = 0; i < count; i++) {
        CHECK(t[i].type >= WISP_TOK_OBJECT && t[i].type <= WISP_TOK_PRIMITIVE);
        CHECK(t[i].start >= 0 && t[i].start <= t[i].end);
        CHECK((size_t)t[i].end <= n);
        CHECK(t[i].parent >= -1 && t[i].parent < i);
        CHECK(i == 0 || t[i].parent >= 0);
        CHECK(i == 0 || t[i].start > t[i - 1].start);
        k = wisp_json_skip(t, count, i);
        CHECK(k > i && k <= count);
        if (t[i].type == WISP_TOK_OBJECT || t[i].type == WISP_TOK_ARRAY) {
            /* walking the children by skip lands exactly past the subtree */
            k = i + 1;
            for (left = t[i].size; left > 0; left--) {
                CHECK(k < count && t[k].parent == i);
                if (t[i].type == WISP_TOK_OBJECT)
                    CHECK(t[k].type == WISP_TOK_STRING && t[k].size == 1);
                k = wisp_json_skip(t, count, k);
            }
            CHECK(k == wisp_json_skip(t, count, i));
        } else if (t[i].type == WISP_TOK_STRING) {
            CHECK(t[i].size == 0 || t[i].size == 1);
            if (t[i].size == 1)
                CHECK(t[t[i].parent].type == WISP_TOK_OBJECT);
        } else {
            CHECK(t[i].size == 0);
        }
        (void)wisp_json_u32(js, &t[i], &u);
        (void)wisp_json_i64(js, &t[i], &s);
        (void)wisp_json_is_null(js, &t[i]);
        (void)wisp_json_eq(js, &t[i], "content");
        if (wisp_json_field(js, &t[i], f, sizeof f, &cut) == WISP_OK)
            check_field(f, sizeof f);
        else
            CHECK(f[0] == '\0');
    }
    if (t[0].type == WISP_TOK_OBJECT)
        (void)wisp_json_find(js, t, count, 0, "choices");
}

/* ---- unescape -------------------------------------------------------------- */

typedef struct sink {
    uint8_t buf[BIG * 2];
    size_t len;
} sink;

static int sink_emit(void *ctx, const char *s, size_t n)
{
    sink *k = (sink *)ctx;
    CHECK(n > 0);
    CHECK(valid_utf8((const uint8_t *)s, n)); /* whole characters only */
    CHECK(k->len + n <= sizeof k->buf);
    memcpy(k->buf + k->len, s, n);
    k->len += n;
    return 0;
}

static sink g_whole, g_split;

/* Feeds data in pieces ending at the given cut offsets. */
static wisp_status feed_pieces(const uint8_t *data, size_t size,
                               const size_t *cuts, int ncuts, sink *out)
{
    wisp_unescape u;
    wisp_status st = WISP_OK;
    size_t from = 0, to, n;
    int i;
    char *piece;

    out->len = 0;
    wisp_unescape_init(&u);
    for (i = 0; i <= ncuts && st == WISP_OK; i++) {
        to = i < ncuts ? cuts[i] : size;
        n = to - from;
        piece = malloc(n ? n : 1); /* exact size: ASan sees over-reads */
        CHECK(piece != NULL);
        if (n > 0)
            memcpy(piece, data + from, n);
        st = wisp_unescape_feed(&u, n ? piece : NULL, n, true, sink_emit, out);
        free(piece);
        from = to;
    }
    if (st == WISP_OK)
        st = wisp_unescape_finish(&u, sink_emit, out);
    return st;
}

/* True when offset p lies strictly inside an escape sequence. */
static bool inside_escape(const uint8_t *s, size_t n, size_t p)
{
    size_t i = 0, len;
    while (i < n && i < p) {
        if (s[i] != '\\') {
            i++;
            continue;
        }
        len = (i + 1 < n && s[i + 1] == 'u') ? 6 : 2;
        if (p > i && p < i + len)
            return true;
        i += len;
    }
    return false;
}

static void fuzz_unescape(const uint8_t *data, size_t size, uint32_t seed)
{
    wisp_unescape u;
    wisp_status whole, split;
    size_t cuts[4], p;
    int ncuts = 0, i;

    g_whole.len = 0;
    wisp_unescape_init(&u);
    whole = wisp_unescape_feed(&u, (const char *)data, size, false, sink_emit,
                               &g_whole);
    CHECK(whole == WISP_OK || whole == WISP_ERR_JSON);
    CHECK(u.high == 0 && u.part_len == 0);

    /* up to 4 sorted cut points from the seed */
    for (i = 0; i < 4 && size > 0; i++) {
        p = next_rand(&seed) % (size + 1);
        if (ncuts > 0 && p < cuts[ncuts - 1])
            p = cuts[ncuts - 1];
        cuts[ncuts++] = p;
    }
    split = feed_pieces(data, size, cuts, ncuts, &g_split);
    CHECK(split == WISP_OK || split == WISP_ERR_JSON);
    for (i = 0; i < ncuts; i++)
        if (inside_escape(data, size, cuts[i]))
            return;
    CHECK(split == whole);
    if (whole == WISP_OK) {
        CHECK(g_split.len == g_whole.len);
        CHECK(memcmp(g_split.buf, g_whole.buf, g_whole.len) == 0);
    }
    /* short inputs: every single split point */
    if (size <= 24 && whole == WISP_OK) {
        for (p = 0; p <= size; p++) {
            if (inside_escape(data, size, p))
                continue;
            CHECK(feed_pieces(data, size, &p, 1, &g_split) == WISP_OK);
            CHECK(g_split.len == g_whole.len);
            CHECK(memcmp(g_split.buf, g_whole.buf, g_whole.len) == 0);
        }
    }
}

/* ---- documents ---------------------------------------------------------- */

static wisp_token g_toks[256];
static char g_content[BIG], g_reasoning[BIG];
static char g_small_content[32], g_small_reasoning[32];

static bool is_ws_byte(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Events as one string: "type:text|" each, so two reads compare whole. */
typedef struct event_log {
    char s[BIG];
    size_t len;
    bool overflow;
    int cancel_at; /* cancel at this event (counted from 1), 0 never */
    int n;
    size_t tool_bytes; /* argument bytes of tool-call events */
} event_log;

static int log_event(void *user, const wisp_event *ev)
{
    event_log *l = (event_log *)user;
    size_t need = 3 + ev->len;
    if (l == NULL)
        return 0;
    l->n++;
    if (ev->type == WISP_EVENT_TOOL_CALL)
        l->tool_bytes += ev->len;
    if (l->len + need > sizeof l->s) {
        l->overflow = true;
    } else {
        l->s[l->len++] = (char)('0' + (int)ev->type);
        l->s[l->len++] = ':';
        memcpy(l->s + l->len, ev->text, ev->len);
        l->len += ev->len;
        l->s[l->len++] = '|';
    }
    return l->n == l->cancel_at;
}

/* The same document as a whole reply and as one stream event then [DONE]. */
static size_t g_scratch_cap; /* 0..64, from the input's hash: 0 is no scratch */

static wisp_status read_reply(const char *js, size_t size, size_t ntoks, bool as_event,
                              wisp_response *r, event_log *l)
{
    static char scratch[64];
    static event_log quiet;
    wisp_reply rp;
    wisp_status st;
    if (l == NULL) {
        memset(&quiet, 0, sizeof quiet);
        l = &quiet;
    }
    wisp_reply_init(&rp, r, g_toks, ntoks, log_event, l);
    wisp_reply_scratch(&rp, g_scratch_cap ? scratch : NULL, g_scratch_cap);
    if (as_event) {
        st = wisp_reply_event(&rp, js, size, false);
        if (st == WISP_OK)
            st = wisp_reply_event(&rp, "[DONE]", 6, false);
        if (st == WISP_OK)
            st = wisp_reply_end(&rp, false);
    } else {
        st = wisp_reply_document(&rp, js, size);
        if (st == WISP_OK)
            st = wisp_reply_end(&rp, true);
    }
    CHECK(rp.delivered == (r->content.full_len + r->reasoning.full_len + l->tool_bytes > 0));
    return st;
}

static bool blank_or_done(const char *js, size_t size)
{
    size_t a = 0, b = size;
    while (a < b && (js[a] == ' ' || js[a] == '\t' || js[a] == '\r' || js[a] == '\n'))
        a++;
    while (b > a && (js[b - 1] == ' ' || js[b - 1] == '\t' || js[b - 1] == '\r' ||
                     js[b - 1] == '\n'))
        b--;
    return a == b || (b - a == 6 && memcmp(js + a, "[DONE]", 6) == 0);
}

static event_log g_log_a, g_log_b;

/* Tool-call slots, the same for both reads so that they compare: small, so
 * that cuts and drops happen. */
#define FUZZ_SLOTS 2
static wisp_tool_call g_slots[2][FUZZ_SLOTS];
static char g_slot_args[2][FUZZ_SLOTS][24], g_slot_sigs[2][FUZZ_SLOTS][16];

static void attach_slots(wisp_response *r, int which)
{
    int i;
    memset(g_slots[which], 0, sizeof g_slots[which]);
    for (i = 0; i < FUZZ_SLOTS; i++) {
        g_slots[which][i].arguments.buf = g_slot_args[which][i];
        g_slots[which][i].arguments.cap = sizeof g_slot_args[which][i];
        g_slots[which][i].signature.buf = g_slot_sigs[which][i];
        g_slots[which][i].signature.cap = sizeof g_slot_sigs[which][i];
    }
    r->tool_calls = g_slots[which];
    r->tool_call_cap = FUZZ_SLOTS;
}

/* The calls of two readings alike; in index order when the reply was read
 * to its end (the slots are sorted there: wisp.h). */
static void same_calls(const wisp_response *a, const wisp_response *b, bool complete)
{
    size_t i;
    CHECK(a->tool_call_count == b->tool_call_count && a->tool_calls_dropped == b->tool_calls_dropped);
    for (i = 0; i < a->tool_call_count; i++) {
        const wisp_tool_call *x = &a->tool_calls[i], *y = &b->tool_calls[i];
        CHECK(x->index == y->index && strcmp(x->id, y->id) == 0 && strcmp(x->name, y->name) == 0);
        CHECK(strcmp(x->arguments.buf, y->arguments.buf) == 0 &&
              x->arguments.full_len == y->arguments.full_len);
        CHECK(strcmp(x->signature.buf, y->signature.buf) == 0 && x->cut == y->cut);
        CHECK(valid_utf8((const uint8_t *)x->arguments.buf, x->arguments.len));
        CHECK(x->arguments.len < x->arguments.cap && strlen(x->id) < sizeof x->id);
        CHECK(i == 0 || !complete || a->tool_calls[i - 1].index < x->index);
    }
}

/* The token-free check (tool schemas) against the tokenizer: what it
 * accepts as an object or array, the tokenizer must accept too; and tool
 * definitions read from the same text stay inside their storage. */
static void fuzz_schema_and_tools(const char *js, size_t size, uint32_t seed)
{
    static wisp_tool tools[8];
    static char store[256];
    size_t a = 0, count = 0, cap = next_rand(&seed) % 9, store_cap = next_rand(&seed) % 257, i;
    const char *why = NULL;
    int n;
    wisp_status st;
    bool valid = wisp_json_valid(js, size, 64);
    while (a < size && is_ws_byte(js[a]))
        a++;
    if (valid && a < size && (js[a] == '{' || js[a] == '[')) {
        st = wisp_json_tokenize(js, size, g_toks, 256, &n);
        CHECK(st == WISP_OK || st == WISP_ERR_TOO_COMPLEX);
    }
    CHECK(!wisp_json_valid(js, size, 0) || a == size || (js[a] != '{' && js[a] != '['));
    st = wisp_tools_from_json(js, size, g_toks, 256, tools, cap, &count, store, store_cap, &why);
    CHECK(why != NULL);
    if (st != WISP_OK) {
        CHECK(count == 0 && why[0] != '\0');
        return;
    }
    CHECK(count <= cap);
    for (i = 0; i < count; i++) {
        CHECK(tools[i].name >= store && tools[i].name < store + store_cap);
        CHECK(strlen(tools[i].name) > 0 && tools[i].name + strlen(tools[i].name) < store + store_cap);
        CHECK(valid_utf8((const uint8_t *)tools[i].name, strlen(tools[i].name)));
        if (tools[i].parameters != NULL) {
            CHECK(tools[i].parameters >= js && tools[i].parameters + tools[i].parameters_len <= js + size);
            CHECK(wisp_json_valid(tools[i].parameters, tools[i].parameters_len, 64) ||
                  !wisp_json_valid(js, size, 64)); /* part of a valid whole is valid */
        }
    }
}

static void fuzz_documents(const char *js, size_t size, uint32_t seed)
{
    static wisp_response big, small;
    size_t ntoks = 1 + next_rand(&seed) % 256;
    size_t ccap = next_rand(&seed) % sizeof g_small_content;
    size_t rcap = next_rand(&seed) % sizeof g_small_reasoning;
    wisp_status a, b;
    int count;

    a = wisp_json_tokenize(js, size, g_toks, ntoks, &count);
    CHECK(a == WISP_OK || a == WISP_ERR_JSON || a == WISP_ERR_TOO_COMPLEX);
    if (a == WISP_OK)
        check_tokens(js, size, g_toks, count);
    else
        CHECK(count == 0);
    if (a == WISP_ERR_TOO_COMPLEX)
        a = wisp_json_tokenize(js, size, g_toks, 256, &count);
    check_against_oracle((const uint8_t *)js, size, a);

    g_scratch_cap = next_rand(&seed) % 65;
    memset(&g_log_a, 0, sizeof g_log_a);
    wisp_response_init(&big, g_content, sizeof g_content, g_reasoning,
                       sizeof g_reasoning);
    attach_slots(&big, 0);
    a = read_reply(js, size, ntoks, false, &big, &g_log_a);
    check_response(&big);

    /* As a stream: the same, events and all, cancelled at the same event. */
    if (!blank_or_done(js, size)) {
        static wisp_response ev_resp;
        static char ev_content[BIG], ev_reasoning[BIG];
        memset(&g_log_b, 0, sizeof g_log_b);
        wisp_response_init(&ev_resp, ev_content, sizeof ev_content, ev_reasoning,
                           sizeof ev_reasoning);
        attach_slots(&ev_resp, 1);
        b = read_reply(js, size, ntoks, true, &ev_resp, &g_log_b);
        if (a == b)
            same_calls(&big, &ev_resp, a == WISP_OK);
        CHECK(a == b);
        CHECK(g_log_a.len == g_log_b.len && memcmp(g_log_a.s, g_log_b.s, g_log_a.len) == 0);
        CHECK(strcmp(big.content.buf, ev_resp.content.buf) == 0);
        CHECK(strcmp(big.reasoning.buf, ev_resp.reasoning.buf) == 0);
        CHECK(strcmp(big.finish_reason, ev_resp.finish_reason) == 0);
        CHECK(big.content_null == ev_resp.content_null && big.refused == ev_resp.refused);
        CHECK(strcmp(big.id, ev_resp.id) == 0 && strcmp(big.model, ev_resp.model) == 0);
        CHECK(strcmp(big.role, ev_resp.role) == 0 && big.created == ev_resp.created);
        CHECK(memcmp(&big.usage, &ev_resp.usage, sizeof big.usage) == 0);
        CHECK(strcmp(big.error_message, ev_resp.error_message) == 0);
        CHECK(strcmp(big.error_type, ev_resp.error_type) == 0);
        CHECK(strcmp(big.error_code, ev_resp.error_code) == 0);
        if (g_log_a.n > 0) {
            /* cancelled at some event: both stop there, with the same text */
            int at = 1 + (int)(next_rand(&seed) % (uint32_t)g_log_a.n);
            memset(&g_log_a, 0, sizeof g_log_a);
            memset(&g_log_b, 0, sizeof g_log_b);
            g_log_a.cancel_at = g_log_b.cancel_at = at;
            wisp_response_init(&big, g_content, sizeof g_content, g_reasoning,
                               sizeof g_reasoning);
            wisp_response_init(&ev_resp, ev_content, sizeof ev_content, ev_reasoning,
                               sizeof ev_reasoning);
            attach_slots(&big, 0);
            attach_slots(&ev_resp, 1);
            a = read_reply(js, size, ntoks, false, &big, &g_log_a);
            b = read_reply(js, size, ntoks, true, &ev_resp, &g_log_b);
            CHECK(a == WISP_ERR_CANCELLED && b == WISP_ERR_CANCELLED);
            CHECK(strcmp(big.content.buf, ev_resp.content.buf) == 0);
            CHECK(g_log_a.len == g_log_b.len && memcmp(g_log_a.s, g_log_b.s, g_log_a.len) == 0);
            memset(&g_log_a, 0, sizeof g_log_a);
            wisp_response_init(&big, g_content, sizeof g_content, g_reasoning,
                               sizeof g_reasoning);
            attach_slots(&big, 0);
            a = read_reply(js, size, ntoks, false, &big, &g_log_a);
        }
    }

    wisp_response_init(&small, ccap ? g_small_content : NULL, ccap,
                       g_small_reasoning, rcap);
    attach_slots(&small, 1); /* the same slots as big: the same status */
    b = read_reply(js, size, ntoks, false, &small, NULL);
    check_response(&small);
    CHECK(a == b);
    if (!big.content.truncated) {
        CHECK(small.content.full_len == big.content.len);
        CHECK(memcmp(small.content.buf ? small.content.buf : "",
                     big.content.buf, small.content.len) == 0);
    }
    if (!big.reasoning.truncated) {
        CHECK(small.reasoning.full_len == big.reasoning.len);
        CHECK(memcmp(small.reasoning.buf, big.reasoning.buf,
                     small.reasoning.len) == 0);
    }
    CHECK(strcmp(small.id, big.id) == 0);
    CHECK(small.usage.total_tokens == big.usage.total_tokens);

    a = wisp_error_read(js, size, (seed & 1) != 0, g_toks, ntoks, &small);
    CHECK(a == WISP_OK || a == WISP_ERR_JSON);
    check_response(&small);

    small.fields_truncated |= wisp_html_to_text(js, size, small.error_message,
                                                sizeof small.error_message);
    check_response(&small);
    if (small.error_message[0] != '\0') {
        size_t n = strlen(small.error_message), i;
        CHECK(small.error_message[0] != ' ');
        CHECK(small.error_message[n - 1] != ' ');
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)small.error_message[i];
            CHECK(c >= 0x20 && c != 0x7F);
            CHECK(!(c == ' ' && small.error_message[i + 1] == ' '));
        }
    }
}

/* wisp_response_init lives in the client; a stand-in keeps this harness
 * linkable with only the JSON sources.  Weak so the real one wins when the
 * whole core is linked in (as the Makefile does). */
#if defined(__GNUC__)
__attribute__((weak))
#endif
void wisp_response_init(wisp_response *resp, char *content, size_t content_cap,
                        char *reasoning, size_t reasoning_cap)
{
    memset(resp, 0, sizeof *resp);
    resp->content.buf = content;
    resp->content.cap = content_cap;
    resp->reasoning.buf = reasoning;
    resp->reasoning.cap = reasoning_cap;
    wisp_text_reset(&resp->content);
    wisp_text_reset(&resp->reasoning);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t seed = hash_bytes(data, size);

    if (size > BIG)
        return 0;
    fuzz_documents((const char *)data, size, seed);
    fuzz_schema_and_tools((const char *)data, size, seed ^ 0x27d4eb2fu);
    fuzz_unescape(data, size, seed ^ 0x5bd1e995u);
    return 0;
}

#ifdef WISP_FUZZ_MAIN
#include "replay_main.h"
#endif
