#!/bin/sh
# make demo: the kernels of the example nets on the UCI digits shipped in data/.
set -eu
ntkc=${1:-build/ntkc}
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== NNGP and NTK of the example nets on the UCI digits (1000 train x 797 test images, 64 pixels)"
for net in examples/fc.ntk examples/relu5.ntk; do
    "$ntkc" kernel "$net" data/digits_train_x.npy --ntk "$out/k.npy" --nngp "$out/s.npy"
    "$ntkc" kernel "$net" data/digits_test_x.npy data/digits_train_x.npy --ntk "$out/kt.npy"
done
