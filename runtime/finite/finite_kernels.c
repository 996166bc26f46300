/* Monte Carlo NNGP and NTK of finite-width networks: the average over
 * independent initialisations of f(x)f(x') and J(x)·J(x')ᵀ. */
#include "finite_net.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int check_inputs(const IrNet *net, size_t n, const double *x, size_t dim, ntkc_error *err)
{
    for (size_t i = 0; i < n * dim; i++)
        if (!isfinite(x[i])) {
            diag_user(err, "finite net '%s': input row %zu, column %zu is not finite",
                      net->name ? net->name : "<net>", i / dim, i % dim);
            return err->code;
        }
    return NTKC_OK;
}

/* Scales the accumulated upper triangle by s, mirrors it, and refuses
 * non-finite entries (an overflowing net must not pass as a kernel). */
static int finish(const IrNet *net, const char *what, double *k, size_t n, double s, ntkc_error *err)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            double v = k[i * n + j] * s;
            if (!isfinite(v)) {
                diag_user(err, "finite net '%s': the empirical %s is not finite at (%zu, %zu)",
                          net->name ? net->name : "<net>", what, i, j);
                return err->code;
            }
            k[i * n + j] = k[j * n + i] = v;
        }
    return NTKC_OK;
}

/* The NNGP of one output unit equals the average of f_o(x)f_o(x') over the
 * o = 1..nout units of a readout nout wide (they are i.i.d. given the hidden
 * layers), and that average's error shrinks like 1/√(width·samples) where a
 * single unit's stays ~1/√samples whatever the width. */
static int accumulate_wide_nngp(FiniteNet *wide, size_t nout, size_t n, const double *x, double *f, double *nngp,
                                ntkc_error *err)
{
    if (finite_net_forward(wide, n, x, f, err) != NTKC_OK)
        return err->code;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)nout, 1.0 / (double)nout, f, (int)nout, 1.0,
                nngp, (int)n);
    return NTKC_OK;
}

int finite_net_kernels(const IrNet *net, size_t n, const double *x, size_t dim,
                       const FiniteNetOptions *opts, double *nngp, double *ntk, ntkc_error *err)
{
    if (opts == NULL || opts->samples == 0 || n == 0 || x == NULL) {
        diag_user(err, "finite net '%s': need at least one input and one sample",
                  net->name ? net->name : "<net>");
        return err->code;
    }
    if (check_inputs(net, n, x, dim, err) != NTKC_OK)
        return err->code;
    size_t nout = opts->width;
    FiniteNet *fn = finite_net_new(net, dim, opts->width, 1, err);
    FiniteNet *wide = fn && nngp ? finite_net_new(net, dim, opts->width, nout, err) : NULL;
    double *f = wide ? malloc(n * nout * sizeof *f) : NULL;
    if (fn == NULL || (nngp && (wide == NULL || f == NULL))) {
        if (err->code == NTKC_OK)
            diag_user(err, "out of memory for the finite-width networks");
        finite_net_free(fn);
        finite_net_free(wide);
        free(f);
        return err->code;
    }
    if (nngp != NULL)
        memset(nngp, 0, n * n * sizeof *nngp);
    if (ntk != NULL)
        memset(ntk, 0, n * n * sizeof *ntk);
    /* Separate streams, so asking for one kernel draws the same networks as
     * asking for both. */
    Rng r, r_wide;
    rng_seed(&r, opts->seed);
    rng_seed(&r_wide, opts->seed ^ 0x5DEECE66DULL);
    for (size_t s = 0; s < opts->samples && err->code == NTKC_OK; s++) {
        if (ntk != NULL) {
            finite_net_init(fn, &r);
            finite_net_accumulate_kernels(fn, n, x, NULL, ntk, err);
        }
        if (nngp != NULL && err->code == NTKC_OK) {
            finite_net_init(wide, &r_wide);
            accumulate_wide_nngp(wide, nout, n, x, f, nngp, err);
        }
    }
    finite_net_free(fn);
    finite_net_free(wide);
    free(f);
    if (err->code != NTKC_OK)
        return err->code;
    double inv = 1.0 / (double)opts->samples;
    if (nngp != NULL && finish(net, "NNGP", nngp, n, inv, err) != NTKC_OK)
        return err->code;
    if (ntk != NULL && finish(net, "NTK", ntk, n, inv, err) != NTKC_OK)
        return err->code;
    return NTKC_OK;
}
