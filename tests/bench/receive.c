/*
 * receive.c - four ways to receive the same recorded chat stream, each in a
 * function of its own so that callgrind counts each one apart (make bench,
 * tests/bench/bench.py):
 *
 *   pass_wisp    wisp's receive path as wisp_chat runs it: wisp_sse_feed
 *                over each read, each event through the reply reader
 *                (jsmn, every field of the chunk read, unescape, UTF-8
 *                checks), the text to the event callback, wisp_reply_end
 *   pass_cjson   a cJSON client: the line framing of sse_lines.h, then
 *                cJSON_ParseWithLength per event, choices[0].delta.content
 *                copied out, cJSON_Delete
 *   pass_jsmn    a bare jsmn client: the same framing, jsmn_parse into a
 *                fixed token array (the flags wisp uses: strict, parent
 *                links), a walk to choices/0/delta/content, the string
 *                copied out through a plain unescape (\n \t \" \\ \/ \b \f
 *                \r and \uXXXX with surrogate pairs, to UTF-8); no other
 *                field read, nothing validated
 *   pass_memchr  memchr('\n') over each read: the floor
 * and, to show where the cost goes, the framing alone:
 *   pass_wisp_sse   wisp_sse_feed only, each event compared with [DONE]
 *   pass_lines      sse_lines.h only, each event compared with [DONE]
 *
 * Every pass gets the stream in reads of the same size (by default
 * WISP_RX_CHUNK, what wisp_chat asks its transport for) from one block in
 * memory; HTTP chunked framing and TLS are not part of it.  The text the
 * three readers extract must be the same (and equal the --expect file):
 * otherwise the exit status is 1.  An event that (2) or (3) cannot parse is
 * counted and skipped, so that their passes still cover the whole stream;
 * wisp stops at the first error, as wisp_chat does.
 *
 *   receive STREAM [--expect TEXT] [--read N]     one pass of each; a JSON
 *                                                 line of what was seen
 *   receive STREAM --time [--read N]              MB/s of each, timed
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include "jsmn.h"

#include "wisp_reply.h"
#include "wisp_sse.h"

#include "sse_lines.h"

#if defined(__GNUC__) && !defined(__clang__)
#define PASS __attribute__((noinline, noclone))
#elif defined(__GNUC__)
#define PASS __attribute__((noinline))
#else
#define PASS
#endif

/* As examples/wisp-chat/main.c: the largest event, the tokens of one. */
#define WORK_SIZE (320u * 1024u)
#define TOKENS 256u

typedef struct out_buf {
    char *buf;
    size_t cap, len;
    int overflow;
    size_t bad; /* events (2) or (3) could not parse: skipped */
} out_buf;

static size_t g_read = WISP_RX_CHUNK;
static uint8_t g_work[WORK_SIZE];
static wisp_token g_wtoks[TOKENS];
static jsmntok_t g_jtoks[TOKENS];
static char g_line[WORK_SIZE - WISP_RX_CHUNK];
static char g_data[WORK_SIZE - WISP_RX_CHUNK];

