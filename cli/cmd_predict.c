/* ntkc predict: what the infinitely wide net, trained by gradient descent on
 * MSE, outputs on test data — the mean and covariance over initialisations —
 * or what one such network outputs (from fx0, on cross-entropy, with
 * momentum), through ntkc_predict, with test metrics when test targets are
 * given. Options are parsed as for kernel files (predict_request.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "proc_limits.h"
#include "data.h"
#include "ntkc_tool.h"
#include "predict_data.h"
#include "predict_kernels.h"
#include "predict_request.h"
#include "progress.h"

static const char help[] =
    "usage: ntkc predict NET.ntk --train X.npy --targets Y.npy --test Xt.npy --mean M.npy\n"
    "                    [--time T[,T...]] [--kernel ntk|nngp] [--reg R | --reg-abs R]\n"
    "                    [--cov C.npy] [--test-targets Yt.npy] [--net NAME] [--backend tcc|cc]\n"
    "                    [--threads N] [--quiet] [--train-mean P.npy]\n"
    "                    [--fx0-train F.npy] [--fx0-test G.npy] [--loss mse|xent]\n"
    "                    [--momentum MU] [--learning-rate ETA] [--precision double|single]\n"
    "                    [--mask-train M.npy | --lengths-train L.npy]\n"
    "                    [--mask-test Mt.npy | --lengths-test Lt.npy]\n"
    "                    [--dropout fixed|fresh]\n"
    "       ntkc predict --k-train Ktt.npy --k-test Kst.npy ... (ntkc predict --k-train\n"
    "                    --help: prediction from precomputed kernels)\n"
    "       ntkc predict GRAPHNET.ntk --train train.txt [--targets Y.npy] --test test.txt\n"
    "                    --mean M.npy [options as above]\n"
    "\n"
    "The outputs on Xt of the infinitely wide net trained on (X, Y) by gradient\n"
    "descent (gradient flow) on the mean squared error for time T: their mean and,\n"
    "with --cov, covariance over random initialisations, as neural-tangents'\n"
    "predict.gradient_descent_mse_ensemble defines them. With --fx0-*, --loss\n"
    "xent or --momentum: the outputs of one network (docs/predict.md), as the\n"
    "kernel-file form computes them from the same kernels.\n"
    "\n"
    "  --train X.npy          (n, d) training inputs; an image net also takes\n"
    "                         (n, H, W, C) arrays or (n, H·W·C) rows; a graph net\n"
    "                         (input graph(F)) takes a graph file in the GIN/GNTK\n"
    "                         text format (README, \"Graphs\") of n graphs\n"
    "  --targets Y.npy        (n, k) float targets, or (n,) integer class labels,\n"
    "                         trained on as one-hot rows (k = largest label + 1).\n"
    "                         Optional for a graph net: without it, the labels of\n"
    "                         the training graph file (its 'n label' lines) are the\n"
    "                         class labels, and those of the test graph file are\n"
    "                         scored (accuracy, MSE) when all are training classes\n"
    "  --test Xt.npy          (m, d) test inputs, shaped like X (a graph file for a\n"
    "                         graph net)\n"
    "  --mask-train M.npy     variable-length inputs (nets with attention): X's\n"
    "                         padding, (n, L) (images (n, H, W), volumes\n"
    "                         (n, D, H, W)), 1 (true) at padded\n"
    "                         positions, 0 elsewhere; --lengths-train L.npy: (n,)\n"
    "                         lengths instead (positions from the length on padded)\n"
    "  --mask-test Mt.npy, --lengths-test Lt.npy   the same for Xt\n"
    "  --time T[,T...]        training times >= 0, comma-separated; inf (the\n"
    "                         default) = trained to convergence. T = learning rate\n"
    "                         × steps of gradient descent on |f(X) - Y|² / (2·n·k):\n"
    "                         time is normalised by the number of target entries.\n"
    "                         One eigendecomposition serves all finite times.\n"
    "  --kernel ntk|nngp      ntk (default): every layer trained (NTK-GP mean and\n"
    "                         covariance); nngp: only the readout trained, at t = inf\n"
    "                         the Bayesian GP posterior\n"
    "  --reg R                adds R × (mean diagonal) to the diagonal of the training\n"
    "                         kernel (default 0); t = inf needs it when that kernel\n"
    "                         is singular, e.g. for repeated training points\n"
    "  --reg-abs R            adds R itself to that diagonal (neural-tangents'\n"
    "                         diag_reg_absolute_scale=True); not with --reg\n"
    "  --mean M.npy           float64 (m, k); with several times (T, m, k), one\n"
    "                         (m, k) slice per time in the order given\n"
    "  --cov C.npy            the covariance between test points, float64 (m, m), or\n"
    "                         (T, m, m); the same for each of the k outputs\n"
    "  --train-mean P.npy     what --mean holds, on the training inputs: (n, k) or\n"
    "                         (T, n, k)\n"
    "  --fx0-train F.npy      (n, k) outputs of one network at t = 0 on X, and\n"
    "  --fx0-test G.npy       (m, k) on Xt: that network's outputs after training\n"
    "                         (neural-tangents' gradient_descent_mse predict_fn;\n"
    "                         missing ones are zero); no --cov\n"
    "  --loss mse|xent        mse (default); xent: softmax cross-entropy\n"
    "                         -sum y·log softmax(f) / (n·k), the training ODE\n"
    "                         integrated by GSL's adaptive Runge-Kutta (finite times,\n"
    "                         no --reg, no --cov; neural-tangents' gradient_descent)\n"
    "  --momentum MU          gradient descent with heavy-ball momentum MU in [0, 1)\n"
    "                         (the ODE, as for xent; with mse or xent)\n"
    "  --learning-rate ETA    with --momentum: T counts steps of learning rate ETA\n"
    "                         (default 1)\n"
    "  --test-targets Yt.npy  targets shaped like Y ((m,) labels when Y is labels):\n"
    "                         prints the test MSE per time and, for labels, the\n"
    "                         accuracy (argmax of the mean vs label)\n"
    "  --dropout fixed|fresh  nets with dropout in train mode. fixed (default, as\n"
    "                         neural-tangents' predict with its kernel_fn): the\n"
    "                         net's own kernels, every input under its own masks -\n"
    "                         nets in which each input keeps one mask throughout;\n"
    "                         fresh: nets trained with fresh masks every step and\n"
    "                         predicting without dropout, as dropout is used and\n"
    "                         `ntkc train` trains (README, \"Training dynamics\"):\n"
    "                         the training kernel between independent masks, test x\n"
    "                         train the mixed kernel (`ntkc kernel --dropout-mixed`),\n"
    "                         the test covariance without dropout. fresh: float64,\n"
    "                         no --fx0-*, --loss xent or --train-mean; no effect\n"
    "                         on a net without dropout\n"
    "  --precision single     float32 kernels (every family), solved in float64;\n"
    "                         refused when the training kernel's condition number\n"
    "                         times 2^-24 exceeds 1% (docs/precision.md)\n"
    "\n"
    "Computes the kernels it needs (the training kernel, test × train, and the\n"
    "NNGP test × test for --cov), shows progress on a terminal when that takes\n"
    "over a second, and prints a summary unless --quiet. Outputs appear only when\n"
    "everything succeeded.\n";


static void print_summary(const ntkc_net *net, const Request *r, const PredictData *d, const double *mean,
                          const ntkc_predict_stats *st, double compile_seconds)
{
    size_t n = d->n, m = d->m, k = d->y.k;
    int finite = 0, infinite = 0, ode = st->ode_evals > 0;
    for (size_t t = 0; t < r->ntimes; t++)
        finite |= !isinf(r->times[t]), infinite |= isinf(r->times[t]);
    if (r->opts.dropout_fresh)
        printf("%s: dropout fresh: nets trained with fresh masks every step, outputs without dropout\n",
               ntkc_net_name(net));
    printf("%s: %s prediction, %zu train -> %zu test%s, %zu output%s%s%s%s, ", ntkc_net_name(net),
           r->opts.kernel == NTKC_PREDICT_NTK ? "NTK" : "NNGP", n, m, d->g ? " graphs" : "", k, k == 1 ? "" : "s",
           d->y.labels ? " (one-hot classes" : "", d->labels_from ? " of the graph labels" : "",
           d->y.labels ? ")" : "");
    predict_print_method(&r->opts, st->ode_steps, st->ode_evals);
    printf("  kernels %.3f s, solve %.3f s (%s%s%s), compile %.1f ms\n", st->kernel_seconds, st->solve_seconds,
           ode ? "ODE" : finite ? "eigendecomposition" : "", !ode && finite && infinite ? " + " : "",
           !ode && infinite ? "Cholesky" : "", 1e3 * compile_seconds);
    if (d->yt.y == NULL)
        return;
    targets_print_scores(&d->yt, mean, r->times, r->ntimes, m);
}

/* ntkc_predict on rows, ntkc_predict_graphs on graphs. */
static int predict(const ntkc_net *net, const Request *r, const PredictData *d, double *mean, double *cov,
                   ntkc_predict_stats *st, ntkc_error *err)
{
    if (d->g)
        return ntkc_predict_graphs(net, d->g, d->y.y, d->y.k, d->gt, r->times, r->ntimes, &r->opts, mean, cov, st,
                                   err);
    return ntkc_predict(net, d->n, d->x.data, d->y.y, d->y.k, d->m, d->xt.data, d->dim, r->times, r->ntimes,
                        &r->opts, mean, cov, st, err);
}

