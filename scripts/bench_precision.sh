#!/bin/bash
# make bench, float32 vs float64 (issue 19): the FC net of scripts/bench.sh
# (examples/relu5.ntk, n = 4096, d = 784, NNGP + NTK, symmetric) in process
# with --precision single and double, interleaved in the same rounds, best of
# $NTKC_BENCH_REPS; and the same for a net that is only its input Gram (one
# dense layer: BLAS ssyrk/dsyrk, the store and the mirror), which separates
# the BLAS and memory part from the recursion. Prints "name value unit" lines:
# the ratios are float64 time / float32 time (> 1: float32 faster), of wall
# and of core-seconds. With NTKC (the ntkc binary), the CNN-GAP rows of
# scripts/bench_precision_cnn.sh too: ntkc refuses --precision single for
# image nets so far, so they time the emitted file made float32 by float.sed.
# usage: bench_precision.sh BENCH_FC X.npy OUT_DIR [NTKC]
set -euo pipefail
bench_fc=$1 x=$2 out=$3 ntkc=${4:-}
reps=${NTKC_BENCH_REPS:-3}
source "$(dirname "$0")/bench_lib.sh"
lin="$out/gram_only.ntk"
printf 'net gram_only {\n    dense(1.0)\n}\n' >"$lin"
rm -f "$out"/prec-*.raw
for r in $(seq "$reps"); do
    for net in examples/relu5.ntk "$lin"; do
        tag=$(basename "$net" .ntk)
        "$bench_fc" "$net" "$x" tcc 1 >>"$out/prec-$tag-f64.raw"
        "$bench_fc" "$net" "$x" tcc 1 --single >>"$out/prec-$tag-f32.raw"
    done
done
for tag in relu5 gram_only; do
    w64=$(minof kernel "$out/prec-$tag-f64.raw") w32=$(minof kernel "$out/prec-$tag-f32.raw")
    c64=$(minof cpu "$out/prec-$tag-f64.raw") c32=$(minof cpu "$out/prec-$tag-f32.raw")
    echo "${tag}_f64_wall $w64 s"
    echo "${tag}_f32_wall $w32 s"
    echo "${tag}_f64_cpu $c64 core-s"
    echo "${tag}_f32_cpu $c32 core-s"
    echo "${tag}_speedup_wall $(calc %.2f "$w64 / $w32") x"
    echo "${tag}_speedup_cpu $(calc %.2f "$c64 / $c32") x"
done
# the recursion alone: relu5 less its Gram-only part (core-seconds)
r64=$(calc %.4f "$(minof cpu "$out/prec-relu5-f64.raw") - $(minof cpu "$out/prec-gram_only-f64.raw")")
r32=$(calc %.4f "$(minof cpu "$out/prec-relu5-f32.raw") - $(minof cpu "$out/prec-gram_only-f32.raw")")
echo "recursion_f64_cpu $r64 core-s"
echo "recursion_f32_cpu $r32 core-s"
echo "recursion_speedup_cpu $(awk "BEGIN { if ($r32 > 0) printf \"%.2f\", $r64 / $r32; else print \"n/a\" }") x"
if [ -n "$ntkc" ]; then
    "$(dirname "$0")/bench_precision_cnn.sh" "$ntkc"
fi
