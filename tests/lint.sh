#!/bin/sh
# Static analysis of core/ and port/: cppcheck, then clang-tidy (the
# checks of .clang-tidy at the top of the tree).  Every .c file of core/
# and port/*/ is read as the Makefile compiles it, in wisp's full
# configuration; port/lwip also with the resolver on and with select
# (tests/lwip/opts_*, as make lwip-variants), and core/ also in
# core/wisp_config_minimal.h (the ports have no feature switches).
#     sh tests/lint.sh        from the top of the tree (make lint)
# Any finding, or a file a tool cannot read, fails it (exit 1).  The
# checks turned off are listed with their reasons in .clang-tidy and
# tests/lint/cppcheck.supp.
#
# Environment: JSMN_INC, MBEDTLS_INC (both /usr/include), LWIP_INC
# (/usr/include/lwip), BUILD (build: logs go to BUILD/lint), LINT_JOBS
# (clang-tidy processes at once; the number of processors), CPPCHECK and
# CLANG_TIDY (the tools' names).
cd "$(dirname "$0")/.." || exit 1

JSMN_INC=${JSMN_INC:-/usr/include}
MBEDTLS_INC=${MBEDTLS_INC:-/usr/include}
LWIP_INC=${LWIP_INC:-/usr/include/lwip}
BUILD=${BUILD:-build}
CPPCHECK=${CPPCHECK:-cppcheck}
CLANG_TIDY=${CLANG_TIDY:-clang-tidy}
JOBS=${LINT_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
results=${WISP_RESULTS:-build/test-results.txt}
out=$BUILD/lint
MINIMAL='-DWISP_CONFIG_FILE="wisp_config_minimal.h"'

for tool in "$CPPCHECK" "$CLANG_TIDY"; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "FAIL lint: $tool not found (sh tests/deps.sh cppcheck clang-tidy)"; exit 1; }
done
for d in "$LWIP_INC" "$JSMN_INC" "$MBEDTLS_INC/mbedtls"; do
    [ -d "$d" ] || { echo "FAIL lint: no $d (sh tests/deps.sh liblwip-dev libjsmn-dev libmbedtls-dev)"; exit 1; }
done
rm -rf "$out" && mkdir -p "$out/inc" "$out/tidy" || exit 1
mkdir -p "$(dirname "$results")"

