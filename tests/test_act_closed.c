/* Every built-in closed-form dual kernel (the C text the emitter pastes,
 * JIT-compiled) against references computed here from the table's own host
 * φ and φ', over a grid of (Σ11, Σ22, ρ) that includes ρ = ±1 and zero and
 * tiny variances:
 *  - smooth activations: 2-D Gauss-Hermite, refined until converged;
 *  - kinked ones (all positively homogeneous, checked here): the exact polar
 *    reduction of act_testutil.c, i.e. no quadrature of a kink at all.
 * Errors are relative to max(|reference|, √(T(Σ11)T(Σ22))), the
 * Cauchy-Schwarz bound on |T| (likewise for Ṫ), so a kernel that is 0 at
 * ρ = 0 is held to the scale of its neighbours. Required: 1e-8 (smooth) and
 * 1e-6 (kinked) as issue 3 asks; measured maxima (NTKC_REPORT=1 prints them)
 * are at most 2.1e-15 for every activation. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act.h"
#include "act_testutil.h"
#include "util.h"

/* No pointers: Criterion hands parameters to worker processes as bytes. */
typedef struct Case {
    char act[24];
    int np;
    double p[ACT_MAX_PARAMS];
} Case;

/* At least one case per built-in activation (checked below): parameters
 * away from the defaults where there are any. */
static Case cases[] = {
    {"relu", 0, {0}},
    {"leaky_relu", 1, {0.1}},
    {"leaky_relu", 1, {-0.5}},
    {"abs", 0, {0}},
    {"abrelu", 2, {-0.3, 1.2}},
    {"abrelu", 2, {0.5, 0.5}},
    {"abrelu", 2, {2, -1}},
    {"erf", 3, {1, 1, 0}},
    {"erf", 3, {2, 0.5, 0.3}},
    {"sigmoid_like", 0, {0}},
    {"gelu", 0, {0}},
    {"sin", 3, {1, 1, 0}},
    {"sin", 3, {1.5, 0.7, 0.4}},
    {"cos", 3, {1, 1, 0}},
    {"cos", 3, {0.8, 1.3, -0.6}},
    {"sign", 0, {0}},
    {"step", 0, {0}},
    {"exp", 2, {1, 1}},
    {"exp", 2, {0.5, -0.7}},
    {"gaussian", 2, {1, -1}},
    {"gaussian", 2, {2, -0.3}},
    {"gaussian", 2, {1, 0}},
    {"rbf", 1, {1}},
    {"rbf", 1, {0.3}},
    {"monomial", 1, {0}},
    {"monomial", 1, {1}},
    {"monomial", 1, {2}},
    {"monomial", 1, {3}},
    {"monomial", 1, {6}},
    {"monomial", 1, {10}},
    {"rectified_monomial", 1, {0}},
    {"rectified_monomial", 1, {1}},
    {"rectified_monomial", 1, {2}},
    {"rectified_monomial", 1, {3}},
    {"rectified_monomial", 1, {4}},
    {"rectified_monomial", 1, {5}},
    {"rectified_monomial", 1, {6}},
    {"polynomial", 8, {1, 0.5, -0.2, 0.1, 0, 0, 0, 0.01}},
    {"polynomial", 8, {0.3, 0, 0, 0, 0, 0, 0, 0}},
    {"polynomial", 8, {0, -1, 0, 0.25, 0.5, 0, -0.1, 0}},
    {"identity", 0, {0}},
    {"hermite", 1, {0}},
    {"hermite", 1, {1}},
    {"hermite", 1, {2}},
    {"hermite", 1, {3}},
    {"hermite", 1, {6}},
    {"hermite", 1, {10}},
    {"gabor", 0, {0}},
};
enum { NCASES = sizeof cases / sizeof cases[0] };

static const double variances[] = {0, 1e-8, 1, 2.5};
static const double rhos[] = {-1, -0.83, -0.3, 0, 0.5, 0.97, 1};
enum { NV = sizeof variances / sizeof variances[0], NR = sizeof rhos / sizeof rhos[0], GH_POINTS = 80 };

static const ActDef *def_of(const Case *c)
{
    const ActDef *d = act_lookup(c->act);
    cr_assert_not_null(d, "no built-in activation '%s'", c->act);
    return d;
}

/* Reference T (which = 0) or Ṫ (1). Smooth: Gauss-Hermite with more and
 * more points until two orders agree to 1e-13 of the scale (a sharply peaked
 * φφ such as gaussian(b=-1) at Σ = 2.5 needs ~250); kinked: exact. */
