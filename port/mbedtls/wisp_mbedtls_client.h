/*
 * wisp_mbedtls_client.h - the TLS client both of wisp's small mbedTLS 3.6
 * configurations share: what a connection to a public HTTPS API needs,
 * whatever the platform.  Included at the end of wisp_mbedtls_mcu.h
 * (Cortex-M4) and wisp_mbedtls_linux.h (static Linux binaries), which set
 * the platform (clock, entropy, heap, files), the ciphers and the
 * size/speed knobs first.  Not a configuration on its own.
 *
 * TLS 1.2 and 1.3, client only; ECDHE key exchange (P-256, P-384, X25519)
 * with ECDSA or RSA server certificates; X.509 chains in PEM or DER; SNI,
 * session tickets for resumption, max fragment length.
 */
#ifndef WISP_MBEDTLS_CLIENT_H
#define WISP_MBEDTLS_CLIENT_H

/* No deprecated APIs: less to compile, nothing wisp uses. */
#define MBEDTLS_DEPRECATED_REMOVED

/* ---- Hashes --------------------------------------------------------------- */

/* SHA-256 (handshake hash, most certificates), SHA-384 (TLS 1.3
 * AES-256-GCM suite, P-384 chains), SHA-512 (same code as SHA-384).
 * SHA-1 only so that roots self-signed with it can be read at all: mbedTLS
 * refuses to parse a certificate whose signature algorithm it lacks, and
 * DigiCert Global Root CA, GlobalSign Root CA and Starfield Class 2 (24
 * of Debian's 150 roots are such roots) are still at the top of many
 * servers' chains.  Verification does not accept SHA-1
 * signatures (mbedTLS's default certificate profile); a root's own
 * signature is never checked.  No MD5.  A device that trusts only roots
 * signed otherwise can define WISP_MBEDTLS_NO_SHA1_ROOTS (4.6 KB of
 * Cortex-M4 flash, 5.6 KB on x86-64). */
#define MBEDTLS_MD_C
#if !defined(WISP_MBEDTLS_NO_SHA1_ROOTS)
#define MBEDTLS_SHA1_C
#endif
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
/* TLS 1.3 key schedule (through PSA's HKDF). */
#define MBEDTLS_HKDF_C

/* ---- Public key ----------------------------------------------------------- */

#define MBEDTLS_BIGNUM_C
/* RSA-4096 roots exist: 4096 bits = 512 bytes. */
#define MBEDTLS_MPI_MAX_SIZE 512

/* Elliptic curves: P-256 (most ECDSA certificates, ECDHE), X25519 (the
 * preferred TLS 1.3 key share), P-384 (many public CAs' roots and
 * intermediates: Let's Encrypt's ISRG Root X2, Google's GTS Root R4). */
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C

/* RSA certificates: PKCS#1 v1.5 (certificate and TLS 1.2 signatures) and
 * PSS (v2.1, required for RSA signatures in TLS 1.3). */
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21

#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C /* ECDSA signature format conversion for PSA */
#define MBEDTLS_OID_C

/* ---- PSA crypto (TLS 1.3 needs it; TLS 1.2 uses it too) -------------------- */

/* TLS 1.3 in 3.6 runs its key schedule, ECDHE and AEAD through PSA.
 * USE_PSA_CRYPTO makes TLS 1.2, X.509 and PK use the same PSA paths, so
 * there is one implementation of each operation in the binary.  PSA_WANT_*
 * are derived from the legacy options (no MBEDTLS_PSA_CRYPTO_CONFIG).  No
 * persistent keys (no storage, no ITS file); a static key store of
 * MBEDTLS_PSA_KEY_SLOT_COUNT volatile keys (a connection holds a few at
 * once: ECDHE share, peer public key, traffic keys, ticket PSK). */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_USE_PSA_CRYPTO
#ifndef MBEDTLS_PSA_KEY_SLOT_COUNT
#define MBEDTLS_PSA_KEY_SLOT_COUNT 10
#endif

/* ---- X.509 ---------------------------------------------------------------- */

/* Parse and verify server chains; CA certificates as PEM (base64) or DER. */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_BASE64_C

/* ---- TLS ------------------------------------------------------------------ */

#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C /* client only: no MBEDTLS_SSL_SRV_C */
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3

/* TLS 1.2 key exchanges: ECDHE with an ECDSA or RSA certificate.  No plain
 * RSA, DHE or PSK key exchange. */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
/* RFC 7627: binds the master secret to the handshake (servers expect it). */
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET

/* TLS 1.3: full handshakes (ephemeral) and ticket resumption with a fresh
 * ECDHE (psk_ephemeral; forward secret).  Compatibility mode looks like a
 * TLS 1.2 resumption to middleboxes that would otherwise drop TLS 1.3. */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
/* check_config.h in 3.6 refuses TLS 1.3 without it ("The current
 * implementation of TLS 1.3 requires MBEDTLS_SSL_KEEP_PEER_CERTIFICATE"):
 * the server's chain stays allocated for the connection's lifetime. */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE

/* Resumption (client side tickets, TLS 1.2 and 1.3; TLS 1.2 session IDs
 * need nothing more; no MBEDTLS_SSL_TICKET_C, that is the server's ticket
 * key store), SNI (virtual hosts need it), max fragment length (lets a
 * build with a 4 KB input buffer ask for small records). */
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH

/* Record buffers, allocated per connection.  The input buffer must hold
 * the largest record a server may send: 16 KB unless the server honours
 * max fragment length.  wisp's requests go out in 4 KB records. */
#ifndef MBEDTLS_SSL_IN_CONTENT_LEN
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#endif
#ifndef MBEDTLS_SSL_OUT_CONTENT_LEN
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096
#endif

/* Left out on purpose, in both: MBEDTLS_NET_C (wisp brings its own
 * transport), MBEDTLS_TIMING_C (wisp_tls takes cfg.now_ms),
 * MBEDTLS_DEBUG_C, MBEDTLS_SELF_TEST, DES, CAMELLIA, ARIA, CCM, CBC modes,
 * MD5, RIPEMD, DHM, renegotiation, ALPN, DTLS, SSL_SRV_C, SSL_TICKET_C. */

#endif /* WISP_MBEDTLS_CLIENT_H */
