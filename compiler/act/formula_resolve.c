/* Formula activations, step one: the syntax tree of `act f(x, ...) = EXPR`
 * to a symbolic expression in x. Names resolve innermost first: the
 * variable, the parameters, file-level constants, then pi and e. A call is
 * another formula activation of the file, inlined with its variable bound to
 * the first argument and its parameters to the others (recursion is an
 * error), or else a built-in function (sym_fns). */
#include <math.h>
#include <string.h>

#include "act_formula.h"
#include "editdist.h"

typedef struct Frame Frame;
struct Frame {
    const ActDecl *decl;
    const Sym *x;
    const Sym **params; /* decl->nparams */
    const Frame *caller;
};

typedef struct Resolver {
    SymCtx *c;
    const Program *prog;
    const FormulaConsts *consts;
    const ActDecl *top;
    size_t terms;
} Resolver;

static const ActDecl *find_act(const Program *prog, const char *name)
{
    for (size_t i = 0; i < prog->nacts; i++)
        if (strcmp(prog->acts[i]->name, name) == 0)
            return prog->acts[i];
    return NULL;
}

static const char *function_list(Arena *a)
{
    const char *s = "";
    for (int i = 0; i < FN_COUNT; i++)
        s = arena_printf(a, "%s%s%s", s, i ? ", " : "", sym_fns[i].name);
    return s;
}

/* "; did you mean 'NAME'?" for the closest of the candidates, or "". */
static const char *suggestion(Arena *a, const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    int dist = 3;
    for (size_t i = 0; i < n; i++) {
        int d = edit_distance(word, cands[i], 2);
        if (d < dist) {
            dist = d;
            best = cands[i];
        }
    }
    return best ? arena_printf(a, "; did you mean '%s'?", best) : "";
}

static const Sym *resolve(Resolver *R, const Frame *f, const Expr *e);

static const Sym *resolve_name(Resolver *R, const Frame *f, const Expr *e)
{
    const char *name = e->u.name;
    const ActDecl *d = f->decl;
    if (strcmp(name, d->var) == 0)
        return f->x;
    for (size_t i = 0; i < d->nparams; i++)
        if (strcmp(name, d->params[i].name) == 0)
            return f->params[i];
    double v;
    if (R->consts != NULL && R->consts->find(R->consts->ctx, name, &v))
        return sym_num(R->c, v, e->pos);
    if (strcmp(name, "pi") == 0)
        return sym_num(R->c, M_PI, e->pos);
    if (strcmp(name, "e") == 0)
        return sym_num(R->c, M_E, e->pos);
    Arena *a = R->c->a;
    if (sym_fn_lookup(name) >= 0 || find_act(R->prog, name) != NULL) {
        diag_at(R->c->err, e->pos, R->c->src, "'%s' is a function: call it, as in %s(%s)", name, name, d->var);
        return NULL;
    }
    const char **cands = arena_alloc(a, (d->nparams + 3) * sizeof *cands);
    size_t n = 0;
    cands[n++] = d->var;
    cands[n++] = "pi";
    for (size_t i = 0; i < d->nparams; i++)
        cands[n++] = d->params[i].name;
    diag_at(R->c->err, e->pos, R->c->src, "unknown name '%s' in the formula of '%s' (its variable is '%s')%s", name,
            d->name, d->var, suggestion(a, name, cands, n));
    return NULL;
}

static const Sym *resolve_function(Resolver *R, const Frame *f, const Expr *e, SymFn fn)
{
    int arity = sym_fns[fn].arity;
    if (e->u.call.nargs != (size_t)arity) {
        diag_at(R->c->err, e->pos, R->c->src, "'%s' takes %d argument%s, got %zu", sym_fns[fn].name, arity,
                arity == 1 ? "" : "s", e->u.call.nargs);
        return NULL;
    }
    const Sym *a = resolve(R, f, e->u.call.args[0]);
    const Sym *b = arity == 2 ? resolve(R, f, e->u.call.args[1]) : NULL;
    return sym_call(R->c, fn, a, b, e->pos);
}

static const char *call_chain(Arena *a, const Frame *f, const char *last)
{
    const char *s = last;
    for (; f != NULL; f = f->caller)
        s = arena_printf(a, "%s -> %s", f->decl->name, s);
    return s;
}

