/* Gradient-flow MSE predictions of infinite ensembles; formulas in predict.h. */
#include "predict.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The validated request, with the kernel that drives training picked out. */
typedef struct Problem {
    size_t n, m, k;
    int ntk;                     /* PREDICT_NTK: covariance needs both kernels */
    const double *g_tt, *g_st;   /* Θ or K */
    const double *k_tt, *k_st, *k_ss;
    const double *y;
    double shift;                /* absolute diagonal regulariser */
    double norm;                 /* N = y.size */
} Problem;

static double *alloc_matrix(size_t rows, size_t cols, ntkc_error *err)
{
    size_t count = rows * cols;
    if (cols != 0 && count / cols != rows) {
        diag_user(err, "prediction: a %zu×%zu matrix does not fit in memory", rows, cols);
        return NULL;
    }
    double *p = malloc((count ? count : 1) * sizeof *p);
    if (p == NULL)
        diag_user(err, "prediction: out of memory allocating a %zu×%zu matrix", rows, cols);
    return p;
}

static int check_finite(const double *a, size_t rows, size_t cols, const char *what, ntkc_error *err)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            if (!isfinite(a[i * cols + j])) {
                diag_user(err, "%s[%zu][%zu] is %g: entries must be finite", what, i, j, a[i * cols + j]);
                return err->code;
            }
    return NTKC_OK;
}

static int check_times(const double *times, size_t ntimes, ntkc_error *err)
{
    for (size_t i = 0; i < ntimes; i++)
        if (isnan(times[i]) || times[i] < 0) {
            diag_user(err, "prediction time %zu is %g: times must be >= 0 (inf = trained to convergence)",
                      i, times[i]);
            return err->code;
        }
    return NTKC_OK;
}

/* Missing arrays are the caller's bug; bad values are the user's. */
static int make_problem(const PredictInput *in, PredictKernel kind, int want_cov, Problem *p, ntkc_error *err)
{
    int ntk = kind == PREDICT_NTK;
    const double *g_tt = ntk ? in->ntk_tt : in->nngp_tt, *g_st = ntk ? in->ntk_st : in->nngp_st;
    if (kind != PREDICT_NTK && kind != PREDICT_NNGP)
        diag_internal(err, "prediction: unknown kernel kind %d", (int)kind);
    else if (in->y == NULL || g_tt == NULL || (in->m > 0 && g_st == NULL))
        diag_internal(err, "prediction: the %s kernels or the targets are missing", ntk ? "NTK" : "NNGP");
    else if (want_cov && in->m > 0 && (in->nngp_tt == NULL || in->nngp_st == NULL || in->nngp_ss == NULL))
        diag_internal(err, "prediction: the covariance needs the train-train, test-train and test-test NNGP");
    if (err->code)
        return err->code;
    if (in->n == 0 || in->k == 0) {
        diag_user(err, "prediction needs at least one training point and one output (got n=%zu, k=%zu)",
                  in->n, in->k);
        return err->code;
    }
    if (in->n > INT_MAX || in->m > INT_MAX || in->k > INT_MAX) {
        diag_user(err, "prediction: %zu training points, %zu test points or %zu outputs exceed BLAS's limit %d",
                  in->n, in->m, in->k, INT_MAX);
        return err->code;
    }
    if (!isfinite(in->reg) || in->reg < 0) {
        diag_user(err, "regularisation --reg is %g: it must be a finite number >= 0", in->reg);
        return err->code;
    }
    size_t n = in->n, m = in->m;
    const char *g = ntk ? "NTK" : "NNGP";
    char name_tt[32], name_st[32];
    snprintf(name_tt, sizeof name_tt, "train-train %s", g);
    snprintf(name_st, sizeof name_st, "test-train %s", g);
    if (check_finite(in->y, n, in->k, "target y", err) || check_finite(g_tt, n, n, name_tt, err) ||
        check_finite(g_st, m, n, name_st, err))
        return err->code;
    int cov_inputs = want_cov && m > 0;
    if (cov_inputs && ntk &&
        (check_finite(in->nngp_tt, n, n, "train-train NNGP", err) ||
         check_finite(in->nngp_st, m, n, "test-train NNGP", err)))
        return err->code;
    if (cov_inputs && check_finite(in->nngp_ss, m, m, "test-test NNGP", err))
        return err->code;

    double trace = 0;
    for (size_t i = 0; i < n; i++)
        trace += g_tt[i * n + i];
    *p = (Problem){.n = n, .m = m, .k = in->k, .ntk = ntk, .g_tt = g_tt, .g_st = g_st,
                   .k_tt = in->nngp_tt, .k_st = in->nngp_st, .k_ss = in->nngp_ss, .y = in->y,
                   .shift = in->reg_absolute ? in->reg : in->reg * trace / (double)n, .norm = (double)n * (double)in->k};
    return NTKC_OK;
}

