/* One function per grammar rule (grammars/ntk.ebnf). Each returns NULL or 0
 * after reporting the first error; callers just propagate. */
#include "parser.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "editdist.h"
#include "lexer.h"
#include "name_table.h"

/* Blocks and expressions are parsed (and later walked) recursively; this
 * bound keeps a hostile file from overflowing the stack. */
enum { MAX_NESTING = 256 };

typedef struct Parser {
    Arena *a;
    const char *src;
    const Token *tok;
    size_t ntok, i;
    int depth; /* open blocks plus expression levels */
    ntkc_error *err;
    NameTable nets, lets, acts; /* file-level names -> index in the Program */
} Parser;

static const char *const keywords[] = {"net", "let", "act", "repeat", "param", "input"};

int parser_is_keyword(const char *name)
{
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (strcmp(name, keywords[k]) == 0)
            return 1;
    return 0;
}

static const Token *peek(const Parser *p) { return &p->tok[p->i]; }
static const Token *peek2(const Parser *p) { return &p->tok[p->i + 1 < p->ntok ? p->i + 1 : p->i]; }

static const Token *advance(Parser *p)
{
    const Token *t = &p->tok[p->i];
    if (t->kind != TOK_EOF)
        p->i++;
    return t;
}

static int at(const Parser *p, TokKind k) { return peek(p)->kind == k; }

static int accept(Parser *p, TokKind k)
{
    if (!at(p, k))
        return 0;
    advance(p);
    return 1;
}

static int is_word(const Token *t, const char *w)
{
    return t->kind == TOK_IDENT && t->len == strlen(w) && memcmp(t->text, w, t->len) == 0;
}

static char *tok_str(Parser *p, const Token *t) { return arena_strndup(p->a, t->text, t->len); }

/* How a token is named in "found ..." messages. */
static const char *describe(Parser *p, const Token *t)
{
    switch (t->kind) {
    case TOK_EOF:
        return "end of file";
    case TOK_NEWLINE:
        return "end of line";
    case TOK_NUMBER:
        return arena_printf(p->a, "number '%.*s'", (int)t->len, t->text);
    case TOK_IDENT:
        if (parser_is_keyword(tok_str(p, t)))
            return arena_printf(p->a, "keyword '%.*s'", (int)t->len, t->text);
        return arena_printf(p->a, "'%.*s'", (int)t->len, t->text);
    default:
        return arena_printf(p->a, "'%.*s'", (int)t->len, t->text);
    }
}

/* "expected WHAT, found X" at the current token. */
static void expected(Parser *p, const char *what)
{
    diag_at(p->err, peek(p)->pos, p->src, "expected %s, found %s", what, describe(p, peek(p)));
}

static const char *pos_str(Parser *p, SrcPos pos) { return arena_printf(p->a, "%d:%d", pos.line, pos.col); }

/* Enters one nesting level; 0 after reporting when that is one too many. */
static int nest(Parser *p)
{
    if (++p->depth <= MAX_NESTING)
        return 1;
    diag_at(p->err, peek(p)->pos, p->src, "nesting deeper than %d levels", MAX_NESTING);
    return 0;
}

/* A name that is not a keyword; `what` says what it names. */
static const char *expect_name(Parser *p, const char *what)
{
    const Token *t = peek(p);
    if (t->kind != TOK_IDENT || parser_is_keyword(tok_str(p, t))) {
        expected(p, what);
        return NULL;
    }
    return tok_str(p, advance(p));
}

/* Grows an arena array of n elements of `size` bytes by one slot. */
static void *grow(Arena *a, void *v, size_t n, size_t size)
{
    /* Capacity doubles at powers of two, so no separate capacity is stored. */
    if (n != 0 && (n & (n - 1)) != 0)
        return v;
    void *w = arena_alloc(a, (n ? 2 * n : 1) * size);
    if (n)
        memcpy(w, v, n * size);
    return w;
}

#define PUSH(p, arr, n, item)                                   \
    do {                                                        \
        (arr) = grow((p)->a, (arr), (n), sizeof *(arr));        \
        (arr)[(n)++] = (item);                                  \
    } while (0)

