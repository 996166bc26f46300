/* Finite-width graph networks (conventions in finite_graph.h): forward pass
 * over all nodes of the set at once, backpropagation from output unit 0 of
 * every graph at once (graphs never interact), and the empirical NTK summed
 * layer by layer from node-level Gram matrices, as finite_net.c does for rows. */
#include "finite_graph.h"
#include "finite_graph_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "finite_refuse.h"

#include "graph_agg.h"
#include "ntkc_err.h"


const char *fgraph_name_of(const GNet *n) { return n->net->name ? n->net->name : "<net>"; }

size_t fgraph_rows_of(const GNet *n, const GLayer *l) { return l->node ? n->N : n->G; }

const double *fgraph_layer_in(const GNet *n, size_t i) { return i == 0 ? n->x : n->out[i - 1]; }

/* ---- layout ------------------------------------------------------------ */

static int lay_out_jk(GNet *n, size_t width_at_readout, ntkc_error *err)
{
    const IrNet *net = n->net;
    n->jk = calloc(net->nops + 1, sizeof *n->jk);
    if (n->jk == NULL) {
        err_internal(err, "finite graph net: out of memory");
        return err->code;
    }
    size_t total = 0;
    for (size_t i = 0; i <= n->readout; i++) {
        if (i < n->readout && net->ops[i].kind != IR_AGGREGATE)
            continue;
        size_t w = i == n->readout ? width_at_readout : n->l[i].in;
        n->jk[n->njk++] = (JkPoint){.layer = i, .width = w, .off = total};
        total += w;
    }
    for (size_t k = 0; k < n->njk; k++)
        n->jk[k].alpha = sqrt((double)total / (double)n->jk[k].width);
    return NTKC_OK;
}

static int lay_out(GNet *n, size_t width, ntkc_error *err)
{
    const IrNet *net = n->net;
    size_t last = finite_last_dense(net), cur = n->F;
    n->readout = net->nops;
    n->maxw = cur;
    int node = 1;
    for (size_t i = 0; i < net->nops; i++) {
        GLayer *l = &n->l[i];
        const IrOp *op = l->op = &net->ops[i];
        l->in = cur;
        l->node = node;
        if (op->kind == IR_DENSE) {
            l->out = i == last ? n->nout : width;
            l->ws = op->u.dense.w_std / sqrt((double)cur);
            l->bs = op->u.dense.b_std;
            l->has_b = l->bs != 0.0;
            l->w_init = l->b_init = 1.0;
            if (n->mup) { /* finite_net.h: N(0, 1/n) weights, √n more multiplier before the readout */
                double r = sqrt((double)width);
                l->w_init = 1.0 / r;
                l->b_init = i == last ? 1.0 : 1.0 / r;
                l->ws *= i == last ? 1.0 : r;
                l->bs *= i == last ? 1.0 : r;
            }
            l->w_off = n->np;
            n->np += l->out * l->in;
            l->b_off = n->np;
            n->np += l->has_b ? l->out : 0;
        } else if (op->kind == IR_READOUT) {
            n->readout = i;
            node = 0;
            if (op->u.readout.jk) {
                if (last < i) {
                    err_user(err, "finite graph net '%s': readout(jk=true) needs a dense layer after it",
                              fgraph_name_of(n));
                    return err->code;
                }
                if (lay_out_jk(n, cur, err) != NTKC_OK)
                    return err->code;
                l->out = n->jk[n->njk - 1].off + n->jk[n->njk - 1].width;
            } else {
                l->out = cur;
            }
        } else {
            l->out = cur;
        }
        cur = l->out;
        n->maxw = cur > n->maxw ? cur : n->maxw;
    }
    if (last == net->nops || cur != n->nout) {
        err_user(err, "finite graph net '%s': the output must come from a dense layer (width %zu here)",
                  fgraph_name_of(n), cur);
        return err->code;
    }
    return NTKC_OK;
}

