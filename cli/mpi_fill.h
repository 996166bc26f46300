/* The kernels of ntkc-mpi predict, into the process grid's block-cyclic
 * matrices of a Problem (mpi_solve.h): computed by the net's tiles, each
 * block by the process that owns it, in the precision the net was compiled
 * for (float32 tiles widened to float64 for the solve, as ntkc predict
 * widens them). Kernel files: mpi_kfiles.h. */
#ifndef NTKC_CLI_MPI_FILL_H
#define NTKC_CLI_MPI_FILL_H

#include "mpi_solve.h"
#include "ntkc_tool.h"
#include "predict_data.h"

/* The kernel that drives training (p->ntk: NTK, else NNGP) into p->gtt (the
 * blocks on and above the diagonal) and p->gst and, for cov, the NNGP ones
 * the covariance needs besides (p->ktt, p->kst for the NTK; p->kss).
 * dropout_fresh (a net with dropout): the kernels of nets trained with fresh
 * masks, as ntkc_predict computes them — the whole training block between
 * two mask draws, the mixed test × train kernel, the test kernel without
 * dropout. Sets p->norm. Collective; 0 or the agreed error. */
int mpi_fill_from_net(const ntkc_net *net, const PredictData *d, int cov, int dropout_fresh, int threads, Problem *p,
                      ntkc_error *err);

#endif
