/* The deterministic random source: known answers of the reference
 * algorithms, and the moments of the normal sampler. */
#include <criterion/criterion.h>
#include <math.h>

#include "rng.h"

/* splitmix64's first output from state 0, as published with the algorithm. */
Test(rng, splitmix64_known_answer)
{
    uint64_t s = 0;
    cr_assert_eq(rng_splitmix64(&s), 0xe220a8397b1dcdafULL);
}

/* xoshiro256** seeded by four splitmix64 outputs of seed 12345: values from a
 * separate Python transcription of Blackman & Vigna's reference C code. */
Test(rng, xoshiro256starstar_known_answer)
{
    const uint64_t want[] = {0xbe6a36374160d49bULL, 0x214aaa0637a688c6ULL, 0xf69d16de9954d388ULL,
                             0x0c60048c4e96e033ULL, 0x8e2076aeed51c648ULL};
    Rng r;
    rng_seed(&r, 12345);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert_eq(rng_next(&r), want[i], "output %zu", i);
}

Test(rng, uniform_in_unit_interval)
{
    Rng r;
    rng_seed(&r, 1);
    for (int i = 0; i < 100000; i++) {
        double u = rng_uniform(&r);
        cr_assert(u >= 0.0 && u < 1.0);
    }
}

/* 10⁶ normals: the standard errors of mean, variance and P(|z| < 1) are
 * 1e-3, 1.4e-3 and 4.7e-4; each is checked at 5 of them. */
Test(rng, normal_moments)
{
    enum { COUNT = 1000000 };
    Rng r;
    rng_seed(&r, 2);
    double sum = 0, sum2 = 0, sum4 = 0;
    long inside = 0;
    for (int i = 0; i < COUNT; i++) {
        double z = rng_normal(&r);
        sum += z;
        sum2 += z * z;
        sum4 += z * z * z * z;
        inside += fabs(z) < 1.0;
    }
    cr_assert_float_eq(sum / COUNT, 0.0, 5e-3);
    cr_assert_float_eq(sum2 / COUNT, 1.0, 7e-3);
    cr_assert_float_eq(sum4 / COUNT, 3.0, 5 * sqrt(96.0 / COUNT)); /* Var z⁴ = 105 − 9 */
    cr_assert_float_eq((double)inside / COUNT, erf(1 / sqrt(2.0)), 2.4e-3);
}

Test(rng, same_seed_same_stream)
{
    Rng a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    double x[64], y[64];
    rng_fill_normal(&a, x, 64, 2.5);
    rng_fill_normal(&b, y, 64, 2.5);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(x[i], y[i]);
    rng_seed(&b, 43);
    rng_fill_normal(&b, y, 64, 2.5);
    int same = 0;
    for (int i = 0; i < 64; i++)
        same += x[i] == y[i];
    cr_assert_eq(same, 0);
}