static int number_value(Parser *p, const Token *t, double *out)
{
    char *text = tok_str(p, t);
    errno = 0;
    double v = strtod(text, NULL);
    if (errno == ERANGE && fabs(v) == HUGE_VAL) {
        diag_at(p->err, t->pos, p->src, "number '%s' is too large (the limit is about 1.8e308)", text);
        return 0;
    }
    *out = v;
    return 1;
}

/* value = [ '-' ] ( NUMBER | IDENT ) */
static int parse_value(Parser *p, Value *v, const char *what)
{
    memset(v, 0, sizeof *v);
    v->pos = peek(p)->pos;
    v->negated = accept(p, TOK_MINUS);
    const Token *t = peek(p);
    v->tok_pos = t->pos;
    if (t->kind == TOK_NUMBER) {
        v->kind = VAL_NUMBER;
        v->text = tok_str(p, t);
        if (!number_value(p, t, &v->num))
            return 0;
    } else if (t->kind == TOK_IDENT && !parser_is_keyword(tok_str(p, t))) {
        v->kind = VAL_NAME;
        v->name = v->text = tok_str(p, t);
    } else {
        expected(p, what);
        return 0;
    }
    advance(p);
    return 1;
}

/* args = [ arg { ',' arg } ] ')' ;  arg = [ IDENT '=' ] value.
 * The '(' has been consumed. */
static int parse_args(Parser *p, ArgList *args, const char *owner, SrcPos open)
{
    args->written = 1;
    if (accept(p, TOK_RPAREN))
        return 1;
    int seen_keyword = 0;
    for (;;) {
        Arg arg = {0};
        arg.pos = peek(p)->pos;
        if (at(p, TOK_IDENT) && peek2(p)->kind == TOK_EQUALS) {
            arg.name = tok_str(p, advance(p));
            advance(p);
            seen_keyword = 1;
            const char *what = arena_printf(p->a, "a number or a name as the value of '%s'", arg.name);
            if (!parse_value(p, &arg.value, what))
                return 0;
        } else {
            if (seen_keyword) {
                diag_at(p->err, arg.pos, p->src,
                        "positional argument after a keyword argument in the arguments of '%s'", owner);
                return 0;
            }
            if (!parse_value(p, &arg.value, "an argument (a number, a name, or name = value)"))
                return 0;
        }
        PUSH(p, args->v, args->n, arg);
        if (accept(p, TOK_RPAREN))
            return 1;
        if (!accept(p, TOK_COMMA)) {
            if (at(p, TOK_EOF))
                expected(p, arena_printf(p->a, "')' to close the arguments of '%s' opened at %s", owner,
                                         pos_str(p, open)));
            else
                expected(p, arena_printf(p->a, "',' or ')' in the arguments of '%s'", owner));
            return 0;
        }
    }
}

static int parse_block(Parser *p, Block *b, const char *owner);

/* `repaet 2 { ... }` parses as a layer `repaet` followed by junk: name the keyword. */
static const char *keyword_hint(Parser *p, const Stmt *s)
{
    if (s->kind != STMT_LAYER)
        return "";
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (edit_distance(s->u.layer.name, keywords[k], 2) <= 2)
            return arena_printf(p->a, " ('%s' is not a keyword; did you mean '%s'?)", s->u.layer.name, keywords[k]);
    return "";
}

static int at_separator(const Parser *p) { return at(p, TOK_NEWLINE) || at(p, TOK_SEMI); }

/* After a block, an identifier that ends the statement is its modifier
 * (`fanout { ... } sum`); one followed by more (`branch {...} branch {...}`)
 * starts the next statement. */
static int at_modifier(const Parser *p)
{
    TokKind after = peek2(p)->kind;
    return at(p, TOK_IDENT) && (after == TOK_NEWLINE || after == TOK_SEMI || after == TOK_RBRACE || after == TOK_EOF);
}

/* A statement ends at a separator, before a '}', at the end of the file, or
 * right after its own closing '}' (as in C, `a {...} b {...}` needs no ';'). */
static int at_statement_end(const Parser *p)
{
    return at_separator(p) || at(p, TOK_RBRACE) || at(p, TOK_EOF) || (p->i > 0 && p->tok[p->i - 1].kind == TOK_RBRACE);
}