static double reference(const ActDef *d, const Case *c, int which, double s11, double rho, double s22, double scale)
{
    if (!d->kinked) {
        double prev = act_gh_reference(d, c->p, which, GH_POINTS, s11, rho, s22);
        for (int n = GH_POINTS * 3 / 2; n <= 600; n = n * 3 / 2) {
            double next = act_gh_reference(d, c->p, which, n, s11, rho, s22);
            if (fabs(next - prev) <= 1e-13 * fmax(fabs(next), scale))
                return next;
            prev = next;
        }
        cr_assert_fail("%s: the Gauss-Hermite reference does not converge at s11=%g rho=%g s22=%g", c->act, s11,
                       rho, s22);
    }
    int k = act_homogeneous_degree(d, c->p, which);
    cr_assert_neq(k, -1, "%s is kinked but %s is not positively homogeneous: no exact reference", c->act,
                  which ? "φ'" : "φ");
    return act_polar_reference(d, c->p, which, k, s11, rho, s22);
}

/* A few cases a test: a test is a worker process, whose start (~65 ms of
 * CPU: the test binary and its libraries loaded again) costs more than a
 * case of the three quick checks below; every message names its activation. */
static struct criterion_test_params groups_of(size_t per_test)
{
    static size_t first[NCASES];
    size_t n = 0;
    for (size_t i = 0; i < NCASES; i += per_test)
        first[n++] = i;
    return cr_make_param_array(size_t, first, n);
}

/* The cases from *first on, per_test of them (fewer at the end). */
#define FOR_CASES(c, first, per_test)                                                                               \
    for (const Case *c = cases + *(first); c < cases + NCASES && c < cases + *(first) + (per_test); c++)

enum { QUICK_PER_TEST = 8, REFERENCE_PER_TEST = 4 };

static void matches_reference(const Case *c)
{
    const ActDef *d = def_of(c);
    DualFn dual;
    JitModule *m = act_jit_duals(&d, 1, &dual);
    double tol = d->kinked ? 1e-6 : 1e-8, worst[2] = {0, 0};
    for (int i = 0; i < NV; i++)
        for (int j = 0; j < NV; j++)
            for (int r = 0; r < NR; r++) {
                double s11 = variances[i], s22 = variances[j], s12 = rhos[r] * sqrt(s11 * s22);
                double T, Td, D1[2], D2[2];
                dual(c->p, s11, s12, s22, &T, &Td);
                d->diag(d, c->p, s11, &D1[0], &D1[1]);
                d->diag(d, c->p, s22, &D2[0], &D2[1]);
                double got[2] = {T, Td};
                for (int w = 0; w < 2; w++) {
                    double scale = sqrt(fabs(D1[w] * D2[w]));
                    scale = scale > 0 ? scale : 1e-300;
                    /* a zero variance makes the correlation 0 */
                    double want = reference(d, c, w, s11, s11 * s22 > 0 ? rhos[r] : 0, s22, scale);
                    double e = act_rel_err(got[w], want, scale);
                    worst[w] = fmax(worst[w], e);
                    cr_expect_leq(e, tol, "%s(%g, %g, ...) %s at s11=%g s22=%g rho=%g: %.17g, reference %.17g (rel %.2g)",
                                  c->act, c->p[0], c->p[1], w ? "Td" : "T", s11, s22, rhos[r], got[w], want, e);
                }
            }
    if (getenv("NTKC_REPORT"))
        fprintf(stderr, "closed form %-18s p0=%-5g max rel err T %.2e  Td %.2e\n", c->act, c->p[0], worst[0],
                worst[1]);
    jit_free(m);
}

ParameterizedTestParameters(act_closed, matches_reference) { return groups_of(REFERENCE_PER_TEST); }

ParameterizedTest(size_t *first, act_closed, matches_reference, .timeout = TIMEOUT(4 * 120))
{
    FOR_CASES(c, first, REFERENCE_PER_TEST)
    matches_reference(c);
}

/* The table's diagonal map against the emitted dual at ρ = 1 (two
 * independent closed forms), and against a 1-D reference. */
