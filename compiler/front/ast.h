/* The ntkc syntax tree. Every node lives in the compilation's arena and
 * carries the position of its first token. Names are NUL-terminated arena
 * copies. The parser checks only syntax and file-level duplicates; meaning
 * (which layers exist, argument names, ranges, constants) is lower.c's job. */
#ifndef NTKC_AST_H
#define NTKC_AST_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"

/* An argument or `let` value as written: NUMBER, or an identifier that
 * lowering resolves as a constant (`let`) or as an enumerated option
 * (`padding=same`), optionally negated. */
typedef enum ValueKind { VAL_NUMBER, VAL_NAME } ValueKind;

typedef struct Value {
    ValueKind kind;
    SrcPos pos;       /* of the '-' when negated, else of the number/name */
    SrcPos tok_pos;   /* of the number/name itself */
    int negated;      /* written with a leading '-' */
    double num;       /* VAL_NUMBER: the magnitude as written (finite) */
    const char *name; /* VAL_NAME */
    const char *text; /* the number or name as written, without the '-' */
} Value;

typedef struct Arg {
    const char *name; /* keyword, or NULL for a positional argument */
    SrcPos pos;       /* of the keyword, or of the value when positional */
    Value value;
} Arg;

typedef struct ArgList {
    Arg *v;
    size_t n;
    int written; /* parentheses were written, even if empty */
} ArgList;

/* Expressions of formula activations. */
typedef enum ExprKind { EXPR_NUM, EXPR_NAME, EXPR_NEG, EXPR_BINARY, EXPR_CALL } ExprKind;

typedef struct Expr Expr;
struct Expr {
    ExprKind kind;
    SrcPos pos; /* the operator for EXPR_BINARY, else the first token */
    union {
        double num;       /* EXPR_NUM */
        const char *name; /* EXPR_NAME */
        Expr *operand;    /* EXPR_NEG */
        struct {
            char op; /* one of + - * / ^ */
            Expr *lhs, *rhs;
        } bin;
        struct {
            const char *fn;
            Expr **args;
            size_t nargs;
        } call;
    } u;
};

typedef struct Stmt Stmt;

typedef struct Block {
    Stmt **v;
    size_t n;
    SrcPos open; /* the '{' */
} Block;

typedef enum StmtKind {
    STMT_LET,    /* let NAME = value */
    STMT_PARAM,  /* param IDENT */
    STMT_REPEAT, /* repeat N { ... } */
    STMT_INPUT,  /* input IDENT ( args ) */
    STMT_LAYER   /* IDENT [ ( args ) ] [ { ... } [ IDENT ] ] */
} StmtKind;

struct Stmt {
    StmtKind kind;
    SrcPos pos; /* the statement's first token */
    union {
        struct {
            const char *name;
            Value value;
        } let;
        struct {
            const char *name; /* "ntk", "standard", or whatever was written */
            SrcPos name_pos;
        } param;
        struct {
            Value count;
            Block body;
        } repeat;
        struct {
            const char *kind;
            SrcPos kind_pos;
            ArgList args;
        } input;
        struct {
            const char *name;
            ArgList args;
            Block *body;          /* NULL when no block was written */
            const char *modifier; /* identifier after the block, or NULL */
            SrcPos modifier_pos;
        } layer;
    } u;
};

typedef struct NetDecl {
    const char *name;
    SrcPos pos; /* the name */
    Block body;
} NetDecl;

typedef struct ActParamDecl {
    const char *name;
    SrcPos pos;
    double def; /* signed default */
} ActParamDecl;

/* act NAME(x, p = NUMBER, ...) = EXPR [quad N] */
typedef struct ActDecl {
    const char *name;
    SrcPos pos; /* the name */
    const char *var;
    SrcPos var_pos;
    ActParamDecl *params;
    size_t nparams;
    Expr *body;
    long quad; /* quadrature points; 0 = not written */
    SrcPos quad_pos;
} ActDecl;

struct Program {
    const char *src;  /* the whole source, for diagnostics */
    const char *file; /* name shown in diagnostics */
    Stmt **lets;      /* file-level STMT_LET, in order */
    size_t nlets;
    NetDecl **nets;
    size_t nnets;
    ActDecl **acts;
    size_t nacts;
};
typedef struct Program Program;

/* S-expression of an expression, e.g. "(neg (^ x 2))", for tests and dumps. */
char *ast_expr_sexp(Arena *a, const Expr *e);

#endif
