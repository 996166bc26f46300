/* Checks and lowering. Layers are rows of `layer_rules` (name → lowering
 * function); built-in activations come from act_lookup, so adding a layer or
 * an activation does not touch the statement walker. */
#include "lower.h"
#include "lower_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "act.h"
#include "act_formula.h"
#include "editdist.h"
#include "ir_print.h"
#include "ir_record.h"

typedef int (*LowerFn)(Lower *L, const Stmt *s);
typedef struct LayerRule {
    const char *name;
    LowerFn lower;
    int takes_block; /* residual, fanout */
} LayerRule;

const char *lower_pos_str(Lower *L, SrcPos p) { return arena_printf(L->a, "%d:%d", p.line, p.col); }

/* ---- names and suggestions -------------------------------------------- */

/* Keeps the closest candidate within distance 2. */
typedef struct Suggest {
    const char *word;
    const char *best;
    int dist;
} Suggest;

static void suggest_try(Suggest *sg, const char *cand)
{
    int d = edit_distance(sg->word, cand, 2);
    if (d <= 2 && d < sg->dist) {
        sg->best = cand;
        sg->dist = d;
    }
}

static const char *did_you_mean(Lower *L, const Suggest *sg)
{
    return sg->best ? arena_printf(L->a, "; did you mean '%s'?", sg->best) : "";
}

/* ---- constants -------------------------------------------------------- */

static const Const *scope_find(const Scope *s, const char *name)
{
    size_t i = name_table_find(&s->index, name);
    return i == (size_t)-1 ? NULL : &s->v[i];
}

static void scope_add(Lower *L, Scope *s, Const c)
{
    s->v = arena_grow(L->a, s->v, s->n, &s->cap, sizeof *s->v, 8);
    name_table_put(L->a, &s->index, c.name, s->n);
    s->v[s->n++] = c;
}

static const Const *find_const(const Lower *L, const char *name)
{
    const Const *c = scope_find(&L->local, name);
    return c ? c : scope_find(&L->file, name);
}

/* The number a value denotes: a literal or a constant, negated if written so. */
static int value_number(Lower *L, const Value *v, double *out)
{
    double x = v->num;
    if (v->kind == VAL_NAME) {
        const Const *c = find_const(L, v->name);
        if (c == NULL) {
            Suggest sg = {v->name, NULL, 3};
            for (size_t i = 0; i < L->local.n; i++)
                suggest_try(&sg, L->local.v[i].name);
            for (size_t i = 0; i < L->file.n; i++)
                suggest_try(&sg, L->file.v[i].name);
            diag_at(L->err, v->tok_pos, L->src, "undefined constant '%s'%s", v->name, did_you_mean(L, &sg));
            return 0;
        }
        x = c->value;
    }
    *out = v->negated ? -x : x;
    return 1;
}

static int define_const(Lower *L, Scope *s, const Stmt *let, const char *where)
{
    const Const *old = scope_find(s, let->u.let.name);
    if (old != NULL) {
        diag_at(L->err, let->pos, L->src, "constant '%s' is already defined %s at %s", let->u.let.name, where,
                lower_pos_str(L, old->pos));
        return 0;
    }
    double v;
    if (!value_number(L, &let->u.let.value, &v))
        return 0;
    scope_add(L, s, (Const){let->u.let.name, v, let->pos});
    return 1;
}

/* ---- arguments -------------------------------------------------------- */

static const char *range_text(Lower *L, const ParamSpec *p)
{
    int no_max = p->max >= SHOWN_MAX;
    if (p->min == 0 && no_max)
        return p->integer ? "a non-negative whole number" : "non-negative";
    if (isinf(p->min) && no_max)
        return p->integer ? "a whole number" : "finite";
    if (no_max)
        return arena_printf(L->a, "%s>= %g", p->integer ? "a whole number " : "", p->min);
    if (isinf(p->min))
        return arena_printf(L->a, "%s<= %g", p->integer ? "a whole number " : "", p->max);
    return arena_printf(L->a, "%sin [%g, %g]", p->integer ? "a whole number " : "", p->min, p->max);
}

