#!/bin/bash
# make bench-parse: front-end time on generated sources of `let` lines
# (issue 15, item 10), best of $NTKC_BENCH_REPS runs (default 3). The time
# should grow linearly with the size; 10 MB well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${NTKC_BENCH_DIR:-build/bench}
reps=${NTKC_BENCH_REPS:-3}
mkdir -p "$out"
make -s build/bench/bench_parse
printf "%-8s %-9s %-12s %-12s\n" MB lets parse_cpu_s lower_cpu_s
for mb in 1 2.5 5 10; do
    build/bench/bench_parse "$mb" "$reps" |
        awk -v mb="$mb" '{v[$1]=$2} END {printf "%-8s %-9s %-12s %-12s\n", mb, v["lets"], v["parse"], v["lower"]}'
done
