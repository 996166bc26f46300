/* The quadrature of a smooth formula activation's dual kernels: the
 * trapezoidal rule on z = m·h for E[f(aZ)], Z ~ N(0, 1), with a step that
 * shrinks with the scale a, h = H / max(a, 1). For an integrand analytic in
 * the strip |Im x| < δ (x = a·z, the activation's own variable) the rule's
 * error is ~exp(−2πδ/H) whatever a is: the step stays fixed in x, where φ's
 * features are, and the Gaussian is resolved at a <= 1 by the same H. A
 * Gauss–Hermite rule of fixed order instead loses accuracy as a grows (its
 * nodes stay fixed in z while φ(a·z) sharpens): 96 points were 2e-3 off for
 * tanh's Ṫ at variance 9.
 *
 * H is chosen at compile time, per formula: the largest of a ladder whose 1-D
 * moments E φ(aZ)², E φ'(aZ)², E φ(aZ), E φ'(aZ) agree with the rule of step
 * H/2 to FORMULA_QUAD_TARGET at every scale a from 1/4 to FORMULA_MAX_SCALE
 * (or up to where the integrand stops decaying at |z| = FORMULA_TRAP_L). */
#ifndef NTKC_FORMULA_QUAD_H
#define NTKC_FORMULA_QUAD_H

#include "sym.h"

/* The widest cutoff: nodes at |z| <= L, exp(-L²/2) = 1.5e-17 relative for a
 * bounded φ. Each formula gets the narrowest of 6.4, 7.0, ..., 8.8 whose
 * estimated truncation error stays below FORMULA_TAIL_LIMIT over the same
 * range of scales (a bounded φ: 6.4, where the tail is 1.6e-10 of the
 * Gaussian mass... checked, not assumed). */
#define FORMULA_TRAP_L 8.8
/* Per dimension at most 2·FORMULA_TRAP_MAX + 1 nodes (stack arrays). */
enum { FORMULA_TRAP_MAX = 1500 };
#define FORMULA_QUAD_TARGET 3e-11
/* The largest scale √Σ checked at compile time. */
#define FORMULA_MAX_SCALE 16.0
/* The part of the integral beyond |z| = L, estimated from the outermost
 * terms (f(L)ϕ(L)/L against the term h·f(L)ϕ(L)), above which a relative
 * error is declared: the integrand does not decay fast enough there (growth
 * like the Gaussian weight or faster). A sum fails when its end terms exceed
 * FORMULA_TAIL_LIMIT·h·L of the sum of absolute terms. */
#define FORMULA_TAIL_LIMIT 1e-11

typedef enum {
    FQ_OK,
    FQ_NOT_FINITE,  /* φ or φ' not finite at a node: *bad_x */
    FQ_NO_DECAY,    /* the integrand does not decay at a scale <= 1 */
    FQ_NO_CONVERGE, /* no step of the ladder reaches the target */
} FormulaQuadStatus;

/* Kinked formulas (abs, sign, step, max, min of arguments affine in x):
 * Gauss–Legendre panels of FORMULA_GL_POINTS nodes, split at every kink, so
 * that each panel sees one smooth piece. A panel is at most FORMULA_PANEL_Z
 * long in z (the Gaussian weight's own scale) and step/scale (φ's features,
 * step in x units, chosen like the trapezoid's H). In 2-D the inner integral
 * over z2 is split at the line v = k, z2 = (k − c·z1)/d; the outer one at
 * z1 = k/a and at z1 = k/c, where E[φ(v) | z1] changes over a width ~d/|c|
 * (the 1-D limit ρ → ±1 is a kink): within L·d/|c| of it the panels are at
 * most FORMULA_PANEL_Z·d/|c| long. */
enum { FORMULA_KINKS_MAX = 8, FORMULA_GL_POINTS = 10, FORMULA_PANEL_CAP = 2400 };
#define FORMULA_PANEL_Z 2.95
/* Cutoff of the kinked rule, and the wider one its truncation is checked against. */
#define FORMULA_KINK_L 8.8
#define FORMULA_KINK_L_CHECK 10.4

