/* A compiled net's kernel one output tile at a time, for drivers that spread
 * the tiles of one output over processes (cli/mpi_*.c). The tiling and every
 * tile's bits are those of ntkc_kernel / ntkc_kernel_graphs, so the pieces
 * put together equal the single-process output bit for bit. */
#ifndef NTKC_TILES_H
#define NTKC_TILES_H

#include <stddef.h>

#include "ntkc.h"

typedef struct ntkc_tiles ntkc_tiles;
typedef struct ntkc_tile {
    size_t i0, r, j0, c; /* rows [i0, i0+r) × columns [j0, j0+c) of the output */
    int diagonal;        /* on the diagonal of a symmetric output (x2 = x1) */
} ntkc_tile;

/* Vectors or images: x2 == NULL means x2 = x1 (only tiles on and above the
 * diagonal; their mirror images are the caller's to place). edge 0 chooses
 * the engine's default edge for a machine of edge_threads threads; threads
 * computes the per-input records. NULL with err set. */
ntkc_tiles *ntkc_tiles_matrix(const ntkc_net *net, size_t n1, const double *x1, size_t n2, const double *x2,
                              size_t dim, size_t edge, int threads, int edge_threads, ntkc_error *err);
/* Graph nets: g2 == NULL means g2 = g1; edge 0 = 32 graphs. */
ntkc_tiles *ntkc_tiles_graphs(const ntkc_net *net, const ntkc_graphs *g1, const ntkc_graphs *g2, size_t edge,
                              int threads, ntkc_error *err);
size_t ntkc_tiles_count(const ntkc_tiles *t);
ntkc_tile ntkc_tiles_at(const ntkc_tiles *t, size_t index);
/* Tile `index` into nngp/ntk (either may be NULL): r×c row-major, leading
 * dimension c, a diagonal tile's lower half mirrored. Thread-safe across
 * distinct tiles. A non-finite entry is an error naming it. */
int ntkc_tiles_run(const ntkc_tiles *t, size_t index, double *nngp, double *ntk, ntkc_error *err);
void ntkc_tiles_free(ntkc_tiles *t); /* NULL is a no-op */

#endif
