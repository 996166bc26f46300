/* A naive reference for image kernels, independent of the emitter: it walks
 * the IR over full pixel-pair arrays K[i][k][j][l] (x1 row, x2 row, x1
 * column, x2 column) for (x1, x2), (x1, x1) and (x2, x2) at once, exactly as
 * the formulas in ir.h read, with padding done by index checks. Activations:
 * relu, erf (default parameters) and identity; attention by the four-index
 * sums of ir.h (IrAttention). Small images only: memory
 * grows like (H·W)². */
#ifndef NTKC_CONV_REFERENCE_H
#define NTKC_CONV_REFERENCE_H

#include "ir.h"

/* NNGP and NTK of one pair of inputs (rows of dim values). */
void conv_reference(const IrNet *net, size_t dim, const double *x1, const double *x2, double *nngp, double *ntk);

#endif
