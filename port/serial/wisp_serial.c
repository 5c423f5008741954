/*
 * wisp_serial.c - the wisp transport over a framed serial link to a relay.
 * See wisp_serial.h for the framing and the status mapping.
 *
 * The frame reader keeps its position in struct wisp_serial (hdr/hdr_have,
 * data_left, skip_left), so a header or payload cut at any byte, across link
 * reads or across calls, is resumed where it stopped.  It only ever asks the
 * link for the bytes of the current frame, so no receive buffer is needed.
 */
#include "wisp_serial.h"

/* A call's time budget: with a clock it shrinks across link reads. */
typedef struct serial_clock {
    uint32_t start;
    uint32_t timeout;
} serial_clock;

static serial_clock clock_start(const wisp_serial *s, uint32_t timeout_ms)
{
    serial_clock c;
    c.start = s->now_ms != NULL ? s->now_ms(s->now_ctx) : 0u;
    c.timeout = timeout_ms;
    return c;
}

/* Milliseconds the next link read may wait; without a clock each read gets
 * the whole timeout (the header says so). */
static uint32_t clock_left(const wisp_serial *s, const serial_clock *c)
{
    uint32_t used;
    if (s->now_ms == NULL)
        return c->timeout;
    used = s->now_ms(s->now_ctx) - c->start; /* unsigned: wrap-safe */
    return used >= c->timeout ? 0u : c->timeout - used;
}

/* The link failed: nothing was consumed, so the reader stays in step, but
 * the connection cannot be trusted any more. */
static wisp_status link_failed(wisp_serial *s)
{
    s->connected = false;
    return WISP_ERR_IO;
}

/* A broken frame: where the next frame starts is unknown, so the reader
 * starts afresh and the connection is unusable. */
static wisp_status frame_broken(wisp_serial *s)
{
    s->hdr_have = 0;
    s->data_left = 0;
    s->skip_left = 0;
    s->connected = false;
    return WISP_ERR_IO;
}

/* One link read of 1..cap bytes.  A read that returns 0 has waited all the
 * time it was given, so it is the call's timeout. */
static wisp_status link_read(wisp_serial *s, const serial_clock *c,
                             uint8_t *buf, size_t cap, size_t *got)
{
    int n = s->link.read(s->link.ctx, buf, cap, clock_left(s, c));
    if (n < 0 || (size_t)n > cap) /* a link claiming more than cap is broken */
        return link_failed(s);
    if (n == 0)
        return WISP_ERR_TIMEOUT;
    *got = (size_t)n;
    return WISP_OK;
}

/* Queues bytes; a UART never refuses bytes, so any error is a dead link. */
static wisp_status link_write(wisp_serial *s, const uint8_t *buf, size_t len)
{
    if (s->link.write(s->link.ctx, buf, len) != 0)
        return link_failed(s);
    return WISP_OK;
}

/* Sends a frame header; the payload follows in its own write (no copy). */
static wisp_status write_header(wisp_serial *s, uint8_t type, size_t len)
{
    uint8_t h[WISP_SERIAL_HEADER];
    h[0] = (uint8_t)WISP_SERIAL_MAGIC;
    h[1] = type;
    h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)len;
    return link_write(s, h, sizeof h);
}

/* Drains the payload of a frame nobody wants (stale data, 'F' text). */
static wisp_status skip_payload(wisp_serial *s, const serial_clock *c)
{
    uint8_t junk[32];
    while (s->skip_left > 0) {
        size_t want = s->skip_left < sizeof junk ? s->skip_left : sizeof junk;
        size_t got = 0;
        wisp_status st = link_read(s, c, junk, want, &got);
        if (st != WISP_OK)
            return st;
        s->skip_left = (uint16_t)(s->skip_left - got);
    }
    return WISP_OK;
}

/* True for the frame types a relay may send. */
static bool relay_type(uint8_t t)
{
    return t == WISP_SERIAL_CONNECTED || t == WISP_SERIAL_FAILED ||
           t == WISP_SERIAL_DATA || t == WISP_SERIAL_END || t == WISP_SERIAL_RESET;
}

/* Completes and checks the 4-byte header (possibly begun in an earlier
 * call).  A zero-length 'D' is refused: the framing forbids it. */
