/* The range of scales a `quad N` rule is trusted on (formula_gh_check.h). */
#include "formula_gh_check.h"

#include <math.h>

/* E f(aZ), f = φ², φ'², φ, φ', by the rule; 0 when some term is not finite. */
static int gh_moments(const Sym *phi, const Sym *dphi, const double *z, const double *w, int n, double a,
                      double *out)
{
    for (int k = 0; k < 4; k++)
        out[k] = 0.0;
    for (int i = 0; i < n; i++) {
        double p = sym_eval(phi, a * z[i]), d = sym_eval(dphi, a * z[i]);
        if (!isfinite(p) || !isfinite(d))
            return 0;
        out[0] += w[i] * p * p;
        out[1] += w[i] * d * d;
        out[2] += w[i] * p;
        out[3] += w[i] * d;
    }
    return 1;
}

void formula_gh_check(const Sym *phi, const Sym *dphi, const FormulaQuad *ref, int kinked, const double *z,
                      const double *w, int n, FormulaGhCheck *out)
{
    *out = (FormulaGhCheck){0};
    /* The reference is checked up to ref->max_scale; at FORMULA_MAX_SCALE its
     * step shrinks with the scale and holds beyond (formula_quad.h). */
    double top = ref->max_scale >= FORMULA_MAX_SCALE ? FORMULA_GH_MAX_SCALE : ref->max_scale;
    for (double a = FORMULA_GH_MIN_SCALE; a <= top * (1 + 1e-12); a *= M_SQRT2) {
        double mr[4], mg[4];
        if (formula_ref_moments(phi, dphi, ref, kinked, a, mr) != FQ_OK || !gh_moments(phi, dphi, z, w, n, a, mg))
            return;
        int which = 0;
        double e = formula_moment_change(mg, mr, &which);
        if (!(e <= FORMULA_QUAD_TARGET)) {
            out->miss_err = e;
            out->miss_scale = a;
            out->miss_which = which;
            return;
        }
        out->err = fmax(out->err, e);
        out->max_scale = a;
    }
    out->unlimited = top == FORMULA_GH_MAX_SCALE && out->max_scale >= FORMULA_GH_MAX_SCALE * (1 - 1e-12);
}
