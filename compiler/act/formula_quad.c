/* Trapezoidal quadrature for smooth formula activations (see formula_quad.h). */
#include "formula_quad.h"

#include <math.h>
#include <stdlib.h>

int formula_trap_rule(double step, double L, double scale, double *z, double *w)
{
    double h = step / (scale > 1.0 ? scale : 1.0);
    double nn = floor(L / h);
    if (!(nn <= FORMULA_TRAP_MAX))
        return -1;
    int n = (int)nn;
    double total = 0.0;
    for (int m = n; m >= 0; m--) { /* smallest first */
        z[m] = m * h;
        w[m] = exp(-0.5 * z[m] * z[m]);
        total += m ? 2.0 * w[m] : w[m];
    }
    for (int m = 0; m <= n; m++)
        w[m] /= total;
    return n;
}

/* E f(aZ) for f = φ², φ'², φ, φ' by the rule (step, a); 0 or a status. */
static FormulaQuadStatus moments(const Sym *phi, const Sym *dphi, double step, double L, double a, double *out,
                                 double *tail, FormulaQuad *q)
{
    static const int which_of[4] = {0, 1, 0, 1};
    double *z = malloc(2 * (FORMULA_TRAP_MAX + 1) * sizeof *z), *w = z + FORMULA_TRAP_MAX + 1;
    if (z == NULL)
        return FQ_NO_CONVERGE;
    int n = formula_trap_rule(step, L, a, z, w);
    if (n < 0) {
        free(z);
        return FQ_NO_CONVERGE;
    }
    double absum[4] = {0, 0, 0, 0}, end[4] = {0, 0, 0, 0};
    for (int k = 0; k < 4; k++)
        out[k] = 0.0;
    for (int m = n; m >= -n; m--) {
        double x = a * z[abs(m)] * (m < 0 ? -1 : 1), wm = w[abs(m)];
        double v[2] = {sym_eval(phi, x), sym_eval(dphi, x)};
        for (int k = 0; k < 2; k++)
            if (!isfinite(v[k])) {
                q->bad_x = x;
                q->bad_scale = a;
                q->worst_which = k;
                free(z);
                return FQ_NOT_FINITE;
            }
        double f[4] = {v[0] * v[0], v[1] * v[1], v[0], v[1]};
        for (int k = 0; k < 4; k++) {
            out[k] += wm * f[k];
            absum[k] += wm * fabs(f[k]);
            if (abs(m) == n)
                end[k] += wm * fabs(f[k]);
        }
    }
    *tail = 0.0;
    double hl = n > 0 ? z[1] * z[n] : 1.0; /* h·L as the rule has it */
    for (int k = 0; k < 4; k++)
        if (absum[k] > 0 && end[k] / (absum[k] * hl) > *tail) {
            *tail = end[k] / (absum[k] * hl);
            q->worst_which = which_of[k];
        }
    free(z);
    return FQ_OK;
}

static const double scales[] = {0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0};
enum { NSCALES = sizeof scales / sizeof scales[0] };

/* Largest relative change of the moments from step to step/2 over the scales
 * up to q->max_scale. */
static FormulaQuadStatus estimate(const Sym *phi, const Sym *dphi, FormulaQuad *q, double step, double *est)
{
    *est = 0.0;
    for (int s = 0; s < NSCALES && scales[s] <= q->max_scale; s++) {
        double m1[4], m2[4], tail;
        if (q->L * scales[s] / (0.5 * step) > FORMULA_TRAP_MAX)
            break; /* beyond the node budget: checked up to here */
        FormulaQuadStatus st = moments(phi, dphi, step, q->L, scales[s], m1, &tail, q);
        if (st == FQ_OK)
            st = moments(phi, dphi, 0.5 * step, q->L, scales[s], m2, &tail, q);
        if (st != FQ_OK)
            return st;
        for (int k = 0; k < 4; k++) {
            /* E φ and E φ' against the size of E φ² and E φ'² (odd φ: E φ = 0) */
            double size = k < 2 ? fabs(m2[k]) : sqrt(fabs(m2[k - 2]));
            double e = fabs(m1[k] - m2[k]) / (size > 0 ? size : 1e-300);
            if (m1[k] == m2[k])
                e = 0.0;
            if (e > *est) {
                *est = e;
                q->worst_which = k % 2;
                q->bad_scale = scales[s];
            }
        }
    }
    return FQ_OK;
}

