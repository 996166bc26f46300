/* Lowering of inputs, image layers (conv, pooling, flatten, global pooling,
 * layer_norm) and branches (residual, fanout), with the shape checks that
 * need them: every op records the spatial shape it outputs. */
#include <math.h>
#include <string.h>

#include "editdist.h"
#include "ir_print.h"
#include "lower_internal.h"

static const char *const padding_names[] = {"same", "valid", "circular", NULL};

static const char *shape_text(Lower *L, IrShape s)
{
    return L->input.sequence ? arena_printf(L->a, "length %zu", s.w) : arena_printf(L->a, "%zu×%zu", s.h, s.w);
}

/* ---- input ------------------------------------------------------------ */

typedef struct InputKind {
    const char *name;
    int nargs;
    ParamSpec spec[3];
} InputKind;

static const InputKind input_kinds[] = {
    {"image", 3,
     {{"height", 0, 1, SHOWN_MAX, 1, 1, NULL}, {"width", 0, 1, SHOWN_MAX, 1, 1, NULL},
      {"channels", 0, 1, SHOWN_MAX, 1, 1, NULL}}},
    {"sequence", 2, {{"length", 0, 1, SHOWN_MAX, 1, 1, NULL}, {"channels", 0, 1, SHOWN_MAX, 1, 1, NULL}}},
    {"vector", 1, {{"dim", 0, 1, SHOWN_MAX, 1, 1, NULL}}},
    {"graph", 2, {{"features", 0, 1, SHOWN_MAX, 1, 1, NULL}, {"normalize", 1, 0, 1, 1, 0, lower_bool_names}}},
};

static int input_placement(Lower *L, const Stmt *s, int depth)
{
    if (depth > 0) {
        diag_at(L->err, s->pos, L->src, "'input' is only allowed at net level, not inside a block");
        return 0;
    }
    if (L->input_given) {
        diag_at(L->err, s->pos, L->src, "'input' given twice in net '%s' (first at %s)", L->net->name,
                lower_pos_str(L, L->input.pos));
        return 0;
    }
    if (L->seen_layer) {
        diag_at(L->err, s->pos, L->src, "'input' must come before the first layer of net '%s'", L->net->name);
        return 0;
    }
    return 1;
}

int lower_input(Lower *L, const Stmt *s, int depth)
{
    if (!input_placement(L, s, depth))
        return 0;
    const InputKind *kind = NULL;
    int best = 3;
    const char *near = NULL;
    for (size_t i = 0; i < sizeof input_kinds / sizeof input_kinds[0]; i++) {
        if (strcmp(input_kinds[i].name, s->u.input.kind) == 0)
            kind = &input_kinds[i];
        int d = edit_distance(s->u.input.kind, input_kinds[i].name, 2);
        if (d < best)
            best = d, near = input_kinds[i].name;
    }
    if (kind == NULL) {
        diag_at(L->err, s->u.input.kind_pos, L->src, "unknown input kind '%s'%s (known: image, sequence, vector, graph)",
                s->u.input.kind, near ? arena_printf(L->a, "; did you mean '%s'?", near) : "");
        return 0;
    }
    /* The argument binder reads layer statements; present the input as one. */
    Stmt as_layer = {.kind = STMT_LAYER, .pos = s->pos};
    as_layer.u.layer.name = arena_printf(L->a, "input %s", kind->name);
    as_layer.u.layer.args = s->u.input.args;
    Bound b;
    if (!lower_bind_args(L, &as_layer, kind->spec, kind->nargs, &b))
        return 0;
    IrInput in = {.pos = s->pos};
    if (strcmp(kind->name, "vector") == 0) {
        in.kind = IR_INPUT_VECTOR;
        in.dim = (size_t)b.v[0];
    } else if (strcmp(kind->name, "graph") == 0) { /* lower_graph.c */
        in.kind = IR_INPUT_GRAPH;
        in.dim = (size_t)b.v[0];
        in.raw_gram = b.v[1] == 0;
    } else {
        int seq = strcmp(kind->name, "sequence") == 0;
        in.kind = IR_INPUT_IMAGE;
        in.sequence = seq;
        in.h = seq ? 1 : (size_t)b.v[0];
        in.w = (size_t)b.v[seq ? 0 : 1];
        in.c = (size_t)b.v[seq ? 1 : 2];
        if ((double)in.h * (double)in.w * (double)in.c > 1e12) {
            diag_at(L->err, s->pos, L->src, "input of %zu×%zu×%zu values is too large", in.h, in.w, in.c);
            return 0;
        }
        in.dim = in.h * in.w * in.c;
        L->shape = (IrShape){in.h, in.w, 1};
    }
    L->input = in;
    L->input_given = 1;
    return 1;
}

