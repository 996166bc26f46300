/* ntkc predict --k-train Ktt.npy --k-test Kst.npy …: the prediction from
 * kernels computed earlier (by ntkc kernel, or by another tool). */
#include "predict_kernels.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "data.h"
#include "ntkc_tool.h"
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
    const char *k_train, *k_test, *k_test_test, *targets, *mean, *cov, *time, *reg, *reg_abs;
    const char *fx0_train, *fx0_test, *loss, *momentum, *learning_rate, *train_mean, *test_targets, *quiet;
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

static int parse_nonneg(const char *opt, const char *text, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(*out) || *out < 0) {
        fprintf(stderr, "ntkc predict: %s expects a finite number >= 0, got '%s'\n", opt, text);
        return 1;
    }
    return 0;
}

int predict_parse_reg(const char *reg, const char *reg_abs, double *value, int *absolute)
{
    *value = 0, *absolute = 0;
    if (reg && reg_abs) {
        fputs("ntkc predict: give --reg (relative to the mean diagonal) or --reg-abs (absolute), not both\n",
              stderr);
        return 1;
    }
    *absolute = reg_abs != NULL;
    return reg || reg_abs ? parse_nonneg(reg ? "--reg" : "--reg-abs", reg ? reg : reg_abs, value) : 0;
}

