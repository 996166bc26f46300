/* The evaluation engine: drives a compiled kernel's prep and tile functions
 * over the whole output, with BLAS for the input Gram matrix and all cores
 * for the recursion. Scratch memory is O(n·prep_size), independent of the
 * output: each tile's Gram block is computed straight into the output and
 * transformed in place. Results are bit-identical whatever the thread count.
 * While it runs, OpenBLAS is set to one thread (restored after): the engine's
 * OpenMP threads call it in parallel, one tile each.
 *
 * The progress callback runs on the calling thread between two of its tiles,
 * while other threads may still be writing theirs. */
#ifndef NTKC_ENGINE_H
#define NTKC_ENGINE_H

#include <stddef.h>

#include "diag.h"
#include "ntkc.h"

typedef struct KernelFns {
    size_t (*prep_size)(void);
    void (*prep)(size_t n, const double *x, size_t dim, double *prep);
    int (*uses_gram)(void);
    size_t (*tile)(size_t rows, size_t cols, const double *x1, const double *prep1, const double *x2,
                   const double *prep2, size_t dim, const double *gram, size_t ldg, double *nngp, double *ntk,
                   size_t ldo);
    /* optional (NULL): the upper triangle of x against itself (emit.h) */
    size_t (*tri)(size_t n, const double *x, const double *prep, size_t dim, double *nngp, double *ntk, size_t ldo);
} KernelFns;

/* x2 == NULL: symmetric (x2 = x1, n2 = n1), one triangle computed and mirrored. */
int engine_kernel(const KernelFns *k, size_t n1, const double *x1, size_t n2, const double *x2, size_t dim,
                  double *nngp, double *ntk, const ntkc_eval_options *opts, ntkc_error *err);

#endif