/* The largest scale (of the ladder, from 1/4) up to which the integrand
 * has decayed at |z| = L, with a fine step; 0 when not even at 1/4. */
static FormulaQuadStatus decay_range(const Sym *phi, const Sym *dphi, double L, FormulaQuad *q, double *range)
{
    *range = 0.0;
    for (int s = 0; s < NSCALES; s++) {
        double m[4], tail;
        FormulaQuadStatus st = moments(phi, dphi, 0.125, L, scales[s], m, &tail, q);
        if (st == FQ_NOT_FINITE)
            return st;
        if (st != FQ_OK || tail > FORMULA_TAIL_LIMIT) {
            q->bad_scale = scales[s];
            break;
        }
        *range = scales[s];
    }
    return FQ_OK;
}

typedef FormulaQuadStatus (*StepEstimate)(const Sym *phi, const Sym *dphi, FormulaQuad *q, double step,
                                          double *est);

/* Walks the steps first·2^(−k/per), k = 0..last, coarse to fine, and keeps
 * the first whose estimated error meets FORMULA_QUAD_TARGET (q->step and
 * q->err_est); FQ_NO_CONVERGE with the best estimate when none does. */
static FormulaQuadStatus search_step(const Sym *phi, const Sym *dphi, FormulaQuad *q, StepEstimate estimate_at,
                                     double first, double per, int last)
{
    double best = INFINITY;
    for (int k = 0; k <= last; k++) {
        double step = first * pow(2.0, -k / per), est;
        FormulaQuadStatus st = estimate_at(phi, dphi, q, step, &est);
        if (st == FQ_NOT_FINITE)
            return st;
        if (st != FQ_OK)
            break;
        if (est < best)
            best = est;
        if (est <= FORMULA_QUAD_TARGET) {
            q->step = step;
            q->err_est = est;
            return FQ_OK;
        }
    }
    q->err_est = best;
    return FQ_NO_CONVERGE;
}
/* Cutoffs beyond FORMULA_TRAP_L are for integrands that peak away from 0
 * (exp(2x)·ϕ peaks at z = 4) or decay slower than ϕ (exp(x²/8)² ϕ at unit
 * variance decays like exp(−z²/4)): integrals that exist, whose mass sits
 * beyond |z| = 8.8. */
static const double cutoffs[] = {6.4, 7.0, 7.6, 8.2, FORMULA_TRAP_L, 10.5, 12.5, 15.0, 18.0, 22.0, 27.0, 33.0};
enum { NCUTOFFS = sizeof cutoffs / sizeof cutoffs[0] };

FormulaQuadStatus formula_quad_calibrate(const Sym *phi, const Sym *dphi, FormulaQuad *q)
{
    q->map_eps = q->map_kappa = q->map_hg = q->map_err = q->map_max_scale = 0.0;
    q->max_scale = 0.0;
    q->step = q->err_est = q->bad_x = q->bad_scale = 0.0;
    q->worst_which = 0;
    q->L = FORMULA_TRAP_L;
    /* Not finite at a node of the unit-variance rule: said at that variance. */
    double m1[4], t1;
    if (moments(phi, dphi, 0.125, FORMULA_TRAP_L, 1.0, m1, &t1, q) == FQ_NOT_FINITE)
        return FQ_NOT_FINITE;
    /* The largest range of scales any cutoff allows (the node budget bounds
     * the wide ones at large scales), then the narrowest cutoff with that
     * range: fewer nodes (the cost is quadratic in them). */
    double range[NCUTOFFS] = {0}, widest = 0.0, bad_scale = 0.0;
    int worst = 0;
    for (int c = 0; c < NCUTOFFS; c++) {
        FormulaQuad probe = *q;
        if (decay_range(phi, dphi, cutoffs[c], &probe, &range[c]) != FQ_OK) {
            if (cutoffs[c] > FORMULA_TRAP_L) { /* overflow far out: the narrower cutoffs stand */
                range[c] = 0.0;
                break;
            }
            *q = probe;
            return FQ_NOT_FINITE;
        }
        if (c == 0 || range[c] > widest) {
            widest = range[c];
            bad_scale = probe.bad_scale;
            worst = probe.worst_which;
        }
        if (c >= 4 && range[c] >= FORMULA_MAX_SCALE)
            break;
    }
    if (widest < 1.0) {
        q->bad_scale = bad_scale > 0.0 ? bad_scale : 0.25;
        q->worst_which = worst;
        q->max_scale = widest; /* 0, or the scales below 1 where it decays */
        return FQ_NO_DECAY;
    }
    q->max_scale = widest;
    for (int c = 0; c < NCUTOFFS; c++)
        if (range[c] >= widest) {
            q->L = cutoffs[c];
            break;
        }
    FormulaQuadStatus st = search_step(phi, dphi, q, estimate, 1.0, 4.0, 28);
    if (st == FQ_OK)
        formula_quad_calibrate_map(phi, dphi, q);
    return st;
}

