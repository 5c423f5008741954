/*
 * wisp_tls.h - TLS over any wisp transport, with mbedTLS 2.28 or 3.6.
 *
 * wisp_tls_init() wraps an inner transport (POSIX sockets, lwIP, a test
 * fake) and fills *out with a transport that speaks TLS over it.  The TLS
 * code reaches the network only through the inner transport's connect,
 * send, recv and close.
 *
 * Security defaults: the server certificate is verified (CA chain and host
 * name, with SNI); TLS 1.2 is the minimum; TLS 1.3 is used where the
 * mbedTLS build offers it.
 *
 * Status mapping of the TLS transport (see the contract in wisp.h):
 *   inner DNS / connect / I/O errors          passed through unchanged
 *   connection dropped in the handshake       WISP_ERR_TLS
 *   nothing within the timeout (handshake     WISP_ERR_TIMEOUT; connect's
 *     or read)                                  timeout bounds the whole
 *                                               handshake
 *   certificate not trusted, wrong host,      WISP_ERR_CERT
 *     expired, CA bundle unreadable
 *   any other handshake or record failure     WISP_ERR_TLS
 *   peer's close_notify or TCP end of stream  recv: WISP_OK with *got == 0
 * last_error(ctx, detail, cap) then returns the mbedTLS error code (0 when
 * the failure came from the inner transport) and a short English reason,
 * e.g. "host name does not match the certificate".  When the inner
 * connect failed, the reason is the inner transport's own last_error text
 * (port/proxy: the proxy's refusal, "HTTP/1.1 407 ..."), or "".
 *
 * Keep-alive and resumption: close() sends close_notify (best effort) and
 * closes the inner transport, but keeps the TLS session.  The next connect()
 * to the same host and port offers it, so a willing server skips the full
 * handshake (TLS 1.2 session id or ticket; TLS 1.3 ticket).  A connect to
 * another host drops it.  handshakes_resumed counts handshakes in which no
 * certificate had to be verified; with verification off that cannot be
 * seen, so every handshake then counts as full.
 *
 * IP-literal hosts (or server_name): matched against the leaf
 * certificate's iPAddress entries, byte for byte, by the port itself with
 * either mbedTLS (2.28 compares DNS names only); no SNI is sent for an
 * address (RFC 6066).
 *
 * A saved session is offered again only to the same host, port and
 * verified name, and never after a fatal TLS error.
 *
 * Randomness: cfg.entropy seeds this transport's DRBG.  With mbedTLS 3.x the
 * TLS 1.3 key exchange draws from PSA's own RNG, which is fed by mbedTLS's
 * entropy sources (MBEDTLS_ENTROPY_HARDWARE_ALT, or
 * MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG), not by cfg.entropy.
 *
 * Memory: the contexts live inside struct wisp_tls; mbedTLS itself allocates
 * its record buffers (about 2 x 16 KB by default) and certificates through
 * its calloc hook.  See README for the knobs.
 */
#ifndef WISP_TLS_H
#define WISP_TLS_H

#include "wisp.h"

#include <mbedtls/version.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#if defined(MBEDTLS_TIMING_C)
#include <mbedtls/timing.h>
#endif

/* CA bundle used when the config names neither a file nor a blob. */
#ifndef WISP_TLS_SYSTEM_CA_FILE
#define WISP_TLS_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#endif

/* Upper bound for sending close_notify on close(), in ms. */
#ifndef WISP_TLS_CLOSE_TIMEOUT_MS
#define WISP_TLS_CLOSE_TIMEOUT_MS 200u
#endif

/* Same signature as mbedTLS's f_entropy: fill out[0..len), return 0. */
typedef int (*wisp_entropy_fn)(void *ctx, unsigned char *out, size_t len);

