/* Lowering of image_resize(h, w, method=linear, antialias=true[, d=D']),
 * neural-tangents' ImageResize: jax.image.resize of every channel's image
 * (of a volume's, with d the new depth; the depth is kept unless given).
 * jax resizes axis by axis (jax/_src/image/scale.py: one weight matrix per
 * resized axis, contracted by one einsum), so on a volume R = Rd ⊗ Rh ⊗ Rw.
 * Its kernel is exact for the methods whose resize is a fixed linear map R
 * of the positions (nearest and linear, as neural-tangents' kernel_fn
 * supports): Σ' = R Σ Rᵀ on both inputs' positions (ir.h, ir_resize.h).
 * cubic and lanczos are linear maps too in jax, but neural-tangents refuses
 * them in kernel_fn; ntkc follows it and refuses them by name. A linear map
 * of a Gaussian field is Gaussian: Gaussianity is unchanged. */
#include "lower_internal.h"

/* jax's names: linear = bilinear = trilinear = triangle */
static const char *const resize_methods[] = {"nearest", "linear",  "bilinear", "trilinear", "triangle", "cubic",
                                             "bicubic", "tricubic", "lanczos3", "lanczos5", NULL};
enum { M_NEAREST = 0, M_FIRST_UNSUPPORTED = 5 };

/* The kernels hold every pixel pair of the grid: keep it modest. */
enum { RESIZE_AXIS_MAX = 100000 };

enum { R_H, R_W, R_METHOD, R_ANTIALIAS, R_D, NRESIZE };
static const ParamSpec resize_spec[NRESIZE] = {
    [R_H] = {"h", 0, 1, RESIZE_AXIS_MAX, 1, 1, NULL},
    [R_W] = {"w", 0, 1, RESIZE_AXIS_MAX, 1, 1, NULL},
    [R_METHOD] = {"method", 1, 0, 9, 1, 0, resize_methods},
    [R_ANTIALIAS] = {"antialias", 1, 0, 1, 1, 0, lower_bool_names},
    [R_D] = {"d", 0, 1, RESIZE_AXIS_MAX, 1, 0, NULL}, /* volumes: the new depth */
};

int lower_image_resize(Lower *L, const Stmt *s)
{
    Bound b;
    if (!lower_need_image(L, s) || !lower_bind_args(L, s, resize_spec, NRESIZE, &b))
        return 0;
    size_t zi = L->shape.d, zo = b.given[R_D] ? (size_t)b.v[R_D] : zi;
    if (b.given[R_D] && zi == 0) {
        diag_at(L->err, b.pos[R_D], L->src,
                "'image_resize(d=...)' resizes the depth of a volume (input volume(D, H, W, C)); this net's input "
                "is %s",
                L->input.sequence ? "a sequence" : L->input.depth ? "no longer a volume here" : "an image");
        return 0;
    }
    int method = (int)b.v[R_METHOD];
    if (method >= M_FIRST_UNSUPPORTED) {
        diag_at(L->err, b.pos[R_METHOD], L->src,
                "'image_resize(method=%s)': neural-tangents computes the kernel of nearest and linear resizing "
                "only (its ImageResize refuses cubic and lanczos in kernel_fn); use method=nearest or linear",
                resize_methods[method]);
        return 0;
    }
    size_t h = (size_t)b.v[R_H], w = (size_t)b.v[R_W];
    if (L->input.sequence && h != 1) {
        diag_at(L->err, b.pos[R_H], L->src, "'image_resize' on a sequence: h must be 1 (give the new length as w)");
        return 0;
    }
    if ((double)(zo ? zo : 1) * (double)h * (double)w > (double)RESIZE_AXIS_MAX) {
        if (zo)
            diag_at(L->err, s->pos, L->src, "'image_resize' outputs %zu×%zu×%zu positions (at most %d)", zo, h, w,
                    RESIZE_AXIS_MAX);
        else
            diag_at(L->err, s->pos, L->src, "'image_resize' outputs %zu×%zu pixels (at most %d)", h, w,
                    RESIZE_AXIS_MAX);
        return 0;
    }
    IrOp *op = lower_push_op(L, IR_IMAGE_RESIZE, s->pos);
    if (op == NULL)
        return 0;
    op->u.resize = (IrResize){.nearest = method == M_NEAREST, .antialias = (int)b.v[R_ANTIALIAS], .zi = (int)zi,
                              .zo = (int)zo};
    L->shape = (IrShape){zo ? zo * h : h, w, 1, zo}; /* a volume's rows stack its slices */
    return 1;
}
