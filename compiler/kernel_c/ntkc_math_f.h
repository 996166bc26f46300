/* Kernel-time C: the float32 arithmetic of `--precision single` (emitted
 * after ntkc_math.h, only in single-precision files), embedded by
 * tools/embed_text.
 *
 * The same branch-free ReLU pair update as ntkc_relu_qr, in float: twice the
 * SIMD lanes. What changes with the type is every constant that encodes the
 * precision: the asin polynomial has degree 4 in z (scripts/fit_asin.py 4:
 * 3.8e-7 relative on P, 1.5e-8 on asin, under float's half ulp of 6e-8), the
 * snap of |rho| to 1 is 2^-20 (16 ulps of float below 1, for the records
 * rounded from the float64 prep and the float chain of the tile), and the
 * clamp of 1/√v products is FLT_MAX. sqrtf and fabsf are correctly rounded
 * everywhere, and the files are compiled with -ffp-contract=off: every back
 * end gets the same bits. */
#ifndef NTKC_KERNEL_MATH_F_H
#define NTKC_KERNEL_MATH_F_H
#include "ntkc_math.h"
/* @text kernel_math_f */
float sqrtf(float);
float fabsf(float);
#define NTKC_PI_F 3.14159265f
#define NTKC_INV2PI_F 0.159154943f
/* asin(y) for 0 <= y <= 1/2 as y + y·z·P(z), z = y², P of degree 4
 * interpolating (asin(y)/y − 1)/z at Chebyshev nodes of z in [0, 1/4]. */
NTKC_INLINE float ntkc_asin_small_f(float y)
{
    float z = y * y;
    float p = 0.166666672f + z * (0.0749885507f + z * (0.0450013801f + z * (0.0265545422f + z * 0.0380850236f)));
    return y + y * z * p;
}

/* ntkc_relu_qr (ntkc_math.h) in float: s, t of one pair from √v and 1/√v of
 * its two inputs. |rho| within 2^-20 of 1 is snapped to 1 (an input with
 * itself lands within a few ulps of it), which also clips it into [0, 1]. */
NTKC_INLINE void ntkc_relu_qr_f(float *s, float *t, float q1, float r1, float q2, float r2)
{
    float norm = q1 * q2;
    float rr = r1 * r2;
    float rho = *s * (rr < 3.40282347e+38f ? rr : 3.40282347e+38f);
    float u = fabsf(rho), d = 1.0f - u;
    int snap = d < 9.53674316e-07f;
    d = snap ? d * 0.0f : d;
    u = snap ? 1.0f - d : u;
    float ys = sqrtf(0.5f * d);
    float y = u > 0.5f ? ys : u;
    float as = ntkc_asin_small_f(y);
    float a = u > 0.5f ? 2.0f * as : 0.5f * NTKC_PI_F - as; /* acos(u) */
    float w = rho < 0.0f ? -a : NTKC_PI_F - a;
    *s = norm * (sqrtf(d * (1.0f + u)) + w * u) * NTKC_INV2PI_F;
    *t *= fabsf(w) * NTKC_INV2PI_F;
}

/* The covariance s12 of a pair handed to a float64 dual (activations without
 * a float32 primitive): |s12| within 2^-20 of √(v1·v2) — an input with
 * itself, whose float chain lands a few float ulps off its float64 records —
 * becomes ±√(v1·v2), so the dual sees |rho| within its own snap of 1 rather
 * than 1 − 1e-7, where acos' slope would turn float rounding into 1e-4 of Ṫ. */
static inline double ntkc_snap_f(float s12, float v1, float v2)
{
    double lim = sqrt((double)v1 * (double)v2), a = fabs((double)s12);
    return a - lim <= 9.5367431640625e-07 * lim && lim - a <= 9.5367431640625e-07 * lim ? (s12 < 0 ? -lim : lim)
                                                                                         : (double)s12;
}
/* @end */
#endif
