#!/bin/bash
# make bench, float32 vs float64 for image nets (issue 19): the 21-layer
# CNN-GAP of scripts/bench_cnn.sh (or NET.ntk) through the library, compiled
# with --precision single and double, timed by build/bench/bench_cnn
# (ntkc_kernel_f32 / ntkc_kernel: n inputs, symmetric, NNGP + NTK, prep
# included, one thread), interleaved, best of $NTKC_BENCH_REPS, with both back
# ends; then max |K32 - K64| / max |K64| of the same kernels written by
# `ntkc kernel`. Prints "name value unit" lines (ratios: float64 time /
# float32 time, > 1: float32 faster).
# usage: bench_precision_cnn.sh NTKC [NET.ntk]
set -euo pipefail
ntkc=$(realpath "$1")
cd "$(dirname "$0")/.."
out=${NTKC_BENCH_DIR:-build/bench}/prec_cnn
mkdir -p "$out"
out=$(realpath "$out")
export NTKC_CACHE_DIR=${NTKC_CACHE_DIR:-$out/cache}
net=${2:-$out/cnn21_gap.ntk}
n=${NTKC_BENCH_PREC_CNN_N:-8} reps=${NTKC_BENCH_REPS:-3}
if [ -z "${2:-}" ]; then
    printf 'net cnn21 {\n    input image(32, 32, 3)\n    repeat 21 { conv(3, 1.414, 0.1); relu }\n    global_avg_pool\n    dense(1.0)\n}\n' >"$net"
fi
tag=$(basename "$net" .ntk)
source scripts/bench_lib.sh
make -s build/bench/bench_cnn >/dev/null
for b in tcc cc; do
    rm -f "$out/$b-f64.raw" "$out/$b-f32.raw"
    build/bench/bench_cnn "$net" $b 1 >/dev/null # warms the cc cache
    build/bench/bench_cnn "$net" $b 1 --single >/dev/null
    for r in $(seq "$reps"); do
        build/bench/bench_cnn "$net" $b "$n" >>"$out/$b-f64.raw"
        build/bench/bench_cnn "$net" $b "$n" --single >>"$out/$b-f32.raw"
    done
    c64=$(minof cpu "$out/$b-f64.raw") c32=$(minof cpu "$out/$b-f32.raw")
    echo "${tag}_${b}_f64_cpu $c64 core-s"
    echo "${tag}_${b}_f32_cpu $c32 core-s"
    echo "${tag}_${b}_speedup_cpu $(calc %.2f "$c64 / $c32") x"
done
dim=$(sed -n 's/.*input image(\([0-9]*\), *\([0-9]*\), *\([0-9]*\)).*/\1 * \2 * \3/p' "$net" | head -n 1)
/usr/bin/python3 -c "import numpy as np; np.save('$out/x.npy', np.random.default_rng(9).standard_normal(($n, $dim)))"
for p in double single; do
    "$ntkc" kernel "$net" "$out/x.npy" --nngp "$out/s-$p.npy" --ntk "$out/k-$p.npy" --precision $p --quiet
done
/usr/bin/python3 -c "
import numpy as np
for a, name in (('s', 'nngp'), ('k', 'ntk')):
    d, f = np.load('$out/%s-double.npy' % a), np.load('$out/%s-single.npy' % a)
    print('${tag}_f32_error_%s %.2g rel' % (name, np.abs(f - d).max() / np.abs(d).max()))
"
