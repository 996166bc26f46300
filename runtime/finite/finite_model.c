/* The finite-model interface (finite_model.h): dispatch by family, the
 * fully connected family's adaptor, and the Jacobian products derived row by
 * row for the families that do not provide them. */
#include "finite_model.h"

#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "finite_conv.h"
#include "ir_print.h"
#include "ntkc_err.h"

int finite_model_new(const IrNet *net, const FiniteData *like, size_t width, size_t nout, FiniteParam param,
                     FiniteModel *m, ntkc_error *err)
{
    memset(m, 0, sizeof *m);
    if (width == 0 || nout == 0) {
        err_user(err, "finite net '%s': the width and the number of outputs must be at least 1",
                  net->name ? net->name : "<net>");
        return err->code;
    }
    if (net->family == IR_FAMILY_GRAPH)
        return finite_graph_model_new(net, like, width, nout, param, m, err);
    if (net->family == IR_FAMILY_IMAGE || net->family == IR_FAMILY_ATTENTION) /* attention: finite_attn.h */
        return finite_conv_model_new(net, like, width, nout, param, m, err);
    return finite_net_model_new(net, like, width, nout, param, m, err);
}

void finite_model_free(FiniteModel *m)
{
    if (m->ops && m->impl)
        m->ops->free(m->impl);
    memset(m, 0, sizeof *m);
}

void finite_model_init(FiniteModel *m, Rng *r) { m->ops->init(m->impl, r); }

void finite_model_dropout(FiniteModel *m, int train, uint64_t seed)
{
    if (m->ops->dropout)
        m->ops->dropout(m->impl, train, seed);
}

double *finite_model_params(FiniteModel *m)
{
    size_t np;
    return m->ops->params(m->impl, &np);
}

int finite_model_forward(FiniteModel *m, const FiniteData *d, double *f, ntkc_error *err)
{
    return m->ops->forward(m->impl, d, f, err);
}

int finite_model_vjp(FiniteModel *m, const FiniteData *d, const double *g, double *grad, ntkc_error *err)
{
    return m->ops->vjp(m->impl, d, g, grad, err);
}

int finite_mup_refuse(const IrNet *net, const IrOp *op, const char *why, ntkc_error *err)
{
    err_at(err, op->pos, NULL, "net '%s': the muP parameterization is not defined for its %s layer: %s",
            net->name ? net->name : "<net>", ir_op_name(op), why);
    return err->code;
}

int finite_mup_affine(const IrNet *net, const IrOp *op, int readout, FiniteScaling in, FiniteScaling *out,
                      ntkc_error *err)
{
    *out = readout ? FINITE_SC_FIXED : FINITE_SC_WIDTH;
    if (in == FINITE_SC_MIXED)
        return finite_mup_refuse(net, op, "its fan-in joins features that grow with the width and features that "
                                          "do not (a concatenation with the input's), and muP scales the two "
                                          "differently", err);
    if (readout && in != FINITE_SC_WIDTH)
        return finite_mup_refuse(net, op, "the readout's fan-in does not grow with the width (no hidden layer "
                                          "before it), so there is nothing to scale", err);
    return NTKC_OK;
}

/* ---- derived row by row: the gradient of one output unit at one row ---- */

static double *scratch(size_t count, ntkc_error *err)
{
    double *p = count <= SIZE_MAX / sizeof(double) ? calloc(count ? count : 1, sizeof(double)) : NULL;
    if (p == NULL)
        err_user(err, "finite net: out of memory for %zu numbers (lower the width or the data)", count);
    return p;
}

/* grads ((uhi − ulo) × np): ∇θ f_u(x_i) for the units ulo <= u < uhi of row i. */
static int row_unit_grads(FiniteModel *m, const FiniteData *d, size_t i, size_t ulo, size_t uhi, double *f,
                          double *seed, double *grads, ntkc_error *err)
{
    FiniteData row = {.rows = 1, .x = d->x + i * d->dim, .dim = d->dim};
    if (m->ops->forward(m->impl, &row, f, err))
        return err->code;
    for (size_t u = ulo; u < uhi; u++) {
        memset(seed, 0, m->nout * sizeof *seed);
        seed[u] = 1.0;
        if (m->ops->vjp(m->impl, &row, seed, grads + (u - ulo) * m->np, err))
            return err->code;
    }
    return NTKC_OK;
}

