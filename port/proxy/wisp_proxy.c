/*
 * wisp_proxy.c - through an HTTP proxy: a CONNECT tunnel, or forwarding.
 *
 * The CONNECT request goes out through buf in pieces (base64 of the
 * credentials is made on the fly, nothing is built whole), then the
 * answer comes into the same buffer and a small byte machine reads its
 * head: the status line checked as it arrives (a peer that is not an HTTP
 * proxy fails at its first odd byte, without waiting for a timeout), the
 * header lines only skipped up to the empty line.
 */
#include "wisp_proxy.h"

#include <string.h>

/* Where the answer's reader is. */
enum {
    RD_STATUS, /* the status line */
    RD_LINE,   /* at the start of a header line (or of the empty line) */
    RD_FIELD   /* inside a header line */
};

/* What a piece of the answer gave. */
typedef enum feed_result {
    FEED_MORE,    /* all consumed, the head goes on */
    FEED_UP,      /* a 2xx head is complete: the tunnel is up */
    FEED_REFUSED, /* a status line other than 1xx and 2xx */
    FEED_BAD      /* not an HTTP head, or too long; detail says which */
} feed_result;

/* ---- small text helpers (no stdio) ----------------------------------------- */

static void detail_set(wisp_proxy *p, const char *text)
{
    size_t n = strlen(text);
    if (n >= sizeof p->detail) {
        n = sizeof p->detail - 1;
    }
    memcpy(p->detail, text, n);
    p->detail[n] = '\0';
}

/* Puts text in front of what detail holds (the status line so far). */
static void detail_prefix(wisp_proxy *p, const char *text)
{
    size_t n = strlen(text), have = strlen(p->detail);
    if (n >= sizeof p->detail) {
        n = sizeof p->detail - 1;
    }
    if (n + have >= sizeof p->detail) {
        have = sizeof p->detail - 1 - n;
    }
    memmove(p->detail + n, p->detail, have);
    memcpy(p->detail, text, n);
    p->detail[n + have] = '\0';
}

/* Visible ASCII, no brackets: what may stand in CONNECT's authority. */
static bool host_ok(const char *host)
{
    size_t n = 0;
    if (host == NULL || host[0] == '\0') {
        return false;
    }
    for (; host[n] != '\0'; n++) {
        uint8_t c = (uint8_t)host[n];
        if (c <= 0x20 || c >= 0x7F || c == '[' || c == ']' || n + 1 >= WISP_HOST_CAP) {
            return false;
        }
    }
    return true;
}

/* No control bytes (RFC 7617 forbids them; a CR or LF would split the
 * request head). */
static bool clean_text(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((uint8_t)*s < 0x20 || (uint8_t)*s == 0x7F) {
            return false;
        }
    }
    return true;
}

static bool credentials_ok(const char *user, const char *password)
{
    return user != NULL && clean_text(user) && strchr(user, ':') == NULL &&
           (password == NULL || clean_text(password));
}

/* ---- output: the request in pieces through a buffer --------------------------- */

typedef struct sink {
    uint8_t *buf;
    size_t cap, len;
    wisp_proxy *p;  /* NULL: a full buffer is WISP_ERR_TOO_LARGE */
    wisp_status st; /* sticky */
} sink;

static uint32_t time_left(const wisp_proxy *p)
{
    uint32_t spent;
    if (p->cfg.now_ms == NULL) {
        return p->timeout_ms;
    }
    spent = p->cfg.now_ms(p->cfg.now_ctx) - p->start_ms; /* wraps correctly */
    return spent >= p->timeout_ms ? 0 : p->timeout_ms - spent;
}

static wisp_status send_all(wisp_proxy *p, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        size_t sent = 0;
        uint32_t left = time_left(p);
        wisp_status st;
        if (left == 0) {
            return WISP_ERR_TIMEOUT;
        }
        st = p->inner.send(p->inner.ctx, buf, len, &sent, left);
        if (st != WISP_OK) {
            return st;
        }
        if (sent == 0 || sent > len) {
            return WISP_ERR_IO; /* a transport breaking its contract */
        }
        buf += sent;
        len -= sent;
    }
    return WISP_OK;
}

static void flush(sink *s)
{
    if (s->st == WISP_OK && s->len > 0) {
        s->st = send_all(s->p, s->buf, s->len);
        s->len = 0;
    }
}

static void put_byte(sink *s, uint8_t c)
{
    if (s->st != WISP_OK) {
        return;
    }
    if (s->len == s->cap) {
        if (s->p == NULL) {
            s->st = WISP_ERR_TOO_LARGE;
            return;
        }
        flush(s);
        if (s->st != WISP_OK) {
            return;
        }
    }
    s->buf[s->len++] = c;
}

