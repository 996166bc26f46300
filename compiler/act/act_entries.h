/* The entries of the activation table, defined one family per file
 * (act_table.c: relu, erf, identity; act_relu_family.c; act_smooth.c;
 * act_poly.c) and listed in act_table.c's registry. */
#ifndef NTKC_ACT_ENTRIES_H
#define NTKC_ACT_ENTRIES_H

#include "act.h"

/* Kinked, positively homogeneous. */
extern const ActDef act_leaky_relu, act_abs, act_abrelu, act_sign, act_step, act_rectified_monomial;
/* Smooth, closed forms from Gaussian integrals. */
extern const ActDef act_sigmoid_like, act_gelu, act_sin, act_cos, act_exp, act_gaussian, act_rbf;
/* Polynomials: exact Hermite (Isserlis) sums. */
extern const ActDef act_monomial, act_polynomial;

/* neural-tangents' Hermite and Gabor (act_extra.c). */
extern const ActDef act_hermite, act_gabor;
/* neural-tangents' ExpNormalized, a kernel map without φ (act_exp_normalized.c). */
extern const ActDef act_exp_normalized;

/* Host-side helpers the polynomial-family entries share (act_poly.c). */
double act_ipow(double x, int n);      /* x^n, n >= 0 */
double act_odd_factorial2(int k);      /* k!! for odd k, (-1)!! = 1 */

/* The correlation in C text, shared by the kinked duals (relu's too): within
 * 8 ulps of ±1 it is snapped to ±1 exactly, which also clips it into
 * [-1, 1]. An input paired with itself (or with a copy in the second file)
 * reaches a kinked layer with Σ12 and √(Σ11Σ22) a few roundings apart, and
 * acos/asin have an infinite slope at ±1: one ulp of ρ moves them by 1.5e-8.
 * A distinct pair that close to ±1 is indistinguishable from a copy at the
 * precision Σ12 was computed with (the same 8 ulps as ntkc_relu_qr). */
#define ACT_C_SNAP_RHO                                                                                             \
    "    rho = 1.0 - fabs(rho) < 8.8817841970012523e-16 ? (rho > 0.0 ? 1.0 : -1.0) : rho;\n"
#define ACT_C_CORRELATION                                                                                          \
    "    double norm = sqrt(s11 * s22);\n"                                                                          \
    "    double rho = norm > 0 ? s12 / norm : 0.0;\n" ACT_C_SNAP_RHO

#endif
