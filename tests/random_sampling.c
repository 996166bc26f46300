/* Accumulation of the Monte Carlo samples (random_sampling.h). */
#include "random_sampling.h"

#include <math.h>
#include <time.h>

int random_acc_draw(RandomAcc *a, RandomSampleFn fn, void *ctx, size_t upto, ntkc_error *err)
{
    double k[RANDOM_ENTRIES];
    for (; a->count < upto; a->count++) {
        int rc = fn(ctx, a->count, k, err);
        if (rc)
            return rc;
        for (size_t e = 0; e < RANDOM_ENTRIES; e++) {
            a->sum[e] += k[e], a->sq[e] += k[e] * k[e], a->abs_sum[e] += fabs(k[e]);
            a->abs_max[e] = fabs(k[e]) > a->abs_max[e] ? fabs(k[e]) : a->abs_max[e];
        }
    }
    return 0;
}

void random_acc_mean_se(const RandomAcc *a, double *mean, double *se)
{
    double S = (double)a->count;
    for (size_t e = 0; e < RANDOM_ENTRIES; e++) {
        mean[e] = a->sum[e] / S;
        double var = (a->sq[e] - S * mean[e] * mean[e]) / (S - 1);
        se[e] = sqrt(var > 0 ? var / S : 0);
    }
}

int random_acc_heavy_tailed(const RandomAcc *a)
{
    if (a->count < RANDOM_HEAVY_MIN_SAMPLES)
        return 0;
    for (size_t e = 0; e < RANDOM_ENTRIES; e++)
        if (a->abs_max[e] > RANDOM_HEAVY * a->abs_sum[e] / (double)a->count)
            return 1;
    return 0;
}

double random_cpu_seconds(void) { return (double)clock() / CLOCKS_PER_SEC; }

double random_drift_ratio(const RandomAcc *full, const RandomAcc *half, const double *exact, double bias, double z)
{
    double mf[RANDOM_ENTRIES], sf[RANDOM_ENTRIES], mh[RANDOM_ENTRIES], sh[RANDOM_ENTRIES], worst = 0;
    random_acc_mean_se(full, mf, sf);
    random_acc_mean_se(half, mh, sh);
    for (size_t e = 0; e < RANDOM_ENTRIES; e++) {
        size_t k = e / 9, i = e % 9 / 3, j = e % 3;
        double scale = sqrt(fabs(exact[k * 9 + i * 4] * exact[k * 9 + j * 4]));
        double excess = fabs(mh[e] - mf[e]) - z * sqrt(sf[e] * sf[e] + sh[e] * sh[e]);
        double r = excess / (3 * bias * scale + 1e-12 * scale);
        worst = r > worst ? r : worst;
    }
    return worst;
}
