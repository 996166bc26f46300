/* The forward tangent of the finite-width attention layer (finite_attn.h),
 * which finite-width training (finite_conv_train.c's jvp) needs. */
#ifndef NTKC_FINITE_ATTN_TRAIN_H
#define NTKC_FINITE_ATTN_TRAIN_H

#include "finite_attn.h"

/* tout (P×co) = the derivative of the layer's output along the parameter
 * direction v (the net's whole vector; the layer reads its own range) and
 * the input tangent tin (P×ci; NULL: zero), at the last forward pass on in.
 * Uses the layer's backward scratch; the forward pass's state is kept. */
void finite_attn_tangent(FiniteAttn *a, const double *params, const double *in, const double *tin, const double *v,
                         double *tout);

#endif
