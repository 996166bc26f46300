/* Kernel-time C: the arithmetic every emitted file carries after the libm
 * prototypes (kernel_c/libm.h), embedded by tools/embed_text.
 *
 * arcsin and arccos in plain arithmetic and sqrt (both correctly rounded on
 * every IEEE machine), with no branch the vectoriser cannot turn into a
 * select: vectorised or not, libtcc or gcc, they give the same bits (< 1 ulp
 * from the true value). That matters because the arc-cosine kernels take
 * acos near rho = 1, where acos' is infinite: a 1-ulp difference between a
 * library's vector and scalar acos shows up as 1e-8 in the NTK diagonal.
 * The rational fit and the hi/lo split are fdlibm's (Sun, 1993). */
#ifndef NTKC_KERNEL_MATH_H
#define NTKC_KERNEL_MATH_H
#include "libm.h"
/* @text kernel_math */
#ifndef NTKC_PI
#define NTKC_PI 3.14159265358979323846
#endif
#if defined(__GNUC__) && !defined(__TINYC__)
#define NTKC_INLINE static inline __attribute__((always_inline))
#else
#define NTKC_INLINE static inline
#endif
#define NTKC_PIO2_HI 1.57079632679489655800e+00
#define NTKC_PIO2_LO 6.12323399573676603587e-17
#define NTKC_PIO4_HI 7.85398163397448278999e-01
/* asin(x) = x + x·R(x²) for |x| <= 0.5. */
static inline double ntkc_asin_r(double z)
{
    double p = z * (1.66666666666666657415e-01 +
               z * (-3.25565818622400915405e-01 +
               z * (2.01212532134862925881e-01 +
               z * (-4.00555345006794114027e-02 +
               z * (7.91534994289814532176e-04 +
               z * 3.47933107596021167570e-05)))));
    double q = 1.0 + z * (-2.40339491173441421878e+00 +
                     z * (2.02094576023350569471e+00 +
                     z * (-6.88283971605453293030e-01 +
                     z * 7.70381505559019352791e-02)));
    return p / q;
}
/* The high 26 bits of s (Veltkamp's split): hi·hi is exact. */
static inline double ntkc_hi26(double s)
{
    double c = s * 134217729.0;
    return c - (c - s);
}
/* |x| >= 0.5 uses asin(x) = π/2 − 2·asin(√((1−|x|)/2)), √ split as hi + lo. */
static inline double ntkc_acos(double x)
{
    double ax = fabs(x);
    int small = ax < 0.5;
    double z = small ? x * x : 0.5 - 0.5 * ax;
    double r = ntkc_asin_r(z), s = sqrt(z);
    double a_small = NTKC_PIO2_HI - (x - (NTKC_PIO2_LO - x * r));
    double a_neg = 2.0 * (NTKC_PIO2_HI - (s + (r * s - NTKC_PIO2_LO)));
    double hi = ntkc_hi26(s), lo = (z - hi * hi) / (s + hi);
    double a_pos = 2.0 * (hi + (r * s + lo));
    double a = small ? a_small : (x < 0 ? a_neg : a_pos);
    return ax == 1.0 ? (x > 0 ? 0.0 : 2.0 * NTKC_PIO2_HI) : a;
}
static inline double ntkc_asin(double x)
{
    double ax = fabs(x);
    int small = ax < 0.5;
    double z = small ? ax * ax : 0.5 - 0.5 * ax;
    double r = ntkc_asin_r(z), s = sqrt(z);
    double hi = ntkc_hi26(s), lo = (z - hi * hi) / (s + hi);
    double big = NTKC_PIO4_HI - ((2.0 * s * r - (NTKC_PIO2_LO - 2.0 * lo)) - (NTKC_PIO4_HI - 2.0 * hi));
    double a = small ? ax + ax * r : (ax == 1.0 ? NTKC_PIO2_HI : big);
    return x < 0 ? -a : a;
}
/* ReLU's arc-cosine kernel without libm's acos: the same values to a few
 * ulps, in straight-line code that compilers vectorise. asin(y) for
 * 0 <= y <= 1/2 is y + y·z·P(z), z = y²; acos(u) for u > 1/2 is
 * 2·asin(√((1-u)/2)). */
NTKC_INLINE double ntkc_asin_small(double y)
{
    double z = y * y;
    /* Interpolant of (asin(y)/y - 1)/z at Chebyshev nodes of z in [0, 1/4]
     * (scripts/fit_asin.py), exact to 6e-17 relative; Estrin's scheme keeps
     * the dependency chain short. fma is correctly rounded everywhere (one
     * instruction where the CPU has it, else libm), so every back end gets
     * the same bits; it makes the ReLU 12% faster than mul + add. */
    double z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
    double q0 = fma(z4, fma(z2, fma(0.011549086612987425, z, 0.013965009932053607),
                            fma(0.017352757477819787, z, 0.02237215927967998)),
                    fma(z2, fma(0.030381944441363808, z, 0.0446428571428834),
                        fma(0.07499999999999991, z, 0.16666666666666666)));
    double q1 = fma(z4, fma(z2, 0.0307187689951911, fma(-0.024020544918554612, z, 0.022553563638202986)),
                    fma(z2, fma(0.0003808530332907241, z, 0.008795006076488431),
                        fma(0.008135829925501655, z, 0.009792751320201996)));
    return fma(y * z, fma(z8, q1, q0), y);
}

/* One pair: s, t updated from √v and 1/√v of its two pixels (the records of
 * a ReLU layer hold both: a pair takes no division and no √ of its variances).
 * Branch-free (selects only) so loops of it vectorise. q1·q2 and r1·r2 are
 * within 2 ulps of √(v1·v2) and its inverse, so a pixel paired with itself
 * gets |rho| within 4 ulps of 1 (perhaps above it): those are snapped to
 * |rho| = 1 exactly, where acos has an infinite slope (an ulp off 1 would
 * move acos by 1e-8), which also clips |rho| into [0, 1]. The snap selects
 * d·0 rather than the constant 0: a constant lets gcc thread every case of
 * the selects after it into its own copy of the arithmetic (a third square
 * root, 30% slower). With u = |rho| and a = acos(u), pi - theta is a for
 * rho < 0 and pi - a otherwise, so w = (pi - theta)·sign(rho) gives both
 * terms. Zero variance: r = 0, so rho = 0 and s = 0, as the limit gives. */
NTKC_INLINE void ntkc_relu_qr(double *s, double *t, double q1, double r1, double q2, double r2)
{
    double norm = q1 * q2;
    double rr = r1 * r2; /* symmetric in the two inputs; finite even for subnormal variances */
    double rho = *s * (rr < 1.7976931348623157e308 ? rr : 1.7976931348623157e308);
    double u = fabs(rho), d = 1.0 - u; /* 1 - u is exact for u >= 1/2 */
    int snap = d < 8.8817841970012523e-16;
    d = snap ? d * 0.0 : d;
    u = snap ? 1.0 - d : u;
    double ys = sqrt(0.5 * d);
    double y = u > 0.5 ? ys : u;
    double as = ntkc_asin_small(y);
    double a = u > 0.5 ? 2.0 * as : 0.5 * NTKC_PI - as; /* acos(u) */
    double w = rho < 0.0 ? -a : NTKC_PI - a;
    /* √(1 − ρ²) as √((1 − u)(1 + u)) */
    *s = norm * (sqrt(d * (1.0 + u)) + w * u) * (0.5 / NTKC_PI);
    *t *= fabs(w) * (0.5 / NTKC_PI);
}
/* @end */
#endif