/* let NAME = value   ('let' consumed) */
static Stmt *parse_let(Parser *p, SrcPos pos)
{
    Stmt *s = arena_alloc(p->a, sizeof *s);
    s->kind = STMT_LET;
    s->pos = pos;
    if ((s->u.let.name = expect_name(p, "a constant name after 'let'")) == NULL)
        return NULL;
    if (!accept(p, TOK_EQUALS)) {
        expected(p, arena_printf(p->a, "'=' after 'let %s'", s->u.let.name));
        return NULL;
    }
    if (!parse_value(p, &s->u.let.value, "a number or a constant name after '='"))
        return NULL;
    return s;
}

/* repeat N block   ('repeat' consumed) */
static Stmt *parse_repeat(Parser *p, SrcPos pos)
{
    Stmt *s = arena_alloc(p->a, sizeof *s);
    s->kind = STMT_REPEAT;
    s->pos = pos;
    if (!parse_value(p, &s->u.repeat.count, "a number after 'repeat'"))
        return NULL;
    if (!at(p, TOK_LBRACE)) {
        expected(p, arena_printf(p->a, "'{' after 'repeat %s%s'", s->u.repeat.count.negated ? "-" : "",
                                 s->u.repeat.count.text));
        return NULL;
    }
    if (!parse_block(p, &s->u.repeat.body, "'repeat' block"))
        return NULL;
    if (at_modifier(p)) {
        diag_at(p->err, peek(p)->pos, p->src,
                "'repeat' takes no modifier; put a ';' or a line break before '%.*s'", (int)peek(p)->len,
                peek(p)->text);
        return NULL;
    }
    return s;
}

/* param IDENT   ('param' consumed) */
static Stmt *parse_param(Parser *p, SrcPos pos)
{
    Stmt *s = arena_alloc(p->a, sizeof *s);
    s->kind = STMT_PARAM;
    s->pos = pos;
    if (!at(p, TOK_IDENT)) {
        expected(p, "'ntk' or 'standard' after 'param'");
        return NULL;
    }
    s->u.param.name_pos = peek(p)->pos;
    s->u.param.name = tok_str(p, advance(p));
    return s;
}

/* input IDENT ( args )   ('input' consumed) */
static Stmt *parse_input(Parser *p, SrcPos pos)
{
    Stmt *s = arena_alloc(p->a, sizeof *s);
    s->kind = STMT_INPUT;
    s->pos = pos;
    s->u.input.kind_pos = peek(p)->pos;
    if ((s->u.input.kind = expect_name(p, "an input kind after 'input'")) == NULL)
        return NULL;
    SrcPos open = peek(p)->pos;
    if (!accept(p, TOK_LPAREN)) {
        expected(p, arena_printf(p->a, "'(' after 'input %s'", s->u.input.kind));
        return NULL;
    }
    return parse_args(p, &s->u.input.args, arena_printf(p->a, "input %s", s->u.input.kind), open) ? s : NULL;
}

/* IDENT [ '(' args ')' ] [ block [ IDENT ] ] */
static Stmt *parse_layer(Parser *p)
{
    Stmt *s = arena_alloc(p->a, sizeof *s);
    s->kind = STMT_LAYER;
    s->pos = peek(p)->pos;
    s->u.layer.name = tok_str(p, advance(p));
    SrcPos open = peek(p)->pos;
    if (accept(p, TOK_LPAREN) && !parse_args(p, &s->u.layer.args, s->u.layer.name, open))
        return NULL;
    if (at(p, TOK_LBRACE)) {
        s->u.layer.body = arena_alloc(p->a, sizeof *s->u.layer.body);
        if (!parse_block(p, s->u.layer.body, arena_printf(p->a, "'%s' block", s->u.layer.name)))
            return NULL;
        if (at_modifier(p)) {
            s->u.layer.modifier_pos = peek(p)->pos;
            s->u.layer.modifier = tok_str(p, advance(p));
        }
    }
    return s;
}

static Stmt *parse_stmt(Parser *p)
{
    const Token *t = peek(p);
    SrcPos pos = t->pos;
    if (t->kind != TOK_IDENT) {
        expected(p, "a layer, 'let', 'repeat' or 'param'");
        return NULL;
    }
    if (is_word(t, "let"))
        return advance(p), parse_let(p, pos);
    if (is_word(t, "repeat"))
        return advance(p), parse_repeat(p, pos);
    if (is_word(t, "param"))
        return advance(p), parse_param(p, pos);
    if (is_word(t, "input"))
        return advance(p), parse_input(p, pos);
    if (is_word(t, "net") || is_word(t, "act")) {
        diag_at(p->err, pos, p->src, "'%.*s' definitions are only allowed at file level, not inside a block",
                (int)t->len, t->text);
        return NULL;
    }
    return parse_layer(p);
}

