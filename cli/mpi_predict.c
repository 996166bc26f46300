/* ntkc-mpi predict: `ntkc predict` with the kernels and the solve spread over
 * the ranks, for training sets whose kernel does not fit one machine.
 *
 * The ranks form a BLACS process grid (as square as P allows). The training
 * kernel is computed straight into ScaLAPACK's 2-D block-cyclic layout: the
 * engine's tiles are given the block size as their edge, so each tile is one
 * block and the process that owns a block computes it (ntkc_tiles_* in runtime/tool/ntkc_tool.h;
 * only blocks on and above the diagonal: the solvers read the upper
 * triangle). The test × train kernel is laid out the same way. Then, as
 * runtime/predict/predict.c does on one process (mpi_solve.c): t = ∞ by
 * pdpotrf/pdpotrs (with pdpocon's condition estimate refusing a singular
 * kernel), finite times by one pdsyevd, and the means by pdgemm. The means
 * (m × k per time) are gathered on rank 0, which writes them. With --cov, the
 * test × test NNGP is computed the same way and the covariance (mpi_cov.c)
 * stays distributed: every rank writes its blocks of it with one collective
 * MPI-IO call per time (mpi_out.h), and the mean and covariance files appear
 * together or not at all. Same options and answers (to rounding) as ntkc
 * predict; its prediction from kernel files (--k-train ...) is refused by
 * name.
 *
 * Inputs and targets are read by every rank, as ntkc-mpi kernel does (see
 * there why). */
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
#include "mpi_out.h"
#include "mpi_scalapack.h"
#include "mpi_solve.h"
#include "mpi_util.h"
#include "ntkc_tool.h"
#include "predict_data.h"
#include "predict_request.h"

enum { DEFAULT_BLOCK = 64 };

static const char help[] =
    "usage: mpirun -np P ntkc-mpi predict NET.ntk --train X.npy --targets Y.npy --test Xt.npy --mean M.npy\n"
    "                    [--time T[,T...]] [--kernel ntk|nngp] [--reg R | --reg-abs R] [--cov C.npy]\n"
    "                    [--test-targets Yt.npy] [--net NAME] [--backend tcc|cc] [--threads N]\n"
    "                    [--tile B] [--quiet]\n"
    "\n"
    "ntkc predict over MPI: the training and test × train kernels are computed\n"
    "straight into ScaLAPACK's block-cyclic layout (blocks of B × B, default 64)\n"
    "over a grid of the P ranks, and solved there (pdpotrf/pdpotrs for t = inf,\n"
    "pdsyevd for finite times); the covariance (--cov) is written by every rank\n"
    "with MPI-IO. Options and results as ntkc predict (see ntkc predict --help),\n"
    "to rounding. Prediction from kernel files (ntkc predict --k-train ...) is\n"
    "not offered here.\n";

/* Computes the tiles (one block each) this process owns, their NNGP into
 * nngp and NTK into ntk (either may be NULL), in parallel. */
static int fill_kernel(const Grid *g, const ntkc_tiles *tiles, int threads, Dist *nngp, Dist *ntk, ntkc_error *err)
{
    size_t count = ntkc_tiles_count(tiles), mine = 0;
    size_t *list = malloc((count ? count : 1) * sizeof *list);
    if (list == NULL) {
        err_internal(err, "out of memory");
        return err->code;
    }
    for (size_t t = 0; t < count; t++) {
        ntkc_tile T = ntkc_tiles_at(tiles, t);
        if (dist_owns(g, T.i0, T.j0))
            list[mine++] = t;
    }
    int rc = 0;
    size_t cap = (size_t)g->nb * (size_t)g->nb;
#pragma omp parallel num_threads(threads)
    {
        double *buf = malloc(2 * cap * sizeof *buf);
        double *bufs[2] = {nngp && buf ? buf : NULL, ntk && buf ? buf + cap : NULL};
        Dist *outs[2] = {nngp, ntk};
        ntkc_error e = {0};
        if (buf == NULL) {
            err_internal(&e, "out of memory for a block of %zu entries", cap);
#pragma omp critical(ntkc_mpi_predict)
            if (rc == 0)
                rc = e.code, *err = e;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < mine; q++) {
            if (buf == NULL)
                continue;
            ntkc_tile T = ntkc_tiles_at(tiles, list[q]);
            if (ntkc_tiles_run(tiles, list[q], bufs[0], bufs[1], &e) != 0) {
#pragma omp critical(ntkc_mpi_predict)
                if (rc == 0)
                    rc = e.code, *err = e;
                continue;
            }
            for (int k = 0; k < 2; k++)
                for (size_t i = 0; outs[k] && i < T.r; i++)
                    for (size_t j = 0; j < T.c; j++)
                        *dist_at(g, outs[k], T.i0 + i, T.j0 + j) = bufs[k][i * T.c + j];
        }
        free(buf);
    }
    free(list);
    return rc;
}

