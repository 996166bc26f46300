#!/bin/bash
# make bench, float32 vs float64 for image nets (issue 19), ahead of the
# feature: ntkc refuses --precision single for image nets so far, so this
# measures what it will give. It emits NET.ntk's C with `ntkc emit`, makes
# the float32 file with compiler/kernel_c/float.sed (the rules that make the
# float image runtime, build/gen/kernel_c/image_runtime_f.c) plus the few the
# image emitter will need (below), compiles both with the optimising back
# end's flags and runs bench/proto_image_f32.c: prep and tile core-seconds,
# interleaved, best of $NTKC_BENCH_REPS, and the float32 error.
# Default: the 21-layer CNN-GAP of scripts/bench_cnn.sh.
# usage: bench_precision_cnn.sh NTKC [NET.ntk DIM] ; prints "name value unit" lines
set -euo pipefail
ntkc=$(realpath "$1")
cd "$(dirname "$0")/.."
out=${NTKC_BENCH_DIR:-build/bench}/proto_f32
mkdir -p "$out"
net=${2:-$out/cnn21_gap.ntk} dim=${3:-3072}
if [ -z "${2:-}" ]; then
    printf 'net cnn21 {\n    input image(32, 32, 3)\n    repeat 21 { conv(3, 1.414, 0.1); relu }\n    global_avg_pool\n    dense(1.0)\n}\n' >"$net"
fi
"$ntkc" emit "$net" -o "$out/k64.c"
name=$(sed -n 's/^int \(ntkcnet_[A-Za-z0-9_]*\)(size_t n1.*/\1/p' "$out/k64.c" | head -n 1)
# The float file: the float64 arithmetic prelude as it is (the duals of
# activations without a float primitive use it), ntkc_math_f.h's float
# primitives, then everything after the prelude through float.sed, with
# the net's own symbols renamed, the prelude's NTKC_PI not redefined, the
# global average pool's accumulators kept float64 as ntkc_sum's, and (this
# measurement only) the inputs float too.
cut=$(grep -n '^void free(void \*);$' "$out/k64.c" | cut -d: -f1)
{
    head -n "$cut" "$out/k64.c"
    sed -n '/@text kernel_math_f/,/@end/{/@text\|@end/!p;}' compiler/kernel_c/ntkc_math_f.h
    tail -n +"$((cut + 1))" "$out/k64.c" | sed -f compiler/kernel_c/float.sed |
        sed -e "s/\<$name/${name}_f32/g" -e '/^#define NTKC_PI /d' \
            -e 's/float as\[NTKC_LANES\], at\[NTKC_LANES\];/double as[NTKC_LANES], at[NTKC_LANES];/' \
            -e 's/const double \*const \*x, /const float *const *x, /'
} >"$out/k32.c"
flags="-std=c99 -O3 -march=native -fno-math-errno -fno-trapping-math -ffp-contract=off -Wall -Wextra -Werror -Wno-unused-function"
cc $flags -c "$out/k64.c" -o "$out/k64.o"
cc $flags -c "$out/k32.c" -o "$out/k32.o"
cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -DNET64="$name" -DNET32="${name}_f32" bench/proto_image_f32.c \
    "$out/k64.o" "$out/k32.o" -o "$out/proto" -lm
"$out/proto" "$dim" "${NTKC_BENCH_REPS:-3}" | awk -v t="$(basename "$net" .ntk)" '{ print t "_" $0 }'
