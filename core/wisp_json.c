/*
 * wisp_json.c - JSON reading: jsmn tokenizing plus the grammar checks jsmn
 * leaves out, and the token helpers.  The only file that includes jsmn.h;
 * error bodies are read in wisp_error.c.
 *
 * No recursion anywhere: subtrees are skipped by end offset (tokens are in
 * document order), and the grammar check walks containers by parent link.
 */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include <limits.h>
#include <string.h>

#include "wisp_json.h"

/* wisp_token is declared in wisp.h so callers can size token arrays without
 * jsmn.h.  It has jsmntok_t's size and field offsets, but not always its
 * type field: arm-none-eabi GCC makes enums one byte, so jsmn's type is a
 * char followed by padding there, and wisp_json_tokenize rewrites each
 * token in place as a wisp_token after jsmn has run (see to_wisp_tokens). */
#define WISP_SAME_OFFSET(field)                                              \
    (offsetof(wisp_token, field) == offsetof(jsmntok_t, field))
typedef char wisp_token_matches_jsmntok[
    (sizeof(wisp_token) == sizeof(jsmntok_t) && WISP_SAME_OFFSET(type) &&
     WISP_SAME_OFFSET(start) && WISP_SAME_OFFSET(end) &&
     WISP_SAME_OFFSET(size) && WISP_SAME_OFFSET(parent)) ? 1 : -1];
typedef char wisp_token_types_match_jsmn[
    ((int)WISP_TOK_OBJECT == (int)JSMN_OBJECT &&
     (int)WISP_TOK_ARRAY == (int)JSMN_ARRAY &&
     (int)WISP_TOK_STRING == (int)JSMN_STRING &&
     (int)WISP_TOK_PRIMITIVE == (int)JSMN_PRIMITIVE) ? 1 : -1];

/* ---- grammar checks ------------------------------------------------------ */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool number_ok(const char *p, size_t n)
{
    size_t i = 0, d;

    if (i < n && p[i] == '-')
        i++;
    if (i < n && p[i] == '0') {
        i++;
    } else {
        for (d = i; i < n && is_digit(p[i]); i++)
            ;
        if (i == d)
            return false;
    }
    if (i < n && p[i] == '.') {
        for (d = ++i; i < n && is_digit(p[i]); i++)
            ;
        if (i == d)
            return false;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        for (d = i; i < n && is_digit(p[i]); i++)
            ;
        if (i == d)
            return false;
    }
    return i == n;
}

