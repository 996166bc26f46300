/* Formula activations, step two: derivative, checks on the quadrature
 * nodes, the emitted C, the ActDef, and the per-net cache of instances. */
#include "act_formula.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "c_text.h"
#include "formula_quad.h"
#include "gauss_hermite.h"
#include "strbuf.h"

static int uses_kink(const Sym *e)
{
    if (e == NULL)
        return 0;
    if (e->kind == SYM_CALL &&
        (e->fn == FN_ABS || e->fn == FN_SIGN || e->fn == FN_STEP || e->fn == FN_MAX || e->fn == FN_MIN))
        return 1;
    return uses_kink(e->a) || uses_kink(e->b);
}

/* The kinks of e: where the argument g of abs, sign or step (g = a − b for
 * max and min) crosses 0, found in closed form when g is affine in x (its
 * simplified derivative a constant). Adds them to q (deduplicated); 0 when
 * some g is not affine or there are too many. */
static int find_kinks(SymCtx *c, const Sym *e, FormulaQuad *q)
{
    if (e == NULL || e->kind == SYM_NUM || e->kind == SYM_X)
        return 1;
    if (e->kind == SYM_CALL &&
        (e->fn == FN_ABS || e->fn == FN_SIGN || e->fn == FN_STEP || e->fn == FN_MAX || e->fn == FN_MIN)) {
        const Sym *g = e->b ? sym_sub(c, e->a, e->b, e->pos) : e->a, *dg = g ? sym_diff(c, g) : NULL;
        if (dg == NULL || dg->kind != SYM_NUM)
            return 0;
        if (dg->num != 0.0) {
            double k = -sym_eval(g, 0.0) / dg->num + 0.0; /* no -0 */
            int seen = 0;
            for (int i = 0; i < q->nkinks; i++)
                seen |= q->kinks[i] == k;
            if (!seen) {
                if (q->nkinks == FORMULA_KINKS_MAX || !isfinite(k))
                    return 0;
                q->kinks[q->nkinks++] = k;
            }
        }
    }
    return find_kinks(c, e->a, q) && find_kinks(c, e->b, q);
}

/* φ (or φ') must be finite on every node: a quadrature through a pole or
 * outside the domain silently returns garbage. */
static void report_not_finite(Arena *a, const Formula *f, const Sym *e, const char *what, double x, double scale,
                              Diag *err, const char *src)
{
    const Sym *culprit;
    double v = sym_eval_blame(e, x, &culprit);
    StrBuf sb;
    sb_init(&sb);
    sym_print(&sb, culprit ? culprit : e, f->decl->var);
    char *term = arena_strdup(a, sb.data ? sb.data : "");
    sb_free(&sb);
    double tv = culprit ? sym_eval(culprit, x) : v;
    const char *where = scale == 1.0 ? "unit variance" : arena_printf(a, "variance %g", scale * scale);
    diag_at(err, culprit ? culprit->pos : f->decl->pos, src,
            "%s of '%s' is not finite at %s = %.17g, a quadrature node at %s: %s is %s there%s", what,
            f->decl->name, f->decl->var, x, where, term, isnan(tv) ? "not a number" : (tv > 0 ? "+inf" : "-inf"),
            x != 0 ? "" : f->trap ? " (the rule has a node at 0)" : " (an odd number of points has a node at 0; an even 'quad N' has none)");
}

static int check_nodes(Arena *a, const Formula *f, const Sym *e, const char *what, Diag *err, const char *src)
{
    for (int i = 0; i < f->nodes; i++) {
        if (isfinite(sym_eval(e, f->z[i])))
            continue;
        report_not_finite(a, f, e, what, f->z[i], 1.0, err, src);
        return 0;
    }
    return 1;
}