static void put_str(sink *s, const char *text)
{
    for (; *text != '\0'; text++) {
        put_byte(s, (uint8_t)*text);
    }
}

static void put_u16(sink *s, uint16_t v)
{
    char digits[6];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v = (uint16_t)(v / 10u);
    } while (v != 0);
    while (n > 0) {
        put_byte(s, (uint8_t)digits[--n]);
    }
}

/* host:port, an IPv6 literal in brackets. */
static void put_authority(sink *s, const char *host, uint16_t port)
{
    bool v6 = strchr(host, ':') != NULL;
    if (v6) {
        put_byte(s, '[');
    }
    put_str(s, host);
    if (v6) {
        put_byte(s, ']');
    }
    put_byte(s, ':');
    put_u16(s, port);
}

/* The byte at i of user ":" password. */
static uint8_t cred_byte(const char *user, size_t user_len, const char *password, size_t i)
{
    if (i < user_len) {
        return (uint8_t)user[i];
    }
    return i == user_len ? (uint8_t)':' : (uint8_t)password[i - user_len - 1];
}

/* "Basic " and base64 (RFC 4648, padded) of user ":" password. */
static void put_basic(sink *s, const char *user, const char *password)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t ulen = strlen(user), n, i;
    if (password == NULL) {
        password = "";
    }
    n = ulen + 1 + strlen(password);
    put_str(s, "Basic ");
    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)cred_byte(user, ulen, password, i) << 16;
        if (i + 1 < n) {
            v |= (uint32_t)cred_byte(user, ulen, password, i + 1) << 8;
        }
        if (i + 2 < n) {
            v |= cred_byte(user, ulen, password, i + 2);
        }
        put_byte(s, (uint8_t)b64[(v >> 18) & 63u]);
        put_byte(s, (uint8_t)b64[(v >> 12) & 63u]);
        put_byte(s, i + 1 < n ? (uint8_t)b64[(v >> 6) & 63u] : (uint8_t)'=');
        put_byte(s, i + 2 < n ? (uint8_t)b64[v & 63u] : (uint8_t)'=');
    }
}

static wisp_status send_connect(wisp_proxy *p, const char *host, uint16_t port)
{
    sink s;
    s.buf = p->buf;
    s.cap = sizeof p->buf;
    s.len = 0;
    s.p = p;
    s.st = WISP_OK;
    put_str(&s, "CONNECT ");
    put_authority(&s, host, port);
    put_str(&s, " HTTP/1.1\r\nHost: ");
    put_authority(&s, host, port);
    put_str(&s, "\r\n");
    if (p->cfg.user != NULL) {
        put_str(&s, "Proxy-Authorization: ");
        put_basic(&s, p->cfg.user, p->cfg.password);
        put_str(&s, "\r\n");
    }
    put_str(&s, "\r\n");
    flush(&s);
    memset(p->buf, 0, sizeof p->buf); /* the credentials do not linger */
    return s.st;
}

/* ---- input: the answer's head ------------------------------------------------ */

/* The status line's fixed start, "HTTP/1.x nnn": 'd' stands for a digit. */
static const char k_status_shape[] = "HTTP/1.d ddd";

/* One byte of the status line at column col: does it fit? */
static bool status_byte_ok(uint32_t col, uint8_t c)
{
    if (col < sizeof k_status_shape - 1) {
        char want = k_status_shape[col];
        return want == 'd' ? (c >= '0' && c <= '9') : c == (uint8_t)want;
    }
    if (col == sizeof k_status_shape - 1) {
        return c == ' ' || c == '\r' || c == '\n'; /* a reason, or none */
    }
    return c == '\t' || (c >= 0x20 && c != 0x7F); /* the reason: obs-text allowed */
}

/* Keeps the status line, as a person may read it, in detail. */
static void keep_status_byte(wisp_proxy *p, uint8_t c)
{
    size_t n = strlen(p->detail);
    if (n + 1 < sizeof p->detail) {
        p->detail[n] = (char)(c >= 0x20 && c < 0x7F ? c : '?');
        p->detail[n + 1] = '\0';
    }
}