/* G_tt + shift·I in a fresh buffer. */
static double *regularised_train_kernel(const Problem *p, ntkc_error *err)
{
    double *g = alloc_matrix(p->n, p->n, err);
    if (g == NULL)
        return NULL;
    memcpy(g, p->g_tt, p->n * p->n * sizeof *g);
    for (size_t i = 0; i < p->n; i++)
        g[i * p->n + i] += p->shift;
    return g;
}

/* dsyrk/dsyr2k fill the lower triangle only. */
static void mirror_lower(double *c, size_t m)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++)
            c[i * m + j] = c[j * m + i];
}

/* a(λ, τ) = ∫_0^τ e^{−λs} ds; expm1 keeps the digits when λτ is small. */
static double flow_weight(double lambda, double tau)
{
    return lambda > 0 ? -expm1(-lambda * tau) / lambda : 0.0;
}

static const char *kernel_name(const Problem *p)
{
    return p->ntk ? "NTK" : "NNGP";
}

/* Everything about the eigenbasis that does not depend on t. */
typedef struct Eigen {
    double *v;      /* n×n, columns are eigenvectors */
    double *lambda; /* n */
    double *p;      /* m×n  G_st·V */
    double *c;      /* n×k  Vᵀ·y */
    double *s;      /* m×n  K_st·V   (NTK covariance) */
    double *kv;     /* n×n  Vᵀ·K_tt·V (NTK covariance) */
} Eigen;

static void eigen_free(Eigen *e)
{
    free(e->v), free(e->lambda), free(e->p), free(e->c), free(e->s), free(e->kv);
}

static int eigen_init(const Problem *p, int want_cov, Eigen *e, ntkc_error *err)
{
    int n = (int)p->n, m = (int)p->m, k = (int)p->k;
    *e = (Eigen){0};
    if (1.0 + 6.0 * n + 2.0 * n * (double)n > INT_MAX) {
        diag_user(err, "finite-time prediction with %d training points exceeds LAPACK's 32-bit workspace "
                       "(at most 32767 points); ask for t = inf instead", n);
        return err->code;
    }
    e->v = regularised_train_kernel(p, err);
    e->lambda = alloc_matrix(p->n, 1, err);
    e->p = alloc_matrix(p->m, p->n, err);
    e->c = alloc_matrix(p->n, p->k, err);
    if (want_cov && p->ntk) {
        e->s = alloc_matrix(p->m, p->n, err);
        e->kv = alloc_matrix(p->n, p->n, err);
    }
    if (err->code)
        return err->code;
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', n, e->v, n, e->lambda);
    if (info != 0) {
        if (info == LAPACK_WORK_MEMORY_ERROR)
            diag_user(err, "prediction: out of memory in the eigendecomposition of %d training points", n);
        else
            diag_internal(err, "eigendecomposition of the train-train %s failed (dsyevd info %d)",
                          kernel_name(p), (int)info);
        return err->code;
    }
    if (m > 0)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, n, 1.0, p->g_st, n, e->v, n, 0.0, e->p, n);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, n, 1.0, e->v, n, p->y, k, 0.0, e->c, k);
    if (want_cov && p->ntk && m > 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, n, 1.0, p->k_st, n, e->v, n, 0.0, e->s, n);
        double *kvt = alloc_matrix(p->n, p->n, err); /* K_tt·V */
        if (kvt == NULL)
            return err->code;
        cblas_dsymm(CblasRowMajor, CblasLeft, CblasLower, n, n, 1.0, p->k_tt, n, e->v, n, 0.0, kvt, n);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0, e->v, n, kvt, n, 0.0, e->kv, n);
        free(kvt);
    }
    return NTKC_OK;
}

/* mean = P·diag(a)·c, with a = a(λ, τ). */
static void finite_mean(const Problem *p, const Eigen *e, double tau, double *scratch, double *mean)
{
    int n = (int)p->n, m = (int)p->m, k = (int)p->k;
    for (size_t i = 0; i < p->n; i++) {
        double a = flow_weight(e->lambda[i], tau);
        for (size_t j = 0; j < p->k; j++)
            scratch[i * p->k + j] = a * e->c[i * p->k + j];
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, n, 1.0, e->p, n, scratch, k, 0.0, mean, k);
}

/* NNGP: cov = K_ss − Q·Qᵀ with Q = P·diag(√a(λ, 2τ)), since a >= 0. */
static void finite_cov_nngp(const Problem *p, const Eigen *e, double tau, double *q, double *cov)
{
    int n = (int)p->n, m = (int)p->m;
    for (size_t j = 0; j < p->n; j++) {
        double h = sqrt(flow_weight(e->lambda[j], 2 * tau));
        for (size_t i = 0; i < p->m; i++)
            q[i * p->n + j] = e->p[i * p->n + j] * h;
    }
    memcpy(cov, p->k_ss, p->m * p->m * sizeof *cov);
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, m, n, -1.0, q, n, 1.0, cov, m);
    mirror_lower(cov, p->m);
}

