/*
 * wisp_tls.c - TLS over any wisp transport, with mbedTLS 2.28 or 3.6.
 *
 * mbedTLS reads and writes through bio callbacks that call the inner
 * transport with the time left until the current call's deadline.  A timeout
 * in the inner transport becomes WANT_READ / WANT_WRITE, the one answer
 * after which mbedTLS allows the same call again, and the status remembered
 * in inner_status tells the caller what really happened.
 */
#include "wisp_tls.h"

#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <psa/crypto.h>
#endif

#define WISP_TLS_V3 (MBEDTLS_VERSION_NUMBER >= 0x03000000)

/* PSA crypto must be up before a TLS 1.3 or PSA-backed handshake in 3.x. */
#if WISP_TLS_V3 && (defined(MBEDTLS_USE_PSA_CRYPTO) || defined(MBEDTLS_SSL_PROTO_TLS1_3))
#define WISP_TLS_NEEDS_PSA 1
#else
#define WISP_TLS_NEEDS_PSA 0
#endif

/* ---- small text helpers (no stdio) --------------------------------------- */

static void text_append(char *buf, size_t cap, const char *s)
{
    size_t len = strlen(buf);
    while (*s != '\0' && len + 1 < cap)
        buf[len++] = *s++;
    buf[len] = '\0';
}

#if !defined(MBEDTLS_ERROR_C)
/* Without MBEDTLS_ERROR_C (13 KB of strings) the failures people actually
 * meet still get words; the rest get their code. */
static const struct {
    int code;
    const char *text;
} tls_error_texts[] = {
    { MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE, "the server sent a fatal alert" },
    { MBEDTLS_ERR_SSL_CONN_EOF, "the connection closed" },
    { MBEDTLS_ERR_SSL_INVALID_RECORD, "malformed TLS record (not a TLS server?)" },
    { MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE, "unexpected TLS message" },
    { MBEDTLS_ERR_SSL_ALLOC_FAILED, "out of memory for TLS buffers" },
    { MBEDTLS_ERR_X509_CERT_VERIFY_FAILED, "certificate verification failed" },
#if defined(MBEDTLS_ERR_SSL_DECODE_ERROR)
    { MBEDTLS_ERR_SSL_DECODE_ERROR, "malformed handshake message" },
#endif
#if defined(MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE)
    { MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE,
      "handshake failure: no protocol version, cipher suite or curve in common" },
#endif
#if defined(MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION)
    { MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION, "the server wants an unsupported TLS version" },
#endif
#if defined(MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE)
    { MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE, "no cipher suite in common" },
#endif
#if defined(MBEDTLS_ERR_SSL_BAD_CERTIFICATE)
    { MBEDTLS_ERR_SSL_BAD_CERTIFICATE, "the server's certificate is malformed" },
#endif
    { MBEDTLS_ERR_ENTROPY_SOURCE_FAILED, "no entropy for the random generator" },
    { MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED, "no entropy for the random generator" },
};

/* Appends "-0xNNNN" for a negative mbedTLS code. */
static void text_append_code(char *buf, size_t cap, int code)
{
    static const char hex[] = "0123456789ABCDEF";
    char tmp[12];
    unsigned v = (unsigned)(code < 0 ? -code : code);
    int i;
    tmp[0] = code < 0 ? '-' : '+';
    tmp[1] = '0';
    tmp[2] = 'x';
    for (i = 0; i < 4; i++)
        tmp[3 + i] = hex[(v >> (12 - 4 * i)) & 0xFu];
    tmp[7] = '\0';
    text_append(buf, cap, tmp);
}
#endif

static void set_detail(wisp_tls *tls, int code, const char *a, const char *b)
{
    tls->last_mbedtls_error = code;
    tls->last_detail[0] = '\0';
    if (a != NULL)
        text_append(tls->last_detail, sizeof tls->last_detail, a);
    if (b != NULL)
        text_append(tls->last_detail, sizeof tls->last_detail, b);
}

static void set_detail_mbedtls(wisp_tls *tls, int code, const char *prefix)
{
    set_detail(tls, code, prefix, NULL);
#if defined(MBEDTLS_ERROR_C)
    {
        char why[96];
        mbedtls_strerror(code, why, sizeof why);
        text_append(tls->last_detail, sizeof tls->last_detail, why);
    }
#else
    {
        /* A high-level (SSL, X.509) code may carry a low-level one added. */
        const char *why = NULL;
        size_t i;
        for (i = 0; i < sizeof tls_error_texts / sizeof tls_error_texts[0] && why == NULL; i++)
            if (code == tls_error_texts[i].code ||
                (code < 0 && -((-code) & 0xFF80) == tls_error_texts[i].code) ||
                (code < 0 && -((-code) & 0x007F) == tls_error_texts[i].code))
                why = tls_error_texts[i].text;
        if (why != NULL) {
            text_append(tls->last_detail, sizeof tls->last_detail, why);
            text_append(tls->last_detail, sizeof tls->last_detail, " (");
            text_append_code(tls->last_detail, sizeof tls->last_detail, code);
            text_append(tls->last_detail, sizeof tls->last_detail, ")");
        } else {
            text_append(tls->last_detail, sizeof tls->last_detail, "TLS error ");
            text_append_code(tls->last_detail, sizeof tls->last_detail, code);
        }
    }
#endif
}