/* Chooses the trapezoidal step (formula_quad.h), or says why there is none. */
static int calibrate(Arena *a, Formula *f, Diag *err, const char *src)
{
    FormulaQuadStatus st = f->kinked ? formula_quad_calibrate_kinked(f->phi, f->dphi, &f->tq)
                                     : formula_quad_calibrate(f->phi, f->dphi, &f->tq);
    const char *what = f->tq.worst_which ? "the derivative" : "the formula";
    switch (st) {
    case FQ_OK:
        return 1;
    case FQ_NOT_FINITE:
        report_not_finite(a, f, f->tq.worst_which ? f->dphi : f->phi, what, f->tq.bad_x, f->tq.bad_scale, err, src);
        return 0;
    case FQ_NO_DECAY:
        diag_at(err, f->decl->pos, src,
                "%s of '%s' grows too fast: its square does not decay against the Gaussian weight at variance %g "
                "(the dual kernel's integral diverges or is dominated by |%s| > %g)%s",
                what, f->decl->name, f->tq.bad_scale * f->tq.bad_scale, f->decl->var,
                f->tq.L * f->tq.bad_scale,
                f->tq.max_scale > 0 ? arena_printf(a, "; it decays only at variances up to %g",
                                                   f->tq.max_scale * f->tq.max_scale)
                                    : "");
        return 0;
    case FQ_NO_CONVERGE:
        break;
    }
    diag_at(err, f->decl->pos, src,
            "the Gaussian integrals of %s of '%s' do not converge (best relative change %.2g at variance %g, target "
            "%g): a pole on or next to the real line, or a kink",
            what, f->decl->name, f->tq.err_est, f->tq.bad_scale * f->tq.bad_scale, FORMULA_QUAD_TARGET);
    return 0;
}

/* A Gauss–Hermite rule ('quad N', or the default for kinks ntkc cannot
 * locate): where it meets the target against the calibrated rule
 * (formula_gh_check.h); f->refusal says why nets may not use it when that is
 * not even at unit variance, or when there is no reference to check it by. */
static void check_gauss_hermite(Arena *a, Formula *f, int kinks_located, const char *src)
{
    Diag *why = arena_alloc(a, sizeof *why);
    diag_clear(why);
    f->gh = (FormulaGhCheck){0};
    if (!kinks_located) {
        diag_at(why, f->decl->pos, src,
                "the kinks of '%s' (abs, sign, step, max or min of an argument not affine in %s) cannot be located, "
                "and Gauss-Hermite quadrature through a kink misses the error target %g by orders of magnitude "
                "(~1e-2); write the kinks with affine arguments (max(x, 0), abs(2*x - 1)) so that the integrals "
                "are split at them",
                f->decl->name, f->decl->var, FORMULA_QUAD_TARGET);
        f->refusal = why;
        return;
    }
    if (!calibrate(a, f, why, src)) { /* no reference: the integral itself is in question */
        f->refusal = why;
        return;
    }
    formula_gh_check(f->phi, f->dphi, &f->tq, f->kinked, f->z, f->w, f->nodes, &f->gh);
    if (f->gh.max_scale >= 1.0)
        return;
    diag_at(why, f->decl->quad ? f->decl->quad_pos : f->decl->pos, src,
            "'quad %d' cannot meet the error target of '%s': %d-point Gauss-Hermite quadrature of %s is %.2g "
            "relative off at variance %g (target %g)%s; remove 'quad %d' (the default rule meets the target at "
            "every variance) or raise the number of points",
            f->quad, f->decl->name, f->quad, f->gh.miss_which ? "the derivative" : "the formula", f->gh.miss_err,
            f->gh.miss_scale * f->gh.miss_scale, FORMULA_QUAD_TARGET,
            f->gh.max_scale > 0 ? arena_printf(a, ", meeting it only up to variance %g",
                                               f->gh.max_scale * f->gh.max_scale)
                                : "",
            f->quad);
    f->refusal = why;
}