static wisp_status read_header(wisp_serial *s, const serial_clock *c)
{
    size_t len;
    while (s->hdr_have < WISP_SERIAL_HEADER) {
        size_t got = 0;
        wisp_status st = link_read(s, c, s->hdr + s->hdr_have,
                                   WISP_SERIAL_HEADER - s->hdr_have, &got);
        if (st != WISP_OK)
            return st;
        s->hdr_have = (uint8_t)(s->hdr_have + got);
    }
    len = ((size_t)s->hdr[2] << 8) | s->hdr[3];
    if (s->hdr[0] != WISP_SERIAL_MAGIC || !relay_type(s->hdr[1]) ||
        len > WISP_SERIAL_MAX_PAYLOAD || (s->hdr[1] == WISP_SERIAL_DATA && len == 0))
        return frame_broken(s);
    return WISP_OK;
}

/*
 * Reads up to the next frame and returns its type.  Afterwards a 'D'
 * payload is owed in data_left, any other payload is queued in skip_left,
 * and for 'F' the reason byte is in fail_reason (0 when the frame had none).
 * The header stays in hdr until the 'F' reason arrived, so a timeout there
 * is resumed too.
 */
static wisp_status next_frame(wisp_serial *s, const serial_clock *c, uint8_t *type)
{
    size_t len, got = 0;
    wisp_status st = skip_payload(s, c);
    if (st == WISP_OK)
        st = read_header(s, c);
    if (st != WISP_OK)
        return st;
    *type = s->hdr[1];
    len = ((size_t)s->hdr[2] << 8) | s->hdr[3];
    if (*type == WISP_SERIAL_FAILED) {
        s->fail_reason = 0;
        if (len > 0) {
            st = link_read(s, c, &s->fail_reason, 1, &got);
            if (st != WISP_OK)
                return st;
            len--;
        }
    }
    s->hdr_have = 0;
    if (*type == WISP_SERIAL_DATA)
        s->data_left = (uint16_t)len;
    else
        s->skip_left = (uint16_t)len;
    return WISP_OK;
}

/* Forgets the connection but not the reader's place on the line: the rest
 * of a half-read frame is still coming and must be skipped, not parsed. */
static void forget_connection(wisp_serial *s)
{
    s->connected = false;
    s->peer_ended = false;
    s->peer_reset = false;
    s->skip_left = (uint16_t)(s->skip_left + s->data_left);
    s->data_left = 0;
}

static wisp_status fail_status(uint8_t reason)
{
    switch (reason) {
    case WISP_SERIAL_FAIL_NAME:
        return WISP_ERR_DNS;
    case WISP_SERIAL_FAIL_TIMEOUT:
        return WISP_ERR_TIMEOUT;
    default: /* refused, or a reason this build does not know */
        return WISP_ERR_CONNECT;
    }
}

/* Sends 'C': TIMEOUT_MS and PORT big-endian, then the host name. */
static wisp_status write_connect(wisp_serial *s, const char *host, size_t host_len,
                                 uint16_t port, uint32_t timeout_ms)
{
    uint8_t p[6];
    wisp_status st;
    p[0] = (uint8_t)(timeout_ms >> 24);
    p[1] = (uint8_t)(timeout_ms >> 16);
    p[2] = (uint8_t)(timeout_ms >> 8);
    p[3] = (uint8_t)timeout_ms;
    p[4] = (uint8_t)(port >> 8);
    p[5] = (uint8_t)port;
    st = write_header(s, WISP_SERIAL_CONNECT, sizeof p + host_len);
    if (st == WISP_OK)
        st = link_write(s, p, sizeof p);
    if (st == WISP_OK)
        st = link_write(s, (const uint8_t *)host, host_len);
    return st;
}

/* Host length, or 0 when it is empty or longer than 253 bytes (bounded:
 * never walks far past a missing NUL). */
static size_t host_length(const char *host)
{
    size_t n = 0;
    while (n <= 253 && host[n] != '\0')
        n++;
    return n > 253 ? 0 : n;
}