/* ---- kinked formulas -------------------------------------------------- */

void formula_gauss_legendre(int n, double *x, double *w)
{
    for (int i = 0; i < n; i++) {
        double t = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1.0;
        for (int it = 0; it < 100; it++) {
            double p0 = 1.0, p1 = t;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2 * k - 1) * t * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = n * (t * p1 - p0) / (t * t - 1.0);
            double dt = p1 / dp;
            t -= dt;
            if (fabs(dt) < 1e-16)
                break;
        }
        x[i] = t;
        w[i] = 2.0 / ((1.0 - t * t) * dp * dp);
    }
}

/* One text, compiled here and emitted into kernels (FORMULA_KINK_RULE_C). */
#define KINK_RULE_TEXT                                                                                               \
    static int ntkc_kink_panels(double lo, double hi, double len, const double *gx, const double *gw, double *z,    \
                                double *w, int n)                                                                   \
    {                                                                                                               \
        if (!(hi > lo))                                                                                             \
            return n;                                                                                               \
        double np = -floor(-(hi - lo) / len);                                                                       \
        if (!(np * FORMULA_GL_POINTS + n <= FORMULA_PANEL_CAP))                                                     \
            return -1;                                                                                              \
        int m = (int)np;                                                                                            \
        double hw = 0.5 * (hi - lo) / m;                                                                            \
        for (int p = 0; p < m; p++) {                                                                               \
            double mid = lo + (2 * p + 1) * hw;                                                                     \
            for (int i = 0; i < FORMULA_GL_POINTS; i++) {                                                           \
                double zz = mid + hw * gx[i];                                                                       \
                z[n] = zz;                                                                                          \
                w[n++] = hw * gw[i] * 0.398942280401432677939946 * exp(-0.5 * zz * zz);                             \
            }                                                                                                       \
        }                                                                                                           \
        return n;                                                                                                   \
    }                                                                                                               \
    static int ntkc_kink_rule(double *bp, int nb, double L, double len, const double *wc, int nw, double wh,        \
                              double wlen, const double *gx, const double *gw, double *z, double *w)                \
    {                                                                                                               \
        bp[nb++] = -L;                                                                                              \
        bp[nb++] = L;                                                                                               \
        for (int i = 1; i < nb; i++)                                                                                \
            for (int j = i; j > 0 && bp[j - 1] > bp[j]; j--) {                                                      \
                double t = bp[j];                                                                                   \
                bp[j] = bp[j - 1];                                                                                  \
                bp[j - 1] = t;                                                                                      \
            }                                                                                                       \
        int n = 0;                                                                                                  \
        for (int i = 0; i + 1 < nb && n >= 0; i++) {                                                                \
            double lo = bp[i] < -L ? -L : bp[i], hi = bp[i + 1] > L ? L : bp[i + 1], l = len;                      \
            for (int j = 0; j < nw; j++)                                                                            \
                if (fabs(0.5 * (lo + hi) - wc[j]) < wh && wlen < l)                                                 \
                    l = wlen;                                                                                       \
            n = ntkc_kink_panels(lo, hi, l, gx, gw, z, w, n);                                                       \
        }                                                                                                           \
        return n;                                                                                                   \
    }
