#!/bin/bash
# The MPI tests (make test-mpi): ntkc-mpi against ntkc.
#   [MPI_TEST_JOBS=2] [MPI_SWEEP=1] run.sh NTKC NTKC_MPI
# "1..4 ranks" below: in make test, the fully connected net of each command on
# every P and the rest on P = 3 and 4 (SOME_P); MPI_SWEEP=1 (make check-mpi)
# runs every sweep on every P.
# Tests run MPI_TEST_JOBS at a time (one mpirun each; an mpirun spends much
# of its time starting and waiting), each in a scratch directory of its own;
# the failures are listed and counted at the end.
# - kernel: for every family (fully connected, image, graph), P = 1..4 ranks
#   (oversubscribed on this machine), tile edges that do not divide n, the
#   symmetric output and a cross kernel: the .npy files equal ntkc's byte for
#   byte (bit-identical entries, same header).
# - failures seen by one rank (an input it cannot read, a write that fails:
#   the NTKC_MPI_TEST_FAIL hook; a tile whose kernel overflows: real): every
#   rank exits 1, the message is printed, no output appears, an existing file
#   at the output path is untouched and no temp file is left.
# - predict: ntkc-mpi predict's mean, and with --cov its covariance, equal ntkc
#   predict's to rounding for every family on 1..4 ranks (NTK and NNGP, finite
#   times and t = inf, --reg and --reg-abs); a singular kernel, a one-rank input
#   failure and a one-rank write failure exit 1 on every rank with neither the
#   mean nor the covariance written.
# - --precision single: for every family, ntkc-mpi does what ntkc does (no
#   list of its own): a net ntkc runs in float32 gives byte-identical '<f4'
#   kernels on 1..4 ranks and predictions equal to rounding; a net ntkc
#   refuses is refused with the same message; a near-singular training kernel
#   is refused (pdpocon) on every rank, no output.
# - ntkc predict's other options: --fx0-*, --train-mean, --loss xent,
#   --momentum (the ODE on rank 0; the refusal when the kernels cannot be
#   gathered there), prediction from kernel files (--k-train ...), each equal
#   to ntkc predict's on 1..4 ranks; their errors exit 1 on every rank.
# - dropout: ntkc-mpi kernel --dropout-mixed byte for byte ntkc kernel's (rows
#   and graphs, cross and X2 = X1), ntkc-mpi predict --dropout fresh equal to
#   ntkc predict's to rounding on P = 1 and 3 (and far from the fixed-mask
#   prediction, so the check tells them apart); its refusals (cross-entropy,
#   fx0, --train-mean, single precision) by name on every rank, no output.
set -eu
NTKC=$1
NTKC_MPI=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3 # Debian's, with python3-numpy
# CI runs as root; more ranks than cores need --oversubscribe.
# Ranks yield while they wait in MPI: oversubscribed, busy-polling ranks would
# take the cores from the ones working.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1
export OMPI_MCA_mpi_yield_when_idle=1
MPIRUN="mpirun --oversubscribe --bind-to none"
# Every rank count (a test given a list runs ntkc once and ntkc-mpi on each P: one result each):
# 1 (one rank does all), 2 and 3 (1 x P grids; 3 divides neither the tiles nor the blocks), 4 (2 x 2).
ALL_P="1 2 3 4"
# The first sweep of each command (fc: kernel, float32 kernel, predict, predict --cov) runs on ALL_P;
# the other families and options, whose ranks share the same distribution code, on SOME_P: 3 and 4,
# the 1 x 3 and 2 x 2 grids. MPI_SWEEP=1 (make check-mpi) runs them on ALL_P too.
SOME_P="3 4"
[ "${MPI_SWEEP:-0}" = 1 ] && SOME_P=$ALL_P
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# Every test runs in the background in a scratch directory of its own, $W
# (its outputs, temps, messages and exit codes; the inputs in $T are only
# read), MPI_TEST_JOBS (2) at a time: a test's "no temp file was left" looks
# at its own directory only, never at another test's output being written.
# ok and bad record the test's result there; the totals are counted at the end.
JOBS=${MPI_TEST_JOBS:-2}
ncase=0
ok() { echo ok >>"$W/result"; }
bad() { echo "FAIL: $*" >>"$W/result"; }
# A test's own outputs are named @W/... in spawn's arguments: "$W/..." there
# would expand to the previous test's directory (spawn sets W after its
# arguments are expanded), and the next test's temps would be seen there.
spawn() { # TEST ARGS...: runs the test function in $W (environment prefixes pass through)
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    ncase=$((ncase + 1))
    W=$T/case$ncase
    mkdir "$W"
    case "$*" in
    *"$T/case"*) echo "FAIL: $2: an argument names another test's directory (write @W/...)" >>"$W/result"; return ;;
    esac
    ("$@") </dev/null >"$W/log" 2>&1 &
}

$PY - "$T" <<'PYEOF'
import sys
import numpy as np
d = sys.argv[1]
r = np.random.default_rng(19)
np.save(d + "/fc1.npy", r.normal(size=(45, 7)) * 1.7)
np.save(d + "/fc2.npy", r.normal(size=(23, 7)))
np.save(d + "/img1.npy", r.normal(size=(19, 8, 8, 1)))
np.save(d + "/img2.npy", r.normal(size=(11, 8, 8, 1)))
x = r.normal(size=(30, 7))
x[17] *= 1e200  # its squared norm overflows: the kernel is not finite in its row and column
np.save(d + "/huge.npy", x)
PYEOF
$PY "$ROOT/scripts/random_graphs.py" 37 3 12 7 1 >"$T/g1.txt"
$PY "$ROOT/scripts/random_graphs.py" 13 3 12 7 2 >"$T/g2.txt"