const Formula *formula_build(Arena *a, const Program *prog, const FormulaConsts *consts, const ActDecl *decl,
                             const double *values, Diag *err)
{
    if (decl->nparams > ACT_MAX_PARAMS) {
        diag_at(err, decl->params[ACT_MAX_PARAMS].pos, prog->src,
                "activation '%s' has %zu parameters; at most %d are supported", decl->name, decl->nparams,
                ACT_MAX_PARAMS);
        return NULL;
    }
    SymCtx c = {a, err, prog->src};
    Formula *f = arena_alloc(a, sizeof *f);
    f->decl = decl;
    f->phi = formula_resolve(&c, prog, consts, decl, values);
    f->dphi = sym_diff(&c, f->phi);
    if (f->phi == NULL || f->dphi == NULL)
        return NULL;
    f->kinked = uses_kink(f->phi);
    f->tq.nkinks = 0;
    /* Kinks in closed form: the split rule; otherwise Gauss–Hermite, its error reported. */
    int find_kinks_ok = !f->kinked || (find_kinks(&c, f->phi, &f->tq) && find_kinks(&c, f->dphi, &f->tq));
    f->trap = decl->quad == 0 && find_kinks_ok;
    f->refusal = NULL;
    if (f->trap) {
        f->quad = 0;
        return calibrate(a, f, err, prog->src) ? f : NULL;
    }
    f->quad = decl->quad ? (int)decl->quad : FORMULA_QUAD_DEFAULT;
    double *z = arena_alloc(a, (size_t)f->quad * sizeof *z), *w = arena_alloc(a, (size_t)f->quad * sizeof *w);
    if (gauss_hermite(f->quad, z, w) != 0) {
        diag_internal(err, "no Gauss-Hermite rule with %d points", f->quad);
        return NULL;
    }
    /* Also keeps φ from being evaluated far out, where it may overflow and
     * an underflowed weight times inf would poison the sums. */
    int kept = 0;
    for (int i = 0; i < f->quad; i++)
        if (w[i] >= FORMULA_MIN_WEIGHT) {
            z[kept] = z[i];
            w[kept++] = w[i];
        }
    f->nodes = kept;
    f->z = z;
    f->w = w;
    if (!check_nodes(a, f, f->phi, "the formula", err, prog->src) ||
        !check_nodes(a, f, f->dphi, "the derivative", err, prog->src))
        return NULL;
    check_gauss_hermite(a, f, find_kinks_ok, prog->src);
    return f;
}

/* ---- the ActDef ------------------------------------------------------- */

static double formula_phi(const ActDef *self, double x, const double *p)
{
    (void)p;
    return sym_eval(((const Formula *)self->user)->phi, x);
}

static double formula_dphi(const ActDef *self, double x, const double *p)
{
    (void)p;
    return sym_eval(((const Formula *)self->user)->dphi, x);
}

static void emit_helpers(StrBuf *sb, unsigned used)
{
    for (int fn = 0; fn < FN_COUNT; fn++) {
        if (!(used & (1u << fn)))
            continue;
        const SymFnInfo *info = &sym_fns[fn];
        /* Several formula activations may need the same helper. */
        sb_printf(sb, "#ifndef NTKC_FN_%s\n#define NTKC_FN_%s\n", info->name, info->name);
        sb_printf(sb, "static double ntkc_fn_%s(double a%s)\n{\n    %s\n}\n#endif\n", info->name,
                  info->arity == 2 ? ", double b" : "", info->c_helper);
    }
}

static void emit_rule(StrBuf *sb, const char *name, const double *v, int n)
{
    sb_printf(sb, "    static const double %s[%d] = {", name, n);
    for (int i = 0; i < n; i++) {
        sb_puts(sb, i % 3 ? ", " : (i ? ",\n        " : "\n        "));
        sb_double(sb, v[i]);
    }
    sb_puts(sb, "};\n");
}

/* The start of every quadrature dual: order the variances (the rule then
 * depends on the pair, not on which input is which, so a copy of an input
 * gives the symmetric kernel's bits), snap ρ near ±1, and factor
 * (u, v) = (a·z1, c·z1 + d·z2). */
static const char dual_prologue[] =
    "    (void)p;\n"
    "    if (s11 > s22) {\n"
    "        double sw = s11;\n"
    "        s11 = s22;\n"
    "        s22 = sw;\n"
    "    }\n"
    "    double a = sqrt(s11), b = sqrt(s22);\n"
    "    double rho = a > 0.0 && b > 0.0 ? s12 / (a * b) : 0.0;\n"
    "    rho = 1.0 - fabs(rho) < 8.8817841970012523e-16 ? (rho > 0.0 ? 1.0 : -1.0) : rho;\n"
    "    double r = fabs(rho), c = b * rho, d = b * sqrt((1.0 - r) * (1.0 + r));\n";

/* A Gauss–Hermite rule ('quad N'): the nodes in both dimensions, the
 * variances ordered as emit_dual_trap does (the dual is then a function of
 * the unordered pair: a copy of an input gives the symmetric kernel's bits),
 * NaN beyond the largest standard deviation at which formula_gh_check found
 * the rule meeting its target, which the engine reports. */
