#!/bin/sh
# Graph kernel benchmark: the Gram matrix of 1000 random graphs of 10–30
# nodes (GNTK, 4 blocks × 2 ReLU layers, jumping knowledge), ntkc against a
# straightforward numpy implementation of the same recursion
# (scripts/gntk_numpy.py, one pair at a time like the reference scripts), and
# the same kernel with --precision single (float32 over float64 throughput).
# Prints machine-readable lines "name value unit".
#   usage: scripts/bench_graph.sh [NTKC] [GRAPHS] [NUMPY_GRAPHS]
set -eu
ntkc=${1:-build/ntkc}
count=${2:-1000}
numpy_count=${3:-100}
case $ntkc in /*) ;; *) ntkc=$(pwd)/$ntkc ;; esac
cd "$(dirname "$0")/.."
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

$py scripts/random_graphs.py "$count" 10 30 5 1 >"$tmp/graphs.txt"
$py scripts/random_graphs.py 2 10 30 5 2 >"$tmp/small.txt"
cat >"$tmp/gntk.ntk" <<'NET'
let c = 1.4142135623730951
net gntk {
    input graph(5)
    repeat 4 { aggregate; repeat 2 { dense(c); relu } }
    readout(sum, jk=true)
    dense(1)
}
NET
pairs=$((count * (count + 1) / 2))
threads=$(nproc)

# Kernel seconds from the summary line "... in S s (compile ...)".
kernel_seconds() {
    sed -n 's/.* in \([0-9.]*\) s (compile.*/\1/p'
}

for backend in cc tcc; do
    # Warm the cc back end's cache on two graphs so its one-off compile is not timed.
    "$ntkc" kernel "$tmp/gntk.ntk" "$tmp/small.txt" --ntk "$tmp/K.npy" --backend $backend >/dev/null
    for t in 1 "$threads"; do
        s=$("$ntkc" kernel "$tmp/gntk.ntk" "$tmp/graphs.txt" --ntk "$tmp/K_$backend.npy" --backend $backend \
            --threads "$t" | kernel_seconds)
        echo "graph_gram_ntkc_${backend}_threads$t $(awk "BEGIN{printf \"%.0f\", $pairs/$s}") pairs/s"
        [ "$backend" = cc ] && [ "$t" = "$threads" ] && best=$(awk "BEGIN{print $pairs/$s}")
        [ "$backend" = cc ] && [ "$t" = 1 ] && single=$(awk "BEGIN{print $pairs/$s}")
    done
done

# --precision single beside it (cc): float32 node-pair arithmetic, float32 output; the
# ratio of throughputs at the same thread count, and the float32 error against float64.
for t in 1 "$threads"; do
    s=$("$ntkc" kernel "$tmp/gntk.ntk" "$tmp/graphs.txt" --ntk "$tmp/K32.npy" --backend cc --threads "$t" \
        --precision single | kernel_seconds)
    echo "graph_gram_ntkc_cc_float32_threads$t $(awk "BEGIN{printf \"%.0f\", $pairs/$s}") pairs/s"
    [ "$t" = 1 ] && ratio1=$(awk "BEGIN{printf \"%.2f\", $pairs/$s/$single}")
    [ "$t" = "$threads" ] && ratio=$(awk "BEGIN{printf \"%.2f\", $pairs/$s/$best}")
done
echo "graph_gram_float32_over_float64_threads1 $ratio1 x"
echo "graph_gram_float32_over_float64_threads$threads $ratio x"
$py - "$tmp/K32.npy" "$tmp/K_cc.npy" <<'PY'
import sys
import numpy as np
k32, k64 = np.load(sys.argv[1]), np.load(sys.argv[2])
print("graph_gram_float32_max_rel_err %.2e ratio" % (np.max(np.abs(k32.astype(np.float64) - k64)) / np.max(np.abs(k64))))
PY

# The numpy baseline on the first graphs (its speed does not depend on how many).
np_line=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $py scripts/gntk_numpy.py "$tmp/graphs.txt" \
    --features 5 --blocks 4 --mlp 2 --jk --graphs "$numpy_count" --out "$tmp/np.npy")
np=$(echo "$np_line" | awk '{print $2}')
echo "graph_gram_numpy $np pairs/s"
echo "graph_gram_speedup_vs_numpy $(awk "BEGIN{printf \"%.1f\", $best/$np}") x"
echo "graph_gram_speedup_vs_numpy_one_thread $(awk "BEGIN{printf \"%.1f\", $single/$np}") x"

# The two must agree on the pairs numpy computed.
$py - "$tmp/K_cc.npy" "$tmp/np.npy" "$numpy_count" <<'PY'
import sys
import numpy as np
k = np.load(sys.argv[1])
ref = np.load(sys.argv[2])[1]
n = int(sys.argv[3])
iu = np.triu_indices(n)
print("graph_gram_max_rel_diff_vs_numpy %.2e ratio" % (np.max(np.abs(k[:n, :n][iu] - ref[iu])) / np.max(np.abs(ref[iu]))))
PY
