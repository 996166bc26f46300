/* What ntkc train compares a net with dropout against (train_dropout.c). */
#ifndef NTKC_TRAIN_DROPOUT_H
#define NTKC_TRAIN_DROPOUT_H

#include <stddef.h>

#include "finite_model.h"
#include "ir.h"
#include "ntkc.h"

/* 1 when no op after a train-mode dropout reads the per-input variances
 * (an activation, layer_norm, attention): the infinite-width mean of nets
 * trained with fresh masks every step and evaluated without dropout is then
 * the kernel regression of the kernel in which no two inputs share a mask. */
int train_dropout_has_reference(const IrNet *net);

/* ntkc_predict's mean (T×m×k) and covariance (T×m×m) on b after training on
 * (a, y), from the kernels in which no pair of inputs shares a mask: every
 * kernel a cross kernel between distinct arrays (copies) or graph sets, so
 * ntkc's 1/rate on an input with itself never applies. */
int train_dropout_predict(const ntkc_net *net, const FiniteData *a, const FiniteData *b, const double *y, size_t k,
                          const double *times, size_t T, const ntkc_eval_options *eval, double *mean, double *cov,
                          ntkc_error *err);

#endif
