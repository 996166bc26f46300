/* ntkc_predict and ntkc_predict_graphs: the kernels a prediction needs, on
 * matrices or on graph sets, then predict_gd_mse. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir_dropout_eval.h"
#include "net_internal.h"
#include "ntkc_padding.h"
#include "ntkc.h"
#include "ntkc_tool.h"

/* Progress over several kernel calls as one count of entries. */
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

/* What the kernels are computed on: rows of matrices, or graph sets. */
typedef struct Inputs {
    size_t n, m, dim;
    const double *x_train, *x_test;      /* rows (dense nets) */
    const ntkc_graphs *g_train, *g_test; /* graphs (graph nets); NULL for rows */
    const ntkc_net *twin; /* dropout_fresh on a net with dropout: its eval-mode twin, else NULL */
} Inputs;

/* A prediction request with its defaults filled in. */
typedef struct Request {
    const double *y;
    size_t k;
    const double *times;
    size_t ntimes;
    ntkc_predict_options o;
} Request;

static Request make_request(const double *y, size_t k, const double *times, size_t ntimes,
                            const ntkc_predict_options *opts)
{
    static const double forever = INFINITY;
    Request r = {.y = y, .k = k, .times = times, .ntimes = ntimes,
                 .o = opts ? *opts : (ntkc_predict_options){.kernel = NTKC_PREDICT_NTK}};
    if (times == NULL || ntimes == 0)
        r.times = &forever, r.ntimes = 1;
    return r;
}

static int check_finite(const double *a, size_t rows, size_t cols, const char *what, ntkc_error *err)
{
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(a[i])) {
            err_user(err, "%s[%zu][%zu] is %g: entries must be finite", what, i / cols, i % cols, a[i]);
            return err->code;
        }
    return NTKC_OK;
}

/* Options, times and targets: everything but the inputs. */
static int check_request(const ntkc_net *net, const Request *r, size_t n, double *mean, const double *cov, size_t m,
                         ntkc_error *err)
{
    if (r->y == NULL || (m > 0 && mean == NULL)) {
        err_internal(err, "ntkc_predict: the targets or the mean is NULL");
        return err->code;
    }
    if (r->o.kernel != NTKC_PREDICT_NTK && r->o.kernel != NTKC_PREDICT_NNGP) {
        err_user(err, "ntkc_predict: unknown kernel kind %d (NTKC_PREDICT_NTK or NTKC_PREDICT_NNGP)",
                  (int)r->o.kernel);
        return err->code;
    }
    if (n == 0 || r->k == 0) {
        err_user(err, "prediction needs at least one training point and one output (got n=%zu, k=%zu)", n, r->k);
        return err->code;
    }
    for (size_t t = 0; t < r->ntimes; t++)
        if (isnan(r->times[t]) || r->times[t] < 0) {
            err_user(err, "prediction time %g is %s: times must be >= 0 (inf = trained to convergence)",
                      r->times[t], isnan(r->times[t]) ? "not a number" : "negative");
            return err->code;
        }
    if (!isfinite(r->o.reg) || r->o.reg < 0) {
        err_user(err, "the regularisation (--reg) is %g: it must be a finite number >= 0", r->o.reg);
        return err->code;
    }
    if (predict_check_dropout_fresh(net, &r->o, 0, err) || predict_check_options(&r->o, cov != NULL, err) ||
        check_finite(r->o.fx0_train, r->o.fx0_train ? n : 0, r->k, "initial outputs fx0_train", err) ||
        check_finite(r->o.fx0_test, r->o.fx0_test ? m : 0, r->k, "initial outputs fx0_test", err))
        return err->code;
    return check_finite(r->y, n, r->k, "targets y_train", err);
}