static int parse_block_body(Parser *p, Block *b, const char *owner);

static int parse_block(Parser *p, Block *b, const char *owner)
{
    int ok = nest(p) && parse_block_body(p, b, owner);
    p->depth--;
    return ok;
}

/* block = '{' { sep } [ stmt { sep { sep } stmt } { sep } ] '}' ; sep = NEWLINE | ';' */
static int parse_block_body(Parser *p, Block *b, const char *owner)
{
    b->open = peek(p)->pos;
    advance(p); /* '{', checked by the caller */
    for (;;) {
        while (at_separator(p))
            advance(p);
        if (accept(p, TOK_RBRACE))
            return 1;
        if (at(p, TOK_EOF)) {
            expected(p, arena_printf(p->a, "'}' to close %s opened at %s", owner, pos_str(p, b->open)));
            return 0;
        }
        Stmt *s = parse_stmt(p);
        if (s == NULL)
            return 0;
        PUSH(p, b->v, b->n, s);
        if (!at_statement_end(p) || at(p, TOK_EOF)) {
            if (at(p, TOK_EOF))
                expected(p, arena_printf(p->a, "'}' to close %s opened at %s", owner, pos_str(p, b->open)));
            else
                expected(p, arena_printf(p->a, "end of line or ';' after the statement%s", keyword_hint(p, s)));
            return 0;
        }
    }
}

/* net NAME block   ('net' consumed) */
static NetDecl *parse_net(Parser *p)
{
    NetDecl *n = arena_alloc(p->a, sizeof *n);
    n->pos = peek(p)->pos;
    if ((n->name = expect_name(p, "a net name after 'net'")) == NULL)
        return NULL;
    if (!at(p, TOK_LBRACE)) {
        expected(p, arena_printf(p->a, "'{' after 'net %s'", n->name));
        return NULL;
    }
    return parse_block(p, &n->body, arena_printf(p->a, "net '%s'", n->name)) ? n : NULL;
}

/* ---- formula activations ---------------------------------------------- */

static Expr *new_expr(Parser *p, ExprKind k, SrcPos pos)
{
    Expr *e = arena_alloc(p->a, sizeof *e);
    e->kind = k;
    e->pos = pos;
    return e;
}

static Expr *parse_expr(Parser *p);
static Expr *parse_unary(Parser *p);

/* primary = NUMBER | IDENT [ '(' [ expr { ',' expr } ] ')' ] | '(' expr ')' */
static Expr *parse_primary(Parser *p)
{
    const Token *t = peek(p);
    if (t->kind == TOK_NUMBER) {
        Expr *e = new_expr(p, EXPR_NUM, t->pos);
        if (!number_value(p, t, &e->u.num))
            return NULL;
        advance(p);
        return e;
    }
    if (t->kind == TOK_IDENT) {
        advance(p);
        if (!at(p, TOK_LPAREN)) {
            Expr *e = new_expr(p, EXPR_NAME, t->pos);
            e->u.name = tok_str(p, t);
            return e;
        }
        Expr *e = new_expr(p, EXPR_CALL, t->pos);
        e->u.call.fn = tok_str(p, t);
        SrcPos open = peek(p)->pos;
        advance(p);
        if (accept(p, TOK_RPAREN))
            return e;
        for (;;) {
            Expr *arg = parse_expr(p);
            if (arg == NULL)
                return NULL;
            PUSH(p, e->u.call.args, e->u.call.nargs, arg);
            if (accept(p, TOK_RPAREN))
                return e;
            if (!accept(p, TOK_COMMA)) {
                expected(p, arena_printf(p->a, "',' or ')' to close the call of '%s' opened at %s", e->u.call.fn,
                                         pos_str(p, open)));
                return NULL;
            }
        }
    }
    if (t->kind == TOK_LPAREN) {
        SrcPos open = t->pos;
        advance(p);
        Expr *e = parse_expr(p);
        if (e == NULL)
            return NULL;
        if (!accept(p, TOK_RPAREN)) {
            expected(p, arena_printf(p->a, "')' to close the '(' at %s", pos_str(p, open)));
            return NULL;
        }
        return e;
    }
    expected(p, "an expression (a number, a name, a call, '(' or '-')");
    return NULL;
}

