/* How far a Gauss–Hermite rule of fixed order (`quad N`) can be trusted. Its
 * nodes stay put in z while φ(a·z) sharpens as the scale a = √Σ grows, so its
 * error grows with the variance (mish, 64 points: 1e-8 at variance 1, 1e-2 at
 * 10). The 1-D moments E φ(aZ)², E φ'(aZ)², E φ(aZ), E φ'(aZ) by the rule are
 * held to the calibrated reference (formula_ref_moments) on the ladder of
 * scales 1/32 .. 32 in steps of √2 (variances 1e-3 .. 1024, doubling); the rule is used up to the
 * largest scale below the first that misses FORMULA_QUAD_TARGET. */
#ifndef NTKC_FORMULA_GH_CHECK_H
#define NTKC_FORMULA_GH_CHECK_H

#include "formula_quad.h"
#include "sym.h"

#define FORMULA_GH_MIN_SCALE 0.03125
#define FORMULA_GH_MAX_SCALE 32.0

typedef struct FormulaGhCheck {
    double max_scale; /* meets the target at every ladder scale up to here (0: not at the smallest) */
    int unlimited;    /* met it on the whole ladder: not limited at run time */
    double err;       /* the largest estimated error up to max_scale */
    double miss_err;  /* the first miss: its error and scale (0 when none) */
    double miss_scale;
    int miss_which; /* 0 = φ, 1 = φ' */
} FormulaGhCheck;

/* The n-node rule (z, w) for N(0, 1) against the reference rule ref (kinked:
 * panels split at ref->kinks) calibrated for φ, φ'. Stops at the first miss, at
 * ref->max_scale when the reference's checked decay ends there, and where φ or
 * φ' is not finite on a node. */
void formula_gh_check(const Sym *phi, const Sym *dphi, const FormulaQuad *ref, int kinked, const double *z,
                      const double *w, int n, FormulaGhCheck *out);

#endif