static int status_code(const wisp_proxy *p)
{
    const char *d = p->detail + 9; /* "HTTP/1.x " */
    return (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
}

static feed_result bad_answer(wisp_proxy *p, const char *why)
{
    detail_prefix(p, why);
    return FEED_BAD;
}

/* A line has ended: the status line (decides what follows) or a header
 * line; an empty line ends a head. */
static feed_result end_of_line(wisp_proxy *p)
{
    if (p->state == RD_STATUS) {
        p->status = status_code(p);
        if (p->status < 100 || (p->status >= 300 || p->status == 101)) {
            return FEED_REFUSED;
        }
        p->state = RD_LINE;
        return FEED_MORE;
    }
    if (p->state == RD_FIELD) {
        p->state = RD_LINE;
        return FEED_MORE;
    }
    if (p->status >= 200) {
        return FEED_UP; /* there is no body after 2xx to CONNECT */
    }
    /* The end of a 1xx head: the real answer follows. */
    p->state = RD_STATUS;
    p->col = 0;
    p->detail[0] = '\0';
    return FEED_MORE;
}

static feed_result feed_byte(wisp_proxy *p, uint8_t c)
{
    if (++p->head_bytes > WISP_PROXY_MAX_HEAD_BYTES) {
        return bad_answer(p, "the proxy's answer head is too long: ");
    }
    if (p->cr) {
        p->cr = false;
        if (c != '\n') {
            return bad_answer(p, "malformed answer from the proxy (CR without LF): ");
        }
        return end_of_line(p);
    }
    if (c == '\r' || c == '\n') {
        if (p->state == RD_STATUS && p->col < sizeof k_status_shape - 1) {
            return bad_answer(p, "not an HTTP answer from the proxy: ");
        }
        p->cr = c == '\r';
        return p->cr ? FEED_MORE : end_of_line(p);
    }
    switch (p->state) {
    case RD_STATUS:
        if (!status_byte_ok(p->col, c)) {
            keep_status_byte(p, c);
            return bad_answer(p, "not an HTTP answer from the proxy: ");
        }
        keep_status_byte(p, c);
        p->col++;
        return FEED_MORE;
    default: /* a header line: skipped, but no control bytes */
        p->state = RD_FIELD;
        if ((c < 0x20 && c != '\t') || c == 0x7F) {
            return bad_answer(p, "malformed header line from the proxy after: ");
        }
        return FEED_MORE;
    }
}

/* Feeds in[0..len); *used: the bytes that were the head's. */
static feed_result feed(wisp_proxy *p, const uint8_t *in, size_t len, size_t *used)
{
    size_t i;
    for (i = 0; i < len; i++) {
        feed_result r = feed_byte(p, in[i]);
        if (r != FEED_MORE) {
            *used = i + 1;
            return r;
        }
    }
    *used = len;
    return FEED_MORE;
}

/* After a status line that is not one: what else of that line came, so a
 * person can tell what answered ("SSH-2.0-...", a SOCKS reply). */
static void show_rest_of_line(wisp_proxy *p, const uint8_t *in, size_t len)
{
    size_t i;
    for (i = 0; i < len && in[i] != '\r' && in[i] != '\n'; i++) {
        keep_status_byte(p, in[i]);
    }
}

/* Receives until the head is read.  WISP_OK with the tunnel up. */
static wisp_status read_answer(wisp_proxy *p)
{
    p->state = RD_STATUS;
    p->col = 0;
    p->cr = false;
    p->head_bytes = 0;
    p->detail[0] = '\0';
    for (;;) {
        size_t got = 0, used = 0;
        uint32_t left = time_left(p);
        wisp_status st;
        feed_result r;
        if (left == 0) {
            st = WISP_ERR_TIMEOUT;
        } else {
            st = p->inner.recv(p->inner.ctx, p->buf, sizeof p->buf, &got, left);
        }
        if (st == WISP_ERR_TIMEOUT) {
            detail_set(p, "no answer from the proxy to CONNECT within the timeout");
            return st;
        }
        if (st != WISP_OK) {
            detail_set(p, "the connection to the proxy failed while waiting for its answer");
            return st;
        }
        if (got == 0) {
            detail_prefix(p, p->detail[0] != '\0'
                                 ? "the proxy closed the connection in its answer: "
                                 : "the proxy closed the connection without answering CONNECT");
            return WISP_ERR_PROXY;
        }
        r = feed(p, p->buf, got, &used);
        if (r == FEED_BAD && p->state == RD_STATUS) {
            show_rest_of_line(p, p->buf + used, got - used);
        }
        if (r == FEED_UP) {
            p->detail[0] = '\0';
            p->pending_at = used;
            p->pending_len = got - used;
            p->tunnels++;
            return WISP_OK;
        }
        if (r != FEED_MORE) {
            return WISP_ERR_PROXY; /* refused (the status line is the detail) or bad */
        }
    }
}

/* ---- transport functions ------------------------------------------------------- */

static void px_close(void *ctx)
{
    wisp_proxy *p = (wisp_proxy *)ctx;
    p->inner.close(p->inner.ctx);
    p->inner_open = false;
    p->pending_at = 0;
    p->pending_len = 0;
}

/* After the inner connect failed: say it was the proxy that could not be
 * reached, with the inner transport's own reason when it has one. */
static void connect_failure_detail(wisp_proxy *p)
{
    char why[WISP_TLS_DETAIL_CAP];
    why[0] = '\0';
    if (p->inner.last_error != NULL) {
        (void)p->inner.last_error(p->inner.ctx, why, sizeof why);
        why[sizeof why - 1] = '\0';
    }
    detail_set(p, why);
    detail_prefix(p, why[0] != '\0' ? "connecting to the proxy: " : "connecting to the proxy failed");
}

static wisp_status px_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms)
{
    wisp_proxy *p = (wisp_proxy *)ctx;
    wisp_status st;

    if (!host_ok(host)) {
        return WISP_ERR_ARG;
    }
    px_close(p);
    p->status = 0;
    p->detail[0] = '\0';
    p->timeout_ms = timeout_ms;
    p->start_ms = p->cfg.now_ms != NULL ? p->cfg.now_ms(p->cfg.now_ctx) : 0;

    st = p->inner.connect(p->inner.ctx, p->cfg.host, p->cfg.port, timeout_ms);
    if (st != WISP_OK) {
        connect_failure_detail(p);
        return st;
    }
    p->inner_open = true;
    if (p->cfg.mode == WISP_PROXY_FORWARD) {
        return WISP_OK;
    }
    st = send_connect(p, host, port);
    if (st != WISP_OK) {
        detail_set(p, st == WISP_ERR_TIMEOUT ? "the proxy took no CONNECT request within the timeout"
                                             : "sending CONNECT to the proxy failed");
    } else {
        st = read_answer(p);
    }
    if (st != WISP_OK) {
        px_close(p);
    }
    return st;
}

