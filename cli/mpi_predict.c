/* ntkc-mpi predict: `ntkc predict` with the kernels and the solve spread over
 * the ranks, for training sets whose kernel does not fit one machine.
 *
 * The ranks form a BLACS process grid (as square as P allows). The kernels
 * reach the grid's block-cyclic layout from the net (mpi_fill.c: every block
 * computed by the process that owns it, in float64 or float32) or from
 * kernel files (--k-train ...: mpi_kfiles.h, each rank its own blocks). Then,
 * as runtime/predict/predict.c does on one process (mpi_solve.c): t = ∞ by
 * pdpotrf/pdpotrs, finite times by one pdsyevd, the means by pdgemm; with
 * --fx0-* the same flow from the residual y − fx0_train (neural-tangents'
 * gradient_descent_mse), and --train-mean the flow on the training points.
 * The means (m × k per time) are gathered on rank 0, which writes them. With
 * --cov the covariance (mpi_cov.c) stays distributed: every rank writes its
 * blocks with one collective MPI-IO call per time (mpi_out.h). The training
 * ODE (--loss xent, --momentum) runs on rank 0 over the gathered kernels
 * (mpi_ode.h), when they fit there. --precision single: float32 kernels,
 * solved in float64 after the same condition-number check as ntkc predict's.
 * The outputs appear together or not at all.
 *
 * Inputs, targets and fx0 are read by every rank, as ntkc-mpi kernel does
 * (see there why). */
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "data.h"
#include "mpi_cmds.h"
#include "mpi_dist.h"
#include "mpi_fill.h"
#include "mpi_kfiles.h"
#include "mpi_ode.h"
#include "mpi_out.h"
#include "mpi_scalapack.h"
#include "mpi_solve.h"
#include "mpi_util.h"
#include "ntkc_tool.h"
#include "predict_data.h"
#include "predict_kernels.h"
#include "predict_request.h"

enum { DEFAULT_BLOCK = 64 };

static const char help[] =
    "usage: mpirun -np P ntkc-mpi predict NET.ntk --train X.npy --targets Y.npy --test Xt.npy --mean M.npy\n"
    "                    [--time T[,T...]] [--kernel ntk|nngp] [--reg R | --reg-abs R] [--cov C.npy]\n"
    "                    [--test-targets Yt.npy] [--train-mean P.npy] [--fx0-train F.npy]\n"
    "                    [--fx0-test G.npy] [--loss mse|xent] [--momentum MU] [--learning-rate ETA]\n"
    "                    [--precision double|single] [--net NAME] [--backend tcc|cc] [--threads N]\n"
    "                    [--tile B] [--quiet] [--mask-train M.npy | --lengths-train L.npy]\n"
    "                    [--mask-test Mt.npy | --lengths-test Lt.npy] [--dropout fixed|fresh]\n"
    "       mpirun -np P ntkc-mpi predict --k-train Ktt.npy --k-test Kst.npy --targets Y.npy\n"
    "                    --mean M.npy [--k-test-test Kss.npy --cov C.npy] [the options above from\n"
    "                    --time on, but --kernel, --precision, --dropout and the net's]\n"
    "\n"
    "ntkc predict over MPI: the training and test × train kernels are computed\n"
    "straight into ScaLAPACK's block-cyclic layout (blocks of B × B, default 64)\n"
    "over a grid of the P ranks (or, with --k-train, read from kernel files by\n"
    "rank 0 and sent there), and solved there (pdpotrf/pdpotrs for t = inf,\n"
    "pdsyevd for finite times); the covariance (--cov) is written by every rank\n"
    "with MPI-IO. --loss xent and --momentum integrate the training ODE on rank\n"
    "0 over the gathered kernels (refused when they do not fit its memory).\n"
    "Options and results as ntkc predict (see ntkc predict --help), to rounding.\n";

/* A prediction's data, from either front door. */
typedef struct Job {
    MPI_Comm comm;
    const PredictArgs *a;
    Request *r;
    long tile;
    size_t n, m;
    const Targets *y, *yt;
    /* the net's door */
    const ntkc_net *net;
    const PredictData *d;
    double compile_s;
    /* or the kernel files' */
    const KPaths *kp;
} Job;

