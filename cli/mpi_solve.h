/* ntkc-mpi predict's solves on the process grid: the regularised training
 * kernel's pdsyevd for the finite times and pdpotrf for t = ∞, the means
 * (gathered on rank 0) and, with --cov, the covariances (mpi_cov.c, written
 * by every rank). Every function is collective over the grid. */
#ifndef NTKC_CLI_MPI_SOLVE_H
#define NTKC_CLI_MPI_SOLVE_H

#include "mpi_dist.h"
#include "mpi_out.h"

typedef struct Problem {
    MPI_Comm comm;
    Grid g;
    Dist gtt, gst, y; /* training kernel (upper triangle), test × train, targets */
    Dist ktt, kst;    /* --cov with the NTK: the NNGP train-train and test × train */
    Dist kss;         /* --cov: the test × test NNGP (upper triangle) */
    size_t n, m, k;
    double norm; /* n·k */
    int ntk;
    const char *name;
    MpiOut *cov; /* NULL without --cov */
    const double *times;
    size_t ntimes;
    /* --train-mean: the flow on the training points, V·diag(1 − e^{−λτ})·Vᵀ·y
     * at each finite time (ntimes × n × k on rank 0; infinite times' slots
     * untouched: the caller puts y there), y being p->y */
    int want_train;
    double *train;
} Problem;

/* G_r = G_tt + shift·I: shift = reg·(tr G_tt / n), or reg itself when
 * absolute. Returns the shift. */
double mpi_regularise(Problem *p, double reg, int absolute);

/* --precision single: refuses, as ntkc predict does (predict_float32_verdict),
 * a G_r whose condition number makes float32 kernels inaccurate; factorises
 * a copy of it (pdpotrf, pdpocon). regularised: the shift was nonzero. */
int mpi_check_float32(Problem *p, int regularised, ntkc_error *err);

/* The means of every time into mean (ntimes × m × k, valid on rank 0) and,
 * with p->cov, the covariances into p->cov. 0 or the agreed error. */
int mpi_solve(Problem *p, double *mean, ntkc_error *err);

void problem_free(Problem *p);

#endif
