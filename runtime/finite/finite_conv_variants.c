/* The finite-width conv_transpose and conv_local layers of the image finite
 * net (finite_conv.c), under the NTK parameterization as neural-tangents'
 * ConvTranspose and ConvLocal compute them (param standard: the deviations
 * move into the parameters, finite_conv_std.c):
 *   conv_transpose: y[o] = (w/√(kh·kw·C))·Σ_u W_u·x̃[o + u − p] + b·β, x̃ the
 *     input dilated by the stride (zero between its pixels, lax.conv_transpose,
 *     kernel not flipped); padding=circular computes the valid output and
 *     folds it onto the output (pixel i adds to (i − c) mod n, c = (L − n)/2);
 *   conv_local: a conv whose weights W_{o,u} and bias β_o belong to one output
 *     pixel o (lax.conv_general_dilated_local).
 * Both gather their windows into nd->cols (rows: output pixels, before the
 * fold) and scatter the gradients back the same way. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "finite_conv_internal.h"
#include "ntkc_err.h"

int fcv_is_variant(const IrOp *op) { return op->kind == IR_CONV_TRANSPOSE || op->kind == IR_CONV_LOCAL; }

/* The grid the windows are gathered on: the valid output of a circular
 * transpose (folded afterwards), else the output. */
static void pre_grid(const Node *nd, size_t *ph, size_t *pw)
{
    const IrConv *c = &nd->op->u.conv;
    int fold = nd->op->kind == IR_CONV_TRANSPOSE && nd->win.pad == IR_PAD_CIRCULAR;
    *ph = !fold ? nd->ho : nd->win.kd ? c->fold_d * c->fold_h : c->fold_h;
    *pw = fold ? c->fold_w : nd->wo;
}

static int folds(const Node *nd) { return nd->op->kind == IR_CONV_TRANSPOSE && nd->win.pad == IR_PAD_CIRCULAR; }

/* Input pixel read by position m, tap u along an axis of n pixels; -1: none. */
static long tap_src(const Node *nd, size_t m, int u, int s, int p, size_t n)
{
    if (nd->op->kind == IR_CONV_TRANSPOSE) {
        long j = (long)m + u - p;
        return j < 0 || j % s != 0 || j / s >= (long)n ? -1 : j / s;
    }
    long r = (long)m * s + u - p;
    if (nd->win.pad == IR_PAD_CIRCULAR)
        return ((r % (long)n) + (long)n) % (long)n;
    return r < 0 || r >= (long)n ? -1 : r;
}

/* Row taps of the window: kh, or kd·kh on a volume (its rows stack the
 * slices, ir.h: row tap u is depth tap u / kh, row tap u % kh). */
static int row_taps(const IrWindow *w) { return w->kd ? w->kd * w->kh : w->kh; }

/* The input row row tap u of gathered row m reads (ph gathered rows), or -1. */
static long row_src(const Node *nd, size_t m, int u, size_t ph)
{
    const IrWindow *w = &nd->win;
    if (!w->kd)
        return tap_src(nd, m, u, w->sh, w->pt, nd->hi);
    size_t gy = ph / (folds(nd) ? nd->op->u.conv.fold_d : (size_t)w->zo), hi = nd->hi / (size_t)w->zi;
    long z = tap_src(nd, m / gy, u / w->kh, w->sd, w->pf, (size_t)w->zi);
    long y = tap_src(nd, m % gy, u % w->kh, w->sh, w->pt, hi);
    return z < 0 || y < 0 ? -1 : z * (long)hi + y;
}

/* Index i of a valid output of length n folded onto no: (i − c) mod no, c = (n − no)/2. */
static size_t fold_index(size_t i, size_t n, size_t no) { return (i + no - ((n - no) / 2) % no) % no; }

/* The output pixel a gathered row lands on (the fold of a circular transpose). */
static size_t land(const Node *nd, size_t y, size_t x)
{
    if (!folds(nd))
        return y * nd->wo + x;
    const IrConv *c = &nd->op->u.conv;
    size_t row = fold_index(y, c->fold_h, nd->ho);
    if (nd->win.kd) { /* a volume: fold the slice and the row within it */
        size_t zo = (size_t)nd->win.zo, ho = nd->ho / zo;
        row = fold_index(y / c->fold_h, c->fold_d, zo) * ho + fold_index(y % c->fold_h, c->fold_h, ho);
    }
    return row * nd->wo + fold_index(x, c->fold_w, nd->wo);
}