static int needs_rows(const FiniteModel *m, const FiniteData *d, ntkc_error *err)
{
    if (d->x != NULL)
        return NTKC_OK;
    err_internal(err, "finite %s net: the row-by-row Jacobian needs rows of x", m->ops->family);
    return err->code;
}

int finite_model_jvp(FiniteModel *m, const FiniteData *d, const double *v, double *out, ntkc_error *err)
{
    if (m->ops->jvp)
        return m->ops->jvp(m->impl, d, v, out, err);
    if (needs_rows(m, d, err))
        return err->code;
    double *f = scratch(m->nout, err), *seed = scratch(m->nout, err), *grads = scratch(m->nout * m->np, err);
    for (size_t i = 0; i < d->rows && err->code == NTKC_OK; i++)
        if (row_unit_grads(m, d, i, 0, m->nout, f, seed, grads, err) == NTKC_OK)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m->nout, (int)m->np, 1.0, grads, (int)m->np, v, 1, 0.0,
                        out + i * m->nout, 1);
    free(f), free(seed), free(grads);
    return err->code;
}

int finite_model_unit_ntk(FiniteModel *m, const FiniteData *d, size_t unit, double *ntk, ntkc_error *err)
{
    if (m->ops->unit_ntk)
        return m->ops->unit_ntk(m->impl, d, unit, ntk, err);
    if (needs_rows(m, d, err))
        return err->code;
    if (m->np > INT32_MAX || d->rows > SIZE_MAX / sizeof(double) / (m->np ? m->np : 1)) {
        err_user(err, "finite net: %zu rows × %zu parameters are too many for the empirical NTK", d->rows, m->np);
        return err->code;
    }
    double *f = scratch(m->nout, err), *seed = scratch(m->nout, err), *ju = scratch(d->rows * m->np, err);
    for (size_t i = 0; i < d->rows && err->code == NTKC_OK; i++)
        row_unit_grads(m, d, i, unit, unit + 1, f, seed, ju + i * m->np, err);
    if (err->code == NTKC_OK)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)d->rows, (int)m->np, 1.0, ju, (int)m->np, 1.0, ntk,
                    (int)d->rows);
    free(f), free(seed), free(ju);
    return err->code;
}

/* ---- the fully connected family (finite_net.h) ---- */

static void fc_free(void *impl) { finite_net_free(impl); }
static void fc_init(void *impl, Rng *r) { finite_net_init(impl, r); }
static double *fc_params(void *impl, size_t *count) { return finite_net_params(impl, count); }

static int fc_forward(void *impl, const FiniteData *d, double *f, ntkc_error *err)
{
    return finite_net_forward(impl, d->rows, d->x, f, err);
}

static int fc_vjp(void *impl, const FiniteData *d, const double *g, double *grad, ntkc_error *err)
{
    return finite_net_vjp(impl, d->rows, d->x, g, grad, err);
}

static int fc_jvp(void *impl, const FiniteData *d, const double *v, double *out, ntkc_error *err)
{
    return finite_net_jvp(impl, d->rows, d->x, v, out, err);
}

static int fc_unit_ntk(void *impl, const FiniteData *d, size_t unit, double *ntk, ntkc_error *err)
{
    return finite_net_accumulate_unit_ntk(impl, d->rows, d->x, unit, ntk, err);
}

static void fc_dropout(void *impl, int train, uint64_t seed) { finite_net_set_dropout(impl, train, seed); }

static const FiniteModelOps fc_ops = {"fully connected", fc_free,   fc_init,     fc_params, fc_forward,
                                      fc_vjp,            fc_jvp,    fc_unit_ntk, fc_dropout};

int finite_net_model_new(const IrNet *net, const FiniteData *like, size_t width, size_t nout, FiniteParam param,
                         FiniteModel *m, ntkc_error *err)
{
    FiniteNet *fn = finite_net_new_param(net, like->dim, width, nout, param, err);
    if (fn == NULL)
        return err->code;
    *m = (FiniteModel){.ops = &fc_ops, .impl = fn, .nout = nout};
    finite_net_params(fn, &m->np);
    return NTKC_OK;
}
