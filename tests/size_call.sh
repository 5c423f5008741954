#!/bin/sh
# Links tests/size_driver.c (a streamed text chat over a stub transport)
# with every core file for Cortex-M4, as make size does:
#   size_call.sh OUTDIR [CFLAGS...]
# leaves OUTDIR/call.map and OUTDIR/call.elf.  Objects are rebuilt each
# time: the flags decide what they hold.
set -e
out=$1
shift
mkdir -p "$out"
objs=
for f in core/*.c tests/size_driver.c; do
    o="$out/$(basename "$f" .c).o"
    $ARM_CC $SIZE_FLAGS -Itests "$@" -c "$f" -o "$o"
    objs="$objs $o"
done
# shellcheck disable=SC2086
$ARM_CC $SIZE_FLAGS $SIZE_LINK $objs -Wl,-Map="$out/call.map" -o "$out/call.elf"