static const char *spec_names(Lower *L, const ParamSpec *spec, int n)
{
    const char *s = "";
    for (int i = 0; i < n; i++)
        s = arena_printf(L->a, "%s%s%s", s, i ? ", " : "", spec[i].name);
    return s;
}

static int slot_by_name(Lower *L, const Stmt *s, const Arg *arg, const ParamSpec *spec, int n)
{
    for (int k = 0; k < n; k++)
        if (strcmp(spec[k].name, arg->name) == 0)
            return k;
    Suggest sg = {arg->name, NULL, 3};
    for (int k = 0; k < n; k++)
        suggest_try(&sg, spec[k].name);
    if (n == 0)
        diag_at(L->err, arg->pos, L->src, "'%s' takes no arguments, got '%s'", s->u.layer.name, arg->name);
    else
        diag_at(L->err, arg->pos, L->src, "unknown argument '%s' for '%s'%s (its arguments: %s)", arg->name,
                s->u.layer.name, did_you_mean(L, &sg), spec_names(L, spec, n));
    return -1;
}

/* An enumerated argument (padding=same): the index of the option named. */
static int option_value(Lower *L, const Stmt *s, const Arg *arg, const ParamSpec *spec, double *out)
{
    const Value *v = &arg->value;
    const char *list = "";
    for (int i = 0; spec->options[i]; i++)
        list = arena_printf(L->a, "%s%s%s", list, i ? ", " : "", spec->options[i]);
    if (v->kind == VAL_NAME && !v->negated) {
        Suggest sg = {v->name, NULL, 3};
        for (int i = 0; spec->options[i]; i++) {
            if (strcmp(spec->options[i], v->name) == 0) {
                *out = i;
                return 1;
            }
            suggest_try(&sg, spec->options[i]);
        }
        diag_at(L->err, v->tok_pos, L->src, "unknown %s '%s' for '%s'%s (one of: %s)", spec->name, v->name,
                s->u.layer.name, did_you_mean(L, &sg), list);
        return 0;
    }
    diag_at(L->err, v->pos, L->src, "'%s' of '%s' must be one of: %s", spec->name, s->u.layer.name, list);
    return 0;
}

/* Matches s's arguments to spec: positional in order, then keywords; checks
 * ranges and fills defaults. */
int lower_bind_args(Lower *L, const Stmt *s, const ParamSpec *spec, int n, Bound *b)
{
    const ArgList *args = &s->u.layer.args;
    const char *layer = s->u.layer.name;
    size_t slots = n > 0 ? (size_t)n : 1;
    b->v = arena_alloc(L->a, slots * sizeof *b->v); /* zeroed */
    b->given = arena_alloc(L->a, slots * sizeof *b->given);
    b->pos = arena_alloc(L->a, slots * sizeof *b->pos);
    for (size_t i = 0; i < args->n; i++) {
        const Arg *arg = &args->v[i];
        int k;
        if (arg->name == NULL) {
            if (i >= (size_t)n) {
                if (n == 0)
                    diag_at(L->err, arg->pos, L->src, "'%s' takes no arguments", layer);
                else
                    diag_at(L->err, arg->pos, L->src, "too many positional arguments for '%s': it takes at most %d (%s)",
                            layer, n, spec_names(L, spec, n));
                return 0;
            }
            k = (int)i;
        } else if ((k = slot_by_name(L, s, arg, spec, n)) < 0) {
            return 0;
        }
        if (b->given[k]) {
            diag_at(L->err, arg->pos, L->src, "duplicate argument '%s' for '%s' (first given at %s)", spec[k].name,
                    layer, lower_pos_str(L, b->pos[k]));
            return 0;
        }
        double v;
        if (spec[k].options != NULL) {
            if (!option_value(L, s, arg, &spec[k], &v))
                return 0;
        } else if (!value_number(L, &arg->value, &v)) {
            return 0;
        }
        if (v > spec[k].max && spec[k].max >= SHOWN_MAX) {
            diag_at(L->err, arg->value.pos, L->src, "'%s' of '%s' is too large: at most %g, got %g", spec[k].name,
                    layer, spec[k].max, v);
            return 0;
        }
        if (v < spec[k].min || v > spec[k].max || (spec[k].integer && v != floor(v))) {
            diag_at(L->err, arg->value.pos, L->src, "'%s' of '%s' must be %s, got %g", spec[k].name, layer,
                    range_text(L, &spec[k]), v);
            return 0;
        }
        b->v[k] = v;
        b->given[k] = 1;
        b->pos[k] = arg->pos;
    }
    for (int k = 0; k < n; k++) {
        if (b->given[k])
            continue;
        if (spec[k].required) {
            diag_at(L->err, s->pos, L->src, "missing required argument '%s' for '%s'", spec[k].name, layer);
            return 0;
        }
        b->v[k] = spec[k].def;
    }
    return 1;
}

