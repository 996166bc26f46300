/* Formula activations: `act NAME(x, p = 1) = EXPR [quad N]` becomes an
 * ActDef whose φ and φ' are expression trees (φ' derived symbolically), whose
 * host phi/dphi evaluate those trees, and whose c_dual is emitted C: φ and φ'
 * as functions plus a 2-D Gauss–Hermite quadrature of E[φ(u)φ(v)] and
 * E[φ'(u)φ'(v)] through the Cholesky factor of [[Σ11, Σ12], [Σ12, Σ22]].
 * Parameters and named constants are resolved when a net uses the activation,
 * so each (activation, parameter values) pair is its own ActDef with the
 * values folded into the formulas. */
#ifndef NTKC_ACT_FORMULA_H
#define NTKC_ACT_FORMULA_H

#include <stddef.h>

#include "act.h"
#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "formula_gh_check.h"
#include "formula_quad.h"
#include "sym.h"

/* Default points per dimension. Gauss-Hermite converges like exp(-c√n)
 * for functions analytic only in a strip, so the poles of tanh at ±iπ/2 set
 * the default: 96 points (54 after dropping weights below FORMULA_MIN_WEIGHT)
 * reach 1.4e-9 relative on tanh and ~1e-15 on swish, softplus and mish at unit
 * variances (tests/test_act_formula.c); gelu and sin converge faster still. */
enum { FORMULA_QUAD_DEFAULT = 96, FORMULA_MAX_TERMS = 20000 };

/* Nodes whose weight is below this are dropped: what they add is below
 * rounding for any φ that the rule integrates well, and they cost the most
 * (a 96-point rule keeps 54 nodes, |z| < 8.8). */
#define FORMULA_MIN_WEIGHT 1e-18

/* File-level constants as lowering resolved them: returns 1 and sets *value
 * when `name` is one. */
typedef struct FormulaConsts {
    int (*find)(const void *ctx, const char *name, double *value);
    const void *ctx;
} FormulaConsts;

typedef struct Formula {
    const ActDecl *decl;
    const Sym *phi, *dphi; /* simplified, in the variable x */
    int kinked;            /* uses abs, sign, step, max or min */
    int quad;              /* points per dimension as asked for */
    int nodes;             /* of them, those with weight >= FORMULA_MIN_WEIGHT */
    const double *z, *w;   /* Gauss–Hermite rule for N(0, 1), nodes entries */
    FormulaGhCheck gh;     /* where that rule meets FORMULA_QUAD_TARGET (reference: tq) */
    const Diag *refusal;   /* set: nets may not use this dual (the rule cannot meet the target; why) */
    int trap;              /* no 'quad N', smooth or kinks in closed form: the rule of tq (trapezoid, or panels split at tq.kinks) */
    FormulaQuad tq;
} Formula;

/* decl with parameter values (decl->nparams of them; NULL = the defaults):
 * resolves names (x, parameters, file constants, pi, e), inlines the formula
 * activations it calls, simplifies, differentiates, and checks that φ and φ'
 * are finite on the quadrature nodes at unit variance. NULL and a positioned
 * error on the first problem. A Gauss–Hermite rule that cannot meet the
 * target is built all the same (`ntkc derive` shows it) with refusal set:
 * formula_instance refuses it. */
const Formula *formula_build(Arena *a, const Program *prog, const FormulaConsts *consts, const ActDecl *decl,
                             const double *values, Diag *err);

/* The name resolution step of formula_build alone (formula_resolve.c): φ as
 * written, simplified, with the values bound. */
const Sym *formula_resolve(SymCtx *c, const Program *prog, const FormulaConsts *consts, const ActDecl *decl,
                           const double *values);

/* The ActDef of f, its dual emitted as ntkc_dual_<cname> (a C identifier
 * suffix unique among the activations of the net). */
const ActDef *formula_act_def(Arena *a, const Formula *f, const char *cname);

/* The instances one net uses: each (decl, values) is built and emitted once.
 * The first instance of an activation is named after it, later ones NAME__2... */
typedef struct FormulaInstance {
    const ActDecl *decl;
    double values[ACT_MAX_PARAMS];
    const ActDef *def;
} FormulaInstance;

typedef struct FormulaCache {
    FormulaInstance *v;
    size_t n, cap;
} FormulaCache;

const ActDef *formula_instance(FormulaCache *cache, Arena *a, const Program *prog, const FormulaConsts *consts,
                               const ActDecl *decl, const double *values, Diag *err);

#endif