static void emit_dual(StrBuf *sb, const Formula *f, const char *cname)
{
    sb_printf(sb,
              "static void ntkc_dual_%s(const double *p, double s11, double s12, double s22,\n"
              "                         double *T, double *Td)\n"
              "{\n",
              cname);
    emit_rule(sb, "z", f->z, f->nodes);
    emit_rule(sb, "w", f->w, f->nodes);
    sb_puts(sb, dual_prologue);
    sb_printf(sb,
              "    (void)r;\n"
              "    if (b > %.17g) { /* beyond where the rule was checked to meet its target */\n"
              "        *T = *Td = 0.0 / 0.0;\n"
              "        return;\n"
              "    }\n"
              "    double t = 0.0, td = 0.0;\n"
              "    for (int i = 0; i < %d; i++) {\n"
              "        double u = a * z[i], cz = c * z[i], f = 0.0, g = 0.0, fu, gu;\n"
              "        if (d == 0.0) { /* |rho| = 1 or a zero variance: one inner term */\n"
              "            f = ntkc_phi_%s(cz, &g);\n"
              "        } else {\n"
              "            for (int j = 0; j < %d; j++) {\n"
              "                double gv, fv = ntkc_phi_%s(cz + d * z[j], &gv);\n"
              "                f += w[j] * fv;\n"
              "                g += w[j] * gv;\n"
              "            }\n"
              "        }\n"
              "        fu = ntkc_phi_%s(u, &gu);\n"
              "        t += w[i] * fu * f;\n"
              "        td += w[i] * gu * g;\n"
              "    }\n"
              "    *T = t;\n"
              "    *Td = td;\n"
              "}\n",
              f->gh.unlimited ? 1e308 : f->gh.max_scale, f->nodes, cname, f->nodes, cname, cname);
}

/* The trapezoidal rule (formula_quad.h) at run time: the step follows the
 * scale of each dimension — the outer one sees φ(a·z) and E[φ(v) | u], whose
 * scale is |c| = b·|ρ|; the inner one φ(c·z_i + d·z_j). The arguments are put
 * in one order (Σ11 <= Σ22) first: the rule is not symmetric in u and v, and a
 * pair must get the same bits as its mirror (the symmetric path computes one
 * triangle). A standard deviation beyond the largest at which calibration
 * found the integrand decayed by |z| = L (when that is below the largest
 * checked, FORMULA_MAX_SCALE) gives NaN, which the engine reports. */
