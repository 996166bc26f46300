/* The parser: AST shapes for every statement form, formula expressions
 * (precedence, associativity, positions) and syntax errors with positions. */
#include <criterion/criterion.h>
#include <string.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "parser.h"

typedef struct Parsed {
    Arena a;
    ntkc_error err;
    Program *p;
} Parsed;

static void parse(Parsed *r, const char *src)
{
    arena_init(&r->a);
    diag_clear(&r->err);
    r->p = parse_program(&r->a, src, "t.ntk", &r->err);
}

static void parse_ok(Parsed *r, const char *src)
{
    parse(r, src);
    cr_assert_not_null(r->p, "%s", r->err.message);
}

/* The parse fails with a message that starts with `where` ("t.ntk:L:C: error: ")
 * and contains `what`. */
static void expect_syntax_error(const char *src, const char *where, const char *what)
{
    Parsed r;
    parse(&r, src);
    cr_expect_null(r.p, "should fail: %s", src);
    cr_expect_eq(r.err.code, NTKC_EUSER);
    char *prefix = arena_printf(&r.a, "t.ntk:%s: error: ", where);
    cr_expect(strncmp(r.err.message, prefix, strlen(prefix)) == 0, "want prefix '%s', got: %s", prefix,
              r.err.message);
    cr_expect(strstr(r.err.message, what) != NULL, "want '%s' in: %s", what, r.err.message);
    arena_free(&r.a);
}

static const char *example =
    "# fc.ntk\n"
    "let W = 1.5\n"
    "net mlp {\n"
    "    let B = 0.05\n"
    "    param ntk\n"
    "    dense(w_std=W, b_std=B)\n"
    "    relu\n"
    "    repeat 2 { dense(1.5, 0.05); erf }\n"
    "    erf(a=2, b=0.5)\n"
    "    dense(1.0)\n"
    "}\n"
    "net other { dense(2); relu; dense }\n";

Test(parser, example_file_structure)
{
    Parsed r;
    parse_ok(&r, example);
    Program *p = r.p;
    cr_assert_eq(p->nnets, 2);
    cr_assert_eq(p->nlets, 1);
    cr_expect_str_eq(p->lets[0]->u.let.name, "W");
    cr_expect_eq(p->lets[0]->u.let.value.kind, VAL_NUMBER);
    cr_expect_float_eq(p->lets[0]->u.let.value.num, 1.5, 0);
    NetDecl *n = p->nets[0];
    cr_expect_str_eq(n->name, "mlp");
    cr_expect_eq(n->pos.line, 3);
    cr_expect_eq(n->pos.col, 5);
    cr_expect_eq(n->body.open.col, 9);
    cr_assert_eq(n->body.n, 7);
    StmtKind kinds[] = {STMT_LET, STMT_PARAM, STMT_LAYER, STMT_LAYER, STMT_REPEAT, STMT_LAYER, STMT_LAYER};
    for (size_t i = 0; i < 7; i++)
        cr_expect_eq(n->body.v[i]->kind, kinds[i], "statement %zu", i);
    cr_expect_str_eq(n->body.v[1]->u.param.name, "ntk");

    Stmt *d = n->body.v[2];
    cr_expect_str_eq(d->u.layer.name, "dense");
    cr_expect_eq(d->pos.line, 6);
    cr_expect_eq(d->pos.col, 5);
    cr_assert_eq(d->u.layer.args.n, 2);
    cr_expect_str_eq(d->u.layer.args.v[0].name, "w_std");
    cr_expect_eq(d->u.layer.args.v[0].value.kind, VAL_NAME);
    cr_expect_str_eq(d->u.layer.args.v[0].value.name, "W");
    cr_expect_eq(d->u.layer.args.v[0].pos.col, 11);
    cr_expect_eq(d->u.layer.args.v[0].value.pos.col, 17);

    Stmt *relu = n->body.v[3];
    cr_expect_str_eq(relu->u.layer.name, "relu");
    cr_expect_eq(relu->u.layer.args.written, 0);
    cr_expect_null(relu->u.layer.body);

    Stmt *rep = n->body.v[4];
    cr_expect_eq(rep->u.repeat.count.kind, VAL_NUMBER);
    cr_expect_float_eq(rep->u.repeat.count.num, 2, 0);
    cr_assert_eq(rep->u.repeat.body.n, 2);
    Stmt *inner = rep->u.repeat.body.v[0];
    cr_assert_eq(inner->u.layer.args.n, 2);
    cr_expect_null(inner->u.layer.args.v[0].name);
    cr_expect_float_eq(inner->u.layer.args.v[1].value.num, 0.05, 0);
    cr_expect_str_eq(rep->u.repeat.body.v[1]->u.layer.name, "erf");

    Stmt *erf = n->body.v[5];
    cr_assert_eq(erf->u.layer.args.n, 2);
    cr_expect_str_eq(erf->u.layer.args.v[1].name, "b");

    cr_expect_str_eq(p->nets[1]->name, "other");
    cr_expect_eq(p->nets[1]->body.n, 3);
    arena_free(&r.a);
}