/* cols (or, scatter: gin += cols) over the gathered grid. */
static void gather(const Node *nd, const double *in, double *cols, double *gin)
{
    const IrWindow *w = &nd->win;
    size_t ph, pw;
    pre_grid(nd, &ph, &pw);
    if (gin)
        memset(gin, 0, nd->hi * nd->wi * nd->ci * sizeof *gin);
    for (size_t oy = 0; oy < ph; oy++)
        for (size_t ox = 0; ox < pw; ox++)
            for (int dy = 0; dy < row_taps(w); dy++)
                for (int dx = 0; dx < w->kw; dx++) {
                    double *c = cols + (oy * pw + ox) * nd->k + ((size_t)dy * (size_t)w->kw + (size_t)dx) * nd->ci;
                    long y = row_src(nd, oy, dy, ph), x = tap_src(nd, ox, dx, w->sw, w->pl, nd->wi);
                    if (gin && y >= 0 && x >= 0) {
                        double *g = gin + ((size_t)y * nd->wi + (size_t)x) * nd->ci;
                        for (size_t ch = 0; ch < nd->ci; ch++)
                            g[ch] += c[ch];
                    } else if (!gin) {
                        if (y < 0 || x < 0)
                            memset(c, 0, nd->ci * sizeof *c);
                        else
                            memcpy(c, in + ((size_t)y * nd->wi + (size_t)x) * nd->ci, nd->ci * sizeof *c);
                    }
                }
}

size_t fcv_weights(const Node *nd)
{
    return nd->op->kind == IR_CONV_LOCAL ? nd->ho * nd->wo * nd->k * nd->co : nd->k * nd->co;
}

size_t fcv_biases(const Node *nd)
{
    return !nd->has_b ? 0 : nd->op->kind == IR_CONV_LOCAL ? nd->ho * nd->wo * nd->co : nd->co;
}

int fcv_lay(Fc *f, Node *nd, size_t co)
{
    const IrOp *op = nd->op;
    nd->win = op->u.conv.win;
    nd->ho = op->out.h, nd->wo = op->out.w;
    nd->co = op == f->readout && f->nout ? f->nout : co ? co : f->width;
    nd->k = (size_t)row_taps(&nd->win) * (size_t)nd->win.kw * nd->ci;
    nd->ws = op->u.conv.w_std / sqrt((double)nd->k);
    nd->bs = op->u.conv.b_std;
    nd->has_b = nd->bs != 0.0;
    nd->frozen = ir_arg(&op->args, "trainable", 1) == 0; /* its parameters do not train */
    nd->w_init = nd->b_init = 1.0;
    if (f->net->param == PARAM_STANDARD) /* W ~ N(0, w²/(C·|F|)), β ~ N(0, b²) unscaled (finite_conv_std.c) */
        fconv_standard_scales(nd);
    nd->w_off = f->nparams;
    f->nparams += fcv_weights(nd);
    nd->b_off = f->nparams;
    f->nparams += fcv_biases(nd);
    size_t ph, pw;
    pre_grid(nd, &ph, &pw);
    nd->cols = calloc(ph * pw * nd->k + 1, sizeof *nd->cols);
    nd->gcols = calloc(ph * pw * nd->k + 1, sizeof *nd->gcols);
    nd->tmp = calloc(ph * pw * nd->co + 1, sizeof *nd->tmp);
    if (nd->cols == NULL || nd->gcols == NULL || nd->tmp == NULL)
        err_internal(f->err, "finite conv net: out of memory for a %s layer", op->kind == IR_CONV_LOCAL ? "conv_local" : "conv_transpose");
    return f->err->code;
}

/* y = ws·cols·W + bs·β from the gathered cols; into out (params p, weights V
 * for a tangent: the same map, linear in the weights). */
static void apply(const Fc *f, const Node *nd, const double *cols, const double *p, double beta, double *out)
{
    size_t ph, pw, P = nd->ho * nd->wo;
    pre_grid(nd, &ph, &pw);
    const double *W = p + nd->w_off;
    if (nd->op->kind == IR_CONV_LOCAL) {
        for (size_t o = 0; o < P; o++)
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)nd->k, (int)nd->co, nd->ws, W + o * nd->k * nd->co,
                        (int)nd->co, cols + o * nd->k, 1, beta, out + o * nd->co, 1);
        return;
    }
    double *pre = folds(nd) ? nd->tmp : out;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(ph * pw), (int)nd->co, (int)nd->k, nd->ws, cols,
                (int)nd->k, W, (int)nd->co, folds(nd) ? 0.0 : beta, pre, (int)nd->co);
    if (!folds(nd))
        return;
    if (beta == 0.0)
        memset(out, 0, P * nd->co * sizeof *out);
    for (size_t y = 0; y < ph; y++)
        for (size_t x = 0; x < pw; x++) {
            double *dst = out + land(nd, y, x) * nd->co;
            const double *src = pre + (y * pw + x) * nd->co;
            for (size_t c = 0; c < nd->co; c++)
                dst[c] += src[c];
        }
    (void)f;
}

