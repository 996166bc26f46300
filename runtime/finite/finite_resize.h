/* image_resize in the finite-width image net (finite_conv.c): every channel's
 * image times the fixed linear map R = Rh ⊗ Rw of jax.image.resize
 * (compiler/ir/ir_resize.h). No parameters. */
#ifndef NTKC_FINITE_RESIZE_H
#define NTKC_FINITE_RESIZE_H

#include "finite_conv_internal.h"

/* The output grid and the weights (kept in nd->cols: Rh, then Rw). */
int frs_lay(Fc *f, Node *nd);
/* out = R·in, channel by channel (also the forward tangent). */
void frs_apply(const Node *nd, const double *in, double *out);
/* gin = Rᵀ·g. */
void frs_adjoint(const Node *nd, const double *g, double *gin);

#endif
