/* A float64 (or float32) .npy output written by every rank at once through MPI-IO: rank 0
 * creates a temp file beside the target and writes the header; each rank
 * writes its tiles straight to their place in the file, one MPI-IO call per
 * tile (a subarray file view), or its part of a block-cyclic matrix (one
 * collective call, a darray file view); mpi_out_finish puts the outputs in
 * place (rank 0) only when every rank succeeded, all of them or none, and
 * removes them otherwise. Nothing appears at a target, and a file there is
 * untouched, unless every rank's work and writes succeeded. */
#ifndef NTKC_CLI_MPI_OUT_H
#define NTKC_CLI_MPI_OUT_H

#include <mpi.h>
#include <stddef.h>

#include "ntkc.h"

typedef struct MpiOut MpiOut;

/* A square matrix in ScaLAPACK's 2-D block-cyclic layout: n × n in blocks of
 * nb × nb over a pr × pc process grid (row-major ranks), this process at
 * (row, col) holding lr × lc entries, column-major with leading dimension lr. */
typedef struct MpiCyclic {
    int n, nb, pr, pc, row, col, lr, lc;
} MpiCyclic;

/* Collective; NULL path gives NULL and 0. The .npy has ndim dimensions of
 * shape; the writes see it as rows (the product of all but the last
 * dimension) × the last dimension. Returns 0 or the agreed error. */
int mpi_out_create(MPI_Comm comm, const char *path, int ndim, const size_t *shape, MpiOut **out, ntkc_error *err);
/* The same for a float32 ('<f4') output (--precision single): the buffers
 * mpi_out_write takes are floats. */
int mpi_out_create_f32(MPI_Comm comm, const char *path, int ndim, const size_t *shape, MpiOut **out,
                       ntkc_error *err);
/* Independent: rows [i0, i0+r) × columns [j0, j0+c) from buf (doubles, or
 * floats for a float32 output; leading dimension ld), in one write call. Not thread-safe. Returns 0, or -1 with
 * the failure kept for mpi_out_finish and err set. */
int mpi_out_write(MpiOut *o, size_t i0, size_t r, size_t j0, size_t c, const void *buf, size_t ld,
                  ntkc_error *err);
/* Collective over the output's communicator: a symmetric matrix m (this
 * process's part in local) into rows [slot·n, slot·n + n) of the output (the
 * slot-th n × n matrix of a (T, n, n) array), in one write_all. Its symmetry
 * makes the column-major parts those of the row-major file. A rank whose
 * earlier write failed takes part with nothing. Returns 0 or -1 as
 * mpi_out_write. */
int mpi_out_write_cyclic(MpiOut *o, size_t slot, const MpiCyclic *m, const double *local, ntkc_error *err);
/* Bytes this rank has written into the file. */
double mpi_out_bytes(const MpiOut *o);
/* How many MPI-IO write calls this rank has made for it. */
double mpi_out_calls(const MpiOut *o);
/* Collective: closes every output of outs (NULLs skipped), agrees on rc
 * (this rank's outcome so far) and renames them into place or removes them.
 * Frees them. Returns 0 or the agreed error. */
int mpi_out_finish(MPI_Comm comm, MpiOut **outs, int n, int rc, ntkc_error *err);

#endif