/* power = primary [ '^' unary ]   (right-associative; -x^2 = -(x^2), x^-1 allowed) */
static Expr *parse_power(Parser *p)
{
    Expr *base = parse_primary(p);
    if (base == NULL || !at(p, TOK_CARET))
        return base;
    Expr *e = new_expr(p, EXPR_BINARY, peek(p)->pos);
    advance(p);
    e->u.bin.op = '^';
    e->u.bin.lhs = base;
    e->u.bin.rhs = parse_unary(p);
    return e->u.bin.rhs ? e : NULL;
}

/* unary = '-' unary | power. Every recursion of the expression grammar
 * passes through here, so this is where nesting is counted. */
static Expr *parse_unary(Parser *p)
{
    Expr *e = NULL;
    if (!nest(p)) {
    } else if (!at(p, TOK_MINUS)) {
        e = parse_power(p);
    } else {
        e = new_expr(p, EXPR_NEG, peek(p)->pos);
        advance(p);
        e->u.operand = parse_unary(p);
        e = e->u.operand ? e : NULL;
    }
    p->depth--;
    return e;
}

/* Left-associative binary level: next { (op1|op2) next } */
static Expr *parse_binary(Parser *p, Expr *(*next)(Parser *), TokKind k1, char op1, TokKind k2, char op2)
{
    Expr *lhs = next(p);
    while (lhs != NULL && (at(p, k1) || at(p, k2))) {
        Expr *e = new_expr(p, EXPR_BINARY, peek(p)->pos);
        e->u.bin.op = at(p, k1) ? op1 : op2;
        advance(p);
        e->u.bin.lhs = lhs;
        e->u.bin.rhs = next(p);
        lhs = e->u.bin.rhs ? e : NULL;
    }
    return lhs;
}

static Expr *parse_term(Parser *p) { return parse_binary(p, parse_unary, TOK_STAR, '*', TOK_SLASH, '/'); }

/* expr = term { ('+'|'-') term } ; term = unary { ('*'|'/') unary } */
static Expr *parse_expr(Parser *p) { return parse_binary(p, parse_term, TOK_PLUS, '+', TOK_MINUS, '-'); }

static int parse_signed_number(Parser *p, double *out, const char *what)
{
    int neg = accept(p, TOK_MINUS);
    if (!at(p, TOK_NUMBER)) {
        expected(p, what);
        return 0;
    }
    if (!number_value(p, peek(p), out))
        return 0;
    advance(p);
    if (neg)
        *out = -*out;
    return 1;
}

static int parse_act_params(Parser *p, ActDecl *d)
{
    while (accept(p, TOK_COMMA)) {
        ActParamDecl prm = {0};
        prm.pos = peek(p)->pos;
        if ((prm.name = expect_name(p, "a parameter name")) == NULL)
            return 0;
        if (strcmp(prm.name, d->var) == 0) {
            diag_at(p->err, prm.pos, p->src, "parameter '%s' has the name of the variable of '%s'", prm.name,
                    d->name);
            return 0;
        }
        for (size_t i = 0; i < d->nparams; i++)
            if (strcmp(d->params[i].name, prm.name) == 0) {
                diag_at(p->err, prm.pos, p->src, "parameter '%s' of '%s' declared twice (first at %s)",
                        prm.name, d->name, pos_str(p, d->params[i].pos));
                return 0;
            }
        if (!accept(p, TOK_EQUALS)) {
            expected(p, arena_printf(p->a, "'=' and a default value after parameter '%s'", prm.name));
            return 0;
        }
        if (!parse_signed_number(p, &prm.def, arena_printf(p->a, "a number as the default of '%s'", prm.name)))
            return 0;
        PUSH(p, d->params, d->nparams, prm);
    }
    if (!accept(p, TOK_RPAREN)) {
        expected(p, "',' or ')' in the parameter list");
        return 0;
    }
    return 1;
}