/* The kernels into p: the one that drives training (NTK or NNGP) and, for
 * --cov, the NNGP ones the covariance needs besides. */
static int compute_kernels(MPI_Comm comm, const ntkc_net *net, const PredictData *d, int cov, int threads, Problem *p,
                           ntkc_error *err)
{
    size_t nb = (size_t)p->g.nb;
    int both = cov && p->ntk; /* the NTK covariance needs the NNGP of the same tiles */
    ntkc_tiles *tt = d->g ? ntkc_tiles_graphs(net, d->g, NULL, nb, threads, err)
                          : ntkc_tiles_matrix(net, d->n, d->x.data, d->n, NULL, d->dim, nb, threads, threads, err);
    ntkc_tiles *st = NULL, *ss = NULL;
    if (tt != NULL)
        st = d->g ? ntkc_tiles_graphs(net, d->gt, d->g, nb, threads, err)
                  : ntkc_tiles_matrix(net, d->m, d->xt.data, d->n, d->x.data, d->dim, nb, threads, threads, err);
    if (st != NULL && cov)
        ss = d->g ? ntkc_tiles_graphs(net, d->gt, NULL, nb, threads, err)
                  : ntkc_tiles_matrix(net, d->m, d->xt.data, d->m, NULL, d->dim, nb, threads, threads, err);
    int rc = st && (ss || !cov) ? 0 : err->code;
    if (rc == 0)
        rc = dist_init(&p->g, p->n, p->n, &p->gtt, err) || dist_init(&p->g, p->m, p->n, &p->gst, err) ||
                     (both && dist_init(&p->g, p->n, p->n, &p->ktt, err)) ||
                     (both && dist_init(&p->g, p->m, p->n, &p->kst, err)) ||
                     (cov && dist_init(&p->g, p->m, p->m, &p->kss, err))
                 ? err->code
                 : 0;
    if (rc == 0)
        rc = fill_kernel(&p->g, tt, threads, p->ntk ? (both ? &p->ktt : NULL) : &p->gtt, p->ntk ? &p->gtt : NULL, err);
    if (rc == 0)
        rc = fill_kernel(&p->g, st, threads, p->ntk ? (both ? &p->kst : NULL) : &p->gst, p->ntk ? &p->gst : NULL, err);
    if (rc == 0 && cov)
        rc = fill_kernel(&p->g, ss, threads, &p->kss, NULL, err);
    ntkc_tiles_free(tt);
    ntkc_tiles_free(st);
    ntkc_tiles_free(ss);
    p->norm = (double)p->n * (double)p->k;
    return mpi_agree(comm, rc, err);
}

static void print_summary(const ntkc_net *net, const Request *r, const PredictData *d, const double *mean,
                          int ranks, const Grid *g, double kernel_s, double solve_s, double compile_s, int cov)
{
    size_t n = d->n, m = d->m, k = d->y.k;
    int finite = 0, infinite = 0;
    for (size_t t = 0; t < r->ntimes; t++)
        finite |= !isinf(r->times[t]), infinite |= isinf(r->times[t]);
    printf("%s: %s prediction, %zu train -> %zu test%s, %zu output%s%s%s%s, reg %g%s%s\n", ntkc_net_name(net),
           r->opts.kernel == NTKC_PREDICT_NTK ? "NTK" : "NNGP", n, m, d->g ? " graphs" : "", k, k == 1 ? "" : "s",
           d->y.labels ? " (one-hot classes" : "", d->labels_from ? " of the graph labels" : "",
           d->y.labels ? ")" : "", r->opts.reg, r->opts.reg_absolute ? " (absolute)" : "",
           cov ? ", with the covariance" : "");
    printf("  kernels %.3f s, solve %.3f s (%s%s%s), compile %.1f ms; %d ranks, grid %d x %d, blocks %d\n", kernel_s,
           solve_s, finite ? "pdsyevd" : "", finite && infinite ? " + " : "", infinite ? "pdpotrf" : "",
           1e3 * compile_s, ranks, g->pr, g->pc, g->nb);
    if (d->yt.y == NULL)
        return;
    targets_print_scores(&d->yt, mean, r->times, r->ntimes, m);
}

