/* dropout(rate) in an image net's entry (emit_image.c): neural-tangents'
 * Dropout in train mode scales the entries of an input with itself at the
 * same position (ir.h, IrDropout). */
#ifndef NTKC_EMIT_DROPOUT_H
#define NTKC_EMIT_DROPOUT_H

#include "code.h"
#include "ir.h"

/* S, T: the plane (or the vector's lanes s, t); geom: its "H, W, a, b, ch,
 * cw"; a, b: its offsets as C expressions, NULL for a vector (offset 0). */
void emit_dropout(Code *c, const IrOp *op, const char *S, const char *T, const char *geom, const char *a,
                  const char *b);

#endif