double *fgraph_alloc_buf(size_t rows, size_t cols, ntkc_error *err)
{
    size_t count = rows * cols != 0 ? rows * cols : 1;
    double *p = cols != 0 && rows > SIZE_MAX / sizeof(double) / cols ? NULL : calloc(count, sizeof(double));
    if (p == NULL)
        err_internal(err, "finite graph net: out of memory for a %zu x %zu buffer", rows, cols);
    return p;
}

static int build_aggs(GNet *n, ntkc_error *err)
{
    for (size_t i = 0; i < n->nl; i++) {
        GLayer *l = &n->l[i];
        if (l->op->kind != IR_AGGREGATE)
            continue;
        if ((l->agg = calloc(n->G, sizeof *l->agg)) == NULL) {
            err_internal(err, "finite graph net: out of memory");
            return err->code;
        }
        for (size_t gi = 0; gi < n->G; gi++)
            if (agg_build(&l->agg[gi], n->g, gi, l->op->u.aggregate.degree, l->op->u.aggregate.self_loops,
                          GRAPH_AGG_SPARSE, 0, err) != NTKC_OK)
                return err->code;
    }
    return NTKC_OK;
}

void fgraph_free(GNet *n)
{
    for (size_t i = 0; n->l && i < n->nl; i++) {
        for (size_t gi = 0; n->l[i].agg && gi < n->G; gi++)
            agg_free(&n->l[i].agg[gi]);
        free(n->l[i].agg);
        if (n->out)
            free(n->out[i]);
        if (n->tan)
            free(n->tan[i]);
    }
    free(n->tan);
    free(n->l);
    free(n->out);
    free(n->x);
    if (n->owns_params)
        free(n->params);
    free(n->d);
    free(n->d2);
    free(n->dro);
    free(n->gd);
    free(n->gh);
    free(n->block);
    free(n->jk);
}

/* nout: output units (the kernels use the width); mup: μP scalings. */
int fgraph_init(GNet *n, const IrNet *net, const ntkc_graphs *g, size_t width, size_t nout, int mup,
                     ntkc_error *err)
{
    memset(n, 0, sizeof *n);
    n->net = net;
    n->g = g;
    n->nl = net->nops;
    n->N = g->first[g->count];
    n->G = g->count;
    n->F = g->features;
    n->nout = nout;
    n->mup = mup;
    n->owns_params = 1;
    if (net->input.kind != IR_INPUT_GRAPH || width == 0 || n->F != net->input.dim) {
        err_user(err, "finite graph net '%s': needs a graph net, width >= 1 and graphs of %zu features",
                  fgraph_name_of(n), net->input.dim);
        return err->code;
    }
    if (finite_refuse_kernel_only(net, err) != NTKC_OK)
        return err->code;
    if ((n->l = calloc(n->nl, sizeof *n->l)) == NULL || (n->out = calloc(n->nl, sizeof *n->out)) == NULL) {
        err_internal(err, "finite graph net: out of memory");
        return err->code;
    }
    if (lay_out(n, width, err) != NTKC_OK || build_aggs(n, err) != NTKC_OK)
        return err->code;
    size_t rows = n->N > n->G ? n->N : n->G;
    if ((n->x = fgraph_alloc_buf(n->N, n->F, err)) == NULL || (n->params = fgraph_alloc_buf(n->np, 1, err)) == NULL ||
        (n->d = fgraph_alloc_buf(rows, n->maxw, err)) == NULL ||
        (n->d2 = fgraph_alloc_buf(rows, n->maxw, err)) == NULL ||
        (n->dro = fgraph_alloc_buf(n->G, n->maxw, err)) == NULL ||
        (n->gd = fgraph_alloc_buf(rows, rows, err)) == NULL || (n->gh = fgraph_alloc_buf(rows, rows, err)) == NULL ||
        (n->block = fgraph_alloc_buf(rows, rows, err)) == NULL)
        return err->code;
    for (size_t i = 0; i < n->nl; i++)
        if ((n->out[i] = fgraph_alloc_buf(fgraph_rows_of(n, &n->l[i]), n->l[i].out, err)) == NULL)
            return err->code;
    double xs = net->input.raw_gram ? sqrt((double)n->F) : 1.0;
    for (size_t k = 0; k < n->N * n->F; k++)
        n->x[k] = g->x[k] * xs;
    return NTKC_OK;
}

