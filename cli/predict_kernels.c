/* ntkc predict --k-train Ktt.npy --k-test Kst.npy …: the prediction from
 * kernels computed earlier (by ntkc kernel, or by another tool). */
#include "predict_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "data.h"
#include "ntkc_tool.h"
#include "predict_request.h"
#include "targets.h"

static const char help[] =
    "usage: ntkc predict --k-train Ktt.npy --k-test Kst.npy --targets Y.npy --mean M.npy\n"
    "                    [--k-test-test Kss.npy] [--cov C.npy] [--time T[,T...]]\n"
    "                    [--reg R | --reg-abs R] [--fx0-train F.npy] [--fx0-test G.npy]\n"
    "                    [--loss mse|xent] [--momentum MU] [--learning-rate ETA]\n"
    "                    [--train-mean P.npy] [--test-targets Yt.npy] [--quiet]\n"
    "\n"
    "Prediction of an infinitely wide net from its kernels, computed before (ntkc\n"
    "kernel --ntk/--nngp, or another tool): Ktt (n, n) between the training\n"
    "points, Kst (m, n) test × train, Kss (m, m) test × test. The kernel given\n"
    "drives training: an NTK for a net whose every layer trains, an NNGP for one\n"
    "whose readout alone trains.\n"
    "\n"
    "  --targets Y.npy        (n, k) targets, or (n,) integer class labels (one-hot)\n"
    "  --time T[,T...]        training times >= 0 (default inf): T = learning rate ×\n"
    "                         steps; the loss is normalised by the n·k target entries\n"
    "  --reg R, --reg-abs R   adds R × (mean diagonal), or R, to Ktt's diagonal\n"
    "  --cov C.npy            the covariance (m, m) of the Gaussian process with this\n"
    "                         kernel (neural-tangents' gp_inference; at t = inf the\n"
    "                         posterior K_ss − K_st·K_r⁻¹·K_ts); needs --k-test-test\n"
    "  --fx0-train F.npy      (n, k) outputs of one network at t = 0 on the training\n"
    "  --fx0-test G.npy       and (m, k) on the test points: its outputs after training\n"
    "                         (neural-tangents' gradient_descent_mse predict_fn(t,\n"
    "                         fx_train_0, fx_test_0)); missing ones are zero\n"
    "  --loss mse|xent        mse (default): closed form; xent: softmax cross-entropy\n"
    "                         −Σ y·log softmax(f) / (n·k), the training ODE integrated\n"
    "                         by GSL's adaptive Runge-Kutta (finite times only)\n"
    "  --momentum MU          gradient descent with momentum MU in [0, 1) (the ODE of\n"
    "                         neural-tangents' predict.gradient_descent)\n"
    "  --learning-rate ETA    with --momentum: T counts steps of learning rate ETA\n"
    "                         (default 1); the ODE's damping is (MU - 1)/√ETA\n"
    "  --mean M.npy           test outputs (m, k), or (T, m, k) for several times\n"
    "  --train-mean P.npy     the same on the training points (n, k) or (T, n, k)\n"
    "  --test-targets Yt.npy  prints the test MSE (and accuracy, for labels)\n";

typedef struct KArgs {
    PredictArgs p; /* the options shared with the net's front door */
    const char *k_train, *k_test, *k_test_test;
} KArgs;

/* Everything read from disk. */
typedef struct KData {
    NpyArray ktt, kst, kss, fx0_train, fx0_test;
    Targets y, yt;
    size_t n, m;
} KData;

static void kdata_free(KData *d)
{
    npy_free(&d->ktt), npy_free(&d->kst), npy_free(&d->kss), npy_free(&d->fx0_train), npy_free(&d->fx0_test);
    targets_free(&d->y), targets_free(&d->yt);
}

int predict_kernels_requested(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--k-train") == 0 || strncmp(argv[i], "--k-train=", 10) == 0)
            return 1;
    return 0;
}

