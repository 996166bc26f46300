/* The image finite net as finite_model.h's training interface: forward
 * tangents (J·v, one input at a time), μP's scalings checked layer by layer,
 * and the model's forward, vjp and jvp. Layout and passes: finite_conv.c. */
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "finite_attn_train.h"
#include "finite_conv_dropout.h"
#include "finite_conv_internal.h"
#include "finite_resize.h"
#include "finite_model.h"
#include "ntkc_err.h"

/* ---- forward tangent: J·v, one input at a time --------------------------- */

static void tangent_list(Fc *f, Node *nodes, size_t n, const double *tin, const double *v);

/* ws·(cols(ṫ)·W + cols(h)·V) + bs·v_β, cols(h) from the forward pass. */
static void tangent_affine(Fc *f, Node *nd, const double *tin, const double *v)
{
    size_t P = nd->ho * nd->wo;
    /* a frozen layer's W and β are not parameters the tangent moves (alpha 0 zeroes t) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)P, (int)nd->co, (int)nd->k,
                nd->frozen ? 0.0 : nd->ws, nd->cols, (int)nd->k, v + nd->w_off, (int)nd->co, 0.0, nd->t, (int)nd->co);
    if (tin) {
        fconv_im2col(nd, tin, nd->gcols);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)P, (int)nd->co, (int)nd->k, nd->ws, nd->gcols,
                    (int)nd->k, f->params + nd->w_off, (int)nd->co, 1.0, nd->t, (int)nd->co);
    }
    if (nd->has_b && !nd->frozen)
        for (size_t p = 0; p < P; p++)
            for (size_t c = 0; c < nd->co; c++)
                nd->t[p * nd->co + c] += nd->bs * v[nd->b_off + c];
}

/* A branch's output and its tangent (NULL: zero). */
static const double *branch_out(const Node *nd, size_t b)
{
    const Branch *br = &nd->br[b];
    return br->n ? br->nodes[br->n - 1].out : nd->in;
}

static void tangent_fanout(Fc *f, Node *nd, const double *tin, const double *v)
{
    const IrFanout *fo = &nd->op->u.fanout;
    size_t len = fconv_len_out(nd), off = 0;
    memset(nd->t, 0, len * sizeof *nd->t);
    for (size_t b = 0; b < nd->nbr; b++) {
        Branch *br = &nd->br[b];
        tangent_list(f, br->nodes, br->n, tin, v);
        const double *tb = br->n ? br->nodes[br->n - 1].t : tin;
        if (fconv_spatial_concat(nd)) {
            if (tb)
                fconv_concat_block(nd, b, nd->t, (double *)tb, 1);
        } else if (fo->mode == IR_FANIN_CONCAT) {
            size_t cb = br->n ? br->nodes[br->n - 1].co : nd->ci;
            for (size_t p = 0; tb && p < nd->ho * nd->wo; p++)
                memcpy(nd->t + p * nd->co + off, tb + p * cb, cb * sizeof *tb);
            off += cb;
        } else if (fo->mode == IR_FANIN_SUM) {
            for (size_t e = 0; tb && e < len; e++)
                nd->t[e] += fo->branches[b].scale * tb[e];
        } else { /* product rule */
            for (size_t e = 0; tb && e < len; e++) {
                double prod = tb[e];
                for (size_t c = 0; c < nd->nbr; c++)
                    if (c != b)
                        prod *= branch_out(nd, c)[e];
                nd->t[e] += prod;
            }
        }
    }
}

/* nd->t from the input's tangent tin (NULL: zero, the data). */
static void tangent_node(Fc *f, Node *nd, const double *tin, const double *v)
{
    size_t n = fconv_len_out(nd);
    if (nd->op->kind == IR_CONV || nd->op->kind == IR_DENSE) {
        tangent_affine(f, nd, tin, v);
        return;
    }
    if (nd->op->kind == IR_FANOUT) {
        tangent_fanout(f, nd, tin, v);
        return;
    }
    if (nd->op->kind == IR_ATTENTION) {
        finite_attn_tangent(nd->attn, f->params, nd->in, tin, v, nd->t);
        return;
    }
    if (fcv_is_variant(nd->op)) { /* finite_conv_variants.c */
        fcv_tangent(f, nd, tin, v);
        return;
    }
    memset(nd->t, 0, n * sizeof *nd->t);
    if (tin == NULL)
        return;
    switch (nd->op->kind) {
    case IR_ACT:
        for (size_t e = 0; e < n; e++)
            nd->t[e] = tin[e] * nd->op->u.act.def->dphi(nd->op->u.act.def, nd->in[e], nd->op->u.act.p);
        break;
    case IR_POOL:
        fconv_pool_visit(nd, fconv_pool_fwd, &(PoolIo){tin, nd->t});
        break;
    case IR_GLOBAL_POOL: {
        size_t P = nd->hi * nd->wi;
        double c = nd->op->u.gpool.average ? 1.0 / (double)P : 1.0;
        for (size_t p = 0; p < P; p++)
            for (size_t ch = 0; ch < nd->ci; ch++)
                nd->t[ch] += c * tin[p * nd->ci + ch];
        break;
    }
    case IR_FLATTEN:
        memcpy(nd->t, tin, n * sizeof *tin);
        break;
    case IR_INDEX:
        memcpy(nd->t, tin + nd->op->u.index.pos * nd->ci, nd->ci * sizeof *tin);
        break;
    case IR_IMAGE_RESIZE: /* finite_resize.c */
        frs_apply(nd, tin, nd->t);
        break;
    case IR_LAYER_NORM:
        fconv_layer_norm_jac(f, nd, tin, nd->t);
        break;
    case IR_DROPOUT: /* finite_conv_dropout.c: the forward pass's masks */
        fdrop_apply(f, nd, tin, nd->t);
        break;
    default:
        break;
    }
}

static void tangent_list(Fc *f, Node *nodes, size_t n, const double *tin, const double *v)
{
    for (size_t i = 0; i < n; i++) {
        tangent_node(f, &nodes[i], tin, v);
        tin = nodes[i].t;
    }
}

/* ---- μP: which fan-ins grow with the width ------------------------------ */

static int mup_list(Fc *f, const Node *nodes, size_t n, FiniteScaling in, const FiniteScaling *match,
                    FiniteScaling *out);

/* match: the scaling a summed branch's last affine layer must output (an
 * identity branch's), or NULL. */
static int mup_node(Fc *f, const Node *nd, FiniteScaling in, const FiniteScaling *match, FiniteScaling *out)
{
    const IrOp *op = nd->op;
    *out = in;
    if (op->kind == IR_ATTENTION)
        return finite_mup_refuse(f->net, op, "muP's scalings of the attention logits and values are not derived "
                                             "here (train attention nets under param ntk)", f->err);
    if (fcv_is_variant(op))
        return finite_mup_refuse(f->net, op, "its scalings are not derived yet for conv_transpose and conv_local (train "
                                             "them under the NTK parameterization)", f->err);
    if (op->kind == IR_CONV || op->kind == IR_DENSE) {
        if (finite_mup_affine(f->net, op, op == f->readout, in, out, f->err))
            return f->err->code;
        if (op != f->readout && match && *match != FINITE_SC_WIDTH)
            return finite_mup_refuse(f->net, op, "its outputs are summed with a branch that passes the input "
                                                 "through, whose channels do not grow with the width", f->err);
        return NTKC_OK;
    }
    if (op->kind != IR_FANOUT)
        return NTKC_OK;
    const IrFanout *fo = &op->u.fanout;
    int joined = fo->mode != IR_FANIN_CONCAT || fo->axis != IR_CONCAT_CHANNELS; /* outputs share channels */
    int identity = 0;
    for (size_t b = 0; b < nd->nbr; b++)
        identity |= nd->br[b].n == 0;
    for (size_t b = 0; b < nd->nbr; b++) {
        FiniteScaling bo = in;
        if (mup_list(f, nd->br[b].nodes, nd->br[b].n, in, identity && joined ? &in : NULL, &bo))
            return f->err->code;
        *out = b == 0 ? bo : (!joined && bo != *out ? FINITE_SC_MIXED : *out);
    }
    return NTKC_OK;
}

static int mup_list(Fc *f, const Node *nodes, size_t n, FiniteScaling in, const FiniteScaling *match,
                    FiniteScaling *out)
{
    size_t tail = n; /* the last affine layer, pooling after it (finite_conv.c lay_list) */
    while (tail > 0 && nodes[tail - 1].op->kind == IR_POOL)
        tail--;
    for (size_t i = 0; i < n; i++)
        if (mup_node(f, &nodes[i], in, i + 1 == tail ? match : NULL, &in))
            return f->err->code;
    *out = in;
    return NTKC_OK;
}

/* ---- the training interface (finite_model.h) ---------------------------- */

typedef struct ConvModel {
    Fc f;
    const double *fwd_row; /* the one input whose activations the nodes hold, or NULL */
} ConvModel;

static void cm_free(void *impl)
{
    ConvModel *cm = impl;
    fconv_free(&cm->f);
    free(cm);
}

static void cm_init(void *impl, Rng *r)
{
    ConvModel *cm = impl;
    if (cm->f.ndrop) /* as finite_net_init: masks of this init, train mode */
        cm->f.drop_seed = rng_next(r), cm->f.drop_eval = 0;
    fconv_init_list(&cm->f, cm->f.top, cm->f.ntop, r);
}

static void cm_dropout(void *impl, int train, uint64_t seed)
{
    ConvModel *cm = impl;
    cm->f.drop_eval = !train;
    if (train)
        cm->f.drop_seed = seed;
}

static double *cm_params(void *impl, size_t *count)
{
    ConvModel *cm = impl;
    *count = cm->f.nparams;
    return cm->f.params;
}

static int cm_forward(void *impl, const FiniteData *d, double *out, ntkc_error *err)
{
    ConvModel *cm = impl;
    Fc *f = &cm->f;
    f->err = err;
    const Node *last = &f->top[f->ntop - 1];
    for (size_t i = 0; i < d->rows; i++) {
        f->row = i; /* its own dropout masks */
        fconv_forward_list(f, f->top, f->ntop, d->x + i * d->dim);
        memcpy(out + i * f->out_units, last->out, f->out_units * sizeof *out);
    }
    cm->fwd_row = d->rows == 1 ? d->x : NULL;
    return err->code;
}

/* Per input: forward (unless it is the one just run), backward from g_i. */
static int cm_vjp(void *impl, const FiniteData *d, const double *g, double *grad, ntkc_error *err)
{
    ConvModel *cm = impl;
    Fc *f = &cm->f;
    f->err = err;
    Node *last = &f->top[f->ntop - 1];
    memset(grad, 0, f->nparams * sizeof *grad);
    for (size_t i = 0; i < d->rows; i++) {
        f->row = i;
        if (!(d->rows == 1 && cm->fwd_row == d->x))
            fconv_forward_list(f, f->top, f->ntop, d->x + i * d->dim);
        memcpy(last->g, g + i * f->out_units, f->out_units * sizeof *g);
        fconv_backward_list(f, f->top, f->ntop, last->g, NULL);
        for (size_t p = 0; p < f->nparams; p++)
            grad[p] += f->grad[p];
    }
    cm->fwd_row = d->rows == 1 ? d->x : NULL;
    return err->code;
}

static int cm_jvp(void *impl, const FiniteData *d, const double *v, double *out, ntkc_error *err)
{
    ConvModel *cm = impl;
    Fc *f = &cm->f;
    f->err = err;
    const Node *last = &f->top[f->ntop - 1];
    for (size_t i = 0; i < d->rows; i++) {
        f->row = i;
        if (!(d->rows == 1 && cm->fwd_row == d->x))
            fconv_forward_list(f, f->top, f->ntop, d->x + i * d->dim);
        tangent_list(f, f->top, f->ntop, NULL, v);
        memcpy(out + i * f->out_units, last->t, f->out_units * sizeof *out);
    }
    cm->fwd_row = d->rows == 1 ? d->x : NULL;
    return err->code;
}

static const FiniteModelOps conv_ops = {"image", cm_free, cm_init, cm_params, cm_forward, cm_vjp, cm_jvp, NULL,
                                        cm_dropout};

/* An attention layer with positional embeddings, or NULL: its tangent
 * (finite_attn_train.c) does not differentiate the embeddings yet. */
static const IrOp *attention_with_pos_emb(const IrOp *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == IR_ATTENTION && (ops[i].u.attn.pos_emb != 0 || ops[i].u.attn.val_pos_emb))
            return &ops[i];
        if (ops[i].kind == IR_FANOUT)
            for (size_t b = 0; b < ops[i].u.fanout.nbranches; b++) {
                const IrOp *a = attention_with_pos_emb(ops[i].u.fanout.branches[b].ops,
                                                       ops[i].u.fanout.branches[b].nops);
                if (a)
                    return a;
            }
    }
    return NULL;
}