/* ---- shared checks ---------------------------------------------------- */

/* Image layers need a spatial input: explain whichever way it is missing. */
int lower_need_image(Lower *L, const Stmt *s)
{
    const char *name = s->u.layer.name;
    if (L->shape.spatial)
        return 1;
    if (L->input.kind != IR_INPUT_IMAGE)
        diag_at(L->err, s->pos, L->src,
                "'%s' is an image layer but net '%s' works on vectors: declare 'input image(H, W, C)' or "
                "'input sequence(L, C)' before the first layer",
                name, L->net->name);
    else
        diag_at(L->err, s->pos, L->src,
                "'%s' after '%s' at %s: the net works on vectors from there on (dense, activations and "
                "layer_norm still apply)",
                name, L->vector_by, lower_pos_str(L, L->vector_pos));
    return 0;
}

int lower_ntk_only(Lower *L, const Stmt *s)
{
    if (L->param == PARAM_NTK)
        return 1;
    diag_at(L->err, s->pos, L->src, "'%s' is supported only under param ntk for now (net '%s' uses param standard)",
            s->u.layer.name, L->net->name);
    return 0;
}

static int no_pooling_in_branch(Lower *L, const Stmt *s)
{
    if (L->branch_depth == 0 || !L->shape.spatial)
        return 1;
    diag_at(L->err, s->pos, L->src,
            "'%s' inside a residual or fanout block on images is not supported yet: pool outside the block",
            s->u.layer.name);
    return 0;
}

/* ---- windows ---------------------------------------------------------- */

enum { W_SIZE, W_KH, W_KW, W_STRIDE, W_SH, W_SW, W_PAD };

/* One axis of a window: output size and padding, or an error at the argument.
 * As neural-tangents (lax's SAME padding, then wrapping for CIRCULAR): a
 * window or stride larger than the image is fine with padding same or
 * circular (padding that covers more than the image wraps around it again);
 * only padding=valid can leave no output at all. */
static int window_axis(Lower *L, const Stmt *s, const char *axis, size_t n, int k, int stride, IrPadding pad,
                       SrcPos at, size_t *out, int *lo)
{
    const char *name = s->u.layer.name;
    if ((size_t)k > n && pad == IR_PAD_VALID) {
        diag_at(L->err, at, L->src,
                "'%s': window %d with padding=valid on an image %s of %zu gives an output of size 0", name, k, axis,
                n);
        return 0;
    }
    if (pad == IR_PAD_VALID) {
        *out = (n - (size_t)k) / (size_t)stride + 1;
        *lo = 0;
    } else {
        *out = (n + (size_t)stride - 1) / (size_t)stride;
        long total = ((long)*out - 1) * stride + k - (long)n;
        *lo = total > 0 ? (int)(total / 2) : 0;
    }
    return 1;
}

/* Binds a window from size/kh/kw, stride/sh/sw and padding (slots per the W_*
 * enum mapped through idx) and computes the output shape into L->shape. */
