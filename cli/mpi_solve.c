/* The solves of ntkc-mpi predict (mpi_solve.h), as runtime/predict/predict.c does
 * them on one process. */
#include "mpi_solve.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_cov.h"
#include "mpi_scalapack.h"
#include "mpi_util.h"
#include "ntkc_tool.h"

static const int ONE = 1;

static CovKernels cov_kernels(const Problem *p)
{
    return (CovKernels){.ntk = p->ntk, .gst = &p->gst, .ktt = &p->ktt, .kst = &p->kst, .kss = &p->kss};
}

/* A covariance into the slots of the times that are finite (finite = 1) at
 * tau, or infinite (finite = 0); refused, as ntkc predict refuses it, when it
 * overflowed. Collective. */
static int emit_cov(Problem *p, const Dist *cov, int finite, double tau, ntkc_error *err)
{
    size_t lld = dist_lld(cov);
    for (size_t lj = 0; lj < (size_t)cov->lc && !err->code; lj++)
        for (size_t li = 0; li < (size_t)cov->lr && !err->code; li++)
            if (!isfinite(cov->a[li + lj * lld]))
                err_user(err, "the predicted covariance overflowed (entry [%zu][%zu] is %g); rescale the kernels or "
                               "targets",
                          dist_row(&p->g, li), dist_col(&p->g, lj), cov->a[li + lj * lld]);
    if (mpi_agree(p->comm, err->code, err) != 0)
        return err->code;
    MpiCyclic layout = dist_cyclic(&p->g, cov);
    int rc = 0;
    for (size_t t = 0; t < p->ntimes; t++)
        if (finite ? !isinf(p->times[t]) && p->times[t] / p->norm == tau : isinf(p->times[t]))
            rc |= mpi_out_write_cyclic(p->cov, t, &layout, cov->a, err) != 0;
    return mpi_agree(p->comm, rc ? err->code : 0, err); /* the next step is collective too */
}

/* One pdsyevd for every finite time; mean slots of infinite times untouched. */
static int solve_finite(Problem *p, const Dist *gtt, double *mean, ntkc_error *err)
{
    Dist z = {0}, pz = {0}, c = {0}, s = {0}, mt = {0}, cov = {0}, s2 = {0}, tr = {0};
    CovBasis basis = {0};
    double *w = malloc(p->n * sizeof *w), *work = NULL, query;
    int *iwork = NULL, n = (int)p->n, info = 0, lwork = -1, liwork = 1, iquery;
    if (w == NULL)
        err_internal(err, "out of memory");
    if (mpi_agree(p->comm, err->code ? err->code : dist_init(&p->g, p->n, p->n, &z, err), err) == 0) {
        pdsyevd_("V", "U", &n, gtt->a, &ONE, &ONE, gtt->desc, w, z.a, &ONE, &ONE, z.desc, &query, &lwork, &iquery,
                 &liwork, &info);
        /* pdsyevd's query undercounts what its pdormtr needs on some grids (a
         * 1 × 3 grid with 19 points and blocks of 8 failed with "PDORMTR
         * parameter 16", and pdsyevd carried on): add a block column per
         * local row and column. */
        double extra = 2.0 * (double)(z.lr + z.lc + p->g.nb) * p->g.nb + (double)p->n;
        if (query + extra > INT_MAX)
            err_user(err, "finite-time prediction with %zu training points exceeds ScaLAPACK's 32-bit workspace "
                           "on %d x %d ranks; use more ranks or ask for t = inf", p->n, p->g.pr, p->g.pc);
        lwork = (int)(query + extra), liwork = iquery > 1 ? iquery : 1;
        work = err->code ? NULL : malloc((size_t)lwork * sizeof *work), iwork = malloc((size_t)liwork * sizeof *iwork);
        if (!err->code && (work == NULL || iwork == NULL))
            err_user(err, "prediction: out of memory in the eigendecomposition of %zu training points", p->n);
    }
    if (mpi_agree(p->comm, err->code, err) == 0) {
        pdsyevd_("V", "U", &n, gtt->a, &ONE, &ONE, gtt->desc, w, z.a, &ONE, &ONE, z.desc, work, &lwork, iwork,
                 &liwork, &info);
        if (info != 0)
            err_internal(err, "eigendecomposition of the train-train %s failed (pdsyevd info %d)", p->name, info);
    }
    free(work), free(iwork);
    int rc = err->code || dist_init(&p->g, p->m, p->n, &pz, err) || dist_init(&p->g, p->n, p->k, &c, err) ||
             dist_init(&p->g, p->n, p->k, &s, err) || dist_init(&p->g, p->m, p->k, &mt, err) ||
             (p->cov && dist_init(&p->g, p->m, p->m, &cov, err)) ||
             (p->want_train && (dist_init(&p->g, p->n, p->k, &s2, err) || dist_init(&p->g, p->n, p->k, &tr, err)));
    if (mpi_agree(p->comm, rc ? err->code : 0, err) == 0) {
        dist_gemm("N", "N", 1.0, &p->gst, &z, 0.0, &pz); /* G_st·V */
        dist_gemm("T", "N", 1.0, &z, &p->y, 0.0, &c);    /* Vᵀ·y */
        CovKernels ck = cov_kernels(p);
        if (p->cov)
            cov_basis_init(&p->g, &ck, &z, &pz, &basis, err);
        for (size_t t = 0; t < p->ntimes && !err->code; t++) {
            if (isinf(p->times[t]))
                continue;
            double tau = p->times[t] / p->norm;
            size_t lld = dist_lld(&c);
            for (size_t li = 0; li < (size_t)c.lr; li++) {
                double lambda = w[dist_row(&p->g, li)];
                double a = lambda > 0 ? -expm1(-lambda * tau) / lambda : 0.0; /* as predict.c */
                /* the training rows: G_r·V·diag(a)·Vᵀ = V·diag(λ·a)·Vᵀ */
                double la = lambda > 0 ? -expm1(-lambda * tau) : 0.0;
                for (size_t lj = 0; lj < (size_t)c.lc; lj++) {
                    s.a[li + lj * lld] = a * c.a[li + lj * lld];
                    if (p->want_train)
                        s2.a[li + lj * lld] = la * c.a[li + lj * lld];
                }
            }
            dist_gemm("N", "N", 1.0, &pz, &s, 0.0, &mt);
            dist_gather(p->comm, &p->g, &mt, mean + t * p->m * p->k, err);
            if (p->want_train) {
                dist_gemm("N", "N", 1.0, &z, &s2, 0.0, &tr);
                dist_gather(p->comm, &p->g, &tr, p->train + t * p->n * p->k, err);
            }
            int first = 1; /* a repeated time's covariance is written with its first */
            for (size_t u = 0; u < t; u++)
                first &= isinf(p->times[u]) || p->times[u] / p->norm != tau;
            if (p->cov && first && cov_finite(&p->g, &ck, &basis, w, tau, &cov, err) == 0)
                emit_cov(p, &cov, 1, tau, err);
        }
    }
    free(w);
    cov_basis_free(&basis);
    dist_free(&z), dist_free(&pz), dist_free(&c), dist_free(&s), dist_free(&mt), dist_free(&cov);
    dist_free(&s2), dist_free(&tr);
    return err->code;
}