static void add_bias(const Node *nd, const double *p, double *out)
{
    if (!nd->has_b)
        return;
    int local = nd->op->kind == IR_CONV_LOCAL;
    for (size_t o = 0; o < nd->ho * nd->wo; o++)
        for (size_t c = 0; c < nd->co; c++)
            out[o * nd->co + c] += nd->bs * p[nd->b_off + (local ? o * nd->co : 0) + c];
}

void fcv_forward(const Fc *f, Node *nd, const double *in)
{
    gather(nd, in, nd->cols, NULL);
    apply(f, nd, nd->cols, f->params, 0.0, nd->out);
    add_bias(nd, f->params, nd->out);
}

void fcv_tangent(const Fc *f, Node *nd, const double *tin, const double *v)
{
    if (nd->frozen) { /* v does not move a frozen layer's W and β */
        memset(nd->t, 0, fconv_len_out(nd) * sizeof *nd->t);
    } else {
        apply(f, nd, nd->cols, v, 0.0, nd->t);
        add_bias(nd, v, nd->t);
    }
    if (tin) {
        gather(nd, tin, nd->gcols, NULL);
        apply(f, nd, nd->gcols, f->params, 1.0, nd->t);
    }
}

void fcv_backward(Fc *f, Node *nd, double *gin)
{
    size_t ph, pw, P = nd->ho * nd->wo;
    pre_grid(nd, &ph, &pw);
    double *W = f->params + nd->w_off, *gW = f->grad + nd->w_off;
    int local = nd->op->kind == IR_CONV_LOCAL;
    if (nd->has_b && local) /* one bias per output pixel and channel */
        for (size_t e = 0; e < P * nd->co; e++)
            f->grad[nd->b_off + e] = nd->bs * nd->g[e];
    else if (nd->has_b)
        for (size_t c = 0; c < nd->co; c++) {
            double s = 0;
            for (size_t o = 0; o < P; o++)
                s += nd->g[o * nd->co + c];
            f->grad[nd->b_off + c] = nd->bs * s;
        }
    if (local) {
        memset(gW, 0, fcv_weights(nd) * sizeof *gW);
        for (size_t o = 0; o < P; o++) {
            cblas_dger(CblasRowMajor, (int)nd->k, (int)nd->co, nd->ws, nd->cols + o * nd->k, 1, nd->g + o * nd->co, 1,
                       gW + o * nd->k * nd->co, (int)nd->co);
            if (gin)
                cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nd->k, (int)nd->co, nd->ws, W + o * nd->k * nd->co,
                            (int)nd->co, nd->g + o * nd->co, 1, 0.0, nd->gcols + o * nd->k, 1);
        }
    } else {
        const double *g = nd->g;
        if (folds(nd)) { /* the fold's adjoint: every gathered row reads its output pixel's gradient */
            for (size_t y = 0; y < ph; y++)
                for (size_t x = 0; x < pw; x++)
                    memcpy(nd->tmp + (y * pw + x) * nd->co, nd->g + land(nd, y, x) * nd->co, nd->co * sizeof *g);
            g = nd->tmp;
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nd->k, (int)nd->co, (int)(ph * pw), nd->ws,
                    nd->cols, (int)nd->k, g, (int)nd->co, 0.0, gW, (int)nd->co);
        if (gin)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(ph * pw), (int)nd->k, (int)nd->co, nd->ws, g,
                        (int)nd->co, W, (int)nd->co, 0.0, nd->gcols, (int)nd->k);
    }
    if (nd->frozen) /* trainable=false: its parameters are not trained, their gradient is 0 */
        memset(f->grad + nd->w_off, 0, (fcv_weights(nd) + fcv_biases(nd)) * sizeof *f->grad);
    if (gin)
        gather(nd, NULL, nd->gcols, gin);
}