static int bind_window(Lower *L, const Stmt *s, const Bound *b, const int *idx, int pool, IrWindow *w)
{
    const char *name = s->u.layer.name;
    int has_size = b->given[idx[W_SIZE]], has_kh = b->given[idx[W_KH]], has_kw = b->given[idx[W_KW]];
    if (has_size && (has_kh || has_kw)) {
        diag_at(L->err, b->pos[idx[has_kh ? W_KH : W_KW]], L->src,
                "'%s': give the window either as size or as kh/kw, not both", name);
        return 0;
    }
    if (!has_size && !(has_kh && has_kw) && !(L->input.sequence && has_kw)) {
        diag_at(L->err, s->pos, L->src, "missing required argument 'size' (or kh and kw) for '%s'", name);
        return 0;
    }
    int seq = L->input.sequence;
    int size = (int)b->v[idx[W_SIZE]];
    w->kh = seq ? 1 : has_size ? size : (int)b->v[idx[W_KH]];
    w->kw = has_size ? size : (int)b->v[idx[W_KW]];
    if (seq && has_kh && (int)b->v[idx[W_KH]] != 1) {
        diag_at(L->err, b->pos[idx[W_KH]], L->src, "'%s' on a sequence: windows are 1-D, kh must be 1", name);
        return 0;
    }
    int stride_given = b->given[idx[W_STRIDE]];
    int stride = (int)b->v[idx[W_STRIDE]];
    w->sh = b->given[idx[W_SH]] ? (int)b->v[idx[W_SH]] : stride_given ? stride : pool ? w->kh : 1;
    w->sw = b->given[idx[W_SW]] ? (int)b->v[idx[W_SW]] : stride_given ? stride : pool ? w->kw : 1;
    if (seq)
        w->sh = 1;
    /* A stride past the image leaves one output pixel, which reads the same
     * input pixels for any such stride: store it as the image's size, so
     * products of strides stay small. */
    if ((size_t)w->sh > L->shape.h)
        w->sh = (int)L->shape.h;
    if ((size_t)w->sw > L->shape.w)
        w->sw = (int)L->shape.w;
    w->pad = (IrPadding)(int)b->v[idx[W_PAD]];
    SrcPos at = b->given[idx[W_SIZE]] ? b->pos[idx[W_SIZE]] : s->pos;
    size_t oh, ow;
    if (!window_axis(L, s, "height", L->shape.h, w->kh, w->sh, w->pad, at, &oh, &w->pt) ||
        !window_axis(L, s, seq ? "length" : "width", L->shape.w, w->kw, w->sw, w->pad, at, &ow, &w->pl))
        return 0;
    L->shape = (IrShape){oh, ow, 1};
    return 1;
}

/* ---- conv and pooling ------------------------------------------------- */

enum { C_SIZE, C_W, C_B, C_STRIDE, C_PAD, C_KH, C_KW, C_SH, C_SW, NCONV };
static const ParamSpec conv_spec[NCONV] = {
    [C_SIZE] = {"size", 0, 1, 1e6, 1, 0, NULL},
    [C_W] = {"w_std", 1.0, 0.0, STD_MAX, 0, 0, NULL},
    [C_B] = {"b_std", 0.0, 0.0, STD_MAX, 0, 0, NULL},
    [C_STRIDE] = {"stride", 1, 1, 1e6, 1, 0, NULL},
    [C_PAD] = {"padding", IR_PAD_SAME, 0, 2, 1, 0, padding_names},
    [C_KH] = {"kh", 0, 1, 1e6, 1, 0, NULL},
    [C_KW] = {"kw", 0, 1, 1e6, 1, 0, NULL},
    [C_SH] = {"sh", 1, 1, 1e6, 1, 0, NULL},
    [C_SW] = {"sw", 1, 1, 1e6, 1, 0, NULL},
};
static const int conv_window_idx[] = {[W_SIZE] = C_SIZE, [W_KH] = C_KH,     [W_KW] = C_KW, [W_STRIDE] = C_STRIDE,
                                      [W_SH] = C_SH,     [W_SW] = C_SW, [W_PAD] = C_PAD};

