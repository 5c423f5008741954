/*
 * fuzz_models.c - libFuzzer harness for the model list: the splitter over
 * the "data" array's elements, the id reader, and wisp_list_models over a
 * scripted transport.
 *
 * The whole input is the body (so plain JSON files make a good seed
 * corpus); buffer sizes, token counts and split points come from a hash of
 * it.  Each input:
 *  - goes through the splitter whole and in random pieces (each in its own
 *    exactly-sized heap block): the same events, ids and status;
 *  - is judged by an independent JSON grammar (json_oracle.h) and, when
 *    valid, walked by an independent reader here that finds the first key
 *    spelled "data" (escapes decoded), the elements' sizes, token counts
 *    and "id" strings (decoded here, surrogates and cuts included): the
 *    splitter must give exactly those ids, skip exactly the elements
 *    larger than its buffer or with more tokens than its array, and fail
 *    exactly where an element is not a model; invalid or too deep input
 *    must give WISP_ERR_JSON;
 *  - goes as the body of a 200 (Content-Length or chunked in random
 *    pieces) through wisp_list_models: the same ids and status for that
 *    client's buffers.
 * Every id must be NUL-terminated inside its buffer and valid UTF-8.
 * abort() on failure.
 *
 * With -DWISP_FUZZ_MAIN it is a plain program replaying the files named on
 * its command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_transport.h"
#include "json_oracle.h" /* oracle_check, utf8_seq, valid_utf8 */
#include "wisp.h"
#include "wisp_models.h"

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            abort();                                                          \
        }                                                                     \
    } while (0)

#define MAX_BODY 8192
#define MAX_ENTRIES MAX_BODY
#define ID_MAX 128

/* One model as seen: its id (decoded), or an element that was skipped. */
typedef struct entry {
    bool skipped;
    bool cut;
    bool exact; /* the raw id was valid UTF-8: the decoding here is exact */
    size_t len;
    uint8_t id[ID_MAX];
} entry;

typedef struct outcome {
    entry e[MAX_ENTRIES];
    size_t n;
    wisp_status st;
} outcome;

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

static void add(outcome *o, bool skipped, const uint8_t *id, size_t len, bool cut, bool exact)
{
    entry *e;
    CHECK(o->n < MAX_ENTRIES && len < ID_MAX);
    e = &o->e[o->n++];
    e->skipped = skipped;
    e->cut = cut;
    e->exact = exact;
    e->len = len;
    if (len > 0)
        memcpy(e->id, id, len);
}

static bool same(const outcome *a, const outcome *b)
{
    size_t i;
    if (a->st != b->st || a->n != b->n)
        return false;
    for (i = 0; i < a->n; i++) {
        const entry *x = &a->e[i], *y = &b->e[i];
        if (x->skipped != y->skipped)
            return false;
        if (x->skipped || !(x->exact && y->exact))
            continue;
        if (x->cut != y->cut || x->len != y->len || memcmp(x->id, y->id, x->len) != 0)
            return false;
    }
    return true;
}

/* ---- the splitter, driven as the client drives it ---------------------------- */

typedef struct params {
    size_t elem_cap;
    size_t ntoks;
    size_t id_cap;
} params;

static char g_elem[4096];
static wisp_token g_toks[64];
static char g_id[ID_MAX];

static wisp_status take(outcome *o, const params *p, const wisp_models_out *out)
{
    bool cut = false;
    wisp_status st;
    size_t len;
    if (out->event == WISP_MODELS_SKIPPED) {
        CHECK(out->data == NULL && out->len > p->elem_cap);
        add(o, true, NULL, 0, false, true);
        return WISP_OK;
    }
    CHECK(out->data == g_elem && out->len <= p->elem_cap && out->len > 0);
    memset(g_id, 0x5A, sizeof g_id);
    st = wisp_models_id(out->data, out->len, g_toks, p->ntoks, g_id, p->id_cap, &cut);
    CHECK(memchr(g_id, '\0', p->id_cap) != NULL);
    if (st == WISP_ERR_TOO_COMPLEX) {
        add(o, true, NULL, 0, false, true);
        return WISP_OK;
    }
    CHECK(st == WISP_OK || st == WISP_ERR_JSON);
    if (st != WISP_OK)
        return st;
    len = strlen(g_id);
    CHECK(len < p->id_cap);
    CHECK(valid_utf8((const uint8_t *)g_id, len));
    add(o, false, (const uint8_t *)g_id, len, cut, true);
    return WISP_OK;
}

