/* The kernels of conv_transpose and conv_local in an image net's entry
 * (emit_image.c): each ends a segment like a pool, on the pixel-pair arrays. */
#ifndef NTKC_EMIT_CONV_VARIANTS_H
#define NTKC_EMIT_CONV_VARIANTS_H

#include <stddef.h>

#include "code.h"
#include "diag.h"
#include "ir.h"

/* 1 for the ops emit_conv_variant computes. */
int emit_is_conv_variant(const IrOp *op);

/* Emits op on the h×w pixel-pair arrays bS, bT into inS, inT (the names
 * emit_image.c gives them, scratch t1, t2), under param standard when
 * `standard`; *gh × *gw: the largest grid the arrays must hold on the way. */
void emit_conv_variant(Code *c, const IrOp *op, int standard, size_t h, size_t w, size_t *gh, size_t *gw,
                       Diag *err);

#endif
