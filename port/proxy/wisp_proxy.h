/*
 * wisp_proxy.h - through an HTTP proxy, over any wisp transport.
 *
 * wisp_proxy_init() wraps an inner transport (POSIX sockets, lwIP, a test
 * fake) and fills *out with a transport that reaches servers through an
 * HTTP proxy.  Two modes:
 *
 *   WISP_PROXY_TUNNEL   connect(host, port) connects to the proxy and asks
 *                       it "CONNECT host:port"; once the proxy answers 2xx
 *                       the connection is a byte pipe to host:port.  For
 *                       https: put TLS over this transport (wisp_tls_init
 *                       with it as the inner one), so TLS still verifies
 *                       the origin server end to end and the proxy sees
 *                       only ciphertext.  Basic credentials, when given,
 *                       go in the CONNECT request.
 *   WISP_PROXY_FORWARD  for plain http: connect() connects to the proxy
 *                       whatever host it is given, and the request passes
 *                       through untouched.  Set wisp_config.absolute_form
 *                       so the request line carries the whole URL, and put
 *                       the credentials among the request's headers
 *                       (wisp_proxy_basic()); this transport sends nothing
 *                       of its own.
 *
 * The CONNECT request:
 *   CONNECT host:port HTTP/1.1\r\n          (an IPv6 host in brackets)
 *   Host: host:port\r\n
 *   Proxy-Authorization: Basic B64\r\n      (with credentials; RFC 7617)
 *   \r\n
 * The answer's head is read within connect's timeout (one deadline from
 * the TCP connect to the end of the head when cfg.now_ms is given; without
 * a clock each inner call gets the whole timeout).  The status line must
 * be "HTTP/1." DIGIT SP 3DIGIT, then SP and a reason or the line's end;
 * lines end in CRLF or LF; 1xx heads are skipped; the head may be at most
 * WISP_PROXY_MAX_HEAD_BYTES.  After a 2xx head there is no body (RFC 9110
 * 9.3.6: a Content-Length or Transfer-Encoding there is ignored): any
 * byte read past the head is the tunnel's and comes first from recv.
 *
 * Status mapping of connect (see the contract in wisp.h):
 *   inner DNS / connect / I/O errors,      passed through unchanged
 *     a reset while waiting for the answer
 *   no answer head within the timeout      WISP_ERR_TIMEOUT
 *   the proxy refused: any status but 2xx  WISP_ERR_PROXY; status holds
 *     (407, 403, 5xx, ...)                   its code
 *   the proxy closed without answering,    WISP_ERR_PROXY (status 0)
 *     answered with bytes that are not an
 *     HTTP head, or a head that is too long
 *   a host that is empty, longer than      WISP_ERR_ARG
 *     WISP_HOST_CAP - 1, or holds a byte
 *     that is not visible ASCII or a
 *     bracket
 * A malformed answer is WISP_ERR_PROXY, not WISP_ERR_HTTP: nothing of the
 * server's was read, the fault is the proxy's (often not an HTTP proxy at
 * all: a SOCKS port, a TLS port), and WISP_ERR_HTTP would send a person
 * looking at the API server.
 *
 * last_error(ctx, detail, cap) after a failed connect gives, for a
 * refusal, the proxy's status line as it came (control and non-ASCII
 * bytes as '?', cut to fit), e.g. "HTTP/1.1 407 Proxy Authentication
 * Required"; for the other failures of the exchange a short English
 * reason that names the proxy ("no answer from the proxy to CONNECT within
 * the timeout"); else what the inner transport's last_error says (or "").
 * It returns 0.  Credentials never appear in it.  When TLS is wrapped
 * around this transport, wisp_tls's last_error passes this text on.
 *
 * send, recv and close go to the inner transport (recv first hands out
 * bytes read past the answer's head).  Keep-alive works as without the
 * proxy: a kept connection is a kept tunnel; the next connect() closes
 * it and opens a new one.
 *
 * Memory: everything is inside struct wisp_proxy (WISP_PROXY_BUF_CAP for
 * the request going out and the answer coming in); no heap, no stdio.
 */
#ifndef WISP_PROXY_H
#define WISP_PROXY_H

#include "wisp.h"

/* Bytes of the buffer that carries the CONNECT request out (in pieces, so
 * a long host or long credentials need no more) and the proxy's answer in;
 * bytes past the head wait there for recv.  Default 256, range 64..65535. */