/* ---- forward ----------------------------------------------------------- */

static void forward_dense(GNet *n, const GLayer *l, const double *h, double *z)
{
    size_t rows = fgraph_rows_of(n, l);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)l->out, (int)l->in, l->ws, h, (int)l->in,
                n->params + l->w_off, (int)l->in, 0.0, z, (int)l->out);
    if (l->has_b)
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < l->out; c++)
                z[r * l->out + c] += l->bs * n->params[l->b_off + c];
}

/* out_u = c_u Σ_{v∈N̂(u)} in_v per graph (transpose = 0), or its adjoint
 * out_v = Σ_{u∈N̂(v)} c_u in_u (transpose = 1; Â is symmetric). */
void fgraph_aggregate(const GNet *n, const GLayer *l, const double *in, double *out, int transpose)
{
    size_t w = l->in;
    for (size_t gi = 0; gi < n->G; gi++) {
        const AggOp *a = &l->agg[gi];
        size_t base = n->g->first[gi];
        for (size_t u = 0; u < a->n; u++) {
            double *o = out + (base + u) * w;
            memset(o, 0, w * sizeof *o);
            for (size_t e = a->start[u]; e < a->start[u + 1]; e++) {
                size_t v = a->col[e];
                double c = a->inv_deg ? a->inv_deg[transpose ? v : u] : 1.0;
                const double *r = in + (base + v) * w;
                for (size_t k = 0; k < w; k++)
                    o[k] += c * r[k];
            }
        }
    }
}

static double pool_scale(const GNet *n, const GLayer *l, size_t gi)
{
    size_t nodes = n->g->first[gi + 1] - n->g->first[gi];
    return l->op->u.readout.mean ? 1.0 / (double)nodes : 1.0;
}

/* p_G (rows of out from column off) += α · pool(h) over G's nodes. */
void fgraph_pool_into(const GNet *n, const GLayer *l, const double *h, size_t w, double alpha, double *out,
                      size_t ldo, size_t off)
{
    for (size_t gi = 0; gi < n->G; gi++) {
        double s = alpha * pool_scale(n, l, gi);
        double *o = out + gi * ldo + off;
        for (size_t u = n->g->first[gi]; u < n->g->first[gi + 1]; u++)
            for (size_t k = 0; k < w; k++)
                o[k] += s * h[u * w + k];
    }
}

void fgraph_forward(GNet *n)
{
    for (size_t i = 0; i < n->nl; i++) {
        const GLayer *l = &n->l[i];
        const double *in = fgraph_layer_in(n, i);
        double *out = n->out[i];
        switch (l->op->kind) {
        case IR_DENSE:
            forward_dense(n, l, in, out);
            break;
        case IR_ACT: {
            const IrAct *a = &l->op->u.act;
            for (size_t e = 0; e < fgraph_rows_of(n, l) * l->out; e++)
                out[e] = a->def->phi(a->def, in[e], a->p);
            break;
        }
        case IR_AGGREGATE:
            fgraph_aggregate(n, l, in, out, 0);
            break;
        case IR_DROPOUT: /* finite_graph_dropout.c */
            fgraph_dropout(n, i, in, out);
            break;
        case IR_READOUT:
            memset(out, 0, n->G * l->out * sizeof *out);
            if (n->njk == 0)
                fgraph_pool_into(n, l, in, l->in, 1.0, out, l->out, 0);
            for (size_t k = 0; k < n->njk; k++)
                fgraph_pool_into(n, l, fgraph_layer_in(n, n->jk[k].layer), n->jk[k].width, n->jk[k].alpha, out, l->out,
                          n->jk[k].off);
            break;
        default: /* gnet_init admits graph ops only */
            break;
        }
    }
}

/* ---- backward ---------------------------------------------------------- */

/* Row Grams a·aᵀ (rows × w) into c (rows × rows, full). */
static void gram(size_t rows, size_t w, const double *a, double *c)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)rows, (int)w, 1.0, a, (int)w, a, (int)w, 0.0,
                c, (int)rows);
}

