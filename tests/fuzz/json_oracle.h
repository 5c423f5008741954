/*
 * json_oracle.h - strict UTF-8 and an independent JSON grammar (RFC 8259)
 * for the fuzz harnesses: recursive descent, test code only, sharing
 * nothing with the code under test.
 *
 * What the harnesses differ in is an option of the grammar: how deep
 * containers may nest (past it the text is "too deep to say"), and whether
 * strings must be well-formed UTF-8 (wisp's tokenizer does not check them,
 * the request writer must send them so).
 *
 *   oracle_check(s, n, limit, utf8)  1 one JSON value, 0 not, -1 too deep
 *   utf8_seq(s, n), valid_utf8(s, n) strict UTF-8: shortest forms, no
 *                                    surrogates, nothing past U+10FFFF
 *
 * oracle_init and the o_ steps are there for a harness that walks a text
 * itself (fuzz_request records the members of its top-level object).
 */
#ifndef WISP_JSON_ORACLE_H
#define WISP_JSON_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Not every harness uses every function. */
#if defined(__GNUC__)
#define ORACLE_MAYBE_UNUSED __attribute__((unused))
#else
#define ORACLE_MAYBE_UNUSED
#endif

/* ---- strict UTF-8 ----------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (n >= 1 bytes left), or 0. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    size_t need, k;
    uint32_t cp;
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (need > n)
        return 0;
    for (k = 1; k < need; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3Fu);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

/* s (n bytes) is well-formed UTF-8 throughout. */
ORACLE_MAYBE_UNUSED static bool valid_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0, len;
    while (i < n) {
        len = utf8_seq(s + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

/* ---- the JSON grammar --------------------------------------------------------- */

typedef struct oracle {
    const uint8_t *s;
    size_t n, i;
    int depth;     /* containers open at i */
    int limit;     /* the most that may be open: past it, too deep */
    bool utf8;     /* strings must be well-formed UTF-8 */
    bool too_deep; /* a container opened past limit */
} oracle;

static void oracle_init(oracle *o, const uint8_t *s, size_t n, int limit, bool utf8)
{
    o->s = s;
    o->n = n;
    o->i = 0;
    o->depth = 0;
    o->limit = limit;
    o->utf8 = utf8;
    o->too_deep = false;
}

static void o_ws(oracle *o)
{
    while (o->i < o->n && (o->s[o->i] == ' ' || o->s[o->i] == '\t' || o->s[o->i] == '\n' ||
                           o->s[o->i] == '\r'))
        o->i++;
}

static bool o_lit(oracle *o, const char *lit)
{
    size_t k = strlen(lit);
    if (o->n - o->i < k || memcmp(o->s + o->i, lit, k) != 0)
        return false;
    o->i += k;
    return true;
}

static bool o_digits(oracle *o)
{
    size_t from = o->i;
    while (o->i < o->n && o->s[o->i] >= '0' && o->s[o->i] <= '9')
        o->i++;
    return o->i > from;
}

static bool o_number(oracle *o)
{
    if (o->i < o->n && o->s[o->i] == '-')
        o->i++;
    if (o->i < o->n && o->s[o->i] == '0')
        o->i++;
    else if (o->i >= o->n || o->s[o->i] < '1' || o->s[o->i] > '9' || !o_digits(o))
        return false;
    if (o->i < o->n && o->s[o->i] == '.') {
        o->i++;
        if (!o_digits(o))
            return false;
    }
    if (o->i < o->n && (o->s[o->i] == 'e' || o->s[o->i] == 'E')) {
        o->i++;
        if (o->i < o->n && (o->s[o->i] == '+' || o->s[o->i] == '-'))
            o->i++;
        if (!o_digits(o))
            return false;
    }
    return true;
}

static bool o_hex_digit(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string at o->i (its opening quote): escapes, no raw control byte, and
 * with o->utf8 well-formed UTF-8 (else any other byte as it is). */
static bool o_string(oracle *o)
{
    int k;
    if (o->i >= o->n || o->s[o->i] != '"')
        return false;
    o->i++;
    while (o->i < o->n) {
        uint8_t c = o->s[o->i];
        if (c == '"') {
            o->i++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c >= 0x80 && o->utf8) {
            size_t len = utf8_seq(o->s + o->i, o->n - o->i);
            if (len == 0)
                return false;
            o->i += len;
            continue;
        }
        o->i++;
        if (c != '\\')
            continue;
        if (o->i >= o->n)
            return false;
        c = o->s[o->i++];
        if (c == 'u') {
            for (k = 0; k < 4; k++, o->i++)
                if (o->i >= o->n || !o_hex_digit(o->s[o->i]))
                    return false;
        } else if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' &&
                   c != 'r' && c != 't') {
            return false;
        }
    }
    return false;
}

static bool o_value(oracle *o);

static bool o_container(oracle *o, uint8_t close, bool keys)
{
    bool ok = false;
    if (++o->depth > o->limit) {
        o->too_deep = true;
        goto out;
    }
    o->i++;
    o_ws(o);
    if (o->i < o->n && o->s[o->i] == close) {
        o->i++;
        ok = true;
        goto out;
    }
    for (;;) {
        if (keys) {
            o_ws(o);
            if (!o_string(o))
                goto out;
            o_ws(o);
            if (o->i >= o->n || o->s[o->i] != ':')
                goto out;
            o->i++;
        }
        if (!o_value(o))
            goto out;
        if (o->i < o->n && o->s[o->i] == ',') {
            o->i++;
            continue;
        }
        if (o->i < o->n && o->s[o->i] == close) {
            o->i++;
            ok = true;
        }
        goto out;
    }
out:
    o->depth--;
    return ok;
}

/* ws value ws */
static bool o_value(oracle *o)
{
    bool ok;
    o_ws(o);
    if (o->i >= o->n)
        return false;
    switch (o->s[o->i]) {
    case '{': ok = o_container(o, '}', true); break;
    case '[': ok = o_container(o, ']', false); break;
    case '"': ok = o_string(o); break;
    case 't': ok = o_lit(o, "true"); break;
    case 'f': ok = o_lit(o, "false"); break;
    case 'n': ok = o_lit(o, "null"); break;
    default: ok = o_number(o); break;
    }
    o_ws(o);
    return ok;
}

/* 1: s (n bytes) is exactly one JSON value, white space around it, nesting
 * at most limit deep; 0: it is not; -1: too deep to say (a container opens
 * past limit with the text valid up to there).  utf8: strings must be
 * well-formed UTF-8. */
ORACLE_MAYBE_UNUSED static int oracle_check(const uint8_t *s, size_t n, int limit, bool utf8)
{
    oracle o;
    bool ok;
    oracle_init(&o, s, n, limit, utf8);
    ok = o_value(&o) && o.i == n;
    return o.too_deep ? -1 : ok;
}

#endif /* WISP_JSON_ORACLE_H */
