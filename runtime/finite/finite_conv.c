/* Finite-width image and branching networks: layout mirroring the IR tree,
 * forward and backward passes one input at a time (fconv_im2col + BLAS for the
 * convolutions), per-input parameter gradients, and the Monte Carlo kernels.
 * Conventions in finite_conv.h. */
#include "finite_conv.h"
#include "finite_conv_internal.h"
#include "finite_conv_dropout.h"
#include "finite_resize.h"
#include "ntkc_err.h"

#include "finite_attn.h"
#include "finite_refuse.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


static double *dalloc(Fc *f, size_t n)
{
    double *p = calloc(n ? n : 1, sizeof(double));
    if (p == NULL && f->err->code == NTKC_OK)
        err_internal(f->err, "finite conv net: out of memory for %zu values", n);
    return p;
}

size_t fconv_len_out(const Node *nd) { return nd->ho * nd->wo * nd->co; }
static int row_taps(const IrWindow *w);
static size_t len_in(const Node *nd) { return nd->hi * nd->wi * nd->ci; }

/* ---- layout -------------------------------------------------------------- */

static int lay_list(Fc *f, const IrOp *ops, size_t n, Node **out, size_t h, size_t w, size_t c, size_t last_co,
                    size_t *oh, size_t *ow, size_t *oc);

/* co: output channels, f->width unless the layer ends a summed branch. */
static void lay_affine(Fc *f, Node *nd, size_t co)
{
    const IrOp *op = nd->op;
    if (op->kind == IR_CONV) {
        nd->win = op->u.conv.win;
        nd->ws = op->u.conv.w_std, nd->bs = op->u.conv.b_std;
        nd->frozen = op->u.conv.frozen;
        nd->ho = op->out.h, nd->wo = op->out.w;
    } else {
        nd->win = (IrWindow){1, 1, 1, 1, 0, 0, IR_PAD_VALID, 1, 1, 0, 0, 0, 0, 0, 0};
        nd->ws = op->u.dense.w_std, nd->bs = op->u.dense.b_std;
        nd->frozen = op->u.dense.frozen;
        nd->ho = nd->hi, nd->wo = nd->wi;
    }
    int readout = op == f->readout;
    nd->co = readout && f->nout ? f->nout : co ? co : f->width;
    nd->k = (size_t)row_taps(&nd->win) * (size_t)nd->win.kw * nd->ci;
    nd->ws /= sqrt((double)nd->k);
    nd->has_b = nd->bs != 0.0;
    nd->w_init = nd->b_init = 1.0;
    if (f->net->param == PARAM_STANDARD)
        fconv_standard_scales(nd);
    else if (f->mup) { /* finite_net.h: N(0, 1/n) weights, √n more multiplier before the readout */
        double n = (double)f->width;
        nd->w_init = 1.0 / sqrt(n);
        nd->b_init = readout ? 1.0 : 1.0 / sqrt(n);
        nd->ws *= readout ? 1.0 : sqrt(n);
        nd->bs *= readout ? 1.0 : sqrt(n);
    }
    nd->w_off = f->nparams;
    f->nparams += nd->k * nd->co;
    nd->b_off = f->nparams;
    f->nparams += nd->has_b ? nd->co : 0;
    nd->cols = dalloc(f, nd->ho * nd->wo * nd->k);
    nd->gcols = dalloc(f, nd->ho * nd->wo * nd->k);
}

static int lay_fanout(Fc *f, Node *nd)
{
    const IrFanout *fo = &nd->op->u.fanout;
    nd->nbr = fo->nbranches;
    nd->br = calloc(fo->nbranches, sizeof *nd->br);
    if (nd->br == NULL) {
        err_internal(f->err, "finite conv net: out of memory");
        return f->err->code;
    }
    nd->co = 0;
    /* Summed or multiplied branches must output as many channels as each
     * other: as the input when one branch is the identity (after flatten or
     * a concat that is not the width), else the width. Every such branch
     * ends in an affine layer (lowering checks it). */
    size_t match = 0;
    int spatial = fo->mode == IR_FANIN_CONCAT && fo->axis != IR_CONCAT_CHANNELS;
    for (size_t b = 0; b < fo->nbranches && (fo->mode != IR_FANIN_CONCAT || spatial); b++)
        if (fo->branches[b].nops == 0)
            match = nd->ci;
    for (size_t b = 0; b < fo->nbranches; b++) {
        size_t h, w, c;
        nd->br[b].n = fo->branches[b].nops;
        if (lay_list(f, fo->branches[b].ops, fo->branches[b].nops, &nd->br[b].nodes, nd->hi, nd->wi, nd->ci, match,
                     &h, &w, &c) != NTKC_OK)
            return f->err->code;
        nd->ho = h, nd->wo = w;
        nd->co = fo->mode == IR_FANIN_CONCAT && !spatial ? nd->co + c : c;
    }
    if (spatial) /* the branches' grids joined: finite_conv_concat.c */
        nd->ho = nd->op->out.h, nd->wo = nd->op->out.w;
    nd->tmp = dalloc(f, len_in(nd));
    return f->err->code;
}

