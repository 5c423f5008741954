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
 * The TLS client itself (protocols, key exchanges, curves, X.509) is
 * wisp_mbedtls_client.h, shared with the Linux configuration; this file
 * sets the board's side and the size knobs.  The peer certificate is kept
 * (3.6's TLS 1.3 requires it): the server's chain stays in the pool for
 * the connection's lifetime (a few KB).
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

/* ---- Size and speed knobs ------------------------------------------------ */

/* Smaller SHA-256 (one loop instead of an unrolled one). */
#define MBEDTLS_SHA256_SMALLER
/* Bignum and curve windows of 2 and no fixed-point tables for the
 * generator: less RAM and flash, slower signature checks.  NIST_OPTIM:
 * fast modular reduction for P-256 and P-384. */
#define MBEDTLS_MPI_WINDOW_SIZE 2
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_WINDOW_SIZE 2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0

/* Left out on purpose: MBEDTLS_FS_IO (no file system: CA via ca_blob);
 * and what wisp_mbedtls_client.h leaves out. */

#include "wisp_mbedtls_client.h"

#endif /* WISP_MBEDTLS_MCU_H */
