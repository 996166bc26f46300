/* conv_transpose and conv_local on `input volume(D, H, W, C)`: neural-tangents'
 * ConvTranspose and ConvLocal with 3-D filter shapes. Each axis (depth, rows,
 * columns) is padded and strided as the 2-D layers' axes are
 * (lower_conv_variants.c: lax.conv_transpose's padding, the fold of a
 * circular transpose; the conv's windows for conv_local); the window is
 * size or kd/kh/kw, the stride stride or sd/sh/sw. The all-pairs back end
 * computes both (emit_attn.c); a volume's grid is rows = slices × rows per
 * slice (ir.h). */
#include "lower_internal.h"

static const char *const vvar_paddings[] = {"same", "valid", "circular", NULL};

enum { VV_SIZE, VV_W, VV_B, VV_STRIDE, VV_PAD, VV_KD, VV_KH, VV_KW, VV_SD, VV_SH, VV_SW, VV_TRAINABLE, VV_WIDTH, NVV };
static const ParamSpec vvar_spec[NVV] = {
    [VV_SIZE] = {"size", 0, 1, 1e6, 1, 0, NULL},
    [VV_W] = {"w_std", 1.0, 0.0, STD_MAX, 0, 0, NULL},
    [VV_B] = {"b_std", 0.0, 0.0, STD_MAX, 0, 0, NULL},
    [VV_STRIDE] = {"stride", 1, 1, 1e6, 1, 0, NULL},
    [VV_PAD] = {"padding", IR_PAD_SAME, 0, 2, 1, 0, vvar_paddings},
    [VV_KD] = {"kd", 0, 1, 1e6, 1, 0, NULL},
    [VV_KH] = {"kh", 0, 1, 1e6, 1, 0, NULL},
    [VV_KW] = {"kw", 0, 1, 1e6, 1, 0, NULL},
    [VV_SD] = {"sd", 1, 1, 1e6, 1, 0, NULL},
    [VV_SH] = {"sh", 1, 1, 1e6, 1, 0, NULL},
    [VV_SW] = {"sw", 1, 1, 1e6, 1, 0, NULL},
    [VV_TRAINABLE] = {"trainable", 1, 0, 1, 1, 0, lower_bool_names},
    [VV_WIDTH] = {"width", 0.0, 1.0, SHOWN_MAX, 1, 0, NULL}, /* param standard: output channels */
};
static const char *const vvar_kernel_args[] = {"trainable", NULL};

/* The all-pairs back end holds every position pair: a layer's output grid
 * beyond this many positions is surely a mistake. */
enum { VVAR_POSITIONS_MAX = 100000 };

static int vv_axis(const Bound *b, int own, int fallback) { return b->given[own] ? (int)b->v[own] : fallback; }

/* The window and strides from size or kd/kh/kw and stride or sd/sh/sw. */
static int vv_window(Lower *L, const Stmt *s, const Bound *b, IrWindow *w)
{
    const char *name = s->u.layer.name;
    int own = b->given[VV_KD] + b->given[VV_KH] + b->given[VV_KW];
    if (b->given[VV_SIZE] && own) {
        int k = b->given[VV_KD] ? VV_KD : b->given[VV_KH] ? VV_KH : VV_KW;
        diag_at(L->err, b->pos[k], L->src, "'%s': give the window either as size or as kd/kh/kw, not all", name);
        return 0;
    }
    if (!b->given[VV_SIZE] && own != 3) {
        diag_at(L->err, s->pos, L->src, "missing required argument 'size' (or kd, kh and kw) for '%s' on a volume",
                name);
        return 0;
    }
    int size = (int)b->v[VV_SIZE], stride = (int)b->v[VV_STRIDE];
    *w = (IrWindow){.pad = (IrPadding)(int)b->v[VV_PAD], .dd = 1, .dh = 1, .dw = 1};
    w->kd = vv_axis(b, VV_KD, size), w->kh = vv_axis(b, VV_KH, size), w->kw = vv_axis(b, VV_KW, size);
    w->sd = vv_axis(b, VV_SD, stride), w->sh = vv_axis(b, VV_SH, stride), w->sw = vv_axis(b, VV_SW, stride);
    return 1;
}

int lower_volume_variant(Lower *L, const Stmt *s, IrOpKind kind)
{
    const char *name = s->u.layer.name;
    if (L->shape.d == 0) { /* a layer volume nets refuse lost the slices (lower_check_volume_net names it) */
        diag_at(L->err, s->pos, L->src, "'%s' on a volume after a layer that volume nets do not take", name);
        return 0;
    }
    Bound b;
    IrWindow w;
    if (!lower_bind_args(L, s, vvar_spec, NVV, &b) || !vv_window(L, s, &b, &w))
        return 0;
    if (!lower_width_allowed(L, &b, VV_WIDTH))
        return 0;
    long fan_in = lower_fan_in(L);
    size_t zi = L->shape.d, hi = L->shape.h / zi, wi = L->shape.w, od, oh, ow, fd = 0, fh = 0, fw = 0;
    if (kind == IR_CONV_LOCAL) {
        if (!lower_local_axis(L, s, "depth", zi, w.kd, &w.sd, w.pad, &od, &w.pf) ||
            !lower_local_axis(L, s, "height", hi, w.kh, &w.sh, w.pad, &oh, &w.pt) ||
            !lower_local_axis(L, s, "width", wi, w.kw, &w.sw, w.pad, &ow, &w.pl))
            return 0;
    } else if (!lower_transpose_axis(L, s, "depth", zi, w.kd, w.sd, w.pad, &od, &w.pf, &fd) ||
               !lower_transpose_axis(L, s, "height", hi, w.kh, w.sh, w.pad, &oh, &w.pt, &fh) ||
               !lower_transpose_axis(L, s, "width", wi, w.kw, w.sw, w.pad, &ow, &w.pl, &fw)) {
        return 0;
    }
    double positions = (double)od * (double)oh * (double)ow;
    if (positions > VVAR_POSITIONS_MAX) {
        diag_at(L->err, s->pos, L->src, "'%s' outputs %zu×%zu×%zu positions (at most %d)", name, od, oh, ow,
                VVAR_POSITIONS_MAX);
        return 0;
    }
    w.zi = (int)zi, w.zo = (int)od;
    IrOp *op = lower_push_op(L, kind, s->pos);
    if (op == NULL)
        return 0;
    op->u.conv = (IrConv){.w_std = b.v[VV_W], .b_std = b.v[VV_B], .win = w, .fold_d = fd, .fold_h = fh, .fold_w = fw,
                          .frozen = b.v[VV_TRAINABLE] == 0};
    op->args = lower_args(vvar_spec, NVV, &b, vvar_kernel_args);
    if (L->param == PARAM_STANDARD) { /* as conv (lower_volume.c): fan-in C, |F| = kd·kh·kw in the kernel */
        op->u.conv.has_bias = b.given[VV_B];
        op->u.conv.width = (long)b.v[VV_WIDTH];
        op->u.conv.fan_in = fan_in;
        L->prev_width = op->u.conv.width;
    }
    L->shape = (IrShape){od * oh, ow, 1, od};
    lower_made_gaussian(L);
    return 1;
}
