/* Whether float32 kernels are good enough for a prediction (`ntkc predict
 * --precision single`; docs/precision.md). neural-tangents' users get NaNs
 * from float32 kernels whose training kernel is near singular (its issue
 * #76): rounding each entry to float32 perturbs the kernel by about u = 2^-24
 * of its size, and the solve multiplies that by the condition number κ. ntkc
 * solves in float64 (no NaN), but the answer is then as wrong as κ·u says:
 * the prediction is refused when κ₁(K_r)·u > 1e-2 (K_r = the training kernel
 * plus the regulariser, κ₁ estimated by LAPACK dpocon after a Cholesky
 * factorisation: O(n³/3), the cost of the t = ∞ solve itself). */
#include "ntkc_tool.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { FLOAT32_WORST_PERCENT = 1 };
static const double float32_u = 5.9604644775390625e-08; /* 2^-24 */

int predict_float32_verdict(int not_pd, double rcond, const char *name, int regularised, const char *estimator,
                            ntkc_error *err)
{
    double kappa_u = not_pd || rcond <= 0 ? INFINITY : float32_u / rcond;
    if (kappa_u <= FLOAT32_WORST_PERCENT / 100.0)
        return NTKC_OK;
    if (not_pd || rcond <= 0)
        err_user(err, "--precision single: the train-train %s%s is singular (not positive definite), so "
                      "float32 kernels cannot be solved against; use --precision double, or regularise "
                      "(e.g. --reg 1e-4, relative to its mean diagonal)",
                 name, regularised ? " plus reg" : "");
    else
        err_user(err, "--precision single: the train-train %s%s has condition number %.3g (%s), "
                      "so float32's rounding of the kernels (u = 6e-8) may change the predictions by up to "
                      "%.3g%% (> %d%%); use --precision double, or regularise more (--reg, relative to the "
                      "mean diagonal)",
                 name, regularised ? " plus reg" : "", 1 / rcond, estimator, 100 * kappa_u, FLOAT32_WORST_PERCENT);
    return err->code;
}

int predict_check_float32(const PredictInput *in, PredictKernel kind, ntkc_error *err)
{
    size_t n = in->n;
    const double *g = kind == PREDICT_NTK ? in->ntk_tt : in->nngp_tt;
    const char *name = kind == PREDICT_NTK ? "NTK" : "NNGP";
    if (n == 0)
        return NTKC_OK;
    double *a = malloc(n * n * sizeof *a);
    if (a == NULL) {
        err_user(err, "prediction: out of memory for a %zu×%zu kernel", n, n);
        return err->code;
    }
    memcpy(a, g, n * n * sizeof *a);
    double trace = 0;
    for (size_t i = 0; i < n; i++)
        trace += a[i * n + i];
    double shift = in->reg_absolute ? in->reg : in->reg * trace / (double)n;
    for (size_t i = 0; i < n; i++)
        a[i * n + i] += shift;
    double anorm = LAPACKE_dlansy(LAPACK_ROW_MAJOR, '1', 'L', (lapack_int)n, a, (lapack_int)n), rcond = 0;
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, a, (lapack_int)n);
    if (info == 0)
        info = LAPACKE_dpocon(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, a, (lapack_int)n, anorm, &rcond);
    free(a);
    if (info < 0) {
        err_internal(err, "Cholesky factorisation of the train-train %s failed (info %d)", name, (int)info);
        return err->code;
    }
    return predict_float32_verdict(info > 0, rcond, name, shift > 0, "LAPACK dpocon", err);
}