static void out_put(void *user, const char *p, size_t n)
{
    out_buf *o = (out_buf *)user;
    if (n > o->cap - o->len) {
        o->overflow = 1;
        n = o->cap - o->len;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void out_byte(out_buf *o, char c)
{
    if (o->len < o->cap)
        o->buf[o->len++] = c;
    else
        o->overflow = 1;
}

/* ---- (1) wisp ---------------------------------------------------------- */

static int wisp_on_event(void *user, const wisp_event *ev)
{
    if (ev->type == WISP_EVENT_CONTENT)
        out_put(user, ev->text, ev->len);
    return 0;
}

/* As the client's stream_event: scratch is the room behind the event. */
static wisp_status wisp_one_event(wisp_sse *sse, wisp_reply *rd, const wisp_sse_out *ev)
{
    size_t cap;
    char *spare = wisp_sse_spare(sse, ev, &cap);
    wisp_reply_scratch(rd, spare, cap);
    return wisp_reply_event(rd, ev->data, ev->len,
                            ev->kind == WISP_SSE_ERROR_LINE || ev->error_event);
}

PASS int pass_wisp(const char *in, size_t n, out_buf *o);
PASS int pass_wisp(const char *in, size_t n, out_buf *o)
{
    wisp_sse sse;
    wisp_reply rd;
    wisp_response resp;
    wisp_sse_out ev;
    wisp_status st = WISP_OK;
    size_t off = 0;

    wisp_response_init(&resp, NULL, 0, NULL, 0); /* as wisp-chat: text to the callback */
    wisp_sse_init(&sse, g_work, WORK_SIZE - WISP_RX_CHUNK);
    wisp_reply_init(&rd, &resp, g_wtoks, TOKENS, wisp_on_event, o);
    while (off < n && st == WISP_OK && !rd.done) {
        size_t piece = n - off < g_read ? n - off : g_read;
        const uint8_t *p = (const uint8_t *)in + off;
        off += piece;
        while (piece > 0 && st == WISP_OK && !rd.done) {
            size_t used = 0;
            st = wisp_sse_feed(&sse, p, piece, &used, &ev);
            p += used;
            piece -= used;
            if (st == WISP_OK && ev.kind != WISP_SSE_NEED_MORE)
                st = wisp_one_event(&sse, &rd, &ev);
        }
    }
    if (st == WISP_OK && !rd.done) {
        st = wisp_sse_finish(&sse, &ev);
        if (st == WISP_OK && ev.kind != WISP_SSE_NEED_MORE)
            st = wisp_one_event(&sse, &rd, &ev);
    }
    if (st == WISP_OK) {
        wisp_reply_scratch(&rd, (char *)g_work, WORK_SIZE - WISP_RX_CHUNK);
        st = wisp_reply_end(&rd, false);
    }
    if (st != WISP_OK)
        fprintf(stderr, "receive: wisp: %s\n", wisp_strerror(st));
    return st == WISP_OK ? 0 : -1;
}

PASS int pass_wisp_sse(const char *in, size_t n, size_t *events);
PASS int pass_wisp_sse(const char *in, size_t n, size_t *events)
{
    wisp_sse sse;
    wisp_sse_out ev;
    wisp_status st = WISP_OK;
    size_t off = 0;
    int done = 0;

    *events = 0;
    wisp_sse_init(&sse, g_work, WORK_SIZE - WISP_RX_CHUNK);
    while (off < n && st == WISP_OK && !done) {
        size_t piece = n - off < g_read ? n - off : g_read;
        const uint8_t *p = (const uint8_t *)in + off;
        off += piece;
        while (piece > 0 && st == WISP_OK && !done) {
            size_t used = 0;
            st = wisp_sse_feed(&sse, p, piece, &used, &ev);
            p += used;
            piece -= used;
            if (st == WISP_OK && ev.kind != WISP_SSE_NEED_MORE) {
                (*events)++;
                done = sse_is_done(ev.data, ev.len);
            }
        }
    }
    return st == WISP_OK ? 0 : -1;
}

/* ---- the framing of (2) and (3) ----------------------------------------- */

static int feed_lines(const char *in, size_t n, sse_lines_fn fn, void *user)
{
    sse_lines s;
    size_t off = 0;
    int r = 0;
    sse_lines_init(&s, g_line, sizeof g_line, g_data, sizeof g_data, fn, user);
    while (off < n && r == 0) {
        size_t piece = n - off < g_read ? n - off : g_read;
        r = sse_lines_feed(&s, in + off, piece);
        off += piece;
    }
    if (r == 0)
        r = sse_lines_finish(&s);
    return r < 0 ? -1 : 0;
}

static int count_event(void *user, const char *data, size_t len)
{
    (*(size_t *)user)++;
    return sse_is_done(data, len);
}

PASS int pass_lines(const char *in, size_t n, size_t *events);
PASS int pass_lines(const char *in, size_t n, size_t *events)
{
    *events = 0;
    return feed_lines(in, n, count_event, events);
}

/* ---- (2) cJSON ------------------------------------------------------------ */

static int cjson_on_data(void *user, const char *data, size_t len)
{
    int r = sse_cjson_event(data, len, out_put, user);
    if (r < 0)
        ((out_buf *)user)->bad++; /* skipped, so that the pass still covers the stream */
    return r < 0 ? 0 : r;
}

PASS int pass_cjson(const char *in, size_t n, out_buf *o);
PASS int pass_cjson(const char *in, size_t n, out_buf *o)
{
    return feed_lines(in, n, cjson_on_data, o);
}

/* ---- (3) jsmn --------------------------------------------------------------- */

/* The token after the subtree at i. */
static int jsmn_skip(const jsmntok_t *t, int n, int i)
{
    int end = t[i].end;
    for (i++; i < n && t[i].start < end; i++) {
    }
    return i;
}

/* The value of key in the object at obj, or -1. */
static int jsmn_get(const char *js, const jsmntok_t *t, int n, int obj, const char *key)
{
    size_t kl = strlen(key);
    int i = obj + 1, k;
    if (obj < 0 || t[obj].type != JSMN_OBJECT)
        return -1;
    for (k = 0; k < t[obj].size && i + 1 < n; k++) {
        if ((size_t)(t[i].end - t[i].start) == kl && memcmp(js + t[i].start, key, kl) == 0)
            return i + 1;
        i = jsmn_skip(t, n, i + 1);
    }
    return -1;
}

static unsigned hex4(const char *s)
{
    unsigned v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        char c = s[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static void put_utf8(out_buf *o, unsigned cp)
{
    if (cp < 0x80) {
        out_byte(o, (char)cp);
    } else if (cp < 0x800) {
        out_byte(o, (char)(0xC0 | (cp >> 6)));
        out_byte(o, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out_byte(o, (char)(0xE0 | (cp >> 12)));
        out_byte(o, (char)(0x80 | ((cp >> 6) & 0x3F)));
        out_byte(o, (char)(0x80 | (cp & 0x3F)));
    } else {
        out_byte(o, (char)(0xF0 | (cp >> 18)));
        out_byte(o, (char)(0x80 | ((cp >> 12) & 0x3F)));
        out_byte(o, (char)(0x80 | ((cp >> 6) & 0x3F)));
        out_byte(o, (char)(0x80 | (cp & 0x3F)));
    }
}

/* A JSON string's inside (jsmn checked its escapes) to UTF-8. */
static void unescape(const char *s, size_t n, out_buf *o)
{
    size_t i = 0;
    while (i < n) {
        char c = s[i++];
        unsigned cp;
        if (c != '\\' || i >= n) {
            out_byte(o, c);
            continue;
        }
        c = s[i++];
        switch (c) {
        case 'n': out_byte(o, '\n'); break;
        case 't': out_byte(o, '\t'); break;
        case 'r': out_byte(o, '\r'); break;
        case 'b': out_byte(o, '\b'); break;
        case 'f': out_byte(o, '\f'); break;
        case 'u':
            if (n - i < 4)
                return;
            cp = hex4(s + i);
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && n - i >= 6 && s[i] == '\\' && s[i + 1] == 'u') {
                unsigned lo = hex4(s + i + 2);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            put_utf8(o, cp);
            break;
        default: out_byte(o, c); break; /* " \ / */
        }
    }
}

static int jsmn_on_data(void *user, const char *data, size_t len)
{
    jsmn_parser p;
    int n, choices, delta, content;
    if (sse_is_done(data, len))
        return 1;
    jsmn_init(&p);
    n = jsmn_parse(&p, data, len, g_jtoks, TOKENS);
    if (n < 1) {
        ((out_buf *)user)->bad++; /* skipped, as in (2) */
        return 0;
    }
    choices = jsmn_get(data, g_jtoks, n, 0, "choices");
    if (choices < 0 || g_jtoks[choices].type != JSMN_ARRAY || g_jtoks[choices].size < 1)
        return 0;
    delta = jsmn_get(data, g_jtoks, n, choices + 1, "delta");
    content = jsmn_get(data, g_jtoks, n, delta, "content");
    if (content >= 0 && g_jtoks[content].type == JSMN_STRING)
        unescape(data + g_jtoks[content].start,
                 (size_t)(g_jtoks[content].end - g_jtoks[content].start), (out_buf *)user);
    return 0;
}

PASS int pass_jsmn(const char *in, size_t n, out_buf *o);
PASS int pass_jsmn(const char *in, size_t n, out_buf *o)
{
    return feed_lines(in, n, jsmn_on_data, o);
}

/* ---- (4) memchr ---------------------------------------------------------------- */

PASS size_t pass_memchr(const char *in, size_t n);
PASS size_t pass_memchr(const char *in, size_t n)
{
    size_t lines = 0, off = 0;
    while (off < n) {
        size_t piece = n - off < g_read ? n - off : g_read;
        const char *p = in + off, *end = in + off + piece;
        while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            lines++;
            p++;
        }
        off += piece;
    }
    return lines;
}

/* ---- driver ------------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        size_t got;
        if (cap - n < 65536) {
            char *b = realloc(buf, cap * 2 + 65536);
            if (b == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
            cap = cap * 2 + 65536;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int out_new(out_buf *o, size_t cap)
{
    o->buf = malloc(cap + 1);
    o->cap = cap;
    o->len = 0;
    o->overflow = 0;
    o->bad = 0;
    return o->buf != NULL;
}

static int same(const out_buf *a, const out_buf *b)
{
    return a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* MB/s of each pass, each repeated for about half a second. */
static void timed(const char *in, size_t n)
{
    static const char *const names[] = {"wisp", "cjson", "jsmn", "memchr", "wisp_sse", "lines"};
    out_buf o;
    size_t k, ev;
    if (!out_new(&o, n))
        return;
    for (k = 0; k < sizeof names / sizeof names[0]; k++) {
        long reps = 0;
        double t0 = now_s(), t;
        do {
            o.len = 0;
            switch (k) {
            case 0: pass_wisp(in, n, &o); break;
            case 1: pass_cjson(in, n, &o); break;
            case 2: pass_jsmn(in, n, &o); break;
            case 3: pass_memchr(in, n); break;
            case 4: pass_wisp_sse(in, n, &ev); break;
            default: pass_lines(in, n, &ev); break;
            }
            reps++;
            t = now_s() - t0;
        } while (t < 0.5);
        printf("%-9s %9.1f MB/s\n", names[k], (double)n * (double)reps / t / 1e6);
    }
    free(o.buf);
}

int main(int argc, char **argv)
{
    const char *stream = NULL, *expect = NULL;
    int do_time = 0, i, ok;
    size_t n, lines, ev_wisp = 0, ev_lines = 0;
    char *in;
    out_buf ow, oc, oj, oe = {NULL, 0, 0, 0, 0};
    int rw, rc, rj, rs, rl;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) {
            expect = argv[++i];
        } else if (strcmp(argv[i], "--read") == 0 && i + 1 < argc) {
            g_read = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--time") == 0) {
            do_time = 1;
        } else if (stream == NULL && argv[i][0] != '-') {
            stream = argv[i];
        } else {
            stream = NULL;
            break;
        }
    }
    if (stream == NULL || g_read == 0) {
        fprintf(stderr, "usage: receive STREAM [--expect TEXT] [--read N] [--time]\n");
        return 2;
    }
    in = read_file(stream, &n);
    if (in == NULL) {
        perror(stream);
        return 2;
    }
    if (do_time) {
        timed(in, n);
        free(in);
        return 0;
    }
    if (!out_new(&ow, n) || !out_new(&oc, n) || !out_new(&oj, n))
        return 2;
    if (expect != NULL && (oe.buf = read_file(expect, &oe.len)) == NULL) {
        perror(expect);
        return 2;
    }

    rw = pass_wisp(in, n, &ow);
    rc = pass_cjson(in, n, &oc);
    rj = pass_jsmn(in, n, &oj);
    lines = pass_memchr(in, n);
    rs = pass_wisp_sse(in, n, &ev_wisp);
    rl = pass_lines(in, n, &ev_lines);

    ok = rw == 0 && rc == 0 && rj == 0 && rs == 0 && rl == 0 && oc.bad == 0 && oj.bad == 0 &&
         !ow.overflow && !oc.overflow && !oj.overflow && same(&ow, &oc) &&
         same(&ow, &oj) && (expect == NULL || same(&ow, &oe)) && ev_wisp == ev_lines;
    printf("{\"bytes\": %lu, \"read\": %lu, \"lines\": %lu, \"events\": %lu, "
           "\"events_lines\": %lu, \"text_bytes\": %lu, \"cjson_text_bytes\": %lu, "
           "\"jsmn_text_bytes\": %lu, \"expected_text_bytes\": %ld, \"status\": [%d, %d, %d, %d, %d], "
           "\"cjson_bad_events\": %lu, \"jsmn_bad_events\": %lu, \"agree\": %s}\n",
           (unsigned long)n, (unsigned long)g_read, (unsigned long)lines, (unsigned long)ev_wisp,
           (unsigned long)ev_lines, (unsigned long)ow.len, (unsigned long)oc.len,
           (unsigned long)oj.len, expect != NULL ? (long)oe.len : -1L, rw, rc, rj, rs, rl,
           (unsigned long)oc.bad, (unsigned long)oj.bad, ok ? "true" : "false");
    free(ow.buf);
    free(oc.buf);
    free(oj.buf);
    free(oe.buf);
    free(in);
    return ok ? 0 : 1;
}
