/* ntkc-mpi predict: `ntkc predict` with the kernels and the solve spread over
 * the ranks, for training sets whose kernel does not fit one machine.
 *
 * The ranks form a BLACS process grid (as square as P allows). The training
 * kernel is computed straight into ScaLAPACK's 2-D block-cyclic layout: the
 * engine's tiles are given the block size as their edge, so each tile is one
 * block and the process that owns a block computes it (runtime/api/ntkc_tiles.h;
 * only blocks on and above the diagonal: the solvers read the upper
 * triangle). The test × train kernel is laid out the same way. Then, as
 * runtime/predict/predict.c does on one process: t = ∞ by pdpotrf/pdpotrs (with
 * pdpocon's condition estimate refusing a singular kernel), finite times by
 * one pdsyevd, and the means by pdgemm. The means (m × k per time) are
 * gathered on rank 0, which writes the file. Same options and answers (to
 * rounding) as ntkc predict; --cov is not supported yet.
 *
 * Inputs and targets are read by every rank, as ntkc-mpi kernel does (see
 * there why). */
#include <float.h>
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
#include "mpi_scalapack.h"
#include "mpi_util.h"
#include "npy.h"
#include "ntkc_tiles.h"
#include "predict.h"
#include "predict_data.h"
#include "predict_request.h"

enum { DEFAULT_BLOCK = 64 };

static const char help[] =
    "usage: mpirun -np P ntkc-mpi predict NET.ntk --train X.npy --targets Y.npy --test Xt.npy --mean M.npy\n"
    "                    [--time T[,T...]] [--kernel ntk|nngp] [--reg R] [--test-targets Yt.npy]\n"
    "                    [--net NAME] [--backend tcc|cc] [--threads N] [--tile B] [--quiet]\n"
    "\n"
    "ntkc predict over MPI: the training and test × train kernels are computed\n"
    "straight into ScaLAPACK's block-cyclic layout (blocks of B × B, default 64)\n"
    "over a grid of the P ranks, and solved there (pdpotrf/pdpotrs for t = inf,\n"
    "pdsyevd for finite times). Options and results as ntkc predict (see\n"
    "ntkc predict --help), to rounding; --cov is not supported yet.\n";

typedef struct Grid {
    int ctxt, pr, pc, row, col, nb;
} Grid;

/* A block-cyclic matrix: this process's part, column-major. */
typedef struct Dist {
    int rows, cols, lr, lc, desc[9];
    double *a;
} Dist;

static const int ONE = 1, ZERO = 0;

static int grid_open(int size, int nb, Grid *g)
{
    int rank, nprocs;
    Cblacs_pinfo(&rank, &nprocs);
    g->pr = 1;
    for (int r = 1; r * r <= size; r++)
        if (size % r == 0)
            g->pr = r;
    g->pc = size / g->pr;
    g->nb = nb;
    Cblacs_get(-1, 0, &g->ctxt);
    Cblacs_gridinit(&g->ctxt, "Row", g->pr, g->pc);
    int pr, pc;
    Cblacs_gridinfo(g->ctxt, &pr, &pc, &g->row, &g->col);
    return pr == g->pr && pc == g->pc ? 0 : -1;
}

static int dist_init(const Grid *g, size_t rows, size_t cols, Dist *d, ntkc_error *err)
{
    d->rows = (int)rows, d->cols = (int)cols;
    d->lr = numroc_(&d->rows, &g->nb, &g->row, &ZERO, &g->pr);
    d->lc = numroc_(&d->cols, &g->nb, &g->col, &ZERO, &g->pc);
    int lld = d->lr > 1 ? d->lr : 1, info;
    descinit_(d->desc, &d->rows, &d->cols, &g->nb, &g->nb, &ZERO, &ZERO, &g->ctxt, &lld, &info);
    d->a = calloc((size_t)lld * (size_t)(d->lc > 1 ? d->lc : 1), sizeof *d->a);
    if (info != 0)
        diag_internal(err, "descinit failed (info %d)", info);
    else if (d->a == NULL)
        diag_user(err, "prediction: out of memory for this rank's part of a %zu×%zu matrix", rows, cols);
    return err->code;
}