/* This dense layer's part of J·Jᵀ, summed over node pairs of each graph pair. */
static void add_ntk(GNet *n, const GLayer *l, const double *h, const double *delta, double *ntk)
{
    size_t rows = fgraph_rows_of(n, l);
    gram(rows, l->out, delta, n->gd);
    gram(rows, l->in, h, n->gh);
    double ww = l->ws * l->ws, bb = l->has_b ? l->bs * l->bs : 0.0;
    for (size_t e = 0; e < rows * rows; e++)
        n->block[e] = n->gd[e] * (ww * n->gh[e] + bb);
    if (!l->node) {
        for (size_t e = 0; e < n->G * n->G; e++)
            ntk[e] += n->block[e];
        return;
    }
    const size_t *first = n->g->first;
    for (size_t a = 0; a < n->G; a++)
        for (size_t b = 0; b < n->G; b++) {
            double s = 0;
            for (size_t u = first[a]; u < first[a + 1]; u++)
                for (size_t v = first[b]; v < first[b + 1]; v++)
                    s += n->block[u * n->N + v];
            ntk[a * n->G + b] += s;
        }
}

/* The readout's δ (G × ro->out) for the slice [p->off, p->off + p->width),
 * spread over the nodes of each graph and added to d (N × p->width). */
static void add_pooled_delta(const GNet *n, const GLayer *ro, const double *dout, const JkPoint *p, double *d)
{
    for (size_t gi = 0; gi < n->G; gi++) {
        double s = p->alpha * pool_scale(n, ro, gi);
        const double *src = dout + gi * ro->out + p->off;
        for (size_t u = n->g->first[gi]; u < n->g->first[gi + 1]; u++)
            for (size_t c = 0; c < p->width; c++)
                d[u * p->width + c] += s * src[c];
    }
}

/* This dense layer's parameter gradient: ws·δᵀh for W, bs·Σδ for β. */
static void dense_grad(const GNet *n, const GLayer *l, const double *h, const double *delta, double *grad)
{
    size_t rows = fgraph_rows_of(n, l);
    if (l->op->u.dense.frozen) { /* trainable=false: not trained, gradient 0 */
        memset(grad + l->w_off, 0, (l->b_off + (l->has_b ? l->out : 0) - l->w_off) * sizeof *grad);
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l->out, (int)l->in, (int)rows, l->ws, delta,
                (int)l->out, h, (int)l->in, 0.0, grad + l->w_off, (int)l->in);
    if (l->has_b)
        for (size_t c = 0; c < l->out; c++) {
            double s = 0;
            for (size_t r = 0; r < rows; r++)
                s += delta[r * l->out + c];
            grad[l->b_off + c] = l->bs * s;
        }
}

/* Backpropagates the output weights seed (G × nout) from the last forward,
 * adding every dense layer's NTK block to ntk and/or writing its parameter
 * gradient into grad (either may be NULL). */
