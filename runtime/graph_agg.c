#include "graph_agg.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Below this size, or sparser than a quarter full, CSR beats a dgemm call. */
enum { DENSE_MIN_NODES = 24 };

int agg_build(AggOp *op, const ntkc_graphs *g, size_t graph, int degree, int self_loops, GraphAggMode mode,
              NtkcError *err)
{
    memset(op, 0, sizeof *op);
    size_t first = g->first[graph], n = g->first[graph + 1] - first;
    size_t nnz = g->nbr_start[first + n] - g->nbr_start[first] + (self_loops ? n : 0);
    op->n = n;
    op->start = malloc((n + 1) * sizeof *op->start);
    op->col = malloc((nnz ? nnz : 1) * sizeof *op->col);
    op->w = malloc((nnz ? nnz : 1) * sizeof *op->w);
    int dense = mode == GRAPH_AGG_DENSE || (mode == GRAPH_AGG_AUTO && n >= DENSE_MIN_NODES && 4 * nnz >= n * n);
    if (dense)
        op->dense = calloc(n * n, sizeof *op->dense);
    if (op->start == NULL || op->col == NULL || op->w == NULL || (dense && op->dense == NULL)) {
        agg_free(op);
        diag_internal(err, "out of memory for the adjacency of graph %zu", graph);
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
        /* An isolated node without self-loops has an empty row: its scale is moot. */
        double w = degree && row > 0 ? 1.0 / (double)row : 1.0;
        for (size_t k = op->start[u]; k < e; k++) {
            op->w[k] = w;
            if (op->dense)
                op->dense[u * n + op->col[k]] = w;
        }
    }
    op->start[n] = e;
    return NTKC_OK;
}

void agg_free(AggOp *op)
{
    free(op->start);
    free(op->col);
    free(op->w);
    free(op->dense);
    memset(op, 0, sizeof *op);
}

void agg_apply(const AggOp *m1, const AggOp *m2, double *s, double *tmp)
{
    size_t n1 = m1->n, n2 = m2->n;
    if (m1->dense) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n1, (int)n2, (int)n1, 1.0, m1->dense, (int)n1,
                    s, (int)n2, 0.0, tmp, (int)n2);
    } else {
        for (size_t u = 0; u < n1; u++) {
            double *out = tmp + u * n2;
            memset(out, 0, n2 * sizeof *out);
            for (size_t e = m1->start[u]; e < m1->start[u + 1]; e++) {
                const double *in = s + (size_t)m1->col[e] * n2;
                double w = m1->w[e];
                for (size_t j = 0; j < n2; j++)
                    out[j] += w * in[j];
            }
        }
    }
    if (m2->dense) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n1, (int)n2, (int)n2, 1.0, tmp, (int)n2,
                    m2->dense, (int)n2, 0.0, s, (int)n2);
        return;
    }
    for (size_t u = 0; u < n1; u++) {
        const double *in = tmp + u * n2;
        double *out = s + u * n2;
        for (size_t v = 0; v < n2; v++) {
            double acc = 0;
            for (size_t e = m2->start[v]; e < m2->start[v + 1]; e++)
                acc += m2->w[e] * in[m2->col[e]];
            out[v] = acc;
        }
    }
}
