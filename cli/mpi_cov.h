/* ntkc-mpi predict --cov: the test × test covariance of runtime/predict/predict.c
 * (formulas in runtime/predict/predict.h: neural-tangents'
 * gradient_descent_mse_ensemble) on block-cyclic matrices, with the same
 * factorisations as the mean: pdsyevd's eigenvectors for finite times,
 * pdpotrf's factor for t = ∞. Every call is collective over the grid.
 *
 * Kernels: G is the one that drives training (Θ for the NTK, K for the
 * NNGP); K are NNGP kernels. Symmetric inputs are read in their upper
 * triangle; the covariance comes out whole (both triangles). */
#ifndef NTKC_CLI_MPI_COV_H
#define NTKC_CLI_MPI_COV_H

#include "mpi_dist.h"

typedef struct CovKernels {
    int ntk;               /* G = Θ: the NTK covariance, which needs K_tt and K_st too */
    const Dist *gst;       /* m × n G_st */
    const Dist *ktt, *kst; /* n × n K_tt (unregularised), m × n K_st: NTK only */
    const Dist *kss;       /* m × m K_ss */
} CovKernels;

/* What finite times share, from V (pdsyevd's eigenvectors of G_r) and
 * P = G_st·V: for the NTK, S = K_st·V and Kv = Vᵀ·K_tt·V. */
typedef struct CovBasis {
    const Dist *p;
    Dist s, kv;
} CovBasis;

int cov_basis_init(const Grid *g, const CovKernels *k, const Dist *v, const Dist *p, CovBasis *b, ntkc_error *err);
void cov_basis_free(CovBasis *b);

/* cov (m × m, allocated by the caller) at τ = t/N, with lambda the
 * eigenvalues of G_r. */
int cov_finite(const Grid *g, const CovKernels *k, const CovBasis *b, const double *lambda, double tau, Dist *cov,
               ntkc_error *err);

/* cov at t = ∞, from u, the upper Cholesky factor of G_r (G_r = uᵀ·u). */
int cov_infinite(const Grid *g, const CovKernels *k, const Dist *u, Dist *cov, ntkc_error *err);

#endif