void fgraph_backward(GNet *n, const double *seed, double *ntk, double *grad)
{
    double *d = n->d, *d2 = n->d2, *dro = NULL;
    size_t outw = n->l[n->nl - 1].out;
    memcpy(d, seed, n->G * outw * sizeof *d);
    size_t jk_next = n->njk; /* jk points are taken from the readout downwards */
    for (size_t i = n->nl; i-- > 0;) {
        const GLayer *l = &n->l[i];
        const double *in = fgraph_layer_in(n, i);
        switch (l->op->kind) {
        case IR_DENSE:
            if (ntk && !l->op->u.dense.frozen) /* a frozen layer adds no gradient */
                add_ntk(n, l, in, d, ntk);
            if (grad)
                dense_grad(n, l, in, d, grad);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)fgraph_rows_of(n, l), (int)l->in, (int)l->out,
                        l->ws, d, (int)l->out, n->params + l->w_off, (int)l->in, 0.0, d2, (int)l->in);
            break;
        case IR_ACT: {
            const IrAct *a = &l->op->u.act;
            for (size_t e = 0; e < fgraph_rows_of(n, l) * l->out; e++)
                d2[e] = d[e] * a->def->dphi(a->def, in[e], a->p);
            break;
        }
        case IR_AGGREGATE:
            fgraph_aggregate(n, l, d, d2, 1);
            break;
        case IR_DROPOUT: /* the same masks as the forward pass */
            fgraph_dropout(n, i, d, d2);
            break;
        case IR_READOUT:
            memset(d2, 0, n->N * l->in * sizeof *d2);
            if (n->njk == 0) {
                JkPoint whole = {.layer = i, .width = l->in, .off = 0, .alpha = 1.0};
                add_pooled_delta(n, l, d, &whole, d2);
            } else {
                dro = n->dro;
                memcpy(dro, d, n->G * l->out * sizeof *d);
                add_pooled_delta(n, l, d, &n->jk[--jk_next], d2);
            }
            break;
        default: /* gnet_init admits graph ops only */
            break;
        }
        /* The state entering an aggregate also feeds the readout directly (jk). */
        if (l->op->kind == IR_AGGREGATE && jk_next > 0 && n->jk[jk_next - 1].layer == i)
            add_pooled_delta(n, &n->l[n->readout], dro, &n->jk[--jk_next], d2);
        double *t = d;
        d = d2;
        d2 = t;
    }
}

/* ---- Monte Carlo ------------------------------------------------------- */

void fgraph_init_params(GNet *n, Rng *r)
{
    for (size_t i = 0; i < n->nl; i++) {
        const GLayer *l = &n->l[i];
        if (l->op->kind != IR_DENSE)
            continue;
        rng_fill_normal(r, n->params + l->w_off, l->out * l->in, l->w_init);
        if (l->has_b)
            rng_fill_normal(r, n->params + l->b_off, l->out, l->b_init);
    }
}

int finite_graph_kernels(const IrNet *net, const ntkc_graphs *g, const FiniteNetOptions *opts, double *nngp,
                         double *ntk, ntkc_error *err)
{
    if (opts == NULL || opts->samples == 0 || g == NULL || g->count == 0) {
        err_user(err, "finite graph net: need graphs and at least one sample");
        return err->code;
    }
    GNet n;
    if (fgraph_init(&n, net, g, opts->width, opts->width, 0, err) != NTKC_OK) {
        fgraph_free(&n);
        return err->code;
    }
    size_t G = n.G;
    double *seed = fgraph_alloc_buf(G, n.nout, err); /* ∂f₀/∂(output) = e₀ per graph */
    if (seed == NULL) {
        fgraph_free(&n);
        return err->code;
    }
    for (size_t gi = 0; gi < G; gi++)
        seed[gi * n.nout] = 1.0;
    if (nngp)
        memset(nngp, 0, G * G * sizeof *nngp);
    if (ntk)
        memset(ntk, 0, G * G * sizeof *ntk);
    Rng r;
    rng_seed(&r, opts->seed);
    int drop = fgraph_has_dropout(&n);
    for (size_t s = 0; s < opts->samples; s++) {
        if (drop) /* fresh masks per sample; nets without dropout keep their random stream */
            n.drop_seed = rng_next(&r);
        fgraph_init_params(&n, &r);
        fgraph_forward(&n);
        const double *f = n.out[n.nl - 1];
        if (nngp)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)G, (int)G, (int)n.nout, 1.0 / (double)n.nout, f,
                        (int)n.nout, f, (int)n.nout, 1.0, nngp, (int)G);
        if (ntk)
            fgraph_backward(&n, seed, ntk, NULL);
    }
    double inv = 1.0 / (double)opts->samples;
    for (size_t e = 0; e < G * G; e++) {
        if (nngp)
            nngp[e] *= inv;
        if (ntk)
            ntk[e] *= inv;
        if ((nngp && !isfinite(nngp[e])) || (ntk && !isfinite(ntk[e]))) {
            err_user(err, "finite graph net '%s': the empirical kernel is not finite at (%zu, %zu)",
                      fgraph_name_of(&n), e / G, e % G);
            break;
        }
    }
    free(seed);
    fgraph_free(&n);
    return err->code;
}