static void dist_free(Dist *d) { free(d->a), d->a = NULL; }

static int owns(const Grid *g, size_t i, size_t j)
{
    return (int)(i / (size_t)g->nb % (size_t)g->pr) == g->row && (int)(j / (size_t)g->nb % (size_t)g->pc) == g->col;
}

/* Local address of global (i, j), which this process owns. */
static double *at(const Grid *g, const Dist *d, size_t i, size_t j)
{
    size_t nb = (size_t)g->nb;
    size_t li = i / nb / (size_t)g->pr * nb + i % nb, lj = j / nb / (size_t)g->pc * nb + j % nb;
    return d->a + li + lj * (size_t)(d->lr > 1 ? d->lr : 1);
}

/* Global row of local row li. */
static size_t global_row(const Grid *g, size_t li)
{
    size_t nb = (size_t)g->nb;
    return (li / nb * (size_t)g->pr + (size_t)g->row) * nb + li % nb;
}

/* Computes the tiles (one block each) this process owns into d, in parallel. */
static int fill_kernel(const Grid *g, const ntkc_tiles *tiles, int ntk, int threads, Dist *d, ntkc_error *err)
{
    size_t count = ntkc_tiles_count(tiles), mine = 0;
    size_t *list = malloc((count ? count : 1) * sizeof *list);
    if (list == NULL) {
        diag_internal(err, "out of memory");
        return err->code;
    }
    for (size_t t = 0; t < count; t++) {
        ntkc_tile T = ntkc_tiles_at(tiles, t);
        if (owns(g, T.i0, T.j0))
            list[mine++] = t;
    }
    int rc = 0;
    size_t cap = (size_t)g->nb * (size_t)g->nb;
#pragma omp parallel num_threads(threads)
    {
        double *buf = malloc(cap * sizeof *buf);
        ntkc_error e = {0};
        if (buf == NULL) {
            diag_internal(&e, "out of memory for a block of %zu entries", cap);
#pragma omp critical(ntkc_mpi_predict)
            if (rc == 0)
                rc = e.code, *err = e;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < mine; q++) {
            if (buf == NULL)
                continue;
            ntkc_tile T = ntkc_tiles_at(tiles, list[q]);
            if (ntkc_tiles_run(tiles, list[q], ntk ? NULL : buf, ntk ? buf : NULL, &e) != 0) {
#pragma omp critical(ntkc_mpi_predict)
                if (rc == 0)
                    rc = e.code, *err = e;
                continue;
            }
            for (size_t i = 0; i < T.r; i++)
                for (size_t j = 0; j < T.c; j++)
                    *at(g, d, T.i0 + i, T.j0 + j) = buf[i * T.c + j];
        }
        free(buf);
    }
    free(list);
    return rc;
}

/* Row-major global a (rows × cols, every rank has it) into d. */
static void scatter_rows(const Grid *g, const double *a, Dist *d)
{
    for (size_t i = 0; i < (size_t)d->rows; i++)
        for (size_t j = 0; j < (size_t)d->cols; j++)
            if (owns(g, i, j))
                *at(g, d, i, j) = a[i * (size_t)d->cols + j];
}

/* d (m × k) into the row-major out on rank 0 (every entry has one owner). */
static int gather_rows(MPI_Comm comm, const Grid *g, const Dist *d, double *out, ntkc_error *err)
{
    size_t count = (size_t)d->rows * (size_t)d->cols;
    double *mine = calloc(count ? count : 1, sizeof *mine);
    if (mine == NULL) {
        diag_internal(err, "out of memory");
        return err->code;
    }
    for (size_t i = 0; i < (size_t)d->rows; i++)
        for (size_t j = 0; j < (size_t)d->cols; j++)
            if (owns(g, i, j))
                mine[i * (size_t)d->cols + j] = *at(g, d, i, j);
    MPI_Reduce(mine, out, (int)count, MPI_DOUBLE, MPI_SUM, 0, comm);
    free(mine);
    return 0;
}

