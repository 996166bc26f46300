/* ntkc_derive: a formula activation's φ and its symbolic derivative φ', as the
 * compiler simplified them, with the quadrature its dual kernels use — the
 * text `ntkc derive` prints, for the CLI and the library's callers alike. */
#include <math.h>
#include <string.h>

#include "act.h"
#include "act_formula.h"
#include "arena.h"
#include "ntkc_err.h"
#include "frontend.h"
#include "lower.h"
#include "ntkc.h"
#include "strbuf.h"

/* The length and start of a compiler message's text after "error: ", up to
 * the end of its line (the source line and caret follow). */
static int refusal_reason(const char *message, const char **start)
{
    static const char tag[] = "error: ";
    const char *s = strstr(message, tag), *nl;
    *start = s ? s + sizeof tag - 1 : message;
    nl = strchr(*start, '\n');
    return nl ? (int)(nl - *start) : (int)strlen(*start);
}

static void append_formula(StrBuf *sb, const Formula *f)
{
    const ActDecl *d = f->decl;
    sb_printf(sb, "%s(%s", d->name, d->var);
    for (size_t i = 0; i < d->nparams; i++)
        sb_printf(sb, ", %s=%g", d->params[i].name, d->params[i].def);
    sb_puts(sb, ") = ");
    sym_print(sb, f->phi, d->var);
    sb_printf(sb, "\n%s'(%s) = ", d->name, d->var);
    sym_print(sb, f->dphi, d->var);
    if (f->trap && f->kinked) {
        sb_puts(sb, "\ndual kernels: split at the kinks");
        for (int k = 0; k < f->tq.nkinks; k++)
            sb_printf(sb, "%s%s = %.17g", k ? ", " : " ", d->var, f->tq.kinks[k]);
        sb_printf(sb,
                  "%s; %d-point Gauss-Legendre panels per piece, at most min(%g, %.4g/max(1, sqrt(variance))) long "
                  "in z, |z| <= %g; estimated relative error %.1e (target %g), checked at variances up to %g\n",
                  f->tq.nkinks ? "" : " (none: constant arguments)", FORMULA_GL_POINTS, FORMULA_PANEL_Z, f->tq.step,
                  f->tq.L, f->tq.err_est, FORMULA_QUAD_TARGET, f->tq.max_scale * f->tq.max_scale);
    } else if (f->trap) {
        sb_printf(sb,
                  "\ndual kernels: trapezoidal rule per dimension, step %.4g/max(1, sqrt(variance)), |z| <= %g; "
                  "estimated relative error %.1e (target %g), checked at variances up to %g\n",
                  f->tq.step, f->tq.L, f->tq.err_est, FORMULA_QUAD_TARGET, f->tq.max_scale * f->tq.max_scale);
        if (f->tq.map_eps > 0.0)
            sb_printf(sb,
                      "dual kernels where it needs fewer nodes (large variances): trapezoidal rule in t, z = g(t) "
                      "with spacing %.4g/sqrt(variance) at 0 growing by x%.4g a node up to %.4g; estimated relative "
                      "error %.1e (target %g), checked at variances up to %g\n",
                      f->tq.map_eps, exp(f->tq.map_kappa), f->tq.map_hg, f->tq.map_err, FORMULA_QUAD_TARGET,
                      f->tq.map_max_scale * f->tq.map_max_scale);
    } else if (f->refusal != NULL) {
        const char *why;
        int len = refusal_reason(f->refusal->message, &why);
        sb_printf(sb,
                  "\ndual kernels: %d-point Gauss-Hermite quadrature per dimension (%d nodes with weight >= %g), "
                  "refused in nets: %.*s\n",
                  f->quad, f->nodes, FORMULA_MIN_WEIGHT, len, why);
    }
    else
        sb_printf(sb,
                  "\ndual kernels: %d-point Gauss-Hermite quadrature per dimension (%d nodes with weight >= %g); "
                  "estimated relative error %.1e (target %g) at variances up to %g%s\n",
                  f->quad, f->nodes, FORMULA_MIN_WEIGHT, f->gh.err, FORMULA_QUAD_TARGET,
                  f->gh.max_scale * f->gh.max_scale,
                  f->gh.unlimited ? " (checked up to there)" : "; the kernel is refused (not finite) beyond");
}

static const ActDecl *find_decl(const Program *p, const char *name)
{
    for (size_t i = 0; i < p->nacts; i++)
        if (strcmp(p->acts[i]->name, name) == 0)
            return p->acts[i];
    return NULL;
}

static void no_such_act(Arena *a, const Program *p, const char *file, const char *name, ntkc_error *err)
{
    if (act_lookup(name) != NULL) {
        err_user(err, "'%s' is a built-in activation with a closed-form dual kernel; derive shows formula "
                       "activations (act NAME(x) = ...)",
                  name);
        return;
    }
    const char *list = "";
    for (size_t i = 0; i < p->nacts; i++)
        list = arena_printf(a, "%s%s%s", list, i ? ", " : "", p->acts[i]->name);
    err_file(err, file, "no activation named '%s' (its formula activations: %s)", name,
              *list ? list : "none");
}

char *ntkc_derive(const char *source, const char *filename, const char *const *names, size_t nnames,
                  ntkc_error *err)
{
    err_clear(err);
    const char *file = filename ? filename : "<string>";
    Arena a;
    arena_init(&a);
    StrBuf sb;
    sb_init(&sb);
    Diag diag = {0}; /* the compiler's errors, copied into err */
    const Program *p = frontend_parse(&a, source, file, &diag);
    err_from_diag(err, &diag);
    if (p != NULL && nnames == 0 && p->nacts == 0)
        err_user(err, "%s defines no formula activation (act NAME(x) = ...)", file);
    size_t count = nnames ? nnames : (p ? p->nacts : 0);
    for (size_t i = 0; err->code == 0 && i < count; i++) {
        const ActDecl *d = nnames ? find_decl(p, names[i]) : p->acts[i];
        if (d == NULL) {
            no_such_act(&a, p, file, names[i], err);
            break;
        }
        const Formula *f = lower_formula(&a, p, d, &diag);
        if (f == NULL) {
            err_from_diag(err, &diag);
            break;
        }
        if (i > 0)
            sb_puts(&sb, "\n");
        append_formula(&sb, f);
    }
    arena_free(&a);
    if (err->code != 0) {
        sb_free(&sb);
        return NULL;
    }
    return sb_take(&sb);
}
