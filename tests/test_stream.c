/*
 * test_stream.c - the SSE decoder and the chunk reader together, over
 * streams in the shapes real servers send.
 *
 * Two sources:
 *  - tests/fixtures/stream_*.http with their .expect files (the same ones
 *    test_wire replays through the whole client): the HTTP framing is
 *    removed here and the body replayed into wisp_sse + wisp_reply;
 *  - streams built in this file for what a fixture cannot show well
 *    (1 MB replies, cancellation, events counted one by one).
 * Every stream is replayed whole, one byte at a time and in pseudo-random
 * splits; all replays must agree.  Each piece lives in its own heap block of
 * exactly its size, so ASan sees a read past it or a pointer kept into it.
 *
 * Usage: test_stream [FIXTURE_DIR]   (default tests/fixtures)
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "needs.h"

#include "expect_format.h"

#include "wisp_sse.h"
#include "wisp_reply.h"

/* ---- growable byte buffer ------------------------------------------------ */

typedef struct bytes {
    char *s;
    size_t len, cap;
} bytes;

static void put(bytes *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap + n + 1) * 2;
        b->s = realloc(b->s, cap);
        assert_non_null(b->s);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void puts_(bytes *b, const char *s) { put(b, s, strlen(s)); }

static void putf(bytes *b, const char *fmt, ...)
{
    char *tmp;
    int n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    tmp = malloc((size_t)n + 1);
    assert_non_null(tmp);
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    put(b, tmp, (size_t)n);
    free(tmp);
}

/* One SSE event carrying data. */
static void sse_data(bytes *b, const char *data) { putf(b, "data: %s\n\n", data); }