/* Words for a certificate verification result, most useful first. */
static void set_detail_verify(wisp_tls *tls, int code, uint32_t flags,
                              const char *host)
{
    static const struct {
        uint32_t flag;
        const char *text;
    } reasons[] = {
        { MBEDTLS_X509_BADCERT_NOT_TRUSTED,
          "certificate issuer is unknown (not in the CA bundle)" },
        { MBEDTLS_X509_BADCERT_EXPIRED, "certificate has expired" },
        { MBEDTLS_X509_BADCERT_FUTURE, "certificate is not yet valid" },
        { MBEDTLS_X509_BADCERT_CN_MISMATCH,
          "host name does not match the certificate" },
    };
    char *d = tls->last_detail;
    size_t cap = sizeof tls->last_detail;
    uint32_t rest = flags;
    size_t i;

    tls->last_mbedtls_error = code;
    tls->last_verify_flags = flags;
    d[0] = '\0';
    for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        if ((flags & reasons[i].flag) == 0)
            continue;
        if (d[0] != '\0')
            text_append(d, cap, "; ");
        if (reasons[i].flag == MBEDTLS_X509_BADCERT_CN_MISMATCH && tls->name_ip_len != 0) {
            text_append(d, cap, "certificate does not hold the IP address ");
            text_append(d, cap, host);
            text_append(d, cap, " (connect by a name it holds, or set server_name to one)");
        } else if (reasons[i].flag == MBEDTLS_X509_BADCERT_CN_MISMATCH) {
            text_append(d, cap, reasons[i].text);
            text_append(d, cap, ": ");
            text_append(d, cap, host);
        } else {
            text_append(d, cap, reasons[i].text);
        }
        rest &= ~reasons[i].flag;
    }
#if defined(MBEDTLS_X509_REMOVE_INFO)
    if (rest != 0) {
        static const char hex[] = "0123456789abcdef";
        char tmp[sizeof "other reasons, flags 0x00000000"] = "other reasons, flags 0x";
        int k;
        for (k = 0; k < 8; k++)
            tmp[23 + k] = hex[(rest >> (28 - 4 * k)) & 0xFu];
        tmp[31] = '\0';
        if (d[0] != '\0')
            text_append(d, cap, "; ");
        text_append(d, cap, tmp);
    }
#else
    if (rest != 0) {
        /* mbedTLS's own words for the rest, on one line. */
        char info[160];
        char *p;
        if (mbedtls_x509_crt_verify_info(info, sizeof info, "", rest) > 0) {
            for (p = info; *p != '\0'; p++)
                if (*p == '\n')
                    *p = (p[1] == '\0') ? '\0' : ';';
            if (d[0] != '\0')
                text_append(d, cap, "; ");
            text_append(d, cap, info);
        }
    }
#endif
    if (d[0] == '\0')
        set_detail_mbedtls(tls, code, "certificate rejected: ");
}

/* ---- clock and deadline --------------------------------------------------- */

static bool have_clock(const wisp_tls *tls)
{
#if defined(MBEDTLS_TIMING_C)
    (void)tls;
    return true;
#else
    return tls->cfg.now_ms != NULL;
#endif
}

static uint32_t now_ms(wisp_tls *tls)
{
    if (tls->cfg.now_ms != NULL)
        return tls->cfg.now_ms(tls->cfg.now_ctx);
#if defined(MBEDTLS_TIMING_C)
    return (uint32_t)mbedtls_timing_get_timer(&tls->timer, 0);
#else
    return 0;
#endif
}

static void start_deadline(wisp_tls *tls, uint32_t timeout_ms)
{
    tls->io_timeout_ms = timeout_ms;
    tls->use_deadline = have_clock(tls);
    if (tls->use_deadline)
        tls->io_deadline = now_ms(tls) + timeout_ms;
    tls->inner_status = WISP_OK;
    tls->io_polled = false;
}