int lower_conv(Lower *L, const Stmt *s)
{
    Bound b;
    if (!lower_need_image(L, s) || !lower_ntk_only(L, s) || !lower_bind_args(L, s, conv_spec, NCONV, &b))
        return 0;
    IrWindow w;
    if (!bind_window(L, s, &b, conv_window_idx, 0, &w))
        return 0;
    IrOp *op = lower_push_op(L, IR_CONV, s->pos);
    if (op == NULL)
        return 0;
    op->u.conv = (IrConv){.w_std = b.v[C_W], .b_std = b.v[C_B], .win = w};
    lower_made_gaussian(L);
    return 1;
}

enum { P_SIZE, P_STRIDE, P_PAD, P_KH, P_KW, P_SH, P_SW, NPOOL };
static const ParamSpec pool_spec[NPOOL] = {
    [P_SIZE] = {"size", 0, 1, 1e6, 1, 0, NULL},
    [P_STRIDE] = {"stride", 1, 1, 1e6, 1, 0, NULL},
    [P_PAD] = {"padding", IR_PAD_VALID, 0, 2, 1, 0, padding_names},
    [P_KH] = {"kh", 0, 1, 1e6, 1, 0, NULL},
    [P_KW] = {"kw", 0, 1, 1e6, 1, 0, NULL},
    [P_SH] = {"sh", 1, 1, 1e6, 1, 0, NULL},
    [P_SW] = {"sw", 1, 1, 1e6, 1, 0, NULL},
};
static const int pool_window_idx[] = {[W_SIZE] = P_SIZE, [W_KH] = P_KH,     [W_KW] = P_KW, [W_STRIDE] = P_STRIDE,
                                      [W_SH] = P_SH,     [W_SW] = P_SW, [W_PAD] = P_PAD};

static int lower_pool(Lower *L, const Stmt *s, int average)
{
    Bound b;
    if (!lower_need_image(L, s) || !no_pooling_in_branch(L, s) || !lower_ntk_only(L, s) ||
        !lower_bind_args(L, s, pool_spec, NPOOL, &b))
        return 0;
    IrWindow w;
    if (!bind_window(L, s, &b, pool_window_idx, 1, &w))
        return 0;
    IrOp *op = lower_push_op(L, IR_POOL, s->pos);
    if (op == NULL)
        return 0;
    op->u.pool = (IrPool){.win = w, .average = average};
    return 1;
}

int lower_avg_pool(Lower *L, const Stmt *s) { return lower_pool(L, s, 1); }
int lower_sum_pool(Lower *L, const Stmt *s) { return lower_pool(L, s, 0); }

/* flatten and global pooling: image → vector. */
static int lower_to_vector(Lower *L, const Stmt *s, IrOpKind kind, int average)
{
    if (!lower_need_image(L, s) || !no_pooling_in_branch(L, s) || !lower_ntk_only(L, s) ||
        !lower_bind_args(L, s, NULL, 0, &(Bound){0}))
        return 0;
    IrOp *op = lower_push_op(L, kind, s->pos);
    if (op == NULL)
        return 0;
    if (kind == IR_GLOBAL_POOL)
        op->u.gpool.average = average;
    else /* one unit per (pixel, channel): units of different pixels have different variances */
        lower_broke_gaussian(L, "flatten", s->pos,
                             " (flatten stacks pixels whose variances differ; a dense layer after it makes a "
                             "Gaussian again)");
    L->shape = (IrShape){1, 1, 0};
    L->vector_pos = s->pos;
    L->vector_by = s->u.layer.name;
    return 1;
}

int lower_flatten(Lower *L, const Stmt *s) { return lower_to_vector(L, s, IR_FLATTEN, 0); }
int lower_global_avg_pool(Lower *L, const Stmt *s) { return lower_to_vector(L, s, IR_GLOBAL_POOL, 1); }
int lower_global_sum_pool(Lower *L, const Stmt *s) { return lower_to_vector(L, s, IR_GLOBAL_POOL, 0); }

static const ParamSpec ln_spec[] = {{"eps", 1e-12, 0, 1e6, 0, 0, NULL}};

