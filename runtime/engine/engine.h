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

#include "kernel_abi.h"
#include "ntkc_err.h"
#include "ntkc.h"


/* x2 == NULL: symmetric (x2 = x1, n2 = n1), one triangle computed and mirrored. */
int engine_kernel(const NtkcTileFns *k, size_t n1, const double *x1, size_t n2, const double *x2, size_t dim,
                  double *nngp, double *ntk, const ntkc_eval_options *opts, ntkc_error *err);
/* The same for a net emitted in single precision (kernel_abi.h): float32
 * records, Gram (sgemm/ssyrk of the inputs rounded to float) and outputs. */
int engine_kernel_f32(const NtkcTileFns *k, size_t n1, const double *x1, size_t n2, const double *x2, size_t dim,
                      float *nngp, float *ntk, const ntkc_eval_options *opts, ntkc_error *err);

/* The kernel of k between x1 and x2 (two arrays: no row of one is a row of
 * the other) in which x1's records come from k1's prep: the tile of k pairs
 * them with x2's, so an input of x1 enters as k1 sees it and one of x2 as k
 * does. k1 is the eval-mode twin of a net with dropout (ntkc_net_dropout_eval:
 * the same records, every dropout at rate 1): the kernel between inputs
 * without masks and inputs under their own masks. Float64 nets. */
int engine_kernel_rows_by(const NtkcTileFns *k, const NtkcTileFns *k1, size_t n1, const double *x1, size_t n2,
                          const double *x2, size_t dim, double *nngp, double *ntk, const ntkc_eval_options *opts,
                          ntkc_error *err);

/* The same tiles one at a time, for drivers that spread them over processes
 * (ntkc-mpi): open computes every input's record once; run computes tile t
 * into nngp/ntk (either may be NULL), each r×c row-major with leading
 * dimension c — the full tile, its lower half mirrored on the diagonal; the
 * caller places the mirror image of an off-diagonal tile of a symmetric
 * output. Each tile holds the bits engine_kernel gives it. Distinct tiles may
 * run on different threads at once. edge 0: the default edge for a machine
 * of edge_threads threads; OpenBLAS is single-threaded from open to close. */
typedef struct EngineTiles EngineTiles;
typedef struct EngineRect {
    size_t i0, r, j0, c;
    int diagonal; /* on the diagonal of a symmetric output */
} EngineRect;
/* single: k is a float32 kernel (kernel_abi.h), run by engine_tiles_run_f32
 * into float buffers, with the bits engine_kernel_f32 gives each tile. */
int engine_tiles_open(const NtkcTileFns *k, int single, size_t n1, const double *x1, size_t n2, const double *x2,
                      size_t dim, size_t edge, int threads, int edge_threads, EngineTiles **out, ntkc_error *err);
/* The tiles of engine_kernel_rows_by (x1's records from k1's prep), each
 * with the bits that call gives it. Float64 nets. */
int engine_tiles_open_rows_by(const NtkcTileFns *k, const NtkcTileFns *k1, size_t n1, const double *x1, size_t n2,
                              const double *x2, size_t dim, size_t edge, int threads, int edge_threads,
                              EngineTiles **out, ntkc_error *err);
size_t engine_tiles_count(const EngineTiles *e);
EngineRect engine_tiles_rect(const EngineTiles *e, size_t t);
int engine_tiles_run(const EngineTiles *e, size_t t, double *nngp, double *ntk, ntkc_error *err);
int engine_tiles_run_f32(const EngineTiles *e, size_t t, float *nngp, float *ntk, ntkc_error *err);
void engine_tiles_close(EngineTiles *e); /* NULL is a no-op */

#endif
