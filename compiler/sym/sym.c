/* Smart constructors: each builds its node after the simplifications that
 * keep formulas and their derivatives short. Normal forms they maintain:
 * a NEG never wraps a number, a NEG or a SUB; numbers come first in products;
 * a number added or subtracted is non-negative. */
#include "sym.h"

#include <math.h>

static const Sym *mk(SymCtx *c, SymKind k, const Sym *a, const Sym *b, SrcPos pos)
{
    Sym *e = arena_alloc(c->a, sizeof *e);
    e->kind = k;
    e->a = a;
    e->b = b;
    e->pos = pos;
    return e;
}

int sym_is_num(const Sym *e, double v) { return e != NULL && e->kind == SYM_NUM && e->num == v; }

static int is_num(const Sym *e) { return e->kind == SYM_NUM; }
static int is_call(const Sym *e, SymFn fn) { return e->kind == SYM_CALL && e->fn == fn; }
static int is_whole(double v) { return v == floor(v) && fabs(v) < 1e15; }

/* A folded constant, or a positioned error when it is not finite. */
static const Sym *folded(SymCtx *c, double v, SrcPos pos, const char *why)
{
    if (!isfinite(v)) {
        diag_at(c->err, pos, c->src, "%s", why);
        return NULL;
    }
    return sym_num(c, v, pos);
}

const Sym *sym_num(SymCtx *c, double v, SrcPos pos)
{
    Sym *e = (Sym *)mk(c, SYM_NUM, NULL, NULL, pos);
    e->num = v == 0 ? 0.0 : v; /* no -0 */
    return e;
}

const Sym *sym_x(SymCtx *c, SrcPos pos) { return mk(c, SYM_X, NULL, NULL, pos); }

const Sym *sym_neg(SymCtx *c, const Sym *a, SrcPos pos)
{
    if (a == NULL)
        return NULL;
    switch (a->kind) {
    case SYM_NUM:
        return sym_num(c, -a->num, pos);
    case SYM_NEG:
        return a->a;
    case SYM_SUB:
        return mk(c, SYM_SUB, a->b, a->a, pos);
    case SYM_MUL:
        if (is_num(a->a))
            return sym_mul(c, sym_num(c, -a->a->num, a->a->pos), a->b, pos);
        break;
    case SYM_DIV: /* -(2*x/y) = -2*x/y */
        if (is_num(a->a) || (a->a->kind == SYM_MUL && is_num(a->a->a)))
            return sym_div(c, sym_neg(c, a->a, pos), a->b, pos);
        break;
    default:
        break;
    }
    return mk(c, SYM_NEG, a, NULL, pos);
}

const Sym *sym_add(SymCtx *c, const Sym *a, const Sym *b, SrcPos pos)
{
    if (a == NULL || b == NULL)
        return NULL;
    if (is_num(a) && is_num(b))
        return folded(c, a->num + b->num, pos, "this constant sum overflows");
    if (sym_is_num(a, 0))
        return b;
    if (sym_is_num(b, 0))
        return a;
    if (b->kind == SYM_NEG)
        return sym_sub(c, a, b->a, pos);
    if (is_num(b) && b->num < 0)
        return sym_sub(c, a, sym_num(c, -b->num, b->pos), pos);
    if (a->kind == SYM_NEG)
        return sym_sub(c, b, a->a, pos);
    if (sym_equal(a, b))
        return sym_mul(c, sym_num(c, 2, pos), a, pos);
    return mk(c, SYM_ADD, a, b, pos);
}

const Sym *sym_sub(SymCtx *c, const Sym *a, const Sym *b, SrcPos pos)
{
    if (a == NULL || b == NULL)
        return NULL;
    if (is_num(a) && is_num(b))
        return folded(c, a->num - b->num, pos, "this constant difference overflows");
    if (sym_is_num(b, 0))
        return a;
    if (sym_is_num(a, 0))
        return sym_neg(c, b, pos);
    if (sym_equal(a, b))
        return sym_num(c, 0, pos);
    if (b->kind == SYM_NEG)
        return sym_add(c, a, b->a, pos);
    if (is_num(b) && b->num < 0)
        return sym_add(c, a, sym_num(c, -b->num, b->pos), pos);
    return mk(c, SYM_SUB, a, b, pos);
}

/* The power p^k as (base, exponent) when e is p^NUMBER, else (e, 1). */
static const Sym *power_base(const Sym *e, double *k)
{
    if (e->kind == SYM_POW && is_num(e->b)) {
        *k = e->b->num;
        return e->a;
    }
    *k = 1;
    return e;
}

