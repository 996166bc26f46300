/* Kernel-time C as strings for the emitters: the spans of compiler/kernel_c/
 * that tools/embed_text turns into build/gen/kernel_text.c (a make rule).
 * Edit the .c/.h files there; each is compiled on its own as a check. */
#ifndef NTKC_KERNEL_TEXT_H
#define NTKC_KERNEL_TEXT_H

/* kernel_c/libm.h: libm prototypes (NTKC_VEC: libmvec's vector versions). */
extern const char kernel_libm[];
/* kernel_c/ntkc_math.h: ntkc_acos, ntkc_asin, ntkc_relu_qr and friends. */
extern const char kernel_math[];

/* kernel_c/block_prims.c: one generic block primitive each, declaration
 * (no storage class, no ';'), a newline, then the body from "{". */
extern const char kernel_prim_load[];
extern const char kernel_prim_dense_ntk[];
extern const char kernel_prim_dense_std[];
extern const char kernel_prim_store[];
extern const char kernel_prim_records[];
extern const char kernel_prim_relu_qr[];
/* kernel_c/ntkc_math_f.h, and block_prims_f.c, which make writes from
 * block_prims.c (kernel_c/float.sed): the float32 versions. */
extern const char kernel_math_f[];
extern const char kernel_prim_f_load[];
extern const char kernel_prim_f_dense_ntk[];
extern const char kernel_prim_f_dense_std[];
extern const char kernel_prim_f_store[];
extern const char kernel_prim_f_records[];
extern const char kernel_prim_f_relu_qr[];

/* kernel_c/graph_entry.c: struct ntkc_graph_set (guarded, for the file and
 * its header), and the driver of a graph net's standalone entry. */
extern const char kernel_graph_set_type[];
extern const char kernel_graph_entry[];

/* kernel_c/image_runtime.c: the macros and types, the function definitions
 * (NTKC_FN = their linkage), the prototypes and the names of the NTKC_FN
 * functions. */
extern const char emit_image_runtime_common[];
extern const char emit_image_runtime_functions[];
extern const char emit_image_runtime_decls[];
/* The end of every file that carries the common part (pops its pragma). */
extern const char emit_image_runtime_end[];
extern const char *const emit_image_runtime_names[];
extern const unsigned emit_image_runtime_count;

/* kernel_c/attn_runtime.c: the matrix helpers of nets with attention, as
 * the image runtime's: common part, functions, prototypes, names. */
extern const char emit_attn_runtime_common[];
extern const char emit_attn_runtime_functions[];
extern const char emit_attn_runtime_decls[];
extern const char *const emit_attn_runtime_names[];
extern const unsigned emit_attn_runtime_count;

#endif