static int lay_node(Fc *f, Node *nd, size_t affine_co)
{
    const IrOp *op = nd->op;
    nd->ho = nd->hi, nd->wo = nd->wi, nd->co = nd->ci;
    switch (op->kind) {
    case IR_CONV:
    case IR_DENSE:
        lay_affine(f, nd, affine_co);
        break;
    case IR_CONV_TRANSPOSE:
    case IR_CONV_LOCAL:
        if (fcv_lay(f, nd, affine_co) != NTKC_OK)
            return f->err->code;
        break;
    case IR_IMAGE_RESIZE: /* finite_resize.c */
        if (frs_lay(f, nd) != NTKC_OK)
            return f->err->code;
        break;
    case IR_POOL:
        nd->win = op->u.pool.win;
        nd->ho = op->out.h, nd->wo = op->out.w;
        break;
    case IR_GLOBAL_POOL:
    case IR_INDEX:
        nd->ho = nd->wo = 1;
        break;
    case IR_FLATTEN:
        nd->ho = nd->wo = 1;
        nd->co = nd->hi * nd->wi * nd->ci;
        break;
    case IR_FANOUT:
        if (lay_fanout(f, nd) != NTKC_OK)
            return f->err->code;
        break;
    case IR_ATTENTION:
        nd->co = affine_co ? affine_co : f->width;
        if (f->net->param == PARAM_STANDARD && op->u.attn.width > 0) /* its declared n_chan_out */
            nd->co = (size_t)op->u.attn.width;
        nd->attn = malloc(sizeof *nd->attn);
        int rc = nd->attn ? finite_attn_init(nd->attn, &op->u.attn, nd->hi * nd->wi, nd->ci, nd->co, f->width,
                                             &f->nparams)
                          : -1;
        if (rc == -2)
            err_user(f->err, "finite net '%s': attention at line %d concatenates pos_channels·%zu = %g embedding "
                             "channels: a whole number is needed (change pos_channels or the width)",
                     f->net->name, op->pos.line, nd->ci, op->u.attn.pos_channels * (double)nd->ci);
        else if (rc != 0)
            err_internal(f->err, "finite conv net: out of memory for an attention layer");
        if (rc != 0)
            return f->err->code;
        break;
    case IR_ACT:
    case IR_LAYER_NORM:
        break;
    case IR_DROPOUT: /* finite_conv_dropout.c */
        nd->drop_id = f->ndrop++;
        break;
    case IR_AGGREGATE: /* graph nets: finite_graph.c; fconv_new refuses them */
    case IR_READOUT:
        break;
    }
    nd->out = dalloc(f, fconv_len_out(nd));
    nd->g = dalloc(f, fconv_len_out(nd));
    nd->t = dalloc(f, fconv_len_out(nd));
    return f->err->code;
}

/* last_co: output channels of the list's last layer when it is affine (0: the width). */
static int lay_list(Fc *f, const IrOp *ops, size_t n, Node **out, size_t h, size_t w, size_t c, size_t last_co,
                    size_t *oh, size_t *ow, size_t *oc)
{
    Node *nodes = calloc(n ? n : 1, sizeof *nodes);
    *out = nodes;
    if (nodes == NULL) {
        err_internal(f->err, "finite conv net: out of memory");
        return f->err->code;
    }
    size_t tail = n; /* the last affine layer may be followed by pooling (a fresh branch, ir_fanout.h) */
    while (tail > 0 && ops[tail - 1].kind == IR_POOL)
        tail--;
    for (size_t i = 0; i < n; i++) {
        Node *nd = &nodes[i];
        nd->op = &ops[i];
        nd->hi = h, nd->wi = w, nd->ci = c;
        if (lay_node(f, nd, i + 1 == tail ? last_co : 0) != NTKC_OK)
            return f->err->code;
        h = nd->ho, w = nd->wo, c = nd->co;
    }
    *oh = h, *ow = w, *oc = c;
    return NTKC_OK;
}

static void free_list(Node *nodes, size_t n)
{
    if (nodes == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        Node *nd = &nodes[i];
        for (size_t b = 0; b < nd->nbr; b++)
            free_list(nd->br[b].nodes, nd->br[b].n);
        free(nd->br);
        if (nd->attn)
            finite_attn_free(nd->attn);
        free(nd->attn);
        free(nd->cols);
        free(nd->gcols);
        free(nd->out);
        free(nd->g);
        free(nd->t);
        free(nd->tmp);
    }
    free(nodes);
}