static uint32_t fnv1a(uint32_t h, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

#define FNV_INIT 2166136261u

/* Like wisp_response_init (wisp_client.c), so that this test needs only the
 * streaming and JSON files. */
static void resp_init(wisp_response *resp, char *content, size_t content_cap, char *reasoning,
                      size_t reasoning_cap)
{
    memset(resp, 0, sizeof *resp);
    resp->content.buf = content;
    resp->content.cap = content_cap;
    resp->reasoning.buf = reasoning;
    resp->reasoning.cap = reasoning_cap;
    wisp_text_reset(&resp->content);
    wisp_text_reset(&resp->reasoning);
}

/* ---- one replay ------------------------------------------------------------ */

typedef struct opts {
    size_t sse_cap;     /* the decoder's buffer */
    size_t ntoks;
    size_t scratch_cap; /* 0: no scratch at all (NULL) */
    size_t content_cap;
    size_t reasoning_cap;
    int cancel_type;    /* cancel at the first event of this type, -1 none */
    bool keep_text;     /* keep every callback text (off for huge streams) */
} opts;

static opts default_opts(void)
{
    opts o;
    o.sse_cap = 4096 - WISP_RX_CHUNK;
    o.ntoks = 128;
    o.scratch_cap = 64;
    o.content_cap = 65536;
    o.reasoning_cap = 65536;
    o.cancel_type = -1;
    o.keep_text = true;
    return o;
}

typedef struct result {
    wisp_status status;
    wisp_response resp;
    char *content, *reasoning;
    bytes cb_content, cb_reasoning; /* what the callback saw */
    bytes log;                      /* role, finish, usage events in order */
    unsigned count[8];              /* events per type */
    uint64_t cb_content_len;
    uint32_t cb_content_hash;
    size_t largest_event;
    bool delivered_before_first_text; /* must stay false */
    bool done;
    const opts *o;
} result;

static int on_event(void *user, const wisp_event *ev)
{
    result *r = (result *)user;
    assert_true(ev->type <= WISP_EVENT_TOOL_CALL);
    r->count[ev->type]++;
    switch (ev->type) {
    case WISP_EVENT_CONTENT:
    case WISP_EVENT_REASONING:
        assert_true(ev->len > 0); /* no empty text events */
        assert_non_null(ev->text);
        assert_null(ev->usage);
        if (ev->len > r->largest_event)
            r->largest_event = ev->len;
        if (ev->type == WISP_EVENT_CONTENT) {
            r->cb_content_len += ev->len;
            r->cb_content_hash = fnv1a(r->cb_content_hash, ev->text, ev->len);
            if (r->o->keep_text)
                put(&r->cb_content, ev->text, ev->len);
        } else if (r->o->keep_text) {
            put(&r->cb_reasoning, ev->text, ev->len);
        }
        break;
    case WISP_EVENT_ROLE:
    case WISP_EVENT_FINISH:
        assert_null(ev->usage);
        puts_(&r->log, ev->type == WISP_EVENT_ROLE ? "role " : "finish ");
        put(&r->log, ev->text, ev->len);
        puts_(&r->log, "\n");
        break;
    case WISP_EVENT_TOOL_CALL:
        assert_null(ev->usage);
        putf(&r->log, "tool %u ", (unsigned)ev->tool_index);
        put(&r->log, ev->text, ev->len);
        puts_(&r->log, "\n");
        break;
    case WISP_EVENT_USAGE:
        assert_non_null(ev->usage);
        assert_int_equal(ev->len, 0);
        putf(&r->log, "usage %u %u %u\n", (unsigned)ev->usage->prompt_tokens,
             (unsigned)ev->usage->completion_tokens, (unsigned)ev->usage->total_tokens);
        break;
    default:
        fail_msg("unexpected event type %d", (int)ev->type);
    }
    return (int)ev->type == r->o->cancel_type ? 1 : 0;
}

static uint32_t rng_next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

enum { SPLIT_WHOLE = 0, SPLIT_BYTES = 1 }; /* others: random, the seed */

/* Feeds body through wisp_sse + wisp_reply the way the client does. */
static void replay(const char *body, size_t n, uint32_t split, const opts *o, result *r)
{
    uint8_t *ssebuf = malloc(o->sse_cap ? o->sse_cap : 1);
    wisp_token *toks = malloc((o->ntoks ? o->ntoks : 1) * sizeof *toks);
    char *scratch = o->scratch_cap ? malloc(o->scratch_cap) : NULL;
    wisp_sse sse;
    wisp_reply st;
    wisp_sse_out ev;
    wisp_status s = WISP_OK;
    size_t off = 0;
    uint32_t seed = split * 2654435761u + 7;

    memset(r, 0, sizeof *r);
    r->o = o;
    r->cb_content_hash = FNV_INIT;
    r->content = calloc(1, o->content_cap + 1);
    r->reasoning = calloc(1, o->reasoning_cap + 1);
    assert_non_null(ssebuf);
    assert_non_null(toks);
    resp_init(&r->resp, r->content, o->content_cap, r->reasoning, o->reasoning_cap);
    wisp_sse_init(&sse, ssebuf, o->sse_cap);
    wisp_reply_init(&st, &r->resp, toks, o->ntoks, on_event, r);
    wisp_reply_scratch(&st, scratch, o->scratch_cap);

    while (off < n && s == WISP_OK && !st.done) {
        size_t piece = n - off, pos = 0;
        uint8_t *copy;
        if (split == SPLIT_BYTES) {
            piece = 1;
        } else if (split != SPLIT_WHOLE) {
            size_t lim = (rng_next(&seed) & 3) == 0 ? 1500 : 17;
            piece = 1 + rng_next(&seed) % lim;
            if (piece > n - off)
                piece = n - off;
        }
        copy = malloc(piece);
        assert_non_null(copy);
        memcpy(copy, body + off, piece);
        while (pos < piece && s == WISP_OK && !st.done) {
            size_t used = 0;
            bool had_text = r->resp.content.full_len + r->resp.reasoning.full_len > 0;
            s = wisp_sse_feed(&sse, copy + pos, piece - pos, &used, &ev);
            if (s != WISP_OK)
                break;
            pos += used;
            if (ev.kind != WISP_SSE_NEED_MORE)
                s = wisp_reply_event(&st, ev.data, ev.len,
                                     ev.kind == WISP_SSE_ERROR_LINE || ev.error_event);
            if (!had_text && st.delivered &&
                r->resp.content.full_len + r->resp.reasoning.full_len == 0)
                r->delivered_before_first_text = true;
        }
        free(copy);
        off += piece;
    }
    if (s == WISP_OK && !st.done) {
        s = wisp_sse_finish(&sse, &ev);
        if (s == WISP_OK && ev.kind != WISP_SSE_NEED_MORE)
            s = wisp_reply_event(&st, ev.data, ev.len,
                                 ev.kind == WISP_SSE_ERROR_LINE || ev.error_event);
    }
    if (s == WISP_OK)
        s = wisp_reply_end(&st, false);
    r->status = s;
    r->done = st.done;
    /* delivered means: text reached the caller */
    assert_int_equal(st.delivered,
                     r->resp.content.full_len + r->resp.reasoning.full_len > 0);
    assert_false(r->delivered_before_first_text);
    free(ssebuf);
    free(toks);
    free(scratch);
}

static void result_free(result *r)
{
    free(r->content);
    free(r->reasoning);
    free(r->cb_content.s);
    free(r->cb_reasoning.s);
    free(r->log.s);
}

/* Everything that must not depend on how the input was split. */
static void same_result(const result *a, const result *b, const char *what, uint32_t split)
{
    if (a->status != b->status)
        fail_msg("%s split %u: status %s vs %s", what, (unsigned)split, status_name(a->status),
                 status_name(b->status));
    assert_string_equal(a->content, b->content);
    assert_string_equal(a->reasoning, b->reasoning);
    assert_int_equal(a->resp.content.full_len, b->resp.content.full_len);
    assert_int_equal(a->resp.reasoning.full_len, b->resp.reasoning.full_len);
    assert_string_equal(a->resp.finish_reason, b->resp.finish_reason);
    assert_string_equal(a->resp.role, b->resp.role);
    assert_string_equal(a->resp.id, b->resp.id);
    assert_string_equal(a->resp.model, b->resp.model);
    assert_string_equal(a->resp.error_message, b->resp.error_message);
    assert_string_equal(a->resp.error_type, b->resp.error_type);
    assert_string_equal(a->resp.error_code, b->resp.error_code);
    assert_memory_equal(&a->resp.usage, &b->resp.usage, sizeof a->resp.usage);
    assert_true(a->resp.created == b->resp.created);
    assert_memory_equal(a->count, b->count, sizeof a->count);
    assert_int_equal(a->cb_content_len, b->cb_content_len);
    assert_int_equal(a->cb_content_hash, b->cb_content_hash);
    assert_string_equal(a->log.s ? a->log.s : "", b->log.s ? b->log.s : "");
    assert_int_equal(a->done, b->done);
}

/* What the callback saw is what the buffers hold (when nothing was cut). */
static void callback_matches_buffers(const result *r)
{
    if (!r->o->keep_text)
        return;
    if (!r->resp.content.truncated) {
        assert_int_equal(r->cb_content.len, r->resp.content.len);
        assert_memory_equal(r->cb_content.s ? r->cb_content.s : "", r->content,
                            r->resp.content.len);
    }
    if (!r->resp.reasoning.truncated) {
        assert_int_equal(r->cb_reasoning.len, r->resp.reasoning.len);
        assert_memory_equal(r->cb_reasoning.s ? r->cb_reasoning.s : "", r->reasoning,
                            r->resp.reasoning.len);
    }
    assert_int_equal(r->cb_content_len, r->resp.content.full_len);
}

#define N_SPLITS 14

/* Replays body in every split; *whole gets the whole replay's result. */
static void replay_all(const char *body, size_t n, const opts *o, result *whole,
                       const char *what)
{
    uint32_t split;
    replay(body, n, SPLIT_WHOLE, o, whole);
    callback_matches_buffers(whole);
    for (split = 1; split < N_SPLITS; split++) {
        result r;
        replay(body, n, split, o, &r);
        callback_matches_buffers(&r);
        same_result(whole, &r, what, split);
        result_free(&r);
    }
}

/* ---- fixtures -------------------------------------------------------------- */

static const char *fixture_dir = "tests/fixtures";

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

typedef struct fixture {
    char name[96];
    char *http;
    size_t http_len;
    char *expect;
    char *keys[40];
    char *values[40];
    int nkeys;
} fixture;

static const char *fx_get(const fixture *fx, const char *key)
{
    int i;
    for (i = 0; i < fx->nkeys; i++)
        if (strcmp(fx->keys[i], key) == 0)
            return fx->values[i];
    return NULL;
}

static long fx_num(const fixture *fx, const char *key, long dflt)
{
    const char *v = fx_get(fx, key);
    return v != NULL ? strtol(v, NULL, 10) : dflt;
}

static void fx_parse(fixture *fx)
{
    char *line = fx->expect;
    while (line != NULL && *line != '\0' && fx->nkeys < 40) {
        char *nl = strchr(line, '\n');
        char *sp;
        if (nl != NULL)
            *nl = '\0';
        if (line[0] != '#' && line[0] != '\0') {
            sp = strchr(line, ' ');
            fx->keys[fx->nkeys] = line;
            fx->values[fx->nkeys] = sp != NULL ? sp + 1 : line + strlen(line);
            if (sp != NULL) {
                *sp = '\0';
                expect_unescape(sp + 1, strlen(sp + 1));
            }
            fx->nkeys++;
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
}

/* Removes the HTTP framing: status, then the body (chunked, by length or
 * until the end).  Returns the body in a new block. */
static char *http_body(const char *http, size_t n, int *status, size_t *body_len)
{
    const char *end = strstr(http, "\r\n\r\n");
    const char *p, *te, *cl;
    char *head, *body, *q;
    size_t hl, blen = 0;

    assert_non_null(end);
    hl = (size_t)(end - http) + 4;
    head = malloc(hl + 1);
    memcpy(head, http, hl);
    head[hl] = '\0';
    for (q = head; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q - 'A' + 'a');
    assert_int_equal(sscanf(head, "http/1.%*d %d", status), 1);
    te = strstr(head, "\r\ntransfer-encoding: chunked");
    cl = strstr(head, "\r\ncontent-length:");
    p = http + hl;
    body = malloc(n - hl + 1);
    if (te != NULL) {
        for (;;) {
            size_t size = 0;
            while (hexval((unsigned char)*p) >= 0)
                size = size * 16 + (size_t)hexval((unsigned char)*p++);
            p = strstr(p, "\r\n");
            assert_non_null(p);
            p += 2;
            if (size == 0)
                break;
            memcpy(body + blen, p, size);
            blen += size;
            p += size + 2;
        }
    } else if (cl != NULL) {
        blen = (size_t)strtoul(cl + 17, NULL, 10);
        memcpy(body, p, blen);
    } else {
        blen = n - hl;
        memcpy(body, p, blen);
    }
    free(head);
    *body_len = blen;
    return body;
}

static void check_text(const fixture *fx, const char *key, const char *got)
{
    const char *want = fx_get(fx, key);
    if (want != NULL && strcmp(want, got) != 0)
        fail_msg("%s: %s\n  want [%s]\n  got  [%s]", fx->name, key, want, got);
}

static void test_fixture(void **state)
{
    fixture *fx = (fixture *)*state;
    opts o = default_opts();
    result r;
    int http_status = 0;
    size_t blen;
    char *body;
    const char *v;

    WISP_FIXTURE_NEEDS(fx_get(fx, "needs"));
    o.sse_cap = (size_t)fx_num(fx, "work", 4096) - WISP_RX_CHUNK;
    o.ntoks = (size_t)fx_num(fx, "tokens", 128);
    o.content_cap = (size_t)fx_num(fx, "content_cap", 65536);
    body = http_body(fx->http, fx->http_len, &http_status, &blen);
    replay_all(body, blen, &o, &r, fx->name);

    if (fx_get(fx, "http") != NULL)
        assert_int_equal(http_status, fx_num(fx, "http", 0));
    v = fx_get(fx, "status");
    if (v != NULL && strcmp(v, status_name(r.status)) != 0)
        fail_msg("%s: status %s, want %s (error '%s')", fx->name, status_name(r.status), v,
                 r.resp.error_message);
    check_text(fx, "content", r.content);
    check_text(fx, "reasoning", r.reasoning);
    check_text(fx, "finish", r.resp.finish_reason);
    check_text(fx, "role", r.resp.role);
    check_text(fx, "id", r.resp.id);
    check_text(fx, "model", r.resp.model);
    check_text(fx, "error_message", r.resp.error_message);
    check_text(fx, "error_type", r.resp.error_type);
    check_text(fx, "error_code", r.resp.error_code);
    if (fx_get(fx, "content_truncated") != NULL)
        assert_int_equal(r.resp.content.truncated, fx_num(fx, "content_truncated", 0));
    if (fx_get(fx, "full_len") != NULL)
        assert_int_equal(r.resp.content.full_len, fx_num(fx, "full_len", 0));
    v = fx_get(fx, "usage");
    if (v != NULL) {
        unsigned p = 0, c = 0, t = 0;
        char want[64];
        assert_int_equal(sscanf(v, "%u %u %u", &p, &c, &t), 3);
        assert_true(r.resp.usage.present);
        assert_int_equal(r.resp.usage.prompt_tokens, p);
        assert_int_equal(r.resp.usage.completion_tokens, c);
        assert_int_equal(r.resp.usage.total_tokens, t);
        /* one usage event, with these numbers */
        if (r.status == WISP_OK) {
            assert_int_equal(r.count[WISP_EVENT_USAGE], 1);
            snprintf(want, sizeof want, "usage %u %u %u\n", p, c, t);
            assert_non_null(strstr(r.log.s, want));
        }
    }
    v = fx_get(fx, "usage_details");
    if (v != NULL) {
        unsigned cached = 0, reasoning = 0;
        assert_int_equal(sscanf(v, "%u %u", &cached, &reasoning), 2);
        assert_int_equal(r.resp.usage.cached_tokens, cached);
        assert_int_equal(r.resp.usage.reasoning_tokens, reasoning);
    }
    assert_true(r.count[WISP_EVENT_ROLE] <= 1);
    assert_true(r.count[WISP_EVENT_FINISH] <= 1);
    result_free(&r);
    free(body);
}

static fixture *fixtures;
static int fixture_count;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const fixture *)a)->name, ((const fixture *)b)->name);
}

