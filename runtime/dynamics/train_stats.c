/* Ensemble statistics for ntkc_train_finite (train_stats.h). */
#include "train_stats.h"

#include <math.h>
#include <stdlib.h>

double train_ensemble_loss(const TrainEnsemble *e, const double *y)
{
    double s = 0;
    size_t mk = e->m * e->k;
    for (size_t r = 0; r < e->seeds; r++)
        for (size_t i = 0; i < mk; i++) {
            double d = e->f[r * e->stride + i] - y[i];
            s += d * d;
        }
    return s / (2.0 * (double)mk * (double)e->seeds);
}

double train_expected_loss(const double *mean, const double *cov, const double *y, size_t m, size_t k)
{
    double s = 0, tr = 0;
    for (size_t i = 0; i < m * k; i++)
        s += (mean[i] - y[i]) * (mean[i] - y[i]);
    for (size_t i = 0; i < m; i++)
        tr += cov[i * m + i];
    return (s + (double)k * tr) / (2.0 * (double)m * (double)k);
}

/* f̄ (m×k): the mean over seeds. */
static void ensemble_mean(const TrainEnsemble *e, double *mean)
{
    size_t mk = e->m * e->k;
    for (size_t i = 0; i < mk; i++) {
        double s = 0;
        for (size_t r = 0; r < e->seeds; r++)
            s += e->f[r * e->stride + i];
        mean[i] = s / (double)e->seeds;
    }
}

static double mean_distance(const double *fbar, const double *mu, size_t mk)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < mk; i++)
        d += (fbar[i] - mu[i]) * (fbar[i] - mu[i]), s += mu[i] * mu[i];
    return s > 0 ? sqrt(d / s) : NAN;
}

static double z_score(const double *fbar, const double *mu, const double *cov, size_t m, size_t k, size_t seeds)
{
    double s = 0;
    size_t count = 0;
    for (size_t i = 0; i < m; i++) {
        double v = cov[i * m + i];
        if (!(v > 0))
            continue;
        for (size_t o = 0; o < k; o++, count++) {
            double d = fbar[i * k + o] - mu[i * k + o];
            s += d * d * (double)seeds / v;
        }
    }
    return count ? sqrt(s / (double)count) : NAN;
}

/* ‖Ĉ − C‖_F/‖C‖_F, Ĉ = Σ_s Σ_o (f_so − f̄_o)(f_so − f̄_o)ᵀ / (k·(seeds − 1)). */
static double covariance_distance(const TrainEnsemble *e, const double *fbar, const double *cov)
{
    size_t m = e->m, k = e->k;
    double d = 0, s = 0, dof = (double)k * (double)(e->seeds - 1);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++) {
            double c = 0;
            for (size_t r = 0; r < e->seeds; r++) {
                const double *f = e->f + r * e->stride;
                for (size_t o = 0; o < k; o++)
                    c += (f[i * k + o] - fbar[i * k + o]) * (f[j * k + o] - fbar[j * k + o]);
            }
            c /= dof;
            d += (c - cov[i * m + j]) * (c - cov[i * m + j]);
            s += cov[i * m + j] * cov[i * m + j];
        }
    return s > 0 ? sqrt(d / s) : NAN;
}

static double covariance_floor(const double *cov, size_t m, double dof)
{
    double fro = 0, tr = 0;
    for (size_t i = 0; i < m; i++) {
        tr += cov[i * m + i];
        for (size_t j = 0; j < m; j++)
            fro += cov[i * m + j] * cov[i * m + j];
    }
    return fro > 0 ? sqrt((fro + tr * tr) / (dof * fro)) : NAN;
}

void train_compare(const TrainEnsemble *e, const TrainReference *ref, size_t c, double *mean_dist, double *mean_z,
                   double *cov_dist, double *cov_floor, ntkc_error *err)
{
    size_t mk = e->m * e->k;
    double *fbar = malloc((mk ? mk : 1) * sizeof *fbar);
    if (fbar == NULL) {
        diag_user(err, "train: out of memory for the ensemble mean");
        return;
    }
    ensemble_mean(e, fbar);
    const double *mu = ref->mean + c * mk, *cov = ref->cov + c * e->m * e->m;
    *mean_dist = mean_distance(fbar, mu, mk);
    *mean_z = z_score(fbar, mu, cov, e->m, e->k, e->seeds);
    *cov_dist = covariance_distance(e, fbar, cov);
    *cov_floor = covariance_floor(cov, e->m, (double)e->k * (double)(e->seeds - 1));
    free(fbar);
}

double train_loglog_slope(const size_t *widths, const double *values, size_t count, size_t stride)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        double v = values[i * stride];
        if (!(v > 0) || !isfinite(v))
            continue;
        double x = log((double)widths[i]), y = log(v);
        sx += x, sy += y, sxx += x * x, sxy += x * y, used++;
    }
    double den = (double)used * sxx - sx * sx;
    return used >= 2 && den > 0 ? ((double)used * sxy - sx * sy) / den : NAN;
}