IrArgs lower_args(const ParamSpec *spec, int n, const Bound *b, const char *const *kernel)
{
    return (IrArgs){.spec = spec, .n = n, .v = b->v, .given = b->given, .kernel = kernel};
}

/* ---- Gaussianity (docs/gaussianity.md) -------------------------------- */

const char *lower_op_label(Lower *L, const IrOp *op)
{
    if (op->kind == IR_FANOUT && !op->u.fanout.residual)
        return arena_printf(L->a, "fanout … %s", op->u.fanout.mode == IR_FANIN_SUM    ? "sum"
                                                 : op->u.fanout.mode == IR_FANIN_PROD ? "prod"
                                                                                      : "concat");
    return ir_op_name(op);
}

void lower_made_gaussian(Lower *L) { L->stream.gaussian = 1; }

void lower_broke_gaussian(Lower *L, const char *name, SrcPos pos, const char *why)
{
    L->stream.gaussian = 0;
    L->stream.cause = (OpRef){name, pos};
    L->stream.why = why;
}

static int same_pos(SrcPos a, SrcPos b) { return a.line == b.line && a.col == b.col; }

/* Where a non-Gaussian value comes from, for "... needs a Gaussian input; its
 * input comes from relu at 2:12". */
static const char *provenance(Lower *L, const Stream *in)
{
    if (in->from.name == NULL)
        return "is the net's input itself, which is not Gaussian: the first layer of a net must be 'dense' (or "
               "'conv' on images)";
    const char *from = arena_printf(L->a, "comes from %s at %s", in->from.name, lower_pos_str(L, in->from.pos));
    if (in->cause.name == NULL)
        return arena_printf(L->a, "%s, a linear map of the net's input, which is not Gaussian", from);
    if (same_pos(in->from.pos, in->cause.pos))
        return arena_printf(L->a, "%s%s", from, in->why);
    return arena_printf(L->a, "%s, which is not Gaussian because of %s at %s%s", from, in->cause.name,
                        lower_pos_str(L, in->cause.pos), in->why);
}

int lower_need_gaussian(Lower *L, const char *what, SrcPos pos, const Stream *in, const char *input_of)
{
    if (in->gaussian)
        return 1;
    const char *from = in->from.name != NULL && same_pos(in->from.pos, pos)
                           ? arena_printf(L->a, "comes from this same %s in the previous pass of its 'repeat' block",
                                          in->from.name)
                           : provenance(L, in);
    diag_at(L->err, pos, L->src, "%s at %s needs a Gaussian input (the output of a dense or conv layer); %s %s", what,
            lower_pos_str(L, pos), input_of, from);
    return 0;
}

/* ---- layers ----------------------------------------------------------- */

IrOp *lower_push_op(Lower *L, IrOpKind kind, SrcPos pos)
{
    if (L->total_ops >= MAX_OPS) {
        diag_at(L->err, pos, L->src, "net '%s' has more than %d layers after unrolling 'repeat'", L->net->name,
                MAX_OPS);
        return NULL;
    }
    L->ops = arena_grow(L->a, L->ops, L->nops, &L->cap, sizeof *L->ops, 16);
    L->total_ops++;
    IrOp *op = &L->ops[L->nops++];
    op->kind = kind;
    op->pos = pos;
    lower_count_units(L, kind);
    return op;
}

