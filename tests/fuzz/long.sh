#!/bin/sh
# Long fuzz runs (make fuzz-long): every harness for RUNS executions, from
# its kept corpus into build/fuzz-long/corpus/NAME, JOBS harnesses at once.
# Ends with one line per harness: executions, coverage (libFuzzer's edge
# count "cov" and feature count "ft"), libFuzzer's corpus (inputs/size),
# the corpus directory's files and bytes (every input it ever kept), seconds.
# Not part of make test or CI: 10 million runs take hours.
set -eu

one() {
    n=$1
    # Long runs use the build without comparison tracing (fast_NAME):
    # the harnesses run each input several times over (whole, in pieces,
    # byte by byte) and spent half their time in that tracing, whose work
    # (finding the magic values) the kept corpus and make fuzz have done.
    # fuzz_models, the slowest, takes inputs up to 2 KB.
    bin=$build/fuzz/fast_$n; maxlen=4096
    case $n in models) maxlen=2048 ;; esac
    mkdir -p "$out/corpus/$n"
    dict=""; [ -f "tests/fuzz/fuzz_$n.dict" ] && dict="-dict=tests/fuzz/fuzz_$n.dict"
    start=$(date +%s)
    if ! "$bin" -runs="$runs" -max_len=$maxlen $dict -print_final_stats=1 \
            -artifact_prefix="$out/$n-" "$out/corpus/$n" "tests/fuzz/corpus/$n" \
            >"$out/$n.log" 2>&1; then
        echo "FAIL fuzz_$n (see $out/$n.log)"; tail -n 40 "$out/$n.log"; return 1
    fi
    secs=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$n.log")
    last=$(grep -E '^#[0-9]+' "$out/$n.log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\/[0-9]*[KMG]*b\).*/\1/p') # libFuzzer's set
    files=$(ls "$out/corpus/$n" | wc -l)
    bytes=$(cat "$out/corpus/$n"/* 2>/dev/null | wc -c)
    echo "fuzz_$n execs=$execs cov=$cov ft=$ft corpus=$corp dir_files=$files dir_bytes=$bytes seconds=$secs max_len=$maxlen bin=$(basename "$bin")" \
        | tee "$out/$n.result"
}

# sh long.sh --one BUILD RUNS NAME: one harness (what xargs starts).
if [ "$1" = --one ]; then
    build=$2; runs=$3; out=$build/fuzz-long
    one "$4"
    exit
fi

build=$1; runs=$2; jobs=$3; shift 3
out=$build/fuzz-long
mkdir -p "$out"
rm -f "$out"/*.result
printf '%s\n' "$@" | xargs -P "$jobs" -I{} sh "$0" --one "$build" "$runs" {} || true
status=0
for n in "$@"; do
    [ -f "$out/$n.result" ] || { echo "no result for fuzz_$n"; status=1; }
done
echo "fuzz-long: $runs runs each"
cat "$out"/*.result
exit $status
