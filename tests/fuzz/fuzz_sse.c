/*
 * fuzz_sse.c - libFuzzer target for the SSE decoder and the chunk reader.
 *
 * Input: 4 control bytes, then the event-stream body.
 *   [0] decoder buffer size selector   [1] scratch size selector
 *   [2] token count selector           [3] seed of the split points
 * The body is replayed twice: whole, and in pieces whose sizes come from
 * the seed.  Both must give the same result (status, text, fields), every
 * text event must be valid UTF-8, and the response buffers must stay
 * NUL-terminated within their capacity.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icore tests/fuzz/fuzz_sse.c \
 *       core/wisp_sse.c core/wisp_reply.c core/wisp_json.c core/wisp_error.c core/wisp_text.c
 * With -DWISP_FUZZ_MAIN (and without -fsanitize=fuzzer) it is a plain
 * program that replays the files named on its command line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wisp_sse.h"
#include "wisp_reply.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            abort();                                                         \
    } while (0)

typedef struct outcome {
    wisp_status status;
    wisp_response resp;
    char content[512];
    char reasoning[256];
    uint32_t content_hash; /* of everything the callback saw */
    size_t content_len;
    unsigned events;
    size_t tool_bytes; /* argument bytes of tool-call events */
    bool done;
} outcome;

/* True when s holds complete, valid UTF-8 only. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t need, k;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F;
        } else
            return false;
        if (n - i - 1 < need)
            return false;
        for (k = 1; k <= need; k++) {
            if (s[i + k] < lo || s[i + k] > hi)
                return false;
            lo = 0x80;
            hi = 0xBF;
        }
        i += need + 1;
    }
    return true;
}

static int on_event(void *user, const wisp_event *ev)
{
    outcome *o = (outcome *)user;
    size_t i;
    o->events++;
    CHECK(ev->type <= WISP_EVENT_TOOL_CALL);
    CHECK(ev->len == 0 || ev->text != NULL);
    if (ev->type == WISP_EVENT_CONTENT || ev->type == WISP_EVENT_REASONING) {
        CHECK(ev->len > 0);
        CHECK(valid_utf8((const unsigned char *)ev->text, ev->len));
    }
    CHECK((ev->type == WISP_EVENT_USAGE) == (ev->usage != NULL));
    if (ev->type == WISP_EVENT_TOOL_CALL) {
        CHECK(ev->tool_id != NULL && ev->tool_name != NULL);
        CHECK(valid_utf8((const unsigned char *)ev->text, ev->len));
        o->tool_bytes += ev->len;
    }
    if (ev->type == WISP_EVENT_CONTENT) {
        for (i = 0; i < ev->len; i++)
            o->content_hash = (o->content_hash ^ (unsigned char)ev->text[i]) * 16777619u;
        o->content_len += ev->len;
    }
    return 0;
}

static void check_text(const wisp_text *t)
{
    CHECK(t->len < t->cap);
    CHECK(t->buf[t->len] == '\0');
    CHECK(t->len <= t->full_len);
    CHECK(valid_utf8((const unsigned char *)t->buf, t->len));
}

/* A fixed field: NUL-terminated within its capacity, valid UTF-8. */
static void check_field(const char *s, size_t cap)
{
    const char *end = memchr(s, '\0', cap);
    CHECK(end != NULL);
    CHECK(valid_utf8((const unsigned char *)s, (size_t)(end - s)));
}

