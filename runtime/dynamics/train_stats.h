/* Statistics of trained ensembles for ntkc_train_finite: losses, the
 * distance of an ensemble's mean and covariance to the infinite-width
 * prediction, log-log slopes against width. */
#ifndef NTKC_TRAIN_STATS_H
#define NTKC_TRAIN_STATS_H

#include <stddef.h>

#include "diag.h"

/* ntkc_predict's mean (ntimes×m×k) and covariance (ntimes×m×m) on the test
 * inputs at the recorded times. */
typedef struct TrainReference {
    size_t ntimes, m, k;
    double *mean, *cov;
} TrainReference;

/* The test outputs of `seeds` nets at one time: seed s's m×k block at
 * f + s·stride. */
typedef struct TrainEnsemble {
    size_t seeds, m, k, stride;
    const double *f;
} TrainEnsemble;

/* Mean over seeds of ‖f_s − y‖²/(2·m·k). */
double train_ensemble_loss(const TrainEnsemble *e, const double *y);

/* At time c: mean_dist = ‖f̄ − μ‖_F/‖μ‖_F (NAN when μ = 0); mean_z =
 * √(mean over entries of (f̄ − μ)²·seeds/C_ii) over entries with C_ii > 0;
 * cov_dist = ‖Ĉ − C‖_F/‖C‖_F with Ĉ the sample covariance of the seeds'
 * outputs, pooled over the k outputs (ν = k·(seeds − 1) degrees of freedom);
 * cov_floor = √((‖C‖_F² + (tr C)²)/(ν·‖C‖_F²)), the expected cov_dist of ν
 * Gaussian samples of covariance C (Wishart: Var Ĉ_ij = (C_ij² + C_ii·C_jj)/ν). */
void train_compare(const TrainEnsemble *e, const TrainReference *ref, size_t c, double *mean_dist, double *mean_z,
                   double *cov_dist, double *cov_floor, ntkc_error *err);

/* Least-squares slope of log(values[i·stride]) against log(widths[i]) over
 * the i < count with finite positive values; NAN with fewer than 2 widths. */
double train_loglog_slope(const size_t *widths, const double *values, size_t count, size_t stride);

/* The expected loss (‖μ − y‖² + k·tr C)/(2·m·k) of the infinite ensemble. */
double train_expected_loss(const double *mean, const double *cov, const double *y, size_t m, size_t k);

#endif