/* Time left for the next inner call; without a clock, the whole timeout. */
static uint32_t time_left(wisp_tls *tls)
{
    int32_t left;
    if (!tls->use_deadline)
        return tls->io_timeout_ms;
    left = (int32_t)(tls->io_deadline - now_ms(tls));
    if (left <= 0)
        return 0u;
    /* A wall clock stepped back must not stretch the wait. */
    return (uint32_t)left < tls->io_timeout_ms ? (uint32_t)left : tls->io_timeout_ms;
}

/* ---- bio callbacks -------------------------------------------------------- */

/* False once the deadline has passed and one zero-time call was made: a
 * peer that streams records mbedTLS swallows (warning alerts, tickets) must
 * not hold the caller past its timeout. */
static bool may_call_inner(wisp_tls *tls, uint32_t *left)
{
    *left = time_left(tls);
    if (*left == 0 && tls->use_deadline) {
        if (tls->io_polled) {
            tls->inner_status = WISP_ERR_TIMEOUT;
            return false;
        }
        tls->io_polled = true;
    }
    return true;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    wisp_tls *tls = ctx;
    size_t sent = 0;
    uint32_t left;
    wisp_status st;

    if (!tls->inner_open)
        return MBEDTLS_ERR_NET_CONN_RESET;
    if (!may_call_inner(tls, &left))
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    st = tls->inner.send(tls->inner.ctx, buf, len, &sent, left);
    if (st == WISP_OK && sent > 0)
        return (int)sent;
    tls->inner_status = st == WISP_OK ? WISP_ERR_IO : st;
    if (st == WISP_ERR_TIMEOUT)
        return MBEDTLS_ERR_SSL_WANT_WRITE; /* mbedTLS may be called again */
    return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    wisp_tls *tls = ctx;
    size_t got = 0;
    uint32_t left;
    wisp_status st;

    if (!tls->inner_open)
        return MBEDTLS_ERR_NET_CONN_RESET;
    if (!may_call_inner(tls, &left))
        return MBEDTLS_ERR_SSL_WANT_READ;
    st = tls->inner.recv(tls->inner.ctx, buf, len, &got, left);
    if (st == WISP_OK)
        return (int)got; /* 0: the peer closed the TCP connection */
    tls->inner_status = st;
    if (st == WISP_ERR_TIMEOUT)
        return MBEDTLS_ERR_SSL_WANT_READ; /* mbedTLS may be called again */
    return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* ---- IP literals as the verified name ------------------------------------ */

/* Digits of base (10 or 16) at s, at most max of them, as a value; the
 * count read in *n (0: none). */
static unsigned long read_digits(const char *s, unsigned base, int max, int *n)
{
    unsigned long v = 0;
    int i;
    for (i = 0; i < max; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            break;
        v = v * base + d;
    }
    *n = i;
    return v;
}

/* A dotted quad (four decimal parts of 0..255, ending the string). */
static bool parse_ipv4(const char *s, uint8_t out[4])
{
    int part, n;
    for (part = 0; part < 4; part++) {
        unsigned long v = read_digits(s, 10, 3, &n);
        if (n == 0 || v > 255 || (n > 1 && s[0] == '0'))
            return false;
        out[part] = (uint8_t)v;
        s += n;
        if (part < 3 && *s++ != '.')
            return false;
    }
    return *s == '\0';
}

/* RFC 4291 text: eight groups of 1..4 hex digits, one "::" for a run of
 * zero groups, a dotted quad as the last 32 bits.  No zone (%...). */
static bool parse_ipv6(const char *s, uint8_t out[16])
{
    uint8_t b[16];
    int len = 0, gap = -1, n, i;

    if (s[0] == ':' && s[1] == ':') {
        gap = 0;
        s += 2;
    }
    while (*s != '\0') {
        unsigned long v = read_digits(s, 16, 4, &n);
        if (s[n] == '.' && len <= 12) {
            if (!parse_ipv4(s, b + len))
                return false;
            len += 4;
            break;
        }
        if (n == 0 || len > 14)
            return false;
        b[len++] = (uint8_t)(v >> 8);
        b[len++] = (uint8_t)(v & 0xffu);
        s += n;
        if (*s == '\0')
            break;
        if (*s++ != ':')
            return false;
        if (*s == ':') {
            if (gap >= 0)
                return false; /* two "::" */
            gap = len;
            s++;
        } else if (*s == '\0') {
            return false; /* a trailing single ':' */
        }
    }
    if (gap < 0 ? len != 16 : len > 14)
        return false;
    memset(out, 0, 16);
    if (gap < 0)
        gap = len;
    memcpy(out, b, (size_t)gap);
    for (i = gap; i < len; i++)
        out[16 - len + i] = b[i];
    return true;
}

/* The name's address bytes when it is an IP literal; 0 when a DNS name. */
static uint8_t ip_literal(const char *name, uint8_t out[16])
{
    if (parse_ipv4(name, out))
        return 4;
    if (strchr(name, ':') != NULL && parse_ipv6(name, out))
        return 16;
    return 0;
}

/* Whether the certificate holds the address among its iPAddress entries
 * (SAN tag [7]: 4 or 16 bytes), byte for byte. */
static bool cert_holds_ip(const mbedtls_x509_crt *crt, const uint8_t *ip, size_t len)
{
    const mbedtls_x509_sequence *san;
    for (san = &crt->subject_alt_names; san != NULL; san = san->next)
        if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && san->buf.len == len &&
            memcmp(san->buf.p, ip, len) == 0)
            return true;
    return false;
}