static void run(const uint8_t *body, size_t n, size_t sse_cap, size_t scratch_cap, size_t ntoks,
                uint32_t seed, outcome *o)
{
    static uint8_t ssebuf[4096];
    static wisp_token toks[64];
    static char scratch[256];
    wisp_sse sse;
    wisp_reply st;
    wisp_sse_out ev;
    wisp_status s = WISP_OK;
    size_t off = 0;

    memset(o, 0, sizeof *o);
    o->content_hash = 2166136261u;
    o->resp.content.buf = o->content;
    o->resp.content.cap = sizeof o->content;
    o->resp.reasoning.buf = o->reasoning;
    o->resp.reasoning.cap = sizeof o->reasoning;
    wisp_sse_init(&sse, ssebuf, sse_cap);
    wisp_reply_init(&st, &o->resp, toks, ntoks, on_event, o);
    wisp_reply_scratch(&st, scratch_cap ? scratch : NULL, scratch_cap);

    while (off < n && s == WISP_OK && !st.done) {
        size_t piece = n - off, pos = 0;
        if (seed != 0) {
            seed = seed * 1103515245u + 12345u;
            piece = 1 + (seed >> 16) % 24;
            if (piece > n - off)
                piece = n - off;
        }
        while (pos < piece && s == WISP_OK && !st.done) {
            size_t used = 0;
            s = wisp_sse_feed(&sse, body + off + pos, piece - pos, &used, &ev);
            if (s != WISP_OK)
                break;
            CHECK(used <= piece - pos);
            CHECK(ev.kind != WISP_SSE_NEED_MORE || used == piece - pos);
            CHECK(ev.kind == WISP_SSE_NEED_MORE || used > 0);
            CHECK(ev.len <= sse_cap);
            pos += used;
            if (ev.kind != WISP_SSE_NEED_MORE)
                s = wisp_reply_event(&st, ev.data, ev.len,
                                     ev.kind == WISP_SSE_ERROR_LINE || ev.error_event);
        }
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
    o->status = s;
    o->done = st.done;

    CHECK((unsigned)s < WISP_STATUS_COUNT);
    check_text(&o->resp.content);
    check_text(&o->resp.reasoning);
    CHECK(o->content_len == o->resp.content.full_len);
    /* delivered: text (or a tool call's arguments) reached the caller */
    CHECK(st.delivered ==
          (o->resp.content.full_len + o->resp.reasoning.full_len + o->tool_bytes > 0));
    check_field(o->resp.id, sizeof o->resp.id);
    check_field(o->resp.model, sizeof o->resp.model);
    check_field(o->resp.role, sizeof o->resp.role);
    check_field(o->resp.finish_reason, sizeof o->resp.finish_reason);
    check_field(o->resp.error_message, sizeof o->resp.error_message);
    check_field(o->resp.error_type, sizeof o->resp.error_type);
    check_field(o->resp.error_code, sizeof o->resp.error_code);
    check_field(o->resp.error_param, sizeof o->resp.error_param);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t sse_caps[] = {0, 1, 8, 64, 200, 1024, 4096};
    static const size_t scratch_caps[] = {0, 1, 8, 256};
    static outcome whole, split;
    size_t sse_cap, scratch_cap, ntoks;
    uint32_t seed;

    if (size < 4)
        return 0;
    sse_cap = sse_caps[data[0] % (sizeof sse_caps / sizeof sse_caps[0])];
    scratch_cap = scratch_caps[data[1] % (sizeof scratch_caps / sizeof scratch_caps[0])];
    ntoks = 1 + data[2] % 64;
    seed = (uint32_t)data[3] | 1u;
    data += 4;
    size -= 4;

    run(data, size, sse_cap, scratch_cap, ntoks, 0, &whole);
    run(data, size, sse_cap, scratch_cap, ntoks, seed, &split);

    CHECK(whole.status == split.status);
    CHECK(whole.done == split.done);
    CHECK(whole.events == split.events);
    CHECK(whole.content_hash == split.content_hash);
    CHECK(whole.content_len == split.content_len);
    CHECK(strcmp(whole.content, split.content) == 0);
    CHECK(strcmp(whole.reasoning, split.reasoning) == 0);
    CHECK(strcmp(whole.resp.finish_reason, split.resp.finish_reason) == 0);
    CHECK(strcmp(whole.resp.id, split.resp.id) == 0);
    CHECK(strcmp(whole.resp.error_message, split.resp.error_message) == 0);
    CHECK(memcmp(&whole.resp.usage, &split.resp.usage, sizeof whole.resp.usage) == 0);
    return 0;
}

#ifdef WISP_FUZZ_MAIN
#include "replay_main.h"
#endif