/* c = a·b (or aᵀ·b), all distributed. */
static void gemm(const char *ta, const Dist *a, const Dist *b, Dist *c)
{
    const double one = 1.0, zero = 0.0;
    int m = c->rows, n = c->cols, k = *ta == 'T' ? a->rows : a->cols;
    pdgemm_(ta, "N", &m, &n, &k, &one, a->a, &ONE, &ONE, a->desc, b->a, &ONE, &ONE, b->desc, &zero, c->a, &ONE, &ONE,
            c->desc);
}

typedef struct Problem {
    MPI_Comm comm;
    Grid g;
    Dist gtt, gst, y; /* training kernel (upper triangle), test × train, targets */
    size_t n, m, k;
    double norm; /* n·k */
    const char *name;
} Problem;

/* One pdsyevd for every finite time; mean slots of infinite times untouched. */
static int solve_finite(Problem *p, const Dist *gtt, const double *times, size_t ntimes, double *mean,
                        ntkc_error *err)
{
    Dist z = {0}, pz = {0}, c = {0}, s = {0}, mt = {0};
    double *w = malloc(p->n * sizeof *w), *work = NULL, query;
    int *iwork = NULL, n = (int)p->n, info = 0, lwork = -1, liwork = 1, iquery;
    if (w == NULL)
        diag_internal(err, "out of memory");
    if (!err->code && dist_init(&p->g, p->n, p->n, &z, err) == 0) {
        pdsyevd_("V", "U", &n, gtt->a, &ONE, &ONE, gtt->desc, w, z.a, &ONE, &ONE, z.desc, &query, &lwork, &iquery,
                 &liwork, &info);
        /* pdsyevd's query undercounts what its pdormtr needs on some grids (a
         * 1 × 3 grid with 19 points and blocks of 8 failed with "PDORMTR
         * parameter 16", and pdsyevd carried on): add a block column per
         * local row and column. */
        double extra = 2.0 * (double)(z.lr + z.lc + p->g.nb) * p->g.nb + (double)p->n;
        if (query + extra > INT_MAX)
            diag_user(err, "finite-time prediction with %zu training points exceeds ScaLAPACK's 32-bit workspace "
                           "on %d x %d ranks; use more ranks or ask for t = inf", p->n, p->g.pr, p->g.pc);
        lwork = (int)(query + extra), liwork = iquery > 1 ? iquery : 1;
        work = err->code ? NULL : malloc((size_t)lwork * sizeof *work), iwork = malloc((size_t)liwork * sizeof *iwork);
        if (!err->code && (work == NULL || iwork == NULL))
            diag_user(err, "prediction: out of memory in the eigendecomposition of %zu training points", p->n);
    }
    if (!err->code) {
        pdsyevd_("V", "U", &n, gtt->a, &ONE, &ONE, gtt->desc, w, z.a, &ONE, &ONE, z.desc, work, &lwork, iwork,
                 &liwork, &info);
        if (info != 0)
            diag_internal(err, "eigendecomposition of the train-train %s failed (pdsyevd info %d)", p->name, info);
    }
    free(work), free(iwork);
    if (!err->code && dist_init(&p->g, p->m, p->n, &pz, err) == 0 && dist_init(&p->g, p->n, p->k, &c, err) == 0 &&
        dist_init(&p->g, p->n, p->k, &s, err) == 0 && dist_init(&p->g, p->m, p->k, &mt, err) == 0) {
        gemm("N", &p->gst, &z, &pz); /* G_st·V */
        gemm("T", &z, &p->y, &c);    /* Vᵀ·y */
        for (size_t t = 0; t < ntimes && !err->code; t++) {
            if (isinf(times[t]))
                continue;
            double tau = times[t] / p->norm;
            size_t lld = (size_t)(c.lr > 1 ? c.lr : 1);
            for (size_t li = 0; li < (size_t)c.lr; li++) {
                double lambda = w[global_row(&p->g, li)];
                double a = lambda > 0 ? -expm1(-lambda * tau) / lambda : 0.0; /* as predict.c */
                for (size_t lj = 0; lj < (size_t)c.lc; lj++)
                    s.a[li + lj * lld] = a * c.a[li + lj * lld];
            }
            gemm("N", &pz, &s, &mt);
            gather_rows(p->comm, &p->g, &mt, mean + t * p->m * p->k, err);
        }
    }
    free(w);
    dist_free(&z), dist_free(&pz), dist_free(&c), dist_free(&s), dist_free(&mt);
    return err->code;
}

