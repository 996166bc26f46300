/* Symbolic differentiation: the textbook rules, built through the
 * simplifying constructors. A derivative term carries the source position of
 * the term it comes from, so a non-finite φ' is reported where it arises. */
#include "sym.h"

/* d f(a)/da for a one-argument function, or NULL for max/min (handled apart). */
static const Sym *outer_derivative(SymCtx *c, SymFn fn, const Sym *a, SrcPos p)
{
    switch (fn) {
    case FN_EXP:
        return sym_call(c, FN_EXP, a, NULL, p);
    case FN_LOG:
        return sym_div(c, sym_num(c, 1, p), a, p);
    case FN_SQRT:
        return sym_div(c, sym_num(c, 0.5, p), sym_call(c, FN_SQRT, a, NULL, p), p);
    case FN_SIN:
        return sym_call(c, FN_COS, a, NULL, p);
    case FN_COS:
        return sym_neg(c, sym_call(c, FN_SIN, a, NULL, p), p);
    case FN_TANH:
        return sym_sub(c, sym_num(c, 1, p), sym_pow(c, sym_call(c, FN_TANH, a, NULL, p), sym_num(c, 2, p), p), p);
    case FN_ATAN:
        return sym_div(c, sym_num(c, 1, p), sym_add(c, sym_num(c, 1, p), sym_pow(c, a, sym_num(c, 2, p), p), p), p);
    case FN_ERF: /* 2/√π·exp(-a²) */
        return sym_mul(c, sym_num(c, 1.1283791670955126, p),
                       sym_call(c, FN_EXP, sym_neg(c, sym_pow(c, a, sym_num(c, 2, p), p), p), NULL, p), p);
    case FN_ABS:
        return sym_call(c, FN_SIGN, a, NULL, p);
    case FN_SIGMOID: {
        const Sym *s = sym_call(c, FN_SIGMOID, a, NULL, p);
        return sym_mul(c, s, sym_sub(c, sym_num(c, 1, p), s, p), p);
    }
    case FN_SOFTPLUS:
        return sym_call(c, FN_SIGMOID, a, NULL, p);
    case FN_SIGN:
    case FN_STEP: /* zero almost everywhere, as neural-tangents' Sign */
        return sym_num(c, 0, p);
    default:
        return NULL;
    }
}

/* max(a, b)' = ((1 + s)·a' + (1 − s)·b')/2 with s = sign(a − b) (min:
 * sign(b − a)): at a tie the mean of the two slopes, the convention of the
 * kinked built-ins (relu'(0) = 1/2). */
static const Sym *diff_max_min(SymCtx *c, const Sym *e)
{
    SrcPos p = e->pos;
    const Sym *gap = e->fn == FN_MAX ? sym_sub(c, e->a, e->b, p) : sym_sub(c, e->b, e->a, p);
    const Sym *s = sym_call(c, FN_SIGN, gap, NULL, p), *one = sym_num(c, 1, p);
    const Sym *da = sym_diff(c, e->a), *db = sym_diff(c, e->b);
    const Sym *sum = sym_add(c, sym_mul(c, sym_add(c, one, s, p), da, p), sym_mul(c, sym_sub(c, one, s, p), db, p), p);
    return sym_div(c, sum, sym_num(c, 2, p), p);
}

static const Sym *diff_pow(SymCtx *c, const Sym *e)
{
    SrcPos p = e->pos;
    const Sym *f = e->a, *g = e->b, *df = sym_diff(c, f), *dg = sym_diff(c, g);
    if (df == NULL || dg == NULL)
        return NULL;
    if (sym_is_num(dg, 0)) /* g f^(g-1) f' */
        return sym_mul(c, sym_mul(c, g, sym_pow(c, f, sym_sub(c, g, sym_num(c, 1, p), p), p), p), df, p);
    /* f^g (g' log f + g f'/f) */
    const Sym *inner = sym_add(c, sym_mul(c, dg, sym_call(c, FN_LOG, f, NULL, p), p),
                               sym_div(c, sym_mul(c, g, df, p), f, p), p);
    return sym_mul(c, e, inner, p);
}

static const Sym *diff_div(SymCtx *c, const Sym *e)
{
    SrcPos p = e->pos;
    const Sym *f = e->a, *g = e->b, *df = sym_diff(c, f), *dg = sym_diff(c, g);
    if (df == NULL || dg == NULL)
        return NULL;
    if (sym_is_num(dg, 0))
        return sym_div(c, df, g, p);
    const Sym *g2 = sym_pow(c, g, sym_num(c, 2, p), p);
    if (sym_is_num(df, 0))
        return sym_neg(c, sym_div(c, sym_mul(c, f, dg, p), g2, p), p);
    return sym_div(c, sym_sub(c, sym_mul(c, df, g, p), sym_mul(c, f, dg, p), p), g2, p);
}

const Sym *sym_diff(SymCtx *c, const Sym *e)
{
    if (e == NULL)
        return NULL;
    SrcPos p = e->pos;
    switch (e->kind) {
    case SYM_NUM:
        return sym_num(c, 0, p);
    case SYM_X:
        return sym_num(c, 1, p);
    case SYM_NEG:
        return sym_neg(c, sym_diff(c, e->a), p);
    case SYM_ADD:
        return sym_add(c, sym_diff(c, e->a), sym_diff(c, e->b), p);
    case SYM_SUB:
        return sym_sub(c, sym_diff(c, e->a), sym_diff(c, e->b), p);
    case SYM_MUL:
        return sym_add(c, sym_mul(c, sym_diff(c, e->a), e->b, p), sym_mul(c, e->a, sym_diff(c, e->b), p), p);
    case SYM_DIV:
        return diff_div(c, e);
    case SYM_POW:
        return diff_pow(c, e);
    case SYM_CALL: {
        if (e->fn == FN_MAX || e->fn == FN_MIN)
            return diff_max_min(c, e);
        const Sym *da = sym_diff(c, e->a);
        if (sym_is_num(da, 0))
            return sym_num(c, 0, p);
        return sym_mul(c, outer_derivative(c, e->fn, e->a, p), da, p);
    }
    }
    return NULL;
}
