#!/bin/sh
# Builds mbedTLS 3.6 (Debian trixie's source, fetched by tests/mbedtls36.sh)
# for Cortex-M4 with wisp's MCU configuration (port/mbedtls/wisp_mbedtls_mcu.h):
#     sh tests/mbedtls_arm.sh OUT_DIR [EXTRA_CFLAGS...]
# leaves OUT_DIR/lib/libmbed{crypto,x509,tls}.a and OUT_DIR/include.  Quick
# when nothing changed: a stamp holds the hash of the configuration and flags.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"; OUT=$(cd "$1" && pwd); shift
CC=${FW_CC:-arm-none-eabi-gcc}
AR=${FW_AR:-arm-none-eabi-ar}
TREE=$(find "$ROOT/build/mbedtls-src" -maxdepth 1 -type d -name 'mbedtls-3.6*' 2>/dev/null | head -n 1)
if [ -z "$TREE" ]; then
    sh "$ROOT/tests/mbedtls36.sh" >&2
    TREE=$(find "$ROOT/build/mbedtls-src" -maxdepth 1 -type d -name 'mbedtls-3.6*' | head -n 1)
fi
FLAGS="-std=c99 -Os -mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections -DMBEDTLS_CONFIG_FILE=\"wisp_mbedtls_mcu.h\" $*"
case " $* " in
*" -DWISP_MBEDTLS_POOL_STATS "*) FLAGS="$FLAGS -include stdio.h" ;; # MEMORY_DEBUG prints to stderr
esac
STAMP=$(cat "$ROOT/port/mbedtls/wisp_mbedtls_mcu.h" "$0" | cksum | cut -d' ' -f1)-$(echo "$FLAGS $TREE" | cksum | cut -d' ' -f1)
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ]; then
    exit 0
fi
echo "mbedtls_arm: building $(basename "$TREE") for Cortex-M4 into $OUT" >&2
rm -rf "$OUT/obj" "$OUT/lib"
mkdir -p "$OUT/obj" "$OUT/lib"
ln -sfn "$TREE/include" "$OUT/include"
export CC FLAGS ROOT TREE OUT
ls "$TREE"/library/*.c | xargs -P "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)" -I{} sh -c \
    'n=$(basename {} .c); $CC $FLAGS -I"$ROOT/port/mbedtls" -I"$TREE/include" -I"$TREE/library" -c {} -o "$OUT/obj/$n.o"'
# The three libraries as the CMake build splits them.
cd "$OUT/obj"
x509="pkcs7.o x509.o x509_create.o x509_crl.o x509_crt.o x509_csr.o x509write.o x509write_crt.o x509write_csr.o"
tls="debug.o mps_reader.o mps_trace.o net_sockets.o ssl_cache.o ssl_ciphersuites.o ssl_client.o ssl_cookie.o ssl_debug_helpers_generated.o ssl_msg.o ssl_ticket.o ssl_tls.o ssl_tls12_client.o ssl_tls12_server.o ssl_tls13_client.o ssl_tls13_generic.o ssl_tls13_keys.o ssl_tls13_server.o"
crypto=""
for o in *.o; do
    case " $x509 $tls " in *" $o "*) ;; *) crypto="$crypto $o" ;; esac
done
present() { for o in "$@"; do [ -f "$o" ] && printf '%s ' "$o"; done; }
$AR rcs "$OUT/lib/libmbedx509.a" $(present $x509)
$AR rcs "$OUT/lib/libmbedtls.a" $(present $tls)
$AR rcs "$OUT/lib/libmbedcrypto.a" $crypto
echo "$STAMP" >"$OUT/stamp"