/* NTK: B = Q·Vᵀ with Q = P·diag(a), so B·K·Bᵀ = Q·Kv·Qᵀ and B·K_ts = Q·Sᵀ; with
 * U = Q·Kv/2 − S, cov = K_ss + U·Qᵀ + Q·Uᵀ (one symmetric rank-2k update). */
static void finite_cov_ntk(const Problem *p, const Eigen *e, double tau, double *q, double *u, double *cov)
{
    int n = (int)p->n, m = (int)p->m;
    for (size_t j = 0; j < p->n; j++) {
        double a = flow_weight(e->lambda[j], tau);
        for (size_t i = 0; i < p->m; i++)
            q[i * p->n + j] = e->p[i * p->n + j] * a;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, n, 0.5, q, n, e->kv, n, 0.0, u, n);
    for (size_t i = 0; i < p->m * p->n; i++)
        u[i] -= e->s[i];
    memcpy(cov, p->k_ss, p->m * p->m * sizeof *cov);
    cblas_dsyr2k(CblasRowMajor, CblasLower, CblasNoTrans, m, n, 1.0, u, n, q, n, 1.0, cov, m);
    mirror_lower(cov, p->m);
}

static int predict_finite(const Problem *p, const double *times, size_t ntimes, double *mean, double *cov,
                          ntkc_error *err)
{
    Eigen e;
    if (eigen_init(p, cov != NULL, &e, err)) {
        eigen_free(&e);
        return err->code;
    }
    double *scratch = alloc_matrix(p->n, p->k, err);
    double *q = cov ? alloc_matrix(p->m, p->n, err) : NULL;
    double *u = cov && p->ntk ? alloc_matrix(p->m, p->n, err) : NULL;
    for (size_t t = 0; t < ntimes && !err->code; t++) {
        if (isinf(times[t]))
            continue;
        double tau = times[t] / p->norm;
        finite_mean(p, &e, tau, scratch, mean + t * p->m * p->k);
        if (cov && p->ntk)
            finite_cov_ntk(p, &e, tau, q, u, cov + t * p->m * p->m);
        else if (cov)
            finite_cov_nngp(p, &e, tau, q, cov + t * p->m * p->m);
    }
    free(scratch), free(q), free(u);
    eigen_free(&e);
    return err->code;
}

/* Cholesky factor (lower) of G_r; fails when G_r is not numerically positive
 * definite, which is what an unregularised kernel of repeated points is. */
static double *train_cholesky(const Problem *p, ntkc_error *err)
{
    int n = (int)p->n;
    double *l = regularised_train_kernel(p, err);
    if (l == NULL)
        return NULL;
    double anorm = LAPACKE_dlansy(LAPACK_ROW_MAJOR, '1', 'L', n, l, n);
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, l, n);
    double rcond = 0;
    if (info == 0)
        info = LAPACKE_dpocon(LAPACK_ROW_MAJOR, 'L', n, l, n, anorm, &rcond);
    if (info < 0) {
        diag_internal(err, "Cholesky factorisation of the train-train %s failed (info %d)", kernel_name(p),
                      (int)info);
    } else if (info > 0 || rcond < DBL_EPSILON) {
        diag_user(err, "the train-train %s is singular (not positive definite%s), so the t = inf prediction "
                       "is undefined; regularise it, e.g. --reg 1e-6 (relative to its mean diagonal), or "
                       "ask for finite times",
                  kernel_name(p), info > 0 ? "" : ": reciprocal condition number below machine epsilon");
    }
    if (err->code) {
        free(l);
        return NULL;
    }
    return l;
}

/* x (n×cols) = transpose of a (cols×n). */
static void transpose(const double *a, size_t cols, size_t n, double *x)
{
    for (size_t i = 0; i < cols; i++)
        for (size_t j = 0; j < n; j++)
            x[j * cols + i] = a[i * n + j];
}

/* NNGP: with K_r = L·Lᵀ and Y = L⁻¹·K_ts, cov = K_ss − Yᵀ·Y. */
static int infinite_cov_nngp(const Problem *p, const double *l, double *cov, ntkc_error *err)
{
    int n = (int)p->n, m = (int)p->m;
    double *y = alloc_matrix(p->n, p->m, err);
    if (y == NULL)
        return err->code;
    transpose(p->k_st, p->m, p->n, y);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n, m, 1.0, l, n, y, m);
    memcpy(cov, p->k_ss, p->m * p->m * sizeof *cov);
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, m, n, -1.0, y, m, 1.0, cov, m);
    mirror_lower(cov, p->m);
    free(y);
    return NTKC_OK;
}

