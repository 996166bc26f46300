/* The graph finite net as finite_model.h's training interface: forward
 * tangents (J·v over all graphs at once), μP's scalings checked layer by
 * layer, and the model — one layout per graph set (training and test) over
 * one shared parameter array. Layout and passes: finite_graph.c. */
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "finite_graph_internal.h"
#include "finite_model.h"
#include "ntkc_err.h"

/* ---- forward tangent: J·v by forward-mode differentiation --------------- */

/* The tangent of layer i's input; NULL for the features (they do not move). */
static const double *tan_in(const GNet *n, size_t i) { return i == 0 ? NULL : n->tan[i - 1]; }

/* n->tan[i] = ∂(layer i's output)/∂θ · v at the activations of the last forward. */
static int forward_tangent(GNet *n, const double *v, ntkc_error *err)
{
    if (n->tan == NULL) {
        if ((n->tan = calloc(n->nl, sizeof *n->tan)) == NULL) {
            err_internal(err, "finite graph net: out of memory");
            return err->code;
        }
        for (size_t i = 0; i < n->nl; i++)
            if ((n->tan[i] = fgraph_alloc_buf(fgraph_rows_of(n, &n->l[i]), n->l[i].out, err)) == NULL)
                return err->code;
    }
    for (size_t i = 0; i < n->nl; i++) {
        const GLayer *l = &n->l[i];
        const double *in = fgraph_layer_in(n, i), *tin = tan_in(n, i);
        double *t = n->tan[i];
        size_t rows = fgraph_rows_of(n, l), len = rows * l->out;
        memset(t, 0, len * sizeof *t);
        switch (l->op->kind) {
        case IR_DENSE: /* ws·(ḣ·Wᵀ + h·Vᵀ) + bs·v_β; a frozen layer's W, β are not moved by v */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)l->out, (int)l->in,
                        l->op->u.dense.frozen ? 0.0 : l->ws, in, (int)l->in, v + l->w_off, (int)l->in, 0.0, t,
                        (int)l->out);
            if (tin)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)l->out, (int)l->in, l->ws, tin,
                            (int)l->in, n->params + l->w_off, (int)l->in, 1.0, t, (int)l->out);
            for (size_t r = 0; l->has_b && !l->op->u.dense.frozen && r < rows; r++)
                for (size_t c = 0; c < l->out; c++)
                    t[r * l->out + c] += l->bs * v[l->b_off + c];
            break;
        case IR_ACT: {
            const IrAct *a = &l->op->u.act;
            for (size_t e = 0; tin && e < len; e++)
                t[e] = tin[e] * a->def->dphi(a->def, in[e], a->p);
            break;
        }
        case IR_AGGREGATE:
            if (tin)
                fgraph_aggregate(n, l, tin, t, 0);
            break;
        case IR_DROPOUT:
            if (tin)
                fgraph_dropout(n, i, tin, t);
            break;
        case IR_READOUT:
            if (n->njk == 0 && tin)
                fgraph_pool_into(n, l, tin, l->in, 1.0, t, l->out, 0);
            for (size_t k = 0; k < n->njk; k++)
                if (tan_in(n, n->jk[k].layer))
                    fgraph_pool_into(n, l, tan_in(n, n->jk[k].layer), n->jk[k].width, n->jk[k].alpha, t, l->out,
                              n->jk[k].off);
            break;
        default:
            break;
        }
    }
    return NTKC_OK;
}

/* ---- μP: which fan-ins grow with the width ------------------------------ */

static int mup_check(const GNet *n, ntkc_error *err)
{
    size_t last = finite_last_dense(n->net);
    FiniteScaling *in = calloc(n->nl + 1, sizeof *in); /* in[i]: the scaling of layer i's input */
    if (in == NULL) {
        err_internal(err, "finite graph net: out of memory");
        return err->code;
    }
    in[0] = FINITE_SC_FIXED;
    for (size_t i = 0; i < n->nl && err->code == NTKC_OK; i++) {
        const GLayer *l = &n->l[i];
        in[i + 1] = in[i];
        if (l->op->kind == IR_DENSE)
            finite_mup_affine(n->net, l->op, i == last, in[i], &in[i + 1], err);
        else if (l->op->kind == IR_READOUT)
            for (size_t k = 0; k < n->njk; k++)
                if (in[n->jk[k].layer] != in[n->jk[0].layer])
                    in[i + 1] = FINITE_SC_MIXED;
    }
    free(in);
    return err->code;
}

/* ---- the training interface (finite_model.h) ---------------------------- */

#define GM_SETS 4 /* graph sets a model keeps layouts for (training: train and test) */

typedef struct GraphModel {
    const IrNet *net;
    size_t width, nout;
    int mup;
    double *params; /* shared by every set's layout */
    size_t np;
    GNet nets[GM_SETS];
    const ntkc_graphs *sets[GM_SETS];
    size_t nsets;
    uint64_t drop_seed; /* every layout's dropout state (finite_graph_dropout.c) */
    int drop_eval;
} GraphModel;