static int load_fixtures(void)
{
    DIR *d = opendir(fixture_dir);
    struct dirent *e;
    char path[1024];
    if (d == NULL) {
        fprintf(stderr, "test_stream: cannot open %s\n", fixture_dir);
        return -1;
    }
    fixtures = calloc(128, sizeof *fixtures);
    while ((e = readdir(d)) != NULL && fixture_count < 128) {
        size_t l = strlen(e->d_name);
        fixture *fx;
        size_t elen;
        if (strncmp(e->d_name, "stream_", 7) != 0 || l < 6 ||
            strcmp(e->d_name + l - 5, ".http") != 0 || l - 5 >= sizeof fx->name)
            continue;
        fx = &fixtures[fixture_count];
        memcpy(fx->name, e->d_name, l - 5);
        fx->name[l - 5] = '\0';
        snprintf(path, sizeof path, "%s/%s.http", fixture_dir, fx->name);
        fx->http = read_file(path, &fx->http_len);
        snprintf(path, sizeof path, "%s/%s.expect", fixture_dir, fx->name);
        fx->expect = read_file(path, &elen);
        if (fx->http == NULL || fx->expect == NULL) {
            fprintf(stderr, "test_stream: %s: missing .http or .expect\n", fx->name);
            closedir(d);
            return -1;
        }
        fx_parse(fx);
        fixture_count++;
    }
    closedir(d);
    qsort(fixtures, (size_t)fixture_count, sizeof *fixtures, by_name);
    return 0;
}

