#!/bin/sh
# Builds cmocka's static library from Debian's source package (the suite this
# machine runs) with another C library's compiler, for the unit tests of a
# musl build (Debian's libcmocka is built for glibc):
#     CC=musl-gcc sh tests/cmocka_build.sh OUT_DIR
# Leaves OUT_DIR/include/cmocka.h and OUT_DIR/lib/libcmocka.a; a stamp keyed
# by the compiler and the tree makes a second call free.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"; OUT=$(cd "$1" && pwd)
CC=${CC:-cc}
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
TREE=$(sh "$ROOT/tests/debsrc.sh" cmocka "$SUITE" 'cmocka-1*')
STAMP=$(printf '%s\n' "$TREE" "$CC" "$($CC --version 2>/dev/null | head -n 1)" | cat - "$0" | cksum | cut -d' ' -f1)
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ]; then
    exit 0
fi
command -v cmake >/dev/null 2>&1 || { echo "cmocka_build: cmake is missing" >&2; exit 1; }
echo "cmocka_build: $(basename "$TREE") with $CC into $OUT" >&2
rm -rf "$OUT/cmake-build" "$OUT/lib" "$OUT/include" "$OUT/stamp"
CC=$CC cmake -S "$TREE" -B "$OUT/cmake-build" -DCMAKE_BUILD_TYPE=Release \
    -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF >&2
cmake --build "$OUT/cmake-build" --target cmocka-static -j 2 >&2
mkdir -p "$OUT/lib" "$OUT/include"
find "$OUT/cmake-build" -name 'libcmocka*.a' -exec cp {} "$OUT/lib/libcmocka.a" \;
cp "$TREE/include/cmocka.h" "$OUT/include/"
[ -f "$OUT/lib/libcmocka.a" ] || { echo "cmocka_build: no static library was built" >&2; exit 1; }
echo "$STAMP" >"$OUT/stamp"