int finite_conv_model_new(const IrNet *net, const FiniteData *like, size_t width, size_t nout, FiniteParam param,
                          FiniteModel *m, ntkc_error *err)
{
    const char *name = net->name ? net->name : "<net>";
    if (net->input.dim != 0 && net->input.dim != like->dim) {
        err_user(err, "finite net '%s' takes inputs of %zu values, the data have %zu", name, net->input.dim,
                  like->dim);
        return err->code;
    }
    const IrOp *pe = attention_with_pos_emb(net->ops, net->nops);
    if (pe != NULL) {
        err_at(err, pe->pos, NULL, "net '%s': training attention with positional embeddings (pos_emb, val_pos_emb) is "
                                   "not supported yet (ntkc kernel and ntkc check are)", name);
        return err->code;
    }
    if (net->param == PARAM_STANDARD) { /* its widths are the net's, so a sweep over widths means nothing */
        err_at(err, net->pos, NULL, "net '%s': training image nets under param standard is not supported yet "
                                     "(ntkc kernel and ntkc check are); use param ntk, whose widths ntkc train sweeps",
               name);
        return err->code;
    }
    ConvModel *cm = calloc(1, sizeof *cm);
    if (cm == NULL) {
        err_internal(err, "finite conv net: out of memory");
        return err->code;
    }
    Fc *f = &cm->f;
    FiniteScaling out;
    if (fconv_new(f, net, like->dim, width, nout, param == FINITE_MUP, err) == NTKC_OK && param == FINITE_MUP)
        mup_list(f, f->top, f->ntop, FINITE_SC_FIXED, NULL, &out);
    if (err->code == NTKC_OK && f->out_units != nout)
        err_user(err, "finite net '%s': its output has %zu values per input for %zu targets; training needs "
                       "one value per target (pool or flatten before the readout)", name, f->out_units, nout);
    if (err->code == NTKC_OK && (f->nparams > INT32_MAX || f->out_units > INT32_MAX))
        err_user(err, "finite net '%s': %zu parameters are too many; lower the width", name, f->nparams);
    if (err->code != NTKC_OK) {
        cm_free(cm);
        return err->code;
    }
    *m = (FiniteModel){.ops = &conv_ops, .impl = cm, .np = f->nparams, .nout = nout};
    return NTKC_OK;
}