static bool literal_is(const char *p, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

/* A literal is told by its first byte: one compare, not three. */
static bool primitive_ok(const char *p, size_t n)
{
    if (n == 0)
        return false;
    switch (p[0]) {
    case 't':
        return literal_is(p, n, "true");
    case 'f':
        return literal_is(p, n, "false");
    case 'n':
        return literal_is(p, n, "null");
    default:
        return number_ok(p, n);
    }
}

/* True when some byte of s[0..n) is a control byte (below 0x20).  A word
 * at a time: (v - 0x20..) & ~v has the top bit of some byte set exactly
 * when some byte of v is below 0x20, so the words' results can be OR-ed
 * and looked at once.  The last word overlaps the one before it.  Four
 * words a round where speed was asked for, one where size was. */
typedef size_t json_word;
#define JSON_ONES ((json_word)-1 / 0xFFu)
#define LESS_20_BITS(v) (((v) - JSON_ONES * 0x20u) & ~(v))

static bool has_control_byte(const char *s, size_t n)
{
    json_word acc = 0, v;
    size_t i = 0;

    if (n < sizeof v) {
        for (; i < n; i++)
            if ((unsigned char)s[i] < 0x20)
                return true;
        return false;
    }
#ifndef __OPTIMIZE_SIZE__
    for (; n - i >= 4 * sizeof v; i += 4 * sizeof v) {
        json_word w, x, y;
        memcpy(&v, s + i, sizeof v);
        memcpy(&w, s + i + sizeof v, sizeof w);
        memcpy(&x, s + i + 2 * sizeof v, sizeof x);
        memcpy(&y, s + i + 3 * sizeof v, sizeof y);
        acc |= LESS_20_BITS(v) | LESS_20_BITS(w) | LESS_20_BITS(x) | LESS_20_BITS(y);
    }
#endif
    for (; n - i > sizeof v; i += sizeof v) {
        memcpy(&v, s + i, sizeof v);
        acc |= LESS_20_BITS(v);
    }
    memcpy(&v, s + n - sizeof v, sizeof v);
    acc |= LESS_20_BITS(v);
    return (acc & JSON_ONES * 0x80u) != 0;
}

/* Outside its tokens jsmn (strict) lets only white space, ',', ':', '}'
 * and ']' through, and it has matched every bracket: a gap between two
 * tokens is right when it holds the one separator due there (want: ',',
 * ':' or none) and closing brackets only where they may stand (closers:
 * before the ',' of a later member, or after the last token). */
static bool gap_ok(const char *g, size_t n, char want, bool closers)
{
    const char *end = g + n;

    for (; g < end && *g != ',' && *g != ':'; g++)
        if (!closers && (*g == '}' || *g == ']'))
            return false;
    if (want != 0) {
        if (g == end || *g != want)
            return false;
        g++;
    }
    for (; g < end; g++)
        if (!is_ws(*g))
            return false;
    return true;
}

/*
 * jsmn's strict mode still lets through missing or doubled commas and
 * colons, several top-level values, keys without values, bad literals and
 * numbers, and raw control bytes in strings.  Its tokens and parent links
 * say what each gap between two tokens must hold, so the bytes between
 * tokens are all this reads again, besides primitives; strings are looked
 * at only when the text holds a control byte at all (white space, or one
 * in a string), found by one word-at-a-time pass.
 *
 * Sizes first: a key (a string in an object) has exactly one value, any
 * other string and every primitive none.  Then a token's parent p tells
 * the gap before it: p just before it is its container (nothing due), or
 * its key (':' due); a p further back is the container it follows a
 * sibling in (closing brackets, then ',' due); a second top-level value
 * has none.
 */
static bool grammar_ok(const char *js, size_t len, const jsmntok_t *t, int count)
{
    jsmntype_t prev = JSMN_UNDEFINED; /* the type of t[i - 1] */
    size_t pos = 0, open, next, n;
    int i;

    if (has_control_byte(js, len)) {
        for (i = 0; i < count; i++)
            if (t[i].type == JSMN_STRING &&
                has_control_byte(js + t[i].start, (size_t)(t[i].end - t[i].start)))
                return false;
    }
    for (i = 0; i < count; i++) {
        const jsmntok_t *k = &t[i];
        const jsmntype_t type = k->type;
        const int p = k->parent;
        jsmntype_t pt = prev;
        char want = 0;

        if (p != i - 1) {
            if (p < 0)
                return false;
            pt = t[p].type;
            want = ',';
        } else if (pt == JSMN_STRING) {
            want = ':';
        }
        prev = type;
        open = (size_t)k->start;
        if (type == JSMN_STRING) {
            if (k->size != (pt == JSMN_OBJECT))
                return false;
            next = (size_t)k->end + 1;
            open--;
        } else if (type == JSMN_PRIMITIVE) {
            next = (size_t)k->end;
            if (k->size != 0 || !primitive_ok(js + open, next - open))
                return false;
        } else {
            next = open + 1;
        }
        if (open < pos)
            return false;
        n = open - pos;
        /* Most gaps are empty or the separator alone. */
        if ((want == 0 ? n != 0 : (n != 1 || js[pos] != want)) &&
            !gap_ok(js + pos, n, want, want == ','))
            return false;
        pos = next;
    }
    return gap_ok(js + pos, len - pos, 0, true);
}

/* jsmn writes its tokens as jsmntok_t into the caller's wisp_token array.
 * Where the two have the same layout (jsmntype_t as wide as int: every
 * hosted ABI) and the compiler can be told that memory changed under it,
 * they are used as they are: the barrier keeps any compiler from moving
 * the caller's wisp_token accesses across jsmn's jsmntok_t ones.
 * Otherwise (arm-none-eabi GCC makes enums one byte, so jsmn's type is a
 * char followed by padding) each token is rewritten in place; copies go
 * through memcpy so no compiler may reorder them across the two types. */
#if defined(__GNUC__) || defined(__clang__)
#define TOKENS_AS_IS (sizeof(jsmntype_t) == sizeof(int))
#define TOKEN_BARRIER(p) __asm__ __volatile__("" : : "r"(p) : "memory")
#else
#define TOKENS_AS_IS 0
#define TOKEN_BARRIER(p) ((void)(p))
#endif

static void to_wisp_tokens(wisp_token *toks, int count)
{
    jsmntok_t *raw = (jsmntok_t *)(void *)toks;
    jsmntok_t j;
    wisp_token w;
    int i;

    for (i = 0; i < count; i++) {
        memcpy(&j, &raw[i], sizeof j);
        w.type = (int)j.type;
        w.start = j.start;
        w.end = j.end;
        w.size = j.size;
        w.parent = j.parent;
        memcpy(&toks[i], &w, sizeof w);
    }
}

wisp_status wisp_json_tokenize(const char *js, size_t len, wisp_token *toks,
                               size_t cap, int *count)
{
    jsmn_parser parser;
    jsmntok_t *raw = (jsmntok_t *)(void *)toks;
    int r;

    TOKEN_BARRIER(toks);
    if (count != NULL)
        *count = 0;
    if (js == NULL || toks == NULL || count == NULL)
        return WISP_ERR_ARG;
    if (len > INT_MAX)
        return WISP_ERR_TOO_LARGE;
    if (cap > INT_MAX)
        cap = INT_MAX;
    jsmn_init(&parser);
    r = jsmn_parse(&parser, js, len, raw, (unsigned int)cap);
    if (r == JSMN_ERROR_NOMEM)
        return WISP_ERR_TOO_COMPLEX;
    if (r < 0)
        return WISP_ERR_JSON;
    r = (int)parser.toknext;
    /* jsmn stops at a NUL outside a string: the rest is unread */
    if (r == 0 || parser.pos != len || !grammar_ok(js, len, raw, r))
        return WISP_ERR_JSON;
    if (!TOKENS_AS_IS)
        to_wisp_tokens(toks, r);
    TOKEN_BARRIER(toks);
    *count = r;
    return WISP_OK;
}

/* ---- a check that needs no tokens ----------------------------------------- */

/* A string from s[*i] == '"': escapes and UTF-8 checked, no control bytes. */
static bool string_ok(const char *s, size_t n, size_t *i)
{
    size_t k = *i + 1, len, d;
    while (k < n) {
        unsigned char c = (unsigned char)s[k];
        if (c == '"') {
            *i = k + 1;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (++k >= n)
                return false;
            c = (unsigned char)s[k];
            if (c == 'u') {
                for (d = 1; d <= 4; d++) {
                    unsigned char h = k + d < n ? (unsigned char)s[k + d] : 0;
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
                          (h >= 'A' && h <= 'F')))
                        return false;
                }
                k += 5;
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                       c == 'r' || c == 't') {
                k++;
            } else {
                return false;
            }
            continue;
        }
        if (c >= 0x80) {
            len = wisp_utf8_len((const uint8_t *)s + k, n - k);
            if (len == 0)
                return false;
            k += len;
            continue;
        }
        k++;
    }
    return false;
}

