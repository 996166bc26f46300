/* The accuracy of formula activations' quadrature duals, against references
 * that share nothing with the emitted rules: the closed forms of the table
 * for formulas equal to built-ins, and GSL's doubly adaptive quadrature
 * (cquad, nested: E[φ(u)·E[φ(v) | u]]) for the others. Variances 1e-3 to
 * 1e3, correlations from −1 to 1 through ±(1 − 1e-12). Also: the dual is a
 * function of the unordered pair of inputs (swapping Σ11 and Σ22 gives the
 * same bits), and a `quad N` rule is used only where its estimated error
 * meets the target (NaN beyond, an error at compile time when it does not
 * even at unit variance). NTKC_REPORT=1 prints the table. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act.h"
#include "act_formula.h"
#include "act_testutil.h"
#include "arena.h"
#include "frontend.h"
#include "ir.h"
#include "ntkc.h"
#include "util.h"

/* The bound the rules claim (formula_quad.h: 3e-11 on the 1-D moments): the
 * 2-D duals relative to the Cauchy–Schwarz scale √(T(Σ11)·T(Σ22)). */
#define DUAL_BOUND 1e-10
/* GSL's own tolerance (relative to the same scale). */
#define REF_TOL 1e-13
#define REF_L 10.0 /* |z| beyond: ϕ(10) ≈ 8e-23 */

typedef struct Built {
    Arena a;
    Diag err;
    const ActDef *def;
} Built;

static const ActDef *build(Built *b, const char *acts, const char *use)
{
    char src[2048];
    snprintf(src, sizeof src, "%s\nnet n { dense; %s; dense }", acts, use);
    arena_init(&b->a);
    diag_clear(&b->err);
    Program *p = frontend_parse(&b->a, src, "t.ntk", &b->err);
    IrNet *ir = p ? frontend_lower(&b->a, p, NULL, &b->err) : NULL;
    b->def = ir ? ir->ops[1].u.act.def : NULL;
    return b->def;
}

/* ---- the GSL reference ------------------------------------------------- */

typedef struct Ref {
    const ActDef *def;
    int which; /* 0: φ, 1: φ' */
    double a, c, d, z1, epsabs;
    gsl_integration_cquad_workspace *inner_ws, *outer_ws;
} Ref;

static double f_of(const Ref *r, double x)
{
    return r->which ? r->def->dphi(r->def, x, NULL) : r->def->phi(r->def, x, NULL);
}

static double gauss(double z) { return 0.398942280401432677939946 * exp(-0.5 * z * z); }

/* ∫ F over |z| <= REF_L in pieces split at center ± width·4^k: φ's features
 * (width 1/scale in z, around where its argument is 0) may be far narrower
 * than the interval, and an adaptive rule that starts coarse can miss them. */
static double split_cquad(gsl_function *F, double center, double width, double epsabs,
                          gsl_integration_cquad_workspace *ws)
{
    double cuts[40];
    int n = 0;
    cuts[n++] = -REF_L;
    for (int k = 12; k >= 0; k--)
        if (center - width * ldexp(1.0, 2 * k) > -REF_L && center - width * ldexp(1.0, 2 * k) < REF_L)
            cuts[n++] = center - width * ldexp(1.0, 2 * k);
    if (center > -REF_L && center < REF_L)
        cuts[n++] = center;
    for (int k = 0; k <= 12; k++)
        if (center + width * ldexp(1.0, 2 * k) > -REF_L && center + width * ldexp(1.0, 2 * k) < REF_L)
            cuts[n++] = center + width * ldexp(1.0, 2 * k);
    cuts[n++] = REF_L;
    double total = 0.0;
    for (int i = 0; i + 1 < n; i++) {
        double v, e;
        size_t evals;
        gsl_integration_cquad(F, cuts[i], cuts[i + 1], epsabs / n, REF_TOL, ws, &v, &e, &evals);
        total += v;
    }
    return total;
}

static double inner_integrand(double z2, void *ctx)
{
    const Ref *r = ctx;
    return gauss(z2) * f_of(r, r->c * r->z1 + r->d * z2);
}

/* E[f(c·z1 + d·Z2)] */
static double inner(Ref *r, double z1)
{
    if (r->d == 0.0)
        return f_of(r, r->c * z1);
    r->z1 = z1;
    gsl_function F = {inner_integrand, r};
    return split_cquad(&F, -r->c * z1 / r->d, 1.0 / fmax(r->d, 1.0), r->epsabs, r->inner_ws);
}