/* NTK: Bᵀ = Θ_r⁻¹·Θ_ts and Uᵀ = K_tt·Bᵀ/2 − K_ts give cov = K_ss + U·Bᵀ + B·Uᵀ. */
static int infinite_cov_ntk(const Problem *p, const double *l, double *cov, ntkc_error *err)
{
    int n = (int)p->n, m = (int)p->m;
    double *bt = alloc_matrix(p->n, p->m, err), *ut = alloc_matrix(p->n, p->m, err);
    double *kts = alloc_matrix(p->n, p->m, err);
    if (!err->code) {
        transpose(p->g_st, p->m, p->n, bt);
        lapack_int info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', n, m, l, n, bt, m);
        if (info != 0)
            diag_internal(err, "Cholesky solve with the train-train NTK failed (info %d)", (int)info);
    }
    if (!err->code) {
        transpose(p->k_st, p->m, p->n, kts);
        cblas_dsymm(CblasRowMajor, CblasLeft, CblasLower, n, m, 0.5, p->k_tt, n, bt, m, 0.0, ut, m);
        for (size_t i = 0; i < p->n * p->m; i++)
            ut[i] -= kts[i];
        memcpy(cov, p->k_ss, p->m * p->m * sizeof *cov);
        cblas_dsyr2k(CblasRowMajor, CblasLower, CblasTrans, m, n, 1.0, ut, m, bt, m, 1.0, cov, m);
        mirror_lower(cov, p->m);
    }
    free(bt), free(ut), free(kts);
    return err->code;
}

/* Fills mean and cov for one t = ∞ slot. */
static int predict_infinite(const Problem *p, double *mean, double *cov, ntkc_error *err)
{
    int n = (int)p->n, m = (int)p->m, k = (int)p->k;
    double *l = train_cholesky(p, err);
    double *x = l ? alloc_matrix(p->n, p->k, err) : NULL;
    if (x != NULL) {
        memcpy(x, p->y, p->n * p->k * sizeof *x);
        lapack_int info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', n, k, l, n, x, k);
        if (info != 0)
            diag_internal(err, "Cholesky solve with the train-train %s failed (info %d)", kernel_name(p),
                          (int)info);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, n, 1.0, p->g_st, n, x, k, 0.0, mean, k);
    }
    if (!err->code && cov != NULL)
        (p->ntk ? infinite_cov_ntk : infinite_cov_nngp)(p, l, cov, err);
    free(l), free(x);
    return err->code;
}

/* Linear algebra on finite inputs can still overflow (kernels near DBL_MAX). */
static int check_output(const double *a, size_t count, const char *what, ntkc_error *err)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(a[i])) {
            diag_user(err, "the predicted %s overflowed (entry %zu is %g); rescale the kernels or targets",
                      what, i, a[i]);
            return err->code;
        }
    return NTKC_OK;
}

int predict_gd_mse(const PredictInput *in, PredictKernel kind, const double *times, size_t ntimes,
                   double *mean, double *cov, ntkc_error *err)
{
    if (in == NULL || (ntimes > 0 && (times == NULL || mean == NULL))) {
        diag_internal(err, "predict_gd_mse: missing input, times or mean");
        return err->code;
    }
    Problem p;
    if (make_problem(in, kind, cov != NULL, &p, err) || check_times(times, ntimes, err))
        return err->code;
    if (p.m == 0)
        return NTKC_OK;
    size_t first_inf = ntimes, finite = 0;
    for (size_t t = 0; t < ntimes; t++) {
        if (isinf(times[t]) && first_inf == ntimes)
            first_inf = t;
        finite += !isinf(times[t]);
    }
    size_t mean_size = p.m * p.k, cov_size = p.m * p.m;
    if (finite > 0 && predict_finite(&p, times, ntimes, mean, cov, err))
        return err->code;
    if (first_inf < ntimes) {
        double *mean_inf = mean + first_inf * mean_size, *cov_inf = cov ? cov + first_inf * cov_size : NULL;
        if (predict_infinite(&p, mean_inf, cov_inf, err))
            return err->code;
        for (size_t t = first_inf + 1; t < ntimes; t++) {
            if (!isinf(times[t]))
                continue;
            memcpy(mean + t * mean_size, mean_inf, mean_size * sizeof *mean);
            if (cov)
                memcpy(cov + t * cov_size, cov_inf, cov_size * sizeof *cov);
        }
    }
    if (check_output(mean, ntimes * mean_size, "mean", err))
        return err->code;
    if (cov)
        check_output(cov, ntimes * cov_size, "covariance", err);
    return err->code;
}