static void print_summary(const Job *J, const double *mean, int ranks, const Grid *g, double kernel_s,
                          double solve_s, const PredictOdeStats *st)
{
    const Request *r = J->r;
    size_t k = J->y->k;
    int finite = 0, infinite = 0, ode = st->rhs_evals > 0;
    for (size_t t = 0; t < r->ntimes; t++)
        finite |= !isinf(r->times[t]), infinite |= isinf(r->times[t]);
    if (J->net && r->opts.dropout_fresh)
        printf("%s: dropout fresh: nets trained with fresh masks every step, outputs without dropout\n",
               ntkc_net_name(J->net));
    if (J->net)
        printf("%s: %s prediction, %zu train -> %zu test%s, %zu output%s%s%s%s, ", ntkc_net_name(J->net),
               r->opts.kernel == NTKC_PREDICT_NTK ? "NTK" : "NNGP", J->n, J->m, J->d->g ? " graphs" : "", k,
               k == 1 ? "" : "s", J->y->labels ? " (one-hot classes" : "",
               J->d->labels_from ? " of the graph labels" : "", J->y->labels ? ")" : "");
    else
        printf("kernel prediction: %zu train -> %zu test, %zu output%s, ", J->n, J->m, k, k == 1 ? "" : "s");
    predict_print_method(&r->opts, st->steps, st->rhs_evals);
    printf("  kernels %.3f s, solve %.3f s (%s%s%s), ", kernel_s, solve_s,
           ode ? "ODE on rank 0" : finite ? "pdsyevd" : "", !ode && finite && infinite ? " + " : "",
           !ode && infinite ? "pdpotrf" : "");
    if (J->net)
        printf("compile %.1f ms; ", 1e3 * J->compile_s);
    printf("%d ranks, grid %d x %d, blocks %d\n", ranks, g->pr, g->pc, g->nb);
    if (J->yt && J->yt->y)
        targets_print_scores(J->yt, mean, r->times, r->ntimes, J->m);
}

/* Rank 0: rows × k outputs per time, checked, into their output. */
static int write_rows(MpiOut *out, const char *what, const double *a, size_t ntimes, size_t rows, size_t k,
                      ntkc_error *err)
{
    size_t count = ntimes * rows * k;
    for (size_t i = 0; i < count; i++)
        if (!isfinite(a[i])) {
            err_user(err, "the predicted %s overflowed (entry %zu is %g); rescale the kernels or targets", what, i,
                      a[i]);
            return err->code;
        }
    return out && mpi_out_write(out, 0, ntimes * rows, 0, k, a, k, err) ? err->code : 0;
}

/* Rank 0, after the distributed flow from y − fx0_train: the outputs of the
 * network that started at fx0 (predict_gd_mse_from's), on test and training
 * points (train: the flows of the finite times; at t = ∞ the targets). */
static void add_fx0(const Job *J, const ntkc_predict_options *o, double *mean, double *train)
{
    size_t m = J->m, n = J->n, k = J->y->k;
    for (size_t t = 0; t < J->r->ntimes; t++) {
        for (size_t i = 0; o->fx0_test && i < m * k; i++)
            mean[t * m * k + i] += o->fx0_test[i];
        for (size_t i = 0; train && i < n * k; i++)
            train[t * n * k + i] = isinf(J->r->times[t]) ? J->y->y[i]
                                                         : (o->fx0_train ? o->fx0_train[i] : 0.0) + train[t * n * k + i];
    }
}

/* The solve the options ask for: the ODE on rank 0, or the distributed flow. */
static int solve(const Job *J, Problem *p, double *mean, double *train, PredictOdeStats *st, ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(J->comm, &rank);
    ntkc_predict_options o = J->r->opts;
    if (o.loss == NTKC_LOSS_XENT || o.momentum_on) {
        o.train_mean = train;
        return mpi_ode(p, J->y->y, &o, mean, st, err);
    }
    p->want_train = train != NULL, p->train = train;
    int rc = mpi_solve(p, mean, err);
    if (rc == 0 && rank == 0)
        add_fx0(J, &o, mean, train);
    return rc;
}

static int create_outputs(const Job *J, MpiOut *outs[3], ntkc_error *err)
{
    size_t T = J->r->ntimes, one = T == 1, k = J->y->k;
    size_t mshape[3] = {T, J->m, k}, tshape[3] = {T, J->n, k}, cshape[3] = {T, J->m, J->m};
    const char *paths[3] = {J->a->mean, J->a->train_mean, J->a->cov};
    const size_t *shapes[3] = {mshape, tshape, cshape};
    for (int i = 0; i < 3; i++)
        if (mpi_out_create(J->comm, paths[i], 3 - (int)one, shapes[i] + one, &outs[i], err) != 0) {
            mpi_out_finish(J->comm, outs, i, err->code, err);
            return err->code;
        }
    return 0;
}