FC="$ROOT/examples/fc.ntk"
IMG="$ROOT/tests/mpi/cnn.ntk"
GR="$ROOT/examples/gntk.ntk"

# SIGTERM to mpirun (forwarded to the ranks) while the output is being
# written: no temp is left beside the output.
# A net slow enough (two formula tanh layers: seconds for 2000 points) that
# the signal always lands mid-run; an FC ReLU net on 6000 points sometimes
# finished before the temp was seen.
$PY -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(3).normal(size=(2000, 4)))" "$T/sig.npy"
printf 'act t(x) = tanh(x)\nnet slow { dense(1.5); t; dense(1.5); t; dense(1) }\n' >"$T/slow.ntk"
signal() {
    mkdir "$W/sigout"
    $MPIRUN -np 2 "$NTKC_MPI" kernel "$T/slow.ntk" "$T/sig.npy" --ntk "$W/sigout/k.npy" --quiet 2>/dev/null &
    mp=$!
    i=0
    while [ -z "$(ls -A "$W/sigout")" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
    kill -TERM $mp 2>/dev/null || true
    wait $mp 2>/dev/null || true
    # a grace after mpirun returns, for the ranks' cleanup
    sleep 0.5
    if [ $i -ge 600 ]; then
        bad "signal: no temp appeared within 30 s"
    elif [ -n "$(ls -A "$W/sigout")" ]; then
        bad "signal: left behind: $(ls -A "$W/sigout")"
    else
        ok
    fi
}
spawn signal # first: the longest test, beside all the others

# same NAME "P..." NET X1 [X2] -- MPI_ARGS: ntkc-mpi on P ranks equals ntkc,
# for each P of the list (one result each; ntkc's kernel computed once).
same() {
    name=$1 ps=$2 net=$3 x1=$4 x2=$5
    shift 5
    "$NTKC" kernel "$net" $x1 $x2 --ntk "$W/ref_k.npy" --nngp "$W/ref_s.npy" ${BOTH:-} --quiet 2>"$W/err" ||
        { bad "$name: ntkc failed: $(cat "$W/err")"; return; }
    for p in $ps; do
        rm -f "$W/k.npy" "$W/s.npy"
        if ! $MPIRUN -np "$p" "$NTKC_MPI" kernel "$net" $x1 $x2 --ntk "$W/k.npy" --nngp "$W/s.npy" ${BOTH:-} "$@" \
            >"$W/out" 2>"$W/err"; then
            bad "$name P=$p: ntkc-mpi failed: $(cat "$W/err")"
        elif cmp -s "$W/ref_k.npy" "$W/k.npy" && cmp -s "$W/ref_s.npy" "$W/s.npy"; then ok; else
            bad "$name P=$p: differs from ntkc"
        fi
    done
}

spawn same "fc symmetric, 45 rows, tile 8" "$ALL_P" "$FC" "$T/fc1.npy" "" --tile 8 --threads 2
spawn same "image symmetric, 19 images, tile 8" "$SOME_P" "$IMG" "$T/img1.npy" "" --tile 8 --threads 1
spawn same "graph symmetric, 37 graphs, tile 5" "$SOME_P" "$GR" "$T/g1.txt" "" --tile 5 --threads 2
spawn same "fc cross 45 x 23, tile 10" 3 "$FC" "$T/fc1.npy" "$T/fc2.npy" --tile 10
spawn same "fc symmetric, default tile" 4 "$FC" "$T/fc1.npy" ""
spawn same "image cross 19 x 11, default tile" 3 "$IMG" "$T/img1.npy" "$T/img2.npy"
spawn same "graph cross 37 x 13, tile 6" 3 "$GR" "$T/g1.txt" "$T/g2.txt" --tile 6

# Variable-length sequences (padding given by lengths or masks), as ntkc kernel
# and predict take them.
printf 'net msk { input sequence(6, 2, masked=true); conv(3, 1.5, 0.1); relu; global_avg_pool; dense(1) }\n' \
    >"$T/msk.ntk"
$PY - "$T" <<'PYEOF'
import sys
import numpy as np
d = sys.argv[1]
r = np.random.default_rng(5)
np.save(d + "/s1.npy", r.normal(size=(13, 6, 2)))
np.save(d + "/s2.npy", r.normal(size=(7, 6, 2)))
np.save(d + "/l1.npy", r.integers(2, 7, size=13))
np.save(d + "/m2.npy", np.arange(6)[None, :] >= r.integers(2, 7, size=7)[:, None])
np.save(d + "/ys.npy", r.normal(size=(13, 2)))
np.save(d + "/tr.npy", r.normal(size=(9, 16, 8)))
PYEOF
BOTH="--lengths $T/l1.npy --mask2 $T/m2.npy" spawn same "masked sequences, lengths and a mask, tile 4" "1 3" \
    "$T/msk.ntk" "$T/s1.npy" "$T/s2.npy" --tile 4
# masked volumes: (n, D, H, W) masks on both sides; a mask of the wrong shape fails on every rank
printf 'net vmsk { input volume(2, 2, 3, 2, masked=true); conv(2, 1.4, 0.1); relu; global_avg_pool; dense(1) }\n' \
    >"$T/vmsk.ntk"
$PY - "$T" <<'PYEOF'
import sys
import numpy as np
d = sys.argv[1]
r = np.random.default_rng(21)
np.save(d + "/v1.npy", r.normal(size=(7, 2, 2, 3, 2)))
np.save(d + "/v2.npy", r.normal(size=(5, 2, 2, 3, 2)))
m1, m2 = r.random((7, 2, 2, 3)) < 0.3, r.random((5, 2, 2, 3)) < 0.3
m1[:, 0, 0, 0], m2[:, 0, 0, 0] = False, False
np.save(d + "/vm1.npy", m1)
np.save(d + "/vm2.npy", m2)
np.save(d + "/vbad.npy", m1[:, 0])
PYEOF
BOTH="--mask $T/vm1.npy --mask2 $T/vm2.npy" spawn same "masked volumes, two masks, tile 3" "1 3" \
    "$T/vmsk.ntk" "$T/v1.npy" "$T/v2.npy" --tile 3

# --precision single: whatever ntkc runs in float32, ntkc-mpi runs bit for
# bit; whatever ntkc refuses, ntkc-mpi refuses the same way (every rank).
# COMPUTED=1: the family has float32 kernels (graph nets since issue 19's
# graph work): ntkc must compute them, not refuse.
same32() { # NAME "P..." NET X1 X2 -- MPI_ARGS
    name=$1 ps=$2 net=$3 x1=$4 x2=$5
    shift 5
    if "$NTKC" kernel "$net" $x1 $x2 --ntk "$W/ref_k.npy" --nngp "$W/ref_s.npy" ${BOTH:-} --precision single \
        --quiet 2>"$W/err_ref"; then
        for p in $ps; do
            rm -f "$W/k.npy" "$W/s.npy"
            if ! $MPIRUN -np "$p" "$NTKC_MPI" kernel "$net" $x1 $x2 --ntk "$W/k.npy" --nngp "$W/s.npy" ${BOTH:-} \
                --precision single "$@" >"$W/out" 2>"$W/err"; then
                bad "$name float32 P=$p: ntkc-mpi failed: $(cat "$W/err")"
            elif cmp -s "$W/ref_k.npy" "$W/k.npy" && cmp -s "$W/ref_s.npy" "$W/s.npy"; then ok; else
                bad "$name float32 P=$p: differs from ntkc --precision single"
            fi
        done
        return
    fi
    if [ -n "${COMPUTED:-}" ]; then bad "$name float32: ntkc refuses it: $(cat "$W/err_ref")"; return; fi
    msg=$(sed -n 's/^ntkc: //p' "$W/err_ref" | head -1)
    for p in $ps; do
        rm -f "$W/k.npy" "$W/s.npy" "$W/rc".*
        $MPIRUN -np "$p" sh -c '"$@"; echo $? >"'"$W"'/rc.$OMPI_COMM_WORLD_RANK"' sh "$NTKC_MPI" kernel "$net" $x1 $x2 \
            --ntk "$W/k.npy" --nngp "$W/s.npy" --precision single "$@" >"$W/out" 2>"$W/err" || true
        codes=$(cat "$W/rc".* 2>/dev/null | tr '\n' ' ')
        want=$(for i in $(seq "$p"); do printf '1 '; done)
        if [ "$codes" != "$want" ]; then bad "$name float32 P=$p: ntkc refuses, ntkc-mpi exit codes '$codes'"
        elif ! grep -qF -- "$msg" "$W/err"; then bad "$name float32 P=$p: not ntkc's refusal '$msg': $(cat "$W/err")"
        elif [ -e "$W/k.npy" ] || [ -e "$W/s.npy" ]; then bad "$name float32 P=$p: an output appeared"
        else ok; fi
    done
}
spawn same32 "fc symmetric, 45 rows, tile 8" "$ALL_P" "$FC" "$T/fc1.npy" "" --tile 8 --threads 2
spawn same32 "image symmetric, 19 images, tile 8" "$SOME_P" "$IMG" "$T/img1.npy" "" --tile 8 --threads 1
COMPUTED=1 spawn same32 "graph symmetric, 37 graphs, tile 5" "$SOME_P" "$GR" "$T/g1.txt" "" --tile 5
COMPUTED=1 spawn same32 "graph cross 37 x 13, tile 6" 3 "$GR" "$T/g1.txt" "$T/g2.txt" --tile 6 --threads 2
spawn same32 "fc cross 45 x 23, tile 10" 3 "$FC" "$T/fc1.npy" "$T/fc2.npy" --tile 10
# the all-pairs back end: masked sequences (lengths and a mask), attention
BOTH="--lengths $T/l1.npy --mask2 $T/m2.npy" spawn same32 "masked sequences 13 x 7, tile 4" "$SOME_P" "$T/msk.ntk" \
    "$T/s1.npy" "$T/s2.npy" --tile 4
spawn same32 "transformer symmetric, 9 sequences, tile 2" 3 "$ROOT/examples/transformer.ntk" "$T/tr.npy" "" --tile 2
spawn same32 "fc symmetric, default tile" 4 "$FC" "$T/fc1.npy" ""
spawn same32 "image cross 19 x 11, tile 4" 3 "$IMG" "$T/img1.npy" "$T/img2.npy" --tile 4

# --dropout-mixed: X1 in eval mode against X2 under masks, never the symmetric output (X2 = X1 when absent)
printf 'net drop { dense(1.4, 0.1); dropout(0.6); dense(1.3); relu; dense(1.2); erf; dense }\n' >"$T/drop.ntk"
printf 'net gdrop { input graph(7, normalize=false); aggregate(scale=uniform, self_loops=true); dense(1.4, 0.1)
relu; dropout(0.7); dense(1.3); relu; readout(sum); dense(1) }\n' >"$T/gdrop.ntk"
BOTH=--dropout-mixed spawn same "dropout-mixed fc cross 23 x 45, tile 8" "1 3" "$T/drop.ntk" "$T/fc2.npy" "$T/fc1.npy" \
    --tile 8