/* pdpotrf of a (upper triangle; overwritten by its factor) and, when it
 * succeeds, pdpocon's estimate of 1/κ₁ into rcond. *info is pdpotrf's (> 0:
 * not positive definite). Collective; 0 or the agreed error. */
static int factorise(Problem *p, Dist *gtt, double *rcond_out, int *info_out, ntkc_error *err)
{
    int n = (int)p->n, info = 0;
    size_t lwork_norm = 3 * (size_t)(gtt->lr + gtt->lc) + 4 * (size_t)p->g.nb + 16;
    double *work = malloc(lwork_norm * sizeof *work), rcond = 0;
    if (work == NULL)
        err_internal(err, "out of memory");
    if (mpi_agree(p->comm, err->code, err) != 0) {
        free(work);
        return err->code;
    }
    double anorm = pdlansy_("1", "U", &n, gtt->a, &ONE, &ONE, gtt->desc, work);
    free(work);
    pdpotrf_("U", &n, gtt->a, &ONE, &ONE, gtt->desc, &info);
    if (info == 0) {
        int lwork = -1, liwork = -1, iquery;
        double query;
        pdpocon_("U", &n, gtt->a, &ONE, &ONE, gtt->desc, &anorm, &rcond, &query, &lwork, &iquery, &liwork, &info);
        lwork = (int)query + 1, liwork = iquery > 1 ? iquery : 1;
        double *w = malloc((size_t)lwork * sizeof *w);
        int *iw = malloc((size_t)liwork * sizeof *iw);
        if (w == NULL || iw == NULL)
            err_internal(err, "out of memory");
        if (mpi_agree(p->comm, err->code, err) == 0)
            pdpocon_("U", &n, gtt->a, &ONE, &ONE, gtt->desc, &anorm, &rcond, w, &lwork, iw, &liwork, &info);
        free(w), free(iw);
        if (err->code)
            return err->code;
    }
    if (info < 0) {
        err_internal(err, "Cholesky factorisation of the train-train %s failed (info %d)", p->name, info);
        return err->code;
    }
    *rcond_out = rcond, *info_out = info;
    return 0;
}