static void diagonal_map(const Case *c)
{
    const ActDef *d = def_of(c);
    cr_assert_not_null(d->diag, "%s has no diagonal map", c->act);
    DualFn dual;
    JitModule *m = act_jit_duals(&d, 1, &dual);
    static const double ss[] = {0, 1e-12, 1e-3, 0.7, 1, 3.3, 20};
    for (size_t i = 0; i < sizeof ss / sizeof ss[0]; i++) {
        double s = ss[i], T, Td, DT, DTd;
        dual(c->p, s, s, s, &T, &Td);
        d->diag(d, c->p, s, &DT, &DTd);
        cr_expect_leq(act_rel_err(T, DT, 1e-300), 1e-12, "%s T(%g): dual %.17g, diag %.17g", c->act, s, T, DT);
        cr_expect_leq(act_rel_err(Td, DTd, 1e-300), 1e-12, "%s Td(%g): dual %.17g, diag %.17g", c->act, s, Td,
                      DTd);
    }
    jit_free(m);
}

ParameterizedTestParameters(act_closed, diagonal_map) { return groups_of(QUICK_PER_TEST); }

ParameterizedTest(size_t *first, act_closed, diagonal_map)
{
    FOR_CASES(c, first, QUICK_PER_TEST)
    diagonal_map(c);
}

/* Finite everywhere in the valid domain: extreme variances, correlations
 * rounded past ±1, one variance zero and the other huge. */
static void finite_at_the_edges(const Case *c)
{
    const ActDef *d = def_of(c);
    DualFn dual;
    JitModule *m = act_jit_duals(&d, 1, &dual);
    /* exp grows like e^(b²s): its true value overflows beyond s ~ 700/b². */
    double big = strcmp(c->act, "exp") == 0 ? 100 : 1e12;
    const double ss[] = {0, 4.9e-324, 1e-300, 1e-8, 1, big};
    enum { NEAR = 5 }; /* variances up to 1: where a 4e-16 change of Σ12 is a 4e-16 change of T */
    for (size_t i = 0; i < sizeof ss / sizeof ss[0]; i++)
        for (size_t j = 0; j < sizeof ss / sizeof ss[0]; j++)
            for (int sign = -1; sign <= 1; sign += 2) {
                double s11 = ss[i], s22 = ss[j], s12 = sign * sqrt(s11 * s22) * (1 + 4e-16), T, Td;
                for (int k = 0; k < 3; k++) {
                    double c12 = k == 0 ? s12 : (k == 1 ? 0.0 : 0.5 * s12);
                    dual(c->p, s11, c12, s22, &T, &Td);
                    cr_expect(isfinite(T) && isfinite(Td), "%s(%g): not finite at s11=%g s12=%g s22=%g: %g, %g",
                              c->act, c->p[0], s11, c12, s22, T, Td);
                }
                /* rounded past ±1 = at ±1 */
                if (i >= NEAR || j >= NEAR)
                    continue;
                double T1, Td1;
                dual(c->p, s11, sign * sqrt(s11 * s22), s22, &T1, &Td1);
                dual(c->p, s11, s12, s22, &T, &Td);
                cr_expect_leq(act_rel_err(T, T1, 1e-300), 1e-12, "%s: T past rho=%d", c->act, sign);
                cr_expect_leq(act_rel_err(Td, Td1, 1e-300), 1e-12, "%s: Td past rho=%d", c->act, sign);
            }
    jit_free(m);
}

ParameterizedTestParameters(act_closed, finite_at_the_edges) { return groups_of(QUICK_PER_TEST); }

ParameterizedTest(size_t *first, act_closed, finite_at_the_edges)
{
    FOR_CASES(c, first, QUICK_PER_TEST)
    finite_at_the_edges(c);
}

Test(act_closed, every_builtin_has_cases_and_compiles_together)
{
    size_t n;
    const ActDef *const *acts = act_builtins(&n);
    cr_assert_geq(n, 18);
    for (size_t i = 0; i < n; i++) {
        int found = act_kernel_only(acts[i]); /* no φ to integrate: test_exp_normalized.c */
        for (size_t k = 0; k < NCASES; k++)
            found += strcmp(cases[k].act, acts[i]->name) == 0;
        cr_expect(found > 0, "built-in '%s' has no test case in test_act_closed.c", acts[i]->name);
        cr_expect_not_null(acts[i]->diag, "built-in '%s' has no diagonal map", acts[i]->name);
        cr_expect_eq(act_lookup(acts[i]->name), acts[i]);
    }
    /* All c_dual texts in one unit: no clashing helper names. */
    DualFn *fns = malloc(n * sizeof *fns);
    JitModule *m = act_jit_duals(acts, n, fns);
    jit_free(m);
    free(fns);
}

