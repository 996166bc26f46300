#!/bin/sh
# Regenerates generated/NAME.c from examples/NAME.ntk; tests/test_generated.c
# fails when the two drift apart.
set -eu
ntkc=${1:-build/ntkc}
cd "$(dirname "$0")/.."
for f in examples/*.ntk; do
    base=$(basename "$f" .ntk)
    "$ntkc" emit "$f" -o "generated/$base.c"
    echo "generated/$base.c"
done
