/* image_resize in an image net's entry (emit_image.c, through
 * emit_conv_variants.c): it ends a segment like a pool, on the pixel-pair
 * arrays. */
#ifndef NTKC_EMIT_RESIZE_H
#define NTKC_EMIT_RESIZE_H

#include <stddef.h>

#include "code.h"
#include "ir.h"

/* Emits op (IR_IMAGE_RESIZE) on the h×w pixel-pair arrays bS, bT into inS,
 * inT; *gh × *gw: the largest grid the arrays hold on the way. */
void emit_image_resize(Code *c, const IrOp *op, size_t h, size_t w, size_t *gh, size_t *gw);

#endif