/* ---- forward ------------------------------------------------------------- */

/* Input pixel of output position m, tap d along an axis of n; -1 when padding. */
static long src_index(size_t m, int d, int s, int p, size_t n, int cyc)
{
    long r = (long)m * s + d - p;
    if (cyc)
        return ((r % (long)n) + (long)n) % (long)n;
    return r < 0 || r >= (long)n ? -1 : r;
}

/* Row taps of a window: kh, or kd·kh on a volume (ir.h: its rows stack the
 * slices; row tap u is depth tap u / kh, row tap u % kh). */
static int row_taps(const IrWindow *w) { return w->kd ? w->kd * w->kh : w->kh; }

/* The input row that row tap u of output row m reads, or -1 (padding). */
static long row_src(const Node *nd, size_t m, int u, int cyc)
{
    const IrWindow *w = &nd->win;
    if (!w->kd)
        return src_index(m, u * w->dh, w->sh, w->pt, nd->hi, cyc);
    size_t hi = nd->hi / (size_t)w->zi, ho = nd->ho / (size_t)w->zo;
    long z = src_index(m / ho, (u / w->kh) * w->dd, w->sd, w->pf, (size_t)w->zi, cyc);
    long y = src_index(m % ho, (u % w->kh) * w->dh, w->sh, w->pt, hi, cyc);
    return z < 0 || y < 0 ? -1 : z * (long)hi + y;
}

void fconv_im2col(const Node *nd, const double *in, double *cols)
{
    const IrWindow *w = &nd->win;
    int cyc = w->pad == IR_PAD_CIRCULAR;
    for (size_t oy = 0; oy < nd->ho; oy++)
        for (size_t ox = 0; ox < nd->wo; ox++) {
            double *row = cols + (oy * nd->wo + ox) * nd->k;
            for (int dy = 0; dy < row_taps(w); dy++)
                for (int dx = 0; dx < w->kw; dx++) {
                    double *dst = row + ((size_t)dy * (size_t)w->kw + (size_t)dx) * nd->ci;
                    long y = row_src(nd, oy, dy, cyc);
                    long x = src_index(ox, dx * w->dw, w->sw, w->pl, nd->wi, cyc);
                    if (y < 0 || x < 0)
                        memset(dst, 0, nd->ci * sizeof *dst);
                    else
                        memcpy(dst, in + ((size_t)y * nd->wi + (size_t)x) * nd->ci, nd->ci * sizeof *dst);
                }
        }
}

static void forward_affine(const Fc *f, Node *nd, const double *in)
{
    size_t P = nd->ho * nd->wo;
    fconv_im2col(nd, in, nd->cols);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)P, (int)nd->co, (int)nd->k, nd->ws, nd->cols,
                (int)nd->k, f->params + nd->w_off, (int)nd->co, 0.0, nd->out, (int)nd->co);
    if (nd->has_b)
        for (size_t p = 0; p < P; p++)
            for (size_t c = 0; c < nd->co; c++)
                nd->out[p * nd->co + c] += nd->bs * f->params[nd->b_off + c];
}

/* Pooling as a list of (output, input) pixel pairs visited by fn. */
void fconv_pool_visit(const Node *nd, void (*fn)(const Node *, size_t o, size_t i, void *), void *ctx)
{
    const IrWindow *w = &nd->win;
    int cyc = w->pad == IR_PAD_CIRCULAR;
    for (size_t oy = 0; oy < nd->ho; oy++)
        for (size_t ox = 0; ox < nd->wo; ox++)
            for (int dy = 0; dy < row_taps(w); dy++)
                for (int dx = 0; dx < w->kw; dx++) {
                    long y = row_src(nd, oy, dy, cyc);
                    long x = src_index(ox, dx * w->dw, w->sw, w->pl, nd->wi, cyc);
                    if (y >= 0 && x >= 0)
                        fn(nd, oy * nd->wo + ox, (size_t)y * nd->wi + (size_t)x, ctx);
                }
}

/* In-bounds taps of output m's window along an axis (normalize_edges). */
static size_t taps_inside(size_t m, int k, int s, int p, size_t n)
{
    long lo = (long)m * s - p, hi = lo + k;
    lo = lo < 0 ? 0 : lo;
    hi = hi > (long)n ? (long)n : hi;
    return hi > lo ? (size_t)(hi - lo) : 0;
}

/* The multiplier of output pixel o: 1/|F| (avg), 1 (sum), or 1 over the
 * window's in-bounds pixels (avg_pool(normalize_edges=true); circular
 * windows are always whole). */