static double outer_integrand(double z1, void *ctx)
{
    Ref *r = ctx;
    return gauss(z1) * f_of(r, r->a * z1) * inner(r, z1);
}

/* E[f(u)f(v)], u = a·z1, v = c·z1 + d·z2 (Σ's Cholesky factor), to ~REF_TOL·scale. */
static double gsl_dual(const ActDef *def, int which, double s11, double rho, double s22, double scale)
{
    double b = sqrt(s22);
    Ref r = {def, which, sqrt(s11), b * rho, b * sqrt((1 - rho) * (1 + rho)), 0, REF_TOL * scale, NULL, NULL};
    r.inner_ws = gsl_integration_cquad_workspace_alloc(200);
    r.outer_ws = gsl_integration_cquad_workspace_alloc(200);
    gsl_function F = {outer_integrand, &r};
    double v = split_cquad(&F, 0.0, 1.0 / fmax(fmax(r.a, fabs(r.c)), 1.0), r.epsabs, r.outer_ws);
    gsl_integration_cquad_workspace_free(r.inner_ws);
    gsl_integration_cquad_workspace_free(r.outer_ws);
    return v;
}

/* E[f(√s·Z)²] */
static double gsl_diag(const ActDef *def, int which, double s)
{
    return gsl_dual(def, which, s, 1.0, s, 0.0) + 0.0;
}

/* ---- the grid ----------------------------------------------------------- */

/* The last rows (variances up to 1e4, where the mapped rule serves both
 * dimensions) only for formulas with closed forms: GSL's nested quadrature
 * takes long there. */
static const double grid_vars[][2] = {{1e-3, 1e-3}, {1e-1, 1e-1}, {1, 1}, {10, 10}, {1e3, 1e3}, {1e-3, 1e3}, {0.5, 20},
                                      {40, 40}, {1e4, 1e4}, {1e-3, 1e4}, {30, 1e4}};
enum { NVARS = sizeof grid_vars / sizeof grid_vars[0], NVARS_GSL = 7 };
static const double grid_rhos[] = {-1, -(1 - 1e-12), -0.9, 0, 0.5, 0.99, 1 - 1e-12, 1};
enum { NRHOS = sizeof grid_rhos / sizeof grid_rhos[0] };

typedef struct Row {
    double err[2];  /* worst relative error of T, Ṫ over the correlations */
    double asym;    /* worst |dual(Σ11, Σ22) − dual(Σ22, Σ11)| relative */
    int refused;    /* correlations at which the dual gave NaN (a refusal) */
} Row;

typedef struct Case {
    const char *acts, *use;
    const char *builtin; /* closed-form reference, or NULL: GSL */
    const double *p;     /* the built-in's parameters */
} Case;

/* The reference values on the grid. GSL's takes most of this file's time and
 * depends only on φ, not on the rule: a formula's rules (the default one and
 * `quad N`) share one. */
typedef struct Reference {
    double diag[NVARS][2][2];     /* [v][Σ11 or Σ22][T or Ṫ] on the diagonal */
    double dual[NVARS][NRHOS][2]; /* [v][ρ][T or Ṫ] */
} Reference;

static int nvars(const Case *c) { return c->builtin ? NVARS : NVARS_GSL; }

/* The reference of the formula of case c: its closed form when it has one,
 * otherwise GSL's quadrature (to REF_TOL of the Cauchy-Schwarz scale). */