enum { DENSE_W, DENSE_B, DENSE_WIDTH, DENSE_TRAINABLE, NDENSE };
static const ParamSpec dense_spec[NDENSE] = {
    [DENSE_W] = {"w_std", 1.0, 0.0, STD_MAX, 0, 0, NULL},
    [DENSE_B] = {"b_std", 0.0, 0.0, STD_MAX, 0, 0, NULL},
    [DENSE_WIDTH] = {"width", 0.0, 1.0, SHOWN_MAX, 1, 0, NULL},
    [DENSE_TRAINABLE] = {"trainable", 1, 0, 1, 1, 0, lower_bool_names},
};

static int lower_dense(Lower *L, const Stmt *s)
{
    Bound b;
    if (!lower_bind_args(L, s, dense_spec, NDENSE, &b))
        return 0;
    if (!lower_width_allowed(L, &b, DENSE_WIDTH))
        return 0;
    IrOp *op = lower_push_op(L, IR_DENSE, s->pos);
    if (op == NULL)
        return 0;
    IrDense *d = &op->u.dense;
    d->w_std = b.v[DENSE_W];
    d->b_std = b.v[DENSE_B];
    d->has_bias = b.given[DENSE_B];
    d->frozen = b.v[DENSE_TRAINABLE] == 0;
    if (L->param == PARAM_STANDARD) {
        d->width = (long)b.v[DENSE_WIDTH];
        d->fan_in = lower_fan_in(L);
        L->prev_width = d->width;
    }
    lower_made_gaussian(L);
    return 1;
}

static int lower_builtin_act(Lower *L, const Stmt *s, const ActDef *def)
{
    if (!lower_need_gaussian(L, def->name, s->pos, &L->stream, "its input"))
        return 0;
    ParamSpec spec[ACT_MAX_PARAMS];
    int n = def->nparams < ACT_MAX_PARAMS ? def->nparams : ACT_MAX_PARAMS;
    for (int k = 0; k < n; k++)
        spec[k] = (ParamSpec){def->params[k].name, def->params[k].def, def->params[k].min, def->params[k].max,
                              def->params[k].integer, k < def->nrequired, NULL};
    Bound b;
    if (!lower_bind_args(L, s, spec, n, &b))
        return 0;
    IrOp *op = lower_push_op(L, IR_ACT, s->pos);
    if (op == NULL)
        return 0;
    op->u.act.def = def;
    for (int k = 0; k < n; k++)
        op->u.act.p[k] = b.v[k];
    lower_broke_gaussian(L, def->name, s->pos, "");
    return 1;
}

static int file_const(const void *ctx, const char *name, double *value)
{
    const Const *c = scope_find(&((const Lower *)ctx)->file, name);
    if (c != NULL)
        *value = c->value;
    return c != NULL;
}

/* A formula activation: its parameters bind like a built-in's (any finite
 * value), and each set of values becomes its own ActDef. */
static int lower_formula_act(Lower *L, const Stmt *s, const ActDecl *d)
{
    if (!lower_need_gaussian(L, d->name, s->pos, &L->stream, "its input"))
        return 0;
    if (d->nparams > ACT_MAX_PARAMS) { /* lower_check_program refused it (act_formula.c) */
        diag_internal(L->err, "activation '%s' has %zu parameters; at most %d are supported", d->name, d->nparams,
                      ACT_MAX_PARAMS);
        return 0;
    }
    ParamSpec spec[ACT_MAX_PARAMS];
    for (size_t k = 0; k < d->nparams; k++)
        spec[k] = (ParamSpec){d->params[k].name, d->params[k].def, -INFINITY, INFINITY, 0, 0, NULL};
    Bound b;
    if (!lower_bind_args(L, s, spec, (int)d->nparams, &b))
        return 0;
    FormulaConsts consts = {file_const, L};
    const ActDef *def = formula_instance(&L->formulas, L->a, L->prog, &consts, d, b.v, L->err);
    if (def == NULL && d->nparams > 0) { /* the error is in the formula: say which use */
        size_t len = strlen(L->err->message);
        snprintf(L->err->message + len, sizeof L->err->message - len, "\nnote: with the arguments of '%s' at %s",
                 d->name, lower_pos_str(L, s->pos));
    }
    IrOp *op = def ? lower_push_op(L, IR_ACT, s->pos) : NULL;
    if (op == NULL)
        return 0;
    op->u.act.def = def;
    lower_broke_gaussian(L, d->name, s->pos, "");
    return 1;
}