const Sym *sym_mul(SymCtx *c, const Sym *a, const Sym *b, SrcPos pos)
{
    if (a == NULL || b == NULL)
        return NULL;
    if (is_num(a) && is_num(b))
        return folded(c, a->num * b->num, pos, "this constant product overflows");
    if (sym_is_num(a, 0) || sym_is_num(b, 0))
        return sym_num(c, 0, pos);
    if (sym_is_num(a, 1))
        return b;
    if (sym_is_num(b, 1))
        return a;
    if (sym_is_num(a, -1))
        return sym_neg(c, b, pos);
    if (sym_is_num(b, -1))
        return sym_neg(c, a, pos);
    if (a->kind == SYM_NEG)
        return sym_neg(c, sym_mul(c, a->a, b, pos), pos);
    if (b->kind == SYM_NEG)
        return sym_neg(c, sym_mul(c, a, b->a, pos), pos);
    if (is_num(b))
        return sym_mul(c, b, a, pos);
    if (!is_num(a) && a->kind == SYM_MUL && is_num(a->a)) /* (k*p)*b = k*(p*b) */
        return sym_mul(c, a->a, sym_mul(c, a->b, b, pos), pos);
    if (b->kind == SYM_MUL && is_num(b->a)) /* constants first: a*(k*q) = k*(a*q), folded when a is one */
        return is_num(a) ? sym_mul(c, sym_mul(c, a, b->a, pos), b->b, pos)
                         : sym_mul(c, b->a, sym_mul(c, a, b->b, pos), pos);
    if (is_num(a) && b->kind == SYM_DIV && is_num(b->a))
        return sym_div(c, sym_mul(c, a, b->a, pos), b->b, pos);
    if (a->kind == SYM_DIV)
        return sym_div(c, sym_mul(c, a->a, b, pos), a->b, pos);
    if (b->kind == SYM_DIV)
        return sym_div(c, sym_mul(c, a, b->a, pos), b->b, pos);
    double ka, kb;
    const Sym *pa = power_base(a, &ka), *pb = power_base(b, &kb);
    if (!is_num(pa) && sym_equal(pa, pb))
        return sym_pow(c, pa, sym_num(c, ka + kb, pos), pos);
    if (is_call(a, FN_EXP) && is_call(b, FN_EXP))
        return sym_call(c, FN_EXP, sym_add(c, a->a, b->a, pos), NULL, pos);
    return mk(c, SYM_MUL, a, b, pos);
}

/* e when d is 1 + exp(e) or exp(e) + 1, else NULL. */
static const Sym *one_plus_exp(const Sym *d)
{
    if (d->kind != SYM_ADD)
        return NULL;
    if (sym_is_num(d->a, 1) && is_call(d->b, FN_EXP))
        return d->b->a;
    if (sym_is_num(d->b, 1) && is_call(d->a, FN_EXP))
        return d->a->a;
    return NULL;
}

/* The logistic forms: exp(e)/(1 + exp(e)) = sigmoid(e), a/(1 + exp(e)) =
 * a*sigmoid(-e), exp(e)/(1 + exp(e))^2 = sigmoid(e)*sigmoid(-e). They also
 * remove the overflow of exp(e)/(1 + exp(e)) at large e. NULL if none applies. */
static const Sym *logistic(SymCtx *c, const Sym *a, const Sym *b, SrcPos pos)
{
    const Sym *e = one_plus_exp(b);
    if (e != NULL) {
        if (is_call(a, FN_EXP) && sym_equal(a->a, e))
            return sym_call(c, FN_SIGMOID, e, NULL, pos);
        return sym_mul(c, a, sym_call(c, FN_SIGMOID, sym_neg(c, e, pos), NULL, pos), pos);
    }
    if (b->kind == SYM_POW && sym_is_num(b->b, 2) && (e = one_plus_exp(b->a)) != NULL && is_call(a, FN_EXP) &&
        sym_equal(a->a, e))
        return sym_mul(c, sym_call(c, FN_SIGMOID, e, NULL, pos),
                       sym_call(c, FN_SIGMOID, sym_neg(c, e, pos), NULL, pos), pos);
    return NULL;
}

