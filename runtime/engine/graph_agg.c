#include "graph_agg.h"
#include "ntkc_err.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Below this size, or sparser than a quarter full, CSR beats a dgemm call. */
enum { DENSE_MIN_NODES = 24 };

int agg_build(AggOp *op, const ntkc_graphs *g, size_t graph, int degree, int self_loops, GraphAggMode mode,
              int single, ntkc_error *err)
{
    memset(op, 0, sizeof *op);
    size_t first = g->first[graph], n = g->first[graph + 1] - first;
    size_t nnz = g->nbr_start[first + n] - g->nbr_start[first] + (self_loops ? n : 0);
    op->n = n;
    op->start = malloc((n + 1) * sizeof *op->start);
    op->col = malloc((nnz ? nnz : 1) * sizeof *op->col);
    if (degree)
        op->inv_deg = malloc(n * sizeof *op->inv_deg);
    int dense = mode == GRAPH_AGG_DENSE || (mode == GRAPH_AGG_AUTO && n >= DENSE_MIN_NODES && 4 * nnz >= n * n);
    if (dense && !single)
        op->dense = calloc(n * n, sizeof *op->dense);
    if (dense && single)
        op->dense_f = calloc(n * n, sizeof *op->dense_f);
    if (op->start == NULL || op->col == NULL || (degree && op->inv_deg == NULL) ||
        (dense && op->dense == NULL && op->dense_f == NULL)) {
        agg_free(op);
        err_internal(err, "out of memory for the adjacency of graph %zu", graph);
        return err->code;
    }
    size_t e = 0;
    for (size_t u = 0; u < n; u++) {
        op->start[u] = e;
        const unsigned *nb = g->nbr + g->nbr_start[first + u];
        size_t deg = g->nbr_start[first + u + 1] - g->nbr_start[first + u];
        int self_done = !self_loops;
        for (size_t k = 0; k <= deg; k++) {
            /* Neighbours are sorted: slot the self-loop in order. */
            if (!self_done && (k == deg || nb[k] > u)) {
                op->col[e++] = (unsigned)u;
                self_done = 1;
            }
            if (k < deg)
                op->col[e++] = nb[k];
        }
        size_t row = e - op->start[u];
        /* An isolated node without self-loops aggregates nothing: its scale is moot. */
        if (degree)
            op->inv_deg[u] = row > 0 ? 1.0 / (double)row : 0.0;
        for (size_t k = op->start[u]; op->dense && k < e; k++)
            op->dense[u * n + op->col[k]] = 1.0;
        for (size_t k = op->start[u]; op->dense_f && k < e; k++)
            op->dense_f[u * n + op->col[k]] = 1.0f;
    }
    op->start[n] = e;
    return NTKC_OK;
}

void agg_free(AggOp *op)
{
    free(op->start);
    free(op->col);
    free(op->inv_deg);
    free(op->dense);
    free(op->dense_f);
    memset(op, 0, sizeof *op);
}

/* The row sums below are short (one row per node), many and the hot loop of
 * aggregation: built for AVX2 too, dispatched at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT_LOOP __attribute__((target_clones("avx2", "default"), optimize("O3")))
#else
#define HOT_LOOP
#endif

#define AGG_REAL double
#define AGG_FN(name) name##_f64
#define AGG_GEMM cblas_dgemm
#define AGG_DENSE dense
#include "graph_agg_typed.h"

#define AGG_REAL float
#define AGG_FN(name) name##_f32
#define AGG_GEMM cblas_sgemm
#define AGG_DENSE dense_f
#include "graph_agg_typed.h"
