/* Gradient flow on MSE from given initial outputs; formulas in predict_fx0.h. */
#include "predict_fx0.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int check_fx0(const double *a, size_t rows, size_t k, const char *what, ntkc_error *err)
{
    for (size_t i = 0; a && i < rows * k; i++)
        if (!isfinite(a[i])) {
            diag_user(err, "%s[%zu][%zu] is %g: initial outputs must be finite", what, i / k, i % k, a[i]);
            return err->code;
        }
    return NTKC_OK;
}

/* The shift predict_gd_mse adds to the diagonal (predict.h). */
static double diagonal_shift(const PredictInput *in)
{
    if (in->reg_absolute)
        return in->reg;
    double trace = 0;
    for (size_t i = 0; i < in->n; i++)
        trace += in->ntk_tt[i * in->n + i];
    return in->reg * trace / (double)in->n;
}

int predict_gd_mse_from(const PredictInput *in, const double *fx0_train, const double *fx0_test,
                        const double *times, size_t ntimes, double *f_train, double *f_test, ntkc_error *err)
{
    if (in == NULL || in->ntk_tt == NULL || in->y == NULL || (in->m > 0 && in->ntk_st == NULL) ||
        (ntimes > 0 && (times == NULL || f_test == NULL))) {
        diag_internal(err, "predict_gd_mse_from: missing kernels, targets, times or outputs");
        return err->code;
    }
    size_t n = in->n, m = in->m, k = in->k, rows = m + n;
    if (n == 0 || k == 0) {
        diag_user(err, "prediction needs at least one training point and one output (got n=%zu, k=%zu)", n, k);
        return err->code;
    }
    if (check_fx0(fx0_train, n, k, "initial train outputs fx0_train", err) ||
        check_fx0(fx0_test, m, k, "initial test outputs fx0_test", err))
        return err->code;
    if (rows < n || rows > SIZE_MAX / n / sizeof(double) || rows > SIZE_MAX / k / sizeof(double) / (ntimes + 1)) {
        diag_user(err, "prediction: %zu test and %zu training points do not fit in memory", m, n);
        return err->code;
    }
    double *stacked = malloc(rows * n * sizeof *stacked), *resid = malloc(n * k * sizeof *resid);
    double *out = malloc((ntimes ? ntimes : 1) * rows * k * sizeof *out);
    if (stacked == NULL || resid == NULL || out == NULL) {
        diag_user(err, "prediction: out of memory for %zu test and %zu training points", m, n);
        free(stacked), free(resid), free(out);
        return err->code;
    }
    /* Rows [0, m): G_st; rows [m, m+n): G_r. Targets y − fx0_train. */
    if (m > 0)
        memcpy(stacked, in->ntk_st, m * n * sizeof *stacked);
    memcpy(stacked + m * n, in->ntk_tt, n * n * sizeof *stacked);
    double shift = isfinite(in->reg) && in->reg >= 0 ? diagonal_shift(in) : 0;
    for (size_t i = 0; i < n; i++)
        stacked[(m + i) * n + i] += shift;
    for (size_t i = 0; i < n * k; i++)
        resid[i] = in->y[i] - (fx0_train ? fx0_train[i] : 0.0);
    PredictInput flow = *in;
    flow.m = rows, flow.ntk_st = stacked, flow.y = resid;
    flow.nngp_tt = flow.nngp_st = flow.nngp_ss = NULL;
    if (predict_gd_mse(&flow, PREDICT_NTK, times, ntimes, out, NULL, err) == NTKC_OK)
        for (size_t t = 0; t < ntimes; t++) {
            const double *o = out + t * rows * k;
            for (size_t i = 0; i < m * k; i++)
                f_test[t * m * k + i] = (fx0_test ? fx0_test[i] : 0.0) + o[i];
            for (size_t i = 0; f_train && i < n * k; i++)
                f_train[t * n * k + i] = isinf(times[t]) ? in->y[i]
                                                         : (fx0_train ? fx0_train[i] : 0.0) + o[m * k + i];
        }
    free(stacked), free(resid), free(out);
    return err->code;
}
