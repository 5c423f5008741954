/*
 * bench.c - throughput of the streaming path: SSE decoder + chunk reader
 * (jsmn, unescape, text buffers) over a generated stream of typical OpenAI
 * chunks, fed in 1460-byte reads (one TCP segment) the way the client does,
 * compared with a plain memchr('\n') pass over the same bytes.
 *
 * Usage:
 *   bench                 8 MB stream, timed passes, all three figures
 *   bench SIZE REPEAT     the same with SIZE bytes and REPEAT timed passes
 *   bench SIZE            exactly one untimed pass through the wisp path and
 *                         nothing else, for valgrind --tool=callgrind: the
 *                         instructions counted are that pass plus making
 *                         the stream (about 1 instruction per byte)
 * SIZE may end in K or M.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wisp_sse.h"
#include "wisp_reply.h"

#define READ_SIZE 1460
#define WORK_SIZE 4096 /* the client's default-sized work buffer */

typedef struct sink {
    uint64_t content_len;
    uint32_t events;
} sink;

static int on_event(void *user, const wisp_event *ev)
{
    sink *s = (sink *)user;
    s->events++;
    if (ev->type == WISP_EVENT_CONTENT)
        s->content_len += ev->len;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Typical token-sized deltas, some with escapes and non-ASCII text. */
static const char *const words[] = {
    "Hello", "!", " How", " can", " I", " help", " you", " today", "?", "\\n\\n",
    " The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog",
    ".", " caf\\u00e9", " \\\"quoted\\\"", " \xE6\x97\xA5\xE6\x9C\xAC", " \\ud83d\\ude00",
    " 42", ",", " and", " then", " some", " more", "\\n", " text",
};

/* Bytes each word adds to the reply once unescaped. */
static size_t unescaped_len(const char *w)
{
    size_t n = 0;
    while (*w) {
        if (w[0] == '\\' && w[1] == 'u') {
            unsigned cp = (unsigned)strtoul(w + 2, NULL, 16);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                n += 4; /* a pair: one 4-byte character */
                w += 12;
            } else {
                n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
                w += 6;
            }
        } else if (w[0] == '\\') {
            n++;
            w += 2;
        } else {
            n++;
            w++;
        }
    }
    return n;
}

/* Writes about size bytes of stream into a new block. */
static char *make_stream(size_t size, size_t *len, uint64_t *content_len, uint32_t *chunks)
{
    char *buf = malloc(size + 1024);
    size_t n = 0, i = 0;
    const char *head = "data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\","
                       "\"object\":\"chat.completion.chunk\",\"created\":1741569952,"
                       "\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_06737a9306\","
                       "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"";
    const char *tail = "\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    const char *last = "data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\","
                       "\"object\":\"chat.completion.chunk\",\"created\":1741569952,"
                       "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"
                       "\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
                       "data: [DONE]\n\n";
    size_t hl = strlen(head), tl = strlen(tail), ll = strlen(last);

    if (buf == NULL)
        return NULL;
    *content_len = 0;
    *chunks = 0;
    while (n + hl + 64 + tl + ll < size + 512) {
        const char *w = words[(i * 7 + i / 3) % (sizeof words / sizeof words[0])];
        size_t wl = strlen(w);
        if (n + hl + wl + tl + ll > size && n > 0)
            break;
        memcpy(buf + n, head, hl);
        n += hl;
        memcpy(buf + n, w, wl);
        n += wl;
        memcpy(buf + n, tail, tl);
        n += tl;
        *content_len += unescaped_len(w);
        (*chunks)++;
        i++;
    }
    memcpy(buf + n, last, ll);
    n += ll;
    *len = n;
    return buf;
}

