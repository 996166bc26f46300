/* Lowering of the image layers (conv, pooling, flatten, global pooling,
 * layer_norm) with the shape checks that need them: every op records the
 * spatial shape it outputs. Inputs are lowered in lower_input.c, branches in
 * lower_branch.c. */
#include "lower_internal.h"

static const char *const padding_names[] = {"same", "valid", "circular", NULL};
const char *lower_shape_text(Lower *L, IrShape s)
{
    if (!s.spatial)
        return "a vector";
    if (s.d)
        return arena_printf(L->a, "%zu×%zu×%zu", s.d, s.h / s.d, s.w);
    return L->input.sequence ? arena_printf(L->a, "length %zu", s.w) : arena_printf(L->a, "%zu×%zu", s.h, s.w);
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

/* ---- windows ---------------------------------------------------------- */

enum { W_SIZE, W_KH, W_KW, W_STRIDE, W_SH, W_SW, W_PAD, W_DIL, W_DH, W_DW };
/* The longest span of a window (a dilated one included) along an axis: the
 * bound of `size`, so offsets in the kernel's int arithmetic stay small. */
enum { WINDOW_MAX = 1000000 };

/* What the net's positions are, for messages. */
static const char *grid_word(const Lower *L)
{
    return L->input.depth ? "a volume" : L->input.sequence ? "a sequence" : "an image";
}

/* One axis of a window: output size and padding, or an error at the argument.
 * As neural-tangents (lax's SAME padding, then wrapping for CIRCULAR): a
 * window or stride larger than the image is fine with padding same or
 * circular (padding that covers more than the image wraps around it again);
 * only padding=valid can leave no output at all. */
int lower_window_axis(Lower *L, const Stmt *s, const char *axis, size_t n, int taps, int dil, int stride,
                       IrPadding pad, SrcPos at, size_t *out, int *lo)
{
    const char *name = s->u.layer.name;
    long k = ((long)taps - 1) * dil + 1; /* the span of a dilated window */
    if (k > WINDOW_MAX) {
        diag_at(L->err, at, L->src, "'%s': window %d with dilation %d spans %ld pixels along the %s (at most %d)",
                name, taps, dil, k, axis, WINDOW_MAX);
        return 0;
    }
    if ((size_t)k > n && pad == IR_PAD_VALID) {
        if (dil > 1)
            diag_at(L->err, at, L->src,
                    "'%s': window %d with dilation %d spans %ld pixels; with padding=valid on %s %s of %zu "
                    "it gives an output of size 0",
                    name, taps, dil, k, grid_word(L), axis, n);
        else
            diag_at(L->err, at, L->src, "'%s': window %ld with padding=valid on %s %s of %zu gives an output of size 0",
                    name, k, grid_word(L), axis, n);
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

/* The dilation of one axis: its own argument (dh/dw), else dilation, else 1. */
static int dilation_of(const Bound *b, const int *idx, int own)
{
    return b->given[idx[own]] ? (int)b->v[idx[own]] : b->given[idx[W_DIL]] ? (int)b->v[idx[W_DIL]] : 1;
}

/* Binds a window from size/kh/kw, stride/sh/sw, padding and (dilated: conv)
 * dilation/dh/dw (slots per the W_* enum mapped through idx) and computes the
 * output shape into L->shape. */
static int bind_window(Lower *L, const Stmt *s, const Bound *b, const int *idx, int pool, int dilated, IrWindow *w)
{
    const char *name = s->u.layer.name;
    *w = (IrWindow){0}; /* a 2-D window: no depth (kd = 0) */
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
    w->dh = dilated ? dilation_of(b, idx, W_DH) : 1;
    w->dw = dilated ? dilation_of(b, idx, W_DW) : 1;
    if (seq && dilated && b->given[idx[W_DH]] && w->dh != 1) {
        diag_at(L->err, b->pos[idx[W_DH]], L->src, "'%s' on a sequence: windows are 1-D, dh must be 1", name);
        return 0;
    }
    if (seq)
        w->dh = 1;
    SrcPos at = b->given[idx[W_SIZE]] ? b->pos[idx[W_SIZE]] : s->pos;
    size_t oh, ow;
    if (!lower_window_axis(L, s, "height", L->shape.h, w->kh, w->dh, w->sh, w->pad, at, &oh, &w->pt) ||
        !lower_window_axis(L, s, seq ? "length" : "width", L->shape.w, w->kw, w->dw, w->sw, w->pad, at, &ow, &w->pl))
        return 0;
    L->shape = (IrShape){oh, ow, 1, 0};
    return 1;
}

/* ---- conv and pooling ------------------------------------------------- */

enum { C_SIZE, C_W, C_B, C_STRIDE, C_PAD, C_KH, C_KW, C_SH, C_SW, C_DIL, C_DH, C_DW, C_TRAINABLE, C_WIDTH, NCONV };
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
    [C_DIL] = {"dilation", 1, 1, 1e6, 1, 0, NULL},
    [C_DH] = {"dh", 1, 1, 1e6, 1, 0, NULL},
    [C_DW] = {"dw", 1, 1, 1e6, 1, 0, NULL},
    [C_TRAINABLE] = {"trainable", 1, 0, 1, 1, 0, lower_bool_names},
    [C_WIDTH] = {"width", 0.0, 1.0, SHOWN_MAX, 1, 0, NULL},
};
static const int conv_window_idx[] = {[W_SIZE] = C_SIZE, [W_KH] = C_KH, [W_KW] = C_KW, [W_STRIDE] = C_STRIDE,
                                      [W_SH] = C_SH,     [W_SW] = C_SW, [W_PAD] = C_PAD, [W_DIL] = C_DIL,
                                      [W_DH] = C_DH,     [W_DW] = C_DW};

int lower_conv(Lower *L, const Stmt *s)
{
    Bound b;
    if (L->input.depth && L->shape.spatial)
        return lower_volume_conv(L, s);
    if (!lower_need_image(L, s) || !lower_bind_args(L, s, conv_spec, NCONV, &b))
        return 0;
    if (!lower_width_allowed(L, &b, C_WIDTH))
        return 0;
    long fan_in = lower_fan_in(L);
    IrWindow w;
    if (!bind_window(L, s, &b, conv_window_idx, 0, 1, &w))
        return 0;
    IrOp *op = lower_push_op(L, IR_CONV, s->pos);
    if (op == NULL)
        return 0;
    op->u.conv = (IrConv){.w_std = b.v[C_W], .b_std = b.v[C_B], .win = w, .frozen = b.v[C_TRAINABLE] == 0};
    op->args = lower_args(conv_spec, NCONV, &b, NULL);
    if (L->param == PARAM_STANDARD) {
        op->u.conv.has_bias = b.given[C_B];
        op->u.conv.width = (long)b.v[C_WIDTH];
        op->u.conv.fan_in = fan_in;
        L->prev_width = op->u.conv.width;
    }
    lower_made_gaussian(L);
    return 1;
}

enum { P_SIZE, P_STRIDE, P_PAD, P_KH, P_KW, P_SH, P_SW, P_EDGES, NPOOL };
static const ParamSpec pool_spec[NPOOL] = {
    [P_SIZE] = {"size", 0, 1, 1e6, 1, 0, NULL},
    [P_STRIDE] = {"stride", 1, 1, 1e6, 1, 0, NULL},
    [P_PAD] = {"padding", IR_PAD_VALID, 0, 2, 1, 0, padding_names},
    [P_KH] = {"kh", 0, 1, 1e6, 1, 0, NULL},
    [P_KW] = {"kw", 0, 1, 1e6, 1, 0, NULL},
    [P_SH] = {"sh", 1, 1, 1e6, 1, 0, NULL},
    [P_SW] = {"sw", 1, 1, 1e6, 1, 0, NULL},
    [P_EDGES] = {"normalize_edges", 0, 0, 1, 1, 0, lower_bool_names},
};
static const int pool_window_idx[] = {[W_SIZE] = P_SIZE, [W_KH] = P_KH,     [W_KW] = P_KW, [W_STRIDE] = P_STRIDE,
                                      [W_SH] = P_SH,     [W_SW] = P_SW, [W_PAD] = P_PAD};

static int lower_pool(Lower *L, const Stmt *s, int average)
{
    Bound b;
    if (L->input.depth && L->shape.spatial)
        return lower_volume_pool(L, s, average);
    if (!lower_need_image(L, s) || !lower_bind_args(L, s, pool_spec, NPOOL, &b))
        return 0;
    if (b.given[P_EDGES] && !average) {
        diag_at(L->err, b.pos[P_EDGES], L->src,
                "'normalize_edges' applies to avg_pool only (sum_pool does not divide by the window)");
        return 0;
    }
    IrWindow w;
    if (!bind_window(L, s, &b, pool_window_idx, 1, 0, &w))
        return 0;
    IrOp *op = lower_push_op(L, IR_POOL, s->pos);
    if (op == NULL)
        return 0;
    op->u.pool = (IrPool){.win = w, .average = average, .normalize_edges = b.v[P_EDGES] != 0.0};
    op->args = lower_args(pool_spec, NPOOL, &b, NULL);
    return 1;
}

int lower_avg_pool(Lower *L, const Stmt *s) { return lower_pool(L, s, 1); }
int lower_sum_pool(Lower *L, const Stmt *s) { return lower_pool(L, s, 0); }

/* flatten and global pooling: image → vector. */
static int lower_to_vector(Lower *L, const Stmt *s, IrOpKind kind, int average)
{
    if (!lower_need_image(L, s) || !lower_bind_args(L, s, NULL, 0, &(Bound){0}))
        return 0;
    if (!lower_std_to_vector(L, s, kind == IR_FLATTEN))
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
    L->shape = (IrShape){1, 1, 0, 0};
    L->vector_pos = s->pos;
    L->vector_by = s->u.layer.name;
    return 1;
}

int lower_flatten(Lower *L, const Stmt *s) { return lower_to_vector(L, s, IR_FLATTEN, 0); }

/* index(k): the readout by one position (a token, neural-tangents'
 * Index(axis=1, idx=k) on sequences): image → vector. Its kernel is the
 * (k, k) entry of every position pair, so the net goes to the all-pairs
 * back end (lower_family). One unit per channel of one position: Gaussian
 * when the input is. */
static const char *const index_axes[] = {"positions", "channels", NULL};
static const ParamSpec index_spec[] = {{"position", 0, 0, 1e12, 1, 1, NULL},
                                       {"axis", 0, 0, 1, 1, 0, index_axes}};

/* index(k, axis=channels): neural-tangents refuses it in kernel_fn too. The
 * kernel is the limit of averages over infinitely many channels; k channels of
 * them feed the next layer a finite fan-in, whose output is no longer a
 * Gaussian process with a deterministic kernel (it depends on the k units
 * drawn), so no infinite-width kernel exists. */
static int refuse_channel_index(Lower *L, const Bound *b)
{
    diag_at(L->err, b->pos[1], L->src,
            "'index(axis=channels)' has no infinite-width kernel: the channels are the axis whose width goes to "
            "infinity, and a finite slice of them would feed the next layer a finite fan-in, whose output is "
            "not a Gaussian process with a deterministic kernel (neural-tangents' Index refuses the channel axis "
            "in kernel_fn for the same reason); one output unit's kernel is what ntkc computes already");
    return 0;
}

int lower_index(Lower *L, const Stmt *s)
{
    Bound b;
    if (!lower_bind_args(L, s, index_spec, 2, &b))
        return 0;
    if (b.v[1] == 1) /* before the shape checks: the reason holds on vectors too */
        return refuse_channel_index(L, &b);
    if (!lower_need_image(L, s))
        return 0;
    size_t P = L->shape.h * L->shape.w, k = (size_t)b.v[0];
    if (k >= P) {
        diag_at(L->err, b.pos[0], L->src, "index(%zu): the input of this layer has %zu positions (0 to %zu)", k, P,
                P - 1);
        return 0;
    }
    if (!lower_std_to_vector(L, s, 0))
        return 0;
    IrOp *op = lower_push_op(L, IR_INDEX, s->pos);
    if (op == NULL)
        return 0;
    op->u.index.pos = k;
    L->shape = (IrShape){1, 1, 0, 0};
    L->vector_pos = s->pos;
    L->vector_by = s->u.layer.name;
    return 1;
}
int lower_global_avg_pool(Lower *L, const Stmt *s) { return lower_to_vector(L, s, IR_GLOBAL_POOL, 1); }
int lower_global_sum_pool(Lower *L, const Stmt *s) { return lower_to_vector(L, s, IR_GLOBAL_POOL, 0); }

/* axes=: the channels alone, with the height, the width or all positions
 * (IrLnAxes, in that order), or a volume's depth or two of its three axes
 * (named in NDHWC order, joined by '_': one NAME, as every enumerated
 * value); `spatial` (without the channels) has no limit kernel. */
static const char *const ln_axes_names[] = {"channels",     "height",      "width",        "all", "spatial",
                                            "depth",        "depth_height", "depth_width", "height_width", NULL};
enum { LN_SPATIAL = 4, LN_DEPTH = 5, LN_HEIGHT_WIDTH = 8 };
static const ParamSpec ln_spec[] = {{"eps", 1e-12, 0, 1e6, 0, 0, NULL},
                                    {"axes", IR_LN_CHANNELS, 0, LN_HEIGHT_WIDTH, 1, 0, ln_axes_names}};

/* The axes of a layer_norm, or an error at the argument. */
static int ln_axes(Lower *L, const Bound *b, IrLnAxes *axes)
{
    int v = (int)b->v[1];
    if (v == LN_SPATIAL) {
        diag_at(L->err, b->pos[1], L->src,
                "'layer_norm(axes=spatial)': normalising over pixels without the channels has no infinite-width "
                "kernel (neural-tangents requires the channel axis); use axes=all (channels and pixels)");
        return 0;
    }
    if (!L->shape.spatial && v != IR_LN_CHANNELS && v != IR_LN_ALL) {
        diag_at(L->err, b->pos[1], L->src, "'layer_norm(axes=%s)' on a vector: it has no %s (use channels or all)",
                ln_axes_names[v], ln_axes_names[v]);
        return 0;
    }
    if (v >= LN_DEPTH && !L->input.depth) {
        diag_at(L->err, b->pos[1], L->src, "'layer_norm(axes=%s)' on %s: only volumes (input volume(D, H, W, C)) %s",
                ln_axes_names[v], L->input.sequence ? "a sequence" : "an image",
                v == LN_DEPTH          ? "have a depth axis (use height, width or all)"
                : v == LN_HEIGHT_WIDTH ? "have three spatial axes (use all: both of its axes)"
                                       : "have three spatial axes (use height, width or all)");
        return 0;
    }
    *axes = !L->shape.spatial ? IR_LN_CHANNELS /* on a vector, all = the channels */
            : v >= LN_DEPTH   ? (IrLnAxes)(IR_LN_DEPTH + (v - LN_DEPTH))
                              : (IrLnAxes)v;
    return 1;
}

int lower_layer_norm(Lower *L, const Stmt *s)
{
    Bound b;
    IrLnAxes axes;
    if (!lower_bind_args(L, s, ln_spec, 2, &b) || !ln_axes(L, &b, &axes))
        return 0;
    /* Its kernel Σ/√(Σ11·Σ22) drops the channel mean: it holds for centred
     * inputs whose empirical channel variance converges (Gaussian ones). */
    if (!lower_need_gaussian(L, "layer_norm", s->pos, &L->stream, "its input"))
        return 0;
    IrOp *op = lower_push_op(L, IR_LAYER_NORM, s->pos);
    if (op == NULL)
        return 0;
    op->u.ln.eps = b.v[0];
    op->u.ln.axes = axes;
    return 1;
}

int lower_check_image_net(Lower *L)
{
    if (L->shape.spatial) {
        diag_at(L->err, L->net->pos, L->src,
                "net '%s' ends on an image (%s pixels): reduce it to a vector with 'flatten' or "
                "'global_avg_pool', then read out with 'dense'",
                L->net->name, lower_shape_text(L, L->shape));
        return 0;
    }
    return 1;
}

/* Image nets under param standard: conv, conv_transpose, conv_local, dense,
 * activations, pooling, flatten, layer_norm, residual and fanout
 * (lower_standard.c tracks the fan-ins, lower_std_fanin through branches);
 * every layer takes it. */
int lower_check_image_family(Lower *L)
{
    (void)L;
    return 1;
}
