/* Neighbourhood aggregation of node-pair matrices, Du et al.'s
 * Σ'(u, v) = c_u c_v Σ_{u'∈N̂(u)} Σ_{v'∈N̂(v)} Σ(u', v'), i.e. Σ' = C ∘ (Â_a Σ Â_bᵀ)
 * with Â = A (+ I) and c = 1 or 1/deg (degrees of Â).
 *
 * Both graphs' Â are symmetric, so each side is a row-wise sum of rows:
 * Â_a Σ adds rows of Σ, and Â_b (Â_a Σ)ᵀ adds rows of the transpose. The
 * result is therefore left transposed (rows = graph b), which the caller
 * tracks instead of paying a second transpose: the elementwise steps are
 * symmetric in the two graphs. Each side multiplies sparse (CSR) or through
 * BLAS dgemm, by its graph's density. */
#ifndef NTKC_GRAPH_AGG_H
#define NTKC_GRAPH_AGG_H

#include <stddef.h>

#include "ntkc_err.h"
#include "graph_kernel.h"

typedef struct AggOp {
    size_t n;
    size_t *start;   /* CSR rows of Â, n + 1 */
    unsigned *col;
    double *inv_deg; /* 1/deg per node with scale=degree, else NULL */
    double *dense;   /* Â as n × n row-major when multiplying through BLAS, else NULL */
    float *dense_f;  /* the same for float32 nets (built instead of dense) */
} AggOp;

/* The operator of graph `graph` of g (single: its dense form in float32);
 * 0 or the error code. */
int agg_build(AggOp *op, const ntkc_graphs *g, size_t graph, int degree, int self_loops, GraphAggMode mode,
              int single, ntkc_error *err);
void agg_free(AggOp *op);
/* x[k] (a->n × b->n, row-major) ← (C ∘ Â_a x[k] Â_bᵀ)ᵀ (b->n × a->n) for
 * k < count. tmp[k]: scratch of the same size; the two pointers may be swapped. */
void agg_apply_f64(const AggOp *a, const AggOp *b, int count, double **x, double **tmp);
/* The same on float32 matrices (operators built with single). */
void agg_apply_f32(const AggOp *a, const AggOp *b, int count, float **x, float **tmp);

#endif
