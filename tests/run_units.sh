#!/bin/sh
# Runs unit test programs and records their counts for tests/summary.sh.
#   run_units.sh BINDIR NAME...    (VALGRIND=1: under valgrind memcheck)
# Each program is a cmocka suite; its "[  PASSED  ] N" / "[  FAILED  ] N"
# lines are added up, and its skips (tests of what the build left out,
# tests/needs.h, or of what this machine lacks) are counted and named,
# with the reasons the tests printed ("skipped: ...").  Exit status:
# non-zero when any program failed.
bindir=$1; shift
results=${WISP_RESULTS:-build/test-results.txt}
label=${WISP_LABEL:-unit}
[ -n "$VALGRIND" ] && label="valgrind"
status=0
for name in "$@"; do
    bin="$bindir/test_$name"
    log="$bindir/test_$name.log"
    if [ -n "$VALGRIND" ]; then
        valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --show-leak-kinds=definite,indirect "$bin" >"$log" 2>&1
    else
        "$bin" >"$log" 2>&1
    fi
    rc=$?
    passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    if [ $rc -ne 0 ] && [ "$failed" = 0 ]; then
        failed=1 # crashed, or valgrind found errors
    fi
    echo "$label $name $passed $failed" >>"$results"
    if [ $rc -ne 0 ]; then
        status=1
        echo "FAIL $label test_$name (exit $rc):"
        tail -n 40 "$log"
    else
        if [ "$skipped" != 0 ]; then
            # Why, from the tests' own "skipped: <reason>" lines.
            why=$(sed -n 's/^skipped: //p' "$log" | sort -u | awk '{printf "%s%s", sep, $0; sep = "; "}')
            echo "ok   $label test_$name: $passed passed, $skipped skipped (${why:-no reason given}):" \
                "$(sed -n 's/^\[  SKIPPED \] \([a-z_].*\)/\1/p' "$log" | sort -u | tr '\n' ' ')"
        else
            echo "ok   $label test_$name: $passed passed"
        fi
    fi
done
exit $status
