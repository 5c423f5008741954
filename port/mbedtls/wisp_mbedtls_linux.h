/*
 * wisp_mbedtls_linux.h - mbedTLS 3.6 configuration for a small, statically
 * linked TLS client on Linux (routers and other constrained Linux firmware).
 *
 * Used as MBEDTLS_CONFIG_FILE; it replaces mbedtls_config.h entirely, so
 * everything not defined here is off.  Built by tests/mbedtls_build.sh for
 * `make static` (musl) and `make armhf` (ARMv7, static glibc):
 *     -DMBEDTLS_CONFIG_FILE='"wisp_mbedtls_linux.h"' -I port/mbedtls
 *
 * What it is for: wisp's TLS port (port/mbedtls/wisp_tls.c) talking to
 * public HTTPS APIs: TLS 1.2 and 1.3, client only, ECDHE key exchange,
 * ECDSA and RSA server certificates, verified against the system CA bundle
 * file (or any PEM/DER file or blob), resumption with session tickets, SNI.
 *
 * The TLS client itself (protocols, key exchanges, curves, X.509) is
 * wisp_mbedtls_client.h, shared with the Cortex-M4 configuration
 * (wisp_mbedtls_mcu.h).  This file differs where an OS is there to use:
 * libc's calloc/free, the kernel's entropy (getrandom, else /dev/urandom),
 * time() and clock_gettime(), and files.
 */
#ifndef WISP_MBEDTLS_LINUX_H
#define WISP_MBEDTLS_LINUX_H

/* ---- System --------------------------------------------------------------- */

/* bn_mul.h's inline assembly (x86-64, ARM, MIPS): RSA and ECC much faster. */
#define MBEDTLS_HAVE_ASM
/* Certificate dates against time()/gmtime_r(); TLS 1.3 ticket ages against
 * clock_gettime(). */
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
/* The CA bundle is a file: /etc/ssl/certs/ca-certificates.crt by default. */
#define MBEDTLS_FS_IO
/* No MBEDTLS_ERROR_C: 13 KB (10 KB of it strings), a twentieth of the binary.
 * wisp_tls.c words the failures people meet (alerts, a closed handshake,
 * a certificate's reasons) and gives the code for the rest (-0x7780). */

/* ---- Randomness ----------------------------------------------------------- */

/* The platform entropy source (getrandom(), or /dev/urandom) seeds
 * CTR_DRBG, which is wisp's DRBG and PSA's internal RNG. */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C

/* ---- Symmetric ciphers ---------------------------------------------------- */

/* AES-GCM, the suite every server offers.  One table instead of four,
 * built in RAM at first use rather than stored in the binary: a smaller
 * file for some speed. */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_GCM_C
#define MBEDTLS_CIPHER_C
/* No ChaCha20-Poly1305 (4.7 KB): servers choose AES-GCM, which every one
 * of them offers, unless the client asks for ChaCha first. */

/* ---- Size and speed knobs ------------------------------------------------ */

#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA512_SMALLER
/* Fast modular reduction for P-256 and P-384 (2.8 KB); no precomputed
 * tables for the generator (7.7 KB less, a slower key share by a fraction
 * of a handshake). */
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
/* No certificate-to-text functions; wisp_tls.c words verify failures. */
#define MBEDTLS_X509_REMOVE_INFO
/* Volatile keys in the PSA key store. */
#define MBEDTLS_PSA_KEY_SLOT_COUNT 16

/* Left out on purpose: MBEDTLS_ERROR_C, ChaCha20-Poly1305 (both above),
 * AESNI (x86 only; routers are ARM and MIPS); and what
 * wisp_mbedtls_client.h leaves out. */

#include "wisp_mbedtls_client.h"

#endif /* WISP_MBEDTLS_LINUX_H */
