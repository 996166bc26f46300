/* Predictions of infinitely wide networks trained by gradient flow on MSE:
 * the mean and covariance over the random initialisation of an infinite
 * ensemble, as neural-tangents' predict.gradient_descent_mse_ensemble defines
 * them (neural_tangents/_src/predict.py; get='ntk' or 'nngp', learning_rate 1,
 * diag_reg_absolute_scale=False, trace_axes=(-1,)). t = ∞ is its t=None case,
 * which calls gp_inference.
 *
 * Notation: Θ = NTK, K = NNGP; subscripts t = train, s = test; y is n×k; the
 * kernels are those of one output unit (outputs are independent, so the
 * covariance is m×m and shared by the k outputs). G is the kernel that drives
 * training: Θ for PREDICT_NTK, K for PREDICT_NNGP.
 *
 *   N    = n·k                          time is divided by y_train.size
 *   G_r  = G_tt + reg·(tr G_tt / n)·I   only G_tt is regularised; K_tt in the
 *          (G_tt + reg·I with reg_absolute)
 *                                       NTK covariance is not
 *   G_r  = V diag(λ) Vᵀ                 one LAPACKE_dsyevd for all finite t
 *   A(τ) = V diag(a(λ_i, τ)) Vᵀ,  a(λ, τ) = (1 − e^{−λτ})/λ for λ > 0,
 *          a = 0 for λ ≤ 0             (eigenvalues clipped at 0; neural-
 *          tangents divides by |λ| so negative ones give 0, and λ = 0 exactly,
 *          where it gives 0/0, also gives 0 here)
 *
 * Mean (the ensemble starts at f = 0):
 *   mean(t) = G_st · A(t/N) · y
 *   mean(∞) = G_st · G_r⁻¹ · y                       (Cholesky, LAPACKE_dpotrf/dpotrs)
 * Covariance, PREDICT_NNGP (gradient flow of the readout only; at t = ∞ the
 * Bayesian GP posterior):
 *   cov(t) = K_ss − K_st · A(2t/N) · K_ts
 *   cov(∞) = K_ss − K_st · K_r⁻¹ · K_ts
 * Covariance, PREDICT_NTK (Lee et al. 2019, arXiv:1902.06720, eq. 15–16; not a
 * GP posterior): with B = Θ_st · A(t/N), or B = Θ_st · Θ_r⁻¹ at t = ∞,
 *   cov(t) = K_ss + B · K_tt · Bᵀ − B · K_ts − K_st · Bᵀ
 * t = 0 gives mean 0 and cov K_ss. Only the lower triangles of the symmetric
 * inputs (G_tt, K_tt, K_ss) are read. */
#ifndef NTKC_PREDICT_H
#define NTKC_PREDICT_H

#include <stddef.h>

#include "diag.h"

typedef enum { PREDICT_NTK, PREDICT_NNGP } PredictKernel;

/* All matrices are row-major doubles. */
typedef struct PredictInput {
    size_t n, m, k;                 /* train points, test points, outputs per point */
    const double *ntk_tt, *nngp_tt; /* n×n train-train (ntk_tt may be NULL for PREDICT_NNGP) */
    const double *ntk_st, *nngp_st; /* m×n test-train (ntk_st may be NULL for PREDICT_NNGP) */
    const double *nngp_ss;          /* m×m test-test prior (needed only for covariance) */
    const double *y;                /* n×k targets */
    double reg;                     /* diagonal regularisation (>= 0) */
    int reg_absolute;               /* 0: reg × (tr G_tt / n) is added, as by default in
                                       neural-tangents; 1: reg itself (its
                                       diag_reg_absolute_scale=True) */
} PredictInput;

/* times: ntimes values >= 0 in units of learning_rate·steps (INFINITY = to
 * convergence); mean: ntimes×m×k; cov: ntimes×m×m, or NULL for the mean only.
 * The NNGP arrays may be NULL for a PREDICT_NTK mean. Errors (user errors):
 * negative or NaN times, negative reg, non-finite targets or kernel entries; a
 * training kernel that is not numerically positive definite when t = ∞ is asked
 * for (Cholesky fails, or its reciprocal condition number is below machine
 * epsilon) — the message suggests --reg. Finite times need n <= 32767 (LAPACK's
 * 32-bit workspace for dsyevd). Returns 0 or the error code. */
int predict_gd_mse(const PredictInput *in, PredictKernel kind, const double *times, size_t ntimes,
                   double *mean, double *cov, ntkc_error *err);

/* Largest class count predict_class_count accepts. */
#define PREDICT_MAX_CLASSES 65536

/* Class count of integer labels >= 0: max + 1. Labels that are negative,
 * fractional, non-finite or >= PREDICT_MAX_CLASSES are user errors. */
int predict_class_count(const double *labels, size_t n, size_t *k_out, ntkc_error *err);
/* y (n×k) = one-hot rows of labels; a label >= k is a user error, so test
 * labels can be encoded with the training set's class count. */
int predict_one_hot(const double *labels, size_t n, size_t k, double *y, ntkc_error *err);

/* Fraction of the m rows of mean (m×k) whose argmax (first on ties) equals the
 * label; 0 when m == 0. */
double predict_accuracy(const double *mean, const double *labels, size_t m, size_t k);
/* Mean over all m·k entries of (mean − y)²; 0 when m·k == 0. */
double predict_mse(const double *mean, const double *y, size_t m, size_t k);

#endif
