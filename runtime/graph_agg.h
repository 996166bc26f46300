/* Neighbourhood aggregation of node-pair matrices: Σ ← M₁ Σ M₂ᵀ with
 * M = Â (uniform) or D⁻¹Â (degree; D = the row sums of Â), Â = A (+ I).
 * The degree scaling C_uv = 1/(deg₁(u)·deg₂(v)) of Du et al. is thus folded
 * into the operators. Each side multiplies sparse (CSR) or through BLAS,
 * by its graph's density. */
#ifndef NTKC_GRAPH_AGG_H
#define NTKC_GRAPH_AGG_H

#include <stddef.h>

#include "diag.h"
#include "graph_kernel.h"

typedef struct AggOp {
    size_t n;
    size_t *start; /* CSR rows, n + 1 */
    unsigned *col;
    double *w;
    double *dense; /* n × n row-major when multiplying through BLAS, else NULL */
} AggOp;

/* The operator of graph `graph` of g; 0 or the error code. */
int agg_build(AggOp *op, const ntkc_graphs *g, size_t graph, int degree, int self_loops, GraphAggMode mode,
              NtkcError *err);
void agg_free(AggOp *op);
/* s (m1->n × m2->n, leading dimension m2->n) ← M₁ s M₂ᵀ; tmp: scratch of the same size. */
void agg_apply(const AggOp *m1, const AggOp *m2, double *s, double *tmp);

#endif
