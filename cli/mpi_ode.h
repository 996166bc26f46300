/* ntkc-mpi predict's one prediction that is not distributed: the training
 * ODE (--loss xent, --momentum; runtime/predict/predict_ode.c) integrates
 * df/dt = −η·G·∇L(f) with GSL's adaptive Runge–Kutta, whose every step
 * multiplies the whole train-train and test-train kernels by the gradient.
 * Rather than a distributed product per right-hand side (hundreds to
 * thousands of pdgemm calls per time, each a latency-bound exchange) the
 * kernels are gathered on rank 0, which integrates there — when they fit in
 * its memory; otherwise the prediction is refused by name. */
#ifndef NTKC_CLI_MPI_ODE_H
#define NTKC_CLI_MPI_ODE_H

#include "mpi_solve.h"
#include "ntkc_tool.h"

/* Gathers G_tt (its upper triangle, mirrored) and G_st on rank 0 and runs
 * predict_solve there with opts (fx0, loss, momentum; opts->train_mean is
 * rank 0's buffer or NULL) and the targets y (n × k, rank 0's). mean
 * (ntimes × m × k) and stats are rank 0's. Collective; 0 or the agreed
 * error. */
int mpi_ode(Problem *p, const double *y, const ntkc_predict_options *opts, double *mean, PredictOdeStats *stats,
            ntkc_error *err);

#endif
