/*
 * wisp_mbedtls_mcu.h - mbedTLS 3.6 configuration for a Cortex-M4 TLS client.
 *
 * Used as MBEDTLS_CONFIG_FILE; it replaces mbedtls_config.h entirely, so
 * everything not defined here is off.  Built by tests/mbedtls_arm.sh:
 *     -DMBEDTLS_CONFIG_FILE='"wisp_mbedtls_mcu.h"' -I port/mbedtls
 *
 * What it is for: wisp's TLS port (port/mbedtls/wisp_tls.c) talking to
 * public HTTPS APIs: TLS 1.2 and 1.3, client only, ECDHE key exchange,
 * ECDSA and RSA server certificates, CA certificates given in memory (PEM or
 * DER), resumption with session tickets, SNI, max fragment length.
 *
 * What the board must supply:
 *   int mbedtls_hardware_poll(void *data, unsigned char *output,
 *                             size_t len, size_t *olen);   (TRNG)
 *   mbedtls_ms_time_t mbedtls_ms_time(void);               (monotonic ms)
 * and the application should, before the first handshake:
 *   mbedtls_memory_buffer_alloc_init(pool, sizeof pool);   (static heap)
 *   mbedtls_platform_set_time(wall_clock);  (else every certificate date is
 *                                            checked against time 0 and
 *                                            all certificates look "future")
 *
 * Knobs (define before this file is read, e.g. with -D):
 *   MBEDTLS_SSL_IN_CONTENT_LEN   default 16384 (what any server may send);
 *                                4096 is fine with max_fragment_len = 4096
 *                                for servers that honour the extension.
 *   MBEDTLS_SSL_OUT_CONTENT_LEN  default 4096 (wisp's requests are small).
 *   WISP_MBEDTLS_POOL_STATS      turns on MBEDTLS_MEMORY_DEBUG, which
 *                                provides mbedtls_memory_buffer_alloc_max_get()
 *                                (peak pool use) at a few bytes per block
 *                                and a little flash.  For sizing the pool.
 *   MBEDTLS_PSA_KEY_SLOT_COUNT   default 10.
 *
 * Note: the brief for this file asked for no MBEDTLS_SSL_KEEP_PEER_CERTIFICATE,
 * but check_config.h in 3.6 refuses TLS 1.3 without it ("The current
 * implementation of TLS 1.3 requires MBEDTLS_SSL_KEEP_PEER_CERTIFICATE"),
 * so it is on: the server's chain stays allocated for the connection's
 * lifetime (a few KB of pool).
 */
#ifndef WISP_MBEDTLS_MCU_H
#define WISP_MBEDTLS_MCU_H

/* ---- System --------------------------------------------------------------- */

/* Cortex-M4 has UMAAL: bn_mul.h's inline assembly speeds up RSA/ECC a lot. */
#define MBEDTLS_HAVE_ASM

/* Certificate validity is checked against a wall clock the application
 * installs with mbedtls_platform_set_time() (MBEDTLS_PLATFORM_TIME_ALT);
 * without it mbedtls_time() returns 0.  TLS 1.3 ticket ages need a
 * millisecond clock the board supplies (MBEDTLS_PLATFORM_MS_TIME_ALT). */
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
/* newlib's gmtime() allocates its reent on the heap: the board gives
 * mbedtls_platform_gmtime_r() over the reentrant gmtime_r() instead. */
#define MBEDTLS_PLATFORM_GMTIME_R_ALT
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_TIME_ALT
#define MBEDTLS_PLATFORM_MS_TIME_ALT

/* All mbedTLS allocations come from a static pool
 * (mbedtls_memory_buffer_alloc_init); no libc malloc is linked in.
 * NO_STD_FUNCTIONS keeps calloc/free/printf/exit/time out of the library's
 * default hooks; only snprintf (x509 info, strerror) stays. */
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS
#define MBEDTLS_PLATFORM_SNPRINTF_MACRO snprintf
#define MBEDTLS_PLATFORM_VSNPRINTF_MACRO vsnprintf
/* platform.h includes <stdio.h> only without NO_STD_FUNCTIONS, and
 * x509_crt.c (and memory_buffer_alloc.c's fprintf with MEMORY_DEBUG) would
 * otherwise call these variadic functions without a prototype. */
#include <stdio.h>
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
#if defined(WISP_MBEDTLS_POOL_STATS)
#define MBEDTLS_MEMORY_DEBUG
#endif

/* No deprecated APIs: less to compile, nothing wisp uses. */
#define MBEDTLS_DEPRECATED_REMOVED