int predict_load_kernel(const char *opt, const char *path, size_t rows, size_t cols, int symmetric, NpyArray *a,
                       ntkc_error *err)
{
    if (npy_read(path, a, err))
        return err->code;
    if (a->ndim != 2)
        err_user(err, "%s %s: a kernel must be a matrix, got %zu dimensions", opt, path, a->ndim);
    else if ((rows && a->shape[0] != rows) || (cols && a->shape[1] != cols))
        err_user(err, "%s %s has shape (%zu, %zu) but (%zu, %zu) is needed%s", opt, path, a->shape[0],
                  a->shape[1], rows ? rows : a->shape[0], cols ? cols : a->shape[1],
                  symmetric ? " (a square kernel)" : " (test points × training points of --k-train)");
    else if (a->shape[0] == 0)
        err_user(err, "%s %s has no rows", opt, path);
    else
        npy_check_finite(a, path, err);
    size_t n = a->ndim == 2 ? a->shape[0] : 0;
    for (size_t i = 0; symmetric && !err->code && i < n; i++)
        for (size_t j = 0; j < i; j++) {
            double kij = a->data[i * n + j], kji = a->data[j * n + i];
            if (fabs(kij - kji) > 1e-6 * sqrt(fabs(a->data[i * n + i]) * fabs(a->data[j * n + j]))) {
                err_user(err, "%s %s is not symmetric: element [%zu, %zu] is %.17g but [%zu, %zu] is %.17g", opt,
                          path, i, j, kij, j, i, kji);
                break;
            }
        }
    return err->code;
}

static int load_data(const KArgs *a, Request *r, KData *d, ntkc_error *err)
{
    if (predict_load_kernel("--k-train", a->k_train, 0, 0, 1, &d->ktt, err))
        return err->code;
    if (d->ktt.shape[0] != d->ktt.shape[1]) {
        err_user(err, "--k-train %s has shape (%zu, %zu): the train-train kernel must be square", a->k_train,
                  d->ktt.shape[0], d->ktt.shape[1]);
        return err->code;
    }
    d->n = d->ktt.shape[0];
    if (predict_load_kernel("--k-test", a->k_test, 0, d->n, 0, &d->kst, err))
        return err->code;
    d->m = d->kst.shape[0];
    if (a->k_test_test && predict_load_kernel("--k-test-test", a->k_test_test, d->m, d->m, 1, &d->kss, err))
        return err->code;
    if (targets_load_train(a->p.targets, d->n, a->k_train, "training points", &d->y, err))
        return err->code;
    if (predict_load_fx0(&a->p, d->n, d->m, d->y.k, &d->fx0_train, &d->fx0_test, r, err))
        return err->code;
    if (a->p.test_targets &&
        targets_load_test(a->p.test_targets, d->m, a->k_test, "test points", &d->y, &d->yt, err))
        return err->code;
    return 0;
}

/* The shared options, and what only kernel files have: --k-test-test goes with --cov. */
static int parse_kernel_request(const KArgs *a, Request *r)
{
    if (parse_request(&a->p, r))
        return 1;
    if (a->p.cov && !a->k_test_test) {
        fputs("ntkc predict: --cov needs the test-test kernel: give --k-test-test Kss.npy\n", stderr);
        return 1;
    }
    if (!a->p.cov && a->k_test_test) {
        fputs("ntkc predict: --k-test-test is read only for --cov\n", stderr);
        return 1;
    }
    return 0;
}

/* The kernel given is the NNGP of the GP it defines (mean and covariance)
 * and, for fx0 and the ODE, the kernel that drives training. */
