#!/bin/sh
# Builds musl for ARMv7 hard-float from Debian's source package (the suite
# this machine runs) with Debian's glibc cross compiler, since Debian ships no
# musl cross toolchain:
#     sh tests/musl_cross.sh OUT_DIR          # e.g. build/musl-armhf
# Leaves a static-only musl in OUT_DIR (include/, lib/) and the wrapper
# OUT_DIR/bin/musl-gcc, which runs the cross compiler with
# OUT_DIR/lib/musl-gcc.specs: `OUT_DIR/bin/musl-gcc -static x.c` gives an ARM
# binary linked against this musl.  CROSS_CC overrides the cross compiler
# (one command, no flags).  A stamp keyed by the tree, the compiler, OUT_DIR
# and this script makes a second call free.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CROSS_CC=${CROSS_CC:-arm-linux-gnueabihf-gcc}
# An absolute path: musl's wrapper execs the compiler configure was given,
# so the wrapper then works whatever PATH its caller has.
CC_PATH=$(command -v "$CROSS_CC" 2>/dev/null) || {
    echo "musl_cross: $CROSS_CC is missing (Debian package gcc-arm-linux-gnueabihf)" >&2; exit 1; }
mkdir -p "$1"; OUT=$(cd "$1" && pwd)
# OUT's bin, lib and include are replaced below.
[ "$OUT" != / ] || { echo "musl_cross: OUT_DIR must not be /" >&2; exit 1; }
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
TREE=$(sh "$ROOT/tests/debsrc.sh" musl "$SUITE" 'musl-1*')
# OUT is in the key because the specs and the wrapper hold absolute paths.
STAMP=$(printf '%s\n' "$TREE" "$OUT" "$CC_PATH" "$("$CC_PATH" --version 2>/dev/null | head -n 1)" \
    | cat - "$0" | cksum | cut -d' ' -f1)
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ]; then
    exit 0
fi
echo "musl_cross: $(basename "$TREE") with $CC_PATH into $OUT" >&2
rm -rf "$OUT/musl-build" "$OUT/bin" "$OUT/lib" "$OUT/include" "$OUT/stamp"
mkdir -p "$OUT/musl-build"
# Only the stamp's inputs may shape the build: a caller's CFLAGS, AR or a
# parent make's command-line variables (passed down in MAKEFLAGS, they would
# override musl's config.mak) must not leak in.
unset CFLAGS CPPFLAGS LDFLAGS AR RANLIB REALGCC MAKEFLAGS MFLAGS MAKEOVERRIDES
# Out of tree (musl's configure symlinks its Makefile), so the unpacked source
# stays clean for other builds.  The gcc wrapper is asked for by name: "auto"
# skips it when the compiler can already build programs, as a cross gcc can.
(cd "$OUT/musl-build" && CC=$CC_PATH "$TREE/configure" --target=arm-linux-gnueabihf \
    CROSS_COMPILE=arm-linux-gnueabihf- --prefix="$OUT" --disable-shared \
    --enable-wrapper=gcc >&2)
make -C "$OUT/musl-build" -j "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)" >&2
make -C "$OUT/musl-build" install >&2
# The wrapper must call the cross compiler (musl writes the host's name, gcc,
# unless configure saw a gcc CC) and link a static program.
grep -q "$CC_PATH" "$OUT/bin/musl-gcc" || {
    echo "musl_cross: $OUT/bin/musl-gcc does not call $CC_PATH" >&2; exit 1; }
printf 'int main(void) { return 0; }\n' >"$OUT/musl-build/smoke.c"
"$OUT/bin/musl-gcc" -static "$OUT/musl-build/smoke.c" -o "$OUT/musl-build/smoke" || {
    echo "musl_cross: $OUT/bin/musl-gcc cannot link a static program" >&2; exit 1; }
echo "$STAMP" >"$OUT/stamp"
