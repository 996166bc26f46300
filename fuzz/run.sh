#!/bin/sh
# Runs each fuzz target for SECONDS and prints one line per target:
#   fuzz_NAME: EXECS executions in S s, C crashes
# usage: fuzz/run.sh libfuzzer|afl BUILD_DIR SECONDS TARGET...
# Seeds: fuzz/corpus/NAME plus the regression inputs tests/data/fuzz/NAME.
# New corpus entries go to BUILD_DIR/corpus/NAME (kept between runs, never
# committed); crashing inputs to BUILD_DIR/crashes/. Exits 1 if any target
# crashed, printing the crash report.
set -u
engine=$1 build=$2 seconds=$3
shift 3
cd "$(dirname "$0")/.."
mkdir -p "$build/crashes"
nfailed=0 failed_logs=

run_libfuzzer() {
    t=$1 bin=$build/fuzz/fuzz_$1 log=$build/fuzz-$1.log
    mkdir -p "$build/corpus/$t"
    set -- -max_total_time="$seconds" -max_len=4096 -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/crashes/$t-"
    [ -f "fuzz/$t.dict" ] && set -- "$@" -dict="fuzz/$t.dict"
    # The first corpus directory receives new inputs (and loses superseded
    # ones): it must be the scratch one, never the committed seeds.
    set -- "$@" "$build/corpus/$t"
    for d in "fuzz/corpus/$t" "tests/data/fuzz/$t"; do [ -d "$d" ] && set -- "$@" "$d"; done
    start=$(date +%s)
    "$bin" "$@" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    # crash-, leak-, timeout- and oom- inputs are failures; slow-unit- ones
    # (libFuzzer's report of the slowest input) are only noted.
    crashes=$(ls "$build/crashes" | grep "^$t-" | grep -vc "^$t-slow-unit-")
    slow=$(sed -n 's/^stat::slowest_unit_time_sec: *//p' "$log" | tail -n 1)
    echo "fuzz_$t: ${execs:-?} executions in $took s, $crashes crashes, slowest input ${slow:-?} s (libFuzzer)"
    if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
        tail -n 60 "$log"
        failed_logs="$failed_logs $t:$log"
        nfailed=$((nfailed + 1))
    fi
}

# Printed last (stack traces are long, and CI keeps only the end of the
# output): the oracle's message or the sanitizer's summary, and each crashing
# input (cat -v: control bytes as ^X, others as M-x), so the failure can be
# reproduced from the CI log alone.
show_crash_inputs() {
    echo "--- fuzz_$1: what failed ---"
    grep -m 3 -E "^fuzz_$1: |^SUMMARY: |^==[0-9]+==ERROR" "$2"
    for f in "$build/crashes/$1"-*; do
        case $f in *-slow-unit-*) continue ;; esac
        [ -f "$f" ] || continue
        echo "--- input $f ($(wc -c <"$f") bytes) ---"
        head -c 2000 "$f" | cat -v
        echo
    done
}

run_afl() {
    t=$1 bin=$build/fuzz/fuzz_$1 out=$build/afl-$1 seeds=$build/afl-seeds-$1
    rm -rf "$seeds" && mkdir -p "$seeds"
    for d in "fuzz/corpus/$t" "tests/data/fuzz/$t"; do [ -d "$d" ] && cp "$d"/* "$seeds"/ 2>/dev/null; done
    set -- -i "$seeds" -o "$out" -V "$seconds" -m none -t 60000
    [ -f "fuzz/$t.dict" ] && set -- "$@" -x "fuzz/$t.dict"
    [ -d "$out/default" ] && export AFL_AUTORESUME=1
    AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CRASHES=1 \
        afl-fuzz "$@" -- "$bin" >"$build/fuzz-$t-afl.log" 2>&1
    rc=$?
    stats=$out/default/fuzzer_stats
    execs=$(sed -n 's/^execs_done *: *//p' "$stats" 2>/dev/null)
    took=$(sed -n 's/^run_time *: *//p' "$stats" 2>/dev/null)
    crashes=$(sed -n 's/^saved_crashes *: *//p' "$stats" 2>/dev/null)
    [ -n "$crashes" ] || crashes=$(sed -n 's/^unique_crashes *: *//p' "$stats" 2>/dev/null)
    echo "fuzz_$t: ${execs:-?} executions in ${took:-?} s, ${crashes:-?} crashes (AFL++)"
    if [ "$rc" != 0 ] || [ "${crashes:-1}" != 0 ]; then
        tail -n 40 "$build/fuzz-$t-afl.log"
        ls "$out/default/crashes" 2>/dev/null
        nfailed=$((nfailed + 1))
    fi
}

ntargets=$#
for t in "$@"; do
    case $engine in
    libfuzzer) run_libfuzzer "$t" ;;
    afl) run_afl "$t" ;;
    *) echo "fuzz/run.sh: unknown engine $engine" >&2; exit 2 ;;
    esac
done
for tl in $failed_logs; do show_crash_inputs "${tl%%:*}" "${tl#*:}"; done
# Closing line in the form CI reads: targets that ran clean vs failed.
echo "fuzz: $((ntargets - nfailed)) passed, $nfailed failed"
[ "$nfailed" = 0 ]
