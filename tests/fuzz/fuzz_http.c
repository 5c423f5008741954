/*
 * fuzz_http.c - libFuzzer harness for the HTTP/1.x response reader.
 *
 * Input: byte 0 picks the line buffer size and whether the peer closes at
 * the end, byte 1 seeds the split points; the rest is the response.  Each
 * input runs twice, whole and split into pieces (each piece in its own
 * exactly-sized heap block so ASan sees any over-read), and both runs must
 * agree exactly.  Invariants are checked with abort().
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icore \
 *       tests/fuzz/fuzz_http.c core/wisp_http.c -o fuzz_http
 *   cc -DWISP_FUZZ_MAIN -g -Icore tests/fuzz/fuzz_http.c core/wisp_http.c \
 *       -o fuzz_http_replay && ./fuzz_http_replay FILE...
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wisp_http.h"

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            abort();                                                          \
        }                                                                     \
    } while (0)

typedef struct outcome {
    wisp_status status;
    bool done;
    unsigned headers;
    size_t consumed;
    size_t body_total;
    uint32_t body_hash;
    wisp_http_reader r; /* the reader's final state, fields compared */
} outcome;

static const size_t line_caps[8] = { 0, 1, 8, 13, 17, 32, 64, 256 };

static uint32_t hash_bytes(uint32_t h, const uint8_t *p, size_t n)
{
    while (n-- > 0) {
        h = (h ^ *p++) * 16777619u;
    }
    return h;
}

static size_t next_piece(uint32_t *seed, size_t left)
{
    size_t n;
    if (*seed == 0) {
        return left;
    }
    *seed = *seed * 1103515245u + 12345u;
    n = 1 + (*seed >> 16) % ((*seed & 0x100u) ? 3u : 64u);
    return n < left ? n : left;
}

static void run(const uint8_t *data, size_t size, size_t line_cap,
                bool close_at_end, uint32_t seed, outcome *o)
{
    uint8_t *line = malloc(line_cap != 0 ? line_cap : 1);
    wisp_http_out out;
    size_t off = 0;
    unsigned calls_without_progress = 0;

    CHECK(line != NULL);
    memset(o, 0, sizeof *o);
    o->body_hash = 2166136261u;
    wisp_http_reader_init(&o->r, line, line_cap);

    while (o->status == WISP_OK && !o->done) {
        size_t n = next_piece(&seed, size - off);
        uint8_t *piece = malloc(n != 0 ? n : 1);
        const uint8_t *p = piece;
        CHECK(piece != NULL);
        if (n != 0) {
            memcpy(piece, data + off, n);
        }
        for (;;) {
            size_t used = (size_t)-1;
            wisp_status st = wisp_http_feed(&o->r, p, n, &used, &out);
            CHECK(used <= n);
            o->consumed += used;
            if (st != WISP_OK) {
                CHECK(st == WISP_ERR_HTTP || st == WISP_ERR_TOO_LARGE ||
                      st == WISP_ERR_UNSUPPORTED);
                o->status = st;
                break;
            }
            if (used == 0 && out.event != WISP_HTTP_NEED_MORE) {
                CHECK(out.event == WISP_HTTP_DONE);
                CHECK(++calls_without_progress < 2);
            }
            switch (out.event) {
            case WISP_HTTP_HEADERS:
                CHECK(++o->headers == 1);
                CHECK(o->r.status >= 200 && o->r.status <= 999);
                CHECK(o->r.status != 101);
                memset(line, 0xa5, line_cap); /* the caller may reuse it */
                break;
            case WISP_HTTP_BODY:
                CHECK(o->headers == 1);
                CHECK(out.body_len > 0);
                CHECK(out.body >= p && out.body + out.body_len <= p + used);
                o->body_total += out.body_len;
                CHECK(o->body_total <= size);
                o->body_hash = hash_bytes(o->body_hash, out.body, out.body_len);
                break;
            case WISP_HTTP_DONE:
                CHECK(o->headers == 1);
                o->done = true;
                break;
            default:
                CHECK(used == n);
                CHECK(out.body == NULL && out.body_len == 0);
                break;
            }
            p += used;
            n -= used;
            if (out.event == WISP_HTTP_DONE || out.event == WISP_HTTP_NEED_MORE) {
                break;
            }
        }
        off += (size_t)(p - piece);
        free(piece);
        if (off == size && o->status == WISP_OK && !o->done) {
            if (close_at_end) {
                o->status = wisp_http_finish(&o->r, &out);
                CHECK(o->status == WISP_OK || o->status == WISP_ERR_CLOSED);
                o->done = o->status == WISP_OK;
                /* until close, or the last chunk without its final empty
                 * line (tolerated, never reused) */
                CHECK(!o->done || o->r.body_mode == WISP_BODY_CLOSE ||
                      (o->r.body_mode == WISP_BODY_CHUNKED && !o->r.keep_alive));
            }
            break;
        }
    }

    if (o->done) {
        size_t used = 1;
        CHECK(o->headers == 1);
        if (o->r.body_mode == WISP_BODY_LENGTH) {
            CHECK(o->body_total == o->r.content_length);
        }
        if (o->r.body_mode == WISP_BODY_NONE) {
            CHECK(o->body_total == 0);
        }
        CHECK(wisp_http_feed(&o->r, data, size, &used, &out) == WISP_OK);
        CHECK(out.event == WISP_HTTP_DONE && used == 0);
    } else if (o->status != WISP_OK) {
        size_t used;
        CHECK(wisp_http_feed(&o->r, data, size, &used, &out) == o->status);
        CHECK(wisp_http_finish(&o->r, &out) == o->status);
    }
    CHECK(memchr(o->r.request_id, '\0', sizeof o->r.request_id) != NULL);
    CHECK(o->r.line_len <= line_cap);
    free(line);
}

static void same(const outcome *a, const outcome *b)
{
    const wisp_http_reader *x = &a->r, *y = &b->r;
    CHECK(a->status == b->status);
    CHECK(a->done == b->done);
    CHECK(a->headers == b->headers);
    CHECK(a->consumed == b->consumed);
    CHECK(a->body_total == b->body_total);
    CHECK(a->body_hash == b->body_hash);
    CHECK(x->status == y->status);
    CHECK(x->minor_version == y->minor_version);
    CHECK(x->body_mode == y->body_mode);
    CHECK(x->content_length == y->content_length);
    CHECK(x->has_content_length == y->has_content_length);
    CHECK(x->keep_alive == y->keep_alive);
    CHECK(x->is_event_stream == y->is_event_stream);
    CHECK(x->is_json == y->is_json);
    CHECK(x->has_content_type == y->has_content_type);
    CHECK(x->retry_after_ms == y->retry_after_ms);
    CHECK(strcmp(x->request_id, y->request_id) == 0);
    CHECK(x->request_id_truncated == y->request_id_truncated);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static outcome whole, split;
    size_t line_cap;
    bool close_at_end;
    uint32_t seed;

    if (size < 2) {
        return 0;
    }
    line_cap = line_caps[data[0] & 7u];
    close_at_end = (data[0] & 8u) != 0;
    seed = 1u + data[1];
    data += 2;
    size -= 2;

    run(data, size, line_cap, close_at_end, 0, &whole);
    run(data, size, line_cap, close_at_end, seed, &split);
    same(&whole, &split);
    return 0;
}

#ifdef WISP_FUZZ_MAIN
#include "replay_main.h"
#endif
