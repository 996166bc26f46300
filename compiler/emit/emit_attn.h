/* The emitter for nets with attention (`attention(...)`, IR_ATTENTION).
 * Same ABI as emit.h (prep, tile, standalone entry; no _tri; uses_gram() is
 * 0: the tile reads x1/x2 itself).
 *
 * Attention mixes every pixel pair, Σ'(x1, x2) = A₁ Σ A₂ᵀ with each input's
 * attention weights A from its own self-kernel, so the image back end's
 * planes of fixed pixel offsets cannot hold it. Here one entry holds the full
 * P×P pixel-pair matrices S = Σ(x1, x2), T = Θ(x1, x2) through every op (the
 * helpers in compiler/kernel_c/attn_runtime.c), then global pooling or
 * flatten reduces them to the scalars the vector ops continue on. The prep
 * record of an input, computed by the same entry on (x, x), holds its
 * variances before every activation and layer_norm (P doubles, or 1 after
 * pooling), its P×P attention weights A_x before every linear-scaling
 * attention, then K(x, x): NNGP and NTK. Cost per pair: O(P³) per attention
 * layer, O(P²) per other op. */
#ifndef NTKC_EMIT_ATTN_H
#define NTKC_EMIT_ATTN_H

#include "diag.h"
#include "ir.h"
#include "strbuf.h"

/* The ATTENTION row of the family table (compiler/ir/families.h). */
char *emit_attn_c(const IrNet *net, const char *source_name, Diag *err);
/* single != 0: the float32 kernel (`--precision single`, kernel_abi.h): the
 * helpers of attn_runtime_f.c (float.sed), P×P matrices, records and outputs
 * in float; the inputs, the activations' duals and the sums over all
 * position pairs (global pooling, square-root attention) in float64. */
char *emit_attn_c_prec(const IrNet *net, const char *source_name, int single, Diag *err);

/* For the library's host copies (tools/gen_host_prims via emit_prims.c):
 * the helpers with external linkage (after emit_image_host_source, which
 * defines NTKC_FN), then their rows of the libtcc binding table. */
void emit_attn_host_source(StrBuf *sb);
void emit_attn_host_table(StrBuf *sb);

#endif