static void reference(const Case *c, Reference *ref)
{
    Built b;
    const ActDef *defs[2] = {build(&b, c->acts, c->use), c->builtin ? act_lookup(c->builtin) : NULL};
    cr_assert_not_null(defs[0], "%s: %s", c->acts, b.err.message);
    DualFn fn;
    JitModule *m = defs[1] ? act_jit_duals(&defs[1], 1, &fn) : NULL;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    for (int v = 0; v < nvars(c); v++) {
        double s11 = grid_vars[v][0], s22 = grid_vars[v][1], (*D)[2] = ref->diag[v];
        if (defs[1]) {
            defs[1]->diag(defs[1], c->p, s11, &D[0][0], &D[0][1]);
            defs[1]->diag(defs[1], c->p, s22, &D[1][0], &D[1][1]);
        } else
            for (int w = 0; w < 2; w++) {
                D[0][w] = gsl_diag(defs[0], w, s11);
                D[1][w] = s22 == s11 ? D[0][w] : gsl_diag(defs[0], w, s22);
            }
        for (int k = 0; k < NRHOS; k++) {
            double rho = grid_rhos[k], *want = ref->dual[v][k];
            if (defs[1])
                fn(c->p, s11, rho * sqrt(s11 * s22), s22, &want[0], &want[1]);
            else
                for (int w = 0; w < 2; w++)
                    want[w] = gsl_dual(defs[0], w, s11, rho, s22, fmax(sqrt(D[0][w] * D[1][w]), 1e-300));
        }
    }
    gsl_set_error_handler(old);
    if (m)
        jit_free(m);
    arena_free(&b.a);
}

/* The worst errors of `c`'s rule against ref at each pair of variances of the grid. */
static void measure(const Case *c, const Reference *ref, Row *rows)
{
    Built b;
    const ActDef *def = build(&b, c->acts, c->use);
    cr_assert_not_null(def, "%s: %s", c->acts, b.err.message);
    DualFn fn;
    JitModule *m = act_jit_duals(&def, 1, &fn);
    for (int v = 0; v < nvars(c); v++) {
        double s11 = grid_vars[v][0], s22 = grid_vars[v][1];
        const double(*D)[2] = ref->diag[v];
        Row *row = &rows[v];
        memset(row, 0, sizeof *row);
        for (int k = 0; k < NRHOS; k++) {
            double rho = grid_rhos[k], s12 = rho * sqrt(s11 * s22), got[2], swapped[2];
            const double *want = ref->dual[v][k];
            fn(NULL, s11, s12, s22, &got[0], &got[1]);
            fn(NULL, s22, s12, s11, &swapped[0], &swapped[1]);
            for (int w = 0; w < 2; w++) {
                double scale = fmax(sqrt(D[0][w] * D[1][w]), 1e-300);
                if (isnan(got[w])) {
                    row->refused++;
                    continue;
                }
                if (getenv("NTKC_QUAD_DETAIL") && act_rel_err(got[w], want[w], scale) > DUAL_BOUND)
                    fprintf(stderr, "    %s s11 %g s22 %g rho %.17g %s got %.17g want %.17g\n", c->use, s11, s22, rho,
                            w ? "Td" : "T", got[w], want[w]);
                row->err[w] = fmax(row->err[w], act_rel_err(got[w], want[w], scale));
                row->asym = fmax(row->asym, fabs(got[w] - swapped[w]) / scale);
            }
        }
    }
    jit_free(m);
    arena_free(&b.a);
}

static void report(const Case *c, const Row *rows)
{
    if (!getenv("NTKC_REPORT"))
        return;
    fprintf(stderr, "%s  [%s; reference %s]\n", c->acts, c->use, c->builtin ? c->builtin : "GSL cquad");
    for (int v = 0; v < nvars(c); v++)
        fprintf(stderr, "  s11 %-6g s22 %-6g  T %8.1e  Td %8.1e  swap %8.1e  refused %d/%d\n", grid_vars[v][0],
                grid_vars[v][1], rows[v].err[0], rows[v].err[1], rows[v].asym, rows[v].refused / 2, NRHOS);
}

/* A default rule (trapezoid, or panels split at the kinks) is not refused
 * anywhere on the grid and meets DUAL_BOUND there. */
static void expect_default_rule(const Case *c, const Reference *ref)
{
    Row rows[NVARS];
    measure(c, ref, rows);
    report(c, rows);
    for (int v = 0; v < nvars(c); v++) {
        cr_expect_eq(rows[v].refused, 0, "%s at variances %g, %g: refused", c->use, grid_vars[v][0], grid_vars[v][1]);
        for (int w = 0; w < 2; w++)
            cr_expect_leq(rows[v].err[w], DUAL_BOUND, "%s at variances %g, %g: %s off by %.2g", c->use,
                          grid_vars[v][0], grid_vars[v][1], w ? "Td" : "T", rows[v].err[w]);
        cr_expect_eq(rows[v].asym, 0.0, "%s at variances %g, %g: swapping the inputs changes the dual by %.2g",
                     c->use, grid_vars[v][0], grid_vars[v][1], rows[v].asym);
    }
}