int lower_layer_norm(Lower *L, const Stmt *s)
{
    Bound b;
    if (!lower_ntk_only(L, s) || !lower_bind_args(L, s, ln_spec, 1, &b))
        return 0;
    /* Its kernel Σ/√(Σ11·Σ22) drops the channel mean: it holds for centred
     * inputs whose empirical channel variance converges (Gaussian ones). */
    if (!lower_need_gaussian(L, "layer_norm", s->pos, &L->stream, "its input"))
        return 0;
    IrOp *op = lower_push_op(L, IR_LAYER_NORM, s->pos);
    if (op == NULL)
        return 0;
    op->u.ln.eps = b.v[0];
    return 1;
}

/* ---- branches --------------------------------------------------------- */

/* The state a branch starts from and the fan-in restores. */
typedef struct Saved {
    IrOp *ops;
    size_t nops, cap;
    IrShape shape;
    Stream stream;
} Saved;

static Saved enter_branch(Lower *L)
{
    Saved sv = {L->ops, L->nops, L->cap, L->shape, L->stream};
    L->ops = NULL;
    L->nops = L->cap = 0;
    L->branch_depth++;
    return sv;
}

static IrBranch leave_branch(Lower *L, const Saved *sv)
{
    IrBranch br = {L->ops, L->nops, 1.0};
    L->ops = sv->ops;
    L->nops = sv->nops;
    L->cap = sv->cap;
    L->branch_depth--;
    return br;
}

static void strides_of(const IrOp *ops, size_t n, long *sh, long *sw)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_CONV) {
            *sh *= ops[i].u.conv.win.sh;
            *sw *= ops[i].u.conv.win.sw;
        } else if (ops[i].kind == IR_FANOUT && ops[i].u.fanout.nbranches > 0) {
            const IrBranch *b = &ops[i].u.fanout.branches[0];
            strides_of(b->ops, b->nops, sh, sw);
        }
    }
}

/* Summed and multiplied branches must be independent: each ends in a layer
 * with fresh weights, except one identity branch at most. */
static int check_independent(Lower *L, const Stmt *s, const IrBranch *br, const SrcPos *at, size_t n,
                             const char *fanin)
{
    size_t identities = 0;
    for (size_t i = 0; i < n; i++) {
        if (br[i].nops == 0) {
            if (++identities > 1) {
                diag_at(L->err, at[i], L->src,
                        "two identity branches in one '%s' %s: their outputs are the same, not independent, so "
                        "the kernel would not be the %s of the branches' kernels",
                        s->u.layer.name, fanin, fanin);
                return 0;
            }
            continue;
        }
        const IrOp *last = &br[i].ops[br[i].nops - 1];
        if (last->kind != IR_DENSE && last->kind != IR_CONV && last->kind != IR_ATTENTION) {
            if (strcmp(s->u.layer.name, "residual") == 0)
                diag_at(L->err, last->pos, L->src,
                        "a residual block must end in an affine layer (dense, conv or attention), not '%s': x + α·f(x) has "
                        "kernel Σ + α²Σ_f only when f(x) has fresh weights, independent of x",
                        ir_op_name(last));
            else
                diag_at(L->err, last->pos, L->src,
                        "branch %zu of this '%s' %s ends in '%s': a %s of kernels needs independent branches, so "
                        "each must end in an affine layer (dense, conv or attention) or be the identity (an empty branch)",
                        i + 1, s->u.layer.name, fanin, ir_op_name(last), fanin);
            return 0;
        }
    }
    return 1;
}

/* Lowers one branch body from the fanout's input state; 0 on error. */
static int lower_branch(Lower *L, const Block *body, int depth, const Saved *start, IrBranch *out,
                        IrShape *shape_out, Stream *stream_out)
{
    Saved sv = enter_branch(L);
    L->shape = start->shape;
    L->stream = start->stream;
    int ok = lower_block(L, body, depth);
    *out = leave_branch(L, &sv);
    *shape_out = L->shape;
    *stream_out = L->stream;
    return ok;
}