/* act NAME '(' IDENT { ',' IDENT '=' ['-'] NUMBER } ')' '=' expr [ 'quad' NUMBER ] */
static ActDecl *parse_act(Parser *p)
{
    ActDecl *d = arena_alloc(p->a, sizeof *d);
    d->pos = peek(p)->pos;
    if ((d->name = expect_name(p, "an activation name after 'act'")) == NULL)
        return NULL;
    if (!accept(p, TOK_LPAREN)) {
        expected(p, arena_printf(p->a, "'(' and the variable name after 'act %s'", d->name));
        return NULL;
    }
    d->var_pos = peek(p)->pos;
    if ((d->var = expect_name(p, "the variable name (as in 'act f(x) = ...')")) == NULL)
        return NULL;
    if (!parse_act_params(p, d))
        return NULL;
    if (!accept(p, TOK_EQUALS)) {
        expected(p, arena_printf(p->a, "'=' and the formula of '%s'", d->name));
        return NULL;
    }
    if ((d->body = parse_expr(p)) == NULL)
        return NULL;
    if (is_word(peek(p), "quad")) {
        advance(p);
        d->quad_pos = peek(p)->pos;
        double q;
        if (!parse_signed_number(p, &q, "a number of quadrature points after 'quad'"))
            return NULL;
        if (q < 1 || q > 1000 || q != floor(q)) {
            diag_at(p->err, d->quad_pos, p->src,
                    "the number of quadrature points must be a whole number from 1 to 1000, got %g", q);
            return NULL;
        }
        d->quad = (long)q;
    }
    return d;
}

/* ---- file level ------------------------------------------------------- */

static int add_file_item(Parser *p, Program *prog)
{
    const Token *t = peek(p);
    SrcPos pos = t->pos;
    if (is_word(t, "net")) {
        advance(p);
        NetDecl *n = parse_net(p);
        if (n == NULL)
            return 0;
        size_t i = name_table_find(&p->nets, n->name);
        if (i != (size_t)-1) {
            diag_at(p->err, n->pos, p->src, "duplicate net name '%s' (first defined at %s)", n->name,
                    pos_str(p, prog->nets[i]->pos));
            return 0;
        }
        name_table_put(p->a, &p->nets, n->name, prog->nnets);
        PUSH(p, prog->nets, prog->nnets, n);
        return 1;
    }
    if (is_word(t, "let")) {
        advance(p);
        Stmt *s = parse_let(p, pos);
        if (s == NULL)
            return 0;
        size_t i = name_table_find(&p->lets, s->u.let.name);
        if (i != (size_t)-1) {
            diag_at(p->err, pos, p->src, "constant '%s' is already defined at %s", s->u.let.name,
                    pos_str(p, prog->lets[i]->pos));
            return 0;
        }
        name_table_put(p->a, &p->lets, s->u.let.name, prog->nlets);
        PUSH(p, prog->lets, prog->nlets, s);
        return 1;
    }
    if (is_word(t, "act")) {
        advance(p);
        ActDecl *d = parse_act(p);
        if (d == NULL)
            return 0;
        size_t i = name_table_find(&p->acts, d->name);
        if (i != (size_t)-1) {
            diag_at(p->err, d->pos, p->src, "activation '%s' is already defined at %s", d->name,
                    pos_str(p, prog->acts[i]->pos));
            return 0;
        }
        name_table_put(p->a, &p->acts, d->name, prog->nacts);
        PUSH(p, prog->acts, prog->nacts, d);
        return 1;
    }
    expected(p, "'net', 'let' or 'act' at file level");
    return 0;
}

Program *parse_program(Arena *a, const char *src, const char *file, ntkc_error *err)
{
    Parser p = {.a = a, .src = src, .err = err};
    p.tok = lex_source(a, src, file, &p.ntok, err);
    if (p.tok == NULL)
        return NULL;
    Program *prog = arena_alloc(a, sizeof *prog);
    prog->src = src;
    prog->file = file;
    for (;;) {
        while (at_separator(&p))
            advance(&p);
        if (at(&p, TOK_EOF))
            return prog;
        if (!add_file_item(&p, prog))
            return NULL;
        if (!at_statement_end(&p)) {
            expected(&p, "end of line or ';' after the definition");
            return NULL;
        }
    }
}