/* Everything after the data are loaded; collective. */
static int predict_all(const Job *J, ntkc_error *err)
{
    int rank, size;
    MPI_Comm_rank(J->comm, &rank);
    MPI_Comm_size(J->comm, &size);
    const Request *r = J->r;
    int threads = r->opts.eval.threads > 0 ? r->opts.eval.threads : omp_get_max_threads();
    int ntk = J->net && r->opts.kernel == NTKC_PREDICT_NTK, k = (int)J->y->k;
    Problem p = {.comm = J->comm, .n = J->n, .m = J->m, .k = J->y->k, .ntk = ntk, .name = ntk ? "NTK" : "NNGP",
                 .times = r->times, .ntimes = r->ntimes};
    int fresh = r->opts.dropout_fresh;
    int rc = 0;
    if (J->n > INT_MAX / 2 || J->m > INT_MAX / 2 || J->y->k > INT_MAX / 2)
        err_user(err, "prediction: %zu training points, %zu test points or %zu outputs exceed ScaLAPACK's limit",
                  J->n, J->m, J->y->k),
            rc = err->code;
    if (rc == 0 && grid_open(J->comm, J->tile > 0 ? (int)J->tile : DEFAULT_BLOCK, &p.g) != 0)
        err_internal(err, "BLACS could not make a %d x %d process grid", p.g.pr, p.g.pc), rc = err->code;
    if ((rc = mpi_agree(J->comm, rc, err)) != 0)
        return rc;
    double t0 = MPI_Wtime();
    /* every rank agrees on each step before the next collective one; the
     * flow starts from the residual y − fx0_train (zero fx0: y itself) */
    double *resid = malloc(J->n * (size_t)k * sizeof *resid + 1);
    if (resid == NULL)
        err_user(err, "prediction: out of memory for the targets");
    rc = mpi_agree(J->comm, err->code ? err->code : dist_init(&p.g, p.n, p.k, &p.y, err), err);
    if (rc == 0) {
        for (size_t i = 0; i < J->n * (size_t)k; i++)
            resid[i] = J->y->y[i] - (r->opts.fx0_train ? r->opts.fx0_train[i] : 0.0);
        dist_scatter(&p.g, resid, &p.y);
        rc = J->net ? mpi_fill_from_net(J->net, J->d, J->a->cov != NULL, fresh, threads, &p, err)
                    : mpi_kfiles_read(&p.g, J->kp, J->n, J->m, &p.gtt, &p.gst, &p.kss, err);
        p.norm = (double)p.n * (double)p.k;
    }
    free(resid);
    double shift = rc == 0 ? mpi_regularise(&p, r->opts.reg, r->opts.reg_absolute) : 0;
    if (rc == 0 && J->net && ntkc_net_precision(J->net) == NTKC_PRECISION_SINGLE)
        rc = mpi_check_float32(&p, shift > 0, err);
    double t1 = MPI_Wtime();
    MpiOut *outs[3] = {NULL, NULL, NULL};
    int outs_open = rc == 0 && create_outputs(J, outs, err) == 0;
    rc = rc ? rc : err->code;
    size_t mean_count = r->ntimes * p.m * p.k, train_count = J->a->train_mean ? r->ntimes * p.n * p.k : 0;
    double *mean = rc == 0 ? calloc(mean_count + 1, sizeof *mean) : NULL;
    double *train = rc == 0 && train_count ? calloc(train_count, sizeof *train) : NULL;
    if (rc == 0 && (mean == NULL || (train_count && train == NULL)))
        err_user(err, "prediction: out of memory for the predicted outputs"), rc = err->code;
    rc = mpi_agree(J->comm, rc, err);
    p.cov = outs[2];
    PredictOdeStats st = {0};
    if (rc == 0)
        rc = solve(J, &p, mean, train, &st, err);
    double t2 = MPI_Wtime();
    if (rc == 0 && rank == 0) /* the means are on rank 0 only */
        rc = write_rows(outs[0], "mean", mean, r->ntimes, p.m, p.k, err) ||
                     write_rows(outs[1], "mean on the training points", train, train ? r->ntimes : 0, p.n, p.k, err)
                 ? err->code
                 : 0;
    if (outs_open)
        rc = mpi_out_finish(J->comm, outs, 3, rc, err);
    if (rc == 0 && rank == 0 && !J->a->quiet)
        print_summary(J, mean, size, &p.g, t1 - t0, t2 - t1, &st);
    free(mean), free(train);
    problem_free(&p);
    Cblacs_gridexit(p.g.ctxt);
    return rc;
}

