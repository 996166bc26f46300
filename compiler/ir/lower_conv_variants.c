/* Lowering of the convolution variants neural-tangents has beside Conv:
 *   conv_transpose — ConvTranspose (lax.conv_transpose without a flipped
 *     kernel): the input dilated by the stride, padded, then a stride-1 conv;
 *   conv_local — ConvLocal (locally connected: the conv's windows with a
 *     weight and bias per output pixel, no sharing).
 * Both take size/kh/kw, stride/sh/sw, padding, w_std, b_std and trainable
 * like conv (no dilation: neural-tangents has none for them), and under
 * param standard width= (their output channels) as conv does: nt's
 * _Conv(parameterization='standard') is the same code for all three, with
 * fan-in C·kh·kw (ir.h, IrConv). Shapes and paddings follow neural-tangents;
 * the kernels are in ir.h. */
#include "lower_internal.h"

static const char *const variant_paddings[] = {"same", "valid", "circular", NULL};

enum { V_SIZE, V_W, V_B, V_STRIDE, V_PAD, V_KH, V_KW, V_SH, V_SW, V_TRAINABLE, V_WIDTH, NVAR };
static const ParamSpec variant_spec[NVAR] = {
    [V_SIZE] = {"size", 0, 1, 1e6, 1, 0, NULL},
    [V_W] = {"w_std", 1.0, 0.0, STD_MAX, 0, 0, NULL},
    [V_B] = {"b_std", 0.0, 0.0, STD_MAX, 0, 0, NULL},
    [V_STRIDE] = {"stride", 1, 1, 1e6, 1, 0, NULL},
    [V_PAD] = {"padding", IR_PAD_SAME, 0, 2, 1, 0, variant_paddings},
    [V_KH] = {"kh", 0, 1, 1e6, 1, 0, NULL},
    [V_KW] = {"kw", 0, 1, 1e6, 1, 0, NULL},
    [V_SH] = {"sh", 1, 1, 1e6, 1, 0, NULL},
    [V_SW] = {"sw", 1, 1, 1e6, 1, 0, NULL},
    /* trainable=false: a frozen layer (its parameters do not train), Θ' = w²/|F|·K(Θ) */
    [V_TRAINABLE] = {"trainable", 1, 0, 1, 1, 0, lower_bool_names},
    [V_WIDTH] = {"width", 0.0, 1.0, SHOWN_MAX, 1, 0, NULL}, /* param standard: output channels */
};
/* The descriptor: the rows ntkc_cvar4 takes (compiler/kernel_c/image_runtime.c). */
static const char *const variant_kernel_args[] = {"trainable", NULL};

/* An upsampled axis longer than this is surely a mistake (the kernels hold
 * every pixel pair). */
enum { VARIANT_AXIS_MAX = 100000 };

/* Window sizes and strides from size/kh/kw and stride/sh/sw (1-D on sequences). */
static int variant_window(Lower *L, const Stmt *s, const Bound *b, IrWindow *w)
{
    const char *name = s->u.layer.name;
    int seq = L->input.sequence;
    int has_size = b->given[V_SIZE], has_kh = b->given[V_KH], has_kw = b->given[V_KW];
    if (has_size && (has_kh || has_kw)) {
        diag_at(L->err, b->pos[has_kh ? V_KH : V_KW], L->src,
                "'%s': give the window either as size or as kh/kw, not both", name);
        return 0;
    }
    if (!has_size && !(has_kh && has_kw) && !(seq && has_kw)) {
        diag_at(L->err, s->pos, L->src, "missing required argument 'size' (or kh and kw) for '%s'", name);
        return 0;
    }
    if (seq && ((has_kh && b->v[V_KH] != 1) || (b->given[V_SH] && b->v[V_SH] != 1))) {
        diag_at(L->err, b->pos[has_kh && b->v[V_KH] != 1 ? V_KH : V_SH], L->src,
                "'%s' on a sequence: windows are 1-D, kh and sh must be 1", name);
        return 0;
    }
    int stride = (int)b->v[V_STRIDE];
    *w = (IrWindow){.pad = (IrPadding)(int)b->v[V_PAD], .dh = 1, .dw = 1};
    w->kh = seq ? 1 : has_size ? (int)b->v[V_SIZE] : (int)b->v[V_KH];
    w->kw = has_size ? (int)b->v[V_SIZE] : (int)b->v[V_KW];
    w->sh = seq ? 1 : b->given[V_SH] ? (int)b->v[V_SH] : stride;
    w->sw = b->given[V_SW] ? (int)b->v[V_SW] : stride;
    return 1;
}

/* One axis of conv_local: the conv's windows (lax SAME padding, wrapped for
 * circular; valid needs the window inside the image). */