static double pool_scale(const Node *nd, size_t o)
{
    const IrWindow *w = &nd->win;
    if (!nd->op->u.pool.average)
        return 1.0;
    if (!nd->op->u.pool.normalize_edges || w->pad == IR_PAD_CIRCULAR)
        return 1.0 / ((double)row_taps(w) * w->kw);
    size_t n = taps_inside(o % nd->wo, w->kw, w->sw, w->pl, nd->wi), oy = o / nd->wo;
    if (w->kd) { /* a volume: rows stack the slices (ir.h) */
        size_t ho = nd->ho / (size_t)w->zo, hi = nd->hi / (size_t)w->zi;
        n *= taps_inside(oy / ho, w->kd, w->sd, w->pf, (size_t)w->zi) * taps_inside(oy % ho, w->kh, w->sh, w->pt, hi);
    } else {
        n *= taps_inside(oy, w->kh, w->sh, w->pt, nd->hi);
    }
    return n ? 1.0 / (double)n : 0.0;
}


void fconv_pool_fwd(const Node *nd, size_t o, size_t i, void *ctx)
{
    const PoolIo *io = ctx;
    double c = pool_scale(nd, o);
    for (size_t ch = 0; ch < nd->ci; ch++)
        io->out[o * nd->co + ch] += c * io->in[i * nd->ci + ch];
}

static void pool_bwd(const Node *nd, size_t o, size_t i, void *ctx)
{
    double *gin = ctx, c = pool_scale(nd, o);
    for (size_t ch = 0; ch < nd->ci; ch++)
        gin[i * nd->ci + ch] += c * nd->g[o * nd->co + ch];
}

/* ---- padding -------------------------------------------------------------- */

/* Padded positions of a node's output (while it has the input's positions)
 * are 0: every layer reads its input with padding zeroed (neural-tangents'
 * supports_masking). The same in the backward pass on the gradient. */
static void zero_padding(const Fc *f, const Node *nd, double *v)
{
    if (f->mask == NULL || nd->ho * nd->wo != f->npos || nd->op->kind == IR_GLOBAL_POOL ||
        nd->op->kind == IR_FLATTEN || nd->op->kind == IR_INDEX)
        return;
    for (size_t p = 0; p < f->npos; p++)
        if (f->mask[p] == 0.0)
            memset(v + p * nd->co, 0, nd->co * sizeof *v);
}

/* Positions global pooling averages over: the unpadded ones. */
static double unpadded(const Fc *f, size_t P)
{
    double k = 0.0;
    if (f->mask == NULL || P != f->npos)
        return (double)P;
    for (size_t p = 0; p < P; p++)
        k += f->mask[p];
    return k;
}

static void forward_fanout(Fc *f, Node *nd, const double *in)
{
    const IrFanout *fo = &nd->op->u.fanout;
    size_t len = fconv_len_out(nd), off = 0;
    for (size_t b = 0; b < nd->nbr; b++) {
        Branch *br = &nd->br[b];
        fconv_forward_list(f, br->nodes, br->n, in);
        const double *o = br->n ? br->nodes[br->n - 1].out : in;
        if (fconv_spatial_concat(nd)) {
            fconv_concat_block(nd, b, nd->out, (double *)o, 1);
        } else if (fo->mode == IR_FANIN_CONCAT) {
            size_t cb = br->n ? br->nodes[br->n - 1].co : nd->ci;
            for (size_t p = 0; p < nd->ho * nd->wo; p++)
                memcpy(nd->out + p * nd->co + off, o + p * cb, cb * sizeof *o);
            off += cb;
        } else if (fo->mode == IR_FANIN_SUM) {
            double s = fo->branches[b].scale;
            for (size_t e = 0; e < len; e++)
                nd->out[e] = (b ? nd->out[e] : 0.0) + s * o[e];
        } else {
            for (size_t e = 0; e < len; e++)
                nd->out[e] = (b ? nd->out[e] : 1.0) * o[e];
        }
    }
}