#define KINK_STR(...) #__VA_ARGS__
#define KINK_XSTR(...) KINK_STR(__VA_ARGS__)

KINK_RULE_TEXT

const char formula_kink_rule_c[] = KINK_XSTR(KINK_RULE_TEXT);

int formula_kink_rule(double *bp, int nb, double L, double len, const double *wc, int nw, double wh, double wlen,
                      const double *gx, const double *gw, double *z, double *w)
{
    return ntkc_kink_rule(bp, nb, L, len, wc, nw, wh, wlen, gx, gw, z, w);
}

/* Panel length at scale a: the Gaussian's and φ's. */
static double kink_len(double step, double pz, double a)
{
    return fmin(pz, step / (a > 1.0 ? a : 1.0));
}

/* E φ², E φ'², E φ, E φ' at scale a by the kinked rule. */
static FormulaQuadStatus kink_moments(const Sym *phi, const Sym *dphi, const FormulaQuad *q, double step, double pz,
                                      double L, double a, double *out, FormulaQuad *qo)
{
    double gx[FORMULA_GL_POINTS], gw[FORMULA_GL_POINTS], bp[FORMULA_KINKS_MAX + 2];
    formula_gauss_legendre(FORMULA_GL_POINTS, gx, gw);
    for (int k = 0; k < q->nkinks; k++)
        bp[k] = q->kinks[k] / a;
    double *z = malloc(2 * FORMULA_PANEL_CAP * sizeof *z), *w = z + FORMULA_PANEL_CAP;
    if (z == NULL)
        return FQ_NO_CONVERGE;
    int n = formula_kink_rule(bp, q->nkinks, L, kink_len(step, pz, a), NULL, 0, 0.0, 0.0, gx, gw, z, w);
    if (n < 0) {
        free(z);
        return FQ_NO_CONVERGE;
    }
    for (int k = 0; k < 4; k++)
        out[k] = 0.0;
    for (int i = 0; i < n; i++) {
        double x = a * z[i], v[2] = {sym_eval(phi, x), sym_eval(dphi, x)};
        for (int k = 0; k < 2; k++)
            if (!isfinite(v[k])) {
                qo->bad_x = x;
                qo->bad_scale = a;
                qo->worst_which = k;
                free(z);
                return FQ_NOT_FINITE;
            }
        double f[4] = {v[0] * v[0], v[1] * v[1], v[0], v[1]};
        for (int k = 0; k < 4; k++)
            out[k] += w[i] * f[k];
    }
    free(z);
    return FQ_OK;
}

/* ∫ |f| ϕ over L < |z| < FORMULA_KINK_L_CHECK at scale a, f = φ², φ'², φ, φ'. */
static FormulaQuadStatus kink_tail(const Sym *phi, const Sym *dphi, double a, double *out)
{
    double gx[FORMULA_GL_POINTS], gw[FORMULA_GL_POINTS];
    formula_gauss_legendre(FORMULA_GL_POINTS, gx, gw);
    double *z = malloc(2 * FORMULA_PANEL_CAP * sizeof *z), *w = z + FORMULA_PANEL_CAP;
    if (z == NULL)
        return FQ_NO_CONVERGE;
    for (int k = 0; k < 4; k++)
        out[k] = 0.0;
    for (int side = -1; side <= 1; side += 2) {
        int n = ntkc_kink_panels(FORMULA_KINK_L, FORMULA_KINK_L_CHECK, kink_len(0.25, 0.5, a), gx, gw, z, w, 0);
        if (n < 0) {
            free(z);
            return FQ_NO_CONVERGE;
        }
        for (int i = 0; i < n; i++) {
            double x = side * a * z[i], v[2] = {sym_eval(phi, x), sym_eval(dphi, x)};
            if (!isfinite(v[0]) || !isfinite(v[1])) {
                free(z);
                return FQ_NO_CONVERGE; /* overflow out there: no decay */
            }
            double f[4] = {v[0] * v[0], v[1] * v[1], v[0], v[1]};
            for (int k = 0; k < 4; k++)
                out[k] += w[i] * fabs(f[k]);
        }
    }
    free(z);
    return FQ_OK;
}