static int check_matrices(const ntkc_net *net, const Inputs *in, ntkc_error *err)
{
    if (in->x_train == NULL || (in->m > 0 && in->x_test == NULL)) {
        err_internal(err, "ntkc_predict: an input array is NULL");
        return err->code;
    }
    if (ntkc_net_takes_graphs(net)) {
        err_user(err, "net '%s' takes graphs (input graph): use ntkc_predict_graphs", ntkc_net_name(net));
        return err->code;
    }
    if (in->dim == 0) {
        err_user(err, "prediction needs at least one feature (got dim=0)");
        return err->code;
    }
    size_t want = ntkc_net_input_dim(net);
    if (want != 0 && in->dim != want) {
        err_user(err, "net '%s' takes inputs of %zu features, the data have %zu", ntkc_net_name(net), want,
                  in->dim);
        return err->code;
    }
    /* finite, or padding of variable-length inputs (NaN positions, ntkc_padding.c) */
    if (padding_check(net, in->n, in->x_train, in->dim, "x_train", err) ||
        padding_check(net, in->m, in->x_test, in->dim, "x_test", err))
        return err->code;
    return NTKC_OK;
}

static int check_graphs(const ntkc_net *net, const Inputs *in, ntkc_error *err)
{
    if (!ntkc_net_takes_graphs(net)) {
        err_user(err, "net '%s' does not take graphs: declare 'input graph(F)' in it, or use ntkc_predict",
                  ntkc_net_name(net));
        return err->code;
    }
    const ntkc_graphs *sets[2] = {in->g_train, in->g_test};
    for (int i = 0; i < 2; i++)
        if (ntkc_graphs_features(sets[i]) != ntkc_net_input_dim(net)) {
            err_user(err, "the %s graphs have %zu node features, the net '%s' takes graph(%zu)",
                      i ? "test" : "training", ntkc_graphs_features(sets[i]), ntkc_net_name(net),
                      ntkc_net_input_dim(net));
            return err->code;
        }
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
        err_user(err, "prediction: a %zu×%zu kernel does not fit in memory", rows, cols);
        return NULL;
    }
    double *p = malloc((rows * cols > 0 ? rows * cols : 1) * sizeof *p);
    if (p == NULL)
        err_user(err, "prediction: out of memory for a %zu×%zu kernel", rows, cols);
    return p;
}

typedef enum Block { TRAIN_TRAIN, TEST_TRAIN, TEST_TEST } Block;

/* float entries in the first half of a, widened in place to doubles (from
 * the end: float i lies at or below double i) */
static void widen(double *a, size_t count)
{
    if (a == NULL)
        return;
    const float *f = (const float *)(void *)a;
    for (size_t i = count; i-- > 0;)
        a[i] = (double)f[i];
}

/* A net compiled for single precision: the block in float32 (in the first
 * half of each buffer), then widened for the float64 solve. */
static int kernel_block_f32(const ntkc_net *net, const Inputs *in, Block b, double *nngp, double *ntk,
                            const ntkc_eval_options *eo, ntkc_error *err)
{
    int test_rows = b != TRAIN_TRAIN, cross = b == TEST_TRAIN;
    size_t rows = test_rows ? in->m : in->n, cols = cross ? in->n : rows;
    float *nngp_f = (float *)(void *)nngp, *ntk_f = (float *)(void *)ntk;
    int rc = in->g_train ? ntkc_kernel_graphs_f32(net, test_rows ? in->g_test : in->g_train,
                                                  cross ? in->g_train : NULL, nngp_f, ntk_f, eo, err)
                         : ntkc_kernel_f32(net, rows, test_rows ? in->x_test : in->x_train, cross ? in->n : 0,
                                           cross ? in->x_train : NULL, in->dim, nngp_f, ntk_f, eo, err);
    if (rc == 0) {
        widen(nngp, rows * cols);
        widen(ntk, rows * cols);
    }
    return rc;
}

/* A block of the prediction of nets trained with fresh dropout masks every step and evaluated without
 * dropout (dropout_fresh; runtime/dynamics/train_dropout.c has the derivation): training inputs against a
 * copy of themselves (two mask draws; two graph sets are never the same graphs), test inputs in eval mode
 * against masked training inputs (the mixed kernel), test inputs without dropout (the twin). */