static void forward_node(Fc *f, Node *nd, const double *in)
{
    nd->in = in;
    size_t n = fconv_len_out(nd);
    switch (nd->op->kind) {
    case IR_CONV:
    case IR_DENSE:
        forward_affine(f, nd, in);
        break;
    case IR_CONV_TRANSPOSE:
    case IR_CONV_LOCAL:
        fcv_forward(f, nd, in);
        break;
    case IR_IMAGE_RESIZE:
        frs_apply(nd, in, nd->out);
        break;
    case IR_ACT:
        for (size_t e = 0; e < n; e++)
            nd->out[e] = nd->op->u.act.def->phi(nd->op->u.act.def, in[e], nd->op->u.act.p);
        break;
    case IR_POOL:
        memset(nd->out, 0, n * sizeof *nd->out);
        fconv_pool_visit(nd, fconv_pool_fwd, &(PoolIo){in, nd->out});
        break;
    case IR_GLOBAL_POOL: {
        size_t P = nd->hi * nd->wi;
        double c = nd->op->u.gpool.average ? 1.0 / unpadded(f, P) : 1.0;
        memset(nd->out, 0, n * sizeof *nd->out);
        for (size_t p = 0; p < P; p++)
            for (size_t ch = 0; ch < nd->ci; ch++)
                nd->out[ch] += c * in[p * nd->ci + ch];
        break;
    }
    case IR_FLATTEN:
        memcpy(nd->out, in, n * sizeof *in);
        break;
    case IR_INDEX: /* one position's channels */
        memcpy(nd->out, in + nd->op->u.index.pos * nd->ci, nd->ci * sizeof *in);
        break;
    case IR_LAYER_NORM:
        fconv_layer_norm_fwd(f, nd, in);
        break;
    case IR_FANOUT:
        forward_fanout(f, nd, in);
        break;
    case IR_ATTENTION:
        nd->attn->mask = f->mask;
        finite_attn_forward(nd->attn, f->params, in, nd->out);
        break;
    case IR_DROPOUT: /* finite_conv_dropout.c */
        fdrop_apply(f, nd, in, nd->out);
        break;
    case IR_AGGREGATE: /* graph nets: finite_graph.c; fconv_new refuses them */
    case IR_READOUT:
        break;
    }
}

void fconv_forward_list(Fc *f, Node *nodes, size_t n, const double *in)
{
    for (size_t i = 0; i < n; i++) {
        forward_node(f, &nodes[i], in);
        zero_padding(f, &nodes[i], nodes[i].out);
        in = nodes[i].out;
    }
}

/* ---- backward ------------------------------------------------------------ */

static void backward_affine(Fc *f, Node *nd, double *gin)
{
    size_t P = nd->ho * nd->wo;
    if (nd->frozen) /* trainable=false: its parameters are not trained, their gradient is 0 */
        memset(f->grad + nd->w_off, 0, (nd->b_off + (nd->has_b ? nd->co : 0) - nd->w_off) * sizeof *f->grad);
    else
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nd->k, (int)nd->co, (int)P, nd->ws, nd->cols,
                    (int)nd->k, nd->g, (int)nd->co, 0.0, f->grad + nd->w_off, (int)nd->co);
    if (nd->has_b && !nd->frozen)
        for (size_t c = 0; c < nd->co; c++) {
            double s = 0;
            for (size_t p = 0; p < P; p++)
                s += nd->g[p * nd->co + c];
            f->grad[nd->b_off + c] = nd->bs * s;
        }
    if (gin == NULL)
        return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)P, (int)nd->k, (int)nd->co, nd->ws, nd->g,
                (int)nd->co, f->params + nd->w_off, (int)nd->co, 0.0, nd->gcols, (int)nd->k);
    /* col2im */
    const IrWindow *w = &nd->win;
    int cyc = w->pad == IR_PAD_CIRCULAR;
    memset(gin, 0, len_in(nd) * sizeof *gin);
    for (size_t oy = 0; oy < nd->ho; oy++)
        for (size_t ox = 0; ox < nd->wo; ox++) {
            const double *row = nd->gcols + (oy * nd->wo + ox) * nd->k;
            for (int dy = 0; dy < row_taps(w); dy++)
                for (int dx = 0; dx < w->kw; dx++) {
                    long y = row_src(nd, oy, dy, cyc);
                    long x = src_index(ox, dx * w->dw, w->sw, w->pl, nd->wi, cyc);
                    if (y < 0 || x < 0)
                        continue;
                    const double *src = row + ((size_t)dy * (size_t)w->kw + (size_t)dx) * nd->ci;
                    double *dst = gin + ((size_t)y * nd->wi + (size_t)x) * nd->ci;
                    for (size_t c = 0; c < nd->ci; c++)
                        dst[c] += src[c];
                }
        }
}

/* ∂f/∂(branch b's output) from the fan-in's gradient nd->g, into gb. */
static void fanin_grad(const Node *nd, size_t b, double *gb, size_t *off)
{
    const IrFanout *fo = &nd->op->u.fanout;
    const Branch *br = &nd->br[b];
    size_t len = fconv_len_out(nd);
    if (fconv_spatial_concat(nd)) {
        fconv_concat_block(nd, b, nd->g, gb, 0);
    } else if (fo->mode == IR_FANIN_CONCAT) {
        size_t cb = br->n ? br->nodes[br->n - 1].co : nd->ci;
        for (size_t p = 0; p < nd->ho * nd->wo; p++)
            memcpy(gb + p * cb, nd->g + p * nd->co + *off, cb * sizeof *gb);
        *off += cb;
    } else if (fo->mode == IR_FANIN_SUM) {
        for (size_t e = 0; e < len; e++)
            gb[e] = fo->branches[b].scale * nd->g[e];
    } else {
        for (size_t e = 0; e < len; e++) {
            double prod = nd->g[e];
            for (size_t c = 0; c < nd->nbr; c++)
                if (c != b)
                    prod *= nd->br[c].n ? nd->br[c].nodes[nd->br[c].n - 1].out[e] : nd->in[e];
            gb[e] = prod;
        }
    }
}