#ifndef WISP_PROXY_BUF_CAP
#define WISP_PROXY_BUF_CAP 256u
#endif

/* The longest answer head read from the proxy (1xx heads included); more
 * is WISP_ERR_PROXY.  Default 8192, range 64..0x7fffffff. */
#ifndef WISP_PROXY_MAX_HEAD_BYTES
#define WISP_PROXY_MAX_HEAD_BYTES 8192u
#endif

/* Size of the "Basic ..." value of wisp_proxy_basic() for a user and
 * password of these lengths, its NUL included. */
#define WISP_PROXY_BASIC_SIZE(user_len, password_len) \
    (6u + 4u * (((user_len) + 1u + (password_len) + 2u) / 3u) + 1u)

typedef enum wisp_proxy_mode {
    WISP_PROXY_TUNNEL,  /* CONNECT host:port (https, below TLS) */
    WISP_PROXY_FORWARD  /* plain http: the proxy gets the request itself */
} wisp_proxy_mode;

typedef struct wisp_proxy_config {
    /* The proxy: a host name or IP literal (IPv6 without brackets) and its
     * port.  Borrowed for the lifetime of the proxy. */
    const char *host;
    uint16_t port;
    wisp_proxy_mode mode;
    /* Optional Basic credentials (tunnel mode only; in forward mode they
     * belong in a request header, see wisp_proxy_basic).  NULL user: none.
     * A user without a password sends an empty one.  The user may not hold
     * ':' (RFC 7617); neither may hold a control byte.  Borrowed. */
    const char *user;
    const char *password;
    /* Optional monotonic clock: one deadline for the whole CONNECT
     * exchange.  NULL: each inner call gets connect's whole timeout. */
    wisp_now_fn now_ms;
    void *now_ctx;
} wisp_proxy_config;

/* All state of one proxy transport.  Treat as private except status and
 * the counter. */
typedef struct wisp_proxy {
    wisp_transport inner;   /* copy of the wrapped transport */
    wisp_proxy_config cfg;  /* copy; strings borrowed */

    uint8_t buf[WISP_PROXY_BUF_CAP];
    size_t pending_at;      /* tunnel bytes read with the head: buf[at..] */
    size_t pending_len;
    bool inner_open;

    /* The answer being read. */
    uint32_t head_bytes;    /* against WISP_PROXY_MAX_HEAD_BYTES */
    uint32_t col;           /* bytes of the status line so far */
    uint8_t state;
    bool cr;                /* a CR was seen; only LF may follow */
    uint32_t timeout_ms;    /* connect's timeout */
    uint32_t start_ms;      /* now_ms when connect began (with a clock) */

    /* The proxy's status code in answer to the last CONNECT (0: none, or
     * no valid status line). */
    int status;
    /* Why the last connect failed, for last_error; "" when it did not or
     * the inner transport said why. */
    char detail[WISP_TLS_DETAIL_CAP];

    uint32_t tunnels;       /* CONNECTs the proxy accepted since init */
} wisp_proxy;

/*
 * Sets up p over *inner (copied) with *cfg (copied; its strings are
 * borrowed) and fills *out with the proxy transport (ctx = p).
 * Returns WISP_OK, or WISP_ERR_ARG: a NULL argument, an incomplete inner
 * transport, out == inner, port 0, a host refused as connect's would be
 * (see above), an unknown mode,
 * credentials in forward mode, a user with ':' or a control byte, a
 * password with a control byte.
 */
wisp_status wisp_proxy_init(wisp_proxy *p, const wisp_proxy_config *cfg,
                            const wisp_transport *inner, wisp_transport *out);

/*
 * Writes the Proxy-Authorization value "Basic " + base64(user ":" password)
 * (RFC 7617; the bytes as given, UTF-8 for non-ASCII) and a NUL into
 * dst[0..cap): the value to add to wisp_config.headers as
 * "Proxy-Authorization" in forward mode.  password NULL: empty.  Needs
 * WISP_PROXY_BASIC_SIZE(strlen(user), strlen(password)) bytes.
 * Returns WISP_OK, WISP_ERR_ARG (NULL user or dst, the checks of
 * wisp_proxy_config's credentials), WISP_ERR_TOO_LARGE (cap too small;
 * dst is then "" when cap > 0).  The value is a secret: never log it.
 */
wisp_status wisp_proxy_basic(const char *user, const char *password, char *dst, size_t cap);

#endif /* WISP_PROXY_H */
