#!/bin/bash
# make bench: ntkc's speed and memory against a numpy baseline and the
# machine's roofline, every figure measured in this run. Re-runnable; data
# and outputs go to $NTKC_BENCH_DIR (default build/bench). On a shared
# machine take the ratios, not the seconds: each figure is the best of
# $NTKC_BENCH_REPS runs (default 3; numpy: $NTKC_BENCH_NUMPY_REPS, default 1).
set -euo pipefail
ntkc=$(realpath "${1:-build/ntkc}")
cd "$(dirname "$0")/.."
out=${NTKC_BENCH_DIR:-build/bench}
reps=${NTKC_BENCH_REPS:-3}
numpy_reps=${NTKC_BENCH_NUMPY_REPS:-1}
py=/usr/bin/python3 # Debian's python3 with python3-numpy
mkdir -p "$out"
out=$(realpath "$out")
export NTKC_CACHE_DIR="$out/cache"
blas="-I/usr/include/x86_64-linux-gnu/openblas-pthread"
net=examples/relu5.ntk # 5 × (dense(1.414, 0.1) + relu) + dense(1)
n=4096 d=784 big=20000 layers=6

log() { echo "$*" >&2; }
source scripts/bench_lib.sh
# e2e BACKEND: one end-to-end run of ntkc kernel; appends "wall W" and "cpu C".
e2e() {
    /usr/bin/time -f "wall %e
cpu_user %U
cpu_sys %S" -a -o "$out/e2e-$1.raw" \
        "$ntkc" kernel $net "$out/x$n.npy" --ntk "$out/e2e.ntk.npy" --nngp "$out/e2e.nngp.npy" --backend "$1" --quiet
}

load_start=$(cut -d' ' -f1 /proc/loadavg)
log "building the bench programs"
make -s -C . build/libntkc.a build/gen/ntkc_math.h build/bench/bench_fc >/dev/null
cc -O3 -march=native -fopenmp -Ibuild/gen $blas bench/roofline.c -o "$out/roofline" -lopenblas -lm
cc -O3 -march=native -fopenmp -ffast-math -Ibuild/gen $blas bench/roofline.c -o "$out/roofline-fastmath" -lopenblas -lm

log "making inputs (seeded standard normal)"
for rows in $n $big; do
    [ -f "$out/x$rows.npy" ] || $py -c "import numpy as np
np.save('$out/x$rows.npy', np.random.default_rng($rows).standard_normal(($rows, $d)))"
done