static wisp_status serial_connect(void *ctx, const char *host, uint16_t port,
                                  uint32_t timeout_ms)
{
    wisp_serial *s = (wisp_serial *)ctx;
    serial_clock c;
    size_t host_len;
    wisp_status st;
    uint8_t type = 0;

    if (s == NULL || host == NULL || (host_len = host_length(host)) == 0)
        return WISP_ERR_ARG;
    if (s->connected && (st = write_header(s, WISP_SERIAL_CLOSE, 0)) != WISP_OK)
        return st;
    forget_connection(s);
    s->fail_reason = 0;
    c = clock_start(s, timeout_ms);
    if ((st = write_connect(s, host, host_len, port, timeout_ms)) != WISP_OK)
        return st;
    for (;;) {
        st = next_frame(s, &c, &type);
        if (st == WISP_ERR_TIMEOUT) {
            (void)write_header(s, WISP_SERIAL_CLOSE, 0); /* cancel the attempt */
            return WISP_ERR_TIMEOUT;
        }
        if (st != WISP_OK)
            return st;
        if (type == WISP_SERIAL_CONNECTED) {
            s->connected = true;
            return WISP_OK;
        }
        if (type == WISP_SERIAL_FAILED)
            return fail_status(s->fail_reason);
        /* D, E, R: the tail of an earlier connection. */
        forget_connection(s);
    }
}

static wisp_status serial_send(void *ctx, const uint8_t *buf, size_t len,
                               size_t *sent, uint32_t timeout_ms)
{
    wisp_serial *s = (wisp_serial *)ctx;
    size_t done = 0;
    (void)timeout_ms; /* link writes queue and never time out */

    if (sent != NULL)
        *sent = 0;
    if (s == NULL || buf == NULL || len == 0 || sent == NULL)
        return WISP_ERR_ARG;
    if (!s->connected || s->peer_reset)
        return WISP_ERR_CLOSED;
    while (done < len) {
        size_t n = len - done;
        wisp_status st;
        if (n > WISP_SERIAL_MAX_PAYLOAD)
            n = WISP_SERIAL_MAX_PAYLOAD;
        st = write_header(s, WISP_SERIAL_DATA, n);
        if (st == WISP_OK)
            st = link_write(s, buf + done, n);
        if (st != WISP_OK)
            return st;
        done += n;
    }
    *sent = done;
    return WISP_OK;
}

/* Reads frames until a 'D' payload is owed, or an end, reset or error. */
static wisp_status await_data(wisp_serial *s, const serial_clock *c)
{
    while (s->data_left == 0) {
        uint8_t type = 0;
        wisp_status st = next_frame(s, c, &type);
        if (st != WISP_OK)
            return st;
        if (type == WISP_SERIAL_END) {
            s->peer_ended = true;
            return WISP_OK;
        }
        if (type == WISP_SERIAL_RESET) {
            s->peer_reset = true;
            return WISP_ERR_CLOSED;
        }
        if (type != WISP_SERIAL_DATA) /* 'O' or 'F' while connected */
            return link_failed(s);
    }
    return WISP_OK;
}

static wisp_status serial_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got,
                               uint32_t timeout_ms)
{
    wisp_serial *s = (wisp_serial *)ctx;
    serial_clock c;
    size_t n = 0;
    wisp_status st;

    if (got != NULL)
        *got = 0;
    if (s == NULL || buf == NULL || cap == 0 || got == NULL)
        return WISP_ERR_ARG;
    if (!s->connected || s->peer_reset)
        return WISP_ERR_CLOSED;
    if (s->peer_ended)
        return WISP_OK; /* sticky end of stream */
    c = clock_start(s, timeout_ms);
    st = await_data(s, &c);
    if (st != WISP_OK || s->peer_ended)
        return st;
    if (cap > s->data_left)
        cap = s->data_left;
    st = link_read(s, &c, buf, cap, &n);
    if (st != WISP_OK)
        return st;
    s->data_left = (uint16_t)(s->data_left - n);
    *got = n;
    return WISP_OK;
}

static void serial_close(void *ctx)
{
    wisp_serial *s = (wisp_serial *)ctx;
    if (s == NULL)
        return;
    if (s->connected)
        (void)write_header(s, WISP_SERIAL_CLOSE, 0); /* nothing to do if it fails */
    forget_connection(s);
}

void wisp_serial_init(wisp_serial *s, const wisp_serial_link *link,
                      wisp_now_fn now_ms, void *now_ctx, wisp_transport *out)
{
    wisp_serial zero = {0};
    if (s == NULL || link == NULL)
        return;
    *s = zero;
    s->link = *link;
    s->now_ms = now_ms;
    s->now_ctx = now_ctx;
    if (out != NULL) {
        out->ctx = s;
        out->connect = serial_connect;
        out->send = serial_send;
        out->recv = serial_recv;
        out->close = serial_close;
        out->last_error = NULL;
    }
}