/* Cholesky of the training kernel (refused when not numerically positive
 * definite, as predict.c refuses it), then the mean at t = ∞. */
static int solve_infinite(Problem *p, Dist *gtt, double *mean, ntkc_error *err)
{
    int n = (int)p->n, k = (int)p->k, info = 0;
    size_t lwork_norm = 3 * (size_t)(gtt->lr + gtt->lc) + 4 * (size_t)p->g.nb + 16;
    double *work = malloc(lwork_norm * sizeof *work), rcond = 0;
    if (work == NULL) {
        diag_internal(err, "out of memory");
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
            diag_internal(err, "out of memory");
        else
            pdpocon_("U", &n, gtt->a, &ONE, &ONE, gtt->desc, &anorm, &rcond, w, &lwork, iw, &liwork, &info);
        free(w), free(iw);
        if (err->code)
            return err->code;
    }
    if (info < 0) {
        diag_internal(err, "Cholesky factorisation of the train-train %s failed (info %d)", p->name, info);
        return err->code;
    }
    if (info > 0 || rcond < DBL_EPSILON) {
        diag_user(err, "the train-train %s is singular (not positive definite%s), so the t = inf prediction "
                       "is undefined; regularise it, e.g. --reg 1e-6 (relative to its mean diagonal), or "
                       "ask for finite times",
                  p->name, info > 0 ? "" : ": reciprocal condition number below machine epsilon");
        return err->code;
    }
    Dist x = {0}, mt = {0};
    if (dist_init(&p->g, p->n, p->k, &x, err) == 0 && dist_init(&p->g, p->m, p->k, &mt, err) == 0) {
        memcpy(x.a, p->y.a, (size_t)(x.lr > 1 ? x.lr : 1) * (size_t)(x.lc > 1 ? x.lc : 1) * sizeof *x.a);
        pdpotrs_("U", &n, &k, gtt->a, &ONE, &ONE, gtt->desc, x.a, &ONE, &ONE, x.desc, &info);
        if (info != 0)
            diag_internal(err, "Cholesky solve with the train-train %s failed (info %d)", p->name, info);
        else {
            gemm("N", &p->gst, &x, &mt);
            gather_rows(p->comm, &p->g, &mt, mean, err);
        }
    }
    dist_free(&x), dist_free(&mt);
    return err->code;
}

/* The kernels into p (the one that drives training: NTK or NNGP). */
static int compute_kernels(MPI_Comm comm, const ntkc_net *net, const PredictData *d, int ntk, int threads, Problem *p,
                           ntkc_error *err)
{
    size_t nb = (size_t)p->g.nb;
    ntkc_tiles *tt = d->g ? ntkc_tiles_graphs(net, d->g, NULL, nb, threads, err)
                          : ntkc_tiles_matrix(net, d->n, d->x.data, d->n, NULL, d->dim, nb, threads, threads, err);
    ntkc_tiles *st = NULL;
    if (tt != NULL)
        st = d->g ? ntkc_tiles_graphs(net, d->gt, d->g, nb, threads, err)
                  : ntkc_tiles_matrix(net, d->m, d->xt.data, d->n, d->x.data, d->dim, nb, threads, threads, err);
    int rc = st ? 0 : err->code;
    if (rc == 0)
        rc = dist_init(&p->g, p->n, p->n, &p->gtt, err);
    if (rc == 0)
        rc = dist_init(&p->g, p->m, p->n, &p->gst, err);
    if (rc == 0)
        rc = fill_kernel(&p->g, tt, ntk, threads, &p->gtt, err);
    if (rc == 0)
        rc = fill_kernel(&p->g, st, ntk, threads, &p->gst, err);
    ntkc_tiles_free(tt);
    ntkc_tiles_free(st);
    p->norm = (double)p->n * (double)p->k;
    return mpi_agree(comm, rc, err);
}