/* `quad N` (Gauss–Hermite): where it is not refused it meets the bound, and
 * it is symmetric. */
static void expect_gh_rule(const Case *c, const Reference *ref)
{
    Row rows[NVARS];
    measure(c, ref, rows);
    report(c, rows);
    for (int v = 0; v < nvars(c); v++) {
        for (int w = 0; w < 2; w++)
            cr_expect_leq(rows[v].err[w], DUAL_BOUND, "%s at variances %g, %g: %s off by %.2g", c->use,
                          grid_vars[v][0], grid_vars[v][1], w ? "Td" : "T", rows[v].err[w]);
        cr_expect_eq(rows[v].asym, 0.0, "%s at variances %g, %g: swapping the inputs changes the dual by %.2g",
                     c->use, grid_vars[v][0], grid_vars[v][1], rows[v].asym);
    }
}

static const double erf_p[] = {1, 1, 0}, sin_p[] = {1, 1, 0};

/* Each formula with its rules: the default one, and `quad N` where given
 * (use NULL: none). The rules of one formula share its reference. */
typedef struct Rules {
    Case rule;        /* the default rule */
    const char *quad; /* the same formula with `quad N`, or NULL */
} Rules;

static const Rules closed_form[] = {
    {{"act erf2(x) = erf(x)", "erf2", "erf", erf_p}, "act erf2(x) = erf(x) quad 64"},
    {{"act gelu2(x) = x * (1 + erf(x / sqrt(2))) / 2", "gelu2", "gelu", NULL},
     "act gelu2(x) = x * (1 + erf(x / sqrt(2))) / 2 quad 64"},
    {{"act sin2(x) = sin(x)", "sin2", "sin", sin_p}, NULL},
    {{"act relu2(x) = max(x, 0)", "relu2", "relu", NULL}, NULL},
};

static void check_formula(const Rules *f)
{
    Reference ref;
    reference(&f->rule, &ref);
    expect_default_rule(&f->rule, &ref);
    if (f->quad) {
        Case gh = f->rule;
        gh.acts = f->quad;
        expect_gh_rule(&gh, &ref);
    }
}

Test(quad_accuracy, rules_of_formulas_with_closed_forms_meet_the_bound)
{
    for (size_t i = 0; i < sizeof closed_form / sizeof closed_form[0]; i++)
        check_formula(&closed_form[i]);
}

/* Formulas without a closed form, against GSL: one test each, so that -j2
 * computes two references at once. */
Test(quad_accuracy, swish_rules_meet_the_bound, .timeout = TIMEOUT(600))
{
    check_formula(&(Rules){{"act swish(x) = x / (1 + exp(-x))", "swish", NULL, NULL},
                             "act swish(x) = x / (1 + exp(-x)) quad 64"});
}

Test(quad_accuracy, tanh_rules_meet_the_bound, .timeout = TIMEOUT(600))
{
    check_formula(&(Rules){{"act th(x) = tanh(x)", "th", NULL, NULL}, "act th(x) = tanh(x) quad 200"});
}

Test(quad_accuracy, softplus_and_xerf_default_rules_meet_the_bound, .timeout = TIMEOUT(600))
{
    check_formula(&(Rules){{"act softplus(x) = log(1 + exp(x))", "softplus", NULL, NULL}, NULL});
    check_formula(&(Rules){{"act xerf(x) = x * erf(x)", "xerf", NULL, NULL}, NULL});
}

#define MISH "act softplus(x) = log(1 + exp(x))\nact mish(x, beta = 1) = x * tanh(softplus(beta * x) / beta)"
Test(quad_accuracy, mish_rules_meet_the_bound, .timeout = TIMEOUT(600))
{
    /* beta = 2 by the default rule; beta = 1 (another function: its own reference) by quad 64 */
    check_formula(&(Rules){{MISH, "mish(beta = 2)", NULL, NULL}, NULL});
    Reference ref;
    const Case gh = {MISH " quad 64", "mish", NULL, NULL};
    reference(&gh, &ref);
    expect_gh_rule(&gh, &ref);
}

/* `quad N` that misses the target at unit variance, and kinks that cannot be
 * located: compile errors naming the activation, the place and the error. */