static void backward_fanout(Fc *f, Node *nd, double *gin)
{
    size_t off = 0;
    if (gin)
        memset(gin, 0, len_in(nd) * sizeof *gin);
    for (size_t b = 0; b < nd->nbr; b++) {
        Branch *br = &nd->br[b];
        if (br->n == 0) { /* identity: the gradient passes through */
            fanin_grad(nd, b, nd->tmp, &off);
        } else {
            Node *last = &br->nodes[br->n - 1];
            fanin_grad(nd, b, last->g, &off);
            fconv_backward_list(f, br->nodes, br->n, last->g, nd->tmp);
        }
        if (gin)
            for (size_t e = 0; e < len_in(nd); e++)
                gin[e] += nd->tmp[e];
    }
}

/* Propagates nd->g (set by the caller) into gin (NULL at the net's input). */
static void backward_node(Fc *f, Node *nd, double *gin)
{
    size_t n = fconv_len_out(nd);
    switch (nd->op->kind) {
    case IR_CONV:
    case IR_DENSE:
        backward_affine(f, nd, gin);
        return;
    case IR_CONV_TRANSPOSE:
    case IR_CONV_LOCAL:
        fcv_backward(f, nd, gin);
        return;
    case IR_FANOUT:
        backward_fanout(f, nd, gin);
        return;
    case IR_ATTENTION:
        finite_attn_backward(nd->attn, f->params, nd->in, nd->g, f->grad, gin);
        return;
    default:
        break;
    }
    if (gin == NULL)
        return;
    switch (nd->op->kind) {
    case IR_ACT:
        for (size_t e = 0; e < n; e++)
            gin[e] = nd->g[e] * nd->op->u.act.def->dphi(nd->op->u.act.def, nd->in[e], nd->op->u.act.p);
        break;
    case IR_POOL:
        memset(gin, 0, len_in(nd) * sizeof *gin);
        fconv_pool_visit(nd, pool_bwd, gin);
        break;
    case IR_GLOBAL_POOL: {
        size_t P = nd->hi * nd->wi;
        double c = nd->op->u.gpool.average ? 1.0 / unpadded(f, P) : 1.0;
        for (size_t p = 0; p < P; p++)
            for (size_t ch = 0; ch < nd->ci; ch++)
                gin[p * nd->ci + ch] = c * nd->g[ch];
        break;
    }
    case IR_FLATTEN:
        memcpy(gin, nd->g, n * sizeof *gin);
        break;
    case IR_INDEX:
        memset(gin, 0, len_in(nd) * sizeof *gin);
        memcpy(gin + nd->op->u.index.pos * nd->ci, nd->g, nd->ci * sizeof *gin);
        break;
    case IR_IMAGE_RESIZE:
        frs_adjoint(nd, nd->g, gin);
        break;
    case IR_DROPOUT:
        fdrop_apply(f, nd, nd->g, gin);
        break;
    case IR_LAYER_NORM:
        fconv_layer_norm_jac(f, nd, nd->g, gin);
        break;
    default:
        break;
    }
}

/* gout is the gradient at the list's output (already in nodes[n-1].g when n > 0). */
void fconv_backward_list(Fc *f, Node *nodes, size_t n, const double *gout, double *gin)
{
    (void)gout;
    for (size_t i = n; i-- > 0;) {
        zero_padding(f, &nodes[i], nodes[i].g);
        backward_node(f, &nodes[i], i > 0 ? nodes[i - 1].g : gin);
    }
}

/* ---- parameters and the kernels ---------------------------------------- */

void fconv_init_list(Fc *f, Node *nodes, size_t n, Rng *r)
{
    for (size_t i = 0; i < n; i++) {
        Node *nd = &nodes[i];
        if (nd->op->kind == IR_CONV || nd->op->kind == IR_DENSE) {
            rng_fill_normal(r, f->params + nd->w_off, nd->k * nd->co, nd->w_init);
            if (nd->has_b)
                rng_fill_normal(r, f->params + nd->b_off, nd->co, nd->b_init);
        }
        if (fcv_is_variant(nd->op)) {
            rng_fill_normal(r, f->params + nd->w_off, fcv_weights(nd), nd->w_init);
            rng_fill_normal(r, f->params + nd->b_off, fcv_biases(nd), nd->b_init);
        }
        if (nd->attn)
            rng_fill_normal(r, f->params + nd->attn->p_off, nd->attn->p_count, 1.0);
        for (size_t b = 0; b < nd->nbr; b++)
            fconv_init_list(f, nd->br[b].nodes, nd->br[b].n, r);
    }
}