typedef struct FormulaQuad {
    double step;      /* H (x units) */
    double L;         /* nodes at |z| <= L: the narrowest cutoff that keeps the decay range */
    double err_est;   /* max relative change of the moments from H to H/2 */
    double max_scale; /* largest a at which the integrand decays by L (<= FORMULA_MAX_SCALE) */
    int worst_which;  /* on failure: 0 = φ, 1 = φ' */
    double bad_x, bad_scale;
    int nkinks;       /* kinked rule: the kinks of φ and φ' (x units) */
    /* The mapped rule for large scales (formula_map_rule): spacing map_eps/a
     * (x units map_eps) at φ's centre x = 0, growing geometrically (×e^κ per
     * node) to map_hg (z units, the Gaussian's resolution); 0: none. Checked
     * at scales 2 to map_max_scale. */
    double map_eps, map_kappa, map_hg, map_err, map_max_scale;
    double kinks[FORMULA_KINKS_MAX];
} FormulaQuad;

/* Nodes m = 0..n of the rule at scale a with step H: z_m = m·h, weights
 * w_m ∝ exp(−z_m²/2) normalised so that w_0 + 2 Σ_{m>0} w_m = 1. Returns n,
 * or -1 when more than FORMULA_TRAP_MAX would be needed. */
int formula_trap_rule(double step, double L, double scale, double *z, double *w);

FormulaQuadStatus formula_quad_calibrate(const Sym *phi, const Sym *dphi, FormulaQuad *q);

/* The n-point Gauss–Legendre rule on [-1, 1]. */
void formula_gauss_legendre(int n, double *x, double *w);
/* The kinked rule on [-L, L] for E f(Z) (weights include the Gaussian
 * density): split at bp[0..nb) (those outside ignored; bp needs room for two
 * more), panels at most len long, or wlen within wh of any of wc[0..nw).
 * Returns the node count, or -1 beyond FORMULA_PANEL_CAP. Emitted verbatim as
 * C by FORMULA_KINK_RULE_C (the same text is compiled here). */
int formula_kink_rule(double *bp, int nb, double L, double len, const double *wc, int nw, double wh, double wlen,
                      const double *gx, const double *gw, double *z, double *w);
/* q->kinks/nkinks set: chooses step (panel length in x) as formula_quad_calibrate does. */
FormulaQuadStatus formula_quad_calibrate_kinked(const Sym *phi, const Sym *dphi, FormulaQuad *q);
/* E φ(aZ)², E φ'(aZ)², E φ(aZ), E φ'(aZ) by the calibrated rule of q (the
 * trapezoid, or kinked panels) at half its step where the node budget allows:
 * the reference other rules are held to. */
FormulaQuadStatus formula_ref_moments(const Sym *phi, const Sym *dphi, const FormulaQuad *q, int kinked, double a,
                                      double *out);
/* The largest relative difference between two sets of those moments (E φ and
 * E φ' against √(E φ²), √(E φ'²)); *which = 0 for φ, 1 for φ'. */
double formula_moment_change(const double *m1, const double *m2, int *which);
/* The mapped rule: nodes g_j = g(j), weights g'(j) (step 1 in t), j = 0..n,
 * of the substitution z = g(t) whose spacing g' is eps at t = 0, eps·cosh(κt)
 * while that is below hg, and hg beyond:
 *   g'(t) = hg·cosh(κt)/(A + cosh(κt)), A = hg/eps − 1,
 *   g(t) = hg·(t − 2A/(κ√(A²−1))·atanh(√((A−1)/(A+1))·tanh(κt/2))).
 * A trapezoidal rule in t: its error stays that of the uniform rule of step
 * eps near the centre (φ's features, width ~1/a in z) while the node count
 * grows like log(a) instead of a. n is the first j with g_j > zmax; -1 when
 * A <= 1 (the uniform rule is as fine) or beyond FORMULA_TRAP_MAX. Emitted
 * verbatim (formula_map_rule_c). */
int formula_map_rule(double eps, double hg, double kappa, double zmax, double *g, double *dg);
/* E f(a(Z − zs))·B, f = φ², φ'², φ, φ', by the mapped rule of q centred at
 * zs (nodes zs ± g_j with |z| <= q->L), its parameters times r; B = 1, or
 * exp(−(Z − zs)²/(2·bump²)) when bump > 0. */
FormulaQuadStatus formula_map_moments(const Sym *phi, const Sym *dphi, const FormulaQuad *q, double r, double a,
                                      double zs, double bump, double *out);
/* Chooses q's mapped rule (after formula_quad_calibrate); map_eps = 0 when
 * none meets the target (the uniform rule then serves every scale). */
void formula_quad_calibrate_map(const Sym *phi, const Sym *dphi, FormulaQuad *q);
extern const char formula_map_rule_c[];
/* The largest scale at which the mapped rule is checked. */
#define FORMULA_MAP_MAX_SCALE 4096.0

/* The C text of formula_kink_rule (named ntkc_kink_rule, for emitted code). */
extern const char formula_kink_rule_c[];

#endif
