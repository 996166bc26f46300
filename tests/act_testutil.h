/* References for dual kernels, shared by the activation tests: the emitted
 * C of an ActDef JIT-compiled and called, two-dimensional Gauss-Hermite on
 * host φ and φ', and an exact reduction for positively homogeneous
 * (kinked) activations. */
#ifndef NTKC_ACT_TESTUTIL_H
#define NTKC_ACT_TESTUTIL_H

#include "act.h"
#include "jit.h"

typedef void (*DualFn)(const double *p, double s11, double s12, double s22, double *T, double *Td);

/* Compiles defs[i]->c_dual (i < n) in one unit behind the emitter's libm
 * prototypes; *fns gets ntkc_dual_<name> of each. Fails the test on error. */
JitModule *act_jit_duals(const ActDef *const *defs, size_t n, DualFn *fns);

/* E[f(u)f(v)] for (u, v) Gaussian with variances s11, s22 and correlation
 * rho (given as such, not recomputed from a rounded Σ12: near |ρ| = 1 the
 * kinked kernels amplify one ulp of ρ to ~1e-8) by the n-point Gauss-Hermite
 * rule in each dimension. which = 0: f = φ, 1: f = φ'. */
double act_gh_reference(const ActDef *def, const double *p, int which, int n, double s11, double rho, double s22);

/* Degree k with φ(r·x) = r^k φ(x) for r > 0 (which = 1: for φ'), checked on
 * a set of points; -1 when not homogeneous, -2 when identically zero there. */
int act_homogeneous_degree(const ActDef *def, const double *p, int which);

/* E[f(u)f(v)] exactly (to rounding) for f = φ or φ' homogeneous of degree
 * k: in polar coordinates the radius integrates to 2^k k!, and the angle is
 * integrated by Gauss-Legendre on the arcs between the kinks (where u or v
 * is 0), on each of which the integrand is smooth. */
double act_polar_reference(const ActDef *def, const double *p, int which, int k, double s11, double rho,
                           double s22);

/* |got − want| / max(|want|, scale), scale > 0 the natural size (for a dual:
 * √(T(Σ11)·T(Σ22)), the Cauchy-Schwarz bound on |T|). */
double act_rel_err(double got, double want, double scale);

#endif
