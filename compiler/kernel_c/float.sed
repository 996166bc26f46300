# The float32 variant of a kernel-time C file (`--precision single`), made by
# make from the float64 source: one source per scalar type (Makefile,
# KERNEL_GEN). The source is written in double; every rule here names one
# thing that changes with the scalar type, and the output is compiled on its
# own as a check like its source. Runs on block_prims.c/.h, image_runtime.c,
# graph_entry.c and attn_runtime.c.

# ReLU's block goes sixteen columns at a time: two AVX2 vectors of eight
# floats, as the float64 loop's eight columns are two vectors of four.
/@text kernel_prim_relu_qr/,/@end/s/\<8\>/16/g

# The scalar type, except what stays float64 in a float32 kernel: the duals of
# activations without a float primitive (their type ntkc_dual_fn, their
# parameter arrays p, their results T, Td), the inputs x (the tile ABI passes
# them as they are, kernel_abi.h), and the accumulator of a global average
# pool (ntkc_sum: 10^6 pixel pairs summed in float would lose 10^-4).
/typedef void (\*ntkc_\(m_\)\?dual_fn)/!s/\<double\>/float/g
s/const float \*\(p\|prm\), /const double *\1, /g
s/float T, Td;/double T, Td;/
s/const float \*const \*x, /const double *const *x, /
s/int n, float \*acc)/int n, double *acc)/
# A graph net's standalone entry (graph_entry.c): its node features x, as the
# tile ABI's inputs, and ntkc_gwide, the type of its sums over features (the
# input Gram) and over node pairs (the readout: thousands of pairs summed in
# float would lose what the global average pool would).
s/const float \*x;/const double *x;/
s/typedef float ntkc_gwide;/typedef double ntkc_gwide;/

# The all-pairs runtime (attn_runtime.c) likewise: its duals' results Tv, Td,
# its inputs x, x1, x2 (and the pointers a, b into them), and the sums over
# all P² position pairs (a global pool, a square-root attention's inner
# products) and the flatten's over P, declared on lines of their own marked
# "float64 sums" (65536 pairs summed in float lost 1e-5: docs/precision.md).
s/float Tv, Td;/double Tv, Td;/
s/const float \*\(x[12]\?\),/const double *\1,/g
s/const float \*a = x1/const double *a = x1/
/float64 sums/s/\<float\>/double/g

# Floating literals take float's suffix (0.0 -> 0.0f), so no expression is
# promoted to double.
s/\<\([0-9][0-9]*\.[0-9][0-9]*\)\>/\1f/g

# Names: every function a kernel-time file defines or calls carries _f
# (ReLU's pair update is ntkc_math_f.h's), and so do its macros, the spans
# embedded (compiler/emit/kernel_text.h) and the headers, so both variants
# can sit in one file (the library's host copies).
s/\<\(ntkc_[a-z0-9_]*\)(/\1_f(/g
s/\<NTKC_\(R1\|ROWS\|V1\|ACT_PLANE\)\>/NTKC_\1_F/g
s/@text kernel_prim_/@text kernel_prim_f_/
/@text kernel_prim_/!s/@text \([a-z_]*\)/@text \1_f/
s/@fns \([a-z_]*\)/@fns \1_f/
s/"\(ntkc_math\|block_prims\)\.h"/"\1_f.h"/
# and the graph entry's types (the opcodes are shared, under a guard)
s/\<\(ntkc_gnet\|ntkc_ginfo\|ntkc_gseg_fn\|ntkc_gsegd_fn\|ntkc_gwide\)\>/\1_f/g
s/NTKC_KERNEL_BLOCK_PRIMS_H/NTKC_KERNEL_BLOCK_PRIMS_F_H/
# the all-pairs runtime's types (both variants sit in the host copies)
s/\<ntkc_m_\(dual\|entry\)_fn\>/ntkc_m_\1_fn_f/g