static int predict_and_write(const ntkc_net *net, const PredictArgs *a, Request *r, const PredictData *d,
                             double compile_seconds, ntkc_error *err)
{
    size_t m = d->m, k = d->y.k;
    /* outputs, the train kernels and their factor, the cross kernels */
    double n = (double)d->n, t = (double)r->ntimes;
    double bytes = 8 * (t * ((double)m * ((double)k + (a->cov ? (double)m : 0)) + (a->train_mean ? n * k : 0)) +
                        3 * n * n + 2 * n * (double)m);
    if (check_run_memory(bytes < 0x1p62 ? (size_t)bytes : (size_t)1 << 62, r->opts.eval.threads, a->mean, err) != 0)
        return err->code;
    PredictOutputs o;
    if (predict_outputs_create(a, d->n, m, k, r, &o, err))
        return predict_outputs_finish(&o, err->code, err);
    Progress progress;
    progress_start(&progress, "kernels");
    r->opts.eval.progress = progress_show;
    r->opts.eval.progress_ctx = &progress;
    ntkc_predict_stats st;
    double *mean = npy_out_data(o.mean);
    int rc = predict(net, r, d, mean, o.cov ? npy_out_data(o.cov) : NULL, &st, err);
    if (rc == 0 && !a->quiet)
        print_summary(net, r, d, mean, &st, compile_seconds);
    return predict_outputs_finish(&o, rc, err);
}

