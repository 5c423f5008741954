/*
 * wisp_text.c - caller text buffers, JSON string unescape (resumable across
 * streamed pieces), UTF-8 and case-insensitive matching, and the plain-text
 * rendering of HTML error pages (see wisp_text.h).
 *
 * Everything here emits valid UTF-8 only: invalid input becomes U+FFFD,
 * one per maximal subpart (Unicode's recommended practice).
 */
#include <string.h>

#include "wisp_text.h"

static const char k_replacement[3] = {'\xEF', '\xBF', '\xBD'}; /* U+FFFD */

static bool is_continuation(unsigned char c)
{
    return (c & 0xC0u) == 0x80u;
}

/*
 * Classifies the UTF-8 sequence at p (p[0] >= 0x80, avail >= 1):
 *   > 0  a valid, complete sequence of that many bytes;
 *   0    invalid: *sub bytes (>= 1) form the maximal subpart to replace;
 *   < 0  a valid prefix of *sub bytes that runs into the end of the input.
 * The bounds on the second byte rule out overlongs, UTF-16 surrogates and
 * code points above U+10FFFF.
 */
static int utf8_sequence(const unsigned char *p, size_t avail, size_t *sub)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t need, k;

    if (c < 0xC2 || c > 0xF4) {
        *sub = 1;
        return 0;
    }
    if (c < 0xE0) {
        need = 2;
    } else if (c < 0xF0) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    }
    for (k = 1; k < need; k++) {
        if (k == avail) {
            *sub = k;
            return -1;
        }
        if (p[k] < lo || p[k] > hi) {
            *sub = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return (int)need;
}

size_t wisp_utf8_len(const uint8_t *s, size_t n)
{
    size_t sub;
    int r;
    if (s == NULL || n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    r = utf8_sequence(s, n, &sub);
    return r > 0 ? (size_t)r : 0;
}

size_t wisp_utf8_whole(const char *s, size_t n)
{
    size_t i = n, sub;
    while (i > 0 && n - i < 3 && is_continuation((unsigned char)s[i - 1]))
        i--;
    if (i == 0 || (unsigned char)s[i - 1] < 0xC0u)
        return n; /* ends in ASCII, or in bytes no character starts */
    return utf8_sequence((const unsigned char *)s + i - 1, n - i + 1, &sub) < 0 ? i - 1 : n;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

int wisp_ascii_imatch(const char *s, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (lit[i] == '\0' || s[i] == '\0' || lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return 0;
    }
    return lit[i] != '\0' ? 1 : 2;
}

static size_t utf8_encode(uint32_t cp, char *b)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- caller text buffers ---------------------------------------------- */

void wisp_text_reset(wisp_text *t)
{
    if (t == NULL)
        return;
    t->len = 0;
    t->full_len = 0;
    t->truncated = false;
    if (t->buf != NULL && t->cap > 0)
        t->buf[0] = '\0';
}

void wisp_text_append(wisp_text *t, const char *s, size_t n)
{
    size_t room, k;

    if (t == NULL || n == 0 || s == NULL)
        return;
    t->full_len = (t->full_len + n < t->full_len) ? (size_t)-1
                                                   : t->full_len + n;
    if (t->truncated)
        return; /* the stored text must stay a prefix of the real one */
    if (t->buf == NULL || t->cap == 0 || t->len >= t->cap) {
        t->truncated = true;
        return;
    }
    room = t->cap - 1 - t->len;
    k = n;
    if (n > room) {
        k = wisp_utf8_whole(s, room); /* not half of the character that does not fit */
        t->truncated = true;
    }
    memcpy(t->buf + t->len, s, k);
    t->len += k;
    t->buf[t->len] = '\0';
}

int wisp_text_emit(void *text, const char *s, size_t n)
{
    wisp_text_append((wisp_text *)text, s, n);
    return 0;
}

/* ---- unescape ------------------------------------------------------------ */

/* Output staging: short runs and decoded escapes are gathered so that
 * "Hello\nWorld" reaches the caller as one piece. */
#define STAGE_SIZE 48

typedef struct out_stage {
    wisp_emit_fn emit;
    void *ctx;
    bool stopped;
    size_t n;
    char buf[STAGE_SIZE];
} out_stage;

static void stage_flush(out_stage *o)
{
    if (o->n > 0 && !o->stopped && o->emit != NULL &&
        o->emit(o->ctx, o->buf, o->n) != 0)
        o->stopped = true;
    o->n = 0;
}

/* s..s+k holds whole characters only. */
static void stage_put(out_stage *o, const char *s, size_t k)
{
    if (k == 0)
        return;
    if (k > STAGE_SIZE - o->n) {
        stage_flush(o);
        if (k > STAGE_SIZE) {
            if (!o->stopped && o->emit != NULL && o->emit(o->ctx, s, k) != 0)
                o->stopped = true;
            return;
        }
    }
    memcpy(o->buf + o->n, s, k);
    o->n += k;
}

static void stage_cp(out_stage *o, uint32_t cp)
{
    char b[4];
    stage_put(o, b, utf8_encode(cp, b));
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* lower case */
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Reads "\uXXXX" at p (avail bytes); returns the unit or -1. */
static long u_escape(const unsigned char *p, size_t avail)
{
    long v = 0;
    int i, h;

    if (avail < 6 || p[0] != '\\' || p[1] != 'u')
        return -1;
    for (i = 2; i < 6; i++) {
        h = hex_value(p[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

static bool is_low_surrogate(long v)
{
    return v >= 0xDC00 && v <= 0xDFFF;
}

void wisp_unescape_init(wisp_unescape *u)
{
    if (u != NULL)
        memset(u, 0, sizeof *u);
}

/* Resolves what the previous piece left in u against the start of s.
 * Returns the number of bytes of s used. */
static size_t resume(wisp_unescape *u, const unsigned char *s, size_t n,
                     bool more, out_stage *o)
{
    unsigned char tmp[4];
    size_t have, take, sub;
    long low;
    int r;

    if (n == 0 && more)
        return 0; /* an empty piece changes nothing */
    if (u->high != 0) {
        low = u_escape(s, n);
        if (is_low_surrogate(low)) {
            stage_cp(o, 0x10000u + (((uint32_t)u->high - 0xD800u) << 10) +
                            ((uint32_t)low - 0xDC00u));
            u->high = 0;
            return 6;
        }
        u->high = 0;
        stage_put(o, k_replacement, 3);
        return 0;
    }
    if (u->part_len == 0)
        return 0;
    have = u->part_len;
    memcpy(tmp, u->part, have);
    take = 4 - have < n ? 4 - have : n;
    if (take > 0)
        memcpy(tmp + have, s, take);
    r = utf8_sequence(tmp, have + take, &sub);
    u->part_len = 0;
    if (r > 0) {
        stage_put(o, (const char *)tmp, (size_t)r);
        return (size_t)r - have;
    }
    if (r < 0 && more) { /* still short: keep gathering */
        memcpy(u->part, tmp, sub);
        u->part_len = (uint8_t)sub;
        return take;
    }
    stage_put(o, k_replacement, 3);
    return sub > have ? sub - have : 0;
}

wisp_status wisp_unescape_feed(wisp_unescape *u, const char *src, size_t n,
                               bool more, wisp_emit_fn emit, void *ctx)
{
    const unsigned char *s = (const unsigned char *)src;
    wisp_status st = WISP_OK;
    out_stage o;
    size_t i, run, sub;
    long cp, low;
    unsigned char c;
    int r;

    if (u == NULL || (src == NULL && n > 0))
        return WISP_ERR_ARG;
    o.emit = emit;
    o.ctx = ctx;
    o.stopped = false;
    o.n = 0;

    i = resume(u, s, n, more, &o);
    run = i;
    while (i < n) {
        c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            r = utf8_sequence(s + i, n - i, &sub);
            if (r > 0) {
                i += (size_t)r; /* valid UTF-8 stays in the run */
                continue;
            }
            stage_put(&o, (const char *)s + run, i - run);
            if (r < 0 && more) {
                memcpy(u->part, s + i, sub);
                u->part_len = (uint8_t)sub;
                run = i = n;
                break;
            }
            stage_put(&o, k_replacement, 3);
            run = i += sub;
            continue;
        }
        stage_put(&o, (const char *)s + run, i - run);
        if (c < 0x20 || i + 1 == n) { /* raw control byte, or a lone '\' */
            st = WISP_ERR_JSON;
            run = i;
            break;
        }
        c = s[i + 1];
        i += 2;
        switch (c) {
        case '"': case '\\': case '/': break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u':
            cp = u_escape(s + i - 2, n - (i - 2));
            if (cp < 0) {
                st = WISP_ERR_JSON;
                break;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                low = u_escape(s + i, n - i);
                if (is_low_surrogate(low)) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    i += 6;
                } else if (i == n && more) {
                    u->high = (uint16_t)cp; /* the low half comes next */
                    cp = -1;
                } else {
                    cp = 0xFFFD;
                }
            } else if (is_low_surrogate(cp) || cp == 0) {
                cp = 0xFFFD;
            }
            if (cp >= 0)
                stage_cp(&o, (uint32_t)cp);
            run = i;
            continue;
        default:
            st = WISP_ERR_JSON;
            break;
        }
        if (st != WISP_OK) {
            run = i;
            break;
        }
        stage_put(&o, (const char *)&c, 1);
        run = i;
    }
    if (st == WISP_OK && i > run)
        stage_put(&o, (const char *)s + run, i - run);
    stage_flush(&o);
    if (o.stopped)
        return WISP_ERR_CANCELLED;
    return st;
}

wisp_status wisp_unescape_finish(wisp_unescape *u, wisp_emit_fn emit,
                                 void *ctx)
{
    bool kept;

    if (u == NULL)
        return WISP_ERR_ARG;
    kept = u->high != 0 || u->part_len != 0;
    wisp_unescape_init(u);
    if (kept && emit != NULL && emit(ctx, k_replacement, 3) != 0)
        return WISP_ERR_CANCELLED;
    return WISP_OK;
}

/* ---- HTML (or plain text) error page to one line of text ----------------- */

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static bool is_alpha(unsigned char c)
{
    c |= 0x20;
    return c >= 'a' && c <= 'z';
}

/* Case-insensitive: does s[i..n) start with lit (lower case)? */
static bool starts_with(const char *s, size_t n, size_t i, const char *lit)
{
    size_t len = strlen(lit);
    return i <= n && n - i >= len && wisp_ascii_imatch(s + i, len, lit) == 2;
}

/* Index just past the first lit at or after i, or n. */
static size_t find_past(const char *s, size_t n, size_t i, const char *lit)
{
    size_t len = strlen(lit);
    for (; i + len <= n; i++)
        if (starts_with(s, n, i, lit))
            return i + len;
    return n;
}

/* s[i] is '<' starting a tag; returns the index after it (and after the
 * element's contents for <script> and <style>). */
static size_t skip_tag(const char *s, size_t n, size_t i)
{
    const char *raw = NULL;
    unsigned char q = 0, c;

    if (starts_with(s, n, i, "<!--"))
        return find_past(s, n, i + 4, "-->");
    if (starts_with(s, n, i, "<script") &&
        (i + 7 == n || !is_alpha((unsigned char)s[i + 7])))
        raw = "</script";
    else if (starts_with(s, n, i, "<style") &&
             (i + 6 == n || !is_alpha((unsigned char)s[i + 6])))
        raw = "</style";
    for (i++; i < n; i++) {
        c = (unsigned char)s[i];
        if (q != 0) {
            if (c == q)
                q = 0;
        } else if (c == '"' || c == '\'') {
            q = c;
        } else if (c == '>') {
            i++;
            break;
        }
    }
    if (raw != NULL) {
        i = find_past(s, n, i, raw);
        i = find_past(s, n, i, ">");
    }
    return i;
}

/* Decodes the entity at s[i] == '&'.  Returns its code point and sets *end,
 * or returns -1 (not an entity we know: keep the '&'). */
static long entity(const char *s, size_t n, size_t i, size_t *end)
{
    static const struct {
        char name[6];
        char ch;
    } named[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'},
                 {"quot;", '"'}, {"apos;", '\''}, {"nbsp;", ' '}};
    size_t k, j = i + 1;
    long cp = 0;
    int base = 10, d, digits = 0;

    if (j < n && s[j] == '#') {
        j++;
        if (j < n && (s[j] | 0x20) == 'x') {
            base = 16;
            j++;
        }
        for (; j < n && digits < 8; j++, digits++) {
            d = hex_value((unsigned char)s[j]);
            if (d < 0 || d >= base)
                break;
            if (cp <= 0x10FFFF) /* stays far below 2^31 on 32-bit long */
                cp = cp * base + d;
        }
        if (digits == 0 || j >= n || s[j] != ';')
            return -1;
        *end = j + 1;
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            cp = 0xFFFD;
        return cp;
    }
    for (k = 0; k < sizeof named / sizeof named[0]; k++) {
        if (starts_with(s, n, j, named[k].name)) {
            *end = j + strlen(named[k].name);
            return (unsigned char)named[k].ch;
        }
    }
    return -1;
}

bool wisp_html_to_text(const char *s, size_t n, char *dst, size_t cap)
{
    wisp_text t;
    size_t i = 0, end, sub, k;
    bool html, blank = false;
    char b[4];
    const char *piece;
    unsigned char c;
    long cp;
    int r;

    t.buf = dst;
    t.cap = dst != NULL ? cap : 0;
    wisp_text_reset(&t);
    if (s == NULL)
        return false;
    while (i < n && is_blank((unsigned char)s[i]))
        i++;
    html = WISP_HTML && i < n && s[i] == '<'; /* 0: tags stay as text */

    while (i < n && !t.truncated) {
        c = (unsigned char)s[i];
        piece = s + i;
        k = 1;
        end = i + 1;
        if (html && c == '<' && i + 1 < n &&
            (is_alpha((unsigned char)s[i + 1]) || s[i + 1] == '/' ||
             s[i + 1] == '!' || s[i + 1] == '?')) {
            i = skip_tag(s, n, i);
            blank = true; /* a tag separates words */
            continue;
        }
        if (html && c == '&' && (cp = entity(s, n, i, &end)) >= 0) {
            if (cp < 0x20 || cp == 0x7F) { /* &#10; etc. */
                blank = blank || is_blank((unsigned char)cp);
                i = end;
                continue;
            }
            k = utf8_encode((uint32_t)cp, b);
            piece = b;
            c = (unsigned char)b[0];
        } else if (c >= 0x80) {
            r = utf8_sequence((const unsigned char *)s + i, n - i, &sub);
            if (r > 0) {
                k = (size_t)r;
                end = i + k;
            } else {
                piece = k_replacement;
                k = 3;
                end = i + sub;
            }
        }
        i = end;
        if (k == 1 && is_blank(c)) {
            blank = true;
            continue;
        }
        if (k == 1 && (c < 0x20 || c == 0x7F))
            continue;
        if (blank && t.len > 0)
            wisp_text_append(&t, " ", 1);
        blank = false;
        wisp_text_append(&t, piece, k);
    }
    if (t.truncated && t.len > 0 && t.buf[t.len - 1] == ' ')
        t.buf[--t.len] = '\0';
    return t.truncated;
}