static const LayerRule layer_rules[] = {
    {"dense", lower_dense, 0},
    /* Images: lower_image.c */
    {"conv", lower_conv, 0},
    {"conv_transpose", lower_conv_transpose, 0}, /* lower_conv_variants.c */
    {"conv_local", lower_conv_local, 0},
    {"image_resize", lower_image_resize, 0}, /* lower_resize.c */
    {"avg_pool", lower_avg_pool, 0},
    {"sum_pool", lower_sum_pool, 0},
    {"global_avg_pool", lower_global_avg_pool, 0},
    {"global_sum_pool", lower_global_sum_pool, 0},
    {"index", lower_index, 0},
    {"flatten", lower_flatten, 0},
    {"layer_norm", lower_layer_norm, 0},
    {"dropout", lower_dropout, 0}, /* lower_dropout.c */
    /* Branches: lower_branch.c */
    {"residual", lower_residual, 1},
    {"fanout", lower_fanout, 1},
    {"attention", lower_attention, 0}, /* lower_attention.c */
    /* Graphs: lower_graph.c */
    {"aggregate", lower_aggregate, 0},
    {"readout", lower_readout, 0},
};
enum { NRULES = sizeof layer_rules / sizeof layer_rules[0] };

static const ActDecl *find_formula(const Program *prog, const char *name)
{
    for (size_t i = 0; i < prog->nacts; i++)
        if (strcmp(prog->acts[i]->name, name) == 0)
            return prog->acts[i];
    return NULL;
}

static int unknown_layer(Lower *L, const Stmt *s)
{
    static const char *const words[] = {"repeat", "param", "let", "input"};
    const char *name = s->u.layer.name;
    Suggest sg = {name, NULL, 3};
    const char *known = "";
    for (size_t i = 0; i < NRULES; i++) {
        suggest_try(&sg, layer_rules[i].name);
        known = arena_printf(L->a, "%s%s%s", known, *known ? ", " : "", layer_rules[i].name);
    }
    size_t nact;
    const ActDef *const *acts = act_builtins(&nact);
    for (size_t i = 0; i < nact; i++) {
        suggest_try(&sg, acts[i]->name);
        known = arena_printf(L->a, "%s, %s", known, acts[i]->name);
    }
    for (size_t i = 0; i < L->prog->nacts; i++)
        suggest_try(&sg, L->prog->acts[i]->name);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        suggest_try(&sg, words[i]);
    if (sg.best)
        diag_at(L->err, s->pos, L->src, "unknown layer '%s'%s", name, did_you_mean(L, &sg));
    else
        diag_at(L->err, s->pos, L->src, "unknown layer '%s' (known layers: %s)", name, known);
    return 0;
}

static int lower_layer(Lower *L, const Stmt *s)
{
    const char *name = s->u.layer.name;
    const LowerFn *fn = NULL;
    int takes_block = 0;
    for (size_t i = 0; i < NRULES; i++)
        if (strcmp(layer_rules[i].name, name) == 0)
            fn = &layer_rules[i].lower, takes_block = layer_rules[i].takes_block;
    if (!fn && strcmp(name, "branch") == 0) {
        diag_at(L->err, s->pos, L->src, "'branch' blocks belong directly inside a 'fanout { ... }' block");
        return 0;
    }
    const ActDef *act = fn ? NULL : act_lookup(name);
    const ActDecl *formula = fn || act ? NULL : find_formula(L->prog, name);
    if (!fn && !act && !formula)
        return unknown_layer(L, s);
    if (s->u.layer.body != NULL && !takes_block) {
        diag_at(L->err, s->u.layer.body->open, L->src, "'%s' does not take a block", name);
        return 0;
    }
    L->seen_layer = 1;
    size_t before = L->nops;
    if (!(formula ? lower_formula_act(L, s, formula) : fn ? (*fn)(L, s) : lower_builtin_act(L, s, act)))
        return 0;
    if (L->nops > before) {
        IrOp *op = &L->ops[L->nops - 1];
        op->out = L->shape;
        op->gaussian = L->stream.gaussian;
        L->stream.from = (OpRef){lower_op_label(L, op), s->pos};
    }
    return 1;
}

