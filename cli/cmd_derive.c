/* ntkc derive: a formula activation's φ and its symbolic derivative φ', as
 * the compiler simplified them, with the quadrature its dual kernels use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act.h"
#include "act_formula.h"
#include "args.h"
#include "ast.h"
#include "commands.h"
#include "frontend.h"
#include "lower.h"
#include "net_internal.h"
#include "strbuf.h"

static const char help[] =
    "usage: ntkc derive FILE.ntk [NAME ...]\n"
    "\n"
    "Prints each formula activation NAME of the file (all of them when no NAME\n"
    "is given) with its default parameters: φ and the derivative φ' that ntkc\n"
    "derived symbolically, simplified, and the Gauss-Hermite rule its dual\n"
    "kernels are integrated with. The formulas are valid ntkc expressions.\n";

static void print_formula(const Formula *f)
{
    const ActDecl *d = f->decl;
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "%s(%s", d->name, d->var);
    for (size_t i = 0; i < d->nparams; i++)
        sb_printf(&sb, ", %s=%g", d->params[i].name, d->params[i].def);
    sb_puts(&sb, ") = ");
    sym_print(&sb, f->phi, d->var);
    sb_printf(&sb, "\n%s'(%s) = ", d->name, d->var);
    sym_print(&sb, f->dphi, d->var);
    if (f->trap)
        sb_printf(&sb,
                  "\ndual kernels: trapezoidal rule per dimension, step %.4g/max(1, sqrt(variance)), |z| <= %g; "
                  "estimated relative error %.1e (target %g), checked at variances up to %g\n",
                  f->tq.step, f->tq.L, f->tq.err_est, FORMULA_QUAD_TARGET, f->tq.max_scale * f->tq.max_scale);
    else
        sb_printf(&sb,
                  "\ndual kernels: %d-point Gauss-Hermite quadrature per dimension (%d nodes with weight >= %g); "
                  "estimated relative error %.1e at unit variance%s\n",
                  f->quad, f->nodes, FORMULA_MIN_WEIGHT, f->gh_err,
                  f->kinked ? "; kinked: converges slowly, and worse at larger variances" : "");
    fputs(sb.data, stdout);
    sb_free(&sb);
}

static const ActDecl *find_decl(const Program *p, const char *name)
{
    for (size_t i = 0; i < p->nacts; i++)
        if (strcmp(p->acts[i]->name, name) == 0)
            return p->acts[i];
    return NULL;
}

static int no_such_act(Arena *a, const Program *p, const char *file, const char *name, ntkc_error *err)
{
    if (act_lookup(name) != NULL) {
        diag_user(err, "'%s' is a built-in activation with a closed-form dual kernel; derive shows formula "
                       "activations (act NAME(x) = ...)",
                  name);
        return err->code;
    }
    const char *list = "";
    for (size_t i = 0; i < p->nacts; i++)
        list = arena_printf(a, "%s%s%s", list, i ? ", " : "", p->acts[i]->name);
    diag_user(err, "%s: no activation named '%s' (its formula activations: %s)", file, name,
              *list ? list : "none");
    return err->code;
}

static int derive(const char *file, const char *const *names, size_t nnames, ntkc_error *err)
{
    char *text = ntkc_read_text_file(file, err);
    if (text == NULL)
        return err->code;
    Arena a;
    arena_init(&a);
    int rc = 0;
    const Program *p = frontend_parse(&a, text, file, err);
    if (p == NULL)
        rc = err->code;
    if (rc == 0 && nnames == 0 && p->nacts == 0) {
        diag_user(err, "%s defines no formula activation (act NAME(x) = ...)", file);
        rc = err->code;
    }
    size_t count = nnames ? nnames : (p ? p->nacts : 0);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const ActDecl *d = nnames ? find_decl(p, names[i]) : p->acts[i];
        if (d == NULL) {
            rc = no_such_act(&a, p, file, names[i], err);
            break;
        }
        const Formula *f = lower_formula(&a, p, d, err);
        if (f == NULL) {
            rc = err->code;
            break;
        }
        if (i > 0)
            putchar('\n');
        print_formula(f);
    }
    arena_free(&a);
    free(text);
    return rc;
}

int cmd_derive(int argc, char **argv)
{
    const OptSpec specs[] = {{NULL, 0, NULL}};
    Args args;
    if (args_parse("derive", argc, argv, specs, &args) != 0)
        return 1;
    if (args.help) {
        fputs(help, stdout);
        return 0;
    }
    if (args.npositional < 1) {
        fputs(help, stderr);
        return 1;
    }
    ntkc_error err = {0};
    /* A failed write to stdout is reported by main (finish_stdout). */
    int rc = derive(args.positional[0], args.positional + 1, args.npositional - 1, &err);
    return rc == 0 ? 0 : report_error(&err);
}
