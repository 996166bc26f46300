/* image_resize in the all-pairs back end (emit_attn.c): jax.image.resize is a
 * fixed linear map R = Rh ⊗ Rw of the positions (ir_resize.h), so the P×P
 * kernels become R Σ Rᵀ and R Θ Rᵀ — read as 4-D arrays (row, column of x1;
 * row, column of x2), Rh along both row axes and Rw along both column axes,
 * one axis at a time. */
#ifndef NTKC_EMIT_ATTN_RESIZE_H
#define NTKC_EMIT_ATTN_RESIZE_H

#include "code.h"
#include "ir.h"
#include "strbuf.h"

/* The largest intermediate of resizing an h×w grid to op's (entries of one
 * side: the slots must hold its square). */
size_t emit_attn_resize_span(const IrOp *op, size_t h, size_t w);

/* Writes the weights (named from *nparams, which it advances) and, the first
 * time (*helper == 0), the axis map into defs; the calls on slots S, T (pl[0]
 * as scratch) into c. */
void emit_attn_resize(Code *c, StrBuf *defs, size_t *nparams, int *helper, const IrOp *op, size_t h, size_t w,
                      int S, int T);

#endif
