/* Matrices in ScaLAPACK's 2-D block-cyclic layout over a BLACS process grid,
 * for ntkc-mpi predict: the grid, this process's part of a matrix, where a
 * global entry lives, and the few distributed products and copies the
 * prediction needs. Global indices from 0; local parts column-major. */
#ifndef NTKC_CLI_MPI_DIST_H
#define NTKC_CLI_MPI_DIST_H

#include <mpi.h>
#include <stddef.h>

#include "ntkc_tool.h"
#include "mpi_out.h"
#include "ntkc.h"

/* pr × pc processes of comm (row-major), this one at (row, col); blocks
 * nb × nb. */
typedef struct Grid {
    MPI_Comm comm;
    int ctxt, pr, pc, row, col, nb;
} Grid;

/* A rows × cols matrix: this process's lr × lc part (leading dimension
 * max(lr, 1)) and its ScaLAPACK descriptor. */
typedef struct Dist {
    int rows, cols, lr, lc, desc[9];
    double *a;
} Dist;

/* A grid of comm's processes (all of MPI_COMM_WORLD: BLACS's default
 * context), as square as their number allows. 0, or -1 when BLACS gave
 * another shape. */
int grid_open(MPI_Comm comm, int nb, Grid *g);

/* Zeroed storage for this process's part of a rows × cols matrix. Local:
 * agree on the outcome (mpi_agree over g->comm) before a collective step. */
int dist_init(const Grid *g, size_t rows, size_t cols, Dist *d, ntkc_error *err);
void dist_free(Dist *d);
size_t dist_lld(const Dist *d);
/* Whether this process holds global (i, j), and its address there. */
int dist_owns(const Grid *g, size_t i, size_t j);
double *dist_at(const Grid *g, const Dist *d, size_t i, size_t j);
/* The global row of local row li, the global column of local column lj. */
size_t dist_row(const Grid *g, size_t li);
size_t dist_col(const Grid *g, size_t lj);
/* A copy of d with the same layout. */
int dist_copy(const Grid *g, const Dist *d, Dist *copy, ntkc_error *err);

/* c = alpha·op(a)·op(b) + beta·c (pdgemm; ta, tb "N" or "T"). */
void dist_gemm(const char *ta, const char *tb, double alpha, const Dist *a, const Dist *b, double beta, Dist *c);
/* c = beta·c + alpha·aᵀ (pdtran). */
void dist_tran(double alpha, const Dist *a, double beta, Dist *c);

/* Row-major a (rows × cols, on every rank) into d. */
void dist_scatter(const Grid *g, const double *a, Dist *d);
/* d into the row-major out (rows × cols) on rank 0; collective. */
int dist_gather(MPI_Comm comm, const Grid *g, const Dist *d, double *out, ntkc_error *err);
/* d whole into out (rows × cols row-major, rank 0 only; other ranks pass
 * NULL), part by part: no rank but 0 holds more than its own part. Collective
 * over g->comm. 0, or (rank 0) the error; the caller agrees on it. */
int dist_gather_root(const Grid *g, const Dist *d, double *out, ntkc_error *err);
/* The reverse: a (rows × cols row-major, on rank 0 only) into d's parts. */
int dist_scatter_root(const Grid *g, const double *a, Dist *d, ntkc_error *err);
/* The layout of a square d for mpi_out_write_cyclic. */
MpiCyclic dist_cyclic(const Grid *g, const Dist *d);

#endif
