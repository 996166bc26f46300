#!/bin/sh
# make figures: the README's figure from the UCI digits (200 training and 100
# test images of data/, pixels in [0, 1], one-hot targets) and the fully
# connected net of `make demo` (examples/digits_fc.ntk, one hidden ReLU
# layer): the NTK's spectrum with the targets' energy per eigendirection,
# and the empirical NTK's movement during gradient descent against width,
# NTK parameterization vs muP. Writes build/figures/ (every command's own
# figure, data and gnuplot script) and docs/dynamics_digits.png.
set -eu
ntkc=${1:-build/ntkc}
cd "$(dirname "$0")/.."
out=build/figures
mkdir -p "$out" docs
command -v gnuplot >/dev/null || { echo "figures: gnuplot is needed (apt-get install gnuplot-nox)" >&2; exit 1; }
for s in train_x train_y; do python3 scripts/npy_head.py "data/digits_$s.npy" "$out/$s.npy" 200; done
for s in test_x test_y; do python3 scripts/npy_head.py "data/digits_$s.npy" "$out/$s.npy" 100; done

"$ntkc" spectrum examples/digits_fc.ntk "$out/train_x.npy" --targets "$out/train_y.npy" \
    --eigenvalues "$out/eigenvalues.npy" --plot "$out/spectrum" | tee "$out/spectrum.txt"
# lr 10: below the largest stable learning rate the spectrum prints (~24); t = 1000
"$ntkc" train examples/digits_fc.ntk --train "$out/train_x.npy" --targets "$out/train_y.npy" \
    --test "$out/test_x.npy" --test-targets "$out/test_y.npy" --width 64,128,256,512,1024 \
    --seeds 3 --lr 10 --steps 100 --checkpoints 4 --param both --seed 1 --plot "$out/train" | tee "$out/train.txt"

gnuplot <<GP
set terminal pngcairo enhanced background rgb 'white' font 'Helvetica,10' size 1100,420
set output 'docs/dynamics_digits.png'
set multiplot layout 1,2
set grid
set logscale xy
set format y '10^{%T}'
set key bottom left
set xlabel 'eigenvalue index i (largest first)'
set ylabel 'eigenvalue {/Symbol l}_i  /  energy fraction'
set title 'NTK spectrum on 200 digits, and the targets along it'
plot '$out/spectrum.dat' index 0 using 1:2 with lines lw 2 title 'eigenvalue {/Symbol l}_i', \
     '$out/spectrum.dat' index 0 using 1:(\$3 > 0 ? \$3 : NaN) with points pt 7 ps 0.4 title '(v_i^T Y)^2/|Y|^2'
set xlabel 'hidden width n'
set ylabel '|{/Symbol Q}_t - {/Symbol Q}_0|_F / |{/Symbol Q}_0|_F'
set title 'empirical NTK movement after gradient descent to t = 1000'
set key bottom left
first = system("awk 'NR==2 {print \$2}' $out/train.dat")
plot '$out/train.dat' index 0 using 1:2 with linespoints pt 7 lw 2 title 'NTK parameterization', \
     '$out/train.dat' index 1 using 1:2 with linespoints pt 5 lw 2 title '{/Symbol m}P (mean field)', \
     [64:1024] first*(x/64)**(-0.5) with lines dt 2 lc 'gray' title 'slope -1/2', \
     [64:1024] first*(x/64)**(-1) with lines dt 3 lc 'gray' title 'slope -1'
unset multiplot
GP
echo "figures: docs/dynamics_digits.png; each command's own figure in $out/"
