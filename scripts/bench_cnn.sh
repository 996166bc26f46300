#!/bin/bash
# CNN figures for `make bench` (called by scripts/bench.sh; runnable alone):
# a 21-layer 3×3 ReLU CNN on 32×32×3 images with a global-average-pooling
# head and with a flatten head, core-seconds per NTK entry (NNGP + NTK,
# prep included, one thread; flatten: the best of 3 runs) with both back
# ends. One line per figure, "name value unit", on stdout; progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${NTKC_BENCH_DIR:-build/bench}
mkdir -p "$out"
out=$(realpath "$out")
export NTKC_CACHE_DIR=${NTKC_CACHE_DIR:-$out/cache}
n_gap=${NTKC_BENCH_CNN_GAP_N:-16}       # 136 entries: ~30 s per back end
n_flat=${NTKC_BENCH_CNN_FLATTEN_N:-128} # 8256 entries
make -s build/bench/bench_cnn >/dev/null
for head in global_avg_pool flatten; do
    cat >"$out/cnn21_$head.ntk" <<NET
# 21 conv layers 3×3 (stride 1, padding same) with ReLU, then $head and a readout
net cnn21 {
    input image(32, 32, 3)
    repeat 21 { conv(3, 1.414, 0.1); relu }
    $head
    dense(1.0)
}
NET
done
source scripts/bench_lib.sh
for b in tcc cc; do
    build/bench/bench_cnn "$out/cnn21_flatten.ntk" $b 2 >/dev/null # warms the cc cache
    echo "CNN-flatten, $b: n = $n_flat, best of 3" >&2
    for r in 1 2 3; do build/bench/bench_cnn "$out/cnn21_flatten.ntk" $b "$n_flat"; done >"$out/cnn-flatten-$b.txt"
    awk -v c="$(minof cpu "$out/cnn-flatten-$b.txt")" -v e="$(field entries "$out/cnn-flatten-$b.txt" | head -1)" \
        -v b=$b 'BEGIN { printf "cnn21_flatten_%s %.4f core-ms/entry\n", b, 1000 * c / e }'
    build/bench/bench_cnn "$out/cnn21_global_avg_pool.ntk" $b 1 >/dev/null
    echo "CNN-GAP, $b: n = $n_gap" >&2
    build/bench/bench_cnn "$out/cnn21_global_avg_pool.ntk" $b "$n_gap" >"$out/cnn-gap-$b.txt"
    awk -v c="$(field cpu "$out/cnn-gap-$b.txt")" -v e="$(field entries "$out/cnn-gap-$b.txt")" \
        -v b=$b 'BEGIN { printf "cnn21_gap_%s %.4f core-s/entry\n", b, c / e }'
done
awk -v c="$(field compile "$out/cnn-gap-tcc.txt")" 'BEGIN { printf "cnn21_compile_tcc %.2f ms\n", 1000 * c }'
