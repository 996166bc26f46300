/* The finite-width network: layout from the IR, initialisation, forward pass
 * and backpropagation over a batch of inputs (rows), with BLAS for every
 * product. Backpropagation serves both the blockwise empirical NTK and the
 * parameter gradients of training; see finite_net.h for the conventions. */
#include "finite_net.h"
#include "finite_refuse.h"
#include "ntkc_err.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct FiniteLayer {
    const IrOp *op;
    size_t in, out;          /* widths; equal for activations */
    double w_scale, b_scale; /* forward multipliers of W and β */
    double w_init, b_init;   /* standard deviations of their initial draws */
    int has_b;
    size_t w_off, b_off; /* offsets into params */
} FiniteLayer;

struct FiniteNet {
    const IrNet *net;
    FiniteParam param;
    size_t width; /* the hidden width n */
    FiniteLayer *layers;
    size_t nlayers, dim, nout, maxw;
    double *params;
    size_t nparams;
    /* Batch workspace for up to `cap` rows: every layer's output (kept for
     * backpropagation) and two backprop buffers; the n×n Gram buffers are
     * allocated only when kernels are asked for. */
    size_t cap, gram_cap;
    double **act;
    double *g, *g2;
    double *gram_d, *gram_h;
    /* The batch of the last forward pass, which finite_net_vjp relies on. */
    const double *fwd_x;
    size_t fwd_n;
    /* Dropout masks: a function of (this seed, layer, row, unit), so a row
     * keeps its masks through forward, backward and tangent passes; drawn
     * anew by finite_net_init. */
    uint64_t mask_seed;
    int drop_eval; /* eval mode: dropout layers are the identity (ntkc train's predictions) */
};

static double *alloc_doubles(size_t rows, size_t cols, ntkc_error *err)
{
    if (cols != 0 && rows > SIZE_MAX / sizeof(double) / cols) {
        err_internal(err, "finite net: a %zu x %zu buffer overflows the address space", rows, cols);
        return NULL;
    }
    double *p = calloc(rows * cols != 0 ? rows * cols : 1, sizeof(double));
    if (p == NULL)
        err_internal(err, "finite net: out of memory for a %zu x %zu buffer", rows, cols);
    return p;
}

static const char *net_name(const IrNet *net)
{
    return net->name ? net->name : "<net>";
}

size_t finite_last_dense(const IrNet *net)
{
    size_t last = net->nops;
    for (size_t i = 0; i < net->nops; i++)
        if (net->ops[i].kind == IR_DENSE)
            last = i;
    return last;
}

/* Width of the dense op i's output, or 0 after reporting why there is none. */
static size_t dense_width(const IrNet *net, size_t i, size_t readout, size_t width, size_t nout,
                          ntkc_error *err)
{
    const IrOp *op = &net->ops[i];
    if (i == readout)
        return nout;
    if (net->param == PARAM_NTK) {
        if (width == 0)
            err_user(err, "finite net '%s': the hidden width must be at least 1", net_name(net));
        return width;
    }
    if (op->u.dense.width <= 0)
        err_at(err, op->pos, NULL,
                "net '%s': a hidden dense layer under the standard parameterization needs an explicit "
                "width for the finite-width network",
                net_name(net));
    return op->u.dense.width > 0 ? (size_t)op->u.dense.width : 0;
}

static void set_dense_scales(FiniteLayer *l, Parameterization param)
{
    const IrDense *d = &l->op->u.dense;
    double rf = 1.0 / sqrt((double)l->in);
    if (param == PARAM_NTK) {
        l->w_scale = d->w_std * rf;
        l->b_scale = d->b_std;
        l->w_init = 1.0;
        l->b_init = 1.0;
        l->has_b = d->b_std != 0.0; /* a zero multiplier leaves β without any effect */
    } else {
        l->w_scale = 1.0;
        l->b_scale = 1.0;
        l->w_init = d->w_std * rf;
        l->b_init = d->b_std;
        l->has_b = d->has_bias;
    }
}

/* μP multipliers and initial deviations (finite_net.h) of the dense layer
 * l, the first one when first, the readout when readout; n = hidden width. */
static void set_mup_scales(FiniteLayer *l, int first, int readout, double n)
{
    const IrDense *d = &l->op->u.dense;
    double rn = 1.0 / sqrt(n);
    l->has_b = d->b_std != 0.0;
    if (readout) {
        l->w_scale = d->w_std * rn;
        l->w_init = rn;
        l->b_scale = d->b_std;
        l->b_init = 1.0;
        return;
    }
    l->w_scale = first ? d->w_std * sqrt(n / (double)l->in) : d->w_std;
    l->w_init = rn;
    l->b_scale = d->b_std * sqrt(n);
    l->b_init = rn;
}

