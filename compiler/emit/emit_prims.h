/* Block primitives: the per-layer loops of the tile function over a block of
 * columns (load the Gram block, a dense layer, an activation, store and count
 * non-finite entries). Emitted C calls them by name. Each net's file carries
 * their reference definitions (static, under #ifndef NTKC_HOST_PRIMITIVES), so
 * it stays self-contained C99 for `ntkc emit` and the cc back end; the libtcc
 * back end defines NTKC_HOST_PRIMITIVES and binds the names to copies
 * compiled into the library by gcc -O3 -march=native against plain libm (not
 * libmvec: see prim_emit_libm) (build/gen/host_prims.c, written by tools/gen_host_prims
 * from the same text, so the formulas exist once: in the activation table and
 * in compiler/kernel_c/, whose files make compiles on their own as a check).
 *
 * Signatures (s, t: the block's Σ12 and Θ12; m <= block size):
 *   void   ntkc_block_load(size_t m, const double *g, double dim, double *s, double *t);
 *   void   ntkc_block_dense_ntk(size_t m, double w2, double b2, double *s, double *t);
 *   void   ntkc_block_dense_std(size_t m, double w2, double b2, double fan_in, double bias,
 *                               double *s, double *t);
 *   void   ntkc_block_act_NAME(const double *p, size_t m, double v1, const double *v2,
 *                              double *s, double *t);   (v2 contiguous)
 *   size_t ntkc_block_store(size_t m, const double *s, const double *t, double *nngp, double *ntk);
 *   void   ntkc_block_records(size_t cols, size_t nvar, const double *prep, double *vt);
 *   void   ntkc_block_relu_qr(size_t m, double q1, double r1, const double *q2, const double *r2,
 *                             double *s, double *t);   (q2, r2 contiguous)
 */
#ifndef NTKC_EMIT_PRIMS_H
#define NTKC_EMIT_PRIMS_H

#include "act.h"
#include "ir.h"
#include "strbuf.h"

/* 1 when the activation's block function has a host copy: every entry of
 * the built-in table does (the host file is generated from that table);
 * formula activations get theirs in the net's file only (prim_emit_for_net),
 * so every tile calls ntkc_block_act_NAME whatever the activation. */
int prim_act_has_block(const ActDef *def);

/* 1 for an activation on vectors whose record holds √v and 1/√v (IrOp.rec,
 * decided by compiler/ir/ir_record.c: ReLU in a fully connected net): the
 * tile calls ntkc_block_relu_qr(m, q1, r1, q2, r2, s, t). */
int prim_uses_relu_qr(const IrOp *op);

/* 1 for an activation a float32 graph segment runs by ntkc_block_relu_qr_f
 * (ReLU: ActDef.sqrt_records), from the √v and 1/√v its float32 record holds
 * beside v (emit_graph.c); the float64 segments call the block function. */
int prim_graph_uses_relu_qr_f(const IrOp *op);

/* libm prototypes for generated code, and ntkc_acos/ntkc_asin: the same bits
 * from every back end, vectorised or not. With NTKC_SIMD_LIBM defined, gcc on
 * glibc >= 2.35 learns that libmvec has vector versions of the libm
 * functions; nothing defines it: libmvec's results differ from libm's in the
 * last bits, vector lanes from scalar tails, and so would the back ends. */
void prim_emit_libm(StrBuf *sb);

/* An activation's dual function, as act.h specifies it: a declaration that
 * makes it inline (gcc must inline it into the block loops to vectorise them:
 * the definition alone, with several callers, it would call per element),
 * then def->c_dual. */
void prim_emit_dual(StrBuf *sb, const ActDef *def);

/* An image net's activation over one plane of pixel pairs,
 *   void ntkc_act_plane_NAME(const double *p, double *S, double *T, int H, int W, int a, int b,
 *                            int ch, int cw, const double *v1, int bc, const double *v2);
 * ntkc_act_plane with the dual fixed: a static definition under #ifndef
 * NTKC_HOST_PRIMITIVES, else the declaration of the host's copy (every
 * built-in activation has one). Expects ntkc_dual_NAME and the image runtime
 * before it. */
void prim_emit_act_plane(StrBuf *sb, const ActDef *def);

/* The primitives net uses: static reference definitions under
 * #ifndef NTKC_HOST_PRIMITIVES, declarations of the host's copies otherwise.
 * Expects the activations' ntkc_dual_* functions to be defined before.
 * single: the float32 versions (block_prims.c through kernel_c/float.sed, suffix _f), and no
 * per-activation block loops (the float tile calls those duals per pair). */
void prim_emit_for_net(StrBuf *sb, const IrNet *net, int single);

/* The host translation unit: every primitive for every built-in activation,
 * with external linkage, and the table runtime/jit/host_prims.h declares.
 * malloc'd; the caller frees. */
char *prim_emit_host_source(void);

#endif
