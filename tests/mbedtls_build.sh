#!/bin/sh
# Builds the static libraries of mbedTLS 3.6 (Debian trixie's source package,
# fetched by tests/debsrc.sh) with one compiler and one configuration:
#     CC=musl-gcc AR=ar sh tests/mbedtls_build.sh OUT_DIR CONFIG [CFLAGS...]
# CONFIG is "default" (mbedTLS's own mbedtls_config.h) or the name of a header
# in port/mbedtls/ (wisp_mbedtls_mcu.h, wisp_mbedtls_linux.h).  Leaves
# OUT_DIR/lib/libmbed{crypto,x509,tls}.a and OUT_DIR/include.
#
# Every build is kept: a stamp holds a hash of the configuration headers, this
# script, the flags, the compiler's identity and the source tree, so asking
# again for the same build costs nothing and a changed one is rebuilt.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"; OUT=$(cd "$1" && pwd); CONFIG=$2; shift 2
CC=${CC:-cc}
AR=${AR:-ar}
TREE=$(sh "$ROOT/tests/debsrc.sh" mbedtls trixie 'mbedtls-3.6*')

FLAGS="-std=c99 $*"
CONFIG_TEXT=""
if [ "$CONFIG" != default ]; then
    [ -f "$ROOT/port/mbedtls/$CONFIG" ] || { echo "mbedtls_build: no port/mbedtls/$CONFIG" >&2; exit 1; }
    FLAGS="$FLAGS -I$ROOT/port/mbedtls -DMBEDTLS_CONFIG_FILE=\"$CONFIG\""
    CONFIG_TEXT="$ROOT/port/mbedtls/$CONFIG $ROOT/port/mbedtls/wisp_mbedtls_client.h" # and the part it includes
fi
COMPILER=$($CC --version 2>/dev/null | head -n 1; $CC -dumpmachine 2>/dev/null || true)
STAMP=$(cat $CONFIG_TEXT "$0" | cksum | cut -d' ' -f1)-$(printf '%s\n' "$FLAGS" "$TREE" "$CC" "$AR" "$COMPILER" | cksum | cut -d' ' -f1)
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ]; then
    exit 0
fi
echo "mbedtls_build: $(basename "$TREE") with $CC, config $CONFIG, into $OUT" >&2
rm -rf "$OUT/obj" "$OUT/lib" "$OUT/stamp"
mkdir -p "$OUT/obj" "$OUT/lib"
ln -sfn "$TREE/include" "$OUT/include"
export CC FLAGS TREE OUT
ls "$TREE"/library/*.c | xargs -P "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)" -I{} sh -c \
    'n=$(basename {} .c); $CC $FLAGS -I"$TREE/include" -I"$TREE/library" -c {} -o "$OUT/obj/$n.o" || exit 255'
# The three libraries as mbedTLS's own build splits them.
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