/* Fills the layer table; returns 0 or an error code. */
static int lay_out(FiniteNet *fn, size_t width, ntkc_error *err)
{
    const IrNet *net = fn->net;
    size_t readout = finite_last_dense(net);
    if (readout == net->nops || net->ops[0].kind != IR_DENSE) {
        err_internal(err, "finite net '%s': the IR must start with a dense layer", net_name(net));
        return err->code;
    }
    size_t cur = fn->dim;
    fn->maxw = cur;
    for (size_t i = 0; i < net->nops; i++) {
        FiniteLayer *l = &fn->layers[i];
        l->op = &net->ops[i];
        l->in = cur;
        if (l->op->kind == IR_ACT || l->op->kind == IR_DROPOUT) {
            l->out = cur;
            continue;
        }
        const IrDense *d = &l->op->u.dense;
        if (net->param == PARAM_STANDARD && d->fan_in != 0 && (size_t)d->fan_in != cur) {
            err_at(err, l->op->pos, NULL, "net '%s': dense layer declares fan-in %ld but receives width %zu",
                    net_name(net), d->fan_in, cur);
            return err->code;
        }
        l->out = dense_width(net, i, readout, width, fn->nout, err);
        if (l->out == 0)
            return err->code;
        if (fn->param == FINITE_MUP && readout != 0) /* a single dense layer has no width to scale */
            set_mup_scales(l, i == 0, i == readout, (double)width);
        else
            set_dense_scales(l, net->param);
        l->w_off = fn->nparams;
        fn->nparams += l->out * l->in;
        l->b_off = fn->nparams;
        fn->nparams += l->has_b ? l->out : 0;
        cur = l->out;
        fn->maxw = cur > fn->maxw ? cur : fn->maxw;
    }
    return NTKC_OK;
}

FiniteNet *finite_net_new(const IrNet *net, size_t dim, size_t width, size_t nout, ntkc_error *err)
{
    return finite_net_new_param(net, dim, width, nout, FINITE_AS_IR, err);
}

FiniteNet *finite_net_new_param(const IrNet *net, size_t dim, size_t width, size_t nout, FiniteParam param,
                                ntkc_error *err)
{
    if (finite_refuse_kernel_only(net, err) != NTKC_OK)
        return NULL;
    if (param == FINITE_MUP && net->param != PARAM_NTK) {
        err_user(err, "finite net '%s': the mean-field (muP) parameterization starts from a net under the NTK "
                       "parameterization, not the standard one", net_name(net));
        return NULL;
    }
    if (dim == 0 || nout == 0) {
        err_user(err, "finite net '%s': inputs need at least one feature and the net one output",
                  net_name(net));
        return NULL;
    }
    if (net->input.dim != 0 && net->input.dim != dim) {
        err_at(err, net->pos, NULL, "net '%s' takes inputs of dimension %zu, the data has %zu", net_name(net),
                net->input.dim, dim);
        return NULL;
    }
    FiniteNet *fn = calloc(1, sizeof *fn);
    if (fn == NULL || net->nops == 0 || (fn->layers = calloc(net->nops, sizeof *fn->layers)) == NULL) {
        free(fn);
        if (net->nops == 0)
            err_internal(err, "finite net '%s': the IR has no ops", net_name(net));
        else
            err_internal(err, "finite net: out of memory");
        return NULL;
    }
    fn->net = net;
    fn->param = param;
    fn->width = width;
    fn->nlayers = net->nops;
    fn->dim = dim;
    fn->nout = nout;
    if (lay_out(fn, width, err) != NTKC_OK || (fn->params = alloc_doubles(fn->nparams, 1, err)) == NULL) {
        finite_net_free(fn);
        return NULL;
    }
    return fn;
}

static void free_workspace(FiniteNet *fn)
{
    if (fn->act != NULL)
        for (size_t i = 0; i < fn->nlayers; i++)
            free(fn->act[i]);
    free(fn->act);
    free(fn->g);
    free(fn->g2);
    fn->act = NULL;
    fn->g = fn->g2 = NULL;
    fn->cap = 0;
}

void finite_net_free(FiniteNet *fn)
{
    if (fn == NULL)
        return;
    free_workspace(fn);
    free(fn->gram_d);
    free(fn->gram_h);
    free(fn->params);
    free(fn->layers);
    free(fn);
}