int mpi_check_float32(Problem *p, int regularised, ntkc_error *err)
{
    Dist a = {0};
    double rcond = 0;
    int info = 0;
    if (mpi_agree(p->comm, dist_copy(&p->g, &p->gtt, &a, err), err) == 0 &&
        factorise(p, &a, &rcond, &info, err) == 0)
        predict_float32_verdict(info > 0, rcond, p->name, regularised, "ScaLAPACK pdpocon", err);
    dist_free(&a);
    return err->code; /* every rank has the same info and rcond */
}

/* Cholesky of the training kernel (refused when not numerically positive
 * definite, as predict.c refuses it), then the mean (and covariance) at t = ∞. */
static int solve_infinite(Problem *p, Dist *gtt, double *mean, ntkc_error *err)
{
    int n = (int)p->n, k = (int)p->k, info = 0;
    double rcond = 0;
    if (factorise(p, gtt, &rcond, &info, err) != 0)
        return err->code;
    if (info > 0 || rcond < DBL_EPSILON) {
        err_user(err, "the train-train %s is singular (not positive definite%s), so the t = inf prediction "
                       "is undefined; regularise it, e.g. --reg 1e-6 (relative to its mean diagonal), or "
                       "ask for finite times",
                  p->name, info > 0 ? "" : ": reciprocal condition number below machine epsilon");
        return err->code;
    }
    Dist x = {0}, mt = {0}, cov = {0};
    int rc = dist_init(&p->g, p->n, p->k, &x, err) || dist_init(&p->g, p->m, p->k, &mt, err) ||
             (p->cov && dist_init(&p->g, p->m, p->m, &cov, err));
    if (mpi_agree(p->comm, rc ? err->code : 0, err) == 0) {
        memcpy(x.a, p->y.a, dist_lld(&x) * (size_t)(x.lc > 1 ? x.lc : 1) * sizeof *x.a);
        pdpotrs_("U", &n, &k, gtt->a, &ONE, &ONE, gtt->desc, x.a, &ONE, &ONE, x.desc, &info);
        if (info != 0)
            err_internal(err, "Cholesky solve with the train-train %s failed (info %d)", p->name, info);
        else {
            dist_gemm("N", "N", 1.0, &p->gst, &x, 0.0, &mt);
            dist_gather(p->comm, &p->g, &mt, mean, err);
        }
        CovKernels ck = cov_kernels(p);
        if (!err->code && p->cov && cov_infinite(&p->g, &ck, gtt, &cov, err) == 0)
            emit_cov(p, &cov, 0, INFINITY, err);
    }
    dist_free(&x), dist_free(&mt), dist_free(&cov);
    return err->code;
}

double mpi_regularise(Problem *p, double reg, int absolute)
{
    double trace = 0, total;
    for (size_t i = 0; i < p->n; i++)
        if (dist_owns(&p->g, i, i))
            trace += *dist_at(&p->g, &p->gtt, i, i);
    MPI_Allreduce(&trace, &total, 1, MPI_DOUBLE, MPI_SUM, p->comm);
    double shift = absolute ? reg : reg * total / (double)p->n;
    for (size_t i = 0; i < p->n; i++)
        if (dist_owns(&p->g, i, i))
            *dist_at(&p->g, &p->gtt, i, i) += shift;
    return shift;
}

/* Finite times first (on a copy of G_r when t = ∞ needs it too). */
int mpi_solve(Problem *p, double *mean, ntkc_error *err)
{
    size_t finite = 0, first_inf = p->ntimes;
    for (size_t t = 0; t < p->ntimes; t++) {
        finite += !isinf(p->times[t]);
        if (isinf(p->times[t]) && first_inf == p->ntimes)
            first_inf = t;
    }
    Dist copy = p->gtt; /* pdsyevd overwrites the kernel */
    int rc = 0;
    if (finite > 0 && first_inf < p->ntimes)
        rc = mpi_agree(p->comm, dist_copy(&p->g, &p->gtt, &copy, err), err);
    if (rc == 0 && finite > 0)
        rc = mpi_agree(p->comm, solve_finite(p, first_inf < p->ntimes ? &copy : &p->gtt, mean, err), err);
    if (rc == 0 && first_inf < p->ntimes) {
        rc = mpi_agree(p->comm, solve_infinite(p, &p->gtt, mean + first_inf * p->m * p->k, err), err);
        for (size_t t = first_inf + 1; rc == 0 && t < p->ntimes; t++)
            if (isinf(p->times[t]))
                memcpy(mean + t * p->m * p->k, mean + first_inf * p->m * p->k, p->m * p->k * sizeof *mean);
    }
    if (copy.a != p->gtt.a)
        dist_free(&copy);
    return rc;
}


void problem_free(Problem *p)
{
    dist_free(&p->gtt), dist_free(&p->gst), dist_free(&p->y);
    dist_free(&p->ktt), dist_free(&p->kst), dist_free(&p->kss);
}