/* One pass through SSE decoder + chunk reader; returns 0 when all went well. */
static int wisp_pass(const char *in, size_t n, bool sse_only, sink *s)
{
    static uint8_t work[WORK_SIZE];
    static wisp_token toks[64];
    static char content[1024], reasoning[64];
    wisp_sse sse;
    wisp_reply st;
    wisp_response resp;
    wisp_sse_out ev;
    size_t off = 0;
    wisp_status status = WISP_OK;

    memset(&resp, 0, sizeof resp);
    resp.content.buf = content;
    resp.content.cap = sizeof content;
    resp.reasoning.buf = reasoning;
    resp.reasoning.cap = sizeof reasoning;
    memset(s, 0, sizeof *s);
    wisp_sse_init(&sse, work, sizeof work - 256);
    wisp_reply_init(&st, &resp, toks, 64, on_event, s);
    wisp_reply_scratch(&st, (char *)work + (sizeof work - 256), 256);
    while (off < n && status == WISP_OK && !st.done) {
        size_t piece = n - off < READ_SIZE ? n - off : READ_SIZE;
        const uint8_t *p = (const uint8_t *)in + off;
        while (piece > 0 && status == WISP_OK && !st.done) {
            size_t used = 0;
            status = wisp_sse_feed(&sse, p, piece, &used, &ev);
            p += used;
            piece -= used;
            off += used;
            if (status == WISP_OK && ev.kind != WISP_SSE_NEED_MORE) {
                if (sse_only) {
                    s->events++;
                    s->content_len += ev.len;
                    st.done = ev.len == 6 && memcmp(ev.data, "[DONE]", 6) == 0;
                } else {
                    status = wisp_reply_event(&st, ev.data, ev.len,
                                              ev.kind == WISP_SSE_ERROR_LINE || ev.error_event);
                }
            }
        }
    }
    if (status == WISP_OK && !sse_only)
        status = wisp_reply_end(&st, false);
    return status == WISP_OK && st.done ? 0 : 1;
}

static size_t memchr_pass(const char *in, size_t n)
{
    size_t lines = 0;
    const char *p = in, *end = in + n;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        lines++;
        p++;
    }
    return lines;
}

static size_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*end == 'k' || *end == 'K')
        v *= 1024;
    else if (*end == 'm' || *end == 'M')
        v *= 1024 * 1024;
    return v < 1024 ? 1024 : (size_t)v;
}

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? parse_size(argv[1]) : 8u * 1024 * 1024;
    long repeat = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    size_t len, lines = 0;
    uint64_t content_len;
    uint32_t chunks;
    char *in = make_stream(size, &len, &content_len, &chunks);
    sink s;
    double t0, t_wisp, t_sse, t_memchr, mb;
    long r, passes;

    if (in == NULL)
        return 1;
    /* one pass, checked; alone when only a size was given */
    t0 = now_s();
    if (wisp_pass(in, len, false, &s) != 0 || s.content_len != content_len) {
        fprintf(stderr, "bench: wrong result (content %llu, want %llu)\n",
                (unsigned long long)s.content_len, (unsigned long long)content_len);
        return 1;
    }
    t_wisp = now_s() - t0;
    if (argc == 2) {
        printf("bytes %lu, events %lu, content %llu bytes, one pass in reads of %d bytes\n",
               (unsigned long)len, (unsigned long)chunks + 2,
               (unsigned long long)content_len, READ_SIZE);
        free(in);
        return 0;
    }
    passes = repeat > 0 ? repeat : (long)(1.0 / (t_wisp > 1e-6 ? t_wisp : 1e-6)) + 1;

    t0 = now_s();
    for (r = 0; r < passes; r++)
        wisp_pass(in, len, false, &s);
    t_wisp = (now_s() - t0) / (double)passes;

    t0 = now_s();
    for (r = 0; r < passes; r++)
        wisp_pass(in, len, true, &s);
    t_sse = (now_s() - t0) / (double)passes;

    t0 = now_s();
    for (r = 0; r < passes * 20; r++)
        lines += memchr_pass(in, len);
    t_memchr = (now_s() - t0) / (double)(passes * 20);

    mb = (double)len / (1024.0 * 1024.0);
    printf("bytes %lu, events %lu, content %llu bytes, reads of %d bytes, %ld pass(es)\n",
           (unsigned long)len, (unsigned long)chunks + 2, (unsigned long long)content_len,
           READ_SIZE, passes);
    printf("sse + chunk reader: %9.1f MB/s  (%.0f ns per event)\n", mb / t_wisp,
           t_wisp * 1e9 / (double)(chunks + 2));
    printf("sse decoder alone:  %9.1f MB/s\n", mb / t_sse);
    printf("memchr('\\n') pass:  %9.1f MB/s  (%lu lines)\n", mb / t_memchr,
           (unsigned long)(lines / (size_t)(passes * 20)));
    printf("ratio memchr / wisp: %.1fx\n", t_wisp / t_memchr);
    free(in);
    return 0;
}