/* ---- statements ------------------------------------------------------- */


static int lower_param(Lower *L, const Stmt *s, int depth)
{
    if (depth > 0) {
        diag_at(L->err, s->pos, L->src, "'param' is only allowed at net level, not inside a block");
        return 0;
    }
    if (L->param_given) {
        diag_at(L->err, s->pos, L->src, "'param' given twice in net '%s' (first at %s)", L->net->name,
                lower_pos_str(L, L->param_pos));
        return 0;
    }
    if (L->seen_layer) {
        diag_at(L->err, s->pos, L->src, "'param' must come before the first layer of net '%s'", L->net->name);
        return 0;
    }
    if (strcmp(s->u.param.name, "ntk") == 0) {
        L->param = PARAM_NTK;
    } else if (strcmp(s->u.param.name, "standard") == 0) {
        L->param = PARAM_STANDARD;
    } else {
        diag_at(L->err, s->u.param.name_pos, L->src, "unknown parameterization '%s' (expected 'ntk' or 'standard')",
                s->u.param.name);
        return 0;
    }
    L->param_given = 1;
    L->param_pos = s->pos;
    return 1;
}

static int lower_repeat(Lower *L, const Stmt *s, int depth)
{
    double n;
    if (!value_number(L, &s->u.repeat.count, &n))
        return 0;
    if (n < 1 || n != floor(n)) {
        diag_at(L->err, s->u.repeat.count.pos, L->src, "the 'repeat' count must be a positive whole number, got %g", n);
        return 0;
    }
    if (s->u.repeat.body.n == 0) {
        diag_at(L->err, s->u.repeat.body.open, L->src, "empty 'repeat' block");
        return 0;
    }
    /* Every pass adds at least one op, so lower_push_op's cap bounds this loop. */
    for (double i = 0; i < n; i++)
        if (!lower_block(L, &s->u.repeat.body, depth + 1))
            return 0;
    return 1;
}

static int lower_stmt(Lower *L, const Stmt *s, int depth)
{
    switch (s->kind) {
    case STMT_LET:
        if (depth > 0) {
            diag_at(L->err, s->pos, L->src, "'let' is only allowed at file or net level, not inside a block");
            return 0;
        }
        return 1; /* net-level constants were defined before the walk */
    case STMT_PARAM:
        return lower_param(L, s, depth);
    case STMT_REPEAT:
        return lower_repeat(L, s, depth);
    case STMT_INPUT:
        return lower_input(L, s, depth);
    case STMT_LAYER:
        return lower_layer(L, s);
    }
    diag_internal(L->err, "unknown statement kind %d", (int)s->kind);
    return 0;
}

int lower_block(Lower *L, const Block *b, int depth)
{
    for (size_t i = 0; i < b->n; i++)
        if (!lower_stmt(L, b->v[i], depth))
            return 0;
    return 1;
}

/* The one place a net's family is decided (families.h): graphs by their
 * input; image inputs, and vector nets using a layer beyond dense and
 * activations (fanout, layer_norm, ...), run on the image machinery. */
/* Ops only the all-pairs back end computes: attention, index (a position pair). */
static int has_attention(const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_ATTENTION || ops[i].kind == IR_INDEX)
            return 1;
        if (ops[i].kind == IR_FANOUT)
            for (size_t b = 0; b < ops[i].u.fanout.nbranches; b++)
                if (has_attention(ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops))
                    return 1;
    }
    return 0;
}

static IrFamily lower_family(const Lower *L)
{
    if (L->input.kind == IR_INPUT_GRAPH)
        return IR_FAMILY_GRAPH;
    /* all position pairs: masks reach every layer; volumes' windows in 3-D (lower_volume.c) */
    if (has_attention(L->ops, L->nops) || L->input.masked || L->input.depth)
        return IR_FAMILY_ATTENTION;
    if (L->input.kind == IR_INPUT_IMAGE)
        return IR_FAMILY_IMAGE;
    for (size_t i = 0; i < L->nops; i++)
        if (L->ops[i].kind != IR_DENSE && L->ops[i].kind != IR_ACT && L->ops[i].kind != IR_DROPOUT)
            return IR_FAMILY_IMAGE;
    return IR_FAMILY_FC;
}

