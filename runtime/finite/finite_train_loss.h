/* Finite-width training beyond MSE, for checking predict_ode.h: full-batch
 * gradient descent, optionally with heavy-ball momentum, on the summed loss
 *   mse:  ½ Σ (f − y)²        xent: −Σ_i Σ_c y_ic·log softmax(f_i)_c
 * (NTK parameterization, finite_net.h). Step: v ← μ·v − lr·∇θL, θ ← θ + v
 * (v = 0 at the start; without momentum θ ← θ − lr·∇θL).
 * predict_ode divides the loss by N = n·k, so it sees learning rate η = lr·N:
 * compare at t = steps with learning_rate N·lr. */
#ifndef NTKC_FINITE_TRAIN_LOSS_H
#define NTKC_FINITE_TRAIN_LOSS_H

#include "finite_net.h"

typedef struct FiniteTrainSpec {
    int xent;             /* 0: MSE, 1: softmax cross-entropy */
    int momentum_on;
    double momentum;      /* μ in [0, 1) */
    double lr;            /* > 0 */
    size_t steps, width;
    unsigned long long seed;
} FiniteTrainSpec;

/* Initialises from the seed, records f0_train (n×k) and f0_test (m×k) — the
 * initial outputs, either may be NULL — trains, then writes f_test (m×k) and
 * f_train (n×k, may be NULL). A non-finite output is an error. */
int finite_net_train_loss(const IrNet *net, size_t n, const double *x_train, const double *y_train, size_t k,
                          size_t m, const double *x_test, size_t dim, const FiniteTrainSpec *s, double *f0_train,
                          double *f0_test, double *f_train, double *f_test, ntkc_error *err);

#endif