/* ---- streams built here ---------------------------------------------------- */

/* A chunk with one delta field; text is inserted raw (already JSON-escaped). */
static void chunk(bytes *b, const char *field, const char *text)
{
    putf(b, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"%s\":\"%s\"},"
            "\"finish_reason\":null}]}\n\n", field, text);
}

static void finish_chunk(bytes *b, const char *reason)
{
    putf(b, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"%s\"}]}\n\n", reason);
}

/* Runs b with default options and checks content/reasoning/status. */
static void expect_stream(const bytes *b, wisp_status want, const char *content,
                          const char *reasoning, result *out)
{
    opts o = default_opts();
    static opts keep;
    result r;
    keep = o;
    replay_all(b->s, b->len, &keep, &r, "built");
    if (r.status != want)
        fail_msg("status %s, want %s (error '%s')", status_name(r.status), status_name(want),
                 r.resp.error_message);
    if (content != NULL)
        assert_string_equal(r.content, content);
    if (reasoning != NULL)
        assert_string_equal(r.reasoning, reasoning);
    if (out != NULL) {
        *out = r;
        out->o = &keep;
    } else {
        result_free(&r);
    }
}

static void test_surrogates_across_deltas(void **state)
{
    bytes b = {0};
    result r;
    (void)state;
    /* content and reasoning each keep their own half, interleaved */
    chunk(&b, "reasoning_content", "r\\ud83c");
    chunk(&b, "content", "c\\ud83d");
    chunk(&b, "reasoning_content", "\\udf89!");
    chunk(&b, "content", "\\ude00?");
    finish_chunk(&b, "stop");
    sse_data(&b, "[DONE]");
    expect_stream(&b, WISP_OK, "c\xF0\x9F\x98\x80?", "r\xF0\x9F\x8E\x89!", &r);
    result_free(&r);
    free(b.s);

    /* a lone half before ordinary text, and one left at the end */
    memset(&b, 0, sizeof b);
    chunk(&b, "content", "a\\ud83c");
    chunk(&b, "content", "b");
    chunk(&b, "content", "\\udf89c");  /* a low half alone */
    chunk(&b, "content", "d\\ud83d");
    sse_data(&b, "[DONE]");
    expect_stream(&b, WISP_OK, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "cd\xEF\xBF\xBD", NULL, NULL);
    free(b.s);

    /* kept half flushed at end of body without [DONE] or finish */
    memset(&b, 0, sizeof b);
    chunk(&b, "content", "x\\ud83c");
    expect_stream(&b, WISP_ERR_STREAM_TRUNCATED, "x\xEF\xBF\xBD", NULL, NULL);
    free(b.s);

    /* escaped pair within one delta, and \\u escapes for BMP text */
    memset(&b, 0, sizeof b);
    chunk(&b, "content", "\\ud83d\\ude00 caf\\u00e9 \\\"q\\\" \\\\ \\/ \\t\\n");
    sse_data(&b, "[DONE]");
    expect_stream(&b, WISP_OK, "\xF0\x9F\x98\x80 caf\xC3\xA9 \"q\" \\ / \t\n", NULL, NULL);
    free(b.s);
}