/* Feeds data in pieces of random sizes (max_piece 0: whole). */
static void split_run(const uint8_t *data, size_t size, const params *p, uint32_t seed,
                      size_t max_piece, outcome *o)
{
    wisp_models_split sp;
    size_t from = 0;
    wisp_status st = WISP_OK;
    o->n = 0;
    wisp_models_init(&sp, g_elem, p->elem_cap);
    while (st == WISP_OK && from < size) {
        size_t n = max_piece == 0 ? size - from : 1 + next_rand(&seed) % max_piece, off = 0;
        uint8_t *piece;
        if (n > size - from)
            n = size - from;
        piece = malloc(n);
        CHECK(piece != NULL);
        memcpy(piece, data + from, n);
        while (st == WISP_OK) {
            size_t used = 0;
            wisp_models_out out;
            st = wisp_models_feed(&sp, piece + off, n - off, &used, &out);
            CHECK(used <= n - off);
            if (st != WISP_OK) {
                CHECK(st == WISP_ERR_JSON);
                break;
            }
            off += used;
            if (out.event == WISP_MODELS_NEED_MORE) {
                CHECK(off == n);
                break;
            }
            st = take(o, p, &out);
        }
        free(piece);
        from += n;
    }
    if (st == WISP_OK)
        st = wisp_models_finish(&sp);
    CHECK(st == WISP_OK || st == WISP_ERR_JSON);
    if (st == WISP_OK) {
        size_t i, skipped = 0;
        for (i = 0; i < o->n; i++)
            skipped += o->e[i].skipped;
        CHECK(sp.elements + sp.skipped == o->n);
        CHECK(sp.skipped <= skipped);
    }
    o->st = st;
}

/* ---- an independent reader of valid JSON ------------------------------------- */

typedef struct walker {
    const uint8_t *s;
    size_t n, i;
} walker;

static void w_ws(walker *w)
{
    while (w->i < w->n && (w->s[w->i] == ' ' || w->s[w->i] == '\t' || w->s[w->i] == '\n' ||
                           w->s[w->i] == '\r'))
        w->i++;
}

/* Past the string at w->i (its quote); *from, *to: the bytes inside. */
static void w_string(walker *w, size_t *from, size_t *to)
{
    w->i++;
    *from = w->i;
    while (w->s[w->i] != '"')
        w->i += w->s[w->i] == '\\' ? 2 : 1;
    *to = w->i;
    w->i++;
}

static int hexv(uint8_t c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static uint32_t u4(const uint8_t *p)
{
    return (uint32_t)(hexv(p[0]) << 12 | hexv(p[1]) << 8 | hexv(p[2]) << 4 | hexv(p[3]));
}

static size_t put_cp(uint8_t *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * The characters of a valid string's inside, as UTF-8 into out (room for
 * 4 * n bytes): each character's length in lens (NULL: not wanted).  A
 * surrogate pair is one character, a lone surrogate and \u0000 are
 * U+FFFD.  *exact is cleared when the raw bytes are not valid UTF-8 (wisp
 * then gives U+FFFD per maximal subpart, which this does not redo).
 */
static size_t decode(const uint8_t *s, size_t n, uint8_t *out, uint8_t *lens, size_t *chars,
                     bool *exact)
{
    size_t i = 0, len = 0, k = 0;
    *exact = true;
    while (i < n) {
        size_t at = len;
        if (s[i] != '\\') {
            size_t q = utf8_seq(s + i, n - i);
            if (q == 0) {
                *exact = false;
                q = 1;
            }
            memcpy(out + len, s + i, q);
            len += q;
            i += q;
        } else if (s[i + 1] != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            out[len++] = (uint8_t)to[strchr(from, s[i + 1]) - from];
            i += 2;
        } else {
            uint32_t cp = u4(s + i + 2);
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u' &&
                u4(s + i + 2) >= 0xDC00 && u4(s + i + 2) <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (u4(s + i + 2) - 0xDC00);
                i += 6;
            } else if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0) {
                cp = 0xFFFD;
            }
            len += put_cp(out + len, cp);
        }
        if (lens != NULL)
            lens[k] = (uint8_t)(len - at);
        k++;
    }
    if (chars != NULL)
        *chars = k;
    return len;
}

