/* What ntkc train compares a net with dropout against (train_dropout.c). */
#ifndef NTKC_TRAIN_DROPOUT_H
#define NTKC_TRAIN_DROPOUT_H

#include <stddef.h>

#include "finite_model.h"
#include "ir.h"
#include "ntkc.h"

/* The kernels of the infinite ensemble of nets trained with fresh masks every
 * step and evaluated in eval mode, on training inputs a (n) and test inputs
 * b (m), row-major, in buf (free it): the training kernel between inputs
 * under independent masks (n×n; an input against itself under two draws),
 * the test (eval mode) – training (masked) kernel (m×n; the mixed kernel of
 * net and its eval-mode twin), and the test inputs' eval-mode NNGP (m×m). */
typedef struct TrainDropoutKernels {
    double *buf;
    double *nngp_tt, *ntk_tt, *nngp_st, *ntk_st, *nngp_ss;
} TrainDropoutKernels;

int train_dropout_kernels(const ntkc_net *net, const ntkc_net *twin, const FiniteData *a, const FiniteData *b,
                          const ntkc_eval_options *eval, TrainDropoutKernels *k, ntkc_error *err);

/* ntkc_predict's mean (T×m×k) and covariance (T×m×m) on b (in eval mode)
 * after training on (a, y) by gradient flow on MSE, from those kernels. */
int train_dropout_predict(const ntkc_net *net, const ntkc_net *twin, const FiniteData *a, const FiniteData *b,
                          const double *y, size_t k, const double *times, size_t T, const ntkc_eval_options *eval,
                          double *mean, double *cov, ntkc_error *err);

/* Heavy-ball momentum on MSE: times in steps of learning rate lr
 * (predict_ode's momentum time). */
typedef struct TrainDropoutMomentum {
    const double *times;
    size_t ntimes;
    double lr, momentum;
} TrainDropoutMomentum;

/* The same ensemble under momentum (train_dropout.c): the function-space ODE
 * with those kernels is linear, so its mean starts from f0 = 0 and its
 * covariance is that of f_test0 + B(t)·f_train0, f0 Gaussian with the NNGPs
 * above (B(t) from one more ODE run). */
int train_dropout_momentum(const ntkc_net *net, const ntkc_net *twin, const FiniteData *a, const FiniteData *b,
                           const double *y, size_t k, const TrainDropoutMomentum *mo, const ntkc_eval_options *eval,
                           double *mean, double *cov, ntkc_error *err);

#endif