static void print_summary(const ntkc_net *net, const Request *r, const PredictData *d, const double *mean,
                          int ranks, const Grid *g, double kernel_s, double solve_s, double compile_s)
{
    size_t n = d->n, m = d->m, k = d->y.k;
    int finite = 0, infinite = 0;
    for (size_t t = 0; t < r->ntimes; t++)
        finite |= !isinf(r->times[t]), infinite |= isinf(r->times[t]);
    printf("%s: %s prediction, %zu train -> %zu test%s, %zu output%s%s%s%s, reg %g\n", ntkc_net_name(net),
           r->opts.kernel == NTKC_PREDICT_NTK ? "NTK" : "NNGP", n, m, d->g ? " graphs" : "", k, k == 1 ? "" : "s",
           d->y.labels ? " (one-hot classes" : "", d->labels_from ? " of the graph labels" : "",
           d->y.labels ? ")" : "", r->opts.reg);
    printf("  kernels %.3f s, solve %.3f s (%s%s%s), compile %.1f ms; %d ranks, grid %d x %d, blocks %d\n", kernel_s,
           solve_s, finite ? "pdsyevd" : "", finite && infinite ? " + " : "", infinite ? "pdpotrf" : "",
           1e3 * compile_s, ranks, g->pr, g->pc, g->nb);
    if (d->yt.y == NULL)
        return;
    targets_print_scores(&d->yt, mean, r->times, r->ntimes, m);
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
    Problem p = {.comm = comm, .n = d->n, .m = d->m, .k = d->y.k, .name = ntk ? "NTK" : "NNGP"};
    int rc = 0;
    if (d->n > INT_MAX / 2 || d->m > INT_MAX / 2 || d->y.k > INT_MAX / 2)
        diag_user(err, "prediction: %zu training points, %zu test points or %zu outputs exceed ScaLAPACK's limit",
                  d->n, d->m, d->y.k),
            rc = err->code;
    if (rc == 0 && grid_open(size, tile > 0 ? (int)tile : DEFAULT_BLOCK, &p.g) != 0)
        diag_internal(err, "BLACS could not make a %d x %d process grid", p.g.pr, p.g.pc), rc = err->code;
    if ((rc = mpi_agree(comm, rc, err)) != 0)
        return rc;
    double t0 = MPI_Wtime(), trace = 0;
    /* every rank agrees on each step before the next collective one */
    rc = mpi_agree(comm, dist_init(&p.g, p.n, p.k, &p.y, err), err);
    if (rc == 0) {
        scatter_rows(&p.g, d->y.y, &p.y);
        rc = compute_kernels(comm, net, d, ntk, threads, &p, err);
    }
    if (rc == 0) { /* G_r = G_tt + reg·(tr G_tt / n)·I */
        for (size_t i = 0; i < p.n; i++)
            if (owns(&p.g, i, i))
                trace += *at(&p.g, &p.gtt, i, i);
        double total;
        MPI_Allreduce(&trace, &total, 1, MPI_DOUBLE, MPI_SUM, comm);
        double shift = r->opts.reg * total / (double)p.n;
        for (size_t i = 0; i < p.n; i++)
            if (owns(&p.g, i, i))
                *at(&p.g, &p.gtt, i, i) += shift;
    }
    double t1 = MPI_Wtime();
    size_t one = r->ntimes == 1, mean_count = r->ntimes * p.m * p.k;
    double *mean = rc == 0 ? calloc(mean_count ? mean_count : 1, sizeof *mean) : NULL;
    if (rc == 0 && mean == NULL)
        diag_internal(err, "out of memory"), rc = err->code;
    rc = mpi_agree(comm, rc, err);
    size_t finite = 0, first_inf = r->ntimes;
    for (size_t t = 0; t < r->ntimes; t++) {
        finite += !isinf(r->times[t]);
        if (isinf(r->times[t]) && first_inf == r->ntimes)
            first_inf = t;
    }
    Dist copy = p.gtt; /* pdsyevd overwrites the kernel; t = ∞ needs it too */
    if (rc == 0 && finite > 0 && first_inf < r->ntimes && dist_init(&p.g, p.n, p.n, &copy, err) == 0)
        memcpy(copy.a, p.gtt.a, (size_t)(p.gtt.lr > 1 ? p.gtt.lr : 1) * (size_t)(p.gtt.lc > 1 ? p.gtt.lc : 1) *
                                    sizeof *copy.a);
    rc = mpi_agree(comm, err->code, err);
    if (rc == 0 && finite > 0)
        rc = mpi_agree(comm, solve_finite(&p, first_inf < r->ntimes ? &copy : &p.gtt, r->times, r->ntimes, mean, err),
                       err);
    if (rc == 0 && first_inf < r->ntimes) {
        rc = mpi_agree(comm, solve_infinite(&p, &p.gtt, mean + first_inf * p.m * p.k, err), err);
        for (size_t t = first_inf + 1; rc == 0 && t < r->ntimes; t++)
            if (isinf(r->times[t]))
                memcpy(mean + t * p.m * p.k, mean + first_inf * p.m * p.k, p.m * p.k * sizeof *mean);
    }
    if (copy.a != p.gtt.a)
        dist_free(&copy);
    double t2 = MPI_Wtime();
    if (rc == 0 && rank == 0) { /* the mean is on rank 0 only */
        for (size_t i = 0; i < mean_count && rc == 0; i++)
            if (!isfinite(mean[i]))
                diag_user(err, "the predicted mean overflowed (entry %zu is %g); rescale the kernels or targets", i,
                          mean[i]),
                    rc = err->code;
        size_t shape[3] = {r->ntimes, p.m, p.k};
        if (rc == 0)
            rc = npy_write_f64(a->mean, 3 - one, shape + one, mean, err);
        if (rc == 0 && !a->quiet)
            print_summary(net, r, d, mean, size, &p.g, t1 - t0, t2 - t1, compile_s);
    }
    rc = mpi_agree(comm, rc, err);
    free(mean);
    dist_free(&p.gtt), dist_free(&p.gst), dist_free(&p.y);
    Cblacs_gridexit(p.g.ctxt);
    return rc;
}

