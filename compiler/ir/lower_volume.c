/* Lowering of volumes: `input volume(D, H, W, C)` (NDHWC) and the 3-D
 * windows of conv, avg_pool and sum_pool on it (neural-tangents' Conv /
 * AvgPool / SumPool with 3-D filter shapes). A volume is an IR_INPUT_IMAGE
 * whose rows stack its slices (ir.h, IrInput.depth); its nets go to the
 * all-pairs back end (the ATTENTION row, lower_family), whose kernels hold
 * every position pair, so a window may change the grid (strides, valid).
 * lower_check_volume_net refuses, by name, the layers that back end does not
 * compute on volumes yet. */
#include "ir_print.h"
#include "lower_internal.h"

static const char *const vpad_names[] = {"same", "valid", "circular", NULL};

enum {
    V_SIZE, V_W, V_B, V_STRIDE, V_PAD, V_KD, V_KH, V_KW, V_SD, V_SH, V_SW, V_DIL, V_DD, V_DH, V_DW, V_TRAINABLE,
    V_WIDTH, V_EDGES, NVOL
};
/* conv's arguments (the 2-D conv's order, with kd, sd, dd beside kh, sh, dh)
 * are the rows before normalize_edges; the pools take theirs (pool_rows). */
static const ParamSpec vol_conv_spec[NVOL] = {
    [V_SIZE] = {"size", 0, 1, 1e6, 1, 0, NULL},
    [V_W] = {"w_std", 1.0, 0.0, STD_MAX, 0, 0, NULL},
    [V_B] = {"b_std", 0.0, 0.0, STD_MAX, 0, 0, NULL},
    [V_STRIDE] = {"stride", 1, 1, 1e6, 1, 0, NULL},
    [V_PAD] = {"padding", IR_PAD_SAME, 0, 2, 1, 0, vpad_names},
    [V_KD] = {"kd", 0, 1, 1e6, 1, 0, NULL},
    [V_KH] = {"kh", 0, 1, 1e6, 1, 0, NULL},
    [V_KW] = {"kw", 0, 1, 1e6, 1, 0, NULL},
    [V_SD] = {"sd", 1, 1, 1e6, 1, 0, NULL},
    [V_SH] = {"sh", 1, 1, 1e6, 1, 0, NULL},
    [V_SW] = {"sw", 1, 1, 1e6, 1, 0, NULL},
    [V_DIL] = {"dilation", 1, 1, 1e6, 1, 0, NULL},
    [V_DD] = {"dd", 1, 1, 1e6, 1, 0, NULL},
    [V_DH] = {"dh", 1, 1, 1e6, 1, 0, NULL},
    [V_DW] = {"dw", 1, 1, 1e6, 1, 0, NULL},
    [V_TRAINABLE] = {"trainable", 1, 0, 1, 1, 0, lower_bool_names},
    [V_WIDTH] = {"width", 0.0, 1.0, SHOWN_MAX, 1, 0, NULL}, /* param standard: output channels */
    [V_EDGES] = {"normalize_edges", 0, 0, 1, 1, 0, lower_bool_names},
};

/* One of the three sizes: its own argument, else size. */
static int axis_arg(const Bound *b, int own, int fallback) { return b->given[own] ? (int)b->v[own] : fallback; }