bool wisp_json_valid(const char *s, size_t n, unsigned max_depth)
{
    enum { VALUE, VALUE_OR_END, KEY, KEY_OR_END, AFTER } state = VALUE;
    uint64_t objects = 0; /* bit d: level d+1 is an object */
    unsigned depth = 0;
    size_t i = 0, start;

    if (s == NULL || max_depth > 64)
        return false;
    for (;;) {
        while (i < n && is_ws(s[i]))
            i++;
        if (i == n)
            return state == AFTER && depth == 0;
        if (state == AFTER) {
            bool in_object = depth > 0 && ((objects >> (depth - 1)) & 1u) != 0;
            if (depth == 0)
                return false; /* something after the value */
            if (s[i] == ',') {
                state = in_object ? KEY : VALUE;
            } else if (s[i] == (in_object ? '}' : ']')) {
                depth--;
            } else {
                return false;
            }
            i++;
            continue;
        }
        if ((state == VALUE_OR_END && s[i] == ']') || (state == KEY_OR_END && s[i] == '}')) {
            depth--;
            i++;
            state = AFTER;
            continue;
        }
        if (state == KEY || state == KEY_OR_END) {
            if (s[i] != '"' || !string_ok(s, n, &i))
                return false;
            while (i < n && is_ws(s[i]))
                i++;
            if (i == n || s[i] != ':')
                return false;
            i++;
            state = VALUE;
            continue;
        }
        /* A value. */
        if (s[i] == '{' || s[i] == '[') {
            if (depth == max_depth)
                return false;
            if (s[i] == '{')
                objects |= (uint64_t)1 << depth;
            else
                objects &= ~((uint64_t)1 << depth);
            depth++;
            state = s[i] == '{' ? KEY_OR_END : VALUE_OR_END;
            i++;
            continue;
        }
        if (s[i] == '"') {
            if (!string_ok(s, n, &i))
                return false;
        } else {
            start = i;
            while (i < n && !is_ws(s[i]) && s[i] != ',' && s[i] != ']' && s[i] != '}' &&
                   s[i] != ':')
                i++;
            if (!primitive_ok(s + start, i - start))
                return false;
        }
        state = AFTER;
    }
}