/* Rank 0: the mean, checked, into its output. */
static int write_mean(const Problem *p, MpiOut *out, const double *mean, ntkc_error *err)
{
    size_t count = p->ntimes * p->m * p->k;
    for (size_t i = 0; i < count; i++)
        if (!isfinite(mean[i])) {
            err_user(err, "the predicted mean overflowed (entry %zu is %g); rescale the kernels or targets", i,
                      mean[i]);
            return err->code;
        }
    return mpi_out_write(out, 0, p->ntimes * p->m, 0, p->k, mean, p->k, err) ? err->code : 0;
}


/* Everything after the data are loaded; collective. */
static int predict_all(MPI_Comm comm, const ntkc_net *net, const PredictArgs *a, const Request *r,
                       const PredictData *d, long tile, double compile_s, ntkc_error *err)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int threads = r->opts.eval.threads > 0 ? r->opts.eval.threads : omp_get_max_threads();
    int ntk = r->opts.kernel == NTKC_PREDICT_NTK;
    Problem p = {.comm = comm, .n = d->n, .m = d->m, .k = d->y.k, .ntk = ntk, .name = ntk ? "NTK" : "NNGP",
                 .times = r->times, .ntimes = r->ntimes};
    int rc = 0;
    if (d->n > INT_MAX / 2 || d->m > INT_MAX / 2 || d->y.k > INT_MAX / 2)
        err_user(err, "prediction: %zu training points, %zu test points or %zu outputs exceed ScaLAPACK's limit",
                  d->n, d->m, d->y.k),
            rc = err->code;
    if (rc == 0 && grid_open(comm, tile > 0 ? (int)tile : DEFAULT_BLOCK, &p.g) != 0)
        err_internal(err, "BLACS could not make a %d x %d process grid", p.g.pr, p.g.pc), rc = err->code;
    if ((rc = mpi_agree(comm, rc, err)) != 0)
        return rc;
    double t0 = MPI_Wtime();
    /* every rank agrees on each step before the next collective one */
    rc = mpi_agree(comm, dist_init(&p.g, p.n, p.k, &p.y, err), err);
    if (rc == 0) {
        dist_scatter(&p.g, d->y.y, &p.y);
        rc = compute_kernels(comm, net, d, a->cov != NULL, threads, &p, err);
    }
    if (rc == 0)
        mpi_regularise(&p, r->opts.reg, r->opts.reg_absolute);
    double t1 = MPI_Wtime();
    size_t one = r->ntimes == 1, mean_count = r->ntimes * p.m * p.k;
    size_t mean_shape[3] = {r->ntimes, p.m, p.k}, cov_shape[3] = {r->ntimes, p.m, p.m};
    MpiOut *outs[2] = {NULL, NULL};
    if (rc == 0)
        rc = mpi_out_create(comm, a->mean, 3 - (int)one, mean_shape + one, &outs[0], err);
    if (rc == 0 && (rc = mpi_out_create(comm, a->cov, 3 - (int)one, cov_shape + one, &outs[1], err)) != 0)
        mpi_out_finish(comm, outs, 1, rc, err);
    double *mean = rc == 0 ? calloc(mean_count ? mean_count : 1, sizeof *mean) : NULL;
    int outs_open = rc == 0;
    if (rc == 0 && mean == NULL)
        err_internal(err, "out of memory"), rc = err->code;
    rc = mpi_agree(comm, rc, err);
    p.cov = outs[1];
    if (rc == 0)
        rc = mpi_solve(&p, mean, err);
    double t2 = MPI_Wtime();
    if (rc == 0 && rank == 0) /* the mean is on rank 0 only */
        rc = write_mean(&p, outs[0], mean, err);
    if (outs_open)
        rc = mpi_out_finish(comm, outs, 2, rc, err);
    if (rc == 0 && rank == 0 && !a->quiet)
        print_summary(net, r, d, mean, size, &p.g, t1 - t0, t2 - t1, compile_s, a->cov != NULL);
    free(mean);
    problem_free(&p);
    Cblacs_gridexit(p.g.ctxt);
    return rc;
}