static void gm_free(void *impl)
{
    GraphModel *gm = impl;
    for (size_t i = 0; i < gm->nsets; i++)
        fgraph_free(&gm->nets[i]);
    free(gm->params);
    free(gm);
}

/* The layout on d's graph set, built on first use. */
static GNet *gm_net(GraphModel *gm, const FiniteData *d, ntkc_error *err)
{
    for (size_t i = 0; i < gm->nsets; i++)
        if (gm->sets[i] == d->graphs)
            return &gm->nets[i];
    if (d->graphs == NULL || d->rows != d->graphs->count || gm->nsets == GM_SETS) {
        err_internal(err, "finite graph net: a graph set of %zu graphs is not one the model can take", d->rows);
        return NULL;
    }
    GNet *n = &gm->nets[gm->nsets];
    int rc = fgraph_init(n, gm->net, d->graphs, gm->width, gm->nout, gm->mup, err);
    if (rc == NTKC_OK && gm->params != NULL && n->np != gm->np) {
        err_internal(err, "finite graph net: layouts disagree on the parameters");
        rc = err->code;
    }
    if (rc != NTKC_OK) {
        fgraph_free(n);
        return NULL;
    }
    if (gm->params == NULL) /* the first layout's array becomes the model's */
        gm->params = n->params, gm->np = n->np;
    else
        free(n->params);
    n->params = gm->params;
    n->owns_params = 0;
    n->drop_seed = gm->drop_seed;
    n->drop_eval = gm->drop_eval;
    gm->sets[gm->nsets++] = d->graphs;
    return n;
}

static void gm_dropout(void *impl, int train, uint64_t seed)
{
    GraphModel *gm = impl;
    gm->drop_eval = !train;
    if (train)
        gm->drop_seed = seed;
    for (size_t i = 0; i < gm->nsets; i++)
        gm->nets[i].drop_seed = gm->drop_seed, gm->nets[i].drop_eval = gm->drop_eval;
}

static void gm_init(void *impl, Rng *r)
{
    GraphModel *gm = impl;
    if (fgraph_has_dropout(&gm->nets[0])) /* as finite_net_init: masks of this init, train mode */
        gm_dropout(gm, 1, rng_next(r));
    fgraph_init_params(&gm->nets[0], r);
}

static double *gm_params(void *impl, size_t *count)
{
    GraphModel *gm = impl;
    *count = gm->np;
    return gm->params;
}

static int gm_forward(void *impl, const FiniteData *d, double *f, ntkc_error *err)
{
    GNet *n = gm_net(impl, d, err);
    if (n == NULL)
        return err->code;
    fgraph_forward(n);
    memcpy(f, n->out[n->nl - 1], n->G * n->nout * sizeof *f);
    return NTKC_OK;
}

static int gm_vjp(void *impl, const FiniteData *d, const double *g, double *grad, ntkc_error *err)
{
    GNet *n = gm_net(impl, d, err);
    if (n == NULL)
        return err->code;
    fgraph_backward(n, g, NULL, grad);
    return NTKC_OK;
}

static int gm_jvp(void *impl, const FiniteData *d, const double *v, double *out, ntkc_error *err)
{
    GNet *n = gm_net(impl, d, err);
    if (n == NULL || forward_tangent(n, v, err))
        return err->code;
    memcpy(out, n->tan[n->nl - 1], n->G * n->nout * sizeof *out);
    return NTKC_OK;
}

static int gm_unit_ntk(void *impl, const FiniteData *d, size_t unit, double *ntk, ntkc_error *err)
{
    GNet *n = gm_net(impl, d, err);
    double *seed = n ? fgraph_alloc_buf(n->G, n->nout, err) : NULL;
    if (seed == NULL)
        return err->code;
    for (size_t gi = 0; gi < n->G; gi++)
        seed[gi * n->nout + unit] = 1.0;
    fgraph_forward(n);
    fgraph_backward(n, seed, ntk, NULL);
    free(seed);
    return NTKC_OK;
}

static const FiniteModelOps graph_ops = {"graph", gm_free, gm_init, gm_params, gm_forward, gm_vjp, gm_jvp,
                                         gm_unit_ntk, gm_dropout};

int finite_graph_model_new(const IrNet *net, const FiniteData *like, size_t width, size_t nout, FiniteParam param,
                           FiniteModel *m, ntkc_error *err)
{
    GraphModel *gm = calloc(1, sizeof *gm);
    if (gm == NULL) {
        err_internal(err, "finite graph net: out of memory");
        return err->code;
    }
    *gm = (GraphModel){.net = net, .width = width, .nout = nout, .mup = param == FINITE_MUP};
    GNet *n = gm_net(gm, like, err);
    if (n != NULL && gm->mup)
        mup_check(n, err);
    if (n != NULL && gm->np > INT32_MAX)
        err_user(err, "finite graph net '%s': %zu parameters are too many; lower the width", fgraph_name_of(n),
                  gm->np);
    if (err->code != NTKC_OK) {
        gm_free(gm);
        return err->code;
    }
    *m = (FiniteModel){.ops = &graph_ops, .impl = gm, .np = gm->np, .nout = nout};
    return NTKC_OK;
}
