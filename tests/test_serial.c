/*
 * test_serial.c - the serial-link transport against a scripted fake link.
 *
 * The fake link hands over a byte script in reads of at most `piece` bytes
 * and only up to `avail` (bytes not yet "arrived" make a read time out);
 * writes land in a capture buffer.  Tests assert exact bytes and statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wisp_serial.h"

#define OUT_MAX 8192
#define SCRIPT_MAX 8192

typedef struct fake_link {
    uint8_t script[SCRIPT_MAX];
    size_t len, pos;
    size_t avail;   /* bytes of the script that have "arrived" */
    size_t piece;   /* max bytes per read; 0: no limit */
    uint8_t out[OUT_MAX];
    size_t out_len;
    bool fail_read, fail_write;
    unsigned reads;
    uint32_t timeouts[64]; /* timeout_ms of each read */
    uint32_t clock;        /* fake now_ms */
    uint32_t clock_step;   /* advanced on every read */
} fake_link;

static fake_link fk;
static wisp_serial ser;
static wisp_transport tr;

static int fake_read(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    fake_link *f = (fake_link *)ctx;
    size_t n;
    if (f->reads < 64)
        f->timeouts[f->reads] = timeout_ms;
    f->reads++;
    f->clock += f->clock_step;
    if (f->fail_read)
        return -1;
    n = f->avail - f->pos;
    if (n > cap)
        n = cap;
    if (f->piece != 0 && n > f->piece)
        n = f->piece;
    memcpy(buf, f->script + f->pos, n);
    f->pos += n;
    return (int)n;
}

static int fake_write(void *ctx, const uint8_t *buf, size_t len)
{
    fake_link *f = (fake_link *)ctx;
    if (f->fail_write)
        return -1;
    assert_true(f->out_len + len <= OUT_MAX);
    memcpy(f->out + f->out_len, buf, len);
    f->out_len += len;
    return 0;
}

static uint32_t fake_now(void *ctx)
{
    return ((fake_link *)ctx)->clock;
}

/* A fresh link and transport; with_clock passes fake_now as now_ms. */
static void reset(bool with_clock)
{
    wisp_serial_link l;
    memset(&fk, 0, sizeof fk);
    l.ctx = &fk;
    l.read = fake_read;
    l.write = fake_write;
    wisp_serial_init(&ser, &l, with_clock ? fake_now : NULL, &fk, &tr);
}

/* Appends a relay frame to the script (all of it arrived). */
static void frame(uint8_t type, const void *payload, size_t len)
{
    uint8_t *p = fk.script + fk.len;
    assert_true(fk.len + 4 + len <= SCRIPT_MAX);
    p[0] = 0x7E;
    p[1] = type;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    if (len > 0)
        memcpy(p + 4, payload, len);
    fk.len += 4 + len;
    fk.avail = fk.len;
}

static void raw(const void *bytes, size_t len)
{
    memcpy(fk.script + fk.len, bytes, len);
    fk.len += len;
    fk.avail = fk.len;
}

/* Forgets what was written so far. */
static void clear_out(void)
{
    fk.out_len = 0;
}

static void connect_ok(void)
{
    frame('O', NULL, 0);
    assert_int_equal(tr.connect(tr.ctx, "h", 80, 1000), WISP_OK);
    clear_out();
}

static void expect_out(const void *bytes, size_t len)
{
    assert_int_equal(fk.out_len, len);
    assert_memory_equal(fk.out, bytes, len);
}

static const uint8_t X_FRAME[] = {0x7E, 'X', 0, 0};

/* ---- init and connect ---------------------------------------------------- */

static void test_init_fills_transport(void **state)
{
    (void)state;
    reset(false);
    assert_ptr_equal(tr.ctx, &ser);
    assert_non_null(tr.connect);
    assert_non_null(tr.send);
    assert_non_null(tr.recv);
    assert_non_null(tr.close);
    assert_null(tr.last_error);
    assert_false(ser.connected);
}