static void emit_dual_trap(StrBuf *sb, const Formula *f, const char *cname)
{
    sb_printf(sb,
              "static int ntkc_rule_%s(double scale, double *z, double *w)\n"
              "{\n"
              "    double h = ",
              cname);
    sb_double(sb, f->tq.step);
    sb_printf(sb,
              " / (scale > 1.0 ? scale : 1.0), nn = floor(%.17g / h), total = 0.0;\n"
              "    if (!(nn <= %d.0))\n"
              "        return -1;\n"
              "    int n = (int)nn;\n"
              "    for (int m = n; m >= 0; m--) {\n"
              "        z[m] = m * h;\n"
              "        w[m] = exp(-0.5 * z[m] * z[m]);\n"
              "        total += m ? 2.0 * w[m] : w[m];\n"
              "    }\n"
              "    for (int m = 0; m <= n; m++)\n"
              "        w[m] /= total;\n"
              "    return n;\n"
              "}\n\n",
              f->tq.L, FORMULA_TRAP_MAX);
    /* The mapped rule (formula_map_rule) where it needs fewer nodes; a
     * binary search finds the template's nodes inside |z| <= L. */
    sb_printf(sb, "#ifndef NTKC_MAP_RULE\n#define NTKC_MAP_RULE\ndouble cosh(double);\ndouble atanh(double);\n%s\n"
                  "static int ntkc_map_first(const double *g, int n, double v)\n"
                  "{\n"
                  "    int lo = 0, hi = n;\n"
                  "    while (lo < hi) {\n"
                  "        int mid = (lo + hi) / 2;\n"
                  "        if (g[mid] < v)\n"
                  "            lo = mid + 1;\n"
                  "        else\n"
                  "            hi = mid;\n"
                  "    }\n"
                  "    return lo;\n"
                  "}\n#endif\n\n",
              formula_map_rule_c);
    sb_printf(sb,
              "static void ntkc_dual_%s(const double *p, double s11, double s12, double s22,\n"
              "                         double *T, double *Td)\n"
              "{\n",
              cname);
    sb_puts(sb, dual_prologue);
    sb_puts(sb, "    const double L = ");
    sb_double(sb, f->tq.L);
    sb_puts(sb, ", H = ");
    sb_double(sb, f->tq.step);
    sb_puts(sb, ", meps = ");
    sb_double(sb, f->tq.map_eps);
    sb_puts(sb, ", mhg = ");
    sb_double(sb, f->tq.map_hg);
    sb_puts(sb, ", mkappa = ");
    sb_double(sb, f->tq.map_kappa);
    sb_puts(sb, ", mtop = ");
    sb_double(sb, f->tq.map_max_scale);
    sb_puts(sb, ";\n");
    sb_printf(sb,
              "    double zo[%d], wo[%d], zi[%d], wi[%d];\n"
              "    double so = a > fabs(c) ? a : fabs(c), uo = floor(L * (so > 1.0 ? so : 1.0) / H);\n"
              "    double ui = floor(L * (d > 1.0 ? d : 1.0) / H);\n"
              "    int no = -1, ni = d > 0.0 ? -1 : 0, mapped_i = 0;\n"
              "    if (meps > 0.0 && so <= mtop && so >= 2.0) { /* the outer mapped rule, when it is shorter */\n"
              "        int n = ntkc_map_rule(meps / so, mhg, mkappa, L, %d, zo, wo);\n"
              "        if (n > 0 && !(n - 1 >= uo)) {\n"
              "            double total = 0.0;\n"
              "            no = n - 1;\n"
              "            for (int m = no; m >= 0; m--) {\n"
              "                wo[m] *= exp(-0.5 * zo[m] * zo[m]);\n"
              "                total += m ? 2.0 * wo[m] : wo[m];\n"
              "            }\n"
              "            for (int m = 0; m <= no; m++)\n"
              "                wo[m] /= total;\n"
              "        }\n"
              "    }\n"
              "    if (no < 0)\n"
              "        no = ntkc_rule_%s(so, zo, wo);\n"
              "    if (d > 0.0 && meps > 0.0 && d <= mtop && d >= 2.0) { /* the inner one: a template, shifted */\n"
              "        ni = ntkc_map_rule(meps / d, mhg, mkappa, L + fabs(c) * L / d, %d, zi, wi);\n"
              "        /* the exp of each shifted node costs about one node of φ */\n"
              "        mapped_i = ni >= 0 && !(3 * ntkc_map_first(zi, ni, L) >= 2 * ui);\n"
              "        ni = mapped_i ? ni : -1;\n"
              "    }\n"
              "    if (ni < 0)\n"
              "        ni = ntkc_rule_%s(d, zi, wi);\n"
              "    if (no < 0 || ni < 0 || b > %.17g) { /* beyond the node budget or the checked decay */\n"
              "        *T = *Td = 0.0 / 0.0;\n"
              "        return;\n"
              "    }\n"
              "    if (d == 0.0) /* |rho| = 1 or a zero variance: one inner term */\n"
              "        zi[0] = 0.0, wi[0] = 1.0;\n"
              "    double t = 0.0, td = 0.0;\n"
              "    for (int mo = -no; mo <= no; mo++) {\n"
              "        double zz = mo < 0 ? -zo[-mo] : zo[mo], ww = wo[mo < 0 ? -mo : mo];\n"
              "        double u = a * zz, cz = c * zz, fv = 0.0, gv = 0.0, gu, fu;\n"
              "        if (mapped_i) { /* nodes zc ± g_j in |z| <= L; v = ±d·g_j */\n"
              "            double zc = -cz / d, tw = 0.0;\n"
              "            for (int side = 1; side >= -1; side -= 2) {\n"
              "                int j0 = ntkc_map_first(zi, ni, side > 0 ? -L - zc : zc - L);\n"
              "                int j1 = ntkc_map_first(zi, ni, side > 0 ? L - zc : zc + L);\n"
              "                for (int j = j0 > (side < 0) ? j0 : (side < 0); j < j1; j++) { /* g_0 once */\n"
              "                    double z2 = zc + side * zi[j], wj = exp(-0.5 * z2 * z2) * wi[j], g;\n"
              "                    double fz = ntkc_phi_%s(side * d * zi[j], &g);\n"
              "                    tw += wj;\n"
              "                    fv += wj * fz;\n"
              "                    gv += wj * g;\n"
              "                }\n"
              "            }\n"
              "            fv /= tw;\n"
              "            gv /= tw;\n"
              "        } else {\n"
              "            for (int mi = -ni; mi <= ni; mi++) {\n"
              "                double g, fz = ntkc_phi_%s(cz + d * (mi < 0 ? -zi[-mi] : zi[mi]), &g);\n"
              "                double wj = wi[mi < 0 ? -mi : mi];\n"
              "                fv += wj * fz;\n"
              "                gv += wj * g;\n"
              "            }\n"
              "        }\n"
              "        fu = ntkc_phi_%s(u, &gu);\n"
              "        t += ww * fu * fv;\n"
              "        td += ww * gu * gv;\n"
              "    }\n"
              "    *T = t;\n"
              "    *Td = td;\n"
              "}\n",
              FORMULA_TRAP_MAX + 1, FORMULA_TRAP_MAX + 1, FORMULA_TRAP_MAX + 1, FORMULA_TRAP_MAX + 1, FORMULA_TRAP_MAX,
              cname, FORMULA_TRAP_MAX, cname, f->tq.max_scale >= FORMULA_MAX_SCALE ? 1e308 : f->tq.max_scale, cname,
              cname, cname);
}

