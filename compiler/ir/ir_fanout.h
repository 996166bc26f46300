/* Fanouts the image emitter runs on whole pixel-pair arrays instead of
 * plane by plane: those whose branches change the grid on their own
 * (pooling, conv_transpose, conv_local) and concats along a spatial axis.
 *
 * Spatial concat (neural-tangents' FanInConcat(axis) on height or width):
 * the output's pixels p, q come from branches b(p), b(q), so
 *   Σ(p, q) = Σ_b(p, q)            when b(p) = b(q) = b,
 *           = Σ_in(p', q')          when b(p) ≠ b(q) are both the identity
 *                                   (p', q' the pixels they copy),
 *           = 0                     otherwise: a branch ending in fresh
 *                                   weights (then pooling at most) is
 *                                   independent of every other branch;
 * and Θ alike. neural-tangents writes zero blocks whatever the branches
 * (it assumes independence); lowering allows only branches for which the
 * rule above is exact. */
#ifndef NTKC_IR_FANOUT_H
#define NTKC_IR_FANOUT_H

#include "ir.h"

/* 1 when the fanout (or one nested in its branches) needs pixel-pair arrays. */
int ir_fanout_on_pairs(const IrFanout *f);

/* 1 when the branch's output is independent of every other branch's at
 * infinite width: it ends in an affine layer with fresh weights, possibly
 * followed by linear maps of it without weights (local or global pooling,
 * image_resize, flatten, index). */
int ir_branch_fresh(const IrBranch *b);

/* 1 when the ops (or a fanout among them) reduce an image to a vector
 * (global pooling, flatten, index): a fanout on an image whose branches do
 * so ends the image part of the net, and its fan-in joins vectors. */
int ir_ops_reduce(const IrOp *ops, size_t n);
int ir_fanout_reduces(const IrFanout *f);

/* 1 when the branch ends in an affine layer followed by local pooling at
 * most: the finite nets give that layer as many channels as an identity
 * branch beside it passes through (finite_conv.c, lay_fanout), so its units
 * are the input's when summed or multiplied with one (lower_branch.c). */
int ir_branch_adapts(const IrBranch *b);

#endif