static void test_connect_frame_bytes(void **state)
{
    static const uint8_t want[] = {0x7E, 'C', 0x00, 0x15, 0x01, 0x02, 0x03, 0x04, 0x20, 0xFB,
                                   'a', 'p', 'i', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                   '.', 'c', 'o', 'm'};
    (void)state;
    reset(false);
    frame('O', NULL, 0);
    assert_int_equal(tr.connect(tr.ctx, "api.example.com", 8443, 0x01020304u), WISP_OK);
    expect_out(want, sizeof want);
    assert_true(ser.connected);
}

static void test_connect_ok_one_byte_reads(void **state)
{
    (void)state;
    reset(false);
    fk.piece = 1;
    frame('O', NULL, 0);
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_OK);
    assert_int_equal(fk.reads, 4);
}

static void test_connect_fail_reasons(void **state)
{
    static const uint8_t dns[] = {1}, refused[] = {2, 'n', 'o', 'p', 'e'}, slow[] = {3, 'x'},
                         odd[] = {9};
    (void)state;
    reset(false);
    fk.piece = 1;
    frame('F', dns, sizeof dns);
    frame('F', refused, sizeof refused);
    frame('F', slow, sizeof slow);
    frame('F', odd, sizeof odd);
    frame('F', NULL, 0);
    frame('O', NULL, 0);
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_ERR_DNS);
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_ERR_CONNECT);
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_ERR_TIMEOUT);
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_ERR_CONNECT);
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_ERR_CONNECT);
    assert_false(ser.connected);
    /* The 'F' text was skipped: the next connect sees its own 'O'. */
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_OK);
    assert_int_equal(fk.pos, fk.len);
}

static void test_connect_timeout_sends_close(void **state)
{
    static const uint8_t want[] = {0x7E, 'C', 0, 7, 0, 0, 0, 50, 0, 80, 'h', 0x7E, 'X', 0, 0};
    (void)state;
    reset(false);
    assert_int_equal(tr.connect(tr.ctx, "h", 80, 50), WISP_ERR_TIMEOUT);
    expect_out(want, sizeof want);
    assert_false(ser.connected);
    assert_int_equal(fk.timeouts[0], 50);
    /* close after a failed connect sends nothing more */
    tr.close(tr.ctx);
    expect_out(want, sizeof want);
}

static void test_connect_discards_stale_frames(void **state)
{
    uint8_t big[1024], buf[16];
    size_t got = 99;
    (void)state;
    reset(false);
    memset(big, 'z', sizeof big);
    frame('D', "old", 3);
    frame('E', NULL, 0);
    frame('R', NULL, 0);
    frame('D', big, sizeof big);
    frame('O', NULL, 0);
    frame('D', "hi", 2);
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_OK);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_OK);
    assert_int_equal(got, 2);
    assert_memory_equal(buf, "hi", 2);
}

static void test_connect_while_connected_sends_close_first(void **state)
{
    static const uint8_t want[] = {0x7E, 'X', 0, 0, 0x7E, 'C', 0, 7, 0, 0, 0, 10, 0, 1, 'h'};
    (void)state;
    reset(false);
    connect_ok();
    frame('O', NULL, 0);
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_OK);
    expect_out(want, sizeof want);
}

static void test_connect_bad_arguments(void **state)
{
    char host[260];
    (void)state;
    reset(false);
    assert_int_equal(tr.connect(tr.ctx, NULL, 1, 10), WISP_ERR_ARG);
    assert_int_equal(tr.connect(tr.ctx, "", 1, 10), WISP_ERR_ARG);
    memset(host, 'a', sizeof host);
    host[254] = '\0';
    assert_int_equal(tr.connect(tr.ctx, host, 1, 10), WISP_ERR_ARG);
    assert_int_equal(fk.out_len, 0);
    host[253] = '\0'; /* 253 bytes is allowed */
    frame('O', NULL, 0);
    assert_int_equal(tr.connect(tr.ctx, host, 1, 10), WISP_OK);
    assert_int_equal(fk.out_len, 4 + 6 + 253);
    assert_int_equal(fk.out[2], 0x01);
    assert_int_equal(fk.out[3], 0x03);
}

