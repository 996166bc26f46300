/* The graph kernel engine: runs a graph net's plan (compiler/abi/kernel_abi.h)
 * over every pair of graphs of two sets, with the generated segment
 * functions for the elementwise steps, sparse or BLAS aggregation, per-graph
 * variances computed once, and all cores over the pairs. */
#ifndef NTKC_GRAPH_KERNEL_H
#define NTKC_GRAPH_KERNEL_H

#include <stddef.h>

#include "ntkc_err.h"
#include "graph_data.h"
#include "kernel_abi.h"
#include "ntkc.h"


/* How aggregation multiplies: by the graph's density (the default), or
 * always sparse / always through BLAS gemm (for tests). */
typedef enum GraphAggMode { GRAPH_AGG_AUTO, GRAPH_AGG_SPARSE, GRAPH_AGG_DENSE } GraphAggMode;

/* The kernel of fns between g1 and g2 (g2 may be g1: the pairs are still
 * two graphs each, none with itself) in which g1's per-node variances come
 * from fns1's run of each graph with itself: the mixed kernel of an
 * eval-mode twin (fns1) and a net with dropout (engine.h,
 * engine_kernel_rows_by). Float64 nets. */
int graph_kernel_rows_by(const NtkcGraphFns *fns, const NtkcGraphFns *fns1, const ntkc_graphs *g1,
                         const ntkc_graphs *g2, double *nngp, double *ntk, const ntkc_eval_options *opts,
                         ntkc_error *err);

/* nngp and ntk (either may be NULL): g1->count × g2->count row-major.
 * g2 == NULL: g2 = g1, one triangle computed and mirrored. */
int graph_kernel(const NtkcGraphFns *fns, const ntkc_graphs *g1, const ntkc_graphs *g2, double *nngp, double *ntk,
                 const ntkc_eval_options *opts, GraphAggMode mode, ntkc_error *err);
/* The same for a net compiled for single precision (fns are the float32
 * segments, kernel_abi.h): float32 node-pair arithmetic, float outputs. */
int graph_kernel_f32(const NtkcGraphFns *fns, const ntkc_graphs *g1, const ntkc_graphs *g2, float *nngp, float *ntk,
                     const ntkc_eval_options *opts, GraphAggMode mode, ntkc_error *err);

/* The same kernel one block at a time, for drivers that spread blocks over
 * processes (ntkc-mpi): open runs every graph's own pass once (g2 == NULL:
 * g2 = g1); run computes pairs (i0 + i, j0 + j), i < r, j < c (j ≥ i when
 * upper) into nngp/ntk[i·ld + j] (either may be NULL), each pair the bits
 * graph_kernel gives it. Blocks may run on different threads at once. */
typedef struct GraphTiles GraphTiles;
int graph_tiles_open(const NtkcGraphFns *fns, int single, const ntkc_graphs *g1, const ntkc_graphs *g2, int threads,
                     GraphTiles **out, ntkc_error *err);
/* The blocks of graph_kernel_rows_by (g1's variances from fns1), each pair
 * with the bits that call gives it. Float64 nets. */
int graph_tiles_open_rows_by(const NtkcGraphFns *fns, const NtkcGraphFns *fns1, const ntkc_graphs *g1,
                             const ntkc_graphs *g2, int threads, GraphTiles **out, ntkc_error *err);
int graph_tiles_run(const GraphTiles *G, size_t i0, size_t r, size_t j0, size_t c, int upper, double *nngp,
                    double *ntk, size_t ld, ntkc_error *err);
/* single (float32 segments): float blocks, each pair graph_kernel_f32's bits. */
int graph_tiles_run_f32(const GraphTiles *G, size_t i0, size_t r, size_t j0, size_t c, int upper, float *nngp,
                        float *ntk, size_t ld, ntkc_error *err);
void graph_tiles_close(GraphTiles *G); /* NULL is a no-op */

#endif
