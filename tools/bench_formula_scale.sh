#!/bin/bash
# The cost of a formula activation's quadrature dual against the scale of its
# inputs: `dense(w); f_tanh` (f_tanh = tanh written as a formula) on 60
# seeded standard-normal vectors (pre-activation variance ≈ w²) for
# w = 1, 10, 40, 100, with the built-in erf as a closed-form control.
# Prints each CPU time (user + sys, end to end: parse, calibration, JIT and
# the kernel; best of $NTKC_BENCH_REPS runs, default 3) and its ratio to
# w = 1's in the same run: on a shared machine take the ratios.
#   tools/bench_formula_scale.sh [build/ntkc]
set -euo pipefail
ntkc=$(realpath "${1:-build/ntkc}")
reps=${NTKC_BENCH_REPS:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export NTKC_CACHE_DIR="$dir/cache"
/usr/bin/python3 -c "import numpy as np
np.save('$dir/x.npy', np.random.default_rng(60).standard_normal((60, 16)))"
best() { # best CPU time of $reps runs of ntkc kernel on $1, or 'refused'
    local t b=""
    for _ in $(seq "$reps"); do
        if ! /usr/bin/time -f '%U %S' -o "$dir/t" "$ntkc" kernel "$1" "$dir/x.npy" --ntk "$dir/k.npy" --quiet \
            2>"$dir/err" >/dev/null; then
            echo refused
            return
        fi
        t=$(tail -1 "$dir/t" | awk '{ printf "%.2f", $1 + $2 }')
        b=$(awk -v a="$t" -v b="$b" 'BEGIN { print (b == "" || a < b) ? a : b }')
    done
    echo "$b"
}
printf '%-8s %6s %12s %8s\n' act w cpu_seconds ratio
for act in f_tanh erf; do
    base=""
    for w in 1 10 40 100; do
        printf 'act f_tanh(x) = tanh(x)\nnet n { dense(%s); %s; dense }\n' "$w" "$act" >"$dir/n.ntk"
        t=$(best "$dir/n.ntk")
        [ -n "$base" ] || base=$t
        r=$(awk -v t="$t" -v b="$base" 'BEGIN { if (t == "refused") print "-"; else printf "%.2f", t / b }')
        printf '%-8s %6s %12s %8s\n' "$act" "$w" "$t" "$r"
        [ "$t" != refused ] || sed 's/^/    /' "$dir/err" | head -3
    done
done
