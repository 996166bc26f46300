/* Training beyond MSE: the function-space ODE of an infinitely wide network
 * trained by gradient descent (optionally with momentum) on MSE or softmax
 * cross-entropy, as neural-tangents' predict.gradient_descent integrates it
 * (neural_tangents/_src/predict.py), here with GSL's adaptive, error-
 * controlled Runge–Kutta–Prince–Dormand 8(9) (gsl_odeiv2_step_rk8pd).
 *
 * G is the kernel that drives training (Θ, or K for readout-only training),
 * G_tt n×n, G_st m×n; y n×k; N = n·k. The losses, normalised as
 * neural-tangents' examples are (a mean over all n·k entries):
 *   mse:  L(f) = Σ (f − y)² / (2N)                 ∇L = (f − y)/N
 *   xent: L(f) = −Σ_i Σ_c y_ic·log softmax(f_i)_c / N
 *                                                  ∇L_ic = (p_ic·Σ_c' y_ic' − y_ic)/N
 *         with p_i = softmax(f_i) (for one-hot rows, (p − y)/N).
 * Gradient descent, learning rate η, t = steps (neural-tangents' t; τ = η·t):
 *   df_train/dτ = −G_tt·∇L(f_train),   df_test/dτ = −G_st·∇L(f_train)
 * Momentum μ (heavy ball: v ← μ·v − η·∇θL, θ ← θ + v), τ = √η·t:
 *   df/dτ = q,   dq/dτ = −G·∇L(f_train) + (μ − 1)/√η · q,   q(0) = 0
 * for train and test alike (q_test driven by the train gradient).
 * With MSE and no momentum this is predict_fx0.h's closed form. */
#ifndef NTKC_PREDICT_ODE_H
#define NTKC_PREDICT_ODE_H

#include <stddef.h>

#include "diag.h"

typedef enum { PREDICT_LOSS_MSE, PREDICT_LOSS_XENT } PredictLoss;

typedef struct PredictOde {
    size_t n, m, k;
    const double *g_tt, *g_st;          /* g_st may be NULL when m == 0 */
    const double *y;                    /* n×k */
    const double *fx0_train, *fx0_test; /* n×k, m×k initial outputs; NULL = zeros */
    PredictLoss loss;
    int momentum_on;                    /* 0: plain gradient descent */
    double momentum;                    /* μ in [0, 1) when momentum_on */
    double learning_rate;               /* η > 0 (neural-tangents' learning_rate) */
    double rtol;                        /* relative tolerance per step; 0 = 1e-10 */
} PredictOde;

typedef struct PredictOdeStats {
    size_t steps;     /* accepted and rejected steps of the integrator together */
    size_t rhs_evals; /* evaluations of the right-hand side */
} PredictOdeStats;

/* times: ntimes finite values >= 0, in steps (any order); f_train
 * (ntimes×n×k) may be NULL, f_test ntimes×m×k. Errors (user): infinite,
 * negative or NaN times, μ outside [0, 1), η <= 0, non-finite inputs, a
 * gradient that is not finite or the integrator failing to reach a time
 * within 10⁷ steps (too stiff: the message names the time). stats may be
 * NULL. Returns 0 or the error code; outputs are then unspecified. */
int predict_ode(const PredictOde *p, const double *times, size_t ntimes, double *f_train, double *f_test,
                PredictOdeStats *stats, ntkc_error *err);

#endif