static int reserve_rows(FiniteNet *fn, size_t n, ntkc_error *err)
{
    if (n <= fn->cap)
        return NTKC_OK;
    free_workspace(fn);
    fn->act = calloc(fn->nlayers, sizeof *fn->act);
    if (fn->act == NULL) {
        err_internal(err, "finite net: out of memory");
        return err->code;
    }
    for (size_t i = 0; i < fn->nlayers; i++)
        if ((fn->act[i] = alloc_doubles(n, fn->layers[i].out, err)) == NULL)
            goto fail;
    if ((fn->g = alloc_doubles(n, fn->maxw, err)) == NULL || (fn->g2 = alloc_doubles(n, fn->maxw, err)) == NULL)
        goto fail;
    fn->cap = n;
    return NTKC_OK;
fail:
    free_workspace(fn);
    return err->code;
}

static int reserve_grams(FiniteNet *fn, size_t n, ntkc_error *err)
{
    if (n <= fn->gram_cap)
        return NTKC_OK;
    free(fn->gram_d);
    free(fn->gram_h);
    fn->gram_h = NULL;
    fn->gram_cap = 0;
    if ((fn->gram_d = alloc_doubles(n, n, err)) == NULL || (fn->gram_h = alloc_doubles(n, n, err)) == NULL)
        return err->code;
    fn->gram_cap = n;
    return NTKC_OK;
}

void finite_net_init(FiniteNet *fn, Rng *r)
{
    for (size_t i = 0; i < fn->nlayers; i++) /* only nets with dropout draw a mask seed */
        if (fn->layers[i].op->kind == IR_DROPOUT) {
            fn->mask_seed = rng_next(r);
            fn->drop_eval = 0;
            break;
        }
    for (size_t i = 0; i < fn->nlayers; i++) {
        const FiniteLayer *l = &fn->layers[i];
        if (l->op->kind != IR_DENSE)
            continue;
        rng_fill_normal(r, fn->params + l->w_off, l->out * l->in, l->w_init);
        if (l->has_b)
            rng_fill_normal(r, fn->params + l->b_off, l->out, l->b_init);
    }
}

double *finite_net_params(FiniteNet *fn, size_t *count)
{
    *count = fn->nparams;
    return fn->params;
}

static const double *layer_input(const FiniteNet *fn, size_t i, const double *x)
{
    return i == 0 ? x : fn->act[i - 1];
}

static void forward_dense(const FiniteNet *fn, const FiniteLayer *l, size_t n, const double *h, double *z)
{
    const double *w = fn->params + l->w_off;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)l->out, (int)l->in, l->w_scale, h,
                (int)l->in, w, (int)l->in, 0.0, z, (int)l->out);
    if (!l->has_b)
        return;
    const double *b = fn->params + l->b_off;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < l->out; c++)
            z[r * l->out + c] += l->b_scale * b[c];
}

static void forward_act(const FiniteLayer *l, size_t n, const double *z, double *h)
{
    const IrAct *a = &l->op->u.act;
    for (size_t e = 0; e < n * l->out; e++)
        h[e] = a->def->phi(a->def, z[e], a->p);
}

/* Dropout (neural-tangents' Dropout in train mode, ir.h): unit c of row r of
 * layer i is kept with probability keep and then scaled by 1/keep; rows are
 * the inputs, each with its own masks. The keep decision hashes (seed, i, r, c)
 * with splitmix64 into 53 uniform bits. */
static double dropout_factor(const FiniteNet *fn, size_t i, size_t r, size_t c)
{
    uint64_t state = fn->mask_seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1)) ^
                     (0xC2B2AE3D27D4EB4FULL * (uint64_t)(r + 1)) ^ (0x165667B19E3779F9ULL * (uint64_t)(c + 1));
    double u = (double)(rng_splitmix64(&state) >> 11) * 0x1.0p-53;
    double keep = fn->layers[i].op->u.dropout.keep;
    return u < keep ? 1.0 / keep : 0.0;
}

void finite_net_set_dropout(FiniteNet *fn, int train, uint64_t seed)
{
    fn->drop_eval = !train;
    if (train)
        fn->mask_seed = seed;
}

/* v ← v ∘ mask/keep for layer i's n rows (forward, backward and tangent
 * alike); the identity in eval mode. */
static void apply_dropout(const FiniteNet *fn, size_t i, size_t n, const double *in, double *out)
{
    size_t w = fn->layers[i].out;
    if (fn->drop_eval) {
        if (out != in)
            memcpy(out, in, n * w * sizeof *out);
        return;
    }
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < w; c++)
            out[r * w + c] = in[r * w + c] * dropout_factor(fn, i, r, c);
}

