#!/bin/bash
# Transformer figures for `make bench` (called by scripts/bench.sh; runnable alone):
# a 4-block pre-LN transformer (residual layer_norm + softmax attention, residual
# layer_norm + ReLU MLP) on n = 64 sequences of L = 64 tokens (C = 16), NNGP + NTK,
# symmetric 64×64: the numpy peer (scripts/bench_attention.py, one BLAS thread)
# and, once ntkc has an `attention` layer, ntkc kernel with both back ends and
# their agreement with numpy; then each back end in float32 (--precision single):
# its time against float64 and max |K32 − K64| / max |K64|. One line per figure, "name value unit", on stdout.
set -euo pipefail
ntkc=$(realpath "${1:-build/ntkc}")
cd "$(dirname "$0")/.."
out=${NTKC_BENCH_DIR:-build/bench}
mkdir -p "$out"
out=$(realpath "$out")
export NTKC_CACHE_DIR=${NTKC_CACHE_DIR:-$out/cache}
py=/usr/bin/python3
n=64 L=64 C=16
source scripts/bench_lib.sh
net="$out/transformer4.ntk"
cat >"$net" <<NET
# 4 pre-LN transformer blocks on L = $L tokens, global average pooling readout
net transformer4 {
    input sequence($L, $C)
    dense(1.0, 0.0)
    repeat 4 {
        residual { layer_norm; attention(heads=4, scaling=linear, mechanism=softmax, w_q=2.0, b_std=0.05) }
        residual { layer_norm; dense(1.414, 0.05); relu; dense(1.0, 0.0) }
    }
    global_avg_pool
    dense(1.0, 0.0)
}
NET
[ -f "$out/seq$n.npy" ] || $py -c "import numpy as np
np.save('$out/seq$n.npy', np.random.default_rng($n).standard_normal(($n, $L, $C)))"
echo "transformer: numpy peer" >&2
OPENBLAS_NUM_THREADS=1 $py scripts/bench_attention.py "$net" "$out/seq$n.npy" 1 >"$out/attn-numpy.txt"
np_s=$(field seconds "$out/attn-numpy.txt") np_cpu=$(field cpu "$out/attn-numpy.txt")
echo "transformer4_numpy_wall $np_s s"
calc "transformer4_numpy_cpu %.4f core-ms/entry\n" "1000 * $np_cpu / $(field entries "$out/attn-numpy.txt")"
if ! "$ntkc" ir "$net" >/dev/null 2>"$out/attn-ir.err"; then
    echo "transformer4_ntkc n/a ($(head -1 "$out/attn-ir.err" | sed 's/.*error: //; s/ (known layers.*//'))"
    exit 0
fi
for b in tcc cc; do
    echo "transformer: ntkc, $b" >&2
    /usr/bin/time -f "wall %e" -o "$out/attn-$b.time" "$ntkc" kernel "$net" "$out/seq$n.npy" \
        --ntk "$out/attn-$b.ntk.npy" --nngp "$out/attn-$b.nngp.npy" --backend $b --quiet
    w=$(field wall "$out/attn-$b.time")
    echo "transformer4_ntkc_${b}_wall $w s"
    calc "transformer4_ntkc_${b}_vs_numpy %.1f x\n" "$np_s / $w"
    # --precision single: float32 against this float64 run (docs/precision.md, "All-pairs nets")
    echo "transformer: ntkc, $b, float32" >&2
    /usr/bin/time -f "wall %e" -o "$out/attn-$b-f32.time" "$ntkc" kernel "$net" "$out/seq$n.npy" \
        --ntk "$out/attn-$b-f32.ntk.npy" --nngp "$out/attn-$b-f32.nngp.npy" --backend $b --precision single --quiet
    w32=$(field wall "$out/attn-$b-f32.time")
    echo "transformer4_ntkc_${b}_f32_wall $w32 s"
    calc "transformer4_ntkc_${b}_f64_over_f32 %.2f x\n" "$w / $w32"
    $py -c "import numpy as np
for k in ('nngp', 'ntk'):
    a, b = np.load('$out/attn-$b.' + k + '.npy'), np.load('$out/attn-$b-f32.' + k + '.npy')
    print('transformer4_ntkc_${b}_f32_err_' + k, '%.2e' % (np.abs(b - a).max() / np.abs(a).max()), 'rel')"
done
OPENBLAS_NUM_THREADS=1 $py scripts/bench_attention.py "$net" "$out/seq$n.npy" 1 \
    "$out/attn-tcc.ntk.npy" "$out/attn-tcc.nngp.npy" | awk '/^agree/ { print "transformer4_" $1, $2, "rel" }'
rm -f "$out"/attn-*.npy