/* ---- token helpers ------------------------------------------------------- */

int wisp_json_skip(const wisp_token *toks, int count, int i)
{
    const wisp_token *t = toks;
    int end;

    if (t == NULL || i < 0 || i >= count)
        return count;
    if (t[i].type == WISP_TOK_STRING && t[i].size > 0 && ++i >= count)
        return count; /* a key: skip its value */
    if (t[i].type != WISP_TOK_OBJECT && t[i].type != WISP_TOK_ARRAY)
        return i + 1;
    /* Every token that starts before the container ends lies inside it. */
    end = t[i].end;
    for (i++; i < count && t[i].start < end; i++)
        ;
    return i;
}

typedef struct match {
    const char *s;
    bool ok;
} match;

static int match_emit(void *ctx, const char *s, size_t n)
{
    match *m = (match *)ctx;
    /* strncmp stops at the NUL of m->s: emitted text never holds one */
    if (strncmp(m->s, s, n) != 0) {
        m->ok = false;
        return 1;
    }
    m->s += n;
    return 0;
}

bool wisp_json_text_eq(const char *p, size_t n, const char *s)
{
    wisp_unescape u;
    match m;

    if (p == NULL || s == NULL)
        return false;
    if (memchr(p, '\\', n) == NULL)
        return strlen(s) == n && memcmp(p, s, n) == 0;
    m.s = s;
    m.ok = true;
    wisp_unescape_init(&u);
    return wisp_unescape_feed(&u, p, n, false, match_emit, &m) == WISP_OK &&
           m.ok && *m.s == '\0';
}

bool wisp_json_eq(const char *js, const wisp_token *tk, const char *s)
{
    const wisp_token *t = tk;

    if (js == NULL || t == NULL || t->type != WISP_TOK_STRING)
        return false;
    return wisp_json_text_eq(js + t->start, (size_t)(t->end - t->start), s);
}

int wisp_json_find(const char *js, const wisp_token *toks, int count, int obj,
                   const char *key)
{
    const wisp_token *t = toks;
    int k, left;

    if (t == NULL || obj < 0 || obj >= count || t[obj].type != WISP_TOK_OBJECT)
        return -1;
    k = obj + 1;
    for (left = t[obj].size; left > 0 && k + 1 < count; left--) {
        if (wisp_json_eq(js, toks + k, key))
            return k + 1;
        k = wisp_json_skip(toks, count, k);
    }
    return -1;
}

static size_t tok_len(const wisp_token *t)
{
    return (size_t)(t->end - t->start);
}

bool wisp_json_is_null(const char *js, const wisp_token *tk)
{
    const wisp_token *t = tk;
    return js != NULL && t != NULL && t->type == WISP_TOK_PRIMITIVE &&
           literal_is(js + t->start, tok_len(t), "null");
}

/* An integer primitive as sign and magnitude. */
static bool integer(const char *js, const wisp_token *t, bool *neg, uint64_t *mag)
{
    const char *p;
    size_t n, i;
    uint64_t v = 0;
    unsigned d;

    if (js == NULL || t == NULL || t->type != WISP_TOK_PRIMITIVE)
        return false;
    p = js + t->start;
    n = tok_len(t);
    if (!number_ok(p, n))
        return false;
    *neg = p[0] == '-';
    for (i = *neg ? 1 : 0; i < n; i++) {
        if (!is_digit(p[i]))
            return false; /* a fraction or an exponent */
        d = (unsigned)(p[i] - '0');
        /* Constant bounds: a 64-bit division here would link libgcc's
         * __aeabi_uldivmod into every Cortex-M build. */
        if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
            return false;
        v = v * 10 + d;
    }
    *mag = v;
    return true;
}

