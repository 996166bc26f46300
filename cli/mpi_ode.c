#include "mpi_ode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_util.h"

/* Rank 0: whether the gathered kernels and the integrator fit. The ODE holds
 * G_tt and G_st (n² + m·n doubles), and per output entry of train and test
 * the state, its velocity (momentum) and rk8pd's 13 stages plus the error
 * control's copies (about 20 vectors of (n + m)·k); the outputs ntimes·(n +
 * m)·k. */
static int check_fits(MPI_Comm comm, const Problem *p, const char *why, ntkc_error *err)
{
    double n = (double)p->n, m = (double)p->m, k = (double)p->k;
    double need = 8 * (n * n + m * n + (20 + (double)p->ntimes) * (n + m) * k);
    double have = mpi_memory_available();
    int refuse = (have >= 0 && need > have) || mpi_test_fail(comm, "gather");
    if (refuse)
        err_user(err, "%s integrates the training ODE on one rank, which needs the whole train-train and "
                      "test-train kernels there (%zu×%zu and %zu×%zu float64) and the integrator's state: "
                      "%.3g GB, but rank 0 has %.3g GB available (MemAvailable); use fewer training points, or "
                      "a node with more memory as rank 0",
                 why, p->n, p->n, p->m, p->n, need / 1e9, (have >= 0 ? have : 0) / 1e9);
    return err->code;
}

int mpi_ode(Problem *p, const double *y, const ntkc_predict_options *opts, double *mean, PredictOdeStats *stats,
            ntkc_error *err)
{
    int rank;
    MPI_Comm_rank(p->comm, &rank);
    const char *why = opts->momentum_on ? "--momentum" : "--loss xent";
    double *gtt = NULL, *gst = NULL;
    int rc = 0;
    if (rank == 0 && check_fits(p->comm, p, why, err) == 0) {
        gtt = malloc((p->n * p->n + 1) * sizeof *gtt), gst = malloc((p->m * p->n + 1) * sizeof *gst);
        if (gtt == NULL || gst == NULL)
            err_user(err, "%s: out of memory on rank 0 for the whole kernels (%zu×%zu and %zu×%zu)", why, p->n,
                     p->n, p->m, p->n);
    }
    rc = mpi_agree(p->comm, rank == 0 ? err->code : 0, err);
    if (rc == 0)
        rc = mpi_agree(p->comm, dist_gather_root(&p->g, &p->gtt, gtt, err), err);
    if (rc == 0)
        rc = mpi_agree(p->comm, dist_gather_root(&p->g, &p->gst, gst, err), err);
    if (rc == 0 && rank == 0) {
        for (size_t i = 0; i < p->n; i++) /* only blocks on and above the diagonal were computed */
            for (size_t j = 0; j < i; j++)
                gtt[i * p->n + j] = gtt[j * p->n + i];
        PredictInput in = {.n = p->n, .m = p->m, .k = p->k, .ntk_tt = gtt, .ntk_st = gst, .y = y};
        rc = predict_solve(&in, PREDICT_NTK, opts, p->times, p->ntimes, mean, NULL, stats, err);
    }
    free(gtt), free(gst);
    return mpi_agree(p->comm, rc, err);
}