/* Called for each certificate of the chain, only when one is verified:
 * a resumed handshake shows no certificate, so no call.
 * An IP-literal name is not given to mbedTLS (it would go out as SNI,
 * which RFC 6066 forbids for addresses and rustls servers refuse, and
 * mbedTLS before 3.5 compares names with DNS entries only): the leaf's
 * iPAddress entries are compared here (RFC 2818 3.1, RFC 6125 6.2.1),
 * and a certificate without the address is a name mismatch. */
static int on_verify(void *ctx, mbedtls_x509_crt *crt, int depth,
                     uint32_t *flags)
{
    wisp_tls *tls = ctx;
    tls->verify_calls++;
    if (depth == 0 && tls->name_ip_len != 0 &&
        !cert_holds_ip(crt, tls->name_ip, tls->name_ip_len))
        *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

/* ---- session keeping ------------------------------------------------------ */

static void drop_saved_session(wisp_tls *tls)
{
    if (tls->have_saved) {
        mbedtls_ssl_session_free(&tls->saved);
        mbedtls_ssl_session_init(&tls->saved);
        tls->have_saved = false;
    }
}

/* Copies the connection's current session (TLS 1.2 session, or the latest
 * TLS 1.3 ticket) for the next connect.  Keeps the old one on failure. */
static void save_session(wisp_tls *tls)
{
    mbedtls_ssl_session fresh;
    mbedtls_ssl_session_init(&fresh);
    if (mbedtls_ssl_get_session(&tls->ssl, &fresh) != 0) {
        mbedtls_ssl_session_free(&fresh);
        return;
    }
    drop_saved_session(tls);
    tls->saved = fresh; /* the struct owns its allocations: moved, not copied */
    tls->have_saved = true;
}

static bool is_tls13(const wisp_tls *tls)
{
#if WISP_TLS_V3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    return mbedtls_ssl_get_version_number(&tls->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
#else
    (void)tls;
    return false;
#endif
}

static bool is_new_ticket(int ret)
{
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
    return ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET;
#else
    (void)ret;
    return false;
#endif
}

/* ---- error mapping -------------------------------------------------------- */

static bool is_cert_error(int ret)
{
    switch (ret) {
    case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
    case MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED:
#if defined(MBEDTLS_ERR_SSL_BAD_CERTIFICATE)
    case MBEDTLS_ERR_SSL_BAD_CERTIFICATE:
#endif
#if defined(MBEDTLS_ERR_SSL_CERTIFICATE_VERIFICATION_WITHOUT_HOSTNAME)
    case MBEDTLS_ERR_SSL_CERTIFICATE_VERIFICATION_WITHOUT_HOSTNAME:
#endif
        return true;
    default:
        return false;
    }
}

/* Status and detail for a failed mbedTLS call during the handshake. */
static wisp_status handshake_failure(wisp_tls *tls, int ret, const char *host)
{
    uint32_t flags;

    if (tls->inner_status != WISP_OK) {
        wisp_status st = tls->inner_status;
        if (st == WISP_ERR_TIMEOUT) {
            set_detail(tls, 0, "no answer within the timeout during the TLS handshake", NULL);
        } else if (st == WISP_ERR_CLOSED) {
            /* A reset in the handshake is how many servers refuse a client. */
            set_detail(tls, 0, "the server dropped the connection during the TLS handshake", NULL);
            st = WISP_ERR_TLS;
        } else {
            set_detail(tls, 0, "network failure during the TLS handshake", NULL);
        }
        return st;
    }
    flags = mbedtls_ssl_get_verify_result(&tls->ssl);
    if (is_cert_error(ret) || (flags != 0 && flags != (uint32_t)-1 &&
                               !tls->cfg.skip_verification_insecure)) {
        if (ret == MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED)
            set_detail(tls, ret, "no CA certificates to verify the server with", NULL);
        else if (flags != 0 && flags != (uint32_t)-1)
            set_detail_verify(tls, ret, flags, host);
        else
            set_detail_mbedtls(tls, ret, "certificate rejected: ");
        return WISP_ERR_CERT;
    }
    if (ret == MBEDTLS_ERR_SSL_CONN_EOF) {
        set_detail(tls, ret, "the server closed the connection during the TLS handshake", NULL);
        return WISP_ERR_TLS;
    }
    set_detail_mbedtls(tls, ret, "handshake failed: ");
    return WISP_ERR_TLS;
}

/* ---- transport functions -------------------------------------------------- */

static void close_inner(wisp_tls *tls)
{
    if (tls->inner_open) {
        tls->inner.close(tls->inner.ctx);
        tls->inner_open = false;
    }
    tls->open = false;
    tls->pending_write = 0;
}

static void tls_close(void *ctx)
{
    wisp_tls *tls = ctx;
    if (tls->open && !tls->peer_closed) {
        /* Best effort: a peer that does not read must not hold us up. */
        int ret;
        start_deadline(tls, WISP_TLS_CLOSE_TIMEOUT_MS);
        do {
            ret = mbedtls_ssl_close_notify(&tls->ssl);
        } while (ret == MBEDTLS_ERR_SSL_WANT_WRITE && tls->inner_status == WISP_OK);
    }
    close_inner(tls);
    tls->peer_closed = false; /* recv now says WISP_ERR_CLOSED */
}

/* Handles what mbedTLS says besides data.  Returns true to call again. */
static bool io_again(wisp_tls *tls, int ret)
{
    if (is_new_ticket(ret)) {
        save_session(tls);
        return true;
    }
    return (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) &&
           tls->inner_status == WISP_OK;
}

static bool same_peer(const wisp_tls *tls, const char *host, uint16_t port,
                      const char *name)
{
    return tls->have_saved && tls->saved_port == port &&
           strcmp(tls->saved_host, host) == 0 &&
           strcmp(tls->saved_name, name) == 0;
}

static wisp_status tls_connect(void *ctx, const char *host, uint16_t port,
                               uint32_t timeout_ms)
{
    wisp_tls *tls = ctx;
    const char *name;
    wisp_status st;
    int ret;

    if (host == NULL || host[0] == '\0' || strlen(host) >= sizeof tls->saved_host)
        return WISP_ERR_ARG;
    name = tls->cfg.server_name != NULL ? tls->cfg.server_name : host;
    if (name[0] == '\0' || strlen(name) >= sizeof tls->saved_name)
        return WISP_ERR_ARG;
    if (tls->open || tls->inner_open)
        tls_close(tls);
    set_detail(tls, 0, NULL, NULL);
    tls->last_verify_flags = 0;
    tls->peer_closed = false;
    tls->verify_calls = 0;
    tls->session_offered = false;
    tls->name_ip_len = ip_literal(name, tls->name_ip);

    /* One deadline for TCP connect and the whole handshake. */
    start_deadline(tls, timeout_ms);

    if (tls->ssl_ready) {
        ret = mbedtls_ssl_session_reset(&tls->ssl);
    } else {
        ret = mbedtls_ssl_setup(&tls->ssl, &tls->conf);
        if (ret == 0) {
            tls->ssl_ready = true;
            mbedtls_ssl_set_bio(&tls->ssl, tls, bio_send, bio_recv, NULL);
        }
    }
    if (ret != 0) {
        set_detail_mbedtls(tls, ret, "TLS setup failed: ");
        return WISP_ERR_TLS;
    }
    /* Sets SNI and the name the certificate must carry; for an address,
     * neither (on_verify checks it): an explicit NULL, which mbedTLS 3.6
     * takes as "the application checks the name". */
    ret = mbedtls_ssl_set_hostname(&tls->ssl, tls->name_ip_len != 0 ? NULL : name);
    if (ret != 0) {
        set_detail_mbedtls(tls, ret, "cannot use the host name: ");
        return WISP_ERR_TLS;
    }

    if (!same_peer(tls, host, port, name))
        drop_saved_session(tls);
    if (tls->have_saved && mbedtls_ssl_set_session(&tls->ssl, &tls->saved) == 0)
        tls->session_offered = true;

    st = tls->inner.connect(tls->inner.ctx, host, port, time_left(tls));
    if (st != WISP_OK) {
        /* The inner transport's reason, when it has one (an HTTP proxy's
         * refusal): the client asks only the outer transport. */
        set_detail(tls, 0, NULL, NULL);
        if (tls->inner.last_error != NULL) {
            (void)tls->inner.last_error(tls->inner.ctx, tls->last_detail, sizeof tls->last_detail);
            tls->last_detail[sizeof tls->last_detail - 1] = '\0';
        }
        return st;
    }
    tls->inner_open = true;

    for (;;) {
        ret = mbedtls_ssl_handshake(&tls->ssl);
        if (ret == 0)
            break;
        if (io_again(tls, ret))
            continue;
        st = handshake_failure(tls, ret, name);
        /* A session the server choked on is not worth offering again. */
        drop_saved_session(tls);
        close_inner(tls);
        return st;
    }

    tls->open = true;
    /* Certificates were checked: a full handshake.  With verification off
     * mbedTLS checks nothing, so a resumption cannot be told apart and the
     * handshake is counted as full. */
    if (tls->session_offered && tls->verify_calls == 0 &&
        !tls->cfg.skip_verification_insecure)
        tls->handshakes_resumed++;
    else
        tls->handshakes_full++;

    memcpy(tls->saved_host, host, strlen(host) + 1);
    memcpy(tls->saved_name, name, strlen(name) + 1);
    tls->saved_port = port;
    /* TLS 1.2: the session is complete now.  TLS 1.3: tickets come after the
     * handshake and are saved as they arrive (see tls_recv). */
    if (!is_tls13(tls))
        save_session(tls);
    return WISP_OK;
}

/* Status for a failed read or write after the handshake; the connection is
 * unusable afterwards unless it was a timeout. */
static wisp_status io_failure(wisp_tls *tls, int ret)
{
    wisp_status st = tls->inner_status;
    if (st == WISP_ERR_TIMEOUT &&
        (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE))
        return WISP_ERR_TIMEOUT;
    if (st == WISP_OK || st == WISP_ERR_TIMEOUT) {
        set_detail_mbedtls(tls, ret, "");
        st = WISP_ERR_TLS;
        drop_saved_session(tls); /* RFC 5246: no resuming after a fatal error */
    } else {
        set_detail(tls, 0, NULL, NULL);
    }
    close_inner(tls);
    return st;
}

static wisp_status tls_send(void *ctx, const uint8_t *buf, size_t len,
                            size_t *sent, uint32_t timeout_ms)
{
    wisp_tls *tls = ctx;
    size_t n = len;
    int ret;

    if (sent == NULL || (buf == NULL && len > 0) || len == 0)
        return WISP_ERR_ARG;
    *sent = 0;
    if (!tls->open)
        return WISP_ERR_CLOSED;
    /* After a timed-out write mbedTLS holds an encrypted record of the same
     * bytes: it must be called again with them. */
    if (tls->pending_write != 0) {
        if (len < tls->pending_write)
            return WISP_ERR_ARG;
        n = tls->pending_write;
    }
    start_deadline(tls, timeout_ms);
    for (;;) {
        ret = mbedtls_ssl_write(&tls->ssl, buf, n);
        if (ret > 0) {
            tls->pending_write = 0;
            *sent = (size_t)ret;
            return WISP_OK;
        }
        if (!io_again(tls, ret))
            break;
    }
    if (tls->inner_status == WISP_ERR_TIMEOUT &&
        (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ))
        tls->pending_write = n;
    return io_failure(tls, ret);
}

static wisp_status tls_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got,
                            uint32_t timeout_ms)
{
    wisp_tls *tls = ctx;
    int ret;

    if (got == NULL || buf == NULL || cap == 0)
        return WISP_ERR_ARG;
    *got = 0;
    if (tls->peer_closed)
        return WISP_OK;
    if (!tls->open)
        return WISP_ERR_CLOSED;
    start_deadline(tls, timeout_ms);
    for (;;) {
        ret = mbedtls_ssl_read(&tls->ssl, buf, cap);
        if (ret > 0) {
            *got = (size_t)ret;
            return WISP_OK;
        }
        /* close_notify, or TCP end of stream without it (common: HTTP
         * framing is what detects a cut reply). */
        if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
            ret == MBEDTLS_ERR_SSL_CONN_EOF) {
            tls->peer_closed = true;
            return WISP_OK;
        }
        if (!io_again(tls, ret))
            break;
    }
    return io_failure(tls, ret);
}