/* Largest relative difference of the moments between two rules. */
double formula_moment_change(const double *m1, const double *m2, int *which)
{
    double est = 0.0;
    for (int k = 0; k < 4; k++) {
        double size = k < 2 ? fabs(m2[k]) : sqrt(fabs(m2[k - 2]));
        double e = m1[k] == m2[k] ? 0.0 : fabs(m1[k] - m2[k]) / (size > 0 ? size : 1e-300);
        if (e > est) {
            est = e;
            *which = k % 2;
        }
    }
    return est;
}

/* The largest relative change at the scales up to q->max_scale from the rule
 * (step, pz) to one with step/2 (and to one with pz/2: both resolutions). */
static FormulaQuadStatus kink_estimate(const Sym *phi, const Sym *dphi, FormulaQuad *q, double step, double *est)
{
    *est = 0.0;
    for (int s = 0; s < NSCALES && scales[s] <= q->max_scale; s++) {
        double m[3][4];
        FormulaQuadStatus st = kink_moments(phi, dphi, q, step, FORMULA_PANEL_Z, FORMULA_KINK_L, scales[s], m[0], q);
        if (st == FQ_OK)
            st = kink_moments(phi, dphi, q, 0.5 * step, FORMULA_PANEL_Z, FORMULA_KINK_L, scales[s], m[1], q);
        if (st == FQ_OK)
            st = kink_moments(phi, dphi, q, step, 0.5 * FORMULA_PANEL_Z, FORMULA_KINK_L, scales[s], m[2], q);
        if (st != FQ_OK)
            return st;
        for (int r = 1; r < 3; r++) {
            int which = 0;
            double e = formula_moment_change(m[0], m[r], &which);
            if (e > *est) {
                *est = e;
                q->worst_which = which;
                q->bad_scale = scales[s];
            }
        }
    }
    return FQ_OK;
}

FormulaQuadStatus formula_quad_calibrate_kinked(const Sym *phi, const Sym *dphi, FormulaQuad *q)
{
    q->map_eps = q->map_kappa = q->map_hg = q->map_err = q->map_max_scale = 0.0;
    q->max_scale = 0.0;
    q->step = q->err_est = q->bad_x = q->bad_scale = 0.0;
    q->worst_which = 0;
    q->L = FORMULA_KINK_L;
    /* The scales at which the part beyond L is negligible: the moments of
     * |f| over L < |z| < FORMULA_KINK_L_CHECK (a fine rule) against the
     * moments over |z| < L (a coarse one: only their size matters). */
    for (int s = 0; s < NSCALES; s++) {
        double m[4], tail[4];
        FormulaQuadStatus st = kink_moments(phi, dphi, q, 64.0, 1.0, FORMULA_KINK_L, scales[s], m, q);
        if (st == FQ_OK)
            st = kink_tail(phi, dphi, scales[s], tail);
        if (st == FQ_NOT_FINITE)
            return st;
        int over = st != FQ_OK;
        for (int k = 0; k < 4 && !over; k++) {
            double size = k < 2 ? fabs(m[k]) : sqrt(fabs(m[k - 2]));
            if (tail[k] > FORMULA_TAIL_LIMIT * (size > 0 ? size : 1e-300)) {
                over = 1;
                q->worst_which = k % 2;
            }
        }
        if (over) {
            q->bad_scale = scales[s];
            break;
        }
        q->max_scale = scales[s];
    }
    if (q->max_scale < 1.0)
        return FQ_NO_DECAY;
    return search_step(phi, dphi, q, kink_estimate, 64.0, 2.0, 24);
}

/* ---- the reference for other rules ----------------------------------- */

