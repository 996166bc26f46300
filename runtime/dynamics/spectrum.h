/* The top eigenpairs of a symmetric matrix for ntkc_spectrum. */
#ifndef NTKC_SPECTRUM_H
#define NTKC_SPECTRUM_H

#include <stddef.h>

#include "diag.h"

/* The K largest (algebraic) eigenvalues of the symmetric n×n row-major g,
 * K < n, by ARPACK's implicitly restarted Lanczos (dsaupd/dseupd, tolerance
 * machine precision): vals (K, largest first) and vecs (n×K row-major,
 * column i the unit eigenvector of vals[i]). Returns 0 or the error code. */
int spectrum_arpack_top(size_t n, const double *g, size_t K, double *vals, double *vecs, ntkc_error *err);

#endif