static int tls_last_error(void *ctx, char *detail, size_t cap)
{
    const wisp_tls *tls = ctx;
    if (detail != NULL && cap > 0) {
        size_t n = strlen(tls->last_detail);
        if (n >= cap)
            n = cap - 1;
        memcpy(detail, tls->last_detail, n);
        detail[n] = '\0';
    }
    return tls->last_mbedtls_error;
}

/* ---- setup ---------------------------------------------------------------- */

#if WISP_TLS_V3 && defined(MBEDTLS_SSL_PROTO_TLS1_2)
static const uint16_t sig_algs[] = {
    MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256, MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384,
    MBEDTLS_TLS1_3_SIG_ECDSA_SECP521R1_SHA512, MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA256,
    MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA384,       MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA512,
    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA256,    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA384,
    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA512,    MBEDTLS_TLS1_3_SIG_NONE};
#endif

static wisp_status load_ca(wisp_tls *tls)
{
    const wisp_tls_config *cfg = &tls->cfg;
    int ret;

    if (cfg->ca_blob != NULL) {
        /* PEM when NUL-terminated and armoured, else DER: mbedTLS decides. */
        if (cfg->ca_blob_len > 10 && memcmp(cfg->ca_blob, "-----BEGIN", 10) == 0 &&
            cfg->ca_blob[cfg->ca_blob_len - 1] != '\0') {
            set_detail(tls, 0, "a PEM ca_blob's length must include its trailing NUL", NULL);
            return WISP_ERR_CERT;
        }
        ret = mbedtls_x509_crt_parse(&tls->ca, cfg->ca_blob, cfg->ca_blob_len);
        if (ret < 0) { /* negative only when no certificate parsed */
            set_detail_mbedtls(tls, ret, "cannot parse the CA certificate blob: ");
            return WISP_ERR_CERT;
        }
        return WISP_OK;
    }
#if defined(MBEDTLS_FS_IO)
    {
        const char *path = cfg->ca_file != NULL ? cfg->ca_file : WISP_TLS_SYSTEM_CA_FILE;
        ret = mbedtls_x509_crt_parse_file(&tls->ca, path);
        /* A positive count means some certificates of a large bundle were
         * skipped; the rest is still usable. */
        if (ret == MBEDTLS_ERR_PK_FILE_IO_ERROR) {
            set_detail(tls, ret, "cannot read CA bundle ", path);
            return WISP_ERR_CERT;
        }
        if (ret < 0) {
            set_detail(tls, ret, "no usable certificate in CA bundle ", path);
            return WISP_ERR_CERT;
        }
        return WISP_OK;
    }
#else
    set_detail(tls, 0, "no CA certificates: this build cannot read files, give ca_blob", NULL);
    return WISP_ERR_CERT;
#endif
}