FormulaQuadStatus formula_ref_moments(const Sym *phi, const Sym *dphi, const FormulaQuad *q, int kinked, double a,
                                      double *out)
{
    FormulaQuad scratch = *q;
    if (kinked) {
        FormulaQuadStatus st =
            kink_moments(phi, dphi, q, 0.5 * q->step, 0.5 * FORMULA_PANEL_Z, FORMULA_KINK_L, a, out, &scratch);
        return st != FQ_NO_CONVERGE ? st
                                    : kink_moments(phi, dphi, q, q->step, FORMULA_PANEL_Z, FORMULA_KINK_L, a, out,
                                                   &scratch);
    }
    double tail;
    FormulaQuadStatus st = moments(phi, dphi, 0.5 * q->step, q->L, a, out, &tail, &scratch);
    return st != FQ_NO_CONVERGE ? st : moments(phi, dphi, q->step, q->L, a, out, &tail, &scratch);
}

/* ---- the mapped rule for large scales --------------------------------- */

/* One text, compiled here and emitted into kernels (formula_map_rule_c). The
 * spacing is written hg/(1 + A/cosh) so that cosh's overflow far out gives hg. */
#define MAP_RULE_TEXT                                                                                                \
    static int ntkc_map_rule(double eps, double hg, double kappa, double zmax, int nmax, double *g, double *dg)       \
    {                                                                                                                \
        double A = hg / eps - 1.0;                                                                                   \
        if (!(A > 1.0) || !(kappa > 0.0))                                                                            \
            return -1;                                                                                               \
        double beta = sqrt((A - 1.0) / (A + 1.0)), C = 2.0 * A / (kappa * sqrt((A - 1.0) * (A + 1.0)));              \
        for (int j = 0; j <= nmax; j++) {                                                                            \
            g[j] = hg * (j - C * atanh(beta * tanh(0.5 * kappa * j)));                                               \
            dg[j] = hg / (1.0 + A / cosh(kappa * j));                                                                \
            if (g[j] > zmax)                                                                                         \
                return j;                                                                                            \
        }                                                                                                            \
        return -1;                                                                                                   \
    }

MAP_RULE_TEXT

const char formula_map_rule_c[] = KINK_XSTR(MAP_RULE_TEXT);

int formula_map_rule(double eps, double hg, double kappa, double zmax, double *g, double *dg)
{
    return ntkc_map_rule(eps, hg, kappa, zmax, FORMULA_TRAP_MAX, g, dg);
}

/* The mapped rule's spacing at φ's centre is the uniform rule's step (which
 * resolves φ's features to the target); it saturates at MAP_HG (the
 * Gaussian's resolution: the trapezoid's error on it is ~exp(−2π²/hg²)); the
 * growth e^κ between is what the ladder chooses, from MAP_KAPPA0 down. */
#define MAP_KAPPA0 0.4
#define MAP_HG 0.5

FormulaQuadStatus formula_map_moments(const Sym *phi, const Sym *dphi, const FormulaQuad *q, double r, double a,
                                      double zs, double bump, double *out)
{
    double *g = malloc(2 * (FORMULA_TRAP_MAX + 1) * sizeof *g), *dg = g + FORMULA_TRAP_MAX + 1;
    if (g == NULL)
        return FQ_NO_CONVERGE;
    int n = formula_map_rule(r * q->map_eps / a, r * q->map_hg, r * q->map_kappa, q->L + fabs(zs), g, dg);
    if (n < 0) {
        free(g);
        return FQ_NO_CONVERGE;
    }
    double total = 0.0;
    for (int k = 0; k < 4; k++)
        out[k] = 0.0;
    for (int j = n; j >= -n; j--) { /* far nodes first */
        double z = zs + (j < 0 ? -g[-j] : g[j]);
        if (fabs(z) > q->L)
            continue;
        double w = exp(-0.5 * z * z) * dg[abs(j)], x = a * (z - zs);
        total += w; /* the Gaussian's mass: the bump's moments are parts of E f */
        if (bump > 0.0)
            w *= exp(-0.5 * (z - zs) * (z - zs) / (bump * bump));
        double v[2] = {sym_eval(phi, x), sym_eval(dphi, x)};
        if (!isfinite(v[0]) || !isfinite(v[1])) {
            free(g);
            return FQ_NOT_FINITE;
        }
        double f[4] = {v[0] * v[0], v[1] * v[1], v[0], v[1]};
        for (int k = 0; k < 4; k++)
            out[k] += w * f[k];
    }
    for (int k = 0; k < 4; k++)
        out[k] /= total;
    free(g);
    return FQ_OK;
}