/* A sum of independent branches (docs/gaussianity.md): Gaussian when every
 * branch is; else not, because of the first branch that is not. The kernel
 * of the sum holds either way: every branch but one identity ends in fresh
 * centred weights, so no cross term survives. */
static void sum_streams(Lower *L, const Stream *br, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!br[i].gaussian) {
            L->stream = br[i];
            return;
        }
    L->stream.gaussian = 1;
}

static int same_shape(IrShape a, IrShape b) { return a.spatial == b.spatial && a.h == b.h && a.w == b.w; }

static int push_fanout(Lower *L, const Stmt *s, IrFanIn mode, IrBranch *br, size_t n, int residual)
{
    IrOp *op = lower_push_op(L, IR_FANOUT, s->pos);
    if (op == NULL)
        return 0;
    op->u.fanout = (IrFanout){.mode = mode, .branches = br, .nbranches = n, .residual = residual};
    return 1;
}

static const ParamSpec residual_spec[] = {{"alpha", 1.0, 0.0, STD_MAX, 0, 0, NULL}};

int lower_residual(Lower *L, const Stmt *s)
{
    Bound b;
    if (!lower_ntk_only(L, s) || !lower_bind_args(L, s, residual_spec, 1, &b))
        return 0;
    if (s->u.layer.body == NULL || s->u.layer.body->n == 0) {
        diag_at(L->err, s->u.layer.body ? s->u.layer.body->open : s->pos, L->src,
                "'residual' needs a non-empty block: residual { conv(3); relu; conv(3) } is x + f(x)");
        return 0;
    }
    if (s->u.layer.modifier != NULL) {
        diag_at(L->err, s->u.layer.modifier_pos, L->src, "'residual' takes nothing after its block (its fan-in is a sum)");
        return 0;
    }
    Saved start = {.shape = L->shape, .stream = L->stream};
    IrBranch *br = arena_alloc(L->a, 2 * sizeof *br);
    IrShape out;
    Stream streams[2] = {start.stream};
    if (!lower_branch(L, s->u.layer.body, 1, &start, &br[1], &out, &streams[1]))
        return 0;
    br[0] = (IrBranch){NULL, 0, 1.0};
    br[1].scale = b.v[0];
    if (!same_shape(out, start.shape)) {
        diag_at(L->err, s->pos, L->src, "the residual block changes the shape from %s to %s: x + f(x) needs equal shapes",
                shape_text(L, start.shape), shape_text(L, out));
        return 0;
    }
    SrcPos at[2] = {s->pos, s->u.layer.body->open};
    if (!check_independent(L, s, br, at, 2, "sum"))
        return 0;
    L->shape = out;
    sum_streams(L, streams, 2);
    return push_fanout(L, s, IR_FANIN_SUM, br, 2, 1);
}

static const char *const fanin_names[] = {"sum", "prod", "concat", NULL};

static int fanin_mode(Lower *L, const Stmt *s, IrFanIn *mode)
{
    const char *m = s->u.layer.modifier;
    if (m == NULL) {
        diag_at(L->err, s->pos, L->src, "'fanout { ... }' needs its fan-in after the block: sum, prod or concat");
        return 0;
    }
    for (int i = 0; fanin_names[i]; i++)
        if (strcmp(m, fanin_names[i]) == 0) {
            *mode = (IrFanIn)i;
            return 1;
        }
    diag_at(L->err, s->u.layer.modifier_pos, L->src, "unknown fan-in '%s' (expected sum, prod or concat)", m);
    return 0;
}

/* Every statement of a fanout block is `branch { ... }`. */
static int check_branch_stmts(Lower *L, const Block *body)
{
    for (size_t i = 0; i < body->n; i++) {
        const Stmt *b = body->v[i];
        if (b->kind != STMT_LAYER || strcmp(b->u.layer.name, "branch") != 0 || b->u.layer.body == NULL) {
            diag_at(L->err, b->pos, L->src, "a 'fanout' block holds only 'branch { ... }' blocks");
            return 0;
        }
        if (b->u.layer.args.written || b->u.layer.modifier) {
            diag_at(L->err, b->pos, L->src, "'branch' takes neither arguments nor a modifier");
            return 0;
        }
    }
    if (body->n < 2) {
        diag_at(L->err, body->open, L->src, "a 'fanout' needs at least two branches");
        return 0;
    }
    return 1;
}