BOTH=--dropout-mixed spawn same "dropout-mixed fc, X2 = X1, tile 7" 3 "$T/drop.ntk" "$T/fc1.npy" "" --tile 7
BOTH=--dropout-mixed spawn same "dropout-mixed graphs 13 x 37, tile 5" 3 "$T/gdrop.ntk" "$T/g2.txt" "$T/g1.txt" --tile 5

# fails NAME EXPECTED_MESSAGE NET X1 -- MPI_ARGS (environment in HOOK)
# (EXPECTED_MESSAGE is a grep pattern: a failed write may reach the user as the hooked failure or as the
# refusal of that rank's next write, "an earlier write failed", depending on which tile it had taken.)
fails() {
    name=$1 msg=$2 net=$3 x1=$4
    shift 4
    echo "old" >"$W/k.npy"
    rm -f "$W/s.npy" "$W/rc".*
    # Each rank records its own exit code.
    env ${HOOK:-} $MPIRUN -np 4 sh -c '"$@"; echo $? >"'"$W"'/rc.$OMPI_COMM_WORLD_RANK"' sh \
        "$NTKC_MPI" kernel "$net" "$x1" --ntk "$W/k.npy" --nngp "$W/s.npy" "$@" >"$W/out" 2>"$W/err" || true
    codes=$(cat "$W/rc".* 2>/dev/null | tr '\n' ' ')
    [ "$codes" = "1 1 1 1 " ] || { bad "$name: exit codes '$codes', not 1 on every rank"; return; }
    grep -q "$msg" "$W/err" || { bad "$name: message lacks '$msg': $(cat "$W/err")"; return; }
    [ "$(cat "$W/k.npy")" = old ] || { bad "$name: the existing output was changed"; return; }
    [ ! -e "$W/s.npy" ] || { bad "$name: an output appeared"; return; }
    [ -z "$(find "$W" -name '*.tmp')" ] || { bad "$name: a temp file was left"; return; }
    ok
}