const Sym *sym_div(SymCtx *c, const Sym *a, const Sym *b, SrcPos pos)
{
    if (a == NULL || b == NULL)
        return NULL;
    if (sym_is_num(b, 0)) {
        diag_at(c->err, pos, c->src, "division by zero: the denominator is the constant 0");
        return NULL;
    }
    if (is_num(a) && is_num(b))
        return folded(c, a->num / b->num, pos, "this constant quotient overflows");
    if (sym_is_num(a, 0))
        return a;
    if (sym_is_num(b, 1))
        return a;
    if (sym_is_num(b, -1))
        return sym_neg(c, a, pos);
    if (sym_equal(a, b))
        return sym_num(c, 1, pos);
    if (a->kind == SYM_NEG)
        return sym_neg(c, sym_div(c, a->a, b, pos), pos);
    if (b->kind == SYM_NEG)
        return sym_neg(c, sym_div(c, a, b->a, pos), pos);
    if (a->kind == SYM_DIV)
        return sym_div(c, a->a, sym_mul(c, a->b, b, pos), pos);
    if (b->kind == SYM_DIV)
        return sym_div(c, sym_mul(c, a, b->b, pos), b->a, pos);
    if (is_num(b) && a->kind == SYM_MUL && is_num(a->a))
        return sym_mul(c, sym_div(c, a->a, b, pos), a->b, pos);
    if (is_num(a) && b->kind == SYM_MUL && is_num(b->a))
        return sym_div(c, sym_div(c, a, b->a, pos), b->b, pos);
    /* a/exp(e) = a*exp(-e): no exp overflowing in a denominator where the
     * quotient is small (cos(x)/exp(x*x/2) at variance 25 gave inf/inf),
     * and equal functions written either way simplify alike. */
    if (is_call(b, FN_EXP))
        return sym_mul(c, a, sym_call(c, FN_EXP, sym_neg(c, b->a, pos), NULL, pos), pos);
    const Sym *l = logistic(c, a, b, pos);
    if (l != NULL || c->err->code)
        return l;
    return mk(c, SYM_DIV, a, b, pos);
}

const Sym *sym_pow(SymCtx *c, const Sym *a, const Sym *b, SrcPos pos)
{
    if (a == NULL || b == NULL)
        return NULL;
    if (is_num(a) && is_num(b)) {
        if (a->num == 0 && b->num < 0) {
            diag_at(c->err, pos, c->src, "division by zero: 0 raised to the negative power %g", b->num);
            return NULL;
        }
        if (a->num < 0 && !is_whole(b->num)) {
            diag_at(c->err, pos, c->src, "%g^%g is not a real number", a->num, b->num);
            return NULL;
        }
        return folded(c, pow(a->num, b->num), pos, "this constant power overflows");
    }
    if (sym_is_num(b, 1))
        return a;
    if (sym_is_num(b, 0) || sym_is_num(a, 1))
        return sym_num(c, 1, pos);
    if (sym_is_num(a, 0) && is_num(b) && b->num > 0)
        return sym_num(c, 0, pos);
    if (is_num(b) && (a->kind == SYM_MUL || a->kind == SYM_DIV) && is_num(a->a) && a->a->num > 0)
        return a->kind == SYM_MUL /* (k*p)^n = k^n*p^n, (k/p)^n = k^n/p^n */
                   ? sym_mul(c, sym_pow(c, a->a, b, pos), sym_pow(c, a->b, b, pos), pos)
                   : sym_div(c, sym_pow(c, a->a, b, pos), sym_pow(c, a->b, b, pos), pos);
    if (is_num(b) && a->kind == SYM_DIV && is_num(a->b) && a->b->num > 0) /* (p/k)^n = p^n/k^n */
        return sym_div(c, sym_pow(c, a->a, b, pos), sym_pow(c, a->b, b, pos), pos);
    if (is_num(b) && is_whole(b->num)) {
        if (a->kind == SYM_POW && is_num(a->b) && is_whole(a->b->num))
            return sym_pow(c, a->a, sym_num(c, a->b->num * b->num, pos), pos);
        if (a->kind == SYM_NEG) {
            const Sym *p = sym_pow(c, a->a, b, pos);
            return fmod(b->num, 2) == 0 ? p : sym_neg(c, p, pos);
        }
    }
    if (is_call(a, FN_EXP))
        return sym_call(c, FN_EXP, sym_mul(c, b, a->a, pos), NULL, pos);
    return mk(c, SYM_POW, a, b, pos);
}

