/*
 * fuzz_serial.c - libFuzzer target for the serial-link transport.
 *
 * Input: 4 control bytes, then the bytes the relay sends.
 *   [0] recv cap selector    [1] seed of the link's read sizes
 *   [2] seed of stalls (reads that time out mid-stream; 0: none)
 *   [3] bit 0: pass a clock (now_ms); bit 1: send between reads
 * The relay bytes go through connect + recv loops (reconnecting after an
 * error while input is left).  Without stalls the same input is run twice,
 * whole and split, and must give the same data and the same statuses.
 * Always: nothing crashes, got <= cap, every status is one the transport
 * may return, an end of stream stays ended, and whatever the device wrote
 * is a sequence of well-formed 'C' / 'D' / 'X' frames.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icore -Iport/serial \
 *       tests/fuzz/fuzz_serial.c port/serial/wisp_serial.c
 * With -DWISP_FUZZ_MAIN (and without -fsanitize=fuzzer) it is a plain
 * program that replays the files named on its command line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wisp_serial.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            abort();                                                         \
    } while (0)

#define OUT_MAX 65536
#define LOG_MAX 256

typedef struct fuzz_link {
    const uint8_t *in;
    size_t len, pos;
    uint32_t split_seed; /* 0: reads get all they ask for */
    uint32_t stall_seed; /* 0: never stall */
    uint32_t clock;
    uint8_t out[OUT_MAX];
    size_t out_len;
    bool out_full;
} fuzz_link;

typedef struct outcome {
    uint32_t data_hash;
    size_t data_len;
    uint8_t log[LOG_MAX]; /* statuses of connects and non-data recvs */
    size_t log_len;
} outcome;