Test(quad_accuracy, rules_that_cannot_meet_the_target_are_refused)
{
    /* the example's mish(beta = 2) had 'quad 64': 1e-2 off at variance 10 (above) */
    expect_error("act softplus(x) = log(1 + exp(x))\n"
                 "act mish(x, beta = 1) = x * tanh(softplus(beta * x) / beta) quad 64\n"
                 "net n { dense; mish(beta = 2); dense }",
                 "2:66",
                 "'quad 64' cannot meet the error target of 'mish': 64-point Gauss-Hermite quadrature of the "
                 "derivative is 5e-11 relative off at variance 0.5 (target 3e-11), meeting it only up to variance "
                 "0.25; remove 'quad 64'");
    expect_error("act r(x) = max(x, 0) quad 64\nnet n { dense; r; dense }", "1:27",
                 "64-point Gauss-Hermite quadrature of the formula is 0.0036 relative off at variance 0.000976562");
    expect_error("act k(x) = abs(x^2 - 1)\nnet n { dense; k; dense }", "1:5",
                 "the kinks of 'k' (abs, sign, step, max or min of an argument not affine in x) cannot be located");
    /* no Gaussian integral: 'quad N' no longer skips the check */
    expect_error("act f(x) = exp(x^2) quad 8\nnet n { dense; f; dense }", "1:5", "grows too fast");
}

/* Through the library: the kernel of X with itself computed as one triangle
 * (symmetric) and as a cross kernel (X1 = X2 = X) has the same bits, with
 * each kind of rule; inputs small enough for the `quad 64` rule's range. */
Test(quad_accuracy, symmetric_and_cross_kernels_agree, .timeout = TIMEOUT(120))
{
    const char *src = "act softplus(x) = log(1 + exp(x))\n"
                      "act mish(x) = x * tanh(softplus(x)) quad 64\n"
                      "act swish(x) = x / (1 + exp(-x))\n"
                      "act r(x) = max(x, 0.1 * x)\n"
                      "net n { dense(1, 0.1); mish; dense(0.9, 0.1); swish; dense(1.2, 0.1); r; dense(1) }\n";
    enum { N = 7, D = 4 };
    double x[N * D], s1[N * N], k1[N * N], s2[N * N], k2[N * N];
    fill_random(x, N * D, 11);
    for (int i = 0; i < N * D; i++)
        x[i] *= 0.8; /* variances at the first activation below 1 (the rule's range: 1) */
    for (int b = 0; b < 2; b++) {
        ntkc_net *net = compile_or_fail(src, b ? NTKC_BACKEND_CC : NTKC_BACKEND_TCC);
        ntkc_error err = {0};
        cr_assert_eq(ntkc_kernel(net, N, x, 0, NULL, D, s1, k1, NULL, &err), 0, "%s", err.message);
        cr_assert_eq(ntkc_kernel(net, N, x, N, x, D, s2, k2, NULL, &err), 0, "%s", err.message);
        for (int i = 0; i < N * N; i++) {
            cr_expect(isfinite(s1[i]) && isfinite(k1[i]));
            cr_expect_eq(memcmp(&s1[i], &s2[i], sizeof s1[i]), 0, "NNGP [%d, %d]: %.17g vs %.17g", i / N, i % N,
                         s1[i], s2[i]);
            cr_expect_eq(memcmp(&k1[i], &k2[i], sizeof k1[i]), 0, "NTK [%d, %d]: %.17g vs %.17g", i / N, i % N,
                         k1[i], k2[i]);
        }
        ntkc_net_free(net);
    }
}

/* Beyond the variances where `quad N` meets the target the kernel is refused
 * with a message that says so, not printed inaccurate. */
Test(quad_accuracy, beyond_the_checked_range_the_kernel_is_refused)
{
    const char *src = "act swish(x) = x / (1 + exp(-x)) quad 64\nnet n { dense(3); swish; dense(1) }\n";
    enum { N = 3, D = 2 };
    double x[N * D] = {1, 1, -1, 0.5, 2, -2}, s[N * N], k[N * N];
    ntkc_net *net = compile_or_fail(src, NTKC_BACKEND_TCC);
    ntkc_error err = {0};
    cr_expect_neq(ntkc_kernel(net, N, x, 0, NULL, D, s, k, NULL, &err), 0);
    cr_expect_not_null(strstr(err.message, "leave the range in which a formula activation's quadrature meets its "
                                           "error target (`ntkc derive` shows it)"),
                       "%s", err.message);
    ntkc_net_free(net);
}