/* ---- recv ------------------------------------------------------------------- */

static void test_recv_across_frames_and_large_frame(void **state)
{
    uint8_t big[300], buf[100];
    size_t got = 0, i;
    (void)state;
    reset(false);
    connect_ok();
    for (i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    frame('D', "hello", 5);
    frame('D', " world", 6);
    frame('D', big, sizeof big);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_OK);
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_OK);
    assert_int_equal(got, 6);
    assert_memory_equal(buf, " world", 6);
    for (i = 0; i < 3; i++) {
        assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_OK);
        assert_int_equal(got, 100);
        assert_memory_equal(buf, big + i * 100, 100);
    }
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_ERR_TIMEOUT);
    assert_int_equal(got, 0);
}

/* Collects data until a recv is not OK-with-data; returns that status. */
static wisp_status drain(uint8_t *acc, size_t *acc_len, size_t cap, size_t *last_got)
{
    for (;;) {
        size_t got = 77;
        wisp_status st = tr.recv(tr.ctx, acc + *acc_len, cap, &got, 0);
        *last_got = got;
        if (st != WISP_OK || got == 0)
            return st;
        assert_true(got <= cap);
        *acc_len += got;
    }
}

static void test_every_split_everywhere(void **state)
{
    static const char want[] = "abcdefgh";
    static const uint8_t fail[] = {2, 'g', 'o', 'n', 'e'};
    size_t start, total, piece, cut, cap;
    (void)state;
    for (piece = 1; piece <= 13; piece++) {
        for (cap = 1; cap <= 4; cap += 3) {
            reset(false);
            connect_ok();
            start = fk.len;
            frame('D', "abc", 3);
            frame('D', "defgh", 5);
            frame('E', NULL, 0);
            total = fk.len;
            for (cut = start; cut <= total; cut++) {
                uint8_t acc[32];
                size_t acc_len = 0, last = 0;
                wisp_status st;
                reset(false);
                connect_ok();
                frame('D', "abc", 3);
                frame('D', "defgh", 5);
                frame('E', NULL, 0);
                fk.piece = piece;
                fk.avail = cut; /* the rest "arrives" later */
                st = drain(acc, &acc_len, cap, &last);
                if (cut < total)
                    assert_int_equal(st, WISP_ERR_TIMEOUT);
                fk.avail = fk.len;
                if (st == WISP_ERR_TIMEOUT)
                    st = drain(acc, &acc_len, cap, &last);
                assert_int_equal(st, WISP_OK);
                assert_int_equal(last, 0);
                assert_int_equal(acc_len, 8);
                assert_memory_equal(acc, want, 8);
                assert_int_equal(fk.pos, fk.len);
            }
        }
    }
    /* A connect reply cut anywhere: the first call times out and sends 'X',
     * the next connect resumes the half-read frame and sees the failure. */
    for (cut = 0; cut <= 9; cut++) {
        reset(false);
        frame('F', fail, sizeof fail);
        frame('O', NULL, 0);
        fk.piece = 1;
        fk.avail = cut;
        if (cut < 5) { /* the reason byte has not arrived */
            assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_ERR_TIMEOUT);
            assert_memory_equal(fk.out + fk.out_len - 4, X_FRAME, 4);
            fk.avail = fk.len;
        }
        assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_ERR_CONNECT);
        fk.avail = fk.len;
        assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_OK);
        assert_int_equal(fk.pos, fk.len);
    }
}

static void test_end_is_sticky(void **state)
{
    uint8_t buf[8];
    size_t got = 0;
    unsigned reads;
    (void)state;
    reset(false);
    connect_ok();
    frame('D', "x", 1);
    frame('E', NULL, 0);
    frame('D', "never", 5);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_OK);
    assert_int_equal(got, 1);
    got = 5;
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_OK);
    assert_int_equal(got, 0);
    reads = fk.reads;
    got = 5;
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_OK);
    assert_int_equal(got, 0);
    assert_int_equal(fk.reads, reads); /* answered without reading the link */
}

