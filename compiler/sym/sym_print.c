/* Printing symbolic expressions: as formulas in the ntkc language (for
 * `ntkc derive` and messages) with only the parentheses precedence needs,
 * and as C for the emitted quadrature code, parenthesised throughout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sym.h"

/* Binding strength, as the ntkc parser reads it. */
enum { P_SUM = 1, P_PRODUCT = 2, P_UNARY = 3, P_POWER = 4, P_ATOM = 5 };

static int prec(const Sym *e)
{
    switch (e->kind) {
    case SYM_NUM:
        return e->num < 0 ? P_UNARY : P_ATOM;
    case SYM_ADD:
    case SYM_SUB:
        return P_SUM;
    case SYM_MUL:
    case SYM_DIV:
        return P_PRODUCT;
    case SYM_NEG:
        return P_UNARY;
    case SYM_POW:
        return P_POWER;
    default:
        return P_ATOM;
    }
}

/* The shortest decimal that reads back as v. */
static void put_number(StrBuf *sb, double v)
{
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    sb_puts(sb, buf);
}

static void print_at(StrBuf *sb, const Sym *e, const char *var, int min);

static void print_binary(StrBuf *sb, const Sym *e, const char *var, const char *op, int p)
{
    print_at(sb, e->a, var, p);
    sb_puts(sb, op);
    /* Left associative: a right operand of the same strength needs parentheses;
     * so does a signed one after * or /, for readability. */
    int right = p + 1;
    if (p == P_PRODUCT && prec(e->b) == P_UNARY)
        right = P_POWER;
    /* ...except a sum inside a sum or a product inside a product (associative). */
    if ((e->kind == SYM_ADD || e->kind == SYM_MUL) && e->b->kind == e->kind)
        right = p;
    print_at(sb, e->b, var, right);
}

static void print_at(StrBuf *sb, const Sym *e, const char *var, int min)
{
    int paren = prec(e) < min;
    if (paren)
        sb_puts(sb, "(");
    switch (e->kind) {
    case SYM_NUM:
        put_number(sb, e->num);
        break;
    case SYM_X:
        sb_puts(sb, var);
        break;
    case SYM_NEG:
        /* -(a*b) as -a*b: (-a)*b has the same value. */
        sb_puts(sb, "-");
        print_at(sb, e->a, var, e->a->kind == SYM_MUL || e->a->kind == SYM_DIV ? P_PRODUCT : P_UNARY);
        break;
    case SYM_ADD:
        print_binary(sb, e, var, " + ", P_SUM);
        break;
    case SYM_SUB:
        print_binary(sb, e, var, " - ", P_SUM);
        break;
    case SYM_MUL:
        print_binary(sb, e, var, "*", P_PRODUCT);
        break;
    case SYM_DIV:
        print_binary(sb, e, var, "/", P_PRODUCT);
        break;
    case SYM_POW:
        /* Right associative; the exponent may be signed (x^-1). */
        print_at(sb, e->a, var, P_ATOM);
        sb_puts(sb, "^");
        print_at(sb, e->b, var, P_UNARY);
        break;
    case SYM_CALL:
        sb_printf(sb, "%s(", sym_fns[e->fn].name);
        print_at(sb, e->a, var, 0);
        if (e->b != NULL) {
            sb_puts(sb, ", ");
            print_at(sb, e->b, var, 0);
        }
        sb_puts(sb, ")");
        break;
    }
    if (paren)
        sb_puts(sb, ")");
}

void sym_print(StrBuf *sb, const Sym *e, const char *var) { print_at(sb, e, var, 0); }

void sym_print_c(StrBuf *sb, const Sym *e, SymC *c)
{
    static const char ops[] = {[SYM_ADD] = '+', [SYM_SUB] = '-', [SYM_MUL] = '*', [SYM_DIV] = '/'};
    for (size_t k = 0; k < c->ntemps; k++)
        if (sym_equal(e, c->temps[k])) {
            sb_printf(sb, "t%zu", k);
            return;
        }
    switch (e->kind) {
    case SYM_NUM:
        sb_puts(sb, e->num < 0 ? "(" : "");
        sb_double(sb, e->num);
        sb_puts(sb, e->num < 0 ? ")" : "");
        return;
    case SYM_X:
        sb_puts(sb, c->var);
        return;
    case SYM_NEG:
        sb_puts(sb, "(-");
        sym_print_c(sb, e->a, c);
        sb_puts(sb, ")");
        return;
    case SYM_ADD:
    case SYM_SUB:
    case SYM_MUL:
    case SYM_DIV:
        sb_puts(sb, "(");
        sym_print_c(sb, e->a, c);
        sb_printf(sb, " %c ", ops[e->kind]);
        sym_print_c(sb, e->b, c);
        sb_puts(sb, ")");
        return;
    case SYM_POW:
        /* x^2, x^3: a product is exact and far cheaper than pow under tcc. */
        if (e->a->kind == SYM_X && (sym_is_num(e->b, 2) || sym_is_num(e->b, 3))) {
            sb_printf(sb, sym_is_num(e->b, 2) ? "(%s * %s)" : "(%s * %s * %s)", c->var, c->var, c->var);
            return;
        }
        sb_puts(sb, "pow(");
        sym_print_c(sb, e->a, c);
        sb_puts(sb, ", ");
        sym_print_c(sb, e->b, c);
        sb_puts(sb, ")");
        return;
    case SYM_CALL:
        if (sym_fns[e->fn].c_name != NULL) {
            sb_printf(sb, "%s(", sym_fns[e->fn].c_name);
        } else {
            sb_printf(sb, "%s_%s(", c->prefix, sym_fns[e->fn].name);
            c->used |= 1u << e->fn;
        }
        sym_print_c(sb, e->a, c);
        if (e->b != NULL) {
            sb_puts(sb, ", ");
            sym_print_c(sb, e->b, c);
        }
        sb_puts(sb, ")");
        return;
    }
}

typedef struct Seen {
    const Sym **v;
    size_t *count;
    size_t n, cap;
    Arena *a;
} Seen;

static void collect(Seen *s, const Sym *e)
{
    if (e == NULL)
        return;
    collect(s, e->a);
    collect(s, e->b);
    if (e->kind != SYM_CALL && e->kind != SYM_POW)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (sym_equal(s->v[i], e)) {
            s->count[i]++;
            return;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        const Sym **v = arena_alloc(s->a, cap * sizeof *v);
        size_t *count = arena_alloc(s->a, cap * sizeof *count);
        for (size_t i = 0; i < s->n; i++) {
            v[i] = s->v[i];
            count[i] = s->count[i];
        }
        s->v = v;
        s->count = count;
        s->cap = cap;
    }
    s->v[s->n] = e;
    s->count[s->n++] = 1;
}

size_t sym_common(Arena *a, const Sym *const *roots, size_t n, const Sym ***out)
{
    Seen s = {NULL, NULL, 0, 0, a};
    for (size_t i = 0; i < n; i++)
        collect(&s, roots[i]);
    size_t kept = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.count[i] > 1)
            s.v[kept++] = s.v[i];
    *out = s.v;
    return kept;
}
