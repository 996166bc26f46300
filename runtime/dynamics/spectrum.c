/* ntkc_spectrum: the eigendecomposition of a training kernel and what it says
 * about gradient descent on it (ntkc.h has every formula). The whole spectrum
 * comes from LAPACK's dsyevd; the top K from ARPACK (spectrum_arpack.c). */
#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "ntkc.h"
#include "spectrum.h"

void ntkc_spectrum_result_free(ntkc_spectrum_result *res)
{
    if (res == NULL)
        return;
    free(res->eigenvalues);
    free(res->energy);
    free(res->loss);
    free(res->arora);
    memset(res, 0, sizeof *res);
}

static double *alloc_doubles(size_t count, ntkc_error *err)
{
    double *p = count <= SIZE_MAX / sizeof(double) ? malloc((count ? count : 1) * sizeof *p) : NULL;
    if (p == NULL)
        diag_user(err, "spectrum: out of memory for %zu numbers", count);
    return p;
}

static int check_input(size_t n, const double *g, const double *y, size_t k, const ntkc_spectrum_options *o,
                       ntkc_error *err)
{
    if (n == 0 || g == NULL || (y != NULL && k == 0)) {
        diag_user(err, "spectrum: needs at least one input%s", y ? " and one output" : "");
        return err->code;
    }
    if (n > INT_MAX / 2) {
        diag_user(err, "spectrum: %zu inputs exceed LAPACK's 32-bit indexing", n);
        return err->code;
    }
    if (o->top >= n && o->top != 0) {
        diag_user(err, "spectrum: --top %zu must be below the number of inputs %zu (leave it out for all)", o->top,
                  n);
        return err->code;
    }
    if (!(o->reach >= 0) || !isfinite(o->reach)) {
        diag_user(err, "spectrum: the loss to reach is %g: it must be finite and >= 0", o->reach);
        return err->code;
    }
    for (size_t t = 0; t < o->ntimes; t++)
        if (!(o->times[t] >= 0)) {
            diag_user(err, "spectrum: time %g must be >= 0", o->times[t]);
            return err->code;
        }
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(g[i])) {
            diag_user(err, "spectrum: kernel entry [%zu][%zu] is %g", i / n, i % n, g[i]);
            return err->code;
        }
    for (size_t i = 0; y != NULL && i < n * k; i++)
        if (!isfinite(y[i])) {
            diag_user(err, "spectrum: target [%zu][%zu] is %g: targets must be finite", i / k, i % k, y[i]);
            return err->code;
        }
    return NTKC_OK;
}

/* Every eigenpair: vecs (n×n, column i the eigenvector of vals[i]), largest
 * first. */
static int full_eigen(size_t n, const double *g, double *vals, double *vecs, ntkc_error *err)
{
    memcpy(vecs, g, n * n * sizeof *vecs);
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', (lapack_int)n, vecs, (lapack_int)n, vals);
    if (info != 0) {
        diag_internal(err, "spectrum: LAPACK dsyevd failed (info %d)", (int)info);
        return err->code;
    }
    /* ascending → descending: reverse the values and the columns */
    for (size_t i = 0; i < n / 2; i++) {
        size_t j = n - 1 - i;
        double t = vals[i];
        vals[i] = vals[j], vals[j] = t;
        for (size_t r = 0; r < n; r++) {
            t = vecs[r * n + i];
            vecs[r * n + i] = vecs[r * n + j], vecs[r * n + j] = t;
        }
    }
    return NTKC_OK;
}

/* (tr G)² / ‖G‖_F²: the participation ratio of the eigenvalues. */
static double effective_rank(size_t n, const double *g, double *trace)
{
    double tr = 0, fro = 0;
    for (size_t i = 0; i < n; i++) {
        tr += g[i * n + i];
        for (size_t j = 0; j < n; j++)
            fro += g[i * n + j] * g[i * n + j];
    }
    *trace = tr;
    return fro > 0 ? tr * tr / fro : NAN;
}

/* ⟨G, YYᵀ⟩ / (‖G‖_F ‖YYᵀ‖_F), with ‖YYᵀ‖_F² = ‖YᵀY‖_F². */
static double alignment(size_t n, const double *g, const double *y, size_t k, ntkc_error *err)
{
    double *gy = alloc_doubles(n * k, err), *yty = alloc_doubles(k * k, err);
    double a = NAN;
    if (gy != NULL && yty != NULL) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k, (int)n, 1.0, g, (int)n, y, (int)k,
                    0.0, gy, (int)k);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)n, 1.0, y, (int)k, y, (int)k,
                    0.0, yty, (int)k);
        double num = 0, gf = 0, yf = 0;
        for (size_t i = 0; i < n * k; i++)
            num += y[i] * gy[i];
        for (size_t i = 0; i < n * n; i++)
            gf += g[i] * g[i];
        for (size_t i = 0; i < k * k; i++)
            yf += yty[i] * yty[i];
        a = gf > 0 && yf > 0 ? num / (sqrt(gf) * sqrt(yf)) : NAN;
    }
    free(gy);
    free(yty);
    return a;
}