/* The kinked rule (formula_quad.h) at run time. The outer dimension is split
 * at u = k (z1 = k/a) and at z1 = k/c, where E[φ(v) | z1] changes over a
 * width ~d/|c| (finer panels within L·d/|c| of it); the inner one at v = k,
 * z2 = (k − c·z1)/d. |ρ| = 1 or a zero variance (d = 0): one inner term. The
 * ordering, ρ snap and NaN beyond the budget follow emit_dual_trap. */
static void emit_dual_kink(StrBuf *sb, const Formula *f, const char *cname)
{
    double gx[FORMULA_GL_POINTS], gw[FORMULA_GL_POINTS];
    formula_gauss_legendre(FORMULA_GL_POINTS, gx, gw);
    int nk = f->tq.nkinks;
    sb_printf(sb, "#ifndef NTKC_KINK_RULE\n#define NTKC_KINK_RULE\nenum { FORMULA_GL_POINTS = %d, FORMULA_PANEL_CAP = %d };\n%s\n#endif\n\n",
              FORMULA_GL_POINTS, FORMULA_PANEL_CAP, formula_kink_rule_c);
    sb_printf(sb,
              "static void ntkc_dual_%s(const double *p, double s11, double s12, double s22,\n"
              "                         double *T, double *Td)\n"
              "{\n",
              cname);
    emit_rule(sb, "gx", gx, FORMULA_GL_POINTS);
    emit_rule(sb, "gw", gw, FORMULA_GL_POINTS);
    double kinks[FORMULA_KINKS_MAX + 1] = {0};
    for (int i = 0; i < nk; i++)
        kinks[i] = f->tq.kinks[i];
    emit_rule(sb, "K", kinks, nk > 0 ? nk : 1);
    sb_puts(sb, "    const double step = ");
    sb_double(sb, f->tq.step);
    sb_printf(sb,
              ", pz = %.17g, L = %.17g;\n"
              "%s"
              "    double zo[FORMULA_PANEL_CAP], wo[FORMULA_PANEL_CAP], zi[FORMULA_PANEL_CAP], wi[FORMULA_PANEL_CAP];\n"
              "    double bp[%d], wc[%d], so = a > fabs(c) ? a : fabs(c), wh = 0.0, wlen = pz;\n"
              "    double lo_len = step / (so > 1.0 ? so : 1.0), li_len = step / (d > 1.0 ? d : 1.0);\n"
              "    int nb = 0, nw = 0;\n"
              "    for (int k = 0; k < %d; k++) {\n"
              "        if (a > 0.0)\n"
              "            bp[nb++] = K[k] / a;\n"
              "        if (c != 0.0) {\n"
              "            bp[nb++] = K[k] / c;\n"
              "            if (d > 0.0 && pz * d < fabs(c) * (lo_len < pz ? lo_len : pz)) { /* sharper than the panels */\n"
              "                wh = L * d / fabs(c);\n"
              "                wlen = pz * d / fabs(c);\n"
              "                wc[nw++] = K[k] / c;\n"
              "                bp[nb++] = K[k] / c - wh;\n"
              "                bp[nb++] = K[k] / c + wh;\n"
              "            }\n"
              "        }\n"
              "    }\n"

              "    int no = ntkc_kink_rule(bp, nb, L, lo_len < pz ? lo_len : pz, wc, nw, wh, wlen, gx, gw, zo, wo);\n"
              "    if (no < 0 || b > %.17g) { /* beyond the node budget or the checked decay */\n"
              "        *T = *Td = 0.0 / 0.0;\n"
              "        return;\n"
              "    }\n"
              "    double t = 0.0, td = 0.0;\n"
              "    for (int mo = 0; mo < no; mo++) {\n"
              "        double u = a * zo[mo], cz = c * zo[mo], fv = 0.0, gv = 0.0, gu, fu;\n"
              "        if (d == 0.0) {\n"
              "            fv = ntkc_phi_%s(cz, &gv);\n"
              "        } else {\n"
              "            for (int k = 0; k < %d; k++)\n"
              "                bp[k] = (K[k] - cz) / d;\n"
              "            int ni = ntkc_kink_rule(bp, %d, L, li_len < pz ? li_len : pz, wc, 0, 0.0, 0.0, gx, gw, zi, wi);\n"
              "            if (ni < 0) {\n"
              "                *T = *Td = 0.0 / 0.0;\n"
              "                return;\n"
              "            }\n"
              "            for (int mi = 0; mi < ni; mi++) {\n"
              "                double g, fz = ntkc_phi_%s(cz + d * zi[mi], &g);\n"
              "                fv += wi[mi] * fz;\n"
              "                gv += wi[mi] * g;\n"
              "            }\n"
              "        }\n"
              "        fu = ntkc_phi_%s(u, &gu);\n"
              "        t += wo[mo] * fu * fv;\n"
              "        td += wo[mo] * gu * gv;\n"
              "    }\n"
              "    *T = t;\n"
              "    *Td = td;\n"
              "}\n",
              FORMULA_PANEL_Z, f->tq.L, dual_prologue, 4 * nk + 2, nk + 1, nk,
              f->tq.max_scale >= FORMULA_MAX_SCALE ? 1e308 : f->tq.max_scale, cname, nk, nk, cname, cname);
}