Test(parser, general_statement_with_block_and_modifier)
{
    Parsed r;
    parse_ok(&r, "net g {\n  dense\n  fanout(2) { branch { dense; relu } branch { dense } } sum\n  input image(28, 28, channels=1)\n}");
    Block *b = &r.p->nets[0]->body;
    cr_assert_eq(b->n, 3);
    Stmt *f = b->v[1];
    cr_expect_str_eq(f->u.layer.name, "fanout");
    cr_expect_eq(f->u.layer.args.n, 1);
    cr_assert_not_null(f->u.layer.body);
    cr_expect_eq(f->u.layer.body->n, 2);
    cr_expect_str_eq(f->u.layer.body->v[0]->u.layer.name, "branch");
    cr_expect_eq(f->u.layer.body->v[0]->u.layer.body->n, 2);
    cr_expect_str_eq(f->u.layer.modifier, "sum");
    cr_expect_eq(f->u.layer.modifier_pos.line, 3);
    cr_expect_eq(f->u.layer.modifier_pos.col, 57);
    Stmt *in = b->v[2];
    cr_expect_eq(in->kind, STMT_INPUT);
    cr_expect_str_eq(in->u.input.kind, "image");
    cr_assert_eq(in->u.input.args.n, 3);
    cr_expect_str_eq(in->u.input.args.v[2].name, "channels");
    arena_free(&r.a);
}

Test(parser, argument_values_as_written)
{
    Parsed r;
    parse_ok(&r, "net n { conv(-2.5, -W, padding=same, strides=1e-3) }");
    ArgList *a = &r.p->nets[0]->body.v[0]->u.layer.args;
    cr_assert_eq(a->n, 4);
    cr_expect_eq(a->v[0].value.kind, VAL_NUMBER);
    cr_expect(a->v[0].value.negated);
    cr_expect_float_eq(a->v[0].value.num, 2.5, 0);
    cr_expect_eq(a->v[1].value.kind, VAL_NAME);
    cr_expect(a->v[1].value.negated);
    cr_expect_str_eq(a->v[1].value.name, "W");
    cr_expect_eq(a->v[1].value.pos.col, 20);
    cr_expect_eq(a->v[1].value.tok_pos.col, 21);
    cr_expect_str_eq(a->v[2].name, "padding");
    cr_expect_eq(a->v[2].value.kind, VAL_NAME);
    cr_expect_str_eq(a->v[2].value.name, "same");
    cr_expect_str_eq(a->v[3].value.text, "1e-3");
    cr_expect_float_eq(a->v[3].value.num, 1e-3, 0);
    arena_free(&r.a);
}

Test(parser, separators_and_empty_parens)
{
    Parsed r;
    parse_ok(&r, "\n;\nnet n {;; dense();\n\n relu ;}\n;let X = -.5;net m{dense}");
    cr_expect_eq(r.p->nnets, 2);
    cr_expect_eq(r.p->nets[0]->body.n, 2);
    cr_expect(r.p->nets[0]->body.v[0]->u.layer.args.written);
    cr_expect_eq(r.p->nets[0]->body.v[0]->u.layer.args.n, 0);
    cr_expect(r.p->lets[0]->u.let.value.negated);
    arena_free(&r.a);
}