static int run(MPI_Comm comm, const char *net_path, const PredictArgs *a, long tile, ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    Request r;
    int quiet = mpi_quiet_begin(comm); /* the same message on every rank: rank 0 prints it */
    int rc = parse_request(a, &r) != 0;
    mpi_quiet_end(quiet);
    const char *inputs[] = {a->train, a->targets, a->test, a->test_targets, net_path};
    if (rc == 0 && (check_output_not_input(a->mean, inputs, 5, err) ||
                    (a->cov && check_output_not_input(a->cov, inputs, 5, err))))
        rc = err->code;
    if (rc == 0 && a->cov && npy_same_file(a->mean, a->cov))
        err_user(err, "--mean and --cov name the same file %s", a->mean), rc = err->code;
    ntkc_net *net = NULL;
    double t0 = MPI_Wtime(), compile_s = 0;
    if (rc == 0) {
        ntkc_compile_options copts = {.net_name = a->net_name, .backend = r.backend};
        net = ntkc_compile_file(net_path, &copts, err);
        rc = net ? 0 : err->code;
        compile_s = MPI_Wtime() - t0;
    }
    PredictPaths paths = {.train = a->train, .targets = a->targets, .test = a->test, .test_targets = a->test_targets,
                          .quiet = a->quiet != NULL || rank != 0};
    PredictData d = {0};
    if (rc == 0)
        rc = predict_data_load(net, &paths, &d, err);
    if (rc == 0 && mpi_test_fail(comm, "input"))
        err_file(err, a->train, "cannot read (NTKC_MPI_TEST_FAIL)"), rc = err->code;
    if (rc == 0 && rank == 0 && (npy_check_output(a->mean, err) != 0 || (a->cov && npy_check_output(a->cov, err))))
        rc = err->code;
    rc = mpi_agree(comm, rc, err);
    if (rc == 0)
        rc = predict_all(comm, net, a, &r, &d, tile, compile_s, err);
    predict_data_free(&d);
    ntkc_net_free(net);
    free(r.times);
    return rc;
}

/* ntkc predict's prediction from kernel files (predict_kernels.c) reads
 * whole n × n kernels into one process and its dynamics (--loss xent,
 * --momentum, --fx0-*) are solved there; ntkc-mpi computes the kernels into
 * their distributed layout instead. Its options are refused by name. */
static int refuse_kernel_files(int rank, int argc, char **argv)
{
    static const char *const only[] = {"--k-train", "--k-test", "--k-test-test", "--fx0-train", "--fx0-test",
                                       "--loss", "--momentum", "--learning-rate", "--train-mean"};
    for (int i = 1; i < argc; i++)
        for (size_t k = 0; k < sizeof only / sizeof *only; k++) {
            size_t len = strlen(only[k]);
            if (strncmp(argv[i], only[k], len) == 0 && (argv[i][len] == '\0' || argv[i][len] == '=')) {
                if (rank == 0)
                    fprintf(stderr, "ntkc predict: %s belongs to the prediction from kernel files (ntkc predict "
                                    "--k-train ...), which ntkc-mpi does not offer: it computes the kernels "
                                    "itself, spread over the ranks; use ntkc predict --k-train on one machine\n",
                            only[k]);
                return 1;
            }
        }
    return 0;
}

int mpi_cmd_predict(MPI_Comm comm, int argc, char **argv)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    PredictArgs a = {0};
    const char *tile_arg = NULL;
    const OptSpec specs[] = {{"--train", 1, &a.train},     {"--targets", 1, &a.targets},
                             {"--test", 1, &a.test},       {"--time", 1, &a.time},
                             {"--kernel", 1, &a.kernel},   {"--reg", 1, &a.reg},
                             {"--reg-abs", 1, &a.reg_abs},
                             {"--mean", 1, &a.mean},       {"--cov", 1, &a.cov},
                             {"--test-targets", 1, &a.test_targets}, {"--net", 1, &a.net_name},
                             {"--backend", 1, &a.backend}, {"--threads", 1, &a.threads},
                             {"--tile", 1, &tile_arg},     {"--quiet", 0, &a.quiet},
                             {NULL, 0, NULL}};
    if (refuse_kernel_files(rank, argc, argv))
        return 1;
    Args args;
    int quiet = mpi_quiet_begin(comm);
    int bad = args_parse("predict", argc, argv, specs, &args) != 0;
    mpi_quiet_end(quiet);
    if (bad)
        return 1;
    if (args.help) {
        if (rank == 0)
            fputs(help, stdout);
        return 0;
    }
    const char *missing = args.npositional != 1 ? "NET.ntk"
                          : !a.train            ? "--train X.npy"
                          : !a.test             ? "--test Xt.npy"
                          : !a.mean             ? "--mean M.npy"
                                                : NULL;
    if (missing) {
        if (rank == 0)
            fprintf(stderr, "%s\nntkc predict: missing %s\n", help, missing);
        return 1;
    }
    quiet = mpi_quiet_begin(comm);
    long tile = tile_arg ? args_positive("predict", "--tile", tile_arg) : 0;
    mpi_quiet_end(quiet);
    if (tile < 0 || tile > 1 << 16)
        return 1;
    ntkc_error err = {0};
    int rc = run(comm, args.positional[0], &a, tile, &err);
    return rc == 0 ? 0 : mpi_report(comm, &err);
}