/* Binds a 3-D window and sets L->shape to its output grid. */
static int bind_window3(Lower *L, const Stmt *s, const Bound *b, int pool, IrWindow *w)
{
    const char *name = s->u.layer.name;
    if (L->shape.d == 0) { /* an earlier layer volume nets refuse (lower_check_volume_net) lost the slices */
        diag_at(L->err, s->pos, L->src,
                "'%s' on a volume after a layer that volume nets do not take (they take dense, activations, conv, "
                "conv_transpose, conv_local, avg_pool, sum_pool, global_avg_pool, global_sum_pool, flatten, "
                "index, dropout, layer_norm, attention, image_resize, residual and fanout for now)",
                name);
        return 0;
    }
    int has_size = b->given[V_SIZE], own = b->given[V_KD] + b->given[V_KH] + b->given[V_KW];
    if (has_size && own) {
        int k = b->given[V_KD] ? V_KD : b->given[V_KH] ? V_KH : V_KW;
        diag_at(L->err, b->pos[k], L->src, "'%s': give the window either as size or as kd/kh/kw, not all", name);
        return 0;
    }
    if (!has_size && own != 3) {
        diag_at(L->err, s->pos, L->src, "missing required argument 'size' (or kd, kh and kw) for '%s' on a volume",
                name);
        return 0;
    }
    int size = (int)b->v[V_SIZE];
    *w = (IrWindow){0};
    w->kd = axis_arg(b, V_KD, size), w->kh = axis_arg(b, V_KH, size), w->kw = axis_arg(b, V_KW, size);
    int stride = b->given[V_STRIDE] ? (int)b->v[V_STRIDE] : 0;
    w->sd = axis_arg(b, V_SD, stride ? stride : pool ? w->kd : 1);
    w->sh = axis_arg(b, V_SH, stride ? stride : pool ? w->kh : 1);
    w->sw = axis_arg(b, V_SW, stride ? stride : pool ? w->kw : 1);
    int dil = pool ? 1 : (int)b->v[V_DIL];
    w->dd = pool ? 1 : axis_arg(b, V_DD, dil), w->dh = pool ? 1 : axis_arg(b, V_DH, dil);
    w->dw = pool ? 1 : axis_arg(b, V_DW, dil);
    /* as on images: conv pads same, the pools valid, unless told */
    w->pad = b->given[V_PAD] || !pool ? (IrPadding)(int)b->v[V_PAD] : IR_PAD_VALID;
    size_t zi = L->shape.d, hi = L->shape.h / zi, wi = L->shape.w;
    /* a stride past the grid leaves one output, as on images (lower_image.c) */
    w->sd = (size_t)w->sd > zi ? (int)zi : w->sd;
    w->sh = (size_t)w->sh > hi ? (int)hi : w->sh;
    w->sw = (size_t)w->sw > wi ? (int)wi : w->sw;
    SrcPos at = has_size ? b->pos[V_SIZE] : s->pos;
    size_t od, oh, ow;
    if (!lower_window_axis(L, s, "depth", zi, w->kd, w->dd, w->sd, w->pad, at, &od, &w->pf) ||
        !lower_window_axis(L, s, "height", hi, w->kh, w->dh, w->sh, w->pad, at, &oh, &w->pt) ||
        !lower_window_axis(L, s, "width", wi, w->kw, w->dw, w->sw, w->pad, at, &ow, &w->pl))
        return 0;
    w->zi = (int)zi, w->zo = (int)od;
    L->shape = (IrShape){od * oh, ow, 1, od};
    return 1;
}

/* A pool's arguments, in the 2-D pools' positional order (size, stride,
 * padding, ...), as rows of vol_conv_spec. */
static const int pool_rows[] = {V_SIZE, V_STRIDE, V_PAD, V_KD, V_KH, V_KW, V_SD, V_SH, V_SW, V_EDGES};
enum { NPOOL_ROWS = sizeof pool_rows / sizeof pool_rows[0] };

/* Binds s's arguments into b laid out as vol_conv_spec (vals, given, pos:
 * NVOL each), through the pools' own order for a pool. */
static int bind_volume_args(Lower *L, const Stmt *s, int pool, double *vals, int *given, SrcPos *pos, Bound *b)
{
    *b = (Bound){vals, given, pos};
    for (int k = 0; k < NVOL; k++)
        vals[k] = vol_conv_spec[k].def, given[k] = 0, pos[k] = s->pos;
    if (!pool) {
        Bound c;
        if (!lower_bind_args(L, s, vol_conv_spec, V_EDGES, &c)) /* every row before normalize_edges */
            return 0;
        for (int k = 0; k < V_EDGES; k++)
            vals[k] = c.v[k], given[k] = c.given[k], pos[k] = c.pos[k];
        return 1;
    }
    ParamSpec spec[NPOOL_ROWS];
    for (int k = 0; k < NPOOL_ROWS; k++)
        spec[k] = vol_conv_spec[pool_rows[k]];
    Bound p;
    if (!lower_bind_args(L, s, spec, NPOOL_ROWS, &p))
        return 0;
    for (int k = 0; k < NPOOL_ROWS; k++)
        vals[pool_rows[k]] = p.v[k], given[pool_rows[k]] = p.given[k], pos[pool_rows[k]] = p.pos[k];
    return 1;
}

