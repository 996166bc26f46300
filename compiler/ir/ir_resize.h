/* The interpolation weights of jax.image.resize along one axis, which
 * image_resize (IR_IMAGE_RESIZE) applies to the positions: the emitted
 * kernel, the finite-width reference and ntkc ir use this one function. */
#ifndef NTKC_IR_RESIZE_H
#define NTKC_IR_RESIZE_H

#include <stddef.h>

#include "ir.h"

/* R (n_out × n_in, row-major): output position j = Σ_i R[j·n_in + i]·input i.
 * As jax.image.resize (half-pixel centres, translation 0): an axis whose size
 * does not change is the identity whatever the method; nearest takes input
 * ⌊(j + ½)·n_in/n_out⌋; linear weighs input i by max(0, 1 − |s_j − i|/k),
 * s_j = (j + ½)·n_in/n_out − ½, k = max(n_in/n_out, 1) with antialias (else 1),
 * then divides each output's weights by their sum. */
void ir_resize_weights(const IrResize *r, size_t n_in, size_t n_out, double *R);

#endif