static void test_reset_is_closed(void **state)
{
    uint8_t buf[8];
    size_t got = 3, sent = 3;
    (void)state;
    reset(false);
    connect_ok();
    frame('R', NULL, 0);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_ERR_CLOSED);
    assert_int_equal(got, 0);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_ERR_CLOSED);
    assert_int_equal(tr.send(tr.ctx, (const uint8_t *)"a", 1, &sent, 10), WISP_ERR_CLOSED);
    assert_int_equal(sent, 0);
    assert_int_equal(fk.out_len, 0);
}

/* A broken or unexpected frame while connected: IO, then unusable. */
static void expect_broken(const uint8_t *bytes, size_t len)
{
    uint8_t buf[8];
    size_t got = 5, sent = 5;
    reset(false);
    connect_ok();
    raw(bytes, len);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_ERR_IO);
    assert_int_equal(got, 0);
    assert_false(ser.connected);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_ERR_CLOSED);
    assert_int_equal(tr.send(tr.ctx, (const uint8_t *)"a", 1, &sent, 10), WISP_ERR_CLOSED);
}

static void test_broken_frames(void **state)
{
    static const uint8_t bad_magic[] = {0x7F, 'D', 0, 1, 'a'};
    static const uint8_t bad_type[] = {0x7E, 'Z', 0, 0};
    static const uint8_t device_type[] = {0x7E, 'C', 0, 0};
    static const uint8_t too_long[] = {0x7E, 'D', 0x04, 0x01};
    static const uint8_t empty_data[] = {0x7E, 'D', 0, 0};
    static const uint8_t late_ok[] = {0x7E, 'O', 0, 0};
    static const uint8_t late_fail[] = {0x7E, 'F', 0, 1, 2};
    (void)state;
    expect_broken(bad_magic, sizeof bad_magic);
    expect_broken(bad_type, sizeof bad_type);
    expect_broken(device_type, sizeof device_type);
    expect_broken(too_long, sizeof too_long);
    expect_broken(empty_data, sizeof empty_data);
    expect_broken(late_ok, sizeof late_ok);
    expect_broken(late_fail, sizeof late_fail);
}

static void test_max_length_frame_accepted(void **state)
{
    static uint8_t big[1024], buf[2048];
    size_t got = 0;
    (void)state;
    reset(false);
    connect_ok();
    memset(big, 0xA5, sizeof big);
    frame('D', big, sizeof big);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_OK);
    assert_int_equal(got, 1024);
    assert_memory_equal(buf, big, 1024);
}

static void test_broken_frame_in_connect(void **state)
{
    static const uint8_t junk[] = {'H', 'T', 'T', 'P'};
    (void)state;
    reset(false);
    raw(junk, sizeof junk);
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_ERR_IO);
    assert_false(ser.connected);
}

static void test_timeout_zero(void **state)
{
    uint8_t buf[8];
    size_t got = 9;
    (void)state;
    reset(false);
    connect_ok();
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 0), WISP_ERR_TIMEOUT);
    assert_int_equal(got, 0);
    assert_int_equal(fk.timeouts[fk.reads - 1], 0);
    /* half a header now, the rest later */
    frame('D', "ok", 2);
    fk.avail = fk.pos + 2;
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 0), WISP_ERR_TIMEOUT);
    assert_int_equal(ser.hdr_have, 2);
    fk.avail = fk.pos + 1;
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 0), WISP_ERR_TIMEOUT);
    assert_int_equal(ser.hdr_have, 3);
    fk.avail = fk.len;
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 0), WISP_OK);
    assert_int_equal(got, 2);
    assert_memory_equal(buf, "ok", 2);
}