static int lower_window_op(Lower *L, const Stmt *s, int pool, int average)
{
    double vals[NVOL];
    int given[NVOL];
    SrcPos pos[NVOL];
    Bound b;
    if (!bind_volume_args(L, s, pool, vals, given, pos, &b))
        return 0;
    if (!lower_width_allowed(L, &b, V_WIDTH))
        return 0;
    long fan_in = lower_fan_in(L);
    if (pool && !average && b.given[V_EDGES]) {
        diag_at(L->err, b.pos[V_EDGES], L->src,
                "'normalize_edges' applies to avg_pool only (sum_pool does not divide by the window)");
        return 0;
    }
    IrWindow w;
    if (!bind_window3(L, s, &b, pool, &w))
        return 0;
    IrOp *op = lower_push_op(L, pool ? IR_POOL : IR_CONV, s->pos);
    if (op == NULL)
        return 0;
    if (pool) {
        op->u.pool = (IrPool){.win = w, .average = average, .normalize_edges = average && b.v[V_EDGES] != 0};
        return 1;
    }
    op->u.conv = (IrConv){.w_std = b.v[V_W], .b_std = b.v[V_B], .win = w, .frozen = b.v[V_TRAINABLE] == 0};
    if (L->param == PARAM_STANDARD) { /* as on images (lower_conv): fan-in C, |F| = kd·kh·kw in the kernel */
        op->u.conv.has_bias = b.given[V_B];
        op->u.conv.width = (long)b.v[V_WIDTH];
        op->u.conv.fan_in = fan_in;
        L->prev_width = op->u.conv.width;
    }
    lower_made_gaussian(L);
    return 1;
}

int lower_volume_conv(Lower *L, const Stmt *s) { return lower_window_op(L, s, 0, 0); }
int lower_volume_pool(Lower *L, const Stmt *s, int average) { return lower_window_op(L, s, 1, average); }

static int refuse_volume_ops(Lower *L, const IrOp *ops, size_t n);

/* The all-pairs kernels hold every pair of positions (int-indexed P² per
 * matrix, as attention's): a concat or image_resize that grows a volume's
 * grid past this is refused. */
enum { VOLUME_GROWN_MAX = 4096 };

static int volume_positions_ok(Lower *L, const IrOp *op, const char *what)
{
    size_t P = op->out.h * op->out.w;
    if (P <= VOLUME_GROWN_MAX)
        return 1;
    diag_at(L->err, op->pos, L->src,
            "%s outputs %zu positions of a volume (input volume at %s): the kernels hold every pair of positions, "
            "at most %d positions after a concat or image_resize",
            what, P, lower_pos_str(L, L->input.pos), VOLUME_GROWN_MAX);
    return 0;
}

/* A fanout or residual on a volume: every branch starts from the fanout's
 * grid, and its windows, image_resize and concats along depth, height or
 * width (emit_attn_concat.h) may change it (emit_attn.c tracks the grid
 * branch by branch; lower_branch.c checks that the branches' ends fit). */
static int check_volume_fanout(Lower *L, const IrOp *op)
{
    const IrFanout *f = &op->u.fanout;
    for (size_t b = 0; b < f->nbranches; b++) /* the first op that grows too far is named */
        if (!refuse_volume_ops(L, f->branches[b].ops, f->branches[b].nops))
            return 0;
    return f->mode != IR_FANIN_CONCAT || f->axis == IR_CONCAT_CHANNELS || volume_positions_ok(L, op, "this concat");
}

/* Layers a volume net takes: dense, activations, conv (dilated, frozen),
 * conv_transpose, conv_local, avg/sum pooling, global pooling, flatten,
 * index, dropout, layer_norm (over any axes), attention over all
 * positions, image_resize, residual and fanout (each branch from the
 * fanout's grid, which its windows, resizing and concats may change), concat
 * along any axis. */
static int refuse_volume_ops(Lower *L, const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const IrOp *op = &ops[i];
        switch (op->kind) {
        case IR_DENSE:
        case IR_ACT:
        case IR_GLOBAL_POOL:
        case IR_FLATTEN:
        case IR_ATTENTION:
        case IR_INDEX:
        case IR_DROPOUT:
            continue;
        case IR_CONV:
        case IR_CONV_LOCAL:
        case IR_CONV_TRANSPOSE:
        case IR_POOL: /* windows may change the grid, inside branches too (emit_attn.c tracks it per branch) */
            continue;
        case IR_LAYER_NORM: /* every axes= (depth, height and width of each slice, and any two of them) */
            continue;
        case IR_FANOUT:
            if (!check_volume_fanout(L, op))
                return 0;
            continue;
        case IR_IMAGE_RESIZE:
            if (!volume_positions_ok(L, op, "'image_resize'"))
                return 0;
            continue;
        default:
            diag_at(L->err, op->pos, L->src,
                    "'%s' in net '%s': nets on volumes (input volume at %s) take dense, activations, conv, "
                    "conv_transpose, conv_local, avg_pool, sum_pool, global_avg_pool, global_sum_pool, flatten, "
                    "index, dropout, layer_norm, attention, image_resize, residual and fanout for now",
                    ir_op_name(op), L->net->name, lower_pos_str(L, L->input.pos));
            return 0;
        }
    }
    return 1;
}

int lower_check_volume_net(Lower *L)
{
    if (L->input.depth == 0)
        return 1;
    return refuse_volume_ops(L, L->ops, L->nops);
}