static int fresh_block(const ntkc_net *net, const Inputs *in, Block b, double *nngp, double *ntk,
                       const ntkc_eval_options *eo, ntkc_error *err)
{
    if (b == TEST_TEST)
        return in->g_train ? ntkc_kernel_graphs(in->twin, in->g_test, NULL, nngp, ntk, eo, err)
                           : ntkc_kernel(in->twin, in->m, in->x_test, 0, NULL, in->dim, nngp, ntk, eo, err);
    if (b == TEST_TRAIN)
        return in->g_train
                   ? ntkc_kernel_graphs_dropout_mixed_twin(net, in->twin, in->g_test, in->g_train, nngp, ntk, eo, err)
                   : ntkc_kernel_dropout_mixed_twin(net, in->twin, in->m, in->x_test, in->n, in->x_train, in->dim,
                                                    nngp, ntk, eo, err);
    if (in->g_train)
        return ntkc_kernel_graphs(net, in->g_train, in->g_train, nngp, ntk, eo, err);
    return ntkc_kernel_two_draws(net, in->n, in->x_train, in->n, in->x_train, in->dim, nngp, ntk, eo, err);
}

/* One block of kernels, symmetric (one triangle) unless TEST_TRAIN. */
static int kernel_block(const ntkc_net *net, const Inputs *in, Block b, double *nngp, double *ntk,
                        const ntkc_eval_options *eo, ntkc_error *err)
{
    int test_rows = b != TRAIN_TRAIN, cross = b == TEST_TRAIN;
    if (in->twin)
        return fresh_block(net, in, b, nngp, ntk, eo, err);
    if (ntkc_net_precision(net) == NTKC_PRECISION_SINGLE)
        return kernel_block_f32(net, in, b, nngp, ntk, eo, err);
    if (in->g_train)
        return ntkc_kernel_graphs(net, test_rows ? in->g_test : in->g_train, cross ? in->g_train : NULL, nngp, ntk,
                                  eo, err);
    return ntkc_kernel(net, test_rows ? in->m : in->n, test_rows ? in->x_test : in->x_train, cross ? in->n : 0,
                       cross ? in->x_train : NULL, in->dim, nngp, ntk, eo, err);
}

/* Train-train (symmetric), test-train and, for a covariance, test-test. */
static int compute_kernels(const ntkc_net *net, const Inputs *in, int ntk, int want_cov,
                           const ntkc_eval_options *user, Kernels *ks, ntkc_error *err)
{
    size_t n = in->n, m = in->m;
    int nngp = !ntk || want_cov, test = m > 0, ss = want_cov && test;
    ks->ntk_tt = alloc_kernel(n, n, ntk, err);
    ks->nngp_tt = alloc_kernel(n, n, nngp, err);
    ks->ntk_st = alloc_kernel(m, n, ntk && test, err);
    ks->nngp_st = alloc_kernel(m, n, nngp && test, err);
    ks->nngp_ss = alloc_kernel(m, m, ss, err);
    if (err->code)
        return err->code;
    size_t tt = in->twin ? n * n : n * (n + 1) / 2; /* dropout_fresh: the whole training block */
    Progress prog = {.user = user, .total = tt + (test ? m * n : 0) + (ss ? m * (m + 1) / 2 : 0)};
    ntkc_eval_options eo = *user;
    if (user->progress) {
        eo.progress = forward_progress;
        eo.progress_ctx = &prog;
    }
    if (kernel_block(net, in, TRAIN_TRAIN, ks->nngp_tt, ks->ntk_tt, &eo, err))
        return err->code;
    prog.offset += tt;
    if (test && kernel_block(net, in, TEST_TRAIN, ks->nngp_st, ks->ntk_st, &eo, err))
        return err->code;
    prog.offset += test ? m * n : 0;
    if (ss && kernel_block(net, in, TEST_TEST, ks->nngp_ss, NULL, &eo, err))
        return err->code;
    return NTKC_OK;
}

/* dropout_fresh on a net with dropout: its eval-mode twin (float64 nets only: predict_check_dropout_fresh);
 * NULL otherwise (no masks: the ordinary prediction). */