/* L(t) from the energies: Σ_i E_i·e^{−2λ_i t/N} / (2N), E_i summed over outputs. */
static double loss_at(const double *vals, const double *e, size_t count, double norm, double t)
{
    double s = 0;
    for (size_t i = 0; i < count; i++)
        s += vals[i] > 0 ? e[i] * exp(-2.0 * vals[i] * t / norm) : e[i];
    return s / (2.0 * norm);
}

/* The first t with L(t) <= target, by bisection on the monotone L. */
static double reach_time(const double *vals, const double *e, size_t count, double norm, double target,
                         double l0, double linf)
{
    if (target >= l0)
        return 0.0;
    if (target <= linf * (1 + 1e-12))
        return INFINITY;
    double lo = 0, hi = 1.0;
    while (loss_at(vals, e, count, norm, hi) > target && hi < 1e300)
        hi *= 2;
    for (int it = 0; it < 200 && hi - lo > 1e-13 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (loss_at(vals, e, count, norm, mid) > target)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* Energies (count×k) of y along the columns of vecs (n×ldv, first count). */
static void project(size_t n, const double *vecs, size_t ldv, size_t count, const double *y, size_t k,
                    double *energy)
{
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)count, (int)k, (int)n, 1.0, vecs, (int)ldv, y,
                (int)k, 0.0, energy, (int)k);
    for (size_t i = 0; i < count * k; i++)
        energy[i] *= energy[i];
}

static int target_measures(size_t n, const double *g, const double *y, size_t k, const ntkc_spectrum_options *o,
                           int full, ntkc_spectrum_result *res, ntkc_error *err)
{
    size_t count = res->count;
    double norm = (double)n * (double)k, *e = alloc_doubles(count, err);
    res->loss = alloc_doubles(o->ntimes, err);
    res->arora = alloc_doubles(k, err);
    if (e == NULL || res->loss == NULL || res->arora == NULL) {
        free(e);
        return err->code;
    }
    double yy = 0;
    for (size_t i = 0; i < n * k; i++)
        yy += y[i] * y[i];
    res->loss0 = yy / (2 * norm);
    for (size_t i = 0; i < count; i++) {
        e[i] = 0;
        for (size_t o2 = 0; o2 < k; o2++)
            e[i] += res->energy[i * k + o2];
    }
    double linf = 0;
    for (size_t i = 0; i < count; i++)
        linf += res->eigenvalues[i] > 0 ? 0 : e[i];
    res->loss_inf = full ? linf / (2 * norm) : NAN;
    res->reach = o->reach > 0 ? o->reach : res->loss0 / 100;
    res->reach_time = full ? reach_time(res->eigenvalues, e, count, norm, res->reach, res->loss0, res->loss_inf)
                           : NAN;
    for (size_t t = 0; t < o->ntimes; t++)
        res->loss[t] = full ? loss_at(res->eigenvalues, e, count, norm, o->times[t]) : NAN;
    int singular = !full || !(res->lambda_min > (double)n * DBL_EPSILON * res->lambda_max);
    for (size_t c = 0; c < k; c++) {
        double q = 0;
        for (size_t i = 0; i < count && !singular; i++)
            q += res->energy[i * k + c] / res->eigenvalues[i];
        res->arora[c] = singular ? NAN : sqrt(2 * q / (double)n);
    }
    free(e);
    res->alignment = alignment(n, g, y, k, err);
    return err->code;
}

