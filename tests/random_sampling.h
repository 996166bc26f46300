/* The Monte Carlo sampling of tests/random_nets.c's check: one finite
 * network per sample, accumulated entry by entry (mean, standard error, and
 * the largest sample, which tells a heavy tail), drawn in rounds until the
 * check can judge the net or a cap is hit. */
#ifndef NTKC_RANDOM_SAMPLING_H
#define NTKC_RANDOM_SAMPLING_H

#include <stddef.h>

#include "ntkc.h"

/* NNGP and NTK entries of 3 inputs. */
enum { RANDOM_ENTRIES = 2 * 3 * 3 };

/* One finite network's kernels (RANDOM_ENTRIES values) for sample s. */
typedef int (*RandomSampleFn)(void *ctx, size_t s, double *k, ntkc_error *err);

typedef struct RandomAcc {
    size_t count;
    double sum[RANDOM_ENTRIES], sq[RANDOM_ENTRIES];
    double abs_sum[RANDOM_ENTRIES], abs_max[RANDOM_ENTRIES];
} RandomAcc;

/* Draws samples count..upto−1 into a. 0, or the sampler's error code. */
int random_acc_draw(RandomAcc *a, RandomSampleFn fn, void *ctx, size_t upto, ntkc_error *err);
/* Mean and standard error of the mean per entry (at least 2 samples). */
void random_acc_mean_se(const RandomAcc *a, double *mean, double *se);
/* 1 when, on at least 64 samples, some entry's largest |sample| exceeds
 * RANDOM_HEAVY times the mean |sample|: a tail that heavy makes the mean a
 * sum of rare events and the standard error no measure of its error. For
 * Gaussian-like samples (relative spread ≤ 1) the largest of n ≤ 10⁴ is
 * below 5 times the mean; a χ²₁ sample passes 16 times its mean with
 * probability 6·10⁻⁵. */
enum { RANDOM_HEAVY = 16, RANDOM_HEAVY_MIN_SAMPLES = 64 };
int random_acc_heavy_tailed(const RandomAcc *a);

/* Process CPU seconds (the sampling budget's clock: load on the machine
 * does not change it). */
double random_cpu_seconds(void);

#endif

/* The finite-width drift test. The check allows a finite network of width w
 * a bias |E_w − K| ≤ b·√(K_ii K_jj) with b ∝ 1/w (L/width); if that held,
 * the means at w/2 and w would differ by at most 3·b·√(K_ii K_jj). `full` at
 * width w, `half` at w/2, exact the 3×3 NNGP then NTK: the largest measured
 * drift |mean_half − mean_full| less z standard errors of the difference,
 * over that bound (> 1: the net's bias is beyond its allowance, so the check
 * can neither vouch for nor refute its kernels at this width). */
double random_drift_ratio(const RandomAcc *full, const RandomAcc *half, const double *exact, double bias, double z);