/* Another formula activation: its body with its variable and parameters bound. */
static const Sym *inline_act(Resolver *R, const Frame *f, const Expr *e, const ActDecl *callee)
{
    for (const Frame *g = f; g != NULL; g = g->caller)
        if (g->decl == callee) {
            diag_at(R->c->err, e->pos, R->c->src, "recursive activation '%s': %s", callee->name,
                    call_chain(R->c->a, f, callee->name));
            return NULL;
        }
    size_t nargs = e->u.call.nargs;
    if (nargs < 1 || nargs > 1 + callee->nparams) {
        diag_at(R->c->err, e->pos, R->c->src,
                "'%s' takes its variable and at most %zu parameter%s (%zu argument%s given)", callee->name,
                callee->nparams, callee->nparams == 1 ? "" : "s", nargs, nargs == 1 ? "" : "s");
        return NULL;
    }
    Frame inner = {callee, resolve(R, f, e->u.call.args[0]), NULL, f};
    if (inner.x == NULL)
        return NULL;
    inner.params = arena_alloc(R->c->a, (callee->nparams + 1) * sizeof *inner.params);
    for (size_t i = 0; i < callee->nparams; i++) {
        inner.params[i] = i + 1 < nargs ? resolve(R, f, e->u.call.args[i + 1])
                                        : sym_num(R->c, callee->params[i].def, callee->params[i].pos);
        if (inner.params[i] == NULL)
            return NULL;
    }
    return resolve(R, &inner, callee->body);
}

static const Sym *resolve_call(Resolver *R, const Frame *f, const Expr *e)
{
    const char *name = e->u.call.fn;
    /* The file's activations shadow the functions (act softplus(x) = ...). */
    const ActDecl *callee = find_act(R->prog, name);
    if (callee != NULL)
        return inline_act(R, f, e, callee);
    int fn = sym_fn_lookup(name);
    if (fn >= 0)
        return resolve_function(R, f, e, (SymFn)fn);
    Arena *a = R->c->a;
    if (act_lookup(name) != NULL) {
        diag_at(R->c->err, e->pos, R->c->src,
                "'%s' is a built-in activation, not a function formulas can call (functions: %s)", name,
                function_list(a));
        return NULL;
    }
    const char **cands = arena_alloc(a, (FN_COUNT + R->prog->nacts) * sizeof *cands);
    size_t n = 0;
    for (int i = 0; i < FN_COUNT; i++)
        cands[n++] = sym_fns[i].name;
    for (size_t i = 0; i < R->prog->nacts; i++)
        cands[n++] = R->prog->acts[i]->name;
    const char *hint = suggestion(a, name, cands, n);
    if (*hint)
        diag_at(R->c->err, e->pos, R->c->src, "unknown function '%s' in the formula of '%s'%s", name,
                R->top->name, hint);
    else
        diag_at(R->c->err, e->pos, R->c->src, "unknown function '%s' in the formula of '%s' (functions: %s)", name,
                R->top->name, function_list(a));
    return NULL;
}

static const Sym *resolve(Resolver *R, const Frame *f, const Expr *e)
{
    if (++R->terms > FORMULA_MAX_TERMS) {
        diag_at(R->c->err, e->pos, R->c->src,
                "the formula of '%s' has more than %d terms once the activations it calls are expanded",
                R->top->name, FORMULA_MAX_TERMS);
        return NULL;
    }
    switch (e->kind) {
    case EXPR_NUM:
        return sym_num(R->c, e->u.num, e->pos);
    case EXPR_NAME:
        return resolve_name(R, f, e);
    case EXPR_NEG:
        return sym_neg(R->c, resolve(R, f, e->u.operand), e->pos);
    case EXPR_BINARY: {
        const Sym *l = resolve(R, f, e->u.bin.lhs);
        const Sym *r = l ? resolve(R, f, e->u.bin.rhs) : NULL;
        switch (e->u.bin.op) {
        case '+':
            return sym_add(R->c, l, r, e->pos);
        case '-':
            return sym_sub(R->c, l, r, e->pos);
        case '*':
            return sym_mul(R->c, l, r, e->pos);
        case '/':
            return sym_div(R->c, l, r, e->pos);
        default:
            return sym_pow(R->c, l, r, e->pos);
        }
    }
    case EXPR_CALL:
        return resolve_call(R, f, e);
    }
    diag_internal(R->c->err, "unknown expression kind %d", (int)e->kind);
    return NULL;
}

const Sym *formula_resolve(SymCtx *c, const Program *prog, const FormulaConsts *consts, const ActDecl *decl,
                           const double *values)
{
    Resolver R = {c, prog, consts, decl, 0};
    Frame top = {decl, sym_x(c, decl->var_pos), NULL, NULL};
    top.params = arena_alloc(c->a, (decl->nparams + 1) * sizeof *top.params);
    for (size_t i = 0; i < decl->nparams; i++)
        top.params[i] = sym_num(c, values ? values[i] : decl->params[i].def, decl->params[i].pos);
    return resolve(&R, &top, decl->body);
}