static int run(MPI_Comm comm, const char *net_path, const PredictArgs *a, long tile, ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    Request r;
    int rc = parse_request(a, &r) != 0;
    const char *inputs[] = {a->train, a->targets, a->test, a->test_targets};
    if (rc == 0 && check_output_not_input(a->mean, inputs, 4, err))
        rc = err->code;
    if (rc == 0 && a->cov)
        diag_user(err, "ntkc-mpi predict: --cov is not supported yet; use ntkc predict for the covariance"),
            rc = err->code;
    ntkc_net *net = NULL;
    double t0 = MPI_Wtime(), compile_s = 0;
    if (rc == 0) {
        ntkc_compile_options copts = {.net_name = a->net_name, .backend = r.backend};
        net = ntkc_compile_file(net_path, &copts, err);
        rc = net ? 0 : err->code;
        compile_s = MPI_Wtime() - t0;
    }
    PredictPaths paths = {a->train, a->targets, a->test, a->test_targets, a->quiet != NULL || rank != 0};
    PredictData d = {0};
    if (rc == 0)
        rc = predict_data_load(net, &paths, &d, err);
    if (rc == 0 && mpi_test_fail(comm, "input"))
        diag_file(err, a->train, "cannot read (NTKC_MPI_TEST_FAIL)"), rc = err->code;
    if (rc == 0 && rank == 0 && npy_check_output(a->mean, err) != 0)
        rc = err->code;
    rc = mpi_agree(comm, rc, err);
    if (rc == 0)
        rc = predict_all(comm, net, a, &r, &d, tile, compile_s, err);
    predict_data_free(&d);
    ntkc_net_free(net);
    free(r.times);
    return rc;
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
                             {"--mean", 1, &a.mean},       {"--cov", 1, &a.cov},
                             {"--test-targets", 1, &a.test_targets}, {"--net", 1, &a.net_name},
                             {"--backend", 1, &a.backend}, {"--threads", 1, &a.threads},
                             {"--tile", 1, &tile_arg},     {"--quiet", 0, &a.quiet},
                             {NULL, 0, NULL}};
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