static bool key_is(const walker *w, size_t from, size_t to, const char *key)
{
    static uint8_t buf[4 * MAX_BODY];
    bool exact;
    size_t len = decode(w->s + from, to - from, buf, NULL, NULL, &exact);
    return exact && len == strlen(key) && memcmp(buf, key, len) == 0;
}

/* Past one value; *tokens: the jsmn tokens it takes (a key is one). */
static void w_value(walker *w, size_t *tokens)
{
    size_t a, b;
    uint8_t c;
    w_ws(w);
    c = w->s[w->i];
    (*tokens)++;
    if (c == '{' || c == '[') {
        uint8_t close = c == '{' ? '}' : ']';
        w->i++;
        w_ws(w);
        if (w->s[w->i] == close) {
            w->i++;
            return;
        }
        for (;;) {
            if (c == '{') {
                w_ws(w);
                w_string(w, &a, &b);
                (*tokens)++;
                w_ws(w);
                w->i++; /* ':' */
            }
            w_value(w, tokens);
            w_ws(w);
            if (w->s[w->i++] == close)
                return;
        }
    } else if (c == '"') {
        w_string(w, &a, &b);
    } else {
        while (w->i < w->n && strchr(",]} \t\r\n", w->s[w->i]) == NULL)
            w->i++;
    }
}

/* The id of the element (an object) at w->i..end: false when it has none
 * that is a string. */
static bool element_id(walker *w, size_t end, const params *p, outcome *o)
{
    static uint8_t buf[4 * MAX_BODY];
    static uint8_t lens[MAX_BODY];
    size_t a, b, tokens = 0, len, chars, k, kept = 0;
    bool exact, cut;
    w->i++; /* '{' */
    for (;;) {
        w_ws(w);
        if (w->s[w->i] == '}')
            return false;
        w_string(w, &a, &b);
        w_ws(w);
        w->i++; /* ':' */
        w_ws(w);
        if (key_is(w, a, b, "id")) {
            size_t ia, ib;
            if (w->s[w->i] != '"')
                return false;
            w_string(w, &ia, &ib);
            len = decode(w->s + ia, ib - ia, buf, lens, &chars, &exact);
            /* whole characters while they fit in id_cap - 1 bytes */
            for (k = 0; k < chars && kept + lens[k] <= p->id_cap - 1; k++)
                kept += lens[k];
            cut = kept < len;
            add(o, false, buf, kept < ID_MAX ? kept : 0, cut, exact);
            w->i = end;
            return true;
        }
        w_value(w, &tokens);
        w_ws(w);
        if (w->s[w->i] == ',')
            w->i++;
    }
}

/* What the splitter must give for a valid text. */
static void expect(const uint8_t *s, size_t n, const params *p, outcome *o)
{
    walker w = {s, n, 0};
    size_t a, b, tokens;
    o->n = 0;
    o->st = WISP_ERR_JSON;
    w_ws(&w);
    if (s[w.i] != '{')
        return;
    w.i++;
    for (;;) {
        w_ws(&w);
        if (s[w.i] == '}')
            return; /* no data */
        w_string(&w, &a, &b);
        w_ws(&w);
        w.i++;
        w_ws(&w);
        if (key_is(&w, a, b, "data"))
            break;
        tokens = 0;
        w_value(&w, &tokens);
        w_ws(&w);
        if (s[w.i] == ',')
            w.i++;
    }
    if (s[w.i] == 'n') {
        o->st = WISP_OK;
        return;
    }
    if (s[w.i] != '[')
        return;
    w.i++;
    for (;;) {
        size_t start, end;
        w_ws(&w);
        if (s[w.i] == ']')
            break;
        start = w.i;
        tokens = 0;
        w_value(&w, &tokens);
        end = w.i;
        if (end - start > p->elem_cap || tokens > p->ntoks) {
            add(o, true, NULL, 0, false, true);
        } else {
            if (s[start] != '{')
                return; /* not a model */
            w.i = start;
            if (!element_id(&w, end, p, o))
                return; /* no string id */
            w.i = end;
        }
        w_ws(&w);
        if (s[w.i] == ',')
            w.i++;
    }
    o->st = WISP_OK;
}

/* ---- the whole client ------------------------------------------------------------ */