/* The names, parameters and neural-tangents defaults. */
Test(act_closed, names_parameters_and_defaults)
{
    static const struct {
        const char *name;
        const char *params;
        int nrequired;
    } want[] = {
        {"relu", "", 0},
        {"leaky_relu", "alpha", 1},
        {"abs", "", 0},
        {"abrelu", "a b", 2},
        {"erf", "a=1 b=1 c=0", 0},
        {"sigmoid_like", "", 0},
        {"gelu", "", 0},
        {"sin", "a=1 b=1 c=0", 0},
        {"cos", "a=1 b=1 c=0", 0},
        {"sign", "", 0},
        {"step", "", 0},
        {"exp", "a=1 b=1", 0},
        {"gaussian", "a=1 b=-1", 0},
        {"rbf", "gamma=1", 0},
        {"monomial", "n", 1},
        {"rectified_monomial", "n", 1},
        {"polynomial", "c0 c1=0 c2=0 c3=0 c4=0 c5=0 c6=0 c7=0", 1},
        {"identity", "", 0},
        {"hermite", "n", 1},
        {"gabor", "", 0},
        {"exp_normalized", "gamma=1 shift=-1", 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const ActDef *d = act_lookup(want[i].name);
        cr_assert_not_null(d, "missing built-in %s", want[i].name);
        char buf[256] = "";
        for (int k = 0; k < d->nparams; k++) {
            size_t len = strlen(buf);
            if (k < d->nrequired)
                snprintf(buf + len, sizeof buf - len, "%s%s", k ? " " : "", d->params[k].name);
            else
                snprintf(buf + len, sizeof buf - len, "%s%s=%g", k ? " " : "", d->params[k].name, d->params[k].def);
        }
        cr_expect_str_eq(buf, want[i].params, "%s", want[i].name);
        cr_expect_eq(d->nrequired, want[i].nrequired, "%s", want[i].name);
    }
}

/* Issue 14: an input paired with itself (or with a copy of itself in the
 * second file) reaches an activation with Σ12 a few roundings away from
 * √(Σ11Σ22). Kinked duals snap correlations within 8 ulps of ±1 to ±1 (acos
 * and asin have an infinite slope there: one ulp of ρ moved sign's NNGP by
 * 9.5e-9 before); smooth ones move by ulps. Every built-in, within 1e-12 of
 * its value at ρ = ±1 exactly, from 1 to 7 ulps inside. */
static void snaps_near_plus_minus_one(const Case *c)
{
    const ActDef *d = def_of(c);
    DualFn dual;
    JitModule *m = act_jit_duals(&d, 1, &dual);
    static const double ss[][2] = {{1, 1}, {0.3, 2.7}, {2.5, 2.5}, {1e-3, 40}};
    for (size_t i = 0; i < sizeof ss / sizeof ss[0]; i++)
        for (int sign = -1; sign <= 1; sign += 2)
            for (int k = 1; k <= 7; k++) {
                double s11 = ss[i][0], s22 = ss[i][1], norm = sqrt(s11 * s22), T1, Td1, T, Td;
                if (strcmp(c->act, "exp") == 0 && s22 > 10)
                    continue; /* e^(b²s/2·4) is fine, but keep to where exp's kernel is O(1)-conditioned */
                dual(c->p, s11, sign * norm, s22, &T1, &Td1);
                dual(c->p, s11, sign * norm * (1 - k * 0x1p-53), s22, &T, &Td);
                double D1[2], D2[2];
                d->diag(d, c->p, s11, &D1[0], &D1[1]);
                d->diag(d, c->p, s22, &D2[0], &D2[1]);
                double scale[2] = {sqrt(fabs(D1[0] * D2[0])) + 1e-300, sqrt(fabs(D1[1] * D2[1])) + 1e-300};
                cr_expect_leq(act_rel_err(T, T1, scale[0]), 1e-12, "%s(%g): T at rho = %d(1 - %d ulps): %.17g vs %.17g",
                              c->act, c->p[0], sign, k, T, T1);
                cr_expect_leq(act_rel_err(Td, Td1, scale[1]), 1e-12,
                              "%s(%g): Td at rho = %d(1 - %d ulps): %.17g vs %.17g", c->act, c->p[0], sign, k, Td, Td1);
            }
    jit_free(m);
}

ParameterizedTestParameters(act_closed, snaps_near_plus_minus_one) { return groups_of(QUICK_PER_TEST); }

ParameterizedTest(size_t *first, act_closed, snaps_near_plus_minus_one)
{
    FOR_CASES(c, first, QUICK_PER_TEST)
    snaps_near_plus_minus_one(c);
}