log "FC: roofline, ntkc in process and end to end, interleaved, $reps rounds"
rm -rf "$NTKC_CACHE_DIR" "$out"/*.raw
build/bench/bench_fc $net "$out/x$n.npy" cc 1 >"$out/cc-cold.txt" # compiles the .so into the cache
for r in $(seq "$reps"); do
    "$out/roofline" $n $d 5 1.414 0.1 1 >>"$out/roofline.raw"
    "$out/roofline-fastmath" $n $d 5 1.414 0.1 1 >>"$out/roofline.raw"
    for b in tcc cc; do
        if [ "$r" = 1 ]; then keep="$out/fc-$b"; else keep=""; fi
        build/bench/bench_fc $net "$out/x$n.npy" $b 1 $keep >>"$out/inproc-$b.raw"
        e2e $b
    done
done
rm -f "$out/e2e.ntk.npy" "$out/e2e.nngp.npy"
gram=$(minof gram "$out/roofline.raw") loop=$(minof loop "$out/roofline.raw")
roof=$(calc "%.4f" "$gram + $loop") roof_cpu=$(minof cpu "$out/roofline.raw")
for b in tcc cc; do
    awk '$1 == "wall" { w = $2 } $1 == "cpu_user" { u = $2 } $1 == "cpu_sys" { print "wall", w; print "cpu", u + $2 }' \
        "$out/e2e-$b.raw" >"$out/e2e-$b.txt"
done
$py -c "import numpy as np
a, b = np.load('$out/fc-tcc.ntk.npy'), np.load('$out/fc-cc.ntk.npy')
print('backends_ntk %.3e' % np.max(np.abs(a - b) / np.abs(a)))" >"$out/backends.txt"

log "FC: numpy baseline (~15 s a run)"
$py scripts/bench_numpy.py "$out/x$n.npy" 5 1.414 0.1 1.0 0.0 "$numpy_reps" \
    "$out/fc-tcc.ntk.npy" "$out/fc-tcc.nngp.npy" >"$out/numpy.txt"
rm -f "$out"/fc-*.npy

log "CNN"
cnn=""
graph=""
if [ -x scripts/bench_graph.sh ]; then
    graph=$(scripts/bench_graph.sh "$ntkc" 2>/dev/null || echo "failed (scripts/bench_graph.sh exited non-zero)")
fi
if [ -x scripts/bench_cnn.sh ]; then
    cnn=$(scripts/bench_cnn.sh "$ntkc" 2>/dev/null || echo "failed (scripts/bench_cnn.sh exited non-zero)")
fi

mpi=""
if [ -x "$(dirname "$ntkc")/ntkc-mpi" ] && command -v mpirun >/dev/null; then
    log "MPI: 1, 2, 4 ranks"
    mpi=$(scripts/bench_mpi.sh "$ntkc" "$(dirname "$ntkc")/ntkc-mpi" 2>/dev/null ||
        echo "failed (scripts/bench_mpi.sh exited non-zero)")
fi

attn=""
if [ -x scripts/bench_attention.sh ]; then
    log "transformer: numpy peer and ntkc"
    attn=$(scripts/bench_attention.sh "$ntkc" 2>/dev/null || echo "failed (scripts/bench_attention.sh exited non-zero)")
fi

log "float32 vs float64 (scripts/bench_precision.sh)"
prec=$(NTKC_BENCH_DIR="$out" scripts/bench_precision.sh build/bench/bench_fc "$out/x$n.npy" "$out" "$ntkc" 2>/dev/null ||
    echo "failed (scripts/bench_precision.sh exited non-zero)")

log "all-pairs window layers: tap tables vs the old path (bench/bench_windows.c)"
windows=$(make -s build/bench/bench_windows >/dev/null && build/bench/bench_windows 2>/dev/null ||
    echo "failed (bench_windows exited non-zero)")

log "Python call overhead"
python=$(scripts/bench_python.sh 2>/dev/null || echo "failed (scripts/bench_python.sh exited non-zero)")

log "memory: n = $big, NTK only"
/usr/bin/time -f "%M %e" -o "$out/rss.txt" "$ntkc" kernel $net "$out/x$big.npy" --ntk "$out/big.ntk.npy" --quiet
rm -f "$out/big.ntk.npy"
read -r rss_kb big_s <"$out/rss.txt"

numpy_s=$(minof seconds "$out/numpy.txt") numpy_cpu=$(minof cpu "$out/numpy.txt")
row() { # label seconds core-seconds: time, core-s, entries·layers/s, × numpy, × roofline
    calc "  %-36s %7.3f s %7.2f  %9.3g  %6.1f×  %5.2f×\n" \
        "\"$1\", $2, $3, $n * $n * $layers / $2, $numpy_s / $2, $2 / $roof"
}
tcc_in=$(minof kernel "$out/inproc-tcc.raw") cc_in=$(minof kernel "$out/inproc-cc.raw")
tcc_in_cpu=$(minof cpu "$out/inproc-tcc.raw") cc_in_cpu=$(minof cpu "$out/inproc-cc.raw")
tcc_e2e=$(minof wall "$out/e2e-tcc.txt") cc_e2e=$(minof wall "$out/e2e-cc.txt")
tcc_e2e_cpu=$(minof cpu "$out/e2e-tcc.txt") cc_e2e_cpu=$(minof cpu "$out/e2e-cc.txt")
verdict() { awk "BEGIN { print ($1) ? \"met\" : \"MISSED\" }"; }
{
    echo "ntkc bench — $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "best of $reps interleaved rounds (numpy: $numpy_reps); ratios are of wall times within this run;"
    echo "core-s = CPU seconds of all threads (less sensitive to other load on the machine);" \
        "load average $load_start at the start, $(cut -d' ' -f1 /proc/loadavg) at the end"
    echo
    echo "1. FC: 5 × (dense(1.414, 0.1) + relu) + dense, n = $n, d = $d, NNGP + NTK, symmetric"
    echo "  way                                       wall  core-s  entries·layers/s  vs numpy  vs roofline"
    row "numpy, vectorised (baseline)" "$numpy_s" "$numpy_cpu"
    row "roofline: BLAS Gram + fused loop" "$roof" "$roof_cpu"
    calc "  %-36s %7.3f s\n" "\"  of which Gram (cblas_dsyrk)\", $gram"
    row "ntkc in process, libtcc (default)" "$tcc_in" "$tcc_in_cpu"
    row "ntkc in process, --backend cc" "$cc_in" "$cc_in_cpu"
    row "ntkc kernel end to end, libtcc" "$tcc_e2e" "$tcc_e2e_cpu"
    row "ntkc kernel end to end, cc (cached)" "$cc_e2e" "$cc_e2e_cpu"
    echo "  agreement with numpy (max elementwise rel.): NTK $(minof agree_ntk "$out/numpy.txt")," \
        "NNGP $(minof agree_nngp "$out/numpy.txt"); libtcc vs cc NTK $(minof backends_ntk "$out/backends.txt")"
    echo "  targets: ≥ 20× numpy in process: $(verdict "$numpy_s / $tcc_in >= 20");" \
        "≥ 10× end to end: $(verdict "$numpy_s / $tcc_e2e >= 10");" \
        "≤ 1.5× roofline: $(verdict "$tcc_in / $roof <= 1.5")"
    echo
    echo "2.-3. CNN (scripts/bench_cnn.sh: name value unit)"
    if [ -n "$cnn" ]; then echo "$cnn" | sed 's/^/  /'; else echo "  n/a (scripts/bench_cnn.sh, from the convolutions work, is not there yet)"; fi
    cnnv() { echo "$cnn" | field "$1"; }
    if [ -n "$(cnnv cnn21_gap_tcc)" ]; then
        echo "  targets (libtcc): CNN-GAP ≤ 0.3 core-s/entry: $(verdict "$(cnnv cnn21_gap_tcc) <= 0.3");" \
            "CNN-flatten ≤ 0.2 core-ms/entry: $(verdict "$(cnnv cnn21_flatten_tcc) <= 0.2");" \
            "libtcc compile ≤ 10 ms: $(verdict "$(cnnv cnn21_compile_tcc) <= 10")"
    else
        echo "  targets: CNN-GAP ≤ 0.3 core-s/entry; CNN-flatten ≤ 0.2 core-ms/entry; libtcc compile ≤ 10 ms"
    fi
    echo
    echo "3. JIT of the FC net: libtcc $(calc %.2f "1000 * $(minof compile "$out/inproc-tcc.raw")") ms;" \
        "system compiler $(calc %.0f "1000 * $(minof compile "$out/cc-cold.txt")") ms cold," \
        "$(calc %.2f "1000 * $(minof compile "$out/inproc-cc.raw")") ms from the cache"
    echo
    echo "4. Memory: ntkc kernel, n = $big, d = $d, NTK only"
    calc "  output %.0f MB (.npy through a memory map), input %.0f MB; peak RSS %.0f MB; %.1f s\n" \
        "$big * $big * 8 / 1e6, $big * $d * 8 / 1e6, $rss_kb / 1024, $big_s"
    echo "  target: peak RSS ≤ 256 MB above the output's resident pages: $(verdict "$rss_kb / 1024 <= 256")" \
        "(checked against the whole peak RSS)"
    echo
    echo "5. GNTK: Gram matrix of 1000 random graphs (scripts/bench_graph.sh: name value unit)"
    if [ -n "$graph" ]; then echo "$graph" | sed 's/^/  /'; else echo "  n/a"; fi
    echo "  target: ≥ 20× the numpy baseline in graph pairs per second; *_float32_*: --precision single (cc)"
    echo
    echo "6. ntkc-mpi kernel on 1, 2, 4 ranks of one thread (scripts/bench_mpi.sh; $(nproc) cores: oversubscribed)"
    if [ -n "$mpi" ]; then echo "$mpi" | sed 's/^/  /'; else echo "  n/a (no ntkc-mpi: make mpi)"; fi
    echo
    echo "7. Python: ntkc.Net.kernel vs ntkc_kernel from C, digits FC net, n = 1000, d = 64 (scripts/bench_python.sh)"
    echo "$python" | sed 's/^/  /'
    pyv() { echo "$python" | field "$1"; }
    if [ -n "$(pyv python_wrapper_share_allcores)" ]; then
        echo "  target: call overhead ≤ 5 %: $(verdict "$(pyv python_wrapper_share_allcores) <= 5")" \
            "(the wrapper's measured cost against the C call; the wall-time rows carry the machine's noise)"
    fi
    echo
    echo "8. Transformer: 4 pre-LN blocks (softmax attention + ReLU MLP), n = 64 sequences, L = 64, C = 16," \
        "NNGP + NTK, symmetric; *_f32_*: --precision single (scripts/bench_attention.sh: name value unit)"
    if [ -n "$attn" ]; then echo "$attn" | sed 's/^/  /'; else echo "  n/a"; fi
    echo
    echo "9. --precision single vs double: the FC net of row 1 in process (libtcc), interleaved, and a net that is"
    echo "   only its input Gram (BLAS ssyrk vs dsyrk, store, mirror); speedup = float64 time / float32 time;"
    echo "   cnn21_gap_*: the 21-layer CNN-GAP of row 3 through the library, --precision single vs double, n = 8"
    echo "   symmetric (prep included, one thread), both back ends; its float32 error vs float64"
    echo "   (scripts/bench_precision_cnn.sh)"
    echo "$prec" | sed 's/^/  /'
    precv() { echo "$prec" | field "$1"; }
    if [ -n "$(precv relu5_speedup_wall)" ]; then
        echo "  target: float32 ≥ 1.8× float64 throughput (FC): $(verdict "$(precv relu5_speedup_wall) >= 1.8")" \
            "(wall), $(verdict "$(precv relu5_speedup_cpu) >= 1.8") (core-s)"
    fi
    if [ -n "$(precv cnn21_gap_tcc_speedup_cpu)" ]; then
        echo "  target: float32 ≥ 1.8× float64 throughput (CNN-GAP, core-s): libtcc" \
            "$(verdict "$(precv cnn21_gap_tcc_speedup_cpu) >= 1.8"), cc $(verdict "$(precv cnn21_gap_cc_speedup_cpu) >= 1.8")"
    fi
    echo
    echo "10. All-pairs window layers (attention, masked and volume nets): one layer on both kernels of one pair,"
    echo "   tap tables (now) vs the old path (every output pair summing its tap pairs, the taps' positions computed"
    echo "   in the inner loop), same inputs, same flags; err = max |new − old| / max |old| (bench/bench_windows.c)"
    echo "$windows" | sed 's/^/  /'
} | tee "$out/table.txt"
