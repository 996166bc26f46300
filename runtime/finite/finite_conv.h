/* Finite-width networks for image nets and branching nets (everything
 * finite_net.c does not cover): the Monte Carlo reference for the kernels of
 * emit_image.c and emit_attn.c. NTK parameterization only, NHWC activations per input:
 *   conv:  z[p] = w/√(kh·kw·C_in) · Σ_δ W_δ·h[s·p + d∘δ − pad] + b·β  (d: dilation)
 *   dense: the same with a 1×1 window on images (channels mixed pixel by
 *          pixel), fan-in = features on vectors (P·C after flatten)
 *   pools, global pools, flatten, layer_norm (over channels, with ε), and
 *   fanouts (sum: Σ_b scale_b·f_b; prod: Π_b f_b; concat: channels joined),
 *   attention (finite_attn.h)
 * Hidden affine layers have `width` channels; the readout — the last
 * top-level dense or conv — has `width` output units too: the NNGP estimate
 * averages f_o(x)f_o(x') over all of them (its error then shrinks with the
 * width, not only with the samples), the NTK is J·Jᵀ of unit 0, from the
 * per-input parameter gradients. */
#ifndef NTKC_FINITE_CONV_H
#define NTKC_FINITE_CONV_H

#include <stddef.h>

#include "finite_net.h"
#include "ir.h"
#include "ntkc.h"

/* Same contract as finite_net_kernels (n×n outputs, either may be NULL). */
int finite_conv_kernels(const IrNet *net, size_t n, const double *x, size_t dim, const FiniteNetOptions *opts,
                        double *nngp, double *ntk, ntkc_error *err);

#endif