/* Outputs that name an input or each other (rank 0 checks; all agree). */
static int check_outputs(MPI_Comm comm, const PredictArgs *a, const char *const *extra, size_t nextra,
                         ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    return mpi_agree(comm, rank == 0 ? predict_check_outputs(a, extra, nextra, err) : 0, err);
}

static int run_net(MPI_Comm comm, const char *net_path, const PredictArgs *a, const char *const pad[4],
                   const char *dropout, long tile, ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    Request r;
    int quiet = mpi_quiet_begin(comm); /* the same message on every rank: rank 0 prints it */
    int rc = parse_request(a, &r) != 0 || parse_predict_dropout(dropout, &r) != 0;
    mpi_quiet_end(quiet);
    const char *extra[5] = {net_path, pad[0], pad[1], pad[2], pad[3]};
    if (rc == 0 && check_outputs(comm, a, extra, 5, err) != 0)
        rc = err->code;
    ntkc_net *net = NULL;
    double t0 = MPI_Wtime(), compile_s = 0;
    if (rc == 0) {
        ntkc_compile_options copts = {.net_name = a->net_name, .backend = r.backend, .precision = r.precision};
        net = ntkc_compile_file(net_path, &copts, err);
        rc = net ? 0 : err->code;
        compile_s = MPI_Wtime() - t0;
    }
    PredictPaths paths = {.train = a->train, .targets = a->targets, .test = a->test, .test_targets = a->test_targets,
                          .quiet = a->quiet != NULL || rank != 0, .mask_train = pad[0], .lengths_train = pad[1],
                          .mask_test = pad[2], .lengths_test = pad[3]};
    PredictData d = {0};
    NpyArray f0 = {0}, g0 = {0};
    if (rc == 0)
        rc = predict_data_load(net, &paths, &d, err);
    if (rc == 0)
        rc = predict_load_fx0(a, d.n, d.m, d.y.k, &f0, &g0, &r, err);
    if (rc == 0) /* what --dropout fresh refuses, as ntkc_predict refuses it */
        rc = predict_check_dropout_fresh(net, &r.opts, a->train_mean != NULL, err);
    if (rc == 0 && mpi_test_fail(comm, "input"))
        err_file(err, a->train, "cannot read (NTKC_MPI_TEST_FAIL)"), rc = err->code;
    rc = mpi_agree(comm, rc, err);
    if (rc == 0) {
        Job J = {.comm = comm, .a = a, .r = &r, .tile = tile, .n = d.n, .m = d.m, .y = &d.y, .yt = &d.yt,
                 .net = net, .d = &d, .compile_s = compile_s};
        rc = predict_all(&J, err);
    }
    npy_free(&f0), npy_free(&g0);
    predict_data_free(&d);
    ntkc_net_free(net);
    free(r.times);
    return rc;
}

static int run_files(MPI_Comm comm, const PredictArgs *a, const KPaths *kp, long tile, ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    Request r;
    int quiet = mpi_quiet_begin(comm);
    int rc = parse_request(a, &r) != 0;
    if (rc == 0 && a->cov && !kp->k_test_test)
        fputs("ntkc predict: --cov needs the test-test kernel: give --k-test-test Kss.npy\n", stderr), rc = 1;
    if (rc == 0 && !a->cov && kp->k_test_test)
        fputs("ntkc predict: --k-test-test is read only for --cov\n", stderr), rc = 1;
    mpi_quiet_end(quiet);
    const char *kernels[] = {kp->k_train, kp->k_test, kp->k_test_test};
    if (rc == 0 && check_outputs(comm, a, kernels, 3, err) != 0)
        rc = err->code;
    NpyArray f0 = {0}, g0 = {0};
    Targets y = {0}, yt = {0};
    size_t nm[2] = {0, 0};
    if (rc == 0)
        rc = mpi_kfiles_sizes(comm, kp, &nm[0], &nm[1], err);
    if (rc == 0 && (targets_load_train(a->targets, nm[0], kp->k_train, "training points", &y, err) ||
                    predict_load_fx0(a, nm[0], nm[1], y.k, &f0, &g0, &r, err) ||
                    (a->test_targets &&
                     targets_load_test(a->test_targets, nm[1], kp->k_test, "test points", &y, &yt, err))))
        rc = err->code;
    if (rc == 0 && mpi_test_fail(comm, "input"))
        err_file(err, kp->k_train, "cannot read (NTKC_MPI_TEST_FAIL)"), rc = err->code;
    rc = mpi_agree(comm, rc, err);
    if (rc == 0) {
        Job J = {.comm = comm, .a = a, .r = &r, .tile = tile, .n = nm[0], .m = nm[1], .y = &y, .yt = &yt, .kp = kp};
        rc = predict_all(&J, err);
    }
    npy_free(&f0), npy_free(&g0);
    targets_free(&y), targets_free(&yt);
    free(r.times);
    return rc;
}

