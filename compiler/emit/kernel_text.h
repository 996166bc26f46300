/* Kernel-time C as strings for the emitters: the spans of compiler/kernel_c/
 * that tools/embed_text turns into build/gen/kernel_text.c (a make rule).
 * Edit the .c/.h files there; each is compiled on its own as a check. */
#ifndef NTKC_KERNEL_TEXT_H
#define NTKC_KERNEL_TEXT_H

#include <stddef.h>

/* The call graph of the kernel text, computed at build time
 * (tools/kernel_calls.c): a file keeps only the static functions its own
 * code reaches (compiler/emit/code_kernel.c). A node is a static function,
 * or a macro that calls one; its closure lists the functions it reaches
 * (itself included). Names start with ntkc_ or NTKC_ (the build checks). */
enum { KERNEL_MAX_NODES = 1024, KERNEL_NODE_SLOTS = 2048 };
typedef struct KernelNode {
    const char *name;
    unsigned first, count; /* kernel_closure[first, first + count) */
} KernelNode;
extern const KernelNode kernel_nodes[];
extern const unsigned kernel_node_count;
extern const unsigned short kernel_closure[];
/* Open addressing by kernel_name_hash: a node index, or -1 (empty). */
extern const short kernel_node_slots[KERNEL_NODE_SLOTS];

/* FNV-1a of s[0, n): the generator and the emitters' lookup share it. */
static inline unsigned kernel_name_hash(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* A span cut into pieces: a static function's definition (node >= 0, with
 * the blank line after it), a prototype of one (the same node), or text
 * every file carrying the span keeps (node -1). roots: the functions the
 * kept text reaches. Every span NAME below has its NAME_parts. */
typedef struct KernelPiece {
    unsigned start, len;
    int node;
} KernelPiece;
typedef struct KernelText {
    const char *text;
    size_t len;
    const KernelPiece *pieces;
    unsigned npieces;
    const unsigned short *roots;
    unsigned nroots;
} KernelText;

/* kernel_c/libm.h: libm prototypes (NTKC_VEC: libmvec's vector versions). */
extern const char kernel_libm[];
extern const KernelText kernel_libm_parts;
/* kernel_c/ntkc_math.h: ntkc_acos, ntkc_asin, ntkc_relu_qr and friends. */
extern const char kernel_math[];
extern const KernelText kernel_math_parts;

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
extern const KernelText kernel_math_f_parts;
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
extern const KernelText kernel_graph_entry_parts;
/* graph_entry_f.c, which make writes from graph_entry.c (float.sed): the
 * float32 driver (ntkc_graph_kernel_f; the set type is the same text). */
extern const char kernel_graph_set_type_f[];
extern const char kernel_graph_entry_f[];
extern const KernelText kernel_graph_entry_f_parts;

/* kernel_c/image_runtime.c: the macros and types, the function definitions
 * (NTKC_FN = their linkage), the prototypes and the names of the NTKC_FN
 * functions. */
extern const char emit_image_runtime_common[];
extern const char emit_image_runtime_functions[];
extern const char emit_image_runtime_decls[];
extern const KernelText emit_image_runtime_common_parts;
extern const KernelText emit_image_runtime_functions_parts;
extern const KernelText emit_image_runtime_decls_parts;
/* The end of every file that carries the common part (pops its pragma). */
extern const char emit_image_runtime_end[];
extern const char *const emit_image_runtime_names[];
extern const unsigned emit_image_runtime_count;
/* image_runtime_f.c, which make writes from image_runtime.c (float.sed): the
 * float32 runtime of `--precision single`, every name with _f. */
extern const char emit_image_runtime_common_f[];
extern const char emit_image_runtime_functions_f[];
extern const char emit_image_runtime_f_decls[];
extern const char emit_image_runtime_end_f[];
extern const KernelText emit_image_runtime_common_f_parts;
extern const KernelText emit_image_runtime_functions_f_parts;
extern const KernelText emit_image_runtime_f_decls_parts;
extern const char *const emit_image_runtime_f_names[];
extern const unsigned emit_image_runtime_f_count;

/* kernel_c/attn_runtime.c: the matrix helpers of nets with attention, as
 * the image runtime's: common part, functions, prototypes, names. */
extern const char emit_attn_runtime_common[];
extern const char emit_attn_runtime_functions[];
extern const char emit_attn_runtime_decls[];
extern const KernelText emit_attn_runtime_common_parts;
extern const KernelText emit_attn_runtime_functions_parts;
extern const KernelText emit_attn_runtime_decls_parts;
extern const char *const emit_attn_runtime_names[];
extern const unsigned emit_attn_runtime_count;
/* attn_runtime_f.c, which make writes from attn_runtime.c (float.sed): the
 * float32 helpers of `--precision single`, every name with _f. */
extern const char emit_attn_runtime_common_f[];
extern const char emit_attn_runtime_functions_f[];
extern const char emit_attn_runtime_f_decls[];
extern const KernelText emit_attn_runtime_common_f_parts;
extern const KernelText emit_attn_runtime_functions_f_parts;
extern const KernelText emit_attn_runtime_f_decls_parts;
extern const char *const emit_attn_runtime_f_names[];
extern const unsigned emit_attn_runtime_f_count;

#endif
