/* Kernel files for ntkc-mpi predict (--k-train Ktt.npy --k-test Kst.npy
 * [--k-test-test Kss.npy]), with ntkc predict's checks (shapes, finite
 * entries, symmetric square kernels) and messages. A file that ntkc and
 * numpy.save write (float32 or float64, native byte order, C order) is read
 * by every rank, each its own blocks of the grid (one collective MPI-IO read
 * through a darray view): no rank holds more than its part. Any other .npy
 * (integers, Fortran order, the other byte order, a pipe) is read whole by
 * rank 0, which converts it and sends each rank its blocks — after checking
 * that the whole files fit in its memory (MemAvailable), else refused by
 * name. */
#ifndef NTKC_CLI_MPI_KFILES_H
#define NTKC_CLI_MPI_KFILES_H

#include "mpi_dist.h"
#include "ntkc_tool.h"

typedef struct KPaths {
    const char *k_train, *k_test, *k_test_test; /* k_test_test NULL without --cov */
} KPaths;

/* The kernels' sizes from the files' headers: n (Ktt n × n), m (Kst m × n,
 * Kss m × m); shape errors as ntkc predict reports them. Collective; 0 or
 * the agreed error. */
int mpi_kfiles_sizes(MPI_Comm comm, const KPaths *kp, size_t *n, size_t *m, ntkc_error *err);

/* The files into gtt (n × n), gst (m × n) and, when kp->k_test_test, kss
 * (m × m), initialised here. Collective over g; 0 or the agreed error. */
int mpi_kfiles_read(const Grid *g, const KPaths *kp, size_t n, size_t m, Dist *gtt, Dist *gst, Dist *kss,
                    ntkc_error *err);

#endif