#if defined(MBEDTLS_SSL_MAX_FRAGMENT_LENGTH)
static int mfl_code(uint16_t len)
{
    switch (len) {
    case 512: return MBEDTLS_SSL_MAX_FRAG_LEN_512;
    case 1024: return MBEDTLS_SSL_MAX_FRAG_LEN_1024;
    case 2048: return MBEDTLS_SSL_MAX_FRAG_LEN_2048;
    case 4096: return MBEDTLS_SSL_MAX_FRAG_LEN_4096;
    default: return -1;
    }
}
#endif

wisp_status wisp_tls_init(wisp_tls *tls, const wisp_tls_config *cfg,
                          const wisp_transport *inner, wisp_transport *out)
{
    static const char personalisation[] = "wisp tls client";
    int ret;
    wisp_status st;

    if (tls == NULL)
        return WISP_ERR_ARG;
    memset(tls, 0, sizeof *tls); /* first: wisp_tls_free must be safe after any failure */
    mbedtls_entropy_init(&tls->entropy);
    mbedtls_ctr_drbg_init(&tls->drbg);
    mbedtls_x509_crt_init(&tls->ca);
    mbedtls_ssl_config_init(&tls->conf);
    mbedtls_ssl_init(&tls->ssl);
    mbedtls_ssl_session_init(&tls->saved);
    if (cfg == NULL || inner == NULL || out == NULL)
        return WISP_ERR_ARG;
    /* Two CA sources, or a length without a blob: a mistake, not a choice. */
    if ((cfg->ca_blob != NULL && cfg->ca_file != NULL) ||
        (cfg->ca_blob == NULL && cfg->ca_blob_len != 0))
        return WISP_ERR_ARG;

    out->ctx = tls;
    out->connect = tls_connect;
    out->send = tls_send;
    out->recv = tls_recv;
    out->close = tls_close;
    out->last_error = tls_last_error;

    if (inner->connect == NULL || inner->send == NULL || inner->recv == NULL ||
        inner->close == NULL || out == inner)
        return WISP_ERR_ARG;
#if defined(MBEDTLS_SSL_MAX_FRAGMENT_LENGTH)
    if (cfg->max_fragment_len != 0 && mfl_code(cfg->max_fragment_len) < 0)
        return WISP_ERR_ARG;
#else
    if (cfg->max_fragment_len != 0)
        return WISP_ERR_UNSUPPORTED;
#endif
    tls->inner = *inner;
    tls->cfg = *cfg;
#if defined(MBEDTLS_TIMING_C)
    (void)mbedtls_timing_get_timer(&tls->timer, 1);
#endif

#if WISP_TLS_NEEDS_PSA
    /* Idempotent; 3.6.1+ would call it too, earlier 3.x do not. */
    if (psa_crypto_init() != PSA_SUCCESS) {
        set_detail(tls, 0, "PSA crypto initialisation failed", NULL);
        return WISP_ERR_TLS;
    }
#endif

    if (cfg->entropy != NULL)
        ret = mbedtls_ctr_drbg_seed(&tls->drbg, cfg->entropy, cfg->entropy_ctx,
                                    (const unsigned char *)personalisation,
                                    sizeof personalisation - 1);
    else
        ret = mbedtls_ctr_drbg_seed(&tls->drbg, mbedtls_entropy_func, &tls->entropy,
                                    (const unsigned char *)personalisation,
                                    sizeof personalisation - 1);
    if (ret != 0) {
        set_detail_mbedtls(tls, ret, "random generator: ");
        return WISP_ERR_TLS;
    }

    ret = mbedtls_ssl_config_defaults(&tls->conf, MBEDTLS_SSL_IS_CLIENT,
                                      MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        set_detail_mbedtls(tls, ret, "TLS configuration: ");
        return WISP_ERR_TLS;
    }
#if WISP_TLS_V3
    mbedtls_ssl_conf_min_tls_version(&tls->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    /* 2.28 still offers TLS 1.0 and 1.1 by default. */
    mbedtls_ssl_conf_min_version(&tls->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
#endif
    mbedtls_ssl_conf_rng(&tls->conf, mbedtls_ctr_drbg_random, &tls->drbg);
#if WISP_TLS_V3 && defined(MBEDTLS_SSL_PROTO_TLS1_2)
    /* PKCS#1 v1.5 before PSS: mbedTLS 3.6.6 offers RSA-PSS but then refuses
     * it in a TLS 1.2 ServerKeyExchange, so a TLS-1.2-only RSA server that
     * follows our order would fail.  TLS 1.3 still signs with PSS (PKCS#1
     * is not allowed there); ECDSA comes first either way. */
    mbedtls_ssl_conf_sig_algs(&tls->conf, sig_algs);
#endif
#if defined(MBEDTLS_SSL_SESSION_TICKETS) && defined(MBEDTLS_SSL_CLI_C)
    mbedtls_ssl_conf_session_tickets(&tls->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
#if WISP_TLS_V3 && defined(MBEDTLS_SSL_PROTO_TLS1_3) && MBEDTLS_VERSION_NUMBER >= 0x03060100
    /* 3.6.1+ ignore TLS 1.3 tickets unless asked; we want them to resume. */
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        &tls->conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
#endif
#if defined(MBEDTLS_SSL_MAX_FRAGMENT_LENGTH)
    if (cfg->max_fragment_len != 0)
        (void)mbedtls_ssl_conf_max_frag_len(&tls->conf,
                                            (unsigned char)mfl_code(cfg->max_fragment_len));
#if WISP_TLS_V3 && defined(MBEDTLS_SSL_PROTO_TLS1_2) && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    /* mbedTLS 3.6's TLS 1.3 client negotiates no max_fragment_length and
     * aborts when a server (OpenSSL) grants it in EncryptedExtensions: a
     * smaller record is only to be had with TLS 1.2. */
    if (cfg->max_fragment_len != 0)
        mbedtls_ssl_conf_max_tls_version(&tls->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
#endif

    if (cfg->skip_verification_insecure) {
        mbedtls_ssl_conf_authmode(&tls->conf, MBEDTLS_SSL_VERIFY_NONE);
    } else {
        st = load_ca(tls);
        if (st != WISP_OK)
            return st;
        mbedtls_ssl_conf_authmode(&tls->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&tls->conf, &tls->ca, NULL);
        mbedtls_ssl_conf_verify(&tls->conf, on_verify, tls);
    }
    return WISP_OK;
}

void wisp_tls_free(wisp_tls *tls)
{
    if (tls == NULL)
        return;
    if (tls->inner.close != NULL)
        tls_close(tls);
    mbedtls_ssl_session_free(&tls->saved);
    mbedtls_ssl_free(&tls->ssl);
    mbedtls_ssl_config_free(&tls->conf);
    mbedtls_x509_crt_free(&tls->ca);
    mbedtls_ctr_drbg_free(&tls->drbg);
    mbedtls_entropy_free(&tls->entropy);
    tls->have_saved = false;
    tls->ssl_ready = false;
    tls->inner.close = NULL;
}