static uint32_t rng(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

static int link_read(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    fuzz_link *f = (fuzz_link *)ctx;
    size_t n = f->len - f->pos;
    (void)timeout_ms;
    CHECK(cap >= 1 && cap <= WISP_SERIAL_MAX_PAYLOAD);
    f->clock += 7;
    if (f->stall_seed != 0 && rng(&f->stall_seed) % 5 == 0)
        return 0;
    if (n > cap)
        n = cap;
    if (f->split_seed != 0) {
        size_t piece = 1 + rng(&f->split_seed) % 9;
        if (n > piece)
            n = piece;
    }
    memcpy(buf, f->in + f->pos, n);
    f->pos += n;
    return (int)n;
}

static int link_write(void *ctx, const uint8_t *buf, size_t len)
{
    fuzz_link *f = (fuzz_link *)ctx;
    if (f->out_len + len > OUT_MAX) {
        f->out_full = true; /* stop checking, keep accepting */
        return 0;
    }
    memcpy(f->out + f->out_len, buf, len);
    f->out_len += len;
    return 0;
}

static uint32_t now(void *ctx)
{
    return ((fuzz_link *)ctx)->clock;
}

/* The device may only write well-formed C, D and X frames. */
static void check_written(const fuzz_link *f)
{
    size_t i = 0;
    if (f->out_full)
        return;
    while (i < f->out_len) {
        size_t len;
        uint8_t t;
        CHECK(f->out_len - i >= WISP_SERIAL_HEADER);
        CHECK(f->out[i] == WISP_SERIAL_MAGIC);
        t = f->out[i + 1];
        len = ((size_t)f->out[i + 2] << 8) | f->out[i + 3];
        CHECK(len <= WISP_SERIAL_MAX_PAYLOAD);
        CHECK((t == 'C' && len == 6 + 9) || (t == 'D' && len >= 1) || (t == 'X' && len == 0));
        i += WISP_SERIAL_HEADER + len;
        CHECK(i <= f->out_len);
    }
}

static void note(outcome *o, wisp_status s)
{
    if (o->log_len < LOG_MAX)
        o->log[o->log_len++] = (uint8_t)s;
}

static bool connect_status_ok(wisp_status s)
{
    return s == WISP_OK || s == WISP_ERR_DNS || s == WISP_ERR_CONNECT ||
           s == WISP_ERR_TIMEOUT || s == WISP_ERR_IO;
}

static bool recv_status_ok(wisp_status s)
{
    return s == WISP_OK || s == WISP_ERR_TIMEOUT || s == WISP_ERR_CLOSED || s == WISP_ERR_IO;
}

/* recv until the stream ends, breaks or the input runs dry. */
static void recv_loop(wisp_transport *t, fuzz_link *f, size_t cap, bool sends, outcome *o)
{
    static uint8_t buf[2048];
    unsigned guard = 0;
    for (;;) {
        size_t got = 12345, sent = 0, i;
        wisp_status s = t->recv(t->ctx, buf, cap, &got, 5);
        CHECK(recv_status_ok(s));
        CHECK(got <= cap);
        CHECK(s == WISP_OK || got == 0);
        CHECK(++guard < 100000);
        if (s == WISP_OK && got > 0) {
            for (i = 0; i < got; i++)
                o->data_hash = (o->data_hash ^ buf[i]) * 16777619u;
            o->data_len += got;
            if (sends) {
                s = t->send(t->ctx, buf, got, &sent, 5);
                CHECK(s == WISP_OK || s == WISP_ERR_CLOSED);
                CHECK(s != WISP_OK || sent == got);
            }
            continue;
        }
        if (s == WISP_ERR_TIMEOUT && f->pos < f->len)
            continue; /* a stall: the rest comes later */
        note(o, s);
        if (s == WISP_OK) { /* end of stream: it stays ended */
            got = 1;
            CHECK(t->recv(t->ctx, buf, cap, &got, 0) == WISP_OK && got == 0);
        }
        return;
    }
}

static void run(const uint8_t *in, size_t n, size_t cap, uint32_t split, uint32_t stall,
                uint8_t flags, outcome *o)
{
    static fuzz_link f;
    static wisp_serial ser;
    wisp_serial_link l;
    wisp_transport t;
    unsigned attempts;

    memset(&f, 0, sizeof f);
    memset(o, 0, sizeof *o);
    o->data_hash = 2166136261u;
    f.in = in;
    f.len = n;
    f.split_seed = split;
    f.stall_seed = stall;
    l.ctx = &f;
    l.read = link_read;
    l.write = link_write;
    wisp_serial_init(&ser, &l, (flags & 1) ? now : NULL, &f, &t);
    CHECK(t.last_error == NULL && t.ctx == &ser);

    for (attempts = 0; attempts < 64 && f.pos < f.len; attempts++) {
        size_t before = f.pos;
        wisp_status s = t.connect(t.ctx, "relay.dev", 443, 20);
        CHECK(connect_status_ok(s));
        CHECK(ser.connected == (s == WISP_OK));
        if (stall == 0 || s != WISP_ERR_TIMEOUT || f.pos == f.len)
            note(o, s);
        if (s == WISP_OK)
            recv_loop(&t, &f, cap, (flags & 2) != 0, o);
        else if (stall == 0 && f.pos == before && s != WISP_ERR_TIMEOUT)
            break;
    }
    t.close(t.ctx);
    t.close(t.ctx); /* safe when closed */
    CHECK(!ser.connected);
    check_written(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = {1, 2, 3, 7, 64, 1023, 1024, 2048};
    static outcome whole, split;
    size_t cap;
    uint32_t split_seed, stall_seed;
    uint8_t flags;

    if (size < 4)
        return 0;
    cap = caps[data[0] % (sizeof caps / sizeof caps[0])];
    split_seed = (uint32_t)data[1] | 1u;
    stall_seed = data[2];
    flags = data[3];
    data += 4;
    size -= 4;

    if (stall_seed != 0) {
        run(data, size, cap, split_seed, stall_seed, flags, &split);
        return 0;
    }
    run(data, size, cap, 0, 0, flags, &whole);
    run(data, size, cap, split_seed, 0, flags, &split);
    CHECK(whole.data_len == split.data_len);
    CHECK(whole.data_hash == split.data_hash);
    CHECK(whole.log_len == split.log_len);
    CHECK(memcmp(whole.log, split.log, whole.log_len) == 0);
    return 0;
}

#ifdef WISP_FUZZ_MAIN
#include "replay_main.h"
#endif
