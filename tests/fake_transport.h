/*
 * fake_transport.h - a scripted wisp transport for tests.
 *
 * Each connection serves the next scripted reply.  recv hands the reply
 * over in pieces whose sizes come from a split plan (whole, one byte at a
 * time, or pseudo-random), then reports an orderly close, a reset or a
 * stall as scripted.  Everything sent is recorded.
 */
#ifndef FAKE_TRANSPORT_H
#define FAKE_TRANSPORT_H

#include <stdlib.h>
#include <string.h>

#include "wisp.h"

#define FAKE_MAX_REPLIES 8
#define FAKE_SENT_CAP (256 * 1024)

typedef enum fake_split { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_RANDOM } fake_split;

typedef enum fake_end {
    END_CLOSE, /* orderly close after the reply */
    END_KEEP,  /* keep the connection: further recv times out */
    END_RESET  /* WISP_ERR_CLOSED after the reply */
} fake_end;

typedef struct fake_reply {
    const uint8_t *data;
    size_t len;
    fake_end end;
} fake_reply;

typedef struct fake_transport {
    fake_reply replies[FAKE_MAX_REPLIES];
    int reply_count;
    int next_reply;      /* reply the next request gets */
    const fake_reply *cur;
    size_t pos;
    bool open;
    bool request_seen;   /* a request came on this connection */
    bool request_pending; /* bytes were sent since the last reply began */
    bool dead_on_reuse;  /* the next request on a reused connection sees a
                            close, after it was sent (the server closed
                            just as the client wrote) */
    bool closed_idle;    /* the server closed the idle connection: the next
                            read sees the end of stream, before any write */
    int probes;          /* reads that came before any request on a kept
                            connection (wisp's check that it is alive) */
    fake_split split;
    uint32_t seed;
    int connects;
    int recv_calls;
    wisp_status connect_status;
    int connect_failures; /* fail this many connects first */
    uint8_t sent[FAKE_SENT_CAP];
    size_t sent_len;
    size_t send_max;     /* largest piece send accepts at once (0: all) */
} fake_transport;

static uint32_t fake_rand(fake_transport *f)
{
    f->seed = f->seed * 1103515245u + 12345u;
    return (f->seed >> 16) & 0x7FFFu;
}

static wisp_status fake_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms)
{
    fake_transport *f = (fake_transport *)ctx;
    (void)host;
    (void)port;
    (void)timeout_ms;
    if (f->connect_failures > 0) {
        f->connect_failures--;
        return f->connect_status;
    }
    f->open = true;
    f->cur = NULL;
    f->request_seen = false;
    f->request_pending = false;
    f->closed_idle = false;
    f->connects++;
    return WISP_OK;
}

static wisp_status fake_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent,
                             uint32_t timeout_ms)
{
    fake_transport *f = (fake_transport *)ctx;
    size_t n = len;
    (void)timeout_ms;
    if (!f->open) {
        return WISP_ERR_CLOSED;
    }
    if (f->send_max > 0 && n > f->send_max) {
        n = f->send_max;
    }
    f->request_pending = true;
    if (f->sent_len + n <= FAKE_SENT_CAP) {
        memcpy(f->sent + f->sent_len, buf, n);
        f->sent_len += n;
    }
    *sent = n;
    return WISP_OK;
}

static wisp_status fake_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t timeout_ms)
{
    fake_transport *f = (fake_transport *)ctx;
    size_t n;
    (void)timeout_ms;
    *got = 0;
    f->recv_calls++;
    if (!f->open) {
        return WISP_ERR_CLOSED;
    }
    if (f->cur == NULL) {
        if (!f->request_pending) { /* a read before any request: a probe */
            f->probes++;
            if (f->closed_idle) {
                return WISP_OK; /* end of stream */
            }
            return WISP_ERR_TIMEOUT;
        }
        if (f->closed_idle) {
            return WISP_OK; /* written into a connection the server had closed */
        }
        if (f->request_seen && f->dead_on_reuse) {
            f->dead_on_reuse = false;
            return WISP_OK; /* the server had closed the idle connection */
        }
        if (f->next_reply >= f->reply_count) {
            /* Nothing more scripted: a kept-alive server just stays quiet. */
            return f->reply_count > 0 && f->replies[f->reply_count - 1].end == END_KEEP
                       ? WISP_ERR_TIMEOUT
                       : WISP_OK;
        }
        f->cur = &f->replies[f->next_reply++];
        f->pos = 0;
        f->request_seen = true;
        f->request_pending = false;
    }
    if (f->pos >= f->cur->len) {
        if (f->cur->end == END_KEEP) {
            return WISP_ERR_TIMEOUT;
        }
        if (f->cur->end == END_RESET) {
            return WISP_ERR_CLOSED;
        }
        return WISP_OK;
    }
    n = f->cur->len - f->pos;
    if (f->split == SPLIT_BYTES) {
        n = 1;
    } else if (f->split == SPLIT_RANDOM) {
        size_t r = 1 + fake_rand(f) % 97u;
        if (r < n) {
            n = r;
        }
    }
    if (n > cap) {
        n = cap;
    }
    memcpy(buf, f->cur->data + f->pos, n);
    f->pos += n;
    *got = n;
    if (f->pos >= f->cur->len && f->cur->end == END_KEEP) {
        f->cur = NULL; /* the next request gets the next reply */
    }
    return WISP_OK;
}

static void fake_close(void *ctx)
{
    fake_transport *f = (fake_transport *)ctx;
    f->open = false;
    f->cur = NULL;
}

static void fake_init(fake_transport *f, wisp_transport *t)
{
    memset(f, 0, sizeof *f);
    f->connect_status = WISP_ERR_CONNECT;
    t->ctx = f;
    t->connect = fake_connect;
    t->send = fake_send;
    t->recv = fake_recv;
    t->close = fake_close;
    t->last_error = NULL;
}

static void fake_add(fake_transport *f, const void *data, size_t len, fake_end end)
{
    f->replies[f->reply_count].data = (const uint8_t *)data;
    f->replies[f->reply_count].len = len;
    f->replies[f->reply_count].end = end;
    f->reply_count++;
}

#endif /* FAKE_TRANSPORT_H */