static int has_affine(const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_CONV || ops[i].kind == IR_DENSE || ops[i].kind == IR_ATTENTION || fcv_is_variant(&ops[i]))
            return 1;
        if (ops[i].kind == IR_FANOUT)
            for (size_t b = 0; b < ops[i].u.fanout.nbranches; b++)
                if (has_affine(ops[i].u.fanout.branches[b].ops, ops[i].u.fanout.branches[b].nops))
                    return 1;
    }
    return 0;
}

/* The net must end in a top-level readout (dense or conv) followed only by
 * parameter-free layers other than flatten, so the units of its output are
 * exchangeable and unit 0's NTK is the kernel of any output unit. */
static int check_readout(const IrNet *net, ntkc_error *err)
{
    size_t last = net->nops;
    for (size_t i = 0; i < net->nops; i++)
        if (net->ops[i].kind == IR_CONV || net->ops[i].kind == IR_DENSE)
            last = i;
    int ok = last < net->nops && !has_affine(net->ops + last + 1, net->nops - last - 1);
    for (size_t i = last + 1; ok && i < net->nops; i++)
        ok = net->ops[i].kind != IR_FLATTEN;
    if (!ok)
        err_user(err,
                  "finite net '%s': the finite-width check needs a readout — a dense or conv layer at net level "
                  "followed only by activations, pooling or layer_norm",
                  net->name ? net->name : "<net>");
    return ok ? NTKC_OK : err->code;
}

void fconv_free(Fc *f)
{
    free_list(f->top, f->ntop);
    free(f->params);
    free(f->grad);
}

/* The last top-level affine layer, or NULL. */
static const IrOp *readout_of(const IrNet *net)
{
    const IrOp *last = NULL;
    for (size_t i = 0; i < net->nops; i++)
        if (net->ops[i].kind == IR_CONV || net->ops[i].kind == IR_DENSE)
            last = &net->ops[i];
    return last;
}

/* nout: the readout's channels (0: the width); mup: μP scalings. */
int fconv_new(Fc *f, const IrNet *net, size_t dim, size_t width, size_t nout, int mup, ntkc_error *err)
{
    memset(f, 0, sizeof *f);
    f->net = net, f->err = err, f->width = width, f->ntop = net->nops;
    f->readout = readout_of(net), f->nout = nout, f->mup = mup;
    if (finite_refuse_kernel_only(net, err) != NTKC_OK)
        return err->code;
    if (width == 0) {
        err_user(err, "finite net: the width must be at least 1");
        return err->code;
    }
    if (net->input.kind == IR_INPUT_GRAPH) {
        err_user(err, "finite net '%s': graph nets have their own finite-width networks (finite_graph.h)",
                  net->name);
        return err->code;
    }
    if (net->param != PARAM_NTK && mup) {
        err_user(err, "finite net '%s': the mean-field (muP) parameterization starts from a net under the NTK "
                       "parameterization, not the standard one", net->name);
        return err->code;
    }
    if (check_readout(net, err) != NTKC_OK)
        return err->code;
    int image = net->input.kind == IR_INPUT_IMAGE;
    size_t h, w, c;
    if (lay_list(f, net->ops, net->nops, &f->top, image ? net->input.h : 1, image ? net->input.w : 1,
                 image ? net->input.c : dim, 0, &h, &w, &c) != NTKC_OK)
        return err->code;
    f->out_units = h * w * c;
    f->params = dalloc(f, f->nparams);
    f->grad = dalloc(f, f->nparams);
    return err->code;
}

/* Inputs with padding (NaN in every channel of a position, ntkc_mask_inputs):
 * the inputs with padding zeroed, and the masks (1 value, 0 padded). */
typedef struct Padding {
    double *x, *mask;
} Padding;

