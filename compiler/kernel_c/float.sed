# The float32 variant of a kernel-time C file (`--precision single`), made by
# make from the float64 source: one source per scalar type (Makefile,
# KERNEL_GEN). The source is written in double; every rule here names one
# thing that changes with the scalar type, and the output is compiled on its
# own as a check like its source. Runs on block_prims.c and block_prims.h.

# ReLU's block goes sixteen columns at a time: two AVX2 vectors of eight
# floats, as the float64 loop's eight columns are two vectors of four.
/@text kernel_prim_relu_qr/,/@end/s/\<8\>/16/g
# The scalar type.
s/\<double\>/float/g
# Floating literals take float's suffix (0.0 -> 0.0f), so no expression is
# promoted to double.
s/\<\([0-9][0-9]*\.[0-9][0-9]*\)\>/\1f/g
# Names: every primitive, and ReLU's pair update (ntkc_math_f.h), carry _f;
# so do the spans embedded (compiler/emit/kernel_text.h) and the headers.
s/\<\(ntkc_block_[a-z_]*\|ntkc_relu_qr\)(/\1_f(/g
s/@text kernel_prim_/@text kernel_prim_f_/
s/"\(ntkc_math\|block_prims\)\.h"/"\1_f.h"/
s/NTKC_KERNEL_BLOCK_PRIMS_H/NTKC_KERNEL_BLOCK_PRIMS_F_H/
