/* image_resize in the all-pairs back end (emit_attn.c): jax.image.resize is a
 * fixed linear map R = Rd ⊗ Rh ⊗ Rw of the positions (ir_resize.h; Rd = 1 on
 * images; jax contracts one weight matrix per resized axis), so the P×P
 * kernels become R Σ Rᵀ and R Θ Rᵀ — read as 6-D arrays (slice, row, column
 * of x1; of x2), each map along both copies of its axis, one axis at a time;
 * axes that keep their size are skipped (the identity, as in jax). */
#ifndef NTKC_EMIT_ATTN_RESIZE_H
#define NTKC_EMIT_ATTN_RESIZE_H

#include "code.h"
#include "ir.h"
#include "strbuf.h"

/* The largest intermediate of resizing a z×h×w grid (z = 1 on images) to
 * op's (entries of one side: the slots must hold its square). */
size_t emit_attn_resize_span(const IrOp *op, size_t z, size_t h, size_t w);

/* Writes the weights (named from *nparams, which it advances) and, the first
 * time (*helper == 0), the axis map into defs; the calls on slots S, T (pl[0]
 * as scratch) into c. */
void emit_attn_resize(Code *c, StrBuf *defs, size_t *nparams, int *helper, const IrOp *op, size_t z, size_t h,
                      size_t w, int S, int T);

#endif
