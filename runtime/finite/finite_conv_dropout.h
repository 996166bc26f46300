/* dropout(rate) in the finite-width image net (finite_conv.c). */
#ifndef NTKC_FINITE_CONV_DROPOUT_H
#define NTKC_FINITE_CONV_DROPOUT_H

#include "finite_conv_internal.h"

/* out = in ∘ mask/keep over the node's units (forward, backward and tangent
 * alike: the layer is linear with a fixed mask), for input f->row. */
void fdrop_apply(const Fc *f, const Node *nd, const double *in, double *out);

#endif
