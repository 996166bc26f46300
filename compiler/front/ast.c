#include "ast.h"


char *ast_expr_sexp(Arena *a, const Expr *e)
{
    switch (e->kind) {
    case EXPR_NUM:
        return arena_printf(a, "%.17g", e->u.num);
    case EXPR_NAME:
        return arena_strdup(a, e->u.name);
    case EXPR_NEG:
        return arena_printf(a, "(neg %s)", ast_expr_sexp(a, e->u.operand));
    case EXPR_BINARY:
        return arena_printf(a, "(%c %s %s)", e->u.bin.op, ast_expr_sexp(a, e->u.bin.lhs),
                            ast_expr_sexp(a, e->u.bin.rhs));
    case EXPR_CALL: {
        char *s = arena_printf(a, "(%s", e->u.call.fn);
        for (size_t i = 0; i < e->u.call.nargs; i++)
            s = arena_printf(a, "%s %s", s, ast_expr_sexp(a, e->u.call.args[i]));
        return arena_printf(a, "%s)", s);
    }
    }
    return arena_strdup(a, "?");
}