int mpi_cmd_predict(MPI_Comm comm, int argc, char **argv)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    PredictArgs a = {0};
    KPaths kp = {0};
    const char *tile_arg = NULL;
    const char *pad[4] = {NULL}; /* PredictPaths' mask_train, lengths_train, mask_test, lengths_test */
    const char *dropout = NULL;
    int files = predict_kernels_requested(argc, argv);
    /* the net's options, then (with --k-train) the kernel files' in their place */
    const OptSpec net_specs[] = {{"--train", 1, &a.train},     {"--targets", 1, &a.targets},
                                 {"--test", 1, &a.test},       {"--time", 1, &a.time},
                                 {"--kernel", 1, &a.kernel},   {"--reg", 1, &a.reg},
                                 {"--reg-abs", 1, &a.reg_abs}, {"--mean", 1, &a.mean},
                                 {"--cov", 1, &a.cov},         {"--test-targets", 1, &a.test_targets},
                                 {"--net", 1, &a.net_name},    {"--backend", 1, &a.backend},
                                 {"--threads", 1, &a.threads}, {"--tile", 1, &tile_arg},
                                 {"--quiet", 0, &a.quiet},     {"--fx0-train", 1, &a.fx0_train},
                                 {"--fx0-test", 1, &a.fx0_test}, {"--loss", 1, &a.loss},
                                 {"--momentum", 1, &a.momentum}, {"--learning-rate", 1, &a.learning_rate},
                                 {"--train-mean", 1, &a.train_mean}, {"--precision", 1, &a.precision},
                                 {"--mask-train", 1, &pad[0]}, {"--lengths-train", 1, &pad[1]},
                                 {"--mask-test", 1, &pad[2]},  {"--lengths-test", 1, &pad[3]},
                                 {"--dropout", 1, &dropout},   {NULL, 0, NULL}};
    const OptSpec file_specs[] = {{"--k-train", 1, &kp.k_train},   {"--k-test", 1, &kp.k_test},
                                  {"--k-test-test", 1, &kp.k_test_test}, {"--targets", 1, &a.targets},
                                  {"--mean", 1, &a.mean},        {"--cov", 1, &a.cov},
                                  {"--time", 1, &a.time},        {"--reg", 1, &a.reg},
                                  {"--reg-abs", 1, &a.reg_abs},  {"--fx0-train", 1, &a.fx0_train},
                                  {"--fx0-test", 1, &a.fx0_test}, {"--loss", 1, &a.loss},
                                  {"--momentum", 1, &a.momentum}, {"--learning-rate", 1, &a.learning_rate},
                                  {"--train-mean", 1, &a.train_mean}, {"--test-targets", 1, &a.test_targets},
                                  {"--tile", 1, &tile_arg},      {"--quiet", 0, &a.quiet},
                                  {NULL, 0, NULL}};
    Args args;
    int quiet = mpi_quiet_begin(comm);
    int bad = args_parse("predict", argc, argv, files ? file_specs : net_specs, &args) != 0;
    mpi_quiet_end(quiet);
    if (bad)
        return 1;
    if (args.help) {
        if (rank == 0)
            fputs(help, stdout);
        return 0;
    }
    const char *missing = files ? (args.npositional ? "no NET.ntk (the kernel files replace the net)"
                                   : !kp.k_test     ? "--k-test Kst.npy"
                                   : !a.targets     ? "--targets Y.npy"
                                   : !a.mean        ? "--mean M.npy"
                                                    : NULL)
                                : (args.npositional != 1 ? "NET.ntk"
                                   : !a.train            ? "--train X.npy"
                                   : !a.test             ? "--test Xt.npy"
                                   : !a.mean             ? "--mean M.npy"
                                                         : NULL);
    if (missing) {
        if (rank == 0)
            fprintf(stderr, "%s\nntkc predict: %s %s\n", help, args.npositional && files ? "give" : "missing",
                    missing);
        return 1;
    }
    quiet = mpi_quiet_begin(comm);
    long tile = tile_arg ? args_positive("predict", "--tile", tile_arg) : 0;
    mpi_quiet_end(quiet);
    if (tile < 0 || tile > 1 << 16)
        return 1;
    ntkc_error err = {0};
    int rc = files ? run_files(comm, &a, &kp, tile, &err) : run_net(comm, args.positional[0], &a, pad, dropout, tile, &err);
    return rc == 0 ? 0 : mpi_report(comm, &err);
}