/* The expression of `act f(...) = EXPR` as an S-expression. */
static char *formula(Parsed *r, const char *src)
{
    parse_ok(r, src);
    cr_assert_eq(r->p->nacts, 1);
    return ast_expr_sexp(&r->a, r->p->acts[0]->body);
}

Test(parser, formula_precedence_and_associativity)
{
    static const char *const cases[][2] = {
        {"1 + 2 * 3", "(+ 1 (* 2 3))"},
        {"1 - 2 - 3", "(- (- 1 2) 3)"},
        {"8 / 4 / 2", "(/ (/ 8 4) 2)"},
        {"2 ^ 3 ^ 2", "(^ 2 (^ 3 2))"},
        {"-x^2", "(neg (^ x 2))"},
        {"x^-2", "(^ x (neg 2))"},
        {"-x * y", "(* (neg x) y)"},
        {"(1 + x) * 2", "(* (+ 1 x) 2)"},
        {"a*erf(b*x) + c", "(+ (* a (erf (* b x))) c)"},
        {"max(x, 0) - -x", "(- (max x 0) (neg x))"},
        {"f() + g(x, 2, y^2)", "(+ (f) (g x 2 (^ y 2)))"},
        {"2 * x ^ 2 / 3", "(/ (* 2 (^ x 2)) 3)"},
        {".5e1", "5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Parsed r;
        Arena tmp;
        arena_init(&tmp);
        char *text = arena_printf(&tmp, "act f(x, a = 1, b = 1, c = 0) = %s", cases[i][0]);
        cr_expect_str_eq(formula(&r, text), cases[i][1], "%s", cases[i][0]);
        arena_free(&r.a);
        arena_free(&tmp);
    }
}

Test(parser, formula_declaration)
{
    Parsed r;
    parse_ok(&r, "act swishy(x, beta = -1.5, g = 2) = x / (1 + exp(beta * x)) quad 64\nnet n { dense; swishy(beta=1) }");
    ActDecl *d = r.p->acts[0];
    cr_expect_str_eq(d->name, "swishy");
    cr_expect_eq(d->pos.col, 5);
    cr_expect_str_eq(d->var, "x");
    cr_assert_eq(d->nparams, 2);
    cr_expect_str_eq(d->params[0].name, "beta");
    cr_expect_float_eq(d->params[0].def, -1.5, 0);
    cr_expect_float_eq(d->params[1].def, 2, 0);
    cr_expect_eq(d->quad, 64);
    cr_expect_eq(d->quad_pos.col, 66);
    cr_expect_eq(d->body->kind, EXPR_BINARY);
    cr_expect_eq(d->body->pos.col, 39); /* the '/' */
    cr_expect_eq(d->body->u.bin.lhs->pos.col, 37);
    cr_expect_eq(r.p->nnets, 1);
    arena_free(&r.a);
    parse_ok(&r, "act sq(x) = (x\n  * x)\n");
    cr_expect_eq(r.p->acts[0]->quad, 0);
    cr_expect_eq(r.p->acts[0]->body->pos.line, 2);
    arena_free(&r.a);
}

Test(parser, unclosed_blocks)
{
    expect_syntax_error("net mlp {\n  dense\n  relu\n\n# end\n", "3:7",
                        "expected '}' to close net 'mlp' opened at 1:9, found end of file");
    expect_syntax_error("net mlp {\n  repeat 2 { dense\n", "2:19",
                        "expected '}' to close 'repeat' block opened at 2:12, found end of file");
    expect_syntax_error("net mlp { dense", "1:16", "expected '}' to close net 'mlp' opened at 1:9");
    expect_syntax_error("net mlp { dense(1.5, 0.05", "1:26",
                        "expected ')' to close the arguments of 'dense' opened at 1:16, found end of file");
}

Test(parser, syntax_errors)
{
    expect_syntax_error("net n {\n  repeat { dense }\n}", "2:10", "expected a number after 'repeat', found '{'");
    expect_syntax_error("net n { repeat 2 dense }", "1:18", "expected '{' after 'repeat 2', found 'dense'");
    expect_syntax_error("net { dense }", "1:5", "expected a net name after 'net', found '{'");
    expect_syntax_error("net repeat { dense }", "1:5", "found keyword 'repeat'");
    expect_syntax_error("net n dense", "1:7", "expected '{' after 'net n'");
    expect_syntax_error("dense(1)", "1:1", "expected 'net', 'let' or 'act' at file level, found 'dense'");
    expect_syntax_error("net n { dense(1 2) }", "1:17", "expected ',' or ')' in the arguments of 'dense', found number '2'");
    expect_syntax_error("net n { dense(1,) }", "1:17", "expected an argument");
    expect_syntax_error("net n { dense(w_std=) }", "1:21", "expected a number or a name as the value of 'w_std', found ')'");
    expect_syntax_error("net n { dense(b_std=1, 2) }", "1:24", "positional argument after a keyword argument");
    expect_syntax_error("net n { dense relu }", "1:15", "expected end of line or ';' after the statement, found 'relu'");
    expect_syntax_error("net n { repeat 2 { dense } relu }", "1:28", "'repeat' takes no modifier; put a ';' or a line break before 'relu'");
    expect_syntax_error("net n { dense } net", "1:20", "expected a net name after 'net', found end of file");
    expect_syntax_error("net n { 42 }", "1:9", "expected a layer, 'let', 'repeat' or 'param', found number '42'");
    expect_syntax_error("net n { net m { dense } }", "1:9", "'net' definitions are only allowed at file level");
    expect_syntax_error("let = 2", "1:5", "expected a constant name after 'let', found '='");
    expect_syntax_error("let W 2", "1:7", "expected '=' after 'let W'");
    expect_syntax_error("let W = relu(", "1:13", "expected end of line or ';' after the definition, found '('");
    expect_syntax_error("net n { param }", "1:15", "expected 'ntk' or 'standard' after 'param', found '}'");
    expect_syntax_error("net n { input image 28 }", "1:21", "expected '(' after 'input image'");
    expect_syntax_error("net a { dense }\nnet a { dense }", "2:5", "duplicate net name 'a' (first defined at 1:5)");
    expect_syntax_error("let A = 1\nlet A = 2", "2:1", "constant 'A' is already defined at 1:1");
}

Test(parser, number_overflow)
{
    expect_syntax_error("net n {\n  dense(1e999)\n}", "2:9", "number '1e999' is too large");
    expect_syntax_error("let X = -1e400", "1:10", "number '1e400' is too large");
    expect_syntax_error("act f(x) = x * 1e309", "1:16", "too large");
}

Test(parser, formula_errors)
{
    expect_syntax_error("act f(x) = x +", "1:15", "expected an expression");
    expect_syntax_error("act f(x) = (x + 1", "1:18", "expected ')' to close the '(' at 1:12");
    expect_syntax_error("act f(x) = g(x, ", "1:16", "expected an expression");
    expect_syntax_error("act f(x) = g(x y)", "1:16", "',' or ')' to close the call of 'g' opened at 1:13");
    expect_syntax_error("act f(x, a) = x", "1:11", "expected '=' and a default value after parameter 'a'");
    expect_syntax_error("act f(x, a = b) = x", "1:14", "expected a number as the default of 'a'");
    expect_syntax_error("act f(x, a = 1, a = 2) = x", "1:17", "parameter 'a' of 'f' declared twice (first at 1:10)");
    expect_syntax_error("act f(x, x = 1) = x", "1:10", "parameter 'x' has the name of the variable");
    expect_syntax_error("act f(x) x", "1:10", "expected '=' and the formula of 'f'");
    expect_syntax_error("act f(x) = x quad 0", "1:19", "whole number from 1 to 1000, got 0");
    expect_syntax_error("act f(x) = x quad 2.5", "1:19", "got 2.5");
    expect_syntax_error("act f(x) = x\nact f(y) = y", "2:5", "activation 'f' is already defined at 1:5");
    expect_syntax_error("act f(x) = x 2", "1:14", "expected end of line or ';' after the definition");
}
