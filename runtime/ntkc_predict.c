/* ntkc_predict: the kernels a prediction needs, then predict_gd_mse. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ntkc.h"
#include "predict.h"

/* Progress over several ntkc_kernel calls as one count of entries. */
typedef struct Progress {
    const ntkc_eval_options *user;
    size_t offset, total;
} Progress;

static int forward_progress(void *ctx, size_t done, size_t total)
{
    (void)total;
    const Progress *p = ctx;
    return p->user->progress(p->user->progress_ctx, p->offset + done, p->total);
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int check_finite(const double *a, size_t rows, size_t cols, const char *what, ntkc_error *err)
{
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(a[i])) {
            diag_user(err, "%s[%zu][%zu] is %g: entries must be finite", what, i / cols, i % cols, a[i]);
            return err->code;
        }
    return NTKC_OK;
}

/* Everything that can be wrong with the request, before the costly part. */
static int check_request(const ntkc_net *net, size_t n, const double *x_train, const double *y_train, size_t k,
                         size_t m, const double *x_test, size_t dim, const double *times, size_t ntimes,
                         const ntkc_predict_options *o, double *mean, ntkc_error *err)
{
    if (net == NULL || x_train == NULL || y_train == NULL || (m > 0 && (x_test == NULL || mean == NULL)) ||
        (ntimes > 0 && times == NULL)) {
        diag_internal(err, "ntkc_predict: the net, an input array, the targets or the mean is NULL");
        return err->code;
    }
    if (o->kernel != NTKC_PREDICT_NTK && o->kernel != NTKC_PREDICT_NNGP) {
        diag_user(err, "ntkc_predict: unknown kernel kind %d (NTKC_PREDICT_NTK or NTKC_PREDICT_NNGP)",
                  (int)o->kernel);
        return err->code;
    }
    if (n == 0 || k == 0 || dim == 0) {
        diag_user(err, "prediction needs at least one training point, one output and one feature (got n=%zu, "
                       "k=%zu, dim=%zu)", n, k, dim);
        return err->code;
    }
    size_t want = ntkc_net_input_dim(net);
    if (want != 0 && dim != want) {
        diag_user(err, "net '%s' takes inputs of %zu features, the data have %zu", ntkc_net_name(net), want, dim);
        return err->code;
    }
    for (size_t t = 0; t < ntimes; t++)
        if (isnan(times[t]) || times[t] < 0) {
            diag_user(err, "prediction time %g is %s: times must be >= 0 (inf = trained to convergence)", times[t],
                      isnan(times[t]) ? "not a number" : "negative");
            return err->code;
        }
    if (!isfinite(o->reg) || o->reg < 0) {
        diag_user(err, "the regularisation (--reg) is %g: it must be a finite number >= 0", o->reg);
        return err->code;
    }
    if (check_finite(y_train, n, k, "targets y_train", err) || check_finite(x_train, n, dim, "x_train", err) ||
        check_finite(x_test, m, dim, "x_test", err))
        return err->code;
    return NTKC_OK;
}

/* The kernels, as predict_gd_mse names them; NULL where not needed. */
typedef struct Kernels {
    double *ntk_tt, *nngp_tt, *ntk_st, *nngp_st, *nngp_ss;
} Kernels;

static void kernels_free(Kernels *ks)
{
    free(ks->ntk_tt), free(ks->nngp_tt), free(ks->ntk_st), free(ks->nngp_st), free(ks->nngp_ss);
}

static double *alloc_kernel(size_t rows, size_t cols, int wanted, ntkc_error *err)
{
    if (!wanted || err->code)
        return NULL;
    if (cols != 0 && rows > SIZE_MAX / sizeof(double) / cols) {
        diag_user(err, "prediction: a %zu×%zu kernel does not fit in memory", rows, cols);
        return NULL;
    }
    double *p = malloc((rows * cols > 0 ? rows * cols : 1) * sizeof *p);
    if (p == NULL)
        diag_user(err, "prediction: out of memory for a %zu×%zu kernel", rows, cols);
    return p;
}

/* Train-train (symmetric), test-train and, for a covariance, test-test. */
static int compute_kernels(const ntkc_net *net, size_t n, const double *x_train, size_t m, const double *x_test,
                           size_t dim, int ntk, int want_cov, const ntkc_eval_options *user, Kernels *ks,
                           ntkc_error *err)
{
    int nngp = !ntk || want_cov, test = m > 0, ss = want_cov && test;
    ks->ntk_tt = alloc_kernel(n, n, ntk, err);
    ks->nngp_tt = alloc_kernel(n, n, nngp, err);
    ks->ntk_st = alloc_kernel(m, n, ntk && test, err);
    ks->nngp_st = alloc_kernel(m, n, nngp && test, err);
    ks->nngp_ss = alloc_kernel(m, m, ss, err);
    if (err->code)
        return err->code;
    Progress prog = {.user = user, .total = n * (n + 1) / 2 + (test ? m * n : 0) + (ss ? m * (m + 1) / 2 : 0)};
    ntkc_eval_options eo = *user;
    if (user->progress) {
        eo.progress = forward_progress;
        eo.progress_ctx = &prog;
    }
    if (ntkc_kernel(net, n, x_train, 0, NULL, dim, ks->nngp_tt, ks->ntk_tt, &eo, err))
        return err->code;
    prog.offset += n * (n + 1) / 2;
    if (test && ntkc_kernel(net, m, x_test, n, x_train, dim, ks->nngp_st, ks->ntk_st, &eo, err))
        return err->code;
    prog.offset += test ? m * n : 0;
    if (ss && ntkc_kernel(net, m, x_test, 0, NULL, dim, ks->nngp_ss, NULL, &eo, err))
        return err->code;
    return NTKC_OK;
}

int ntkc_predict(const ntkc_net *net, size_t n, const double *x_train, const double *y_train, size_t k,
                 size_t m, const double *x_test, size_t dim, const double *times, size_t ntimes,
                 const ntkc_predict_options *opts, double *mean, double *cov, ntkc_predict_stats *stats,
                 ntkc_error *err)
{
    diag_clear(err);
    static const double forever = INFINITY;
    if (times == NULL || ntimes == 0)
        times = &forever, ntimes = 1;
    const ntkc_predict_options o = opts ? *opts : (ntkc_predict_options){.kernel = NTKC_PREDICT_NTK};
    if (check_request(net, n, x_train, y_train, k, m, x_test, dim, times, ntimes, &o, mean, err))
        return err->code;
    int ntk = o.kernel == NTKC_PREDICT_NTK;
    double t0 = now_seconds();
    Kernels ks = {0};
    int rc = compute_kernels(net, n, x_train, m, x_test, dim, ntk, cov != NULL, &o.eval, &ks, err);
    double t1 = now_seconds();
    if (rc == 0) {
        PredictInput in = {.n = n, .m = m, .k = k, .ntk_tt = ks.ntk_tt, .nngp_tt = ks.nngp_tt,
                           .ntk_st = ks.ntk_st, .nngp_st = ks.nngp_st, .nngp_ss = ks.nngp_ss,
                           .y = y_train, .reg = o.reg};
        rc = predict_gd_mse(&in, ntk ? PREDICT_NTK : PREDICT_NNGP, times, ntimes, mean, cov, err);
    }
    kernels_free(&ks);
    if (stats)
        *stats = (ntkc_predict_stats){.kernel_seconds = t1 - t0, .solve_seconds = now_seconds() - t1};
    return rc;
}