static void test_utf8_split_across_deltas(void **state)
{
    bytes b = {0};
    (void)state;
    /* raw UTF-8 cut inside a character between two deltas */
    chunk(&b, "content", "\xE6\x97");
    chunk(&b, "content", "\xA5\xE6\x9C\xAC \xF0\x9F");
    chunk(&b, "content", "\x8E\x89!");
    finish_chunk(&b, "stop");
    expect_stream(&b, WISP_OK, "\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89!", NULL, NULL);
    free(b.s);
}

static void test_usage_last_wins_once(void **state)
{
    bytes b = {0};
    result r;
    int i;
    (void)state;
    for (i = 1; i <= 5; i++)
        putf(&b, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%d\"}}],"
                 "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n",
             i, i, 7 + i);
    sse_data(&b, "{\"choices\":[],\"usage\":null}");
    /* usage that is not an object is ignored, not fatal */
    sse_data(&b, "{\"choices\":[],\"usage\":[99]}");
    sse_data(&b, "{\"choices\":[],\"usage\":\"none\"}");
    finish_chunk(&b, "stop");
    sse_data(&b, "[DONE]");
    expect_stream(&b, WISP_OK, "12345", NULL, &r);
    assert_int_equal(r.resp.usage.completion_tokens, 5);
    assert_int_equal(r.resp.usage.total_tokens, 12);
    assert_true(r.resp.usage.has_total_tokens);
    assert_int_equal(r.count[WISP_EVENT_USAGE], 1);
    assert_string_equal(r.log.s, "finish stop\nusage 7 5 12\n");
    result_free(&r);
    free(b.s);

    /* the last usage object wins whole: a count in it that does not fit
     * is absent there, never an earlier value or a made-up one */
    memset(&b, 0, sizeof b);
    sse_data(&b, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}],"
                 "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":1,\"total_tokens\":8}}");
    sse_data(&b, "{\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":-1,"
                 "\"total_tokens\":8e0,\"prompt_tokens_details\":\"x\"}}");
    finish_chunk(&b, "stop");
    sse_data(&b, "[DONE]");
    expect_stream(&b, WISP_OK, "a", NULL, &r);
    assert_true(r.resp.usage.present);
    assert_true(r.resp.usage.has_prompt_tokens);
    assert_false(r.resp.usage.has_completion_tokens);
    assert_false(r.resp.usage.has_total_tokens);
    assert_false(r.resp.usage.has_cached_tokens);
    assert_string_equal(r.log.s, "finish stop\nusage 7 0 0\n");
    result_free(&r);
    free(b.s);
}

static void test_role_finish_once(void **state)
{
    bytes b = {0};
    result r;
    (void)state;
    sse_data(&b, "{\"id\":\"\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"\",\"content\":null}}]}");
    sse_data(&b, "{\"id\":\"first\",\"created\":1700000000,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"a\"},\"finish_reason\":\"\"}]}");
    sse_data(&b, "{\"id\":\"second\",\"created\":5,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"b\"},\"finish_reason\":\"stop\"}]}");
    sse_data(&b, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"tool\",\"content\":\"c\"},\"finish_reason\":\"length\"}]}");
    sse_data(&b, "[DONE]");
    expect_stream(&b, WISP_OK, "abc", NULL, &r);
    assert_string_equal(r.log.s, "role assistant\nfinish stop\n");
    assert_string_equal(r.resp.role, "assistant");
    assert_string_equal(r.resp.finish_reason, "stop");
    assert_string_equal(r.resp.id, "first");
    assert_true(r.resp.created == 1700000000);
    result_free(&r);
    free(b.s);
}

static void test_choice_index(void **state)
{
    bytes b = {0};
    (void)state;
    /* n > 1: only the choice with index 0 counts, wherever it sits */
    sse_data(&b, "{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"X\"}},{\"index\":0,\"delta\":{\"content\":\"a\"}}]}");
    sse_data(&b, "{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"Y\"},\"finish_reason\":\"stop\"}]}");
    sse_data(&b, "{\"choices\":[{\"delta\":{\"content\":\"b\"}}]}");
    sse_data(&b, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"c\"},\"finish_reason\":\"stop\"}]}");
    sse_data(&b, "[DONE]");
    expect_stream(&b, WISP_OK, "abc", NULL, NULL);
    free(b.s);
}

static void test_odd_but_valid_chunks(void **state)
{
    bytes b = {0};
    result r;
    (void)state;
    sse_data(&b, "{\"error\":null,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}");
    sse_data(&b, "{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"other\"}},"
                 "{\"index\":0,\"delta\":{\"content\":\"b\",\"refusal\":null}}],\"usage\":null}");
    sse_data(&b, "{\"choices\":null,\"id\":null}");
    sse_data(&b, "{}");
    sse_data(&b, "  ");
    puts_(&b, "data:\n\n");
    /* both reasoning fields with the same text: taken once */
    sse_data(&b, "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"R\",\"reasoning\":\"R\"}}]}");
    sse_data(&b, "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":null,\"reasoning\":\"S\"}}]}");
    /* extra fields of every kind are skipped */
    sse_data(&b, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"c\",\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]},"
                 "\"logprobs\":null,\"extra_content\":{\"google\":{\"thought_signature\":\"abc\"}}}],"
                 "\"timings\":{\"prompt_ms\":1.5},\"provider\":\"P\",\"system_fingerprint\":null}");
    sse_data(&b, "\t[DONE] \r");
    expect_stream(&b, WISP_OK, "abc", "RS", &r);
    assert_true(r.done);
    result_free(&r);
    free(b.s);
}