int lower_local_axis(Lower *L, const Stmt *s, const char *axis, size_t n, int k, int *stride, IrPadding pad,
                      size_t *out, int *lo)
{
    if ((size_t)*stride > n) /* one output pixel, whatever the stride: keep products small */
        *stride = (int)n;
    if ((size_t)k > n && pad == IR_PAD_VALID) {
        diag_at(L->err, s->pos, L->src,
                "'%s': window %d with padding=valid on an image %s of %zu gives an output of size 0",
                s->u.layer.name, k, axis, n);
        return 0;
    }
    if (pad == IR_PAD_VALID) {
        *out = (n - (size_t)k) / (size_t)*stride + 1;
        *lo = 0;
    } else {
        *out = (n + (size_t)*stride - 1) / (size_t)*stride;
        long total = ((long)*out - 1) * *stride + k - (long)n;
        *lo = total > 0 ? (int)(total / 2) : 0;
    }
    return 1;
}

/* One axis of conv_transpose, as lax.conv_transpose pads it: same keeps n·s
 * pixels, valid n·s + max(k − s, 0); circular computes the valid output and
 * folds it onto n·s pixels (*fold: its length, else 0). *lo: padding before
 * the dilated input. */
int lower_transpose_axis(Lower *L, const Stmt *s, const char *axis, size_t n, int k, int stride, IrPadding pad,
                          size_t *out, int *lo, size_t *fold)
{
    size_t valid = n * (size_t)stride + (size_t)(k > stride ? k - stride : 0);
    size_t longest = pad == IR_PAD_SAME ? n * (size_t)stride : valid;
    if (longest > VARIANT_AXIS_MAX) {
        diag_at(L->err, s->pos, L->src, "'%s': an image %s of %zu upsampled by stride %d and window %d gives %zu "
                "pixels (at most %d)", s->u.layer.name, axis, n, stride, k, longest, VARIANT_AXIS_MAX);
        return 0;
    }
    *fold = 0;
    if (pad == IR_PAD_SAME) {
        *out = n * (size_t)stride;
        *lo = stride > k - 1 ? k - 1 : (k + stride - 1) / 2; /* ⌈(k + s − 2)/2⌉ */
    } else {
        *lo = k - 1;
        *out = pad == IR_PAD_VALID ? valid : n * (size_t)stride;
        if (pad == IR_PAD_CIRCULAR)
            *fold = valid;
    }
    return 1;
}

static int lower_variant(Lower *L, const Stmt *s, IrOpKind kind)
{
    Bound b;
    if (!lower_need_image(L, s))
        return 0;
    if (L->input.depth && L->shape.spatial) /* 3-D windows: lower_volume_variants.c */
        return lower_volume_variant(L, s, kind);
    if (!lower_bind_args(L, s, variant_spec, NVAR, &b))
        return 0;
    if (!lower_width_allowed(L, &b, V_WIDTH))
        return 0;
    long fan_in = lower_fan_in(L);
    IrWindow w;
    if (!variant_window(L, s, &b, &w))
        return 0;
    const char *wname = L->input.sequence ? "length" : "width";
    size_t oh, ow, fh = 0, fw = 0;
    if (kind == IR_CONV_LOCAL) {
        if (!lower_local_axis(L, s, "height", L->shape.h, w.kh, &w.sh, w.pad, &oh, &w.pt) ||
            !lower_local_axis(L, s, wname, L->shape.w, w.kw, &w.sw, w.pad, &ow, &w.pl))
            return 0;
    } else if (!lower_transpose_axis(L, s, "height", L->shape.h, w.kh, w.sh, w.pad, &oh, &w.pt, &fh) ||
               !lower_transpose_axis(L, s, wname, L->shape.w, w.kw, w.sw, w.pad, &ow, &w.pl, &fw)) {
        return 0;
    }
    if ((double)oh * (double)ow > (double)VARIANT_AXIS_MAX) {
        diag_at(L->err, s->pos, L->src, "'%s' outputs %zu×%zu pixels (at most %d)", s->u.layer.name, oh, ow,
                VARIANT_AXIS_MAX);
        return 0;
    }
    IrOp *op = lower_push_op(L, kind, s->pos);
    if (op == NULL)
        return 0;
    op->u.conv = (IrConv){.w_std = b.v[V_W], .b_std = b.v[V_B], .win = w, .fold_h = fh, .fold_w = fw};
    op->args = lower_args(variant_spec, NVAR, &b, variant_kernel_args);
    if (L->param == PARAM_STANDARD) { /* as conv (lower_image.c): fan-in C, |F| = kh·kw in the kernel */
        op->u.conv.has_bias = b.given[V_B];
        op->u.conv.width = (long)b.v[V_WIDTH];
        op->u.conv.fan_in = fan_in;
        L->prev_width = op->u.conv.width;
    }
    L->shape = (IrShape){oh, ow, 1, 0};
    lower_made_gaussian(L);
    return 1;
}

int lower_conv_transpose(Lower *L, const Stmt *s) { return lower_variant(L, s, IR_CONV_TRANSPOSE); }
int lower_conv_local(Lower *L, const Stmt *s) { return lower_variant(L, s, IR_CONV_LOCAL); }