/* Runs the batch through every layer, leaving each layer's output in act. */
static int run_forward(FiniteNet *fn, size_t n, const double *x, ntkc_error *err)
{
    if (n == 0 || x == NULL) {
        err_user(err, "finite net '%s': no inputs", net_name(fn->net));
        return err->code;
    }
    if (n > INT32_MAX || fn->maxw > INT32_MAX) {
        err_user(err, "finite net '%s': %zu inputs of width up to %zu exceed what BLAS indexes",
                  net_name(fn->net), n, fn->maxw);
        return err->code;
    }
    if (reserve_rows(fn, n, err) != NTKC_OK)
        return err->code;
    for (size_t i = 0; i < fn->nlayers; i++) {
        const FiniteLayer *l = &fn->layers[i];
        if (l->op->kind == IR_DENSE)
            forward_dense(fn, l, n, layer_input(fn, i, x), fn->act[i]);
        else if (l->op->kind == IR_DROPOUT)
            apply_dropout(fn, i, n, layer_input(fn, i, x), fn->act[i]);
        else
            forward_act(l, n, layer_input(fn, i, x), fn->act[i]);
    }
    fn->fwd_x = x;
    fn->fwd_n = n;
    return NTKC_OK;
}

int finite_net_forward(FiniteNet *fn, size_t n, const double *x, double *f, ntkc_error *err)
{
    if (run_forward(fn, n, x, err) != NTKC_OK)
        return err->code;
    memcpy(f, fn->act[fn->nlayers - 1], n * fn->nout * sizeof *f);
    return NTKC_OK;
}

/* Upper triangle of a·aᵀ (a: n×w row-major) into c (n×n). */
static void gram_upper(size_t n, size_t w, const double *a, double *c)
{
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)w, 1.0, a, (int)w, 0.0, c, (int)n);
}

/* This dense layer's block of J·Jᵀ: s_w²(δ·δ')(h·h') + s_b²(δ·δ'). */
static void add_ntk_block(FiniteNet *fn, const FiniteLayer *l, size_t n, const double *h, const double *delta,
                          double *ntk)
{
    gram_upper(n, l->out, delta, fn->gram_d);
    gram_upper(n, l->in, h, fn->gram_h);
    double ww = l->w_scale * l->w_scale, bb = l->has_b ? l->b_scale * l->b_scale : 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            double d = fn->gram_d[i * n + j];
            ntk[i * n + j] += d * (ww * fn->gram_h[i * n + j] + bb);
        }
}

/* Gradient of Σ δ∘z over this layer's W and β into grad; zero for a frozen
 * layer (trainable=false), so training leaves it where it was drawn. */
static void dense_param_grad(const FiniteLayer *l, size_t n, const double *h, const double *delta, double *grad)
{
    if (l->op->u.dense.frozen) {
        memset(grad + l->w_off, 0, l->out * l->in * sizeof *grad);
        if (l->has_b)
            memset(grad + l->b_off, 0, l->out * sizeof *grad);
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l->out, (int)l->in, (int)n, l->w_scale, delta,
                (int)l->out, h, (int)l->in, 0.0, grad + l->w_off, (int)l->in);
    if (!l->has_b)
        return;
    double *gb = grad + l->b_off;
    for (size_t c = 0; c < l->out; c++)
        gb[c] = 0.0;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < l->out; c++)
            gb[c] += l->b_scale * delta[r * l->out + c];
}

/* Backpropagates fn->g (n×nout, ∂(objective)/∂f per row) from the output to
 * the first layer, after run_forward on the same batch. Each dense layer adds
 * its NTK block to ntk and/or writes its parameter gradient into grad. */
static void backprop(FiniteNet *fn, size_t n, const double *x, double *ntk, double *grad)
{
    double *g = fn->g, *g2 = fn->g2;
    for (size_t i = fn->nlayers; i-- > 0;) {
        const FiniteLayer *l = &fn->layers[i];
        const double *in = layer_input(fn, i, x);
        if (l->op->kind == IR_ACT) {
            const IrAct *a = &l->op->u.act;
            for (size_t e = 0; e < n * l->out; e++)
                g[e] *= a->def->dphi(a->def, in[e], a->p);
            continue;
        }
        if (l->op->kind == IR_DROPOUT) {
            apply_dropout(fn, i, n, g, g);
            continue;
        }
        if (ntk != NULL && !l->op->u.dense.frozen)
            add_ntk_block(fn, l, n, in, g, ntk);
        if (grad != NULL)
            dense_param_grad(l, n, in, g, grad);
        if (i == 0)
            break;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)l->in, (int)l->out, l->w_scale, g,
                    (int)l->out, fn->params + l->w_off, (int)l->in, 0.0, g2, (int)l->in);
        double *t = g;
        g = g2;
        g2 = t;
    }
}