static int compute(const Request *r, const KData *d, double *mean, double *cov, PredictOdeStats *st,
                   ntkc_error *err)
{
    PredictInput in = {.n = d->n, .m = d->m, .k = d->y.k, .ntk_tt = d->ktt.data, .ntk_st = d->kst.data,
                       .nngp_tt = d->ktt.data, .nngp_st = d->kst.data, .nngp_ss = d->kss.data, .y = d->y.y,
                       .reg = r->opts.reg, .reg_absolute = r->opts.reg_absolute};
    return predict_solve(&in, PREDICT_NNGP, &r->opts, r->times, r->ntimes, mean, cov, st, err);
}

static void print_summary(const Request *r, const KData *d, const double *mean, const PredictOdeStats *st)
{
    size_t m = d->m, k = d->y.k;
    printf("kernel prediction: %zu train -> %zu test, %zu output%s, ", d->n, m, k, k == 1 ? "" : "s");
    predict_print_method(&r->opts, st->steps, st->rhs_evals);
    if (d->yt.y)
        targets_print_scores(&d->yt, mean, r->times, r->ntimes, m);
}

/* Creates the outputs, computes into them, commits all or none. */
static int run(const KArgs *a, ntkc_error *err)
{
    Request r;
    KData d = {0};
    if (parse_kernel_request(a, &r)) {
        free(r.times);
        return 1;
    }
    const char *kernels[] = {a->k_train, a->k_test, a->k_test_test};
    int rc = predict_check_outputs(&a->p, kernels, 3, err) || load_data(a, &r, &d, err) ? err->code : 0;
    PredictOutputs o = {0};
    if (rc == 0)
        rc = predict_outputs_create(&a->p, d.n, d.m, d.y.k, &r, &o, err);
    PredictOdeStats st = {0};
    if (rc == 0)
        rc = compute(&r, &d, npy_out_data(o.mean), o.cov ? npy_out_data(o.cov) : NULL, &st, err);
    if (rc == 0 && !a->p.quiet)
        print_summary(&r, &d, npy_out_data(o.mean), &st);
    rc = predict_outputs_finish(&o, rc, err);
    kdata_free(&d);
    free(r.times);
    return rc;
}

int cmd_predict_kernels(int argc, char **argv)
{
    KArgs a = {0};
    PredictArgs *p = &a.p;
    const OptSpec specs[] = {{"--k-train", 1, &a.k_train},   {"--k-test", 1, &a.k_test},
                             {"--k-test-test", 1, &a.k_test_test}, {"--targets", 1, &p->targets},
                             {"--mean", 1, &p->mean},        {"--cov", 1, &p->cov},
                             {"--time", 1, &p->time},        {"--reg", 1, &p->reg},
                             {"--reg-abs", 1, &p->reg_abs},  {"--fx0-train", 1, &p->fx0_train},
                             {"--fx0-test", 1, &p->fx0_test}, {"--loss", 1, &p->loss},
                             {"--momentum", 1, &p->momentum}, {"--learning-rate", 1, &p->learning_rate},
                             {"--train-mean", 1, &p->train_mean}, {"--test-targets", 1, &p->test_targets},
                             {"--quiet", 0, &p->quiet},      {NULL, 0, NULL}};
    Args args;
    if (args_parse("predict", argc, argv, specs, &args) != 0)
        return 1;
    if (args.help) {
        fputs(help, stdout);
        return 0;
    }
    const char *missing = args.npositional ? NULL
                          : !a.k_test     ? "--k-test Kst.npy"
                          : !p->targets   ? "--targets Y.npy"
                          : !p->mean      ? "--mean M.npy"
                                          : NULL;
    if (args.npositional || missing) {
        fputs(help, stderr);
        if (args.npositional)
            fprintf(stderr, "\nntkc predict: with --k-train the kernels replace the net: drop '%s'\n",
                    args.positional[0]);
        else
            fprintf(stderr, "\nntkc predict: missing %s\n", missing);
        return 1;
    }
    ntkc_error err = {0};
    int rc = run(&a, &err);
    return rc == 0 ? 0 : (err.code ? report_error(&err) : rc);
}
