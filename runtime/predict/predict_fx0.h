/* neural-tangents' predict.gradient_descent_mse(k_train_train, y_train, ...)
 * and its predict_fn(t, fx_train_0, fx_test_0, k_test_train): gradient flow on
 * MSE from given initial outputs fx₀ — one network, not the ensemble mean.
 *
 * With G_r = G_tt + shift·I (shift as in predict.h), N = n·k, τ = t/N and
 * A(τ) = V diag((1 − e^{−λτ})/λ) Vᵀ as in predict.h:
 *   f_train(t) = fx0_train + G_r·A(τ)·(y − fx0_train)
 *              = y + e^{−G_r τ}·(fx0_train − y)        (λ > 0)
 *   f_test(t)  = fx0_test  + G_st·A(τ)·(y − fx0_train)
 *   t = ∞:       f_train = y,  f_test = fx0_test + G_st·G_r⁻¹·(y − fx0_train)
 * Eigenvalues λ ≤ 0 are clipped as in predict.h: those modes do not move
 * (neural-tangents would let a negative one grow). The train rows are G_r·A,
 * computed by predict_gd_mse with G_r appended to the test-train rows, so
 * one eigendecomposition serves both. */
#ifndef NTKC_PREDICT_FX0_H
#define NTKC_PREDICT_FX0_H

#include "predict.h"

/* in: the training kernel in ntk_tt, test-train in ntk_st (the NNGP fields
 * are ignored), y, reg, reg_absolute. fx0_train (n×k) and fx0_test (m×k) may
 * be NULL for zeros. f_train (ntimes×n×k) may be NULL; f_test ntimes×m×k.
 * Errors as predict_gd_mse's, plus non-finite fx0 entries. */
int predict_gd_mse_from(const PredictInput *in, const double *fx0_train, const double *fx0_test,
                        const double *times, size_t ntimes, double *f_train, double *f_test, ntkc_error *err);

#endif
