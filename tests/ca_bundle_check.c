/*
 * ca_bundle_check.c - can this mbedTLS configuration read every root of a
 * CA bundle?  mbedTLS skips a certificate whose signature or key algorithm
 * it was built without, and a skipped root fails every server that chains
 * to it, far from the cause.  make test-static and test-armhf run it on the
 * system bundle with the trimmed configuration.
 *
 *     ca_bundle_check [BUNDLE]     exit 0: all read; 1: some skipped
 */
#include <stdio.h>

#include <mbedtls/x509_crt.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/etc/ssl/certs/ca-certificates.crt";
    mbedtls_x509_crt chain;
    const mbedtls_x509_crt *c;
    int skipped, read = 0;

    mbedtls_x509_crt_init(&chain);
    skipped = mbedtls_x509_crt_parse_file(&chain, path);
    for (c = &chain; c != NULL && c->raw.len != 0; c = c->next)
        read++;
    mbedtls_x509_crt_free(&chain);
    if (skipped < 0) {
        printf("FAIL %s: cannot read it (mbedTLS -0x%04X)\n", path, (unsigned)-skipped);
        return 1;
    }
    printf("%s %s: %d certificates read, %d skipped\n", skipped ? "FAIL" : "ok  ", path,
           read, skipped);
    return skipped != 0;
}