int finite_net_accumulate_kernels(FiniteNet *fn, size_t n, const double *x, double *nngp, double *ntk,
                                  ntkc_error *err)
{
    if (fn->nout != 1) {
        err_internal(err, "finite net: kernels are defined for one output unit, the net has %zu", fn->nout);
        return err->code;
    }
    if (run_forward(fn, n, x, err) != NTKC_OK)
        return err->code;
    const double *f = fn->act[fn->nlayers - 1];
    if (nngp != NULL)
        for (size_t i = 0; i < n; i++)
            for (size_t j = i; j < n; j++)
                nngp[i * n + j] += f[i] * f[j];
    if (ntk == NULL)
        return NTKC_OK;
    if (reserve_grams(fn, n, err) != NTKC_OK)
        return err->code;
    for (size_t i = 0; i < n; i++)
        fn->g[i] = 1.0;
    backprop(fn, n, x, ntk, NULL);
    return NTKC_OK;
}

int finite_net_vjp(FiniteNet *fn, size_t n, const double *x, const double *g, double *grad, ntkc_error *err)
{
    if (fn->fwd_x != x || fn->fwd_n != n || fn->cap < n) {
        err_internal(err, "finite net: gradient requested without a forward pass on the same batch");
        return err->code;
    }
    memcpy(fn->g, g, n * fn->nout * sizeof *g);
    backprop(fn, n, x, NULL, grad);
    return NTKC_OK;
}

int finite_net_accumulate_unit_ntk(FiniteNet *fn, size_t n, const double *x, size_t unit, double *ntk,
                                   ntkc_error *err)
{
    if (unit >= fn->nout) {
        err_internal(err, "finite net: output unit %zu of %zu", unit, fn->nout);
        return err->code;
    }
    if (run_forward(fn, n, x, err) != NTKC_OK || reserve_grams(fn, n, err) != NTKC_OK)
        return err->code;
    memset(fn->g, 0, n * fn->nout * sizeof *fn->g);
    for (size_t i = 0; i < n; i++)
        fn->g[i * fn->nout + unit] = 1.0;
    backprop(fn, n, x, ntk, NULL);
    return NTKC_OK;
}

/* Tangent of a dense layer: s_w·(h·dWᵀ + t_in·Wᵀ) + s_b·dβ (t_in NULL: the
 * input does not depend on the parameters). */
static void jvp_dense(const FiniteNet *fn, const FiniteLayer *l, size_t n, const double *h, const double *t_in,
                      const double *v, double *t)
{
    /* a frozen layer (trainable=false) is not among the parameters: its dW, dβ do not move it */
    int frozen = l->op->u.dense.frozen;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)l->out, (int)l->in, frozen ? 0.0 : l->w_scale,
                h, (int)l->in, v + l->w_off, (int)l->in, 0.0, t, (int)l->out);
    if (t_in != NULL)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)l->out, (int)l->in, l->w_scale, t_in,
                    (int)l->in, fn->params + l->w_off, (int)l->in, 1.0, t, (int)l->out);
    if (l->has_b && !frozen)
        for (size_t r = 0; r < n; r++)
            for (size_t c = 0; c < l->out; c++)
                t[r * l->out + c] += l->b_scale * v[l->b_off + c];
}

int finite_net_jvp(FiniteNet *fn, size_t n, const double *x, const double *v, double *out, ntkc_error *err)
{
    if (fn->fwd_x != x || fn->fwd_n != n || fn->cap < n) {
        err_internal(err, "finite net: a tangent requested without a forward pass on the same batch");
        return err->code;
    }
    double *t = fn->g, *t2 = fn->g2;
    for (size_t i = 0; i < fn->nlayers; i++) {
        const FiniteLayer *l = &fn->layers[i];
        const double *in = layer_input(fn, i, x);
        if (l->op->kind == IR_ACT) {
            const IrAct *a = &l->op->u.act;
            for (size_t e = 0; e < n * l->out; e++)
                t[e] *= a->def->dphi(a->def, in[e], a->p);
            continue;
        }
        if (l->op->kind == IR_DROPOUT) {
            apply_dropout(fn, i, n, t, t);
            continue;
        }
        jvp_dense(fn, l, n, in, i == 0 ? NULL : t, v, t2);
        double *s = t;
        t = t2;
        t2 = s;
    }
    memcpy(out, t, n * fn->nout * sizeof *out);
    return NTKC_OK;
}