/* NULL pad->x when no input has padding; -1 out of memory. */
static int padding_of(const Fc *f, size_t n, const double *x, size_t dim, Padding *pad)
{
    size_t P = f->npos, C = P ? dim / P : 0, any = 0;
    for (size_t e = 0; e < n * dim && !any; e++)
        any = isnan(x[e]);
    pad->x = pad->mask = NULL;
    if (!any || P == 0)
        return 0;
    pad->x = malloc(n * dim * sizeof *pad->x), pad->mask = malloc(n * P * sizeof *pad->mask);
    if (!pad->x || !pad->mask)
        return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < P; p++) {
            const double *r = x + i * dim + p * C;
            pad->mask[i * P + p] = isnan(r[0]) ? 0.0 : 1.0;
            for (size_t c = 0; c < C; c++)
                pad->x[i * dim + p * C + c] = isnan(r[0]) ? 0.0 : r[c];
        }
    return 0;
}

/* One sample: adds mean_o f_o f_oᵀ to nngp and J Jᵀ of unit 0 to ntk (full n×n). */
static int one_sample(Fc *f, size_t n, const double *x, size_t dim, const Padding *pad, double *F, double *G,
                      double *nngp, double *ntk)
{
    Node *last = &f->top[f->ntop - 1];
    for (size_t i = 0; i < n; i++) {
        f->mask = pad ? pad->mask + i * f->npos : NULL;
        f->row = i; /* its own dropout masks */
        fconv_forward_list(f, f->top, f->ntop, pad ? pad->x + i * dim : x + i * dim);
        memcpy(F + i * f->out_units, last->out, f->out_units * sizeof *F);
        if (ntk == NULL)
            continue;
        memset(last->g, 0, f->out_units * sizeof *last->g);
        last->g[0] = 1.0;
        memset(f->grad, 0, f->nparams * sizeof *f->grad);
        fconv_backward_list(f, f->top, f->ntop, last->g, NULL);
        memcpy(G + i * f->nparams, f->grad, f->nparams * sizeof *G);
    }
    f->mask = NULL;
    if (nngp)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)f->out_units,
                    1.0 / (double)f->out_units, F, (int)f->out_units, F, (int)f->out_units, 1.0, nngp, (int)n);
    if (ntk)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)f->nparams, 1.0, G,
                    (int)f->nparams, G, (int)f->nparams, 1.0, ntk, (int)n);
    return NTKC_OK;
}

int finite_conv_kernels(const IrNet *net, size_t n, const double *x, size_t dim, const FiniteNetOptions *opts,
                        double *nngp, double *ntk, ntkc_error *err)
{
    if (opts == NULL || opts->samples == 0 || n == 0 || x == NULL) {
        err_user(err, "finite net '%s': need at least one input and one sample", net->name ? net->name : "<net>");
        return err->code;
    }
    if (net->input.dim != 0 && net->input.dim != dim) {
        err_user(err, "finite net '%s' takes inputs of %zu values, the data have %zu", net->name, net->input.dim,
                  dim);
        return err->code;
    }
    Fc f;
    if (fconv_new(&f, net, dim, opts->width, 0, 0, err) != NTKC_OK) {
        fconv_free(&f);
        return err->code;
    }
    if (f.nparams > SIZE_MAX / sizeof(double) / n || f.nparams > INT32_MAX || f.out_units > INT32_MAX) {
        err_user(err, "finite net '%s': %zu parameters are too many for the check; lower --width", net->name,
                  f.nparams);
        fconv_free(&f);
        return err->code;
    }
    double *F = dalloc(&f, n * f.out_units), *G = ntk ? dalloc(&f, n * f.nparams) : NULL;
    Padding pad;
    f.npos = net->input.kind == IR_INPUT_IMAGE ? net->input.h * net->input.w : 0;
    if (padding_of(&f, n, x, dim, &pad) != 0)
        err_internal(err, "finite net '%s': out of memory for the padded inputs", net->name);
    if (nngp)
        memset(nngp, 0, n * n * sizeof *nngp);
    if (ntk)
        memset(ntk, 0, n * n * sizeof *ntk);
    Rng r;
    rng_seed(&r, opts->seed);
    for (size_t s = 0; s < opts->samples && err->code == NTKC_OK; s++) {
        fconv_init_list(&f, f.top, f.ntop, &r);
        if (f.ndrop) /* only nets with dropout draw a mask seed */
            f.drop_seed = rng_next(&r);
        one_sample(&f, n, x, dim, pad.x ? &pad : NULL, F, G, nngp, ntk);
    }
    double inv = 1.0 / (double)opts->samples;
    for (size_t e = 0; err->code == NTKC_OK && e < n * n; e++) {
        if (nngp)
            nngp[e] *= inv;
        if (ntk)
            ntk[e] *= inv;
        if ((nngp && !isfinite(nngp[e])) || (ntk && !isfinite(ntk[e])))
            err_user(err, "finite net '%s': the empirical kernel is not finite at (%zu, %zu)", net->name, e / n,
                      e % n);
    }
    free(F);
    free(G);
    free(pad.x);
    free(pad.mask);
    fconv_free(&f);
    return err->code;
}
