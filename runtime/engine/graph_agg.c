#include "graph_agg.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Below this size, or sparser than a quarter full, CSR beats a dgemm call. */
enum { DENSE_MIN_NODES = 24 };

int agg_build(AggOp *op, const ntkc_graphs *g, size_t graph, int degree, int self_loops, GraphAggMode mode,
              ntkc_error *err)
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
    if (dense)
        op->dense = calloc(n * n, sizeof *op->dense);
    if (op->start == NULL || op->col == NULL || (degree && op->inv_deg == NULL) || (dense && op->dense == NULL)) {
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
        /* An isolated node without self-loops aggregates nothing: its scale is moot. */
        if (degree)
            op->inv_deg[u] = row > 0 ? 1.0 / (double)row : 0.0;
        for (size_t k = op->start[u]; op->dense && k < e; k++)
            op->dense[u * n + op->col[k]] = 1.0;
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
    memset(op, 0, sizeof *op);
}

/* The row sums below are short (one row per node), many and the hot loop of
 * aggregation: built for AVX2 too, dispatched at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT_LOOP __attribute__((target_clones("avx2", "default"), optimize("O3")))
#else
#define HOT_LOOP
#endif

/* out (m->n × cols) = Â in: sums of rows. Columns go in blocks of four
 * held in registers across a row's neighbours (the straightforward o[j] +=
 * r[j] stalls on reloading what it just stored). */
HOT_LOOP static void sum_rows_one(const AggOp *m, const double *in, size_t cols, double *out)
{
    for (size_t u = 0; u < m->n; u++) {
        const unsigned *c = m->col + m->start[u];
        size_t deg = m->start[u + 1] - m->start[u];
        double *o = out + u * cols;
        size_t j = 0;
        for (; j + 4 <= cols; j += 4) {
            double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (size_t e = 0; e < deg; e++) {
                const double *r = in + (size_t)c[e] * cols + j;
                a0 += r[0];
                a1 += r[1];
                a2 += r[2];
                a3 += r[3];
            }
            o[j] = a0;
            o[j + 1] = a1;
            o[j + 2] = a2;
            o[j + 3] = a3;
        }
        for (; j < cols; j++) {
            double a = 0;
            for (size_t e = 0; e < deg; e++)
                a += in[(size_t)c[e] * cols + j];
            o[j] = a;
        }
    }
}

/* Σ and Θ together: one walk over the neighbours feeds both. */
HOT_LOOP static void sum_rows_two(const AggOp *m, const double *in0, const double *in1, size_t cols, double *out0,
                                  double *out1)
{
    for (size_t u = 0; u < m->n; u++) {
        const unsigned *c = m->col + m->start[u];
        size_t deg = m->start[u + 1] - m->start[u];
        double *o0 = out0 + u * cols, *o1 = out1 + u * cols;
        size_t j = 0;
        for (; j + 4 <= cols; j += 4) {
            double a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
            for (size_t e = 0; e < deg; e++) {
                size_t at = (size_t)c[e] * cols + j;
                const double *r = in0 + at, *q = in1 + at;
                a0 += r[0], a1 += r[1], a2 += r[2], a3 += r[3];
                b0 += q[0], b1 += q[1], b2 += q[2], b3 += q[3];
            }
            o0[j] = a0, o0[j + 1] = a1, o0[j + 2] = a2, o0[j + 3] = a3;
            o1[j] = b0, o1[j + 1] = b1, o1[j + 2] = b2, o1[j + 3] = b3;
        }
        for (; j < cols; j++) {
            double a = 0, b = 0;
            for (size_t e = 0; e < deg; e++) {
                a += in0[(size_t)c[e] * cols + j];
                b += in1[(size_t)c[e] * cols + j];
            }
            o0[j] = a, o1[j] = b;
        }
    }
}

/* The same for the k < count matrices of a pair (Σ and Θ). */
static void sum_rows(const AggOp *m, int count, double *const *in, size_t cols, double *const *out)
{
    if (count == 2)
        sum_rows_two(m, in[0], in[1], cols, out[0], out[1]);
    else
        for (int k = 0; k < count; k++)
            sum_rows_one(m, in[k], cols, out[k]);
}

static void transpose(const double *in, size_t rows, size_t cols, double *out)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            out[j * rows + i] = in[i * cols + j];
}

static void scale_degrees(const AggOp *a, const AggOp *b, double *x)
{
    for (size_t v = 0; v < b->n; v++) {
        double *r = x + v * a->n, cb = b->inv_deg[v];
        for (size_t u = 0; u < a->n; u++)
            r[u] *= cb * a->inv_deg[u];
    }
}

void agg_apply(const AggOp *a, const AggOp *b, int count, double **x, double **tmp)
{
    size_t na = a->n, nb = b->n;
    /* tmp = Â_a x  (na × nb) */
    if (a->dense)
        for (int k = 0; k < count; k++)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)na, (int)nb, (int)na, 1.0, a->dense, (int)na,
                        x[k], (int)nb, 0.0, tmp[k], (int)nb);
    else
        sum_rows(a, count, x, nb, tmp);
    /* Result in tmp = Â_b xᵀ (nb × na), x = tmpᵀ on the way; then swap. */
    if (b->dense) {
        for (int k = 0; k < count; k++) {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)na, (int)nb, 1.0, b->dense, (int)nb,
                        tmp[k], (int)nb, 0.0, x[k], (int)na);
            double *t = x[k];
            x[k] = tmp[k];
            tmp[k] = t;
        }
    } else {
        for (int k = 0; k < count; k++)
            transpose(tmp[k], na, nb, x[k]);
        sum_rows(b, count, x, na, tmp);
    }
    for (int k = 0; k < count; k++) {
        double *t = x[k];
        x[k] = tmp[k];
        tmp[k] = t;
        if (a->inv_deg != NULL)
            scale_degrees(a, b, x[k]);
    }
}