bool wisp_json_u32(const char *js, const wisp_token *t, uint32_t *out)
{
    bool neg;
    uint64_t v;

    if (out == NULL || !integer(js, (t), &neg, &v) || neg ||
        v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool wisp_json_i64(const char *js, const wisp_token *t, int64_t *out)
{
    bool neg;
    uint64_t v;

    if (out == NULL || !integer(js, (t), &neg, &v))
        return false;
    if (!neg && v > (uint64_t)INT64_MAX)
        return false;
    if (neg && v > (uint64_t)INT64_MAX + 1)
        return false;
    /* Negate in unsigned arithmetic: -2^63 has no positive twin. */
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

wisp_status wisp_json_field(const char *js, const wisp_token *tk, char *dst,
                            size_t cap, bool *cut)
{
    const wisp_token *t = tk;
    wisp_text text;
    wisp_unescape u;
    wisp_status st = WISP_OK;

    text.buf = dst;
    text.cap = dst != NULL ? cap : 0;
    wisp_text_reset(&text);
    if (js == NULL || t == NULL)
        return WISP_ERR_ARG;
    if (t->type == WISP_TOK_STRING) {
        wisp_unescape_init(&u);
        st = wisp_unescape_feed(&u, js + t->start, tok_len(t), false,
                                wisp_text_emit, &text);
    } else if (t->type == WISP_TOK_PRIMITIVE && number_ok(js + t->start, tok_len(t))) {
        wisp_text_append(&text, js + t->start, tok_len(t));
    } else if (!wisp_json_is_null(js, tk)) {
        st = WISP_ERR_JSON;
    }
    if (st != WISP_OK) {
        wisp_text_reset(&text);
        return st;
    }
    if (text.truncated && cut != NULL)
        *cut = true;
    return WISP_OK;
}

/* Where each usage count sits (directly in usage, or in a details
 * object) and where its value and its flag go. */
static const struct {
    const char *outer; /* NULL: in usage itself */
    const char *key;
    unsigned char offset;
    unsigned char has;
} k_usage_fields[] = {
    {NULL, "prompt_tokens", offsetof(wisp_usage, prompt_tokens),
     offsetof(wisp_usage, has_prompt_tokens)},
    {NULL, "completion_tokens", offsetof(wisp_usage, completion_tokens),
     offsetof(wisp_usage, has_completion_tokens)},
    {NULL, "total_tokens", offsetof(wisp_usage, total_tokens),
     offsetof(wisp_usage, has_total_tokens)},
    {"prompt_tokens_details", "cached_tokens",
     offsetof(wisp_usage, cached_tokens), offsetof(wisp_usage, has_cached_tokens)},
    {"completion_tokens_details", "reasoning_tokens",
     offsetof(wisp_usage, reasoning_tokens),
     offsetof(wisp_usage, has_reasoning_tokens)},
};

wisp_status wisp_json_usage(const char *js, const wisp_token *toks, int count,
                            int i, wisp_usage *u)
{
    wisp_usage got;
    uint32_t *dst;
    size_t f;
    int obj, v;

    if (js == NULL || toks == NULL || u == NULL || i < 0 || i >= count)
        return WISP_ERR_ARG;
    if (wisp_json_is_null(js, toks + i))
        return WISP_OK;
    if (toks[i].type != WISP_TOK_OBJECT)
        return WISP_ERR_JSON;
    memset(&got, 0, sizeof got);
    got.present = true;
    for (f = 0; f < sizeof k_usage_fields / sizeof k_usage_fields[0]; f++) {
        obj = i;
        if (k_usage_fields[f].outer != NULL) {
            obj = wisp_json_find(js, toks, count, i, k_usage_fields[f].outer);
            if (obj < 0 || toks[obj].type != WISP_TOK_OBJECT)
                continue; /* details are optional: null or odd, absent */
        }
        v = wisp_json_find(js, toks, count, obj, k_usage_fields[f].key);
        if (v < 0)
            continue;
        /* Only a whole number that fits counts; anything else (a string,
         * null, -1, 1.5, 1e3, 2^32) leaves the field absent and 0. */
        dst = (uint32_t *)(void *)((char *)&got + k_usage_fields[f].offset);
        if (wisp_json_u32(js, toks + v, dst))
            *((bool *)(void *)((char *)&got + k_usage_fields[f].has)) = true;
    }
    *u = got;
    return WISP_OK;
}