/* "1,10,inf" → times (malloc'd); prints the error and returns 1 on junk. */
static int parse_times(const char *text, double **times, size_t *ntimes)
{
    size_t count = 1;
    for (const char *p = text; *p; p++)
        count += *p == ',';
    *times = malloc(count * sizeof **times);
    if (*times == NULL) {
        fputs("ntkc predict: out of memory for --time\n", stderr);
        return 1;
    }
    const char *p = text;
    for (*ntimes = 0; *ntimes < count; ++*ntimes) {
        char *end;
        double t = strtod(p, &end);
        if (end == p || (*end != ',' && *end != '\0') || !(t >= 0)) {
            fprintf(stderr, "ntkc predict: --time expects numbers >= 0 or inf separated by commas, got '%s'\n",
                    text);
            return 1;
        }
        (*times)[*ntimes] = t;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* A kernel file: 2-D, rows × cols (0 = any), finite; symmetric when square
 * is asked for (|K_ij − K_ji| <= 1e-6·√(|K_ii|·|K_jj|), float32 kernels pass). */
static int load_kernel(const char *opt, const char *path, size_t rows, size_t cols, int symmetric, NpyArray *a,
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

static int load_outputs0(const char *opt, const char *path, size_t rows, size_t k, NpyArray *a, ntkc_error *err)
{
    if (path == NULL)
        return 0;
    if (npy_read(path, a, err))
        return err->code;
    if (a->ndim != 2 || a->shape[0] != rows || a->shape[1] != k)
        err_user(err, "%s %s must have shape (%zu, %zu) (points × outputs of --targets), got %zu dimensions%s",
                  opt, path, rows, k, a->ndim, a->ndim == 2 ? " of another shape" : "");
    else
        npy_check_finite(a, path, err);
    return err->code;
}

static int load_data(const KArgs *a, KData *d, ntkc_error *err)
{
    if (load_kernel("--k-train", a->k_train, 0, 0, 1, &d->ktt, err))
        return err->code;
    if (d->ktt.shape[0] != d->ktt.shape[1]) {
        err_user(err, "--k-train %s has shape (%zu, %zu): the train-train kernel must be square", a->k_train,
                  d->ktt.shape[0], d->ktt.shape[1]);
        return err->code;
    }
    d->n = d->ktt.shape[0];
    if (load_kernel("--k-test", a->k_test, 0, d->n, 0, &d->kst, err))
        return err->code;
    d->m = d->kst.shape[0];
    if (a->k_test_test && load_kernel("--k-test-test", a->k_test_test, d->m, d->m, 1, &d->kss, err))
        return err->code;
    if (targets_load_train(a->targets, d->n, a->k_train, "training points", &d->y, err))
        return err->code;
    if (load_outputs0("--fx0-train", a->fx0_train, d->n, d->y.k, &d->fx0_train, err) ||
        load_outputs0("--fx0-test", a->fx0_test, d->m, d->y.k, &d->fx0_test, err))
        return err->code;
    if (a->test_targets && targets_load_test(a->test_targets, d->m, a->k_test, "test points", &d->y, &d->yt, err))
        return err->code;
    return 0;
}

/* The validated options. */
typedef struct KRequest {
    double *times;
    size_t ntimes;
    double reg, momentum, learning_rate;
    int reg_absolute, ode, momentum_on;
    PredictLoss loss;
} KRequest;

static int parse_request(const KArgs *a, KRequest *r)
{
    memset(r, 0, sizeof *r);
    r->learning_rate = 1;
    if (predict_parse_reg(a->reg, a->reg_abs, &r->reg, &r->reg_absolute))
        return 1;
    if (a->loss && strcmp(a->loss, "mse") != 0 && strcmp(a->loss, "xent") != 0) {
        fprintf(stderr, "ntkc predict: --loss must be mse or xent, not '%s'\n", a->loss);
        return 1;
    }
    r->loss = a->loss && strcmp(a->loss, "xent") == 0 ? PREDICT_LOSS_XENT : PREDICT_LOSS_MSE;
    if (a->momentum && (parse_nonneg("--momentum", a->momentum, &r->momentum) || r->momentum >= 1)) {
        if (r->momentum >= 1)
            fprintf(stderr, "ntkc predict: --momentum %s must be below 1\n", a->momentum);
        return 1;
    }
    r->momentum_on = a->momentum != NULL;
    if (a->learning_rate && (parse_nonneg("--learning-rate", a->learning_rate, &r->learning_rate) ||
                             r->learning_rate == 0)) {
        if (r->learning_rate == 0)
            fputs("ntkc predict: --learning-rate must be > 0\n", stderr);
        return 1;
    }
    if (a->learning_rate && !r->momentum_on) {
        fputs("ntkc predict: --learning-rate matters only with --momentum (without it, T = learning rate × steps)\n",
              stderr);
        return 1;
    }
    r->ode = r->loss == PREDICT_LOSS_XENT || r->momentum_on;
    const char *why = r->ode ? (r->momentum_on ? "--momentum" : "--loss xent") : "--fx0-train/--fx0-test";
    int one_net = r->ode || a->fx0_train || a->fx0_test;
    if (one_net && a->cov) {
        fprintf(stderr, "ntkc predict: --cov is the ensemble's covariance; with %s the outputs are one "
                        "network's, which has none\n", why);
        return 1;
    }
    if (r->ode && (a->reg || a->reg_abs)) {
        fprintf(stderr, "ntkc predict: %s trains on the kernel as given (neural-tangents' gradient_descent "
                        "has no regulariser); drop --reg/--reg-abs\n", why);
        return 1;
    }
    if (a->cov && !a->k_test_test) {
        fputs("ntkc predict: --cov needs the test-test kernel: give --k-test-test Kss.npy\n", stderr);
        return 1;
    }
    if (!a->cov && a->k_test_test) {
        fputs("ntkc predict: --k-test-test is read only for --cov\n", stderr);
        return 1;
    }
    return parse_times(a->time ? a->time : "inf", &r->times, &r->ntimes);
}

static int check_paths(const KArgs *a, ntkc_error *err)
{
    const char *inputs[] = {a->k_train, a->k_test, a->k_test_test, a->targets, a->fx0_train, a->fx0_test,
                            a->test_targets};
    const char *clean[7];
    size_t count = 0;
    for (size_t i = 0; i < 7; i++)
        if (inputs[i])
            clean[count++] = inputs[i];
    const char *outs[] = {a->mean, a->cov, a->train_mean};
    for (size_t i = 0; i < 3; i++) {
        if (outs[i] && check_output_not_input(outs[i], clean, count, err))
            return err->code;
        for (size_t j = 0; outs[i] && j < i; j++)
            if (outs[j] && (strcmp(outs[i], outs[j]) == 0 || npy_same_file(outs[i], outs[j])))
                return err_user(err, "two outputs name the same file %s", outs[i]), err->code;
    }
    return 0;
}

/* Runs the prediction into mean (T×m×k), train (T×n×k or NULL), cov (T×m×m or NULL). */
static int compute(const KRequest *r, const KData *d, double *mean, double *train, double *cov,
                   PredictOdeStats *st, ntkc_error *err)
{
    size_t k = d->y.k;
    const double *f0 = d->fx0_train.data, *g0 = d->fx0_test.data;
    if (r->ode) {
        PredictOde p = {.n = d->n, .m = d->m, .k = k, .g_tt = d->ktt.data, .g_st = d->kst.data, .y = d->y.y,
                        .fx0_train = f0, .fx0_test = g0, .loss = r->loss, .momentum_on = r->momentum_on,
                        .momentum = r->momentum, .learning_rate = r->learning_rate};
        return predict_ode(&p, r->times, r->ntimes, train, mean, st, err);
    }
    PredictInput in = {.n = d->n, .m = d->m, .k = k, .ntk_tt = d->ktt.data, .ntk_st = d->kst.data,
                       .nngp_tt = d->ktt.data, .nngp_st = d->kst.data, .nngp_ss = d->kss.data, .y = d->y.y,
                       .reg = r->reg, .reg_absolute = r->reg_absolute};
    if (f0 || g0)
        return predict_gd_mse_from(&in, f0, g0, r->times, r->ntimes, train, mean, err);
    if (predict_gd_mse(&in, PREDICT_NNGP, r->times, r->ntimes, mean, cov, err) || train == NULL)
        return err->code;
    /* The ensemble's mean on the training points: the flow from f = 0. */
    size_t count = r->ntimes * d->m * k;
    double *scratch = malloc((count > 0 ? count : 1) * sizeof *scratch);
    if (scratch == NULL)
        return err_user(err, "out of memory for the test outputs"), err->code;
    predict_gd_mse_from(&in, NULL, NULL, r->times, r->ntimes, train, scratch, err);
    free(scratch);
    return err->code;
}

static void print_summary(const KRequest *r, const KData *d, const double *mean, const PredictOdeStats *st)
{
    size_t m = d->m, k = d->y.k;
    printf("kernel prediction: %zu train -> %zu test, %zu output%s, %s%s", d->n, m, k, k == 1 ? "" : "s",
           r->loss == PREDICT_LOSS_XENT ? "cross-entropy" : "MSE", r->momentum_on ? " with momentum" : "");
    if (r->ode)
        printf(", ODE: %zu steps, %zu gradient evaluations\n", st->steps, st->rhs_evals);
    else
        printf(", reg %g%s\n", r->reg, r->reg_absolute ? " (absolute)" : "");
    if (d->yt.y)
        targets_print_scores(&d->yt, mean, r->times, r->ntimes, m);
}

/* Creates the outputs, computes into them, commits all or none. */
static int run(const KArgs *a, ntkc_error *err)
{
    KRequest r;
    KData d = {0};
    if (parse_request(a, &r)) {
        free(r.times);
        return 1;
    }
    int rc = check_paths(a, err) || load_data(a, &d, err) ? err->code : 0;
    size_t one = r.ntimes == 1, k = d.y.k;
    size_t mshape[3] = {r.ntimes, d.m, k}, tshape[3] = {r.ntimes, d.n, k}, cshape[3] = {r.ntimes, d.m, d.m};
    NpyOut *mean = rc ? NULL : npy_out_create(a->mean, 3 - one, mshape + one, err);
    NpyOut *train = mean && a->train_mean ? npy_out_create(a->train_mean, 3 - one, tshape + one, err) : NULL;
    NpyOut *cov = mean && a->cov && !err->code ? npy_out_create(a->cov, 3 - one, cshape + one, err) : NULL;
    rc = err->code;
    PredictOdeStats st = {0};
    if (rc == 0)
        rc = compute(&r, &d, npy_out_data(mean), train ? npy_out_data(train) : NULL,
                     cov ? npy_out_data(cov) : NULL, &st, err);
    if (rc == 0 && !a->quiet)
        print_summary(&r, &d, npy_out_data(mean), &st);
    NpyOut *outs[3] = {mean, train, cov};
    const char *paths[3] = {a->mean, a->train_mean, a->cov};
    for (size_t i = 0; i < 3; i++) {
        if (outs[i] == NULL)
            continue;
        if (rc == 0 && npy_out_commit(outs[i], err) != 0) {
            rc = err->code;
            for (size_t j = 0; j < i; j++) /* the earlier ones landed: take them back */
                if (outs[j])
                    remove(paths[j]);
        } else if (rc != 0) {
            npy_out_abort(outs[i]);
        }
    }
    kdata_free(&d);
    free(r.times);
    return rc;
}

int cmd_predict_kernels(int argc, char **argv)
{
    KArgs a = {0};
    const OptSpec specs[] = {{"--k-train", 1, &a.k_train},   {"--k-test", 1, &a.k_test},
                             {"--k-test-test", 1, &a.k_test_test}, {"--targets", 1, &a.targets},
                             {"--mean", 1, &a.mean},         {"--cov", 1, &a.cov},
                             {"--time", 1, &a.time},         {"--reg", 1, &a.reg},
                             {"--reg-abs", 1, &a.reg_abs},   {"--fx0-train", 1, &a.fx0_train},
                             {"--fx0-test", 1, &a.fx0_test}, {"--loss", 1, &a.loss},
                             {"--momentum", 1, &a.momentum}, {"--learning-rate", 1, &a.learning_rate},
                             {"--train-mean", 1, &a.train_mean}, {"--test-targets", 1, &a.test_targets},
                             {"--quiet", 0, &a.quiet},       {NULL, 0, NULL}};
    Args args;
    if (args_parse("predict", argc, argv, specs, &args) != 0)
        return 1;
    if (args.help) {
        fputs(help, stdout);
        return 0;
    }
    const char *missing = args.npositional ? NULL
                          : !a.k_test     ? "--k-test Kst.npy"
                          : !a.targets    ? "--targets Y.npy"
                          : !a.mean       ? "--mean M.npy"
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