/* A known field of the wrong type fails the reply, in a stream as in a
 * whole body (test_json's completion cases); what came before it stays. */
static void test_wrong_types_fail(void **state)
{
    WISP_NEEDS(WISP_PARTS);
    static const char *const bad[] = {
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":42}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":[1]}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"refusal\":{}}}]}",
        "{\"choices\":[{\"index\":0,\"delta\":\"weird\"}]}",
        "{\"choices\":{\"index\":0}}",
        "{\"choices\":[7,{\"index\":0,\"delta\":{\"content\":\"b\"}}]}",
        "{\"choices\":[{\"index\":0,\"finish_reason\":true}]}",
        "{\"id\":{},\"choices\":[]}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"text\",\"text\":5}]}}]}",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bytes b = {0};
        result r;
        chunk(&b, "content", "kept");
        sse_data(&b, bad[i]);
        sse_data(&b, "[DONE]");
        expect_stream(&b, WISP_ERR_JSON, "kept", NULL, &r);
        result_free(&r);
        free(b.s);
    }
}

static void test_long_fields_cut(void **state)
{
    bytes b = {0};
    result r;
    char id[400];
    (void)state;
    memset(id, 'i', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    putf(&b, "data: {\"id\":\"%s\",\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"%s\"}]}\n\n",
         id, id, id);
    expect_stream(&b, WISP_OK, "x", NULL, &r);
    assert_true(r.resp.fields_truncated);
    assert_int_equal(strlen(r.resp.id), WISP_ID_CAP - 1);
    assert_int_equal(strlen(r.resp.model), WISP_MODEL_CAP - 1);
    assert_int_equal(strlen(r.resp.finish_reason), WISP_FINISH_CAP - 1);
    result_free(&r);
    free(b.s);
}

static void test_errors(void **state)
{
    WISP_NEEDS(WISP_ERROR_SHAPES);
    bytes b = {0};
    result r;
    (void)state;

    /* {"error": "text", "message": ...} after content */
    chunk(&b, "content", "kept");
    sse_data(&b, "{\"error\":\"SyntaxError\",\"message\":\"Unexpected token\"}");
    sse_data(&b, "[DONE]");
    expect_stream(&b, WISP_ERR_API, "kept", NULL, &r);
    assert_string_equal(r.resp.error_message, "Unexpected token");
    result_free(&r);
    free(b.s);

    /* event: error whose data is no JSON: the text itself */
    memset(&b, 0, sizeof b);
    puts_(&b, "event: error\ndata: upstream connection lost \n\n");
    expect_stream(&b, WISP_ERR_API, "", NULL, &r);
    assert_string_equal(r.resp.error_message, "upstream connection lost");
    result_free(&r);
    free(b.s);

    /* an error line that is no JSON */
    memset(&b, 0, sizeof b);
    puts_(&b, "error: model crashed\r\n\r\n");
    expect_stream(&b, WISP_ERR_API, "", NULL, &r);
    assert_string_equal(r.resp.error_message, "model crashed");
    result_free(&r);
    free(b.s);

    /* event: error with a JSON error object */
    memset(&b, 0, sizeof b);
    puts_(&b, "event: error\ndata: {\"error\":{\"message\":\"quota\",\"type\":\"insufficient_quota\",\"code\":null}}\n\n");
    expect_stream(&b, WISP_ERR_API, "", NULL, &r);
    assert_string_equal(r.resp.error_message, "quota");
    assert_string_equal(r.resp.error_type, "insufficient_quota");
    result_free(&r);
    free(b.s);

    /* malformed */
    {
        static const char *const bad[] = {
            "{\"choices\":[", "not json", "42", "\"str\"", "[1,2]", "null", "[DONE]x",
            "[done]", "{\"choices\":[{\"delta\":{\"content\":\"bad \\x escape\"}}]}",
            "{\"a\":1}{\"b\":2}",
        };
        size_t i;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            memset(&b, 0, sizeof b);
            chunk(&b, "content", "ok");
            sse_data(&b, bad[i]);
            sse_data(&b, "[DONE]");
            expect_stream(&b, WISP_ERR_JSON, "ok", NULL, NULL);
            free(b.s);
        }
    }
}

static void test_too_many_tokens(void **state)
{
    bytes b = {0};
    opts o = default_opts();
    result r;
    (void)state;
    o.ntoks = 10;
    sse_data(&b, "{\"choices\":[{\"delta\":{\"content\":\"ok\"}}],\"a\":1}"); /* 10 tokens */
    sse_data(&b, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}],\"a\":1}");
    replay_all(b.s, b.len, &o, &r, "tokens");
    assert_int_equal(r.status, WISP_ERR_TOO_COMPLEX);
    assert_string_equal(r.content, "ok");
    result_free(&r);
    free(b.s);
}

static void test_cancel(void **state)
{
    static const int types[] = {WISP_EVENT_ROLE, WISP_EVENT_REASONING, WISP_EVENT_CONTENT,
                                WISP_EVENT_FINISH, WISP_EVENT_USAGE};
    size_t i;
    bytes b = {0};
    (void)state;
    sse_data(&b, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}");
    chunk(&b, "reasoning", "think");
    chunk(&b, "content", "answer");
    chunk(&b, "content", "\\ud83c"); /* a kept half, flushed at the end */
    finish_chunk(&b, "stop");
    sse_data(&b, "{\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}");
    sse_data(&b, "[DONE]");
    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        opts o = default_opts();
        result r;
        o.cancel_type = types[i];
        replay_all(b.s, b.len, &o, &r, "cancel");
        assert_int_equal(r.status, WISP_ERR_CANCELLED);
        assert_int_equal(r.count[types[i]], 1); /* nothing after the cancel */
        result_free(&r);
    }
    free(b.s);
}

