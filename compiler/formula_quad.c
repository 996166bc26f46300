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
static FormulaQuadStatus estimate(const Sym *phi, const Sym *dphi, double step, FormulaQuad *q, double *est)
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

static const double cutoffs[] = {6.4, 7.0, 7.6, 8.2, FORMULA_TRAP_L};
enum { NCUTOFFS = sizeof cutoffs / sizeof cutoffs[0] };

FormulaQuadStatus formula_quad_calibrate(const Sym *phi, const Sym *dphi, FormulaQuad *q)
{
    q->max_scale = 0.0;
    q->step = q->err_est = q->bad_x = q->bad_scale = 0.0;
    q->worst_which = 0;
    q->L = FORMULA_TRAP_L;
    /* Not finite at a node of the unit-variance rule: said at that variance. */
    double m1[4], t1;
    if (moments(phi, dphi, 0.125, FORMULA_TRAP_L, 1.0, m1, &t1, q) == FQ_NOT_FINITE)
        return FQ_NOT_FINITE;
    /* The range of scales the widest cutoff allows, then the narrowest
     * cutoff with the same range: fewer nodes (the cost is quadratic in them). */
    double widest;
    if (decay_range(phi, dphi, FORMULA_TRAP_L, q, &widest) != FQ_OK)
        return FQ_NOT_FINITE;
    if (widest < 1.0) {
        if (q->bad_scale == 0.0)
            q->bad_scale = 0.25;
        return FQ_NO_DECAY;
    }
    q->max_scale = widest;
    for (int c = 0; c < NCUTOFFS - 1; c++) {
        double range;
        if (decay_range(phi, dphi, cutoffs[c], q, &range) != FQ_OK)
            return FQ_NOT_FINITE;
        if (range >= widest) {
            q->L = cutoffs[c];
            break;
        }
    }
    double best = INFINITY;
    for (int k = 0; k <= 28; k++) {
        double step = pow(2.0, -k / 4.0), est;
        FormulaQuadStatus st = estimate(phi, dphi, step, q, &est);
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