static int fresh_twin(const ntkc_net *net, const Request *r, ntkc_net **twin, ntkc_error *err)
{
    *twin = NULL;
    if (!r->o.dropout_fresh || !ir_has_dropout(ntkc_net_ir(net)))
        return NTKC_OK;
    *twin = ntkc_net_dropout_eval(net, err);
    return *twin ? NTKC_OK : err->code;
}

/* The checked request: kernels, then the solve the options ask for. */
static int run_prediction(const ntkc_net *net, const Inputs *given, const Request *r, double *mean, double *cov,
                          ntkc_predict_stats *stats, ntkc_error *err)
{
    int ntk = r->o.kernel == NTKC_PREDICT_NTK;
    double t0 = now_seconds();
    Kernels ks = {0};
    Inputs with_twin = *given, *in = &with_twin;
    ntkc_net *twin = NULL;
    int rc = fresh_twin(net, r, &twin, err);
    with_twin.twin = twin;
    if (rc == 0)
        rc = compute_kernels(net, in, ntk, cov != NULL, &r->o.eval, &ks, err);
    ntkc_net_free(twin);
    double t1 = now_seconds();
    PredictOdeStats ode = {0};
    if (rc == 0) {
        PredictInput pi = {.n = in->n, .m = in->m, .k = r->k, .ntk_tt = ks.ntk_tt, .nngp_tt = ks.nngp_tt,
                           .ntk_st = ks.ntk_st, .nngp_st = ks.nngp_st, .nngp_ss = ks.nngp_ss,
                           .y = r->y, .reg = r->o.reg, .reg_absolute = r->o.reg_absolute};
        if (ntkc_net_precision(net) == NTKC_PRECISION_SINGLE)
            rc = predict_check_float32(&pi, ntk ? PREDICT_NTK : PREDICT_NNGP, err);
        if (rc == 0)
            rc = predict_solve(&pi, ntk ? PREDICT_NTK : PREDICT_NNGP, &r->o, r->times, r->ntimes, mean, cov, &ode,
                               err);
    }
    kernels_free(&ks);
    if (stats)
        *stats = (ntkc_predict_stats){.kernel_seconds = t1 - t0, .solve_seconds = now_seconds() - t1,
                                      .ode_steps = ode.steps, .ode_evals = ode.rhs_evals};
    return rc;
}

int ntkc_predict(const ntkc_net *net, size_t n, const double *x_train, const double *y_train, size_t k,
                 size_t m, const double *x_test, size_t dim, const double *times, size_t ntimes,
                 const ntkc_predict_options *opts, double *mean, double *cov, ntkc_predict_stats *stats,
                 ntkc_error *err)
{
    err_clear(err);
    if (net == NULL || (ntimes > 0 && times == NULL)) {
        err_internal(err, "ntkc_predict: the net or the times are NULL");
        return err->code;
    }
    Request r = make_request(y_train, k, times, ntimes, opts);
    Inputs in = {.n = n, .m = m, .dim = dim, .x_train = x_train, .x_test = x_test};
    if (check_request(net, &r, n, mean, cov, m, err) || check_matrices(net, &in, err))
        return err->code;
    return run_prediction(net, &in, &r, mean, cov, stats, err);
}

int ntkc_predict_graphs(const ntkc_net *net, const ntkc_graphs *train, const double *y_train, size_t k,
                        const ntkc_graphs *test, const double *times, size_t ntimes,
                        const ntkc_predict_options *opts, double *mean, double *cov, ntkc_predict_stats *stats,
                        ntkc_error *err)
{
    err_clear(err);
    if (net == NULL || train == NULL || test == NULL || (ntimes > 0 && times == NULL)) {
        err_internal(err, "ntkc_predict_graphs: the net, a graph set or the times are NULL");
        return err->code;
    }
    Request r = make_request(y_train, k, times, ntimes, opts);
    Inputs in = {.n = ntkc_graphs_count(train), .m = ntkc_graphs_count(test), .g_train = train, .g_test = test};
    if (check_request(net, &r, in.n, mean, cov, in.m, err) || check_graphs(net, &in, err))
        return err->code;
    return run_prediction(net, &in, &r, mean, cov, stats, err);
}