/* φ and φ' in one function, common subexpressions computed once. */
static void emit_phi(StrBuf *sb, Arena *a, const Formula *f, const char *cname)
{
    const Sym *roots[2] = {f->phi, f->dphi};
    SymC c = {.var = "x", .prefix = "ntkc_fn"};
    size_t n = sym_common(a, roots, 2, &c.temps);
    StrBuf body;
    sb_init(&body);
    for (size_t k = 0; k < n; k++) {
        c.ntemps = k;
        sb_printf(&body, "    double t%zu = ", k);
        sym_print_c(&body, c.temps[k], &c);
        sb_puts(&body, ";\n");
    }
    c.ntemps = n;
    sb_puts(&body, "    *dphi = ");
    sym_print_c(&body, f->dphi, &c);
    sb_puts(&body, ";\n    return ");
    sym_print_c(&body, f->phi, &c);
    sb_puts(&body, ";\n");
    emit_helpers(sb, c.used);
    sb_printf(sb, "static double ntkc_phi_%s(double x, double *dphi)\n{\n    (void)x;\n%s}\n", cname, body.data);
    sb_free(&body);
}

static char *emit_c(Arena *a, const Formula *f, const char *cname)
{
    StrBuf sb;
    sb_init(&sb);
    /* The formulas are printed in the ntkc language, escaped for the comment (c_text.h). */
    StrBuf text;
    sb_init(&text);
    sb_printf(&text, "%s(x) = ", f->decl->name);
    sym_print(&text, f->phi, "x");
    sb_printf(&sb, "/* act %s: ", f->decl->name);
    c_text_escape(&sb, text.data);
    text.len = 0;
    text.data[0] = '\0';
    sym_print(&text, f->dphi, "x");
    sb_puts(&sb, "\n *   derivative: ");
    c_text_escape(&sb, text.data);
    sb_free(&text);
    if (f->trap && f->kinked) {
        sb_printf(&sb, "\n * Dual kernels by %d-point Gauss-Legendre panels split at the kinks, at most ", FORMULA_GL_POINTS);
        sb_double(&sb, f->tq.step);
        sb_printf(&sb, "/max(1, scale) long (estimated relative error %.1e). */\n"
                       "double log1p(double);\n",
                  f->tq.err_est);
    } else if (f->trap) {
        sb_puts(&sb, "\n * Dual kernels by the trapezoidal rule with step ");
        sb_double(&sb, f->tq.step);
        sb_printf(&sb, "/max(1, scale) per dimension (estimated relative error %.1e)", f->tq.err_est);
        if (f->tq.map_eps > 0.0)
            sb_printf(&sb, ",\n * or where fewer nodes do, the mapped rule (formula_quad.h) up to scale %g (estimated %.1e)",
                      f->tq.map_max_scale, f->tq.map_err);
        sb_puts(&sb, ". */\ndouble log1p(double);\n");
    } else {
        sb_printf(&sb, "\n * Dual kernels by %d-point Gauss-Hermite quadrature per dimension (estimated relative error "
                       "%.1e at variances up to %g%s). */\n"
                       "double log1p(double);\n",
                  f->quad, f->gh.err, f->gh.max_scale * f->gh.max_scale, f->gh.unlimited ? ", beyond unchecked" : "; NaN beyond");
    }
    emit_phi(&sb, a, f, cname);
    if (f->trap && f->kinked)
        emit_dual_kink(&sb, f, cname);
    else if (f->trap)
        emit_dual_trap(&sb, f, cname);
    else
        emit_dual(&sb, f, cname);
    return sb_take(&sb);
}