static int on_model(void *user, const char *id, bool cut)
{
    outcome *o = (outcome *)user;
    size_t len = strlen(id);
    CHECK(len < WISP_MODEL_CAP);
    CHECK(valid_utf8((const uint8_t *)id, len));
    if (id[0] == '\0' && cut)
        add(o, true, NULL, 0, false, true);
    else
        add(o, false, (const uint8_t *)id, len, cut, true);
    return 0;
}

static void client_list(const uint8_t *data, size_t size, uint32_t seed, size_t work_size,
                        size_t ntoks, outcome *o)
{
    static fake_transport fake;
    static uint8_t work[4096];
    static wisp_token tokens[64];
    static char reply[3 * MAX_BODY + 512];
    wisp_transport tr;
    wisp_config cfg;
    wisp_client client;
    wisp_response resp;
    size_t n = 0, at = 0, count = 0;

    n += (size_t)sprintf(reply, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
    if (seed & 1) {
        n += (size_t)sprintf(reply + n, "Content-Length: %u\r\n\r\n", (unsigned)size);
        memcpy(reply + n, data, size);
        n += size;
    } else {
        n += (size_t)sprintf(reply + n, "Transfer-Encoding: chunked\r\n\r\n");
        while (at < size) {
            size_t k = 1 + next_rand(&seed) % 300;
            if (k > size - at)
                k = size - at;
            n += (size_t)sprintf(reply + n, "%x\r\n", (unsigned)k);
            memcpy(reply + n, data + at, k);
            n += k;
            n += (size_t)sprintf(reply + n, "\r\n");
            at += k;
        }
        n += (size_t)sprintf(reply + n, "0\r\n\r\n");
    }
    CHECK(n <= sizeof reply);
    fake_init(&fake, &tr);
    fake.split = SPLIT_RANDOM;
    fake.seed = seed;
    fake_add(&fake, reply, n, END_KEEP);
    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "http://127.0.0.1:8080/v1";
    cfg.transport = &tr;
    cfg.max_retries = WISP_NO_RETRIES;
    CHECK(wisp_client_init(&client, &cfg, work, work_size, tokens, ntoks) == WISP_OK);
    wisp_response_init(&resp, NULL, 0, NULL, 0);
    o->n = 0;
    o->st = wisp_list_models(&client, &resp, on_model, o, &count);
    CHECK(count == o->n);
    CHECK(o->st == WISP_OK || o->st == WISP_ERR_JSON);
    if (o->st == WISP_OK)
        CHECK(client.connected); /* the whole body was read */
    wisp_client_close(&client);
}

/* ---- the harness -------------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static outcome whole, pieces, want, viaclient;
    uint32_t seed = hash_bytes(data, size);
    params p;
    int valid;

    if (size > MAX_BODY)
        return 0;
    p.elem_cap = (seed & 1) ? sizeof g_elem : (seed >> 1) % 300;
    p.ntoks = 1 + (seed >> 10) % 64;
    p.id_cap = 1 + (seed >> 16) % (ID_MAX - 1);

    split_run(data, size, &p, seed, 0, &whole);
    split_run(data, size, &p, seed, 1 + (seed >> 20) % 64, &pieces);
    CHECK(same(&whole, &pieces));
    split_run(data, size, &p, seed, 1, &pieces); /* byte by byte */
    CHECK(same(&whole, &pieces));

    valid = oracle_check(data, size, WISP_MODELS_MAX_DEPTH, false);
    if (valid != 1) {
        CHECK(whole.st == WISP_ERR_JSON);
    } else {
        expect(data, size, &p, &want);
        CHECK(same(&whole, &want));
    }

    /* the client, with its own buffers */
    {
        size_t work_size = WISP_WORK_MIN + (seed >> 3) % (2048 - WISP_WORK_MIN);
        size_t ntoks = 8 + (seed >> 13) % 57;
        params cp = {work_size - WISP_RX_CHUNK - WISP_MODEL_CAP, ntoks, WISP_MODEL_CAP};
        client_list(data, size, seed, work_size, ntoks, &viaclient);
        split_run(data, size, &cp, seed, 0, &pieces);
        CHECK(same(&viaclient, &pieces));
    }
    return 0;
}

#ifdef WISP_FUZZ_MAIN
#include "replay_main.h"
#endif