/* Readable error messages: wisp_tls.c reports mbedtls_strerror() text. */
#define MBEDTLS_ERROR_C

/* ---- Randomness ----------------------------------------------------------- */

/* No OS: the only entropy source is the board's TRNG via
 * mbedtls_hardware_poll(), counted as a strong source.  CTR_DRBG (AES) is
 * wisp's DRBG and PSA's internal RNG. */
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C

/* ---- Symmetric ciphers ---------------------------------------------------- */

/* AES-GCM: the suite every server offers (TLS 1.2 ECDHE-*-AES-GCM, TLS 1.3
 * TLS_AES_128_GCM_SHA256 / TLS_AES_256_GCM_SHA384).  Tables in flash, one
 * table instead of four: about 6 KB less flash and no RAM for tables, at
 * some speed cost. */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_GCM_C
#define MBEDTLS_CIPHER_C

/* ChaCha20-Poly1305: fast in software without AES hardware and offered by
 * most servers (TLS 1.2 ECDHE-*-CHACHA20-POLY1305, TLS 1.3
 * TLS_CHACHA20_POLY1305_SHA256).  Costs a few KB of flash; drop these four
 * lines to save it. */
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C

/* ---- Hashes --------------------------------------------------------------- */

/* SHA-256 (handshake hash, most certificates), SHA-384 (TLS 1.3
 * AES-256-GCM suite, P-384 certificate chains), SHA-512 (same code as
 * SHA-384, offered in signature_algorithms by wisp_tls.c).  No SHA-1 and
 * no MD5: modern chains do not need them (root self-signatures are not
 * checked). */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
/* TLS 1.3 key schedule (through PSA's HKDF). */
#define MBEDTLS_HKDF_C

/* ---- Public key ----------------------------------------------------------- */

#define MBEDTLS_BIGNUM_C
/* RSA-4096 roots exist: 4096 bits = 512 bytes. */
#define MBEDTLS_MPI_MAX_SIZE 512
#define MBEDTLS_MPI_WINDOW_SIZE 2

/* Elliptic curves: P-256 (most ECDSA certificates, ECDHE), X25519 (the
 * preferred TLS 1.3 key share), P-384 (many public CAs' roots and
 * intermediates; costs a few KB of flash for its curve constants and fast
 * reduction).  NIST_OPTIM: fast modular reduction for the NIST curves.
 * Window 2 and no fixed-point tables: less RAM, slower signature checks. */
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_WINDOW_SIZE 2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
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
 * there is one implementation of each operation in the image.  PSA_WANT_*
 * are derived from the legacy options above (no MBEDTLS_PSA_CRYPTO_CONFIG).
 * No persistent keys (no storage, no ITS file). */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_USE_PSA_CRYPTO
/* Static key store: a TLS connection holds a few volatile keys at once
 * (ECDHE share, peer public key, traffic keys, ticket PSK). */
#ifndef MBEDTLS_PSA_KEY_SLOT_COUNT
#define MBEDTLS_PSA_KEY_SLOT_COUNT 10
#endif

/* ---- X.509 ---------------------------------------------------------------- */

/* Parse and verify server chains; CA bundles as PEM (base64) or DER. */
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
/* Required by check_config.h for TLS 1.3 in 3.6 (see the note above). */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE

/* Resumption (client side tickets; no MBEDTLS_SSL_TICKET_C, that is the
 * server's ticket key store), SNI (virtual hosts need it), max fragment
 * length (lets a build with a 4 KB input buffer ask for small records). */
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH

/* Record buffers, allocated from the pool per connection.  The input
 * buffer must hold the largest record a server may send: 16 KB unless the
 * server honours max fragment length. */
#ifndef MBEDTLS_SSL_IN_CONTENT_LEN
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#endif
#ifndef MBEDTLS_SSL_OUT_CONTENT_LEN
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096
#endif

/* Left out on purpose: MBEDTLS_FS_IO (no file system: CA via ca_blob),
 * MBEDTLS_NET_C (wisp brings its own transport), MBEDTLS_TIMING_C (the
 * board's clock is given to wisp_tls as cfg.now_ms), MBEDTLS_DEBUG_C,
 * MBEDTLS_SELF_TEST, DES, CAMELLIA, ARIA, CCM, CBC modes, MD5, SHA-1,
 * RIPEMD, DHM, renegotiation, ALPN, DTLS, SSL_SRV_C, SSL_TICKET_C. */

#endif /* WISP_MBEDTLS_MCU_H */