HOOK="NTKC_MPI_TEST_FAIL=input:2" spawn fails "rank 2 cannot read its input" "fc1.npy: cannot read" "$FC" "$T/fc1.npy" --tile 8
HOOK="NTKC_MPI_TEST_FAIL=write:1" spawn fails "a write fails on rank 1" "cannot write output: \(an earlier \)\{0,1\}write failed" "$FC" \
    "$T/fc1.npy" --tile 8
HOOK="" spawn fails "the kernel overflows in one row's tiles" "the kernel is not finite at entry" "$FC" "$T/huge.npy" --tile 4
HOOK="" spawn fails "--dropout-mixed in float32" "dropout-mixed is computed in double precision only" "$T/drop.ntk" \
    "$T/fc1.npy" --dropout-mixed --precision single
HOOK="" spawn fails "a volume mask of the wrong shape" "vbad.npy: a mask for .*v1.npy must be (7, D, H, W)" "$T/vmsk.ntk" \
    "$T/v1.npy" --mask "$T/vbad.npy"

# predict: ntkc-mpi predict equals ntkc predict to rounding (max |difference| <=
# 1e-9 × max(1, max |mean|): different but backward-stable factorisations of a
# kernel regularised to condition ~1e4), on P = 1..4 ranks, blocks that do not
# divide n, finite times and t = inf together.
$PY - "$T" <<'PYEOF'
import sys
import numpy as np
d = sys.argv[1]
r = np.random.default_rng(7)
np.save(d + "/ylab.npy", r.integers(0, 3, size=45))
np.save(d + "/yf.npy", r.normal(size=(19, 2)))
# three points, each repeated four times: the unregularised kernel has rank 3
np.save(d + "/dup.npy", np.repeat(r.normal(size=(3, 7)), 4, axis=0))
np.save(d + "/ydup.npy", r.normal(size=(12, 1)))
PYEOF
close() { # A B [A B ...]: each pair equal to rounding (the covariance runs include t = 0, where it is
    # K_ss: its scale); prints the number of the first pair that differs (one Python start for all)
    $PY -c "import numpy as np, sys
for i in range(1, len(sys.argv), 2):
    a, b = np.load(sys.argv[i]), np.load(sys.argv[i + 1])
    if not (a.shape == b.shape and np.abs(a - b).max() <= 1e-9 * max(1, np.abs(a).max())):
        print((i + 1) // 2)
        sys.exit(1)" "$@"
}
predicts() { # NAME "P..." NET -- ARGS... (COV=1: --cov as well; TRAIN=1: --train-mean; NET "": kernel files)
    name=$1 ps=$2 net=$3
    shift 3
    cov_ref="" cov="" tr_ref="" tr=""
    [ "${COV:-0}" = 1 ] && cov_ref="--cov $W/ref_c.npy" cov="--cov $W/c.npy"
    [ "${TRAIN:-0}" = 1 ] && tr_ref="--train-mean $W/ref_t.npy" tr="--train-mean $W/t.npy"
    "$NTKC" predict $net "$@" --mean "$W/ref_m.npy" $cov_ref $tr_ref --quiet 2>"$W/err" ||
        { bad "$name: ntkc predict failed: $(cat "$W/err")"; return; }
    pairs="$W/ref_m.npy $W/m.npy" what="mean"
    [ -n "$cov" ] && pairs="$pairs $W/ref_c.npy $W/c.npy" what="$what covariance"
    [ -n "$tr" ] && pairs="$pairs $W/ref_t.npy $W/t.npy" what="$what training-point_mean"
    for p in $ps; do
        rm -f "$W/m.npy" "$W/c.npy" "$W/t.npy"
        if ! $MPIRUN -np "$p" "$NTKC_MPI" predict $net "$@" --mean "$W/m.npy" $cov $tr --tile 8 --quiet >"$W/out" \
            2>"$W/err"; then
            bad "$name P=$p: ntkc-mpi predict failed: $(cat "$W/err")"
        elif differs=$(close $pairs); then
            ok
        else
            bad "$name P=$p: $(echo $what | cut -d' ' -f"${differs:-1}" | tr _ ' ') differs from ntkc predict"
        fi
    done
}
spawn predicts "predict fc, labels, 45 train" "$ALL_P" "$FC" --train "$T/fc1.npy" --targets "$T/ylab.npy" \
    --test "$T/fc2.npy" --time 1,30,inf --reg 1e-4
spawn predicts "predict image, float targets, 19 train" "$SOME_P" "$IMG" --train "$T/img1.npy" --targets "$T/yf.npy" \
    --test "$T/img2.npy" --time 5,inf --reg 1e-4 --threads 1
spawn predicts "predict graph, the file's labels, 37 train" "$SOME_P" "$GR" --train "$T/g1.txt" --test "$T/g2.txt" \
    --time 2,inf --reg 1e-4
# the covariance: NTK and NNGP, 45 training and 23 test points in blocks of 8 (neither divides)
COV=1 spawn predicts "predict --cov fc, NTK" "$ALL_P" "$FC" --train "$T/fc1.npy" --targets "$T/ylab.npy" \
    --test "$T/fc2.npy" --time 0,1,30,inf --reg 1e-4
COV=1 spawn predicts "predict --cov fc, NNGP, --reg-abs" "$SOME_P" "$FC" --train "$T/fc1.npy" --targets "$T/ylab.npy" \
    --test "$T/fc2.npy" --kernel nngp --time 0,0.5,inf,0.5 --reg-abs 1e-3
COV=1 spawn predicts "predict --cov image, NTK" "$SOME_P" "$IMG" --train "$T/img1.npy" --targets "$T/yf.npy" \
    --test "$T/img2.npy" --time 0,5,inf --reg 1e-4 --threads 1
COV=1 spawn predicts "predict --cov graph, NNGP" "$SOME_P" "$GR" --train "$T/g1.txt" --test "$T/g2.txt" --kernel nngp \
    --time 0,2,inf --reg 1e-4
spawn predicts "predict fc, nngp kernel" 3 "$FC" --train "$T/fc1.npy" --targets "$T/ylab.npy" --test "$T/fc2.npy" \
    --kernel nngp --time 0.5,inf --reg 1e-3
spawn predicts "predict fc, --reg-abs" 4 "$FC" --train "$T/fc1.npy" --targets "$T/ylab.npy" --test "$T/fc2.npy" \
    --time 3,inf --reg-abs 1e-2
COV=1 spawn predicts "predict --cov graph, NTK, t = inf only" 3 "$GR" --train "$T/g1.txt" --test "$T/g2.txt" --reg 1e-4

# ntkc predict's other options, on 1..4 ranks: one network from fx0 (and the
# flow on the training points), cross-entropy and momentum (the ODE on rank 0),
# float32 kernels, and the prediction from kernel files.
$PY - "$T" <<'PYEOF'
import sys
import numpy as np
d = sys.argv[1]
r = np.random.default_rng(21)
np.save(d + "/f0.npy", r.normal(size=(45, 3)))
np.save(d + "/g0.npy", r.normal(size=(23, 3)))
PYEOF
"$NTKC" kernel "$FC" "$T/fc1.npy" --nngp "$T/ktt.npy" --quiet
"$NTKC" kernel "$FC" "$T/fc2.npy" "$T/fc1.npy" --nngp "$T/kst.npy" --quiet
"$NTKC" kernel "$FC" "$T/fc2.npy" --nngp "$T/kss.npy" --quiet
"$NTKC" kernel "$FC" "$T/fc1.npy" --ntk "$T/ktt32.npy" --precision single --quiet
"$NTKC" kernel "$FC" "$T/fc2.npy" "$T/fc1.npy" --ntk "$T/kst32.npy" --precision single --quiet
KF="--k-train $T/ktt.npy --k-test $T/kst.npy --targets $T/ylab.npy"
TRAIN=1 spawn predicts "predict fc from fx0" "$SOME_P" "$FC" --train "$T/fc1.npy" --targets "$T/ylab.npy" \
    --test "$T/fc2.npy" --time 0,1,30,inf --reg 1e-4 --fx0-train "$T/f0.npy" --fx0-test "$T/g0.npy"
TRAIN=1 spawn predicts "predict fc, --loss xent" "$SOME_P" "$FC" --train "$T/fc1.npy" --targets "$T/ylab.npy" \
    --test "$T/fc2.npy" --time 0.5,1,30 --loss xent
COV=1 spawn predicts "predict fc --precision single" "$SOME_P" "$FC" --train "$T/fc1.npy" --targets "$T/ylab.npy" \
    --test "$T/fc2.npy" --time 0,1,30,inf --reg 1e-3 --precision single
COV=1 TRAIN=1 spawn predicts "predict from kernel files" "$SOME_P" "" $KF --k-test-test "$T/kss.npy" \
    --time 0,1,30,inf --reg 1e-4
TRAIN=1 spawn predicts "predict from float32 kernel files, xent with momentum" "$SOME_P" "" --k-train "$T/ktt32.npy" \
    --k-test "$T/kst32.npy" --targets "$T/ylab.npy" --time 1,30 --loss xent --momentum 0.5 --fx0-test "$T/g0.npy"
spawn predicts "predict from kernel files, fx0" 3 "" $KF --time 1,inf --reg-abs 1e-3 --fx0-train "$T/f0.npy"
# kernel files ntkc-mpi cannot read block by block (Fortran order, big-endian): rank 0 reads and sends them
$PY - "$T" <<'PYEOF'
import sys
import numpy as np
d = sys.argv[1]
k = np.load(d + "/ktt.npy")
np.save(d + "/kttF.npy", np.asfortranarray(k))
np.save(d + "/kstB.npy", np.load(d + "/kst.npy").astype(">f8"))
bad = k.copy(); bad[3, 5] = np.nan; np.save(d + "/kttnan.npy", bad)
bad = k.copy(); bad[7, 2] += 1e-3; np.save(d + "/kttasym.npy", bad)
PYEOF
COV=1 spawn predicts "predict from Fortran-order and big-endian kernel files" 3 "" --k-train "$T/kttF.npy" \
    --k-test "$T/kstB.npy" --targets "$T/ylab.npy" --k-test-test "$T/kss.npy" --time 0,1,inf --reg 1e-4
TRAIN=1 spawn predicts "predict fc, ensemble with --train-mean, NNGP" 2 "$FC" --train "$T/fc1.npy" \
    --targets "$T/ylab.npy" --test "$T/fc2.npy" --kernel nngp --time 2,inf --reg-abs 1e-3
spawn predicts "predict image, --momentum" 4 "$IMG" --train "$T/img1.npy" --targets "$T/yf.npy" \
    --test "$T/img2.npy" --time 1,4 --momentum 0.9 --learning-rate 0.5 --threads 1
spawn predicts "predict masked sequences" 3 "$T/msk.ntk" --train "$T/s1.npy" --lengths-train "$T/l1.npy" \
    --test "$T/s2.npy" --mask-test "$T/m2.npy" --targets "$T/ys.npy" --reg 1e-3 --time 1,inf
spawn predicts "predict masked sequences --precision single" 3 "$T/msk.ntk" --train "$T/s1.npy" \
    --lengths-train "$T/l1.npy" --test "$T/s2.npy" --mask-test "$T/m2.npy" --targets "$T/ys.npy" --reg 1e-3 \
    --time 1,inf --precision single
TRAIN=1 spawn predicts "predict graph, --train-mean" 3 "$GR" --train "$T/g1.txt" --test "$T/g2.txt" --time 2,inf --reg 1e-4
# --dropout fresh: nets trained with fresh masks (the training block between two mask draws, the mixed test x
# train kernel, the covariance without dropout), rows and graphs
COV=1 spawn predicts "predict --dropout fresh fc, NTK" "1 3" "$T/drop.ntk" --train "$T/fc1.npy" \
    --targets "$T/ylab.npy" --test "$T/fc2.npy" --time 0,1,30,inf --reg 1e-4 --dropout fresh
COV=1 spawn predicts "predict --dropout fresh graphs, NNGP" 3 "$T/gdrop.ntk" --train "$T/g1.txt" --test "$T/g2.txt" \
    --kernel nngp --time 2,inf --reg 1e-4 --dropout fresh
spawn predicts "predict --dropout fresh fc, --momentum" 3 "$T/drop.ntk" --train "$T/fc1.npy" --targets "$T/ylab.npy" \
    --test "$T/fc2.npy" --time 1,4 --momentum 0.5 --dropout fresh
fresh_not_fixed() { # the fresh prediction is far from the fixed-mask one: the checks above (1e-9) tell them apart
    for mode in fixed fresh; do
        "$NTKC" predict "$T/drop.ntk" --train "$T/fc1.npy" --targets "$T/ylab.npy" --test "$T/fc2.npy" --reg 1e-4 \
            --dropout $mode --mean "$W/$mode.npy" --quiet 2>"$W/err" || { bad "fresh vs fixed: ntkc failed: $(cat "$W/err")"; return; }
    done
    if $PY -c "import numpy as np, sys
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
sys.exit(0 if np.abs(a - b).max() > 1e-3 * np.abs(a).max() else 1)" "$W/fresh.npy" "$W/fixed.npy"; then ok; else
        bad "predict --dropout fresh equals the fixed-mask prediction"
    fi
}
spawn fresh_not_fixed

# --precision single on the other families: as ntkc does (computed, or refused the same way)
predict32() { # NET
    net=$1
    if [ "$net" = "$IMG" ]; then data="--train $T/img1.npy --targets $T/yf.npy --test $T/img2.npy --threads 1"
    else data="--train $T/g1.txt --test $T/g2.txt"; fi
    if "$NTKC" predict "$net" $data --time 1,inf --reg 1e-3 --precision single --mean "$W/m.npy" --quiet \
        2>"$W/err_ref"; then
        predicts "predict $(basename "$net") --precision single" 3 "$net" $data --time 1,inf --reg 1e-3 \
            --precision single
    else
        [ "$net" = "$GR" ] && bad "predict gntk --precision single: ntkc refuses it: $(cat "$W/err_ref")"
        rm -f "$W/m.npy"
        $MPIRUN -np 3 "$NTKC_MPI" predict "$net" $data --time 1,inf --reg 1e-3 --precision single \
            --mean "$W/m.npy" --quiet >"$W/out" 2>"$W/err" && bad "predict $(basename "$net") float32: exits 0"
        msg=$(sed -n 's/^ntkc: //p' "$W/err_ref" | head -1)
        if grep -qF -- "$msg" "$W/err" && [ ! -e "$W/m.npy" ]; then ok; else
            bad "predict $(basename "$net") float32: not ntkc's refusal '$msg': $(cat "$W/err")"
        fi
    fi
}
spawn predict32 "$IMG"
spawn predict32 "$GR"

# A failure that every rank sees the same way (a singular kernel at t = inf) and
# one that only rank 3 sees: every rank exits 1, no mean appears.
pfails() { # NAME MESSAGE ARGS... (@W stands for $W; with --cov: neither output may appear; PNET=": kernel files)
    name=$1 msg=$2
    shift 2
    set -- "${@//@W/$W}"
    rm -f "$W/m.npy" "$W/c.npy" "$W/rc".*
    env ${HOOK:-} $MPIRUN -np 4 sh -c '"$@"; echo $? >"'"$W"'/rc.$OMPI_COMM_WORLD_RANK"' sh \
        "$NTKC_MPI" predict ${PNET-"$FC"} "$@" --mean "$W/m.npy" --tile 4 >"$W/out" 2>"$W/err" || true
    codes=$(cat "$W/rc".* 2>/dev/null | tr '\n' ' ')
    [ "$codes" = "1 1 1 1 " ] || { bad "$name: exit codes '$codes', not 1 on every rank"; return; }
    grep -q "$msg" "$W/err" || { bad "$name: message lacks '$msg': $(cat "$W/err")"; return; }
    [ ! -e "$W/m.npy" ] || { bad "$name: a mean appeared"; return; }
    [ ! -e "$W/c.npy" ] || { bad "$name: a covariance appeared"; return; }
    [ -z "$(find "$W" -name '*.tmp')" ] || { bad "$name: a temp file was left"; return; }
    ok
}
singular_in_ntkc() {
    if "$NTKC" predict "$FC" --train "$T/dup.npy" --targets "$T/ydup.npy" --test "$T/fc2.npy" --mean "$W/m.npy" \
        --quiet 2>/dev/null; then
        bad "ntkc predict accepts the singular training kernel: the next test would show nothing"
    else
        ok
    fi
}
spawn singular_in_ntkc
HOOK="" spawn pfails "predict: singular training kernel at t = inf" "is singular" --train "$T/dup.npy" \
    --targets "$T/ydup.npy" --test "$T/fc2.npy"
HOOK="NTKC_MPI_TEST_FAIL=input:3" spawn pfails "predict: rank 3 cannot read its input" "cannot read" \
    --train "$T/fc1.npy" --targets "$T/ylab.npy" --test "$T/fc2.npy" --reg 1e-4
HOOK="" spawn pfails "predict --cov: singular training kernel at t = inf" "is singular" --train "$T/dup.npy" \
    --targets "$T/ydup.npy" --test "$T/fc2.npy" --cov @W/c.npy --time 1,inf
HOOK="NTKC_MPI_TEST_FAIL=input:1" spawn pfails "predict --cov: rank 1 cannot read its input" "cannot read" \
    --train "$T/fc1.npy" --targets "$T/ylab.npy" --test "$T/fc2.npy" --reg 1e-4 --cov @W/c.npy
HOOK="NTKC_MPI_TEST_FAIL=write:2" spawn pfails "predict --cov: a write fails on rank 2" "cannot write output: \(an earlier \)\{0,1\}write failed" \
    --train "$T/fc1.npy" --targets "$T/ylab.npy" --test "$T/fc2.npy" --reg 1e-4 --time 1,inf --cov @W/c.npy
HOOK="NTKC_MPI_TEST_FAIL=write:0" spawn pfails "predict: the mean's write fails on rank 0" "cannot write output: \(an earlier \)\{0,1\}write failed" \
    --train "$T/fc1.npy" --targets "$T/ylab.npy" --test "$T/fc2.npy" --reg 1e-4
# float32 kernels of a near-singular training set: refused as ntkc refuses them
# (singular without --reg; with --reg 1e-7 the condition number, ~1e8, times
# 2^-24 is far above 1%), on every rank, no output.
HOOK="" spawn pfails "predict --precision single: singular" "precision single: the train-train NTK is singular" \
    --train "$T/dup.npy" --targets "$T/ydup.npy" --test "$T/fc2.npy" --precision single --time 1,inf
HOOK="" spawn pfails "predict --precision single: near-singular" "precision single: the train-train NTK plus reg has condition number" \
    --train "$T/dup.npy" --targets "$T/ydup.npy" --test "$T/fc2.npy" --precision single --time 1 --reg 1e-7 \
    --train-mean @W/c.npy
# The ODE gathers the kernels on rank 0: refused by name when they do not fit
# there (the hook plays rank 0 short of memory).
HOOK="NTKC_MPI_TEST_FAIL=gather:0" spawn pfails "predict --loss xent: kernels do not fit rank 0" \
    "integrates the training ODE on one rank" --train "$T/fc1.npy" --targets "$T/ylab.npy" --test "$T/fc2.npy" \
    --loss xent --time 1 --train-mean @W/c.npy
HOOK="NTKC_MPI_TEST_FAIL=write:3" spawn pfails "predict fx0: a write fails on rank 3" "cannot write output" \
    --train "$T/fc1.npy" --targets "$T/ylab.npy" --test "$T/fc2.npy" --reg 1e-4 --fx0-train "$T/f0.npy" \
    --train-mean @W/c.npy
# --dropout fresh refuses what ntkc predict refuses, by name (PNET: the net with dropout)
DROP="--train $T/fc1.npy --targets $T/ylab.npy --test $T/fc2.npy --dropout fresh"
PNET="$T/drop.ntk" HOOK="" spawn pfails "predict --dropout fresh: cross-entropy" \
    "dropout_fresh (--dropout fresh) does not go with cross-entropy" $DROP --loss xent --time 1
PNET="$T/drop.ntk" HOOK="" spawn pfails "predict --dropout fresh: fx0" \
    "dropout_fresh (--dropout fresh) does not go with initial outputs fx0" $DROP --fx0-test "$T/g0.npy" --reg 1e-4
PNET="$T/drop.ntk" HOOK="" spawn pfails "predict --dropout fresh: --train-mean" \
    "dropout_fresh (--dropout fresh) does not go with train_mean" $DROP --reg 1e-4 --train-mean @W/c.npy
PNET="$T/drop.ntk" HOOK="" spawn pfails "predict --dropout fresh: single precision" \
    "dropout_fresh (--dropout fresh) needs a net compiled for double precision" $DROP --reg 1e-3 --precision single \
    --cov @W/c.npy
PNET="$T/drop.ntk" HOOK="" spawn pfails "predict --dropout: another value" "must be fixed or fresh, not" \
    --train "$T/fc1.npy" --targets "$T/ylab.npy" --test "$T/fc2.npy" --dropout train
# kernel files: a bad file (rank 0 reads it), an fx0 of the wrong shape (every rank reads it)
PNET="" HOOK="" spawn pfails "predict --k-train: not square" "must be square" --k-train "$T/kst.npy" --k-test "$T/kst.npy" \
    --targets "$T/ylab.npy"
PNET="" HOOK="" spawn pfails "predict --k-train: fx0 of another shape" "fx0-train.*must have shape" $KF \
    --fx0-train "$T/g0.npy"
PNET="" HOOK="NTKC_MPI_TEST_FAIL=input:2" spawn pfails "predict --k-train: rank 2 cannot read" "cannot read" $KF
PNET="" HOOK="" spawn pfails "predict --k-train: a NaN (read block by block)" "kttnan.npy: element \[3, 5\] is NaN" \
    --k-train "$T/kttnan.npy" --k-test "$T/kst.npy" --targets "$T/ylab.npy"
PNET="" HOOK="" spawn pfails "predict --k-train: not symmetric (read block by block)" \
    "kttasym.npy is not symmetric: element \[7, 2\]" --k-train "$T/kttasym.npy" --k-test "$T/kst.npy" \
    --targets "$T/ylab.npy"
PNET="" HOOK="NTKC_MPI_TEST_FAIL=kfile:0" spawn pfails "predict --k-train: a Fortran-order file too large for rank 0" \
    "so rank 0 reads it whole" --k-train "$T/kttF.npy" --k-test "$T/kst.npy" --targets "$T/ylab.npy"
"$NTKC" kernel "$FC" "$T/dup.npy" --nngp "$T/kdup.npy" --quiet
"$NTKC" kernel "$FC" "$T/fc2.npy" "$T/dup.npy" --nngp "$T/kdupst.npy" --quiet
PNET="" HOOK="" spawn pfails "predict --k-train --cov: singular" "is singular" --k-train "$T/kdup.npy" \
    --k-test "$T/kdupst.npy" --targets "$T/ydup.npy" --cov @W/c.npy --k-test-test "$T/kss.npy" --time 1,inf
# An existing mean is left as it was when the covariance cannot be written.
keeps_mean() {
    echo old >"$W/m.npy"
    NTKC_MPI_TEST_FAIL=write:3 $MPIRUN -np 4 "$NTKC_MPI" predict "$FC" --train "$T/fc1.npy" --targets "$T/ylab.npy" \
        --test "$T/fc2.npy" --reg 1e-4 --mean "$W/m.npy" --cov "$W/c.npy" --tile 4 >/dev/null 2>&1 &&
        bad "predict --cov: a failed write exits 0"
    if [ "$(cat "$W/m.npy")" = old ] && [ ! -e "$W/c.npy" ]; then ok; else bad "predict --cov: a failed write changed the outputs"; fi
}
spawn keeps_mean

# Usage errors come from the same arguments on every rank: printed once (rank
# 0), so 3 ranks print what 1 rank prints.
usage() { # ARGS (word-split; @W stands for $W)
    args=${1//@W/$W}
    $MPIRUN -np 1 "$NTKC_MPI" $args >/dev/null 2>"$W/err1" || true
    if $MPIRUN -np 3 "$NTKC_MPI" $args >/dev/null 2>"$W/err"; then
        bad "usage: '$args' exits 0"
    elif ! grep -q '^ntkc ' "$W/err1" || [ "$(grep -c '^ntkc ' "$W/err")" -ne "$(grep -c '^ntkc ' "$W/err1")" ]; then
        bad "usage: '$args' printed more on 3 ranks than on 1: $(cat "$W/err")"
    else
        ok
    fi
}
for args in "kernel --bogus" "kernel $FC" "kernel $FC $T/fc1.npy --ntk @W/k.npy --tile x" "predict --bogus" \
    "predict $FC --train $T/fc1.npy --targets $T/ylab.npy --test $T/fc2.npy --mean @W/m.npy --tile 0" \
    "predict $FC --train $T/fc1.npy --targets $T/ylab.npy --test $T/fc2.npy --mean @W/m.npy --time 1,x" \
    "predict --k-train $T/ktt.npy --targets $T/ylab.npy --mean @W/m.npy" \
    "predict --k-train $T/ktt.npy --k-test $T/kst.npy --targets $T/ylab.npy --mean @W/m.npy --cov @W/c.npy" \
    "predict $FC --train $T/fc1.npy --targets $T/ylab.npy --test $T/fc2.npy --mean @W/m.npy --loss xent --cov @W/c.npy" \
    "kernel $FC $T/fc1.npy --ntk @W/k.npy --precision half"; do
    spawn usage "$args"
done

wait
pass=0
fail=0
for i in $(seq "$ncase"); do
    W=$T/case$i
    if [ ! -s "$W/result" ]; then
        fail=$((fail + 1))
        echo "FAIL: test $i ended without a result: $(cat "$W/log")" >&2
        continue
    fi
    pass=$((pass + $(grep -c '^ok$' "$W/result" || true)))
    fail=$((fail + $(grep -c '^FAIL' "$W/result" || true)))
    grep '^FAIL' "$W/result" >&2 || true
done
echo "MPI tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
