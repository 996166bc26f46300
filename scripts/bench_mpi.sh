#!/bin/bash
# ntkc-mpi figures for `make bench` (called by scripts/bench.sh; runnable alone):
#   bench_mpi.sh NTKC NTKC_MPI
# The FC ReLU kernel (examples/relu5.ntk, n = 4096, d = 784, NNGP + NTK) on
# 1, 2 and 4 ranks of one thread each, and the 3-layer CNTK of examples/cntk.ntk
# (n = 200 8×8 images) whose tiles are few and costly. This machine has 2
# cores: 4 ranks are oversubscribed, so read the work balance (max/mean busy
# seconds over ranks) and the bytes moved, not only the wall time. Every run's
# output is compared with ntkc's byte for byte. Lines "name value unit".
set -euo pipefail
ntkc=$(realpath "$1")
ntkc_mpi=$(realpath "$2")
cd "$(dirname "$0")/.."
out=${NTKC_BENCH_DIR:-build/bench}
mkdir -p "$out"
out=$(realpath "$out")
py=/usr/bin/python3
# One BLAS thread per rank, and ranks that yield while they wait in MPI: with
# more ranks than cores, OpenBLAS's and Open MPI's busy-waiting would
# otherwise take the cores from the ranks doing the work.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1
export OMPI_MCA_mpi_yield_when_idle=1
[ -f "$out/x4096.npy" ] || $py -c "import numpy as np
np.save('$out/x4096.npy', np.random.default_rng(4096).standard_normal((4096, 784)))"
[ -f "$out/img200.npy" ] || $py -c "import numpy as np
np.save('$out/img200.npy', np.random.default_rng(200).standard_normal((200, 8, 8, 1)))"
run() { # name net input [ARGS: e.g. --precision single]
    local name=$1 net=$2 x=$3
    shift 3
    /usr/bin/time -f "%e" -o "$out/mpi-time.txt" \
        "$ntkc" kernel "$net" "$x" --ntk "$out/mpi-ref.k.npy" --nngp "$out/mpi-ref.s.npy" --threads 1 --quiet "$@"
    echo "mpi_${name}_ntkc wall $(cat "$out/mpi-time.txt") s (ntkc kernel, one thread, for reference)"
    for p in 1 2 4; do
        /usr/bin/time -f "wall %e" -o "$out/mpi-time.txt" mpirun --oversubscribe --bind-to none -np $p \
            "$ntkc_mpi" kernel "$net" "$x" --ntk "$out/mpi.k.npy" --nngp "$out/mpi.s.npy" --threads 1 "$@" \
            >"$out/mpi-$name-$p.txt"
        cmp -s "$out/mpi.k.npy" "$out/mpi-ref.k.npy" && cmp -s "$out/mpi.s.npy" "$out/mpi-ref.s.npy" &&
            same=identical || same=DIFFERENT
        awk -v name="$name" -v p=$p -v same=$same -v wall="$(awk '{ print $2 }' "$out/mpi-time.txt")" '
            /^rank/ { n++; t += $3; b = $8; busy += b; if (b > m) m = b; w += $11; io += $14; c += substr($16, 2); f += $19 }
            /tiles of edge/ { tiles = $1; edge = $5 }
            END { printf "mpi_%s_ranks%d wall %.2f s, %d tiles of edge %d, busy max/mean %.3f, tiles per rank %.1f, " \
                  "output bytes written %.3g (each rank %.3g, %.2f s writing, %d write calls), counter %d fetches (%d bytes); " \
                  "output %s to ntkc'"'"'s\n",
                  name, p, wall, tiles, edge, m / (busy / n), t / n, w, w / n, io / n, c / n, f, 16 * f, same }' \
            "$out/mpi-$name-$p.txt"
    done
    rm -f "$out"/mpi.*.npy "$out"/mpi-ref.*.npy
}
run fc examples/relu5.ntk "$out/x4096.npy"
# the same kernel in float32 ('<f4' outputs, half the bytes written), against ntkc --precision single
run fc32 examples/relu5.ntk "$out/x4096.npy" --precision single
run cntk examples/cntk.ntk "$out/img200.npy"

# predict: the FC net, 1024 training and 256 test rows, 10 classes, t = 100 and inf
# (one pdsyevd + one pdpotrf), with the covariance; mean and covariance against ntkc predict's.
[ -f "$out/ptrain1024.npy" ] || $py -c "import numpy as np
r = np.random.default_rng(1024)
np.save('$out/ptrain1024.npy', r.standard_normal((1024, 784))); np.save('$out/ptest256.npy', r.standard_normal((256, 784)))
np.save('$out/plabels1024.npy', r.integers(0, 10, 1024))"
pargs=(--train "$out/ptrain1024.npy" --targets "$out/plabels1024.npy" --test "$out/ptest256.npy" --time 100,inf --reg 1e-4)
/usr/bin/time -f "%e" -o "$out/mpi-time.txt" "$ntkc" predict examples/relu5.ntk "${pargs[@]}" --mean "$out/pref.npy" \
    --cov "$out/pcref.npy" --threads 1 >"$out/mpi-predict-ref.txt"
echo "mpi_predict_ntkc wall $(cat "$out/mpi-time.txt") s ($(sed -n 's/^ *kernels/kernels/p' "$out/mpi-predict-ref.txt"))"
for p in 1 2 4; do
    /usr/bin/time -f "%e" -o "$out/mpi-time.txt" mpirun --oversubscribe --bind-to none -np $p "$ntkc_mpi" predict \
        examples/relu5.ntk "${pargs[@]}" --mean "$out/pm.npy" --cov "$out/pc.npy" --threads 1 >"$out/mpi-predict-$p.txt"
    diff=$($py -c "import numpy as np
d = lambda x, y: abs(np.load(x) - np.load(y)).max() / abs(np.load(x)).max()
print('%.1e, covariance %.1e' % (d('$out/pref.npy', '$out/pm.npy'), d('$out/pcref.npy', '$out/pc.npy')))")
    echo "mpi_predict_ranks$p wall $(cat "$out/mpi-time.txt") s ($(sed -n 's/^ *kernels/kernels/p' \
        "$out/mpi-predict-$p.txt")); mean vs ntkc predict: max rel. difference $diff"
done
rm -f "$out/pref.npy" "$out/pm.npy" "$out/pcref.npy" "$out/pc.npy"