/* Any scratch size (even none) gives the same text; events never exceed the
 * scratch unless the unescaper handed over a larger piece. */
static void test_scratch_sizes(void **state)
{
    static const size_t sizes[] = {0, 1, 4, 8, 13, 64, 4096};
    bytes b = {0}, text = {0}, want = {0};
    int i;
    size_t k;
    (void)state;
    for (i = 0; i < 400; i++) {
        putf(&text, "p%d \\\"\\u00e9\\n\\ud83d\\ude00 ", i);
        putf(&want, "p%d \"\xC3\xA9\n\xF0\x9F\x98\x80 ", i);
    }
    chunk(&b, "content", text.s);   /* one long delta */
    chunk(&b, "content", "tail");
    chunk(&b, "reasoning_content", text.s);
    finish_chunk(&b, "stop");
    puts_(&want, "tail");
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        opts o = default_opts();
        result r;
        o.sse_cap = 32768;
        o.scratch_cap = sizes[k];
        replay_all(b.s, b.len, &o, &r, "scratch");
        assert_int_equal(r.status, WISP_OK);
        assert_string_equal(r.content, want.s);
        assert_int_equal(r.resp.reasoning.len, want.len - 4);
        if (sizes[k] >= 64) /* gathered: few events */
            assert_true(r.count[WISP_EVENT_CONTENT] < 400);
        result_free(&r);
    }
    free(b.s);
    free(text.s);
    free(want.s);
}

static void test_events_after_done_ignored(void **state)
{
    bytes b = {0};
    (void)state;
    chunk(&b, "content", "a");
    sse_data(&b, "[DONE]");
    chunk(&b, "content", "b");
    sse_data(&b, "garbage");
    expect_stream(&b, WISP_OK, "a", NULL, NULL);
    free(b.s);
}

/* Direct calls: ordering rules the replay harness cannot show. */
static void test_direct_calls(void **state)
{
    wisp_reply st;
    wisp_response resp;
    wisp_token toks[64];
    char content[64], reasoning[16], scratch[16];
    const char *js;
    (void)state;

    resp_init(&resp, content, sizeof content, reasoning, sizeof reasoning);
    wisp_reply_init(&st, &resp, toks, 64, NULL, NULL);
    wisp_reply_scratch(&st, scratch, sizeof scratch);

    assert_int_equal(wisp_reply_event(NULL, "{}", 2, false), WISP_ERR_ARG);
    assert_int_equal(wisp_reply_event(&st, NULL, 3, false), WISP_ERR_ARG); /* NULL with a length */
    assert_int_equal(wisp_reply_document(NULL, "{}", 2), WISP_ERR_ARG);
    assert_int_equal(wisp_reply_end(NULL, false), WISP_ERR_ARG);
    wisp_reply_init(NULL, &resp, toks, 64, NULL, NULL);
    wisp_reply_scratch(NULL, scratch, sizeof scratch);

    /* empty data is a no-op */
    assert_int_equal(wisp_reply_event(&st, NULL, 0, false), WISP_OK);
    assert_int_equal(wisp_reply_event(&st, " \r\n", 3, false), WISP_OK);

    /* without a callback the text still lands in resp */
    js = "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}";
    assert_int_equal(wisp_reply_event(&st, js, strlen(js), false), WISP_OK);
    assert_false(st.delivered);
    js = "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi \\ud83c\"}}]}";
    assert_int_equal(wisp_reply_event(&st, js, strlen(js), false), WISP_OK);
    assert_true(st.delivered);
    assert_string_equal(content, "hi ");
    assert_false(st.done);
    /* end without [DONE] or finish: truncated, the kept half flushed */
    assert_int_equal(wisp_reply_end(&st, false), WISP_ERR_STREAM_TRUNCATED);
    assert_string_equal(content, "hi \xEF\xBF\xBD");
    /* again: nothing more */
    assert_int_equal(wisp_reply_end(&st, false), WISP_ERR_STREAM_TRUNCATED);
    assert_string_equal(content, "hi \xEF\xBF\xBD");

    /* [DONE] finishes at once; the end after it is harmless */
    wisp_reply_init(&st, &resp, toks, 64, NULL, NULL);
    assert_int_equal(wisp_reply_event(&st, "[DONE]", 6, false), WISP_OK);
    assert_true(st.done);
    assert_int_equal(wisp_reply_end(&st, false), WISP_OK);
    assert_false(st.delivered);

    /* a whole reply is not truncated without [DONE] or a finish reason */
    wisp_reply_init(&st, &resp, toks, 64, NULL, NULL);
    js = "{\"choices\":[{\"message\":{\"content\":\"x\"}}]}";
    assert_int_equal(wisp_reply_document(&st, js, strlen(js)), WISP_OK);
    assert_int_equal(wisp_reply_end(&st, true), WISP_OK);
    assert_string_equal(content, "x");
    /* with no scratch at all, every piece goes straight out */
    wisp_reply_init(&st, &resp, toks, 64, NULL, NULL);
    wisp_reply_scratch(&st, NULL, 99);
    assert_int_equal(wisp_reply_document(&st, js, strlen(js)), WISP_OK);
    assert_string_equal(content, "x");
}