/* Where the inner integral of a dual puts φ's centre: at the Gaussian's
 * middle, off it, at its edge and beyond; then (bumps[o − NOFFSETS] > 0)
 * centred, times a Gaussian bump of width a^(−bump): the outer integrand of
 * a dual is φ(aZ) times E[φ(v) | Z], which is such a bump of any width from
 * 1/a to 1 (Gaussian in z, hence the rule's geometric part must resolve
 * exp(−e^(2s)) in s = log z: growth e^κ a node with κ <= ~0.17). */
static const double map_offsets[] = {0.0, 0.61, 1.9, 4.3, 7.7, 0.0, 0.0, 0.0};
static const double map_bumps[] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.5, 0.75};
enum { NOFFSETS = sizeof map_offsets / sizeof map_offsets[0] };

/* The largest change of the moments from the mapped rule r to r/2 over
 * scales 2..FORMULA_MAP_MAX_SCALE and the offsets, relative to the size of
 * the centred moments (E φ(aZ)², E φ'(aZ)² and their roots): the scale of a
 * dual's error, which an off-centre inner integral (tiny when φ's centre is
 * far out) adds to with the outer weights; *top: the largest scale checked
 * (both rules within the node budget). Stops once over the target. */
static FormulaQuadStatus map_estimate(const Sym *phi, const Sym *dphi, const FormulaQuad *q, double r, double *est,
                                      double *top)
{
    *est = 0.0;
    *top = 0.0;
    for (double a = 2.0; a <= FORMULA_MAP_MAX_SCALE; a *= 2.0) {
        double size[4];
        if (a * q->map_hg <= 2.0 * q->map_eps)
            continue; /* no mapped rule this fine (A <= 1): the uniform one serves */
        for (int o = 0; o < NOFFSETS; o++) {
            double m1[4], m2[4];
            double bump = map_bumps[o] > 0.0 ? pow(a, -map_bumps[o]) : 0.0;
            FormulaQuadStatus st = formula_map_moments(phi, dphi, q, r, a, map_offsets[o], bump, m1);
            if (st == FQ_OK)
                st = formula_map_moments(phi, dphi, q, 0.5 * r, a, map_offsets[o], bump, m2);
            if (st == FQ_NO_CONVERGE && *top > 0.0)
                return FQ_OK; /* the node budget: checked up to *top */
            if (st != FQ_OK)
                return st;
            for (int k = 0; o == 0 && k < 4; k++) /* map_offsets[0] = 0 */
                size[k] = k < 2 ? fabs(m2[k]) : sqrt(fabs(m2[k - 2]));
            for (int k = 0; k < 4; k++) {
                double e = m1[k] == m2[k] ? 0.0 : fabs(m1[k] - m2[k]) / (size[k] > 0 ? size[k] : 1e-300);
                *est = e > *est ? e : *est;
            }
            if (*est > FORMULA_QUAD_TARGET)
                return FQ_OK; /* this rule fails: no need to look further */
        }
        *top = a;
    }
    return FQ_OK;
}

void formula_quad_calibrate_map(const Sym *phi, const Sym *dphi, FormulaQuad *q)
{
    FormulaQuad m = *q;
    m.map_eps = q->step;
    m.map_hg = MAP_HG;
    q->map_eps = q->map_kappa = q->map_hg = q->map_err = q->map_max_scale = 0.0;
    /* Only where the integrand's decay was found for every scale (the
     * uniform rule's checks stop at FORMULA_MAX_SCALE). */
    if (q->max_scale < FORMULA_MAX_SCALE)
        return;
    for (int k = 0; k <= 16; k++) {
        double est, top;
        m.map_kappa = MAP_KAPPA0 * pow(2.0, -k / 4.0);
        if (map_estimate(phi, dphi, &m, 1.0, &est, &top) != FQ_OK)
            return;
        if (est <= FORMULA_QUAD_TARGET && top >= FORMULA_MAX_SCALE) {
            q->map_eps = m.map_eps;
            q->map_kappa = m.map_kappa;
            q->map_hg = m.map_hg;
            q->map_err = est;
            q->map_max_scale = top;
            return;
        }
    }
}
