/* Symbolic expressions of one variable x: what formula activations become
 * once names are resolved. Nodes are immutable and may be shared (a DAG);
 * they live in the compilation's arena. The constructors simplify as they
 * build (constant folding, x*1, x+0, 0*x, x^1, -(-x), the logistic forms of
 * exp...), so derivatives stay short, and they report a constant that is
 * not finite (division by zero, log(0)...) as a positioned error. */
#ifndef NTKC_SYM_H
#define NTKC_SYM_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"
#include "strbuf.h"

typedef enum SymKind {
    SYM_NUM,
    SYM_X,
    SYM_NEG,
    SYM_ADD,
    SYM_SUB,
    SYM_MUL,
    SYM_DIV,
    SYM_POW,
    SYM_CALL
} SymKind;

/* The functions formulas may call. Adding one: a row in sym_fns (sym_fn.c),
 * a case in sym_diff (symdiff.c). */
typedef enum SymFn {
    FN_EXP,
    FN_LOG,
    FN_SQRT,
    FN_SIN,
    FN_COS,
    FN_TANH,
    FN_ATAN,
    FN_ERF,
    FN_ABS,
    FN_SIGMOID,  /* 1/(1 + exp(-a)) */
    FN_SOFTPLUS, /* log(1 + exp(a)) */
    FN_SIGN,     /* -1, 0, 1 */
    FN_STEP,     /* 1 for a >= 0, else 0 */
    FN_MAX,
    FN_MIN,
    FN_COUNT
} SymFn;

typedef struct SymFnInfo {
    const char *name;
    int arity;
    double (*eval)(double a, double b);
    const char *c_name; /* libm name, or NULL: emitted as a helper function */
    const char *c_helper; /* body of `static double H(double a, double b)` when c_name is NULL */
    const char *doc;
} SymFnInfo;

extern const SymFnInfo sym_fns[FN_COUNT];
/* The function named name, or -1. */
int sym_fn_lookup(const char *name);

typedef struct Sym Sym;
struct Sym {
    SymKind kind;
    SymFn fn;         /* SYM_CALL */
    double num;       /* SYM_NUM */
    const Sym *a, *b; /* operands; b only for binary ops and 2-argument calls */
    SrcPos pos;       /* where in the source this term comes from */
};

/* Building context: constructors return NULL after the first error (and
 * whenever an operand is NULL), so callers propagate failure by checking once. */
typedef struct SymCtx {
    Arena *a;
    ntkc_error *err;
    const char *src;
} SymCtx;

const Sym *sym_num(SymCtx *c, double v, SrcPos pos);
const Sym *sym_x(SymCtx *c, SrcPos pos);
const Sym *sym_neg(SymCtx *c, const Sym *a, SrcPos pos);
const Sym *sym_add(SymCtx *c, const Sym *a, const Sym *b, SrcPos pos);
const Sym *sym_sub(SymCtx *c, const Sym *a, const Sym *b, SrcPos pos);
const Sym *sym_mul(SymCtx *c, const Sym *a, const Sym *b, SrcPos pos);
const Sym *sym_div(SymCtx *c, const Sym *a, const Sym *b, SrcPos pos);
const Sym *sym_pow(SymCtx *c, const Sym *a, const Sym *b, SrcPos pos);
/* b is NULL for one-argument functions. */
const Sym *sym_call(SymCtx *c, SymFn fn, const Sym *a, const Sym *b, SrcPos pos);
/* e with x replaced by by (re-simplified). */
const Sym *sym_subst(SymCtx *c, const Sym *e, const Sym *by);

/* d e / d x, simplified. */
const Sym *sym_diff(SymCtx *c, const Sym *e);

int sym_is_num(const Sym *e, double v);
int sym_equal(const Sym *a, const Sym *b);
/* Nodes in the expanded tree (shared subtrees counted each time). */
size_t sym_size(const Sym *e);

double sym_eval(const Sym *e, double x);
/* Like sym_eval; when the value is not finite, *culprit is the first term
 * (depth first) whose value is not finite although its operands are. */
double sym_eval_blame(const Sym *e, double x, const Sym **culprit);

/* Readable formula that the ntkc parser reads back ("x*sigmoid(x)"). */
void sym_print(StrBuf *sb, const Sym *e, const char *var);
/* How sym_print_c writes C. */
typedef struct SymC {
    const char *var;    /* C name of the variable */
    const char *prefix; /* helper functions are called prefix_NAME */
    unsigned used;      /* out: bit fn set for each helper called (see sym_fns) */
    const Sym **temps;  /* subexpressions held in C variables t0, t1, ... */
    size_t ntemps;      /* how many of temps may be used */
} SymC;

/* C99 expression for e, parenthesised throughout. */
void sym_print_c(StrBuf *sb, const Sym *e, SymC *c);
/* The calls and powers that occur more than once in roots[0..n), each once,
 * inner ones before the terms that contain them (common subexpressions
 * worth a temporary); returns their count. */
size_t sym_common(Arena *a, const Sym *const *roots, size_t n, const Sym ***out);

#endif