static void test_deadline_with_clock(void **state)
{
    uint8_t buf[8];
    size_t got = 0;
    (void)state;
    reset(true);
    connect_ok();
    fk.reads = 0;
    fk.clock_step = 40;
    fk.piece = 1;
    frame('D', "ab", 2);
    fk.avail = fk.len - 1; /* the payload's last byte never arrives in time */
    assert_int_equal(tr.recv(tr.ctx, buf, 1, &got, 100), WISP_OK);
    assert_int_equal(got, 1);
    assert_int_equal(fk.reads, 5);
    /* each read gets what is left of the one call's 100 ms */
    assert_int_equal(fk.timeouts[0], 100);
    assert_int_equal(fk.timeouts[1], 60);
    assert_int_equal(fk.timeouts[2], 20);
    assert_int_equal(fk.timeouts[3], 0);
    assert_int_equal(fk.timeouts[4], 0);
    fk.reads = 0;
    fk.clock_step = 0;
    assert_int_equal(tr.recv(tr.ctx, buf, 1, &got, 100), WISP_ERR_TIMEOUT);
    assert_int_equal(fk.timeouts[0], 100);
}

static void test_no_clock_each_read_gets_whole_timeout(void **state)
{
    uint8_t buf[8];
    size_t got = 0;
    unsigned i;
    (void)state;
    reset(false);
    connect_ok();
    fk.reads = 0;
    fk.piece = 1;
    frame('D', "ab", 2);
    assert_int_equal(tr.recv(tr.ctx, buf, 1, &got, 100), WISP_OK);
    assert_int_equal(fk.reads, 5);
    for (i = 0; i < 5; i++)
        assert_int_equal(fk.timeouts[i], 100);
}

/* ---- send ------------------------------------------------------------------- */

static void test_send_frames(void **state)
{
    static uint8_t data[2500];
    size_t sent = 0, i;
    (void)state;
    reset(false);
    connect_ok();
    assert_int_equal(tr.send(tr.ctx, (const uint8_t *)"hey", 3, &sent, 10), WISP_OK);
    assert_int_equal(sent, 3);
    expect_out("\x7E" "D\x00\x03hey", 7);
    clear_out();
    for (i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    assert_int_equal(tr.send(tr.ctx, data, sizeof data, &sent, 10), WISP_OK);
    assert_int_equal(sent, 2500);
    assert_int_equal(fk.out_len, 2500 + 3 * 4);
    assert_memory_equal(fk.out, "\x7E" "D\x04\x00", 4);
    assert_memory_equal(fk.out + 4, data, 1024);
    assert_memory_equal(fk.out + 1028, "\x7E" "D\x04\x00", 4);
    assert_memory_equal(fk.out + 1032, data + 1024, 1024);
    assert_memory_equal(fk.out + 2056, "\x7E" "D\x01\xC4", 4);
    assert_memory_equal(fk.out + 2060, data + 2048, 452);
}

static void test_send_after_end_still_works(void **state)
{
    uint8_t buf[4];
    size_t got = 0, sent = 0;
    (void)state;
    reset(false);
    connect_ok();
    frame('E', NULL, 0);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_OK);
    assert_int_equal(got, 0);
    assert_int_equal(tr.send(tr.ctx, (const uint8_t *)"q", 1, &sent, 10), WISP_OK);
    assert_int_equal(sent, 1);
}

static void test_send_bad_arguments(void **state)
{
    size_t sent = 4;
    (void)state;
    reset(false);
    connect_ok();
    assert_int_equal(tr.send(tr.ctx, (const uint8_t *)"a", 0, &sent, 10), WISP_ERR_ARG);
    assert_int_equal(sent, 0);
    assert_int_equal(tr.send(tr.ctx, NULL, 1, &sent, 10), WISP_ERR_ARG);
    assert_int_equal(tr.send(tr.ctx, (const uint8_t *)"a", 1, NULL, 10), WISP_ERR_ARG);
    assert_int_equal(fk.out_len, 0);
}

/* ---- close, reconnect, failures ---------------------------------------------- */

static void test_close_sends_x_only_when_connected(void **state)
{
    (void)state;
    reset(false);
    tr.close(tr.ctx);
    assert_int_equal(fk.out_len, 0);
    connect_ok();
    tr.close(tr.ctx);
    expect_out(X_FRAME, sizeof X_FRAME);
    tr.close(tr.ctx);
    expect_out(X_FRAME, sizeof X_FRAME);
    assert_false(ser.connected);
}