int ntkc_spectrum_of_kernel(size_t n, const double *g, const double *y, size_t k,
                            const ntkc_spectrum_options *opts, ntkc_spectrum_result *res, ntkc_error *err)
{
    diag_clear(err);
    ntkc_spectrum_options o = opts ? *opts : (ntkc_spectrum_options){0};
    if (res == NULL || (o.ntimes > 0 && o.times == NULL)) {
        diag_internal(err, "ntkc_spectrum: the result or the times are NULL");
        return err->code;
    }
    memset(res, 0, sizeof *res);
    res->lambda_min = res->condition = res->loss0 = res->loss_inf = res->reach = res->reach_time = NAN;
    res->alignment = NAN;
    if (check_input(n, g, y, k, &o, err))
        return err->code;
    int full = o.top == 0;
    size_t count = full ? n : o.top;
    res->n = n, res->k = y ? k : 0, res->count = count;
    res->eigenvalues = alloc_doubles(count, err);
    double *vecs = alloc_doubles(n * (full ? n : count), err);
    if (res->eigenvalues == NULL || vecs == NULL) {
        free(vecs);
        return err->code;
    }
    int rc = full ? full_eigen(n, g, res->eigenvalues, vecs, err)
                  : spectrum_arpack_top(n, g, count, res->eigenvalues, vecs, err);
    if (rc == 0) {
        res->lambda_max = res->eigenvalues[0];
        if (full) {
            res->lambda_min = res->eigenvalues[n - 1];
            res->condition = res->lambda_min > 0 ? res->lambda_max / res->lambda_min : INFINITY;
        }
        res->effective_rank = effective_rank(n, g, &res->trace);
        res->max_lr = res->lambda_max > 0 ? 2.0 * (double)n * (double)(y ? k : 1) / res->lambda_max : INFINITY;
    }
    if (rc == 0 && y != NULL) {
        res->energy = alloc_doubles(count * k, err);
        if (res->energy != NULL) {
            project(n, vecs, full ? n : count, count, y, k, res->energy);
            rc = target_measures(n, g, y, k, &o, full, res, err);
        } else {
            rc = err->code;
        }
    }
    free(vecs);
    return rc;
}

int ntkc_spectrum(const ntkc_net *net, size_t n, const double *x, size_t dim, const double *y, size_t k,
                  const ntkc_spectrum_options *opts, ntkc_spectrum_result *res, ntkc_error *err)
{
    diag_clear(err);
    if (res != NULL)
        memset(res, 0, sizeof *res);
    if (net == NULL || x == NULL || res == NULL) {
        diag_internal(err, "ntkc_spectrum: the net, the inputs or the result is NULL");
        return err->code;
    }
    if (ntkc_net_takes_graphs(net)) {
        diag_user(err, "net '%s' takes graphs (input graph): use ntkc_spectrum_graphs", ntkc_net_name(net));
        return err->code;
    }
    if (n > 0 && n > SIZE_MAX / sizeof(double) / n) {
        diag_user(err, "spectrum: an %zu×%zu kernel does not fit in memory", n, n);
        return err->code;
    }
    double *g = alloc_doubles(n * n, err);
    if (g == NULL)
        return err->code;
    ntkc_spectrum_options o = opts ? *opts : (ntkc_spectrum_options){0};
    int nngp = o.kernel == NTKC_PREDICT_NNGP;
    int rc = ntkc_kernel(net, n, x, 0, NULL, dim, nngp ? g : NULL, nngp ? NULL : g, &o.eval, err);
    if (rc == 0)
        rc = ntkc_spectrum_of_kernel(n, g, y, k, &o, res, err);
    free(g);
    return rc;
}

int ntkc_spectrum_graphs(const ntkc_net *net, const ntkc_graphs *graphs, const double *y, size_t k,
                         const ntkc_spectrum_options *opts, ntkc_spectrum_result *res, ntkc_error *err)
{
    diag_clear(err);
    if (res != NULL)
        memset(res, 0, sizeof *res);
    if (net == NULL || graphs == NULL || res == NULL) {
        diag_internal(err, "ntkc_spectrum_graphs: the net, the graphs or the result is NULL");
        return err->code;
    }
    if (!ntkc_net_takes_graphs(net)) {
        diag_user(err, "net '%s' does not take graphs: declare 'input graph(F)' in it, or use ntkc_spectrum",
                  ntkc_net_name(net));
        return err->code;
    }
    size_t n = ntkc_graphs_count(graphs);
    if (n > 0 && n > SIZE_MAX / sizeof(double) / n) {
        diag_user(err, "spectrum: an %zu×%zu kernel does not fit in memory", n, n);
        return err->code;
    }
    double *g = alloc_doubles(n * n, err);
    if (g == NULL)
        return err->code;
    ntkc_spectrum_options o = opts ? *opts : (ntkc_spectrum_options){0};
    int nngp = o.kernel == NTKC_PREDICT_NNGP;
    int rc = ntkc_kernel_graphs(net, graphs, NULL, nngp ? g : NULL, nngp ? NULL : g, &o.eval, err);
    if (rc == 0)
        rc = ntkc_spectrum_of_kernel(n, g, y, k, &o, res, err);
    free(g);
    return rc;
}

double ntkc_spectrum_loss(const ntkc_spectrum_result *res, double t)
{
    if (res == NULL || res->energy == NULL || res->count != res->n || res->k == 0 || !(t >= 0))
        return NAN;
    double s = 0, norm = (double)res->n * (double)res->k;
    for (size_t i = 0; i < res->count; i++) {
        double e = 0;
        for (size_t o = 0; o < res->k; o++)
            e += res->energy[i * res->k + o];
        s += res->eigenvalues[i] > 0 ? e * exp(-2.0 * res->eigenvalues[i] * t / norm) : e;
    }
    return s / (2.0 * norm);
}