CORE=$(ls core/*.c)
PORTS=$(ls port/*/*.c | grep -v '^port/lwip/')
LWIP=$(ls port/lwip/*.c)
# As the Makefile's ALL_CFLAGS and LWIP_CFLAGS have them (-Werror aside:
# a compiler warning is a finding here like any other).
INC="-Icore -Iport/posix -Iport/mbedtls -Iport/serial -Iport/proxy"
LWIP_FLAGS="-D_DEFAULT_SOURCE -Iport/lwip -Itests"
WARN="-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes"

start=$(date +%s)
passed=0 # runs without a finding (a tool over files in one configuration)
failed=0

# ---- cppcheck ---------------------------------------------------------------
#
# One configuration per run, named by -D (so cppcheck does not guess its
# own from every #ifdef): __GNUC__ as gcc and clang define it.  It reads
# jsmn's and mbedTLS's headers (the real mbedTLS configuration decides the
# port's #if branches) but not the C library's, which its --library files
# stand for; CHAR_BIT is for mbedTLS's check_config.h.  What those
# headers hold is theirs, not ours: not reported.
ln -s "$JSMN_INC/jsmn.h" "$out/inc/jsmn.h"
ln -s "$MBEDTLS_INC/mbedtls" "$out/inc/mbedtls"
[ -d "$MBEDTLS_INC/psa" ] && ln -s "$MBEDTLS_INC/psa" "$out/inc/psa"
cppcheck_run() { # name, then cppcheck's arguments
    name=$1; shift
    "$CPPCHECK" --quiet --std=c99 --enable=warning,style,performance,portability \
        --library=posix --error-exitcode=1 --suppressions-list=tests/lint/cppcheck.supp \
        --suppress="*:$out/inc/*" --suppress="*:$LWIP_INC/*" \
        --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
        -D__GNUC__ -DCHAR_BIT=8 $INC -I"$out/inc" "$@" >"$out/cppcheck-$name.log" 2>&1
    rc=$?
    if [ $rc -ne 0 ] || [ -s "$out/cppcheck-$name.log" ]; then
        echo "FAIL lint: cppcheck, $name:"
        cat "$out/cppcheck-$name.log"
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
}
cppcheck_run full $CORE $PORTS
# In the minimal configuration the switches are constants 0, so a test of
# what they leave out is known ahead (st = WISP_TOOLS ? check(..) : WISP_OK,
# then st != WISP_OK): the full configuration checks those conditions.
cppcheck_run minimal $MINIMAL --suppress=knownConditionTrueFalse $CORE
cppcheck_run lwip $LWIP_FLAGS -I"$LWIP_INC" $LWIP
for v in dns select; do
    cppcheck_run "lwip-$v" $LWIP_FLAGS -Itests/lwip/opts_$v -I"$LWIP_INC" $LWIP
done

# ---- clang-tidy ---------------------------------------------------------------
#
# One process a file, LINT_JOBS at once: each file's log goes to
# BUILD/lint/tidy, and they are shown in the order of the list whatever
# order they finish in.  The largest files are dealt out first, to the
# queue with the least bytes so far.
tidy_list=$out/tidy/list
for f in $CORE $PORTS $LWIP; do echo "$f full"; done >"$tidy_list"
for f in $CORE; do echo "$f minimal"; done >>"$tidy_list"
for f in $LWIP; do echo "$f dns"; echo "$f select"; done >>"$tidy_list"

tidy_one() { # file, configuration
    f=$1; cfg=$2
    log=$out/tidy/$(echo "$f" | tr / _)-$cfg.log
    flags="-std=c99 $WARN $INC -I$MBEDTLS_INC -I$JSMN_INC"
    checks=
    case $f in port/lwip/*) flags="$flags $LWIP_FLAGS" ;; esac
    case $cfg in
    # Dead stores are checked in the full configuration: in the minimal one
    # the switches are constants 0, and for (i = 0; WISP_PARAMS && ...)
    # stores to i for nothing, by design.
    minimal) flags="$flags $MINIMAL"; checks=--checks=-clang-analyzer-deadcode.DeadStores ;;
    dns|select) flags="$flags -Itests/lwip/opts_$cfg" ;;
    esac
    case $f in port/lwip/*) flags="$flags -I$LWIP_INC" ;; esac
    "$CLANG_TIDY" --quiet $checks "$f" -- $flags >"$log.raw" 2>&1
    echo $? >"$log.rc"
    grep -v '^[0-9]* warnings\{0,1\} \(and [0-9]* errors\{0,1\} \)\{0,1\}generated\.$' "$log.raw" >"$log"
    rm -f "$log.raw"
}

queues=$(while read -r f cfg; do
    echo "$(wc -c <"$f") $f $cfg"
done <"$tidy_list" | sort -k1,1nr -k2,2 -k3,3 | awk -v n="$JOBS" '
    BEGIN { for (q = 0; q < n; q++) load[q] = 0 }
    { best = 0; for (q = 1; q < n; q++) if (load[q] < load[best]) best = q
      load[best] += $1; print best, $2, $3 }')
q=0
while [ $q -lt "$JOBS" ]; do
    echo "$queues" | awk -v q=$q '$1 == q {print $2, $3}' >"$out/tidy/queue$q"
    (while read -r f cfg; do tidy_one "$f" "$cfg"; done <"$out/tidy/queue$q") &
    q=$((q + 1))
done
wait

while read -r f cfg; do
    log=$out/tidy/$(echo "$f" | tr / _)-$cfg.log
    rc=$(cat "$log.rc" 2>/dev/null || echo 1)
    if [ "$rc" != 0 ] || [ -s "$log" ]; then
        echo "FAIL lint: clang-tidy, $f ($cfg configuration):"
        cat "$log"
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
done <"$tidy_list"

echo "lint all $passed $failed" >>"$results"
secs=$(($(date +%s) - start))
if [ $failed = 0 ]; then
    echo "ok   lint: cppcheck and clang-tidy find nothing in the $(echo $CORE $PORTS $LWIP | wc -w) files" \
        "of core/ and port/ ($passed runs, ${secs} s)"
    exit 0
fi
echo "FAIL lint: $failed of $((passed + failed)) runs found something (${secs} s)"
exit 1
