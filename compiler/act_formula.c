/* Formula activations, step two: derivative, checks on the quadrature
 * nodes, the emitted C, the ActDef, and the per-net cache of instances. */
#include "act_formula.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "c_text.h"
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

/* φ (or φ') must be finite on every node: a quadrature through a pole or
 * outside the domain silently returns garbage. Unit variance is what a
 * normalised layer sees; other variances are checked at run time (a
 * non-finite kernel entry is an error there). */
static int check_nodes(Arena *a, const Formula *f, const Sym *e, const char *what, ntkc_error *err, const char *src)
{
    for (int i = 0; i < f->nodes; i++) {
        const Sym *culprit;
        double v = sym_eval_blame(e, f->z[i], &culprit);
        if (isfinite(v))
            continue;
        StrBuf sb;
        sb_init(&sb);
        sym_print(&sb, culprit ? culprit : e, f->decl->var);
        char *term = arena_strdup(a, sb.data ? sb.data : "");
        sb_free(&sb);
        double tv = culprit ? sym_eval(culprit, f->z[i]) : v;
        diag_at(err, culprit ? culprit->pos : f->decl->pos, src,
                "%s of '%s' is not finite at %s = %.17g, a quadrature node at unit variance: %s is %s there%s",
                what, f->decl->name, f->decl->var, f->z[i], term,
                isnan(tv) ? "not a number" : (tv > 0 ? "+inf" : "-inf"),
                f->z[i] == 0 ? " (an odd number of points has a node at 0; an even 'quad N' has none)" : "");
        return 0;
    }
    return 1;
}

const Formula *formula_build(Arena *a, const Program *prog, const FormulaConsts *consts, const ActDecl *decl,
                             const double *values, ntkc_error *err)
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

static void emit_dual(StrBuf *sb, const Formula *f, const char *cname)
{
    sb_printf(sb,
              "static void ntkc_dual_%s(const double *p, double s11, double s12, double s22,\n"
              "                         double *T, double *Td)\n"
              "{\n",
              cname);
    emit_rule(sb, "z", f->z, f->nodes);
    emit_rule(sb, "w", f->w, f->nodes);
    sb_printf(sb,
              "    (void)p;\n"
              "    double a = sqrt(s11), b = sqrt(s22);\n"
              "    double rho = a > 0.0 && b > 0.0 ? s12 / (a * b) : 0.0;\n"
              "    rho = rho > 1.0 ? 1.0 : (rho < -1.0 ? -1.0 : rho);\n"
              "    /* u = a·z_i, v = c·z_i + d·z_j: the Cholesky factor of the covariance.\n"
              "     * At |rho| = 1 (and for a zero variance) d = 0 and the inner sum is one term. */\n"
              "    double c = b * rho, d = b * sqrt(1.0 - rho * rho), t = 0.0, td = 0.0;\n"
              "    for (int i = 0; i < %d; i++) {\n"
              "        double u = a * z[i], cz = c * z[i], f = 0.0, g = 0.0, fu, gu;\n"
              "        if (d == 0.0) {\n"
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
              f->nodes, cname, f->nodes, cname, cname);
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
    sb_printf(&sb, "\n * Dual kernels by %d-point Gauss-Hermite quadrature per dimension. */\n"
                   "double log1p(double);\n",
              f->quad);
    emit_phi(&sb, a, f, cname);
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
                               const ActDecl *decl, const double *values, ntkc_error *err)
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