/* Fully connected nets need no check beyond the layers' own. */
static int lower_check_fc_net(Lower *L)
{
    (void)L;
    return 1;
}

/* The LOWER column of the family table. */
#define LOWER_COLUMN(id, name, lower, ...) [IR_FAMILY_##id] = lower,
static int (*const family_checks[IR_NFAMILIES])(Lower *L) = {NTKC_FAMILIES(LOWER_COLUMN)};
#undef LOWER_COLUMN

IrNet *lower_net(Arena *a, const Program *prog, const NetDecl *net, Diag *err)
{
    /* The input is not Gaussian (neural-tangents: requirements.py starts every
     * kernel with is_gaussian=False). */
    Lower L = {.a = a, .prog = prog, .net = net, .err = err, .src = prog->src, .param = PARAM_NTK, .units = 1.0, .raw_input = 1,
               .input = {.kind = IR_INPUT_VECTOR}, .shape = {1, 1, 0, 0}, .stream = {.why = ""},
               .agg_in = {.gaussian = 1, .why = ""}};
    for (size_t i = 0; i < prog->nlets; i++)
        if (!define_const(&L, &L.file, prog->lets[i], "in this file"))
            return NULL;
    for (size_t i = 0; i < net->body.n; i++)
        if (net->body.v[i]->kind == STMT_LET &&
            !define_const(&L, &L.local, net->body.v[i], arena_printf(a, "in net '%s'", net->name)))
            return NULL;
    if (!lower_block(&L, &net->body, 0))
        return NULL;
    if (L.nops == 0) {
        diag_at(err, net->pos, prog->src, "net '%s' has no layers", net->name);
        return NULL;
    }
    if (L.param == PARAM_STANDARD && !lower_check_widths(&L))
        return NULL;
    IrFamily family = lower_family(&L);
    if (!lower_check_image_net(&L) || !family_checks[family](&L))
        return NULL;
    IrNet *ir = arena_alloc(a, sizeof *ir);
    ir->name = net->name;
    ir->pos = net->pos;
    ir->family = family;
    ir->param = L.param;
    ir->input = L.input;
    ir->ops = L.ops;
    ir->nops = L.nops;
    ir_record_layout(ir);
    return ir;
}

const Formula *lower_formula(Arena *a, const Program *prog, const ActDecl *d, Diag *err)
{
    Lower L = {.a = a, .prog = prog, .err = err, .src = prog->src};
    for (size_t i = 0; i < prog->nlets; i++)
        if (!define_const(&L, &L.file, prog->lets[i], "in this file"))
            return NULL;
    FormulaConsts consts = {file_const, &L};
    return formula_build(a, prog, &consts, d, NULL, err);
}

int lower_check_program(const Program *prog, Diag *err)
{
    for (size_t i = 0; i < prog->nacts; i++)
        if (act_lookup(prog->acts[i]->name) != NULL) {
            diag_at(err, prog->acts[i]->pos, prog->src, "activation '%s' is built in; choose another name",
                    prog->acts[i]->name);
            return 0;
        }
    for (size_t i = 0; i < prog->nacts; i++)
        for (size_t r = 0; r < NRULES; r++)
            if (strcmp(prog->acts[i]->name, layer_rules[r].name) == 0) {
                diag_at(err, prog->acts[i]->pos, prog->src, "activation '%s' has the name of a built-in layer",
                        prog->acts[i]->name);
                return 0;
            }
    /* Every formula builds with its defaults, used or not: its errors are
     * the file's errors. */
    for (size_t i = 0; i < prog->nacts; i++) {
        Arena scratch;
        arena_init(&scratch);
        const Formula *f = lower_formula(&scratch, prog, prog->acts[i], err);
        arena_free(&scratch);
        if (f == NULL)
            return 0;
    }
    return 1;
}
