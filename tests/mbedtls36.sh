#!/bin/sh
# Fetches Debian trixie's source package of mbedTLS 3.6 and builds its static
# libraries into build/mbedtls-3.6/{include,lib}, so wisp can be built and
# tested against 3.6 as well as the system's 2.28:
#     sh tests/mbedtls36.sh && make MBEDTLS_DIR=build/mbedtls-3.6 ...
# Idempotent: does nothing when the libraries are already built.
# Needs apt-get, dpkg-dev, cmake and a C compiler (root or sudo for apt).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC_DIR="$ROOT/build/mbedtls-src"
OUT_DIR="$ROOT/build/mbedtls-3.6"
LIST=/etc/apt/sources.list.d/wisp-trixie-src.sources

if [ -f "$OUT_DIR/lib/libmbedtls.a" ] && [ -f "$OUT_DIR/lib/libmbedx509.a" ] &&
   [ -f "$OUT_DIR/lib/libmbedcrypto.a" ] &&
   grep -q 'MBEDTLS_VERSION_STRING *"3\.6\.' "$OUT_DIR/include/mbedtls/build_info.h" 2>/dev/null; then
    echo "mbedtls36: already built in $OUT_DIR"
    exit 0
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

for tool in dpkg-source cmake; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        pkg=$tool
        [ "$tool" = dpkg-source ] && pkg=dpkg-dev
        echo "mbedtls36: installing $pkg" >&2
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$pkg" >&2
    fi
done

# Source entries only: nothing from trixie can be installed through this.
# The mirror is the one this machine's apt already uses for Debian's archive.
if [ ! -f "$LIST" ]; then
    MIRROR=$(sh "$ROOT/tests/apt_mirror.sh") || {
        echo "mbedtls36: no Debian mirror found in this machine's apt sources" >&2; exit 1; }
    echo "mbedtls36: adding $LIST (deb-src trixie from $MIRROR)" >&2
    $SUDO sh -c "cat > '$LIST'" <<EOF
Types: deb-src
URIs: $MIRROR
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi

# Refresh only that source list, not the whole system's.
$SUDO apt-get update -qq -o Dir::Etc::sourcelist="$LIST" \
    -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >&2

mkdir -p "$SRC_DIR"
TREE=$(find "$SRC_DIR" -maxdepth 1 -type d -name 'mbedtls-3.6*' | head -n 1)
if [ -z "$TREE" ]; then
    (cd "$SRC_DIR" && apt-get source -qq mbedtls/trixie >&2)
    TREE=$(find "$SRC_DIR" -maxdepth 1 -type d -name 'mbedtls-3.6*' | head -n 1)
fi
if [ -z "$TREE" ]; then
    echo "mbedtls36: no mbedtls-3.6* tree after apt-get source in $SRC_DIR" >&2
    exit 1
fi
echo "mbedtls36: building $TREE" >&2

# Static libraries only: no programs, no tests.
BLD="$SRC_DIR/cmake-build"
rm -rf "$BLD"
cmake -S "$TREE" -B "$BLD" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$OUT_DIR" -DCMAKE_INSTALL_LIBDIR=lib \
    -DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF \
    -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF \
    -DMBEDTLS_FATAL_WARNINGS=OFF >&2
JOBS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
cmake --build "$BLD" -j "$JOBS" >&2
cmake --install "$BLD" >&2
echo "mbedtls36: installed $(grep -o '"3\.6\.[0-9]*"' "$OUT_DIR/include/mbedtls/build_info.h") into $OUT_DIR"