static wisp_status px_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent,
                           uint32_t timeout_ms)
{
    wisp_proxy *p = (wisp_proxy *)ctx;
    return p->inner.send(p->inner.ctx, buf, len, sent, timeout_ms);
}

static wisp_status px_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t timeout_ms)
{
    wisp_proxy *p = (wisp_proxy *)ctx;
    if (p->pending_len > 0 && cap > 0) {
        size_t n = p->pending_len < cap ? p->pending_len : cap;
        memcpy(buf, p->buf + p->pending_at, n);
        p->pending_at += n;
        p->pending_len -= n;
        *got = n;
        return WISP_OK;
    }
    return p->inner.recv(p->inner.ctx, buf, cap, got, timeout_ms);
}

static int px_last_error(void *ctx, char *detail, size_t cap)
{
    wisp_proxy *p = (wisp_proxy *)ctx;
    size_t n;
    if (p->detail[0] == '\0' && p->inner.last_error != NULL) {
        return p->inner.last_error(p->inner.ctx, detail, cap);
    }
    if (detail != NULL && cap > 0) {
        n = strlen(p->detail);
        if (n >= cap) {
            n = cap - 1;
        }
        memcpy(detail, p->detail, n);
        detail[n] = '\0';
    }
    return 0;
}

/* ---- setup ------------------------------------------------------------------------ */

wisp_status wisp_proxy_init(wisp_proxy *p, const wisp_proxy_config *cfg,
                            const wisp_transport *inner, wisp_transport *out)
{
    if (p == NULL || cfg == NULL || inner == NULL || out == NULL || out == inner ||
        inner->connect == NULL || inner->send == NULL || inner->recv == NULL ||
        inner->close == NULL || !host_ok(cfg->host) || cfg->port == 0 ||
        (cfg->mode != WISP_PROXY_TUNNEL && cfg->mode != WISP_PROXY_FORWARD)) {
        return WISP_ERR_ARG;
    }
    if (cfg->user != NULL || cfg->password != NULL) {
        if (cfg->mode == WISP_PROXY_FORWARD || !credentials_ok(cfg->user, cfg->password)) {
            return WISP_ERR_ARG;
        }
    }
    memset(p, 0, sizeof *p);
    p->inner = *inner;
    p->cfg = *cfg;
    out->ctx = p;
    out->connect = px_connect;
    out->send = px_send;
    out->recv = px_recv;
    out->close = px_close;
    out->last_error = px_last_error;
    return WISP_OK;
}

wisp_status wisp_proxy_basic(const char *user, const char *password, char *dst, size_t cap)
{
    sink s;
    if (dst == NULL || cap == 0) {
        return WISP_ERR_ARG;
    }
    dst[0] = '\0';
    if (!credentials_ok(user, password)) {
        return WISP_ERR_ARG;
    }
    s.buf = (uint8_t *)dst;
    s.cap = cap - 1; /* the NUL */
    s.len = 0;
    s.p = NULL;
    s.st = WISP_OK;
    put_basic(&s, user, password);
    if (s.st != WISP_OK) {
        dst[0] = '\0';
        return s.st;
    }
    dst[s.len] = '\0';
    return WISP_OK;
}
