#!/bin/sh
# Python call overhead: ntkc.Net.kernel against ntkc_kernel called from C
# (bench/bench_call.c) on the same small kernel — the digits FC net, n = 1000,
# d = 64, NNGP + NTK, symmetric — with 1 thread and with all cores; best of
# REPS calls in each of ROUNDS interleaved rounds. The overhead compares like
# with like: both write into outputs touched beforehand (Python: out=).
# Python's default, new outputs per call, adds the first-touch page faults of
# 16 MB (any caller of the C API pays them as well for fresh buffers): shown
# beside it. With 1 thread the calling thread's CPU time is compared too: on a
# loaded machine it is the steadier figure. The wrapper's own cost is also
# measured apart (scripts/bench_python.py): the Python code around the C call,
# which is what the overhead is made of when the machine is quiet.
# Prints lines "name value unit".
#   usage: scripts/bench_python.sh [BUILD] [REPS] [ROUNDS]
set -eu
build=${1:-build}
reps=${2:-30}
rounds=${3:-5}
cd "$(dirname "$0")/.."
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s --no-print-directory BUILD="$build" "$build/libntkc.so" "$build/bench/bench_call" >/dev/null
$py -c "import numpy as np; np.save('$tmp/x.npy', np.random.default_rng(1000).standard_normal((1000, 64)))"
net=examples/digits_fc.ntk
for r in $(seq "$rounds"); do
    for t in 1 0; do
        "$build/bench/bench_call" $net "$tmp/x.npy" $t "$reps" >>"$tmp/c$t.txt"
        NTKC_LIB="$(pwd)/$build/libntkc.so" PYTHONPATH=python $py scripts/bench_python.py $net "$tmp/x.npy" $t \
            "$reps" >>"$tmp/py$t.txt"
    done
done
minof() { awk -v what="$1" '$1 == what && (m == "" || $2 < m) { m = $2 } END { printf "%.6f", m }' "$2"; }
for t in 1 0; do
    label=$([ $t = 1 ] && echo 1thread || echo allcores)
    awk -v c="$(minof kernel "$tmp/c$t.txt")" -v r="$(minof reused "$tmp/py$t.txt")" \
        -v f="$(minof fresh "$tmp/py$t.txt")" -v l="$label" 'BEGIN {
        printf "python_%s_c_api %.3f ms\n", l, 1000 * c
        printf "python_%s_out %.3f ms\n", l, 1000 * r
        printf "python_%s_overhead %.1f %%\n", l, 100 * (r - c) / c
        printf "python_%s_new_outputs %.3f ms\n", l, 1000 * f }'
done
awk -v c="$(minof cpu "$tmp/c1.txt")" -v r="$(minof reused_cpu "$tmp/py1.txt")" 'BEGIN {
    printf "python_1thread_c_api_cpu %.3f ms\n", 1000 * c
    printf "python_1thread_out_cpu %.3f ms\n", 1000 * r
    printf "python_1thread_overhead_cpu %.1f %%\n", 100 * (r - c) / c }'
awk -v w="$(minof wrapper "$tmp/py1.txt")" -v c1="$(minof kernel "$tmp/c1.txt")" \
    -v c0="$(minof kernel "$tmp/c0.txt")" 'BEGIN {
    printf "python_wrapper_cost %.1f us\n", 1e6 * w
    printf "python_wrapper_share_1thread %.1f %%\n", 100 * w / c1
    printf "python_wrapper_share_allcores %.1f %%\n", 100 * w / c0 }'

