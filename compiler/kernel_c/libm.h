/* Kernel-time C: the libm prototypes at the top of every emitted file
 * (printed by compiler/emit/emit_prims.c, prim_emit_libm). Embedded by tools/embed_text:
 * only the text between the markers reaches emitted C. */
#ifndef NTKC_KERNEL_LIBM_H
#define NTKC_KERNEL_LIBM_H
/* @text kernel_libm */
/* libm prototypes, declared here rather than included: the headers cost
 * the JIT more time than the whole kernel. With NTKC_SIMD_LIBM, gcc on
 * glibc >= 2.35 may call libmvec's vector versions (within a few ulps). */
#if defined(NTKC_SIMD_LIBM) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__TINYC__) && defined(__x86_64__)
#include <features.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define NTKC_VEC __attribute__((__simd__("notinbranch")))
#endif
#endif
#ifndef NTKC_VEC
#define NTKC_VEC
#endif
double sqrt(double);
double fabs(double);
double floor(double);
double fma(double, double, double);
NTKC_VEC double acos(double);
NTKC_VEC double asin(double);
NTKC_VEC double atan(double);
NTKC_VEC double atan2(double, double);
NTKC_VEC double exp(double);
NTKC_VEC double log(double);
NTKC_VEC double erf(double);
NTKC_VEC double erfc(double);
NTKC_VEC double sin(double);
NTKC_VEC double cos(double);
NTKC_VEC double tanh(double);
NTKC_VEC double pow(double, double);
/* @end */
#endif
