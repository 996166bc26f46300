/* image_resize in the finite-width image net: out[(y, x), c] =
 * Σ_{i, j} Rh[y][i]·Rw[x][j]·in[(i, j), c], and its adjoint; the weights are
 * jax.image.resize's (ir_resize_weights), the kernel's own. On a volume the
 * rows stack the slices, and their map is Rd ⊗ Rh. */
#include "finite_resize.h"

#include <stdlib.h>
#include <string.h>

#include "ir_resize.h"
#include "ntkc_err.h"

int frs_lay(Fc *f, Node *nd)
{
    nd->ho = nd->op->out.h, nd->wo = nd->op->out.w, nd->co = nd->ci;
    nd->cols = malloc((nd->ho * nd->hi + nd->wo * nd->wi) * sizeof *nd->cols);
    if (nd->cols == NULL) {
        err_internal(f->err, "finite conv net: out of memory for an image_resize layer");
        return f->err->code;
    }
    ir_resize_weights(&nd->op->u.resize, nd->wi, nd->wo, nd->cols + nd->ho * nd->hi);
    const IrResize *r = &nd->op->u.resize;
    if (r->zo == 0) {
        ir_resize_weights(r, nd->hi, nd->ho, nd->cols);
        return NTKC_OK;
    }
    /* a volume: its rows are (slice, row), so their map is Rd ⊗ Rh */
    size_t zi = (size_t)r->zi, zo = (size_t)r->zo, hi = nd->hi / zi, ho = nd->ho / zo;
    double *rd = malloc((zo * zi + ho * hi) * sizeof *rd);
    if (rd == NULL) {
        err_internal(f->err, "finite conv net: out of memory for an image_resize layer");
        return f->err->code;
    }
    double *rr = rd + zo * zi;
    ir_resize_weights(r, zi, zo, rd);
    ir_resize_weights(r, hi, ho, rr);
    for (size_t a = 0; a < zo; a++)
        for (size_t y = 0; y < ho; y++)
            for (size_t k = 0; k < zi; k++)
                for (size_t i = 0; i < hi; i++)
                    nd->cols[(a * ho + y) * nd->hi + k * hi + i] = rd[a * zi + k] * rr[y * hi + i];
    free(rd);
    return NTKC_OK;
}

static const double *rh(const Node *nd) { return nd->cols; }
static const double *rw(const Node *nd) { return nd->cols + nd->ho * nd->hi; }

void frs_apply(const Node *nd, const double *in, double *out)
{
    size_t C = nd->ci;
    memset(out, 0, nd->ho * nd->wo * C * sizeof *out);
    for (size_t y = 0; y < nd->ho; y++)
        for (size_t x = 0; x < nd->wo; x++) {
            double *o = out + (y * nd->wo + x) * C;
            for (size_t i = 0; i < nd->hi; i++)
                for (size_t j = 0; j < nd->wi; j++) {
                    double r = rh(nd)[y * nd->hi + i] * rw(nd)[x * nd->wi + j];
                    const double *src = in + (i * nd->wi + j) * C;
                    if (r != 0.0)
                        for (size_t c = 0; c < C; c++)
                            o[c] += r * src[c];
                }
        }
}

void frs_adjoint(const Node *nd, const double *g, double *gin)
{
    size_t C = nd->ci;
    memset(gin, 0, nd->hi * nd->wi * C * sizeof *gin);
    for (size_t y = 0; y < nd->ho; y++)
        for (size_t x = 0; x < nd->wo; x++) {
            const double *src = g + (y * nd->wo + x) * C;
            for (size_t i = 0; i < nd->hi; i++)
                for (size_t j = 0; j < nd->wi; j++) {
                    double r = rh(nd)[y * nd->hi + i] * rw(nd)[x * nd->wi + j];
                    double *dst = gin + (i * nd->wi + j) * C;
                    if (r != 0.0)
                        for (size_t c = 0; c < C; c++)
                            dst[c] += r * src[c];
                }
        }
}