const ActDef *formula_act_def(Arena *a, const Formula *f, const char *cname)
{
    ActDef *def = arena_alloc(a, sizeof *def);
    def->name = arena_strdup(a, cname);
    def->phi = formula_phi;
    def->dphi = formula_dphi;
    def->kinked = f->kinked;
    def->user = (void *)f;
    char *c = emit_c(a, f, cname);
    def->c_dual = arena_strdup(a, c);
    free(c);
    return def;
}

/* ---- instances -------------------------------------------------------- */

static int name_taken(const Program *prog, const FormulaCache *cache, const char *name)
{
    if (act_lookup(name) != NULL)
        return 1;
    for (size_t i = 0; i < prog->nacts; i++)
        if (strcmp(prog->acts[i]->name, name) == 0)
            return 1;
    for (size_t i = 0; i < cache->n; i++)
        if (strcmp(cache->v[i].def->name, name) == 0)
            return 1;
    return 0;
}

const ActDef *formula_instance(FormulaCache *cache, Arena *a, const Program *prog, const FormulaConsts *consts,
                               const ActDecl *decl, const double *values, Diag *err)
{
    size_t np = decl->nparams < ACT_MAX_PARAMS ? decl->nparams : ACT_MAX_PARAMS;
    int seen = 0;
    for (size_t i = 0; i < cache->n; i++) {
        if (cache->v[i].decl != decl)
            continue;
        seen++;
        if (np == 0 || memcmp(cache->v[i].values, values, np * sizeof *values) == 0)
            return cache->v[i].def;
    }
    const Formula *f = formula_build(a, prog, consts, decl, values, err);
    if (f == NULL)
        return NULL;
    if (f->refusal != NULL) {
        if (err->code == 0)
            *err = *f->refusal;
        return NULL;
    }
    const char *cname = decl->name;
    for (int k = seen + 1; seen > 0 && name_taken(prog, cache, cname = arena_printf(a, "%s__%d", decl->name, k));)
        k++;
    if (cache->n == cache->cap) {
        size_t cap = cache->cap ? 2 * cache->cap : 4;
        FormulaInstance *v = arena_alloc(a, cap * sizeof *v);
        if (cache->n)
            memcpy(v, cache->v, cache->n * sizeof *v);
        cache->v = v;
        cache->cap = cap;
    }
    FormulaInstance *in = &cache->v[cache->n++];
    in->decl = decl;
    if (np)
        memcpy(in->values, values, np * sizeof *values);
    in->def = formula_act_def(a, f, cname);
    return in->def;
}