typedef struct wisp_tls_config {
    /* PEM bundle path.  NULL with no ca_blob: the system bundle
     * (WISP_TLS_SYSTEM_CA_FILE). */
    const char *ca_file;
    /* In-memory CA: PEM (length includes the trailing NUL; several
     * certificates may follow one another) or one DER certificate.  Not
     * together with ca_file.  Borrowed: parsed during wisp_tls_init. */
    const uint8_t *ca_blob;
    size_t ca_blob_len;
    /* Verify nothing: for testing only.  Anyone on the path can then read
     * and change the traffic, API key included. */
    bool skip_verification_insecure;
    /* Optional override of the name used for SNI and verification; NULL:
     * the host given to connect.  Borrowed for the lifetime of the tls. */
    const char *server_name;
    /* Optional entropy source for the DRBG; NULL: mbedTLS's default sources
     * (/dev/urandom or getrandom on Linux). */
    wisp_entropy_fn entropy;
    void *entropy_ctx;
    /* Optional monotonic clock, used to bound the whole handshake by
     * connect's timeout.  NULL: mbedTLS's timer when MBEDTLS_TIMING_C is
     * built in; otherwise each handshake read gets the full timeout. */
    wisp_now_fn now_ms;
    void *now_ctx;
    /* Optional: ask the server for records of at most this many bytes
     * (512, 1024, 2048 or 4096; 0: no request), so that a build with a
     * small MBEDTLS_SSL_IN_CONTENT_LEN can talk to it.  Many large servers
     * ignore the request.  Needs MBEDTLS_SSL_MAX_FRAGMENT_LENGTH. */
    uint16_t max_fragment_len;
} wisp_tls_config;

/* All state of one TLS transport.  Treat as private except the counters. */
typedef struct wisp_tls {
    wisp_transport inner; /* copy of the wrapped transport */
    wisp_tls_config cfg;  /* copy; strings and blobs borrowed */

    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;

    /* Session kept across close() for resumption, and whom it belongs to. */
    mbedtls_ssl_session saved;
    bool have_saved;
    char saved_host[WISP_HOST_CAP];
    char saved_name[WISP_HOST_CAP]; /* the name the session was verified for */
    uint16_t saved_port;
    bool session_offered; /* the current handshake offered `saved` */
    uint32_t verify_calls; /* certificates checked in this handshake */
    /* The name to verify as an IP address (4 or 16 bytes; 0: a DNS name),
     * matched against the certificate's iPAddress entries. */
    uint8_t name_ip[16];
    uint8_t name_ip_len;

    /* I/O state of the current connection. */
    bool open;            /* handshake done, connection usable */
    bool ssl_ready;       /* mbedtls_ssl_setup succeeded */
    bool inner_open;      /* inner transport connected */
    bool peer_closed;     /* close_notify or end of stream seen */
    bool use_deadline;    /* io_deadline is meaningful */
    uint32_t io_deadline; /* now_ms value when the current call times out */
    uint32_t io_timeout_ms; /* the current call's timeout */
    bool io_polled;        /* an inner call already ran with no time left */
    wisp_status inner_status; /* last failure reported by the inner transport */
    size_t pending_write; /* bytes of a write that must be repeated, or 0 */
#if defined(MBEDTLS_TIMING_C)
    struct mbedtls_timing_hr_time timer; /* clock when cfg.now_ms is NULL */
#endif

    /* Last failure, for last_error(). */
    int last_mbedtls_error;
    uint32_t last_verify_flags;
    char last_detail[WISP_TLS_DETAIL_CAP];

    /* Statistics. */
    uint32_t handshakes_full;
    uint32_t handshakes_resumed;
} wisp_tls;

/*
 * Sets up tls over *inner (copied) with *cfg (copied; its strings and blobs
 * are borrowed) and fills *out with the TLS transport (ctx = tls).  Parses
 * the CA bundle now, so a bad bundle is reported here.
 * Returns WISP_OK, WISP_ERR_ARG (NULL argument, inner transport incomplete, both
 * ca_file and ca_blob, a bad max_fragment_len), WISP_ERR_UNSUPPORTED
 * (max_fragment_len without MBEDTLS_SSL_MAX_FRAGMENT_LENGTH),
 * WISP_ERR_CERT (CA file unreadable or CA blob unparsable; detail via
 * out->last_error), WISP_ERR_TLS (DRBG seeding or mbedTLS setup failed).
 * On failure wisp_tls_free() is still safe to call.
 */
wisp_status wisp_tls_init(wisp_tls *tls, const wisp_tls_config *cfg,
                          const wisp_transport *inner, wisp_transport *out);

/* Closes the connection if open and frees everything mbedTLS allocated. */
void wisp_tls_free(wisp_tls *tls);

#endif /* WISP_TLS_H */