int lower_fanout(Lower *L, const Stmt *s)
{
    IrFanIn mode;
    if (!lower_ntk_only(L, s) || !lower_bind_args(L, s, NULL, 0, &(Bound){0}) || !fanin_mode(L, s, &mode))
        return 0;
    const Block *body = s->u.layer.body;
    if (body == NULL) {
        diag_at(L->err, s->pos, L->src, "'fanout' needs a block of branches: fanout { branch { ... } branch { ... } } sum");
        return 0;
    }
    if (!check_branch_stmts(L, body))
        return 0;
    Saved start = {.shape = L->shape, .stream = L->stream};
    IrBranch *br = arena_alloc(L->a, body->n * sizeof *br);
    SrcPos *at = arena_alloc(L->a, body->n * sizeof *at);
    Stream *streams = arena_alloc(L->a, body->n * sizeof *streams);
    IrShape shape0 = start.shape;
    long sh0 = 1, sw0 = 1;
    for (size_t i = 0; i < body->n; i++) {
        const Stmt *b = body->v[i];
        IrShape out;
        if (!lower_branch(L, b->u.layer.body, 1, &start, &br[i], &out, &streams[i]))
            return 0;
        at[i] = b->pos;
        long sh = 1, sw = 1;
        strides_of(br[i].ops, br[i].nops, &sh, &sw);
        if (i == 0) {
            shape0 = out, sh0 = sh, sw0 = sw;
        } else if (!same_shape(out, shape0) || sh != sh0 || sw != sw0) {
            diag_at(L->err, b->pos, L->src,
                    "branch %zu ends with shape %s (strides %ld×%ld) but branch 1 with %s (strides %ld×%ld): the "
                    "branches of a fanout must agree",
                    i + 1, out.spatial ? shape_text(L, out) : "vector", sh, sw,
                    shape0.spatial ? shape_text(L, shape0) : "vector", sh0, sw0);
            return 0;
        }
    }
    if (mode != IR_FANIN_CONCAT && !check_independent(L, s, br, at, body->n, fanin_names[mode]))
        return 0;
    L->shape = shape0;
    const char *label = arena_printf(L->a, "fanout … %s", fanin_names[mode]);
    if (mode == IR_FANIN_SUM) {
        sum_streams(L, streams, body->n);
    } else if (mode == IR_FANIN_PROD) {
        /* Only an identity branch can fail: the others end in dense or conv. */
        for (size_t i = 0; i < body->n; i++)
            if (!lower_need_gaussian(L, label, s->pos, &streams[i],
                                     arena_printf(L->a, "the input of its identity branch %zu", i + 1)))
                return 0;
        lower_broke_gaussian(L, label, s->pos, " (a product of Gaussians is not Gaussian)");
    } else {
        /* Channels of different branches have different kernels: an
         * activation would need each branch's T(Σ_b), not T(mean_b Σ_b). */
        lower_broke_gaussian(L, label, s->pos,
                             " (concat stacks branches whose kernels differ; a dense or conv layer after it makes a "
                             "Gaussian again)");
    }
    return push_fanout(L, s, mode, br, body->n, 0);
}

int lower_check_image_net(Lower *L)
{
    if (L->shape.spatial) {
        diag_at(L->err, L->net->pos, L->src,
                "net '%s' ends on an image (%s pixels): reduce it to a vector with 'flatten' or "
                "'global_avg_pool', then read out with 'dense'",
                L->net->name, shape_text(L, L->shape));
        return 0;
    }
    if (L->input.kind == IR_INPUT_IMAGE && L->param == PARAM_STANDARD) {
        diag_at(L->err, L->param_pos, L->src, "image inputs are supported only under param ntk for now");
        return 0;
    }
    return 1;
}
