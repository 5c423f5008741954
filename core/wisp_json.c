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
 * char followed by padding there.  wisp_json_tokenize therefore rewrites
 * each token in place as a wisp_token after jsmn has run. */
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

static bool primitive_ok(const char *p, size_t n)
{
    return literal_is(p, n, "true") || literal_is(p, n, "false") ||
           literal_is(p, n, "null") || number_ok(p, n);
}

/* True when some byte of s[0..n) is a control byte (below 0x20), which a
 * JSON string may not hold raw.  String contents are most of a reply's
 * bytes, so this looks at a word at a time: HAS_LESS_20(v) is non-zero
 * exactly when some byte of v is below 0x20. */
typedef size_t json_word;
#define JSON_ONES ((json_word)-1 / 0xFFu)
#define HAS_LESS_20(v) (((v) - JSON_ONES * 0x20u) & ~(v) & (JSON_ONES * 0x80u))

static bool has_control_byte(const char *s, size_t n)
{
    size_t i = 0;
    while (n - i >= sizeof(json_word)) {
        json_word v;
        memcpy(&v, s + i, sizeof v);
        if (HAS_LESS_20(v))
            return true;
        i += sizeof v;
    }
    for (; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return true;
    return false;
}

/*
 * jsmn's strict mode still lets through missing or doubled commas and
 * colons, several top-level values, bad literals and numbers, and raw
 * control bytes in strings.  This walks the text once more, matching each
 * value to its token in order; the open container is a token index and its
 * enclosing one comes from the parent link, so no stack is needed.
 */
static bool grammar_ok(const char *js, size_t len, const wisp_token *t,
                       int count)
{
    size_t pos = 0;
    int next = 0, open = -1, type;
    bool done = false;  /* a value (or key) was just read */
    bool key = false;   /* a key is due, or was just read */
    bool empty = false; /* right after '{' or '[' */
    const wisp_token *tok;
    char c;

    for (;;) {
        while (pos < len && is_ws(js[pos]))
            pos++;
        if (pos == len)
            return done && open < 0 && next == count;
        c = js[pos];
        if (done) {
            if (open < 0)
                return false; /* something after the top-level value */
            done = false;
            if (key) {
                key = false;
                if (c != ':')
                    return false;
                pos++;
                continue;
            }
            if (c == ',') {
                key = t[open].type == WISP_TOK_OBJECT;
                pos++;
                continue;
            }
            if (c != '}' && c != ']')
                return false;
        } else if (!empty || (c != '}' && c != ']')) {
            /* A value or key starts here: it must be token `next`. */
            empty = false;
            type = c == '{' ? WISP_TOK_OBJECT : c == '[' ? WISP_TOK_ARRAY
                 : c == '"' ? WISP_TOK_STRING : WISP_TOK_PRIMITIVE;
            if (next >= count || (key && c != '"'))
                return false;
            tok = &t[next++];
            if (tok->type != type || tok->start != (int)pos + (c == '"'))
                return false;
            if (type == WISP_TOK_OBJECT || type == WISP_TOK_ARRAY) {
                open = next - 1;
                key = c == '{';
                empty = true;
                pos++;
                continue;
            }
            if (type == WISP_TOK_STRING) {
                if (has_control_byte(js + pos + 1, (size_t)tok->end - pos - 1))
                    return false;
            } else if (!primitive_ok(js + pos, (size_t)(tok->end - tok->start))) {
                return false;
            }
            pos = (size_t)tok->end + (c == '"');
            done = true;
            continue;
        }
        /* c closes the open container. */
        if (c != (t[open].type == WISP_TOK_OBJECT ? '}' : ']') ||
            t[open].end != (int)pos + 1)
            return false;
        pos++;
        open = t[open].parent; /* the enclosing array, or our key */
        if (open >= 0 && t[open].type == WISP_TOK_STRING)
            open = t[open].parent;
        done = true;
        key = false;
        empty = false;
    }
}

/* Rewrites jsmn's tokens in place as wisp_tokens.  Copies go through
 * memcpy so no compiler may reorder them across the two struct types. */
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
    int r;

    if (count != NULL)
        *count = 0;
    if (js == NULL || toks == NULL || count == NULL)
        return WISP_ERR_ARG;
    if (len > INT_MAX)
        return WISP_ERR_TOO_LARGE;
    if (cap > INT_MAX)
        cap = INT_MAX;
    jsmn_init(&parser);
    r = jsmn_parse(&parser, js, len, (jsmntok_t *)(void *)toks,
                   (unsigned int)cap);
    if (r == JSMN_ERROR_NOMEM)
        return WISP_ERR_TOO_COMPLEX;
    if (r < 0)
        return WISP_ERR_JSON;
    r = (int)parser.toknext;
    to_wisp_tokens(toks, r);
    if (r == 0 || !grammar_ok(js, len, toks, r))
        return WISP_ERR_JSON;
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

/* Where each usage count sits: directly in usage, or in a details object. */
static const struct {
    const char *outer; /* NULL: in usage itself */
    const char *key;
    unsigned char offset;
} k_usage_fields[] = {
    {NULL, "prompt_tokens", offsetof(wisp_usage, prompt_tokens)},
    {NULL, "completion_tokens", offsetof(wisp_usage, completion_tokens)},
    {NULL, "total_tokens", offsetof(wisp_usage, total_tokens)},
    {"prompt_tokens_details", "cached_tokens",
     offsetof(wisp_usage, cached_tokens)},
    {"completion_tokens_details", "reasoning_tokens",
     offsetof(wisp_usage, reasoning_tokens)},
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
            if (obj < 0 || wisp_json_is_null(js, toks + obj))
                continue; /* details are optional, null is fine */
            if (toks[obj].type != WISP_TOK_OBJECT)
                return WISP_ERR_JSON;
        }
        v = wisp_json_find(js, toks, count, obj, k_usage_fields[f].key);
        if (v < 0)
            continue;
        /* A count is a number or null; a fraction, a negative or a value
         * beyond 32 bits reads as 0.  Other types are malformed. */
        if (toks[v].type != WISP_TOK_PRIMITIVE)
            return WISP_ERR_JSON;
        dst = (uint32_t *)(void *)((char *)&got + k_usage_fields[f].offset);
        if (!wisp_json_u32(js, toks + v, dst))
            *dst = 0;
    }
    *u = got;
    return WISP_OK;
}
