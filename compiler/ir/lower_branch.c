/* Lowering of branches: `residual { ... }` and `fanout(sum|prod|concat)
 * { { ... } ... }`, each branch lowered from the state the block starts
 * from, with the checks that the branches can be summed, multiplied or
 * joined (shapes, strides, independence) and the Gaussianity of the result. */
#include <math.h>
#include <string.h>

#include "ir_fanout.h"
#include "ir_print.h"
#include "lower_internal.h"

/* The state a branch starts from and the fan-in restores. */
typedef struct Saved {
    IrOp *ops;
    size_t nops, cap;
    IrShape shape;
    Stream stream;
    long prev_width; /* param standard: the width the block reads (lower_standard.c) */
    double units;    /* units per width of the stream (lower_count_units) */
} Saved;

static Saved enter_branch(Lower *L)
{
    Saved sv = {L->ops, L->nops, L->cap, L->shape, L->stream, L->prev_width, L->units};
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

/* Summed and multiplied branches (and spatially concatenated ones) must be
 * independent: every branch but one ends in a layer with fresh weights
 * (then local pooling at most, ir_branch_fresh). A spatial concat also takes
 * any number of identity branches (their cross blocks are the input's own
 * kernel, ir_fanout.h). */
static int check_independent(Lower *L, const Stmt *s, const IrBranch *br, const SrcPos *at, size_t n,
                             const char *fanin, int identities_ok)
{
    size_t identities = 0, stale = 0, second_identity = n, other = n;
    for (size_t i = 0; i < n; i++) {
        if (ir_branch_fresh(&br[i]))
            continue;
        stale++;
        if (br[i].nops == 0 && ++identities == 2)
            second_identity = i;
        else if (br[i].nops > 0 && other == n)
            other = i;
    }
    if (stale <= 1 || (identities_ok && stale == identities))
        return 1;
    if (other == n) {
        diag_at(L->err, at[second_identity], L->src,
                "two identity branches in one '%s' %s: their outputs are the same, not independent, so "
                "the kernel would not be the %s of the branches' kernels",
                s->u.layer.name, fanin, fanin);
        return 0;
    }
    const IrOp *last = &br[other].ops[br[other].nops - 1];
    if (strcmp(s->u.layer.name, "residual") == 0)
        diag_at(L->err, last->pos, L->src,
                "a residual block must end in an affine layer (dense, conv or attention), not '%s' (pooling "
                "or image_resize may follow one): x + α·f(x) has kernel Σ + α²Σ_f only when f(x) has fresh "
                "weights, independent of x",
                ir_op_name(last));
    else
        diag_at(L->err, last->pos, L->src,
                "branch %zu of this '%s' %s ends in '%s': a %s of kernels needs independent branches, so "
                "every branch but one must end in an affine layer (dense, conv or attention; pooling, "
                "image_resize, flatten or index may follow it)%s",
                other + 1, s->u.layer.name, fanin, ir_op_name(last), fanin,
                identities_ok ? " or be the identity (an empty branch)" : "");
    return 0;
}

void lower_count_units(Lower *L, IrOpKind kind)
{
    if (kind == IR_DENSE || kind == IR_CONV || kind == IR_ATTENTION || kind == IR_CONV_TRANSPOSE ||
        kind == IR_CONV_LOCAL) {
        L->units = 1.0;
        L->raw_input = 0;
    }
    else if (kind == IR_FLATTEN) /* pushed before the shape becomes the vector */
        L->units *= (double)(L->shape.h * L->shape.w);
}

/* How many units a vector has, for messages. */
static const char *units_text(Lower *L, double u)
{
    return u == 1.0 ? "units as wide as the net" : arena_printf(L->a, "%g times as many units as the net is wide", u);
}

/* The units each branch outputs (ir_fanout.h, ir_branch_adapts): a branch
 * ending in an affine layer takes an identity branch's units in a sum or
 * product. Summed and multiplied branches must agree (as neural-tangents'
 * FanInSum and FanInProd need equal shapes: a flattened image has pixels
 * times more units than a pooled one); a concat along the channels weights
 * each branch's kernel by its share of the units (neural-tangents weights
 * FanInConcat by channel counts), through IrBranch.scale. Returns the
 * fan-in's units, 0 with an error at the branch that does not fit. */
static double branch_units(Lower *L, const Stmt *s, IrFanIn mode, int spatial, IrBranch *br, const SrcPos *at,
                           const double *end, size_t n, double in)
{
    int identity = 0;
    for (size_t i = 0; i < n; i++)
        identity |= br[i].nops == 0;
    double *u = arena_alloc(L->a, n * sizeof *u), total = 0.0;
    for (size_t i = 0; i < n; i++) {
        u[i] = ir_branch_adapts(&br[i]) ? (identity && mode != IR_FANIN_CONCAT ? in : 1.0) : end[i];
        total += u[i];
    }
    if (mode == IR_FANIN_CONCAT && !spatial) {
        for (size_t i = 0; i < n; i++)
            br[i].scale = sqrt(u[i] / total);
        return total;
    }
    for (size_t i = 1; i < n; i++)
        if (u[i] != u[0]) {
            diag_at(L->err, at[i], L->src,
                    "branch %zu of this '%s' outputs %s but branch 1 %s: a %s of vectors needs equal widths "
                    "(a flattened image has as many times more units as it had pixels; pool it, or put a dense "
                    "layer after flatten)",
                    i + 1, s->u.layer.name, units_text(L, u[i]), units_text(L, u[0]),
                    mode == IR_FANIN_PROD ? "product" : spatial ? "concat" : "sum");
            return 0.0;
        }
    return u[0];
}

/* A channel concat weights each branch by its share of the units; a branch
 * that is still the net's own input (no dense or conv on its way) has
 * finitely many channels beside infinitely many: neural-tangents' limit
 * gives it no weight, a finite net a small one, and ntkc's unit count (one
 * width) neither. Refused, so no inexact kernel is printed. */
static int raw_input_concat_ok(Lower *L, IrFanIn mode, IrConcatAxis axis, size_t i, SrcPos at)
{
    if (mode != IR_FANIN_CONCAT || axis != IR_CONCAT_CHANNELS || !L->raw_input)
        return 1;
    diag_at(L->err, at, L->src,
            "branch %zu of this channel concat is the net's input (no dense or conv layer on its way): its "
            "channels are finitely many beside the other branches' infinitely many, a share the kernel "
            "cannot weigh exactly; put a dense or conv layer before the fanout or in this branch",
            i + 1);
    return 0;
}

/* Lowers one branch body from the fanout's input state; 0 on error. */
static int lower_branch(Lower *L, const Block *body, int depth, const Saved *start, IrBranch *out,
                        IrShape *shape_out, Stream *stream_out, long *width_out, double *units_out)
{
    Saved sv = enter_branch(L);
    L->shape = start->shape;
    L->stream = start->stream;
    L->prev_width = start->prev_width;
    L->units = start->units;
    int ok = lower_block(L, body, depth);
    *out = leave_branch(L, &sv);
    *shape_out = L->shape;
    *stream_out = L->stream;
    *width_out = lower_fan_in(L);
    *units_out = L->units;
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

/* On volumes the slices too: an image_resize in a branch may stack the same
 * rows as other slices. */
static int same_shape(IrShape a, IrShape b)
{
    return a.spatial == b.spatial && a.h == b.h && a.w == b.w && (!a.spatial || a.d == b.d);
}

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
    if (!lower_bind_args(L, s, residual_spec, 1, &b))
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
    Saved start = {.shape = L->shape, .stream = L->stream, .prev_width = L->prev_width, .units = L->units};
    IrBranch *br = arena_alloc(L->a, 2 * sizeof *br);
    double units[2] = {L->units, 0.0};
    IrShape out;
    Stream streams[2] = {start.stream};
    long widths[2] = {lower_fan_in(L), 0};
    if (!lower_branch(L, s->u.layer.body, 1, &start, &br[1], &out, &streams[1], &widths[1], &units[1]))
        return 0;
    br[0] = (IrBranch){NULL, 0, 1.0};
    br[1].scale = b.v[0];
    if (!same_shape(out, start.shape)) {
        diag_at(L->err, s->pos, L->src, "the residual block changes the shape from %s to %s: x + f(x) needs equal shapes",
                lower_shape_text(L, start.shape), lower_shape_text(L, out));
        return 0;
    }
    SrcPos at[2] = {s->pos, s->u.layer.body->open};
    if (!check_independent(L, s, br, at, 2, "sum", 0) || !lower_std_fanin(L, s, widths[0], widths, br, 2, 0))
        return 0;
    double fan_units = branch_units(L, s, IR_FANIN_SUM, 0, br, at, units, 2, start.units);
    if (fan_units == 0.0)
        return 0;
    L->units = fan_units;
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

static const char *const concat_axis_names[] = {"channels", "height", "width", "depth", NULL};
static const ParamSpec fanout_spec[] = {{"axis", 0, 0, 3, 1, 0, concat_axis_names}};

/* Rows per slice: a volume's shape stacks its slices in h (ir.h). */
static size_t slice_rows(IrShape s) { return s.d ? s.h / s.d : s.h; }

/* Whether a branch's shape fits branch 1's (acc) along the concat axis:
 * every other axis agrees (on volumes the slices too). */
static int concat_fits(IrConcatAxis axis, IrShape out, IrShape acc)
{
    switch (axis) {
    case IR_CONCAT_HEIGHT: return out.w == acc.w && out.d == acc.d;
    case IR_CONCAT_WIDTH: return out.h == acc.h && out.d == acc.d;
    case IR_CONCAT_DEPTH: return out.w == acc.w && slice_rows(out) == slice_rows(acc);
    default: return same_shape(out, acc);
    }
}

/* The shape of the fan-in from branch shapes (all spatial for a spatial
 * concat); 0 with an error at the branch that does not fit. */
static int fanin_shape(Lower *L, const Stmt *b, size_t i, IrConcatAxis axis, IrShape out, IrShape *acc)
{
    static const char *const other[] = {"", " in width (concat along height)", " in height (concat along width)",
                                        " in height and width (concat along depth)"};
    if (axis != IR_CONCAT_CHANNELS && (!out.spatial || !acc->spatial)) {
        diag_at(L->err, b->pos, L->src,
                "branch %zu of this 'fanout(axis=%s)' ends as a vector (after global pooling, flatten or index): a "
                "concat along the %s joins images; concatenate vectors along the channels (axis=channels)",
                out.spatial ? (size_t)1 : i + 1, concat_axis_names[axis], concat_axis_names[axis]);
        return 0;
    }
    if (!concat_fits(axis, out, *acc)) {
        diag_at(L->err, b->pos, L->src,
                "branch %zu ends with shape %s but branch 1 with %s: the branches of a fanout must agree%s", i + 1,
                out.spatial ? lower_shape_text(L, out) : "vector",
                acc->spatial ? lower_shape_text(L, *acc) : "vector", other[axis]);
        return 0;
    }
    if (axis == IR_CONCAT_HEIGHT || axis == IR_CONCAT_DEPTH) /* a volume's rows: slices × rows per slice */
        acc->h += out.h;
    else if (axis == IR_CONCAT_WIDTH)
        acc->w += out.w;
    if (axis == IR_CONCAT_DEPTH)
        acc->d += out.d;
    if ((double)acc->h * (double)acc->w > 1e6) {
        diag_at(L->err, b->pos, L->src, "this fanout's concat outputs %zu×%zu pixels (at most 1000000)", acc->h,
                acc->w);
        return 0;
    }
    return 1;
}

/* Plane by plane (ir_fanout.h), the branches must apply the same strides. */
static int check_strides(Lower *L, const Block *body, const IrBranch *br, size_t n)
{
    long sh0 = 1, sw0 = 1;
    strides_of(br[0].ops, br[0].nops, &sh0, &sw0);
    for (size_t i = 1; i < n; i++) {
        long sh = 1, sw = 1;
        strides_of(br[i].ops, br[i].nops, &sh, &sw);
        if (sh != sh0 || sw != sw0) {
            diag_at(L->err, body->v[i]->pos, L->src,
                    "branch %zu applies strides %ld×%ld but branch 1 %ld×%ld: the branches of a fanout must agree",
                    i + 1, sh, sw, sh0, sw0);
            return 0;
        }
    }
    return 1;
}

static int spatial_concat_arg(Lower *L, const Bound *b, IrFanIn mode, IrConcatAxis *axis)
{
    *axis = (IrConcatAxis)(int)b->v[0];
    if (*axis == IR_CONCAT_CHANNELS)
        return 1;
    if (mode != IR_FANIN_CONCAT) {
        diag_at(L->err, b->pos[0], L->src, "'axis' applies to 'fanout { ... } concat' only");
        return 0;
    }
    if (!L->shape.spatial) {
        diag_at(L->err, b->pos[0], L->src, "'fanout(axis=%s)' needs an image input (this fanout's input is a vector)",
                concat_axis_names[*axis]);
        return 0;
    }
    if (*axis == IR_CONCAT_DEPTH && !L->shape.d) {
        diag_at(L->err, b->pos[0], L->src,
                "'fanout(axis=depth)' joins volumes (input volume(D, H, W, C)); this fanout's input is %s without "
                "slices: concatenate along height or width",
                L->input.sequence ? "a sequence" : "an image");
        return 0;
    }
    return 1;
}

int lower_fanout(Lower *L, const Stmt *s)
{
    IrFanIn mode;
    IrConcatAxis axis;
    Bound args;
    if (!lower_bind_args(L, s, fanout_spec, 1, &args) || !fanin_mode(L, s, &mode) ||
        !spatial_concat_arg(L, &args, mode, &axis))
        return 0;
    const Block *body = s->u.layer.body;
    if (body == NULL) {
        diag_at(L->err, s->pos, L->src, "'fanout' needs a block of branches: fanout { branch { ... } branch { ... } } sum");
        return 0;
    }
    if (!check_branch_stmts(L, body))
        return 0;
    Saved start = {.shape = L->shape, .stream = L->stream, .prev_width = L->prev_width, .units = L->units};
    double *units = arena_alloc(L->a, body->n * sizeof *units);
    long in_width = lower_fan_in(L), *widths = arena_alloc(L->a, body->n * sizeof *widths);
    IrBranch *br = arena_alloc(L->a, body->n * sizeof *br);
    SrcPos *at = arena_alloc(L->a, body->n * sizeof *at);
    Stream *streams = arena_alloc(L->a, body->n * sizeof *streams);
    IrShape shape0 = start.shape;
    int start_raw = L->raw_input, all_raw = 1;
    for (size_t i = 0; i < body->n; i++) {
        const Stmt *b = body->v[i];
        IrShape out;
        L->raw_input = start_raw;
        if (!lower_branch(L, b->u.layer.body, 1, &start, &br[i], &out, &streams[i], &widths[i], &units[i]))
            return 0;
        at[i] = b->pos;
        if (!raw_input_concat_ok(L, mode, axis, i, b->pos))
            return 0;
        all_raw &= L->raw_input;
        if (i == 0)
            shape0 = out;
        else if (!fanin_shape(L, b, i, axis, out, &shape0))
            return 0;
    }
    IrFanout fo = {.mode = mode, .branches = br, .nbranches = body->n, .axis = axis};
    if (!ir_fanout_on_pairs(&fo) && !check_strides(L, body, br, body->n))
        return 0;
    int spatial = axis != IR_CONCAT_CHANNELS;
    if ((mode != IR_FANIN_CONCAT || spatial) &&
        !check_independent(L, s, br, at, body->n, spatial ? "spatial concat" : fanin_names[mode], spatial))
        return 0;
    if (!lower_std_fanin(L, s, in_width, widths, br, body->n, mode == IR_FANIN_CONCAT && !spatial))
        return 0;
    double fan_units = branch_units(L, s, mode, spatial, br, at, units, body->n, start.units);
    if (fan_units == 0.0)
        return 0;
    L->units = fan_units;
    L->raw_input = all_raw;
    L->shape = shape0;
    const char *label = arena_printf(L->a, "fanout … %s", fanin_names[mode]);
    if (mode == IR_FANIN_SUM || spatial) {
        /* spatial concat: each pixel holds one branch's units, Gaussian when
         * every branch's are (independent, or the same identity input) */
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
    if (!push_fanout(L, s, mode, br, body->n, 0))
        return 0;
    L->ops[L->nops - 1].u.fanout.axis = axis;
    return 1;
}