static void test_reconnect_after_close(void **state)
{
    static const uint8_t want[] = {0x7E, 'X', 0, 0, 0x7E, 'C', 0, 7, 0, 0, 0, 10, 0, 1, 'h'};
    uint8_t buf[8];
    size_t got = 0;
    (void)state;
    reset(false);
    connect_ok();
    frame('D', "12345", 5);
    assert_int_equal(tr.recv(tr.ctx, buf, 2, &got, 10), WISP_OK);
    assert_int_equal(got, 2);
    tr.close(tr.ctx);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_ERR_CLOSED);
    frame('R', NULL, 0);
    frame('O', NULL, 0);
    frame('D', "new", 3);
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_OK);
    expect_out(want, sizeof want);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_OK);
    assert_int_equal(got, 3);
    assert_memory_equal(buf, "new", 3);
}

static void test_link_failures(void **state)
{
    uint8_t buf[8];
    size_t got = 1, sent = 1;
    (void)state;
    reset(false);
    fk.fail_write = true;
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_ERR_IO);
    reset(false);
    fk.fail_read = true;
    assert_int_equal(tr.connect(tr.ctx, "h", 1, 10), WISP_ERR_IO);

    reset(false);
    connect_ok();
    fk.fail_read = true;
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_ERR_IO);
    assert_int_equal(got, 0);
    assert_false(ser.connected);

    reset(false);
    connect_ok();
    fk.fail_write = true;
    assert_int_equal(tr.send(tr.ctx, (const uint8_t *)"a", 1, &sent, 10), WISP_ERR_IO);
    assert_int_equal(sent, 0);
    assert_int_equal(tr.send(tr.ctx, (const uint8_t *)"a", 1, &sent, 10), WISP_ERR_CLOSED);
}

static void test_not_connected(void **state)
{
    uint8_t buf[8];
    size_t got = 1, sent = 1;
    (void)state;
    reset(false);
    frame('D', "x", 1);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, &got, 10), WISP_ERR_CLOSED);
    assert_int_equal(got, 0);
    assert_int_equal(tr.send(tr.ctx, (const uint8_t *)"a", 1, &sent, 10), WISP_ERR_CLOSED);
    assert_int_equal(sent, 0);
    assert_int_equal(fk.reads, 0);
    assert_int_equal(fk.out_len, 0);
    assert_int_equal(tr.recv(tr.ctx, buf, 0, &got, 10), WISP_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_fills_transport),
        cmocka_unit_test(test_connect_frame_bytes),
        cmocka_unit_test(test_connect_ok_one_byte_reads),
        cmocka_unit_test(test_connect_fail_reasons),
        cmocka_unit_test(test_connect_timeout_sends_close),
        cmocka_unit_test(test_connect_discards_stale_frames),
        cmocka_unit_test(test_connect_while_connected_sends_close_first),
        cmocka_unit_test(test_connect_bad_arguments),
        cmocka_unit_test(test_recv_across_frames_and_large_frame),
        cmocka_unit_test(test_every_split_everywhere),
        cmocka_unit_test(test_end_is_sticky),
        cmocka_unit_test(test_reset_is_closed),
        cmocka_unit_test(test_broken_frames),
        cmocka_unit_test(test_max_length_frame_accepted),
        cmocka_unit_test(test_broken_frame_in_connect),
        cmocka_unit_test(test_timeout_zero),
        cmocka_unit_test(test_deadline_with_clock),
        cmocka_unit_test(test_no_clock_each_read_gets_whole_timeout),
        cmocka_unit_test(test_send_frames),
        cmocka_unit_test(test_send_after_end_still_works),
        cmocka_unit_test(test_send_bad_arguments),
        cmocka_unit_test(test_close_sends_x_only_when_connected),
        cmocka_unit_test(test_reconnect_after_close),
        cmocka_unit_test(test_link_failures),
        cmocka_unit_test(test_not_connected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