static int run(const char *net_path, const PredictArgs *a, const char *dropout, const char *const pad[4],
               ntkc_error *err)
{
    Request r;
    if (parse_request(a, &r) != 0 || parse_predict_dropout(dropout, &r) != 0) {
        free(r.times);
        return 1;
    }
    if (predict_check_outputs(a, &net_path, 1, err)) {
        free(r.times);
        return err->code;
    }
    Progress clock;
    progress_start(&clock, "compile");
    ntkc_compile_options copts = {.net_name = a->net_name, .backend = r.backend, .precision = r.precision};
    ntkc_net *net = ntkc_compile_file(net_path, &copts, err);
    double compile_seconds = progress_seconds(&clock);
    PredictPaths paths = {a->train, a->targets, a->test, a->test_targets, a->quiet != NULL, pad[0], pad[1], pad[2],
                          pad[3]};
    PredictData d = {0};
    NpyArray f0 = {0}, g0 = {0};
    int rc = net ? predict_data_load(net, &paths, &d, err) : err->code;
    if (rc == 0)
        rc = predict_load_fx0(a, d.n, d.m, d.y.k, &f0, &g0, &r, err);
    if (rc == 0)
        rc = predict_and_write(net, a, &r, &d, compile_seconds, err);
    npy_free(&f0), npy_free(&g0);
    predict_data_free(&d);
    ntkc_net_free(net);
    free(r.times);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    if (predict_kernels_requested(argc, argv))
        return cmd_predict_kernels(argc, argv);
    PredictArgs a = {0};
    const char *pad[4] = {NULL}; /* PredictPaths' mask_train, lengths_train, mask_test, lengths_test */
    const char *dropout = NULL;
    const OptSpec specs[] = {{"--train", 1, &a.train},     {"--targets", 1, &a.targets},
                             {"--mask-train", 1, &pad[0]}, {"--lengths-train", 1, &pad[1]},
                             {"--mask-test", 1, &pad[2]},  {"--lengths-test", 1, &pad[3]},
                             {"--test", 1, &a.test},       {"--time", 1, &a.time},
                             {"--kernel", 1, &a.kernel},   {"--reg", 1, &a.reg},
                             {"--reg-abs", 1, &a.reg_abs},
                             {"--mean", 1, &a.mean},       {"--cov", 1, &a.cov},
                             {"--test-targets", 1, &a.test_targets}, {"--net", 1, &a.net_name},
                             {"--backend", 1, &a.backend}, {"--threads", 1, &a.threads},
                             {"--quiet", 0, &a.quiet},     {"--fx0-train", 1, &a.fx0_train},
                             {"--fx0-test", 1, &a.fx0_test}, {"--loss", 1, &a.loss},
                             {"--momentum", 1, &a.momentum}, {"--learning-rate", 1, &a.learning_rate},
                             {"--train-mean", 1, &a.train_mean}, {"--precision", 1, &a.precision},
                             {"--dropout", 1, &dropout},   {NULL, 0, NULL}};
    Args args;
    if (args_parse("predict", argc, argv, specs, &args) != 0)
        return 1;
    if (args.help) {
        fputs(help, stdout);
        return 0;
    }
    const char *missing = args.npositional != 1 ? "NET.ntk"
                          : !a.train            ? "--train X.npy"
                          : !a.test             ? "--test Xt.npy"
                          : !a.mean             ? "--mean M.npy"
                                                : NULL;
    if (missing) {
        fputs(help, stderr);
        if (args.npositional > 1)
            fputs("\nntkc predict: too many arguments: give the net, and the data through options\n", stderr);
        else
            fprintf(stderr, "\nntkc predict: missing %s\n", missing);
        return 1;
    }
    ntkc_error err = {0};
    int rc = run(args.positional[0], &a, dropout, pad, &err);
    return rc == 0 ? 0 : (err.code ? report_error(&err) : rc);
}