const Sym *sym_call(SymCtx *c, SymFn fn, const Sym *a, const Sym *b, SrcPos pos)
{
    int two = sym_fns[fn].arity == 2;
    if (a == NULL || (two && b == NULL))
        return NULL;
    if (is_num(a) && (!two || is_num(b))) {
        double v = sym_fns[fn].eval(a->num, two ? b->num : 0);
        if (!isfinite(v)) {
            if (two)
                diag_at(c->err, pos, c->src, "%s(%g, %g) is not finite", sym_fns[fn].name, a->num, b->num);
            else
                diag_at(c->err, pos, c->src, "%s(%g) is not finite", sym_fns[fn].name, a->num);
            return NULL;
        }
        return sym_num(c, v, pos);
    }
    if (fn == FN_LOG && is_call(a, FN_EXP))
        return a->a;
    if (fn == FN_LOG && one_plus_exp(a) != NULL)
        return sym_call(c, FN_SOFTPLUS, one_plus_exp(a), NULL, pos);
    if (fn == FN_ABS && (a->kind == SYM_NEG || is_call(a, FN_ABS)))
        return sym_call(c, FN_ABS, a->a, NULL, pos);
    if (fn == FN_SQRT && a->kind == SYM_POW && sym_is_num(a->b, 2))
        return sym_call(c, FN_ABS, a->a, NULL, pos);
    Sym *e = (Sym *)mk(c, SYM_CALL, a, two ? b : NULL, pos);
    e->fn = fn;
    return e;
}

const Sym *sym_subst(SymCtx *c, const Sym *e, const Sym *by)
{
    if (e == NULL || by == NULL)
        return NULL;
    switch (e->kind) {
    case SYM_NUM:
        return e;
    case SYM_X:
        return by;
    case SYM_NEG:
        return sym_neg(c, sym_subst(c, e->a, by), e->pos);
    case SYM_ADD:
        return sym_add(c, sym_subst(c, e->a, by), sym_subst(c, e->b, by), e->pos);
    case SYM_SUB:
        return sym_sub(c, sym_subst(c, e->a, by), sym_subst(c, e->b, by), e->pos);
    case SYM_MUL:
        return sym_mul(c, sym_subst(c, e->a, by), sym_subst(c, e->b, by), e->pos);
    case SYM_DIV:
        return sym_div(c, sym_subst(c, e->a, by), sym_subst(c, e->b, by), e->pos);
    case SYM_POW:
        return sym_pow(c, sym_subst(c, e->a, by), sym_subst(c, e->b, by), e->pos);
    case SYM_CALL:
        return sym_call(c, e->fn, sym_subst(c, e->a, by), e->b ? sym_subst(c, e->b, by) : NULL, e->pos);
    }
    return NULL;
}

int sym_equal(const Sym *a, const Sym *b)
{
    if (a == b)
        return 1;
    if (a == NULL || b == NULL || a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case SYM_NUM:
        return a->num == b->num;
    case SYM_X:
        return 1;
    case SYM_CALL:
        return a->fn == b->fn && sym_equal(a->a, b->a) && (a->b == NULL ? b->b == NULL : sym_equal(a->b, b->b));
    case SYM_NEG:
        return sym_equal(a->a, b->a);
    default:
        return sym_equal(a->a, b->a) && sym_equal(a->b, b->b);
    }
}

size_t sym_size(const Sym *e)
{
    if (e == NULL)
        return 0;
    return 1 + sym_size(e->a) + sym_size(e->b);
}

static double eval_node(const Sym *e, double x, const Sym **culprit)
{
    double a = e->a ? eval_node(e->a, x, culprit) : 0.0;
    double b = e->b ? eval_node(e->b, x, culprit) : 0.0;
    double v = 0.0;
    switch (e->kind) {
    case SYM_NUM:
        v = e->num;
        break;
    case SYM_X:
        v = x;
        break;
    case SYM_NEG:
        v = -a;
        break;
    case SYM_ADD:
        v = a + b;
        break;
    case SYM_SUB:
        v = a - b;
        break;
    case SYM_MUL:
        v = a * b;
        break;
    case SYM_DIV:
        v = a / b;
        break;
    case SYM_POW:
        v = pow(a, b);
        break;
    case SYM_CALL:
        v = sym_fns[e->fn].eval(a, b);
        break;
    }
    if (culprit != NULL && *culprit == NULL && !isfinite(v) && isfinite(a) && isfinite(b))
        *culprit = e;
    return v;
}

double sym_eval(const Sym *e, double x) { return eval_node(e, x, NULL); }

double sym_eval_blame(const Sym *e, double x, const Sym **culprit)
{
    *culprit = NULL;
    return eval_node(e, x, culprit);
}
