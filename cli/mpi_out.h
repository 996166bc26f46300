/* A float64 .npy output written by every rank at once through MPI-IO: rank 0
 * creates a temp file beside the target and writes the header; each rank
 * writes its tiles straight to their place in the file; mpi_out_finish
 * renames it into place (rank 0) only when every rank succeeded, and removes
 * it otherwise. Nothing appears at the target, and a file there is
 * untouched, unless every rank's work and writes succeeded. */
#ifndef NTKC_CLI_MPI_OUT_H
#define NTKC_CLI_MPI_OUT_H

#include <mpi.h>
#include <stddef.h>

#include "ntkc.h"

typedef struct MpiOut MpiOut;

/* Collective; NULL path gives NULL and 0. Returns 0 or the agreed error. */
int mpi_out_create(MPI_Comm comm, const char *path, size_t n1, size_t n2, MpiOut **out, ntkc_error *err);
/* Independent: block rows [i0, i0+r) × [j0, j0+c) from buf (leading
 * dimension ld). Not thread-safe. Returns 0, or -1 with the failure kept
 * for mpi_out_finish and err set. */
int mpi_out_write(MpiOut *o, size_t i0, size_t r, size_t j0, size_t c, const double *buf, size_t ld,
                  ntkc_error *err);
/* Bytes this rank has written into the file. */
double mpi_out_bytes(const MpiOut *o);
/* How many MPI-IO write calls this rank has made for it. */
double mpi_out_calls(const MpiOut *o);
/* Collective: closes every output of outs (NULLs skipped), agrees on rc
 * (this rank's outcome so far) and renames them into place or removes them.
 * Frees them. Returns 0 or the agreed error. */
int mpi_out_finish(MPI_Comm comm, MpiOut **outs, int n, int rc, ntkc_error *err);

#endif
