/* The sampling of the random-net check (tests/random_sampling.c,
 * RandomCheckOptions.max_samples): the accumulated mean and standard error
 * against their textbook formulas, the heavy-tail test on samples of known
 * shape, and adaptive sampling that judges a net whose 20 %-off kernels
 * pass on the first samples. */
#include <criterion/criterion.h>
#include <math.h>

#include "random_nets.h"
#include "random_sampling.h"
#include "util.h"

/* Sample s: every entry the value table[s] (a ctx of doubles). */
static int table_sample(void *ctx, size_t s, double *k, ntkc_error *err)
{
    (void)err;
    for (size_t e = 0; e < RANDOM_ENTRIES; e++)
        k[e] = ((const double *)ctx)[s];
    return 0;
}

Test(random_sampling, mean_and_standard_error_follow_the_formulas)
{
    double v[5] = {1, 2, 4, 8, 16}, mean[RANDOM_ENTRIES], se[RANDOM_ENTRIES];
    RandomAcc a = {0};
    cr_assert_eq(random_acc_draw(&a, table_sample, v, 3, NULL), 0);
    cr_assert_eq(random_acc_draw(&a, table_sample, v, 5, NULL), 0); /* a second round continues at sample 3 */
    random_acc_mean_se(&a, mean, se);
    double m = 31.0 / 5, var = 0;
    for (int s = 0; s < 5; s++)
        var += (v[s] - m) * (v[s] - m) / 4;
    cr_expect_float_eq(mean[7], m, 1e-12);
    cr_expect_float_eq(se[7], sqrt(var / 5), 1e-12);
}

Test(random_sampling, a_heavy_tail_is_told_from_a_light_one)
{
    static double v[128];
    for (int s = 0; s < 128; s++) /* a spread as wide as the mean, evenly: light-tailed */
        v[s] = 1.0 + ((s % 16) - 7.5) / 8.0;
    RandomAcc a = {0};
    random_acc_draw(&a, table_sample, v, 63, NULL);
    v[100] = 1e3;
    cr_expect(!random_acc_heavy_tailed(&a), "too few samples to call a tail");
    random_acc_draw(&a, table_sample, v, 96, NULL);
    cr_expect(!random_acc_heavy_tailed(&a), "%zu light samples called heavy-tailed", a.count);
    random_acc_draw(&a, table_sample, v, 128, NULL); /* one sample 1000 times the mean */
    cr_expect(random_acc_heavy_tailed(&a));
}

/* A one-layer net on 4 samples cannot tell its NNGP from one 20 % off
 * (width 64: the spread of one network's kernel is ~25 %); doubling the
 * samples until it can must stop there, short of the cap. */
Test(random_sampling, doubling_the_samples_judges_a_net, .timeout = TIMEOUT(60))
{
    const char *src = "net n { input vector(3); dense(1.2, 0.3); relu; dense(1.1, 0.2) }";
    RandomCheckOptions o[2] = {{.width = 64, .conv_width = 64, .samples = 4, .z = 5.0, .max_samples = 4096},
                               {.width = 64, .conv_width = 64, .samples = 4, .z = 5.0, .perturb = 0.2}};
    RandomCheck fixed[2], adaptive[2];
    RandomCheckOptions o0 = o[0];
    o0.max_samples = 0;
    random_net_checks(src, 5, (RandomCheckOptions[2]){o0, o[1]}, 2, fixed);
    cr_assert(fixed[0].ok && fixed[1].within[0], "4 samples already judge the NNGP: pick a harder net");
    random_net_checks(src, 5, o, 2, adaptive);
    cr_expect(adaptive[0].ok, "%s", adaptive[0].message);
    cr_expect(!adaptive[1].within[0] && !adaptive[1].within[1], "still blind after %zu samples (stopped: %s)",
              adaptive[0].samples, adaptive[0].limit ? adaptive[0].limit : "judged");
    cr_expect(adaptive[0].samples > 4 && adaptive[0].samples < 4096 && adaptive[0].limit == NULL, "%zu samples",
              adaptive[0].samples);
}