/* A reasoning buffer too small: cut at a character boundary, counted. */
static void test_small_output_buffers(void **state)
{
    bytes b = {0};
    opts o = default_opts();
    result r;
    (void)state;
    chunk(&b, "reasoning", "\xC3\xA9\xC3\xA9\xC3\xA9");
    chunk(&b, "content", "0123456789");
    finish_chunk(&b, "stop");
    o.content_cap = 4;
    o.reasoning_cap = 4;
    replay_all(b.s, b.len, &o, &r, "small");
    assert_int_equal(r.status, WISP_OK);
    assert_string_equal(r.content, "012");
    assert_string_equal(r.reasoning, "\xC3\xA9");
    assert_true(r.resp.content.truncated);
    assert_int_equal(r.resp.content.full_len, 10);
    assert_int_equal(r.resp.reasoning.full_len, 6);
    assert_string_equal(r.cb_content.s, "0123456789");
    result_free(&r);
    free(b.s);
}

/* ~1 MB of reply in ~25,000 events through a 2 KB work buffer (1792 bytes
 * for the event) and a 256-byte content buffer: exact length and checksum
 * of what the callback saw, in every split. */
static void test_one_megabyte(void **state)
{
    bytes b = {0};
    opts o = default_opts();
    result r;
    uint32_t hash = FNV_INIT;
    uint64_t len = 0;
    int i;
    size_t split;
    (void)state;
    putf(&b, "data: {\"id\":\"chatcmpl-big\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
             "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
    for (i = 0; len < 1000000; i++) {
        char esc[128], raw[128];
        int n;
        /* escapes, 2-, 3- and 4-byte characters, a pair split across events */
        switch (i % 4) {
        case 0:
            snprintf(esc, sizeof esc, "word %d, caf\\u00e9 \\\"x\\\"\\n", i);
            n = snprintf(raw, sizeof raw, "word %d, caf\xC3\xA9 \"x\"\n", i);
            break;
        case 1:
            snprintf(esc, sizeof esc, "\xE6\x97\xA5\xE6\x9C\xAC %d \\ud83c", i);
            n = snprintf(raw, sizeof raw, "\xE6\x97\xA5\xE6\x9C\xAC %d ", i);
            break;
        case 2:
            snprintf(esc, sizeof esc, "\\udf89 tab\\tend %d", i);
            n = snprintf(raw, sizeof raw, "\xF0\x9F\x8E\x89 tab\tend %d", i);
            break;
        default:
            snprintf(esc, sizeof esc, " plain text number %d and some more words. ", i);
            n = snprintf(raw, sizeof raw, " plain text number %d and some more words. ", i);
            break;
        }
        hash = fnv1a(hash, raw, (size_t)n);
        len += (uint64_t)n;
        putf(&b, "data: {\"id\":\"chatcmpl-big\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                 "\"model\":\"m\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"
                 "\"delta\":{\"content\":\"%s\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
             esc);
    }
    if (i % 4 == 2) { /* do not end on a kept half */
        puts_(&b, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\udf89\"}}]}\n\n");
        hash = fnv1a(hash, "\xF0\x9F\x8E\x89", 4);
        len += 4;
    }
    finish_chunk(&b, "stop");
    sse_data(&b, "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":25000,\"total_tokens\":25003}}");
    sse_data(&b, "[DONE]");

    o.sse_cap = 2048 - WISP_RX_CHUNK;
    o.content_cap = 256;
    o.keep_text = false;
    for (split = 0; split < 4; split++) { /* whole, bytes, two random */
        replay(b.s, b.len, (uint32_t)split, &o, &r);
        assert_int_equal(r.status, WISP_OK);
        assert_int_equal(r.cb_content_len, len);
        assert_int_equal(r.cb_content_hash, hash);
        assert_int_equal(r.resp.content.full_len, len);
        assert_true(r.resp.content.truncated);
        assert_true(r.resp.content.len < 256);
        assert_int_equal(r.resp.usage.completion_tokens, 25000);
        assert_int_equal(r.count[WISP_EVENT_USAGE], 1);
        assert_string_equal(r.resp.finish_reason, "stop");
        result_free(&r);
    }
    assert_true(b.len > 4000000);
    free(b.s);
}

int main(int argc, char **argv)
{
    static const struct CMUnitTest built[] = {
        cmocka_unit_test(test_surrogates_across_deltas),
        cmocka_unit_test(test_utf8_split_across_deltas),
        cmocka_unit_test(test_usage_last_wins_once),
        cmocka_unit_test(test_role_finish_once),
        cmocka_unit_test(test_choice_index),
        cmocka_unit_test(test_odd_but_valid_chunks),
        cmocka_unit_test(test_wrong_types_fail),
        cmocka_unit_test(test_long_fields_cut),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_too_many_tokens),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_scratch_sizes),
        cmocka_unit_test(test_events_after_done_ignored),
        cmocka_unit_test(test_direct_calls),
        cmocka_unit_test(test_small_output_buffers),
        cmocka_unit_test(test_one_megabyte),
    };
    struct CMUnitTest *fx_tests;
    int i, rc;

    if (argc > 1)
        fixture_dir = argv[1];
    rc = cmocka_run_group_tests_name("stream", built, NULL, NULL);
    if (load_fixtures() != 0 || fixture_count == 0) {
        fprintf(stderr, "test_stream: no stream_* fixtures in %s\n", fixture_dir);
        return 1;
    }
    fx_tests = calloc((size_t)fixture_count, sizeof *fx_tests);
    for (i = 0; i < fixture_count; i++) {
        fx_tests[i].name = fixtures[i].name;
        fx_tests[i].test_func = test_fixture;
        fx_tests[i].initial_state = &fixtures[i];
    }
    rc += _cmocka_run_group_tests("stream fixtures", fx_tests, (size_t)fixture_count, NULL, NULL);
    for (i = 0; i < fixture_count; i++) {
        free(fixtures[i].http);
        free(fixtures[i].expect);
    }
    free(fixtures);
    free(fx_tests);
    return rc;
}
